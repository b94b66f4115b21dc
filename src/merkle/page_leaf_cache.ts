/**
 * {@linkcode PageLeafCache}: page leaves rebuilt from the parts of a page
 * that changed.
 *
 * @module
 */

import { blake3, blake3FromSubtrees, blake3Subtree, HASH_LENGTH } from "./blake3.ts";
import { WASM_PAGE_SIZE } from "../bytecode/abi.ts";

/** Bytes of a part: the OS page, the unit in which a contract memory tracks writes. */
export const PAGE_PART_SIZE = 4096;
const PARTS = WASM_PAGE_SIZE / PAGE_PART_SIZE;
const ALL_PARTS = 2 ** PARTS - 1;

/** Options of {@linkcode PageLeafCache}. */
export interface PageLeafCacheOptions {
  /**
   * The most page versions whose parts are kept, each in 512 bytes; the
   * least recently used go first. Default 4096 (2 MiB).
   */
  capacity?: number;
}

/**
 * Page leaves (`pageLeaf`: BLAKE3 of 64 KiB) computed from the
 * previous version of the same page, hashing only the 4 KiB parts that
 * changed. BLAKE3 is itself a tree, so a page's hash is the merge of its 16
 * parts' chaining values; the cache keeps those of the versions it hashed,
 * by leaf. A contract that writes a few bytes of a page per commit (a
 * counter, a balance) then costs two parts to hash, not sixteen.
 *
 * A page with no previous version is hashed in one pass and not kept: pages
 * written once (a memory filled in one session) never pay for the parts. A
 * page's second version keeps its parts for the third, and so on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PageLeafCache } from "./page_leaf_cache.ts";
 * import { pageLeaf } from "./state.ts";
 *
 * const cache = new PageLeafCache();
 * const page = new Uint8Array(65536);
 * const first = cache.leaf(page);
 * page[5000] = 1; // in part 1 (bytes 4096 to 8191)
 * const second = cache.leaf(page, first, 0b10);
 * page[5000] = 2;
 * const third = cache.leaf(page, second, 0b10); // rebuilt from the second's parts
 * assert.deepEqual(third, pageLeaf(page));
 * assert.equal(cache.size, 2); // the second and third versions
 * ```
 */
export class PageLeafCache {
  /** The most page versions kept. */
  readonly capacity: number;
  /** Parts' chaining values (16 × 32 bytes) by leaf (hex), least recently used first. */
  readonly #parts = new Map<string, Uint8Array>();

  /** Throws a `RangeError` unless `capacity` is a positive integer. */
  constructor(options: PageLeafCacheOptions = {}) {
    const capacity = options.capacity ?? 4096;
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  /**
   * Page versions whose parts are kept.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PageLeafCache } from "./page_leaf_cache.ts";
   *
   * assert.equal(new PageLeafCache().size, 0);
   * ```
   */
  get size(): number {
    return this.#parts.size;
  }

  /**
   * Returns the leaf of `page`. `previous` is the leaf of the page's
   * previous version, whose bytes `page` still holds outside the parts set
   * in `changed` (bit `i`: bytes `4096 i` to `4096 (i + 1)`); a wrong
   * `changed` gives a wrong leaf, so pass every part that may differ.
   *
   * @param page The page's 64 KiB, read in place.
   * @param previous The previous version's leaf; none for a new page.
   * @param changed The parts that may differ from the previous version. Default: all.
   * @throws {RangeError} If `page` is not 64 KiB, or `changed` not a 16-bit mask.
   *
   * @example A page with no previous version
   * ```ts
   * import assert from "node:assert/strict";
   * import { PageLeafCache } from "./page_leaf_cache.ts";
   * import { pageLeaf } from "./state.ts";
   *
   * const page = new Uint8Array(65536).fill(3);
   * assert.deepEqual(new PageLeafCache().leaf(page), pageLeaf(page));
   * ```
   */
  leaf(page: Uint8Array, previous?: Uint8Array, changed: number = ALL_PARTS): Uint8Array {
    if (page.length !== WASM_PAGE_SIZE) {
      throw new RangeError(`a page is ${WASM_PAGE_SIZE} bytes, got ${page.length}`);
    }
    if (!Number.isInteger(changed) || changed < 0 || changed > ALL_PARTS) {
      throw new RangeError(`changed must be a mask of ${PARTS} bits, got ${changed}`);
    }
    if (previous === undefined) return blake3(page);
    const key = previous.toHex();
    const kept = this.#parts.get(key);
    const parts = kept === undefined ? new Uint8Array(PARTS * HASH_LENGTH) : kept.slice();
    const stale = kept === undefined ? ALL_PARTS : changed;
    for (let part = 0; part < PARTS; part++) {
      if ((stale & (1 << part)) === 0) continue;
      const offset = part * PAGE_PART_SIZE;
      blake3Subtree(
        page.subarray(offset, offset + PAGE_PART_SIZE),
        offset,
        parts,
        part * HASH_LENGTH,
      );
    }
    const leaf = blake3FromSubtrees(parts);
    if (kept !== undefined) {
      // Most recently used last: the previous version may be built on again (another session on the same base).
      this.#parts.delete(key);
      this.#parts.set(key, kept);
    }
    this.#parts.set(leaf.toHex(), parts);
    while (this.#parts.size > this.capacity) {
      this.#parts.delete(this.#parts.keys().next().value!);
    }
    return leaf;
  }
}
