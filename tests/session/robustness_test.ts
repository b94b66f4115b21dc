/**
 * Robustness: contracts that loop, recurse, grow their memory to the limit,
 * nest calls too deep or get garbage arguments fail with a clear
 * {@linkcode PiecrustError} (or, inside an inter-contract call, with a code
 * the caller sees), leave nothing behind, and the session keeps working.
 */

import assert from "node:assert/strict";
import { assembleWat, watFixture } from "../../contracts/wat.ts";
import {
  bool,
  contractError,
  contractFunction,
  ContractId,
  contractId,
  encode,
  i64,
  MAX_CALL_DEPTH,
  PiecrustError,
  result,
  type Session,
  type SessionOptions,
  tuple,
  u32,
  unit,
  vec,
  VM,
  type VMOptions,
} from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertNoLiveHandles, assertThrowsKind, assertTraps } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const PAGE = 65536;
const CODE_PANIC = -1;
const CODE_OUT_OF_GAS = -2;
const CODE_DOES_NOT_EXIST = -3;
const CODE_UNKNOWN = -2147483648;
const NO_ARG = new Uint8Array(0);

const ROBUST_SOURCE = await Deno.readTextFile(
  new URL("../../contracts/wat/robust_contract.wat", import.meta.url),
);
const robust = await watFixture("robust_contract");
const grow64 = await watFixture("robust_grow64");
const encoder = new TextEncoder();
const readValue = contractFunction("read_value", unit, i64);
const increment = contractFunction("increment", unit, unit);

function withSession(
  body: (session: Session) => void,
  options: { vm?: VMOptions; session?: SessionOptions } = {},
): void {
  {
    using vm = VM.ephemeral(options.vm);
    using session = vm.session(options.session);
    body(session);
  }
  assertNoLiveHandles();
}

function le32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value, true);
  return out;
}

function int32(data: Uint8Array, offset = 0): number {
  return new DataView(data.buffer, data.byteOffset).getInt32(offset, true);
}

/** The argument of robust_contract's `forward`: call `fn` of `callee` with `arg`. */
function forwardArg(
  callee: ContractId,
  fn: string,
  arg: Uint8Array = NO_ARG,
  gas = 0n,
): Uint8Array {
  const name = encoder.encode(fn);
  const out = new Uint8Array(48 + name.length + arg.length);
  const view = new DataView(out.buffer);
  callee.copyTo(out);
  view.setBigUint64(32, gas, true);
  view.setUint32(40, name.length, true);
  view.setUint32(44, arg.length, true);
  out.set(name, 48);
  out.set(arg, 48 + name.length);
  return out;
}

/** Asserts that the counter at `id` still works: it increments from `expected`. */
function assertCounterWorks(session: Session, id: ContractId, expected: bigint): void {
  assert.equal(session.call(id, readValue, undefined, LIMIT).data, expected);
  session.call(id, increment, undefined, LIMIT);
  assert.equal(session.call(id, readValue, undefined, LIMIT).data, expected + 1n);
}

/**
 * Asserts that `fn` fails with `kind` and changes nothing: same root, same
 * memory length.
 */
function assertFailsCleanly(
  session: Session,
  id: ContractId,
  kind: string,
  fn: () => unknown,
): PiecrustError {
  const root = session.root();
  const length = session.memoryLen(id);
  const error = assertThrowsKind(fn, kind);
  assert.ok(error instanceof PiecrustError, `a PiecrustError, got ${error}`);
  assert.equal(session.memoryLen(id), length, "the memory length is unchanged");
  assert.deepEqual(session.root(), root, "the root is unchanged");
  return error;
}

// --- endless loops and recursion ---------------------------------------------------

Deno.test("robust_contract loop_forever runs out of gas, again and again, and the session keeps working", () => {
  withSession((session) => {
    const id = session.deploy(robust, OWNER, LIMIT);
    const counter = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    for (const gas of [0n, 1n, 1000n, LIMIT]) {
      assertFailsCleanly(
        session,
        id,
        "OutOfGas",
        () => session.callRaw(id, "loop_forever", NO_ARG, gas),
      );
    }
    for (let i = 0; i < 20; i++) {
      assertThrowsKind(() => session.callRaw(id, "loop_forever", NO_ARG, 100_000n), "OutOfGas");
    }
    assert.equal(int32(session.callRaw(id, "size", NO_ARG, LIMIT).data), 4);
    assertCounterWorks(session, counter, 0xfcn);
  });
});

