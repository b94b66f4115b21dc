/**
 * `deno task bench:native`: this VM beside the reference piecrust 0.32.2
 * (the native harness of `tests/parity/native`, a release build) on the same
 * contracts and workloads, interleaved round by round on the same machine,
 * and the ratio ours ÷ native per row (min / median / max over the rounds).
 *
 * ```sh
 * deno task bench:native            # 7 rounds
 * deno task bench:native 3          # 3 rounds
 * deno task bench:native 3 commit   # 3 rounds of the rows whose name contains "commit"
 * ```
 *
 * Each round runs the reference in a fresh process and ours in this one,
 * each on a fresh VM (ephemeral, or a new directory in the temporary folder
 * or on tmpfs for commits): deploy, warm up, then time calls, deploys or
 * session-call-commit cycles inside the VM (process start is not timed).
 * Our commits are durable (fsynced) unless a row says `durable: false`; the
 * reference never fsyncs. The task runs with `--allow-all` because Deno
 * grants `/dev/shm` (tmpfs) to nothing less.
 *
 * @module
 */

import { encode } from "../src/codec/mod.ts";
import { blake3 } from "../src/merkle/mod.ts";
import { ContractId, contractId, type Session, u32, VM } from "../mod.ts";
import { buildHarness, runNative } from "../tests/parity/native_harness.ts";

const BUILD = new URL("../contracts/build/wasm32/", import.meta.url);
const OWNER = "00".repeat(32);
const GAS = 1_000_000_000;

/** What a row times, after its contracts are deployed. */
type Workload =
  /**
   * `iterations` calls after `warmup` untimed ones; with `afterAppends`, in
   * a session where grower first `append`ed that many × 64 KiB.
   */
  | {
    kind: "call";
    to: string;
    fn: string;
    arg: Uint8Array;
    warmup: number;
    iterations: number;
    afterAppends?: number;
  }
  /**
   * Deploys of `wasm` under new ids, `iterations` after `warmup` untimed
   * ones; `distinct`: each bytecode unlike the others.
   */
  | { kind: "deploy"; wasm: string; distinct: boolean; warmup: number; iterations: number }
  /**
   * Sessions on the last commit (in a VM directory), each one call and a
   * commit, `iterations` after `warmup` untimed ones; the directory on tmpfs (`/dev/shm`) with `tmpfs`, our commits
   * without fsync with `durable: false` (the reference never fsyncs).
   */
  | {
    kind: "commit";
    to: string;
    fn: string;
    warmup: number;
    iterations: number;
    tmpfs: boolean;
    durable: boolean;
  }
  /** grower `append`ed `appends` × 64 KiB in one session, then that session's commit, timed. */
  | { kind: "bigCommit"; appends: number; tmpfs: boolean }
  /**
   * On a commit where grower holds `appends` × 64 KiB, sessions each with
   * one counter `read_value`, dropped; `iterations` after `warmup` untimed ones.
   */
  | { kind: "sessionStart"; appends: number; warmup: number; iterations: number }
  /** Reopening a directory of `commits` commits (counter increments), timed. */
  | { kind: "open"; commits: number };

/** A timed workload and the contracts deployed before it. */
interface Row {
  name: string;
  deploy: string[];
  workload: Workload;
}

const wasmPath = (name: string) => new URL(`${name}.wasm`, BUILD).pathname;
const idOf = (name: string) => blake3(Deno.readFileSync(wasmPath(name)));

/** The largest `append`: the whole argument buffer. */
const CHUNK = new Uint8Array(65536).fill(0x5a);
/** 496 appends of 64 KiB: 31 MiB. */
const APPENDS_31_MIB = 496;

const call = (
  to: string,
  fn: string,
  arg: Uint8Array,
  iterations: number,
): Extract<Workload, { kind: "call" }> => ({
  kind: "call",
  to,
  fn,
  arg,
  warmup: Math.ceil(iterations / 10),
  iterations,
});

const commit = (where: { tmpfs: boolean; durable: boolean }): Workload => ({
  kind: "commit",
  to: "counter",
  fn: "increment",
  warmup: 200,
  iterations: 200,
  ...where,
});

