/**
 * Deleting and finalizing commits: ports of the reference's `commit.rs`
 * lifecycle scenarios (deferred while a session holds the commit), plus the
 * guarantees the reference lacks: commits built on a deleted or finalized
 * one keep their exact state, also after reopening; files are reclaimed
 * once nothing needs them; a requested deletion or finalization survives
 * the process dying before it ran.
 */

import assert from "node:assert/strict";
import { contractFunction, type ContractId, i64, unit, verifyPageOpening, VM } from "../../mod.ts";
import { contractBytecode } from "../../src/testing/mod.ts";
import { assembleWat } from "../../contracts/wat.ts";
import {
  assertThrowsKind,
  commitCounter,
  COUNTER,
  counterAt,
  runFixture,
  withDirectory,
  withDirectoryAsync,
} from "../_helpers.ts";

const OWNER = new Uint8Array(32).fill(5);
const GAS = 1_000_000n;
const readValue = contractFunction("read_value", unit, i64);
const increment = contractFunction("increment", unit, unit);

/** Writes `byte` at offset 100 of page `page` (1..7), and reads it back. */
const PAGES_WAT = `(module
  (memory (export "memory") 8)
  (global (export "A") i32 (i32.const 0))
  (func (export "write") (param i32) (result i32)
    (i32.store8
      (i32.add (i32.mul (i32.load (i32.const 0)) (i32.const 65536)) (i32.const 100))
      (i32.load (i32.const 4)))
    (i32.const 0))
  (func (export "read") (param i32) (result i32)
    (i32.store8 (i32.const 0)
      (i32.load8_u (i32.add (i32.mul (i32.load (i32.const 0)) (i32.const 65536)) (i32.const 100))))
    (i32.const 1)))`;

function pageArg(page: number, byte = 0): Uint8Array {
  return new Uint8Array(new Uint32Array([page, byte]).buffer);
}

function folders(dir: string, kind: "commits" | "retired" | "intents"): string[] {
  return [...Deno.readDirSync(`${dir}/${kind}`)].map((entry) => entry.name).sort();
}

async function assertNoCommit(promise: Promise<void>): Promise<void> {
  await assert.rejects(promise, (error: Error & { kind?: string }) => {
    assert.equal(error.kind, "CommitNotFound");
    assert.match(error.message, /no commit/);
    return true;
  });
}

Deno.test(
  "VM.deleteCommit removes an unused commit and its files",
  withDirectoryAsync(async (dir) => {
    using vm = VM.open(dir);
    const root = commitCounter(vm, undefined, 1);
    await vm.deleteCommit(root);
    assert.deepEqual(vm.commits(), []);
    assert.deepEqual(folders(dir, "commits"), []);
    assert.deepEqual(folders(dir, "retired"), []);
    assert.deepEqual(folders(dir, "intents"), [], "the intent is cleared once done");
    assert.throws(() => vm.session({ base: root }), /no commit/);
  }),
);

Deno.test(
  "VM.deleteCommit rejects a root that is not listed",
  withDirectoryAsync(async (dir) => {
    using vm = VM.open(dir);
    const root = commitCounter(vm, undefined, 1);
    await assertNoCommit(vm.deleteCommit(new Uint8Array(32)));
    await assertNoCommit(vm.finalizeCommit(new Uint8Array(31)));
    await vm.deleteCommit(root);
    await assertNoCommit(vm.deleteCommit(root));
    await assertNoCommit(vm.finalizeCommit(root));
  }),
);

// delete_commit_waits_for_held_session_then_removes_state
Deno.test(
  "VM.deleteCommit waits for the sessions on the commit, then removes it",
  withDirectoryAsync(async (dir) => {
    using vm = VM.open(dir);
    const root = commitCounter(vm, undefined, 1);
    const session = vm.session({ base: root });
    let done = false;
    const deletion = vm.deleteCommit(root).then(() => (done = true));
    await Promise.resolve();
    assert.equal(done, false, "the deletion waits");
    assert.deepEqual(vm.commits(), [], "a commit being deleted is no longer listed");
    assert.throws(() => vm.session({ base: root }), /no commit/);
    assert.deepEqual(folders(dir, "commits"), [root.toHex()], "its files stay while it is held");
    assert.deepEqual(folders(dir, "intents"), [`${root.toHex()}.delete`], "recorded durably");
    assert.equal(session.call(COUNTER, readValue, undefined, GAS).data, 0xfdn);
    session.close();
    await deletion;
    assert.deepEqual(folders(dir, "commits"), []);
  }),
);

