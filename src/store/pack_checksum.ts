/**
 * The checksum of a page pack: BLAKE3 over the leaf hashes of its 64 KiB
 * pages, in file order. A commit already knows the leaf of every page it
 * writes (the page trees need them), so the checksum costs 32 bytes of
 * hashing per page instead of a second pass over the page. Finding two
 * packs with one checksum means finding a BLAKE3 collision, as for a hash
 * of the whole file.
 *
 * @module
 */

import { WASM_PAGE_SIZE } from "../bytecode/abi.ts";
import { blake3Pieces } from "../merkle/blake3.ts";
import { blake3Many } from "../merkle/blake3_many.ts";

/**
 * The checksum (lowercase hex) of a pack whose pages have the leaf hashes
 * `leaves`, in file order.
 *
 * @param leaves The 32-byte BLAKE3 hash of each page.
 * @returns 64 lowercase hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blake3 } from "../merkle/blake3.ts";
 * import { packChecksum } from "./pack_checksum.ts";
 *
 * const pages = [new Uint8Array(65536), new Uint8Array(65536).fill(1)];
 * const checksum = packChecksum(pages.map((page) => blake3(page)));
 * assert.match(checksum, /^[0-9a-f]{64}$/);
 * assert.notEqual(checksum, packChecksum(pages.reverse().map((page) => blake3(page))));
 * ```
 */
export function packChecksum(leaves: readonly Uint8Array[]): string {
  let next = 0;
  return blake3Pieces(() => next < leaves.length ? leaves[next++] : null).toHex();
}

/**
 * The checksum (lowercase hex) of the pack file at `path`, read 4 MiB at a
 * time and its pages hashed together (on two cores once the process has
 * hashed enough; see `blake3Many`). A file whose length is no multiple of
 * 64 KiB gets its last, short piece hashed as a page: the checksum then
 * differs from the manifest's.
 *
 * @param path The pack file.
 * @returns 64 lowercase hex digits.
 * @throws {Deno.errors.NotFound} (and the like) If the file cannot be read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blake3 } from "../merkle/blake3.ts";
 * import { hashPackFile, packChecksum } from "./pack_checksum.ts";
 *
 * const page = new Uint8Array(65536).fill(7);
 * const path = Deno.makeTempFileSync();
 * Deno.writeFileSync(path, page);
 * assert.equal(hashPackFile(path), packChecksum([blake3(page)]));
 * Deno.removeSync(path);
 * ```
 */
export function hashPackFile(path: string): string {
  using file = Deno.openSync(path, { read: true });
  // No bigger than the file: most packs are a page or a few.
  const pages = Math.min(
    CHUNK_PAGES,
    Math.max(1, Math.ceil(file.statSync().size / WASM_PAGE_SIZE)),
  );
  const chunk = new Uint8Array(pages * WASM_PAGE_SIZE);
  const leaves: Uint8Array[] = [];
  for (;;) {
    const length = readFull(file, chunk);
    const read: Uint8Array[] = [];
    for (let offset = 0; offset < length; offset += WASM_PAGE_SIZE) {
      read.push(chunk.subarray(offset, Math.min(offset + WASM_PAGE_SIZE, length)));
    }
    leaves.push(...blake3Many(read));
    if (length < chunk.length) break;
  }
  return packChecksum(leaves);
}

/** Pages read and hashed together by {@linkcode hashPackFile}: 4 MiB. */
const CHUNK_PAGES = 64;

/** Fills `buffer` from `file`; returns how many bytes it read (short only at the end). */
function readFull(file: Deno.FsFile, buffer: Uint8Array): number {
  let filled = 0;
  while (filled < buffer.length) {
    const n = file.readSync(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled;
}
