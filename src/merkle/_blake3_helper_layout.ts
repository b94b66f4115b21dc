/**
 * The memory that {@linkcode blake3Many} shares with its helper thread: a
 * control block, and per input its address, length and hash. Both sides
 * build their views from here, so that they cannot disagree on offsets.
 *
 * The protocol: the caller writes a batch's addresses and lengths, zeroes
 * `DONE`, opens the batch by storing {@linkcode batchWord}`(count)` in
 * `NEXT`, bumps `EPOCH` and wakes the helper. Both then claim inputs with
 * `Atomics.add(NEXT, 1)`, whose result holds the batch's count beside the
 * claimed index, so that a claim is checked against the count of the batch
 * it was made in. Each input is hashed once, by whoever claimed it, and
 * counted in `DONE`. When `DONE` reaches the count, the caller closes the
 * batch by storing 0 in `NEXT` (a batch of no inputs): a claim the helper
 * makes late then fails, until the next batch opens with its addresses
 * written.
 *
 * @module
 */

import { HASH_LENGTH } from "./blake3.ts";

/** Inputs per batch: a longer list is hashed in several batches. */
export const BATCH = 4096;

// Slots of the control block (an Int32Array).
/** Bumped for every batch; the helper sleeps on it. */
export const EPOCH = 0;
/** The open batch's count and next index to claim (see `batchWord`); 0 when closed. */
export const NEXT = 1;
/** Inputs of the open batch hashed; the helper wakes the caller when it makes this the count. */
export const DONE = 2;
/** What the helper is doing: 0 (the memory's initial value) while it starts, then `READY` or `FAILED`. */
export const STATE = 3;

// Values of STATE.
export const READY = 1;
/** It failed to hash an input: its hashes of that batch are missing, and it stops. */
export const FAILED = 2;

/** Bits of a claim's index: far more than a batch's inputs plus the few claims that fail. */
const INDEX_BITS = 17;

/** The value of `NEXT` that opens a batch of `count` inputs. */
export function batchWord(count: number): number {
  return count << INDEX_BITS;
}

/** The index a claim got, or -1 if the batch it was made in had no such input. */
export function claimedIndex(claim: number): number {
  const index = claim & ((1 << INDEX_BITS) - 1);
  return index < claim >>> INDEX_BITS ? index : -1;
}

/** The count of the batch a successful claim was made in. */
export function claimedBatchCount(claim: number): number {
  return claim >>> INDEX_BITS;
}

const CONTROL_BYTES = 64;

/** The shared views. */
export interface HelperViews {
  readonly control: Int32Array;
  /** Each input's address. */
  readonly addresses: BigInt64Array;
  /** Each input's length in bytes. */
  readonly lengths: Float64Array;
  /** Each input's hash, {@linkcode HASH_LENGTH} bytes apiece. */
  readonly hashes: Uint8Array;
}

/** Allocates the shared memory for one helper. */
export function sharedMemory(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES + BATCH * (8 + 8 + HASH_LENGTH));
}

/** The views over `shared`, as {@linkcode sharedMemory} lays it out. */
export function helperViews(shared: SharedArrayBuffer): HelperViews {
  return {
    control: new Int32Array(shared, 0, CONTROL_BYTES / 4),
    addresses: new BigInt64Array(shared, CONTROL_BYTES, BATCH),
    lengths: new Float64Array(shared, CONTROL_BYTES + 8 * BATCH, BATCH),
    hashes: new Uint8Array(shared, CONTROL_BYTES + 16 * BATCH, BATCH * HASH_LENGTH),
  };
}
