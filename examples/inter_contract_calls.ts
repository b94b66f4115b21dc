/**
 * Inter-contract calls: `callcenter` calls `counter`; the receipt's call
 * tree shows every call with its gas limit and what it spent, and the
 * caller pays for its callees.
 *
 * ```sh
 * deno run --allow-ffi --allow-read --allow-write --allow-env examples/inter_contract_calls.ts
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { contractFunction, contractId, i64, PiecrustError, unit, VM } from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";

const GAS = 1_000_000n;
const OWNER = new Uint8Array(32);

using vm = VM.ephemeral();
using session = vm.session({ debug: true }); // callcenter prints debug messages
const counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
const callcenter = session.deploy(contractBytecode("callcenter"), OWNER, GAS);

// callcenter.increment_counter(id) calls id.increment(); query_counter(id) calls id.read_value().
const incrementCounter = contractFunction("increment_counter", contractId, unit);
const queryCounter = contractFunction("query_counter", contractId, i64);
const readValue = contractFunction("read_value", unit, i64);

const receipt = session.call(callcenter, incrementCounter, counter.toBytes(), GAS);
for (const call of receipt.callTree) {
  const name = call.contractId.equals(counter) ? "counter" : "callcenter";
  console.log(`${name}: limit ${call.limit}, spent ${call.spent}`);
}
// The tree lists callees before their caller, as the reference's iterator does.
const [inner, outer] = receipt.callTree;
assert.ok(outer.contractId.equals(callcenter) && inner.contractId.equals(counter));
// Asked for no particular limit, the callee gets 93% of what the caller has left.
assert.ok(inner.limit < GAS && inner.limit > (GAS * 92n) / 100n);
// As in the reference, the top call's `spent` leaves out its callees: the receipt adds them up.
assert.equal(receipt.gasSpent, outer.spent + inner.spent);

assert.equal(session.call(callcenter, queryCounter, counter.toBytes(), GAS).data, 0xfdn);
assert.equal(session.call(counter, readValue, undefined, GAS).data, 0xfdn);

// A call to a contract that does not exist fails inside the caller, which
// decides what to do: callcenter unwraps the error and panics.
const missing = new Uint8Array(32).fill(0x42);
assert.throws(
  () => session.call(callcenter, queryCounter, missing, GAS),
  (error) =>
    error instanceof PiecrustError && error.kind === "Panic" && /DoesNotExist/.test(error.message),
);
