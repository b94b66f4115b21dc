import assert from "node:assert/strict";
import { watFixture } from "../../contracts/wat.ts";
import {
  Engine,
  type HostArgs,
  type Instance,
  Linker,
  Module,
  PiecrustError,
  Store,
} from "../../src/engine/mod.ts";
import { assertNoLiveHandles, assertThrowsKind } from "../_helpers.ts";

const hostCalls = await watFixture("host_calls");

interface HostImports {
  nop?: (args: HostArgs) => void;
  add?: (args: HostArgs) => void;
  fail?: (args: HostArgs) => void;
  reenter?: (args: HostArgs) => void;
}

/** Instantiates host_calls.wat with the given imports; missing ones do nothing. */
function withHostCalls(
  imports: HostImports,
  body: (instance: Instance, store: Store) => void,
): void {
  {
    using engine = new Engine();
    using module = Module.compile(engine, hostCalls);
    using linker = new Linker(engine);
    const none = (): void => {};
    linker.defineFunc("env", "nop", { params: [], results: [] }, imports.nop ?? none);
    linker.defineFunc(
      "env",
      "add",
      { params: ["i32", "i64", "f64"], results: ["i64", "f64"] },
      imports.add ?? none,
    );
    linker.defineFunc("env", "fail", { params: ["i32"], results: ["i32"] }, imports.fail ?? none);
    linker.defineFunc(
      "env",
      "reenter",
      { params: ["i32"], results: ["i32"] },
      imports.reenter ?? none,
    );
    using store = new Store(engine);
    store.setFuel(10_000_000n);
    body(linker.instantiate(store, module), store);
  }
  assertNoLiveHandles();
}

Deno.test("Linker.defineFunc round-trips i32, i64 and f64 values", () => {
  const seen: unknown[] = [];
  withHostCalls({
    add(args): void {
      const a = args.i32(0), b = args.i64(1), c = args.f64(2);
      seen.push([a, b, c]);
      args.setI64(0, BigInt(a) + b);
      args.setF64(1, c * 2);
    },
  }, (instance) => {
    const add = instance.getFunc("add");
    assert.deepEqual(add.call(-5, 2n ** 40n, 1.25), [2n ** 40n - 5n, 2.5]);
    assert.deepEqual(add.call(2 ** 31 - 1, -(2n ** 63n), -0.5), [
      -(2n ** 63n) + 2n ** 31n - 1n,
      -1,
    ]);
  });
  assert.deepEqual(seen, [[-5, 2n ** 40n, 1.25], [2 ** 31 - 1, -(2n ** 63n), -0.5]]);
});

Deno.test("Linker host function exception fails that call with HostError", () => {
  const thrown = new Error("no such account");
  withHostCalls({
    fail(args): void {
      if (args.i32(0) === 13) throw thrown;
      args.setI32(0, 0);
    },
  }, (instance) => {
    const fail = instance.getFunc("fail");
    const error = assertThrowsKind(() => fail.callI32(13), "HostError");
    assert.ok(error instanceof PiecrustError);
    assert.equal(error.cause, thrown);
    assert.match(error.message, /no such account/);
    // wasm stopped at the import: the code after it never ran.
    assert.equal(instance.getFunc("after_fail").callI32(0), 0);
    // The next call is unaffected and runs to the end.
    assert.equal(fail.callI32(1), 7);
    assert.equal(instance.getFunc("after_fail").callI32(0), 1);
  });
});

Deno.test("Linker host function that throws a non-Error value still fails the call", () => {
  withHostCalls({
    fail(): void {
      throw "plain string";
    },
  }, (instance) => {
    const error = assertThrowsKind(() => instance.getFunc("fail").callI32(0), "HostError");
    assert.equal(error.cause, "plain string");
  });
});

Deno.test("Linker host functions may re-enter wasm and keep their own slots", () => {
  let depth = 0;
  let outerInstance: Instance | undefined;
  withHostCalls({
    reenter(args): void {
      const x = args.i32(0);
      depth++;
      // Nested host → wasm → host → wasm: the inner dispatch must not
      // disturb this call's argument/result slots.
      const inner = x > 0 ? outerInstance!.getFunc("outer").callI32(x - 1) : 0;
      const doubled = outerInstance!.getFunc("inner").callI32(x);
      depth--;
      args.setI32(0, inner + doubled);
    },
  }, (instance) => {
    outerInstance = instance;
    // outer(x) = reenter(x) + 1000, reenter(x) = outer(x-1) + 2x, outer(-1) base: reenter(0) = 0.
    const expected = (x: number): number => x === 0 ? 1000 : expected(x - 1) + 2 * x + 1000;
    assert.equal(instance.getFunc("outer").callI32(5), expected(5));
    assert.equal(depth, 0);
  });
});

Deno.test("Linker nested host error surfaces in the inner call and can be handled", () => {
  let caught: unknown;
  let outer: Instance | undefined;
  withHostCalls({
    fail(): void {
      throw new RangeError("inner failure");
    },
    reenter(args): void {
      try {
        outer!.getFunc("fail").callI32(1);
      } catch (error) {
        caught = error;
      }
      args.setI32(0, 5);
    },
  }, (instance) => {
    outer = instance;
    assert.equal(instance.getFunc("outer").callI32(0), 1005);
  });
  assert.ok(caught instanceof PiecrustError);
  assert.equal(caught.kind, "HostError");
  assert.ok(caught.cause instanceof RangeError);
});

Deno.test("Linker.instantiate reports unresolved imports with InstantiationError", () => {
  {
    using engine = new Engine();
    using module = Module.compile(engine, hostCalls);
    using linker = new Linker(engine);
    using store = new Store(engine);
    const error = assertThrowsKind(() => linker.instantiate(store, module), "InstantiationError");
    assert.match(error.message, /env::nop|unknown import/);
  }
  assertNoLiveHandles();
});

Deno.test("Linker.defineFunc rejects a duplicate definition", () => {
  {
    using engine = new Engine();
    using linker = new Linker(engine);
    const type = { params: [], results: [] };
    linker.defineFunc("env", "nop", type, () => {});
    assertThrowsKind(() => linker.defineFunc("env", "nop", type, () => {}), "WasmtimeError");
  }
  assertNoLiveHandles();
});
