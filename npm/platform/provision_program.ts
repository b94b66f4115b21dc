/**
 * `src/native/provision_program.ts` for the npm build: the provisioning
 * program is `provision.js` beside the bundle's chunks, run by the same
 * Node.js, Bun or Deno executable.
 *
 * @module
 */

import process from "node:process";
import { fileURLToPath } from "node:url";

/** The bundled provisioning program (esbuild writes chunks and entries to one folder). */
const PROVISION_PROGRAM = fileURLToPath(new URL("./provision.js", import.meta.url));

/** The program and arguments that run the provisioning program in a child process. */
export function provisionCommand(): { command: string; args: string[] } {
  const runtime = globalThis as { Bun?: unknown; Deno?: unknown };
  let args: string[];
  if (runtime.Deno !== undefined) {
    // Deno importing the npm build: the same permissions as src/native/provision_program.ts.
    args = [
      "run",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "--allow-run=python3",
      "--allow-net=pypi.org,files.pythonhosted.org",
      PROVISION_PROGRAM,
    ];
  } else if (runtime.Bun !== undefined) {
    args = [PROVISION_PROGRAM];
  } else {
    // node:ffi's ExperimentalWarning would be noise in the child's progress.
    args = ["--disable-warning=ExperimentalWarning", PROVISION_PROGRAM];
  }
  return { command: process.execPath, args };
}

/** What a user runs once to fetch the library ahead of its first use. */
export const SETUP_COMMAND = "npx piecrust-setup";
