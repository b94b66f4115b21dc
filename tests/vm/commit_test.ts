/**
 * Commits on disk: ports of the reference's commit, root and persistence
 * scenarios that need no deletion, finalization or module cache yet.
 */

import assert from "node:assert/strict";
import { contractFunction, ContractId, i64, unit, verifyPageOpening, VM } from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertBytes, assertThrowsKind, withDirectory } from "../_helpers.ts";
import { assembleWat } from "../../contracts/wat.ts";

const OWNER = new Uint8Array(32).fill(3);
const GAS = 1_000_000n;
const readValue = contractFunction("read_value", unit, i64);
const increment = contractFunction("increment", unit, unit);

for (const target of ["wasm32", "wasm64"] as const satisfies ContractTarget[]) {
  Deno.test(`Session.commit persists state that a reopened VM reads back (${target})`, () => {
    withDirectory((dir) => {
      let root: Uint8Array;
      let counter: ContractId;
      {
        using vm = VM.open(dir);
        using session = vm.session();
        counter = session.deploy(contractBytecode("counter", { target }), OWNER, GAS);
        session.call(counter, increment, undefined, GAS);
        root = session.commit();
        assert.deepEqual(session.root(), root, "root() equals the commit's root");
        assert.deepEqual(vm.commits().map((bytes) => bytes.toHex()), [root.toHex()]);
      }
      // A second VM on the same directory, as after a restart.
      using vm = VM.open(dir);
      assert.deepEqual(vm.commits().map((bytes) => bytes.toHex()), [root.toHex()]);
      using session = vm.session({ base: root });
      assert.deepEqual(session.root(), root, "an untouched session has the base's root");
      // Committed pages come with openings against the committed root.
      const committed = session.memoryPages(counter)!;
      assert.ok(committed.length > 0);
      for (const { page, opening } of committed) {
        assert.deepEqual(opening.tree.root, root);
        assert.ok(verifyPageOpening(opening, page));
      }
      assert.equal(session.call(counter, readValue, undefined, GAS).data, 0xfdn);
      assert.equal(session.memoryLen(counter), 3 * 65536);
      // A call writes the argument buffer, so the state (and root) moves on.
      assert.notDeepEqual(session.root(), root);
    });
  });
}

Deno.test("Session.commit chains commits, and older commits keep their own state", () => {
  withDirectory((dir) => {
    using vm = VM.open(dir);
    let counter: ContractId;
    let first: Uint8Array;
    {
      using session = vm.session();
      counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
      first = session.commit();
    }
    let second: Uint8Array;
    {
      using session = vm.session({ base: first });
      session.call(counter, increment, undefined, GAS);
      second = session.commit();
    }
    let third: Uint8Array;
    {
      using session = vm.session({ base: second });
      session.call(counter, increment, undefined, GAS);
      const other = session.deploy(contractBytecode("box"), OWNER, GAS);
      assert.ok(session.memoryLen(other)! > 0);
      third = session.commit();
    }
    assert.equal(new Set([first, second, third].map((bytes) => bytes.toHex())).size, 3);
    const values = [first, second, third].map((base) => {
      using session = vm.session({ base });
      return session.call(counter, readValue, undefined, GAS).data;
    });
    assert.deepEqual(values, [0xfcn, 0xfdn, 0xfen]);
  });
});

Deno.test("Session.root is the same for the same history on two VMs", () => {
  const roots: string[][] = [];
  for (let run = 0; run < 2; run++) {
    withDirectory((dir) => {
      using vm = VM.open(dir);
      const history: string[] = [];
      let base: Uint8Array | undefined;
      for (let round = 0; round < 3; round++) {
        using session = vm.session(base === undefined ? {} : { base });
        const counter = ContractId.fromHex(String(round).padStart(2, "0").repeat(32));
        session.deploy(contractBytecode("counter"), OWNER, GAS, { contractId: counter });
        session.call(counter, increment, undefined, GAS);
        base = session.commit();
        history.push(base.toHex());
      }
      roots.push(history);
    });
  }
  assert.deepEqual(roots[0], roots[1]);
});

Deno.test("Session.commit after a failed call gives the root of an untouched session", () => {
  withDirectory((dir) => {
    using vm = VM.open(dir);
    let base: Uint8Array;
    let counter: ContractId;
    {
      using session = vm.session();
      counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
      base = session.commit();
    }
    using failing = vm.session({ base });
    assertThrowsKind(() => failing.call(counter, increment, undefined, 0n), "OutOfGas");
    using untouched = vm.session({ base });
    assert.deepEqual(failing.root(), untouched.root());
    assert.deepEqual(failing.root(), base);
  });
});

