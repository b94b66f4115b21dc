/**
 * Port of piecrust's `tests/persistence.rs`: commits read back by a reopened
 * VM, and `Session.migrate` (owner, `self_id`, position collisions), plus
 * what ours adds: the migrated contract's leaf and memory, and failed
 * migrations leaving the session as it was.
 */

import assert from "node:assert/strict";
import {
  bytes,
  contractFunction,
  ContractId,
  contractId,
  i16,
  i64,
  option,
  type Session,
  tuple,
  unit,
  verifyPageOpening,
  VM,
} from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { blake3 } from "../../src/merkle/blake3.ts";
import { openingPosition } from "../../src/merkle/mod.ts";
import {
  assertNoLiveHandles,
  assertThrowsKind,
  commitCounter,
  counterAt,
  withDirectory,
  withDirectoryAsync,
} from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;

const readValue = contractFunction("read_value", unit, i64);
const increment = contractFunction("increment", unit, unit);
const readValues = contractFunction("read_values", unit, tuple(i64, i64));
const incrementLeft = contractFunction("increment_left", unit, unit);
const get = contractFunction("get", unit, option(i16));
const set = contractFunction("set", i16, unit);
const readOwner = contractFunction("read_owner", unit, bytes(33));
const readId = contractFunction("read_id", unit, contractId);

function withVM(body: (vm: VM) => void): void {
  {
    using vm = VM.ephemeral();
    body(vm);
  }
  assertNoLiveHandles();
}

/** An id whose little-endian u32 words are `words`, the rest zero. */
function idFromWords(...words: number[]): ContractId {
  const bytes = new Uint8Array(32);
  const view = new DataView(bytes.buffer);
  words.forEach((word, i) => view.setUint32(4 * i, word >>> 0, true));
  return new ContractId(bytes);
}

/** The reference's migration closure: the left counter takes over the old counter's value. */
function carryCounter(counter: ContractId): (next: ContractId, session: Session) => void {
  return (next, session) => {
    const old = session.call(counter, readValue, undefined, LIMIT).data;
    const [left] = session.call(next, readValues, undefined, LIMIT).data;
    for (let i = left; i < old; i++) session.call(next, incrementLeft, undefined, LIMIT);
  };
}

/** A committed counter incremented twice (0xfe), owned by `owner`. */
function committedCounter(
  vm: VM,
  owner: Uint8Array = OWNER,
  target: ContractTarget = "wasm32",
): { counter: ContractId; root: Uint8Array } {
  using session = vm.session();
  const counter = session.deploy(contractBytecode("counter", { target }), owner, LIMIT);
  session.call(counter, increment, undefined, LIMIT);
  session.call(counter, increment, undefined, LIMIT);
  return { counter, root: session.commit() };
}

// session_commits_persistence
Deno.test("Session.commit chains two commits that reopened VMs read back", () => {
  withDirectory((dir) => {
    let counter: ContractId;
    let box: ContractId;
    let first: Uint8Array;
    let second: Uint8Array;
    {
      using vm = VM.open(dir);
      {
        using session = vm.session();
        counter = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
        box = session.deploy(contractBytecode("box"), OWNER, LIMIT);
        session.call(counter, increment, undefined, LIMIT);
        session.call(box, set, 0x11, LIMIT);
        assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfdn);
        assert.equal(session.call(box, get, undefined, LIMIT).data, 0x11);
        first = session.commit();
      }
      using session = vm.session({ base: first });
      session.call(counter, increment, undefined, LIMIT);
      session.call(box, set, 0x12, LIMIT);
      assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfen);
      assert.equal(session.call(box, get, undefined, LIMIT).data, 0x12);
      second = session.commit();
    }
    for (const [root, value, boxed] of [[first, 0xfdn, 0x11], [second, 0xfen, 0x12]] as const) {
      using vm = VM.open(dir);
      using session = vm.session({ base: root });
      assert.equal(session.call(counter, readValue, undefined, LIMIT).data, value);
      assert.equal(session.call(box, get, undefined, LIMIT).data, boxed);
    }
  });
});

