/** Tests of src/session/module_cache.ts: when compiled modules reach the disk. */

import assert from "node:assert/strict";
import { Engine } from "../../src/engine/mod.ts";
import { PiecrustError } from "../../src/errors.ts";
import { ModuleCache, MODULES_KEPT } from "../../src/session/module_cache.ts";
import { contractBytecode } from "../../src/testing/mod.ts";

/** The counter with a custom section holding `i`: a distinct module that compiles the same. */
function distinctCounter(i: number): Uint8Array {
  const section = new Uint8Array([0, 10, 1, 0x70, ...new Uint8Array(8)]);
  new DataView(section.buffer).setBigUint64(4, BigInt(i), true);
  return new Uint8Array([...contractBytecode("counter"), ...section]);
}

/** The keys whose artifact and sidecar are in `directory`. */
function written(directory: string): string[] {
  return [...Deno.readDirSync(directory)]
    .filter((entry) => entry.name.endsWith(".cwasm"))
    .map((entry) => entry.name.split("-")[0])
    .sort();
}

Deno.test("ModuleCache.load with deferWrite writes nothing until save names the module", () => {
  const directory = Deno.makeTempDirSync();
  using engine = new Engine();
  using cache = new ModuleCache(directory);
  for (const key of ["a", "b"]) {
    cache.load(engine, key, () => distinctCounter(key.charCodeAt(0)), { deferWrite: true })
      .close();
  }
  assert.deepEqual(written(directory), []);
  cache.save(["b", "not-loaded"]);
  assert.deepEqual(written(directory), ["b"]);
  cache.save(["b"]); // already written: nothing happens
  assert.deepEqual(written(directory), ["b"]);
  // Another cache on the directory loads b's artifact, and compiles a.
  using other = new ModuleCache(directory);
  let compiled = 0;
  const wasm = () => (compiled++, distinctCounter(0));
  other.load(engine, "b", wasm).close();
  assert.equal(compiled, 0);
  other.load(engine, "a", wasm).close();
  assert.equal(compiled, 1);
});

Deno.test("ModuleCache writes a deferred module that leaves the memory cache", () => {
  const directory = Deno.makeTempDirSync();
  using engine = new Engine();
  using cache = new ModuleCache(directory);
  for (let i = 0; i <= MODULES_KEPT; i++) {
    cache.load(engine, `m${String(i).padStart(3, "0")}`, () => distinctCounter(i), {
      deferWrite: true,
    }).close();
  }
  // The first one was evicted to make room for the last, and written on the way out.
  assert.deepEqual(written(directory), ["m000"]);
});

Deno.test("ModuleCache.close leaves deferred modules unwritten", () => {
  const directory = Deno.makeTempDirSync();
  using engine = new Engine();
  const cache = new ModuleCache(directory);
  cache.load(engine, "a", () => distinctCounter(1), { deferWrite: true }).close();
  cache.close();
  cache.save(["a"]);
  assert.deepEqual(written(directory), []);
});

Deno.test("ModuleCache.load without deferWrite writes the artifact at once", () => {
  const directory = Deno.makeTempDirSync();
  using engine = new Engine();
  using cache = new ModuleCache(directory);
  cache.load(engine, "a", () => distinctCounter(1)).close();
  assert.deepEqual(written(directory), ["a"]);
});

Deno.test("ModuleCache with exclusive loads only the artifacts it wrote itself", () => {
  const directory = Deno.makeTempDirSync();
  using engine = new Engine();
  using shared = new ModuleCache(directory);
  shared.load(engine, "a", () => distinctCounter(1)).close();
  // An exclusive cache takes the directory to be its own: a's artifact,
  // written by another cache, is not looked for, so a is compiled again.
  using exclusive = new ModuleCache(directory, { exclusive: true });
  let compiled = 0;
  const wasm = () => (compiled++, distinctCounter(1));
  exclusive.load(engine, "a", wasm).close();
  assert.equal(compiled, 1);
  // What it wrote, it loads once the module has left its memory.
  exclusive.close();
  exclusive.load(engine, "a", wasm).close();
  assert.equal(compiled, 1);
});

Deno.test("ModuleCache with exclusive keeps a removed module removed until recompiled", () => {
  using engine = new Engine();
  using cache = new ModuleCache(Deno.makeTempDirSync(), { exclusive: true });
  const wasm = () => distinctCounter(2);
  cache.load(engine, "a", wasm).close();
  cache.remove("a");
  assert.throws(
    () => cache.load(engine, "a", wasm),
    (error) => error instanceof PiecrustError && error.kind === "ModuleRemoved",
  );
  cache.recompile(engine, "a", wasm());
  cache.close();
  let compiled = 0;
  cache.load(engine, "a", () => (compiled++, wasm())).close();
  assert.equal(compiled, 0); // the artifact recompile wrote
});
