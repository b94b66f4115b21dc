/** Tests of src/bytecode/export_globals.ts. */

import assert from "node:assert/strict";
import { assembleWat } from "../../contracts/wat.ts";
import { exportMutableGlobals } from "../../src/bytecode/export_globals.ts";
import { inspectModule } from "../../src/bytecode/mod.ts";
import { contractBytecode } from "../../src/testing/mod.ts";

const GLOBALS = await assembleWat(
  `(module
    (memory (export "memory") 1)
    (global (export "A") i32 (i32.const 0))
    (global $one (mut i32) (i32.const 1))
    (global $reference (mut funcref) (ref.null func))
    (global $three (mut i64) (i64.const 3))
    (global $four (mut f32) (f32.const 4))
    (func (export "f") (param i32) (result i32) (local.get 0)))`,
  { features: ["reference_types"] },
);

Deno.test("exportMutableGlobals exports each mutable number global and keeps the rest", () => {
  const { wasm, names } = exportMutableGlobals(GLOBALS);
  assert.deepEqual(names, ["piecrust:global:1", "piecrust:global:3", "piecrust:global:4"]);
  const before = inspectModule(GLOBALS);
  const after = inspectModule(wasm);
  assert.deepEqual(after.exports.slice(0, before.exports.length), before.exports);
  assert.deepEqual(
    after.exports.slice(before.exports.length).map((e) => [e.name, e.kind, e.index]),
    names.map((name, i) => [name, "global", [1, 3, 4][i]]),
  );
  // Every other section is byte for byte the same.
  const others = (info: typeof before, bytes: Uint8Array) =>
    info.sections.filter((s) => s.id !== 7).map((s) => bytes.subarray(s.start, s.end));
  assert.deepEqual(others(after, wasm), others(before, GLOBALS));
  const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource));
  const values = names.map((name) => (instance.exports[name] as WebAssembly.Global).value);
  assert.deepEqual(values, [1, 3n, 4]);
});

Deno.test("exportMutableGlobals picks a prefix that no export name starts with", async () => {
  const bytes = await assembleWat(`(module
    (global (mut i32) (i32.const 0))
    (func (export "piecrust:global:0"))
    (func (export "_piecrust:global:"))
  )`);
  const { wasm, names } = exportMutableGlobals(bytes);
  assert.deepEqual(names, ["__piecrust:global:0"]);
  new WebAssembly.Module(wasm as BufferSource); // no duplicate export
});

Deno.test("exportMutableGlobals returns a module without mutable globals as it is", () => {
  const bytes = contractBytecode("counter");
  const counter = exportMutableGlobals(bytes);
  assert.equal(counter.names.length, 1, "Rust's stack pointer");
  const empty = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  const noGlobals = exportMutableGlobals(empty);
  assert.deepEqual(noGlobals.names, []);
  assert.equal(noGlobals.wasm, empty);
});

Deno.test("exportMutableGlobals rejects info of another module and a module without exports", async () => {
  assert.throws(
    () => exportMutableGlobals(GLOBALS, inspectModule(contractBytecode("counter"))),
    TypeError,
  );
  const noExports = await assembleWat(`(module (global (mut i32) (i32.const 0)))`);
  assert.throws(() => exportMutableGlobals(noExports), /no export section/);
});

Deno.test("exportMutableGlobals re-encodes the export count and section size when they grow", async () => {
  // 127 exports, then one more: the count LEB grows to two bytes.
  const exports = Array.from({ length: 127 }, (_, i) => `(func (export "f${i}"))`).join("\n");
  const bytes = await assembleWat(`(module (global (mut i32) (i32.const 9)) ${exports})`);
  const { wasm, names } = exportMutableGlobals(bytes);
  assert.equal(inspectModule(wasm).exports.length, 128);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource));
  assert.equal((instance.exports[names[0]] as WebAssembly.Global).value, 9);
});
