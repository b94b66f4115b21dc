/**
 * Deno's FFI (`Deno.dlopen`, `UnsafePointer`, `UnsafePointerView`,
 * `UnsafeCallback`, `UnsafeFnPointer`) over Node.js's `node:ffi` and Bun's
 * `bun:ffi`, as far as the VM uses it. The sources keep Deno's semantics:
 * a pointer is an opaque value or `null`, 64-bit integers are bigints and
 * `bool` is a boolean. Underneath, a pointer is a bigint on Node.js and a
 * number on Bun, as each runtime's FFI gives them.
 *
 * @module
 */

import process from "node:process";
import type { NodeFfi, NodeLibrary } from "./node_ffi_types.ts";
import type { BunFfi } from "./bun_ffi_types.ts";

/** A pointer as the shim hands it out: never zero (that is `null`). */
export type Pointer = bigint | number;

/** A Deno FFI type name as the VM's symbol tables use them. */
type DenoType =
  | "void"
  | "bool"
  | "u8"
  | "i8"
  | "u16"
  | "i16"
  | "u32"
  | "i32"
  | "u64"
  | "i64"
  | "usize"
  | "isize"
  | "f32"
  | "f64"
  | "pointer"
  | "buffer"
  | "function";

/** A symbol or callback definition in Deno's form. */
export interface Definition {
  readonly parameters: readonly DenoType[];
  readonly result: DenoType;
  readonly optional?: boolean;
}

// deno-lint-ignore no-explicit-any
type NativeFunction = (...args: any[]) => any;

/** An opened library: its functions by name, null for a missing optional one. */
interface Opened {
  symbols: Record<string, NativeFunction | null>;
  close(): void;
}

/** A registered callback. */
interface CallbackHandle {
  pointer: Pointer;
  close(): void;
  ref(): void;
  unref(): void;
}

/** What differs between the runtimes; everything else is shared. */
interface Backend {
  /** Opens `path` and resolves each definition (null for a missing optional one). */
  open(path: string, definitions: Record<string, Definition>): Opened;
  fromAddress(address: bigint): Pointer | null;
  address(pointer: Pointer): bigint;
  of(buffer: ArrayBuffer | ArrayBufferView): Pointer | null;
  offset(pointer: Pointer, bytes: number): Pointer | null;
  arrayBuffer(pointer: Pointer, length: number, offset: number): ArrayBuffer;
  callback(definition: Definition, fn: NativeFunction): CallbackHandle;
  fnPointer(pointer: Pointer, definition: Definition): NativeFunction;
}

const is64Bit = (type: DenoType) =>
  type === "u64" || type === "i64" || type === "usize" || type === "isize";
const isPointer = (type: DenoType) =>
  type === "pointer" || type === "buffer" || type === "function";

/**
 * `buffer`, its bytes moved to where they stay. V8 and JavaScriptCore keep a
 * small typed array's bytes in their moving heaps until something asks for
 * its buffer; then the bytes move (JavaScriptCore's optimizing JIT also asks
 * on its own), and an address taken before dangles. Asking first moves them
 * now, once. Native code may call back into JavaScript, which may collect
 * or compile, so even an address used only during one call needs this.
 */
function settled<T extends ArrayBuffer | ArrayBufferView>(buffer: T): T {
  if (ArrayBuffer.isView(buffer)) void buffer.buffer;
  return buffer;
}

/** Deno takes a number or a bigint for a 64-bit integer; Node.js only a bigint. */
const toBigInt = (value: number | bigint) => typeof value === "bigint" ? value : BigInt(value);

/**
 * `fn` with its arguments and result converted from and to Deno's forms.
 * Only the positions that need a conversion pay for one.
 */
function adapt(
  fn: NativeFunction,
  parameters: readonly ((value: never) => unknown)[] | undefined,
  result: ((value: never) => unknown) | undefined,
): NativeFunction {
  if (parameters === undefined) {
    return result === undefined ? fn : (...args) => result(fn(...args) as never);
  }
  return (...args) => {
    for (let i = 0; i < parameters.length; i++) {
      const convert = parameters[i];
      if (convert !== undefined) args[i] = convert(args[i] as never);
    }
    const value = fn(...args);
    return result === undefined ? value : result(value as never);
  };
}