/** The permission bits of every file in the folder `folder`, by name. */
function fileModes(folder: string): Record<string, number> {
  const modes: Record<string, number> = {};
  for (const entry of Deno.readDirSync(folder)) {
    modes[entry.name] = Deno.statSync(`${folder}/${entry.name}`).mode! & 0o777;
  }
  return modes;
}

Deno.test(
  "Session.commit writes a commit's files read-only, and VM.finalizeCommit its rewrite",
  withDirectoryAsync(async (dir) => {
    using vm = VM.open(dir);
    const zero = commitCounter(vm, undefined, 0);
    const first = commitCounter(vm, zero, 1);
    const second = commitCounter(vm, first, 1);
    for (const root of [zero, first, second]) {
      const modes = fileModes(`${dir}/commits/${root.toHex()}`);
      assert.ok(Object.keys(modes).length >= 2, "a manifest and a page pack at least");
      for (const [name, mode] of Object.entries(modes)) {
        assert.equal(mode.toString(8), "444", `${root.toHex()}/${name}`);
      }
    }
    // Folders stay writable: deleting a commit renames its folder, which updates its `..`.
    assert.ok((Deno.statSync(`${dir}/commits/${first.toHex()}`).mode! & 0o200) !== 0);
    await vm.finalizeCommit(first);
    const rewritten = fileModes(`${dir}/retired/${first.toHex()}`);
    assert.ok(Object.keys(rewritten).some((name) => name.endsWith(".wasm")), "bytecode linked");
    for (const [name, mode] of Object.entries(rewritten)) {
      assert.equal(mode.toString(8), "444", `finalized ${name}`);
    }
    assert.equal(counterAt(vm, second), 0xfen);
    await vm.deleteCommit(second);
    await vm.deleteCommit(zero);
    assert.deepEqual([...Deno.readDirSync(`${dir}/commits`)], []);
    assert.deepEqual([...Deno.readDirSync(`${dir}/retired`)], [], "read-only files are reclaimed");
  }),
);

// contracts_persistence
Deno.test("Session.commit persists contracts that a reopened VM reads back", () => {
  withDirectory((dir) => {
    let counter: ContractId;
    let box: ContractId;
    let root: Uint8Array;
    {
      using vm = VM.open(dir);
      using session = vm.session();
      counter = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
      box = session.deploy(contractBytecode("box"), OWNER, LIMIT);
      session.call(counter, increment, undefined, LIMIT);
      session.call(box, set, 0x11, LIMIT);
      assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfdn);
      assert.equal(session.call(box, get, undefined, LIMIT).data, 0x11);
      root = session.commit();
    }
    using vm = VM.open(dir);
    using session = vm.session({ base: root });
    assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfdn);
    assert.equal(session.call(box, get, undefined, LIMIT).data, 0x11);
  });
});

// migration (and across widths: the memory's width goes with the code)
for (
  const [from, to] of [["wasm32", "wasm32"], ["wasm64", "wasm64"], ["wasm32", "wasm64"]] as const
) {
  Deno.test(`Session.migrate moves a counter's value into a double_counter (${from} to ${to})`, () => {
    withDirectory((dir) => {
      let counter: ContractId;
      let root: Uint8Array;
      {
        using vm = VM.open(dir);
        ({ counter, root } = committedCounter(vm, OWNER, from));
        using session = vm.session({ base: root });
        let temporary: ContractId | undefined;
        const returned = session.migrate(
          counter,
          contractBytecode("double_counter", { target: to }),
          LIMIT,
          (next, s) => {
            temporary = next;
            carryCounter(counter)(next, s);
            return "done";
          },
        );
        assert.equal(returned, "done");
        assert.deepEqual(session.call(counter, readValues, undefined, LIMIT).data, [0xfen, 0xcfn]);
        // The temporary id is gone.
        assert.equal(session.memoryLen(temporary!), undefined);
        assertThrowsKind(
          () => session.call(temporary!, readValues, undefined, LIMIT),
          "ContractDoesNotExist",
        );
        root = session.commit();
      }
      using vm = VM.open(dir);
      using session = vm.session({ base: root });
      assert.deepEqual(session.call(counter, readValues, undefined, LIMIT).data, [0xfen, 0xcfn]);
      assertThrowsKind(() => session.call(counter, readValue, undefined, LIMIT), "InvalidFunction");
    });
  });
}