const ROWS: Row[] = [
  {
    name: "counter increment (top-level call)",
    deploy: ["counter"],
    workload: call("counter", "increment", new Uint8Array(), 3000),
  },
  {
    name: "counter read_value (query)",
    deploy: ["counter"],
    workload: call("counter", "read_value", new Uint8Array(), 3000),
  },
  {
    name: "callcenter → counter (inter-contract call)",
    deploy: ["counter", "callcenter"],
    workload: call("callcenter", "query_counter", encode(contractId, idOf("counter")), 1000),
  },
  {
    name: "grower len (query) in a session that appended 31 MiB",
    deploy: ["grower"],
    workload: { ...call("grower", "len", new Uint8Array(), 2000), afterAppends: APPENDS_31_MIB },
  },
  {
    name: "fibonacci nth(27) (compute)",
    deploy: ["fibonacci"],
    workload: call("fibonacci", "nth", encode(u32, 27), 20),
  },
  {
    name: "session on a base + 1 call + commit, ext4",
    deploy: ["counter"],
    workload: commit({ tmpfs: false, durable: true }),
  },
  {
    name: "the same on tmpfs",
    deploy: ["counter"],
    workload: commit({ tmpfs: true, durable: true }),
  },
  {
    name: "the same, ext4, ours with durable: false",
    deploy: ["counter"],
    workload: commit({ tmpfs: false, durable: false }),
  },
  {
    name: "commit of a 31 MiB written memory, tmpfs",
    deploy: ["grower"],
    workload: { kind: "bigCommit", appends: APPENDS_31_MIB, tmpfs: true },
  },
  {
    name: "session start + 1 query on a 31 MiB state",
    deploy: ["counter", "grower"],
    workload: {
      kind: "sessionStart",
      appends: APPENDS_31_MIB,
      warmup: 10,
      iterations: 50,
    },
  },
  {
    name: "opening a directory with 1000 commits",
    deploy: ["counter"],
    workload: { kind: "open", commits: 1000 },
  },
  // After one deploy, on both sides: the first deploy of a process also pays
  // for starting the engine (and, here, for warming up the JIT).
  {
    name: "deploy, new bytecode (counter)",
    deploy: ["fibonacci"],
    workload: {
      kind: "deploy",
      wasm: "counter",
      distinct: true,
      warmup: 30,
      iterations: 30,
    },
  },
  {
    name: "deploy, same bytecode again (callcenter)",
    deploy: ["fibonacci"],
    workload: {
      kind: "deploy",
      wasm: "callcenter",
      distinct: false,
      warmup: 2,
      iterations: 10,
    },
  },
];

/** `wasm` with a custom section holding `i`, as the native harness makes it for `distinct` deploys. */
function distinctBytecode(wasm: Uint8Array, i: number): Uint8Array {
  const bytes = new Uint8Array(wasm.length + 12);
  bytes.set(wasm);
  bytes.set([0, 10, 1, 0x70], wasm.length);
  new DataView(bytes.buffer).setBigUint64(wasm.length + 4, BigInt(i), true);
  return bytes;
}

/** Whether `workload` runs in a VM directory (else an ephemeral VM). */
const inDirectory = (workload: Workload) => workload.kind !== "call" && workload.kind !== "deploy";

/** The native harness's steps after the deploys: setup, then one step printing `time N`. */
function nativeSteps(workload: Workload, dir: string): object[] {
  const gas = GAS;
  // Setup calls, timed too: `native` reads the last time printed.
  const appends = (count: number) => ({
    op: "time",
    to: "grower",
    fn: "append",
    arg: CHUNK.toHex(),
    gas,
    iterations: count,
  });
  switch (workload.kind) {
    case "call":
      return [
        ...(workload.afterAppends === undefined ? [] : [appends(workload.afterAppends)]),
        { op: "time", ...workload, arg: workload.arg.toHex(), gas },
      ];
    case "deploy":
      return [{ op: "time_deploy", ...workload, wasm: wasmPath(workload.wasm), gas }];
    case "commit":
      return [{ op: "commit" }, { op: "time_commit", ...workload, gas }];
    case "bigCommit":
      return [
        { op: "commit" },
        { op: "session", base: "last" },
        appends(workload.appends),
        { op: "time_commit_once" },
      ];
    case "sessionStart":
      return [appends(workload.appends), { op: "commit" }, {
        op: "time_session",
        to: "counter",
        fn: "read_value",
        gas,
        warmup: workload.warmup,
        iterations: workload.iterations,
      }];
    case "open":
      return [
        { op: "commit" },
        { op: "time_commit", to: "counter", fn: "increment", gas, iterations: workload.commits },
        { op: "time_open", dir },
      ];
  }
}

/** Nanoseconds per iteration of `row` on the reference, in a fresh process. */
async function native(harness: string, row: Row, dir: string): Promise<number> {
  const { workload } = row;
  const steps = [
    inDirectory(workload) ? { op: "open", dir } : { op: "ephemeral" },
    { op: "session" },
    ...row.deploy.map((name) => ({
      op: "deploy",
      as: name,
      wasm: wasmPath(name),
      owner: OWNER,
      gas: GAS,
    })),
    ...nativeSteps(workload, dir),
  ];
  const lines = await runNative(
    harness,
    steps.map((step) => JSON.stringify(step)).join("\n") + "\n",
  );
  // The last: setup steps may time too.
  const line = lines.findLast((line) => line.startsWith("time "));
  if (line === undefined) {
    throw new Error(`the native harness did not time ${row.name}: ${lines.join("\n")}`);
  }
  return Number(line.slice(5));
}

/** Nanoseconds per run of `body`, run `iterations` times after `warmup` untimed runs. */
function timed(iterations: number, body: (i: number) => void, warmup = 0): number {
  for (let i = 0; i < warmup; i++) body(i);
  const started = performance.now();
  for (let i = warmup; i < warmup + iterations; i++) body(i);
  return ((performance.now() - started) * 1e6) / iterations;
}

