/**
 * Session costs, each beside a baseline in the same run:
 *
 * - a top-level counter `increment` through `Session.call` vs the bare
 *   engine on the same module (store, instantiate, call, drop; the memory
 *   mapping reused, as the session's is) — at most 1.2×; and vs the bare
 *   engine calling one kept instance, the floor for a session that keeps
 *   its instances between calls;
 * - an inter-contract call round trip (callcenter → counter) vs the same
 *   counter call made directly;
 * - a compute-heavy contract (fibonacci, fuel on) vs the same module under
 *   Deno's built-in WebAssembly — at most 1.2×.
 *
 * Run: `deno task bench` (or `deno bench -A bench/session_bench.ts`).
 */

import { contractFunction, contractId, encode, i64, u32, u64, unit, VM } from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";
import { Engine, Linker, Module, Store } from "../src/engine/mod.ts";
import { ContractMemory } from "../src/memory/mod.ts";
import { prepareContractModule } from "../src/bytecode/prepare.ts";

const GAS = 1_000_000_000n;
const vm = VM.ephemeral();
const session = vm.session({ debug: true });
const owner = new Uint8Array(32);
const counter = session.deploy(contractBytecode("counter"), owner, GAS);
const center = session.deploy(contractBytecode("callcenter"), owner, GAS);
const fibonacci = session.deploy(contractBytecode("fibonacci"), owner, GAS);
const increment = contractFunction("increment", unit, unit);
const readValue = contractFunction("read_value", unit, i64);
const queryCounter = contractFunction("query_counter", contractId, i64);
const nth = contractFunction("nth", u32, u64);
const FIB_N = 27;

// --- the bare engine: the same module, one reused memory, no session -------------
const prepared = prepareContractModule(contractBytecode("counter"), { debug: false });
const bareMemory = new ContractMemory(4 * 2 ** 30 + 32 * 2 ** 20, {
  byteLength: prepared.memoryMinimum,
});
for (const { offset, bytes } of prepared.segments) bareMemory.view().set(bytes, offset);
const bareEngine = new Engine({
  memoryGuardSize: 32 * 2 ** 20,
  memoryCreator: { newMemory: (request) => bareMemory.attach(request) },
});
const bareModule = Module.compile(bareEngine, prepared.wasm);
const bareLinker = new Linker(bareEngine);

function bareIncrement(): void {
  const store = new Store(bareEngine);
  try {
    store.setFuel(GAS);
    bareLinker.instantiate(store, bareModule).getFunc("increment").callI32(0);
  } finally {
    store.close();
  }
}

const keptStore = new Store(bareEngine);
keptStore.setFuel(GAS);
const keptIncrement = bareLinker.instantiate(keptStore, bareModule).getFunc("increment");

function bareKeptIncrement(): void {
  keptStore.setFuel(GAS);
  keptIncrement.callI32(0);
}

// --- Deno's built-in WebAssembly running the same fibonacci module ----------------
const fibBytes = contractBytecode("fibonacci");
const v8 = new WebAssembly.Instance(new WebAssembly.Module(fibBytes as BufferSource), {
  env: {
    panic: () => {
      throw new Error("panic");
    },
  },
}).exports as { nth(len: number): number; memory: WebAssembly.Memory; A: WebAssembly.Global };
const fibArg = encode(u32, FIB_N);

function v8Fibonacci(): bigint {
  const memory = new Uint8Array(v8.memory.buffer);
  const a = Number(v8.A.value);
  memory.set(fibArg, a);
  const length = v8.nth(fibArg.length);
  return new DataView(v8.memory.buffer, a, length).getBigUint64(0, true);
}

const expected = v8Fibonacci();
if (session.call(fibonacci, nth, FIB_N, GAS).data !== expected) {
  throw new Error("fibonacci results differ between the VM and V8");
}

Deno.bench({
  name: "bare engine: store + instantiate + call + drop",
  group: "counter increment",
  baseline: true,
  fn(): void {
    bareIncrement();
  },
});
Deno.bench({
  name: "bare engine: call on a kept instance",
  group: "counter increment",
  fn(): void {
    bareKeptIncrement();
  },
});
Deno.bench({
  name: "Session.call",
  group: "counter increment",
  fn(): void {
    session.call(counter, increment, undefined, GAS);
  },
});

Deno.bench({
  name: "direct: Session.call counter read_value",
  group: "inter-contract call",
  baseline: true,
  fn(): void {
    session.call(counter, readValue, undefined, GAS);
  },
});
Deno.bench({
  name: "callcenter → counter read_value",
  group: "inter-contract call",
  fn(): void {
    session.call(center, queryCounter, counter.toBytes(), GAS);
  },
});

Deno.bench({
  name: `Deno WebAssembly (V8): nth(${FIB_N})`,
  group: "fibonacci",
  baseline: true,
  fn(): void {
    v8Fibonacci();
  },
});
Deno.bench({
  name: `Session.call: nth(${FIB_N}), fuel on`,
  group: "fibonacci",
  fn(): void {
    session.call(fibonacci, nth, FIB_N, GAS);
  },
});

globalThis.addEventListener("unload", () => {
  keptStore.close();
  bareLinker.close();
  bareModule.close();
  bareEngine.close();
  bareMemory.close();
  session.close();
  vm.close();
});