// finalize_commit_waits_for_held_session_then_promotes_state
Deno.test(
  "VM.finalizeCommit waits for the sessions on the commit, then promotes it",
  withDirectoryAsync(async (dir) => {
    using vm = VM.open(dir);
    const first = commitCounter(vm, undefined, 1);
    const second = commitCounter(vm, first, 1);
    const session = vm.session({ base: first });
    const finalization = vm.finalizeCommit(first);
    assert.deepEqual(vm.commits(), [second]);
    assert.deepEqual(folders(dir, "commits").sort(), [first.toHex(), second.toHex()].sort());
    session.close();
    await finalization;
    assert.deepEqual(folders(dir, "commits"), [second.toHex()]);
    assert.deepEqual(folders(dir, "retired"), [first.toHex()], "kept for the commit built on it");
    assert.equal(counterAt(vm, second), 0xfen);
  }),
);

Deno.test(
  "VM.deleteCommit of a base keeps the commits built on it, also after reopening",
  withDirectoryAsync(async (dir) => {
    let third: Uint8Array;
    {
      using vm = VM.open(dir);
      const first = commitCounter(vm, undefined, 1);
      const second = commitCounter(vm, first, 1);
      third = commitCounter(vm, second, 1);
      await vm.deleteCommit(second);
      await vm.deleteCommit(first);
      assert.deepEqual(vm.commits(), [third]);
      assert.deepEqual(folders(dir, "retired"), [first.toHex(), second.toHex()].sort());
    }
    using vm = VM.open(dir);
    assert.deepEqual(vm.commits(), [third]);
    assert.equal(counterAt(vm, third), 0xffn);
    await vm.deleteCommit(third);
    assert.deepEqual(folders(dir, "commits"), []);
    assert.deepEqual(folders(dir, "retired"), [], "the chain is reclaimed with its last user");
  }),
);

// finalize_commit_promotes_commit_state
Deno.test(
  "VM.finalizeCommit promotes a commit: later commits keep their state, earlier ones are reclaimed",
  withDirectoryAsync(async (dir) => {
    const pages = await assembleWat(PAGES_WAT);
    let last: Uint8Array;
    let id: ContractId;
    {
      using vm = VM.open(dir);
      const roots: Uint8Array[] = [];
      {
        using session = vm.session();
        id = session.deploy(pages, OWNER, GAS);
        session.deploy(contractBytecode("counter"), OWNER, GAS, { contractId: COUNTER });
        for (const page of [1, 2, 3, 4]) session.callRaw(id, "write", pageArg(page, 10), GAS);
        roots.push(session.commit());
      }
      {
        // Overwrites 3 of the 4 pages of the first commit's pack.
        using session = vm.session({ base: roots[0] });
        for (const page of [1, 2, 3]) session.callRaw(id, "write", pageArg(page, 20), GAS);
        session.call(COUNTER, increment, undefined, GAS);
        roots.push(session.commit());
      }
      {
        using session = vm.session({ base: roots[1] });
        session.callRaw(id, "write", pageArg(5, 30), GAS);
        roots.push(session.commit());
      }
      last = roots[2];
      await vm.deleteCommit(roots[0]);
      await vm.finalizeCommit(roots[1]);
      assert.deepEqual(vm.commits(), [last]);
      assert.deepEqual(
        folders(dir, "retired"),
        [roots[1].toHex()],
        "the first commit is reclaimed",
      );
      const manifest = JSON.parse(
        Deno.readTextFileSync(`${dir}/retired/${roots[1].toHex()}/manifest.json`),
      );
      assert.equal(manifest.base, null, "a finalized commit has no base");
      const entry = manifest.contracts.find((c: { id: string }) => c.id === id.toString());
      // Page 4, the one current page of the first pack (pages 0-4; page 0
      // holds the argument buffer), is copied into pack 0; the second
      // commit's own pack (pages 0-3), all current, is linked as pack 1.
      const packOfPage = entry.pages.map((p: number[]) => [p[0], p[1]]);
      assert.deepEqual(packOfPage, [[0, 1], [1, 1], [2, 1], [3, 1], [4, 0]]);
    }
    using vm = VM.open(dir);
    using session = vm.session({ base: last });
    assert.deepEqual(session.root(), last);
    const expected = new Map([[1, 20], [2, 20], [3, 20], [4, 10], [5, 30], [6, 0]]);
    for (const [page, byte] of expected) {
      assert.deepEqual(
        session.callRaw(id, "read", pageArg(page), GAS).data,
        new Uint8Array([byte]),
      );
    }
    assert.equal(session.call(COUNTER, readValue, undefined, GAS).data, 0xfdn);
    // The reads wrote their arguments into page 0, so the root moved on.
    const root = session.root();
    for (const { page, opening } of session.memoryPages(id)!) {
      assert.ok(verifyPageOpening(opening, page));
      assert.deepEqual(opening.tree.root, root);
    }
  }),
);

