/**
 * A seeded, deterministic fuzzer of deploy and calls: byte and
 * structure-aware mutations of the bundled contracts (wasm32 and wasm64) and
 * of generated contracts, and generated contracts with random bodies (loops,
 * recursion, `memory.grow`, loads and stores at random addresses, every host
 * import). Every failed deploy or call must be a `PiecrustError` with a kind
 * and leave `session.root()` unchanged; after each module the session must
 * still run the counter contract.
 *
 * Module `i` of seed `s` depends on nothing else, so a failure is reproduced
 * with `deno task fuzz --seed s --only i`; its bytes are also written to a
 * temporary folder.
 *
 * In-process runs cap recursion (about 1000 wasm frames in all), since a
 * deep enough stack can still take the process down. `--unbounded` lifts the
 * cap and runs the modules in child processes, counting the ones that crash.
 *
 * Usage: `deno task fuzz [--seed S] [--count N | --minutes M] [--only I] [--children]
 * [--unbounded]`; `--children` runs the modules in child processes (so a
 * crash is counted), which `--unbounded` implies.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { assembleWat } from "../contracts/wat.ts";
import { contractFunction, type ContractId, i64, PiecrustError, unit, VM } from "../mod.ts";
import { contractBytecode, type ContractTarget } from "../src/testing/mod.ts";
import { hostImportType } from "../src/bytecode/abi.ts";

/** Options of {@linkcode fuzz}. */
export interface FuzzOptions {
  /** The seed; the same seed gives the same modules, calls and outcomes. */
  seed: number;
  /** Index of the first module. Default 0. */
  from?: number;
  /** How many modules. Default: unbounded (then `deadline` must be set). */
  count?: number;
  /** Stop starting modules after this time (`performance.now()` ms). Default none. */
  deadline?: number;
  /**
   * Lift the recursion and call-chain caps of generated modules. Only for
   * child processes: a deep stack may still crash the process. Default false.
   */
  unbounded?: boolean;
  /** Called after each module, e.g. to stream outcomes from a child. Default none. */
  onModule?: (outcome: ModuleOutcome) => void;
  /** Called before each module starts. Default none. */
  onStart?: (index: number) => void;
}

/** What happened to one module. */
export interface ModuleOutcome {
  /** The module's index. */
  index: number;
  /** How it was made: `bytes`, `structure` (mutations) or `generated`. */
  generator: string;
  /** `ok`, or the kind of the error deploy threw. */
  deploy: string;
  /** Calls by outcome: `ok` or the error's kind. */
  calls: Record<string, number>;
  /** What broke the rules, each with how to reproduce it. */
  failures: string[];
}

/** Counts over many modules. */
export interface FuzzReport {
  /** The seed. */
  seed: number;
  /** Modules tried. */
  modules: number;
  /** Modules by generator. */
  generators: Record<string, number>;
  /** Deploys by outcome: `ok` or the error's kind. */
  deploys: Record<string, number>;
  /** Calls by outcome: `ok` or the error's kind. */
  calls: Record<string, number>;
  /** Child processes that crashed (`--unbounded` only), with the module index. */
  crashes: string[];
  /** What broke the rules. */
  failures: string[];
}

// --- a seeded PRNG (mulberry32) ------------------------------------------------

/** A deterministic random source. */
export class Random {
  #state: number;

  /** A source seeded with `seed` (any 32-bit value) and a module index. */
  constructor(seed: number, index = 0) {
    this.#state = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
    for (let i = 0; i < 4; i++) this.next();
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in `[0, n)`. */
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }

  /** A random element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

// --- the binary format ------------------------------------------------------------

interface Section {
  id: number;
  /** Offset of the id byte. */
  start: number;
  /** Offset of the payload. */
  payload: number;
  /** Offset just past the payload. */
  end: number;
}

function readLeb(bytes: Uint8Array, at: number): { value: bigint; next: number } {
  let value = 0n;
  let shift = 0n;
  let p = at;
  while (p < bytes.length && p - at < 10) {
    const byte = bytes[p++];
    value |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if ((byte & 0x80) === 0) break;
  }
  return { value, next: p };
}

function leb(value: bigint, minLength = 1): number[] {
  const out: number[] = [];
  let rest = BigInt.asUintN(64, value);
  do {
    const byte = Number(rest & 0x7fn);
    rest >>= 7n;
    out.push(byte | 0x80);
  } while (rest !== 0n || out.length < minLength);
  out[out.length - 1] &= 0x7f;
  return out;
}

