/**
 * Ports of piecrust's `tests/validation.rs`, and each of piecrust's
 * deploy-time module checks and host pointer checks, through
 * `Session.deploy` and `Session.callRaw`.
 */

import assert from "node:assert/strict";
import { assembleWat, watFixture } from "../../contracts/wat.ts";
import {
  contractFunction,
  ContractId,
  i64,
  PiecrustError,
  type Session,
  unit,
  VM,
} from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertNoLiveHandles, assertThrowsKind } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const readValue = contractFunction("read_value", unit, i64);
const robust = await watFixture("robust_contract");

function withSession(body: (session: Session) => void, debug = false): void {
  {
    using vm = VM.ephemeral();
    using session = vm.session({ debug });
    body(session);
  }
  assertNoLiveHandles();
}

/** Little-endian i32 words. */
function words(...values: number[]): Uint8Array {
  const bytes = new Uint8Array(4 * values.length);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => view.setInt32(4 * i, value, true));
  return bytes;
}

function int32(bytes: Uint8Array, offset = 0): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getInt32(offset, true);
}

/** Parts of a test module. */
interface ModuleParts {
  /** Imports, which come first. */
  imports?: string;
  /** The memory declaration. */
  memory?: string;
}

/** A wasm32 contract module: `imports`, one memory, `A` = 65536, then `body`. */
function module32(body: string, parts: ModuleParts = {}): string {
  const memory = parts.memory ?? `(memory (export "memory") 2)`;
  return `(module ${
    parts.imports ?? ""
  } ${memory} (global (export "A") i32 (i32.const 65536)) ${body})`;
}

/** A wasm64 contract module: `imports`, one memory64, `A` = 65536, then `body`. */
function module64(body: string, parts: ModuleParts = {}): string {
  const memory = parts.memory ?? `(memory (export "memory") i64 2)`;
  return `(module ${
    parts.imports ?? ""
  } ${memory} (global (export "A") i64 (i64.const 65536)) ${body})`;
}

/** A valid exported function. */
const RETURN0 = `(func (export "f") (param i32) (result i32) (i32.const 0))`;

/**
 * Deploys each module, expecting `kind` and a message that matches; checks
 * that nothing remains and that the session keeps working.
 */
async function assertDeploysFail(
  cases: readonly (readonly [what: string, source: string, message: RegExp])[],
  kind: string,
  options: { debug?: boolean } = {},
): Promise<void> {
  const modules = await Promise.all(cases.map(([, source]) => assembleWat(source)));
  withSession((session) => {
    const counter = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    cases.forEach(([what, , message], i) => {
      const id = new ContractId(new Uint8Array(32).fill(i + 1));
      const error = assertThrowsKind(
        () => session.deploy(modules[i], OWNER, LIMIT, { contractId: id }),
        kind,
      );
      assert.ok(error instanceof PiecrustError, what);
      assert.match(error.message, message, what);
      assert.equal(session.memoryLen(id), undefined, what);
    });
    assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfcn);
  }, options.debug);
}

// --- validation.rs -----------------------------------------------------------------

Deno.test("c_example out_of_bounds: hd with a name pointer of 2^42 - 1 fails (out_of_bounds)", () => {
  withSession((session) => {
    const id = session.deploy(contractBytecode("c_example", { target: "wasm64" }), OWNER, LIMIT);
    assertThrowsKind(
      () => session.call(id, contractFunction("out_of_bounds", unit, unit), undefined, LIMIT),
      "MemoryAccessOutOfBounds",
    );
    // The session keeps working: c_example calls a counter twice through `c`.
    const counter = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    const data = session.callRaw(id, "increment_and_read", counter.toBytes(), LIMIT).data;
    assert.equal(new DataView(data.buffer).getBigInt64(0, true), 0xfdn);
  });
});

Deno.test("c_example not_out_of_bounds: hd at 0xFFFF_FFFF is beyond our memory (not_out_of_bounds)", () => {
  withSession((session) => {
    const id = session.deploy(contractBytecode("c_example", { target: "wasm64" }), OWNER, LIMIT);
    const length = session.memoryLen(id)!;
    assert.ok(length < 0xffff_ffff, `c_example's memory has ${length} bytes`);
    // Deliberate difference: the reference accepts any pointer inside the 4 TiB
    // mapping; ours checks against the memory's current length, because beyond it
    // our memory is inaccessible. So this call fails for us.
    assertThrowsKind(
      () => session.call(id, contractFunction("not_out_of_bounds", unit, unit), undefined, LIMIT),
      "MemoryAccessOutOfBounds",
    );
  });
});