Deno.test(
  "VM.finalizeCommit of a commit nothing builds on removes it",
  withDirectoryAsync(async (dir) => {
    using vm = VM.open(dir);
    const first = commitCounter(vm, undefined, 1);
    const second = commitCounter(vm, first, 1);
    await vm.finalizeCommit(second);
    assert.deepEqual(vm.commits(), [first]);
    assert.deepEqual(folders(dir, "commits"), [first.toHex()]);
    assert.deepEqual(folders(dir, "retired"), []);
  }),
);

Deno.test(
  "Session.commit of a root that was deleted lists it again",
  withDirectoryAsync(async (dir) => {
    using vm = VM.open(dir);
    const first = commitCounter(vm, undefined, 1);
    const second = commitCounter(vm, first, 1);
    const third = commitCounter(vm, second, 1);
    await vm.finalizeCommit(second);
    assert.deepEqual(commitCounter(vm, first, 1), second);
    assert.deepEqual(
      vm.commits(),
      [first, second, third].sort((a, b) => a.toHex() < b.toHex() ? -1 : 1),
    );
    assert.deepEqual(folders(dir, "retired"), []);
    assert.equal(counterAt(vm, second), 0xfen);
    assert.equal(counterAt(vm, third), 0xffn);
  }),
);

// concurrent_sessions, in one thread (tests/worker_test.ts runs it across Workers)
Deno.test(
  "VM sessions from one base commit different roots while the base's deletion waits",
  withDirectoryAsync(async (dir) => {
    let roots: Uint8Array[];
    {
      using vm = VM.open(dir);
      const base = commitCounter(vm, undefined, 0);
      const sessions = Array.from({ length: 6 }, () => vm.session({ base }));
      const deletion = vm.deleteCommit(base);
      // Interleaved: every session increments once per round, session i for i + 1 rounds.
      for (let round = 0; round < sessions.length; round++) {
        sessions.forEach((session, i) => {
          if (round <= i) session.call(COUNTER, increment, undefined, GAS);
        });
      }
      roots = sessions.map((session) => session.commit());
      assert.equal(
        new Set(roots.map((bytes) => bytes.toHex())).size,
        6,
        "different states, different roots",
      );
      assert.equal(vm.commits().length, 6, "the base is no longer listed");
      for (const session of sessions) session.close();
      await deletion;
      assert.deepEqual(folders(dir, "retired"), [base.toHex()], "kept for the commits built on it");
    }
    using vm = VM.open(dir);
    roots.forEach((root, i) => assert.equal(counterAt(vm, root), 0xfcn + BigInt(i + 1)));
  }),
);

Deno.test(
  "VM.open completes or undoes a finalization stopped between its steps",
  withDirectoryAsync(async (dir) => {
    let second: Uint8Array;
    let third: Uint8Array;
    {
      using vm = VM.open(dir);
      const first = commitCounter(vm, undefined, 1);
      second = commitCounter(vm, first, 1);
      third = commitCounter(vm, second, 1);
    }
    const original = `${dir}/commits/${second.toHex()}`;
    const backup = `${dir}/backup`;
    Deno.mkdirSync(backup);
    for (const entry of Deno.readDirSync(original)) {
      Deno.copyFileSync(`${original}/${entry.name}`, `${backup}/${entry.name}`);
    }
    {
      using vm = VM.open(dir);
      await vm.finalizeCommit(second);
    }
    const rewrite = `${dir}/retired/${second.toHex()}.rewrite`;
    // Stopped after the rewrite was published, before the original was removed: undone.
    Deno.renameSync(`${dir}/retired/${second.toHex()}`, rewrite);
    Deno.renameSync(backup, original);
    {
      using vm = VM.open(dir);
      assert.deepEqual(folders(dir, "retired"), []);
      assert.ok(
        vm.commits().some((root) => root.toHex() === second.toHex()),
        "the commit is listed",
      );
      assert.equal(counterAt(vm, third), 0xffn);
      await vm.finalizeCommit(second);
    }
    // Stopped after the original was removed, before the rewrite was moved into place: completed.
    Deno.renameSync(`${dir}/retired/${second.toHex()}`, rewrite);
    using vm = VM.open(dir);
    assert.deepEqual(folders(dir, "retired"), [second.toHex()]);
    assert.ok(
      !vm.commits().some((root) => root.toHex() === second.toHex()),
      "the commit is finalized",
    );
    assert.equal(counterAt(vm, third), 0xffn);
  }),
);

