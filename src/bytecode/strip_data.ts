/**
 * Taking a module's active data segments out, so that they are written into
 * a contract's memory once, at deploy, rather than by wasmtime at every
 * instantiation.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import { lebWidth, writeLeb } from "./_encoding.ts";
import { checkInfoOf, inspectModule, type ModuleInfo } from "./wasm_reader.ts";

/**
 * The result of {@linkcode stripActiveDataSegments}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { type StrippedModule, stripActiveDataSegments } from "./strip_data.ts";
 *
 * const bytes = contractBytecode("counter");
 * const { wasm, segments }: StrippedModule = stripActiveDataSegments(bytes);
 * assert.ok(wasm.length <= bytes.length);
 * assert.ok(segments.every(({ bytes }) => bytes.length > 0));
 * ```
 */
export interface StrippedModule {
  /** The rewritten module (the input itself when it has no active segments). */
  readonly wasm: Uint8Array;
  /**
   * The active segments, in order, for the VM to write into a fresh memory
   * at deploy: an unsigned `number` offset for a 32-bit memory, an unsigned
   * `bigint` for a 64-bit one. `bytes` are views of the input.
   */
  readonly segments: readonly { readonly offset: number | bigint; readonly bytes: Uint8Array }[];
}

/**
 * Rewrites a module so that instantiating it writes nothing to memory, and
 * returns the active data segments for the VM to apply once, at deploy.
 * wasmtime applies active segments at every instantiation, which would
 * overwrite a contract's persisted memory.
 *
 * Each active segment becomes an empty passive segment. Segment indices
 * stay the same, so `memory.init` and `data.drop` keep referring to the
 * segments they did, and an empty passive segment behaves exactly like a
 * used active one (which instantiation drops): `memory.init` of it traps
 * unless it copies 0 bytes. The data count is unchanged, so the data count
 * section stays valid. Every other byte of the module is kept as it is.
 *
 * @param bytes The module.
 * @param info `inspectModule(bytes)`, if already at hand.
 * @returns The rewritten module and the segments to apply.
 * @throws {PiecrustError} `CompileError` if an active segment's offset is not
 *   a constant (e.g. `global.get` of an imported global), names a missing
 *   memory, or does not match the memory's address width.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { stripActiveDataSegments } from "./strip_data.ts";
 *
 * const bytes = contractBytecode("counter");
 * const { wasm, segments } = stripActiveDataSegments(bytes);
 * const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource));
 * const memory = new Uint8Array((instance.exports.memory as WebAssembly.Memory).buffer);
 * for (const { offset, bytes } of segments) memory.set(bytes, Number(offset));
 * // The memory image is the one the original module instantiates with.
 * const original = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource));
 * assert.deepEqual(memory, new Uint8Array((original.exports.memory as WebAssembly.Memory).buffer));
 * ```
 */
export function stripActiveDataSegments(
  bytes: Uint8Array,
  info: ModuleInfo = inspectModule(bytes),
): StrippedModule {
  checkInfoOf(bytes, info);
  const segments: { offset: number | bigint; bytes: Uint8Array }[] = [];
  info.dataSegments.forEach((segment, index) => {
    if (segment.mode !== "active") return;
    const where = `data segment ${index} (at byte ${segment.start})`;
    if (segment.offset === undefined) {
      throw new PiecrustError(
        "CompileError",
        `${where}: its offset is not a constant (${segment.offsetProblem}); ` +
          "only i32.const and i64.const offsets are supported",
      );
    }
    const memory = info.memories[segment.memory];
    if (memory === undefined) {
      throw new PiecrustError("CompileError", `${where}: no memory ${segment.memory}`);
    }
    if (memory.is64 !== (typeof segment.offset === "bigint")) {
      throw new PiecrustError(
        "CompileError",
        `${where}: an ${typeof segment.offset === "bigint" ? "i64" : "i32"} offset for a ` +
          `${memory.is64 ? "64" : "32"}-bit memory`,
      );
    }
    segments.push({ offset: segment.offset, bytes: segment.bytes });
  });
  if (segments.length === 0) return { wasm: bytes, segments };

  const section = info.sections.find((s) => s.id === 11);
  if (section === undefined) throw new TypeError("info has data segments but no data section");
  const all = info.dataSegments;
  // An active segment becomes flags 0x01 and an empty vector; passive ones are copied.
  let contentLength = all[0].start - section.contentStart;
  for (const segment of all) {
    contentLength += segment.mode === "active" ? 2 : segment.end - segment.start;
  }
  const sizeLength = lebWidth(contentLength);
  const wasm = new Uint8Array(
    section.start + 1 + sizeLength + contentLength + (bytes.length - section.end),
  );
  wasm.set(bytes.subarray(0, section.start));
  let pos = section.start;
  wasm[pos++] = 11;
  writeLeb(wasm, pos, contentLength, sizeLength);
  pos += sizeLength;
  wasm.set(bytes.subarray(section.contentStart, all[0].start), pos);
  pos += all[0].start - section.contentStart;
  for (const segment of all) {
    if (segment.mode === "active") {
      wasm[pos] = 0x01;
      wasm[pos + 1] = 0x00;
      pos += 2;
    } else {
      wasm.set(bytes.subarray(segment.start, segment.end), pos);
      pos += segment.end - segment.start;
    }
  }
  wasm.set(bytes.subarray(section.end), pos);
  return { wasm, segments };
}
