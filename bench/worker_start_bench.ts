/**
 * `deno task bench:worker`: how long a Worker takes from `new Worker` to its
 * first contract call, run the way users run it (`deno run`, a Worker module
 * that imports the VM statically), beside an empty Worker spawned in the same
 * rounds (the thread's own start, which no library can avoid).
 *
 * ```sh
 * deno task bench:worker        # 7 rounds
 * deno task bench:worker 15     # 15 rounds
 * ```
 *
 * Each round spawns one empty Worker, then one VM Worker that connects to
 * this process's VM and calls counter `read_value` on its commit. Parts, per
 * round: thread start (the empty Worker's answer), module load (its imports,
 * beyond the thread start), library (libwasmtime opened; this process has
 * verified it already), connect (`VM.connect`), first call (a session, the
 * contract's first load, the call).
 *
 * @module
 */

import { VM } from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";
import type { WorkerStartReply, WorkerStartRequest } from "./_worker_start_worker.ts";

const now = () => performance.timeOrigin + performance.now();

/** Spawns `url`, sends `message`, resolves with the first reply and the spawn time. */
async function spawn<T>(
  url: URL,
  message: unknown,
  transfer: Transferable[] = [],
): Promise<{ spawned: number; reply: T }> {
  const spawned = now();
  const worker = new Worker(url, { type: "module" });
  try {
    const reply = await new Promise<T>((resolve, reject) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(`the Worker failed: ${event.message}`));
      };
      worker.postMessage(message, transfer);
    });
    return { spawned, reply };
  } finally {
    worker.terminate();
  }
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return `${sorted[0].toFixed(1)} / ${median.toFixed(1)} / ${sorted.at(-1)!.toFixed(1)}`;
}

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 7);
  if (!Number.isSafeInteger(rounds) || rounds < 1) {
    console.error(`bench:worker: ROUNDS must be a positive integer, got ${Deno.args[0]}`);
    Deno.exit(2);
  }
  using vm = VM.ephemeral();
  let base: Uint8Array;
  let counter: Uint8Array;
  {
    using session = vm.session();
    counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n)
      .toBytes();
    base = session.commit();
  }
  const parts: Record<string, number[]> = {
    "thread start (empty Worker)": [],
    "module load": [],
    "library": [],
    "connect": [],
    "first call": [],
    "total: spawn to first call": [],
  };
  for (let round = 0; round < rounds; round++) {
    const empty = await spawn<number>(new URL("./_empty_worker.ts", import.meta.url), null);
    const threadStart = empty.reply - empty.spawned;
    const handle = vm.share();
    const { spawned, reply } = await spawn<WorkerStartReply>(
      new URL("./_worker_start_worker.ts", import.meta.url),
      { handle, counter, base } satisfies WorkerStartRequest,
      [handle.port],
    );
    parts["thread start (empty Worker)"].push(threadStart);
    parts["module load"].push(reply.evaluated - spawned - threadStart);
    parts["library"].push(reply.library - reply.evaluated);
    parts["connect"].push(reply.connected - reply.library);
    parts["first call"].push(reply.firstCall - reply.connected);
    parts["total: spawn to first call"].push(reply.firstCall - spawned);
  }
  console.log(`| part (${rounds} rounds) | ms: min / median / max |`);
  console.log(`| --- | --- |`);
  for (const [name, values] of Object.entries(parts)) {
    console.log(`| ${name} | ${summary(values)} |`);
  }
}