// migration_new_owner
Deno.test("Session.migrate gives the new contract an explicit owner", () => {
  withVM((vm) => {
    const owner = new Uint8Array(33).fill(1);
    const newOwner = new Uint8Array(33).fill(2);
    const { counter, root } = committedCounter(vm, owner);
    using session = vm.session({ base: root });
    session.migrate(counter, contractBytecode("metadata"), LIMIT, () => {}, { owner: newOwner });
    assert.deepEqual(session.call(counter, readOwner, undefined, LIMIT).data, newOwner);
  });
});

// migration_old_owner
Deno.test("Session.migrate keeps the old contract's owner by default", () => {
  withVM((vm) => {
    const owner = new Uint8Array(33).fill(1);
    const { counter, root } = committedCounter(vm, owner);
    using session = vm.session({ base: root });
    session.migrate(counter, contractBytecode("metadata"), LIMIT, () => {});
    assert.deepEqual(session.call(counter, readOwner, undefined, LIMIT).data, owner);
  });
});

// migration_self_id_remains_same
Deno.test("Session.migrate keeps the old id as the contract's self_id", () => {
  withVM((vm) => {
    const { counter, root } = committedCounter(vm, new Uint8Array(33).fill(1));
    using session = vm.session({ base: root });
    session.migrate(counter, contractBytecode("metadata"), LIMIT, (next, s) => {
      // During the migration, the new contract still has its own id.
      assert.deepEqual(s.call(next, readId, undefined, LIMIT).data, next.toBytes());
    });
    assert.deepEqual(session.call(counter, readId, undefined, LIMIT).data, counter.toBytes());
  });
});

/** Two ids that fold to Merkle position 0: zero, and 1 + 0xffff_ffff (which wraps). */
const idA = idFromWords();
const idB = idFromWords(1, 0xffff_ffff);

// migration_to_contract_id_pos_collision_is_rejected
Deno.test("Session.migrate rejects an absent id that folds onto a committed contract", () => {
  withVM((vm) => {
    let root: Uint8Array;
    {
      using session = vm.session();
      session.deploy(contractBytecode("counter"), OWNER, LIMIT, { contractId: idB });
      root = session.commit();
    }
    using session = vm.session({ base: root });
    const box = contractBytecode("box");
    const error = assertThrowsKind(
      () => session.migrate(idA, box, LIMIT, () => {}, { owner: OWNER }),
      "ContractPositionCollision",
    );
    // The reference's error carries { contract_id: id_a, pos: 0 }; ours says so in words.
    assert.ok(error.message.includes(idA.toString()), error.message);
    assert.match(error.message, /position 0\b/);
    // Nothing of the migration remains: neither the target, nor the temporary contract.
    assert.deepEqual(session.root(), root);
    assert.equal(session.memoryLen(idA), undefined);
    assert.equal(session.memoryLen(new ContractId(blake3(box))), undefined);
    session.deploy(box, OWNER, LIMIT);
    assert.equal(session.call(idB, readValue, undefined, LIMIT).data, 0xfcn);
  });
});

// migration_to_pending_id_pos_collision_is_rejected
Deno.test("Session.migrate rejects an absent id that folds onto a contract deployed in the session", () => {
  withVM((vm) => {
    const temporary = idFromWords(2);
    using session = vm.session();
    session.deploy(contractBytecode("counter"), OWNER, LIMIT, { contractId: idB });
    const before = session.root();
    const error = assertThrowsKind(
      () =>
        session.migrate(idA, contractBytecode("box"), LIMIT, () => {}, {
          owner: OWNER,
          contractId: temporary,
        }),
      "ContractPositionCollision",
    );
    assert.ok(error.message.includes(idA.toString()), error.message);
    assert.match(error.message, /position 0\b/);
    assert.deepEqual(session.root(), before);
    assert.equal(session.memoryLen(temporary), undefined);
    assert.equal(session.memoryLen(idA), undefined);
    // The temporary id's position is free again.
    session.deploy(contractBytecode("box"), OWNER, LIMIT, { contractId: temporary });
  });
});

