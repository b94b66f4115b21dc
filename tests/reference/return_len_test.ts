/**
 * Ports of the release-branch (piecrust 0.32.2) return-length tests
 * (`tests/return_len.rs`) and `counter.rs`'s
 * `oversized_argument_failure_cleans_call_context`: a contract's return length must lie in
 * `0..=65536`, an argument must fit the 64 KiB buffer, and neither failure
 * may leave anything behind.
 *
 * The reference's `MemoryAccessOutOfBounds { offset, len, mem_len }` has
 * fields; ours has a message, which the tests check for the length instead.
 */

import assert from "node:assert/strict";
import { watFixture } from "../../contracts/wat.ts";
import {
  ARGBUF_LEN,
  bytes,
  contractFunction,
  type ContractId,
  i64,
  type Session,
  u32,
  unit,
} from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertThrowsKind, withSession } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const VALID_RETURN_LEN = 4;
const REPEATED_WRITE_FAILURES = 64;
/** What `c` returns for a failure that is no panic, out of gas or missing contract. */
const CODE_UNKNOWN = -2147483648;

const counterFn = contractFunction("counter", unit, u32);
const readValue = contractFunction("read_value", unit, i64);
const increment = contractFunction("increment", unit, unit);
const robust = await watFixture("robust_contract");
const encoder = new TextEncoder();

function le32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value, true);
  return out;
}

function int32(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset).getInt32(0, true);
}

function readCounter(session: Session, id: ContractId): number {
  return session.call(id, counterFn, undefined, LIMIT).data;
}

/** The argument of robust_contract's `forward`: call `fn` of `callee` with `arg`. */
function forwardArg(
  callee: ContractId,
  fn: string,
  arg: Uint8Array,
  options: { gas?: bigint; argLen?: number } = {},
): Uint8Array {
  const name = encoder.encode(fn);
  const out = new Uint8Array(48 + name.length + arg.length);
  const view = new DataView(out.buffer);
  callee.copyTo(out);
  view.setBigUint64(32, options.gas ?? 0n, true);
  view.setUint32(40, name.length, true);
  view.setUint32(44, options.argLen ?? arg.length, true);
  out.set(name, 48);
  out.set(arg, 48 + name.length);
  return out;
}

// --- return_len.rs -----------------------------------------------------------------

for (const target of ["wasm32", "wasm64"] as const satisfies ContractTarget[]) {
  const deployBadreturn = (session: Session): ContractId =>
    session.deploy(contractBytecode("badreturn", { target }), OWNER, LIMIT);

  Deno.test(
    `badreturn (${target}) raw_return_len: a valid length is accepted (top_level_valid_return_len_is_accepted)`,
    () => {
      withSession((session) => {
        const id = deployBadreturn(session);
        assert.equal(readCounter(session, id), 72);
        const receipt = session.callRaw(id, "raw_return_len", le32(VALID_RETURN_LEN), LIMIT);
        assert.equal(receipt.data.length, VALID_RETURN_LEN);
        assert.equal(readCounter(session, id), 73);
      });
    },
  );

  Deno.test(
    `badreturn (${target}) raw_return_len: a negative length is rejected and reverted (top_level_negative_return_len_is_rejected)`,
    () => {
      withSession((session) => {
        const id = deployBadreturn(session);
        assert.equal(readCounter(session, id), 72);
        const root = session.root();
        const error = assertThrowsKind(
          () => session.callRaw(id, "raw_return_len", le32(-1), LIMIT),
          "MemoryAccessOutOfBounds",
        );
        // The reference reports len = u32::MAX, the same 32 bits.
        assert.match(error.message, /-1\b/);
        assert.deepEqual(session.root(), root);
        assert.equal(readCounter(session, id), 72);
      });
    },
  );

  Deno.test(
    `badreturn (${target}) raw_return_len: a length over 64 KiB is rejected and reverted (top_level_oversized_return_len_is_rejected)`,
    () => {
      withSession((session) => {
        const id = deployBadreturn(session);
        assert.equal(readCounter(session, id), 72);
        const root = session.root();
        const error = assertThrowsKind(
          () => session.callRaw(id, "raw_return_len", le32(ARGBUF_LEN + 1), LIMIT),
          "MemoryAccessOutOfBounds",
        );
        assert.match(error.message, /65537/);
        assert.deepEqual(session.root(), root);
        assert.equal(readCounter(session, id), 72);
      });
    },
  );

  Deno.test(`badreturn (${target}) raw_return_len: 0 and exactly 64 KiB are accepted`, () => {
    withSession((session) => {
      const id = deployBadreturn(session);
      assert.equal(session.callRaw(id, "raw_return_len", le32(0), LIMIT).data.length, 0);
      const full = session.callRaw(id, "raw_return_len", le32(ARGBUF_LEN), LIMIT).data;
      assert.equal(full.length, ARGBUF_LEN);
      assert.equal(int32(full), ARGBUF_LEN, "the buffer still starts with the argument");
      assert.equal(readCounter(session, id), 74);
    });
  });

  Deno.test(`badreturn (${target}) raw_return_len: very negative and huge lengths are rejected`, () => {
    withSession((session) => {
      const id = deployBadreturn(session);
      for (const length of [-2147483648, -65536, 0x7fff_ffff]) {
        assertThrowsKind(
          () => session.callRaw(id, "raw_return_len", le32(length), LIMIT),
          "MemoryAccessOutOfBounds",
        );
      }
      assert.equal(readCounter(session, id), 72);
    });
  });

  // --- counter.rs (release branch) ---------------------------------------------------

  Deno.test(
    `counter (${target}) rejects oversized arguments and keeps working (oversized_argument_failure_cleans_call_context)`,
    () => {
      withSession((session) => {
        const id = session.deploy(contractBytecode("counter", { target }), OWNER, LIMIT);
        assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfcn);
        const root = session.root();
        // Repeated failures must not pile up call contexts (and exhaust the call depth).
        for (let i = 0; i < REPEATED_WRITE_FAILURES; i++) {
          const error = assertThrowsKind(
            () => session.callRaw(id, "increment", new Uint8Array(ARGBUF_LEN + 1), LIMIT),
            "MemoryAccessOutOfBounds",
          );
          assert.match(error.message, /65537/);
        }
        assert.deepEqual(session.root(), root);
        session.call(id, increment, undefined, LIMIT);
        assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
      });
    },
  );

  Deno.test(`counter (${target}) accepts an argument of exactly 64 KiB`, () => {
    withSession((session) => {
      const id = session.deploy(contractBytecode("counter", { target }), OWNER, LIMIT);
      session.callRaw(id, "increment", new Uint8Array(ARGBUF_LEN).fill(0xab), LIMIT);
      assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
    });
  });
}

