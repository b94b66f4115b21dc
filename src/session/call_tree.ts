/**
 * {@linkcode CallTree}: who called whom in one top-level call, with the gas
 * each call got and spent.
 *
 * @module
 */

import type { PiecrustError } from "../errors.ts";
import type { ContractId } from "./contract_id.ts";
import type { Event } from "./event.ts";

/**
 * One call in a {@linkcode CallTree}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CallTreeElem, contractFunction, i64, unit, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 * const receipt = session.call(counter, contractFunction("read_value", unit, i64), undefined, 1_000_000n);
 * const call: CallTreeElem = receipt.callTree.root!;
 * assert.equal(call.limit, 1_000_000n);
 * assert.equal(call.spent, receipt.gasSpent);
 * ```
 */
export interface CallTreeElem {
  /** The contract called. */
  readonly contractId: ContractId;
  /** The gas limit the call got. */
  readonly limit: bigint;
  /** Gas spent by this call itself, excluding its successful sub-calls. */
  readonly spent: bigint;
  /** The contract's memory length when the call started. */
  readonly memLen: number;
}

/**
 * One call of a top-level call and everything it called, as
 * {@linkcode CallTree.trace} gives it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CallTrace, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 * const receipt = session.callRaw(counter, "increment", new Uint8Array(), 1_000_000n);
 * const trace: CallTrace = receipt.callTree.trace!;
 * assert.equal(trace.fn, "increment");
 * assert.equal(trace.calls.length, 0);
 * assert.equal(trace.exclusive, trace.spent);
 * ```
 */
export interface CallTrace {
  /** The contract called. */
  readonly contractId: ContractId;
  /** The function called. */
  readonly fn: string;
  /** The gas limit the call got. */
  readonly limit: bigint;
  /**
   * Gas the call cost, its sub-calls included. A failed sub-call costs its
   * caller its whole limit (at most what the caller had left).
   */
  readonly spent: bigint;
  /** Gas the call spent itself: {@linkcode spent} minus its sub-calls'. */
  readonly exclusive: bigint;
  /** The contract's memory length when the call started. */
  readonly memLen: number;
  /** The events the call emitted itself (its sub-calls' are theirs), in order. */
  readonly events: readonly Event[];
  /** For each of {@linkcode events}, how many of {@linkcode calls} came before it. */
  readonly eventCalls: readonly number[];
  /** Why the call failed, if it did; it was then undone with all it called. */
  readonly error: PiecrustError | undefined;
  /** Whether the call was undone: it or a call above it failed. */
  readonly reverted: boolean;
  /** Its sub-calls, in call order, the failed ones included. */
  readonly calls: readonly CallTrace[];
}

/**
 * A call while the tree is being built: its `spent` includes its children's
 * until the {@linkcode CallTree} constructor makes it exclusive.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CallNode, CallTree } from "./call_tree.ts";
 * import { ContractId } from "./contract_id.ts";
 *
 * const child: CallNode = {
 *   contractId: new ContractId(new Uint8Array(32).fill(1)),
 *   limit: 400n,
 *   spent: 150n,
 *   memLen: 65536,
 *   children: [],
 * };
 * const root: CallNode = {
 *   contractId: new ContractId(new Uint8Array(32)),
 *   limit: 1_000n,
 *   spent: 500n, // the child's 150 included
 *   memLen: 65536,
 *   children: [child],
 * };
 * assert.equal(new CallTree(root).root!.spent, 350n);
 * ```
 */
export interface CallNode {
  /** The contract called. */
  contractId: ContractId;
  /** The gas limit the call got. */
  limit: bigint;
  /** Gas spent by the call, its sub-calls included. */
  spent: bigint;
  /** The contract's memory length when the call started. */
  memLen: number;
  /** Its sub-calls, in call order; the failed ones have a `failure`. */
  children: CallNode[];
  /** The function called; absent in hand-built trees. */
  fn?: string;
  /** The events the call emitted itself, in order; absent if none. */
  events?: Event[];
  /** For each of `events`, how many sub-calls the call had made before it. */
  eventCalls?: number[];
  /** Why the call failed (it was then undone); absent if it succeeded. */
  failure?: PiecrustError;
  /** `spent` before the constructor made it exclusive. */
  inclusive?: bigint;
}

/**
 * The calls of one top-level call. Failed sub-calls are pruned, as in the
 * reference VM; their gas (their whole limit) stays in the caller's spend.
 * {@linkcode CallTree.trace} has them, with function names and events. Iteration yields the
 * reference VM's order: reverse post-order, the right-most deepest call
 * first and the top-level call last.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractFunction, contractId, i64, VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session({ debug: true }); // callcenter imports hdebug
 * const owner = new Uint8Array(32);
 * const counter = session.deploy(contractBytecode("counter"), owner, 1_000_000n);
 * const center = session.deploy(contractBytecode("callcenter"), owner, 1_000_000n);
 * const queryCounter = contractFunction("query_counter", contractId, i64);
 * const receipt = session.call(center, queryCounter, counter.toBytes(), 1_000_000n);
 * // The callee first, the top-level call last.
 * const calls = [...receipt.callTree].map((call) => call.contractId.toString());
 * assert.deepEqual(calls, [counter.toString(), center.toString()]);
 * assert.ok(receipt.callTree.root!.contractId.equals(center));
 * ```
 */