// migration_allows_replacement_contract_at_target_pos
Deno.test("Session.migrate allows a new contract at the absent target's own position", () => {
  withVM((vm) => {
    using session = vm.session();
    session.migrate(idA, contractBytecode("box"), LIMIT, () => {}, {
      owner: OWNER,
      contractId: idB,
    });
    session.call(idA, set, 0x11, LIMIT);
    assert.equal(session.call(idA, get, undefined, LIMIT).data, 0x11);
    assert.equal(session.memoryLen(idB), undefined);
    // idA holds position 0 now.
    assertThrowsKind(
      () => session.deploy(contractBytecode("counter"), OWNER, LIMIT, { contractId: idB }),
      "ContractPositionCollision",
    );
  });
});

Deno.test("Session.migrate keeps the id's contracts-tree leaf and commits only the new memory", () => {
  withDirectory((dir) => {
    let counter: ContractId;
    let box: ContractId;
    let root: Uint8Array;
    let fresh: { length: number; pages: number[] };
    {
      using vm = VM.open(dir);
      ({ counter, root } = committedCounter(vm)); // leaf 1
      {
        using session = vm.session({ base: root });
        box = session.deploy(contractBytecode("box"), OWNER, LIMIT); // leaf 2
        root = session.commit();
      }
      {
        // What a double_counter that took over 0xfe holds, deployed afresh.
        using session = vm.session();
        const id = session.deploy(contractBytecode("double_counter"), OWNER, LIMIT);
        session.call(id, readValues, undefined, LIMIT);
        for (let i = 0xfc; i < 0xfe; i++) session.call(id, incrementLeft, undefined, LIMIT);
        fresh = {
          length: session.memoryLen(id)!,
          pages: session.memoryPages(id)!.map((page) => page.index),
        };
      }
      using session = vm.session({ base: root });
      session.migrate(counter, contractBytecode("double_counter"), LIMIT, carryCounter(counter));
      // Only the new contract's pages: the old memory is no longer part of the state.
      const pages = session.memoryPages(counter)!;
      assert.deepEqual(pages.map((page) => page.index), fresh.pages);
      for (const { page, opening } of pages) {
        assert.equal(openingPosition(opening.tree), 1);
        assert.ok(verifyPageOpening(opening, page));
      }
      assert.equal(openingPosition(session.memoryPages(box)![0].opening.tree), 2);
      const migratedRoot = session.root();
      root = session.commit();
      assert.deepEqual(root, migratedRoot, "root() is what commit() commits");
    }
    using vm = VM.open(dir);
    using session = vm.session({ base: root });
    assert.deepEqual(session.root(), root);
    assert.equal(session.memoryLen(counter), fresh.length);
    const pages = session.memoryPages(counter)!;
    assert.deepEqual(pages.map((page) => page.index), fresh.pages);
    for (const { opening } of pages) assert.equal(openingPosition(opening.tree), 1);
    assert.deepEqual(session.call(counter, readValues, undefined, LIMIT).data, [0xfen, 0xcfn]);
    assert.equal(session.call(box, get, undefined, LIMIT).data, null);
  });
});

Deno.test("Session.migrate of a contract deployed in the session gives it a leaf at commit", () => {
  withDirectory((dir) => {
    let counter: ContractId;
    let root: Uint8Array;
    {
      using vm = VM.open(dir);
      using session = vm.session();
      counter = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
      session.call(counter, increment, undefined, LIMIT);
      session.migrate(counter, contractBytecode("double_counter"), LIMIT, carryCounter(counter));
      root = session.commit();
    }
    using vm = VM.open(dir);
    using session = vm.session({ base: root });
    assert.equal(openingPosition(session.memoryPages(counter)![0].opening.tree), 1);
    assert.deepEqual(session.call(counter, readValues, undefined, LIMIT).data, [0xfdn, 0xcfn]);
  });
});