for (const target of ["wasm32", "wasm64"] as const satisfies ContractTarget[]) {
  Deno.test(`invalid (${target}) is refused at deploy for its (i64) -> i64 export (bad_contract)`, () => {
    withSession((session) => {
      const error = assertThrowsKind(
        () => session.deploy(contractBytecode("invalid", { target }), OWNER, LIMIT),
        "InvalidFunction",
      );
      assert.match(error.message, /bad_function/);
    });
  });
}

// --- host pointer checks -----------------------------------------------------------

Deno.test("hd checks name pointers against the memory's current length (wasm32)", () => {
  withSession((session) => {
    const id = session.deploy(robust, OWNER, LIMIT);
    const hdAt = (pointer: number, length: number): number =>
      int32(session.callRaw(id, "hd_at", words(pointer, length), LIMIT).data);
    const memory = session.memoryLen(id)!;

    assert.equal(hdAt(0, 2), 0, "an absent name");
    assert.equal(hdAt(memory - 2, 2), 0, "the last two bytes");
    assert.equal(hdAt(memory, 0), 0, "an empty name at the end");
    const root = session.root();
    for (const [pointer, length] of [[memory - 1, 2], [memory, 1], [-1, 2], [0, -1]]) {
      // A pointer of -1 (0xFFFF_FFFF) with 2 bytes is past the 4 GiB mapping too;
      // a length of -1 is negative for us.
      assertThrowsKind(() => hdAt(pointer, length), "MemoryAccessOutOfBounds");
      assert.deepEqual(session.root(), root, "a failed call changes nothing");
    }

    // Ours differs from the reference, which accepts [memory - 1, memory + 1)
    // because it lies in the 4 GiB mapping: once the memory grows, it is valid.
    const grown = session.callRaw(id, "grow", words(1), LIMIT).data;
    assert.equal(int32(grown), memory / 65536);
    assert.equal(session.memoryLen(id), memory + 65536);
    assert.equal(hdAt(memory - 1, 2), 0);
  });
});

// --- module checks at deploy -------------------------------------------------------

Deno.test("Session.deploy needs exactly one exported memory (TooManyMemories)", async () => {
  await assertDeploysFail([
    ["no memory", `(module (global (export "A") i32 (i32.const 0)) ${RETURN0})`, /exports 0/],
    [
      "an unexported memory",
      `(module (memory 2) (global (export "A") i32 (i32.const 65536)) ${RETURN0})`,
      /exports 0/,
    ],
    [
      "one memory exported twice",
      module32(RETURN0, {
        memory: `(memory $m 2) (export "memory" (memory $m)) (export "other" (memory $m))`,
      }),
      /exports 2/,
    ],
  ], "TooManyMemories");
});

Deno.test("Session.deploy accepts the memory under any export name", async () => {
  const bytes = await assembleWat(module32(RETURN0, { memory: `(memory (export "heap") 2)` }));
  withSession((session) => {
    const id = session.deploy(bytes, OWNER, LIMIT);
    assert.equal(session.callRaw(id, "f", new Uint8Array(0), LIMIT).data.length, 0);
  });
});

Deno.test("Session.deploy needs (i32) -> i32 exports, in wasm64 too (InvalidFunction)", async () => {
  await assertDeploysFail([
    ["(i64) -> i64", module32(`(func (export "g") (param i64) (result i64) (local.get 0))`), /"g"/],
    ["() -> i32", module32(`(func (export "g") (result i32) (i32.const 0))`), /"g"/],
    ["(i32) -> ()", module32(`(func (export "g") (param i32))`), /"g"/],
    [
      "(i32 i32) -> i32",
      module32(`(func (export "g") (param i32 i32) (result i32) (i32.const 0))`),
      /"g"/,
    ],
    [
      "(i32) -> (i32 i32)",
      module32(`(func (export "g") (param i32) (result i32 i32) (i32.const 0) (i32.const 0))`),
      /"g"/,
    ],
    [
      "a bad export after a good one",
      module32(`${RETURN0} (func (export "h") (param f32) (result i32) (i32.const 0))`),
      /"h"/,
    ],
    [
      "wasm64 (i64) -> i32",
      module64(`(func (export "g") (param i64) (result i32) (i32.const 0))`),
      /"g"/,
    ],
    [
      "wasm64 (i32) -> i64",
      module64(`(func (export "g") (param i32) (result i64) (i64.const 0))`),
      /"g"/,
    ],
  ], "InvalidFunction");
});

