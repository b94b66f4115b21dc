/** Tests of VM.commitInfo, VM.contractInfo and VM.verifyCommit's options. */

import assert from "node:assert/strict";
import { contractFunction, ContractId, type ContractInfo, unit, VM } from "../../mod.ts";
import { parseManifest, sealManifest } from "../../src/store/mod.ts";
import { contractBytecode } from "../../src/testing/mod.ts";
import { assertThrowsKind, withDirectory, withDirectoryAsync } from "../_helpers.ts";

const OWNER = new Uint8Array(32).fill(3);
const GAS = 1_000_000_000n;
const increment = contractFunction("increment", unit, unit);
const CHUNK = new Uint8Array(65536).fill(0x5a);

/** counter and grower deployed, then grower appends 3 × 64 KiB: two commits. */
function twoCommits(
  vm: VM,
): { first: Uint8Array; second: Uint8Array; counter: ContractId; grower: ContractId } {
  let first: Uint8Array;
  let counter: ContractId;
  let grower: ContractId;
  {
    using session = vm.session({ debug: true });
    counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
    grower = session.deploy(contractBytecode("grower"), new Uint8Array([7]), GAS);
    first = session.commit();
  }
  using session = vm.session({ base: first, debug: true });
  for (let i = 0; i < 3; i++) session.callRaw(grower, "append", CHUNK, GAS);
  return { first, second: session.commit(), counter, grower };
}

function byId(contracts: readonly ContractInfo[], id: ContractId): ContractInfo {
  const found = contracts.find((contract) => contract.id.equals(id));
  assert.ok(found, `contract ${id} listed`);
  return found;
}

Deno.test("VM.commitInfo lists every contract with what the commit changed", () => {
  withDirectory((dir) => {
    using vm = VM.open(dir);
    const { first, second, counter, grower } = twoCommits(vm);
    const before = vm.commitInfo(first);
    const after = vm.commitInfo(second);
    assert.equal(before.base, null);
    assert.deepEqual(after.base, first);
    assert.deepEqual(after.root, second);
    assert.deepEqual(
      after.contracts.map((c) => c.id.toString()),
      [counter, grower].map(String).sort(),
    );

    const counterAfter = byId(after.contracts, counter);
    assert.equal(counterAfter.changed, false);
    assert.equal(counterAfter.pagesWritten, 0);
    assert.deepEqual(counterAfter.owner, OWNER);
    assert.equal(counterAfter.bytecodeBytes, contractBytecode("counter").length);
    const { changed: _, pagesWritten: written, ...counterBefore } = byId(before.contracts, counter);
    assert.equal(written, 1, "the deploying commit wrote counter's page");
    const { changed: __, pagesWritten: ___, ...counterNow } = counterAfter;
    assert.deepEqual(counterNow, counterBefore, "unchanged since: described alike");

    const growerBefore = byId(before.contracts, grower);
    const growerAfter = byId(after.contracts, grower);
    assert.equal(growerAfter.changed, true);
    assert.ok(growerAfter.pagesWritten >= 3, `${growerAfter.pagesWritten} pages written`);
    assert.ok(growerAfter.pages >= growerBefore.pages + 3);
    assert.ok(growerAfter.memoryLength >= growerBefore.memoryLength + 3 * 65536);
    assert.deepEqual(growerAfter.owner, new Uint8Array([7]));
    assert.notDeepEqual(growerAfter.pageRoot, growerBefore.pageRoot);
    assert.deepEqual(growerAfter.bytecodeHash, growerBefore.bytecodeHash);

    // The second commit's folder holds its manifest and grower's pages only.
    const folder = `${dir}/commits/${second.toHex()}`;
    const onDisk = [...Deno.readDirSync(folder)]
      .reduce((sum, entry) => sum + Deno.statSync(`${folder}/${entry.name}`).size, 0);
    assert.equal(after.diskBytes, onDisk);
    assert.ok(after.diskBytes >= growerAfter.pagesWritten * 65536);
  });
});

Deno.test("VM.contractInfo reads a contract's owner and memory length at each commit", () => {
  withDirectory((dir) => {
    using vm = VM.open(dir);
    const { first, second, grower, counter } = twoCommits(vm);
    const early = vm.contractInfo(first, grower)!;
    const late = vm.contractInfo(second, grower)!;
    assert.deepEqual(late.owner, new Uint8Array([7]));
    assert.ok(late.memoryLength > early.memoryLength);
    using session = vm.session({ base: second });
    assert.equal(late.memoryLength, session.memoryLen(grower));
    assert.deepEqual(
      vm.contractInfo(second, counter),
      byId(vm.commitInfo(second).contracts, counter),
    );
    assert.equal(vm.contractInfo(second, ContractId.fromHex("ab".repeat(32))), undefined);
  });
});