/** Nanoseconds per iteration of `row` on this VM. */
function ours(row: Row, dir: string): number {
  const { workload } = row;
  const gas = BigInt(GAS);
  // Setup commits need no fsync; what is timed is durable unless the row says otherwise.
  const durable = workload.kind === "commit" ? workload.durable : true;
  using vm = inDirectory(workload)
    ? VM.open(dir, { durable: workload.kind === "open" ? false : durable })
    : VM.ephemeral();
  const ids = new Map<string, ContractId>();
  const deploys = (session: Session) => {
    for (const name of row.deploy) {
      ids.set(name, session.deploy(Deno.readFileSync(wasmPath(name)), new Uint8Array(32), gas));
    }
  };
  const appends = (session: Session, count: number) => {
    for (let i = 0; i < count; i++) session.callRaw(ids.get("grower")!, "append", CHUNK, gas);
  };
  let base: Uint8Array;
  {
    using session = vm.session({ debug: true });
    deploys(session);
    switch (workload.kind) {
      case "deploy": {
        const wasm = Deno.readFileSync(wasmPath(workload.wasm));
        return timed(workload.iterations, (i) => {
          const id = new Uint8Array(32).fill(0xd0);
          new DataView(id.buffer).setBigUint64(0, BigInt(i), true);
          const bytecode = workload.distinct ? distinctBytecode(wasm, i) : wasm;
          session.deploy(bytecode, new Uint8Array(32), gas, { contractId: new ContractId(id) });
        }, workload.warmup);
      }
      case "call": {
        const target = ids.get(workload.to)!;
        const { fn, arg } = workload;
        appends(session, workload.afterAppends ?? 0);
        for (let i = 0; i < workload.warmup; i++) session.callRaw(target, fn, arg, gas);
        return timed(workload.iterations, () => session.callRaw(target, fn, arg, gas));
      }
      case "sessionStart":
        appends(session, workload.appends);
        break;
    }
    base = session.commit();
  }
  switch (workload.kind) {
    case "commit": {
      const target = ids.get(workload.to)!;
      return timed(workload.iterations, () => {
        using session = vm.session({ base });
        session.callRaw(target, workload.fn, new Uint8Array(), gas);
        base = session.commit();
      }, workload.warmup);
    }
    case "bigCommit": {
      using session = vm.session({ base });
      appends(session, workload.appends);
      return timed(1, () => session.commit());
    }
    case "sessionStart": {
      const counter = ids.get("counter")!;
      return timed(workload.iterations, () => {
        using session = vm.session({ base });
        session.callRaw(counter, "read_value", new Uint8Array(), gas);
      }, workload.warmup);
    }
    case "open": {
      const counter = ids.get("counter")!;
      for (let i = 0; i < workload.commits; i++) {
        using session = vm.session({ base });
        session.callRaw(counter, "increment", new Uint8Array(), gas);
        base = session.commit();
      }
      vm.close();
      return timed(1, () => VM.open(dir).close());
    }
  }
}

function summary(values: number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1)! };
}

/** Two decimals; two significant digits below 0.1, where two decimals would read 0.00. */
function ratio(value: number): string {
  return value >= 0.1 ? value.toFixed(2) : value.toPrecision(2);
}

function micros(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(1)} µs`;
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 7);
  if (!Number.isSafeInteger(rounds) || rounds < 1) {
    console.error(`bench:native: ROUNDS must be a positive integer, got ${Deno.args[0]}`);
    Deno.exit(2);
  }
  const only = Deno.args[1];
  const rows = ROWS.filter((row) => only === undefined || row.name.includes(only));
  if (rows.length === 0) {
    console.error(
      `bench:native: no row's name contains "${only}"; rows:\n${
        ROWS.map((row) => `  ${row.name}`).join("\n")
      }`,
    );
    Deno.exit(2);
  }
  const harness = await buildHarness();
  console.log(`| workload | native (median) | ours (median) | ours ÷ native: min / median / max |`);
  console.log(`| --- | --- | --- | --- |`);
  for (const row of rows) {
    const nativeTimes: number[] = [];
    const ourTimes: number[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const tmpfs = (row.workload.kind === "commit" || row.workload.kind === "bigCommit") &&
        row.workload.tmpfs;
      const dirs = [0, 1].map(() =>
        Deno.makeTempDirSync({
          prefix: "piecrust-bench-native-",
          dir: tmpfs ? "/dev/shm" : undefined,
        })
      );
      let n: number;
      let o: number;
      try {
        n = await native(harness, row, dirs[0]);
        o = ours(row, dirs[1]);
      } finally {
        for (const dir of dirs) Deno.removeSync(dir, { recursive: true });
      }
      nativeTimes.push(n);
      ourTimes.push(o);
      ratios.push(o / n);
    }
    const r = summary(ratios);
    console.log(
      `| ${row.name} | ${micros(summary(nativeTimes).median)} | ${
        micros(summary(ourTimes).median)
      } | ` +
        `${ratio(r.min)} / ${ratio(r.median)} / ${ratio(r.max)} |`,
    );
  }
}
