/**
 * Port of piecrust's `tests/module.rs`: removing and recompiling compiled
 * modules, and the module cache repairing itself. Our cache is keyed by
 * bytecode hash (`<vmdir>/modules/<hash>-<reservation>.cwasm` + `.meta`)
 * and repairs an artifact when a session loads it, not when the VM opens.
 */

import assert from "node:assert/strict";
import { contractFunction, ContractId, i16, i64, option, unit, VM } from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { blake3 } from "../../src/merkle/blake3.ts";
import { assertNoLiveHandles, assertThrowsKind, withDirectory } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies readonly ContractTarget[];

const readValue = contractFunction("read_value", unit, i64);
const increment = contractFunction("increment", unit, unit);
const boxGet = contractFunction("get", unit, option(i16));
const boxSet = contractFunction("set", i16, unit);

/** The cache files of one bytecode. */
interface ModuleFiles {
  /** The compiled module, if there is one. */
  artifact: string | undefined;
  /** The artifact's sidecar path, if there is an artifact. */
  sidecar: string | undefined;
  hasSidecar: boolean;
  /** The path of the removal marker. */
  marker: string;
  removed: boolean;
}

/** A committed counter. */
interface Committed {
  id: ContractId;
  root: Uint8Array;
}

/** The cache files of `bytecode` in the VM directory `dir`. */
function moduleFiles(dir: string, bytecode: Uint8Array): ModuleFiles {
  const hash = blake3(bytecode).toHex();
  const names = [...Deno.readDirSync(`${dir}/modules`)]
    .map((entry) => entry.name)
    .filter((name) => name.startsWith(hash));
  const artifacts = names.filter((name) => name.endsWith(".cwasm"));
  assert.ok(artifacts.length <= 1, `one artifact per engine configuration, got ${artifacts}`);
  const artifact = artifacts.length === 1 ? `${dir}/modules/${artifacts[0]}` : undefined;
  return {
    artifact,
    sidecar: artifact === undefined ? undefined : `${artifact}.meta`,
    hasSidecar: names.some((name) => name.endsWith(".cwasm.meta")),
    marker: `${dir}/modules/${hash}.removed`,
    removed: names.includes(`${hash}.removed`),
  };
}

/** Deploys a counter, increments it once (0xfc → 0xfd) and commits. */
function deployCounter(vm: VM, target: ContractTarget = "wasm32"): Committed {
  using session = vm.session();
  const id = session.deploy(contractBytecode("counter", { target }), OWNER, LIMIT);
  session.call(id, increment, undefined, LIMIT);
  return { id, root: session.commit() };
}

for (const target of TARGETS) {
  // remove_module
  Deno.test(`VM.removeModule deletes the module files, and recompileModule restores them (${target})`, () => {
    {
      using vm = VM.ephemeral();
      const { id, root } = deployCounter(vm, target);
      const bytecode = contractBytecode("counter", { target });
      let files = moduleFiles(vm.directory, bytecode);
      assert.ok(files.artifact !== undefined && files.hasSidecar && !files.removed);

      vm.removeModule(id);
      files = moduleFiles(vm.directory, bytecode);
      assert.equal(files.artifact, undefined);
      assert.ok(!files.hasSidecar);
      assert.ok(files.removed, "a durable marker records the removal");

      vm.recompileModule(id);
      files = moduleFiles(vm.directory, bytecode);
      assert.ok(files.artifact !== undefined && files.hasSidecar && !files.removed);

      using session = vm.session({ base: root });
      assert.deepEqual(session.root(), root, "removal touched no state");
      assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
      session.call(id, increment, undefined, LIMIT);
      assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfen);
    }
    assertNoLiveHandles();
  });
}

// recompile_module
Deno.test("VM.recompileModule rewrites a module of plausible size and keeps the state", () => {
  {
    using vm = VM.ephemeral();
    const { id, root } = deployCounter(vm);
    const { artifact, sidecar } = moduleFiles(vm.directory, contractBytecode("counter"));
    const originalSize = Deno.statSync(artifact!).size;
    const originalSidecar = Deno.readFileSync(sidecar!);
    // Replaced, not rewritten in place: a module mapped from the old file stays intact.
    const originalInode = Deno.statSync(artifact!).ino;

    vm.recompileModule(id);

    const newSize = Deno.statSync(artifact!).size;
    assert.ok(newSize > originalSize / 2 && newSize < originalSize * 2, `${newSize} bytes`);
    assert.notEqual(Deno.statSync(artifact!).ino, originalInode);
    assert.deepEqual(Deno.readFileSync(sidecar!), originalSidecar, "the same build and binding");

    using session = vm.session({ base: root });
    assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
    session.call(id, increment, undefined, LIMIT);
    assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfen);
  }
  assertNoLiveHandles();
});

