/**
 * Ports of piecrust's `tests/deploy.rs`, and what a
 * failed deploy must (not) leave behind.
 *
 * Not ported: the `contract_deploy_*` tests of an older branch need the
 * `counter_deployer` contract and contract-side deploys, which piecrust
 * `main` does not have.
 */

import assert from "node:assert/strict";
import { assembleWat } from "../../contracts/wat.ts";
import {
  contractError,
  contractFunction,
  ContractId,
  contractId,
  encode,
  i64,
  PiecrustError,
  result,
  type Session,
  tuple,
  u8,
  unit,
} from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { blake3 } from "../../src/merkle/mod.ts";
import { assertThrowsKind, withSession } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;

const readValue = contractFunction("read_value", unit, i64);
const increment = contractFunction("increment", unit, unit);
const readValues = contractFunction("read_values", unit, tuple(i64, i64));
const incrementLeftAndCall = contractFunction(
  "increment_left_and_call",
  contractId,
  result(unit, contractError),
);

/** An id of 32 equal bytes. */
function idOf(byte: number): ContractId {
  return new ContractId(new Uint8Array(32).fill(byte));
}

/** An id whose eight little-endian u32 words are `words` (the rest zero). */
function idFromWords(...words: number[]): ContractId {
  const bytes = new Uint8Array(32);
  const view = new DataView(bytes.buffer);
  words.forEach((word, i) => view.setUint32(4 * i, word >>> 0, true));
  return new ContractId(bytes);
}

/**
 * Asserts that `deploy` fails with `kind`, that nothing of the contract at
 * `id` remains (no memory, same root), that the session keeps working (the
 * counter at `witness` still increments) and that `id` can then be deployed.
 */
function assertFailedDeployLeavesNothing(
  session: Session,
  witness: ContractId,
  id: ContractId,
  kind: string,
  deploy: () => unknown,
): PiecrustError {
  const before = session.call(witness, readValue, undefined, LIMIT).data;
  // After the read: every call writes its argument buffer, so the root moves.
  const root = session.root();
  const error = assertThrowsKind(deploy, kind);
  assert.ok(error instanceof PiecrustError, `a PiecrustError, got ${error}`);
  assert.equal(session.memoryLen(id), undefined, "no memory of the failed contract");
  assert.deepEqual(session.root(), root, "the root is unchanged");
  assertThrowsKind(
    () => session.callRaw(id, "read_value", new Uint8Array(0), LIMIT),
    "ContractDoesNotExist",
  );
  session.call(witness, increment, undefined, LIMIT);
  assert.equal(session.call(witness, readValue, undefined, LIMIT).data, before + 1n);
  return error;
}

// --- deploy.rs ---------------------------------------------------------------------

for (const target of ["wasm32", "wasm64"] as const satisfies ContractTarget[]) {
  Deno.test(`Session.deploy puts counter (${target}) at an explicit id (deploy_with_id)`, () => {
    withSession((session) => {
      const id = idOf(1);
      const deployed = session.deploy(contractBytecode("counter", { target }), OWNER, LIMIT, {
        contractId: id,
      });
      assert.ok(deployed.equals(id));
      assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfcn);
      session.call(id, increment, undefined, LIMIT);
      assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
    });
  });

  Deno.test(
    `double_counter (${target}) gets DoesNotExist calling a missing contract and keeps its write (call_non_deployed)`,
    () => {
      withSession((session) => {
        const counter = idOf(1);
        session.deploy(contractBytecode("double_counter", { target }), OWNER, LIMIT, {
          contractId: counter,
        });
        assert.equal(session.call(counter, readValues, undefined, LIMIT).data[0], 0xfcn);

        const bogus = idOf(255);
        const r = session.call(counter, incrementLeftAndCall, bogus.toBytes(), LIMIT).data;
        assert.deepEqual(r, { ok: false, error: { tag: "DoesNotExist" } });

        // The caller's own write before the failed call is kept.
        assert.equal(session.call(counter, readValues, undefined, LIMIT).data[0], 0xfdn);
      });
    },
  );
}

