/**
 * Port of piecrust's `piecrust/tests/event_reverter.rs`: events emitted by a
 * failed inter-contract call stay in the receipt marked `reverted`, and the
 * failed call's state changes are undone.
 */

import assert from "node:assert/strict";
import {
  contractError,
  contractFunction,
  contractId,
  encode,
  result,
  type Session,
  string,
  tuple,
  u32,
  u8,
  unit,
  vec,
} from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { withSession } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies ContractTarget[];

const readValue = contractFunction("read_value", unit, u32);
const delegateQueryWithEvent = contractFunction(
  "delegate_query_with_event",
  tuple(contractId, string, vec(u8)),
  result(vec(u8), contractError),
);

/** Runs `body` in a debug session (callcenter imports `hdebug`), then checks for leaks. */
/** These contracts import hdebug, which needs a debug session. */
function withDebugSession(body: (session: Session) => void): void {
  withSession(body, { debug: true });
}

for (const target of TARGETS) {
  // reverted_icc_marks_events
  Deno.test(`event_reverter events of a failed ICC stay in the receipt marked reverted (${target})`, () => {
    withDebugSession((session) => {
      const deploy = (name: string): ReturnType<Session["deploy"]> =>
        session.deploy(contractBytecode(name, { target }), OWNER, LIMIT);
      const eventer = deploy("eventer");
      const reverter = deploy("event_reverter");
      const center = deploy("callcenter");

      assert.equal(session.call(eventer, readValue, undefined, LIMIT).data, 0);

      const eventerArg = encode(contractId, eventer.toBytes());
      const receipt = session.call(
        center,
        delegateQueryWithEvent,
        [reverter.toBytes(), "emit_then_panic", eventerArg],
        LIMIT,
      );

      assert.ok(
        !receipt.data.ok && receipt.data.error.tag === "Panic",
        "the middle ICC should panic and be propagated as contract data",
      );

      assert.equal(
        session.call(eventer, readValue, undefined, LIMIT).data,
        0,
        "eventer state should be reverted",
      );

      const events = receipt.events;
      assert.equal(events.length, 3);

      assert.ok(events[0].source.equals(center));
      assert.equal(events[0].topic, "callcenter-before");
      assert.ok(
        !events[0].reverted,
        "the pre-ICC callcenter event should not be marked as reverted",
      );

      assert.ok(events[1].source.equals(eventer));
      assert.equal(events[1].topic, "number");
      assert.ok(
        events[1].reverted,
        "event emitted by the reverted ICC should be marked as reverted",
      );

      assert.ok(events[2].source.equals(center));
      assert.equal(events[2].topic, "callcenter-after");
      assert.ok(
        !events[2].reverted,
        "the post-ICC callcenter event should not be marked as reverted",
      );
    });
  });
}
