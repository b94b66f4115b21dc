/**
 * A Web Worker (Bun) that opens a session on a shared VM, increments a
 * counter and commits: the message is `{ handle, base, counter, increments }`.
 *
 * @module
 */

import { contractFunction, ContractId, unit, VM } from "@piecrust/deno";

const increment = contractFunction("increment", unit, unit);

self.onmessage = ({ data: { handle, base, counter, increments } }) => {
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
  self.postMessage({ increments, root });
};
