/**
 * Sessions of one VM directory running in Workers (`vm.share()` /
 * `VM.connect()`): the reference's `commit::concurrent_sessions` across
 * Workers, and a bounded stress run of many short sessions committing while
 * the owner deletes and finalizes commits.
 */

import assert from "node:assert/strict";
import { VM } from "../../mod.ts";
import type { SessionWorkerReply, SessionWorkerRequest } from "../fixtures/session_worker.ts";
import { commitCounter, counterAt, withDirectoryAsync } from "../_helpers.ts";

const WORKER_URL = new URL("../fixtures/session_worker.ts", import.meta.url);

/** A Worker running sessions on a shared directory; replies come in request order. */
class SessionWorker {
  readonly #worker = new Worker(WORKER_URL, { type: "module" });
  readonly #waiting: ((reply: SessionWorkerReply) => void)[] = [];
  #closed = false;

  constructor() {
    this.#worker.onmessage = (event: MessageEvent<SessionWorkerReply>): void => {
      this.#waiting.shift()?.(event.data);
    };
    this.#worker.onerror = (event: ErrorEvent): void => {
      event.preventDefault();
      this.#waiting.shift()?.({ op: "error", message: event.message });
    };
  }

  async send(
    request: SessionWorkerRequest,
    transfer: Transferable[] = [],
  ): Promise<SessionWorkerReply> {
    const reply = new Promise<SessionWorkerReply>((resolve) => this.#waiting.push(resolve));
    this.#worker.postMessage(request, transfer);
    const answer = await reply;
    assert.notEqual(answer.op, "error", (answer as { message?: string }).message);
    return answer;
  }

  async connect(vm: VM): Promise<void> {
    const handle = vm.share();
    await this.send({ op: "connect", handle }, [handle.port]);
  }

  /** Closes the Worker's VM, checking that it freed everything, and ends the Worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      const reply = await this.send({ op: "close" });
      assert.deepEqual(reply, { op: "closed", liveHandles: {} });
    } finally {
      this.#worker.terminate();
    }
  }

  /** Ends the Worker at once (after a failure). */
  terminate(): void {
    this.#closed = true;
    this.#worker.terminate();
  }
}

// concurrent_sessions, across Workers
Deno.test(
  "VM.connect sessions in Workers commit different roots while the base's deletion waits",
  withDirectoryAsync(async (dir) => {
    const workers = [new SessionWorker(), new SessionWorker(), new SessionWorker()];
    let roots: string[];
    let base: Uint8Array;
    try {
      using vm = VM.open(dir);
      base = commitCounter(vm, undefined, 0);
      await Promise.all(workers.map((worker) => worker.connect(vm)));
      await Promise.all(workers.map((worker) => worker.send({ op: "hold", base: base.toHex() })));
      let deleted = false;
      const deletion = vm.deleteCommit(base).then(() => (deleted = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(deleted, false, "the deletion waits for the Workers' sessions");
      assert.deepEqual(vm.commits(), [], "a commit being deleted is no longer listed");
      const replies = await Promise.all(
        workers.map((worker, i) => worker.send({ op: "commit", increments: i + 1 })),
      );
      roots = replies.map((reply) => (reply as { root: string }).root);
      replies.forEach((reply, i) => {
        assert.equal((reply as { value: string }).value, String(0xfc + i + 1));
      });
      await deletion;
      assert.equal(new Set(roots).size, 3, "different states, different roots");
      assert.deepEqual(vm.commits().map((bytes) => bytes.toHex()), [...roots].sort());
      assert.deepEqual([...Deno.readDirSync(`${dir}/retired`)].map((e) => e.name), [base.toHex()]);
      await Promise.all(workers.map((worker) => worker.close()));
    } finally {
      for (const worker of workers) worker.terminate();
    }
    using vm = VM.open(dir);
    assert.deepEqual(vm.commits().map((bytes) => bytes.toHex()), [...roots].sort());
    roots.forEach((root, i) => {
      const commit = vm.commits().find((r) => r.toHex() === root)!;
      assert.equal(counterAt(vm, commit), BigInt(0xfc + i + 1));
    });
  }),
);

Deno.test(
  "VM.connect sessions in two Workers stress the directory while the owner deletes and finalizes",
  withDirectoryAsync(async (dir) => {
    const workers = [new SessionWorker(), new SessionWorker()];
    const made = new Map<string, string>();
    const targeted = new Set<string>();
    let listed: string[];
    try {
      using vm = VM.open(dir);
      commitCounter(vm, undefined, 0);
      await Promise.all(workers.map((worker) => worker.connect(vm)));
      const stressing = workers.map((worker) => worker.send({ op: "stress", milliseconds: 1500 }));
      let running = true;
      Promise.allSettled(stressing).then(() => (running = false));
      const operations: Promise<void>[] = [];
      while (running) {
        await new Promise((resolve) => setTimeout(resolve, 15));
        const roots = vm.commits();
        if (roots.length <= 3) continue;
        const root = roots[Math.floor(Math.random() * roots.length)];
        targeted.add(root.toHex());
        operations.push(Math.random() < 0.5 ? vm.deleteCommit(root) : vm.finalizeCommit(root));
      }
      for (const reply of await Promise.all(stressing)) {
        assert.equal(reply.op, "stressed");
        for (const { root, value } of (reply as { made: { root: string; value: string }[] }).made) {
          made.set(root, value);
        }
      }
      await Promise.all(workers.map((worker) => worker.close()));
      await Promise.all(operations);
      assert.ok(made.size > 20, `only ${made.size} commits were made`);
      assert.ok(targeted.size > 5, `only ${targeted.size} commits were deleted or finalized`);
      listed = vm.commits().map((bytes) => bytes.toHex());
      for (const root of made.keys()) {
        if (!targeted.has(root)) assert.ok(listed.includes(root), `commit ${root} was lost`);
      }
      for (const root of targeted) assert.ok(!listed.includes(root) || made.has(root));
    } finally {
      for (const worker of workers) worker.terminate();
    }
    using vm = VM.open(dir);
    assert.deepEqual(
      vm.commits().map((bytes) => bytes.toHex()),
      listed,
      "the same commits after reopening",
    );
    assert.deepEqual([...Deno.readDirSync(`${dir}/tmp`)], []);
    for (const root of vm.commits()) {
      const value = counterAt(vm, root);
      const expected = made.get(root.toHex());
      if (expected !== undefined) assert.equal(String(value), expected);
    }
  }),
);
