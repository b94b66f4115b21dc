/**
 * The validating cursor over an archive, modelled on rkyv 0.7's
 * `ArchiveValidator`.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Strings up to this many bytes are tried as ASCII before TextDecoder. */
const SHORT_STRING = 32;

/**
 * Reads an archive in place and enforces what `check_archived_root` enforces
 * for pointers: every relative pointer must land inside the buffer, aligned
 * for its target, and inside the current subtree range. Claiming a target
 * narrows the range to the bytes before it while its children are checked,
 * then moves the range's start past it, so children must precede their
 * parent and siblings must appear in checking order without overlapping.
 *
 * Alignment is checked relative to the first byte of the given bytes, which
 * stands for a maximally aligned address (piecrust's argument buffer is).
 *
 * @example Claiming the target of a relative pointer by hand
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { ArchiveReader } from "./reader.ts";
 *
 * // Vec<u8> [7]: one data byte, padding, then the pointer -4 and length 1.
 * const bytes = new Uint8Array([7, 0, 0, 0, 0xfc, 0xff, 0xff, 0xff, 1, 0, 0, 0]);
 * const reader = new ArchiveReader(bytes, "Vec<u8>");
 * const target = reader.claim(4, reader.view.getInt32(4, true), 1, 1);
 * assert.equal(target, 0);
 * // Check the target's children (it has none), then move past it.
 * reader.pop(target + 1, reader.push(target));
 * assert.equal(reader.start, 1);
 * // The byte is now claimed: a second pointer to it is rejected.
 * assert.throws(
 *   () => reader.claim(4, -4, 1, 1),
 *   (e) => e instanceof PiecrustError && e.kind === "ValidationError",
 * );
 * ```
 */
export class ArchiveReader {
  /** The archive. */
  readonly bytes: Uint8Array;
  /** A view over {@linkcode ArchiveReader.bytes}, without a copy. */
  readonly view: DataView;
  /** Start of the subtree range: no new claim may begin before it. */
  start = 0;
  /** End of the subtree range: no new claim may reach past it. */
  end: number;
  private readonly typeName: string;

  /**
   * Creates a reader over `bytes`, whose root is a `typeName`.
   *
   * @param bytes The archive; read in place.
   * @param typeName The root's Rust type, for messages.
   */
  constructor(bytes: Uint8Array, typeName: string) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = bytes.length;
    this.typeName = typeName;
  }

  /**
   * Throws the ValidationError that rejects this archive.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PiecrustError } from "../errors.ts";
   * import { ArchiveReader } from "./reader.ts";
   *
   * const reader = new ArchiveReader(new Uint8Array(1), "bool");
   * assert.throws(
   *   () => reader.fail("byte 0 is 2"),
   *   (e) =>
   *     e instanceof PiecrustError && e.kind === "ValidationError" &&
   *     e.message.endsWith("of bool: byte 0 is 2"),
   * );
   * ```
   *
   * @param message What is wrong, and where.
   */
  fail(message: string): never {
    throw new PiecrustError(
      "ValidationError",
      `bytes are not a valid rkyv archive of ${this.typeName}: ${message}`,
    );
  }

  /**
   * Checks that `base + offset` can hold `size` bytes aligned to `align`
   * within the buffer and the subtree range, as rkyv's `check_subtree_ptr`,
   * and returns that position.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PiecrustError } from "../errors.ts";
   * import { ArchiveReader } from "./reader.ts";
   *
   * const reader = new ArchiveReader(new Uint8Array(16), "T");
   * assert.equal(reader.claim(8, -8, 4, 4), 0);
   * assert.throws(() => reader.claim(0, 2, 4, 4), PiecrustError); // not aligned
   * ```
   *
   * @param base Position of the relative pointer (or 0 for the root).
   * @param offset The pointer's value.
   * @param size Bytes of the target.
   * @param align Alignment the target needs.
   */
  claim(base: number, offset: number, size: number, align: number): number {
    const target = base + offset;
    const at = `pointer at byte ${base} to byte ${target}`;
    if (target < 0 || target > this.bytes.length) {
      this.fail(`${at} lies outside the ${this.bytes.length}-byte buffer`);
    }
    if (target % align !== 0) this.fail(`${at} is not aligned to ${align}`);
    if (this.bytes.length - target < size) {
      this.fail(`${at} claims ${size} bytes, past the end of the buffer`);
    }
    const outside = size === 0
      ? target < this.start || target > this.end
      : target < this.start || target >= this.end;
    if (outside || this.end - target < size) {
      this.fail(
        `${at} (${size} bytes) is outside the free range ${this.start}..${this.end}: ` +
          "it overlaps or follows data already claimed",
      );
    }
    return target;
  }

  /**
   * Enters a claimed target: its children must lie before it. Returns the
   * range end to hand back to {@linkcode ArchiveReader.pop}.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ArchiveReader } from "./reader.ts";
   *
   * const reader = new ArchiveReader(new Uint8Array(16), "T");
   * const saved = reader.push(reader.claim(0, 8, 8, 8));
   * // Inside the target, only bytes before it may be claimed.
   * assert.throws(() => reader.claim(0, 8, 8, 8));
   * reader.pop(16, saved);
   * ```
   *
   * @param target Position returned by {@linkcode ArchiveReader.claim}.
   */
  push(target: number): number {
    const savedEnd = this.end;
    this.end = target;
    return savedEnd;
  }

  /**
   * Leaves a claimed target: later claims must start at or after `next`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ArchiveReader } from "./reader.ts";
   *
   * const reader = new ArchiveReader(new Uint8Array(16), "T");
   * const saved = reader.push(reader.claim(0, 0, 8, 8));
   * reader.pop(8, saved);
   * // What was checked is claimed: a second claim of it overlaps.
   * assert.throws(() => reader.claim(0, 0, 8, 8));
   * assert.equal(reader.claim(0, 8, 8, 8), 8);
   * ```
   *
   * @param next The end of the target just checked.
   * @param savedEnd What {@linkcode ArchiveReader.push} returned.
   */
  pop(next: number, savedEnd: number): void {
    this.start = next;
    this.end = savedEnd;
  }

  /**
   * Decodes bytes `from..to` as strict UTF-8, as `str::from_utf8` checks it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PiecrustError } from "../errors.ts";
   * import { ArchiveReader } from "./reader.ts";
   *
   * const reader = new ArchiveReader(new Uint8Array([104, 195, 169, 0xff]), "String");
   * assert.equal(reader.utf8(0, 3), "hé");
   * assert.throws(
   *   () => reader.utf8(0, 4),
   *   (e) => e instanceof PiecrustError && e.kind === "ValidationError",
   * );
   * ```
   *
   * @param from First byte.
   * @param to One past the last byte.
   */
  utf8(from: number, to: number): string {
    if (to - from <= SHORT_STRING) {
      // Short ASCII strings, the common case, skip TextDecoder's per-call cost.
      let text = "";
      for (let i = from; i < to; i++) {
        const byte = this.bytes[i];
        if (byte >= 0x80) return this.#decodeUtf8(from, to);
        text += String.fromCharCode(byte);
      }
      return text;
    }
    return this.#decodeUtf8(from, to);
  }

  #decodeUtf8(from: number, to: number): string {
    try {
      return utf8Decoder.decode(this.bytes.subarray(from, to));
    } catch {
      return this.fail(`the string at bytes ${from}..${to} is not valid UTF-8`);
    }
  }
}
