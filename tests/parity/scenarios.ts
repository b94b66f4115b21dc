/**
 * The parity scenarios: every test contract, for each build (wasm32 and
 * wasm64, with and without bulk memory), deployed and called through every
 * export with arguments of several shapes and gas limits, then committed,
 * reopened and called again; plus scripted flows between contracts with
 * meaningful arguments, and the deploys where the VMs knowingly differ.
 *
 * @module
 */

import {
  contractId,
  encode,
  type Schema,
  string,
  tuple,
  u32,
  u64,
  u8,
  vec,
} from "../../src/codec/mod.ts";
import { blake3 } from "../../src/merkle/mod.ts";
import type { ParityScenario, ParityStep } from "./script.ts";

/** The committed contract builds, one folder each: `wasm32`, `wasm64`, their `-nobulk` variants. */
export const BUILD = new URL("../../contracts/build/", import.meta.url);
const OWNER = "00".repeat(32);
const GAS = 1_000_000;

/** The folders of the builds to run, by build name. */
export type Builds = Readonly<Record<string, string>>;

/** The committed builds, by name. */
export function committedBuilds(): Record<string, string> {
  return Object.fromEntries(
    [...Deno.readDirSync(BUILD)]
      .filter((entry) => entry.isDirectory)
      .map((entry) => [entry.name, new URL(entry.name, BUILD).pathname])
      .sort(),
  );
}

/** A build to run: its name and its folder. */
interface Build {
  readonly name: string;
  readonly dir: string;
}

function wasmPath(build: Build, name: string): string {
  return `${build.dir}/${name}.wasm`;
}

function contractsOf(build: Build): string[] {
  return [...Deno.readDirSync(build.dir)]
    .filter((entry) => entry.name.endsWith(".wasm"))
    .map((entry) => entry.name.slice(0, -5))
    .sort();
}

function exportedFunctions(wasm: string): string[] {
  const module = new WebAssembly.Module(Deno.readFileSync(wasm));
  return WebAssembly.Module.exports(module)
    .filter((entry) => entry.kind === "function" && entry.name !== "init")
    .map((entry) => entry.name)
    .sort();
}

/** Argument shapes every export is called with: none, zeros, a u64, garbage. */
const SWEEP_ARGS = ["", "00".repeat(8), encode(u64, 7n).toHex(), "ff".repeat(40)];

/**
 * One scenario per contract and build: deploy, every export with every
 * argument shape at a full and at a tight gas limit, the memory length and
 * root, a commit, and the same calls again on a session over the commit.
 */
function sweep(build: Build, name: string, dir: string): ParityScenario {
  const wasm = wasmPath(build, name);
  const calls: ParityStep[] = [];
  for (const fn of exportedFunctions(wasm)) {
    for (const arg of SWEEP_ARGS) {
      for (const gas of [GAS, 2_000]) calls.push({ op: "call", to: name, fn, arg, gas });
    }
  }
  return {
    name: `${build.name}/${name}`,
    steps: [
      { op: "open", dir },
      { op: "session", meta: { height: 7 } },
      { op: "deploy", as: name, wasm, owner: OWNER, gas: GAS },
      ...calls,
      { op: "memlen", to: name },
      { op: "root" },
      { op: "commit" },
      { op: "open", dir },
      { op: "session", base: "last", meta: { height: 8 } },
      { op: "memlen", to: name },
      ...calls,
      { op: "root" },
    ],
  };
}

/** The id a contract gets when deployed without one: BLAKE3 of its bytecode. */
function id(build: Build, name: string): Uint8Array {
  return blake3(Deno.readFileSync(wasmPath(build, name)));
}

const hexOf = <T>(schema: Schema<T>, value: T): string => encode(schema, value).toHex();