Deno.test("robust_contract recurse overflows the wasm stack, or runs out of gas first", () => {
  withSession((session) => {
    const id = session.deploy(robust, OWNER, LIMIT);
    const counter = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    // With gas to spare the stack runs out: a RuntimeError, as the reference says,
    // whose details name the trap.
    const overflow = assertFailsCleanly(
      session,
      id,
      "RuntimeError",
      () => session.callRaw(id, "recurse", NO_ARG, 10_000_000_000n),
    );
    assert.equal(overflow.details.trap, "StackOverflow");
    assert.ok(overflow.message.length > 0);
    // With little gas, the gas runs out first.
    assertFailsCleanly(
      session,
      id,
      "OutOfGas",
      () => session.callRaw(id, "recurse", NO_ARG, 10_000n),
    );
    // Again, to show the stack was unwound.
    assertTraps(
      () => session.callRaw(id, "recurse", NO_ARG, 10_000_000_000n),
      "StackOverflow",
      "RuntimeError",
    );
    assert.equal(int32(session.callRaw(id, "size", NO_ARG, LIMIT).data), 4);
    assertCounterWorks(session, counter, 0xfcn);
  });
});

Deno.test("c returns codes to a caller whose callee loops, recurses, panics or is missing", () => {
  withSession((session) => {
    const caller = session.deploy(robust, OWNER, LIMIT);
    const fallible = session.deploy(contractBytecode("fallible_counter"), OWNER, LIMIT);
    const forward = (arg: Uint8Array, gas = LIMIT): [number, bigint] => {
      const receipt = session.callRaw(caller, "forward", arg, gas);
      return [int32(receipt.data), receipt.gasSpent];
    };

    // An endless loop in the callee: out of gas, and the caller pays its whole limit.
    const [loopCode, loopSpent] = forward(forwardArg(caller, "loop_forever", NO_ARG, 50_000n));
    assert.equal(loopCode, CODE_OUT_OF_GAS);
    assert.ok(loopSpent >= 50_000n, `spent ${loopSpent}`);

    // Unbounded recursion in a re-entered instance: a trap, so Unknown.
    assert.equal(forward(forwardArg(caller, "recurse"), 10_000_000_000n)[0], CODE_UNKNOWN);

    // A panic (fallible_counter's increment(true) adds 1, then panics): reverted.
    assert.equal(
      forward(forwardArg(fallible, "increment", encode(bool, true)))[0],
      CODE_PANIC,
    );
    assert.equal(session.call(fallible, readValue, undefined, LIMIT).data, 0xfcn);

    // A missing contract and a missing function.
    const missing = new ContractId(new Uint8Array(32).fill(0xee));
    const [missingCode] = forward(forwardArg(missing, "read_value"));
    assert.equal(missingCode, CODE_DOES_NOT_EXIST);
    assert.equal(forward(forwardArg(fallible, "no_such_function"))[0], CODE_UNKNOWN);

    // After all that, a call through the same path works.
    const [ok] = forward(forwardArg(fallible, "increment", encode(bool, false)));
    assert.equal(ok, 0);
    assert.equal(session.call(fallible, readValue, undefined, LIMIT).data, 0xfdn);
  });
});

// --- memory growth to the limit ----------------------------------------------------

interface GrowCase {
  what: string;
  bytecode: () => Promise<Uint8Array>;
  vm?: VMOptions;
  is64: boolean;
  /** The page count memory.grow stops at. */
  limitPages: number;
}

const GROW_CASES: GrowCase[] = [
  {
    what: "wasm32 to the 4 GiB of the address space",
    bytecode: () => Promise.resolve(robust),
    is64: false,
    limitPages: 65536,
  },
  {
    what: "wasm32 to the module's declared maximum",
    bytecode: () => {
      const memory = `(memory (export "memory") 4)`;
      assert.ok(ROBUST_SOURCE.includes(memory));
      return assembleWat(ROBUST_SOURCE.replace(memory, `(memory (export "memory") 4 8)`));
    },
    is64: false,
    limitPages: 8,
  },
  {
    what: "wasm64 to the VM's memory64 reservation",
    bytecode: () => Promise.resolve(grow64),
    vm: { memory64Reservation: 64 * 2 ** 20 },
    is64: true,
    limitPages: 1024,
  },
];

