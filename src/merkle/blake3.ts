/**
 * BLAKE3, the hash of piecrust's Merkle state (pages and tree nodes).
 *
 * Backed by `blake3_simd.wasm`: the Rust `blake3` crate with its `wasm32_simd`
 * backend (built by `scripts/build_blake3_wasm.sh`), loaded through Deno's
 * native `.wasm` imports, so it needs no permission and no await. It hashes
 * 64 KiB pages about 2.5× faster than hash-wasm's portable build
 * (`bench/merkle_bench.ts`).
 *
 * Input is read straight from the caller's view, including a view over native
 * memory, and copied once into the hasher's linear memory: V8 can only hash
 * bytes that live in a `WebAssembly.Memory`, and that copy costs ~5 µs of the
 * ~45 µs a page takes.
 *
 * @module
 */

import {
  finalize,
  hash,
  input_ptr as inputPtr,
  memory,
  merge,
  output_ptr as outputPtr,
  subtree,
  update,
} from "./blake3_simd.wasm";

/**
 * Bytes of a BLAKE3 hash, and so of every leaf and node of the Merkle trees.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blake3, HASH_LENGTH } from "./blake3.ts";
 *
 * assert.equal(blake3(new Uint8Array()).length === HASH_LENGTH, true);
 * ```
 */
export const HASH_LENGTH = 32;

/** Bytes the hasher takes per call: inputs up to this size are hashed in one call. */
const INPUT_CAPACITY = 65536;

// The module has no allocator and never grows its memory, so these views never detach.
const input = new Uint8Array(memory.buffer, inputPtr(), INPUT_CAPACITY);
const output = new Uint8Array(memory.buffer, outputPtr(), HASH_LENGTH);

/**
 * Returns the BLAKE3 hash (32 bytes) of `data`.
 *
 * @param data The bytes to hash; any view works, also one over native memory.
 * @returns A new 32-byte array.
 *
 * @example Hashing a page
 * ```ts
 * import assert from "node:assert/strict";
 * import { blake3 } from "./blake3.ts";
 *
 * const leaf = blake3(new Uint8Array(65536));
 * assert.equal(leaf.length, 32);
 * ```
 */
export function blake3(data: Uint8Array): Uint8Array {
  if (data.length <= INPUT_CAPACITY) {
    input.set(data);
    hash(data.length);
    return output.slice();
  }
  let rest: Uint8Array | null = data;
  return blake3Pieces(() => {
    const piece = rest;
    rest = null;
    return piece;
  });
}

/**
 * Returns the BLAKE3 hash of the bytes `next` returns, called until it
 * returns `null`: a file can be hashed in pieces. `next` must not hash
 * anything itself, since the hasher's state is shared.
 *
 * @param next Returns the next piece (any length), or `null` at the end.
 * @returns A new 32-byte array.
 *
 * @example Hashing in two pieces
 * ```ts
 * import assert from "node:assert/strict";
 * import { blake3, blake3Pieces } from "./blake3.ts";
 *
 * const pieces = [new Uint8Array([1]), new Uint8Array([2])];
 * const hash = blake3Pieces(() => pieces.shift() ?? null);
 * assert.equal(hash.join() === blake3(new Uint8Array([1, 2])).join(), true);
 * ```
 */
export function blake3Pieces(next: () => Uint8Array | null): Uint8Array {
  for (let data = next(); data !== null; data = next()) {
    for (let offset = 0; offset < data.length; offset += INPUT_CAPACITY) {
      const piece = data.subarray(offset, offset + INPUT_CAPACITY);
      input.set(piece);
      update(piece.length);
    }
  }
  finalize();
  return output.slice();
}

