/**
 * Native stack headroom for wasm. Wasm, the host functions it calls and V8
 * share one native stack per thread, and two limits apply to it:
 *
 * - wasmtime stops wasm at `max_wasm_stack` bytes below the point where a
 *   store was first entered (a `StackOverflow` trap, harmless);
 * - V8 refuses to run JS below its stack limit. A host function or a
 *   memory-creator callback entered below that limit cannot even start, and
 *   Deno or wasmtime then abort the process.
 *
 * So before wasm of a store is entered, there must be room for
 * `max_wasm_stack` of wasm and, below its deepest frame,
 * {@linkcode HOST_STACK_RESERVE} for whatever host code runs there. The
 * floor that room is measured against is found once per thread by probing
 * V8's limit.
 *
 * @module
 */

import { PTHREAD_ATTR_SIZE, UCONTEXT_RSP_OFFSET, UCONTEXT_SIZE } from "../../ffi/libc.ts";
import { libc } from "../native/library.ts";
import { PiecrustError } from "../errors.ts";

const KiB = 1024;

/**
 * Stack that host code may use below the deepest wasm frame: Deno's FFI
 * callback trampoline, V8's entry frames and the VM's host functions up to
 * the point where they enter wasm again (an inter-contract call instantiates
 * its callee first; wasmtime's instantiation and the memory creator's
 * callback run there). The deepest of these was measured at about 40 KiB;
 * this is three times that.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HOST_STACK_RESERVE, stackHeadroom } from "./stack_guard.ts";
 *
 * assert.ok(stackHeadroom() > HOST_STACK_RESERVE);
 * ```
 */
export const HOST_STACK_RESERVE = 64 * KiB;

/**
 * Stack kept free beyond the thread's last mapped byte: the guard page and
 * what a signal delivered on this stack needs.
 */
const THREAD_STACK_MARGIN = 64 * KiB;

const context = new Uint32Array(UCONTEXT_SIZE / 4);
/** Resolved on first use: taking a pointer needs the FFI permission, importing must not. */
let contextPointer: Deno.PointerValue | undefined;
const RSP_LOW = UCONTEXT_RSP_OFFSET / 4;

/**
 * The calling thread's native stack pointer (as seen by a libc call made
 * from here). A `number`: user-space addresses fit in 47 bits, and a number
 * keeps the check allocation-free.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stackPointer } from "./stack_guard.ts";
 *
 * const outer = stackPointer();
 * const inner = ((depth: number): number => depth === 0 ? stackPointer() : 0)(0);
 * assert.ok(inner <= outer); // the stack grows down
 * ```
 */
export function stackPointer(): number {
  libc().getcontext(contextPointer ??= Deno.UnsafePointer.of(context));
  return context[RSP_LOW] + context[RSP_LOW + 1] * 2 ** 32;
}

/** The thread's stack bounds: `[low, high)`. */
function threadStack(): { low: number; high: number } {
  const lib = libc();
  const attr = new Uint8Array(PTHREAD_ATTR_SIZE);
  const address = new BigUint64Array(1);
  const size = new BigUint64Array(1);
  if (lib.pthread_getattr_np(lib.pthread_self(), attr) !== 0) {
    throw new PiecrustError("Trap", "cannot read the bounds of this thread's stack", {
      details: { trap: "StackOverflow" },
    });
  }
  try {
    lib.pthread_attr_getstack(attr, address, size);
  } finally {
    lib.pthread_attr_destroy(attr);
  }
  return { low: Number(address[0]), high: Number(address[0] + size[0]) };
}

/** Frames of about 16 KiB each (the spread arguments live in the frame). */
const WIDE_ARGUMENTS: number[] = new Array(2048).fill(0);

/** Recurses in wide frames to near V8's limit, then finds it within a few bytes. */
function probeWide(..._: number[]): number {
  try {
    return probeWide(...WIDE_ARGUMENTS);
  } catch {
    // Within 16 KiB of the limit: narrow frames from here. If even this
    // frame has no room left, the exception lands in the caller's catch.
    return probeNarrow();
  }
}

function probeNarrow(): number {
  try {
    return probeNarrow();
  } catch {
    return stackPointer();
  }
}

interface ThreadBudget {
  /** The lowest address that JS, wasm and host code may reach on this thread. */
  readonly floor: number;
  /** The thread's highest stack address. */
  readonly high: number;
}

/** Per isolate, and so per thread: each Worker evaluates this module anew. */
let budget: ThreadBudget | undefined;

function threadBudget(): ThreadBudget {
  if (budget === undefined) {
    const stack = threadStack();
    // V8's limit is normally far above the thread's end (8 MiB main stacks,
    // 4 MiB Worker stacks, about 1 MiB for V8); the max covers embedders
    // with smaller thread stacks.
    const floor = Math.max(probeWide(), stack.low + THREAD_STACK_MARGIN);
    budget = { floor, high: stack.high };
  }
  return budget;
}

/**
 * Bytes of stack left to the calling code on this thread before V8's limit
 * (or the thread's end, if that comes first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stackHeadroom } from "./stack_guard.ts";
 *
 * assert.ok(stackHeadroom() > 256 * 1024);
 * ```
 */
export function stackHeadroom(): number {
  return stackPointer() - threadBudget().floor;
}

/**
 * The most stack this thread offers to code called from its outermost
 * frame: from the top of the thread's stack to the floor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stackHeadroom, threadStackBudget } from "./stack_guard.ts";
 *
 * assert.ok(threadStackBudget() >= stackHeadroom());
 * ```
 */
export function threadStackBudget(): number {
  const { floor, high } = threadBudget();
  return high - floor;
}

/**
 * Throws a `Trap` {@linkcode PiecrustError} (`details.trap` is
 * `StackOverflow`) unless `bytes` of stack are left above this thread's
 * floor. Called before entering wasm; nothing has run yet when it throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { ensureStack, stackHeadroom } from "./stack_guard.ts";
 *
 * ensureStack(64 * 1024);
 * assert.throws(
 *   () => ensureStack(stackHeadroom() + 1024 * 1024),
 *   (e) => e instanceof PiecrustError && e.kind === "Trap" && e.details.trap === "StackOverflow",
 * );
 * ```
 */
export function ensureStack(bytes: number): void {
  const headroom = stackHeadroom();
  if (headroom < bytes) {
    throw new PiecrustError(
      "Trap",
      `not enough native stack to enter wasm: ${Math.floor(headroom / KiB)} KiB left, ` +
        `${bytes / KiB} KiB needed (maxWasmStack + ${HOST_STACK_RESERVE / KiB} KiB for host calls)`,
      { details: { trap: "StackOverflow" } },
    );
  }
}
