/**
 * Sessions in Workers: the VM that opened a directory shares it with
 * Workers (`vm.share()`); each Worker connects its own VM (`VM.connect`),
 * runs sessions in parallel with the others and commits. The owner sees every
 * commit.
 *
 * ```sh
 * deno run --allow-ffi --allow-read --allow-write --allow-env examples/workers.ts
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { contractFunction, type ContractId, i64, unit, VM } from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";
import type { CounterJob, CounterResult } from "./_counter_worker.ts";

const GAS = 1_000_000n;
const readValue = contractFunction("read_value", unit, i64);
const directory = Deno.makeTempDirSync({ prefix: "piecrust-workers-" });
try {
  using vm = VM.open(directory);
  let base: Uint8Array;
  let counter: ContractId;
  {
    using session = vm.session();
    counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), GAS);
    base = session.commit();
  }

  // Each Worker increments the counter a different number of times, from the same base.
  const jobs = [3, 5].map((increments) => {
    const worker = new Worker(new URL("./_counter_worker.ts", import.meta.url), { type: "module" });
    const handle = vm.share();
    const job: CounterJob = { handle, base, counter: counter.toString(), increments };
    worker.postMessage(job, [handle.port]);
    return new Promise<CounterResult>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<CounterResult>) => {
        worker.terminate();
        resolve(event.data);
      };
      worker.onerror = (event) => {
        event.preventDefault();
        worker.terminate();
        reject(new Error(event.message));
      };
    });
  });
  // The owner's thread keeps its event loop running while the Workers commit.
  const results = await Promise.all(jobs);

  for (const { increments, root } of results) {
    assert.ok(vm.commits().some((commit) => commit.toHex() === root), "the owner lists it");
    using session = vm.session({ base: Uint8Array.fromHex(root) });
    const value = session.call(counter, readValue, undefined, GAS).data;
    console.log(
      `a Worker's ${increments} increments: commit ${root.slice(0, 16)}…, value ${value}`,
    );
    assert.equal(value, 0xfcn + BigInt(increments));
  }
  assert.equal(vm.commits().length, 3);
} finally {
  Deno.removeSync(directory, { recursive: true });
}
