/**
 * `deno task bench:native`: this VM beside the reference piecrust 0.32.2
 * (the native harness of `tests/parity/native`, a release build) on the same
 * contracts and workloads, interleaved round by round on the same machine,
 * and the ratio ours ÷ native per row (min / median / max over the rounds).
 *
 * ```sh
 * deno task bench:native            # 7 rounds
 * deno task bench:native 3          # 3 rounds
 * ```
 *
 * Each round runs the reference in a fresh process and ours in this one,
 * each on a fresh ephemeral VM: deploy, warm up, then time a number of
 * calls inside the VM (process start and deploys are not timed).
 *
 * @module
 */

import { encode } from "../src/codec/mod.ts";
import { blake3 } from "../src/merkle/mod.ts";
import { type ContractId, contractId, u32, VM } from "../mod.ts";
import { buildHarness, runNative } from "../tests/parity/native_harness.ts";

const BUILD = new URL("../contracts/build/wasm32/", import.meta.url);
const OWNER = "00".repeat(32);
const GAS = 1_000_000_000;

/** A timed workload: the contracts to deploy, then the call to time. */
interface Row {
  name: string;
  deploy: string[];
  to: string;
  fn: string;
  arg: Uint8Array;
  warmup: number;
  iterations: number;
}

const wasmPath = (name: string) => new URL(`${name}.wasm`, BUILD).pathname;
const idOf = (name: string) => blake3(Deno.readFileSync(wasmPath(name)));

const ROWS: Row[] = [
  {
    name: "counter increment (top-level call)",
    deploy: ["counter"],
    to: "counter",
    fn: "increment",
    arg: new Uint8Array(),
    warmup: 300,
    iterations: 3000,
  },
  {
    name: "counter read_value (query)",
    deploy: ["counter"],
    to: "counter",
    fn: "read_value",
    arg: new Uint8Array(),
    warmup: 300,
    iterations: 3000,
  },
  {
    name: "callcenter → counter (inter-contract call)",
    deploy: ["counter", "callcenter"],
    to: "callcenter",
    fn: "query_counter",
    arg: encode(contractId, idOf("counter")),
    warmup: 100,
    iterations: 1000,
  },
  {
    name: "fibonacci nth(27) (compute)",
    deploy: ["fibonacci"],
    to: "fibonacci",
    fn: "nth",
    arg: encode(u32, 27),
    warmup: 3,
    iterations: 20,
  },
];

/** Nanoseconds per call of `row` on the reference, in a fresh process. */
async function native(harness: string, row: Row): Promise<number> {
  const steps = [
    { op: "ephemeral" },
    { op: "session" },
    ...row.deploy.map((name) => ({
      op: "deploy",
      as: name,
      wasm: wasmPath(name),
      owner: OWNER,
      gas: GAS,
    })),
    {
      op: "time",
      to: row.to,
      fn: row.fn,
      arg: row.arg.toHex(),
      gas: GAS,
      warmup: row.warmup,
      iterations: row.iterations,
    },
  ];
  const lines = await runNative(
    harness,
    steps.map((step) => JSON.stringify(step)).join("\n") + "\n",
  );
  const timed = lines.find((line) => line.startsWith("time "));
  if (timed === undefined) {
    throw new Error(`the native harness did not time ${row.name}: ${lines.join("\n")}`);
  }
  return Number(timed.slice(5));
}

/** Nanoseconds per call of `row` on this VM. */
function ours(row: Row): number {
  using vm = VM.ephemeral();
  using session = vm.session({ debug: true });
  const ids = new Map<string, ContractId>();
  for (const name of row.deploy) {
    ids.set(
      name,
      session.deploy(Deno.readFileSync(wasmPath(name)), new Uint8Array(32), BigInt(GAS)),
    );
  }
  const target = ids.get(row.to)!;
  for (let i = 0; i < row.warmup; i++) session.callRaw(target, row.fn, row.arg, BigInt(GAS));
  const started = performance.now();
  for (let i = 0; i < row.iterations; i++) session.callRaw(target, row.fn, row.arg, BigInt(GAS));
  return ((performance.now() - started) * 1e6) / row.iterations;
}

function summary(values: number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1)! };
}

function micros(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(1)} µs`;
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 7);
  const harness = await buildHarness();
  console.log(`| workload | native (median) | ours (median) | ours ÷ native: min / median / max |`);
  console.log(`| --- | --- | --- | --- |`);
  for (const row of ROWS) {
    const nativeTimes: number[] = [];
    const ourTimes: number[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const n = await native(harness, row);
      const o = ours(row);
      nativeTimes.push(n);
      ourTimes.push(o);
      ratios.push(o / n);
    }
    const r = summary(ratios);
    console.log(
      `| ${row.name} | ${micros(summary(nativeTimes).median)} | ${
        micros(summary(ourTimes).median)
      } | ` +
        `${r.min.toFixed(2)} / ${r.median.toFixed(2)} / ${r.max.toFixed(2)} |`,
    );
  }
}