for (const grow of GROW_CASES) {
  Deno.test(`memory.grow (${grow.what}): a failed call reverts the growth, a successful one keeps it`, async () => {
    const bytecode = await grow.bytecode();
    withSession((session) => {
      const id = session.deploy(bytecode, OWNER, LIMIT);
      const counter = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
      const initial = session.memoryLen(id)!;
      const size = (): [number, number] => {
        const data = session.callRaw(id, "size", NO_ARG, LIMIT).data;
        const view = new DataView(data.buffer);
        return grow.is64
          ? [Number(view.getBigInt64(0, true)), data[8]]
          : [view.getInt32(0, true), data[4]];
      };
      const growBy = (pages: number): number => {
        const arg = new Uint8Array(8);
        new DataView(arg.buffer).setBigInt64(0, BigInt(pages), true);
        const data = session.callRaw(id, "grow", grow.is64 ? arg : arg.subarray(0, 4), LIMIT).data;
        const view = new DataView(data.buffer);
        return grow.is64 ? Number(view.getBigInt64(0, true)) : view.getInt32(0, true);
      };

      // Grown to the limit, then a trap: the memory is as before.
      const trap = assertFailsCleanly(
        session,
        id,
        "RuntimeError",
        () => session.callRaw(id, "grow_to_limit_then_trap", NO_ARG, LIMIT),
      );
      assert.equal(trap.details.trap, "Unreachable");
      assert.deepEqual(size(), [initial / PAGE, 0]);

      // Grown to the limit for good.
      const data = session.callRaw(id, "grow_to_limit", NO_ARG, LIMIT).data;
      const pages = grow.is64
        ? Number(new DataView(data.buffer).getBigInt64(0, true))
        : int32(data);
      assert.equal(pages, grow.limitPages);
      assert.equal(session.memoryLen(id), grow.limitPages * PAGE);
      assert.deepEqual(size(), [grow.limitPages, 0x2a], "the last byte is writable and kept");
      assert.equal(growBy(1), -1, "no page more");
      assert.equal(growBy(0), grow.limitPages);
      assert.equal(session.root().length, 32);

      // A failed call now reverts to the grown memory, not the initial one.
      const trapAfterGrowth = assertFailsCleanly(
        session,
        id,
        "RuntimeError",
        () => session.callRaw(id, "grow_to_limit_then_trap", NO_ARG, LIMIT),
      );
      assert.equal(trapAfterGrowth.details.trap, "Unreachable");
      assert.deepEqual(size(), [grow.limitPages, 0x2a]);
      assertCounterWorks(session, counter, 0xfcn);
    }, { vm: grow.vm });
  });
}

// --- garbage arguments -------------------------------------------------------------

for (const target of ["wasm32", "wasm64"] as const satisfies ContractTarget[]) {
  Deno.test(`uplink contracts (${target}) panic on garbage arguments and keep working`, () => {
    withSession((session) => {
      const bytecode = (name: string): Uint8Array => contractBytecode(name, { target });
      const double = session.deploy(bytecode("double_counter"), OWNER, LIMIT);
      const fallible = session.deploy(bytecode("fallible_counter"), OWNER, LIMIT);
      const center = session.deploy(bytecode("callcenter"), OWNER, LIMIT);
      const readValues = contractFunction("read_values", unit, tuple(i64, i64));

      const cases: [ContractId, string, Uint8Array, RegExp][] = [
        // A ContractId is 32 bytes: 5 are too few.
        [double, "increment_left_and_call", new Uint8Array([1, 2, 3, 4, 5]), /OutOfBounds/],
        // A bool is 0 or 1.
        [fallible, "increment", new Uint8Array([7]), /BoolCheckError/],
        [center, "query_counter", NO_ARG, /OutOfBounds/],
        // (String, Vec<u8>) whose relative pointers point far outside the argument.
        [center, "query_passthrough", new Uint8Array(16).fill(0x7f), /./],
      ];
      for (const [id, fn, arg, detail] of cases) {
        const error = assertFailsCleanly(
          session,
          id,
          "Panic",
          () => session.callRaw(id, fn, arg, LIMIT),
        );
        assert.match(error.message, /^Argument should correctly deserialize/, fn);
        assert.match(error.message, detail, fn);
      }

      // Nothing changed, and proper arguments work.
      assert.deepEqual(session.call(double, readValues, undefined, LIMIT).data, [0xfcn, 0xcfn]);
      const incrementLeftAndCall = contractFunction(
        "increment_left_and_call",
        contractId,
        result(unit, contractError),
      );
      const missing = new Uint8Array(32).fill(0xee);
      assert.deepEqual(
        session.call(double, incrementLeftAndCall, missing, LIMIT).data,
        { ok: false, error: { tag: "DoesNotExist" } },
      );
      assert.deepEqual(session.call(double, readValues, undefined, LIMIT).data, [0xfdn, 0xcfn]);
      session.call(fallible, contractFunction("increment", bool, unit), false, LIMIT);
      assert.equal(session.call(fallible, readValue, undefined, LIMIT).data, 0xfdn);
    }, { session: { debug: true } });
  });
}

