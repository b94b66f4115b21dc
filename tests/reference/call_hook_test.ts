/**
 * Port of piecrust's `piecrust/tests/call_hook.rs`: a session's call hook
 * sees every inter-contract call (and every call with a synthetic caller)
 * before it starts, with the call stack, and may refuse it.
 */

import assert from "node:assert/strict";
import {
  type CallHook,
  contractError,
  contractFunction,
  ContractId,
  contractId,
  decode,
  encode,
  type HookedCall,
  i64,
  option,
  PiecrustError,
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

const readValue = contractFunction("read_value", unit, i64);
const queryCounter = contractFunction("query_counter", contractId, i64);
const incrementCounter = contractFunction("increment_counter", contractId, unit);
const callSelfNTimes = contractFunction("call_self_n_times", u32, vec(contractId));
const returnCaller = contractFunction("return_caller", unit, option(contractId));
const rawCall = tuple(contractId, string, vec(u8));
const delegateQuery = contractFunction(
  "delegate_query",
  rawCall,
  result(vec(u8), contractError),
);

/** Records the calls a hook sees, as the reference's `CallRecorder`. */
class CallRecorder {
  #calls: HookedCall[] = [];
  readonly hook: CallHook = (call) => {
    this.#calls.push(call);
  };
  /** The calls seen since the last take. */
  take(): HookedCall[] {
    return this.#calls.splice(0);
  }
}

function ids(list: readonly ContractId[]): string[] {
  return list.map(String);
}

for (const target of TARGETS) {
  const deploy = (session: Session, name: string, fill?: number): ContractId =>
    session.deploy(contractBytecode(name, { target }), OWNER, LIMIT, {
      contractId: fill === undefined ? undefined : new ContractId(new Uint8Array(32).fill(fill)),
    });
  const withDebugSession = (body: (session: Session) => void): void =>
    withSession(body, { debug: true });

  Deno.test(`call_hook (${target}) observes an inter-contract call`, () => {
    withDebugSession((session) => {
      const counter = deploy(session, "counter");
      const center = deploy(session, "callcenter");
      const recorder = new CallRecorder();
      session.setCallHook(recorder.hook);
      assert.equal(session.call(center, queryCounter, counter.toBytes(), LIMIT).data, 0xfcn);
      const [call, ...rest] = recorder.take();
      assert.equal(rest.length, 0);
      assert.ok(call.contract.equals(counter));
      assert.equal(call.fn, "read_value");
      assert.deepEqual(call.arg, new Uint8Array());
      assert.deepEqual(ids(call.callStack), ids([center]));
    });
  });

  Deno.test(`call_hook (${target}) observes a synthetic root's ancestry`, () => {
    withDebugSession((session) => {
      const synthetic = deploy(session, "callcenter", 0x11);
      const counter = deploy(session, "counter");
      const center = deploy(session, "callcenter", 0x22);
      const recorder = new CallRecorder();
      session.setCallHook(recorder.hook);
      const receipt = session.call(center, queryCounter, counter.toBytes(), LIMIT, {
        syntheticCaller: synthetic,
      });
      assert.equal(receipt.data, 0xfcn);
      const calls = recorder.take();
      assert.equal(calls.length, 2);
      assert.ok(calls[0].contract.equals(center));
      assert.deepEqual(ids(calls[0].callStack), ids([synthetic]));
      assert.ok(calls[1].contract.equals(counter));
      assert.deepEqual(ids(calls[1].callStack), ids([center, synthetic]));
    });
  });

  Deno.test(`call_hook (${target}) a refused synthetic root call leaves no context behind`, () => {
    withDebugSession((session) => {
      const synthetic = deploy(session, "callcenter", 0x11);
      const center = deploy(session, "callcenter", 0x22);
      session.setCallHook(() => "rejected");
      assert.throws(
        () => session.call(center, returnCaller, undefined, LIMIT, { syntheticCaller: synthetic }),
        (error) =>
          error instanceof PiecrustError && error.kind === "Panic" && error.message === "rejected",
      );
      session.clearCallHook();
      assert.equal(session.call(center, returnCaller, undefined, LIMIT).data, null);
    });
  });

  Deno.test(`call_hook (${target}) is not called for calls from the host`, () => {
    withDebugSession((session) => {
      const counter = deploy(session, "counter");
      const recorder = new CallRecorder();
      session.setCallHook(recorder.hook);
      assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfcn);
      assert.deepEqual(recorder.take(), []);
    });
  });

  Deno.test(`call_hook (${target}) observes several inter-contract calls`, () => {
    withDebugSession((session) => {
      const counter = deploy(session, "counter");
      const center = deploy(session, "callcenter");
      const recorder = new CallRecorder();
      session.setCallHook(recorder.hook);
      session.call(center, queryCounter, counter.toBytes(), LIMIT);
      session.call(center, incrementCounter, counter.toBytes(), LIMIT);
      session.call(center, queryCounter, counter.toBytes(), LIMIT);
      const calls = recorder.take();
      assert.deepEqual(calls.map((call) => call.fn), ["read_value", "increment", "read_value"]);
      for (const call of calls) {
        assert.ok(call.contract.equals(counter));
        assert.deepEqual(ids(call.callStack), ids([center]));
      }
    });
  });

  Deno.test(`call_hook (${target}) can decode a call's arguments`, () => {
    withDebugSession((session) => {
      const center = deploy(session, "callcenter");
      const recorder = new CallRecorder();
      session.setCallHook(recorder.hook);
      session.call(center, callSelfNTimes, 3, LIMIT);
      const calls = recorder.take();
      assert.equal(calls.length, 3);
      calls.forEach((call, i) => {
        assert.ok(call.contract.equals(center));
        assert.equal(call.fn, "call_self_n_times");
        assert.equal(decode(u32, call.arg), 2 - i);
        assert.equal(call.callStack.length, i + 1);
        assert.ok(call.callStack.every((id) => id.equals(center)));
      });
    });
  });

  Deno.test(`call_hook (${target}) call stacks list the immediate caller first`, () => {
    withDebugSession((session) => {
      const counter = deploy(session, "counter");
      const outer = deploy(session, "callcenter", 0x11);
      const inner = deploy(session, "callcenter", 0x22);
      const innerArgs = encode(rawCall, [counter.toBytes(), "read_value", new Uint8Array()]);
      const recorder = new CallRecorder();
      session.setCallHook(recorder.hook);
      const outerResult = session.call(
        outer,
        delegateQuery,
        [inner.toBytes(), "delegate_query", innerArgs],
        LIMIT,
      ).data;
      assert.ok(outerResult.ok);
      const innerResult = decode(result(vec(u8), contractError), outerResult.value);
      assert.ok(innerResult.ok);
      assert.equal(decode(i64, innerResult.value), 0xfcn);
      const calls = recorder.take();
      assert.equal(calls.length, 2);
      assert.ok(calls[0].contract.equals(inner));
      assert.equal(calls[0].fn, "delegate_query");
      assert.deepEqual(ids(calls[0].callStack), ids([outer]));
      assert.ok(calls[1].contract.equals(counter));
      assert.equal(calls[1].fn, "read_value");
      assert.deepEqual(ids(calls[1].callStack), ids([inner, outer]));
    });
  });

  Deno.test(`call_hook (${target}) can refuse a call`, () => {
    withDebugSession((session) => {
      const counter = deploy(session, "counter");
      const center = deploy(session, "callcenter");
      assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfcn);
      session.setCallHook((call) =>
        call.contract.equals(counter) && call.fn === "increment"
          ? "increment rejected by test hook"
          : undefined
      );
      assert.throws(
        () => session.call(center, incrementCounter, counter.toBytes(), LIMIT),
        /increment rejected by test hook/,
      );
      assert.equal(session.call(counter, readValue, undefined, LIMIT).data, 0xfcn);
    });
  });

  Deno.test(`call_hook (${target}) without a hook, calls work as usual`, () => {
    withDebugSession((session) => {
      const counter = deploy(session, "counter");
      const center = deploy(session, "callcenter");
      assert.equal(session.call(center, queryCounter, counter.toBytes(), LIMIT).data, 0xfcn);
    });
  });

  Deno.test(`call_hook (${target}) clearing it lets a refused call through`, () => {
    withDebugSession((session) => {
      const counter = deploy(session, "counter");
      const center = deploy(session, "callcenter");
      session.setCallHook(() => "rejected");
      assertThrowsKind(() => session.call(center, queryCounter, counter.toBytes(), LIMIT), "Panic");
      session.clearCallHook();
      assert.equal(session.call(center, queryCounter, counter.toBytes(), LIMIT).data, 0xfcn);
    });
  });
}