/** Per-parameter converters, or undefined when no parameter needs one. */
function converters(
  types: readonly DenoType[],
  converterOf: (type: DenoType) => ((value: never) => unknown) | undefined,
): ((value: never) => unknown)[] | undefined {
  const list = types.map(converterOf);
  return list.some((convert) => convert !== undefined)
    ? list as ((value: never) => unknown)[]
    : undefined;
}

function nodeBackend(ffi: NodeFfi): Backend {
  const typeName = (type: DenoType): string => {
    if (isPointer(type)) return "pointer";
    switch (type) {
      case "usize":
        return "uint64";
      case "isize":
        return "int64";
      case "bool":
        return "uint8";
      default:
        return type;
    }
  };
  const signature = (definition: Definition) => ({
    arguments: definition.parameters.map(typeName),
    return: typeName(definition.result),
  });
  /** A pointer from Node.js: a bigint, 0n for null. */
  const pointerIn = (value: bigint) => value === 0n ? null : value;
  const fromNative = (type: DenoType) => {
    if (isPointer(type)) return pointerIn;
    if (type === "bool") return (value: number) => value !== 0;
    return undefined;
  };
  const toNative = (type: DenoType) => {
    if (is64Bit(type)) return toBigInt;
    if (type === "bool") return (value: boolean) => value ? 1 : 0;
    if (isPointer(type)) return (value: bigint | null) => value ?? 0n;
    return undefined;
  };
  /**
   * A typed array or buffer given for a `buffer` parameter, as its address:
   * node:ffi takes one as it is too, but by a path some 500 ns slower per call.
   */
  const bufferIn = (value: ArrayBuffer | ArrayBufferView | null) =>
    value === null || value.byteLength === 0 ? null : ffi.getRawPointer(settled(value));
  /** An argument from the sources: pointers (null or bigint) pass as they are. */
  const argument = (type: DenoType) =>
    type === "buffer" ? bufferIn : isPointer(type) ? undefined : toNative(type);
  // Callbacks belong to a library in node:ffi and die with it: one that is never closed.
  let callbackLibrary: NodeLibrary | undefined;
  const callbacks = () => callbackLibrary ??= new ffi.DynamicLibrary("libc.so.6");
  // Node.js calls functions by name only: a function pointer is named through dladdr.
  let dladdr: NativeFunction | undefined;
  const libraries = new Map<string, NodeLibrary>();
  return {
    open(path, definitions): Opened {
      const library = new ffi.DynamicLibrary(path);
      const symbols: Record<string, NativeFunction | null> = {};
      for (const [name, definition] of Object.entries(definitions)) {
        let fn: NativeFunction;
        try {
          fn = library.getFunction(name, signature(definition));
        } catch (error) {
          if (definition.optional) {
            symbols[name] = null;
            continue;
          }
          library.close();
          throw error;
        }
        symbols[name] = adapt(
          fn,
          converters(definition.parameters, argument),
          fromNative(definition.result),
        );
      }
      return { symbols, close: () => library.close() };
    },
    fromAddress: (address) => address === 0n ? null : address,
    address: (pointer) => BigInt(pointer),
    of(buffer): Pointer | null {
      return buffer.byteLength === 0 ? null : ffi.getRawPointer(settled(buffer));
    },
    offset: (pointer, bytes) => pointerIn(BigInt(pointer) + BigInt(bytes)),
    arrayBuffer: (pointer, length, offset) =>
      ffi.toArrayBuffer(BigInt(pointer) + BigInt(offset), length, false),
    callback(definition, fn): CallbackHandle {
      const library = callbacks();
      const pointer = library.registerCallback(
        signature(definition),
        adapt(
          fn,
          converters(definition.parameters, fromNative),
          toNative(definition.result),
        ),
      );
      return {
        pointer,
        close: () => library.unregisterCallback(pointer),
        // Deno's unref lets the process exit; node:ffi's makes the function
        // collectable, after which native calls to it silently return 0.
        // Node.js callbacks never keep the process alive: nothing to do.
        ref: () => {},
        unref: () => {},
      };
    },
    fnPointer(pointer, definition): NativeFunction {
      dladdr ??= new ffi.DynamicLibrary("libc.so.6").getFunction("dladdr", {
        arguments: ["pointer", "pointer"],
        return: "int32",
      });
      // Dl_info: dli_fname, dli_fbase, dli_sname, dli_saddr.
      const info = new BigUint64Array(4);
      if (dladdr(BigInt(pointer), info) === 0 || info[0] === 0n || info[2] === 0n) {
        throw new Error(`no exported symbol at ${pointer}: Node.js calls functions by name only`);
      }
      const file = ffi.toString(info[0]);
      let library = libraries.get(file);
      if (library === undefined) {
        library = new ffi.DynamicLibrary(file);
        libraries.set(file, library);
      }
      const fn = library.getFunction(ffi.toString(info[2]), signature(definition));
      return adapt(
        fn,
        converters(definition.parameters, argument),
        fromNative(definition.result),
      );
    },
  };
}

