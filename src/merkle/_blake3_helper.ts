/**
 * The helper thread of {@linkcode blake3Many}: it hashes the inputs of each
 * batch it claims, reading them in place at the addresses the caller
 * shares, and sleeps between batches. The caller is blocked in
 * `blake3Many` while a batch is open, so the inputs neither change nor go
 * away while they are read. It never exits on its own: the caller unrefs
 * it, and the process ends it.
 *
 * @module
 */

import { workerData } from "node:worker_threads";
import { blake3, HASH_LENGTH } from "./blake3.ts";
import {
  claimedBatchCount,
  claimedIndex,
  DONE,
  EPOCH,
  FAILED,
  helperViews,
  NEXT,
  READY,
  STATE,
} from "./_blake3_helper_layout.ts";

const { control, addresses, lengths, hashes } = helperViews(workerData as SharedArrayBuffer);

/** Hashes input `index` of the open batch into its slot. */
function hashInput(index: number): void {
  const pointer = Deno.UnsafePointer.create(addresses[index]);
  const bytes = pointer === null
    ? new Uint8Array()
    : new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(pointer, lengths[index]));
  hashes.set(blake3(bytes), index * HASH_LENGTH);
}

/** Hashes the inputs it claims in the open batch; false once it failed. */
function work(): boolean {
  for (;;) {
    const claim = Atomics.add(control, NEXT, 1);
    const index = claimedIndex(claim);
    if (index < 0) return true;
    let hashed = true;
    try {
      hashInput(index);
    } catch {
      // Its slot keeps a stale hash: the caller sees FAILED and hashes the batch itself.
      Atomics.store(control, STATE, FAILED);
      hashed = false;
    }
    if (Atomics.add(control, DONE, 1) + 1 === claimedBatchCount(claim)) {
      Atomics.notify(control, DONE);
    }
    if (!hashed) return false;
  }
}

Atomics.store(control, STATE, READY);
for (let epoch = 0; work();) {
  Atomics.wait(control, EPOCH, epoch);
  epoch = Atomics.load(control, EPOCH);
}
