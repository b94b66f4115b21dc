/**
 * `Deno`, for the npm build: the part of Deno's namespace the VM uses,
 * implemented on Node.js 26 and Bun. The build injects it wherever the
 * sources name the global `Deno`, so the sources stay plain Deno and no
 * global is defined for the user's program. The global `addEventListener`
 * (for `unload`) is injected the same way. Importing it on a runtime or a
 * platform the VM cannot run on throws one sentence saying what it needs;
 * Deno itself, importing the npm build, gets its own namespace.
 *
 * @module
 */

import { errors } from "./errors.ts";
import * as ffi from "./ffi.ts";
import * as files from "./files.ts";
import * as processes from "./process.ts";

export { addEventListener } from "./events.ts";

const shim = {
  dlopen: ffi.dlopen,
  UnsafePointer: ffi.UnsafePointer,
  UnsafePointerView: ffi.UnsafePointerView,
  UnsafeCallback: ffi.UnsafeCallback,
  UnsafeFnPointer: ffi.UnsafeFnPointer,
  ...files,
  ...processes,
  errors,
};

/** The shim, or Deno's own namespace when Deno imports the npm build. */
export const Deno: typeof shim = (globalThis as unknown as { Deno?: typeof shim }).Deno ?? shim;
