/**
 * `deno task demo`: runs the bundled counter contract (wasm32 and wasm64)
 * through the engine layer and prints what happened.
 *
 * Until the VM layer exists, this drives wasmtime directly with the
 * reference ABI: the argument buffer `A` and `(i32) -> i32` exports.
 *
 * @module
 */

import { WASMTIME_VERSION, wasmtimeLibraryPath } from "../ffi/library.ts";
import { contractBytecode, type ContractTarget } from "../src/contract_bytecode.ts";
import { Engine, Linker, Module, PiecrustError, Store } from "../mod.ts";

const GAS_LIMIT = 1_000_000n;

function runCounter(engine: Engine, target: ContractTarget): void {
  const bytecode = contractBytecode("counter", { target });
  const started = performance.now();
  using module = Module.compile(engine, bytecode);
  const compileMs = performance.now() - started;
  using linker = new Linker(engine);
  using store = new Store(engine);
  store.setFuel(GAS_LIMIT);
  const instance = linker.instantiate(store, module);
  const argumentBuffer = Number(instance.getGlobal("A"));

  const call = (name: string): { returned: number; fuel: bigint } => {
    const before = store.getFuel();
    const returned = instance.getFunc(name).callI32(0);
    return { returned, fuel: before - store.getFuel() };
  };
  const readValue = (): bigint => {
    const { returned } = call("read_value");
    const memory = instance.getMemory("memory").data();
    return new DataView(memory.buffer, argumentBuffer, returned).getBigInt64(0, true);
  };

  console.log(
    `\ncounter (${target}, ${bytecode.byteLength} bytes, compiled in ${compileMs.toFixed(1)} ms)`,
  );
  console.log(`  argument buffer A at 0x${argumentBuffer.toString(16)}`);
  console.log(`  read_value()  -> ${readValue()}`);
  const increment = call("increment");
  console.log(`  increment()   -> returned ${increment.returned}, used ${increment.fuel} fuel`);
  console.log(`  read_value()  -> ${readValue()}`);

  store.setFuel(0n);
  try {
    call("increment");
  } catch (error) {
    if (!(error instanceof PiecrustError)) throw error;
    console.log(`  increment() with no fuel -> ${error.kind}: ${error.message}`);
  }
  store.setFuel(GAS_LIMIT);
  console.log(`  read_value()  -> ${readValue()} (the failed call changed nothing)`);
}

console.log(`piecrust for Deno: libwasmtime ${WASMTIME_VERSION} from ${wasmtimeLibraryPath()}`);
using engine = new Engine();
runCounter(engine, "wasm32");
runCounter(engine, "wasm64");
