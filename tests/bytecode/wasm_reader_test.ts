/** Tests of src/bytecode/wasm_reader.ts. */

import assert from "node:assert/strict";
import { watFixture } from "../../contracts/wat.ts";
import { contractBytecode } from "../../src/testing/mod.ts";
import { inspectModule, validateContract } from "../../src/bytecode/mod.ts";
import { assertThrowsKind } from "../_helpers.ts";
import {
  assemble,
  assertGlobalValues,
  assertMatchesV8,
  assertStripped,
  HEADER,
  instantiate,
  section,
  str,
  wasm,
} from "./_modules.ts";

Deno.test("inspectModule reads the WAT fixtures as V8 does", async () => {
  for await (const entry of Deno.readDir(new URL("../../contracts/wat/", import.meta.url))) {
    if (!entry.name.endsWith(".wat")) continue;
    const bytes = await watFixture(entry.name.slice(0, -4));
    assertMatchesV8(bytes, inspectModule(bytes));
  }
});

Deno.test("inspectModule reads imports with multi-value types", async () => {
  const info = inspectModule(await watFixture("host_calls"));
  assert.deepEqual(info.imports[1], {
    module: "env",
    name: "add",
    kind: "func",
    type: { params: ["i32", "i64", "f64"], results: ["i64", "f64"] },
  });
  const add = info.exports.find((e) => e.name === "add");
  assert.ok(add?.kind === "func");
  assert.deepEqual(add.type.results, ["i64", "f64"]);
  assert.deepEqual(info.globals, [{ type: "i32", mutable: true, imported: false, value: 0 }]);
});

Deno.test("inspectModule reads memories, limits and active data segments", async () => {
  const grow = inspectModule(await watFixture("memory_grow"));
  assert.deepEqual(grow.memories, [{
    min: 1,
    max: 16,
    is64: false,
    shared: false,
    imported: false,
  }]);
  assert.equal(grow.dataSegments.length, 1);
  const [segment] = grow.dataSegments;
  assert.ok(segment.mode === "active");
  assert.equal(segment.offset, 16);
  assert.equal(new TextDecoder().decode(segment.bytes), "piecrust");
  const memory64 = inspectModule(await watFixture("memory64"));
  assert.deepEqual(memory64.memories, [{ min: 1, is64: true, shared: false, imported: false }]);
});

Deno.test("inspectModule returns data segment bytes as views of the module", async () => {
  const bytes = await watFixture("validation_data");
  const info = inspectModule(bytes);
  assert.deepEqual(info.dataSegments.map((s) => s.mode), ["active", "passive", "active"]);
  for (const segment of info.dataSegments) {
    assert.equal(segment.bytes.buffer, bytes.buffer);
    assert.equal(segment.end, segment.bytes.byteOffset - bytes.byteOffset + segment.bytes.length);
  }
  assert.equal(info.dataCount, 3);
  const last = info.dataSegments[2];
  assert.ok(last.mode === "active");
  assert.equal(last.offset, 65532);
});

Deno.test("inspectModule reads the Rust counter builds", () => {
  for (const target of ["wasm32", "wasm64"] as const) {
    const bytes = contractBytecode("counter", { target });
    const info = inspectModule(bytes);
    assertMatchesV8(bytes, info);
    assert.equal(info.memories.length, 1);
    assert.equal(info.memories[0].is64, target === "wasm64");
    assert.equal(info.start, undefined);
    const a = info.exports.find((e) => e.name === "A");
    assert.ok(a?.kind === "global");
    assert.deepEqual(a.global, { type: target === "wasm64" ? "i64" : "i32", mutable: false });
    const instance = instantiate(bytes);
    assertGlobalValues(instance, info);
    assert.equal((instance.exports.A as WebAssembly.Global).value, a.value);
  }
});

