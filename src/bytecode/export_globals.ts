/**
 * Exporting a module's mutable globals, so that the host can put back their
 * initial values and run another call on the same instance, as if it were a
 * fresh one.
 *
 * @module
 */

import { encodeName, leb, lebBytes, lebWidth, malformed, readU32, writeLeb } from "./_encoding.ts";
import { checkInfoOf, inspectModule, type ModuleInfo } from "./wasm_reader.ts";

/** The added exports' names: this prefix, then the global's index (see {@linkcode exportMutableGlobals}). */
const PREFIX = "piecrust:global:";
const EXPORT_SECTION = 7;
const GLOBAL_KIND = 0x03;

/**
 * The result of {@linkcode exportMutableGlobals}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { type ExportedGlobals, exportMutableGlobals } from "./export_globals.ts";
 *
 * const exported: ExportedGlobals = exportMutableGlobals(contractBytecode("counter"));
 * assert.deepEqual(exported.names, ["piecrust:global:0"]); // Rust's stack pointer
 * ```
 */
export interface ExportedGlobals {
  /** The rewritten module (the input itself when it has no such global). */
  readonly wasm: Uint8Array;
  /** The names of the added exports, in global index order. */
  readonly names: readonly string[];
}

/**
 * Adds an export for every mutable global the module defines with a number
 * or vector type, named `piecrust:global:<index>` (with as many `_` in front
 * as it takes for no existing export name to start with the prefix). Nothing
 * else changes: the export section gains entries at its end, and every
 * index stays as it was.
 *
 * @param bytes A module with an export section, as every contract has.
 * @param info `inspectModule(bytes)`, if already at hand.
 * @returns The rewritten module and the names it exports the globals under.
 * @throws {TypeError} if `info` does not describe `bytes`, or the module has
 *   such globals but no export section.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { exportMutableGlobals } from "./export_globals.ts";
 *
 * const { wasm, names } = exportMutableGlobals(contractBytecode("counter"));
 * const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource));
 * const stackPointer = instance.exports[names[0]] as WebAssembly.Global;
 * assert.equal(typeof stackPointer.value, "number");
 * ```
 */
export function exportMutableGlobals(
  bytes: Uint8Array,
  info: ModuleInfo = inspectModule(bytes),
): ExportedGlobals {
  checkInfoOf(bytes, info);
  const indices: number[] = [];
  info.globals.forEach((global, index) => {
    if (global.mutable && !global.imported && !global.type.endsWith("ref")) indices.push(index);
  });
  if (indices.length === 0) return { wasm: bytes, names: [] };
  const section = info.sections.find((s) => s.id === EXPORT_SECTION);
  if (section === undefined) throw new TypeError("the module has no export section");

  let prefix = PREFIX;
  while (info.exports.some((e) => e.name.startsWith(prefix))) prefix = `_${prefix}`;
  const names = indices.map((index) => `${prefix}${index}`);
  const entries = new Uint8Array(
    names.flatMap((name, i) => [...encodeName(name), GLOBAL_KIND, ...lebBytes(indices[i])]),
  );

  const entriesStart = readU32(
    bytes,
    section.contentStart,
    section.end,
    (start) => malformed(start, "unexpected end of the export count"),
  );
  const newCount = leb.value + names.length;
  const contentLength = lebWidth(newCount) + (section.end - entriesStart) + entries.length;
  const sizeWidth = lebWidth(contentLength);
  const wasm = new Uint8Array(
    bytes.length + (1 + sizeWidth + contentLength) - (section.end - section.start),
  );
  wasm.set(bytes.subarray(0, section.start));
  let pos = section.start;
  wasm[pos++] = EXPORT_SECTION;
  writeLeb(wasm, pos, contentLength, sizeWidth);
  pos += sizeWidth;
  writeLeb(wasm, pos, newCount, lebWidth(newCount));
  pos += lebWidth(newCount);
  wasm.set(bytes.subarray(entriesStart, section.end), pos);
  pos += section.end - entriesStart;
  wasm.set(entries, pos);
  wasm.set(bytes.subarray(section.end), pos + entries.length);
  return { wasm, names };
}
