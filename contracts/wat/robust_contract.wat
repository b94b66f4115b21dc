;; A misbehaving raw-ABI contract (wasm32) for the robustness, return-length
;; and validation tests. The argument buffer A is page 1 (65536..131072);
;; the memory has no declared maximum, so it can grow to the VM's 4 GiB.
(module
  (import "env" "c" (func $c (param i32 i32 i32 i32 i64) (result i32)))
  (import "env" "hd" (func $hd (param i32 i32) (result i32)))
  (import "env" "self_id" (func $self_id))
  (memory (export "memory") 4)
  (global (export "A") i32 (i32.const 65536))
  ;; Applied once, at deploy: the function name `nest` calls itself with.
  (data (i32.const 2048) "nest")

  ;; Loops forever: only the gas limit stops it.
  (func (export "loop_forever") (param $len i32) (result i32)
    (loop $again (br $again))
    (i32.const 0))

  ;; Calls itself without bound: the wasm stack (or the gas) runs out.
  (func $recurse (export "recurse") (param $len i32) (result i32)
    (call $recurse (i32.add (local.get $len) (i32.const 1))))

  ;; Grows the memory in halving steps until memory.grow fails for one page;
  ;; returns the final size in pages.
  (func $grow_to_limit (result i32)
    (local $delta i32)
    (local.set $delta (i32.const 65536))
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $delta)))
        (if (i32.eq (memory.grow (local.get $delta)) (i32.const -1))
          (then (local.set $delta (i32.shr_u (local.get $delta) (i32.const 1)))))
        (br $again)))
    (memory.size))

  ;; The address of the last byte of the memory (wraps correctly at 4 GiB).
  (func $last_byte (result i32)
    (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 1)))

  ;; Grows to the limit, writes 0x2a into the last byte and returns the size
  ;; in pages as an i32 in A[0..4].
  (func (export "grow_to_limit") (param $len i32) (result i32)
    (local $pages i32)
    (local.set $pages (call $grow_to_limit))
    (i32.store8 (call $last_byte) (i32.const 0x2a))
    (i32.store (i32.const 65536) (local.get $pages))
    (i32.const 4))

  ;; Grows to the limit, writes the last byte, then traps: nothing may remain.
  (func (export "grow_to_limit_then_trap") (param $len i32) (result i32)
    (drop (call $grow_to_limit))
    (i32.store8 (call $last_byte) (i32.const 0x2a))
    unreachable)

  ;; Returns the memory size in pages (i32) and its last byte (u8) in A[0..5].
  (func (export "size") (param $len i32) (result i32)
    (i32.store (i32.const 65536) (memory.size))
    (i32.store8 (i32.const 65540) (i32.load8_u (call $last_byte)))
    (i32.const 5))

  ;; Grows by the i32 in A[0..4] pages; returns memory.grow's result in A[0..4].
  (func (export "grow") (param $len i32) (result i32)
    (i32.store (i32.const 65536) (memory.grow (i32.load (i32.const 65536))))
    (i32.const 4))

  ;; hd(A[0..4], A[4..8]): reads a metadata name at any pointer and length;
  ;; returns hd's result in A[0..4] (the value, if any, is overwritten).
  (func (export "hd_at") (param $len i32) (result i32)
    (i32.store (i32.const 65536)
      (call $hd (i32.load (i32.const 65536)) (i32.load (i32.const 65540))))
    (i32.const 4))

  ;; Returns the i32 in A[0..4] as the return length (may be negative or huge).
  (func (export "return_len") (param $len i32) (result i32)
    (i32.load (i32.const 65536)))

  ;; Nests n = A[0..4] (u32) calls to itself through `c`. The innermost call
  ;; returns A[0..4] = 1; a failed call returns its negative code in A[0..4],
  ;; and every caller passes the 4 bytes on.
  (func (export "nest") (param $len i32) (result i32)
    (local $n i32)
    (local $ret i32)
    (local.set $n (i32.load (i32.const 65536)))
    (if (i32.eqz (local.get $n))
      (then
        (i32.store (i32.const 65536) (i32.const 1))
        (return (i32.const 4))))
    (call $self_id)
    (memory.copy (i32.const 1024) (i32.const 65536) (i32.const 32))
    (i32.store (i32.const 65536) (i32.sub (local.get $n) (i32.const 1)))
    (local.set $ret
      (call $c (i32.const 1024) (i32.const 2048) (i32.const 4) (i32.const 4) (i64.const 0)))
    (if (i32.lt_s (local.get $ret) (i32.const 0))
      (then
        (i32.store (i32.const 65536) (local.get $ret))
        (return (i32.const 4))))
    (local.get $ret))

  ;; A generic inter-contract call. A holds: [0..32] the callee id, [32..40]
  ;; the gas limit (i64), [40..44] the name length, [44..48] the argument
  ;; length, [48..] the name and then the argument. Returns A[0..4] = what
  ;; `c` returned and, on success, the callee's result in A[4..].
  (func (export "forward") (param $len i32) (result i32)
    (local $name_len i32)
    (local $arg_len i32)
    (local $gas i64)
    (local $ret i32)
    (local.set $gas (i64.load (i32.const 65568)))
    (local.set $name_len (i32.load (i32.const 65576)))
    (local.set $arg_len (i32.load (i32.const 65580)))
    (memory.copy (i32.const 1024) (i32.const 65536) (i32.const 32))
    (memory.copy (i32.const 4096) (i32.const 65584) (local.get $name_len))
    (memory.copy
      (i32.const 65536)
      (i32.add (i32.const 65584) (local.get $name_len))
      (local.get $arg_len))
    (local.set $ret
      (call $c
        (i32.const 1024)
        (i32.const 4096)
        (local.get $name_len)
        (local.get $arg_len)
        (local.get $gas)))
    (if (i32.lt_s (local.get $ret) (i32.const 0))
      (then
        (i32.store (i32.const 65536) (local.get $ret))
        (return (i32.const 4))))
    (memory.copy (i32.const 65540) (i32.const 65536) (local.get $ret))
    (i32.store (i32.const 65536) (local.get $ret))
    (i32.add (local.get $ret) (i32.const 4))))
