import assert from "node:assert/strict";
import { assembleWat, watFixture } from "../../contracts/wat.ts";
import { Engine, Linker, Module, PiecrustError, Store } from "../../src/engine/mod.ts";
import { assertNoLiveHandles, assertThrowsKind, assertTraps } from "../_helpers.ts";

const traps = await watFixture("traps");

function withInstance(
  wasm: Uint8Array,
  body: (instance: ReturnType<Linker["instantiate"]>, store: Store) => void,
): void {
  {
    using engine = new Engine();
    using module = Module.compile(engine, wasm);
    using linker = new Linker(engine);
    using store = new Store(engine);
    body(linker.instantiate(store, module), store);
  }
  assertNoLiveHandles();
}

Deno.test("Engine rejects out-of-range options with ConfigError", () => {
  assertThrowsKind(() => new Engine({ maxWasmStack: 2 * 1024 * 1024 }), "ConfigError");
  assertThrowsKind(() => new Engine({ maxWasmStack: 1000 }), "ConfigError");
  assertThrowsKind(() => new Engine({ memoryReservation: 12345 }), "ConfigError");
  assertThrowsKind(() => new Engine({ memoryGuardSize: -65536 }), "ConfigError");
  assertNoLiveHandles();
});

Deno.test("Engine close is idempotent and later use throws Disposed", () => {
  const engine = new Engine();
  engine.close();
  engine.close();
  assert.equal(engine.closed, true);
  assertThrowsKind(() => new Store(engine), "Disposed");
  assertNoLiveHandles();
});

Deno.test("Store keeps fuel and reports what wasm consumed", () => {
  withInstance(traps, (instance, store) => {
    store.setFuel(100_000n);
    assert.equal(store.getFuel(), 100_000n);
    assert.equal(instance.getFunc("spin").callI32(1000), 0);
    const used = 100_000n - store.getFuel();
    // Fuel grows linearly with the loop count: measure a second, longer run.
    store.setFuel(100_000n);
    instance.getFunc("spin").callI32(2000);
    const usedTwice = 100_000n - store.getFuel();
    assert.ok(used > 1000n, `spin(1000) used only ${used} fuel`);
    assert.ok(usedTwice > used * 19n / 10n && usedTwice < used * 21n / 10n);
    assert.throws(() => store.setFuel(-1n), RangeError);
  });
});

Deno.test("Func.callI32 throws OutOfFuel when fuel runs out and the store stays usable", () => {
  withInstance(traps, (instance, store) => {
    const spin = instance.getFunc("spin");
    store.setFuel(500n);
    const error = assertTraps(() => spin.callI32(1_000_000), "OutOfFuel");
    assert.ok(error instanceof PiecrustError);
    assert.equal(error.trapCode, 11);
    assert.equal(store.getFuel(), 0n);
    store.setFuel(1_000_000n);
    assert.equal(spin.callI32(10), 0);
  });
});

Deno.test("Func.callI32 maps wasm traps to typed errors and keeps working", () => {
  withInstance(traps, (instance, store) => {
    store.setFuel(100_000_000n);
    assertTraps(() => instance.getFunc("unreachable").callI32(0), "Unreachable");
    const oob = assertTraps(
      () => instance.getFunc("load").callI32(0x20000),
      "MemoryOutOfBounds",
    );
    assert.match(oob.message, /out of bounds|memory fault/);
    assertTraps(() => instance.getFunc("recurse").callI32(0), "StackOverflow");
    const division = assertTraps(
      () => instance.getFunc("divide").callI32(0),
      "IntegerDivisionByZero",
    );
    assert.equal((division as PiecrustError).trapCode, 7);
    // The process, the store and the instance survive every trap.
    assert.equal(instance.getFunc("load").callI32(0), 0);
    assert.equal(instance.getFunc("divide").callI32(5), 20);
  });
  // A new engine after the traps works as well.
  withInstance(traps, (instance, store) => {
    store.setFuel(1000n);
    assert.equal(instance.getFunc("divide").callI32(4), 25);
  });
});