Deno.test(
  "VM.commitInfo names a finalized base, which verifyCommit with bases still checks",
  withDirectoryAsync(async (dir) => {
    using vm = VM.open(dir);
    const { first, second, grower } = twoCommits(vm);
    await vm.finalizeCommit(first);
    assertThrowsKind(() => vm.commitInfo(first), "CommitNotFound");
    const info = vm.commitInfo(second);
    assert.deepEqual(info.base, first);
    assert.ok(byId(info.contracts, grower).changed);
    const roots = new Set<string>();
    vm.verifyCommit(second, { bases: true, onProgress: ({ root }) => roots.add(root.toHex()) });
    assert.deepEqual(roots, new Set([second.toHex(), first.toHex()]));
  }),
);

Deno.test("VM.verifyCommit with bases checks the chain's files and reports its progress", () => {
  withDirectory((dir) => {
    let first: Uint8Array;
    let second: Uint8Array;
    {
      using vm = VM.open(dir);
      ({ first, second } = twoCommits(vm));
      const seen: { root: string; file: string; verifiedBytes: number; totalBytes: number }[] = [];
      vm.verifyCommit(second, {
        bases: true,
        onProgress: ({ root, file, verifiedBytes, totalBytes }) =>
          seen.push({ root: root.toHex(), file, verifiedBytes, totalBytes }),
      });
      const total = vm.commitInfo(first).diskBytes + vm.commitInfo(second).diskBytes;
      assert.deepEqual(
        new Set(seen.map((entry) => entry.root)),
        new Set([first, second].map((r) => r.toHex())),
      );
      assert.ok(seen.every((entry) => entry.totalBytes === total));
      assert.equal(seen.at(-1)!.verifiedBytes, total);
      for (let i = 1; i < seen.length; i++) {
        assert.ok(seen[i].verifiedBytes > seen[i - 1].verifiedBytes);
      }
    }
    // Damage a pack of the base: only a verification with bases finds it.
    const folder = `${dir}/commits/${first.toHex()}`;
    const pack = [...Deno.readDirSync(folder)].find((entry) => entry.name.endsWith(".pages"))!;
    const path = `${folder}/${pack.name}`;
    Deno.chmodSync(path, 0o644);
    const bytes = Deno.readFileSync(path);
    bytes[100] ^= 1;
    Deno.writeFileSync(path, bytes);
    using vm = VM.open(dir);
    vm.verifyCommit(second);
    const error = assertThrowsKind(
      () => vm.verifyCommit(second, { bases: true }),
      "PersistenceError",
    );
    assert.match(
      error.message,
      new RegExp(`Commit ${first.toHex()} is corrupt: ${pack.name} has checksum`),
    );
  });
});

Deno.test("VM.verifyCommit computes the root again and names a page-tree root that differs", () => {
  withDirectory((dir) => {
    let second: Uint8Array;
    let grower: ContractId;
    {
      using vm = VM.open(dir);
      ({ second, grower } = twoCommits(vm));
    }
    // A manifest sealed again with another page-tree root: its checksum holds, its root does not.
    const path = `${dir}/commits/${second.toHex()}/manifest.json`;
    const { checksum: _, ...manifest } = parseManifest(second.toHex(), Deno.readFileSync(path));
    manifest.contracts[0].pageRoot = "ee".repeat(32);
    Deno.chmodSync(path, 0o644);
    Deno.writeFileSync(path, sealManifest(manifest).bytes);
    using vm = VM.open(dir);
    const error = assertThrowsKind(() => vm.verifyCommit(second), "PersistenceError");
    assert.match(
      error.message,
      new RegExp(
        `contract ${grower} give page-tree root [0-9a-f]{64}, not the recorded ${"ee".repeat(32)}`,
      ),
    );
  });
});

