;; Functions that trap in each way the engine must report, plus a loop that
;; burns a known amount of fuel.
(module
  (memory (export "memory") 1)
  ;; Counts down from n and returns 0; costs fuel linear in n.
  (func (export "spin") (param $n i32) (result i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (local.get $n))
  (func (export "unreachable") (param i32) (result i32)
    unreachable)
  ;; Loads 4 bytes at the given address of a one-page memory.
  (func (export "load") (param $address i32) (result i32)
    (i32.load (local.get $address)))
  (func $recurse (export "recurse") (param $depth i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get $depth) (i32.const 1))) (i32.const 1)))
  (func (export "divide") (param $divisor i32) (result i32)
    (i32.div_s (i32.const 100) (local.get $divisor))))
