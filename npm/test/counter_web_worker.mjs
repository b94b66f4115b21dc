/**
 * A Web Worker (Bun) that runs `runCounterJob` on the message it gets and
 * posts the result.
 *
 * @module
 */

import { runCounterJob } from "./counter_job.mjs";

self.onmessage = ({ data }) => self.postMessage(runCounterJob(data));
