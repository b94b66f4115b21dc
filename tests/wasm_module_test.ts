import assert from "node:assert/strict";
import wabtInit from "wabt";
import { watFixture } from "../contracts/wat.ts";
import { contractBytecode, type ContractTarget } from "../src/contract_bytecode.ts";
import {
  inspectModule,
  type ModuleInfo,
  stripActiveDataSegments,
  validateContract,
  type ValidateContractOptions,
} from "../src/session/wasm_module.ts";
import { assertBytes, assertThrowsKind } from "./_helpers.ts";

const wabt = await wabtInit();
const encoder = new TextEncoder();

/**
 * Assembles WAT with wabt's defaults plus memory64 and any extra features
 * (multi-memory, threads, ...) that contracts/wat.ts does not enable.
 */
function assemble(
  source: string,
  features: Record<string, boolean> = {},
  binary: { canonicalize_lebs?: boolean; relocatable?: boolean } = {},
): Uint8Array {
  const all = { memory64: true, ...features };
  const module = wabt.parseWat("test.wat", source, all);
  try {
    module.resolveNames();
    // wabt.js validates with its default features unless given them; its typings omit the parameter.
    (module as unknown as { validate(features: object): void }).validate(all);
    return module.toBinary(binary).buffer;
  } finally {
    module.destroy();
  }
}

// Hand-built modules, for what no assembler writes.
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    const byte = value & 0x7f;
    value = Math.floor(value / 128);
    out.push(value > 0 ? byte | 0x80 : byte);
  } while (value > 0);
  return out;
}

function str(text: string): number[] {
  const bytes = encoder.encode(text);
  return [...leb(bytes.length), ...bytes];
}

function section(id: number, content: number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

function wasm(...sections: number[][]): Uint8Array {
  return new Uint8Array([...HEADER, ...sections.flat()]);
}

const kinds = { func: "function", table: "table", memory: "memory", global: "global" } as const;

/** Asserts that the reader sees the same imports and exports as V8. */
function assertMatchesV8(bytes: Uint8Array, info: ModuleInfo): void {
  const module = new WebAssembly.Module(bytes as BufferSource);
  assert.deepEqual(
    info.exports.map((e) => ({ name: e.name, kind: kinds[e.kind] })),
    WebAssembly.Module.exports(module),
  );
  assert.deepEqual(
    info.imports.map((i) => ({ module: i.module, name: i.name, kind: kinds[i.kind] })),
    WebAssembly.Module.imports(module),
  );
}

/** Instantiates with V8, every imported function throwing if called. */
function instantiate(bytes: Uint8Array): WebAssembly.Instance {
  const module = new WebAssembly.Module(bytes as BufferSource);
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const i of WebAssembly.Module.imports(module)) {
    assert.equal(i.kind, "function", `${i.module}.${i.name}`);
    (imports[i.module] ??= {})[i.name] = (): never => {
      throw new Error(`unexpected call of ${i.name}`);
    };
  }
  return new WebAssembly.Instance(module, imports);
}

function memoryOf(instance: WebAssembly.Instance, name = "memory"): Uint8Array {
  return new Uint8Array((instance.exports[name] as WebAssembly.Memory).buffer);
}

/** Asserts that exported globals with a known value have it in V8 too. */
function assertGlobalValues(instance: WebAssembly.Instance, info: ModuleInfo): void {
  for (const e of info.exports) {
    if (e.kind === "global" && e.value !== undefined) {
      assert.equal((instance.exports[e.name] as WebAssembly.Global).value, e.value, e.name);
    }
  }
}

/**
 * Asserts that the stripped module initializes nothing, and that applying
 * the returned segments gives the memory the original module starts with.
 */
function assertStripped(bytes: Uint8Array): void {
  const info = inspectModule(bytes);
  const { wasm, segments } = stripActiveDataSegments(bytes, info);
  const active = info.dataSegments.filter((s) => s.mode === "active");
  assert.equal(segments.length, active.length);
  const original = memoryOf(instantiate(bytes));
  const stripped = memoryOf(instantiate(wasm));
  for (const [i, { offset, bytes: data }] of segments.entries()) {
    assert.equal(offset, active[i].offset);
    const start = Number(offset);
    assertBytes(data, original.subarray(start, start + data.length), `segment ${i}`);
    assert.ok(stripped.subarray(start, start + data.length).every((b) => b === 0), `segment ${i}`);
  }
  for (const { offset, bytes: data } of segments) stripped.set(data, Number(offset));
  assertBytes(stripped, original, "memory");
}

