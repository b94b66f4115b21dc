/**
 * {@linkcode formatCallTree}: a top-level call as an indented trace, for
 * people reading test output.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import type { CallReceipt } from "./call_receipt.ts";
import { type CallTrace, CallTree } from "./call_tree.ts";
import type { ContractId } from "./contract_id.ts";
import type { Event } from "./event.ts";

/**
 * Names for contracts in traces and gas reports, by id: a `Map` keyed by
 * `ContractId` or its hex, or an object keyed by the hex.
 */
export type ContractLabels =
  | ReadonlyMap<ContractId | string, string>
  | Readonly<Record<string, string>>;

/** Options of {@linkcode formatCallTree}. */
export interface FormatCallTreeOptions {
  /** Names to show instead of contract ids. Default: ids, shortened to 8 hex digits. */
  readonly labels?: ContractLabels;
  /**
   * Whether to color the output with ANSI escapes. Default: when standard
   * output is a terminal and `NO_COLOR` is not set.
   */
  readonly color?: boolean;
}

/** What {@linkcode formatCallTree} renders: a receipt, a failed call's error, or a tree. */
export type TraceSource = CallReceipt<unknown> | PiecrustError | CallTree;

/** Event payloads longer than this are cut in traces. */
const EVENT_BYTES_SHOWN = 32;

const ANSI = {
  bold: "\x1b[1m",
  dim: "\x1b[2m",
  red: "\x1b[31m",
  yellow: "\x1b[33m",
  cyan: "\x1b[36m",
  reset: "\x1b[0m",
};

type Paint = (style: keyof typeof ANSI, text: string) => string;

/**
 * The tree of `source`: a receipt's, the one a failed top-level call's
 * error carries, or the tree itself; undefined if there is none (an error
 * from before any contract ran).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { treeOf } from "./format_call_tree.ts";
 *
 * assert.equal(treeOf(new PiecrustError("SessionError", "no call")), undefined);
 * ```
 */
export function treeOf(source: TraceSource): CallTree | undefined {
  if (source instanceof CallTree) return source;
  if (source instanceof PiecrustError) return source.callTree;
  if (typeof source === "object" && source !== null && source.callTree instanceof CallTree) {
    return source.callTree;
  }
  throw new TypeError("source must be a CallReceipt, a PiecrustError or a CallTree");
}

/**
 * `labels` as a map from contract id (lowercase hex) to name, checked: a
 * `TypeError` for anything but a `Map` or a plain object of strings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContractId } from "./contract_id.ts";
 * import { labelMap } from "./format_call_tree.ts";
 *
 * const id = ContractId.fromHex("ab".repeat(32));
 * assert.equal(labelMap(new Map([[id, "token"]])).get("ab".repeat(32)), "token");
 * assert.equal(labelMap({ ["ab".repeat(32)]: "token" }).get("ab".repeat(32)), "token");
 * assert.equal(labelMap(undefined).size, 0);
 * assert.throws(() => labelMap(null as never), TypeError);
 * ```
 */
export function labelMap(labels: ContractLabels | undefined): ReadonlyMap<string, string> {
  if (labels === undefined) return new Map();
  let entries: [unknown, unknown][];
  if (labels instanceof Map) entries = [...labels];
  else if (typeof labels === "object" && labels !== null) entries = Object.entries(labels);
  else {throw new TypeError(
      `labels must be a Map or an object, got ${labels === null ? "null" : typeof labels}`,
    );}
  const map = new Map<string, string>();
  for (const [key, name] of entries) {
    if (typeof name !== "string") {
      throw new TypeError(`the label of ${String(key)} must be a string, got ${typeof name}`);
    }
    map.set(String(key), name);
  }
  return map;
}

/**
 * The label of `contract`: its name in `labels` (see {@linkcode labelMap}),
 * else its id's first 8 hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContractId } from "./contract_id.ts";
 * import { labelOf } from "./format_call_tree.ts";
 *
 * const id = ContractId.fromHex("ab".repeat(32));
 * assert.equal(labelOf(id, new Map()), "abababab…");
 * assert.equal(labelOf(id, new Map([["ab".repeat(32), "token"]])), "token");
 * ```
 */
export function labelOf(contract: ContractId, labels: ReadonlyMap<string, string>): string {
  const hex = contract.toString();
  return labels.get(hex) ?? `${hex.slice(0, 8)}…`;
}

