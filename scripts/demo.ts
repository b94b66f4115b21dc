/**
 * `deno task demo [DIR]`: opens a VM over a local directory (DIR, or a new
 * temporary folder), deploys the bundled counter contract (wasm32 and
 * wasm64), calls it, commits, reopens the directory in a new VM and reads the
 * values back from the commit. The directory stays, with a note on how to
 * look inside it.
 *
 * @module
 */

import { WASM_PAGE_SIZE } from "../src/memory/mod.ts";
import { WASMTIME_VERSION, wasmtimeLibraryPath } from "../src/native/library.ts";
import {
  type CallReceipt,
  contractFunction,
  type ContractId,
  i64,
  PiecrustError,
  type Session,
  unit,
  VM,
} from "../mod.ts";
import { contractBytecode, type ContractTarget } from "../src/testing/mod.ts";

const GAS_LIMIT = 1_000_000n;
const readValue = contractFunction("read_value", unit, i64);
const increment = contractFunction("increment", unit, unit);

function describe(receipt: CallReceipt<unknown>): string {
  const calls = [...receipt.callTree].map((call) =>
    `${call.contractId.toString().slice(0, 8)}… limit ${call.limit} spent ${call.spent}`
  );
  return `gas ${receipt.gasSpent}/${receipt.gasLimit}, ${receipt.events.length} events, ` +
    `calls [${calls.join("; ")}]`;
}

function runCounter(session: Session, target: ContractTarget): ContractId {
  const bytecode = contractBytecode("counter", { target });
  const counter = session.deploy(bytecode, new Uint8Array(32).fill(1), GAS_LIMIT);
  console.log(`\ncounter (${target}, ${bytecode.byteLength} bytes) deployed as ${counter}`);
  console.log(`  read_value() -> ${session.call(counter, readValue, undefined, GAS_LIMIT).data}`);
  const receipt = session.call(counter, increment, undefined, GAS_LIMIT);
  console.log(`  increment()  -> ${describe(receipt)}`);
  console.log(`  read_value() -> ${session.call(counter, readValue, undefined, GAS_LIMIT).data}`);
  try {
    session.call(counter, increment, undefined, 0n);
  } catch (error) {
    if (!(error instanceof PiecrustError)) throw error;
    console.log(`  increment() with no gas -> ${error.kind}: ${error.message}`);
  }
  const value = session.call(counter, readValue, undefined, GAS_LIMIT).data;
  console.log(`  read_value() -> ${value} (the failed call changed nothing)`);
  const pages = session.memoryLen(counter)! / WASM_PAGE_SIZE;
  console.log(`  memory: ${pages} pages of 64 KiB`);
  return counter;
}

console.log(`piecrust for Deno: libwasmtime ${WASMTIME_VERSION} from ${wasmtimeLibraryPath()}`);
const directory = Deno.args[0] ?? Deno.makeTempDirSync({ prefix: "piecrust-demo-" });
{
  let root: Uint8Array;
  let counters: ContractId[];
  {
    using vm = VM.open(directory);
    using session = vm.session();
    counters = [runCounter(session, "wasm32"), runCounter(session, "wasm64")];
    root = session.commit();
    console.log(`\ncommitted to ${directory}: root ${root.toHex()}`);
  }
  using vm = VM.open(directory);
  console.log(
    `reopened ${directory}: commits ${vm.commits().map((bytes) => bytes.toHex()).join(", ")}`,
  );
  using session = vm.session({ base: root });
  for (const counter of counters) {
    const value = session.call(counter, readValue, undefined, GAS_LIMIT).data;
    console.log(`  ${counter.toString().slice(0, 8)}… read_value() -> ${value}`);
  }
}

console.log(`
The VM directory stays in ${directory}
(commits/<root>/ holds manifest.json and each contract's <id>.wasm and <id>.pages):
  look inside:     ls -R ${directory}
  run again there: deno task demo ${directory} (same state, same root)
  read it back:    VM.open(${JSON.stringify(directory)}).commits() lists the roots,
                   vm.session({ base: root }) opens one
  remove it:       rm -r ${directory}`);
