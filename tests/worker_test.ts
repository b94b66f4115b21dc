/**
 * A Worker that ends without closing its VM: the owner keeps working, and
 * what waited for the Worker's session is settled when the owner closes.
 */

import assert from "node:assert/strict";
import { contractBytecode, contractFunction, i64, unit, VM } from "../mod.ts";
import type { SessionWorkerReply, SessionWorkerRequest } from "./fixtures/session_worker.ts";
import { COUNTER } from "./fixtures/session_worker.ts";
import { withDirectoryAsync } from "./_helpers.ts";

const GAS = 1_000_000n;
const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");

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
    let base: Uint8Array;
    {
      using session = vm.session();
      session.deploy(contractBytecode("counter"), {
        owner: new Uint8Array(32),
        contractId: COUNTER,
      }, GAS);
      base = session.commit();
    }
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
    let next: Uint8Array;
    {
      using session = vm.session({ base });
      session.callRaw(COUNTER, "increment", new Uint8Array(0), GAS);
      next = session.commit();
    }
    // The terminated Worker never released its hold: a deletion of its base waits...
    const deletion: { outcome?: unknown } = {};
    vm.deleteCommit(base).then(
      () => (deletion.outcome = "deleted"),
      (error) => (deletion.outcome = error),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(deletion.outcome ?? "waiting", "waiting");
    // ...while the owner's own sessions work as before.
    {
      using session = vm.session({ base: next });
      session.callRaw(COUNTER, "increment", new Uint8Array(0), GAS);
      const value = session.call(
        COUNTER,
        contractFunction("read_value", unit, i64),
        undefined,
        GAS,
      );
      assert.equal(value.data, 0xfen);
      session.commit();
    }
    vm.close();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal((deletion.outcome as { kind?: string }).kind, "Disposed");
  }),
);
