/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

/**
 * The Worker of `worker_start_bench.ts`: imports the VM statically, as a
 * user's Worker module does, then times each step to its first call.
 *
 * @module
 */

import { ContractId, VM, type VMHandle } from "../mod.ts";
import { wasmtime } from "../src/native/library.ts";

/** When this module's body began: after its imports were loaded and evaluated. */
const evaluated = performance.timeOrigin + performance.now();

/** What the bench sends. */
export interface WorkerStartRequest {
  handle: VMHandle;
  counter: Uint8Array;
  base: Uint8Array;
}

/** Absolute times (ms since the epoch) at which each step ended. */
export interface WorkerStartReply {
  evaluated: number;
  library: number;
  connected: number;
  firstCall: number;
}

const now = () => performance.timeOrigin + performance.now();

self.onmessage = (event: MessageEvent<WorkerStartRequest>) => {
  const { handle, counter, base } = event.data;
  wasmtime();
  const library = now();
  using vm = VM.connect(handle);
  const connected = now();
  {
    using session = vm.session({ base });
    session.callRaw(new ContractId(counter), "read_value", new Uint8Array(), 1_000_000n);
  }
  const firstCall = now();
  self.postMessage({ evaluated, library, connected, firstCall } satisfies WorkerStartReply);
};
