/**
 * A Worker that ends without closing its VM: the owner keeps working, and
 * what waited for the Worker's session is settled when the owner closes.
 */

import assert from "node:assert/strict";
import { VM } from "../mod.ts";
import type { SessionWorkerReply, SessionWorkerRequest } from "./fixtures/session_worker.ts";
import { commitCounter, counterAt, hex, withDirectoryAsync } from "./_helpers.ts";

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

Deno.test(
  "Worker.terminate with an open connected session leaves the owning VM working",
  withDirectoryAsync(async (dir) => {
    using vm = VM.open(dir);
    const base = commitCounter(vm, undefined, 0);
    const worker = new Worker(new URL("./fixtures/session_worker.ts", import.meta.url), {
      type: "module",
    });
    try {
      const handle = vm.share();
      assert.deepEqual(await ask(worker, { op: "connect", handle }, [handle.port]), { op: "ok" });
      assert.deepEqual(await ask(worker, { op: "hold", base: hex(base) }), { op: "ok" });
    } finally {
      worker.terminate();
    }
    const next = commitCounter(vm, base, 1);
    // The terminated Worker never released its hold: a deletion of its base waits...
    const deletion: { outcome?: unknown } = {};
    vm.deleteCommit(base).then(
      () => (deletion.outcome = "deleted"),
      (error) => (deletion.outcome = error),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(deletion.outcome ?? "waiting", "waiting");
    // ...while the owner's own sessions work as before.
    assert.equal(counterAt(vm, commitCounter(vm, next, 1)), 0xfen);
    vm.close();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal((deletion.outcome as { kind?: string }).kind, "Disposed");
  }),
);