for (const operation of ["delete", "finalize"] as const) {
  Deno.test(
    `VM.open carries out a ${operation} requested by a process killed before it ran`,
    withDirectoryAsync(async (dir) => {
      const output = await runFixture("pending_operation.ts", [dir, operation]);
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.signal, "SIGKILL", stderr);
      const { zero, first, second } = JSON.parse(new TextDecoder().decode(output.stdout));
      assert.deepEqual(folders(dir, "commits"), [zero, first, second].sort(), "it had not run");
      assert.deepEqual(folders(dir, "intents"), [`${first}.${operation}`]);
      {
        using vm = VM.open(dir);
        const listed = [zero, second].sort();
        assert.deepEqual(
          vm.commits().map((bytes) => bytes.toHex()),
          listed,
          "a deleted commit never comes back",
        );
        assert.deepEqual(folders(dir, "commits"), listed);
        assert.deepEqual(folders(dir, "retired"), [first], "kept for the commit built on it");
        assert.deepEqual(folders(dir, "intents"), []);
        const manifest = JSON.parse(Deno.readTextFileSync(`${dir}/retired/${first}/manifest.json`));
        assert.equal(manifest.base, operation === "finalize" ? null : zero);
        const last = vm.commits().find((root) => root.toHex() === second)!;
        assert.equal(counterAt(vm, last), 0xfen);
        await vm.deleteCommit(last);
      }
      using vm = VM.open(dir);
      assert.deepEqual(vm.commits().map((bytes) => bytes.toHex()), [zero]);
      assert.deepEqual(folders(dir, "retired"), [], "its files are reclaimed with its last user");
    }),
  );
}

Deno.test(
  "VM.open drops a recorded intent whose commit is gone already",
  withDirectoryAsync((dir) => {
    let root: Uint8Array;
    {
      using vm = VM.open(dir);
      root = commitCounter(vm, undefined, 1);
    }
    // As left by a deletion that ran, when the process died before clearing its intent.
    Deno.writeFileSync(`${dir}/intents/${"ab".repeat(32)}.delete`, new Uint8Array());
    using vm = VM.open(dir);
    assert.deepEqual(vm.commits(), [root]);
    assert.deepEqual(folders(dir, "intents"), []);
  }),
);

Deno.test("VM.open refuses an empty path and a folder of other files, and touches neither", () => {
  assert.throws(() => VM.open(""), TypeError);
  withDirectory((dir) => {
    // A folder with a tmp/ of its own: opening a VM there would clear it.
    Deno.mkdirSync(`${dir}/tmp`);
    Deno.writeTextFileSync(`${dir}/tmp/notes.txt`, "mine");
    const error = assertThrowsKind(() => VM.open(dir), "PersistenceError");
    assert.match(error.message, /is not a VM directory \(it holds tmp\)/);
    assert.equal(Deno.readTextFileSync(`${dir}/tmp/notes.txt`), "mine");
    assert.deepEqual([...Deno.readDirSync(dir)].map((entry) => entry.name), ["tmp"]);
  });
  withDirectory((dir) => {
    // An empty folder, and then the VM directory made in it, open.
    VM.open(dir).close();
    VM.open(dir).close();
  });
});

Deno.test("VM.connect refuses anything but a handle from vm.share()", () => {
  for (const handle of [{ port: 1 }, { directory: "/x", options: null }, { directory: 1 }]) {
    assert.throws(
      () => VM.connect(handle as never),
      (error) => error instanceof TypeError && /vm\.share\(\)/.test(error.message),
    );
  }
});
