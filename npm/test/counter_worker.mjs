/**
 * A worker thread that runs `runCounterJob(workerData)` and posts its result.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { runCounterJob } from "./counter_job.mjs";

parentPort.postMessage(runCounterJob(workerData));