/** Flows between contracts with meaningful arguments, per build. */
function flows(build: Build, dir: string): ParityScenario[] {
  const has = new Set(contractsOf(build));
  const deploy = (name: string): ParityStep => ({
    op: "deploy",
    as: name,
    wasm: wasmPath(build, name),
    owner: OWNER,
    gas: GAS,
  });
  const call = (to: string, fn: string, arg: string, gas = GAS): ParityStep => ({
    op: "call",
    to,
    fn,
    arg,
    gas,
  });
  const scenarios: ParityScenario[] = [];
  if (["callcenter", "counter", "spender"].every((name) => has.has(name))) {
    const counter = id(build, "counter");
    const missing = new Uint8Array(32).fill(0x42);
    const delegate = tuple(contractId, string, vec(u8));
    scenarios.push({
      name: `${build.name}/flow/callcenter`,
      steps: [
        { op: "open", dir },
        { op: "session" },
        deploy("counter"),
        deploy("callcenter"),
        deploy("spender"),
        call("callcenter", "query_counter", hexOf(contractId, counter)),
        call("callcenter", "increment_counter", hexOf(contractId, counter)),
        call("callcenter", "increment_counter", hexOf(contractId, counter), 3_000),
        call("callcenter", "query_counter", hexOf(contractId, missing)),
        call("callcenter", "increment_counter", hexOf(contractId, missing)),
        call("callcenter", "call_init", hexOf(contractId, counter)),
        call(
          "callcenter",
          "delegate_query",
          hexOf(delegate, [counter, "read_value", new Uint8Array()]),
        ),
        call(
          "callcenter",
          "delegate_query",
          hexOf(delegate, [missing, "read_value", new Uint8Array()]),
        ),
        call("callcenter", "delegate_query", hexOf(delegate, [counter, "nope", new Uint8Array()])),
        call("callcenter", "delegate_query", hexOf(delegate, [counter, "init", new Uint8Array()])),
        call(
          "callcenter",
          "delegate_query_with_event",
          hexOf(delegate, [counter, "increment", new Uint8Array()]),
        ),
        call(
          "callcenter",
          "delegate_transaction",
          hexOf(delegate, [missing, "increment", new Uint8Array()]),
        ),
        call("callcenter", "calling_self", hexOf(contractId, id(build, "callcenter"))),
        call("callcenter", "call_self", ""),
        call("callcenter", "call_self_n_times", hexOf(u32, 10)),
        call("callcenter", "call_self_n_times", hexOf(u32, 60)),
        call("callcenter", "return_self_id", ""),
        call("callcenter", "return_caller", ""),
        call("callcenter", "return_callstack", ""),
        call("callcenter", "panik", ""),
        call(
          "callcenter",
          "call_spend_with_limit",
          hexOf(tuple(contractId, u64), [id(build, "spender"), 100n]),
        ),
        call(
          "callcenter",
          "call_spend_with_limit",
          hexOf(tuple(contractId, u64), [id(build, "spender"), 0n]),
        ),
        call("spender", "get_limit_and_spent", ""),
        call("counter", "read_value", ""),
        { op: "root" },
        { op: "commit" },
      ],
    });
  }
  if (["eventer", "feeder", "host", "metadata"].every((name) => has.has(name))) {
    const bytes = new Uint8Array(100).map((_, i) => i);
    scenarios.push({
      name: `${build.name}/flow/events-feeds-queries`,
      steps: [
        { op: "open", dir },
        { op: "session" },
        deploy("eventer"),
        deploy("feeder"),
        deploy("host"),
        deploy("metadata"),
        call("eventer", "emit_events", hexOf(u32, 5)),
        call("eventer", "emit_events_raw", hexOf(u32, 3)),
        call("eventer", "emit_input", hexOf(vec(u8), bytes)),
        call("eventer", "emit_and_mutate", hexOf(u32, 9)),
        call("eventer", "emit_and_mutate", hexOf(u32, 9), 2_000),
        call("eventer", "read_value", ""),
        { op: "feed", to: "feeder", fn: "feed_num", arg: hexOf(u32, 7), gas: GAS },
        { op: "feed", to: "feeder", fn: "feed_num_raw", arg: hexOf(u32, 3), gas: GAS },
        call("feeder", "feed_num", hexOf(u32, 2)),
        call("host", "host_hash", hexOf(vec(u8), bytes)),
        call("host", "host_very_expensive", ""),
        call(
          "host",
          "host_query_raw",
          hexOf(tuple(string, vec(u8)), ["missing", new Uint8Array()]),
        ),
        call("metadata", "read_owner", ""),
        call("metadata", "read_id", ""),
        call("metadata", "read_owner_of", hexOf(contractId, id(build, "eventer"))),
        call("metadata", "read_owner_of", hexOf(contractId, new Uint8Array(32).fill(0x42))),
        call("metadata", "read_owner_wrong_n", ""),
        { op: "root" },
        { op: "commit" },
      ],
    });
  }
  return scenarios;
}

/**
 * Where the VMs knowingly differ: the reference's wasmtime 21 refuses a
 * wasm64 module with a 64-bit table, which ours runs (the other scenarios
 * run such modules converted to a 32-bit table, see `table32.ts`).
 */
function knownDifferences(dir: string): ParityScenario {
  return {
    name: "known/table64",
    steps: [
      { op: "open", dir },
      { op: "session" },
      {
        op: "deploy",
        as: "box",
        wasm: new URL("wasm64/box.wasm", BUILD).pathname,
        owner: OWNER,
        gas: GAS,
      },
    ],
  };
}

/**
 * The bulk instructions metering leaves alone, on `n` elements each
 * (`contracts/wat/bulk_probe.wat`, assembled at `wasm`): wasmtime 49 charges
 * them per element, the reference per instruction.
 */
function bulkProbe(dir: string, wasm: string): ParityScenario {
  const exports = [
    "memory_init",
    "data_drop",
    "table_grow",
    "table_fill",
    "table_copy",
    "table_init",
  ];
  return {
    name: "probe/bulk",
    steps: [
      { op: "open", dir },
      { op: "session" },
      { op: "deploy", as: "probe", wasm, owner: OWNER, gas: GAS },
      ...exports.flatMap((fn) =>
        [0, 1, 16, 255].map((n): ParityStep => ({
          op: "call",
          to: "probe",
          fn,
          arg: hexOf(u8, n),
          gas: GAS,
        }))
      ),
    ],
  };
}

/**
 * Every scenario over `builds`, each with its own VM directory under `root`
 * (the same paths for both VMs would collide: run each side with its own
 * root); `probe` is the assembled `bulk_probe.wat`.
 */
export function scenarios(root: string, builds: Builds, probe: string): ParityScenario[] {
  const all: ParityScenario[] = [
    knownDifferences(`${root}/known`),
    bulkProbe(`${root}/probe`, probe),
  ];
  for (const [name, dir] of Object.entries(builds)) {
    const build = { name, dir };
    for (const contract of contractsOf(build)) {
      all.push(sweep(build, contract, `${root}/${name}-${contract}`));
    }
    all.push(...flows(build, `${root}/${name}-flows`));
  }
  return all;
}
