/**
 * Throughput of compute-bound contract calls across Workers, in the same run:
 * fibonacci `nth(27)` through `Session.call` (fuel on), 2N calls per
 * iteration, made
 *
 * - by 1 Worker (the baseline),
 * - by 2 Workers at once, N calls each (goal: at least 1.6× the baseline's
 *   throughput on 2 cores),
 * - on the main thread, without a Worker (what the messages cost).
 *
 * A control group splits the same `nth(27)` calls under Deno's built-in
 * WebAssembly (no wasmtime, no fuel, no session) the same way: it shows how
 * well the machine ran this code on two threads during the run.
 *
 * On the shared 2-vCPU development VM the host intermittently slows one vCPU
 * or the other for seconds at a time, without it showing as steal time: the
 * same `nth(27)` then takes about 1.8 ms instead of 1.0 ms with fuel (0.7 →
 * 1.0 ms under V8). A 2-Worker iteration lasts as long as its slower Worker,
 * so the ratio swings between about 1.1 and 1.9 from run to run; the time
 * per call inside each Worker, printed in the summary, shows when that
 * happened.
 *
 * The main thread's VM deploys fibonacci and commits; each Worker
 * (`_parallel_worker.ts`) connects a VM to it (`vm.share()` /
 * `VM.connect()`), with its own libwasmtime handle, engines and FFI callbacks
 * (one callback set per isolate: a callback of another isolate is marshalled
 * to that isolate's event loop, which blocks or deadlocks the Worker), and runs
 * a session on that commit. The Workers are started once,
 * before the benchmarks, and their start-up times are printed: with
 * `--no-check`, as `deno task bench` runs, they start as under `deno run`
 * (which does not type-check), the module running ≈0.1 s after
 * `new Worker`; without it, `deno bench` first type-checks the Worker's
 * modules, seconds when its check cache is stale. After the
 * run, an `unload` handler prints throughputs and ratios from the median
 * iterations, the time per call measured inside each Worker (alone and side
 * by side), and how much CPU other processes used meanwhile; then it closes
 * every VM and terminates the Workers. Workers inherit the bench's
 * permissions, so `deno task bench` needs no extra flag.
 *
 * Run: `deno task bench` (or `deno bench --no-check --allow-ffi --allow-read
 * --allow-write --allow-env bench/parallel_bench.ts`); `deno task check` type-checks it.
 */

import { contractFunction, u32, u64, VM, type VMHandle } from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";
import { libc } from "../src/native/library.ts";
import type { WorkerReply, WorkerRequest } from "./_parallel_worker.ts";

const FIB_N = 27;
/** Calls per Worker per iteration in the 2-Worker case; the others make 2N. */
const N = 16;
const GAS = 1_000_000_000n;
const ITERATIONS = { warmup: 2, n: 25 };
/** How long `unload` waits for a Worker to close its VM before terminating it. */
const CLOSE_TIMEOUT_MS = 10_000;

const GROUP = `fibonacci nth(${FIB_N}), ${2 * N} calls`;
const ONE = `1 Worker × ${2 * N} calls`;
const TWO = `2 Workers × ${N} calls, at once`;
const MAIN = `main thread × ${2 * N} calls, no Worker`;
const GROUP_CONTROL = `control: the same nth(${FIB_N}) in Deno's WebAssembly, ${2 * N} calls`;
const ONE_CONTROL = `V8: 1 Worker × ${2 * N} calls`;
const TWO_CONTROL = `V8: 2 Workers × ${N} calls, at once`;

/** A Worker running `_parallel_worker.ts`, with one request in flight at a time. */
class VMWorker {
  readonly worker: Worker;
  readonly ready: Promise<Extract<WorkerReply, { op: "ready" }>>;
  #pending: ((reply: WorkerReply) => void) | undefined;

