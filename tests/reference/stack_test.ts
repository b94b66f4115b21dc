/**
 * Port of piecrust's `piecrust/tests/stack.rs`: the `nstack`-backed `stack`
 * contract.
 */

import assert from "node:assert/strict";
import { contractFunction, i32, option, u32, unit } from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { withSession } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies ContractTarget[];

const push = contractFunction("push", i32, unit);
const pop = contractFunction("pop", unit, option(i32));
const len = contractFunction("len", unit, u32);

for (const target of TARGETS) {
  // push_pop
  Deno.test(`stack push, len and pop of one element (${target})`, () => {
    withSession((session) => {
      const id = session.deploy(contractBytecode("stack", { target }), OWNER, LIMIT);
      const val = 42;

      session.call(id, push, val, LIMIT);
      assert.equal(session.call(id, len, undefined, LIMIT).data, 1);

      const popped = session.call(id, pop, undefined, LIMIT).data;
      assert.equal(session.call(id, len, undefined, LIMIT).data, 0);
      assert.equal(popped, val);
    });
  });

  // multi_push_pop
  Deno.test(`stack 16 pushes then pops come back in reverse order (${target})`, () => {
    withSession((session) => {
      const id = session.deploy(contractBytecode("stack", { target }), OWNER, LIMIT);
      const N = 16;

      for (let i = 0; i < N; i++) {
        session.call(id, push, i, LIMIT);
        assert.equal(session.call(id, len, undefined, LIMIT).data, i + 1);
      }

      for (let i = N - 1; i >= 0; i--) {
        const popped = session.call(id, pop, undefined, LIMIT).data;
        assert.equal(session.call(id, len, undefined, LIMIT).data, i);
        assert.equal(popped, i);
      }

      assert.equal(session.call(id, pop, undefined, LIMIT).data, null);
    });
  });
}
