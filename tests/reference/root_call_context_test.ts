/**
 * Port of piecrust's `piecrust/tests/root_call_context.rs`: a top-level call
 * with a synthetic caller (`callRaw(…, { syntheticCaller })`, the
 * reference's `call_raw_with_root_context`) shows that contract as the
 * caller and at the bottom of the call stack, exactly as if it had made the
 * call, without running it as a frame.
 */

import assert from "node:assert/strict";
import {
  contractError,
  contractFunction,
  ContractId,
  contractId,
  decode,
  encode,
  MAX_CALL_DEPTH,
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
import { assertThrowsKind, withSession } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies ContractTarget[];
const NO_ARG = new Uint8Array();

const rawCall = tuple(contractId, string, vec(u8));
const delegated = result(vec(u8), contractError);
const delegateQuery = contractFunction("delegate_query", rawCall, delegated);
const returnCaller = contractFunction("return_caller", unit, option(contractId));
const callers = vec(contractId);

/** The bytes of a successful delegated call's result, as the reference's `decode_delegated`. */
function unwrapDelegated(bytes: Uint8Array): Uint8Array {
  const outcome = decode(delegated, bytes);
  assert.ok(outcome.ok, "the delegated call should succeed");
  return outcome.value;
}

function ids(list: readonly Uint8Array[] | readonly ContractId[]): string[] {
  return list.map((id) => (id instanceof ContractId ? id : new ContractId(id)).toString());
}

for (const target of TARGETS) {
  const deploy = (session: Session, fill: number): ContractId =>
    session.deploy(contractBytecode("callcenter", { target }), OWNER, LIMIT, {
      contractId: new ContractId(new Uint8Array(32).fill(fill)),
    });
  const withDebugSession = (body: (session: Session) => void): void =>
    withSession(body, { debug: true });

  Deno.test(`root_call_context (${target}) exposes only the synthetic identity`, () => {
    withDebugSession((session) => {
      const synthetic = deploy(session, 0x11);
      const callee = deploy(session, 0x22);
      const options = { syntheticCaller: synthetic };
      const receipt = session.callRaw(callee, "return_caller", NO_ARG, LIMIT, options);
      assert.deepEqual(ids([decode(option(contractId), receipt.data)!]), ids([synthetic]));
      assert.deepEqual(
        ids([...receipt.callTree].map((call) => call.contractId)),
        ids([callee]),
        "the synthetic identity must not become a call-tree frame",
      );
      const stack = session.callRaw(callee, "return_callstack", NO_ARG, LIMIT, options).data;
      assert.deepEqual(ids(decode(callers, stack)), ids([synthetic]));
      // Ordinary top-level calls are unchanged.
      assert.equal(session.call(callee, returnCaller, undefined, LIMIT).data, null);
    });
  });

  Deno.test(`root_call_context (${target}) a nested call sees the target, then the synthetic ancestor`, () => {
    withDebugSession((session) => {
      const synthetic = deploy(session, 0x11);
      const root = deploy(session, 0x22);
      const callee = deploy(session, 0x33);
      const options = { syntheticCaller: synthetic };
      const stackArgs = encode(rawCall, [callee.toBytes(), "return_callstack", NO_ARG]);
      const stack = session.callRaw(root, "delegate_query", stackArgs, LIMIT, options).data;
      assert.deepEqual(ids(decode(callers, unwrapDelegated(stack))), ids([root, synthetic]));
      const callerArgs = encode(rawCall, [callee.toBytes(), "return_caller", NO_ARG]);
      const caller = session.callRaw(root, "delegate_query", callerArgs, LIMIT, options).data;
      assert.deepEqual(ids([decode(option(contractId), unwrapDelegated(caller))!]), ids([root]));
    });
  });

  Deno.test(`root_call_context (${target}) synthetic ancestry matches a physical dispatcher chain`, () => {
    withDebugSession((session) => {
      const dispatcher = deploy(session, 0x11);
      const root = deploy(session, 0x22);
      const callee = deploy(session, 0x33);
      const options = { syntheticCaller: dispatcher };

      const physical = session.call(
        dispatcher,
        delegateQuery,
        [root.toBytes(), "return_callstack", NO_ARG],
        LIMIT,
      ).data;
      assert.ok(physical.ok);
      const synthetic = session.callRaw(root, "return_callstack", NO_ARG, LIMIT, options).data;
      assert.deepEqual(ids(decode(callers, synthetic)), ids(decode(callers, physical.value)));
      assert.deepEqual(ids(decode(callers, synthetic)), ids([dispatcher]));

      const calleeArgs = encode(rawCall, [callee.toBytes(), "return_callstack", NO_ARG]);
      const physicalNested = session.call(
        dispatcher,
        delegateQuery,
        [root.toBytes(), "delegate_query", calleeArgs],
        LIMIT,
      ).data;
      assert.ok(physicalNested.ok);
      const physicalStack = decode(callers, unwrapDelegated(physicalNested.value));
      const syntheticNested = session.callRaw(root, "delegate_query", calleeArgs, LIMIT, options);
      const syntheticStack = decode(callers, unwrapDelegated(syntheticNested.data));
      assert.deepEqual(ids(syntheticStack), ids(physicalStack));
      assert.deepEqual(ids(syntheticStack), ids([root, dispatcher]));
    });
  });

  Deno.test(`root_call_context (${target}) a callback into the synthetic ancestor matches the physical identity`, () => {
    withDebugSession((session) => {
      const dispatcher = deploy(session, 0x11);
      const root = deploy(session, 0x22);
      const callbackArgs = encode(rawCall, [dispatcher.toBytes(), "return_callstack", NO_ARG]);
      const physical = session.call(
        dispatcher,
        delegateQuery,
        [root.toBytes(), "delegate_query", callbackArgs],
        LIMIT,
      ).data;
      assert.ok(physical.ok);
      const physicalStack = decode(callers, unwrapDelegated(physical.value));
      const synthetic = session.callRaw(root, "delegate_query", callbackArgs, LIMIT, {
        syntheticCaller: dispatcher,
      });
      const syntheticStack = decode(callers, unwrapDelegated(synthetic.data));
      assert.deepEqual(ids(syntheticStack), ids(physicalStack));
      assert.deepEqual(ids(syntheticStack), ids([root, dispatcher]));
    });
  });

  Deno.test(`root_call_context (${target}) is cleared after a failure`, () => {
    withDebugSession((session) => {
      const synthetic = deploy(session, 0x11);
      const callee = deploy(session, 0x22);
      const options = { syntheticCaller: synthetic };
      assertThrowsKind(() => session.callRaw(callee, "panik", NO_ARG, LIMIT, options), "Panic");
      assert.equal(session.call(callee, returnCaller, undefined, LIMIT).data, null);
      const error = assertThrowsKind(
        () => session.callRaw(callee, "missing_export", NO_ARG, LIMIT, options),
        "InvalidFunction",
      );
      assert.equal(error.details.function, "missing_export");
      assert.equal(session.call(callee, returnCaller, undefined, LIMIT).data, null);
    });
  });

  Deno.test(`root_call_context (${target}) requires a deployed synthetic contract`, () => {
    withDebugSession((session) => {
      const callee = deploy(session, 0x22);
      const missing = new ContractId(new Uint8Array(32).fill(0xff));
      const error = assertThrowsKind(
        () => session.callRaw(callee, "return_caller", NO_ARG, LIMIT, { syntheticCaller: missing }),
        "ContractDoesNotExist",
      );
      assert.equal(error.details.contract, missing.toString());
    });
  });
}

// Beyond the reference's file: the other checks of `call_raw_with_root_context`.
Deno.test("root_call_context refuses init and a bad synthetic caller, and takes a depth level", () => {
  withSession((session) => {
    const synthetic = session.deploy(contractBytecode("callcenter"), OWNER, LIMIT, {
      contractId: new ContractId(new Uint8Array(32).fill(0x11)),
    });
    const callee = session.deploy(contractBytecode("callcenter"), OWNER, LIMIT);
    const options = { syntheticCaller: synthetic };
    assertThrowsKind(
      () => session.callRaw(callee, "init", NO_ARG, LIMIT, options),
      "InitializationError",
    );
    assert.throws(
      () =>
        session.callRaw(callee, "return_caller", NO_ARG, LIMIT, { syntheticCaller: "x" as never }),
      TypeError,
    );
    // call_self_n_times(n) runs n + 1 frames; the synthetic caller takes a level.
    const BIG = 10n ** 12n; // each level passes on 93% of what is left
    const nest = contractFunction("call_self_n_times", u32, callers);
    session.call(callee, nest, MAX_CALL_DEPTH - 1, BIG);
    assertThrowsKind(() => session.call(callee, nest, MAX_CALL_DEPTH, BIG), "Panic");
    session.call(callee, nest, MAX_CALL_DEPTH - 2, BIG, options);
    assertThrowsKind(
      () => session.call(callee, nest, MAX_CALL_DEPTH - 1, BIG, options),
      "Panic",
    );
  }, { debug: true });
});
