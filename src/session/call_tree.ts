/**
 * {@linkcode CallTree}: who called whom in one top-level call, with the gas
 * each call got and spent.
 *
 * @module
 */

import type { ContractId } from "./contract_id.ts";

/** One call in a {@linkcode CallTree}. */
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

/** A node while the tree is being built; `spent` is inclusive until {@linkcode CallTree.finish}. */
export interface CallNode {
  contractId: ContractId;
  limit: bigint;
  spent: bigint;
  memLen: number;
  children: CallNode[];
}

/**
 * The calls of one top-level call. Failed sub-calls are pruned; their gas
 * (their whole limit) stays in the caller's spend. Iteration yields the
 * reference VM's order: reverse post-order, the right-most deepest call
 * first and the top-level call last.
 *
 * @example
 * ```ts ignore
 * const receipt = session.call(center, "query_counter", counterId, 1_000_000n);
 * for (const call of receipt.callTree) console.log(call.contractId.toString(), call.spent);
 * ```
 */
export class CallTree implements Iterable<CallTreeElem> {
  readonly #root: CallNode | undefined;

  /**
   * Wraps a finished tree. `root.spent` and every node's `spent` must be
   * inclusive of their children; they are made exclusive here.
   */
  constructor(root: CallNode | undefined) {
    this.#root = root;
    if (root !== undefined) makeExclusive(root);
  }

  /** The top-level call, or undefined for an empty tree. */
  get root(): CallTreeElem | undefined {
    return this.#root === undefined ? undefined : toElem(this.#root);
  }

  /** Calls in reverse post-order: children right to left, each before its parent. */
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