// module_cache_recovers_from_missing_or_corrupt_metadata
Deno.test("VM.open recovers a module whose sidecar is missing or corrupt", () => {
  withDirectory((dir) => {
    const bytecode = contractBytecode("counter");
    let committed: Committed;
    {
      using vm = VM.open(dir);
      committed = deployCounter(vm);
    }
    const { id, root } = committed;
    const { sidecar } = moduleFiles(dir, bytecode);
    Deno.removeSync(sidecar!);
    {
      using vm = VM.open(dir);
      using session = vm.session({ base: root });
      assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
    }
    assert.ok(moduleFiles(dir, bytecode).hasSidecar, "the sidecar is written again");

    const broken = new TextEncoder().encode("broken-metadata");
    Deno.writeFileSync(sidecar!, broken);
    {
      using vm = VM.open(dir);
      using session = vm.session({ base: root });
      assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
    }
    assert.notDeepEqual(Deno.readFileSync(sidecar!), broken, "the sidecar is repaired");
  });
});

// module_cache_recovers_from_missing_objectcode_with_live_memory_cache
Deno.test("VM.open recovers a module whose artifact is missing but whose sidecar remains", () => {
  withDirectory((dir) => {
    const bytecode = contractBytecode("counter");
    let committed: Committed;
    {
      using vm = VM.open(dir);
      committed = deployCounter(vm);
    }
    const { id, root } = committed;
    const { artifact, sidecar } = moduleFiles(dir, bytecode);
    Deno.removeSync(artifact!);
    assert.ok(Deno.statSync(sidecar!).isFile);

    using vm = VM.open(dir);
    using session = vm.session({ base: root });
    assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
    assert.ok(Deno.statSync(artifact!).isFile, "the artifact is written again on first use");
  });
});

// removed_module_stays_unavailable_until_recompiled
Deno.test("VM.removeModule keeps a contract unavailable, across a reopen, until recompileModule", () => {
  withDirectory((dir) => {
    const bytecode = contractBytecode("counter");
    let committed: Committed;
    {
      using vm = VM.open(dir);
      committed = deployCounter(vm);
      vm.removeModule(committed.id);
      using session = vm.session({ base: committed.root });
      const error = assertThrowsKind(
        () => session.call(committed.id, readValue, undefined, LIMIT),
        "ModuleRemoved",
      );
      assert.match(error.message, /recompileModule/);
    }
    const { id, root } = committed;
    assert.equal(moduleFiles(dir, bytecode).artifact, undefined, "nothing recompiled silently");
    assert.ok(!moduleFiles(dir, bytecode).hasSidecar);

    using vm = VM.open(dir);
    {
      using session = vm.session({ base: root });
      assertThrowsKind(() => session.call(id, readValue, undefined, LIMIT), "ModuleRemoved");
      assert.deepEqual(session.root(), root, "the state is intact");
    }
    assert.equal(moduleFiles(dir, bytecode).artifact, undefined);

    vm.recompileModule(id);
    using session = vm.session({ base: root });
    assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
  });
});

Deno.test("VM.removeModule: a marker left by a crash before the deletion still blocks loading", () => {
  withDirectory((dir) => {
    const bytecode = contractBytecode("counter");
    let committed: Committed;
    {
      using vm = VM.open(dir);
      committed = deployCounter(vm);
    }
    const { id, root } = committed;
    // What removeModule leaves if the process dies after the durable marker.
    Deno.writeFileSync(moduleFiles(dir, bytecode).marker, new Uint8Array());
    assert.ok(moduleFiles(dir, bytecode).artifact !== undefined);

    using vm = VM.open(dir);
    {
      using session = vm.session({ base: root });
      assertThrowsKind(() => session.call(id, readValue, undefined, LIMIT), "ModuleRemoved");
    }
    vm.removeModule(id);
    assert.equal(moduleFiles(dir, bytecode).artifact, undefined, "removing again finishes it");
    vm.recompileModule(id);
    using session = vm.session({ base: root });
    assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
  });
});