Deno.test("inspectModule reads the WAT fixtures as V8 does", async () => {
  for await (const entry of Deno.readDir(new URL("../contracts/wat/", import.meta.url))) {
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

Deno.test("validateContract describes the Rust counter builds", () => {
  for (const target of ["wasm32", "wasm64"] as const) {
    const bytes = contractBytecode("counter", { target });
    const contract = validateContract(inspectModule(bytes));
    const instance = instantiate(bytes);
    assert.equal(contract.is64, target === "wasm64");
    assert.equal(contract.memoryExport, "memory");
    assert.deepEqual(contract.functions, ["increment", "read_value"]);
    assert.deepEqual(contract.imports, []);
    assert.equal(contract.memoryMinimum, memoryOf(instance).length);
    assert.equal(
      BigInt(contract.argBuffer),
      BigInt((instance.exports.A as WebAssembly.Global).value),
    );
  }
});

/** Every bundled Rust contract, by target and name. */
function bundledContracts(): { target: ContractTarget; name: string }[] {
  const contracts: { target: ContractTarget; name: string }[] = [];
  for (const target of ["wasm32", "wasm64"] as const) {
    const folder = new URL(`../contracts/build/${target}/`, import.meta.url);
    for (const entry of Deno.readDirSync(folder)) {
      if (entry.name.endsWith(".wasm")) contracts.push({ target, name: entry.name.slice(0, -5) });
    }
  }
  return contracts.sort((a, b) => `${a.target}${a.name}`.localeCompare(`${b.target}${b.name}`));
}

Deno.test("validateContract agrees with V8 on every bundled Rust contract", () => {
  for (const { target, name } of bundledContracts()) {
    const bytes = contractBytecode(name, { target });
    const info = inspectModule(bytes);
    assertMatchesV8(bytes, info);
    const instance = instantiate(bytes);
    assertGlobalValues(instance, info);
    if (name === "invalid") {
      const error = assertThrowsKind(() => validateContract(info), "InvalidFunction");
      assert.match(error.message, /"bad_function" has type \(i64\) -> \(i64\)/);
      continue;
    }
    if (info.imports.some((i) => i.name === "hdebug")) {
      assertThrowsKind(() => validateContract(info), "InvalidFunction");
    }
    const contract = validateContract(info, { debug: true });
    assert.equal(contract.is64, target === "wasm64", name);
    assert.equal(contract.memoryMinimum, memoryOf(instance).length, name);
    assert.equal(
      BigInt(contract.argBuffer),
      BigInt((instance.exports.A as WebAssembly.Global).value),
      name,
    );
    const exported = Object.entries(instance.exports).filter(([, v]) => typeof v === "function");
    assert.deepEqual(contract.functions, exported.map(([k]) => k), name);
  }
});

Deno.test("validateContract describes the WAT contract fixtures", async () => {
  const hosts = [
    "c",
    "hq",
    "hd",
    "emit",
    "feed",
    "caller",
    "callstack",
    "limit",
    "spent",
    "panic",
    "owner",
    "self_id",
  ];
  for (const is64 of [false, true]) {
    const info = inspectModule(await watFixture(`validation_contract${is64 ? 64 : 32}`));
    const { dataSegments, ...contract } = validateContract(info);
    assert.deepEqual(contract, {
      is64,
      memoryExport: "memory",
      memoryMinimum: 2 * 65536,
      memoryMaximum: 4 * 65536,
      argBuffer: 65536,
      functions: is64
        ? ["increment", "read_value", "greet"]
        : ["increment", "read_value", "read_indirect", "greet"],
      imports: hosts.map((name) => ({ module: "env", name })),
    });
    assert.deepEqual(
      dataSegments.map((s) => s.mode === "active" ? s.offset : s.mode),
      is64 ? [1024n, 1032n, "passive"] : [1024, 1032, "passive"],
    );
  }
});

interface ContractParts {
  imports?: string;
  memory?: string;
  globals?: string;
  funcs?: string;
}

/** A minimal valid wasm32 contract, with parts replaced. */
function contractWat(parts: ContractParts): string {
  return `(module
    ${parts.imports ?? ""}
    ${parts.memory ?? `(memory (export "memory") 1)`}
    ${parts.globals ?? `(global (export "A") i32 (i32.const 1024))`}
    ${parts.funcs ?? `(func (export "f") (param i32) (result i32) (local.get 0))`})`;
}

const memory64 = `(memory (export "memory") i64 1)`;

const rejections: {
  name: string;
  parts: ContractParts;
  features?: Record<string, boolean>;
  options?: ValidateContractOptions;
  kind: string;
  message: RegExp;
}[] = [
  {
    name: "two memories",
    parts: { memory: `(memory (export "memory") 1) (memory (export "memory2") 1)` },
    features: { multi_memory: true },
    kind: "CompileError",
    message: /has 2 memories/,
  },
  {
    name: "a hidden second memory",
    parts: { memory: `(memory (export "memory") 1) (memory 1)` },
    features: { multi_memory: true },
    kind: "CompileError",
    message: /has 2 memories/,
  },
  {
    name: "a shared memory",
    parts: { memory: `(memory (export "memory") 1 1 shared)` },
    features: { threads: true },
    kind: "CompileError",
    message: /shared/,
  },
  {
    name: "no memory",
    parts: { memory: "" },
    kind: "TooManyMemories",
    message: /exactly one memory, this module exports 0/,
  },
  {
    name: "a memory that is not exported",
    parts: { memory: "(memory 1)" },
    kind: "TooManyMemories",
    message: /exports 0/,
  },
  {
    name: "one memory exported twice",
    parts: { memory: `(memory $m (export "memory") 1) (export "heap" (memory $m))` },
    kind: "TooManyMemories",
    message: /exports 2/,
  },
  {
    name: "an export of type (i64) -> (i64)",
    parts: { funcs: `(func (export "f") (param i64) (result i64) (local.get 0))` },
    kind: "InvalidFunction",
    message: /"f" has type \(i64\) -> \(i64\), but contract functions must be \(i32\) -> \(i32\)/,
  },
  {
    name: "an export without a result",
    parts: { funcs: `(func (export "f") (param i32))` },
    kind: "InvalidFunction",
    message: /"f" has type \(i32\) -> \(\)/,
  },
  {
    name: "an export with two results",
    parts: {
      funcs: `(func (export "f") (param i32) (result i32 i32) (local.get 0) (local.get 0))`,
    },
    kind: "InvalidFunction",
    message: /"f" has type \(i32\) -> \(i32, i32\)/,
  },
  {
    name: "a re-exported host function",
    parts: {
      imports: `(import "env" "caller" (func $caller (result i32))) (export "who" (func $caller))`,
    },
    kind: "InvalidFunction",
    message: /"who" has type \(\) -> \(i32\)/,
  },
  {
    name: "a wasm64 export of type (i64) -> (i32)",
    parts: {
      memory: memory64,
      globals: `(global (export "A") i64 (i64.const 0))`,
      funcs: `(func (export "f") (param i64) (result i32) (i32.const 0))`,
    },
    kind: "InvalidFunction",
    message: /"f" has type \(i64\) -> \(i32\)/,
  },
  {
    name: "an unknown import",
    parts: { imports: `(import "env" "height" (func (result i64)))` },
    kind: "InvalidFunction",
    message: /import "env" "height" is not a host function/,
  },
  {
    name: "an import of a global with an unknown name",
    parts: { imports: `(import "env" "base" (global i32))` },
    kind: "InvalidFunction",
    message: /"base" is not a host function/,
  },
  {
    name: "hdebug without the debug option",
    parts: { imports: `(import "env" "hdebug" (func (param i32)))` },
    kind: "InvalidFunction",
    message: /"hdebug" needs the debug option/,
  },
  {
    name: "a wasm64 pointer in a wasm32 import",
    parts: { imports: `(import "env" "hd" (func (param i64 i32) (result i32)))` },
    kind: "RuntimeError",
    message: /"hd" has type \(i64, i32\) -> \(i32\), but the wasm32 host function is \(i32, i32\)/,
  },
  {
    name: "a wasm32 pointer in a wasm64 import",
    parts: {
      imports: `(import "env" "c" (func (param i32 i32 i32 i32 i64) (result i32)))`,
      memory: memory64,
      globals: `(global (export "A") i64 (i64.const 0))`,
    },
    kind: "RuntimeError",
    message: /but the wasm64 host function is \(i64, i64, i32, i32, i64\) -> \(i32\)/,
  },
  {
    name: "a wasm64 length in a wasm64 import",
    parts: {
      imports: `(import "env" "emit" (func (param i64 i64 i32)))`,
      memory: memory64,
      globals: `(global (export "A") i64 (i64.const 0))`,
    },
    kind: "RuntimeError",
    message: /"emit" has type \(i64, i64, i32\) -> \(\)/,
  },
  {
    name: "an import with a result it does not have",
    parts: { imports: `(import "env" "panic" (func (param i32) (result i32)))` },
    kind: "RuntimeError",
    message: /"panic" has type \(i32\) -> \(i32\), but the wasm32 host function is \(i32\) -> \(\)/,
  },
  {
    name: "a global imported under a host function's name",
    parts: { imports: `(import "env" "limit" (global i64))` },
    kind: "RuntimeError",
    message: /"limit" is a global, but the host provides a function \(\) -> \(i64\)/,
  },
  {
    name: "an externref global",
    parts: {
      globals: `(global (export "A") i32 (i32.const 1024)) (global externref (ref.null extern))`,
    },
    features: { reference_types: true },
    kind: "CompileError",
    message: /global 1 uses externref, which is not supported \(it needs a GC heap/,
  },
  {
    name: "an externref table",
    parts: { memory: `(memory (export "memory") 1) (table 1 externref)` },
    features: { reference_types: true },
    kind: "CompileError",
    message: /table 0 uses externref/,
  },
  {
    name: "an externref parameter",
    parts: {
      funcs: `(func (export "f") (param i32) (result i32) (local.get 0)) (func (param externref))`,
    },
    features: { reference_types: true },
    kind: "CompileError",
    message: /function type 1 uses externref/,
  },
  {
    name: "tables of more than 2^20 elements in all",
    parts: { memory: `(memory (export "memory") 1) (table 1000000 funcref) (table 48577 funcref)` },
    kind: "RuntimeError",
    message: /the tables' initial sizes add up to 1048577 elements; at most 1048576/,
  },
  {
    name: "an element segment past its table's initial size",
    parts: {
      memory: `(memory (export "memory") 1) (table 2 10 funcref)`,
      funcs:
        `(func $f (export "f") (param i32) (result i32) (local.get 0)) (elem (i32.const 1) $f $f)`,
    },
    kind: "RuntimeError",
    message:
      /element segment 0 \(at byte \d+\) fills elements 1\.\.3 of table 0, which has 2: instantiation would trap/,
  },
  {
    name: "an empty element segment past its table's end",
    parts: {
      memory: `(memory (export "memory") 1) (table 2 funcref)`,
      funcs: `(func (export "f") (param i32) (result i32) (local.get 0)) (elem (i32.const 3))`,
    },
    kind: "RuntimeError",
    message: /fills elements 3\.\.3 of table 0, which has 2/,
  },
  {
    name: "a wasm64 element segment past its table's end",
    parts: {
      memory: `${memory64} (table i64 1 funcref)`,
      globals: `(global (export "A") i64 (i64.const 0))`,
      funcs: `(func $f (export "f") (param i32) (result i32) (local.get 0))
        (elem (i64.const 0xffffffffffffffff) $f)`,
    },
    kind: "RuntimeError",
    message: /fills elements 18446744073709551615\.\.18446744073709551616 of table 0, which has 1/,
  },
  {
    name: "a start function",
    parts: {
      funcs: `(func (export "f") (param i32) (result i32) (local.get 0)) (func $s) (start $s)`,
    },
    kind: "RuntimeError",
    message: /has a start function \(function 1\); it would run at instantiation, which has no gas/,
  },
  {
    name: "a missing A",
    parts: { globals: "" },
    kind: "InvalidArgumentBuffer",
    message: /does not export a global "A"/,
  },
  {
    name: "an A that is a function",
    parts: { globals: "", funcs: `(func (export "A") (param i32) (result i32) (local.get 0))` },
    kind: "InvalidArgumentBuffer",
    message: /export "A" is a func, not a global/,
  },
  {
    name: "a mutable A",
    parts: { globals: `(global (export "A") (mut i32) (i32.const 1024))` },
    kind: "InvalidArgumentBuffer",
    message: /"A" is mutable/,
  },
  {
    name: "an i64 A in a wasm32 contract",
    parts: { globals: `(global (export "A") i64 (i64.const 1024))` },
    kind: "InvalidArgumentBuffer",
    message: /"A" is i64, but a wasm32 contract needs i32/,
  },
  {
    name: "an i32 A in a wasm64 contract",
    parts: { memory: memory64 },
    kind: "InvalidArgumentBuffer",
    message: /"A" is i32, but a wasm64 contract needs i64/,
  },
  {
    name: "a negative A",
    parts: { globals: `(global (export "A") i32 (i32.const -65537))` },
    kind: "InvalidArgumentBuffer",
    message: /A = -65537 is negative/,
  },
  {
    name: "a negative wasm64 A",
    parts: { memory: memory64, globals: `(global (export "A") i64 (i64.const -1))` },
    kind: "InvalidArgumentBuffer",
    message: /A = -1 is negative/,
  },
  {
    name: "an A whose buffer leaves the 4 TiB mapping",
    parts: { memory: memory64, globals: `(global (export "A") i64 (i64.const 0x3ffffff0000))` },
    kind: "InvalidArgumentBuffer",
    message: /A = 4398046445568: the 64 KiB buffer does not fit in the 4 TiB memory mapping/,
  },
];

for (const { name, parts, features, options, kind, message } of rejections) {
  Deno.test(`validateContract rejects ${name}`, () => {
    const info = inspectModule(assemble(contractWat(parts), features));
    const error = assertThrowsKind(() => validateContract(info, options), kind);
    assert.match(error.message, message);
  });
}

Deno.test("validateContract accepts what piecrust accepts", () => {
  const accept = (parts: ContractParts, options?: ValidateContractOptions): void => {
    validateContract(inspectModule(assemble(contractWat(parts))), options);
  };
  // piecrust resolves imports by field name only.
  const contract = validateContract(
    inspectModule(
      assemble(contractWat({ imports: `(import "foo" "caller" (func (result i32)))` })),
    ),
  );
  assert.deepEqual(contract.imports, [{ module: "foo", name: "caller" }]);
  accept({ imports: `(import "env" "hdebug" (func (param i32)))` }, { debug: true });
  accept({ memory: `(memory (export "heap") 1)` });
  accept({ globals: `(global (export "A") i32 (i32.const 0x7fffffff))` });
  accept({
    memory: memory64,
    globals: `(global (export "A") i64 (i64.const 0x3fffffeffff))`,
  });
  accept({
    funcs: `(func $f (export "f") (param i32) (result i32) (local.get 0)) (export "g" (func $f))
      (table (export "table") 1 funcref) (global (export "g2") (mut f64) (f64.const 1))`,
  });
  // Tables of 2^20 elements in all, filled to their initial size at most.
  accept({
    memory: `(memory (export "memory") 1) (table 1000000 funcref) (table $t 48576 funcref)`,
    funcs: `(func $f (export "f") (param i32) (result i32) (local.get 0))
      (elem (i32.const 999999) $f) (elem (table $t) (i32.const 48576))
      (elem funcref (ref.func $f)) (elem declare func $f)`,
  });
  accept({
    memory: `${memory64} (table i64 2 funcref)`,
    globals: `(global (export "A") i64 (i64.const 0))`,
    funcs: `(func $f (export "f") (param i32) (result i32) (local.get 0)) (elem (i64.const 1) $f)`,
  });
  accept({ globals: `(global (export "A") i32 (i32.const 0)) (global funcref (ref.null func))` });
});

Deno.test("validateContract applies the checks in piecrust's order", () => {
  const check = (parts: ContractParts, kind: string, message: RegExp): void => {
    const error = assertThrowsKind(
      () => validateContract(inspectModule(assemble(contractWat(parts)))),
      kind,
    );
    assert.match(error.message, message);
  };
  const badExport = `(func (export "f") (param i64) (result i64) (local.get 0))`;
  const unknown = `(import "env" "nope" (func))`;
  const wrongType = `(import "env" "caller" (func (result i64)))`;
  check({ memory: "", globals: "", funcs: badExport }, "TooManyMemories", /exports 0/);
  check({ imports: unknown, globals: "", funcs: badExport }, "InvalidFunction", /"f"/);
  // Unknown names are found before any signature is compared.
  check({ imports: `${wrongType} ${unknown}`, globals: "" }, "InvalidFunction", /"nope"/);
  check({ imports: wrongType, globals: "" }, "RuntimeError", /"caller"/);
  // Instantiation, then A, as piecrust reads A from the instance.
  const start = `(func (export "f") (param i32) (result i32) (local.get 0)) (func $s) (start $s)`;
  check({ imports: wrongType, funcs: start }, "RuntimeError", /"caller"/);
  check({ globals: "", funcs: start }, "RuntimeError", /start function/);
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
