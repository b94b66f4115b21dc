/**
 * Opens the VM directory `argv[2]` in a process of its own, verifies it, and prints, as
 * JSON, its commits and the counter `argv[3]`'s value at commit `argv[4]`.
 *
 * @module
 */

import process from "node:process";
import { contractFunction, ContractId, i64, unit, VM } from "@piecrust/deno";

const [directory, counter, root] = process.argv.slice(2);
const vm = VM.open(directory);
// Re-hashes every file of every commit: the shim's reads, seeks and stats, end to end.
vm.verifyAll();
const session = vm.session({ base: Uint8Array.from(Buffer.from(root, "hex")) });
// Before the call: even a query writes, through the contract's argument buffer.
const rootBefore = Buffer.from(session.root()).toString("hex");
const value = session.call(
  ContractId.fromHex(counter),
  contractFunction("read_value", unit, i64),
  undefined,
  1_000_000n,
).data;
console.log(JSON.stringify({
  commits: vm.commits().map((commit) => Buffer.from(commit).toString("hex")),
  root: rootBefore,
  value: String(value),
}));
session.close();
vm.close();
