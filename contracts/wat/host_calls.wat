;; Calls into host functions, for the linker's round-trip, exception and
;; re-entrancy tests.
(module
  (import "env" "nop" (func $nop))
  (import "env" "add" (func $add (param i32 i64 f64) (result i64 f64)))
  (import "env" "fail" (func $fail (param i32) (result i32)))
  (import "env" "reenter" (func $reenter (param i32) (result i32)))
  (memory (export "memory") 1)
  ;; Set to 1 only by code that runs after env.fail returns.
  (global $after_fail (mut i32) (i32.const 0))
  (func (export "add") (param $a i32) (param $b i64) (param $c f64) (result i64 f64)
    (call $add (local.get $a) (local.get $b) (local.get $c)))
  (func (export "fail") (param $x i32) (result i32)
    (drop (call $fail (local.get $x)))
    (global.set $after_fail (i32.const 1))
    (i32.const 7))
  (func (export "after_fail") (param i32) (result i32)
    (global.get $after_fail))
  ;; Calls env.reenter(x) and adds 1000 to what it returns.
  (func (export "outer") (param $x i32) (result i32)
    (i32.add (call $reenter (local.get $x)) (i32.const 1000)))
  (func (export "inner") (param $x i32) (result i32)
    (i32.mul (local.get $x) (i32.const 2)))
  (func (export "nop") (param i32) (result i32)
    (call $nop)
    (i32.const 0)))
