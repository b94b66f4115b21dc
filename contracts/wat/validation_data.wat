;; Active and passive data segments, and bulk-memory instructions that refer
;; to them by index, for rewriting active segments into passive ones.
(module
  (memory (export "memory") 1)
  (data $first (i32.const 0) "first segment")
  (data $passive "passive")
  (data $last (i32.const 65532) "\01\02\03\04")
  ;; Copies length bytes of $first to 100. Once instantiation has applied
  ;; $first it counts as dropped, so only length 0 succeeds.
  (func (export "init_first") (param $length i32)
    (memory.init $first (i32.const 100) (i32.const 0) (local.get $length)))
  ;; Copies all of $passive to address and returns its length.
  (func (export "init_passive") (param $address i32) (result i32)
    (memory.init $passive (local.get $address) (i32.const 0) (i32.const 7))
    (i32.const 7))
  (func (export "drop_first")
    (data.drop $first))
  (func (export "drop_passive")
    (data.drop $passive)))
