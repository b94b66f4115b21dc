/**
 * The Worker of `parallel_bench.ts`. Its first message,
 * `{ op: "connect", handle, base, fibonacci }`, connects a VM to the
 * benchmark's VM (`VM.connect(handle)`: its own libwasmtime handle, engines
 * and FFI callbacks, all belonging to this isolate) and starts a session on
 * the commit `base`, where `fibonacci` is deployed. Then it answers:
 *
 * - `{ op: "run", calls, n }` → `{ op: "done", ms, result }`: `calls` calls
 *   of `nth(n)` through `Session.call`; `ms` is the time they took inside
 *   the Worker, `result` the last `nth(n)` as a decimal string;
 * - `{ op: "runV8", calls, n }` → the same, with the same module in Deno's
 *   built-in WebAssembly (no wasmtime, no fuel, no session): the benchmark's
 *   control for how well the machine runs this code on two threads;
 * - `{ op: "close", signal? }` → `{ op: "closed", liveHandles }`: closes the
 *   session and the VM (the handles still open afterwards are reported; `{}`
 *   when nothing leaked), then the Worker closes itself. With `signal` (an
 *   `Int32Array` over a `SharedArrayBuffer`), it also stores 1 (nothing
 *   leaked) or 2 (handles leaked, or closing failed) in `signal[0]` and
 *   notifies it, so a thread that cannot return to its event loop (an
 *   `unload` handler) can wait with `Atomics.wait`.
 *
 * Once connected it posts `{ op: "ready", bootMs, vmMs, firstCallMs }`: the
 * time from the Worker's start to this module running, `VM.connect()` and
 * the session, and the first call (which loads the contract from the
 * commit). A failure is posted as `{ op: "error", message }`.
 *
 * @module
 */

import { contractFunction, ContractId, encode, u32, u64, VM, type VMHandle } from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";
import { liveHandles } from "../src/handles.ts";

/** A request to the Worker. */
export type WorkerRequest =
  | { op: "connect"; handle: VMHandle; base: string; fibonacci: string }
  | { op: "run" | "runV8"; calls: number; n: number }
  | { op: "close"; signal?: Int32Array };

/** A reply from the Worker. */
export type WorkerReply =
  | {
    op: "ready";
    bootMs: number;
    vmMs: number;
    firstCallMs: number;
  }
  | { op: "done"; ms: number; result: string }
  | { op: "closed"; liveHandles: Record<string, number> }
  | { op: "error"; message: string };

/** Gas per call: far more than `nth(27)` needs. */
const GAS = 1_000_000_000n;

interface WorkerScope {
  postMessage(message: WorkerReply): void;
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  close(): void;
}

const scope = self as unknown as WorkerScope;
const bootMs = performance.now();

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function signal(target: Int32Array | undefined, value: number): void {
  if (target === undefined) return;
  Atomics.store(target, 0, value);
  Atomics.notify(target, 0);
}

/** `nth(n)` of the fibonacci module under Deno's built-in WebAssembly. */
function v8Fibonacci(): (n: number) => bigint {
  const exports = new WebAssembly.Instance(
    new WebAssembly.Module(contractBytecode("fibonacci") as BufferSource),
    {
      env: {
        panic: (): never => {
          throw new Error("fibonacci panicked");
        },
      },
    },
  ).exports as { nth(len: number): number; memory: WebAssembly.Memory; A: WebAssembly.Global };
  return (n: number): bigint => {
    const arg = encode(u32, n);
    const a = Number(exports.A.value);
    new Uint8Array(exports.memory.buffer).set(arg, a);
    const length = exports.nth(arg.length);
    return new DataView(exports.memory.buffer, a, length).getBigUint64(0, true);
  };
}

/** Connects to the shared VM, starts a session on `base` and serves requests. */
function serve(request: Extract<WorkerRequest, { op: "connect" }>): void {
  let start = performance.now();
  const vm = VM.connect(request.handle);
  const session = vm.session({ base: fromHex(request.base) });
  const vmMs = performance.now() - start;

  const fibonacci = ContractId.fromHex(request.fibonacci);
  const nth = contractFunction("nth", u32, u64);
  start = performance.now();
  session.call(fibonacci, nth, 10, GAS);
  const firstCallMs = performance.now() - start;
  const v8Nth = v8Fibonacci();

  scope.onmessage = (event: MessageEvent<WorkerRequest>): void => {
    const request = event.data;
    try {
      if (request.op === "run" || request.op === "runV8") {
        const call = request.op === "run"
          ? (): bigint => session.call(fibonacci, nth, request.n, GAS).data
          : (): bigint => v8Nth(request.n);
        let result = 0n;
        const begin = performance.now();
        for (let i = 0; i < request.calls; i++) result = call();
        scope.postMessage({ op: "done", ms: performance.now() - begin, result: String(result) });
      } else if (request.op === "close") {
        session.close();
        vm.close();
        const live = liveHandles();
        signal(request.signal, Object.keys(live).length === 0 ? 1 : 2);
        scope.postMessage({ op: "closed", liveHandles: live });
        scope.close();
      }
    } catch (error) {
      if (request.op === "close") signal(request.signal, 2);
      scope.postMessage({ op: "error", message: describe(error) });
    }
  };
  scope.postMessage({ op: "ready", bootMs, vmMs, firstCallMs });
}

function fromHex(hex: string): Uint8Array {
  return new Uint8Array(hex.match(/../g)!.map((pair) => parseInt(pair, 16)));
}

scope.onmessage = (event: MessageEvent<WorkerRequest>): void => {
  try {
    if (event.data.op !== "connect") throw new Error(`expected connect, got ${event.data.op}`);
    serve(event.data);
  } catch (error) {
    scope.postMessage({ op: "error", message: describe(error) });
  }
};