Deno.test(
  "Session.deploy rejects an id folding onto a taken Merkle position (contract_id_position_collision_is_rejected)",
  () => {
    withSession((session) => {
      // id_a sums to 0; id_b sums to 1 + u32::MAX, which wraps to 0 too.
      const idA = idOf(0);
      const idB = idFromWords(1, 0xffff_ffff);
      assert.ok(!idA.equals(idB));

      session.deploy(contractBytecode("counter"), OWNER, LIMIT, { contractId: idA });
      const error = assertFailedDeployLeavesNothing(
        session,
        idA,
        idB,
        "ContractPositionCollision",
        () => session.deploy(contractBytecode("box"), OWNER, LIMIT, { contractId: idB }),
      );
      // The reference's error carries { contract_id: id_b, pos: 0 }; ours names the occupant too.
      assert.ok(error.message.includes(idB.toString()), error.message);
      assert.match(error.message, /position 0\b/);
      assert.deepEqual(error.details, {
        contract: idB.toString(),
        position: 0,
        occupant: idA.toString(),
      });
    });
  },
);

Deno.test(
  "Session.deploy rejects an id folding onto a committed contract's position (contract_id_position_collision_with_base_is_rejected)",
  () => {
    withSession((session, vm) => {
      // id_a sums to 0; id_b sums to 1 + u32::MAX, which wraps to 0 too.
      const idA = idOf(0);
      const idB = idFromWords(1, 0xffff_ffff);
      assert.ok(!idA.equals(idB));

      session.deploy(contractBytecode("counter"), OWNER, LIMIT, { contractId: idA });
      const root = session.commit();

      using next = vm.session({ base: root });
      const error = assertFailedDeployLeavesNothing(
        next,
        idA,
        idB,
        "ContractPositionCollision",
        () => next.deploy(contractBytecode("box"), OWNER, LIMIT, { contractId: idB }),
      );
      // The reference's error carries { contract_id: id_b, pos: 0 }; ours names the occupant too.
      assert.ok(error.message.includes(idB.toString()), error.message);
      assert.match(error.message, /position 0\b/);
      assert.deepEqual(error.details, {
        contract: idB.toString(),
        position: 0,
        occupant: idA.toString(),
      });
    });
  },
);

Deno.test("Session.deploy rejects other ids with the same folded position, not neighbours", () => {
  withSession((session) => {
    const first = idFromWords(0x8000_0000, 0x8000_0000, 7); // folds to 7
    session.deploy(contractBytecode("counter"), OWNER, LIMIT, { contractId: first });
    for (const colliding of [idFromWords(7), idFromWords(0, 0, 0, 0, 0, 0, 0, 7)]) {
      assertThrowsKind(
        () => session.deploy(contractBytecode("box"), OWNER, LIMIT, { contractId: colliding }),
        "ContractPositionCollision",
      );
    }
    // Positions 6 and 8 are free.
    session.deploy(contractBytecode("box"), OWNER, LIMIT, { contractId: idFromWords(6) });
    session.deploy(contractBytecode("box"), OWNER, LIMIT, { contractId: idFromWords(8) });
    // The same id again is a duplicate deploy, not a collision.
    assertThrowsKind(
      () => session.deploy(contractBytecode("counter"), OWNER, LIMIT, { contractId: first }),
      "InitializationError",
    );
    assert.equal(session.call(first, readValue, undefined, LIMIT).data, 0xfcn);
  });
});

Deno.test("Session.deploy frees the position of a deploy whose init failed", () => {
  withSession((session) => {
    const witness = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    const failed = idFromWords(5);
    const error = assertFailedDeployLeavesNothing(session, witness, failed, "Panic", () =>
      // initializer's init takes a u8: an empty argument fails uplink's validation.
      session.deploy(contractBytecode("initializer"), OWNER, LIMIT, { contractId: failed }));
    assert.match(error.message, /^Argument should correctly deserialize/);
    // Another id with the same folded position (5) deploys now.
    const other = idFromWords(2, 3);
    session.deploy(contractBytecode("initializer"), OWNER, LIMIT, {
      contractId: other,
      initArg: encode(u8, 7),
    });
    const read = contractFunction("read_value", unit, u8);
    assert.equal(session.call(other, read, undefined, LIMIT).data, 7);
  });
});

// --- failed deploys ----------------------------------------------------------------

