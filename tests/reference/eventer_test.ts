/**
 * Port of piecrust's `piecrust/tests/eventer.rs`: events in the receipt and
 * their gas cost.
 */

import assert from "node:assert/strict";
import {
  contractFunction,
  type ContractId,
  type Event,
  tuple,
  u32,
  u64,
  u8,
  unit,
  vec,
} from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertBytes, withSession } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies ContractTarget[];

const emitEvents = contractFunction("emit_events", u32, unit);
const emitEventsRaw = contractFunction("emit_events_raw", u32, unit);
const emitInput = contractFunction("emit_input", vec(u8), tuple(u64, u64));

function leBytes(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
}

function assertNumberEvents(events: Event[], eventer: ContractId, count: number): void {
  assert.equal(events.length, count);
  for (let i = 0; i < count; i++) {
    assert.ok(events[i].source.equals(eventer), `event ${i} source`);
    assert.equal(events[i].topic, "number");
    assertBytes(events[i].data, leBytes(i), `event ${i} data`);
    assert.equal(events[i].reverted, false);
  }
}

for (const target of TARGETS) {
  // vm_center_events
  Deno.test(`eventer emit and emit_raw put events with little-endian u32 data in the receipt (${target})`, () => {
    withSession((session) => {
      const eventer = session.deploy(contractBytecode("eventer", { target }), OWNER, LIMIT);
      const EVENT_NUM = 5;

      const receipt = session.call(eventer, emitEvents, EVENT_NUM, LIMIT);
      assertNumberEvents(receipt.events, eventer, EVENT_NUM);

      const rawReceipt = session.call(eventer, emitEventsRaw, EVENT_NUM, LIMIT);
      assertNumberEvents(rawReceipt.events, eventer, EVENT_NUM);
    });
  });

  // event_costs
  Deno.test(`eventer the gas of an emit grows linearly with the event's size (${target})`, () => {
    withSession((session) => {
      const eventer = session.deploy(contractBytecode("eventer", { target }), OWNER, LIMIT);

      // This call is to "prime" the contract.
      session.call(eventer, emitInput, new Uint8Array(100).fill(1), LIMIT);

      const costs: bigint[] = [];
      for (let size = 4; size <= 40; size += 4) {
        const [spentBefore, spentAfter] = session.call(
          eventer,
          emitInput,
          new Uint8Array(size).fill(1),
          LIMIT,
        ).data;
        costs.push(spentAfter - spentBefore);
      }

      // Cost grows linearly with the number of bytes, at a predictable rate.
      const diffs = costs.slice(1).map((cost, i) => cost - costs[i]);
      const [reference, ...rest] = diffs;
      for (const diff of rest) {
        assert.equal(diff, reference, `cost should grow at a linear rate: ${costs.join(" ")}`);
      }
    });
  });
}
