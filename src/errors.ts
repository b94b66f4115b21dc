/**
 * The one error class of the project, distinguished by {@linkcode ErrorKind}.
 *
 * @module
 */

/**
 * What went wrong. Engine-level kinds describe wasm traps and native
 * failures; later layers map them onto the reference VM's variants.
 *
 * - `LibraryError`: libwasmtime is missing, unverified or cannot be loaded.
 * - `ConfigError`: an engine option is out of range.
 * - `CompileError`: bytes are not a valid module for this engine.
 * - `ArtifactError`: a serialized module cannot be written or loaded.
 * - `InstantiationError`: imports do not resolve or a start function failed.
 * - `ExportNotFound`: no export of that name and kind.
 * - `OutOfFuel`, `Unreachable`, `MemoryOutOfBounds`, `StackOverflow`: the
 *   wasm trap of that name.
 * - `Trap`: any other wasm trap; {@linkcode PiecrustError.trapCode} has its code.
 * - `HostError`: a host function threw; the thrown value is the `cause`.
 * - `MemoryError`: a host memory could not be reserved, mapped, grown,
 *   snapshotted or reverted.
 * - `ValidationError`: bytes do not form a valid archive of the expected type.
 * - `ModuleRemoved`: the compiled module of a contract's bytecode was removed
 *   with `vm.removeModule`; `vm.recompileModule` makes it usable again.
 *
 * Kinds of the reference VM's `Error` (same names, same meaning):
 * `OutOfGas`, `Panic` (the message is the contract's), `ContractDoesNotExist`,
 * `InvalidFunction`, `InvalidArgumentBuffer`, `TooManyMemories`,
 * `InitializationError`, `MemoryAccessOutOfBounds`, `MissingHostQuery`,
 * `MissingFeed`, `SessionError` (e.g. call depth exceeded),
 * `ContractPositionCollision`, `Utf8`, `RuntimeError` (any other failure of
 * a contract call), `PersistenceError` (a commit on disk is missing, torn or
 * corrupt, or cannot be written).
 * - `Disposed`: the object was used after it was closed.
 * - `WasmtimeError`: any other error reported by wasmtime.
 * - `PermissionError`: Deno lacks a permission (the message names the flag
 *   to add, e.g. `--allow-write=<dir>`), or the operating system denied
 *   access to a file.
 * - `ResourceError`: the process or the system ran out of something it
 *   needs: open files (`EMFILE`, `ENFILE`), memory or mappings (`ENOMEM`),
 *   disk space (`ENOSPC`, `EDQUOT`). The message says which limit to raise.
 * - `IOError`: any other failure of the operating system; `cause` has it.
 */
export type ErrorKind =
  | "LibraryError"
  | "ConfigError"
  | "CompileError"
  | "ArtifactError"
  | "InstantiationError"
  | "ExportNotFound"
  | "OutOfFuel"
  | "Unreachable"
  | "MemoryOutOfBounds"
  | "StackOverflow"
  | "Trap"
  | "HostError"
  | "MemoryError"
  | "ValidationError"
  | "ModuleRemoved"
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
  | "RuntimeError"
  | "PersistenceError"
  | "Disposed"
  | "WasmtimeError"
  | "PermissionError"
  | "ResourceError"
  | "IOError";

/** Options of {@linkcode PiecrustError}. */
export interface PiecrustErrorOptions {
  /** The underlying error, e.g. what a host function threw. */
  cause?: unknown;
  /** The wasmtime trap code (`wasmtime_trap_code_t`), for wasm traps. */
  trapCode?: number;
  /** The wasm backtrace wasmtime reported with a trap. */
  wasmBacktrace?: string;
}

/**
 * An error raised by piecrust, with a machine-readable {@linkcode ErrorKind}.
 *
 * @example Telling an out-of-fuel trap apart
 * ```ts
 * import { PiecrustError } from "./errors.ts";
 *
 * const error = new PiecrustError("OutOfFuel", "all fuel consumed");
 * if (error instanceof PiecrustError && error.kind === "OutOfFuel") {
 *   console.log("raise the gas limit");
 * }
 * ```
 */
export class PiecrustError extends Error {
  /** What went wrong. */
  readonly kind: ErrorKind;
  /** The wasmtime trap code, when the error is a wasm trap. */
  readonly trapCode?: number;
  /** Where in wasm a trap happened, as wasmtime reported it. */
  readonly wasmBacktrace?: string;

  /**
   * Creates an error of the given kind.
   *
   * @param kind What went wrong.
   * @param message A sentence for people: what happened and what to do.
   * @param options The cause and trap code, if any.
   */
  constructor(kind: ErrorKind, message: string, options?: PiecrustErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PiecrustError";
    this.kind = kind;
    if (options?.trapCode !== undefined) this.trapCode = options.trapCode;
    if (options?.wasmBacktrace !== undefined) this.wasmBacktrace = options.wasmBacktrace;
  }
}

/** What to do about each resource limit, by errno name. */
const RESOURCE_HINTS: Record<string, string> = {
  EMFILE: "the process has too many open files: raise its limit (`ulimit -n`, " +
    "`LimitNOFILE=`) or close sessions, each of which holds about two descriptors " +
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
