import assert from "node:assert/strict";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { Engine, Linker, Module, Store } from "../../src/engine/mod.ts";
import { assertNoLiveHandles, assertTraps } from "../_helpers.ts";

for (const target of ["wasm32", "wasm64"] as const satisfies ContractTarget[]) {
  Deno.test(`counter contract (${target}) runs through src/engine with fuel`, () => {
    {
      using engine = new Engine();
      using module = Module.compile(engine, contractBytecode("counter", { target }));
      using linker = new Linker(engine);
      using store = new Store(engine);
      store.setFuel(1_000_000n);
      const instance = linker.instantiate(store, module);

      // The argument buffer global has the memory's pointer width.
      const a = instance.getGlobal("A");
      assert.equal(typeof a, target === "wasm32" ? "number" : "bigint");
      const readValue = (): bigint => {
        assert.equal(instance.getFunc("read_value").callI32(0), 8);
        const bytes = instance.getMemory("memory").data().subarray(Number(a), Number(a) + 8);
        return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigInt64(0, true);
      };

      assert.equal(readValue(), 0xfcn);
      const before = store.getFuel();
      assert.equal(instance.getFunc("increment").callI32(0), 0);
      const spent = before - store.getFuel();
      assert.ok(spent > 0n && spent < 1000n, `increment spent ${spent} fuel`);
      assert.equal(readValue(), 0xfdn);

      // Fuel is enforced on contracts too.
      store.setFuel(0n);
      assertTraps(() => instance.getFunc("increment").callI32(0), "OutOfFuel");
    }
    assertNoLiveHandles();
  });
}

Deno.test("contractBytecode rejects unknown names and targets", () => {
  assert.throws(() => contractBytecode("../deno"), TypeError);
  assert.throws(() => contractBytecode("no_such_contract"), TypeError);
  assert.throws(
    () => contractBytecode("counter", { target: "wasm16" as ContractTarget }),
    TypeError,
  );
});
