/**
 * Native out-parameters and call frames without allocation.
 *
 * A fresh `ArrayBuffer` and `Deno.UnsafePointer.of` cost about a
 * microsecond each, more than the native call they serve, and a top-level
 * contract call used to make a dozen. Instead every hot native call takes a
 * frame from one off-heap buffer per isolate and returns it when the call
 * ends. Calls into wasm nest (a host function calls wasm again), always in
 * last-in-first-out order, so frames are a stack.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";

/** Bytes of the stack: far more than the native stack lets calls nest. */
const CAPACITY = 256 * 1024;
/** Frames start at multiples of this, so every 8-byte field is aligned. */
const ALIGN = 16;

/**
 * A stack of frames in one off-heap buffer; see the module comment.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scratch } from "./_scratch.ts";
 *
 * const stack = scratch();
 * const frame = stack.push(24);
 * stack.view.setUint32(frame, 7, true);
 * assert.equal(stack.bytes[frame], 7);
 * stack.pop(frame);
 * ```
 */
export class ScratchStack {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly view: DataView<ArrayBuffer>;
  readonly #base: Deno.PointerObject;
  /** Pointer objects by offset ÷ ALIGN, made once each. */
  readonly #pointers: (Deno.PointerObject | undefined)[] = [];
  #top = 0;

  constructor() {
    const buffer = new ArrayBuffer(CAPACITY);
    this.bytes = new Uint8Array(buffer);
    this.view = new DataView(buffer);
    this.#base = Deno.UnsafePointer.of(buffer)!;
  }

  /**
   * Takes `byteLength` bytes (not zeroed) and returns their offset. Throws a
   * `Trap` of kind `StackOverflow` if calls nest deeper than the stack holds.
   */
  push(byteLength: number): number {
    const offset = this.#top;
    const top = offset + Math.ceil(byteLength / ALIGN) * ALIGN;
    if (top > CAPACITY) {
      throw new PiecrustError("Trap", "calls into wasm nest too deeply", {
        details: { trap: "StackOverflow" },
      });
    }
    this.#top = top;
    return offset;
  }

  /** Returns the frame at `offset` and every frame pushed after it. */
  pop(offset: number): void {
    this.#top = offset;
  }

  /** The address of byte `offset` (a frame's start, or a field at a multiple of 16). */
  pointer(offset: number): Deno.PointerObject {
    const index = offset / ALIGN;
    let pointer = this.#pointers[index];
    if (pointer === undefined) {
      pointer = Deno.UnsafePointer.offset(this.#base, offset)!;
      this.#pointers[index] = pointer;
    }
    return pointer;
  }
}

let stack: ScratchStack | undefined;

/**
 * The isolate's scratch stack, made on first use (taking its address needs
 * the FFI permission, and importing this module must not).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scratch } from "./_scratch.ts";
 *
 * assert.equal(scratch(), scratch());
 * ```
 */
export function scratch(): ScratchStack {
  stack ??= new ScratchStack();
  return stack;
}

/**
 * A 16-byte wasmtime handle (`wasmtime_func_t`, `wasmtime_instance_t`: a
 * store id and an index) kept as four u32 words, to be copied into a frame.
 */
export type Handle16 = readonly [number, number, number, number];

/**
 * The 16-byte handle at byte `offset` of `view`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readHandle16, writeHandle16 } from "./_scratch.ts";
 *
 * const view = new DataView(new ArrayBuffer(32));
 * writeHandle16(view, 16, [1, 2, 3, 4]);
 * assert.deepEqual(readHandle16(view, 16), [1, 2, 3, 4]);
 * ```
 */
export function readHandle16(view: DataView, offset: number): Handle16 {
  return [
    view.getUint32(offset, true),
    view.getUint32(offset + 4, true),
    view.getUint32(offset + 8, true),
    view.getUint32(offset + 12, true),
  ];
}

/** Writes `handle` at byte `offset` of `view`; see {@linkcode readHandle16}. */
export function writeHandle16(view: DataView, offset: number, handle: Handle16): void {
  view.setUint32(offset, handle[0], true);
  view.setUint32(offset + 4, handle[1], true);
  view.setUint32(offset + 8, handle[2], true);
  view.setUint32(offset + 12, handle[3], true);
}
