/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

/**
 * The Worker of `workers.ts`: connects to the shared VM directory, increments
 * the counter on a session over the base commit, commits, and replies with
 * the new root.
 *
 * @module
 */

import { contractFunction, ContractId, unit, VM, type VMHandle } from "../mod.ts";

/** What the owner sends. */
export interface CounterJob {
  handle: VMHandle;
  base: Uint8Array;
  counter: string;
  increments: number;
}

/** What the Worker replies. */
export interface CounterResult {
  increments: number;
  root: string;
}

const increment = contractFunction("increment", unit, unit);

function run({ handle, base, counter, increments }: CounterJob): CounterResult {
  using vm = VM.connect(handle);
  using session = vm.session({ base });
  const id = ContractId.fromHex(counter);
  for (let i = 0; i < increments; i++) session.call(id, increment, undefined, 1_000_000n);
  return { increments, root: session.commit().toHex() };
}

self.onmessage = (event: MessageEvent<CounterJob>) => {
  // The VM is closed before the reply goes out, so the owner may end this Worker then.
  self.postMessage(run(event.data));
};
