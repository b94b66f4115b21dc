;; A raw-ABI contract (wasm32) that exercises the host imports one at a time,
;; for the session tests. The argument buffer A is page 1 (65536..131072).
(module
  (import "env" "c" (func $c (param i32 i32 i32 i32 i64) (result i32)))
  (import "env" "emit" (func $emit (param i32 i32 i32)))
  (import "env" "panic" (func $panic (param i32)))
  (import "env" "caller" (func $caller (result i32)))
  (import "env" "limit" (func $limit (result i64)))
  (import "env" "spent" (func $spent (result i64)))
  (memory (export "memory") 4)
  (global (export "A") i32 (i32.const 65536))
  ;; Applied once, at deploy: the function name the calls below use.
  (data (i32.const 2048) "increment")
  (data (i32.const 2064) "topic")
  ;; A[0..32] = a contract id; calls its "increment" with no argument and the
  ;; gas limit in A[32..40] (0 = the default share); returns what c returned.
  (func (export "call_increment") (param $len i32) (result i32)
    (memory.copy (i32.const 1024) (i32.const 65536) (i32.const 32))
    (i32.store (i32.const 65536)
      (call $c (i32.const 1024) (i32.const 2048) (i32.const 9) (i32.const 0)
        (i64.load (i32.const 65568))))
    (i32.const 4))
  ;; Writes 7 at page 2, then traps: the write must not survive.
  (func (export "write_then_trap") (param $len i32) (result i32)
    (i32.store8 (i32.const 131072) (i32.const 7))
    unreachable)
  ;; Writes 9 at page 2 and returns nothing.
  (func (export "write") (param $len i32) (result i32)
    (i32.store8 (i32.const 131072) (i32.const 9))
    (i32.const 0))
  ;; Grows the memory by one page, then traps.
  (func (export "grow_then_trap") (param $len i32) (result i32)
    (drop (memory.grow (i32.const 1)))
    unreachable)
  ;; Emits the argument twice under "topic".
  (func (export "emit_twice") (param $len i32) (result i32)
    (call $emit (i32.const 2064) (i32.const 5) (local.get $len))
    (call $emit (i32.const 2064) (i32.const 5) (local.get $len))
    (i32.const 0))
  ;; Panics with the argument as the message.
  (func (export "panic") (param $len i32) (result i32)
    (call $panic (local.get $len))
    (i32.const 0))
  ;; Returns caller() in A[0..4], then the caller id (if any) stays in A[0..32].
  (func (export "who_called") (param $len i32) (result i32)
    (local $has i32)
    (local.set $has (call $caller))
    (if (i32.eqz (local.get $has)) (then (i32.store (i32.const 65536) (i32.const 0))))
    (select (i32.const 32) (i32.const 4) (local.get $has)))
  ;; Writes limit() and spent() as two u64 in A.
  (func (export "limit_spent") (param $len i32) (result i32)
    (i64.store (i32.const 65536) (call $limit))
    (i64.store (i32.const 65544) (call $spent))
    (i32.const 16))
  ;; Counts down from the i32 in A[0..4].
  (func (export "spin") (param $len i32) (result i32)
    (local $n i32)
    (local.set $n (i32.load (i32.const 65536)))
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (i32.const 0))
  ;; Returns a length beyond the argument buffer.
  (func (export "bad_length") (param $len i32) (result i32)
    (i32.const 70000)))
