/**
 * Persistence costs, each beside a baseline in the same run:
 *
 * - loading a contract's compiled module from the on-disk cache (verified
 *   sidecar + `deserialize_file`) vs compiling it.
 *
 * Run: `deno task bench` (or `deno bench -A bench/commit_bench.ts`).
 */

import { contractBytecode } from "../mod.ts";
import { Engine } from "../src/engine/mod.ts";
import { prepareContractModule } from "../src/session/contract_module.ts";
import { ModuleCache } from "../src/session/module_cache.ts";

const dir = Deno.makeTempDirSync({ prefix: "piecrust-commit-bench-" });
const engine = new Engine();
const cache = new ModuleCache(`${dir}/modules`);
const prepared = prepareContractModule(contractBytecode("callcenter"), { debug: true });
cache.load(engine, "callcenter", () => prepared.wasm).close();

Deno.bench({
  name: "compile callcenter (61 KB) and store it",
  group: "contract module",
  baseline: true,
  fn(): void {
    using _module = cache.load(engine, `uncached-${crypto.randomUUID()}`, () => prepared.wasm);
  },
});
Deno.bench({
  name: "load it from the module cache",
  group: "contract module",
  fn(): void {
    using _module = cache.load(engine, "callcenter", () => {
      throw new Error("the cached artifact was not used");
    });
  },
});

globalThis.addEventListener("unload", () => {
  engine.close();
  Deno.removeSync(dir, { recursive: true });
});
