/**
 * Port of piecrust's `piecrust/tests/spender.rs`: gas accounting of direct
 * and inter-contract calls, call trees, explicit ICC gas limits and the
 * `limit` / `spent` imports.
 */

import assert from "node:assert/strict";
import {
  contractError,
  contractFunction,
  contractId,
  i64,
  result,
  type Session,
  tuple,
  u64,
  unit,
  VM,
} from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertNoLiveHandles, assertThrowsKind } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies ContractTarget[];

const readValue = contractFunction("read_value", unit, i64);
const queryCounter = contractFunction("query_counter", contractId, i64);
const callSpendWithLimit = contractFunction(
  "call_spend_with_limit",
  tuple(contractId, u64),
  result(unit, contractError),
);
const getLimitAndSpent = contractFunction(
  "get_limit_and_spent",
  unit,
  tuple(u64, u64, u64, u64, u64),
);

/** Runs `body` with a fresh VM, then checks for leaks. */
function withVM(body: (vm: VM) => void): void {
  {
    using vm = VM.ephemeral();
    body(vm);
  }
  assertNoLiveHandles();
}

/** Runs `body` in a debug session (callcenter imports `hdebug`). */
function withSession(body: (session: Session) => void): void {
  withVM((vm) => {
    using session = vm.session({ debug: true });
    body(session);
  });
}

/**
 * contract_sets_call_limit: two sessions make the same failing ICC to `spend`
 * with limits `first` and `second`; the difference in total spend must equal
 * the difference in limits, because a failed callee is charged its whole limit.
 */
function contractSetsCallLimit(target: ContractTarget, first: bigint, second: bigint): void {
  const bytecode = (name: string): Uint8Array => contractBytecode(name, { target });
  withVM((vm) => {
    using session1st = vm.session({ debug: true });
    using session2nd = vm.session({ debug: true });

    session1st.deploy(bytecode("spender"), OWNER, LIMIT);
    session1st.deploy(bytecode("callcenter"), OWNER, LIMIT);

    const spender = session2nd.deploy(bytecode("spender"), OWNER, LIMIT);
    const callcenter = session2nd.deploy(bytecode("callcenter"), OWNER, LIMIT);

    const receipt1st = session1st.call(
      callcenter,
      callSpendWithLimit,
      [spender.toBytes(), first],
      LIMIT,
    );
    const receipt2nd = session2nd.call(
      callcenter,
      callSpendWithLimit,
      [spender.toBytes(), second],
      LIMIT,
    );

    assert.equal(
      receipt2nd.gasSpent - receipt1st.gasSpent,
      second - first,
      `first: ${JSON.stringify(receipt1st.data)}, second: ${JSON.stringify(receipt2nd.data)}`,
    );
  });
}

for (const target of TARGETS) {
  const bytecode = (name: string): Uint8Array => contractBytecode(name, { target });

  // gas_get_used
  Deno.test(`spender an inter-contract read spends more gas than a direct one (${target})`, () => {
    withSession((session) => {
      const counter = session.deploy(bytecode("counter"), OWNER, LIMIT);
      const center = session.deploy(bytecode("callcenter"), OWNER, LIMIT);

      const counterSpent = session.call(counter, readValue, undefined, LIMIT).gasSpent;
      const centerSpent = session.call(center, queryCounter, counter.toBytes(), LIMIT).gasSpent;

      assert.ok(counterSpent < centerSpent, `${counterSpent} < ${centerSpent}`);
    });
  });

  // call_receipt
  Deno.test(`spender the call tree of an ICC lists the callee before the caller (${target})`, () => {
    withSession((session) => {
      const counter = session.deploy(bytecode("counter"), OWNER, LIMIT);
      const center = session.deploy(bytecode("callcenter"), OWNER, LIMIT);

      const receipt = session.call(center, queryCounter, counter.toBytes(), LIMIT);
      const calls = [...receipt.callTree];
      assert.deepEqual(
        calls.map((call) => call.contractId.toString()),
        [counter.toString(), center.toString()],
      );
      // The root got the top-level limit; spends are exclusive and add up to the total.
      assert.equal(calls[1].limit, LIMIT);
      assert.ok(calls[0].limit < LIMIT);
      assert.equal(calls[0].spent + calls[1].spent, receipt.gasSpent);
    });
  });

  // panic_msg_gets_through (`#[ignore]`d in the reference at the time of porting)
  Deno.test(`spender a callee's panic message reaches the caller (${target})`, () => {
    withSession((session) => {
      const spender = session.deploy(bytecode("spender"), OWNER, LIMIT);
      const center = session.deploy(bytecode("callcenter"), OWNER, LIMIT);

      const receipt = session.call(
        center,
        callSpendWithLimit,
        [spender.toBytes(), 5345n],
        LIMIT,
      );
      assert.deepEqual(receipt.data, {
        ok: false,
        error: { tag: "Panic", message: "I like spending" },
      });
    });
  });

  // fails_with_out_of_gas
  Deno.test(`spender a call with a gas limit of 1 fails with OutOfGas (${target})`, () => {
    withSession((session) => {
      const counter = session.deploy(bytecode("counter"), OWNER, LIMIT);
      assertThrowsKind(() => session.call(counter, readValue, undefined, 1n), "OutOfGas");
    });
  });

  // contract_sets_call_limit
  Deno.test({
    name: `spender a failed ICC is charged the whole limit the caller gave it (${target})`,
    fn: () => contractSetsCallLimit(target, 1175n, 2175n),
  });

  // contract_sets_call_limit, with limits under which `spend` runs out of gas whatever
  // the store cost, so both calls fail alike (see the ignored test above).
  Deno.test(`spender a failed ICC is charged the whole limit given, with limits that both run out (${target})`, () => {
    contractSetsCallLimit(target, 100n, 1100n);
  });

  // limit_and_spent (the reference only asserts the limit and prints the rest)
  Deno.test(`spender limit and spent report the frame's limit and gas use (${target})`, () => {
    withSession((session) => {
      const LIMIT = 10_000n;
      const spender = session.deploy(bytecode("spender"), OWNER, LIMIT);

      const receipt = session.call(spender, getLimitAndSpent, undefined, LIMIT);
      const [limit, spentBefore, spentAfter, calledLimit, calledSpent] = receipt.data;

      assert.equal(limit, LIMIT, "should be the initial limit");
      // Beyond the reference: what the numbers must satisfy under the ABI's gas rules.
      assert.ok(spentBefore < spentAfter, `${spentBefore} < ${spentAfter}`);
      assert.ok(spentAfter <= receipt.gasSpent, `${spentAfter} <= ${receipt.gasSpent}`);
      assert.ok(calledLimit <= (LIMIT - spentBefore) * 93n / 100n, `called limit ${calledLimit}`);
      assert.ok(calledSpent < calledLimit, `${calledSpent} < ${calledLimit}`);
      assert.ok(
        spentAfter - spentBefore > calledSpent,
        "the ICC costs more than the callee's spend",
      );
    });
  });
}
