/**
 * The growable output buffer that schemas serialize into.
 *
 * @module
 */

/** rkyv `size_32` relative pointers are `i32`, so no archive may reach 2 GiB. */
const MAX_ARCHIVE_BYTES = 0x7fff_ffff;

/**
 * A byte buffer written front to back, as rkyv's `AlignedSerializer` does.
 * Bytes past {@linkcode ArchiveWriter.pos} are always zero, so reserved space
 * and padding need no clearing; schemas write only inside space they
 * reserved.
 *
 * @example Writing a `u32` by hand
 * ```ts
 * import assert from "node:assert/strict";
 * import { ArchiveWriter } from "./writer.ts";
 *
 * const writer = new ArchiveWriter(8);
 * writer.align(4);
 * const pos = writer.reserve(4);
 * writer.view.setUint32(pos, 7, true);
 * assert.deepEqual(writer.finish(), new Uint8Array([7, 0, 0, 0]));
 * ```
 */
export class ArchiveWriter {
  /** The buffer; replaced when it grows. */
  bytes: Uint8Array;
  /** A view over {@linkcode ArchiveWriter.bytes}; replaced with it. */
  view: DataView;
  /** Where the next byte goes. */
  pos = 0;

  /**
   * Creates an empty writer.
   *
   * @param capacity Bytes to allocate up front.
   */
  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
    this.view = new DataView(this.bytes.buffer);
  }

  /**
   * Pads with zeros up to a multiple of `align` and returns the new position.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ArchiveWriter } from "./writer.ts";
   *
   * const writer = new ArchiveWriter(8);
   * writer.reserve(1);
   * assert.equal(writer.align(4), 4);
   * ```
   *
   * @param align A power of two.
   */
  align(align: number): number {
    const aligned = (this.pos + align - 1) & -align;
    this.reserve(aligned - this.pos);
    return aligned;
  }

  /**
   * Claims `size` zeroed bytes and returns where they start.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ArchiveWriter } from "./writer.ts";
   *
   * const writer = new ArchiveWriter(4);
   * assert.equal(writer.reserve(3), 0);
   * assert.equal(writer.reserve(8), 3); // grows past the initial capacity
   * ```
   *
   * @param size Number of bytes.
   */
  reserve(size: number): number {
    const start = this.pos;
    const end = start + size;
    if (end > this.bytes.length) this.#grow(end);
    this.pos = end;
    return start;
  }

  /**
   * Returns a copy of the bytes written so far.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ArchiveWriter } from "./writer.ts";
   *
   * const writer = new ArchiveWriter(8);
   * writer.view.setUint8(writer.reserve(1), 9);
   * assert.deepEqual(writer.finish(), new Uint8Array([9]));
   * ```
   */
  finish(): Uint8Array {
    return this.bytes.slice(0, this.pos);
  }

  /**
   * Zeroes what was written and starts over, keeping the buffer.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ArchiveWriter } from "./writer.ts";
   *
   * const writer = new ArchiveWriter(8);
   * writer.view.setUint8(writer.reserve(1), 9);
   * writer.reset();
   * assert.deepEqual(writer.finish(), new Uint8Array(0));
   * assert.equal(writer.reserve(1), 0);
   * ```
   */
  reset(): void {
    this.bytes.fill(0, 0, this.pos);
    this.pos = 0;
  }

  #grow(needed: number): void {
    if (needed > MAX_ARCHIVE_BYTES) {
      throw new RangeError(
        `an archive of ${needed} bytes is too large: size_32 relative pointers reach 2 GiB`,
      );
    }
    const bytes = new Uint8Array(
      Math.min(Math.max(needed, this.bytes.length * 2), MAX_ARCHIVE_BYTES),
    );
    bytes.set(this.bytes.subarray(0, this.pos));
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer);
  }
}
