/**
 * Counts of live native handles by kind, so tests can prove that nothing
 * outlives them. Internal; not exported from `mod.ts`.
 *
 * @module
 */

const live = new Map<string, number>();

/** Counts a native handle of `kind` as allocated. */
export function trackHandle(kind: string): void {
  live.set(kind, (live.get(kind) ?? 0) + 1);
}

/** Counts a native handle of `kind` as freed. */
export function untrackHandle(kind: string): void {
  const count = (live.get(kind) ?? 0) - 1;
  if (count === 0) live.delete(kind);
  else live.set(kind, count);
}

/** Live native handles by kind (engine, store, module, linker), for leak tests. */
export function liveHandles(): Record<string, number> {
  return Object.fromEntries(live);
}
