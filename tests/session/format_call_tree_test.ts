/** Tests of src/session/format_call_tree.ts, gas_report.ts and CallTree.trace. */

import assert from "node:assert/strict";
import {
  ContractId,
  contractId,
  formatCallTree,
  GasReport,
  PiecrustError,
  string,
  tuple,
  u8,
  vec,
  VM,
} from "../../mod.ts";
import { encode } from "../../src/codec/mod.ts";
import { type CallNode, CallTree } from "../../src/session/call_tree.ts";
import { contractBytecode } from "../../src/testing/mod.ts";

const GAS = 1_000_000n;
const OWNER = new Uint8Array(32);
const delegateArgs = tuple(contractId, string, vec(u8));

const id = (n: number) => new ContractId(new Uint8Array(32).fill(n));
const node = (
  n: number,
  fn: string,
  spent: bigint,
  children: CallNode[] = [],
  extra: Partial<CallNode> = {},
): CallNode => ({
  contractId: id(n),
  fn,
  limit: 1000n,
  spent,
  memLen: 65536,
  children,
  ...extra,
});
const ESC = "\x1b";

/** `text` without its ANSI color escapes. */
function stripAnsi(text: string): string {
  return text.split(ESC).map((part, i) => (i === 0 ? part : part.replace(/^\[\d+m/, ""))).join("");
}

const LABELS = new Map([[id(1), "top"], [id(2), "mid"], [id(3), "leaf"]]);

Deno.test("formatCallTree draws sub-calls, gas and a failed call's undone sub-calls", () => {
  // top (900) called mid, which called leaf (100) and then failed, charging top 500; then leaf again.
  const failed = node(2, "mid_fn", 500n, [node(3, "leaf_fn", 100n)], {
    failure: new PiecrustError("Panic", "boom"),
  });
  const tree = new CallTree(node(1, "top_fn", 900n, [failed, node(3, "leaf_fn", 50n)]));
  assert.equal(
    formatCallTree(tree, { labels: LABELS, color: false }),
    [
      "top.top_fn  900 gas, 350 itself, limit 1000",
      "├─ ✗ mid.mid_fn  500 gas, 400 itself, limit 1000  Panic: boom",
      "│  └─ leaf.leaf_fn  100 gas, limit 1000  reverted",
      "└─ leaf.leaf_fn  50 gas, limit 1000",
      "",
    ].join("\n"),
  );
  // The reference's tree has no failed sub-call; the failed call's charge stays with its caller.
  assert.deepEqual([...tree].map((call) => [call.contractId.toBytes()[0], call.spent]), [[3, 50n], [
    1,
    850n,
  ]]);
});

Deno.test("formatCallTree colors on request and shows shortened ids without labels", () => {
  const tree = new CallTree(node(1, "f", 5n));
  const plain = formatCallTree(tree, { color: false });
  assert.equal(plain, `${"01".repeat(4)}….f  5 gas, limit 1000\n`);
  const colored = formatCallTree(tree, { color: true });
  assert.ok(colored.includes(`${ESC}[1m0101`));
  assert.equal(stripAnsi(colored), plain);
  assert.equal(formatCallTree(new CallTree(undefined), { color: false }), "(no contract call)\n");
  assert.equal(
    formatCallTree(new PiecrustError("SessionError", "x"), { color: false }),
    "(no contract call)\n",
  );
  assert.throws(() => formatCallTree({} as unknown as CallTree), TypeError);
  assert.throws(
    () => formatCallTree(tree, { labels: null as never }),
    /labels must be a Map or an object, got null/,
  );
  assert.throws(
    () => formatCallTree(tree, { labels: { x: 7 } as never }),
    /the label of x must be a string/,
  );
  assert.throws(
    () => new GasReport({ labels: "counter" as never }),
    /labels must be a Map or an object, got string/,
  );
});

Deno.test("formatCallTree shows events where they happened, and a failed sub-call of a real contract", () => {
  using vm = VM.ephemeral();
  using session = vm.session({ debug: true });
  const center = session.deploy(contractBytecode("callcenter"), OWNER, GAS);
  const arg = encode(delegateArgs, [center.toBytes(), "panik", new Uint8Array()]);
  const receipt = session.callRaw(center, "delegate_query_with_event", arg, GAS);
  const lines = formatCallTree(receipt, { labels: { [center.toString()]: "center" }, color: false })
    .split("\n");
  assert.match(
    lines[0],
    /^center\.delegate_query_with_event {2}\d+ gas, \d+ itself, limit 1000000$/,
  );
  assert.equal(lines[1], `├─ event "callcenter-before" ${center}`);
  assert.match(lines[2], /^├─ ✗ center\.panik {2}\d+ gas, limit \d+ {2}Panic: panik$/);
  assert.equal(lines[3], `└─ event "callcenter-after" ${center}`);
  const trace = receipt.callTree.trace!;
  assert.equal(trace.calls[0].error?.kind, "Panic");
  assert.equal(
    trace.calls[0].spent,
    trace.calls[0].limit,
    "a failed call costs its caller its limit",
  );
  assert.equal(trace.spent, receipt.gasSpent);
});

Deno.test("a failed top-level call's error carries its calls up to the failure", () => {
  using vm = VM.ephemeral();
  using session = vm.session({ debug: true });
  const counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
  const center = session.deploy(contractBytecode("callcenter"), OWNER, GAS);
  const arg = encode(delegateArgs, [center.toBytes(), "panik", new Uint8Array()]);
  let error: unknown;
  try {
    session.callRaw(center, "delegate_transaction", arg, GAS);
  } catch (thrown) {
    error = thrown;
  }
  assert.ok(error instanceof PiecrustError && error.kind === "Panic");
  const trace = error.callTree!.trace!;
  assert.equal(trace.fn, "delegate_transaction");
  assert.equal(trace.error, error);
  assert.equal(trace.calls[0].fn, "panik");
  assert.equal(trace.calls[0].reverted, true);
  const text = formatCallTree(error, {
    labels: new Map([[center, "center"], [counter, "counter"]]),
    color: false,
  });
  assert.match(
    text,
    /^✗ center\.delegate_transaction {2}\d+ gas, \d+ itself, limit 1000000 {2}Panic: /,
  );
  assert.match(text, /\n└─ ✗ center\.panik {2}\d+ gas, limit \d+ {2}Panic: panik\n$/);
  // A call refused before any contract ran carries nothing.
  let early: unknown;
  try {
    session.callRaw(counter, "init", new Uint8Array(), GAS);
  } catch (thrown) {
    early = thrown;
  }
  assert.ok(early instanceof PiecrustError && early.kind === "InitializationError");
  assert.equal(early.callTree, undefined);
});

Deno.test("GasReport tallies calls at every depth, separately from undone ones", () => {
  using vm = VM.ephemeral();
  using session = vm.session({ debug: true });
  const center = session.deploy(contractBytecode("callcenter"), OWNER, GAS);
  const report = new GasReport({ labels: { [center.toString()]: "center" } });
  const arg = encode(delegateArgs, [center.toBytes(), "panik", new Uint8Array()]);
  const spent: bigint[] = [];
  for (const limit of [GAS, 2n * GAS]) {
    const receipt = session.callRaw(center, "delegate_query_with_event", arg, limit);
    spent.push(receipt.gasSpent);
    report.record(receipt);
  }
  try {
    session.callRaw(center, "panik", new Uint8Array(), GAS);
  } catch (error) {
    report.record(error as PiecrustError);
  }
  report.record(new PiecrustError("SessionError", "before any contract"));
  const rows = report.rows();
  assert.deepEqual(rows.map((row) => [row.label, row.fn, row.calls, row.reverted]), [
    ["center", "delegate_query_with_event", 2, 0],
    ["center", "panik", 0, 3],
  ]);
  const [delegate] = rows;
  const [low, high] = spent[0] < spent[1] ? spent : [spent[1], spent[0]];
  assert.equal(delegate.min, low);
  assert.equal(delegate.max, high);
  assert.equal(delegate.total, low + high);
  assert.equal(delegate.mean, (low + high) / 2n);
  const table = report.format({ color: false }).split("\n");
  assert.match(table[0], /^contract +function +calls +reverted +min +mean +max +total$/);
  assert.match(
    table[1],
    new RegExp(
      `^center +delegate_query_with_event +2 +0 +${low} +${(low + high) / 2n} +${high} +${
        low + high
      }$`,
    ),
  );
  assert.ok(report.format({ color: true }).startsWith(`${ESC}[1mcontract`));
  assert.throws(() => report.record("receipt" as unknown as PiecrustError), TypeError);
});