/** The sections of a module, as far as they parse. */
function sections(bytes: Uint8Array): Section[] {
  const out: Section[] = [];
  let p = 8;
  while (p < bytes.length) {
    const start = p;
    const { value, next } = readLeb(bytes, p + 1);
    const end = next + Number(value);
    if (end > bytes.length) break;
    out.push({ id: bytes[start], start, payload: next, end });
    p = end;
  }
  return out;
}

/** The names of exported functions, as far as the export section parses. */
function exportedFunctions(bytes: Uint8Array): string[] {
  const section = sections(bytes).find((s) => s.id === 7);
  if (section === undefined) return [];
  const names: string[] = [];
  const decoder = new TextDecoder();
  let { value: count, next: p } = readLeb(bytes, section.payload);
  for (; count > 0n && p < section.end; count--) {
    const name = readLeb(bytes, p);
    const text = decoder.decode(bytes.subarray(name.next, name.next + Number(name.value)));
    p = name.next + Number(name.value);
    const kind = bytes[p];
    p = readLeb(bytes, p + 1).next;
    if (kind === 0) names.push(text);
  }
  return names;
}

function concat(parts: (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/** A section with a new payload and its size re-encoded. */
function withPayload(id: number, payload: Uint8Array): Uint8Array {
  return concat([[id], leb(BigInt(payload.length)), payload]);
}

// --- generators ------------------------------------------------------------------

const INTERESTING = [
  0n,
  1n,
  0x7fn,
  0x80n,
  0xffffn,
  0x10000n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  (1n << 63n) - 1n,
  (1n << 64n) - 1n,
];
const OPCODES = [
  0x00, // unreachable
  0x01, // nop
  0x02, // block
  0x03, // loop
  0x0c, // br
  0x0f, // return
  0x10, // call
  0x11, // call_indirect
  0x1a, // drop
  0x20, // local.get
  0x23, // global.get
  0x24, // global.set
  0x28, // i32.load
  0x29, // i64.load
  0x36, // i32.store
  0x3f, // memory.size
  0x40, // memory.grow
  0x41, // i32.const
  0x42, // i64.const
  0x6a, // i32.add
  0xfc, // prefix: memory.fill/copy, saturating truncations
];

/** Plain byte mutations: flips, overwrites, inserts, deletes and copied chunks. */
function mutateBytes(base: Uint8Array, random: Random): Uint8Array {
  let bytes: Uint8Array = base.slice();
  for (let n = random.chance(0.6) ? 1 : 2 + random.int(6); n > 0; n--) {
    const at = random.int(bytes.length);
    switch (random.int(6)) {
      case 0:
        bytes[at] ^= 1 << random.int(8);
        break;
      case 1:
        bytes[at] = random.next() & 0xff;
        break;
      case 2:
        bytes[at] = random.pick([0x00, 0x7f, 0x80, 0xff]);
        break;
      case 3:
        bytes = concat([bytes.subarray(0, at), [random.next() & 0xff], bytes.subarray(at)]);
        break;
      case 4:
        bytes = concat([bytes.subarray(0, at), bytes.subarray(at + 1 + random.int(4))]);
        break;
      default: {
        const from = random.int(bytes.length);
        const chunk = bytes.slice(from, from + 1 + random.int(16));
        bytes.set(chunk.subarray(0, bytes.length - at), at);
      }
    }
  }
  return bytes;
}

/**
 * Mutations that know the section layout: bytes and LEB128 values inside a
 * section (with its size fixed up), opcodes in the code section, truncation,
 * and duplicated, dropped or swapped sections.
 */
function mutateStructure(base: Uint8Array, random: Random): Uint8Array {
  let bytes = base;
  for (let n = random.chance(0.7) ? 1 : 2 + random.int(2); n > 0; n--) {
    const all = sections(bytes);
    if (all.length === 0) return mutateBytes(bytes, random);
    const s = random.pick(all);
    const payload = bytes.slice(s.payload, s.end);
    const rebuilt = (next: Uint8Array): Uint8Array =>
      concat([bytes.subarray(0, s.start), withPayload(s.id, next), bytes.subarray(s.end)]);
    switch (random.int(8)) {
      case 0: // a byte of the payload
        if (payload.length > 0) payload[random.int(payload.length)] ^= 1 << random.int(8);
        bytes = rebuilt(payload);
        break;
      case 1: { // a LEB128 value (count, index, size, immediate) replaced
        if (payload.length === 0) break;
        const at = random.int(payload.length);
        const { next } = readLeb(payload, at);
        const value = random.chance(0.5) ? random.pick(INTERESTING) : BigInt(random.int(300));
        bytes = rebuilt(
          concat([payload.subarray(0, at), leb(value, random.int(3)), payload.subarray(next)]),
        );
        break;
      }
      case 2: { // an opcode or immediate in the code section
        const code = all.find((section) => section.id === 10) ?? s;
        const at = code.payload + random.int(code.end - code.payload);
        bytes = bytes.slice();
        bytes[at] = random.chance(0.7) ? random.pick(OPCODES) : random.next() & 0xff;
        break;
      }
      case 3: // truncated, often at a section boundary
        bytes = bytes.slice(0, random.chance(0.5) ? s.end : random.int(bytes.length));
        break;
      case 4: // a section twice
        bytes = concat([
          bytes.subarray(0, s.end),
          bytes.subarray(s.start, s.end),
          bytes.subarray(s.end),
        ]);
        break;
      case 5: // a section dropped
        bytes = concat([bytes.subarray(0, s.start), bytes.subarray(s.end)]);
        break;
      case 6: { // two sections swapped
        const t = random.pick(all);
        if (t.start <= s.start) break;
        bytes = concat([
          bytes.subarray(0, s.start),
          bytes.subarray(t.start, t.end),
          bytes.subarray(s.end, t.start),
          bytes.subarray(s.start, s.end),
          bytes.subarray(t.end),
        ]);
        break;
      }
      default: // the payload cut short, the size fixed up
        bytes = rebuilt(payload.subarray(0, random.int(payload.length + 1)));
    }
  }
  return bytes;
}

const HOST_IMPORTS = [
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
/** Function-call budget of one instance when capped (four instances deep at most). */
const CALLS_PER_INSTANCE = 250;
const ICC_DEPTH_CAPPED = 4;

/**
 * WAT of a random contract: exported `(i32) -> i32` functions `f0`..,
 * the `A` global and a memory, with bodies of loops, calls among themselves
 * (recursion included), `memory.grow`, loads and stores at random addresses
 * and calls of random host imports.
 */
export function generateContract(random: Random, options: { unbounded?: boolean } = {}): string {
  const is64 = random.chance(0.4);
  const p = is64 ? "i64" : "i32";
  const pages = 1 + random.int(4);
  const argBuffer = random.chance(0.9)
    ? BigInt(random.int(pages) * 65536)
    : random.pick(INTERESTING);
  const functions = 1 + random.int(4);
  const imports = HOST_IMPORTS.filter(() => random.chance(0.5));
  // Calls between contracts need `self_id` to name a callee and `callstack` for the cap.
  if (imports.includes("c")) imports.push("self_id", "callstack");
  const has = (name: string): boolean => imports.includes(name);
  const names = Array.from({ length: functions }, (_, i) => `f${i}`);
  const nameOffset = 1024 + random.int(4096);
  let label = 0;

  const constant = (type: string): string => {
    const value = random.chance(0.5) ? random.pick(INTERESTING) : BigInt(random.int(200_000));
    return `(${type}.const ${
      type === "i32" ? BigInt.asIntN(32, value) : BigInt.asIntN(64, value)
    })`;
  };
  const address = (depth: number): string => {
    const choice = random.int(4);
    if (choice === 0) return constant(p);
    const small = `(i32.and ${expr("i32", depth)} (i32.const ${
      random.pick([0xff, 0x1ffff, 0x3ffff])
    }))`;
    const offset = `(i32.add (i32.const ${argBuffer & 0x7fffffffn}) ${small})`;
    const within = choice === 1 ? small : offset;
    return is64 ? `(i64.extend_i32_u ${within})` : within;
  };
  const length = (): string =>
    `(i32.const ${
      random.chance(0.8) ? random.int(80) : BigInt.asIntN(32, random.pick(INTERESTING))
    })`;
  const namePointer = (): string => `(${p}.const ${nameOffset + 2 * random.int(functions)})`;

  function expr(type: "i32" | "i64", depth: number): string {
    if (depth > 3) {
      return random.chance(0.5) ? constant(type) : `(local.get ${type === "i32" ? "$x" : "$y"})`;
    }
    const d = depth + 1;
    if (type === "i64") {
      const options = [
        () => constant("i64"),
        () => "(local.get $y)",
        () => `(i64.add ${expr("i64", d)} ${expr("i64", d)})`,
        () => `(i64.extend_i32_u ${expr("i32", d)})`,
        () => `(i64.load ${address(d)})`,
        () => is64 ? "(memory.size)" : "(i64.extend_i32_u (memory.size))",
        ...(has("limit") ? [() => "(call $limit)"] : []),
        ...(has("spent") ? [() => "(call $spent)"] : []),
      ];
      return random.pick(options)();
    }
    const grow = `(memory.grow ${is64 ? `(i64.extend_i32_u ${growDelta()})` : growDelta()})`;
    const options = [
      () => constant("i32"),
      () => "(local.get $x)",
      () =>
        `(${random.pick(["i32.add", "i32.sub", "i32.mul", "i32.xor", "i32.shl"])} ${
          expr("i32", d)
        } ${expr("i32", d)})`,
      () => `(${random.pick(["i32.div_u", "i32.rem_s"])} ${expr("i32", d)} ${expr("i32", d)})`,
      () => `(i32.eqz ${expr("i32", d)})`,
      () => `(i32.wrap_i64 ${expr("i64", d)})`,
      () => `(${random.pick(["i32.load", "i32.load8_u", "i32.load16_s"])} ${address(d)})`,
      () => is64 ? `(i32.wrap_i64 ${grow})` : grow,
      () => `(call $${random.pick(names)} ${expr("i32", d)})`,
      ...(has("caller") ? [() => "(call $caller)"] : []),
      ...(has("callstack") ? [() => "(call $callstack)"] : []),
      ...(has("hd") ? [() => `(call $hd ${address(d)} ${length()})`] : []),
      ...(has("hq") ? [() => `(call $hq ${address(d)} ${length()} ${length()})`] : []),
      ...(has("owner") ? [() => `(call $owner ${address(d)})`] : []),
    ];
    return random.pick(options)();
  }

  function growDelta(): string {
    return `(i32.const ${
      random.chance(0.8) ? random.int(3) : random.pick([16, 0xffff, 0x10000, -1])
    })`;
  }

  function interContractCall(): string {
    // self_id writes this contract's id to A: the callee is the contract itself.
    const call =
      `(call $self_id) (drop (call $c (${p}.const ${
        BigInt.asIntN(is64 ? 64 : 32, argBuffer)
      }) ${namePointer()} ` +
      `(i32.const 2) ${length()} ${constant("i64")}))`;
    return options.unbounded
      ? call
      : `(if (i32.lt_u (call $callstack) (i32.const ${ICC_DEPTH_CAPPED})) (then ${call}))`;
  }

  function statements(depth: number, n: number): string {
    return Array.from({ length: n }, () => statement(depth)).join("\n    ");
  }

  function statement(depth: number): string {
    const d = depth + 1;
    const options = [
      () => `(local.set $x ${expr("i32", d)})`,
      () => `(local.set $y ${expr("i64", d)})`,
      () => `(${random.pick(["i32.store", "i32.store8"])} ${address(d)} ${expr("i32", d)})`,
      () => `(i64.store ${address(d)} ${expr("i64", d)})`,
      () =>
        `(memory.fill ${address(d)} ${expr("i32", d)} ${
          is64 ? `(i64.extend_i32_u ${length()})` : length()
        })`,
      () =>
        `(memory.copy ${address(d)} ${address(d)} ${
          is64 ? `(i64.extend_i32_u ${length()})` : length()
        })`,
      () => `(drop (call $${random.pick(names)} ${expr("i32", d)}))`,
      ...(depth < 3
        ? [
          () => {
            const l = label++;
            const times = random.chance(0.9) ? 1 + random.int(40) : 1_000_000;
            return `(local.set $i${l % 4} (i32.const 0)) (block $b${l} (loop $l${l}\n    ${
              statements(d, 1 + random.int(3))
            }\n    ` +
              `(br_if $l${l} (i32.lt_u (local.tee $i${l % 4} (i32.add (local.get $i${
                l % 4
              }) (i32.const 1))) (i32.const ${times})))))`;
          },
          () =>
            `(if ${expr("i32", d)} (then ${statements(d, 1 + random.int(2))}) (else ${
              statements(d, random.int(2))
            }))`,
        ]
        : []),
      () => (random.chance(0.1) ? "(unreachable)" : "(nop)"),
      ...(has("emit") ? [() => `(call $emit ${address(d)} ${length()} ${length()})`] : []),
      ...(has("feed") ? [() => `(call $feed ${length()})`] : []),
      ...(has("panic") && random.chance(0.3) ? [() => `(call $panic ${length()})`] : []),
      ...(has("self_id") ? [() => "(call $self_id)"] : []),
      ...(has("c") ? [interContractCall] : []),
    ];
    return random.pick(options)();
  }

  const importLines = imports.filter((name, i) => imports.indexOf(name) === i).map((name) => {
    const type = hostImportType(name, is64)!;
    const params = type.params.length > 0 ? ` (param ${type.params.join(" ")})` : "";
    const results = type.results.length > 0 ? ` (result ${type.results.join(" ")})` : "";
    return `(import "env" "${name}" (func $${name}${params}${results}))`;
  });
  const guard = options.unbounded ? "" : `
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (if (i32.gt_u (global.get $calls) (i32.const ${CALLS_PER_INSTANCE})) (then (return (i32.const 0))))`;
  const bodies = names.map((name) => `
  (func $${name} (export "${name}") (param $len i32) (result i32)
    (local $x i32) (local $y i64) (local $i0 i32) (local $i1 i32) (local $i2 i32) (local $i3 i32)${guard}
    (local.set $x (local.get $len))
    ${statements(0, 1 + random.int(6))}
    ${random.chance(0.8) ? `(i32.const ${random.int(64)})` : expr("i32", 2)})`);
  const max = random.chance(0.3) ? ` ${pages + random.int(20)}` : "";
  return `(module
  ${importLines.join("\n  ")}
  (memory (export "memory") ${is64 ? "i64 " : ""}${pages}${max})
  (global (export "A") ${p} (${p}.const ${BigInt.asIntN(is64 ? 64 : 32, argBuffer)}))
  (global $calls (mut i32) (i32.const 0))
  (data (${p}.const ${nameOffset}) "${names.join("")}")${bodies.join("")}
)`;
}

// --- the runner -----------------------------------------------------------------

const TARGETS: ContractTarget[] = ["wasm32", "wasm64"];
const BUNDLED = [
  "badreturn",
  "box",
  "callcenter",
  "callstack",
  "counter",
  "counter_float",
  "crossover",
  "debugger",
  "double_counter",
  "empty_initializer",
  "event_reverter",
  "eventer",
  "everest",
  "fallible_counter",
  "feeder",
  "fibonacci",
  "grower",
  "host",
  "initializer",
  "invalid",
  "metadata",
  "spender",
  "stack",
  "vector",
];
const SMALL = ["counter", "invalid"];
const GAS = [1n, 100n, 10_000n, 100_000n, 1_000_000n, 10_000_000n];
const OWNER = new Uint8Array(32);
const COUNTER_GAS = 1_000_000n;
const increment = contractFunction("increment", unit, unit);
const readValue = contractFunction("read_value", unit, i64);

/** The module of `index`: which generator made it, and its bytes. */
export async function fuzzModule(
  seed: number,
  index: number,
  options: { unbounded?: boolean } = {},
): Promise<{ generator: string; bytes: Uint8Array; random: Random }> {
  const random = new Random(seed, index);
  const generated = (): Promise<Uint8Array> => assembleWat(generateContract(random, options));
  // Mostly small bases: a valid mutation of a large contract costs ~100 ms to compile.
  const base = async (): Promise<Uint8Array> => {
    const choice = random.int(10);
    if (choice < 5) return await generated();
    const name = choice < 8 ? random.pick(SMALL) : random.pick(BUNDLED);
    return contractBytecode(name, { target: random.pick(TARGETS) });
  };
  switch (random.int(3)) {
    case 0:
      return { generator: "bytes", bytes: mutateBytes(await base(), random), random };
    case 1:
      return { generator: "structure", bytes: mutateStructure(await base(), random), random };
    default:
      return { generator: "generated", bytes: await generated(), random };
  }
}

/**
 * Deploys and calls module `index` of `seed` in a new session of `vm`;
 * returns the outcomes and any rule it broke.
 */
export async function fuzzOne(
  vm: VM,
  seed: number,
  index: number,
  options: { unbounded?: boolean } = {},
): Promise<ModuleOutcome> {
  const { generator, bytes, random } = await fuzzModule(seed, index, options);
  const outcome: ModuleOutcome = { index, generator, deploy: "", calls: {}, failures: [] };
  const where = `seed ${seed} module ${index}${options.unbounded ? " --unbounded" : ""}`;
  const fail = (what: string): void => {
    const dir = Deno.makeTempDirSync({ prefix: "piecrust-fuzz-" });
    const file = `${dir}/seed${seed}_module${index}.wasm`;
    Deno.writeFileSync(file, bytes);
    outcome.failures.push(`${where}: ${what} (module: ${file})`);
  };
  /** Runs `action`; a failure must be a PiecrustError that left the root as it was. */
  const attempt = (label: string, action: () => unknown): string => {
    const before = session.root().toHex();
    try {
      action();
      return "ok";
    } catch (error) {
      if (!(error instanceof PiecrustError) || typeof error.kind !== "string") {
        fail(`${label} threw a ${error?.constructor?.name ?? typeof error}: ${error}`);
        return `untyped ${error?.constructor?.name ?? typeof error}`;
      }
      const after = session.root().toHex();
      if (after !== before) fail(`${label} failed with ${error.kind} but changed the root`);
      return error.kind;
    }
  };

  using session = vm.session({ debug: random.chance(0.8) });
  const counter = session.deploy(contractBytecode("counter"), OWNER, COUNTER_GAS);
  let id: ContractId | undefined;
  outcome.deploy = attempt("deploy", () => {
    id = session.deploy(bytes, OWNER, random.pick(GAS), { initArg: random.bytes(random.int(16)) });
  });
  if (id !== undefined) {
    const exported = exportedFunctions(bytes);
    const strange = ["init", "missing", "memory", "A", "", "f0\0"];
    for (let n = 0; n < 3 + random.int(6); n++) {
      const fn = exported.length > 0 && random.chance(0.85)
        ? random.pick(exported)
        : random.pick(strange);
      const argLength = random.chance(0.95) ? random.int(40) : random.pick([65536, 65537]);
      const arg = random.bytes(argLength);
      const gas = random.pick(GAS);
      const feed = random.chance(0.3);
      const kind = attempt(`call ${JSON.stringify(fn)}`, () => {
        if (feed) session.feederCallRaw(id!, fn, arg, gas, () => {});
        else session.callRaw(id!, fn, arg, gas);
      });
      outcome.calls[kind] = (outcome.calls[kind] ?? 0) + 1;
    }
  }
  // The session keeps working whatever happened.
  const health = attempt("the counter after the module", () => {
    session.call(counter, increment, undefined, COUNTER_GAS);
    const value = session.call(counter, readValue, undefined, COUNTER_GAS).data;
    if (value !== 0xfdn) throw new Error(`the counter reads ${value}, not 0xfd`);
  });
  if (health !== "ok") fail(`the session stopped working: ${health}`);
  return outcome;
}

function add(counts: Record<string, number>, key: string, n = 1): void {
  counts[key] = (counts[key] ?? 0) + n;
}

/** Adds one module's outcome to `report`. */
export function record(report: FuzzReport, outcome: ModuleOutcome): void {
  report.modules++;
  add(report.generators, outcome.generator);
  add(report.deploys, outcome.deploy);
  for (const [kind, n] of Object.entries(outcome.calls)) add(report.calls, kind, n);
  report.failures.push(...outcome.failures);
}

/** An empty report for `seed`. */
export function emptyReport(seed: number): FuzzReport {
  return { seed, modules: 0, generators: {}, deploys: {}, calls: {}, crashes: [], failures: [] };
}

/** Fuzzes modules `from`.. of `seed` in this process and returns the counts. */
export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const report = emptyReport(options.seed);
  const from = options.from ?? 0;
  const end = options.count === undefined ? Infinity : from + options.count;
  using vm = VM.ephemeral();
  for (let index = from; index < end; index++) {
    if (options.deadline !== undefined && performance.now() > options.deadline) break;
    options.onStart?.(index);
    const outcome = await fuzzOne(vm, options.seed, index, options);
    options.onModule?.(outcome);
    record(report, outcome);
  }
  return report;
}

/** Formats a report's counts, one line per category. */
export function formatReport(report: FuzzReport, seconds: number): string {
  const line = (counts: Record<string, number>): string =>
    Object.entries(counts).sort(([, a], [, b]) => b - a).map(([k, n]) => `${k} ${n}`).join(", ");
  const calls = Object.values(report.calls).reduce((a, b) => a + b, 0);
  return [
    `seed ${report.seed}: ${report.modules} modules in ${seconds.toFixed(1)} s`,
    `  generators: ${line(report.generators)}`,
    `  deploys: ${line(report.deploys)}`,
    `  calls (${calls}): ${line(report.calls)}`,
    `  crashes: ${report.crashes.length}${report.crashes.map((c) => `\n    ${c}`).join("")}`,
    `  failures: ${report.failures.length}${report.failures.map((f) => `\n    ${f}`).join("")}`,
  ].join("\n");
}

/**
 * {@linkcode fuzz} in child processes, one at a time, so that a module that
 * crashes the process is counted (in `crashes`) instead of ending the run;
 * a new child carries on after it.
 */
export async function fuzzInChildren(options: FuzzOptions): Promise<FuzzReport> {
  const report = emptyReport(options.seed);
  let next = options.from ?? 0;
  const end = options.count === undefined ? Infinity : next + options.count;
  const script = new URL(import.meta.url).pathname;
  while (next < end && (options.deadline === undefined || performance.now() < options.deadline)) {
    const batch = Math.min(1000, end - next);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-ffi",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        script,
        "--child",
        "--seed",
        `${options.seed}`,
        "--from",
        `${next}`,
        "--count",
        `${batch}`,
        ...(options.unbounded ? ["--unbounded"] : []),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const [output, status] = await Promise.all([child.output(), child.status]);
    let started = next;
    for (const line of new TextDecoder().decode(output.stdout).split("\n")) {
      if (line.startsWith("start ")) started = Number(line.slice(6));
      else if (line.startsWith("{")) record(report, JSON.parse(line));
    }
    if (!status.success) {
      const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-2).join(
        " | ",
      );
      report.crashes.push(
        `seed ${options.seed} module ${started}${options.unbounded ? " --unbounded" : ""}: ` +
          `exit ${status.code}` +
          `${status.signal ? ` ${status.signal}` : ""}: ${stderr}`,
      );
      report.modules++;
      next = started + 1;
    } else {
      next += batch;
    }
  }
  return report;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seed: { type: "string" },
      count: { type: "string" },
      minutes: { type: "string" },
      only: { type: "string" },
      from: { type: "string" },
      unbounded: { type: "boolean", default: false },
      children: { type: "boolean", default: false },
      child: { type: "boolean", default: false },
    },
  });
  const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
  const options: FuzzOptions = {
    seed,
    from: Number(values.only ?? values.from ?? 0),
    count: values.only !== undefined
      ? 1
      : values.count === undefined
      ? undefined
      : Number(values.count),
    deadline: values.minutes === undefined
      ? undefined
      : performance.now() + Number(values.minutes) * 60_000,
    unbounded: values.unbounded,
  };
  if (options.count === undefined && options.deadline === undefined) options.count = 1000;
  if (values.child) {
    await fuzz({
      ...options,
      onStart: (index) => console.log(`start ${index}`),
      onModule: (outcome) => console.log(JSON.stringify(outcome)),
    });
  } else {
    const started = performance.now();
    if (values.only !== undefined) {
      const { generator, bytes } = await fuzzModule(seed, options.from!, options);
      const file = Deno.makeTempDirSync({ prefix: "piecrust-fuzz-" }) + `/module.wasm`;
      Deno.writeFileSync(file, bytes);
      console.log(`module ${options.from} (${generator}, ${bytes.length} bytes): ${file}`);
    }
    const report = (options.unbounded || values.children) && values.only === undefined
      ? await fuzzInChildren(options)
      : await fuzz({
        ...options,
        onModule: values.only === undefined ? undefined : (o) => console.log(JSON.stringify(o)),
      });
    console.log(formatReport(report, (performance.now() - started) / 1000));
    if (report.failures.length > 0 || report.crashes.length > 0) Deno.exitCode = 1;
  }
}