// --- call depth --------------------------------------------------------------------

Deno.test("robust_contract nest: a call beyond depth 48 fails as a code its caller sees", () => {
  withSession((session) => {
    const id = session.deploy(robust, OWNER, LIMIT);
    const nest = (n: number): [number, number] => {
      const receipt = session.callRaw(id, "nest", le32(n), 1_000_000_000n);
      return [int32(receipt.data), [...receipt.callTree].length];
    };
    assert.equal(MAX_CALL_DEPTH, 48);
    // The top-level call and 47 nested ones: 48 frames.
    assert.deepEqual(nest(MAX_CALL_DEPTH - 1), [1, MAX_CALL_DEPTH]);
    // One more frame fails; the 48th gets Unknown and passes it on. The failed
    // call is pruned from the tree.
    assert.deepEqual(nest(MAX_CALL_DEPTH), [CODE_UNKNOWN, MAX_CALL_DEPTH]);
    assert.deepEqual(nest(1000), [CODE_UNKNOWN, MAX_CALL_DEPTH]);
    // The session keeps working.
    assert.deepEqual(nest(3), [1, 4]);
  });
});

Deno.test("callcenter call_self_n_times: depth 48 reaches the contract as an error, not a crash", () => {
  withSession((session) => {
    const center = session.deploy(contractBytecode("callcenter"), OWNER, LIMIT);
    const callSelfNTimes = contractFunction("call_self_n_times", u32, vec(contractId));
    const stack = session.call(center, callSelfNTimes, MAX_CALL_DEPTH - 1, 1_000_000_000n).data;
    assert.equal(stack.length, MAX_CALL_DEPTH - 1);
    for (const id of stack) assert.deepEqual(id, center.toBytes());

    // The 49th frame fails; the 48th gets ContractError::Unknown and its
    // `expect` panics. Each caller's `expect` wraps the message again, until
    // uplink's panic handler gives up with "PANIC INFO TOO LONG".
    const root = session.root();
    const error = assertThrowsKind(
      () => session.call(center, callSelfNTimes, MAX_CALL_DEPTH, 1_000_000_000n),
      "Panic",
    );
    assert.match(error.message, /^calling self should succeed: /);
    assert.deepEqual(session.root(), root);
    assert.equal(
      session.call(center, callSelfNTimes, 2, LIMIT).data.length,
      2,
    );
  }, { session: { debug: true } });
});

// --- an argument buffer beyond the memory ------------------------------------------

Deno.test({
  name: "Session.callRaw reports an argument buffer beyond the memory as MemoryAccessOutOfBounds",
  fn: async () => {
    // A = 65536 passes the deploy check (it lies in the 4 GiB mapping), but the
    // memory has one page, so the buffer lies beyond it.
    const bytes = await assembleWat(`(module
      (memory (export "memory") 1)
      (global (export "A") i32 (i32.const 65536))
      (func (export "echo") (param i32) (result i32) (local.get 0))
      (func (export "five") (param i32) (result i32) (i32.const 5)))`);
    withSession((session) => {
      const id = session.deploy(bytes, OWNER, LIMIT);
      assert.equal(session.callRaw(id, "echo", NO_ARG, LIMIT).data.length, 0);
      assertFailsCleanly(
        session,
        id,
        "MemoryAccessOutOfBounds",
        () => session.callRaw(id, "echo", new Uint8Array([1, 2, 3]), LIMIT),
      );
      assertFailsCleanly(
        session,
        id,
        "MemoryAccessOutOfBounds",
        () => session.callRaw(id, "five", NO_ARG, LIMIT),
      );
      assert.equal(session.callRaw(id, "echo", NO_ARG, LIMIT).data.length, 0);
    });
  },
});

