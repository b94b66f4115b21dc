/**
 * `provision.js` of the npm build, and its `piecrust-setup` command: fetches
 * and verifies libwasmtime into the user's cache.
 *
 * @module
 */

import process from "node:process";
import { provisionProgram } from "../../src/native/provision.ts";

process.exitCode = await provisionProgram();
