// Plain JavaScript, run as it is by Node.js and Bun: no type annotations to write.
// deno-lint-ignore-file explicit-function-return-type explicit-module-boundary-types
/**
 * What the counter workers do, whichever kind of thread runs them: open a
 * session on a shared VM at `base`, increment `counter` `increments` times,
 * commit, and close the VM before answering.
 *
 * @module
 */

import { contractFunction, ContractId, unit, VM } from "@piecrust/deno";

const increment = contractFunction("increment", unit, unit);

/** Runs the job; returns `{ increments, root }`. */
export function runCounterJob({ handle, base, counter, increments }) {
  const vm = VM.connect(handle);
  try {
    const session = vm.session({ base });
    const id = ContractId.fromHex(counter);
    for (let i = 0; i < increments; i++) session.call(id, increment, undefined, 1_000_000n);
    const root = session.commit();
    session.close();
    return { increments, root };
  } finally {
    vm.close();
  }
}
