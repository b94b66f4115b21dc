/**
 * Makes a wasm64 contract's 64-bit table 32-bit, for the reference: LLVM ≥ 20
 * gives wasm64 modules a table64 (limits flag 0x05), which the reference's
 * wasmtime 21 refuses ("invalid table resizable limits flags"), while ours
 * runs it. Both VMs then run the converted bytes, so wasm64 behaviour is
 * compared too; the refusal itself is a documented difference
 * (`known_differences.ts`).
 *
 * The conversion goes through wabt's text format: the table loses `i64`, an
 * active element segment's offset becomes an `i32.const`, and each
 * `call_indirect` gets an `i32.wrap_i64` in front of it (one more unit of
 * gas per indirect call, on both sides). Any other table instruction is
 * refused, as Rust does not emit them.
 *
 * @module
 */

import wabtInit from "wabt";
import { inspectModule } from "../../src/bytecode/wasm_reader.ts";

const wabt = await wabtInit();
const FEATURES = {
  memory64: true,
  bulk_memory: true,
  reference_types: true,
  multi_value: true,
  sign_extension: true,
  sat_float_to_int: true,
  mutable_globals: true,
};

/** Whether the module has a 64-bit table. */
export function hasTable64(wasm: Uint8Array): boolean {
  return inspectModule(wasm).tables.some((table) => table.is64);
}

/** The module with its 64-bit table made 32-bit; see the module documentation. */
export function toTable32(wasm: Uint8Array): Uint8Array {
  const module = wabt.readWasm(wasm, FEATURES);
  let text: string;
  try {
    text = module.toText({ foldExprs: false, inlineExport: false });
  } finally {
    module.destroy();
  }
  const lines = text.split("\n").flatMap((line) => {
    const instruction = line.trim();
    if (/^(table\.|return_call_indirect)/.test(instruction)) {
      throw new Error(`toTable32: ${instruction} is not converted`);
    }
    if (instruction.startsWith("call_indirect")) {
      return [line.replace(/call_indirect.*$/, "i32.wrap_i64"), line];
    }
    return [
      line.replace(/^(\s*\(table \(;\d+;\)) i64 /, "$1 ")
        .replace(/^(\s*\(elem \(;\d+;\)) \(i64\.const /, "$1 (i32.const "),
    ];
  });
  const parsed = wabt.parseWat("table32.wat", lines.join("\n"), FEATURES);
  try {
    parsed.resolveNames();
    parsed.validate();
    return parsed.toBinary({}).buffer;
  } finally {
    parsed.destroy();
  }
}