  constructor(handle: VMHandle, base: string, fibonacci: string) {
    this.worker = new Worker(new URL("./_parallel_worker.ts", import.meta.url), {
      type: "module",
    });
    const connect: WorkerRequest = { op: "connect", handle, base, fibonacci };
    this.worker.postMessage(connect, [handle.port]);
    this.ready = new Promise((resolve, reject) => {
      this.#pending = (reply): void => {
        if (reply.op === "ready") resolve(reply);
        else reject(new Error(`Worker start-up failed: ${JSON.stringify(reply)}`));
      };
    });
    this.worker.onmessage = (event: MessageEvent<WorkerReply>): void => {
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.(event.data);
    };
    this.worker.onerror = (event: ErrorEvent): void => {
      event.preventDefault();
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.({ op: "error", message: event.message });
    };
  }

  /** Runs `calls` calls of `nth(FIB_N)`; returns the time per call inside the Worker, ms. */
  async time(op: "run" | "runV8", calls: number): Promise<number> {
    const request: WorkerRequest = { op, calls, n: FIB_N };
    if (this.#pending !== undefined) throw new Error("a request is already in flight");
    const reply = await new Promise<WorkerReply>((resolve) => {
      this.#pending = resolve;
      this.worker.postMessage(request);
    });
    if (reply.op !== "done") throw new Error(`Worker ${op}: ${JSON.stringify(reply)}`);
    if (BigInt(reply.result) !== expected) {
      throw new Error(`Worker ${op}: nth(${FIB_N}) = ${reply.result}, expected ${expected}`);
    }
    return reply.ms / calls;
  }

  /**
   * Closes the Worker's VM and terminates it, blocking this thread until the
   * Worker says it is done (an `unload` handler cannot await). Returns what
   * the Worker signalled: 1 closed cleanly, 2 leaked or failed, 0 timed out.
   */
  closeSync(): number {
    const signal = new Int32Array(new SharedArrayBuffer(4));
    this.worker.postMessage({ op: "close", signal } satisfies WorkerRequest);
    Atomics.wait(signal, 0, 0, CLOSE_TIMEOUT_MS);
    this.worker.terminate();
    return Atomics.load(signal, 0);
  }
}

// --- the main thread's own VM: the expected result and the no-Worker entry -------------
const vm = VM.ephemeral();
const session = vm.session();
const fibonacci = session.deploy(contractBytecode("fibonacci"), new Uint8Array(32), GAS);
const nth = contractFunction("nth", u32, u64);
const expected = session.call(fibonacci, nth, FIB_N, GAS).data;
const base = Array.from(session.commit(), (byte) => byte.toString(16).padStart(2, "0")).join("");

// --- the Workers, started once ---------------------------------------------------------
const startedAt = performance.now();
const workers = [0, 1].map(() => new VMWorker(vm.share(), base, fibonacci.toString()));
const startups = await Promise.all(
  workers.map(async (worker) => ({
    ...await worker.ready,
    totalMs: performance.now() - startedAt,
  })),
);
console.log("Worker start-up (both started at once):");
for (const [i, s] of startups.entries()) {
  console.log(
    `  Worker ${i + 1}: ready after ${s.totalMs.toFixed(0)} ms — module running after ` +
      `${s.bootMs.toFixed(0)} ms, VM.connect() + session ${s.vmMs.toFixed(0)} ms, ` +
      `first call (loads the contract) ${s.firstCallMs.toFixed(1)} ms`,
  );
}

// --- CPU accounting ----------------------------------------------------------------------
/** Reads a `/proc` file through libc (Deno's file API asks `--allow-all` for `/proc`). */
function procReader(path: string): { read(): string; close(): void } {
  const fd = libc().open(new TextEncoder().encode(`${path}\0`), 0, 0);
  if (fd < 0) throw new Error(`cannot open ${path}`);
  const buffer = new Uint8Array(new ArrayBuffer(4096));
  const pointer = Deno.UnsafePointer.of(buffer);
  return {
    read(): string {
      const length = Number(libc().pread(fd, pointer, BigInt(buffer.length), 0n));
      return new TextDecoder().decode(buffer.subarray(0, Math.max(length, 0)));
    },
    close(): void {
      libc().close(fd);
    },
  };
}
const procStat = procReader("/proc/stat");
const procSelfStat = procReader("/proc/self/stat");

/**
 * CPU time in clock ticks (1/100 s): the machine's busy and stolen time
 * (`/proc/stat`) and this process's own (`/proc/self/stat`, all threads).
 * Busy time that is not ours is other processes competing for the 2 cores.
 */
function cpuTicks(): { busy: number; steal: number; own: number } {
  const cpu = procStat.read().split("\n", 1)[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = cpu.slice(1).map(Number);
  const stat = procSelfStat.read();
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    busy: user + nice + system + irq + softirq,
    steal,
    own: Number(fields[11]) + Number(fields[12]),
  };
}

