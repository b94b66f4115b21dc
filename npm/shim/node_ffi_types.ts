/**
 * The part of Node.js 26's `node:ffi` the shim uses, declared here because
 * Deno's bundled Node.js types predate the module.
 *
 * @module
 */

// deno-lint-ignore no-explicit-any
type NativeFunction = (...args: any[]) => any;

/** A signature in `node:ffi`'s form. */
export interface NodeSignature {
  arguments: string[];
  return: string;
}

/** `node:ffi`'s `DynamicLibrary`. */
export interface NodeLibrary {
  getFunction(name: string, signature: NodeSignature): NativeFunction;
  registerCallback(signature: NodeSignature, fn: NativeFunction): bigint;
  unregisterCallback(pointer: bigint): void;
  close(): void;
}

/** The `node:ffi` module. */
export interface NodeFfi {
  DynamicLibrary: new (path: string) => NodeLibrary;
  getRawPointer(source: ArrayBuffer | ArrayBufferView): bigint;
  toArrayBuffer(pointer: bigint, length: number, copy: boolean): ArrayBuffer;
  toString(pointer: bigint): string;
}
