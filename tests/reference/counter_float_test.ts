/** Port of piecrust's `tests/counter_float.rs`: an `f64` counter. */

import assert from "node:assert/strict";
import { contractFunction, f64, unit, VM } from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertNoLiveHandles } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies readonly ContractTarget[];

const readValue = contractFunction("read_value", unit, f64);

for (const target of TARGETS) {
  // counter_float_deployment
  Deno.test(`counter_float (${target}) reads 252.0 after deployment`, () => {
    {
      using vm = VM.ephemeral();
      using session = vm.session();
      const id = session.deploy(contractBytecode("counter_float", { target }), OWNER, LIMIT);
      assert.equal(session.call(id, readValue, undefined, LIMIT).data, 0xfc);
    }
    assertNoLiveHandles();
  });
}
