;; A memory with a data segment that can grow, for the host memory creator.
(module
  (memory (export "memory") 1 16)
  (data (i32.const 16) "piecrust")
  ;; Stores the value 0x2a at the given address and returns the memory size in pages.
  (func (export "poke") (param $address i32) (result i32)
    (i32.store8 (local.get $address) (i32.const 0x2a))
    (memory.size))
  ;; Grows by n pages and returns the previous size, or -1.
  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages))))
