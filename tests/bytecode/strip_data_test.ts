/** Tests of src/bytecode/strip_data.ts. */

import assert from "node:assert/strict";
import { watFixture } from "../../contracts/wat.ts";
import { contractBytecode } from "../../src/testing/mod.ts";
import {
  inspectModule,
  stripActiveDataSegments,
  validateContract,
} from "../../src/bytecode/mod.ts";
import { assertBytes, assertThrowsKind } from "../_helpers.ts";
import {
  assemble,
  assertStripped,
  bundledContracts,
  instantiate,
  memoryOf,
  section,
  str,
  wasm,
} from "./_modules.ts";

Deno.test("stripActiveDataSegments leaves memory zero and returns the segments", async () => {
  for (
    const name of [
      "validation_data",
      "validation_contract32",
      "validation_contract64",
      "memory_grow",
    ]
  ) {
    assertStripped(await watFixture(name));
  }
});

Deno.test("stripActiveDataSegments keeps every bundled Rust contract's memory image", () => {
  for (const { target, name } of bundledContracts()) {
    assertStripped(contractBytecode(name, { target }));
  }
});

Deno.test("stripActiveDataSegments changes only the data section", async () => {
  const bytes = await watFixture("validation_contract32");
  const info = inspectModule(bytes);
  const { wasm: stripped } = stripActiveDataSegments(bytes, info);
  const after = inspectModule(stripped);
  const data = info.sections.find((s) => s.id === 11);
  assert.ok(data !== undefined);
  assertBytes(stripped.subarray(0, data.start), bytes.subarray(0, data.start), "before data");
  assert.deepEqual(after.exports, info.exports);
  assert.deepEqual(after.imports, info.imports);
  assert.equal(after.dataCount, info.dataCount);
  assert.deepEqual(
    after.dataSegments.map((s) => [s.mode, new TextDecoder().decode(s.bytes)]),
    [["passive", ""], ["passive", ""], ["passive", "hello"]],
  );
  // A custom section after the data section is kept as it is.
  const trailer = section(0, [...str("name"), 9, 9, 9]);
  const withTrailer = new Uint8Array([...bytes, ...trailer]);
  const result = stripActiveDataSegments(withTrailer).wasm;
  assertBytes(result.subarray(result.length - trailer.length), new Uint8Array(trailer), "trailer");
  assertBytes(result.subarray(0, -trailer.length), stripped, "module");
});

Deno.test("stripActiveDataSegments returns a module without active segments as it is", async () => {
  const bytes = await watFixture("traps");
  const result = stripActiveDataSegments(bytes);
  assert.equal(result.wasm, bytes);
  assert.deepEqual(result.segments, []);
});

Deno.test("stripActiveDataSegments keeps memory.init and data.drop semantics", async () => {
  const bytes = await watFixture("validation_data");
  const { wasm: stripped } = stripActiveDataSegments(bytes);
  for (const module of [bytes, stripped]) {
    const instance = instantiate(module);
    const fn = instance.exports as Record<string, (...args: number[]) => number>;
    const memory = memoryOf(instance);
    // A used active segment counts as dropped: only 0-byte copies succeed.
    fn.init_first(0);
    assert.throws(() => fn.init_first(1), WebAssembly.RuntimeError);
    fn.drop_first();
    // The passive segment keeps its index.
    assert.equal(fn.init_passive(200), 7);
    assert.equal(new TextDecoder().decode(memory.subarray(200, 207)), "passive");
    fn.drop_passive();
    assert.throws(() => fn.init_passive(300), WebAssembly.RuntimeError);
  }
});

Deno.test("stripActiveDataSegments accepts explicit memory indices and copies nothing", () => {
  // Segment flags 2 (explicit memory 0) and 0, with a padded count.
  const bytes = wasm(
    section(5, [1, 0, 1]),
    section(7, [1, ...str("memory"), 2, 0]),
    section(11, [0x82, 0x80, 0x00, 2, 0, 0x41, 8, 0x0b, 2, 7, 7, 0, 0x41, 4, 0x0b, 1, 9]),
  );
  assert.ok(WebAssembly.validate(bytes as BufferSource));
  const { wasm: stripped, segments } = stripActiveDataSegments(bytes);
  assert.deepEqual(segments.map((s) => [s.offset, [...s.bytes]]), [[8, [7, 7]], [4, [9]]]);
  assert.equal(segments[0].bytes.buffer, bytes.buffer);
  assertStripped(bytes);
  assert.deepEqual(
    [...stripped.subarray(-9)],
    [11, 7, 0x82, 0x80, 0x00, 1, 0, 1, 0],
  );
});

Deno.test("stripActiveDataSegments rejects offsets it cannot apply", () => {
  const imported = assemble(`(module
    (import "env" "base" (global i32))
    (memory 1)
    (data (global.get 0) "x"))`);
  const error = assertThrowsKind(() => stripActiveDataSegments(imported), "CompileError");
  assert.match(error.message, /data segment 0 \(at byte \d+\): its offset is not a constant/);
  assert.match(error.message, /global\.get 0 reads an imported global/);

  const i64Offset = wasm(section(5, [1, 0, 1]), section(11, [1, 0, 0x42, 0, 0x0b, 0]));
  assert.match(
    assertThrowsKind(() => stripActiveDataSegments(i64Offset), "CompileError").message,
    /an i64 offset for a 32-bit memory/,
  );
  const i32Offset = wasm(section(5, [1, 4, 1]), section(11, [1, 0, 0x41, 0, 0x0b, 0]));
  assert.match(
    assertThrowsKind(() => stripActiveDataSegments(i32Offset), "CompileError").message,
    /an i32 offset for a 64-bit memory/,
  );
  const noMemory = wasm(section(5, [1, 0, 1]), section(11, [1, 2, 1, 0x41, 0, 0x0b, 0]));
  assert.match(
    assertThrowsKind(() => stripActiveDataSegments(noMemory), "CompileError").message,
    /no memory 1/,
  );
  assert.throws(
    () => stripActiveDataSegments(imported, inspectModule(i64Offset)),
    TypeError,
  );
});

/** A contract with many small exported functions and 64 active data segments. */
function largeModuleWat(functions: number): string {
  const lines = [`(module (memory (export "memory") 4)`];
  lines.push(`(global (export "A") i32 (i32.const 131072))`);
  for (let i = 0; i < functions; i++) {
    lines.push(
      `(func $f${i} (export "f${i}") (param $x i32) (result i32)
        (i32.store (i32.const ${i * 4}) (i32.add (local.get $x) (i32.const ${i})))
        (i32.mul (i32.load (i32.const ${i * 4})) (i32.const ${i + 1})))`,
    );
  }
  for (let i = 0; i < 64; i++) lines.push(`(data (i32.const ${65536 + i * 100}) "segment ${i}")`);
  lines.push(")");
  return lines.join("\n");
}

Deno.test("stripActiveDataSegments rewrites a 100 KiB module", () => {
  const bytes = assemble(largeModuleWat(3000));
  assert.ok(bytes.length > 100 * 1024, `${bytes.length} bytes`);
  const info = inspectModule(bytes);
  assert.equal(validateContract(info).functions.length, 3000);
  const { wasm: stripped, segments } = stripActiveDataSegments(bytes, info);
  assert.equal(segments.length, 64);
  const code = info.sections.find((s) => s.id === 10);
  const after = inspectModule(stripped).sections.find((s) => s.id === 10);
  assert.ok(code !== undefined && after !== undefined);
  assertBytes(stripped.subarray(after.start, after.end), bytes.subarray(code.start, code.end));
  assertStripped(bytes);
});
