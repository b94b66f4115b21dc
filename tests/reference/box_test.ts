/**
 * Port of piecrust's `tests/box.rs`: an `Option<Box<i16>>` kept on the
 * contract's heap, through typed and raw calls.
 */

import assert from "node:assert/strict";
import { contractFunction, decode, encode, i16, option, unit } from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { withSession } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies readonly ContractTarget[];

const get = contractFunction("get", unit, option(i16));
const set = contractFunction("set", i16, unit);

for (const target of TARGETS) {
  // box_set_get
  Deno.test(`box (${target}) set and get an Option<i16> on the heap`, () => {
    withSession((session) => {
      const id = session.deploy(contractBytecode("box", { target }), OWNER, LIMIT);

      assert.equal(session.call(id, get, undefined, LIMIT).data, null);
      session.call(id, set, 0x11, LIMIT);
      assert.equal(session.call(id, get, undefined, LIMIT).data, 0x11);
    });
  });

  // box_set_get_raw
  Deno.test(`box (${target}) set and get through callRaw with manual rkyv`, () => {
    withSession((session) => {
      const id = session.deploy(contractBytecode("box", { target }), OWNER, LIMIT);

      let bytes = session.callRaw(id, "get", new Uint8Array(0), LIMIT).data;
      assert.equal(decode(option(i16), bytes), null);

      session.callRaw(id, "set", encode(i16, 0x11), LIMIT);

      bytes = session.callRaw(id, "get", new Uint8Array(0), LIMIT).data;
      assert.equal(decode(option(i16), bytes), 0x11);
    });
  });
}