Deno.test("Session.deploy rejects bytes that are no wasm module and keeps working", () => {
  withSession((session) => {
    const witness = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    const counter = contractBytecode("counter");
    const cases: [string, Uint8Array][] = [
      ["empty", new Uint8Array(0)],
      ["garbage", new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])],
      ["a truncated header", new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01])],
      ["a wrong version", new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x02, 0, 0, 0])],
      ["a truncated contract", counter.subarray(0, counter.length - 7)],
    ];
    for (const [what, bytes] of cases) {
      // With the default id, the BLAKE3 of the bytes.
      const id = new ContractId(blake3(bytes));
      const error = assertFailedDeployLeavesNothing(
        session,
        witness,
        id,
        "CompileError",
        () => session.deploy(bytes, OWNER, LIMIT),
      );
      assert.ok(error.message.length > 0, what);
    }
  });
});

Deno.test("Session.deploy rejects bytecode over 16 MiB before parsing it", () => {
  withSession((session) => {
    const witness = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    // A valid counter followed by zeros, 16 MiB + 1 bytes in all: rejected for its size.
    const counter = contractBytecode("counter");
    const bytes = new Uint8Array(16 * 2 ** 20 + 1);
    bytes.set(counter);
    const id = idOf(3);
    const error = assertFailedDeployLeavesNothing(
      session,
      witness,
      id,
      "CompileError",
      () => session.deploy(bytes, OWNER, LIMIT, { contractId: id }),
    );
    assert.match(error.message, /16777217 bytes/);
  });
});

Deno.test("Session.deploy rejects modules that are no contract and keeps working", async () => {
  const modules: [string, string, string][] = [
    ["an empty module", "(module)", "TooManyMemories"],
    ["a module without A", `(module (memory (export "memory") 1))`, "InvalidArgumentBuffer"],
    [
      "a module with a bad export",
      `(module (memory (export "memory") 1) (global (export "A") i32 (i32.const 0))
         (func (export "f") (result i32) (i32.const 0)))`,
      "InvalidFunction",
    ],
  ];
  const assembled = await Promise.all(modules.map(([, source]) => assembleWat(source)));
  withSession((session) => {
    const witness = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    modules.forEach(([what, , kind], i) => {
      const id = idOf(10 + i);
      const error = assertFailedDeployLeavesNothing(
        session,
        witness,
        id,
        kind,
        () => session.deploy(assembled[i], OWNER, LIMIT, { contractId: id }),
      );
      assert.ok(error.message.length > 0, what);
      // The id is free again.
      session.deploy(contractBytecode("counter"), OWNER, LIMIT, { contractId: id });
      assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfcn);
    });
  });
});

Deno.test("Session.deploy leaves nothing behind when init runs out of gas", () => {
  withSession((session) => {
    const witness = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    const id = idOf(4);
    assertFailedDeployLeavesNothing(
      session,
      witness,
      id,
      "OutOfGas",
      () =>
        session.deploy(contractBytecode("initializer"), OWNER, 10n, {
          contractId: id,
          initArg: encode(u8, 3),
        }),
    );
    session.deploy(contractBytecode("initializer"), OWNER, LIMIT, {
      contractId: id,
      initArg: encode(u8, 3),
    });
    assert.equal(
      session.call(id, contractFunction("read_value", unit, u8), undefined, LIMIT).data,
      3,
    );
  });
});

Deno.test("Session.deploy leaves nothing behind when init traps after writing", async () => {
  // init writes a byte and grows the memory, then traps.
  const bytes = await assembleWat(`(module
    (memory (export "memory") 2)
    (global (export "A") i32 (i32.const 65536))
    (func (export "init") (param i32) (result i32)
      (i32.store8 (i32.const 100) (i32.const 1))
      (drop (memory.grow (i32.const 3)))
      unreachable))`);
  withSession((session) => {
    const witness = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    const id = idOf(6);
    // A wasm trap is a RuntimeError, as the reference says.
    assertFailedDeployLeavesNothing(
      session,
      witness,
      id,
      "RuntimeError",
      () => session.deploy(bytes, OWNER, LIMIT, { contractId: id }),
    );
  });
});

// --- what deploy accepts -----------------------------------------------------------

/** Assembles a contract: one memory of the width, `A` at 64 KiB, then `fields`. */
function contractModule(fields: string, is64 = false, features?: string[]): Promise<Uint8Array> {
  const memory = is64 ? `(memory (export "memory") i64 2)` : `(memory (export "memory") 2)`;
  const a = is64 ? `(global (export "A") i64 (i64.const 65536))` : "";
  return assembleWat(`(module ${memory} ${a} ${fields})`, features && { features });
}

