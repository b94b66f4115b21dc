;; A 64-bit memory (memory64): pointers are i64, and it can grow past 4 GiB.
(module
  (memory (export "memory") i64 1)
  ;; Grows by n pages and returns the previous size, or -1.
  (func (export "grow") (param $pages i64) (result i64)
    (memory.grow (local.get $pages)))
  (func (export "store8") (param $address i64) (param $value i32)
    (i32.store8 (local.get $address) (local.get $value)))
  (func (export "load8") (param $address i64) (result i32)
    (i32.load8_u (local.get $address))))
