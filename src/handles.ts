/**
 * Counts of live native handles by kind, so tests can prove that nothing
 * outlives them. Internal; not exported from `mod.ts`.
 *
 * @module
 */

const live = new Map<string, number>();

/**
 * Counts a native handle of `kind` as allocated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { liveHandles, trackHandle, untrackHandle } from "./handles.ts";
 *
 * trackHandle("example");
 * assert.equal(liveHandles().example, 1);
 * untrackHandle("example");
 * assert.equal(liveHandles().example, undefined);
 * ```
 */
export function trackHandle(kind: string): void {
  live.set(kind, (live.get(kind) ?? 0) + 1);
}

/**
 * Counts a native handle of `kind` as freed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { liveHandles, trackHandle, untrackHandle } from "./handles.ts";
 *
 * trackHandle("example");
 * trackHandle("example");
 * untrackHandle("example");
 * assert.equal(liveHandles().example, 1);
 * untrackHandle("example");
 * ```
 */
export function untrackHandle(kind: string): void {
  const count = (live.get(kind) ?? 0) - 1;
  if (count === 0) live.delete(kind);
  else live.set(kind, count);
}

/**
 * Live native handles by kind (engine, store, module, linker), for leak tests.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Engine } from "./engine/mod.ts";
 * import { liveHandles } from "./handles.ts";
 *
 * const engines = liveHandles().engine ?? 0;
 * {
 *   using _engine = new Engine();
 *   assert.equal(liveHandles().engine, engines + 1);
 * }
 * assert.equal(liveHandles().engine ?? 0, engines);
 * ```
 */
export function liveHandles(): Record<string, number> {
  return Object.fromEntries(live);
}