/**
 * Renders a top-level call as an indented trace: one line per call with
 * its contract (label or shortened id) and function, the gas it cost in
 * all and itself, and its limit; its events, and its sub-calls below it in
 * the order they happened. A failed call is marked `✗` with its error
 * (for a panic, the contract's message); the calls it made are undone with
 * it and marked `reverted`.
 *
 * @param source A receipt, the `PiecrustError` of a failed call (which
 *   carries its calls in `callTree`), or a `CallTree`.
 * @param options Labels and color.
 * @returns The trace, one line per call and event, each ending in a newline;
 *   a line saying so if no contract ran.
 * @throws {TypeError} For a `source` of another type, or labels that are
 *   not a `Map` or an object of strings.
 *
 * @example A successful inter-contract call
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractFunction, contractId, formatCallTree, i64, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session({ debug: true });
 * const owner = new Uint8Array(32);
 * const counter = session.deploy(contractBytecode("counter"), owner, 1_000_000n);
 * const center = session.deploy(contractBytecode("callcenter"), owner, 1_000_000n);
 * const queryCounter = contractFunction("query_counter", contractId, i64);
 * const receipt = session.call(center, queryCounter, counter.toBytes(), 1_000_000n);
 * const trace = formatCallTree(receipt, {
 *   labels: new Map([[counter, "counter"], [center, "callcenter"]]),
 *   color: false,
 * });
 * const [top, sub] = trace.split("\n");
 * assert.match(top, /^callcenter\.query_counter  \d+ gas, \d+ itself, limit 1000000$/);
 * assert.match(sub, /^└─ counter\.read_value  \d+ gas, limit \d+$/);
 * ```
 *
 * @example A failed call, from its error
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatCallTree, PiecrustError, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 * try {
 *   session.callRaw(counter, "increment", new Uint8Array(), 1n);
 *   assert.fail("out of gas expected");
 * } catch (error) {
 *   assert.ok(error instanceof PiecrustError);
 *   const trace = formatCallTree(error, { color: false });
 *   assert.match(trace, /^✗ [0-9a-f]{8}…\.increment  1 gas, limit 1  OutOfGas: out of gas\n$/);
 * }
 * ```
 */
export function formatCallTree(source: TraceSource, options: FormatCallTreeOptions = {}): string {
  const trace = treeOf(source)?.trace;
  if (trace === undefined) return "(no contract call)\n";
  const color = options.color ?? (Deno.stdout.isTerminal() && !Deno.noColor);
  const paint: Paint = color
    ? (style, text) => `${ANSI[style]}${text}${ANSI.reset}`
    : (_, text) => text;
  const lines: string[] = [];
  render(trace, "", "", labelMap(options.labels), paint, lines);
  return lines.join("");
}

function render(
  call: CallTrace,
  lead: string,
  indent: string,
  labels: ReadonlyMap<string, string>,
  paint: Paint,
  lines: string[],
): void {
  const name = `${labelOf(call.contractId, labels)}.${call.fn}`;
  const gas = call.calls.length > 0
    ? `${call.spent} gas, ${call.exclusive} itself, limit ${call.limit}`
    : `${call.spent} gas, limit ${call.limit}`;
  let status = "";
  if (call.error !== undefined) {
    status = "  " + paint("red", `${call.error.kind}: ${call.error.message}`);
  } else if (call.reverted) status = "  " + paint("red", "reverted");
  const mark = call.error !== undefined ? paint("red", "✗ ") : "";
  lines.push(
    `${paint("dim", lead)}${mark}${paint("bold", name)}  ${paint("yellow", gas)}${status}\n`,
  );
  // Events and calls in the order they happened.
  const items: ({ event: Event } | { call: CallTrace })[] = [];
  let next = 0;
  call.calls.forEach((sub, i) => {
    while (next < call.events.length && call.eventCalls[next] <= i) {
      items.push({ event: call.events[next++] });
    }
    items.push({ call: sub });
  });
  while (next < call.events.length) items.push({ event: call.events[next++] });
  items.forEach((item, i) => {
    const last = i === items.length - 1;
    const branch = `${indent}${last ? "└─ " : "├─ "}`;
    const below = `${indent}${last ? "   " : "│  "}`;
    if ("call" in item) {
      render(item.call, branch, below, labels, paint, lines);
    } else {
      lines.push(
        `${paint("dim", branch)}${paint("cyan", `event ${JSON.stringify(item.event.topic)}`)} ${
          eventData(item.event)
        }\n`,
      );
    }
  });
}

function eventData(event: Event): string {
  const { data } = event;
  let text = data.toHex();
  if (data.length === 0) text = "(no data)";
  else if (data.length > EVENT_BYTES_SHOWN) {
    text = `${data.subarray(0, EVENT_BYTES_SHOWN).toHex()}… (${data.length} bytes)`;
  }
  return event.reverted ? `${text} (reverted)` : text;
}
