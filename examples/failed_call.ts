/**
 * A failed call leaves no trace: whatever it wrote is undone, the state root
 * is what it was, and the error says why (`PiecrustError.kind`). Running out
 * of gas charges the whole limit.
 *
 * ```sh
 * deno run --allow-ffi --allow-read --allow-write --allow-env examples/failed_call.ts
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { contractFunction, i64, PiecrustError, u32, u64, unit, VM } from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";

const GAS = 1_000_000n;
const OWNER = new Uint8Array(32);

using vm = VM.ephemeral();
using session = vm.session({ debug: true }); // callcenter prints debug messages
const counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
const callcenter = session.deploy(contractBytecode("callcenter"), OWNER, GAS);
const fibonacci = session.deploy(contractBytecode("fibonacci"), OWNER, GAS);
const nth = contractFunction("nth", u32, u64);
const increment = contractFunction("increment", unit, unit);
const readValue = contractFunction("read_value", unit, i64);
const panik = contractFunction("panik", unit, unit);

// Even a query writes: its result goes through the contract's argument
// buffer, which is part of its memory. So read first, then take the root.
const valueBefore = session.call(counter, readValue, undefined, GAS).data;
const rootBefore = session.root();

// Out of gas: 5,000 gas do not get fibonacci far.
assert.throws(
  () => session.call(fibonacci, nth, 25, 5_000n),
  (error) => error instanceof PiecrustError && error.kind === "OutOfGas",
);
console.log("nth(25) with 5000 gas: OutOfGas");

// A panic: the contract's message is the error's.
assert.throws(
  () => session.call(callcenter, panik, undefined, GAS),
  (error) => error instanceof PiecrustError && error.kind === "Panic" && error.message === "panik",
);
console.log("panik: Panic: panik");

// No trace: the same root, the same value.
assert.deepEqual(session.root(), rootBefore);
assert.equal(session.call(counter, readValue, undefined, GAS).data, valueBefore);
console.log(`root unchanged: ${session.root().toHex()}`);

// The session works on: the next increment counts once.
session.call(counter, increment, undefined, GAS);
assert.equal(session.call(counter, readValue, undefined, GAS).data, valueBefore + 1n);
