/**
 * Host → wasm and wasm → host calls through `src/engine`, each beside the raw
 * FFI calls it is built on and Deno's built-in WebAssembly, in the same run.
 * Every iteration makes 1000 calls, so the per-iteration time is 1000× the
 * per-call cost and the harness's own overhead stays out of the ratios.
 *
 * Run: `deno task bench` (or `deno bench -A bench/engine_bench.ts`).
 */

import { watFixture } from "../contracts/wat.ts";
import { hostFuncCallbackDefinition, StructSize } from "../ffi/libwasmtime.ts";
import { wasmtime, wasmtimeReentrant } from "../src/native/library.ts";
import { Engine, Linker, Module, Store } from "../src/engine/mod.ts";

const CALLS = 1000;
const GROUP_IN = "host → wasm (1000 calls)";
const GROUP_OUT = "wasm → host (1000 calls)";
const wasm = await watFixture("call_overhead");
const lib = wasmtime();
const engine = new Engine();
const module = Module.compile(engine, wasm);
let sink = 0;

// --- src/engine --------------------------------------------------------------
const linker = new Linker(engine);
linker.defineFunc("env", "nop", { params: [], results: [] }, () => {});
const store = new Store(engine);
store.setFuel(2n ** 62n);
const instance = linker.instantiate(store, module);
const typedId = instance.getFunc("id");
const typedCallNop = instance.getFunc("call_nop");

// --- raw FFI: the same engine and module, `env.nop` a bare callback -----------
function address(buffer: ArrayBuffer | ArrayBufferView): Deno.PointerObject {
  return Deno.UnsafePointer.of(buffer as BufferSource)!;
}

/** The fastest a callback can be: declared with no parameters. */
const floorCallback = new Deno.UnsafeCallback({ parameters: [], result: "usize" }, () => 0n);
/** The declaration the engine's dispatcher uses, with an empty body. */
const trimmedCallback = new Deno.UnsafeCallback(hostFuncCallbackDefinition, () => 0n);

interface RawInstance {
  store: Deno.PointerObject;
  context: Deno.PointerObject;
  instance: ArrayBuffer;
}

function rawInstance(nop: Deno.PointerObject): RawInstance {
  const rawLinker = lib.wasmtime_linker_new(engine.pointer)!;
  const noValues = (): Deno.PointerObject => address(new ArrayBuffer(StructSize.BYTE_VEC));
  const functype = lib.wasm_functype_new(noValues(), noValues());
  const env = new TextEncoder().encode("env");
  const name = new TextEncoder().encode("nop");
  const error = wasmtimeReentrant().wasmtime_linker_define_func_unchecked.call(
    rawLinker,
    env,
    BigInt(env.length),
    name,
    BigInt(name.length),
    functype,
    nop,
    null,
    null,
  );
  lib.wasm_functype_delete(functype);
  if (error !== null) throw new Error("defining env.nop failed");
  const rawStore = lib.wasmtime_store_new(engine.pointer, null, null)!;
  const context = lib.wasmtime_store_context(rawStore)!;
  lib.wasmtime_context_set_fuel(context, 2n ** 62n);
  const instance = new ArrayBuffer(StructSize.INSTANCE);
  const trapOut = new ArrayBuffer(8);
  if (
    wasmtimeReentrant().wasmtime_linker_instantiate.call(
      rawLinker,
      context,
      module.pointer,
      address(instance),
      address(trapOut),
    ) !== null
  ) {
    throw new Error("raw instantiation failed");
  }
  lib.wasmtime_linker_delete(rawLinker);
  return { store: rawStore, context, instance };
}

function rawExport(raw: RawInstance, name: string): Deno.PointerObject {
  const extern = new ArrayBuffer(StructSize.EXTERN);
  const field = new TextEncoder().encode(name);
  const found = lib.wasmtime_instance_export_get(
    raw.context,
    address(raw.instance),
    field,
    BigInt(field.length),
    address(extern),
  );
  if (!found) throw new Error(`no export ${name}`);
  const func = new ArrayBuffer(16);
  new Uint8Array(func).set(new Uint8Array(extern, 8, 16));
  return address(func);
}

const floorRaw = rawInstance(floorCallback.pointer);
const trimmedRaw = rawInstance(trimmedCallback.pointer);
const rawId = rawExport(floorRaw, "id");
const floorCallNop = rawExport(floorRaw, "call_nop");
const trimmedCallNop = rawExport(trimmedRaw, "call_nop");
const slots = new ArrayBuffer(StructSize.VAL_RAW);
const slotsView = new DataView(slots);
const slotsPointer = address(slots);
const trap = new Uint32Array(new ArrayBuffer(8));
const trapPointer = address(trap);
const { wasmtime_func_call_unchecked } = lib;

/** One unchecked call with the checks any correct caller makes. */
function rawCall(context: Deno.PointerObject, func: Deno.PointerObject, arg: number): number {
  slotsView.setInt32(0, arg, true);
  wasmtime_func_call_unchecked(context, func, slotsPointer, 1n, trapPointer);
  if (trap[0] !== 0 || trap[1] !== 0) throw new Error("call failed");
  return slotsView.getInt32(0, true);
}

// --- Deno's built-in WebAssembly (V8) ----------------------------------------
const v8 = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource), {
  env: { nop: () => {} },
}).exports as { id(x: number): number; call_nop(n: number): number };

Deno.bench({
  name: "raw FFI wasmtime_func_call_unchecked",
  group: GROUP_IN,
  baseline: true,
  fn(): void {
    for (let i = 0; i < CALLS; i++) sink += rawCall(floorRaw.context, rawId, i);
  },
});

Deno.bench({
  name: "src/engine Func.callI32",
  group: GROUP_IN,
  fn(): void {
    for (let i = 0; i < CALLS; i++) sink += typedId.callI32(i);
  },
});

Deno.bench({
  name: "Deno WebAssembly (V8)",
  group: GROUP_IN,
  fn(): void {
    for (let i = 0; i < CALLS; i++) sink += v8.id(i);
  },
});

Deno.bench({
  name: "raw FFI callback, no parameters (floor)",
  group: GROUP_OUT,
  baseline: true,
  fn(): void {
    sink += rawCall(floorRaw.context, floorCallNop, CALLS);
  },
});

Deno.bench({
  name: "raw FFI callback, the dispatcher's declaration",
  group: GROUP_OUT,
  fn(): void {
    sink += rawCall(trimmedRaw.context, trimmedCallNop, CALLS);
  },
});

Deno.bench({
  name: "src/engine Linker host function",
  group: GROUP_OUT,
  fn(): void {
    sink += typedCallNop.callI32(CALLS);
  },
});

Deno.bench({
  name: "Deno WebAssembly (V8) import",
  group: GROUP_OUT,
  fn(): void {
    sink += v8.call_nop(CALLS);
  },
});

globalThis.addEventListener("unload", () => {
  if (sink === -1) console.log("unreachable: keeps results alive");
  lib.wasmtime_store_delete(floorRaw.store);
  lib.wasmtime_store_delete(trimmedRaw.store);
  store.close();
  linker.close();
  module.close();
  engine.close();
});
