/** Port of piecrust's `tests/everest.rs`: a contract reads session metadata with `hd`. */

import assert from "node:assert/strict";
import {
  contractFunction,
  encode,
  option,
  type Session,
  type SessionOptions,
  u64,
  unit,
  VM,
} from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertNoLiveHandles } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies readonly ContractTarget[];

const getHeight = contractFunction("get_height", unit, option(u64));

function withSession(body: (session: Session) => void, options: SessionOptions = {}): void {
  {
    using vm = VM.ephemeral();
    using session = vm.session(options);
    body(session);
  }
  assertNoLiveHandles();
}

for (const target of TARGETS) {
  // height
  Deno.test(`everest (${target}) reads the height inserted in the session metadata`, () => {
    const HEIGHT = 29_000n;
    withSession((session) => {
      const id = session.deploy(contractBytecode("everest", { target }), OWNER, LIMIT);
      assert.equal(session.call(id, getHeight, undefined, LIMIT).data, HEIGHT);
    }, { meta: { height: encode(u64, HEIGHT) } });
  });

  // meta_data_optionality
  Deno.test(`everest (${target}) reads None for an absent metadata key`, () => {
    withSession((session) => {
      const id = session.deploy(contractBytecode("everest", { target }), OWNER, LIMIT);
      assert.equal(session.call(id, getHeight, undefined, LIMIT).data, null);
    });
  });

  // height, as an older version of the reference test wrote it: the height
  // changed with set_meta between calls (here also removed again).
  Deno.test(`everest (${target}) sees height changes made with setMeta`, () => {
    withSession((session) => {
      const id = session.deploy(contractBytecode("everest", { target }), OWNER, LIMIT);
      for (let height = 0n; height < 16n; height++) {
        session.setMeta("height", encode(u64, height));
        assert.equal(session.call(id, getHeight, undefined, LIMIT).data, height);
      }
      session.removeMeta("height");
      assert.equal(session.call(id, getHeight, undefined, LIMIT).data, null);
    });
  });
}
