/**
 * VMs inside Workers: each Worker loads libwasmtime and makes its own
 * engines and FFI callbacks (`bench/_parallel_worker.ts` is the Worker).
 */

import assert from "node:assert/strict";
import { contractBytecode, contractFunction, u32, u64, VM } from "../mod.ts";
import type { WorkerReply, WorkerRequest } from "../bench/_parallel_worker.ts";
import { assertNoLiveHandles } from "./_helpers.ts";

const WORKER_URL = new URL("../bench/_parallel_worker.ts", import.meta.url);
const FIB_27 = "317811";

/** A Worker whose replies are read in order. */
interface VMWorker {
  worker: Worker;
  send(request: WorkerRequest): Promise<WorkerReply>;
  ready: Promise<WorkerReply>;
}

function startWorker(): VMWorker {
  const worker = new Worker(WORKER_URL, { type: "module" });
  const waiting: ((reply: WorkerReply) => void)[] = [];
  const next = (): Promise<WorkerReply> => new Promise((resolve) => waiting.push(resolve));
  worker.onmessage = (event: MessageEvent<WorkerReply>): void => {
    waiting.shift()?.(event.data);
  };
  worker.onerror = (event: ErrorEvent): void => {
    event.preventDefault();
    waiting.shift()?.({ op: "error", message: event.message });
  };
  const ready = next();
  return {
    worker,
    ready,
    send(request: WorkerRequest): Promise<WorkerReply> {
      const reply = next();
      worker.postMessage(request);
      return reply;
    },
  };
}

async function readyDirectory(vmWorker: VMWorker): Promise<string> {
  const ready = await vmWorker.ready;
  assert.equal(ready.op, "ready", JSON.stringify(ready));
  return (ready as Extract<WorkerReply, { op: "ready" }>).directory;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("VM.ephemeral runs contracts in two Workers at once and closes cleanly", async () => {
  const workers = [startWorker(), startWorker()];
  try {
    const directories = await Promise.all(workers.map(readyDirectory));
    const runs = await Promise.all(
      workers.map((w) => w.send({ op: "run", calls: 20, n: 27 })),
    );
    for (const run of runs) {
      assert.equal(run.op, "done", JSON.stringify(run));
      assert.equal(run.result, FIB_27);
    }
    const closed = await Promise.all(workers.map((w) => w.send({ op: "close" })));
    for (const reply of closed) assert.deepEqual(reply, { op: "closed", liveHandles: {} });
    for (const directory of directories) assert.equal(exists(directory), false, directory);
  } finally {
    for (const { worker } of workers) worker.terminate();
  }
});

Deno.test("Worker.terminate with an open VM leaves the process's own VMs working", async () => {
  const vmWorker = startWorker();
  let directory: string | undefined;
  try {
    directory = await readyDirectory(vmWorker);
    const run = await vmWorker.send({ op: "run", calls: 1, n: 27 });
    assert.equal(run.op, "done", JSON.stringify(run));
    assert.equal(run.result, FIB_27);
  } finally {
    // The Worker still holds its engine, store callbacks, module and memory
    // mappings; terminating it runs no cleanup.
    vmWorker.worker.terminate();
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  {
    using vm = VM.ephemeral();
    using session = vm.session();
    const id = session.deploy(
      contractBytecode("fibonacci"),
      { owner: new Uint8Array(32) },
      10n ** 9n,
    );
    const nth = contractFunction("nth", u32, u64);
    assert.equal(String(session.call(id, nth, 27, 10n ** 9n).data), FIB_27);
  }
  assertNoLiveHandles();
  // The terminated Worker's ephemeral folder is left behind.
  assert.equal(exists(directory), true);
  Deno.removeSync(directory, { recursive: true });
});