export class CallTree implements Iterable<CallTreeElem> {
  readonly #root: CallNode | undefined;

  /**
   * Wraps a finished tree. `root.spent` and every node's `spent` must be
   * inclusive of their children; they are made exclusive here.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { type CallNode, CallTree } from "./call_tree.ts";
   * import { ContractId } from "./contract_id.ts";
   *
   * const call = (n: number, spent: bigint, children: CallNode[] = []): CallNode => ({
   *   contractId: new ContractId(new Uint8Array(32).fill(n)),
   *   limit: 1_000n,
   *   spent,
   *   memLen: 65536,
   *   children,
   * });
   * // Contract 1 spent 600 in all, of which its calls to 2 and 3 spent 100 and 200.
   * const tree = new CallTree(call(1, 600n, [call(2, 100n), call(3, 200n)]));
   * assert.deepEqual([...tree].map((elem) => elem.spent), [200n, 100n, 300n]);
   * ```
   */
  constructor(root: CallNode | undefined) {
    this.#root = root;
    if (root !== undefined) makeExclusive(root);
  }

  /**
   * The top-level call, or undefined for an empty tree.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { CallTree } from "./call_tree.ts";
   *
   * assert.equal(new CallTree(undefined).root, undefined);
   * ```
   */
  get root(): CallTreeElem | undefined {
    return this.#root === undefined ? undefined : toElem(this.#root);
  }

  /**
   * The whole call, for tracing and gas reports: every sub-call in call
   * order, the failed ones too (with their error, marked reverted with
   * everything they called), with function names, inclusive and exclusive
   * gas, and each call's own events. Undefined for an empty tree.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractFunction, contractId, i64, VM } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session({ debug: true });
   * const owner = new Uint8Array(32);
   * const counter = session.deploy(contractBytecode("counter"), owner, 1_000_000n);
   * const center = session.deploy(contractBytecode("callcenter"), owner, 1_000_000n);
   * const queryCounter = contractFunction("query_counter", contractId, i64);
   * const receipt = session.call(center, queryCounter, counter.toBytes(), 1_000_000n);
   * const trace = receipt.callTree.trace!;
   * assert.equal(trace.fn, "query_counter");
   * assert.equal(trace.spent, receipt.gasSpent);
   * assert.equal(trace.calls[0].fn, "read_value");
   * assert.equal(trace.exclusive, trace.spent - trace.calls[0].spent);
   * assert.equal(trace.reverted, false);
   * ```
   */
  get trace(): CallTrace | undefined {
    return this.#root === undefined ? undefined : toTrace(this.#root, false);
  }

  /**
   * Calls in reverse post-order: children right to left, each before its parent.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { type CallNode, CallTree } from "./call_tree.ts";
   * import { ContractId } from "./contract_id.ts";
   *
   * const call = (n: number, children: CallNode[] = []): CallNode => ({
   *   contractId: new ContractId(new Uint8Array(32).fill(n)),
   *   limit: 100n,
   *   spent: 0n,
   *   memLen: 0,
   *   children,
   * });
   * // 1 called 2, which called 4, and then 1 called 3.
   * const tree = new CallTree(call(1, [call(2, [call(4)]), call(3)]));
   * assert.deepEqual([...tree].map((elem) => elem.contractId.toBytes()[0]), [3, 4, 2, 1]);
   * assert.deepEqual([...new CallTree(undefined)], []);
   * ```
   */
  *[Symbol.iterator](): Iterator<CallTreeElem> {
    if (this.#root === undefined) return;
    const stack: { node: CallNode; next: number }[] = [{
      node: this.#root,
      next: this.#root.children.length - 1,
    }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.next >= 0) {
        const child = top.node.children[top.next--];
        // Failed sub-calls are not in the reference VM's tree.
        if (child.failure === undefined) {
          stack.push({ node: child, next: child.children.length - 1 });
        }
      } else {
        stack.pop();
        yield toElem(top.node);
      }
    }
  }
}

function toElem(node: CallNode): CallTreeElem {
  return {
    contractId: node.contractId,
    limit: node.limit,
    spent: node.spent,
    memLen: node.memLen,
  };
}

/**
 * Makes every node's `spent` exclusive of its successful sub-calls (a failed
 * one's cost stays with its caller, as in the reference VM), keeping the
 * inclusive figure in `inclusive`. Parents go before their children, whose
 * `spent` is then still inclusive.
 */
function makeExclusive(root: CallNode): void {
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    node.inclusive = node.spent;
    for (const child of node.children) {
      if (child.failure === undefined) node.spent -= child.spent;
      stack.push(child);
    }
  }
}

function toTrace(node: CallNode, reverted: boolean): CallTrace {
  const failed = reverted || node.failure !== undefined;
  const calls = node.children.map((child) => toTrace(child, failed));
  const inclusive = node.inclusive ?? node.spent;
  return {
    contractId: node.contractId,
    fn: node.fn ?? "",
    limit: node.limit,
    spent: inclusive,
    exclusive: calls.reduce((rest, call) => rest - call.spent, inclusive),
    memLen: node.memLen,
    events: node.events ?? [],
    eventCalls: node.eventCalls ?? [],
    error: node.failure,
    reverted: failed,
    calls,
  };
}
