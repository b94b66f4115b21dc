import assert from "node:assert/strict";
import wabtInit from "wabt";
import { assembleWat } from "../../contracts/wat.ts";
import { Engine, Linker, Module, PiecrustError, Store } from "../../src/engine/mod.ts";
import {
  BULK_MEMORY_IMPORTS,
  BULK_MEMORY_MODULE,
  meter,
  STORE_COSTS,
  type StoreOperator,
  tableImport,
} from "../../src/bytecode/meter.ts";
import { inspectModule } from "../../src/bytecode/wasm_reader.ts";
import type { Memory } from "../../src/engine/mod.ts";
import { assertBytes, assertNoLiveHandles, assertThrowsKind } from "../_helpers.ts";

const wabt = await wabtInit();

/** Every proposal wabt knows that the decoder handles, for disassembling. */
const ALL_FEATURES = {
  check: false,
  simd: true,
  relaxed_simd: true,
  threads: true,
  tail_call: true,
  bulk_memory: true,
  reference_types: true,
  multi_value: true,
  sign_extension: true,
  sat_float_to_int: true,
  memory64: true,
};

// ---------------------------------------------------------------------------
// Helpers

interface Run {
  result?: number;
  trap?: string;
  used: bigint;
  memory: Uint8Array;
}

/** Whether `wasm` imports the bulk memory functions that `meter` routes instructions to. */
function importsBulkMemory(wasm: Uint8Array): boolean {
  return inspectModule(wasm).imports.some((entry) => entry.module === BULK_MEMORY_MODULE);
}

/**
 * Defines the bulk memory imports on `linker` as a plain embedder would:
 * each does what its instruction does on the instance's memory.
 */
function defineBulkMemory(
  linker: Linker,
  is64: boolean,
  memory: () => Memory,
  store: () => Store,
): void {
  const address = is64 ? "i64" : "i32";
  const read = (args: { i32(i: number): number; i64(i: number): bigint }, i: number) =>
    is64 ? Number(args.i64(i)) : args.i32(i) >>> 0;
  const checked = (end: number) => {
    if (end > memory().byteLength) {
      throw new PiecrustError("Trap", "out of bounds", { details: { trap: "MemoryOutOfBounds" } });
    }
  };
  const { fill, copy, grow, size } = BULK_MEMORY_IMPORTS;
  linker.defineFunc(
    BULK_MEMORY_MODULE,
    fill,
    { params: [address, "i32", address], results: [] },
    (args) => {
      const [to, length] = [read(args, 0), read(args, 2)];
      checked(to + length);
      memory().data().fill(args.i32(1), to, to + length);
    },
  );
  linker.defineFunc(
    BULK_MEMORY_MODULE,
    copy,
    { params: [address, address, address], results: [] },
    (args) => {
      const [to, from, length] = [read(args, 0), read(args, 1), read(args, 2)];
      checked(Math.max(to, from) + length);
      memory().data().copyWithin(to, from, from + length);
    },
  );
  linker.defineFunc(BULK_MEMORY_MODULE, grow, { params: [address], results: [address] }, (args) => {
    let previous: bigint;
    try {
      previous = memory().grow(BigInt(read(args, 0)));
    } catch {
      previous = -1n;
    }
    if (is64) args.setI64(0, previous);
    else args.setI32(0, Number(previous));
  });
  let pendingGrowth = 0n;
  for (const width of ["i32", "i64"] as const) {
    const refunds = {
      elements: (count: bigint) => BigInt.asUintN(64, count) + 1n,
      grow: (count: bigint) => {
        pendingGrowth = BigInt.asUintN(64, count);
        return 2n;
      },
      grown: (result: bigint) => result === -1n ? 0n : pendingGrowth,
    };
    for (const [role, refund] of Object.entries(refunds)) {
      const name = tableImport(role as keyof typeof refunds, width);
      linker.defineFunc(BULK_MEMORY_MODULE, name, { params: [width], results: [width] }, (args) => {
        const value = width === "i64" ? args.i64(0) : BigInt(args.i32(0));
        store().setFuel(store().getFuel() + refund(value));
        if (width === "i64") args.setI64(0, args.i64(0));
        else args.setI32(0, args.i32(0));
      });
    }
  }
  linker.defineFunc(BULK_MEMORY_MODULE, size, { params: [], results: [address] }, (args) => {
    const pages = memory().byteLength / 65536;
    if (is64) args.setI64(0, BigInt(pages));
    else args.setI32(0, pages);
  });
}

/**
 * Defines the per-segment `memory.init:k` / `data.drop:k` imports of a
 * metered wasm32 module as a plain embedder would, from its passive segments.
 */
function defineSegmentImports(linker: Linker, wasm: Uint8Array, memory: () => Memory): void {
  const info = inspectModule(wasm);
  const dropped = new Set<number>();
  for (const { module, name } of info.imports) {
    if (module !== BULK_MEMORY_MODULE || !/^(memory\.init|data\.drop):/.test(name)) continue;
    const segment = Number(name.split(":")[1]);
    if (name.startsWith("data.drop")) {
      linker.defineFunc(module, name, { params: [], results: [] }, () => void dropped.add(segment));
      continue;
    }
    linker.defineFunc(module, name, { params: ["i32", "i32", "i32"], results: [] }, (args) => {
      const bytes = dropped.has(segment) ? new Uint8Array() : info.dataSegments[segment].bytes;
      const [to, from, length] = [args.i32(0) >>> 0, args.i32(1) >>> 0, args.i32(2) >>> 0];
      if (from + length > bytes.length || to + length > memory().byteLength) {
        throw new PiecrustError("Trap", "out of bounds", {
          details: { trap: "MemoryOutOfBounds" },
        });
      }
      memory().data().set(bytes.subarray(from, from + length), to);
    });
  }
}

/** Instantiates `wasm` in a fresh store, calls `name(arg)` with `fuel`, and reports. */
function run(wasm: Uint8Array, name: string, arg: number, fuel = 10_000_000n): Run {
  using engine = new Engine();
  using module = Module.compile(engine, wasm);
  using linker = new Linker(engine);
  using store = new Store(engine);
  // The bulk memory imports act on the instance's memory, which exists once it does.
  const instanceMemory: { current?: Memory } = {};
  if (importsBulkMemory(wasm)) {
    const is64 = inspectModule(wasm).memories[0]?.is64 ?? false;
    defineBulkMemory(linker, is64, () => instanceMemory.current!, () => store);
    defineSegmentImports(linker, wasm, () => instanceMemory.current!);
  }
  store.setFuel(fuel); // active element segments cost fuel at instantiation
  const instance = linker.instantiate(store, module);
  instanceMemory.current = instance.getMemory("memory");
  store.setFuel(fuel);
  let result: number | undefined;
  let trap: string | undefined;
  try {
    result = instance.getFunc(name).callI32(arg);
  } catch (error) {
    assert.ok(error instanceof PiecrustError, String(error));
    // A bulk memory import's trap comes back as the cause of a HostError.
    const failure = error.kind === "HostError" && error.cause instanceof PiecrustError
      ? error.cause
      : error;
    trap = failure.kind === "Trap" ? failure.details.trap : failure.kind;
  }
  const used = fuel - store.getFuel();
  return { result, trap, used, memory: instance.getMemory("memory").data().slice() };
}

