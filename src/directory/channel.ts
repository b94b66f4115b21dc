/**
 * The channel between a VM directory's owner and a VM in a Worker: requests
 * go as messages on a `MessagePort`; the owner answers a synchronous request
 * in a `SharedArrayBuffer` that the Worker waits on with `Atomics.wait`, so
 * that a Worker's `vm.session()` and `session.commit()` stay synchronous.
 *
 * @module
 */

import { type ErrorDetails, type ErrorKind, PiecrustError } from "../errors.ts";

/**
 * Everything a Worker's VM needs to use the owner's directory: the folder,
 * the channel to the owner and the lock that tells the owner it lives.
 * Structured-cloneable once `port` is listed as transferable.
 */
export interface DirectoryHandle {
  /** The VM directory. */
  readonly directory: string;
  /** The owner's end of the channel stays with the owner; this is the Worker's. */
  readonly port: MessagePort;
  /** Where the owner writes answers to synchronous requests. */
  readonly reply: SharedArrayBuffer;
  /**
   * A file in the VM directory that the Worker's VM keeps locked (`flock`)
   * while its thread lives: the owner's sign that the Worker is alive.
   */
  readonly liveness: string;
}

/** A request of a Worker's VM to the owner. */
export type Request =
  | { op: "commits" }
  | { op: "hold"; root: string }
  | { op: "release"; root: string }
  | { op: "publish"; root: string; staged: string }
  | { op: "delete" | "finalize"; root: string; ticket: number };

/** The owner's answer to an asynchronous request (`delete`, `finalize`). */
export interface Settlement {
  ticket: number;
  error?: ErrorData;
}

/** `Int32Array` slots of the reply buffer. */
const STATE = 0;
const LENGTH = 1;
const CLOSED = 2;
/** Set by the Worker once it holds the liveness lock. */
const CONNECTED = 3;
const HEADER_SLOTS = 4;
const HEADER_BYTES = 4 * HEADER_SLOTS;
const WAITING = 0;
const ANSWERED = 1;

/** Bytes of an answer; plenty for the roots of many thousand commits. */
const REPLY_BYTES = 4 << 20;

/** How long a Worker waits for the owner before giving up. */
const ANSWER_TIMEOUT_MS = 60_000;

/**
 * A reply buffer for a new handle.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newReplyBuffer } from "./channel.ts";
 *
 * assert.equal(newReplyBuffer().byteLength > 0, true);
 * ```
 */
export function newReplyBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + REPLY_BYTES);
}

/**
 * Writes the owner's answer (`value`, or the error `error`) to a
 * synchronous request and wakes the waiting Worker.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { answer, newReplyBuffer, requestSync } from "./channel.ts";
 *
 * const reply = newReplyBuffer();
 * // The owner answers from its event loop; here the port answers at once.
 * const port = { postMessage: () => answer(reply, { value: ["ab"] }) } as unknown as MessagePort;
 * const handle = { directory: "/vm", port, reply, liveness: "/vm/workers/x.lock" };
 * assert.deepEqual(requestSync(handle, { op: "commits" }), ["ab"]);
 * ```
 */
export function answer(
  reply: SharedArrayBuffer,
  result: { value?: unknown; error?: unknown },
): void {
  const header = new Int32Array(reply, 0, HEADER_SLOTS);
  let text = JSON.stringify(
    result.error === undefined
      ? { value: result.value ?? null }
      : { error: describe(result.error) },
  );
  let bytes = new TextEncoder().encode(text);
  if (bytes.length > REPLY_BYTES) {
    text = JSON.stringify({
      error: {
        kind: "ResourceError",
        message: `the answer is larger than ${REPLY_BYTES} bytes`,
      },
    });
    bytes = new TextEncoder().encode(text);
  }
  new Uint8Array(reply, HEADER_BYTES, bytes.length).set(bytes);
  Atomics.store(header, LENGTH, bytes.length);
  Atomics.store(header, STATE, ANSWERED);
  Atomics.notify(header, STATE);
}

/**
 * Marks the channel closed (the owner VM closed) and wakes a waiting Worker.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { closeReply, newReplyBuffer, requestSync } from "./channel.ts";
 *
 * const reply = newReplyBuffer();
 * closeReply(reply);
 * const handle = { directory: "/vm", port: new MessageChannel().port1, reply, liveness: "" };
 * assert.throws(
 *   () => requestSync(handle, { op: "commits" }),
 *   (e) => e instanceof PiecrustError && e.kind === "Disposed",
 * );
 * handle.port.close();
 * ```
 */
