/**
 * A thin typed layer over the wasmtime 49 C API: engines, modules, stores,
 * linkers with host functions, instances and functions. Native handles are
 * freed by `close()` or `using`; traps become {@linkcode PiecrustError}s.
 *
 * @module
 */

export { Engine, type EngineOptions } from "./engine.ts";
export { Func, type FuncType, type ValType, type WasmValue } from "./func.ts";
export { Instance, Memory } from "./instance.ts";
export { HostArgs, type HostFunction, Linker } from "./linker.ts";
export type { HostMemory, HostMemoryCreator, MemoryRequest } from "./memory_creator.ts";
export { Module } from "./module.ts";
export { SavedGlobals } from "./saved_globals.ts";
export { Store } from "./store.ts";
export { type ErrorKind, PiecrustError, type PiecrustErrorOptions } from "../errors.ts";