function bunBackend(ffi: BunFfi): Backend {
  const typeName = (type: DenoType): string => {
    if (isPointer(type)) return "ptr";
    if (type === "usize") return "u64";
    if (type === "isize") return "i64";
    return type;
  };
  const signature = (definition: Definition) => ({
    args: definition.parameters.map(typeName),
    returns: typeName(definition.result),
  });
  // Bun gives pointers as numbers (0 as null) and takes typed arrays where a pointer goes.
  const pointerIn = (value: number | null) => value === 0 ? null : value;
  const bufferIn = (value: ArrayBuffer | ArrayBufferView | null) =>
    value === null ? null : settled(value);
  return {
    open(path, definitions): Opened {
      const wanted: Record<string, { args: string[]; returns: string }> = {};
      const missing: string[] = [];
      for (const [name, definition] of Object.entries(definitions)) {
        wanted[name] = signature(definition);
      }
      let library: ReturnType<BunFfi["dlopen"]>;
      try {
        library = ffi.dlopen(path, wanted);
      } catch (error) {
        // Bun resolves all symbols at once: retry without the optional ones it lacks.
        for (const [name, definition] of Object.entries(definitions)) {
          if (!definition.optional) continue;
          try {
            ffi.dlopen(path, { [name]: wanted[name] }).close();
          } catch {
            missing.push(name);
            delete wanted[name];
          }
        }
        if (missing.length === 0) throw error;
        library = ffi.dlopen(path, wanted);
      }
      const symbols: Record<string, NativeFunction | null> = {};
      for (const [name, definition] of Object.entries(definitions)) {
        symbols[name] = missing.includes(name) ? null : adapt(
          library.symbols[name],
          converters(definition.parameters, (type) => type === "buffer" ? bufferIn : undefined),
          undefined,
        );
      }
      return { symbols, close: () => library.close() };
    },
    fromAddress: (address) => address === 0n ? null : Number(address),
    address: (pointer) => BigInt(pointer),
    of(buffer): Pointer | null {
      return buffer.byteLength === 0 ? null : ffi.ptr(settled(buffer));
    },
    offset: (pointer, bytes) => pointerIn(Number(pointer) + bytes),
    arrayBuffer: (pointer, length, offset) => ffi.toArrayBuffer(Number(pointer), offset, length),
    callback(definition, fn): CallbackHandle {
      const callback = new ffi.JSCallback(fn, signature(definition));
      return {
        pointer: callback.ptr!,
        close: () => callback.close(),
        // Bun's callbacks never keep the process alive.
        ref: () => {},
        unref: () => {},
      };
    },
    fnPointer: (pointer, definition) =>
      ffi.CFunction({ ptr: Number(pointer), ...signature(definition) }),
  };
}

/** What the package needs, said in the one sentence a refusal gives. */
const REQUIREMENTS = "@piecrust/deno needs Linux on x86-64 and Deno 2.9 or later, Node.js 26 or " +
  "later (for node:ffi) or Bun 1.4 or later";

/** The runtime's FFI, or a sentence saying what is missing. */
function loadBackend(): Backend | string {
  const bun = (globalThis as { Bun?: { version: string } }).Bun;
  const runtime = bun === undefined ? `Node.js ${process.version}` : `Bun ${bun.version}`;
  const refusal = `${REQUIREMENTS}; this is ${runtime} on ${process.platform} ${process.arch}.`;
  if (process.platform !== "linux" || process.arch !== "x64") return refusal;
  const getBuiltinModule = (process as { getBuiltinModule?: (name: string) => unknown })
    .getBuiltinModule;
  if (bun !== undefined) {
    const [major, minor] = bun.version.split(".").map(Number);
    if (major < 1 || (major === 1 && minor < 4)) return refusal;
    return bunBackend(getBuiltinModule!("bun:ffi") as BunFfi);
  }
  const major = Number(process.versions.node.split(".")[0]);
  const ffi = major >= 26 ? getBuiltinModule?.("node:ffi") as NodeFfi | undefined : undefined;
  return ffi === undefined ? refusal : nodeBackend(ffi);
}

