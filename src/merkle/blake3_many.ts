/**
 * {@linkcode blake3Many}: BLAKE3 of many inputs on two cores.
 *
 * @module
 */

import type { Worker } from "node:worker_threads";
import { blake3, HASH_LENGTH } from "./blake3.ts";
import {
  BATCH,
  batchWord,
  claimedIndex,
  DONE,
  EPOCH,
  FAILED,
  type HelperViews,
  helperViews,
  NEXT,
  READY,
  sharedMemory,
  STATE,
} from "./_blake3_helper_layout.ts";

/**
 * Bytes below which lists are hashed on the calling thread alone: one core
 * hashes 1 MiB in about 0.75 ms, and waking the helper and waiting for its
 * last input (0.1 to 0.3 ms) would take most of what it saves.
 */
const MIN_SHARED_BYTES = 1 << 20;

/**
 * Inputs below this length are hashed on the calling thread: the helper
 * reads an input at its address, and V8 may move a small array's bytes.
 */
const MIN_SHARED_INPUT = 1024;

/**
 * The environment variable that, set to `1`, keeps {@linkcode blake3Many}
 * on the calling thread: no helper thread starts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HASHING_THREADS_ENV } from "./blake3_many.ts";
 *
 * assert.equal(HASHING_THREADS_ENV, "PIECRUST_HASHING_THREADS");
 * ```
 */
export const HASHING_THREADS_ENV = "PIECRUST_HASHING_THREADS";

/**
 * Bytes hashed in long lists after which the helper starts. Its start
 * costs the calling thread about 50 ms once, what two cores save on about
 * 150 MiB; a process that hashed 64 MiB is likely to hash much more.
 */
const START_AFTER_BYTES = 64 << 20;

/** The memory shared with the helper thread: `undefined` until it starts; `null` where none can run. */
let helper: HelperViews | null | undefined;
/** Bytes hashed in long lists before the helper started. */
let hashedAlone = 0;

/**
 * Returns the BLAKE3 hash of each of `inputs`, as {@linkcode blake3} would,
 * hashing a long list (1 MiB or more) on two cores once the process has
 * hashed 64 MiB in earlier long lists.
 *
 * The second core is a helper thread (a `node:worker_threads` worker,
 * unref'ed so that it never keeps the process alive) that reads the inputs
 * in place through FFI. Starting it costs the calling thread about 50 ms
 * once, which is why it starts only in a process that has shown it hashes
 * a lot; {@linkcode hashingThreads} tells whether it runs. It runs on Deno
 * with two cores or more, FFI and read permissions, and these sources as
 * local files, unless {@linkcode HASHING_THREADS_ENV} is `1`; elsewhere
 * (the npm build, a remote import), or if it fails, everything is hashed on
 * the calling thread. The hashes are the same either way.
 *
 * @param inputs The bytes to hash; any views, also over native memory. They must not change until it returns.
 * @returns A new 32-byte array per input, in order.
 *
 * @example Hashing pages
 * ```ts
 * import assert from "node:assert/strict";
 * import { blake3 } from "./blake3.ts";
 * import { blake3Many } from "./blake3_many.ts";
 *
 * const memory = new Uint8Array(32 * 65536).map((_, i) => i % 251);
 * const pages = Array.from({ length: 32 }, (_, i) => memory.subarray(i * 65536, (i + 1) * 65536));
 * const leaves = blake3Many(pages);
 * assert.deepEqual(leaves, pages.map((page) => blake3(page)));
 * ```
 */
export function blake3Many(inputs: readonly Uint8Array[]): Uint8Array[] {
  return startBlake3Many(inputs).finish();
}

/** Hashes being computed, from {@linkcode startBlake3Many}. */
export interface PendingHashes {
  /**
   * Hashes what is left on the calling thread too, waits for the helper,
   * and returns the hashes, as {@linkcode blake3Many} would; later calls
   * return the same array.
   */
  finish(): Uint8Array[];
}

/** Whether a batch is open: the helper takes one at a time. */
let batchOpen = false;

/**
 * {@linkcode blake3Many} in two steps: the helper thread, if it runs,
 * starts hashing `inputs` at once, and the caller may do other work (write
 * the inputs to a file, say) before it calls `finish`. `inputs` must stay
 * unchanged and mapped until `finish` returns, so call it in a `finally`.
 * While one list is pending, others are hashed on the calling thread only.
 *
 * @param inputs The bytes to hash; any views, also over native memory.
 * @returns The pending hashes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blake3 } from "./blake3.ts";
 * import { startBlake3Many } from "./blake3_many.ts";
 *
 * const pages = [new Uint8Array(65536).fill(1), new Uint8Array(65536).fill(2)];
 * const pending = startBlake3Many(pages);
 * // … other work, leaving the pages alone …
 * assert.deepEqual(pending.finish(), pages.map((page) => blake3(page)));
 * ```
 */
