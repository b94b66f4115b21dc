/**
 * `deno task setup`: makes a verified libwasmtime 49.0.0 available, as
 * `provisionWasmtime` does on first use: `PIECRUST_WASMTIME_LIB` if set, else
 * the user's cache, else the official `wasmtime==49.0.0` wheel fetched with
 * pip or straight from PyPI, its library checked against the pinned SHA-256
 * and moved into the cache atomically. Idempotent; with a warm cache it only
 * hashes the file.
 *
 * @module
 */

import { provisionWasmtime, WASMTIME_VERSION } from "../mod.ts";

if (import.meta.main) {
  try {
    const path = await provisionWasmtime({
      onProgress: (message) => console.log(`setup: ${message}`),
    });
    console.log(`libwasmtime ${WASMTIME_VERSION}: ${path} (verified)`);
  } catch (error) {
    console.error(`setup: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}
