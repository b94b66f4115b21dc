/**
 * `src/native/provision_program.ts` for the npm build: the provisioning
 * program is `provision.js` beside the bundle's chunks, run by the same
 * Node.js or Bun executable.
 *
 * @module
 */

import process from "node:process";
import { fileURLToPath } from "node:url";

/** The bundled provisioning program (esbuild writes chunks and entries to one folder). */
const PROVISION_PROGRAM = fileURLToPath(new URL("./provision.js", import.meta.url));

/** The program and arguments that run the provisioning program in a child process. */
export function provisionCommand(): { command: string; args: string[] } {
  const bun = (globalThis as { Bun?: unknown }).Bun !== undefined;
  return {
    command: process.execPath,
    // node:ffi's ExperimentalWarning would be noise in the child's progress.
    args: bun ? [PROVISION_PROGRAM] : ["--disable-warning=ExperimentalWarning", PROVISION_PROGRAM],
  };
}

/** What a user runs once to fetch the library ahead of its first use. */
export const SETUP_COMMAND = "npx piecrust-setup";
