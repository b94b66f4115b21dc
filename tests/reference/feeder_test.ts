/**
 * Port of piecrust's `tests/feeder.rs`: a contract streams values to the
 * host with `feed` during a feeder call, and only then.
 */

import assert from "node:assert/strict";
import { contractFunction, decode, encode, u32, unit, VM } from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertThrowsKind, withSession } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const FEED_NUM = 10;
const TARGETS = ["wasm32", "wasm64"] as const satisfies readonly ContractTarget[];

const feedNum = contractFunction("feed_num", u32, unit);

for (const target of TARGETS) {
  // feed (rkyv through uplink's `feed`, raw through `feed_raw`)
  for (const fn of ["feed_num", "feed_num_raw"]) {
    Deno.test(`feeder (${target}) ${fn} feeds ${FEED_NUM} numbers in order`, () => {
      withSession((session) => {
        const id = session.deploy(contractBytecode("feeder", { target }), OWNER, LIMIT);

        const chunks: Uint8Array[] = [];
        const receipt = session.feederCallRaw(
          id,
          fn,
          encode(u32, FEED_NUM),
          LIMIT,
          (chunk) => chunks.push(chunk),
        );
        assert.equal(decode(unit, receipt.data), undefined);

        const numbers = chunks.map((chunk) => decode(u32, chunk));
        assert.equal(numbers.length, FEED_NUM, "the correct number of numbers should be fed");
        numbers.forEach((n, i) => assert.equal(n, i, "numbers should be fed in order"));
      });
    });
  }

  Deno.test(`Session.feederCallIterable (${target}) yields the fed chunks to for await`, async () => {
    const numbers: number[] = [];
    {
      using vm = VM.ephemeral();
      using session = vm.session();
      const id = session.deploy(contractBytecode("feeder", { target }), OWNER, LIMIT);
      const { receipt, feed } = session.feederCallIterable(id, "feed_num", encode(u32, 4), LIMIT);
      assert.ok(receipt.gasSpent > 0n);
      for await (const chunk of feed) numbers.push(decode(u32, chunk));
    }
    assert.deepEqual(numbers, [0, 1, 2, 3]);
  });

  // feed_errors_when_normal_call
  Deno.test(`feeder (${target}) feed fails with MissingFeed outside a feeder call`, () => {
    withSession((session) => {
      const id = session.deploy(contractBytecode("feeder", { target }), OWNER, LIMIT);
      assertThrowsKind(() => session.call(id, feedNum, FEED_NUM, LIMIT), "MissingFeed");
    });
  });

  // feed_out_of_gas
  Deno.test(`feeder (${target}) feeder call with a low limit fails with OutOfGas`, () => {
    withSession((session) => {
      const id = session.deploy(contractBytecode("feeder", { target }), OWNER, LIMIT);
      assertThrowsKind(
        () => session.feederCallRaw(id, "feed_num", encode(u32, FEED_NUM), 1_000n, () => {}),
        "OutOfGas",
      );
    });
  });
}
