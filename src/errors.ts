/**
 * The one error class of the project, distinguished by {@linkcode ErrorKind}.
 *
 * @module
 */

import type { CallTree } from "./session/call_tree.ts";

/**
 * What went wrong, at the level the caller works at. A session reports the
 * reference VM's variants; the engine layer (`./engine`) reports wasm traps
 * and native failures, which a session turns into the reference's.
 *
 * Kinds of the reference VM's `Error` (same names, same meaning):
 * - `OutOfGas`: the call's gas limit was spent (the engine's fuel ran out,
 *   or a host function's charge exceeded what was left).
 * - `Panic`: the contract panicked; the message is the contract's.
 * - `ContractDoesNotExist`: `details.contract` is neither in the session nor
 *   in its base.
 * - `InvalidFunction`: `details.function` is not a callable export, or an
 *   import names no host function.
 * - `InvalidArgumentBuffer`: the module's argument buffer global is missing
 *   or wrong.
 * - `TooManyMemories`: the module exports `details.count` memories, not one.
 * - `InitializationError`: a duplicate deploy id, or `init` called outside
 *   deploy.
 * - `MemoryAccessOutOfBounds`: a host function was given `details.offset` +
 *   `details.length` outside the contract's `details.memoryLength` bytes.
 * - `MissingHostQuery`: no host query named `details.name` is registered.
 * - `MissingFeed`: `feed` outside a feeder call.
 * - `SessionError`: the session cannot do it (e.g. call depth exceeded).
 * - `ContractPositionCollision`: `details.contract` folds onto
 *   `details.position`, which `details.occupant` holds.
 * - `Utf8`: invalid UTF-8 in a name, topic, panic or debug message.
 * - `ValidationError`: bytes do not form a valid archive of the expected type.
 * - `RuntimeError`: any other failure of a contract call; for a wasm trap,
 *   `details.trap` names it (`Unreachable`, `StackOverflow`, ...).
 * - `PersistenceError`: a commit on disk is torn or corrupt, or cannot be
 *   written.
 *
 * Kinds of this VM:
 * - `CommitNotFound`: no commit `details.root` in the VM's directory.
 * - `DirectoryInUse`: another VM writes the directory, or a Worker's handle
 *   is connected already.
 * - `NotOwner`: only the VM that opened the directory can do it, not one
 *   connected to it from a Worker.
 * - `Timeout`: the owning VM did not answer a Worker in time.
 * - `ModuleRemoved`: the compiled module of a contract's bytecode was removed
 *   with `vm.removeModule`; `vm.recompileModule` makes it usable again.
 * - `Disposed`: the object was used after it was closed.
 *
 * Engine and system kinds:
 * - `LibraryError`: libwasmtime is missing, unverified or cannot be loaded.
 * - `ConfigError`: an engine option is out of range.
 * - `CompileError`: bytes are not a valid module for this engine.
 * - `ArtifactError`: a serialized module cannot be written or loaded.
 * - `InstantiationError`: imports do not resolve or a start function failed.
 * - `ExportNotFound`: no export of that name and kind.
 * - `Trap`: wasm trapped; `details.trap` names the trap (`OutOfFuel`,
 *   `Unreachable`, `MemoryOutOfBounds`, `StackOverflow`, ...).
 * - `HostError`: a host function threw; the thrown value is the `cause`.
 * - `DataDriverError`: a contract's data driver is no driver, failed to
 *   encode or decode (the message has the driver's own), trapped or ran out
 *   of fuel.
 * - `MemoryError`: a host memory could not be reserved, mapped, grown,
 *   snapshotted or reverted.
 * - `WasmtimeError`: any other error reported by wasmtime.
 * - `PermissionError`: Deno lacks a permission (the message names the flag
 *   to add, e.g. `--allow-write=<dir>`), or the operating system denied
 *   access to a file.
 * - `ResourceError`: the process or the system ran out of something it
 *   needs: open files (`EMFILE`, `ENFILE`), memory or mappings (`ENOMEM`),
 *   disk space (`ENOSPC`, `EDQUOT`). The message says which limit to raise.
 * - `IOError`: any other failure of the operating system; `cause` has it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ErrorKind, PiecrustError } from "./errors.ts";
 *
 * const retryable: ErrorKind[] = ["ResourceError", "Timeout"];
 * const error = new PiecrustError("Timeout", "no answer");
 * assert.ok(retryable.includes(error.kind));
 * ```
 */