export function startBlake3Many(inputs: readonly Uint8Array[]): PendingHashes {
  const shared: number[] = [];
  let sharedBytes = 0;
  for (let i = 0; i < inputs.length; i++) {
    if (inputs[i].length >= MIN_SHARED_INPUT) {
      shared.push(i);
      sharedBytes += inputs[i].length;
    }
  }
  const views = sharedBytes >= MIN_SHARED_BYTES && !batchOpen ? readyHelper(sharedBytes) : null;
  const first = shared.slice(0, BATCH);
  if (views !== null) {
    openBatch(views, inputs, first);
    batchOpen = true;
  }
  let hashes: Uint8Array[] | undefined;
  return {
    finish(): Uint8Array[] {
      if (hashes !== undefined) return hashes;
      const computed: Uint8Array[] = new Array(inputs.length);
      if (views !== null) {
        let shareable = joinBatch(views, inputs, first, computed);
        batchOpen = false;
        for (let start = BATCH; shareable && start < shared.length; start += BATCH) {
          const indices = shared.slice(start, start + BATCH);
          openBatch(views, inputs, indices);
          shareable = joinBatch(views, inputs, indices, computed);
        }
        if (!shareable) helper = null;
      }
      for (let i = 0; i < inputs.length; i++) computed[i] ??= blake3(inputs[i]);
      hashes = computed;
      return hashes;
    },
  };
}

/** Shares `inputs[indices[i]]` with the helper, which starts hashing them. */
function openBatch(
  views: HelperViews,
  inputs: readonly Uint8Array[],
  indices: readonly number[],
): void {
  const { control, addresses, lengths } = views;
  for (let i = 0; i < indices.length; i++) {
    const input = inputs[indices[i]];
    addresses[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(input)));
    lengths[i] = input.length;
  }
  Atomics.store(control, DONE, 0);
  Atomics.store(control, NEXT, batchWord(indices.length));
  Atomics.add(control, EPOCH, 1);
  Atomics.notify(control, EPOCH);
}

/**
 * Hashes what the helper has not claimed of the open batch, waits for the
 * rest and closes it; writes the hashes into `hashes`, or returns false,
 * with nothing written, if the helper failed.
 */
function joinBatch(
  views: HelperViews,
  inputs: readonly Uint8Array[],
  indices: readonly number[],
  hashes: Uint8Array[],
): boolean {
  const { control } = views;
  for (let index; (index = claimedIndex(Atomics.add(control, NEXT, 1))) >= 0;) {
    views.hashes.set(blake3(inputs[indices[index]]), index * HASH_LENGTH);
    Atomics.add(control, DONE, 1);
  }
  for (let done = Atomics.load(control, DONE); done < indices.length;) {
    Atomics.wait(control, DONE, done);
    done = Atomics.load(control, DONE);
  }
  Atomics.store(control, NEXT, 0);
  // Which inputs a failed helper hashed is not known: the caller hashes them all.
  if (Atomics.load(control, STATE) === FAILED) return false;
  for (let i = 0; i < indices.length; i++) {
    hashes[indices[i]] = views.hashes.slice(i * HASH_LENGTH, (i + 1) * HASH_LENGTH);
  }
  return true;
}

/**
 * The helper if it is ready to share a list of `bytes`; starts it once
 * enough was hashed without it.
 */
function readyHelper(bytes: number): HelperViews | null {
  if (helper === undefined) {
    // What this list brings counts for the next: a process that hashes one
    // long list never pays for the start.
    if (hashedAlone < START_AFTER_BYTES) {
      hashedAlone += bytes;
      return null;
    }
    helper = startHelper();
  }
  if (helper === null) return null;
  return Atomics.load(helper.control, STATE) === READY ? helper : null;
}

/**
 * The threads {@linkcode blake3Many} hashes a long list on: 2 while its
 * helper thread is ready, else 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashingThreads } from "./blake3_many.ts";
 *
 * assert.equal(hashingThreads(), 1); // nothing hashed yet in this process
 * ```
 */
export function hashingThreads(): 1 | 2 {
  const started = helper ?? null;
  return started !== null && Atomics.load(started.control, STATE) === READY ? 2 : 1;
}

function startHelper(): HelperViews | null {
  // Only Deno's own FFI works in a worker (the npm build's shim is per
  // thread); without the permission to use it the helper could not read;
  // and one core would only be shared.
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (
    deno?.permissions?.querySync?.({ name: "ffi" }).state !== "granted" ||
    navigator.hardwareConcurrency < 2 || oneThreadAsked(deno)
  ) return null;
  // Its module must be a file here: the npm build has none, and a worker
  // that cannot load it reports an uncaught error on stderr.
  const module = new URL("./_blake3_helper.ts", import.meta.url);
  try {
    if (module.protocol !== "file:" || !deno.statSync(module).isFile) return null;
  } catch {
    return null; // no permission to read it, say
  }
  const memory = sharedMemory();
  const views = helperViews(memory);
  let worker: Worker;
  try {
    // Loaded when needed: importing it would slow down every program (and
    // every Worker) that imports the VM, and most never start the helper.
    const { Worker } = process.getBuiltinModule("node:worker_threads");
    worker = new Worker(module, { workerData: memory });
  } catch {
    return null;
  }
  // A helper that fails to load only leaves the work here.
  worker.on("error", () => Atomics.store(views.control, STATE, FAILED));
  worker.unref();
  return views;
}

/**
 * Whether {@linkcode HASHING_THREADS_ENV} is `1`; unset, or unreadable
 * without `--allow-env` for it, it is not.
 */
function oneThreadAsked(deno: typeof Deno): boolean {
  try {
    return deno.env.get(HASHING_THREADS_ENV) === "1";
  } catch {
    return false;
  }
}