Deno.test("VM.session rejects an unknown base, and deploy rejects an id of the base", () => {
  withDirectory((dir) => {
    using vm = VM.open(dir);
    assertThrowsKind(() => vm.session({ base: new Uint8Array(32).fill(9) }), "CommitNotFound");
    let base: Uint8Array;
    {
      using session = vm.session();
      session.deploy(contractBytecode("counter"), OWNER, GAS);
      base = session.commit();
    }
    using session = vm.session({ base });
    assertThrowsKind(
      () => session.deploy(contractBytecode("counter"), OWNER, GAS),
      "InitializationError",
    );
  });
});

Deno.test("VM.open refuses a directory another VM has open, until it is closed", () => {
  withDirectory((dir) => {
    {
      using vm = VM.open(dir);
      const error = assertThrowsKind(() => VM.open(dir), "DirectoryInUse");
      assert.match(error.message, /in use by another VM/);
      assert.deepEqual(vm.commits(), []);
    }
    using again = VM.open(dir);
    assert.deepEqual(again.commits(), []);
  });
});

Deno.test("VM.open reports a corrupt commit with its root", () => {
  withDirectory((dir) => {
    let root: Uint8Array;
    {
      using vm = VM.open(dir);
      using session = vm.session();
      session.deploy(contractBytecode("counter"), OWNER, GAS);
      root = session.commit();
    }
    const manifest = `${dir}/commits/${root.toHex()}/manifest.json`;
    const bytes = Deno.readFileSync(manifest);
    bytes[bytes.length >> 1] ^= 0x01;
    Deno.chmodSync(manifest, 0o644); // Commit files are read-only: tampering must lift that.
    Deno.writeFileSync(manifest, bytes);
    const error = assertThrowsKind(() => VM.open(dir), "PersistenceError");
    assert.ok(error.message.includes(root.toHex()), error.message);
  });
});

Deno.test("Session.commit of a root equal to the base writes nothing", async () => {
  const grower = await assembleWat(`(module
    (memory (export "memory") 2)
    (global (export "A") i32 (i32.const 65536))
    (func (export "grow") (param i32) (result i32) (memory.grow (i32.const 3))))`);
  withDirectory((dir) => {
    using vm = VM.open(dir);
    let base: Uint8Array;
    let id: ContractId;
    {
      using session = vm.session();
      id = session.deploy(grower, OWNER, GAS);
      base = session.commit();
    }
    let grown: Uint8Array;
    {
      using session = vm.session({ base });
      session.callRaw(id, "grow", new Uint8Array(0), GAS);
      assert.equal(session.memoryLen(id), 5 * 65536);
      grown = session.commit();
    }
    // Growth without a written page leaves the root, which does not cover lengths, as it was.
    assert.deepEqual(grown, base);
    assert.equal(vm.commits().length, 1);
    using session = vm.session({ base: grown });
    assert.equal(session.memoryLen(id), 2 * 65536);
  });
});

Deno.test("ModuleCache recompiles a corrupt or stale artifact instead of trusting it", () => {
  withDirectory((dir) => {
    let base: Uint8Array;
    let counter: ContractId;
    {
      using vm = VM.open(dir);
      using session = vm.session({ debug: true });
      counter = session.deploy(contractBytecode("callcenter"), OWNER, GAS);
      base = session.commit();
    }
    const artifacts = [...Deno.readDirSync(`${dir}/modules`)]
      .map((entry) => entry.name)
      .filter((name) => name.endsWith(".cwasm"));
    assert.equal(artifacts.length, 1);
    const artifact = `${dir}/modules/${artifacts[0]}`;
    const original = Deno.readFileSync(artifact);

    const damage = [
      () => {
        const bytes = original.slice();
        bytes[bytes.length >> 1] ^= 0xff;
        Deno.writeFileSync(artifact, bytes);
      },
      () => Deno.writeFileSync(artifact, original.subarray(0, 1000)),
      () => Deno.removeSync(`${artifact}.meta`),
      () => {
        const meta = JSON.parse(Deno.readTextFileSync(`${artifact}.meta`));
        meta.binding = meta.binding.replace("library", "libraries");
        Deno.writeTextFileSync(`${artifact}.meta`, JSON.stringify(meta));
      },
    ];
    for (const harm of damage) {
      harm();
      using vm = VM.open(dir);
      using session = vm.session({ base, debug: true });
      assert.equal(session.memoryLen(counter), 3 * 65536);
      // The session compiled the module again and replaced the artifact.
      const repaired = JSON.parse(Deno.readTextFileSync(`${artifact}.meta`));
      assert.ok(repaired.binding.includes('"library"'));
      assertBytes(Deno.readFileSync(artifact), original, "the artifact was compiled again");
    }
  });
});

