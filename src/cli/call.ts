/**
 * `piecrust call DIR CONTRACT FN [ARG]`: one contract call, committed on request.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import type { CallReceipt } from "../session/call_receipt.ts";
import { formatCallTree } from "../session/format_call_tree.ts";
import { ContractId } from "../session/contract_id.ts";
import { type Command, DEFAULT_GAS, parseGas, parseHex } from "./command.ts";
import { openVm } from "./open_vm.ts";
import { sessionBase } from "./session_base.ts";

function receiptJson(receipt: CallReceipt<Uint8Array>, root: Uint8Array | undefined): string {
  return JSON.stringify({
    data: receipt.data.toHex(),
    gasSpent: String(receipt.gasSpent),
    gasLimit: String(receipt.gasLimit),
    events: receipt.events.map((event) => ({
      source: event.source.toString(),
      topic: event.topic,
      data: event.data.toHex(),
    })),
    ...(root === undefined ? {} : { root: root.toHex() }),
  }) + "\n";
}

function receiptText(receipt: CallReceipt<Uint8Array>, root: Uint8Array | undefined): string {
  const lines = [
    `data   ${receipt.data.toHex() || "(empty)"}\n`,
    `gas    ${receipt.gasSpent} of ${receipt.gasLimit}\n`,
  ];
  for (const event of receipt.events) {
    lines.push(`event  ${event.topic} from ${event.source}: ${event.data.toHex() || "(empty)"}\n`);
  }
  if (root !== undefined) lines.push(`root   ${root.toHex()}\n`);
  return lines.join("");
}

/** `piecrust call`. */
export const call: Command = {
  name: "call",
  summary: "call a contract function; prints the result, gas and events",
  help: `Usage: piecrust call DIR CONTRACT FN [ARG] [options]

Calls function FN of contract CONTRACT (its id, 32 bytes of hex) with the
encoded argument ARG (hex; default empty) in a session of the VM directory
DIR, and prints the returned bytes, the gas spent and the events. The
session is dropped unless --commit is given. A failed call (a panic, out of
gas, ...) exits with 1 and says why.

Options:
  --base ROOT   the commit to call on; default: the only commit
  --gas N       the gas limit; default: ${DEFAULT_GAS}
  --commit      commit the session after the call and print the new root
  --trace       also print the call trace (every sub-call with its gas and
                events); for a failed call, on standard error
  --debug       accept contracts that import the debug functions
  --json        print { data, gasSpent, gasLimit, events, root? } (no trace)
  --help        print this help
`,
  options: {
    base: { type: "string" },
    gas: { type: "string" },
    commit: { type: "boolean" },
    debug: { type: "boolean" },
    trace: { type: "boolean" },
  },
  arity: [3, 4],
  run({ positionals: [dir, contractText, fn, argText], values, io }): number {
    const contract = new ContractId(parseHex("CONTRACT", contractText, 32));
    const arg = parseHex("ARG", argText ?? "");
    const gas = values.gas === undefined ? DEFAULT_GAS : parseGas(values.gas as string);
    using vm = openVm(dir);
    const base = sessionBase(vm, values.base as string | undefined);
    using session = vm.session({ base, debug: values.debug === true });
    const trace = values.trace === true;
    let receipt: CallReceipt<Uint8Array>;
    try {
      receipt = session.callRaw(contract, fn, arg, gas);
    } catch (error) {
      if (trace && error instanceof PiecrustError && error.callTree !== undefined) {
        io.err(formatCallTree(error, { color: io.errIsTerminal && !Deno.noColor }));
      }
      throw error;
    }
    const root = values.commit === true ? session.commit() : undefined;
    io.out(values.json === true ? receiptJson(receipt, root) : receiptText(receipt, root));
    if (trace && values.json !== true) {
      io.out("\n" + formatCallTree(receipt, { color: io.outIsTerminal }));
    }
    return 0;
  },
};
