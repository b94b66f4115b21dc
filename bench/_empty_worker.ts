/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

/**
 * The baseline Worker of `worker_start_bench.ts`: no imports, answers at once.
 *
 * @module
 */

self.onmessage = () => self.postMessage(performance.timeOrigin + performance.now());
