/**
 * The few types of Deno's FFI that the engine's declarations name, for type
 * checkers outside Deno. Pointers are opaque: on Node.js they are bigints,
 * on Bun numbers, never to be made up by a program.
 *
 * @module
 */

declare const pointer: unique symbol;

/** A native pointer, never null. */
export type PointerObject<T = unknown> = { readonly [pointer]: T };

/** A native pointer or null. */
export type PointerValue<T = unknown> = PointerObject<T> | null;

/** An opened native library. */
export interface DynamicLibrary<S> {
  readonly symbols: { readonly [K in keyof S]: (...args: never[]) => unknown };
  close(): void;
}

/** A native function behind a pointer. */
export interface UnsafeFnPointer<D> {
  readonly pointer: PointerObject;
  readonly definition: D;
  call(...args: never[]): unknown;
}
