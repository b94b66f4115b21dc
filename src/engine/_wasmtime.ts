/**
 * Internal helpers shared by the engine classes: strings, owned wasmtime
 * errors and traps, and the count of live native handles that tests use to
 * prove nothing leaks.
 *
 * @module
 */

import { wasmtime } from "../native/library.ts";
import { StructSize, TrapCode } from "../../ffi/libwasmtime.ts";
import { type ErrorKind, PiecrustError, type TrapName } from "../errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of `text`. */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

/** UTF-8 bytes of `text` followed by a NUL byte. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`${text}\0`);
}

/** A pointer to the start of `buffer`, which must be off-heap and never move. */
export function pointerOf(buffer: ArrayBuffer | ArrayBufferView): Deno.PointerObject {
  const pointer = Deno.UnsafePointer.of(buffer as BufferSource);
  if (pointer === null) throw new RangeError("cannot take the address of an empty buffer");
  return pointer;
}

/** An out-parameter slot for one pointer, with its address resolved once. */
export class PointerSlot {
  readonly #words = new BigUint64Array(new ArrayBuffer(8));
  /** The address of the slot, to pass as a `T**` argument. */
  readonly address: Deno.PointerObject = pointerOf(this.#words);

  /** The pointer stored in the slot, or null. */
  get(): Deno.PointerValue {
    return Deno.UnsafePointer.create(this.#words[0]);
  }

  /** Resets the slot to null. */
  clear(): void {
    this.#words[0] = 0n;
  }
}

/** Copies and frees a `wasm_byte_vec_t` filled by wasmtime. */
function takeByteVec(vec: Uint8Array<ArrayBuffer>, dropTrailingNul: boolean): string {
  const view = new DataView(vec.buffer);
  const size = Number(view.getBigUint64(0, true));
  const data = Deno.UnsafePointer.create(view.getBigUint64(8, true));
  let text = "";
  if (data !== null && size > 0) {
    const length = dropTrailingNul ? size - 1 : size;
    text = decoder.decode(new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(data, length)));
  }
  wasmtime().wasm_byte_vec_delete(pointerOf(vec));
  return text;
}

/** Reads the message of an owned `wasmtime_error_t` and frees it. */
export function takeErrorMessage(error: Deno.PointerObject): string {
  const lib = wasmtime();
  const vec = new Uint8Array(StructSize.BYTE_VEC);
  lib.wasmtime_error_message(error, pointerOf(vec));
  lib.wasmtime_error_delete(error);
  return takeByteVec(vec, false);
}

/** Reads the code and message of an owned `wasm_trap_t` and frees it. */
function takeTrap(trap: Deno.PointerObject): { code: number | undefined; message: string } {
  const lib = wasmtime();
  const codeOut = new Uint8Array(1);
  const hasCode = lib.wasmtime_trap_code(trap, pointerOf(codeOut));
  const vec = new Uint8Array(StructSize.BYTE_VEC);
  lib.wasm_trap_message(trap, pointerOf(vec));
  lib.wasm_trap_delete(trap);
  return { code: hasCode ? codeOut[0] : undefined, message: takeByteVec(vec, true) };
}

/** Throws a `kind` error with the message of an owned `wasmtime_error_t`. */
export function throwError(kind: ErrorKind, context: string, error: Deno.PointerObject): never {
  throw new PiecrustError(kind, `${context}: ${takeErrorMessage(error)}`);
}

const TRAP_NAMES: ReadonlyMap<number, TrapName> = new Map<number, TrapName>([
  [TrapCode.STACK_OVERFLOW, "StackOverflow"],
  [TrapCode.MEMORY_OUT_OF_BOUNDS, "MemoryOutOfBounds"],
  [TrapCode.HEAP_MISALIGNED, "HeapMisaligned"],
  [TrapCode.TABLE_OUT_OF_BOUNDS, "TableOutOfBounds"],
  [TrapCode.INDIRECT_CALL_TO_NULL, "IndirectCallToNull"],
  [TrapCode.BAD_SIGNATURE, "BadSignature"],
  [TrapCode.INTEGER_OVERFLOW, "IntegerOverflow"],
  [TrapCode.INTEGER_DIVISION_BY_ZERO, "IntegerDivisionByZero"],
  [TrapCode.BAD_CONVERSION_TO_INTEGER, "BadConversionToInteger"],
  [TrapCode.UNREACHABLE_CODE_REACHED, "Unreachable"],
  [TrapCode.INTERRUPT, "Interrupt"],
  [TrapCode.OUT_OF_FUEL, "OutOfFuel"],
]);

/**
 * What a host function threw, kept until the wasm call that it aborted
 * returns. A host trap comes back as a plain `wasmtime_error_t` without a
 * code (from `wasmtime_trap_new`, or as the error return rather than the
 * trap out-parameter), so the structured reason lives here instead of in
 * the message.
 * Host errors are strictly nested (an inner call always returns before the
 * host function around it), so the innermost failing call takes the latest.
 */
let pendingHostError: { error: unknown } | undefined;

/** Records what a host function threw; see {@linkcode callFailure}. */
export function setPendingHostError(error: unknown): void {
  pendingHostError = { error };
}

/**
 * The typed error for a failed wasm entry (`func_call`, `instantiate`): a
 * host function's exception if one aborted it, else the trap's kind, else
 * wasmtime's error.
 */
export function callFailure(
  error: Deno.PointerValue,
  trap: Deno.PointerValue,
  fallbackKind: ErrorKind,
): PiecrustError {
  const hostError = pendingHostError;
  pendingHostError = undefined;
  let message = "";
  let code: number | undefined;
  if (trap !== null) ({ code, message } = takeTrap(trap));
  if (error !== null) message = takeErrorMessage(error);
  if (hostError !== undefined) {
    const reason = hostError.error instanceof Error
      ? hostError.error.message
      : String(hostError.error);
    return new PiecrustError("HostError", `host function failed: ${reason}`, {
      cause: hostError.error,
    });
  }
  const { reason, backtrace } = splitBacktrace(message);
  if (code === undefined) {
    return new PiecrustError(fallbackKind, reason, { wasmBacktrace: backtrace });
  }
  const details = { trap: TRAP_NAMES.get(code) ?? "Other" };
  return new PiecrustError("Trap", reason, { details, trapCode: code, wasmBacktrace: backtrace });
}

/**
 * wasmtime formats a trap as "error while executing at wasm backtrace:\n
 * <frames>\n\nCaused by:\n    <reason>"; keep the reason as the message.
 */
function splitBacktrace(message: string): { reason: string; backtrace?: string } {
  const marker = message.indexOf("\n\nCaused by:\n");
  if (marker < 0) return { reason: message };
  return {
    reason: message.slice(marker + "\n\nCaused by:\n".length).trim(),
    backtrace: message.slice(0, marker),
  };
}

/** Throws a `Disposed` error naming what was used after `close()`. */
export function throwDisposed(what: string): never {
  throw new PiecrustError("Disposed", `the ${what} was used after it was closed`);
}