Deno.test("Session.deploy refuses imports that are no host function (InvalidFunction)", async () => {
  await assertDeploysFail([
    ["an unknown name", module32(RETURN0, { imports: `(import "env" "nope" (func))` }), /"nope"/],
    // Removed from piecrust's ABI in earlier releases.
    [
      "height",
      module32(RETURN0, { imports: `(import "env" "height" (func (result i64)))` }),
      /"height"/,
    ],
    ["snap", module32(RETURN0, { imports: `(import "env" "snap" (func))` }), /"snap"/],
    [
      "free_limit",
      module32(RETURN0, { imports: `(import "env" "free_limit" (func (param i32) (result i32)))` }),
      /"free_limit"/,
    ],
    ["an unknown global", module32(RETURN0, { imports: `(import "env" "g" (global i32))` }), /"g"/],
    [
      "an unknown name in wasm64",
      module64(RETURN0, { imports: `(import "env" "nope" (func))` }),
      /"nope"/,
    ],
  ], "InvalidFunction");
});

Deno.test("Session.deploy refuses a host import of the wrong type (RuntimeError)", async () => {
  await assertDeploysFail([
    [
      "caller with a parameter",
      module32(RETURN0, { imports: `(import "env" "caller" (func (param i32) (result i32)))` }),
      /caller/,
    ],
    // A wasm64 module must import hd with an i64 pointer.
    [
      "hd with a wasm32 pointer in wasm64",
      module64(RETURN0, { imports: `(import "env" "hd" (func (param i32 i32) (result i32)))` }),
      /hd/,
    ],
    [
      "limit as a global",
      module32(RETURN0, { imports: `(import "env" "limit" (global i64))` }),
      /limit/,
    ],
  ], "RuntimeError");
});

Deno.test("Session.deploy resolves imports by field name only", async () => {
  const bytes = await assembleWat(module32(
    `(func (export "f") (param i32) (result i32)
      (i32.store (i32.const 65536) (call $caller))
      (i32.const 4))`,
    { imports: `(import "whatever" "caller" (func $caller (result i32)))` },
  ));
  withSession((session) => {
    const id = session.deploy(bytes, OWNER, LIMIT);
    // A call from the host has no caller.
    assert.equal(int32(session.callRaw(id, "f", new Uint8Array(0), LIMIT).data), 0);
  });
});

Deno.test("Session.deploy needs an immutable global A of the pointer type (InvalidArgumentBuffer)", async () => {
  await assertDeploysFail([
    ["no A", `(module (memory (export "memory") 2) ${RETURN0})`, /"A"/],
    [
      "a mutable A",
      `(module (memory (export "memory") 2) (global (export "A") (mut i32) (i32.const 65536)) ${RETURN0})`,
      /mutable/,
    ],
    [
      "an i64 A in wasm32",
      `(module (memory (export "memory") 2) (global (export "A") i64 (i64.const 65536)) ${RETURN0})`,
      /i64/,
    ],
    [
      "an i32 A in wasm64",
      `(module (memory (export "memory") i64 2) (global (export "A") i32 (i32.const 65536)) ${RETURN0})`,
      /i32/,
    ],
    [
      // Negative as an i32: beyond the 4 GiB mapping once sign-extended.
      "A at 0xFFFF_0000",
      `(module (memory (export "memory") 2) (global (export "A") i32 (i32.const 0xFFFF0000)) ${RETURN0})`,
      /A = /,
    ],
    [
      "A is a function",
      `(module (memory (export "memory") 2) (func (export "A") (param i32) (result i32) (i32.const 0)))`,
      /"A"/,
    ],
    [
      "A is a memory",
      `(module (memory (export "A") 2) ${RETURN0})`,
      /"A"/,
    ],
  ], "InvalidArgumentBuffer");
});

const HDEBUG = module32(
  `(data (i32.const 65536) "hello")
  (func (export "f") (param i32) (result i32)
    (call $hdebug (i32.const 5))
    (i32.const 0))`,
  { imports: `(import "env" "hdebug" (func $hdebug (param i32)))` },
);

Deno.test("Session.deploy refuses hdebug imports without debug (InvalidFunction)", async () => {
  await assertDeploysFail([["hdebug", HDEBUG, /hdebug/]], "InvalidFunction");
  // callcenter's debug! imports hdebug too.
  withSession((session) => {
    const error = assertThrowsKind(
      () => session.deploy(contractBytecode("callcenter"), OWNER, LIMIT),
      "InvalidFunction",
    );
    assert.match(error.message, /hdebug/);
  });
});

Deno.test("Session.deploy accepts hdebug imports with debug, and collects the messages", async () => {
  const bytes = await assembleWat(HDEBUG);
  withSession((session) => {
    const id = session.deploy(bytes, OWNER, LIMIT);
    session.callRaw(id, "f", new Uint8Array(0), LIMIT);
    assert.deepEqual(session.debugMessages(), ["hello"]);
  }, true);
});
