// Calls run each as on a fresh instance, also where the session runs them
// on an instance kept from an earlier call (src/session/_call_stack.ts).

import assert from "node:assert/strict";
import { assembleWat } from "../../contracts/wat.ts";
import { contractFunction, i64, unit } from "../../mod.ts";
import { contractBytecode } from "../../src/testing/mod.ts";
import { assertThrowsKind, withSession } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const GAS = 1_000_000n;
const NONE = new Uint8Array(0);

const GLOBALS = await assembleWat(
  `(module
    (memory (export "memory") 1)
    (global (export "A") i32 (i32.const 0))
    (global $g (mut i32) (i32.const 5))
    (global $h (mut i64) (i64.const -7))
    (global $f (mut f64) (f64.const 1.5))
    (global $v (mut v128) (v128.const i32x4 1 2 3 4))
    ;; Changes every global, then writes them: 36 bytes.
    (func (export "bump") (param i32) (result i32)
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (global.set $h (i64.mul (global.get $h) (i64.const 3)))
      (global.set $f (f64.add (global.get $f) (f64.const 1)))
      (global.set $v (i32x4.add (global.get $v) (global.get $v)))
      (i32.store (i32.const 0) (global.get $g))
      (i64.store (i32.const 4) (global.get $h))
      (f64.store (i32.const 12) (global.get $f))
      (v128.store (i32.const 20) (global.get $v))
      (i32.const 36))
    ;; Changes a global, then fails.
    (func (export "bump_and_fail") (param i32) (result i32)
      (global.set $g (i32.const 1000))
      unreachable))`,
  { features: ["simd"] },
);

const TABLES = await assembleWat(`(module
  (memory (export "memory") 1)
  (global (export "A") i32 (i32.const 0))
  (type $answer (func (result i32)))
  (table 1 funcref)
  (func $seven (type $answer) (i32.const 7))
  (elem declare func $seven)
  (func (export "set") (param i32) (result i32)
    (table.set (i32.const 0) (ref.func $seven))
    (i32.const 0))
  (func (export "probe") (param i32) (result i32)
    (i32.store (i32.const 0) (call_indirect (type $answer) (i32.const 0)))
    (i32.const 4)))`);

const SEGMENTS = await assembleWat(`(module
  (memory (export "memory") 1)
  (global (export "A") i32 (i32.const 0))
  (data $greeting "hello")
  (func (export "drop") (param i32) (result i32)
    (data.drop $greeting)
    (i32.const 0))
  (func (export "copy") (param i32) (result i32)
    (memory.init $greeting (i32.const 0) (i32.const 0) (i32.const 5))
    (i32.const 5)))`);

function expectedBump(): Uint8Array {
  const bytes = new Uint8Array(36);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, 6, true);
  view.setBigInt64(4, -21n, true);
  view.setFloat64(12, 2.5, true);
  [2, 4, 6, 8].forEach((lane, i) => view.setInt32(20 + 4 * i, lane, true));
  return bytes;
}

Deno.test("Session.call starts every call with the module's initial global values", () => {
  withSession((session) => {
    const id = session.deploy(GLOBALS, OWNER, GAS);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(session.callRaw(id, "bump", NONE, GAS).data, expectedBump());
    }
    assertThrowsKind(() => session.callRaw(id, "bump_and_fail", NONE, GAS), "RuntimeError");
    assert.deepEqual(session.callRaw(id, "bump", NONE, GAS).data, expectedBump());
  });
});

Deno.test("Session.call does not see a table written by an earlier call", () => {
  withSession((session) => {
    const id = session.deploy(TABLES, OWNER, GAS);
    session.callRaw(id, "set", NONE, GAS);
    const error = assertThrowsKind(() => session.callRaw(id, "probe", NONE, GAS), "RuntimeError");
    assert.equal(error.details.trap, "IndirectCallToNull");
  });
});

Deno.test("Session.call does not see a data segment dropped by an earlier call", () => {
  withSession((session) => {
    const id = session.deploy(SEGMENTS, OWNER, GAS);
    session.callRaw(id, "drop", NONE, GAS);
    const { data } = session.callRaw(id, "copy", NONE, GAS);
    assert.equal(new TextDecoder().decode(data), "hello");
  });
});

Deno.test("Session.call gives the same results and gas on a kept instance as on a fresh one", () => {
  const increment = contractFunction("increment", unit, unit);
  const readValue = contractFunction("read_value", unit, i64);
  const receipts: { value: bigint; gas: bigint[] }[] = [];
  // Closing the session between calls makes every call instantiate afresh.
  for (const fresh of [false, true]) {
    const gas: bigint[] = [];
    let value = 0n;
    withSession((_, vm) => {
      let session = vm.session();
      const id = session.deploy(contractBytecode("counter"), OWNER, GAS);
      let root = session.commit();
      for (let i = 0; i < 5; i++) {
        if (fresh) {
          session.close();
          session = vm.session({ base: root });
        }
        gas.push(session.call(id, increment, undefined, GAS).gasSpent);
        gas.push(session.call(id, readValue, undefined, GAS).gasSpent);
        root = session.commit();
      }
      value = session.call(id, readValue, undefined, GAS).data;
      session.close();
    });
    receipts.push({ value, gas });
  }
  assert.deepEqual(receipts[0], receipts[1]);
  assert.equal(receipts[0].value, 0xfcn + 5n);
});
