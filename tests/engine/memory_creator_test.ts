import assert from "node:assert/strict";
import { watFixture } from "../../contracts/wat.ts";
import { MAP_FAILED, MapFlags, ProtFlags } from "../../ffi/libc.ts";
import { libc } from "../../src/native/library.ts";
import {
  Engine,
  type HostMemory,
  type HostMemoryCreator,
  Linker,
  type MemoryRequest,
  Module,
  Store,
} from "../../src/engine/mod.ts";
import { assertNoLiveHandles, assertThrowsKind, assertTraps } from "../_helpers.ts";

const memoryGrow = await watFixture("memory_grow");

/**
 * A creator of anonymous memories, following wasmtime's contract: reserve
 * `reserved + guard` bytes inaccessible, open the first `minimum` bytes.
 */
class AnonymousCreator implements HostMemoryCreator {
  readonly requests: MemoryRequest[] = [];
  readonly released: bigint[] = [];
  failNext = false;

  newMemory(request: MemoryRequest): HostMemory {
    if (this.failNext) throw new Error("no memory for you");
    this.requests.push(request);
    const lib = libc();
    const reservation = BigInt(request.reserved + request.guard);
    const pointer = lib.mmap(
      null,
      reservation,
      ProtFlags.NONE,
      MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.NORESERVE,
      -1,
      0n,
    );
    const base = Deno.UnsafePointer.value(pointer);
    if (base === MAP_FAILED) throw new Error("mmap failed");
    const open = (bytes: number): void => {
      if (bytes > 0 && lib.mprotect(pointer, BigInt(bytes), ProtFlags.READ | ProtFlags.WRITE)) {
        throw new Error("mprotect failed");
      }
    };
    open(request.minimum);
    const released = this.released;
    return {
      base,
      byteLength: request.minimum,
      byteCapacity: request.reserved,
      grow(newByteLength: number): void {
        open(newByteLength);
        (this as { byteLength: number }).byteLength = newByteLength;
      },
      release(): void {
        lib.munmap(pointer, reservation);
        released.push(base);
      },
    };
  }
}

Deno.test("Engine memoryCreator supplies the memory that wasm reads, writes and grows", () => {
  const creator = new AnonymousCreator();
  {
    using engine = new Engine({ memoryCreator: creator });
    using module = Module.compile(engine, memoryGrow);
    using linker = new Linker(engine);
    {
      using store = new Store(engine);
      store.setFuel(100_000n);
      const instance = linker.instantiate(store, module);
      assert.equal(creator.requests.length, 1);
      assert.equal(creator.requests[0].minimum, 65536);
      assert.equal(creator.requests[0].reserved, 4 * 1024 ** 3);

      // The data segment was written into our memory at instantiation.
      const memory = instance.getMemory("memory");
      assert.equal(new TextDecoder().decode(memory.data().subarray(16, 24)), "piecrust");

      assert.equal(instance.getFunc("poke").callI32(100), 1);
      assert.equal(memory.data()[100], 0x2a);

      assert.equal(instance.getFunc("grow").callI32(2), 1);
      assert.equal(memory.byteLength, 3 * 65536);
      assert.equal(instance.getFunc("poke").callI32(2 * 65536 + 5), 3);
      assert.equal(memory.data()[2 * 65536 + 5], 0x2a);
      assertTraps(() => instance.getFunc("poke").callI32(3 * 65536), "MemoryOutOfBounds");
      // Beyond the module's declared maximum of 16 pages, growth fails inside wasm.
      assert.equal(instance.getFunc("grow").callI32(100), -1);
      assert.equal(creator.released.length, 0);
    }
    // Closing the store released the memory through the creator.
    assert.equal(creator.released.length, 1);
  }
  assertNoLiveHandles();
});

Deno.test("Engine memoryCreator failure becomes an InstantiationError", () => {
  const creator = new AnonymousCreator();
  {
    using engine = new Engine({ memoryCreator: creator });
    using module = Module.compile(engine, memoryGrow);
    using linker = new Linker(engine);
    using store = new Store(engine);
    creator.failNext = true;
    const error = assertThrowsKind(() => linker.instantiate(store, module), "InstantiationError");
    assert.match(error.message, /no memory for you/);
    creator.failNext = false;
    store.setFuel(1000n);
    assert.equal(linker.instantiate(store, module).getFunc("poke").callI32(0), 1);
  }
  assertNoLiveHandles();
});

Deno.test("Engine keeps memoryCreator callbacks alive until its last store closes", () => {
  const creator = new AnonymousCreator();
  const engine = new Engine({ memoryCreator: creator });
  const module = Module.compile(engine, memoryGrow);
  const linker = new Linker(engine);
  const store = new Store(engine);
  store.setFuel(1000n);
  linker.instantiate(store, module);
  engine.close();
  module.close();
  linker.close();
  // The finalizer callback must still exist when the store is deleted.
  store.close();
  assert.equal(creator.released.length, 1);
  assertNoLiveHandles();
});
