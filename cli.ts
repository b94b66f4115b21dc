#!/usr/bin/env -S deno run --allow-ffi --allow-read --allow-write --allow-env --allow-run --allow-net=pypi.org,files.pythonhosted.org
/**
 * The `piecrust` command line: inspect and verify VM directories, delete and
 * finalize commits, collect compiled modules, deploy and call contracts.
 *
 * ```sh
 * deno task cli --help
 * deno task cli inspect state
 * deno task cli verify state
 * ```
 *
 * @example
 * ```ts
 * import { main } from "./cli.ts";
 *
 * const status = await main(["--version"]);
 * if (status !== 0) throw new Error("piecrust --version failed");
 * ```
 *
 * @module
 */

export { main } from "./src/cli/main.ts";
export type { CliIo } from "./src/cli/io.ts";
import { main } from "./src/cli/main.ts";

// Without a top-level await, so that require() can load this module (the npm build on Node.js).
if (import.meta.main) main(Deno.args).then((status) => Deno.exit(status));
