/**
 * Persistence costs, each beside a baseline in the same run:
 *
 * - a session that writes 1 page and commits, on a state holding 1 GiB of
 *   contract memory vs 1 MiB — at most 1.5× (costs grow with the pages
 *   written, not with the state);
 * - opening a VM directory with 1000 commits vs with 1 commit;
 * - loading a contract's compiled module from the on-disk cache (verified
 *   sidecar + `deserialize_file`), and again from the modules a cache keeps
 *   in memory, vs compiling it.
 *
 * Run: `deno task bench` (or `deno bench -A bench/commit_bench.ts`).
 */

import { type ContractId, VM } from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";
import { assembleWat } from "../contracts/wat.ts";
import { Engine } from "../src/engine/mod.ts";
import { prepareContractModule } from "../src/bytecode/prepare.ts";
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
  name: "load its artifact from the module cache's folder",
  group: "contract module",
  fn(): void {
    // A new cache: the VM's keeps the module in memory after the first load.
    using fresh = new ModuleCache(`${dir}/modules`);
    using _module = fresh.load(engine, "callcenter", () => {
      throw new Error("the cached artifact was not used");
    });
  },
});
Deno.bench({
  name: "load it again from the same cache (kept in memory)",
  group: "contract module",
  fn(): void {
    using _module = cache.load(engine, "callcenter", () => {
      throw new Error("the cached artifact was not used");
    });
  },
});

// --- committing one page on a small vs a large state --------------------------------

const GAS = 1n << 40n;
const MIB = 2 ** 20;
/** `fill` writes every page of the memory; `write` one byte of page 1. */
const filler = (pages: number): Promise<Uint8Array> =>
  assembleWat(`(module
    (memory (export "memory") ${pages})
    (global (export "A") i32 (i32.const 0))
    (func (export "fill") (param i32) (result i32)
      (memory.fill (i32.const 0) (i32.const 7) (i32.const ${pages * 65536})) (i32.const 0))
    (func (export "write") (param i32) (result i32)
      (i32.store (i32.const 65636) (i32.load (i32.const 0))) (i32.const 0)))`);

/** A VM whose one commit holds a contract of `bytes` bytes, every page written. */
async function stateOf(bytes: number): Promise<{ vm: VM; base: Uint8Array; id: ContractId }> {
  const vm = VM.open(`${dir}/state-${bytes}`);
  using session = vm.session();
  const id = session.deploy(await filler(bytes / 65536), new Uint8Array(32), GAS);
  session.callRaw(id, "fill", new Uint8Array(0), GAS);
  return { vm, base: session.commit(), id };
}

let value = 0;
function commitOnePage({ vm, base, id }: { vm: VM; base: Uint8Array; id: ContractId }): void {
  using session = vm.session({ base });
  // A new value each time, so every commit is a new root.
  session.callRaw(id, "write", new Uint8Array(new Uint32Array([++value]).buffer), GAS);
  session.commit();
}

const small = await stateOf(MIB);
const large = await stateOf(1024 * MIB);
Deno.bench({
  name: "write 1 page and commit, state of 1 MiB",
  group: "commit one page",
  baseline: true,
  fn: () => commitOnePage(small),
});
Deno.bench({
  name: "write 1 page and commit, state of 1 GiB",
  group: "commit one page",
  fn: () => commitOnePage(large),
});

// --- opening a directory with many commits -------------------------------------------

/** A VM directory holding `count` commits, each on the previous one. */
function directoryWith(count: number): string {
  const path = `${dir}/commits-${count}`;
  using vm = VM.open(path);
  let base: Uint8Array | undefined;
  let id: ContractId | undefined;
  for (let i = 0; i < count; i++) {
    using session = vm.session(base === undefined ? {} : { base });
    id ??= session.deploy(contractBytecode("counter"), new Uint8Array(32), GAS);
    session.callRaw(id, "increment", new Uint8Array(0), GAS);
    base = session.commit();
  }
  return path;
}

const oneCommit = directoryWith(1);
const thousandCommits = directoryWith(1000);
Deno.bench({
  name: "VM.open of a directory with 1 commit",
  group: "open a directory",
  baseline: true,
  fn(): void {
    using _vm = VM.open(oneCommit);
  },
});
Deno.bench({
  name: "VM.open of a directory with 1000 commits",
  group: "open a directory",
  fn(): void {
    using _vm = VM.open(thousandCommits);
  },
});

globalThis.addEventListener("unload", () => {
  small.vm.close();
  large.vm.close();
  cache.close();
  engine.close();
  Deno.removeSync(dir, { recursive: true });
});