/** `f` returns nothing; `g` calls the table's element 0, `$h`, which returns nothing. */
const CALLABLE = `(global (export "A") i32 (i32.const 65536))
  (type $t (func (result i32)))
  (func $h (type $t) (i32.const 0))
  (func (export "f") (param i32) (result i32) (i32.const 0))
  (func (export "g") (param i32) (result i32) (call_indirect (type $t) (i32.const 0)))`;
const CALLABLE64 = CALLABLE.replace(`(global (export "A") i32 (i32.const 65536))`, "");
const REFS = ["reference_types"];

/** Modules whose deploy the reference refuses, or whose every call would fail here. */
const neverRunnable: {
  name: string;
  fields: string;
  features?: string[];
  kind: string;
  message: RegExp;
}[] = [
  {
    name: "an extended-const A",
    fields: `(global (export "A") i32 (i32.add (i32.const 65000) (i32.const 536)))
      (func (export "f") (param i32) (result i32) (i32.const 0))`,
    features: ["extended_const"],
    kind: "CompileError",
    message: /i32\.add in a constant expression is not supported \(the extended-const proposal/,
  },
  {
    name: "an externref global",
    fields: `${CALLABLE} (table 1 funcref) (global externref (ref.null extern))`,
    features: REFS,
    kind: "CompileError",
    message: /global 1 uses externref, which is not supported \(it needs a GC heap/,
  },
  {
    name: "an externref local",
    fields: `${CALLABLE} (table 1 funcref) (func (local externref))`,
    features: REFS,
    kind: "CompileError",
    message: /gc types are disallowed but found type which requires gc/,
  },
  {
    name: "a start function",
    fields: `${CALLABLE} (table 1 funcref) (func $s) (start $s)`,
    kind: "RuntimeError",
    message: /has a start function \(function 3\); it would run at instantiation, which has no gas/,
  },
  {
    name: "an element segment past the table",
    fields: `${CALLABLE} (table 1 funcref) (elem (i32.const 0) $h $h)`,
    kind: "RuntimeError",
    message: /fills elements 0\.\.2 of table 0, which has 1: instantiation would trap/,
  },
  {
    name: "a table of 2^32 - 1 elements",
    fields: `${CALLABLE} (table 0xffffffff funcref) (elem (i32.const 0) $h)`,
    kind: "RuntimeError",
    message: /add up to 4294967295 elements; at most 1048576/,
  },
];

Deno.test("Session.deploy refuses modules that could never run, naming the reason", async () => {
  const assembled = await Promise.all(
    neverRunnable.map(({ fields, features }) => contractModule(fields, false, features)),
  );
  withSession((session) => {
    const witness = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    neverRunnable.forEach(({ name, kind, message }, i) => {
      const id = idOf(20 + i);
      const error = assertFailedDeployLeavesNothing(
        session,
        witness,
        id,
        kind,
        () => session.deploy(assembled[i], OWNER, LIMIT, { contractId: id }),
      );
      assert.match(error.message, message, name);
    });
  });
});

Deno.test("Session.deploy refuses a wasm64 memory that starts beyond the memory64 reservation", async () => {
  // 2^32 pages: 256 TiB, past the default 16 GiB reservation.
  const bytecode = await assembleWat(
    `(module (memory (export "memory") i64 0x100000000)
      (global (export "A") i64 (i64.const 65536))
      (func (export "f") (param i32) (result i32) (i32.const 0)))`,
  );
  withSession((session) => {
    const witness = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    const error = assertFailedDeployLeavesNothing(
      session,
      witness,
      idOf(40),
      "RuntimeError",
      () => session.deploy(bytecode, OWNER, LIMIT, { contractId: idOf(40) }),
    );
    assert.match(
      error.message,
      /the memory starts at 281474976710656 bytes, beyond the 17179869184/,
    );
  });
});

/**
 * Tables filled and globals set at instantiation, which wasmtime 49 does in
 * a startup function that consumes fuel (the reference interprets them).
 */
const INITIALIZERS = [
  `(table 2 funcref) (elem (i32.const 0) funcref (ref.func $h) (ref.null func))`,
  `(table 2 funcref) (elem (i32.const 0) $h) (elem funcref (ref.func $h) (ref.null func))
    (elem declare func $h) (global funcref (ref.func $h)) (global funcref (ref.null func))
    (global v128 (v128.const i64x2 1 2)) (global f64 (f64.const 1.5))`,
  `(table 2 funcref) (table 2 funcref) (elem (table 1) (i32.const 0) funcref (ref.null func)
    (ref.func $h)) (elem (table 0) (i32.const 0) funcref (ref.func $h) (ref.func $h))`,
];

Deno.test("Session.deploy runs modules with initializers, and instantiation costs no gas", async () => {
  for (const is64 of [false, true]) {
    const callable = is64 ? CALLABLE64 : CALLABLE;
    // Its only initializer, a function index in a table, wasmtime applies without code.
    const baseline = await contractModule(
      `${callable} (table 2 funcref) (elem (i32.const 0) $h)`,
      is64,
    );
    const modules = await Promise.all(
      INITIALIZERS.map((fields) => contractModule(`${callable} ${fields}`, is64, REFS)),
    );
    withSession((session) => {
      const base = session.deploy(baseline, OWNER, LIMIT);
      const gas = (id: ContractId, fn: string): bigint =>
        session.callRaw(id, fn, new Uint8Array(0), LIMIT).gasSpent;
      const [f, g] = [gas(base, "f"), gas(base, "g")];
      assert.ok(g > f, "call_indirect costs more than returning");
      for (const [i, bytes] of modules.entries()) {
        const id = session.deploy(bytes, OWNER, LIMIT);
        // Every call instantiates the contract again.
        for (let call = 0; call < 2; call++) {
          assert.equal(gas(id, "f"), f, `module ${i}, wasm${is64 ? 64 : 32}`);
          assert.equal(gas(id, "g"), g, `module ${i}, wasm${is64 ? 64 : 32}`);
        }
      }
    });
  }
});

Deno.test("Session.deploy accepts only modules whose calls can run", async () => {
  // Whether each is refused or not, a module that deploys must be callable.
  const candidates: { fields: string; features?: string[] }[] = [
    ...neverRunnable.map(({ fields, features }) => ({ fields, features })),
    ...INITIALIZERS.map((fields) => ({ fields: `${CALLABLE} ${fields}`, features: REFS })),
    { fields: `${CALLABLE} (table 3 funcref) (elem (i32.const 0) $h) (elem (i32.const 3))` },
    {
      fields:
        `${CALLABLE} (table 1048576 funcref) (elem (i32.const 0) $h) (elem (i32.const 1048575) $h)`,
    },
    { fields: `${CALLABLE} (table 1 funcref) (elem (i32.const 0) $h) (func $s) (start $s)` },
    {
      fields:
        `${CALLABLE} (table 1 funcref) (elem (i32.const 0) $h) (func (export "init") (param i32) (result i32) (i32.const 0))`,
    },
    {
      fields: `${CALLABLE} (table 2 funcref) (elem (i32.const 0) $h)
        (global i64 (i64.sub (i64.const 1) (i64.const 1)))`,
      features: ["extended_const"],
    },
    {
      fields: `${CALLABLE} (table 2 funcref) (elem (i32.const 0) $h) (elem funcref (ref.null func))
        (func (export "p") (param i32) (result i32) (table.init 0 1 (i32.const 1) (i32.const 0) (i32.const 1)) (i32.const 0))`,
      features: REFS,
    },
  ];
  const assembled = await Promise.all(
    candidates.map(({ fields, features }) => contractModule(fields, false, features)),
  );
  let deployed = 0;
  withSession((session) => {
    for (const [i, bytes] of assembled.entries()) {
      let id: ContractId;
      try {
        id = session.deploy(bytes, OWNER, LIMIT);
      } catch (error) {
        assert.ok(error instanceof PiecrustError, `module ${i}: ${error}`);
        continue;
      }
      deployed++;
      for (const fn of ["f", "g", "p"]) {
        try {
          session.callRaw(id, fn, new Uint8Array(0), LIMIT);
        } catch (error) {
          // Only a missing export may fail.
          assert.ok(
            error instanceof PiecrustError && error.kind === "InvalidFunction",
            `module ${i} ${fn}: ${error}`,
          );
        }
      }
    }
  });
  assert.ok(
    deployed > 0 && deployed < assembled.length,
    `${deployed} of ${assembled.length} deployed`,
  );
});
