/**
 * Port of piecrust's `tests/metadata.rs`: a contract reads its own owner and
 * id, also from a session on a committed root, and the owners of other
 * contracts.
 */

import assert from "node:assert/strict";
import {
  bytes,
  contractFunction,
  ContractId,
  contractId,
  option,
  type Session,
  unit,
} from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { assertBytes, assertThrowsKind, withSession } from "../_helpers.ts";

const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies readonly ContractTarget[];

const readOwner = contractFunction("read_owner", unit, bytes(33));
const readId = contractFunction("read_id", unit, contractId);
const readOwnerOf = contractFunction("read_owner_of", contractId, option(bytes(33)));
const readOwnerWrongN = contractFunction("read_owner_wrong_n", unit, bytes(32));
const readOwnerOfWrongN = contractFunction("read_owner_of_wrong_n", contractId, option(bytes(32)));

/** Deploys two metadata contracts with ids [1; 32] and [2; 32], owners [3; 33] and [4; 33]. */
function deployTwo(session: Session, target: ContractTarget): [ContractId, ContractId] {
  const bytecode = contractBytecode("metadata", { target });
  const ids: [ContractId, ContractId] = [
    new ContractId(new Uint8Array(32).fill(1)),
    new ContractId(new Uint8Array(32).fill(2)),
  ];
  session.deploy(bytecode, new Uint8Array(33).fill(3), LIMIT, { contractId: ids[0] });
  session.deploy(bytecode, new Uint8Array(33).fill(4), LIMIT, { contractId: ids[1] });
  return ids;
}

for (const target of TARGETS) {
  // metadata
  Deno.test(`metadata (${target}) reads its 33-byte owner and its id, also after a commit`, () => {
    withSession((session, vm) => {
      const expectedOwner = new Uint8Array(33).fill(3);
      const id = session.deploy(contractBytecode("metadata", { target }), expectedOwner, LIMIT);
      // The owner and id are available after deployment.
      assertBytes(session.call(id, readOwner, undefined, LIMIT).data, expectedOwner, "owner");
      let selfId = new ContractId(session.call(id, readId, undefined, LIMIT).data);
      assert.ok(selfId.equals(id), `${selfId} equals ${id}`);

      // They live on across session boundaries.
      const root = session.commit();
      using next = vm.session({ base: root });
      assertBytes(
        next.call(id, readOwner, undefined, LIMIT).data,
        expectedOwner,
        "owner after the commit",
      );
      selfId = new ContractId(next.call(id, readId, undefined, LIMIT).data);
      assert.ok(selfId.equals(id), `${selfId} equals ${id} after the commit`);
    });
  });

  // owner_of
  Deno.test(`metadata (${target}) reads the owners of other contracts, None if unknown`, () => {
    withSession((session) => {
      const [id0, id1] = deployTwo(session, target);
      const id2 = new Uint8Array(32).fill(3);

      let owner = session.call(id0, readOwnerOf, id1.toBytes(), LIMIT).data;
      assert.ok(owner !== null, "the first contract should see the second's owner");
      assertBytes(owner, new Uint8Array(33).fill(4), "owner of the second contract");

      owner = session.call(id1, readOwnerOf, id0.toBytes(), LIMIT).data;
      assert.ok(owner !== null, "the second contract should see the first's owner");
      assertBytes(owner, new Uint8Array(33).fill(3), "owner of the first contract");

      owner = session.call(id0, readOwnerOf, id2, LIMIT).data;
      assert.equal(owner, null, "the owner of a non-existing contract should be None");
    });
  });

  // owner_wrong_n_panics
  Deno.test(`metadata (${target}) self_owner and owner with a wrong N panic`, () => {
    withSession((session) => {
      const [id0, id1] = deployTwo(session, target);

      let error = assertThrowsKind(
        () => session.call(id0, readOwnerWrongN, undefined, LIMIT),
        "Panic",
      );
      assert.ok(
        error.message.includes("self_owner: N (32) does not match host owner length (33)"),
        error.message,
      );

      error = assertThrowsKind(
        () => session.call(id0, readOwnerOfWrongN, id1.toBytes(), LIMIT),
        "Panic",
      );
      assert.match(
        error.message,
        /(?<!self_)owner: N \(32\) does not match host owner length \(33\)/,
      );
    });
  });
}
