/**
 * Port of piecrust's `piecrust/tests/debugger.rs`: `hdebug` messages are
 * collected by a debug session.
 */

import assert from "node:assert/strict";
import { contractFunction, string, unit, VM } from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertNoLiveHandles } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies ContractTarget[];

const debug = contractFunction("debug", string, unit);

for (const target of TARGETS) {
  // debug
  Deno.test(`debugger a debug! message is collected by the session (${target})`, () => {
    {
      using vm = VM.ephemeral();
      using session = vm.session({ debug: true });
      const id = session.deploy(contractBytecode("debugger", { target }), OWNER, LIMIT);

      session.call(id, debug, "Hello world", LIMIT);

      assert.deepEqual(session.debugMessages(), ["What a string! Hello world"]);
    }
    assertNoLiveHandles();
  });
}
