/**
 * {@linkcode GasReport}: gas per contract and function over many calls, as
 * a table.
 *
 * @module
 */

import type { PiecrustError } from "../errors.ts";
import type { CallReceipt } from "./call_receipt.ts";
import type { CallTrace } from "./call_tree.ts";
import type { ContractId } from "./contract_id.ts";
import { type ContractLabels, labelMap, labelOf, treeOf } from "./format_call_tree.ts";

/** One contract function in a {@linkcode GasReport}. */
export interface GasReportRow {
  /** The contract. */
  readonly contractId: ContractId;
  /** Its label: a name from the report's labels, or the shortened id. */
  readonly label: string;
  /** The function. */
  readonly fn: string;
  /** Calls that succeeded, at any depth; their gas makes the figures below. */
  readonly calls: number;
  /** Calls that failed or were undone with a failed caller. */
  readonly reverted: number;
  /** The least gas one call cost, its sub-calls included. */
  readonly min: bigint;
  /** The mean, rounded down. */
  readonly mean: bigint;
  /** The most gas one call cost. */
  readonly max: bigint;
  /** All calls' gas together. */
  readonly total: bigint;
}

interface Tally {
  contractId: ContractId;
  fn: string;
  calls: number;
  reverted: number;
  min: bigint;
  max: bigint;
  total: bigint;
}

/**
 * Gas per contract and function, over the calls of every receipt (or failed
 * call's error) given to {@linkcode GasReport.record}, sub-calls at any
 * depth included: for a session, a test file, a whole run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GasReport, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 * const report = new GasReport({ labels: new Map([[counter, "counter"]]) });
 * for (let i = 0; i < 3; i++) {
 *   report.record(session.callRaw(counter, "increment", new Uint8Array(), 1_000_000n));
 * }
 * report.record(session.callRaw(counter, "read_value", new Uint8Array(), 1_000_000n));
 * const [increment] = report.rows().filter((row) => row.fn === "increment");
 * assert.equal(increment.calls, 3);
 * assert.equal(increment.label, "counter");
 * assert.ok(increment.min <= increment.mean && increment.mean <= increment.max);
 * assert.match(report.format({ color: false }), /^counter +increment +3 +0 +\d+/m);
 * ```
 */
export class GasReport {
  readonly #labels: ReadonlyMap<string, string>;
  readonly #tallies = new Map<string, Tally>();

  /**
   * An empty report.
   *
   * @param options `labels`: names to show instead of contract ids.
   * @throws {TypeError} For labels that are not a `Map` or an object of strings.
   */
  constructor(options: { labels?: ContractLabels } = {}) {
    this.#labels = labelMap(options.labels);
  }

  /**
   * Adds the calls of a receipt, or of a failed top-level call (its
   * `PiecrustError`, which carries them); an error from before any contract
   * ran adds nothing.
   */
  record(source: CallReceipt<unknown> | PiecrustError): void {
    const trace = treeOf(source)?.trace;
    if (trace !== undefined) this.#add(trace);
  }

  /**
   * The rows, ordered by contract label, then function.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { GasReport } from "../../mod.ts";
   *
   * assert.deepEqual(new GasReport().rows(), []);
   * ```
   */
  rows(): GasReportRow[] {
    const rows = [...this.#tallies.values()].map((tally): GasReportRow => ({
      contractId: tally.contractId,
      label: labelOf(tally.contractId, this.#labels),
      fn: tally.fn,
      calls: tally.calls,
      reverted: tally.reverted,
      min: tally.calls === 0 ? 0n : tally.min,
      mean: tally.calls === 0 ? 0n : tally.total / BigInt(tally.calls),
      max: tally.max,
      total: tally.total,
    }));
    return rows.sort((a, b) =>
      a.label < b.label ? -1 : a.label > b.label ? 1 : a.fn < b.fn ? -1 : a.fn > b.fn ? 1 : 0
    );
  }

  /**
   * The rows as a table with a header: contract, function, calls,
   * reverted, min, mean, max, total.
   *
   * @param options `color`: bold header with ANSI escapes. Default: when
   *   standard output is a terminal and `NO_COLOR` is not set.
   * @returns The table, each line ending in a newline; a line saying so
   *   when nothing was recorded.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { GasReport } from "../../mod.ts";
   *
   * assert.equal(new GasReport().format({ color: false }), "(no calls recorded)\n");
   * ```
   */
  format(options: { color?: boolean } = {}): string {
    const rows = this.rows();
    if (rows.length === 0) return "(no calls recorded)\n";
    const color = options.color ?? (Deno.stdout.isTerminal() && !Deno.noColor);
    const table = [["contract", "function", "calls", "reverted", "min", "mean", "max", "total"]];
    for (const row of rows) {
      table.push([
        row.label,
        row.fn,
        ...[row.calls, row.reverted, row.min, row.mean, row.max, row.total].map(String),
      ]);
    }
    const widths = table[0].map((_, i) => Math.max(...table.map((cells) => cells[i].length)));
    const lines = table.map((cells) =>
      cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ")
        .trimEnd()
    );
    if (color) lines[0] = `\x1b[1m${lines[0]}\x1b[0m`;
    return lines.join("\n") + "\n";
  }

  #add(call: CallTrace): void {
    const key = `${call.contractId}:${call.fn}`;
    let tally = this.#tallies.get(key);
    if (tally === undefined) {
      tally = {
        contractId: call.contractId,
        fn: call.fn,
        calls: 0,
        reverted: 0,
        min: 0n,
        max: 0n,
        total: 0n,
      };
      this.#tallies.set(key, tally);
    }
    if (call.reverted) {
      tally.reverted++;
    } else {
      tally.min = tally.calls === 0 || call.spent < tally.min ? call.spent : tally.min;
      tally.max = call.spent > tally.max ? call.spent : tally.max;
      tally.total += call.spent;
      tally.calls++;
    }
    for (const sub of call.calls) this.#add(sub);
  }
}
