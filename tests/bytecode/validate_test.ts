/** Tests of src/bytecode/validate.ts. */

import assert from "node:assert/strict";
import { watFixture } from "../../contracts/wat.ts";
import { contractBytecode } from "../../src/testing/mod.ts";
import {
  inspectModule,
  validateContract,
  type ValidateContractOptions,
} from "../../src/bytecode/mod.ts";
import { assertThrowsKind } from "../_helpers.ts";
import {
  assemble,
  assertGlobalValues,
  assertMatchesV8,
  bundledContracts,
  instantiate,
  memoryOf,
} from "./_modules.ts";

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