Deno.test("Session reports a flipped byte in a committed page pack instead of loading it", () => {
  withDirectory((dir) => {
    let root: Uint8Array;
    let counter: ContractId;
    {
      using vm = VM.open(dir);
      using session = vm.session();
      counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
      session.call(counter, increment, undefined, GAS);
      root = session.commit();
    }
    const pack = `${dir}/commits/${root.toHex()}/${counter}.pages`;
    const bytes = Deno.readFileSync(pack);
    assert.ok(bytes.length >= 65536);
    bytes[bytes.length - 65536 + 8] ^= 0x40; // a byte of the pack's last page
    Deno.chmodSync(pack, 0o644);
    Deno.writeFileSync(pack, bytes);
    using vm = VM.open(dir);
    using session = vm.session({ base: root });
    const error = assertThrowsKind(
      () => session.call(counter, readValue, undefined, GAS),
      "PersistenceError",
    );
    assert.match(error.message, new RegExp(`Commit ${root.toHex()} .*${counter}\\.pages`));
  });
});

Deno.test("VM.verifyCommit passes a sound commit, names a truncated file and a missing commit", () => {
  withDirectory((dir) => {
    using vm = VM.open(dir);
    using session = vm.session();
    session.deploy(contractBytecode("counter"), OWNER, GAS);
    const root = session.commit();
    vm.verifyCommit(root);
    const folder = `${dir}/commits/${root.toHex()}`;
    const wasm = [...Deno.readDirSync(folder)].find((entry) => entry.name.endsWith(".wasm"))!;
    Deno.chmodSync(`${folder}/${wasm.name}`, 0o644);
    Deno.truncateSync(`${folder}/${wasm.name}`, 10);
    const error = assertThrowsKind(() => vm.verifyCommit(root), "PersistenceError");
    assert.match(
      error.message,
      new RegExp(`Commit ${root.toHex()} is corrupt: ${wasm.name} has 10 bytes`),
    );
    const missing = assertThrowsKind(() => vm.verifyCommit(new Uint8Array(32)), "CommitNotFound");
    assert.deepEqual(missing.details, { root: "00".repeat(32) });
  });
});

Deno.test("VM.open with durable false writes commits that a reopened VM reads back", () => {
  withDirectory((dir) => {
    let root: Uint8Array;
    let counter: ContractId;
    {
      using vm = VM.open(dir, { durable: false });
      using session = vm.session();
      counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
      session.call(counter, increment, undefined, GAS);
      root = session.commit();
    }
    using vm = VM.open(dir);
    using session = vm.session({ base: root });
    assert.equal(session.call(counter, readValue, undefined, GAS).data, 0xfdn);
  });
});

Deno.test("VM.open rejects a durable option that is not a boolean", () => {
  withDirectory((dir) => {
    assert.throws(
      () => VM.open(dir, { durable: "yes" as unknown as boolean }),
      (e) => e instanceof TypeError && /options\.durable must be a boolean/.test(e.message),
    );
  });
});

Deno.test("VM.ephemeral does not fsync unless asked, and tells its Workers", () => {
  {
    using vm = VM.ephemeral();
    const handle = vm.share();
    handle.port.close();
    assert.equal(handle.options.durable, false);
  }
  using vm = VM.ephemeral({ durable: true });
  const handle = vm.share();
  handle.port.close();
  assert.equal(handle.options.durable, true);
});

Deno.test("Session.commit hashes a page written again from the parts written since its base", async () => {
  // poke: the argument is (u32 offset, u32 byte) pairs; each byte is stored at its offset.
  const poker = await assembleWat(`(module
    (memory (export "memory") 4)
    (global (export "A") i32 (i32.const 196608))
    (func (export "poke") (param $len i32) (result i32) (local $at i32)
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $len)))
        (i32.store8
          (i32.load (i32.add (i32.const 196608) (local.get $at)))
          (i32.load (i32.add (i32.const 196612) (local.get $at))))
        (local.set $at (i32.add (local.get $at) (i32.const 8)))
        (br $next)))
      (i32.const 0)))`);
  let seed = 7;
  const random = (below: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % below;
  };
  withDirectory((dir) => {
    using vm = VM.open(dir, { durable: false });
    let id: ContractId;
    const roots: Uint8Array[] = [];
    {
      using session = vm.session();
      id = session.deploy(poker, OWNER, GAS);
      roots.push(session.commit());
    }
    for (let round = 0; round < 40; round++) {
      // Mostly on the latest commit; sometimes on an older one, whose page versions another
      // session already built on.
      const base = roots[random(4) === 0 ? random(roots.length) : roots.length - 1];
      using session = vm.session({ base });
      const pokes = 1 + random(6);
      const arg = new DataView(new ArrayBuffer(8 * pokes));
      for (let i = 0; i < pokes; i++) {
        arg.setUint32(8 * i, random(3 * 65536), true);
        arg.setUint32(8 * i + 4, 1 + random(255), true);
      }
      session.callRaw(id, "poke", new Uint8Array(arg.buffer), GAS);
      for (const { index, page, opening } of session.memoryPages(id)!) {
        assert.ok(verifyPageOpening(opening, page), `round ${round}: page ${index}'s leaf`);
      }
      roots.push(session.commit());
    }
    for (const root of roots) vm.verifyCommit(root);
  });
});