// remove_and_recompile_multiple_contracts
Deno.test("VM.removeModule and recompileModule handle several contracts", () => {
  {
    using vm = VM.ephemeral();
    let counter: ContractId;
    let box: ContractId;
    let root: Uint8Array;
    {
      using session = vm.session();
      counter = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
      box = session.deploy(contractBytecode("box"), OWNER, LIMIT);
      session.call(counter, increment, undefined, LIMIT);
      session.call(box, boxSet, 0x42, LIMIT);
      root = session.commit();
    }

    vm.removeModule(counter);
    vm.removeModule(box);
    assert.equal(moduleFiles(vm.directory, contractBytecode("counter")).artifact, undefined);
    assert.equal(moduleFiles(vm.directory, contractBytecode("box")).artifact, undefined);

    vm.recompileModule(counter);
    vm.recompileModule(box);
    assert.ok(moduleFiles(vm.directory, contractBytecode("counter")).artifact !== undefined);
    assert.ok(moduleFiles(vm.directory, contractBytecode("box")).artifact !== undefined);

    using session = vm.session({ base: root });
    assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfdn);
    assert.equal(session.call(box, boxGet, undefined, LIMIT).data, 0x42);
  }
  assertNoLiveHandles();
});

Deno.test("VM.removeModule and recompileModule reach a contract whose deploying commit was deleted", async () => {
  {
    using vm = VM.ephemeral();
    const { id, root: first } = deployCounter(vm);
    let second: Uint8Array;
    {
      using session = vm.session({ base: first });
      session.deploy(contractBytecode("box"), OWNER, LIMIT);
      second = session.commit();
    }
    // The second commit lists only the box; the counter lives on in the
    // deleted (retired) first commit that it builds on.
    await vm.deleteCommit(first);
    assert.deepEqual(vm.commits(), [second]);

    vm.removeModule(id);
    assert.equal(moduleFiles(vm.directory, contractBytecode("counter")).artifact, undefined);
    {
      using session = vm.session({ base: second });
      assertThrowsKind(() => session.call(id, readValue, undefined, LIMIT), "ModuleRemoved");
    }
    vm.recompileModule(id);
    using session = vm.session({ base: second });
    assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
  }
  assertNoLiveHandles();
});

// recompile_nonexistent_contract
Deno.test("VM.recompileModule of a contract in no commit fails with ContractDoesNotExist", () => {
  {
    using vm = VM.ephemeral();
    const error = assertThrowsKind(
      () => vm.recompileModule(new ContractId(new Uint8Array(32).fill(0xff))),
      "ContractDoesNotExist",
    );
    assert.match(error.message, /f{64}/);
  }
  assertNoLiveHandles();
});

// remove_nonexistent_module
Deno.test("VM.removeModule of a contract in no commit does nothing", () => {
  {
    using vm = VM.ephemeral();
    vm.removeModule(new ContractId(new Uint8Array(32).fill(0xff)));
    assert.deepEqual([...Deno.readDirSync(`${vm.directory}/modules`)], []);
  }
  assertNoLiveHandles();
});

Deno.test("VM.removeModule ignores a contract deployed only in an uncommitted session", () => {
  {
    using vm = VM.ephemeral();
    using session = vm.session();
    const id = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    vm.removeModule(id);
    assert.ok(!moduleFiles(vm.directory, contractBytecode("counter")).removed);
    assertThrowsKind(() => vm.recompileModule(id), "ContractDoesNotExist");
    session.call(id, increment, undefined, LIMIT);
    assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
  }
  assertNoLiveHandles();
});

Deno.test("VM.removeModule leaves sessions that already loaded the contract running", () => {
  {
    using vm = VM.ephemeral();
    const { id, root } = deployCounter(vm);
    using session = vm.session({ base: root });
    assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
    vm.removeModule(id);
    session.call(id, increment, undefined, LIMIT);
    assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfen);
  }
  assertNoLiveHandles();
});

Deno.test("VM.removeModule blocks deploying the same bytecode until recompileModule", () => {
  {
    using vm = VM.ephemeral();
    const { id } = deployCounter(vm);
    vm.removeModule(id);
    const other = new ContractId(new Uint8Array(32).fill(7));
    {
      using session = vm.session();
      assertThrowsKind(
        () => session.deploy(contractBytecode("counter"), OWNER, LIMIT, { contractId: other }),
        "ModuleRemoved",
      );
    }
    vm.recompileModule(id);
    using session = vm.session();
    session.deploy(contractBytecode("counter"), OWNER, LIMIT, { contractId: other });
    assert.equal(session.call(other, readValue, undefined, LIMIT).data, 0xfcn);
  }
  assertNoLiveHandles();
});

Deno.test("VM.removeModule and recompileModule fail with Disposed on a closed VM", () => {
  const vm = VM.ephemeral();
  const { id } = deployCounter(vm);
  vm.close();
  assertThrowsKind(() => vm.removeModule(id), "Disposed");
  assertThrowsKind(() => vm.recompileModule(id), "Disposed");
  assertNoLiveHandles();
});
