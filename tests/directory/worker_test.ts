/**
 * Workers that end without closing their VM (terminated, crashed, closed
 * from inside) while their sessions hold commits: the owner releases their
 * holds within its liveness check, and what waited for them runs. A
 * deletion that Workers still block when the owner closes is carried out
 * by the next open.
 */

import assert from "node:assert/strict";
import { VM } from "../../mod.ts";
import { WORKER_CHECK_MS } from "../../src/directory/owner.ts";
import type { SessionWorkerReply, SessionWorkerRequest } from "../fixtures/session_worker.ts";
import { commitCounter, counterAt, withDirectoryAsync } from "../_helpers.ts";

/** A Worker of the session fixture, whose uncaught errors end it and no more. */
function startWorker(): Worker {
  const worker = new Worker(new URL("../fixtures/session_worker.ts", import.meta.url), {
    type: "module",
  });
  worker.onerror = (event: ErrorEvent): void => event.preventDefault();
  return worker;
}

function ask(
  worker: Worker,
  request: SessionWorkerRequest,
  transfer: Transferable[] = [],
): Promise<SessionWorkerReply> {
  return new Promise<SessionWorkerReply>((resolve) => {
    worker.onmessage = (event: MessageEvent<SessionWorkerReply>) => resolve(event.data);
    worker.postMessage(request, transfer);
  });
}

/** Starts a Worker connected to `vm` with a session open on `base`. */
async function workerHolding(vm: VM, base: Uint8Array): Promise<Worker> {
  const worker = startWorker();
  const handle = vm.share();
  assert.deepEqual(await ask(worker, { op: "connect", handle }, [handle.port]), { op: "ok" });
  assert.deepEqual(await ask(worker, { op: "hold", base: base.toHex() }), { op: "ok" });
  return worker;
}

function folders(dir: string, kind: "commits" | "retired" | "intents"): string[] {
  return [...Deno.readDirSync(`${dir}/${kind}`)].map((entry) => entry.name).sort();
}

/** A generous bound for the tests: the check interval plus a slow, shared machine's delays. */
const BOUND_MS = WORKER_CHECK_MS + 2000;

for (
  const [how, end] of [
    ["Worker.terminate", (worker: Worker) => worker.terminate()],
    ["an uncaught exception in the Worker", (worker: Worker) => ask(worker, { op: "crash" })],
    ["self.close in the Worker", (worker: Worker) => ask(worker, { op: "quit" })],
  ] as const
) {
  Deno.test(
    `VM.deleteCommit waiting for a Worker's session completes once ${how} ends it`,
    withDirectoryAsync(async (dir) => {
      using vm = VM.open(dir);
      const base = commitCounter(vm, undefined, 0);
      const worker = await workerHolding(vm, base);
      const next = commitCounter(vm, base, 1);
      let deleted = false;
      const deletion = vm.deleteCommit(base).then(() => (deleted = true));
      await new Promise((resolve) => setTimeout(resolve, 2 * WORKER_CHECK_MS));
      assert.equal(deleted, false, "the deletion waits while the Worker lives");
      assert.deepEqual(vm.commits(), [next], "a commit being deleted is no longer listed");
      const start = performance.now();
      try {
        await end(worker);
      } finally {
        worker.terminate();
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not deleted within ${BOUND_MS} ms`)), BOUND_MS);
      });
      try {
        await Promise.race([deletion, bound]);
      } finally {
        clearTimeout(timer);
      }
      const elapsed = performance.now() - start;
      console.log(`${how}: deleted ${elapsed.toFixed(0)} ms after the Worker was ended`);
      assert.deepEqual(folders(dir, "retired"), [base.toHex()], "kept for the commit built on it");
      assert.deepEqual(folders(dir, "intents"), []);
      // The owner keeps working, and can share again.
      assert.equal(counterAt(vm, commitCounter(vm, next, 1)), 0xfen);
      vm.share().port.close();
    }),
  );
}

Deno.test(
  "VM.deleteCommit still waiting for a live Worker when the owner closes is done by the next VM.open",
  withDirectoryAsync(async (dir) => {
    let worker: Worker | undefined;
    let base: Uint8Array;
    try {
      using vm = VM.open(dir);
      base = commitCounter(vm, undefined, 1);
      worker = await workerHolding(vm, base);
      const deletion = vm.deleteCommit(base);
      assert.deepEqual(folders(dir, "intents"), [`${base.toHex()}.delete`]);
      vm.close();
      await assert.rejects(deletion, (error: Error & { kind?: string }) => {
        assert.equal(error.kind, "Disposed");
        assert.match(error.message, /next VM.open .* will delete it/);
        return true;
      });
      assert.deepEqual(folders(dir, "commits"), [base.toHex()], "the Worker still reads it");
    } finally {
      worker?.terminate();
    }
    using vm = VM.open(dir);
    assert.deepEqual(vm.commits(), [], "a deleted commit never comes back");
    assert.deepEqual(folders(dir, "commits"), []);
    assert.deepEqual(folders(dir, "retired"), []);
    assert.deepEqual(folders(dir, "intents"), []);
  }),
);

Deno.test(
  "VM.deleteCommit in a Worker withdraws the commit at once and completes when it is free",
  withDirectoryAsync(async (dir) => {
    using vm = VM.open(dir);
    const base = commitCounter(vm, undefined, 1);
    const session = vm.session({ base });
    const worker = startWorker();
    try {
      const handle = vm.share();
      assert.deepEqual(await ask(worker, { op: "connect", handle }, [handle.port]), { op: "ok" });
      const deletion = ask(worker, { op: "delete", root: base.toHex() });
      // The Worker waits for the owner to record the intent; the owner answers from its event loop.
      while (vm.commits().length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.deepEqual(folders(dir, "intents"), [`${base.toHex()}.delete`]);
      assert.deepEqual(folders(dir, "commits"), [base.toHex()], "held by the owner's session");
      session.close();
      assert.deepEqual(await deletion, { op: "ok" });
      assert.deepEqual(folders(dir, "commits"), []);
      assert.deepEqual(folders(dir, "intents"), []);
      const unknown = await ask(worker, { op: "delete", root: "00".repeat(32) });
      assert.equal(unknown.op, "error");
      assert.match((unknown as { message: string }).message, /^CommitNotFound: no commit/);
      assert.deepEqual((await ask(worker, { op: "close" })).op, "closed");
    } finally {
      worker.terminate();
    }
  }),
);