/** The function bodies of a module as wabt prints them, one trimmed instruction a line. */
function disassemble(wasm: Uint8Array): string[] {
  const module = wabt.readWasm(wasm, ALL_FEATURES);
  try {
    return module.toText({ foldExprs: false, inlineExport: false }).split("\n").map((line) =>
      line.trim()
    );
  } finally {
    module.destroy();
  }
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(2, "0")}`;
}

function storeOperator(line: string): StoreOperator | undefined {
  const name = line.split(/[ )]/)[0];
  return Object.hasOwn(STORE_COSTS, name) ? name as StoreOperator : undefined;
}

/**
 * Undoes, in wabt's text of a metered module, the routing of bulk memory:
 * drops the added types and imports, turns their calls back into the
 * instructions and moves every other function index down by four.
 */
function unrouteBulkMemory(lines: string[], original: Uint8Array, metered: Uint8Array): string[] {
  const info = inspectModule(original);
  const imported = info.imports.filter((entry) => entry.kind === "func").length;
  const types = info.types.length;
  const names = inspectModule(metered).imports
    .filter((entry) => entry.module === BULK_MEMORY_MODULE)
    .map((entry) => entry.name);
  const routed = names.length;
  const index = (n: string): string =>
    String(Number(n) >= imported + routed ? Number(n) - routed : Number(n));
  return lines
    .filter((line) => !line.startsWith(`(import "${BULK_MEMORY_MODULE}"`))
    .filter((line) => !(/^\(type \(;(\d+);\)/.exec(line) && Number(/\d+/.exec(line)![0]) >= types))
    .map((line) => {
      const bulk = /^call (\d+)(\)*)$/.exec(line);
      if (bulk && Number(bulk[1]) >= imported && Number(bulk[1]) < imported + routed) {
        const name = names[Number(bulk[1]) - imported];
        // Put around a table instruction, which stays: the closing
        // parentheses of a call after it go back to it.
        if (name.startsWith("table.")) return bulk[2] === "" ? undefined : `)${bulk[2]}`;
        // `memory.init:3` was `memory.init 3`.
        return name.replace(":", " ") + bulk[2];
      }
      return line
        .replace(/^(call|return_call|ref\.func) (\d+)/, (_, op, n) => `${op} ${index(n)}`)
        .replace(/\(func \(;(\d+);\)/, (_, n) => `(func (;${index(n)};)`)
        .replace(/\(func (\d+)\)/g, (_, n) => `(func ${index(n)})`)
        .replace(/\(ref\.func (\d+)\)/g, (_, n) => `(ref.func ${index(n)})`)
        .replace(/^\(start (\d+)\)/, (_, n) => `(start ${index(n)})`)
        .replace(
          / func((?: \d+)+)/,
          (_, list: string) => ` func${list.replace(/\d+/g, (n) => index(n))}`,
        );
    })
    .filter((line): line is string => line !== undefined)
    .reduce<string[]>((out, line) => {
      if (line.startsWith(")")) out[out.length - 1] += line.slice(1);
      else out.push(line);
      return out;
    }, []);
}

/**
 * Checks with wabt's disassembler that `instrumented` is `original` with
 * exactly one fuel sequence in front of each store (`i32.const 0`,
 * `i32.eqz` × (cost − 2), `drop`; or `local.get 0`, `local.tee 0` ×
 * (cost − 2), `drop`), bulk memory routed through the host imports when it
 * imports them, and nothing else changed. Returns the number of stores.
 */
function assertInstrumentedLike(original: Uint8Array, instrumented: Uint8Array): number {
  const before = disassemble(original);
  const routed = importsBulkMemory(instrumented);
  const after = routed
    ? unrouteBulkMemory(disassemble(instrumented), original, instrumented)
    : disassemble(instrumented);
  const stripped: string[] = [];
  let stores = 0;
  let inserted = 0;
  for (let i = 0; i < after.length; i++) {
    const op = storeOperator(after[i]);
    if (op !== undefined) {
      const extra = STORE_COSTS[op] - 1;
      const sequence = stripped.splice(stripped.length - (extra + 1));
      const byLocal = sequence[0] === "local.get 0";
      inserted += byLocal ? 2 * extra + 1 : extra + 2;
      assert.deepEqual(
        sequence,
        byLocal
          ? ["local.get 0", ...Array(extra - 1).fill("local.tee 0"), "drop"]
          : ["i32.const 0", ...Array(extra - 1).fill("i32.eqz"), "drop"],
        `sequence before ${after[i]} (line ${i})`,
      );
      stores++;
    }
    stripped.push(after[i]);
  }
  assert.equal(stripped.length, before.length, "instruction count");
  for (let i = 0; i < before.length; i++) assert.equal(stripped[i], before[i], `line ${i}`);
  // wabt's reader stops silently at what it cannot read: the stores it saw
  // must account for the growth, up to size LEBs that got wider.
  if (!routed) {
    const functions = before.filter((line) => line.startsWith("(func")).length;
    const slack = instrumented.length - original.length - inserted;
    assert.ok(slack >= 0 && slack <= 4 * (functions + 1), `${slack} bytes unaccounted for`);
  }
  return stores;
}

/** The sections of a module: id and content bytes. */
function sections(wasm: Uint8Array): { id: number; content: Uint8Array }[] {
  const result = [];
  let pos = 8;
  while (pos < wasm.length) {
    const id = wasm[pos++];
    let size = 0;
    for (let shift = 0;; shift += 7) {
      const byte = wasm[pos++];
      size += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) break;
    }
    result.push({ id, content: wasm.subarray(pos, pos + size) });
    pos += size;
  }
  return result;
}

// Hand-built modules --------------------------------------------------------

/** Unsigned LEB128 of `value`, padded to `width` bytes when given. */
function leb(value: number, width = 0): number[] {
  const out: number[] = [];
  do {
    out.push(value & 0x7f);
    value = Math.floor(value / 128);
  } while (value > 0);
  while (out.length < width) out.push(0);
  for (let i = 0; i < out.length - 1; i++) out[i] |= 0x80;
  return out;
}

function section(id: number, content: number[], width = 0): number[] {
  return [id, ...leb(content.length, width), ...content];
}

function name(text: string): number[] {
  return [...leb(text.length), ...new TextEncoder().encode(text)];
}

/**
 * A module with one function `f: (i32) -> i32`, a memory exported as
 * `memory` (64-bit if `is64`), and `body` (locals included) as its code.
 */
function moduleWithBody(
  body: number[],
  options: { is64?: boolean; width?: number } = {},
): Uint8Array {
  const width = options.width ?? 0;
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f], width),
    ...section(3, [0x01, 0x00], width),
    ...section(5, [0x01, options.is64 ? 0x04 : 0x00, 0x01], width),
    ...section(7, [0x02, ...name("f"), 0x00, 0x00, ...name("memory"), 0x02, 0x00], width),
    ...section(10, [...leb(1, width), ...leb(body.length, width), ...body], width),
  ]);
}

// ---------------------------------------------------------------------------
// STORE_COSTS

Deno.test("STORE_COSTS prices every store by its width class", () => {
  const names = Object.keys(STORE_COSTS) as StoreOperator[];
  assert.equal(names.length, 21);
  for (const op of names) {
    const expected = op.startsWith("v128.")
      ? 64
      : op.startsWith("i64.") || op.startsWith("f64.")
      ? 32
      : 16;
    assert.equal(STORE_COSTS[op], expected, op);
  }
  assert.ok(Object.isFrozen(STORE_COSTS));
});

// ---------------------------------------------------------------------------
// Fuel

/** Stores that the engine runs (atomics need threads, which it disables). */
const RUNNABLE = (Object.keys(STORE_COSTS) as StoreOperator[]).filter((op) =>
  !op.includes("atomic")
);

/** A module with one function per store operator, each doing `k` of them. */
function storesModule(k: number, is64: boolean): string {
  const address = (value: number): string => `(${is64 ? "i64" : "i32"}.const ${value})`;
  const values: Record<string, (j: number) => string> = {
    i32: (j) => `(i32.add (local.get 0) (i32.const ${j * 0x01010101}))`,
    i64: (j) => `(i64.mul (i64.extend_i32_u (local.get 0)) (i64.const ${0x100000001 + j}))`,
    f32: (j) => `(f32.convert_i32_s (i32.add (local.get 0) (i32.const ${j})))`,
    f64: (j) => `(f64.div (f64.convert_i32_s (local.get 0)) (f64.const ${j + 3}))`,
    v128: (j) => `(i32x4.add (i32x4.splat (local.get 0)) (v128.const i32x4 ${j} 7 -1 ${j * 9}))`,
  };
  const functions = RUNNABLE.map((op, index) => {
    const type = op.split(".")[0];
    const lane = op.endsWith("_lane") ? " 1" : "";
    const stores = Array.from(
      { length: k },
      (_, j) => `(${op} offset=${16 * j}${lane} ${address(1024 * index)} ${values[type](j)})`,
    );
    return `(func (export "${op}") (param i32) (result i32)
      ${stores.join("\n      ")}
      (i32.load offset=4 ${address(1024 * index)}))`;
  });
  return `(module (memory (export "memory") ${is64 ? "i64 " : ""}1)
    ${functions.join("\n    ")})`;
}

for (const is64 of [false, true]) {
  const label = is64 ? "memory64" : "wasm32";
  Deno.test(`meter adds exactly cost − 1 fuel per store (${label})`, async () => {
    for (const k of [1, 3]) {
      const original = await assembleWat(storesModule(k, is64));
      const instrumented = meter(original).wasm;
      for (const op of RUNNABLE) {
        const before = run(original, op, 0x12345678);
        const after = run(instrumented, op, 0x12345678);
        assert.equal(before.trap, undefined, `${op}: ${before.trap}`);
        assert.equal(
          after.used - before.used,
          BigInt(k * (STORE_COSTS[op] - 1)),
          `${op} ×${k}: ${before.used} → ${after.used}`,
        );
        assert.equal(after.result, before.result, op);
        assertBytes(after.memory, before.memory, op);
      }
    }
    assertNoLiveHandles();
  });
}

const LOOP_WAT = (handPriced: boolean): string => {
  // The reference prices: the naive, independently written `i32.const 0; drop` pairs.
  const pad = (n: number): string => handPriced ? "(drop (i32.const 0))".repeat(n) : "";
  return `(module (memory (export "memory") 1)
  (func (export "fill") (param $n i32) (result i32) (local $i i32)
    (loop $next
      ${pad(15)}(i32.store (i32.shl (local.get $i) (i32.const 2)) (local.get $i))
      ${pad(31)}(i64.store16 offset=4096 (i32.shl (local.get $i) (i32.const 1)) (i64.const -1))
      ${
    pad(63)
  }(v128.store offset=8192 (i32.shl (local.get $i) (i32.const 4)) (v128.const i64x2 1 2))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i)))`;
};

Deno.test("meter charges a store on every execution", async () => {
  const original = await assembleWat(LOOP_WAT(false));
  const instrumented = meter(original).wasm;
  const once = run(instrumented, "fill", 1).used - run(original, "fill", 1).used;
  const many = run(instrumented, "fill", 100).used - run(original, "fill", 100).used;
  assert.equal(once, 15n + 31n + 63n);
  assert.equal(many, 100n * (15n + 31n + 63n));
  assertNoLiveHandles();
});

Deno.test("meter runs out of fuel where a hand-priced module does", async () => {
  const instrumented = meter(await assembleWat(LOOP_WAT(false))).wasm;
  const handPriced = await assembleWat(LOOP_WAT(true));
  const full = run(handPriced, "fill", 50);
  assert.equal(run(instrumented, "fill", 50).used, full.used);
  let outOfFuel = 0;
  for (let fuel = 1n; fuel < full.used + 50n; fuel += 97n) {
    const expected = run(handPriced, "fill", 50, fuel);
    const actual = run(instrumented, "fill", 50, fuel);
    assert.equal(actual.trap, expected.trap, `fuel ${fuel}`);
    assert.equal(actual.result, expected.result, `fuel ${fuel}`);
    assert.equal(actual.used, expected.used, `fuel ${fuel}`);
    assertBytes(actual.memory, expected.memory, `fuel ${fuel}`);
    if (actual.trap === "OutOfFuel") outOfFuel++;
  }
  assert.ok(outOfFuel > 10, `only ${outOfFuel} budgets ran out of fuel`);
  assertNoLiveHandles();
});

Deno.test("meter keeps a trapping store's fuel as a hand-priced module does", async () => {
  const wat = (handPriced: boolean): string =>
    `(module (memory (export "memory") 1)
    (func (export "f") (param i32) (result i32)
      ${handPriced ? "(drop (i32.const 0))".repeat(15) : ""}
      (i32.store (i32.const 0) (i32.const 1))
      ${handPriced ? "(drop (i32.const 0))".repeat(31) : ""}
      (i64.store (local.get 0) (i64.const 2))
      (i32.const 0)))`;
  const instrumented = meter(await assembleWat(wat(false))).wasm;
  const handPriced = await assembleWat(wat(true));
  for (const address of [8, 65536]) {
    const expected = run(handPriced, "f", address);
    const actual = run(instrumented, "f", address);
    assert.equal(actual.trap, expected.trap);
    assert.equal(actual.used, expected.used, `address ${address}`);
    assertBytes(actual.memory, expected.memory);
  }
  assert.equal(run(instrumented, "f", 65536).trap, "MemoryOutOfBounds");
  assertNoLiveHandles();
});

Deno.test("meter pays store fuel through local 0 only when it is a number", async () => {
  // `f` calls `$g`, whose locals each case sets, and which stores.
  const cases: [string, string, string, boolean][] = [
    ["an i32 parameter", "(param i32)", "(i32.const 1)", true],
    ["an f64 parameter before an i32 local", "(param f64) (local i32)", "(f64.const 1)", true],
    ["an i64 local", "(local i64)", "", true],
    ["no local", "", "", false],
    ["a v128 parameter", "(param v128)", "(v128.const i64x2 0 0)", false],
    ["a funcref parameter", "(param funcref) (local i32)", "(ref.null func)", false],
  ];
  for (const [what, locals, args, byLocal] of cases) {
    const wasm = await assembleWat(`(module (memory (export "memory") 1)
      (func $g ${locals} (i32.store (i32.const 0) (i32.const 7)))
      (func (export "f") (param i32) (result i32) ${args} (call $g) (i32.const 0)))`);
    const instrumented = meter(wasm).wasm;
    assert.equal(disassemble(instrumented).includes("local.tee 0"), byLocal, what);
    assertInstrumentedLike(wasm, instrumented);
    assert.equal(run(instrumented, "f", 0).used - run(wasm, "f", 0).used, 15n, what);
  }
  // Groups of no locals do not count: in `g`, local 0 is the i64 after the
  // empty v128 group; `h` has no local at all.
  const store = [0x41, 0x00, 0x41, 0x07, 0x36, 0x02, 0x00, 0x0b];
  const g = [0x02, 0x00, 0x7b, 0x01, 0x7e, ...store];
  const h = [0x01, 0x00, 0x7f, ...store];
  const f = [0x00, 0x10, 0x00, 0x10, 0x01, 0x41, 0x00, 0x0b];
  const wasm = new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [0x02, 0x60, 0x00, 0x00, 0x60, 0x01, 0x7f, 0x01, 0x7f]),
    ...section(3, [0x03, 0x00, 0x00, 0x01]),
    ...section(5, [0x01, 0x00, 0x01]),
    ...section(7, [0x02, ...name("memory"), 0x02, 0x00, ...name("f"), 0x00, 0x02]),
    ...section(10, [0x03, g.length, ...g, h.length, ...h, f.length, ...f]),
  ]);
  const instrumented = meter(wasm).wasm;
  const lines = disassemble(instrumented);
  assert.equal(lines.filter((line) => line === "local.tee 0").length, 14); // g's only
  assert.equal(lines.filter((line) => line === "i32.eqz").length, 14); // h's
  assertInstrumentedLike(wasm, instrumented);
  assert.equal(run(instrumented, "f", 0).used - run(wasm, "f", 0).used, 30n);
  assertNoLiveHandles();
});

Deno.test("meter keeps stores in unreachable code valid and free", async () => {
  const original = await assembleWat(`(module (memory (export "memory") 1)
    (func (export "f") (param i32) (result i32)
      (block
        (br_if 0 (local.get 0))
        (i32.store (i32.const 0) (i32.const 7))
        (unreachable)
        (i32.store)
        (f64.store)
        (v128.store))
      (block (result i32)
        (i32.const 5)
        (br 0)
        (i64.store (i32.const 0) (i64.const 1)))))`);
  const instrumented = meter(original).wasm;
  assertInstrumentedLike(original, instrumented);
  const before = run(original, "f", 1);
  const after = run(instrumented, "f", 1);
  assert.equal(after.result, 5);
  assert.equal(after.used, before.used);
  assert.equal(run(instrumented, "f", 0).trap, "Unreachable");
  assertNoLiveHandles();
});

// ---------------------------------------------------------------------------
// Bundled contracts

Deno.test("meter instruments and compiles every bundled contract", async () => {
  let contracts = 0;
  for (const arch of ["wasm32", "wasm64"]) {
    const dir = new URL(`../../contracts/build/${arch}/`, import.meta.url);
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.name.endsWith(".wasm")) continue;
      const original = await Deno.readFile(new URL(entry.name, dir));
      const instrumented = meter(original).wasm;
      const label = `${arch}/${entry.name}`;
      // Sections that name no function are byte-identical; the others
      // differ only as assertInstrumentedLike allows.
      const unchanged = (wasm: Uint8Array) =>
        sections(wasm).filter((s) => [3, 4, 5, 11, 12].includes(s.id));
      const a = unchanged(original);
      const b = unchanged(instrumented);
      assert.deepEqual(b.map((s) => s.id), a.map((s) => s.id), label);
      for (let i = 0; i < a.length; i++) {
        assertBytes(b[i].content, a[i].content, `${label} section ${a[i].id}`);
      }
      const stores = assertInstrumentedLike(original, instrumented);
      if (entry.name !== "invalid.wasm") assert.ok(stores > 0, label);
      {
        using engine = new Engine();
        using _module = Module.compile(engine, instrumented);
      }
      contracts++;
    }
  }
  assert.ok(contracts >= 48, `${contracts} contracts`);
  assertNoLiveHandles();
});

// ---------------------------------------------------------------------------
// Decoding

Deno.test("meter returns identical bytes for a module without stores or bulk memory", async () => {
  const source = `(module
    (type $pair (func (param i32) (result i32 i32)))
    (memory (export "memory") 1)
    (table 2 funcref)
    (global $g (mut i64) (i64.const -5))
    (data $d "abc")
    (elem $e func $f)
    (func $f (export "f") (param i32) (result i32) (local f32 f64 v128 externref)
      (local.set 2 (f64.const 1.5))
      (local.set 3 (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31
        (v128.load offset=70000 (i32.const 0)) (v128.const i64x2 -1 1)))
      (drop (i32x4.extract_lane 3 (v128.load64_zero (i32.const 16))))
      (drop (v128.load8_lane 15 (i32.const 0) (local.get 3)))
      (elem.drop $e)
      (drop (i32.trunc_sat_f32_u (local.get 1)))
      (drop (i64.extend32_s (global.get $g)))
      (drop (ref.is_null (ref.null extern)))
      (drop (select (result i32) (i32.const 1) (i32.const 2) (local.get 0)))
      (block $out
        (br_table 0 0 $out (local.get 0)))
      (call_indirect (type $pair) (i32.const 0) (i32.const 0))
      (drop)
      (drop)
      (i32.load8_s offset=3 (i32.const 0))))`;
  const wasm = await assembleWat(source);
  assertBytes(meter(wasm).wasm, wasm);
  // Padded section and body sizes, as LLVM writes them.
  const parsed = wabt.parseWat("padded.wat", source, ALL_FEATURES);
  try {
    parsed.resolveNames();
    const padded = parsed.toBinary({ canonicalize_lebs: false }).buffer;
    assert.ok(padded.length > wasm.length);
    const result = meter(padded).wasm;
    assertBytes(result, padded);
    assert.notEqual(result, padded, "a copy");
  } finally {
    parsed.destroy();
  }
});

Deno.test("meter falls back to the shorter fuel sequence where the longer one would not fit", () => {
  // 250,000 `i32.store`s of 7 bytes: 1.75 MB, 6 MB with the 17-byte
  // sequence, 9.5 MB with the 31-byte one, over wasmtime's 7,654,321.
  const stores = 250_000;
  const store = [0x20, 0x00, 0x20, 0x00, 0x36, 0x02, 0x00];
  const body = new Uint8Array(1 + store.length * stores + 3);
  for (let i = 0; i < stores; i++) body.set(store, 1 + i * store.length);
  body.set([0x41, 0x00, 0x0b], 1 + store.length * stores);
  const original = moduleWithBody([...body]);
  const instrumented = meter(original).wasm;
  // The function's and the section's size LEBs grow by a byte each.
  assert.equal(instrumented.length, original.length + 17 * stores + 2);
  // The first store's sequence: after the body's locals and two local.get.
  const at = instrumented.length - body.length - 17 * stores + 5;
  assertBytes(instrumented.subarray(at, at + 3), new Uint8Array([0x41, 0x00, 0x45]));
});

Deno.test("meter keeps padded size LEBs at their width", async () => {
  const source = `(module (memory 1)
    (func (param i32) (i32.store (i32.const 0) (local.get 0)))
    (func (param i32) (drop (local.get 0))))`;
  const parsed = wabt.parseWat("padded.wat", source, ALL_FEATURES);
  try {
    parsed.resolveNames();
    const padded = parsed.toBinary({ canonicalize_lebs: false }).buffer;
    const instrumented = meter(padded).wasm;
    // The 32-bit store's fuel through the parameter: 2 × 15 + 1 bytes.
    assert.equal(instrumented.length, padded.length + 31);
    assertInstrumentedLike(padded, instrumented);
    const canonical = meter(await assembleWat(source)).wasm;
    assertInstrumentedLike(await assembleWat(source), canonical);
  } finally {
    parsed.destroy();
  }
});

for (const is64 of [false, true]) {
  const label = is64 ? "memory64" : "wasm32";
  Deno.test(`meter decodes and runs padded LEBs everywhere (${label})`, () => {
    const p5 = (value: number): number[] => leb(value, 5);
    const address = (value: number): number[] =>
      is64 ? [0x42, ...leb(value, 10)] : [0x41, ...p5(value)];
    const body = [
      // Locals: one group of one i32, counts padded.
      ...p5(1),
      ...p5(1),
      0x7f,
      // i32.store offset=4 (address 8) (local.get 0)
      ...address(8),
      0x20,
      ...p5(0),
      0x36,
      ...p5(2),
      ...(is64 ? leb(4, 10) : p5(4)),
      // i64.store offset=16 (address 0) (i64.const -1, 10 bytes)
      ...address(0),
      0x42,
      ...Array(9).fill(0xff),
      0x7f,
      0x37,
      ...p5(3),
      ...leb(16, 10),
      // v128.store offset=32 (address 0) (i32x4.splat (local.get 0)), padded subopcodes
      ...address(0),
      0x20,
      ...p5(0),
      0xfd,
      ...p5(0x11),
      0xfd,
      ...p5(0x0b),
      ...p5(4),
      ...p5(32),
      // local.set 1 (block (type 0) (param i32) (result i32) i32.const 1; i32.add) with
      // a padded s33 type index and a padded br_table
      0x20,
      ...p5(0),
      0x02,
      0x80,
      0x80,
      0x80,
      0x80,
      0x00,
      0x41,
      ...p5(1),
      0x6a,
      0x0b,
      0x21,
      ...p5(1),
      0x02,
      0x40,
      0x20,
      ...p5(1),
      0x0e,
      ...p5(1),
      ...p5(0),
      ...p5(0),
      0x0b,
      // memory.copy 64 ← 8, 8 bytes (padded subopcode); drop (memory.size)
      ...address(64),
      ...address(8),
      ...address(8),
      0xfc,
      ...p5(10),
      0x00,
      0x00,
      0x3f,
      0x00,
      0x1a,
      // (i32.load offset=4 (address 8)) + local 1
      ...address(8),
      0x28,
      ...p5(2),
      ...p5(4),
      0x20,
      ...p5(1),
      0x6a,
      0x0b,
    ];
    const original = moduleWithBody(body, { is64, width: 5 });
    const instrumented = meter(original).wasm;
    // Three fuel sequences through the parameter (2 × extra + 1 bytes); the
    // bulk types (21 bytes) and a new import section (95); memory.copy (8
    // bytes with its padded subopcode) → call (2); memory.size (2) → call (2).
    assert.equal(instrumented.length, original.length + 31 + 63 + 127 + 21 + 95 - 6);
    assertInstrumentedLike(original, instrumented);
    const before = run(original, "f", 0x1234);
    const after = run(instrumented, "f", 0x1234);
    assert.equal(before.result, 0x1234 + 0x1235);
    assert.equal(after.result, before.result);
    // The stores' prices, less the 8 bytes wasmtime charges memory.copy on top of its unit.
    assert.equal(after.used - before.used, 15n + 31n + 63n - 8n);
    assertBytes(after.memory, before.memory);
    assertNoLiveHandles();
  });
}

Deno.test("meter reads memory64 offsets beyond 32 bits", async () => {
  const original = await assembleWat(`(module (memory (export "memory") i64 1)
    (func (export "f") (param i32) (result i32)
      (if (local.get 0) (then
        (i64.store offset=0x100000010 (i64.const 0) (i64.const 1))))
      (v128.store32_lane offset=0xfffffffffff0 2 (i64.const 0) (v128.const i64x2 0 0))
      (i32.const 0)))`);
  const instrumented = meter(original).wasm;
  assert.equal(assertInstrumentedLike(original, instrumented), 2);
  assert.equal(run(instrumented, "f", 1).trap, "MemoryOutOfBounds");
  assertNoLiveHandles();
});

/** Unassigned `0xFD` subopcodes below the end of (relaxed) SIMD. */
const SIMD_GAPS = [
  0x9a,
  0xa2,
  0xa5,
  0xa6,
  0xaf,
  0xb0,
  0xb2,
  0xb3,
  0xb4,
  0xbb,
  0xc2,
  0xc5,
  0xc6,
  0xcf,
  0xd0,
  0xd2,
  0xd3,
  0xd4,
  0xe2,
  0xee,
];

/**
 * A module whose one function holds one instruction of every opcode the
 * decoder must know, with immediates written from the specification
 * (independently of the decoder's tables), and the table, global, element and
 * data segments they refer to. The body is not type-correct; wabt's reader,
 * which does not validate, is the cross-check. Returns the module, the
 * number of instructions and the number of sentinel stores among them.
 */
function everyOpcodeModule(): { wasm: Uint8Array; instructions: number; sentinels: number } {
  // Indices, lane indices and offsets are 0x41, the `i32.const` opcode: a
  // decoder that skips one swallows the next store. Memory indices must be a
  // 0x00 byte for wabt.
  const X = 0x41;
  const L = 0x41;
  const M = [0x00];
  const memarg = [0x00, 0x41];
  const code: number[] = [0x00]; // no locals
  let instructions = 0;
  let sentinels = 0;
  // Each instruction is followed by an `i32.store`, so that a decoder that
  // reads an immediate wrong misplaces or misses a store.
  const main = (...bytes: number[]): void => {
    code.push(...bytes, 0x36, 0x02, 0x00);
    instructions += 2;
    sentinels++;
  };
  main(0x00);
  main(0x01);
  main(0x02, 0x40); // block
  main(0x03, 0x7f); // loop (result i32)
  main(0x04, 0x00); // if (type 0)
  main(0x05); // else (wabt prints an empty else branch as nothing)
  main(0x01);
  main(0x0b);
  main(0x0b);
  main(0x0b);
  main(0x0c, X);
  main(0x0d, X);
  main(0x0e, 0x02, X, X, X);
  main(0x0f);
  main(0x10, X);
  main(0x11, X, X);
  main(0x12, X); // return_call
  main(0x13, X, X); // return_call_indirect
  main(0x1a);
  main(0x1b);
  main(0x1c, 0x01, 0x7b); // select (result v128)
  for (let op = 0x20; op <= 0x26; op++) main(op, X);
  for (let op = 0x28; op <= 0x3e; op++) main(op, ...memarg);
  main(0x3f, ...M);
  main(0x40, ...M);
  main(0x41, 0xc0, 0xbb, 0x78); // i32.const -123456
  main(0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f); // i64 min
  main(0x43, 0x00, 0x00, 0x80, 0x3f);
  main(0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f);
  for (let op = 0x45; op <= 0xc4; op++) main(op);
  main(0xd0, 0x70);
  main(0xd0, 0x6f);
  main(0xd1);
  main(0xd2, X);
  for (let sub = 0; sub <= 7; sub++) main(0xfc, sub);
  main(0xfc, 8, X, ...M);
  main(0xfc, 9, X);
  main(0xfc, 10, ...M, ...M);
  main(0xfc, 11, ...M);
  main(0xfc, 12, X, X);
  main(0xfc, 13, X);
  main(0xfc, 14, X, X);
  for (let sub = 15; sub <= 17; sub++) main(0xfc, sub, X);
  for (let sub = 0; sub <= 0x113; sub++) {
    if (SIMD_GAPS.includes(sub)) continue;
    const op = [0xfd, ...leb(sub)];
    if (sub <= 0x0b || sub === 0x5c || sub === 0x5d) main(...op, ...memarg);
    else if (sub === 0x0c || sub === 0x0d) main(...op, ...Array(16).fill(X));
    else if (sub >= 0x15 && sub <= 0x22) main(...op, L);
    else if (sub >= 0x54 && sub <= 0x5b) main(...op, ...memarg, L);
    else main(...op);
  }
  for (let sub = 0; sub <= 2; sub++) main(0xfe, sub, ...memarg);
  main(0xfe, 0x03, 0x00); // atomic.fence
  for (let sub = 0x10; sub <= 0x4e; sub++) main(0xfe, sub, ...memarg);
  code.push(0x0b);
  instructions++;
  const wasm = new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f]),
    ...section(3, [0x01, 0x00]),
    ...section(4, [0x01, 0x70, 0x00, 0x01]), // table 1 funcref
    ...section(5, [0x01, 0x00, 0x01]), // memory 1
    ...section(6, [0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b]), // global (mut i32)
    ...section(9, [0x01, 0x01, 0x00, 0x01, 0x00]), // passive elem func 0
    ...section(12, [0x01]), // data count
    ...section(10, [0x01, ...leb(code.length), ...code]),
    ...section(11, [0x01, 0x01, 0x00]), // passive data ""
  ]);
  return { wasm, instructions, sentinels };
}

Deno.test("meter decodes every MVP, bulk, SIMD, atomic and tail-call opcode", () => {
  const { wasm, instructions, sentinels } = everyOpcodeModule();
  // wabt's reader stops silently at what it cannot read: make sure it read everything.
  const lines = disassemble(wasm);
  const first = lines.findIndex((line) => line.startsWith("(func"));
  const last = lines.findIndex((line) => line.startsWith("(table"));
  assert.equal(last - first - 1, instructions - 1, "instructions wabt read (all but the last end)");
  for (
    const op of [
      "return_call_indirect",
      "f64x2.convert_low_i32x4_u",
      "i32x4.relaxed_dot_i8x16_i7x16_add_s",
      "i64.atomic.rmw32.cmpxchg_u",
      "i8x16.shuffle",
      "table.fill",
      "atomic.fence",
    ]
  ) {
    assert.ok(lines.some((line) => line.startsWith(op)), op);
  }
  // 9 plain stores, 5 SIMD stores, 7 atomic stores and the sentinels; wabt
  // agrees on every boundary.
  const instrumented = meter(wasm).wasm;
  assert.equal(assertInstrumentedLike(wasm, instrumented), 21 + sentinels);
  // The fuel sequences through the parameter (2 × extra + 1 bytes), which
  // make the body and the code section one LEB byte longer each; the routed
  // types (21 bytes, 35 with those of memory.init,
  // data.drop and the table imports) and a new import section (4 + 5 imports:
  // 229 bytes); memory.grow and memory.size (2 bytes) → call (2), memory.copy (4),
  // memory.fill (3), memory.init 65 (4) and data.drop 65 (3) → call (2); a call
  // (2) in front of table.init, table.copy, table.grow and table.fill, and one after
  // table.grow.
  assert.equal(
    instrumented.length,
    wasm.length + 31 * (7 + sentinels) + 63 * 9 + 127 * 5 + 2 + 35 + 229 - 2 - 1 - 2 - 1 +
      5 * 2,
  );

  for (const sub of SIMD_GAPS) {
    const gap = moduleWithBody([0x00, 0xfd, ...leb(sub), 0x0b]);
    // wabt does not know it either (its reader stops without printing it).
    const gapLines = disassemble(gap);
    const func = gapLines.findIndex((line) => line.startsWith("(func"));
    assert.ok(gapLines[func + 1].startsWith("("), `wabt knows 0xfd ${hex(sub)}`);
    const error = assertThrowsKind(() => meter(gap).wasm, "CompileError");
    assert.match(error.message, new RegExp(`unknown opcode 0xfd ${hex(sub)}`));
  }
});

Deno.test("meter decodes a WAT mix of SIMD, bulk memory and atomics", async () => {
  const original = await assembleWat(
    `(module (memory 1 1 shared)
    (func $g (param i32) (result i32)
      (i32.atomic.store16 offset=2 (i32.const 0) (i32.const 1))
      (i64.atomic.store8 (i32.const 0) (i64.const 1))
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (drop (memory.atomic.wait32 (i32.const 0) (i32.const 1) (i64.const -1)))
      (atomic.fence)
      (v128.store16_lane offset=9 7 (i32.const 0) (v128.const f32x4 1 2 3 4))
      (f32.store (i32.const 0) (f32x4.extract_lane 0 (v128.const f32x4 1.5 0 0 0)))
      (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))
      (return_call $g (local.get 0))))`,
    { features: ["threads", "tail_call"] },
  );
  assert.equal(assertInstrumentedLike(original, meter(original).wasm), 4);
});

// ---------------------------------------------------------------------------
// Errors

Deno.test("meter rejects malformed bodies with CompileError at a byte", () => {
  // The body starts right after its size, at this offset in moduleWithBody's output.
  const bodyAt = moduleWithBody([]).length;
  const cases: [body: number[], message: RegExp, at?: number][] = [
    [[0x00, 0x01, 0x27, 0x0b], /unknown opcode 0x27/, 2],
    [[0x00, 0xd7, 0x0b], /unknown opcode 0xd7/, 1],
    [[0x00, 0xfd, 0x9a, 0x01, 0x0b], /unknown opcode 0xfd 0x9a/, 1],
    [[0x00, 0xfd, 0x94, 0x02, 0x0b], /unknown opcode 0xfd 0x114/, 1],
    [[0x00, 0xfc, 18, 0x0b], /unknown opcode 0xfc 18/, 1],
    [[0x00, 0xfe, 0x04, 0x0b], /unknown opcode 0xfe 0x04/, 1],
    [[0x00, 0x41], /unexpected end of function body/],
    [[0x00, 0x36, 0x02], /unexpected end of function body/],
    [[0x00, 0xfd, 0x0c, 1, 2, 3, 0x0b], /unexpected end of function body/, 1],
    [[0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x0b], /integer representation too long/, 2],
    [[0x00, 0xfd, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], /integer representation too long/, 2],
    [[0x00, 0xfd, 0x80, 0x80, 0x80, 0x80, 0x10, 0x0b], /integer too large/, 2],
    [[0x00, 0x01], /does not end with end/],
    [[0x00, 0x0b, 0x01], /1 bytes after its final end/, 2],
    [[0x00, 0x02, 0x40, 0x0b], /does not end with end/],
    [[0x00, 0x02, 0x50, 0x0b, 0x0b], /invalid block type 0x50/, 2],
    [[0x01, 0x01, 0x55, 0x0b], /invalid value type 0x55/, 2],
    [[0x00, 0x06, 0x40, 0x0b, 0x0b], /exception-handling proposal is disabled/, 1],
    [[0x00, 0x08, 0x00, 0x0b], /exception-handling proposal is disabled/, 1],
    [[0x00, 0x1f, 0x40, 0x00, 0x0b, 0x0b], /exception-handling proposal is disabled/, 1],
    [[0x00, 0x14, 0x00, 0x0b], /typed function references and GC/, 1],
    [[0x00, 0xfb, 0x00, 0x0b], /typed function references and GC/, 1],
    [[0x00, 0x02, 0x63, 0x70, 0x0b, 0x0b], /GC proposal is disabled/, 2],
    [[0x00, 0x41, 0x00, 0x28, 0x42, 0x00, 0x00, 0x1a, 0x0b], /multi-memory/, 4],
    // Memory indices are one zero byte without multi-memory, as wasmparser reads them.
    [[0x00, 0x3f, 0x80, 0x00, 0x1a, 0x0b], /zero byte expected/, 2],
    [[0x00, 0x3f, 0x01, 0x1a, 0x0b], /zero byte expected/, 2],
    [[0x00, 0xfc, 10, 0x00, 0x01, 0x0b], /zero byte expected/, 4],
    [[0x00, 0xfc, 8, 0x00, 0x01, 0x0b], /zero byte expected/, 4],
    [[0x00, 0xfe, 0x03, 0x01, 0x0b], /zero byte expected/, 3],
  ];
  for (const [body, message, at] of cases) {
    const error = assertThrowsKind(
      () => meter(moduleWithBody(body)).wasm,
      "CompileError",
    );
    assert.match(error.message, message, `${body}`);
    assert.match(error.message, /\(at byte \d+\)$/, error.message);
    if (at !== undefined) {
      assert.ok(error.message.endsWith(`(at byte ${bodyAt + at})`), `${body}: ${error.message}`);
    }
  }
});

Deno.test("meter rejects malformed modules with CompileError", () => {
  const valid = moduleWithBody([0x00, 0x0b]);
  const tagSection = [0x0d, 0x03, 0x01, 0x00, 0x00];
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array([1, 2, 3]), /magic header/],
    [
      new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]),
      /unsupported binary version/,
    ],
    [new Uint8Array([...valid, ...tagSection]), /tag section.*exception-handling/],
    [new Uint8Array([...valid, 0x00, 0x80]), /section 0 is truncated/],
    [valid.subarray(0, valid.length - 1), /declares 4 bytes, but only 3 remain/],
    // The code section holds one more byte than its body.
    [
      new Uint8Array([...valid.subarray(0, -6), 0x0a, 0x05, 0x01, 0x02, 0x00, 0x0b, 0x00]),
      /1 bytes after the last function body/,
    ],
    // The body claims more bytes than its section holds.
    [
      new Uint8Array([...valid.subarray(0, -6), 0x0a, 0x04, 0x01, 0x05, 0x00, 0x0b]),
      /overruns the code section/,
    ],
  ];
  for (const [wasm, message] of cases) {
    const error = assertThrowsKind(() => meter(wasm).wasm, "CompileError");
    assert.match(error.message, message);
    assert.match(error.message, /\(at byte \d+\)$/);
  }
  assert.throws(() => meter([0] as unknown as Uint8Array).wasm, TypeError);
});

// ---------------------------------------------------------------------------
// Bulk memory

for (const is64 of [false, true]) {
  const label = is64 ? "memory64" : "wasm32";
  Deno.test(`meter prices memory.fill, memory.copy and memory.grow as one instruction each (${label})`, async () => {
    const a = is64 ? "i64" : "i32";
    const n = is64 ? "(i64.extend_i32_u (local.get 0))" : "(local.get 0)";
    const original = await assembleWat(`(module (memory (export "memory") ${is64 ? "i64 " : ""}1 8)
      (func (export "fill") (param i32) (result i32)
        (memory.fill (${a}.const 16) (i32.const 0x1ab) ${n})
        (i32.load (${a}.const 16)))
      (func (export "copy") (param i32) (result i32)
        (i32.store (${a}.const 0) (i32.const 0x01020304))
        (memory.copy (${a}.const 2) (${a}.const 0) ${n})
        (i32.load (${a}.const 0)))
      (func (export "grow") (param i32) (result i32)
        ${is64 ? "(i32.wrap_i64 (memory.grow " + n + "))" : "(memory.grow " + n + ")"}))`);
    const metered = meter(original).wasm;
    for (
      const [fn, n] of [["fill", 0], ["fill", 4], ["fill", 60000], ["copy", 4], ["copy", 6000], [
        "grow",
        0,
      ], ["grow", 3]] as const
    ) {
      const before = run(original, fn, n);
      const after = run(metered, fn, n);
      assert.equal(after.result, before.result, `${fn}(${n})`);
      assertBytes(after.memory, before.memory, `${fn}(${n})`);
      // wasmtime 49 charges n bytes or pages on top; the reference and the metered module do not.
      const storeFuel = fn === "copy" ? 15n : 0n;
      assert.equal(after.used, before.used - BigInt(n) + storeFuel, `${fn}(${n})`);
    }
    // Out of bounds traps as the instructions do; growth past the maximum is -1.
    assert.equal(run(metered, "fill", 65536).trap, "MemoryOutOfBounds");
    assert.equal(run(metered, "copy", 65535).trap, "MemoryOutOfBounds");
    assert.equal(run(metered, "grow", 8).result, -1);
    assertNoLiveHandles();
  });
}

Deno.test("meter moves every index of a defined function when it routes bulk memory", () => {
  const source = `(module
    (import "env" "twice" (func $twice (param i32) (result i32)))
    (memory (export "memory") 1)
    (table 3 funcref)
    (global $f (export "g") funcref (ref.func $inc))
    (elem (i32.const 0) func $inc $dec)
    (elem declare func $inc)
    (type $unary (func (param i32) (result i32)))
    (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
    (func $dec (param i32) (result i32) (i32.sub (local.get 0) (i32.const 1)))
    (func (export "f") (param i32) (result i32)
      (memory.fill (i32.const 0) (i32.const 1) (i32.const 8))
      (call $twice
        (call_indirect (type $unary) (call $inc (local.get 0)) (i32.rem_u (local.get 0) (i32.const 2))))))`;
  const parsed = wabt.parseWat("names.wat", source, ALL_FEATURES);
  let original: Uint8Array;
  try {
    parsed.resolveNames();
    original = parsed.toBinary({ write_debug_names: true }).buffer;
  } finally {
    parsed.destroy();
  }
  const metered = meter(original).wasm;
  assertInstrumentedLike(original, metered);
  // The name section followed the functions: each name labels the same body.
  const named = (wasm: Uint8Array) => {
    const module = wabt.readWasm(wasm, { ...ALL_FEATURES, readDebugNames: true });
    try {
      module.applyNames();
      const text = module.toText({ foldExprs: true, inlineExport: false });
      return ["$inc", "$dec", "$twice"].map((name) =>
        text.split("\n").find((line) => line.includes(`(func ${name} `))?.trim()
      );
    } finally {
      module.destroy();
    }
  };
  assert.ok(named(original).every((line) => line !== undefined));
  assert.deepEqual(named(metered), named(original));
  const results = (wasm: Uint8Array) => {
    using engine = new Engine();
    using module = Module.compile(engine, wasm);
    using linker = new Linker(engine);
    using store = new Store(engine);
    const memory: { current?: Memory } = {};
    linker.defineFunc("env", "twice", { params: ["i32"], results: ["i32"] }, (args) => {
      args.setI32(0, args.i32(0) * 2);
    });
    if (importsBulkMemory(wasm)) {
      defineBulkMemory(linker, false, () => memory.current!, () => store);
    }
    store.setFuel(1_000_000n);
    const instance = linker.instantiate(store, module);
    memory.current = instance.getMemory("memory");
    return [4, 5].map((n) => instance.getFunc("f").callI32(n));
  };
  assert.deepEqual(results(metered), results(original));
  assert.deepEqual(results(metered), [(5 + 1) * 2, (6 - 1) * 2]);
  assertNoLiveHandles();
});

Deno.test("meter prices memory.init and data.drop as one instruction each", async () => {
  const original = await assembleWat(`(module (memory (export "memory") 1)
    (data $a "0123456789abcdef")
    (data $b "xyz")
    (func (export "init") (param i32) (result i32)
      (memory.init $a (i32.const 8) (i32.const 2) (local.get 0))
      (memory.init $b (i32.const 0) (i32.const 0) (i32.const 3))
      (i32.load (i32.const 8)))
    (func (export "drop") (param i32) (result i32)
      (data.drop $a)
      (memory.init $a (i32.const 0) (i32.const 0) (local.get 0))
      (i32.const 0)))`);
  const metered = meter(original).wasm;
  const imports = inspectModule(metered).imports.map((entry) => entry.name);
  assert.deepEqual(imports.slice(4), ["memory.init:0", "memory.init:1", "data.drop:0"]);
  assertInstrumentedLike(original, metered);
  for (const [fn, n] of [["init", 0], ["init", 4], ["init", 14], ["drop", 0]] as const) {
    const before = run(original, fn, n);
    const after = run(metered, fn, n);
    assert.equal(after.result, before.result, `${fn}(${n})`);
    assertBytes(after.memory, before.memory, `${fn}(${n})`);
    // wasmtime 49 charges the bytes on top of each memory.init; the reference does not.
    assert.equal(after.used, before.used - BigInt(n) - (fn === "init" ? 3n : 0n), `${fn}(${n})`);
  }
  // Out of the segment, or after data.drop: the trap of the instruction.
  assert.equal(run(metered, "init", 15).trap, "MemoryOutOfBounds");
  assert.equal(run(metered, "drop", 1).trap, "MemoryOutOfBounds");
  assertNoLiveHandles();
});

Deno.test("meter prices table.grow, table.fill, table.copy and table.init as one instruction each", async () => {
  const original = await assembleWat(`(module (memory (export "memory") 1)
    (table $t 8 64 funcref)
    (elem $e func $one $one $one $one $one $one $one $one)
    (func $one (result i32) (i32.const 1))
    (func (export "grow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
    (func (export "fill") (param i32) (result i32)
      (table.fill $t (i32.const 0) (ref.func $one) (local.get 0)) (table.size $t))
    (func (export "copy") (param i32) (result i32)
      (table.copy $t $t (i32.const 1) (i32.const 0) (local.get 0)) (table.size $t))
    (func (export "init") (param i32) (result i32)
      (table.init $t $e (i32.const 0) (i32.const 0) (local.get 0)) (table.size $t)))`);
  const metered = meter(original).wasm;
  assertInstrumentedLike(original, metered);
  for (
    const [fn, n] of [["grow", 0], ["grow", 5], ["fill", 7], ["copy", 6], ["init", 8]] as const
  ) {
    const before = run(original, fn, n);
    const after = run(metered, fn, n);
    assert.equal(after.result, before.result, `${fn}(${n})`);
    // wasmtime 49 charges the elements on top of the instruction; the reference does not.
    assert.equal(after.used, before.used - BigInt(n), `${fn}(${n})`);
  }
  // Past the maximum: -1, as the instruction, and not charged per element.
  const refused = run(original, "grow", 57);
  assert.equal(run(metered, "grow", 57).result, -1);
  assert.equal(run(metered, "grow", 57).used, refused.used);
  assert.equal(run(metered, "fill", 9).trap, "TableOutOfBounds");
  assertNoLiveHandles();
});

Deno.test("meter says whether a module can change its tables or drop element segments", async () => {
  const moduleWith = (body: string) =>
    assembleWat(`(module (memory (export "memory") 1)
      (table $t 2 funcref)
      (elem $e func $one)
      (type $answer (func (result i32)))
      (func $one (type $answer) (i32.const 1))
      (func (export "f") (param i32) (result i32) ${body}))`);
  const writes = {
    "table.set": "(table.set $t (i32.const 0) (ref.func $one)) (i32.const 0)",
    "elem.drop": "(elem.drop $e) (i32.const 0)",
    "table.grow": "(table.grow $t (ref.null func) (i32.const 1))",
    "table.fill": "(table.fill $t (i32.const 0) (ref.null func) (i32.const 1)) (i32.const 0)",
    "table.copy": "(table.copy $t $t (i32.const 0) (i32.const 1) (i32.const 1)) (i32.const 0)",
    "table.init": "(table.init $t $e (i32.const 0) (i32.const 0) (i32.const 1)) (i32.const 0)",
    // Unreachable code counts too: it is still in the module.
    "unreachable table.set": "(return (i32.const 0)) (table.set $t (i32.const 0) (ref.null func))",
  };
  for (const [what, body] of Object.entries(writes)) {
    assert.equal(meter(await moduleWith(body)).writesTables, true, what);
  }
  const reads = {
    "table.get": "(ref.is_null (table.get $t (i32.const 0)))",
    "table.size": "(table.size $t)",
    "call_indirect": "(call_indirect (type $answer) (i32.const 0))",
  };
  for (const [what, body] of Object.entries(reads)) {
    assert.equal(meter(await moduleWith(body)).writesTables, false, what);
  }
});
