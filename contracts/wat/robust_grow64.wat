;; A raw-ABI wasm64 (memory64) contract that grows its memory to the VM's
;; limit, for the robustness tests. A is page 1 (65536..131072); the memory
;; has no declared maximum, so the VM's memory64 reservation is the limit.
(module
  (memory (export "memory") i64 2)
  (global (export "A") i64 (i64.const 65536))

  ;; Grows the memory in halving steps (from 2^26 pages, the 4 TiB of
  ;; wasm64) until memory.grow fails for one page; returns the final size in
  ;; pages.
  (func $grow_to_limit (result i64)
    (local $delta i64)
    (local.set $delta (i64.const 0x4000000))
    (block $done
      (loop $again
        (br_if $done (i64.eqz (local.get $delta)))
        (if (i64.eq (memory.grow (local.get $delta)) (i64.const -1))
          (then (local.set $delta (i64.shr_u (local.get $delta) (i64.const 1)))))
        (br $again)))
    (memory.size))

  ;; The address of the last byte of the memory.
  (func $last_byte (result i64)
    (i64.sub (i64.mul (memory.size) (i64.const 65536)) (i64.const 1)))

  ;; Grows to the limit, writes 0x2a into the last byte and returns the size
  ;; in pages as an i64 in A[0..8].
  (func (export "grow_to_limit") (param $len i32) (result i32)
    (local $pages i64)
    (local.set $pages (call $grow_to_limit))
    (i64.store8 (call $last_byte) (i64.const 0x2a))
    (i64.store (i64.const 65536) (local.get $pages))
    (i32.const 8))

  ;; Grows to the limit, writes the last byte, then traps: nothing may remain.
  (func (export "grow_to_limit_then_trap") (param $len i32) (result i32)
    (drop (call $grow_to_limit))
    (i64.store8 (call $last_byte) (i64.const 0x2a))
    unreachable)

  ;; Returns the memory size in pages (i64) and its last byte (u8) in A[0..9].
  (func (export "size") (param $len i32) (result i32)
    (i64.store (i64.const 65536) (memory.size))
    (i64.store8 (i64.const 65544) (i64.load8_u (call $last_byte)))
    (i32.const 9))

  ;; Grows by the i64 in A[0..8] pages; returns memory.grow's result in A[0..8].
  (func (export "grow") (param $len i32) (result i32)
    (i64.store (i64.const 65536) (memory.grow (i64.load (i64.const 65536))))
    (i32.const 8)))