Deno.test("Session.call rejects a typed argument that encodes to over 64 KiB", () => {
  withSession((session) => {
    const id = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    const big = contractFunction("increment", bytes(ARGBUF_LEN + 1), unit);
    // The reference fails while serializing (CompositeSerializerError); we encode
    // first and the session refuses the bytes.
    assertThrowsKind(
      () => session.call(id, big, new Uint8Array(ARGBUF_LEN + 1), LIMIT),
      "MemoryAccessOutOfBounds",
    );
    session.call(id, increment, undefined, LIMIT);
    assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
  });
});

// --- the same checks across an inter-contract call ---------------------------------

Deno.test("c returns Unknown to a caller whose callee returns a bad length, and reverts the callee", () => {
  withSession((session) => {
    const badreturn = session.deploy(contractBytecode("badreturn"), OWNER, LIMIT);
    const caller = session.deploy(robust, OWNER, LIMIT);
    for (const length of [-1, ARGBUF_LEN + 1]) {
      const data = session.callRaw(
        caller,
        "forward",
        forwardArg(badreturn, "raw_return_len", le32(length)),
        LIMIT,
      ).data;
      assert.equal(int32(data), CODE_UNKNOWN, `length ${length}`);
    }
    assert.equal(readCounter(session, badreturn), 72, "the callee's increments were reverted");

    // A valid length goes through: c returns it and the caller gets the bytes.
    const ok = session.callRaw(
      caller,
      "forward",
      forwardArg(badreturn, "raw_return_len", le32(VALID_RETURN_LEN)),
      LIMIT,
    ).data;
    assert.equal(int32(ok), VALID_RETURN_LEN);
    assert.equal(ok.length, 4 + VALID_RETURN_LEN);
    assert.equal(readCounter(session, badreturn), 73);
  });
});

Deno.test("c traps a caller passing an argument over 64 KiB, as the reference's check_arg does", () => {
  withSession((session) => {
    const counter = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    const caller = session.deploy(robust, OWNER, LIMIT);
    const arg = forwardArg(counter, "increment", new Uint8Array(0), { argLen: ARGBUF_LEN + 1 });
    assertThrowsKind(
      () => session.callRaw(caller, "forward", arg, LIMIT),
      "MemoryAccessOutOfBounds",
    );
    assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfcn);
    // The same call with a fitting argument works.
    const fits = forwardArg(counter, "increment", new Uint8Array(ARGBUF_LEN - 48 - 9));
    assert.equal(int32(session.callRaw(caller, "forward", fits, LIMIT).data), 0);
    assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfdn);
  });
});