/** `supported` marks input that V8 accepts but piecrust's engine does not. */
const malformations: {
  name: string;
  bytes: number[];
  message: string;
  at: number;
  supported?: boolean;
}[] = [
  { name: "empty input", bytes: [], message: "unexpected end of the module header", at: 0 },
  {
    name: "a wrong magic number",
    bytes: [0x00, 0x61, 0x73, 0x6e, 1, 0, 0, 0],
    message: "magic",
    at: 0,
  },
  { name: "version 2", bytes: [...HEADER.slice(0, 4), 2, 0, 0, 0], message: "version 2", at: 4 },
  {
    name: "a component",
    bytes: [...HEADER.slice(0, 4), 0x0d, 0, 1, 0],
    message: "a WebAssembly component",
    at: 4,
  },
  {
    name: "a section larger than the module",
    bytes: [...HEADER, 1, 5, 1, 0x60, 0],
    message: "the type section declares 5 bytes, but only 3 remain",
    at: 8,
  },
  {
    name: "a section whose contents end early",
    bytes: [...HEADER, ...section(1, [1, 0x60, 0, 0, 0])],
    message: "the type section declares 5 bytes, but its contents end after 4",
    at: 14,
  },
  {
    name: "a truncated export name",
    bytes: [...HEADER, ...section(7, [1, 5, 0x61])],
    message: "unexpected end of the export section",
    at: 12,
  },
  {
    name: "an unknown section id",
    bytes: [...HEADER, 14, 0],
    message: "unknown section id 14",
    at: 8,
  },
  {
    name: "a tag section",
    bytes: [...HEADER, 13, 1, 0],
    message: "tag section",
    at: 8,
    supported: true,
  },
  {
    name: "sections out of order",
    bytes: [...HEADER, ...section(3, [0]), ...section(1, [0])],
    message: "the type section must come before the function section",
    at: 11,
  },
  {
    name: "a duplicate section",
    bytes: [...HEADER, ...section(1, [0]), ...section(1, [0])],
    message: "duplicate type section",
    at: 11,
  },
  {
    name: "a 6-byte LEB128",
    bytes: [...HEADER, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
    message: "integer representation too long",
    at: 9,
  },
  {
    name: "a LEB128 above 2^32 - 1",
    bytes: [...HEADER, 1, 0x80, 0x80, 0x80, 0x80, 0x10],
    message: "integer too large",
    at: 9,
  },
  {
    name: "an i32.const with bad sign bits",
    bytes: [...HEADER, ...section(6, [1, 0x7f, 0, 0x41, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0b])],
    message: "integer too large",
    at: 14,
  },
  {
    name: "an i64.const with bad sign bits",
    bytes: [
      ...HEADER,
      ...section(6, [1, 0x7e, 0, 0x42, ...Array(9).fill(0x80), 0x02, 0x0b]),
    ],
    message: "integer too large",
    at: 14,
  },
  {
    name: "a function type form other than 0x60",
    bytes: [...HEADER, ...section(1, [1, 0x61, 0, 0])],
    message: "invalid type form 0x61",
    at: 11,
  },
  {
    name: "a GC recursive type group",
    bytes: [...HEADER, ...section(1, [1, 0x4e, 0])],
    message: "GC type form 0x4e is not supported",
    at: 11,
    supported: true,
  },
  {
    name: "a typed reference",
    bytes: [...HEADER, ...section(1, [1, 0x60, 1, 0x64, 0x70, 0])],
    message: "reference type 0x64 is not supported",
    at: 13,
    supported: true,
  },
  {
    name: "an invalid value type",
    bytes: [...HEADER, ...section(1, [1, 0x60, 1, 0x40, 0])],
    message: "invalid value type 0x40",
    at: 13,
  },
  {
    name: "custom page sizes",
    bytes: [...HEADER, ...section(5, [1, 0x08, 1, 16])],
    message: "custom page sizes are not supported",
    at: 11,
    supported: true,
  },
  {
    name: "invalid memory limits flags",
    bytes: [...HEADER, ...section(5, [1, 0x10, 1])],
    message: "invalid memory limits flags 0x10",
    at: 11,
  },
  {
    name: "a shared table",
    bytes: [...HEADER, ...section(4, [1, 0x70, 0x03, 1, 1])],
    message: "invalid table limits flags 0x03",
    at: 12,
  },
  {
    name: "a table initializer",
    bytes: [...HEADER, ...section(4, [1, 0x40, 0x00, 0x70, 0, 1, 0xd0, 0x70, 0x0b])],
    message: "tables with an initializer expression are not supported",
    at: 11,
    supported: true,
  },
  {
    name: "an invalid import kind",
    bytes: [...HEADER, ...section(2, [1, ...str("env"), ...str("x"), 0x05])],
    message: "invalid import kind 0x05",
    at: 17,
  },
  {
    name: "a type index out of range",
    bytes: [...HEADER, ...section(3, [1, 0]), ...section(10, [1, 2, 0, 0x0b])],
    message: "type index 0 out of range",
    at: 11,
  },
  {
    name: "functions without code",
    bytes: [...HEADER, ...section(1, [1, 0x60, 0, 0]), ...section(3, [1, 0])],
    message: "1 functions are declared but there is no code",
    at: 18,
  },
  {
    name: "more bodies than functions",
    bytes: [...HEADER, ...section(10, [1, 2, 0, 0x0b])],
    message: "the code section has 1 bodies for 0 declared functions",
    at: 10,
  },
  {
    name: "a wrong data count",
    bytes: [...HEADER, ...section(12, [2]), ...section(11, [0])],
    message: "the data count section says 2 segments, the data section has 0",
    at: 10,
  },
  {
    name: "invalid data segment flags",
    bytes: [...HEADER, ...section(11, [1, 3])],
    message: "invalid data segment flags 3",
    at: 11,
  },
  {
    name: "a non-constant instruction in an offset",
    bytes: [...HEADER, ...section(5, [1, 0, 1]), ...section(11, [1, 0, 0x20, 0, 0x0b, 0])],
    message: "instruction 0x20 is not allowed in a constant expression",
    at: 17,
  },
  {
    name: "an extended-const expression",
    bytes: [...HEADER, ...section(6, [1, 0x7f, 0, 0x41, 1, 0x41, 2, 0x6a, 0x0b])],
    message: "i32.add in a constant expression is not supported",
    at: 17,
    supported: true,
  },
  {
    name: "invalid element segment flags",
    bytes: [...HEADER, ...section(9, [1, 8])],
    message: "invalid element segment flags 8",
    at: 11,
  },
  {
    name: "an invalid element kind",
    bytes: [...HEADER, ...section(9, [1, 1, 0x01, 0])],
    message: "invalid element kind 0x01",
    at: 12,
  },
  {
    name: "an offset that leaves two values",
    bytes: [...HEADER, ...section(5, [1, 0, 1]), ...section(11, [1, 0, 0x41, 0, 0x41, 0, 0x0b, 0])],
    message: "constant expression leaves 2 values, expected 1",
    at: 21,
  },
  {
    name: "an invalid UTF-8 name",
    bytes: [...HEADER, ...section(0, [2, 0xc3, 0x28])],
    message: "name is not valid UTF-8",
    at: 11,
  },
  {
    name: "a duplicate export",
    bytes: [
      ...HEADER,
      ...section(5, [1, 0, 1]),
      ...section(7, [2, ...str("m"), 2, 0, ...str("m"), 2, 0]),
    ],
    message: `duplicate export name "m"`,
    at: 20,
  },
  {
    name: "an export of a missing global",
    bytes: [...HEADER, ...section(7, [1, ...str("g"), 3, 0])],
    message: `export "g" refers to global 0, but there are only 0`,
    at: 13,
  },
  {
    name: "a tag export",
    bytes: [...HEADER, ...section(7, [1, ...str("t"), 4, 0])],
    message: "tag exports are not supported",
    at: 13,
  },
];

for (const { name, bytes, message, at, supported } of malformations) {
  Deno.test(`inspectModule rejects ${name}`, () => {
    const module = new Uint8Array(bytes);
    if (!supported) {
      assert.equal(WebAssembly.validate(module as BufferSource), false, "V8 accepts it");
    }
    const error = assertThrowsKind(() => inspectModule(module), "CompileError");
    assert.ok(error.message.includes(message), error.message);
    assert.ok(error.message.endsWith(`(at byte ${at})`), error.message);
  });
}

/** A module exporting one immutable global initialized by the given expression bytes. */
function globalModule(type: number, expression: number[]): Uint8Array {
  return wasm(section(6, [1, type, 0, ...expression, 0x0b]), section(7, [1, ...str("g"), 3, 0]));
}

Deno.test("inspectModule reads padded and extreme LEB128 constants as V8 does", () => {
  const cases: [type: number, expression: number[]][] = [
    [0x7f, [0x41, 0x80, 0x80, 0x80, 0x80, 0x00]], // 0, padded to 5 bytes
    [0x7f, [0x41, 0xff, 0xff, 0xff, 0xff, 0x7f]], // -1, padded
    [0x7f, [0x41, 0x80, 0x80, 0x80, 0x80, 0x78]], // -2^31
    [0x7f, [0x41, 0xff, 0xff, 0xff, 0xff, 0x07]], // 2^31 - 1
    [0x7f, [0x41, 0x40]], // -64
    [0x7e, [0x42, ...Array(9).fill(0x80), 0x00]], // 0, padded to 10 bytes
    [0x7e, [0x42, ...Array(9).fill(0xff), 0x7f]], // -1, padded
    [0x7e, [0x42, ...Array(9).fill(0x80), 0x7f]], // -2^63
    [0x7e, [0x42, ...Array(9).fill(0xff), 0x00]], // 2^63 - 1
    [0x7e, [0x42, 0xc0, 0xbb, 0x78]], // -123456
  ];
  for (const [type, expression] of cases) {
    const bytes = globalModule(type, expression);
    const info = inspectModule(bytes);
    assertGlobalValues(instantiate(bytes), info);
    const [g] = info.exports;
    assert.ok(g.kind === "global" && g.value !== undefined);
  }
});

Deno.test("inspectModule reads padded section sizes, counts and indices", () => {
  const source = `(module
    (import "env" "caller" (func $caller (result i32)))
    (memory (export "memory") 1)
    (global $A (export "A") i32 (i32.const 1024))
    (data (i32.const 16) "piecrust")
    (func (export "f") (param i32) (result i32)
      (drop (call $caller)) (global.get $A)))`;
  const canonical = assemble(source);
  const padded = assemble(source, {}, { canonicalize_lebs: false, relocatable: true });
  assert.ok(padded.length > canonical.length + 20, "wabt did not pad");
  assert.ok(WebAssembly.validate(padded as BufferSource));
  const a = inspectModule(canonical);
  const b = inspectModule(padded);
  assertMatchesV8(padded, b);
  assert.deepEqual(b.imports, a.imports);
  assert.deepEqual(b.exports, a.exports);
  assert.deepEqual(b.globals, a.globals);
  assert.deepEqual(
    b.dataSegments.map((s) => s.mode === "active" && [s.offset, [...s.bytes]]),
    a.dataSegments.map((s) => s.mode === "active" && [s.offset, [...s.bytes]]),
  );
  assert.deepEqual(validateContract(b).functions, ["f"]);
  assertStripped(padded);

  // memory64 limits padded to 10 bytes, and a padded export index.
  const limits = wasm(
    section(5, [1, 0x05, ...Array(9).fill(0x80), 0x00, 0x82, ...Array(8).fill(0x80), 0x00]),
    section(7, [1, ...str("memory"), 2, 0x80, 0x80, 0x80, 0x80, 0x00]),
  );
  assert.ok(WebAssembly.validate(limits as BufferSource));
  assert.deepEqual(inspectModule(limits).memories, [
    { min: 0, max: 2, is64: true, shared: false, imported: false },
  ]);
});

Deno.test("inspectModule reads table64 and externref tables", () => {
  const bytes = wasm(
    section(4, [3, 0x70, 0x05, 1, 0x82, 0x80, 0x00, 0x6f, 0x00, 0, 0x70, 0x04, 2]),
    section(7, [1, ...str("t"), 1, 0]),
  );
  assert.ok(WebAssembly.validate(bytes as BufferSource));
  assert.deepEqual(inspectModule(bytes).tables, [
    { element: "funcref", min: 1, max: 2, is64: true, imported: false },
    { element: "externref", min: 0, is64: false, imported: false },
    { element: "funcref", min: 2, is64: true, imported: false },
  ]);
});

Deno.test("inspectModule reads imported memories and globals, and a start function", () => {
  const bytes = assemble(
    `(module
    (import "env" "memory" (memory 1 2 shared))
    (import "env" "base" (global $base i32))
    (func $start)
    (start $start)
    (data (global.get $base) "x"))`,
    { threads: true },
  );
  const info = inspectModule(bytes);
  assert.deepEqual(info.memories, [{ min: 1, max: 2, is64: false, shared: true, imported: true }]);
  assert.deepEqual(info.globals, [{ type: "i32", mutable: false, imported: true }]);
  assert.equal(info.start, 0);
  const [segment] = info.dataSegments;
  assert.ok(segment.mode === "active");
  assert.equal(segment.offset, undefined);
  assert.equal(segment.offsetProblem, "global.get 0 reads an imported global");
});

Deno.test("inspectModule reads element segments of every form", () => {
  const bytes = assemble(
    `(module
    (table $t0 4 funcref) (table $t1 2 funcref) (table $t64 i64 4 funcref)
    (func $f)
    (elem (i32.const 1) $f $f)
    (elem func $f)
    (elem (table $t1) (i32.const 1) func $f)
    (elem declare func $f)
    (elem (i32.const 0) funcref (ref.func $f) (ref.null func))
    (elem funcref (ref.func $f) (ref.null func) (ref.func $f))
    (elem (table $t64) (i64.const 2) funcref (ref.func $f) (ref.null func))
    (elem declare funcref (ref.func $f) (ref.null func)))`,
  );
  assert.ok(WebAssembly.validate(bytes as BufferSource));
  const segments = inspectModule(bytes).elementSegments;
  // One segment of each of the eight encodings, in order (wabt writes a list of
  // ref.func alone as function indices).
  assert.deepEqual(segments.map((s) => bytes[s.start]), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(segments.map(({ start: _, end: __, ...rest }) => rest), [
    { mode: "active", table: 0, offset: 1, count: 2 },
    { mode: "passive", count: 1 },
    { mode: "active", table: 1, offset: 1, count: 1 },
    { mode: "declarative", count: 1 },
    { mode: "active", table: 0, offset: 0, count: 2 },
    { mode: "passive", count: 3 },
    { mode: "active", table: 2, offset: 2n, count: 2 },
    { mode: "declarative", count: 2 },
  ]);
  segments.slice(1).forEach((s, i) => assert.equal(s.start, segments[i].end));
});

Deno.test("inspectModule rejects extended constant expressions wherever they occur", () => {
  const cases: [where: string, fields: string, op: string][] = [
    ["a global", `(global i64 (i64.mul (i64.const 2) (i64.const 3)))`, "i64.mul"],
    ["a data offset", `(memory 1) (data (i32.sub (i32.const 8) (i32.const 1)) "x")`, "i32.sub"],
    [
      "an element offset",
      `(table 2 funcref) (func $f) (elem (i32.add (i32.const 0) (i32.const 1)) $f)`,
      "i32.add",
    ],
  ];
  for (const [where, fields, op] of cases) {
    const bytes = assemble(`(module ${fields})`, { extended_const: true });
    assert.ok(WebAssembly.validate(bytes as BufferSource), `V8 rejects ${where}`);
    const error = assertThrowsKind(() => inspectModule(bytes), "CompileError");
    assert.match(
      error.message,
      new RegExp(
        `^invalid module: ${op} in a constant expression is not supported \\(the ` +
          "extended-const proposal is disabled\\)",
      ),
      where,
    );
  }
});

Deno.test("inspectModule records custom sections and skips code", async () => {
  const bytes = await watFixture("validation_contract32");
  const custom = [...section(0, [...str("producers"), 1, 2, 3])];
  const module = new Uint8Array([...bytes.subarray(0, 8), ...custom, ...bytes.subarray(8)]);
  const info = inspectModule(module);
  assert.deepEqual(info.sections[0], {
    id: 0,
    name: "producers",
    start: 8,
    contentStart: 10,
    end: 23,
  });
  assert.deepEqual(
    info.sections.map((s) => s.name),
    [
      "producers",
      "type",
      "import",
      "function",
      "table",
      "memory",
      "global",
      "export",
      "element",
      "data count",
      "code",
      "data",
    ],
  );
  assert.equal(info.sections.at(-1)?.end, module.length);
});
