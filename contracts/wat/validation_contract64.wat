;; A well-formed wasm64 (memory64) contract for the module reader and
;; piecrust's deploy-time checks: every host import with its wasm64
;; signature (pointers are i64, lengths stay i32), an immutable i64 global A,
;; function exports that are still (i32) -> (i32), and i64 data offsets.
(module
  (import "env" "c" (func $c (param i64 i64 i32 i32 i64) (result i32)))
  (import "env" "hq" (func $hq (param i64 i32 i32) (result i32)))
  (import "env" "hd" (func $hd (param i64 i32) (result i32)))
  (import "env" "emit" (func $emit (param i64 i32 i32)))
  (import "env" "feed" (func $feed (param i32)))
  (import "env" "caller" (func $caller (result i32)))
  (import "env" "callstack" (func $callstack (result i32)))
  (import "env" "limit" (func $limit (result i64)))
  (import "env" "spent" (func $spent (result i64)))
  (import "env" "panic" (func $panic (param i32)))
  (import "env" "owner" (func $owner (param i64) (result i32)))
  (import "env" "self_id" (func $self_id))
  (memory (export "memory") i64 2 4)
  ;; The argument buffer fills the second page.
  (global $A (export "A") i64 (i64.const 65536))
  (global (export "__data_end") i64 (i64.const 1040))
  ;; The counter, 42, and a tag.
  (data (i64.const 1024) "\2a\00\00\00\00\00\00\00")
  (data (i64.const 1032) "piecrust")
  (data $greeting "hello")
  ;; Adds 1 to the counter.
  (func (export "increment") (param i32) (result i32)
    (i64.store (i64.const 1024) (i64.add (i64.load (i64.const 1024)) (i64.const 1)))
    (i32.const 0))
  ;; Returns the counter in A.
  (func (export "read_value") (param i32) (result i32)
    (i64.store (global.get $A) (i64.load (i64.const 1024)))
    (i32.const 8))
  ;; Returns "hello" in A.
  (func (export "greet") (param i32) (result i32)
    (memory.init $greeting (global.get $A) (i32.const 0) (i32.const 5))
    (i32.const 5)))
