/**
 * `Deno`, for the npm build: the part of Deno's namespace the VM uses,
 * implemented on Node.js 26 and Bun. The build injects it wherever the
 * sources name the global `Deno`, so the sources stay plain Deno and no
 * global is defined for the user's program.
 *
 * @module
 */

import process from "node:process";
import { errors } from "./errors.ts";
import * as ffi from "./ffi.ts";
import * as files from "./files.ts";
import * as processes from "./process.ts";

if (process.platform !== "linux") {
  throw new Error(
    `@piecrust/deno runs on Linux only (this is ${process.platform}): contract memories rely on ` +
      "Linux's memory mappings",
  );
}

export { addEventListener } from "./events.ts";

export const Deno = {
  ...ffi,
  ...files,
  ...processes,
  errors,
};
