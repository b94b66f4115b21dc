/**
 * `piecrust call DIR CONTRACT FN [ARG]`: one contract call, committed on request.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import type { CallReceipt } from "../session/call_receipt.ts";
import { formatCallTree } from "../session/format_call_tree.ts";
import { ContractId } from "../session/contract_id.ts";
import { DataDriver } from "../session/data_driver.ts";
import type { Event } from "../session/event.ts";
import { type Command, DEFAULT_GAS, parseGas, parseHex, UsageError } from "./command.ts";
import { openVm } from "./open_vm.ts";
import { sessionBase } from "./session_base.ts";

/** How a call's bytes are shown: as hex, or decoded to JSON by a data driver. */
interface Decoder {
  /** The result of the function called. */
  output(bytes: Uint8Array): unknown;
  /** An event's payload (hex where the driver does not know the topic). */
  event(event: Event): unknown;
  /** A decoded value in the text output. */
  show(value: unknown): string;
}

const HEX: Decoder = {
  output: (bytes) => bytes.toHex(),
  event: (event) => event.data.toHex(),
  show: (value) => (value as string) || "(empty)",
};

function driverDecoder(driver: DataDriver, fn: string): Decoder {
  return {
    output: (bytes) => driver.decodeOutput(fn, bytes),
    event: (event) => {
      try {
        return driver.decodeEvent(event.topic, event.data);
      } catch {
        return event.data.toHex();
      }
    },
    show: (value) => JSON.stringify(value),
  };
}

function receiptJson(
  receipt: CallReceipt<Uint8Array>,
  decoder: Decoder,
  root: Uint8Array | undefined,
): string {
  return JSON.stringify({
    data: decoder.output(receipt.data),
    gasSpent: String(receipt.gasSpent),
    gasLimit: String(receipt.gasLimit),
    events: receipt.events.map((event) => ({
      source: event.source.toString(),
      topic: event.topic,
      data: decoder.event(event),
    })),
    ...(root === undefined ? {} : { root: root.toHex() }),
  }) + "\n";
}

function receiptText(
  receipt: CallReceipt<Uint8Array>,
  decoder: Decoder,
  root: Uint8Array | undefined,
): string {
  const lines = [
    `data   ${decoder.show(decoder.output(receipt.data))}\n`,
    `gas    ${receipt.gasSpent} of ${receipt.gasLimit}\n`,
  ];
  for (const event of receipt.events) {
    lines.push(
      `event  ${event.topic} from ${event.source}: ${decoder.show(decoder.event(event))}\n`,
    );
  }
  if (root !== undefined) lines.push(`root   ${root.toHex()}\n`);
  return lines.join("");
}

function loadDriver(path: string): DataDriver {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`--driver ${path} does not exist`);
    }
    throw error;
  }
  return DataDriver.load(bytes);
}

/** `piecrust call`. */
export const call: Command = {
  name: "call",
  summary: "call a contract function; prints the result, gas and events",
  help: `Usage: piecrust call DIR CONTRACT FN [ARG] [options]

Calls function FN of contract CONTRACT (its id, 32 bytes of hex) with the
encoded argument ARG (hex; default empty) in a session of the VM directory
DIR, and prints the returned bytes, the gas spent and the events. With
--driver, ARG is JSON (default null), encoded by the contract's data
driver, which also decodes the result and the events (an event it does not
know stays hex). The session is
dropped unless --commit is given. A failed call (a panic, out of gas, ...)
exits with 1 and says why.

Options:
  --base ROOT   the commit to call on; default: the only commit
  --gas N       the gas limit; default: ${DEFAULT_GAS}
  --commit      commit the session after the call and print the new root
  --trace       also print the call trace (every sub-call with its gas and
                events); for a failed call, on standard error
  --driver WASM the contract's data driver: ARG and the results in JSON
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
    driver: { type: "string" },
  },
  arity: [3, 4],
  run({ positionals: [dir, contractText, fn, argText], values, io }): number {
    const contract = new ContractId(parseHex("CONTRACT", contractText, 32));
    using driver = values.driver === undefined ? undefined : loadDriver(values.driver as string);
    const arg = driver === undefined
      ? parseHex("ARG", argText ?? "")
      : encodeJson(driver, fn, argText);
    const decoder = driver === undefined ? HEX : driverDecoder(driver, fn);
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
    io.out(
      values.json === true
        ? receiptJson(receipt, decoder, root)
        : receiptText(receipt, decoder, root),
    );
    if (trace && values.json !== true) {
      io.out("\n" + formatCallTree(receipt, { color: io.outIsTerminal }));
    }
    return 0;
  },
};

/** ARG (JSON text, default `null`) encoded for `fn` by `driver`; bad JSON is a usage error. */
function encodeJson(driver: DataDriver, fn: string, text: string | undefined): Uint8Array {
  let value: unknown = null;
  if (text !== undefined) {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`with --driver, ARG must be JSON: ${(error as Error).message}`);
    }
  }
  return driver.encodeInput(fn, value);
}
