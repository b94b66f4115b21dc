/**
 * UTF-8 encoding straight into an archive buffer. TextEncoder would allocate
 * a Uint8Array per string, and most archived strings are short enough to be
 * stored inline; TextEncoder would also replace lone surrogates silently,
 * where a Rust `String` cannot hold them at all.
 *
 * @module
 */

/**
 * The UTF-8 length of `text`. Throws TypeError if it has a lone surrogate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { utf8Length } from "./utf8.ts";
 *
 * assert.equal(utf8Length("héllo 🦀"), 11);
 * assert.equal(utf8Length("héllo 🦀"), new TextEncoder().encode("héllo 🦀").length);
 * ```
 *
 * @param text A string.
 */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      length += 1;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      const low = text.charCodeAt(i + 1);
      if (unit > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) {
        throw new TypeError(
          `String expects well-formed Unicode, got a lone surrogate at index ${i}`,
        );
      }
      // Two UTF-16 units become four bytes.
      length += 2;
      i++;
    } else {
      length += 2;
    }
  }
  return length;
}

/**
 * Writes `text` as UTF-8 at `pos` and returns the number of bytes written.
 * `text` must be well-formed (see {@linkcode utf8Length}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeUtf8 } from "./utf8.ts";
 *
 * const bytes = new Uint8Array(4);
 * assert.equal(writeUtf8(bytes, 0, "é"), 2);
 * assert.deepEqual(bytes, new Uint8Array([195, 169, 0, 0]));
 * ```
 *
 * @param bytes Destination, with room for the encoded text.
 * @param pos Where to start writing.
 * @param text A well-formed string.
 */
export function writeUtf8(bytes: Uint8Array, pos: number, text: string): number {
  let at = pos;
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      bytes[at++] = code;
    } else if (code < 0x800) {
      bytes[at++] = 0xc0 | (code >> 6);
      bytes[at++] = 0x80 | (code & 0x3f);
    } else if (code >= 0xd800 && code <= 0xdbff) {
      code = 0x10000 + ((code - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      bytes[at++] = 0xf0 | (code >> 18);
      bytes[at++] = 0x80 | ((code >> 12) & 0x3f);
      bytes[at++] = 0x80 | ((code >> 6) & 0x3f);
      bytes[at++] = 0x80 | (code & 0x3f);
    } else {
      bytes[at++] = 0xe0 | (code >> 12);
      bytes[at++] = 0x80 | ((code >> 6) & 0x3f);
      bytes[at++] = 0x80 | (code & 0x3f);
    }
  }
  return at - pos;
}
