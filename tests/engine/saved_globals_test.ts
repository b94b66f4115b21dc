/** Tests of src/engine/saved_globals.ts and Instance.saveGlobals. */

import assert from "node:assert/strict";
import { assembleWat } from "../../contracts/wat.ts";
import {
  Engine,
  type Instance,
  Linker,
  Module,
  SavedGlobals,
  Store,
} from "../../src/engine/mod.ts";
import { assertNoLiveHandles, assertThrowsKind } from "../_helpers.ts";

const GLOBALS = await assembleWat(
  `(module
    (global (export "i32") (mut i32) (i32.const -1))
    (global (export "i64") (mut i64) (i64.const -2))
    (global (export "f32") (mut f32) (f32.const 0.5))
    (global (export "f64") (mut f64) (f64.const -0.25))
    (global $v (export "v128") (mut v128) (v128.const i64x2 3 4))
    (global (export "fixed") i32 (i32.const 9))
    (func (export "change")
      (global.set 0 (i32.const 10))
      (global.set 1 (i64.const 20))
      (global.set 2 (f32.const 30))
      (global.set 3 (f64.const 40))
      (global.set $v (v128.const i64x2 50 60)))
    (func (export "lane") (result i64) (i64x2.extract_lane 1 (global.get $v))))`,
  { features: ["simd"] },
);
const NUMBERS = ["i32", "i64", "f32", "f64"];

/** Runs `body` on a fresh instance of GLOBALS, then checks that every handle was closed. */
function withInstance(body: (instance: Instance, store: Store) => void): void {
  {
    using engine = new Engine();
    using module = Module.compile(engine, GLOBALS);
    using linker = new Linker(engine);
    const store = new Store(engine);
    try {
      store.setFuel(1_000_000n);
      body(linker.instantiate(store, module), store);
    } finally {
      store.close();
    }
  }
  assertNoLiveHandles();
}

Deno.test("SavedGlobals.restore puts back number and vector globals", () => {
  withInstance((instance) => {
    const saved = instance.saveGlobals([...NUMBERS, "v128"]);
    assert.equal(saved.size, 5);
    const change = instance.getFunc("change");
    const lane = instance.getFunc("lane");
    for (let round = 0; round < 2; round++) {
      change.call();
      assert.deepEqual(NUMBERS.map((name) => instance.getGlobal(name)), [10, 20n, 30, 40]);
      assert.deepEqual(lane.call(), [60n]);
      saved.restore();
      assert.deepEqual(NUMBERS.map((name) => instance.getGlobal(name)), [-1, -2n, 0.5, -0.25]);
      assert.deepEqual(lane.call(), [4n]);
    }
  });
});

Deno.test("SavedGlobals.restore fails with Disposed once the store is closed", () => {
  withInstance((instance, store) => {
    const saved = instance.saveGlobals(["i32"]);
    store.close();
    assertThrowsKind(() => saved.restore(), "Disposed");
  });
});

Deno.test("Instance.saveGlobals fails with ExportNotFound for a missing, other or immutable export", () => {
  withInstance((instance) => {
    assertThrowsKind(() => instance.saveGlobals(["i32", "missing"]), "ExportNotFound");
    assertThrowsKind(() => instance.saveGlobals(["change"]), "ExportNotFound");
    const immutable = assertThrowsKind(() => instance.saveGlobals(["fixed"]), "ExportNotFound");
    assert.match(immutable.message, /"fixed" cannot be saved: immutable/);
    assert.equal(instance.saveGlobals([]).size, 0);
    instance.saveGlobals([]).restore();
  });
});

Deno.test("SavedGlobals rejects records that are not whole", () => {
  using engine = new Engine();
  using store = new Store(engine);
  assert.throws(
    () => new SavedGlobals(store, new Uint8Array(SavedGlobals.recordSize + 1)),
    RangeError,
  );
});
