/**
 * Typed arguments and results: describe a contract function's Rust types
 * with the codec's schemas, and `session.call` encodes the argument and
 * decodes the result (rkyv 0.7, as piecrust's contracts expect).
 *
 * ```sh
 * deno run --allow-ffi --allow-read --allow-write --allow-env examples/typed_calls.ts
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { contractFunction, i16, option, string, tuple, u64, u8, unit, vec, VM } from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";

const GAS = 1_000_000n;
const OWNER = new Uint8Array(32);

using vm = VM.ephemeral();
// callcenter prints debug messages (`hdebug`), which a session accepts with `debug`.
using session = vm.session({ debug: true });

// `vector` keeps a Vec<i16>: push(x: i16) and pop() -> Option<i16>.
const vector = session.deploy(contractBytecode("vector"), OWNER, GAS);
const push = contractFunction("push", i16, unit);
const pop = contractFunction("pop", unit, option(i16));
for (const x of [7, -3, 12]) session.call(vector, push, x, GAS);
const popped = [1, 2, 3, 4].map(() => session.call(vector, pop, undefined, GAS).data);
console.log("popped", popped);
assert.deepEqual(popped, [12, -3, 7, null]);

// `callcenter.query_passthrough` takes and returns (String, Vec<u8>).
const callcenter = session.deploy(contractBytecode("callcenter"), OWNER, GAS);
const pair = tuple(string, vec(u8));
const passthrough = contractFunction("query_passthrough", pair, pair);
const echoed = session.call(callcenter, passthrough, ["transfer", new Uint8Array([1, 2, 3])], GAS);
console.log("echoed", echoed.data, "for", echoed.gasSpent, "gas");
assert.deepEqual(echoed.data, ["transfer", new Uint8Array([1, 2, 3])]);

// `spender.get_limit_and_spent` returns a 5-tuple of u64: name its fields.
const spender = session.deploy(contractBytecode("spender"), OWNER, GAS);
const limits = contractFunction("get_limit_and_spent", unit, tuple(u64, u64, u64, u64, u64));
const [limit, spentBefore, spentAfter, calledLimit, calledSpent] =
  session.call(spender, limits, undefined, GAS).data;
console.log({ limit, spentBefore, spentAfter, calledLimit, calledSpent });
assert.equal(limit, GAS);
assert.ok(spentBefore < spentAfter && calledSpent < calledLimit);

// A value the type cannot hold is refused before anything runs.
assert.throws(() => session.call(vector, push, 40_000, GAS), RangeError);
const rawPop = session.callRaw(vector, "pop", new Uint8Array(), GAS);
assert.deepEqual(rawPop.data, new Uint8Array([0, 0, 0, 0]), "None, as raw rkyv bytes");
