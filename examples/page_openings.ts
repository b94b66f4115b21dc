/**
 * Proving memory: `session.memoryPages(id)` returns each written 64 KiB page
 * of a contract with an opening that proves it against the state root, so a
 * light client holding only the root can check a contract's bytes.
 *
 * ```sh
 * deno run --allow-ffi --allow-read --allow-write --allow-env examples/page_openings.ts
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { contractFunction, unit, verifyPageOpening, VM } from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";

const GAS = 1_000_000n;

using vm = VM.ephemeral();
using session = vm.session();
const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), GAS);
session.call(counter, contractFunction("increment", unit, unit), undefined, GAS);

const root = session.root();
const pages = session.memoryPages(counter)!;
console.log(`state root ${root.toHex()}`);
for (const { index, page, opening } of pages) {
  // The opening's top is the state root: checking it against a root you
  // trust, and the page against the opening, proves the page's 64 KiB.
  assert.deepEqual(opening.tree.root, root);
  assert.ok(verifyPageOpening(opening, page));
  console.log(`page ${index}: proven`);
}
assert.ok(pages.length > 0);

// A single changed byte no longer verifies.
const { page, opening } = pages[0];
const forged = page.slice();
forged[100] ^= 1;
assert.equal(verifyPageOpening(opening, forged), false);
console.log("a forged page: rejected");
