;; The smallest calls in each direction, for the engine benchmark.
(module
  (import "env" "nop" (func $nop))
  (func (export "id") (param $x i32) (result i32)
    (local.get $x))
  ;; Calls env.nop n times.
  (func (export "call_nop") (param $n i32) (result i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (call $nop)
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (i32.const 0)))
