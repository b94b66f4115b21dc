/**
 * The part of Bun's `bun:ffi` the shim uses, declared here because Deno has
 * no types for it.
 *
 * @module
 */

// deno-lint-ignore no-explicit-any
type NativeFunction = (...args: any[]) => any;

/** A signature in `bun:ffi`'s form. */
export interface BunSignature {
  args: string[];
  returns: string;
}

/** The `bun:ffi` module. */
export interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, BunSignature>,
  ): { symbols: Record<string, NativeFunction>; close(): void };
  ptr(source: ArrayBuffer | ArrayBufferView): number;
  toArrayBuffer(pointer: number, byteOffset: number, length: number): ArrayBuffer;
  JSCallback: new (fn: NativeFunction, signature: BunSignature) => {
    ptr: number | null;
    close(): void;
  };
  CFunction(definition: BunSignature & { ptr: number }): NativeFunction;
}