/**
 * Returns the BLAKE3 hash of the concatenation of `parts` without joining
 * them first: this is how a Merkle node aggregates its children.
 *
 * @param parts The pieces, hashed in order; together at most 64 KiB.
 * @returns A new 32-byte array.
 * @throws {RangeError} If the parts add up to more than 64 KiB.
 *
 * @example Aggregating two child hashes
 * ```ts
 * import assert from "node:assert/strict";
 * import { blake3, blake3Concat } from "./blake3.ts";
 *
 * const left = blake3(new Uint8Array([1]));
 * const right = new Uint8Array(32);
 * const parent = blake3Concat([left, right]);
 * assert.equal(parent.length, 32);
 * ```
 */
export function blake3Concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) {
    if (length + part.length > INPUT_CAPACITY) {
      throw new RangeError(`blake3Concat takes at most ${INPUT_CAPACITY} bytes in total`);
    }
    input.set(part, length);
    length += part.length;
  }
  hash(length);
  return output.slice();
}

/**
 * Writes the chaining value of `data` as the subtree that starts at byte
 * `offset` of a longer input into `out` at `outOffset` (32 bytes). With
 * {@linkcode blake3FromSubtrees}, an input's hash can be rebuilt after a
 * change from the chaining values of its parts, hashing only the parts that
 * changed.
 *
 * @param data The subtree's bytes: a power of two of at least 1 KiB, at most 64 KiB.
 * @param offset Where the subtree starts in the whole input: a multiple of `data.length`, below 4 GiB.
 * @param out Receives the chaining value.
 * @param outOffset Where in `out`. Default 0.
 * @throws {RangeError} If `data` or `offset` do not make a subtree.
 *
 * @example Rebuilding a hash from two halves
 * ```ts
 * import assert from "node:assert/strict";
 * import { blake3, blake3FromSubtrees, blake3Subtree } from "./blake3.ts";
 *
 * const data = new Uint8Array(8192).map((_, i) => i);
 * const halves = new Uint8Array(64);
 * blake3Subtree(data.subarray(0, 4096), 0, halves, 0);
 * blake3Subtree(data.subarray(4096), 4096, halves, 32);
 * assert.deepEqual(blake3FromSubtrees(halves), blake3(data));
 * ```
 */
export function blake3Subtree(
  data: Uint8Array,
  offset: number,
  out: Uint8Array,
  outOffset = 0,
): void {
  const length = data.length;
  if (length < 1024 || length > INPUT_CAPACITY || (length & (length - 1)) !== 0) {
    throw new RangeError(`a subtree is a power of two from 1 KiB to 64 KiB, got ${length} bytes`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0 || offset >= 2 ** 32 || offset % length !== 0) {
    throw new RangeError(
      `a ${length}-byte subtree starts at a multiple of its length, not ${offset}`,
    );
  }
  input.set(data);
  subtree(length, offset);
  out.set(output, outOffset);
}

/**
 * Returns the BLAKE3 hash of an input from the chaining values of its equal
 * subtrees, left to right (see {@linkcode blake3Subtree}).
 *
 * @param chainingValues `32 × n` bytes, `n` a power of two from 2 to 2048.
 * @returns A new 32-byte array.
 * @throws {RangeError} For any other length.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blake3, blake3FromSubtrees, blake3Subtree } from "./blake3.ts";
 *
 * const page = new Uint8Array(65536).fill(7);
 * const parts = new Uint8Array(16 * 32);
 * for (let i = 0; i < 16; i++) blake3Subtree(page.subarray(4096 * i, 4096 * (i + 1)), 4096 * i, parts, 32 * i);
 * assert.deepEqual(blake3FromSubtrees(parts), blake3(page));
 * ```
 */
export function blake3FromSubtrees(chainingValues: Uint8Array): Uint8Array {
  const count = chainingValues.length / HASH_LENGTH;
  if (
    !Number.isInteger(count) || count < 2 || count * HASH_LENGTH > INPUT_CAPACITY ||
    (count & (count - 1)) !== 0
  ) {
    throw new RangeError(
      `chaining values of 2, 4, 8 … 2048 subtrees are needed, got ${chainingValues.length} bytes`,
    );
  }
  input.set(chainingValues);
  merge(count);
  return output.slice();
}