Deno.test("Session.migrate leaves the session as it was when the migration throws", () => {
  withVM((vm) => {
    const { counter, root } = committedCounter(vm);
    using session = vm.session({ base: root });
    session.call(counter, increment, undefined, LIMIT); // 0xff, in a loaded, written memory
    session.setMeta("height", new Uint8Array([1]));
    const before = session.root();
    const thrown = new Error("abandoned");
    let next: ContractId | undefined;
    let deployed: ContractId | undefined;
    assert.throws(
      () =>
        session.migrate(counter, contractBytecode("double_counter"), LIMIT, (id, s) => {
          next = id;
          carryCounter(counter)(id, s);
          s.call(counter, increment, undefined, LIMIT);
          deployed = s.deploy(contractBytecode("box"), OWNER, LIMIT);
          s.call(deployed, set, 0x11, LIMIT);
          s.setMeta("height", new Uint8Array([2]));
          s.setMeta("extra", new Uint8Array([3]));
          throw thrown;
        }),
      (error) => error === thrown,
    );
    assert.deepEqual(session.root(), before);
    assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xffn);
    for (const gone of [next!, deployed!]) {
      assert.equal(session.memoryLen(gone), undefined);
      assertThrowsKind(() => session.call(gone, get, undefined, LIMIT), "ContractDoesNotExist");
    }
    assert.deepEqual(session.meta("height"), new Uint8Array([1]));
    assert.equal(session.meta("extra"), undefined);
    // The same migration succeeds afterwards, at the same temporary id.
    session.migrate(counter, contractBytecode("double_counter"), LIMIT, (id, s) => {
      assert.ok(id.equals(next!));
      carryCounter(counter)(id, s);
    });
    assert.deepEqual(session.call(counter, readValues, undefined, LIMIT).data, [0xffn, 0xcfn]);
  });
});

Deno.test("Session.migrate leaves the session as it was when the deploy fails", () => {
  withVM((vm) => {
    const { counter, root } = committedCounter(vm);
    using session = vm.session({ base: root });
    session.call(counter, increment, undefined, LIMIT);
    const before = session.root();
    let ran = false;
    // initializer's init takes a u8: an empty argument fails uplink's validation.
    assertThrowsKind(
      () =>
        session.migrate(counter, contractBytecode("initializer"), LIMIT, () => {
          ran = true;
        }),
      "Panic",
    );
    assert.equal(ran, false);
    assert.deepEqual(session.root(), before);
    assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xffn);
    assert.equal(
      session.memoryLen(new ContractId(blake3(contractBytecode("initializer")))),
      undefined,
    );
  });
});

Deno.test("Session.migrate needs an owner when the contract does not exist", () => {
  withVM((vm) => {
    using session = vm.session();
    const before = session.root();
    assert.throws(
      () => session.migrate(idA, contractBytecode("box"), LIMIT, () => {}),
      TypeError,
    );
    assert.deepEqual(session.root(), before);
    assert.equal(session.memoryLen(idA), undefined);
  });
});

Deno.test("Session.migrate rejects nested and asynchronous migrations, undoing them", () => {
  withVM((vm) => {
    const { counter, root } = committedCounter(vm);
    using session = vm.session({ base: root });
    const before = session.root();
    const double = contractBytecode("double_counter");
    assertThrowsKind(
      () =>
        session.migrate(counter, double, LIMIT, (_, s) => {
          s.migrate(counter, contractBytecode("box"), LIMIT, () => {});
        }),
      "SessionError",
    );
    assert.throws(
      () => session.migrate(counter, double, LIMIT, async () => {}),
      /must be synchronous/,
    );
    assert.deepEqual(session.root(), before);
    assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfen);
  });
});