// --- samples for the summary -------------------------------------------------------------
interface Samples {
  /** Wall time per iteration, ms (warm-up included). */
  wall: number[];
  /** Time per call measured inside each Worker, ms, by Worker. */
  inside: number[][];
  /** Totals over all iterations: wall ms, and ticks of other processes and of steal. */
  ms: number;
  others: number;
  steal: number;
}

const samples = new Map<string, Samples>();

/**
 * Registers a bench whose body returns the time per call measured inside
 * each Worker it used, and records those, its wall time and the CPU used
 * around it.
 */
function bench(
  group: string,
  name: string,
  baseline: boolean,
  body: () => number[] | Promise<number[]>,
): void {
  const entry: Samples = { wall: [], inside: [[], []], ms: 0, others: 0, steal: 0 };
  samples.set(name, entry);
  Deno.bench({
    name,
    group,
    baseline,
    ...ITERATIONS,
    async fn(): Promise<void> {
      const before = cpuTicks();
      const start = performance.now();
      const inside = await body();
      const ms = performance.now() - start;
      const after = cpuTicks();
      entry.wall.push(ms);
      for (const [i, perCall] of inside.entries()) entry.inside[i].push(perCall);
      entry.ms += ms;
      entry.others += (after.busy - before.busy) - (after.own - before.own);
      entry.steal += after.steal - before.steal;
    },
  });
}

function median(values: readonly number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

// --- the benchmarks ----------------------------------------------------------------------
bench(GROUP, ONE, true, async () => [await workers[0].time("run", 2 * N)]);
bench(GROUP, TWO, false, () => Promise.all(workers.map((worker) => worker.time("run", N))));
bench(GROUP, MAIN, false, () => {
  for (let i = 0; i < 2 * N; i++) session.call(fibonacci, nth, FIB_N, GAS);
  return [];
});
bench(GROUP_CONTROL, ONE_CONTROL, true, async () => [await workers[0].time("runV8", 2 * N)]);
bench(
  GROUP_CONTROL,
  TWO_CONTROL,
  false,
  () => Promise.all(workers.map((worker) => worker.time("runV8", N))),
);

// --- summary and teardown ----------------------------------------------------------------
globalThis.addEventListener("unload", () => {
  const line = (label: string, name: string): void => {
    const entry = samples.get(name)!;
    const ms = median(entry.wall);
    // Ticks are 10 ms, so CPUs used on average = ticks × 10 / wall ms.
    const others = Math.max(0, entry.others * 10 / entry.ms).toFixed(2);
    const steal = (entry.steal * 10 / entry.ms).toFixed(2);
    console.log(
      `  ${label.padEnd(12)} ${ms.toFixed(1)} ms, ${(2 * N / (ms / 1000)).toFixed(0)} calls/s; ` +
        `meanwhile other processes used ${others} CPUs, steal ${steal}`,
    );
  };
  const summary = (group: string, one: string, two: string, goal: string): void => {
    const ratio = median(samples.get(one)!.wall) / median(samples.get(two)!.wall);
    const [alone] = samples.get(one)!.inside;
    const [first, second] = samples.get(two)!.inside;
    console.log(`\n${group} (median iteration):`);
    line("1 Worker", one);
    line("2 Workers", two);
    if (group === GROUP) line("main thread", MAIN);
    console.log(`  2 Workers / 1 Worker throughput = ${ratio.toFixed(2)}x ${goal}`);
    console.log(
      `  ms per call inside the Workers: Worker 1 alone ${median(alone).toFixed(3)}; ` +
        `both running: Worker 1 ${median(first).toFixed(3)}, Worker 2 ${median(second).toFixed(3)}`,
    );
  };
  summary(GROUP, ONE, TWO, "(goal: at least 1.6x)");
  summary(
    GROUP_CONTROL,
    ONE_CONTROL,
    TWO_CONTROL,
    "(what the machine gave this code on two threads)",
  );

  const closed = workers.map((worker) => worker.closeSync());
  session.close();
  vm.close();
  procStat.close();
  procSelfStat.close();
  if (closed.some((status) => status !== 1)) {
    console.log(`  warning: Worker close status ${closed} (1 = clean, 2 = leak, 0 = timeout)`);
  }
});