Deno.test("Func.call checks arity and converts values", () => {
  withInstance(traps, (instance, store) => {
    store.setFuel(1000n);
    const divide = instance.getFunc("divide");
    assert.deepEqual(divide.type, { params: ["i32"], results: ["i32"] });
    assert.deepEqual(divide.call(10), [10]);
    assert.throws(() => divide.call(), TypeError);
  });
});

Deno.test("Instance.getFunc throws ExportNotFound for missing or non-function exports", () => {
  withInstance(traps, (instance) => {
    assertThrowsKind(() => instance.getFunc("missing"), "ExportNotFound");
    const error = assertThrowsKind(() => instance.getFunc("memory"), "ExportNotFound");
    assert.match(error.message, /is a memory, not a function/);
  });
});

Deno.test("Func.callI32 after the store is closed throws Disposed", () => {
  using engine = new Engine();
  using module = Module.compile(engine, traps);
  using linker = new Linker(engine);
  const store = new Store(engine);
  const divide = linker.instantiate(store, module).getFunc("divide");
  store.close();
  assertThrowsKind(() => divide.callI32(1), "Disposed");
});

Deno.test("Module.compile rejects invalid bytes with CompileError", () => {
  {
    using engine = new Engine();
    assertThrowsKind(() => Module.compile(engine, new Uint8Array([1, 2, 3])), "CompileError");
    assert.equal(Module.validate(engine, traps), undefined);
    assert.match(Module.validate(engine, new Uint8Array([0, 97, 115, 109]))!, /.+/);
  }
  assertNoLiveHandles();
});

Deno.test("Module.serializeToFile reloads with deserializeFile and runs", () => {
  const dir = Deno.makeTempDirSync({ prefix: "piecrust-module-" });
  try {
    {
      using engine = new Engine();
      {
        using module = Module.compile(engine, traps);
        module.serializeToFile(`${dir}/traps.cwasm`);
      }
      using loaded = Module.deserializeFile(engine, `${dir}/traps.cwasm`);
      using fromBytes = Module.deserialize(engine, Deno.readFileSync(`${dir}/traps.cwasm`));
      using linker = new Linker(engine);
      using store = new Store(engine);
      store.setFuel(1000n);
      assert.equal(linker.instantiate(store, loaded).getFunc("divide").callI32(50), 2);
      assert.equal(linker.instantiate(store, fromBytes).getFunc("divide").callI32(25), 4);
    }
    assertNoLiveHandles();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("Module.deserializeFile rejects a truncated or foreign artifact with ArtifactError", () => {
  const dir = Deno.makeTempDirSync({ prefix: "piecrust-module-" });
  try {
    {
      using engine = new Engine();
      using module = Module.compile(engine, traps);
      const artifact = module.serialize();
      Deno.writeFileSync(`${dir}/truncated.cwasm`, artifact.subarray(0, artifact.length >> 1));
      assertThrowsKind(
        () => Module.deserializeFile(engine, `${dir}/truncated.cwasm`),
        "ArtifactError",
      );
      Deno.writeFileSync(`${dir}/plain.wasm`, traps);
      assertThrowsKind(() => Module.deserializeFile(engine, `${dir}/plain.wasm`), "ArtifactError");
      assertThrowsKind(() => Module.deserializeFile(engine, `${dir}/missing`), "ArtifactError");
    }
    assertNoLiveHandles();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("Module.compile rejects what the reference VM's engine rejects", async () => {
  // Header, then a memory section (id 5, 5 bytes) declaring two memories of 1 page.
  const twoMemories = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 5, 2, 0, 1, 0, 1]);
  const relaxedSimd = await assembleWat(
    `(module (func (param v128 v128) (result v128)
       (i32x4.relaxed_trunc_f32x4_s (local.get 0))))`,
    { features: ["relaxed_simd"] },
  );
  const sharedMemory = await assembleWat(`(module (memory 1 1 shared))`, {
    features: ["threads"],
  });
  {
    using engine = new Engine();
    for (const wasm of [twoMemories, relaxedSimd, sharedMemory]) {
      assertThrowsKind(() => Module.compile(engine, wasm), "CompileError");
    }
    using _plainSimd = Module.compile(
      engine,
      await assembleWat(`(module (func (param v128) (result v128) (local.get 0)))`),
    );
  }
  assertNoLiveHandles();
});