// Deno itself, importing the npm build, keeps its own namespace (see deno.ts): no backend then.
const loaded = (globalThis as { Deno?: unknown }).Deno === undefined ? loadBackend() : undefined;
if (typeof loaded === "string") throw new Error(loaded);
const backend = loaded as Backend;

/** `Deno.dlopen`. */
export function dlopen(path: string | URL, definitions: Record<string, Definition>): Opened {
  return backend.open(path instanceof URL ? path.pathname : path, definitions);
}

/** `Deno.UnsafePointer`. */
export const UnsafePointer = {
  create: (address: bigint | number): Pointer | null => backend.fromAddress(BigInt(address)),
  value: (pointer: Pointer | null): bigint => pointer === null ? 0n : backend.address(pointer),
  of: (buffer: ArrayBuffer | ArrayBufferView): Pointer | null => backend.of(buffer),
  offset: (pointer: Pointer, bytes: number): Pointer | null => backend.offset(pointer, bytes),
  equals: (a: Pointer | null, b: Pointer | null): boolean =>
    UnsafePointer.value(a) === UnsafePointer.value(b),
};

/** `Deno.UnsafePointerView`, with the getters the VM uses. */
export class UnsafePointerView {
  readonly #pointer: Pointer;

  constructor(pointer: Pointer) {
    this.#pointer = pointer;
  }

  static getArrayBuffer(pointer: Pointer, length: number, offset = 0): ArrayBuffer {
    return backend.arrayBuffer(pointer, length, offset);
  }

  static getCString(pointer: Pointer, offset = 0): string {
    let length = 0;
    for (;; length += 256) {
      const bytes = new Uint8Array(backend.arrayBuffer(pointer, length + 256, offset));
      const end = bytes.indexOf(0, length);
      if (end !== -1) return new TextDecoder().decode(bytes.subarray(0, end));
    }
  }

  #view(bytes: number, offset: number): DataView {
    return new DataView(backend.arrayBuffer(this.#pointer, bytes, offset));
  }

  getInt32(offset = 0): number {
    return this.#view(4, offset).getInt32(0, true);
  }

  getUint32(offset = 0): number {
    return this.#view(4, offset).getUint32(0, true);
  }

  getBigUint64(offset = 0): bigint {
    return this.#view(8, offset).getBigUint64(0, true);
  }

  getPointer(offset = 0): Pointer | null {
    return backend.fromAddress(this.getBigUint64(offset));
  }

  getArrayBuffer(length: number, offset = 0): ArrayBuffer {
    return backend.arrayBuffer(this.#pointer, length, offset);
  }

  getCString(offset = 0): string {
    return UnsafePointerView.getCString(this.#pointer, offset);
  }
}

/** `Deno.UnsafeCallback`: a native function pointer that calls `fn` on this thread. */
export class UnsafeCallback {
  readonly pointer: Pointer;
  readonly definition: Definition;
  readonly callback: NativeFunction;
  readonly #handle: { close(): void; ref(): void; unref(): void };

  constructor(definition: Definition, callback: NativeFunction) {
    const handle = backend.callback(definition, callback);
    this.pointer = handle.pointer;
    this.definition = definition;
    this.callback = callback;
    this.#handle = handle;
  }

  ref(): void {
    this.#handle.ref();
  }

  unref(): void {
    this.#handle.unref();
  }

  close(): void {
    this.#handle.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** `Deno.UnsafeFnPointer`: calls the native function at a pointer. */
export class UnsafeFnPointer {
  readonly pointer: Pointer;
  readonly definition: Definition;
  readonly call: NativeFunction;

  constructor(pointer: Pointer, definition: Definition) {
    this.pointer = pointer;
    this.definition = definition;
    this.call = backend.fnPointer(pointer, definition);
  }
}
