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
import {
  contractError,
  contractFunction,
  contractId,
  decode,
  encode,
  i16,
  option,
  result,
  string,
  struct,
  tuple,
  u64,
  u8,
  unit,
  vec,
  VM,
} from "../mod.ts";
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

// `callcenter.delegate_query((ContractId, String, Vec<u8>))` calls another
// contract with raw argument bytes and returns Result<Vec<u8>, ContractError>,
// an enum: `{ ok, value }` or `{ ok: false, error: { tag, ... } }`.
const callcenter = session.deploy(contractBytecode("callcenter"), OWNER, GAS);
const rawCall = tuple(contractId, string, vec(u8));
const delegate = contractFunction("delegate_query", rawCall, result(vec(u8), contractError));
const pushed = session.call(callcenter, delegate, [vector.toBytes(), "push", encode(i16, 5)], GAS);
assert.deepEqual(pushed.data, { ok: true, value: new Uint8Array() }, "push returns ()");
assert.equal(session.call(vector, pop, undefined, GAS).data, 5);
const nowhere = new Uint8Array(32).fill(0x42);
const missing = session.call(callcenter, delegate, [nowhere, "pop", new Uint8Array()], GAS);
console.log("delegate_query to no contract:", missing.data);
assert.deepEqual(missing.data, { ok: false, error: { tag: "DoesNotExist" } });

// `spender.get_limit_and_spent` returns a 5-tuple of u64: name its parts.
const spender = session.deploy(contractBytecode("spender"), OWNER, GAS);
const limits = contractFunction("get_limit_and_spent", unit, tuple(u64, u64, u64, u64, u64));
const [limit, spentBefore, spentAfter, calledLimit, calledSpent] =
  session.call(spender, limits, undefined, GAS).data;
console.log({ limit, spentBefore, spentAfter, calledLimit, calledSpent });
assert.equal(limit, GAS);
assert.ok(spentBefore < spentAfter && calledSpent < calledLimit);

// A `#[derive(Archive)]` struct (none of these contracts takes one) is a
// `struct`: fields in declaration order, placed in the archive as rustc would.
const transfer = struct([["memo", option(string)], ["amount", u64], ["fee", u8]]);
const archived = encode(transfer, { memo: "rent", amount: 1200n, fee: 3 });
assert.deepEqual(decode(transfer, archived), { memo: "rent", amount: 1200n, fee: 3 });
console.log(`a Transfer archives in ${archived.length} bytes`);
assert.deepEqual(archived.subarray(0, 8), encode(u64, 1200n), "rustc puts the u64 first");

// A value the type cannot hold is refused before anything runs.
assert.throws(() => session.call(vector, push, 40_000, GAS), RangeError);
