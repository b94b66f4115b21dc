/**
 * The `piecrust` command of the npm build: the same command line as
 * `deno task cli`.
 *
 * @module
 */

import process from "node:process";
import { main } from "../../src/cli/main.ts";

process.exitCode = await main(process.argv.slice(2));
