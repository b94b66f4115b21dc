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
  output_ptr as outputPtr,
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
