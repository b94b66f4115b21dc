/**
 * Ports of piecrust's `tests/deserialization.rs`:
 * malformed return bytes are rejected on both the contract and the host side.
 */

import assert from "node:assert/strict";
import {
  bool,
  contractError,
  contractFunction,
  contractId,
  decode,
  PiecrustError,
  result,
  type Session,
  string,
  tuple,
  unit,
} from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertBytes, assertThrowsKind, withSession } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const GARBAGE = new Uint8Array([
  0xde,
  0xad,
  0xbe,
  0xef,
  0xca,
  0xfe,
  0xba,
  0xd0,
  0xff,
  0xff,
  0xff,
  0xff,
  0x99,
  0x99,
  0x99,
  0x99,
]);

const tryQueryBool = contractFunction(
  "try_query_bool",
  tuple(contractId, string),
  result(bool, contractError),
);

/** These contracts import hdebug, which needs a debug session. */
function withDebugSession(body: (session: Session) => void): void {
  withSession(body, { debug: true });
}

for (const target of ["wasm32", "wasm64"] as const satisfies ContractTarget[]) {
  Deno.test(
    `callcenter (${target}) try_query_bool gets Err(Panic) for garbage and Ok for a bool (inter_contract_call_validates_return_bytes)`,
    () => {
      withDebugSession((session) => {
        const badreturn = session.deploy(contractBytecode("badreturn", { target }), OWNER, LIMIT);
        const center = session.deploy(contractBytecode("callcenter", { target }), OWNER, LIMIT);

        // badreturn writes 0xDEADBEEF... into its argument buffer, bypassing wrap_call.
        const garbage = session.call(
          center,
          tryQueryBool,
          [badreturn.toBytes(), "garbage_value"],
          LIMIT,
        ).data;
        assert.ok(!garbage.ok && garbage.error.tag === "Panic", JSON.stringify(garbage));
        assert.ok(
          garbage.error.message.startsWith("Callee return value failed validation:"),
          garbage.error.message,
        );

        // badreturn serializes `true` through wrap_call.
        const valid = session.call(center, tryQueryBool, [badreturn.toBytes(), "valid_bool"], LIMIT)
          .data;
        assert.deepEqual(valid, { ok: true, value: true });
      });
    },
  );

  Deno.test(
    `Session.call of badreturn (${target}) garbage_value as bool fails with ValidationError (host_call_rejects_garbage_return)`,
    () => {
      withDebugSession((session) => {
        const badreturn = session.deploy(contractBytecode("badreturn", { target }), OWNER, LIMIT);
        const error = assertThrowsKind(
          () =>
            session.call(
              badreturn,
              contractFunction("garbage_value", unit, bool),
              undefined,
              LIMIT,
            ),
          "ValidationError",
        );
        // The reference's message is just "ValidationError"; ours explains.
        assert.ok(error instanceof PiecrustError);

        // The bytes themselves come back unvalidated through callRaw.
        const raw = session.callRaw(badreturn, "garbage_value", new Uint8Array(0), LIMIT).data;
        assertBytes(raw, GARBAGE);
        assertThrowsKind(() => decode(bool, raw), "ValidationError");

        // The session keeps working, and a valid bool is accepted.
        const valid = session.call(
          badreturn,
          contractFunction("valid_bool", unit, bool),
          undefined,
          LIMIT,
        );
        assert.equal(valid.data, true);
      });
    },
  );
}