Deno.test("call_hook set and clear return the previous hook", () => {
  withSession((session) => {
    const allow: CallHook = () => undefined;
    const reject: CallHook = () => "reject";
    assert.equal(session.setCallHook(allow), undefined);
    assert.equal(session.setCallHook(reject), allow);
    assert.equal(session.clearCallHook(), reject);
    assert.equal(session.clearCallHook(), undefined);
    assert.throws(() => session.setCallHook("no" as unknown as CallHook), TypeError);
  });
});

// Beyond the reference: what only a JavaScript hook can do.
Deno.test("call_hook that throws ends the whole call with a HostError and leaves no trace", () => {
  withSession((session) => {
    const counter = session.deploy(contractBytecode("counter"), OWNER, LIMIT);
    const center = session.deploy(contractBytecode("callcenter"), OWNER, LIMIT);
    const root = session.root();
    const failure = new Error("hook failed");
    session.setCallHook(() => {
      throw failure;
    });
    const error = assertThrowsKind(
      () => session.call(center, incrementCounter, counter.toBytes(), LIMIT),
      "HostError",
    );
    assert.equal(error.cause, failure);
    assert.deepEqual(session.root(), root);
    // A hook may not change its session.
    session.setCallHook(() => void session.clearCallHook());
    assertThrowsKind(
      () => session.call(center, queryCounter, counter.toBytes(), LIMIT),
      "HostError",
    );
  }, { debug: true });
});
