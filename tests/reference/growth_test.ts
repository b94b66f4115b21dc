/**
 * Port of piecrust's `tests/growth.rs`: memory growth by appending full
 * argument buffers, committed and read back from a session on the new root,
 * and its rollback when a call fails.
 */

import assert from "node:assert/strict";
import { ARGBUF_LEN, VM } from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertBytes, assertNoLiveHandles, assertThrowsKind, withSession } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 40_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies readonly ContractTarget[];

/** The 8-byte raw argument of `view`: offset and length, u32 LE each. */
function viewArg(offset: number, length: number): Uint8Array {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, offset, true);
  view.setUint32(4, length, true);
  return bytes;
}

for (const target of TARGETS) {
  // grow_a_bunch
  Deno.test(
    `grower (${target}) appends 256 full argument buffers, commits and reads them back`,
    () => {
      withSession((session, vm) => {
        const id = session.deploy(contractBytecode("grower", { target }), OWNER, LIMIT);

        const bytes = new Uint8Array(ARGBUF_LEN);
        for (let b = 0; b <= 0xff; b++) {
          bytes.fill(b);
          session.callRaw(id, "append", bytes, LIMIT);
        }

        const root = session.commit();
        using next = vm.session({ base: root });

        for (let b = 0; b <= 0xff; b++) {
          const receipt = next.callRaw(id, "view", viewArg(b * ARGBUF_LEN, ARGBUF_LEN), LIMIT);
          assertBytes(receipt.data, bytes.fill(b), `view of block ${b}`);
        }
      });
    },
  );

  // error_reverts_growth
  Deno.test(`grower (${target}) failing append reverts the data and the memory length`, () => {
    {
      using vm = VM.ephemeral();
      using session = vm.session();
      using sessionErr = vm.session();

      const bytecode = contractBytecode("grower", { target });
      const id = session.deploy(bytecode, OWNER, LIMIT);
      sessionErr.deploy(bytecode, OWNER, LIMIT);

      const initialLen = session.memoryLen(id);
      assert.ok(initialLen !== undefined, "the contract should exist in this session");

      // The first append grows the memory, which must be reverted in both the
      // state and the memory length when the call fails.
      const bytes = new Uint8Array(ARGBUF_LEN).fill(42);
      session.callRaw(id, "append", bytes, LIMIT);
      const error = assertThrowsKind(
        () => sessionErr.callRaw(id, "append_and_panic", bytes, LIMIT),
        "Panic",
      );
      assert.equal(error.message, "isded");

      const lenData = sessionErr.callRaw(id, "len", new Uint8Array(0), LIMIT).data;
      assert.equal(lenData.length, 4);
      const len = new DataView(lenData.buffer, lenData.byteOffset, 4).getUint32(0, true);
      assert.equal(len, 0, "there should be nothing appended to the state");

      const finalLen = session.memoryLen(id);
      const finalLenErr = sessionErr.memoryLen(id);
      assert.ok(finalLen !== undefined && finalLenErr !== undefined);
      assert.ok(initialLen < finalLen, `${initialLen} < ${finalLen}`);
      assert.equal(finalLenErr, initialLen, "when erroring the length of the memory should revert");
    }
    assertNoLiveHandles();
  });
}
