/** Shared test helpers. */

import assert from "node:assert/strict";
import { liveHandles } from "../src/engine/_native.ts";

/** Asserts that every engine, store, module and linker has been closed. */
export function assertNoLiveHandles(): void {
  assert.deepEqual(liveHandles(), {}, "native handles leaked");
}

/** Asserts that `fn` throws a PiecrustError of `kind`, and returns it. */
export function assertThrowsKind(fn: () => unknown, kind: string): Error & { kind: string } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof Error, `expected an Error, got ${error}`);
    assert.equal((error as Error & { kind?: string }).kind, kind, (error as Error).message);
    return error as Error & { kind: string };
  }
  assert.fail(`expected a ${kind} error, but nothing was thrown`);
}
