;; A raw-ABI contract (wasm32) with one export per bulk instruction that
;; metering leaves alone (memory.init, data.drop and the table.* bulk
;; instructions), each applied to n elements, n being the first byte of the
;; argument. The parity scenarios run it on both VMs to measure how their gas
;; differs (wasmtime 49 charges these per element; the reference per
;; instruction). The argument buffer A is page 1 (65536..131072).
(module
  (memory (export "memory") 2)
  (global (export "A") i32 (i32.const 65536))
  (table $t 4 64 funcref)
  (data $bytes "0123456789abcdef0123456789abcdef")
  (elem $fns func $one $two $one $two $one $two $one $two $one $two $one $two $one $two $one $two)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func $n (result i32) (i32.load8_u (i32.const 65536)))
  (func (export "memory_init") (param $len i32) (result i32)
    (memory.init $bytes (i32.const 0) (i32.const 0) (call $n))
    (i32.const 0))
  (func (export "data_drop") (param $len i32) (result i32)
    (data.drop $bytes)
    (memory.init $bytes (i32.const 0) (i32.const 0) (call $n))
    (i32.const 0))
  (func (export "table_grow") (param $len i32) (result i32)
    (drop (table.grow $t (ref.null func) (call $n)))
    (i32.const 0))
  (func (export "table_fill") (param $len i32) (result i32)
    (table.fill $t (i32.const 0) (ref.func $one) (call $n))
    (i32.const 0))
  (func (export "table_copy") (param $len i32) (result i32)
    (table.copy $t $t (i32.const 0) (i32.const 0) (call $n))
    (i32.const 0))
  (func (export "table_init") (param $len i32) (result i32)
    (table.init $t $fns (i32.const 0) (i32.const 0) (call $n))
    (i32.const 0)))
