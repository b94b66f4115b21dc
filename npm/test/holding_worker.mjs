/**
 * A worker thread that opens a session on `workerData.base` of a shared VM
 * and keeps it open until the thread is terminated.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { VM } from "@piecrust/deno";

const vm = VM.connect(workerData.handle);
vm.session({ base: workerData.base });
parentPort.postMessage("holding");
// Alive, and holding the base, until terminated.
setInterval(() => {}, 60_000);