Deno.test("VM.commitInfo, contractInfo and verifyCommit refuse bad arguments and a closed VM", () => {
  const vm = VM.ephemeral();
  let root: Uint8Array;
  let counter: ContractId;
  {
    using session = vm.session();
    counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
    root = session.commit();
  }
  const missing = assertThrowsKind(() => vm.commitInfo(new Uint8Array(32)), "CommitNotFound");
  assert.deepEqual(missing.details, { root: "00".repeat(32) });
  assertThrowsKind(() => vm.commitInfo(new Uint8Array(3)), "CommitNotFound");
  assertThrowsKind(() => vm.contractInfo(new Uint8Array(32), counter), "CommitNotFound");
  assert.throws(() => vm.commitInfo("ab" as unknown as Uint8Array), TypeError);
  assert.throws(
    () => vm.contractInfo(root, counter.toString() as unknown as ContractId),
    TypeError,
  );
  assert.throws(
    () => vm.verifyCommit(root, null as unknown as object),
    /options must be an object/,
  );
  assert.throws(
    () => vm.verifyCommit(root, { bases: 1 as unknown as boolean }),
    /options.bases must be a boolean/,
  );
  assert.throws(
    () => vm.verifyCommit(root, { onProgress: "x" as unknown as () => void }),
    /options.onProgress must be a function/,
  );
  vm.close();
  assertThrowsKind(() => vm.commitInfo(root), "Disposed");
  assertThrowsKind(() => vm.contractInfo(root, counter), "Disposed");
  assertThrowsKind(() => vm.verifyCommit(root), "Disposed");
});

Deno.test(
  "VM.verifyAll checks each commit once, unlisted bases included, and names a damaged one",
  withDirectoryAsync(async (dir) => {
    let first: Uint8Array;
    {
      using vm = VM.open(dir);
      let second: Uint8Array;
      let counter: ContractId;
      ({ first, second, counter } = twoCommits(vm));
      {
        using session = vm.session({ base: second });
        session.call(counter, increment, undefined, GAS);
        session.commit();
      }
      await vm.deleteCommit(first); // Unlisted, still the base of the others.
      const manifests: string[] = [];
      vm.verifyAll({
        onProgress: ({ root, file }) => file === "manifest.json" && manifests.push(root.toHex()),
      });
      assert.equal(manifests.length, 3);
      assert.equal(new Set(manifests).size, 3);
      assert.ok(manifests.includes(first.toHex()));
    }
    // One byte flipped (a changed size would fail VM.open already).
    const folder = `${dir}/retired/${first.toHex()}`;
    const wasm = [...Deno.readDirSync(folder)].find((entry) => entry.name.endsWith(".wasm"))!;
    const path = `${folder}/${wasm.name}`;
    const bytes = Deno.readFileSync(path);
    bytes[bytes.length - 1] ^= 1;
    Deno.chmodSync(path, 0o644);
    Deno.writeFileSync(path, bytes);
    using vm = VM.open(dir);
    const error = assertThrowsKind(() => vm.verifyAll(), "PersistenceError");
    assert.match(
      error.message,
      new RegExp(`Commit ${first.toHex()} is corrupt: ${wasm.name} has checksum`),
    );
  }),
);

Deno.test(
  "VM.collectModules keeps the modules commits use and deletes the others",
  withDirectoryAsync(async (dir) => {
    using vm = VM.open(dir);
    const modules = () =>
      new Set([...Deno.readDirSync(`${dir}/modules`)].map((entry) => entry.name.split("-")[0]));
    const hashOf = (info: ContractInfo) => info.bytecodeHash.toHex();
    const { first, second, counter, grower } = twoCommits(vm);
    let boxRoot: Uint8Array;
    {
      using session = vm.session({ base: second });
      session.deploy(contractBytecode("box"), OWNER, GAS);
      boxRoot = session.commit();
    }
    {
      using session = vm.session();
      // Never committed: its compiled module is never written.
      session.deploy(contractBytecode("fibonacci"), OWNER, GAS);
    }
    const box = vm.commitInfo(boxRoot).contracts.find((c) =>
      !c.id.equals(counter) && !c.id.equals(grower)
    )!;
    const used = [vm.contractInfo(first, counter)!, vm.contractInfo(first, grower)!, box].map(
      hashOf,
    );
    assert.deepEqual(modules(), new Set(used));
    assert.deepEqual(vm.collectModules(), { files: 0, bytes: 0 }, "every module is used");
    // box's only commit deleted: its module goes with the next collection.
    await vm.deleteCommit(boxRoot);
    const collected = vm.collectModules();
    assert.equal(collected.files, 2, "box's artifact and sidecar");
    assert.ok(collected.bytes > 0);
    assert.deepEqual(modules(), new Set(used.slice(0, 2)));
    using session = vm.session({ base: second });
    session.call(counter, increment, undefined, GAS);
  }),
);

Deno.test("VM.collectModules refuses while a session is open", () => {
  using vm = VM.ephemeral();
  const session = vm.session();
  const error = assertThrowsKind(() => vm.collectModules(), "SessionError");
  assert.match(error.message, /1 sessions are open, 0 Workers connected/);
  session.close();
  vm.collectModules();
  vm.close();
  assertThrowsKind(() => vm.collectModules(), "Disposed");
});
