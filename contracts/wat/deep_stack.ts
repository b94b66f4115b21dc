/**
 * The `deep_stack` contract, for the stack-headroom tests: it recurses to a
 * given depth and then, at the deepest frame, calls a host import, grows its
 * memory or makes an inter-contract call that does the same again. One
 * source for both memory widths.
 *
 * Its raw-ABI function `dive` reads from the argument buffer A:
 *
 * | bytes | value |
 * |---|---|
 * | 0..4 | recursion depth (u32) |
 * | 4..8 | what to do at the bottom: 0 nothing, 1 the host import `spent`, 2 `memory.grow 0`, 3 an inter-contract call |
 * | 8..40 | for 3: the callee's id |
 * | 40.. | for 3: the callee's argument (the same layout, one level down) |
 *
 * It returns A[0..4] = the code `c` returned at the bottom (0 otherwise).
 *
 * @module
 */

import { assembleWat } from "../wat.ts";

/** What `dive` does at its deepest frame. */
export const DeepStackAction = {
  NOTHING: 0,
  HOST_IMPORT: 1,
  MEMORY_GROW: 2,
  CALL: 3,
} as const;

/** Bytes of one level of a `dive` argument: depth, action, callee id. */
export const DIVE_LEVEL_BYTES = 40;

/** The contract's WebAssembly text for memories of the given width. */
export function deepStackWat(is64: boolean): string {
  const ptr = is64 ? "i64" : "i32";
  // Addresses as constants of the memory's index type.
  const at = (address: number): string => `(${ptr}.const ${address})`;
  const memory = is64 ? "i64 4" : "4";
  // An i32 length as a value of the memory's index type.
  const length = (value: string): string => is64 ? `(i64.extend_i32_u ${value})` : value;
  return `
(module
  (import "env" "c" (func $c (param ${ptr} ${ptr} i32 i32 i64) (result i32)))
  (import "env" "spent" (func $spent (result i64)))
  (memory (export "memory") ${memory})
  (global (export "A") ${ptr} ${at(65536)})
  (data ${at(2048)} "dive")
  (global $action (mut i32) (i32.const 0))
  (global $arg_len (mut i32) (i32.const 0))
  (global $code (mut i32) (i32.const 0))

  (func $bottom
    (if (i32.eq (global.get $action) (i32.const 1))
      (then (drop (call $spent))))
    (if (i32.eq (global.get $action) (i32.const 2))
      (then (drop (memory.grow ${at(0)}))))
    (if (i32.eq (global.get $action) (i32.const 3))
      (then
        ;; The callee id goes to 1024; its argument moves to the front of A.
        (memory.copy ${at(1024)} ${at(65544)} ${at(32)})
        (memory.copy ${at(65536)} ${at(65536 + DIVE_LEVEL_BYTES)}
          ${length("(i32.sub (global.get $arg_len) (i32.const " + DIVE_LEVEL_BYTES + "))")})
        (global.set $code
          (call $c ${at(1024)} ${at(2048)} (i32.const 4)
            (i32.sub (global.get $arg_len) (i32.const ${DIVE_LEVEL_BYTES}))
            (i64.const 0))))))

  (func $dive (param $n i32)
    (if (i32.eqz (local.get $n))
      (then (call $bottom) (return)))
    (call $dive (i32.sub (local.get $n) (i32.const 1))))

  (func (export "dive") (param $len i32) (result i32)
    (global.set $arg_len (local.get $len))
    (global.set $action (i32.load ${at(65540)}))
    (global.set $code (i32.const 0))
    (call $dive (i32.load ${at(65536)}))
    (i32.store ${at(65536)} (global.get $code))
    (i32.const 4)))
`;
}

/** The assembled `deep_stack` contract. */
export async function deepStack(is64: boolean): Promise<Uint8Array> {
  return await assembleWat(deepStackWat(is64), {
    filename: `deep_stack${is64 ? 64 : 32}.wat`,
  });
}
