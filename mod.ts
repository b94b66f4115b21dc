/**
 * piecrust for Deno: a WebAssembly smart-contract VM compatible with Dusk's
 * piecrust, running on wasmtime through Deno FFI.
 *
 * This release exposes the engine layer that the VM is built on.
 *
 * @module
 */

export * from "./src/engine/mod.ts";
