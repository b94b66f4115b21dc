// Plain JavaScript, run as it is by Node.js and Bun: no type annotations to write.
// deno-lint-ignore-file explicit-function-return-type
/**
 * A fixed scenario whose every observable result (data, gas, events, errors,
 * state roots, commits) is printed as JSON, one line per step. `deno task
 * test:npm` runs it on Deno from the sources and on Node.js and Bun from the
 * installed package, and requires the three outputs to be identical.
 *
 * @module
 */

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  contractFunction,
  contractId,
  i16,
  i64,
  option,
  PiecrustError,
  u32,
  u64,
  unit,
  VM,
} from "@piecrust/deno";
import { contractBytecode } from "@piecrust/deno/testing";

const GAS = 1_000_000n;
const OWNER = new Uint8Array(32);
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const print = (step, value) =>
  console.log(JSON.stringify({ step, ...value }, (_, v) => typeof v === "bigint" ? `${v}n` : v));

/** What a call ended with: its data and gas, or its error's kind. */
function outcome(call) {
  try {
    const receipt = call();
    return {
      data: receipt.data instanceof Uint8Array ? hex(receipt.data) : receipt.data,
      gas: receipt.gasSpent,
      events: receipt.events.map((event) => [event.topic, hex(event.data), event.reverted]),
      calls: receipt.callTree.length,
    };
  } catch (error) {
    if (error instanceof PiecrustError) return { error: error.kind };
    throw error;
  }
}

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "piecrust-scenario-"));
try {
  const vm = VM.open(directory);
  const session = vm.session({ debug: true });
  const ids = {};
  for (const name of ["counter", "callcenter", "fibonacci", "eventer", "vector", "grower"]) {
    ids[name] = session.deploy(contractBytecode(name), OWNER, GAS);
    print(`deploy ${name}`, { id: ids[name].toString(), root: hex(session.root()) });
  }
  const steps = [
    [
      "increment",
      () => session.call(ids.counter, contractFunction("increment", unit, unit), undefined, GAS),
    ],
    [
      "read_value",
      () => session.call(ids.counter, contractFunction("read_value", unit, i64), undefined, GAS),
    ],
    ["nth(20)", () => session.call(ids.fibonacci, contractFunction("nth", u32, u64), 20, GAS)],
    [
      "nth(25) out of gas",
      () => session.call(ids.fibonacci, contractFunction("nth", u32, u64), 25, 5_000n),
    ],
    [
      "emit_events(4)",
      () => session.call(ids.eventer, contractFunction("emit_events", u32, unit), 4, GAS),
    ],
    [
      "increment_counter",
      () =>
        session.call(
          ids.callcenter,
          contractFunction("increment_counter", contractId, unit),
          ids.counter.toBytes(),
          GAS,
        ),
    ],
    ["push(-7)", () => session.call(ids.vector, contractFunction("push", i16, unit), -7, GAS)],
    [
      "pop",
      () => session.call(ids.vector, contractFunction("pop", unit, option(i16)), undefined, GAS),
    ],
    [
      "append 100 KB",
      () => session.callRaw(ids.grower, "append", new Uint8Array(100_000).fill(7), GAS),
    ],
    [
      "append_and_panic",
      () => session.callRaw(ids.grower, "append_and_panic", new Uint8Array(60_000), GAS),
    ],
  ];
  for (const [name, call] of steps) print(name, { ...outcome(call), root: hex(session.root()) });
  const first = session.commit();
  print("commit", { root: hex(first) });
  session.close();

  const next = vm.session({ base: first });
  print("increment on the commit", {
    ...outcome(() =>
      next.call(ids.counter, contractFunction("increment", unit, unit), undefined, GAS)
    ),
    root: hex(next.root()),
  });
  const second = next.commit();
  print("commit again", { root: hex(second) });
  print("pages", {
    pages: next.memoryPages(ids.grower).map((
      { index, opening },
    ) => [index, hex(opening.tree.root)]),
  });
  next.close();
  vm.close();

  const reopened = VM.open(directory);
  print("reopen", { commits: reopened.commits().map(hex).sort() });
  reopened.close();
} finally {
  fs.rmSync(directory, { recursive: true, force: true });
}
