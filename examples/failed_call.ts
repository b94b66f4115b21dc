/**
 * A failed call leaves no trace: whatever it wrote is undone, the state root
 * is what it was, and the error says why (`PiecrustError.kind`, here
 * `OutOfGas` and `Panic`). The session carries on as if the call never ran.
 *
 * ```sh
 * deno run --allow-ffi --allow-read --allow-write --allow-env examples/failed_call.ts
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { bool, contractFunction, i64, PiecrustError, u32, u64, unit, VM } from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";

const GAS = 1_000_000n;
const OWNER = new Uint8Array(32);

using vm = VM.ephemeral();
using session = vm.session();
const counter = session.deploy(contractBytecode("fallible_counter"), OWNER, GAS);
const grower = session.deploy(contractBytecode("grower"), OWNER, GAS);
const fibonacci = session.deploy(contractBytecode("fibonacci"), OWNER, GAS);
// fallible_counter's increment(panic) adds 1, then panics if asked to.
const increment = contractFunction("increment", bool, unit);
const readValue = contractFunction("read_value", unit, i64);
const nth = contractFunction("nth", u32, u64);

/** The PiecrustError that `call` throws. */
function failure(call: () => unknown): PiecrustError {
  try {
    call();
  } catch (error) {
    if (error instanceof PiecrustError) return error;
    throw error;
  }
  throw new Error("the call should have failed");
}

// Even a query writes: its result goes through the contract's argument
// buffer, which is part of its memory. So read first, then take the root.
const valueBefore = session.call(counter, readValue, undefined, GAS).data;
const memoryBefore = session.memoryLen(grower);
const rootBefore = session.root();

// A panic after a write: the contract's message is the error's.
const panic = failure(() => session.call(counter, increment, true, GAS));
console.log(`increment(true): ${panic.kind}: ${panic.message}`);
assert.equal(panic.kind, "Panic");
assert.equal(panic.message, "Incremental panic");

// A panic after growing memory: grower appends 60,000 bytes (a new page), then panics.
const grown = failure(() =>
  session.callRaw(grower, "append_and_panic", new Uint8Array(60_000), GAS)
);
console.log(`append_and_panic: ${grown.kind}: ${grown.message}`);
assert.equal(grown.kind, "Panic");

// Out of gas: 5,000 gas do not get fibonacci far.
const outOfGas = failure(() => session.call(fibonacci, nth, 25, 5_000n));
console.log(`nth(25) with 5000 gas: ${outOfGas.kind}`);
assert.equal(outOfGas.kind, "OutOfGas");

// No trace: the same root, the same value, the same memory size.
assert.deepEqual(session.root(), rootBefore);
assert.equal(session.call(counter, readValue, undefined, GAS).data, valueBefore);
assert.equal(session.memoryLen(grower), memoryBefore);
console.log(`root unchanged: ${session.root().toHex()}`);

// The session works on: the next increment counts once.
session.call(counter, increment, false, GAS);
assert.equal(session.call(counter, readValue, undefined, GAS).data, valueBefore + 1n);
