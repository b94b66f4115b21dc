/**
 * Port of piecrust's `piecrust/tests/callcenter.rs`: inter-contract calls
 * through the `callcenter` contract, `self_id`, `caller` and `callstack`.
 */

import assert from "node:assert/strict";
import {
  bool,
  contractError,
  contractFunction,
  ContractId,
  contractId,
  decode,
  i64,
  option,
  result,
  type Session,
  string,
  tuple,
  u32,
  u8,
  unit,
  vec,
} from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertBytes, withSession } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies ContractTarget[];

const readValue = contractFunction("read_value", unit, i64);
const queryCounter = contractFunction("query_counter", contractId, i64);
const incrementCounter = contractFunction("increment_counter", contractId, unit);
const rawCall = tuple(contractId, string, vec(u8));
const delegateQuery = contractFunction(
  "delegate_query",
  rawCall,
  result(vec(u8), contractError),
);
const delegateTransaction = contractFunction("delegate_transaction", rawCall, vec(u8));
const queryPassthrough = contractFunction(
  "query_passthrough",
  tuple(string, vec(u8)),
  tuple(string, vec(u8)),
);
const callingSelf = contractFunction("calling_self", contractId, bool);
const callSelf = contractFunction("call_self", unit, result(bool, contractError));
const returnCaller = contractFunction("return_caller", unit, option(contractId));
const returnCallstack = contractFunction("return_callstack", unit, vec(contractId));
const returnSelfId = contractFunction("return_self_id", unit, contractId);
const callSelfNTimes = contractFunction("call_self_n_times", u32, vec(contractId));

/** Runs `body` in a debug session (callcenter imports `hdebug`), then checks for leaks. */
/** These contracts import hdebug, which needs a debug session. */
function withDebugSession(body: (session: Session) => void): void {
  withSession(body, { debug: true });
}

function deploy(session: Session, name: string, target: ContractTarget): ContractId {
  return session.deploy(contractBytecode(name, { target }), OWNER, LIMIT);
}

for (const target of TARGETS) {
  // cc_read_counter
  Deno.test(`callcenter reads the counter directly and through an inter-contract call (${target})`, () => {
    withDebugSession((session) => {
      const counter = deploy(session, "counter", target);
      assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfcn);

      const center = deploy(session, "callcenter", target);
      assert.equal(session.call(center, queryCounter, counter.toBytes(), LIMIT).data, 0xfcn);
    });
  });

  // cc_direct
  Deno.test(`callcenter increments the counter through an inter-contract call (${target})`, () => {
    withDebugSession((session) => {
      const counter = deploy(session, "counter", target);
      assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfcn);

      const center = deploy(session, "callcenter", target);
      assert.equal(session.call(center, queryCounter, counter.toBytes(), LIMIT).data, 0xfcn);

      session.call(center, incrementCounter, counter.toBytes(), LIMIT);

      assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfdn);
      assert.equal(session.call(center, queryCounter, counter.toBytes(), LIMIT).data, 0xfdn);
    });
  });

  // cc_passthrough
  Deno.test(`callcenter query_passthrough echoes a (String, Vec<u8>) (${target})`, () => {
    withDebugSession((session) => {
      const center = deploy(session, "callcenter", target);
      const raw: [string, Uint8Array] = ["read_va", new Uint8Array(0)];
      const echoed = session.call(center, queryPassthrough, raw, LIMIT).data;
      assert.equal(echoed[0], raw[0]);
      assertBytes(echoed[1], raw[1]);
    });
  });

  // cc_delegated_read
  Deno.test(`callcenter delegate_query returns the callee's raw rkyv bytes (${target})`, () => {
    withDebugSession((session) => {
      const counter = deploy(session, "counter", target);
      const center = deploy(session, "callcenter", target);

      const res = session.call(
        center,
        delegateQuery,
        [counter.toBytes(), "read_value", new Uint8Array(0)],
        LIMIT,
      ).data;
      assert.ok(res.ok, `ICC should succeed: ${JSON.stringify(res)}`);
      assert.equal(decode(i64, res.value), 0xfcn);
    });
  });

  // cc_delegated_write
  Deno.test(`callcenter delegate_transaction mutates the counter (${target})`, () => {
    withDebugSession((session) => {
      const counter = deploy(session, "counter", target);
      const center = deploy(session, "callcenter", target);

      // The reference decodes the result as `()`; the contract returns the callee's
      // raw result (`increment` returns nothing), so we decode the `Vec<u8>` it is.
      const returned = session.call(
        center,
        delegateTransaction,
        [counter.toBytes(), "increment", new Uint8Array(0)],
        LIMIT,
      ).data;
      assert.equal(returned.length, 0);

      assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfdn);
    });
  });

  // cc_self
  Deno.test(`callcenter calling_self sees its own id as self_id (${target})`, () => {
    withDebugSession((session) => {
      const center = deploy(session, "callcenter", target);
      assert.equal(session.call(center, callingSelf, center.toBytes(), LIMIT).data, true);
    });
  });

  // cc_caller
  Deno.test(`callcenter call_self sees itself as the caller of a self call (${target})`, () => {
    withDebugSession((session) => {
      const center = deploy(session, "callcenter", target);
      const value = session.call(center, callSelf, undefined, LIMIT).data;
      assert.deepEqual(value, { ok: true, value: true }, "should succeed");
    });
  });

  // cc_caller_uninit
  Deno.test(`callcenter return_caller is None for a call from the host (${target})`, () => {
    withDebugSession((session) => {
      const center = deploy(session, "callcenter", target);
      assert.equal(session.call(center, returnCaller, undefined, LIMIT).data, null);
    });
  });

  // cc_callstack (current semantics: `callstack()` lists the callers only,
  // immediate caller first, so it is empty for a call from the host).
  Deno.test(`callcenter callstack lists the callers, immediate caller first (${target})`, () => {
    withDebugSession((session) => {
      const center = deploy(session, "callcenter", target);
      const callstackId = deploy(session, "callstack", target);

      const rootStack = session.call(center, returnCallstack, undefined, LIMIT).data;
      assert.equal(rootStack.length, 0);

      const selfId = session.call(center, returnSelfId, undefined, LIMIT).data;
      assertBytes(selfId, center.toBytes());

      const N = 5;
      const stack = session.call(center, callSelfNTimes, N, LIMIT).data;
      assert.equal(stack.length, N);
      for (const id of stack) assertBytes(id, selfId);

      const res = session.call(
        center,
        delegateQuery,
        [callstackId.toBytes(), "return_callstack", new Uint8Array(0)],
        LIMIT,
      ).data;
      assert.ok(res.ok, `ICC should succeed: ${JSON.stringify(res)}`);
      const viaCenter = decode(vec(contractId), res.value);
      assert.equal(viaCenter.length, 1);
      assertBytes(viaCenter[0], center.toBytes());
    });
  });

  // cc_self_id
  Deno.test(`callcenter return_self_id returns the deployed id (${target})`, () => {
    withDebugSession((session) => {
      const center = deploy(session, "callcenter", target);
      const value = session.call(center, returnSelfId, undefined, LIMIT).data;
      assert.ok(new ContractId(value).equals(center));
    });
  });
}
