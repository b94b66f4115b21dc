/**
 * Commits on disk: a session over a VM directory commits its state under a
 * Merkle root; a new VM (here: later in the same program; equally a new
 * process) opens the directory, lists the commits and starts a session from
 * one, with every contract and byte as committed.
 *
 * ```sh
 * deno run --allow-ffi --allow-read --allow-write --allow-env examples/commit_and_reopen.ts [DIR]
 * ```
 *
 * Without DIR it uses a new temporary folder and removes it at the end.
 *
 * @module
 */

import assert from "node:assert/strict";
import { contractFunction, ContractId, i64, unit, VM } from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";

const GAS = 1_000_000n;
const increment = contractFunction("increment", unit, unit);
const readValue = contractFunction("read_value", unit, i64);

const directory = Deno.args[0] ?? Deno.makeTempDirSync({ prefix: "piecrust-example-" });
try {
  let root: Uint8Array;
  let counterId: string;
  {
    using vm = VM.open(directory);
    using session = vm.session();
    const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), GAS);
    session.call(counter, increment, undefined, GAS);
    session.call(counter, increment, undefined, GAS);
    root = session.commit();
    counterId = counter.toString();
    console.log(`committed ${root.toHex()} to ${directory}`);
  } // closing the VM releases the directory

  using vm = VM.open(directory);
  const commits = vm.commits();
  console.log(`${directory} holds ${commits.length} commit(s)`);
  assert.ok(commits.some((commit) => commit.toHex() === root.toHex()));

  using session = vm.session({ base: root });
  assert.deepEqual(session.root(), root);
  const counter = ContractId.fromHex(counterId);
  const value = session.call(counter, readValue, undefined, GAS).data;
  console.log(`counter ${counterId.slice(0, 8)}… reads ${value} from the commit`);
  assert.equal(value, 0xfcn + 2n);
} finally {
  if (Deno.args[0] === undefined) Deno.removeSync(directory, { recursive: true });
}
