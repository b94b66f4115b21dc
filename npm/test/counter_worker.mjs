/**
 * A worker thread that opens a session on a shared VM, increments a counter
 * and commits: `workerData` is `{ handle, base, counter, increments }`.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { contractFunction, ContractId, unit, VM } from "@piecrust/deno";

const { handle, base, counter, increments } = workerData;
const increment = contractFunction("increment", unit, unit);
const vm = VM.connect(handle);
let root;
try {
  const session = vm.session({ base });
  const id = ContractId.fromHex(counter);
  for (let i = 0; i < increments; i++) session.call(id, increment, undefined, 1_000_000n);
  root = session.commit();
  session.close();
} finally {
  vm.close();
}
parentPort.postMessage({ increments, root });