export type ErrorKind =
  | "OutOfGas"
  | "Panic"
  | "ContractDoesNotExist"
  | "InvalidFunction"
  | "InvalidArgumentBuffer"
  | "TooManyMemories"
  | "InitializationError"
  | "MemoryAccessOutOfBounds"
  | "MissingHostQuery"
  | "MissingFeed"
  | "SessionError"
  | "ContractPositionCollision"
  | "Utf8"
  | "ValidationError"
  | "RuntimeError"
  | "PersistenceError"
  | "CommitNotFound"
  | "DirectoryInUse"
  | "NotOwner"
  | "Timeout"
  | "ModuleRemoved"
  | "Disposed"
  | "LibraryError"
  | "ConfigError"
  | "CompileError"
  | "ArtifactError"
  | "InstantiationError"
  | "ExportNotFound"
  | "Trap"
  | "HostError"
  | "DataDriverError"
  | "MemoryError"
  | "WasmtimeError"
  | "PermissionError"
  | "ResourceError"
  | "IOError";

/**
 * The wasm traps wasmtime reports, by name; `Other` for a code it adds later.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError, type TrapName } from "./errors.ts";
 *
 * const trap: TrapName = "Unreachable";
 * const error = new PiecrustError("RuntimeError", "wasm trap", { details: { trap } });
 * assert.equal(error.details.trap, "Unreachable");
 * ```
 */
export type TrapName =
  | "StackOverflow"
  | "MemoryOutOfBounds"
  | "HeapMisaligned"
  | "TableOutOfBounds"
  | "IndirectCallToNull"
  | "BadSignature"
  | "IntegerOverflow"
  | "IntegerDivisionByZero"
  | "BadConversionToInteger"
  | "Unreachable"
  | "Interrupt"
  | "OutOfFuel"
  | "Other";

/**
 * The structured payload of an error, where the reference VM's error has
 * one. Which fields a kind carries is listed at {@linkcode ErrorKind}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContractId, PiecrustError, VM } from "../mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const missing = new ContractId(new Uint8Array(32).fill(9));
 * assert.throws(
 *   () => session.callRaw(missing, "read_value", new Uint8Array(0), 1_000_000n),
 *   (error) =>
 *     error instanceof PiecrustError && error.kind === "ContractDoesNotExist" &&
 *     error.details.contract === missing.toString(),
 * );
 * ```
 */
export interface ErrorDetails {
  /** The contract concerned (lowercase hex id). */
  readonly contract?: string;
  /** The function called. */
  readonly function?: string;
  /** The host query asked for. */
  readonly name?: string;
  /** The commit concerned (lowercase hex root). */
  readonly root?: string;
  /** Where a memory access started, in bytes. */
  readonly offset?: number;
  /** How many bytes a memory access covered. */
  readonly length?: number;
  /** The length of the memory accessed, in bytes. */
  readonly memoryLength?: number;
  /** How many memories a module exports. */
  readonly count?: number;
  /** The folded Merkle position a contract collides at. */
  readonly position?: number;
  /** The contract that holds that position (lowercase hex id). */
  readonly occupant?: string;
  /** The wasm trap, for `Trap` and for a `RuntimeError` that was one. */
  readonly trap?: TrapName;
}

/**
 * Options of {@linkcode PiecrustError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError, type PiecrustErrorOptions } from "./errors.ts";
 *
 * const cause = new Error("disk on fire");
 * const options: PiecrustErrorOptions = { cause, details: { root: "ab" } };
 * const error = new PiecrustError("PersistenceError", "cannot write", options);
 * assert.equal(error.cause, cause);
 * assert.deepEqual(error.details, { root: "ab" });
 * ```
 */
export interface PiecrustErrorOptions {
  /** The underlying error, e.g. what a host function threw. */
  cause?: unknown;
  /** The structured payload; see {@linkcode ErrorDetails}. */
  details?: ErrorDetails;
  /** The wasmtime trap code (`wasmtime_trap_code_t`), for wasm traps. */
  trapCode?: number;
  /** The wasm backtrace wasmtime reported with a trap. */
  wasmBacktrace?: string;
}

const NO_DETAILS: ErrorDetails = Object.freeze({});

/**
 * An error raised by piecrust, with a machine-readable {@linkcode ErrorKind}
 * and, where the reference VM's error has one, a payload in
 * {@linkcode PiecrustError.details}.
 *
 * @example Telling a gas shortage apart
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError, VM } from "../mod.ts";
 * import { contractBytecode } from "./testing/mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 * assert.throws(
 *   () => session.callRaw(counter, "increment", new Uint8Array(0), 1n),
 *   (error) => error instanceof PiecrustError && error.kind === "OutOfGas",
 * );
 * ```
 */
