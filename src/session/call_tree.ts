/**
 * {@linkcode CallTree}: who called whom in one top-level call, with the gas
 * each call got and spent.
 *
 * @module
 */

import type { ContractId } from "./contract_id.ts";

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
  /** Its successful sub-calls, in call order. */
  children: CallNode[];
}

/**
 * The calls of one top-level call. Failed sub-calls are pruned; their gas
 * (their whole limit) stays in the caller's spend. Iteration yields the
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
        stack.push({ node: child, next: child.children.length - 1 });
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

function makeExclusive(root: CallNode): void {
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    for (const child of node.children) {
      node.spent -= child.spent;
      stack.push(child);
    }
  }
}
