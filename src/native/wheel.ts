/**
 * {@linkcode zipMember}: one file out of a zip archive (a Python wheel), with
 * nothing but the archive's own directory and `node:zlib`'s inflate.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";

const END_OF_DIRECTORY = 0x06054b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;

function corrupt(what: string): PiecrustError {
  return new PiecrustError(
    "LibraryError",
    `the wasmtime wheel is not a valid zip archive: ${what}`,
  );
}

/**
 * The bytes of the member `name` of the zip archive `zip` (stored or
 * deflated, as wheels are). A `LibraryError` if the archive is malformed or
 * has no such member.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { zipMember } from "./wheel.ts";
 *
 * // A zip with one stored member "a" holding "hi", as Python's zipfile writes it.
 * const zip = Uint8Array.fromBase64(
 *   "UEsDBBQAAAAAAAAAIQCsKpPYAgAAAAIAAAABAAAAYWhpUEsBAhQDFAAAAAAAAAAhAKwqk9gCAAAAAgAAAAEAAAAAAAAAAAAAAIABAAAAAGFQSwUGAAAAAAEAAQAvAAAAIQAAAAAA",
 * );
 * assert.equal(new TextDecoder().decode(zipMember(zip, "a")), "hi");
 * assert.throws(() => zipMember(zip, "b"), /no member b/);
 * ```
 */
export function zipMember(zip: Uint8Array, name: string): Uint8Array {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let end = -1;
  // The end record is the last 22 bytes, unless a comment (at most 65535 bytes) follows it.
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 65535); at--) {
    if (view.getUint32(at, true) === END_OF_DIRECTORY) {
      end = at;
      break;
    }
  }
  if (end < 0) throw corrupt("no end-of-directory record");
  const entries = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const wanted = new TextEncoder().encode(name);
  for (let i = 0; i < entries; i++) {
    if (at + 46 > zip.length || view.getUint32(at, true) !== DIRECTORY_ENTRY) {
      throw corrupt("a directory entry is out of place");
    }
    const method = view.getUint16(at + 10, true);
    const compressedSize = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const entryName = zip.subarray(at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (entryName.length !== wanted.length || !entryName.every((b, k) => b === wanted[k])) continue;
    if (local + 30 > zip.length || view.getUint32(local, true) !== LOCAL_HEADER) {
      throw corrupt(`the header of ${name} is out of place`);
    }
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const data = zip.subarray(start, start + compressedSize);
    if (data.length !== compressedSize) throw corrupt(`${name} is truncated`);
    let bytes: Uint8Array;
    if (method === STORED) bytes = data.slice();
    else if (method === DEFLATED) {
      // Loaded when needed: importing node:zlib slows down every program that imports the VM.
      const { inflateRawSync } = process.getBuiltinModule("node:zlib");
      bytes = new Uint8Array(inflateRawSync(data));
    } else throw corrupt(`${name} uses compression method ${method}`);
    if (bytes.length !== size) {
      throw corrupt(`${name} inflates to ${bytes.length} bytes, not ${size}`);
    }
    return bytes;
  }
  throw corrupt(`no member ${name}`);
}