export function closeReply(reply: SharedArrayBuffer): void {
  const header = new Int32Array(reply, 0, HEADER_SLOTS);
  Atomics.store(header, CLOSED, 1);
  Atomics.notify(header, STATE);
}

/**
 * Marks the Worker's end connected: from now on, its liveness lock being
 * free means its thread has ended.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isConnected, markConnected, newReplyBuffer } from "./channel.ts";
 *
 * const reply = newReplyBuffer();
 * assert.equal(isConnected(reply), false);
 * markConnected(reply);
 * assert.equal(isConnected(reply), true);
 * ```
 */
export function markConnected(reply: SharedArrayBuffer): void {
  Atomics.store(new Int32Array(reply, 0, HEADER_SLOTS), CONNECTED, 1);
}

/**
 * Whether a Worker connected with this reply buffer (see {@linkcode markConnected}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isConnected, newReplyBuffer } from "./channel.ts";
 *
 * assert.equal(isConnected(newReplyBuffer()), false);
 * ```
 */
export function isConnected(reply: SharedArrayBuffer): boolean {
  return Atomics.load(new Int32Array(reply, 0, HEADER_SLOTS), CONNECTED) === 1;
}

/** An error as plain data that crosses threads. */
export interface ErrorData {
  kind: ErrorKind;
  message: string;
  details?: ErrorDetails;
}

/**
 * `error` as plain data that crosses threads; see {@linkcode revive}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { describe, revive } from "./channel.ts";
 *
 * const error = new PiecrustError("CommitNotFound", "no commit ab", { details: { root: "ab" } });
 * const received = revive(structuredClone(describe(error)));
 * assert.equal(received.kind, "CommitNotFound");
 * assert.deepEqual(received.details, { root: "ab" });
 * ```
 */
export function describe(error: unknown): ErrorData {
  return error instanceof PiecrustError
    ? { kind: error.kind, message: error.message, details: error.details }
    : { kind: "PersistenceError", message: String((error as Error)?.message ?? error) };
}

/**
 * The error that {@linkcode describe} made `data` of, in this thread.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { revive } from "./channel.ts";
 *
 * const error = revive({ kind: "Timeout", message: "no answer" });
 * assert.equal(error.kind, "Timeout");
 * assert.deepEqual(error.details, {});
 * ```
 */
export function revive(data: ErrorData): PiecrustError {
  return new PiecrustError(data.kind, data.message, { details: data.details });
}

/**
 * Sends `request` on `port` and waits (blocking the Worker) for the owner's
 * answer; throws the owner's error as a `PiecrustError` of the same kind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { answer, newReplyBuffer, requestSync } from "./channel.ts";
 *
 * const reply = newReplyBuffer();
 * const refuse = () =>
 *   answer(reply, { error: new PiecrustError("CommitNotFound", "no commit ab", { details: { root: "ab" } }) });
 * const handle = {
 *   directory: "/vm",
 *   port: { postMessage: refuse } as unknown as MessagePort,
 *   reply,
 *   liveness: "",
 * };
 * assert.throws(
 *   () => requestSync(handle, { op: "hold", root: "ab" }),
 *   (e) => e instanceof PiecrustError && e.kind === "CommitNotFound" && e.details.root === "ab",
 * );
 * ```
 */
export function requestSync(handle: DirectoryHandle, request: Request): unknown {
  const header = new Int32Array(handle.reply, 0, HEADER_SLOTS);
  const closed = (): never => {
    throw new PiecrustError("Disposed", `the VM that owns ${handle.directory} is closed`);
  };
  if (Atomics.load(header, CLOSED) === 1) closed();
  Atomics.store(header, STATE, WAITING);
  handle.port.postMessage(request);
  const deadline = Date.now() + ANSWER_TIMEOUT_MS;
  while (Atomics.load(header, STATE) === WAITING) {
    if (Atomics.load(header, CLOSED) === 1) closed();
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new PiecrustError(
        "Timeout",
        `the VM that owns ${handle.directory} did not answer within ${ANSWER_TIMEOUT_MS} ms; ` +
          `its thread must not block while Workers use the directory`,
      );
    }
    Atomics.wait(header, STATE, WAITING, left);
  }
  const length = Atomics.load(header, LENGTH);
  const text = new TextDecoder().decode(new Uint8Array(handle.reply, HEADER_BYTES, length).slice());
  const result = JSON.parse(text) as {
    value?: unknown;
    error?: ErrorData;
  };
  if (result.error !== undefined) throw revive(result.error);
  return result.value;
}
