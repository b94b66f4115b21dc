/**
 * Port of piecrust's `tests/counter.rs`: the counter read and incremented,
 * driven through the wasm64 C-style contract's raw `c`, and a contract panic
 * surfacing with its message.
 */

import assert from "node:assert/strict";
import { ARGBUF_LEN, bool, contractFunction, contractId, i64, unit } from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertThrowsKind, withSession } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const REPEATED_WRITE_FAILURES = 64;
const TARGETS = ["wasm32", "wasm64"] as const satisfies readonly ContractTarget[];

const readValue = contractFunction("read_value", unit, i64);
const increment = contractFunction("increment", unit, unit);
const incrementAndRead = contractFunction("increment_and_read", contractId, i64);
const fallibleIncrement = contractFunction("increment", bool, unit);

for (const target of TARGETS) {
  // counter_read_simple
  Deno.test(`counter (${target}) reads 0xfc after deployment`, () => {
    withSession((session) => {
      const id = session.deploy(contractBytecode("counter", { target }), OWNER, LIMIT);
      assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfcn);
    });
  });

  // counter_read_write_simple
  Deno.test(`counter (${target}) reads 0xfd after an increment`, () => {
    withSession((session) => {
      const id = session.deploy(contractBytecode("counter", { target }), OWNER, LIMIT);
      assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfcn);
      session.call(id, increment, undefined, LIMIT);
      assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
    });
  });

  // call_through_c: c_example exists only for wasm64 (as the reference's, built by duskc);
  // the counter it drives is the `target` build, so both 64→32 and 64→64 calls are covered.
  Deno.test(`c_example (wasm64) increments and reads the ${target} counter through raw c`, () => {
    withSession((session) => {
      const counter = session.deploy(contractBytecode("counter", { target }), OWNER, LIMIT);
      const cExample = session.deploy(
        contractBytecode("c_example", { target: "wasm64" }),
        OWNER,
        LIMIT,
      );
      const receipt = session.call(cExample, incrementAndRead, counter.toBytes(), LIMIT);
      assert.equal(receipt.data, 0xfdn);
    });
  });

  // increment_panic
  Deno.test(`fallible_counter (${target}) panic surfaces as Panic("Incremental panic")`, () => {
    withSession((session) => {
      const id = session.deploy(contractBytecode("fallible_counter", { target }), OWNER, LIMIT);
      const error = assertThrowsKind(
        () => session.call(id, fallibleIncrement, true, LIMIT),
        "Panic",
      );
      assert.equal(error.message, "Incremental panic");
      // Not in the reference test: the increment before the panic was undone.
      const read = contractFunction("read_value", unit, i64);
      assert.equal(session.call(id, read, undefined, LIMIT).data, 0xfcn);
    });
  });

  // oversized_argument_failure_cleans_call_context (release branch piecrust-0.32.x)
  Deno.test(`counter (${target}) oversized arguments fail and leave no call context`, () => {
    withSession((session) => {
      const id = session.deploy(contractBytecode("counter", { target }), OWNER, LIMIT);
      assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfcn);

      // Repeated failures must not accumulate call contexts (which would
      // eventually exhaust the call depth).
      const oversized = new Uint8Array(ARGBUF_LEN + 1);
      for (let i = 0; i < REPEATED_WRITE_FAILURES; i++) {
        const error = assertThrowsKind(
          () => session.callRaw(id, "increment", oversized, LIMIT),
          "MemoryAccessOutOfBounds",
        );
        // The reference checks the error's `len` field.
        assert.match(error.message, new RegExp(`\\b${ARGBUF_LEN + 1}\\b`));
        assert.equal(error.details.length, ARGBUF_LEN + 1);
      }

      session.call(id, increment, undefined, LIMIT);
      assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfdn);
    });
  });
}
