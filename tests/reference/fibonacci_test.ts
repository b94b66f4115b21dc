/** Port of piecrust's `tests/fibonacci.rs`: recursive Fibonacci numbers. */

import assert from "node:assert/strict";
import { contractFunction, u32, u64, VM } from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertNoLiveHandles } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies readonly ContractTarget[];

const nth = contractFunction("nth", u32, u64);

for (const target of TARGETS) {
  // fibo
  Deno.test(`fibonacci (${target}) nth returns 1, 1, 2, 3, 5`, () => {
    {
      using vm = VM.ephemeral();
      using session = vm.session();
      const id = session.deploy(contractBytecode("fibonacci", { target }), OWNER, LIMIT);
      const expected = [1n, 1n, 2n, 3n, 5n];
      for (const [n, value] of expected.entries()) {
        assert.equal(session.call(id, nth, n, LIMIT).data, value, `nth(${n})`);
      }
    }
    assertNoLiveHandles();
  });
}
