/** Port of piecrust's `tests/vector.rs`: a `Vec<i16>` pushed and popped. */

import assert from "node:assert/strict";
import { contractFunction, i16, option, unit, VM } from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertNoLiveHandles } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies readonly ContractTarget[];

const push = contractFunction("push", i16, unit);
const pop = contractFunction("pop", unit, option(i16));

for (const target of TARGETS) {
  // vector_push_pop
  Deno.test(`vector (${target}) pops 128 pushed i16 in reverse order, then None`, () => {
    {
      using vm = VM.ephemeral();
      using session = vm.session();
      const id = session.deploy(contractBytecode("vector", { target }), OWNER, LIMIT);

      const N = 128;
      for (let i = 0; i < N; i++) session.call(id, push, i, LIMIT);
      for (let i = 0; i < N; i++) {
        assert.equal(session.call(id, pop, undefined, LIMIT).data, N - i - 1);
      }
      assert.equal(session.call(id, pop, undefined, LIMIT).data, null);
    }
    assertNoLiveHandles();
  });
}
