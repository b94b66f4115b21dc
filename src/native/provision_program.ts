/**
 * How this runtime runs `provision.ts` as a program in a child process, and
 * the command that fetches the library ahead of time. The npm build replaces
 * this module with `npm/platform/provision_program.ts`: it is the one place
 * where running a module as a program differs between Deno and Node.js or Bun.
 *
 * @module
 */

/**
 * The permissions `provision.ts` needs to fetch the library: the cache and a
 * temporary folder, `pip` where present, else PyPI itself.
 */
const PROVISION_FLAGS = [
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-run=python3",
  "--allow-net=pypi.org,files.pythonhosted.org",
] as const;

/** The module that fetches the library when run as a program, wherever this package is served from. */
const PROVISION_MODULE = new URL("./provision.ts", import.meta.url).href;

/**
 * The program and arguments that run the provisioning module in a child
 * process with the permissions it needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { provisionCommand } from "./provision_program.ts";
 *
 * const { command, args } = provisionCommand();
 * assert.equal(command, Deno.execPath());
 * assert.ok(args.at(-1)!.endsWith("/provision.ts"));
 * ```
 */
export function provisionCommand(): { command: string; args: string[] } {
  return {
    command: Deno.execPath(),
    args: ["run", "--quiet", "--no-config", ...PROVISION_FLAGS, PROVISION_MODULE],
  };
}

/**
 * What a user runs once to fetch the library ahead of its first use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SETUP_COMMAND } from "./provision_program.ts";
 *
 * assert.ok(SETUP_COMMAND.startsWith("deno run --allow-env"));
 * ```
 */
export const SETUP_COMMAND = `deno run ${PROVISION_FLAGS.join(" ")} ${PROVISION_MODULE}`;
