/**
 * The global `addEventListener` of Deno, for the npm build.
 *
 * @module
 */

import process from "node:process";

/**
 * `globalThis.addEventListener` for the one event the VM listens to,
 * `unload`: on Node.js and Bun, the process's `exit`.
 */
export function addEventListener(type: "unload", listener: () => void): void {
  if (type !== "unload") throw new TypeError(`the npm build has no global ${type} event`);
  const deno = globalThis as { Deno?: unknown; addEventListener?: typeof addEventListener };
  if (deno.Deno !== undefined) deno.addEventListener!(type, listener);
  else process.on("exit", listener);
}
