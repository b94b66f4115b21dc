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
  | "WasmtimeError";

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