export class PiecrustError extends Error {
  /** What went wrong. */
  readonly kind: ErrorKind;
  /** The structured payload; empty when the kind has none. */
  readonly details: ErrorDetails;
  /** The wasmtime trap code, when the error is a wasm trap. */
  readonly trapCode?: number;
  /** Where in wasm a trap happened, as wasmtime reported it. */
  readonly wasmBacktrace?: string;
  /**
   * For a failed top-level contract call: the calls it made up to the
   * failure, the failed one marked (see `CallTree.trace` and
   * `formatCallTree`).
   */
  callTree?: CallTree;

  /**
   * Creates an error of the given kind.
   *
   * @param kind What went wrong.
   * @param message A sentence for people: what happened and what to do.
   * @param options The cause, payload and trap code, if any.
   */
  constructor(kind: ErrorKind, message: string, options?: PiecrustErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PiecrustError";
    this.kind = kind;
    this.details = options?.details ?? NO_DETAILS;
    if (options?.trapCode !== undefined) this.trapCode = options.trapCode;
    if (options?.wasmBacktrace !== undefined) this.wasmBacktrace = options.wasmBacktrace;
  }
}

/** What to do about each resource limit, by errno name. */
const RESOURCE_HINTS: Record<string, string> = {
  EMFILE: "the process has too many open files: raise its limit (`ulimit -n`, " +
    "`LimitNOFILE=`) or close sessions, each of which holds one or two descriptors " +
    "per contract it has used",
  ENFILE: "the system has too many open files: raise `fs.file-max` or close sessions",
  ENOMEM: "out of memory or of memory mappings: free memory, close sessions, or raise " +
    "`vm.max_map_count`",
  ENOSPC: "the disk is full: free space on it",
  EDQUOT: "the disk quota is exhausted: free space or raise the quota",
};

/** Errno names of a denied access. */
const DENIED = new Set(["EACCES", "EPERM", "EROFS"]);

/**
 * The kind and message for a failed system call, by its errno name (as in
 * `Error.code`): `ResourceError` for an exhausted limit, `PermissionError`
 * for a denied access, else `IOError`. `what` says what was being done.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errnoError } from "./errors.ts";
 *
 * const error = errnoError("EMFILE", "opening a.pages", "Too many open files");
 * assert.equal(error.kind, "ResourceError");
 * assert.match(error.message, /ulimit -n/);
 * ```
 */
export function errnoError(
  code: string,
  what: string,
  text: string,
  options?: PiecrustErrorOptions,
): PiecrustError {
  const hint = RESOURCE_HINTS[code];
  if (hint !== undefined) {
    return new PiecrustError("ResourceError", `${what} failed (${text}): ${hint}`, options);
  }
  if (DENIED.has(code)) {
    return new PiecrustError(
      "PermissionError",
      `${what} failed (${text}): the operating system denied access; check the owner and ` +
        "mode of the file and of its folder",
      options,
    );
  }
  return new PiecrustError("IOError", `${what} failed: ${text}`, options);
}

/**
 * `error` as a {@linkcode PiecrustError} if Deno raised it for a system call
 * or a missing permission, else `error` itself. A missing permission
 * (`Deno.errors.NotCapable`) becomes a `PermissionError` whose message has
 * Deno's, which names the flag to add; any other error with an errno `code`
 * goes through {@linkcode errnoError}. Wrap what Deno's file, environment
 * and FFI APIs throw with this before it leaves the VM.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError, systemError } from "./errors.ts";
 *
 * try {
 *   Deno.readFileSync("/no/such/file");
 * } catch (error) {
 *   const converted = systemError(error, "reading the file");
 *   assert.ok(converted instanceof PiecrustError);
 *   assert.equal(converted.kind, "IOError");
 * }
 * ```
 */
export function systemError(error: unknown, what: string): unknown {
  if (error instanceof PiecrustError || !(error instanceof Error)) return error;
  if (error instanceof Deno.errors.NotCapable) {
    return new PiecrustError(
      "PermissionError",
      `${what} needs a permission: ${error.message}. piecrust needs --allow-ffi, ` +
        "--allow-env, and --allow-read and --allow-write on the VM's folder (for " +
        "VM.ephemeral, the temporary folder)",
      { cause: error },
    );
  }
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code !== "string") return error;
  return errnoError(code, what, error.message, { cause: error });
}
