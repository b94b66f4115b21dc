/**
 * The host imports of the reference ABI (`c`, `hq`, `hd`, `emit`, `feed`,
 * `caller`, `callstack`, `limit`, `spent`, `panic`, `owner`, `self_id`,
 * `hdebug`) for wasm32 and wasm64: decoding wasm arguments, then handing the
 * work to {@linkcode ImportHost}. Pointers are `i32` in wasm32 and `i64` in
 * wasm64; lengths are always `i32`.
 *
 * @module
 */

import type { HostArgs, Linker, ValType } from "../engine/mod.ts";
import { hostFunctionType } from "./wasm_module.ts";

/** What the imports need from the session that runs the call. */
export interface ImportHost {
  c(callee: number, name: number, nameLen: number, argLen: number, gasLimit: bigint): number;
  hq(name: number, nameLen: number, argLen: number): number;
  hd(name: number, nameLen: number): number;
  emit(topic: number, topicLen: number, argLen: number): void;
  feed(argLen: number): void;
  caller(): number;
  callstack(): number;
  limit(): bigint;
  spent(): bigint;
  panic(argLen: number): void;
  owner(contract: number): number;
  selfId(): void;
  hdebug(msgLen: number): void;
}

/**
 * Defines every host import as `module`.`name` on `linker` for memories of
 * the given width. piecrust resolves imports by field name only, so a VM
 * defines them under each module name its contracts use (`env` in Rust and
 * C builds).
 */
export function defineHostImports(
  linker: Linker,
  is64: boolean,
  host: ImportHost,
  module = "env",
): void {
  // A wasm pointer as a JS number: unsigned for wasm32; beyond 2^53 is out of bounds anyway.
  const pointer = is64
    ? (args: HostArgs, i: number): number => {
      const value = args.i64(i);
      return value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(value);
    }
    : (args: HostArgs, i: number): number => args.i32(i) >>> 0;
  const define = (name: string, fn: (args: HostArgs) => void): void => {
    // The deploy-time checks and the linker share one signature table.
    const type = hostFunctionType(name, is64)!;
    linker.defineFunc(module, name, type as { params: ValType[]; results: ValType[] }, fn);
  };

  define("c", (args) => {
    args.setI32(
      0,
      host.c(pointer(args, 0), pointer(args, 1), args.i32(2), args.i32(3), args.i64(4)),
    );
  });
  define("hq", (args) => {
    args.setI32(0, host.hq(pointer(args, 0), args.i32(1), args.i32(2)));
  });
  define("hd", (args) => {
    args.setI32(0, host.hd(pointer(args, 0), args.i32(1)));
  });
  define("emit", (args) => {
    host.emit(pointer(args, 0), args.i32(1), args.i32(2));
  });
  define("feed", (args) => host.feed(args.i32(0)));
  define("caller", (args) => args.setI32(0, host.caller()));
  define("callstack", (args) => args.setI32(0, host.callstack()));
  define("limit", (args) => args.setI64(0, host.limit()));
  define("spent", (args) => args.setI64(0, host.spent()));
  define("panic", (args) => host.panic(args.i32(0)));
  define("owner", (args) => args.setI32(0, host.owner(pointer(args, 0))));
  define("self_id", () => host.selfId());
  define("hdebug", (args) => host.hdebug(args.i32(0)));
}