/**
 * A contract whose `outer` calls its own `inner` through `c`; `inner` grows
 * the memory by 10 pages, writes there and traps. `outer` then reports
 * memory.size and fills 100 bytes at 200000, in the grown pages.
 */
function regrowContract(is64: boolean): string {
  const ptr = is64 ? "i64" : "i32";
  const at = (address: number): string => `(${ptr}.const ${address})`;
  const callInner = `(drop (call $c ${at(0)} ${
    at(100)
  } (i32.const 5) (i32.const 0) (i64.const 0)))`;
  return `(module
  (import "env" "c" (func $c (param ${ptr} ${ptr} i32 i32 i64) (result i32)))
  (import "env" "self_id" (func $self_id))
  (memory (export "memory") ${is64 ? "i64 " : ""}2)
  (global (export "A") ${ptr} ${at(PAGE)})
  (data ${at(100)} "inner")
  (func (export "inner") (param i32) (result i32)
    (drop (memory.grow ${at(10)}))
    (i32.store ${at(300000)} (i32.const 7))
    unreachable)
  (func (export "outer") (param i32) (result i32)
    (call $self_id)
    (memory.copy ${at(0)} ${at(PAGE)} ${at(32)})
    ${callInner}
    (${ptr}.store ${at(PAGE)} (memory.size))
    (${ptr}.store ${at(PAGE + 8)} (memory.grow ${at(1)}))
    (i32.store8 ${at(PAGE + 16)} (i32.load8_u ${at(2 * PAGE + 100)}))
    (i32.const 17))
  (func (export "outer_fill") (param i32) (result i32)
    (call $self_id)
    (memory.copy ${at(0)} ${at(PAGE)} ${at(32)})
    ${callInner}
    (memory.fill ${at(200000)} (i32.const 1) ${at(100)})
    (i32.const 0)))`;
}

for (const is64 of [false, true]) {
  Deno.test(`c: a memory grown by a callee that failed returns to its length, as in the reference (wasm${is64 ? 64 : 32})`, async () => {
    const bytecode = await assembleWat(regrowContract(is64));
    withSession((session) => {
      const id = session.deploy(bytecode, OWNER, LIMIT);
      const data = session.callRaw(id, "outer", NO_ARG, LIMIT).data;
      const word = (at: number) =>
        is64
          ? Number(new DataView(data.buffer).getBigInt64(at, true))
          : new DataView(data.buffer).getInt32(at, true);
      // The caller sees 2 pages again, grows to 3 over the page the callee
      // had written, and finds it zeroed.
      assert.equal(word(0), 2);
      assert.equal(word(8), 2);
      assert.equal(data[16], 0);
      assert.equal(session.memoryLen(id), 3 * PAGE);
      // Past the length, bulk memory traps (and never reaches unmapped pages).
      const trap = assertFailsCleanly(
        session,
        id,
        "RuntimeError",
        () => session.callRaw(id, "outer_fill", NO_ARG, LIMIT),
      );
      assert.equal(trap.details.trap, "MemoryOutOfBounds");
      assert.equal(session.memoryLen(id), 3 * PAGE);
    });
  });
}

Deno.test("table.grow refused costs one unit, also with the largest gas limit", async () => {
  // Refunds around a table instruction must not overflow the u64 fuel, and a
  // refused growth is not charged per element: spent stays what it is.
  const bytecode = await assembleWat(`(module
    (memory (export "memory") 2)
    (global (export "A") i32 (i32.const 65536))
    (table 1 funcref)
    (func (export "grow") (param i32) (result i32)
      (i32.store (i32.const 65536) (table.grow (ref.null func) (i32.const -1)))
      (i32.const 4)))`);
  withSession((session) => {
    const id = session.deploy(bytecode, OWNER, LIMIT);
    const spent: bigint[] = [];
    for (const limit of [LIMIT, 2n ** 64n - 1n]) {
      const receipt = session.callRaw(id, "grow", new Uint8Array(), limit);
      assert.equal(new DataView(receipt.data.buffer).getInt32(0, true), -1);
      spent.push(receipt.gasSpent);
    }
    assert.ok(spent[0] > 0n && spent[0] < 100n, `spent ${spent[0]}`);
    assert.equal(spent[1], spent[0]);
  });
});
