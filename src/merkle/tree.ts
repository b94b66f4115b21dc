/**
 * A persistent sparse Merkle tree with the semantics of `dusk-merkle` 0.5,
 * which piecrust uses for page trees and the contracts tree.
 *
 * Every update returns a new tree that shares all untouched nodes with the old
 * one (path copying), so forking a tree is free and an update costs
 * O(height × arity) whatever the number of leaves. Node hashes are computed on
 * the first {@linkcode MerkleTree.root} or {@linkcode MerkleTree.opening} and
 * memoized in the node: after many inserts, each changed node is hashed once,
 * and nodes shared with an already hashed tree are not hashed again.
 *
 * @module
 */

import { blake3Concat, HASH_LENGTH } from "./blake3.ts";
import { isHash } from "./_bytes.ts";
import type { Opening } from "./opening.ts";

/** The hash of an absent child, at every level. */
const EMPTY_SUBTREE = new Uint8Array(HASH_LENGTH);

/** The most children a node may have: the aggregate of its children fits one hasher call. */
const MAX_ARITY = 65536 / HASH_LENGTH;

/** What trees of one arity and height share. */
class Shape {
  readonly capacity: number;
  /** `spans[d]`: the positions under one child of a node at depth `d`. */
  readonly spans: readonly number[];
  /** Scratch list of child hashes for {@linkcode nodeHash}. */
  readonly parts: Uint8Array[];

  constructor(readonly arity: number, readonly height: number) {
    this.capacity = arity ** height;
    this.spans = Array.from({ length: height }, (_, depth) => arity ** (height - depth - 1));
    this.parts = new Array<Uint8Array>(arity).fill(EMPTY_SUBTREE);
  }
}

const shapes = new Map<string, Shape>();

/**
 * A node. A leaf has no children and its hash is the leaf value; an inner
 * node's hash is computed on demand. Nodes are never changed after creation,
 * apart from filling in that hash.
 */
class Node {
  constructor(
    readonly children: readonly (Node | undefined)[],
    /** Leaves in this subtree. */
    readonly size: number,
    public hash: Uint8Array | undefined,
  ) {}
}

const NO_CHILDREN: readonly (Node | undefined)[] = [];

function nodeHash(shape: Shape, node: Node): Uint8Array {
  if (node.hash !== undefined) return node.hash;
  // Children first: hashing a child reuses the shared scratch list, so it must
  // not happen while the list is being filled for this node.
  for (const child of node.children) {
    if (child !== undefined) nodeHash(shape, child);
  }
  const parts = shape.parts;
  for (let i = 0; i < shape.arity; i++) {
    const child = node.children[i];
    parts[i] = child === undefined ? EMPTY_SUBTREE : nodeHash(shape, child);
  }
  node.hash = blake3Concat(parts);
  return node.hash;
}

function inserted(
  shape: Shape,
  node: Node | undefined,
  depth: number,
  position: number,
  leaf: Uint8Array,
): Node {
  if (depth === shape.height) return new Node(NO_CHILDREN, 1, leaf);
  const span = shape.spans[depth];
  const index = Math.floor(position / span);
  const children = node === undefined
    ? new Array<Node | undefined>(shape.arity).fill(undefined)
    : node.children.slice();
  const child = children[index];
  const updated = inserted(shape, child, depth + 1, position - index * span, leaf);
  children[index] = updated;
  const size = (node?.size ?? 0) - (child?.size ?? 0) + updated.size;
  return new Node(children, size, undefined);
}

/** `node` without the leaf at `position`, which must be present. */
function removed(shape: Shape, node: Node, depth: number, position: number): Node | undefined {
  if (node.size === 1) return undefined;
  const span = shape.spans[depth];
  const index = Math.floor(position / span);
  const children = node.children.slice();
  children[index] = removed(shape, children[index]!, depth + 1, position - index * span);
  return new Node(children, node.size - 1, undefined);
}

function* leavesOf(
  node: Node,
  depth: number,
  first: number,
  shape: Shape,
): Generator<[number, Uint8Array]> {
  if (depth === shape.height) {
    yield [first, node.hash!.slice()];
    return;
  }
  const span = shape.spans[depth];
  for (let i = 0; i < shape.arity; i++) {
    const child = node.children[i];
    if (child !== undefined) yield* leavesOf(child, depth + 1, first + i * span, shape);
  }
}

/**
 * An immutable sparse Merkle tree of `arity` children per node and `height`
 * levels, holding up to `arity ** height` leaves of 32-byte hashes.
 *
 * - Position `p` follows the base-`arity` digits of `p`, most significant
 *   first, from the root down.
 * - A node's hash is BLAKE3 of its children's hashes concatenated in order,
 *   an absent child counting as 32 zero bytes; an empty tree's root is 32
 *   zero bytes.
 * - A present leaf counts even if its hash is all zeros.
 *
 * Hashes passed in are copied and hashes returned are copies, so no caller
 * can change a tree.
 *
 * @example A page tree with two pages, and a fork
 * ```ts
 * import assert from "node:assert/strict";
 * import { blake3 } from "./blake3.ts";
 * import { MerkleTree } from "./tree.ts";
 *
 * const base = MerkleTree.empty(4, 8)
 *   .insert(0, blake3(new Uint8Array(65536)))
 *   .insert(5, blake3(new Uint8Array(65536).fill(1)));
 * const fork = base.insert(7, blake3(new Uint8Array(65536).fill(2)));
 * assert.equal(base.size, 2);
 * assert.equal(fork.size, 3);
 * assert.equal(base.root().length, 32);
 * ```
 */
export class MerkleTree {
  readonly #shape: Shape;
  readonly #root: Node | undefined;

  private constructor(shape: Shape, root: Node | undefined) {
    this.#shape = shape;
    this.#root = root;
  }

  /**
   * Returns the empty tree of the given shape.
   *
   * @param arity Children per node, 1 to 2048.
   * @param height Levels below the root, at least 1; `arity ** height` must
   *   not exceed 2^53.
   * @throws {RangeError} If the shape is out of range.
   *
   * @example The contracts tree's shape
   * ```ts
   * import assert from "node:assert/strict";
   * import { MerkleTree } from "./tree.ts";
   *
   * const tree = MerkleTree.empty(2, 32);
   * assert.equal(tree.capacity, 4294967296);
   * ```
   */
  static empty(arity: number, height: number): MerkleTree {
    if (!Number.isInteger(arity) || arity < 1 || arity > MAX_ARITY) {
      throw new RangeError(`arity must be an integer from 1 to ${MAX_ARITY}, got ${arity}`);
    }
    if (!Number.isInteger(height) || height < 1 || arity ** height > 2 ** 53) {
      throw new RangeError(
        `height must be an integer from 1 with arity ** height <= 2^53, got arity ${arity} and height ${height}`,
      );
    }
    const key = `${arity}/${height}`;
    let shape = shapes.get(key);
    if (shape === undefined) {
      shape = new Shape(arity, height);
      shapes.set(key, shape);
    }
    return new MerkleTree(shape, undefined);
  }

  /**
   * Children per node.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MerkleTree } from "./tree.ts";
   *
   * assert.equal(MerkleTree.empty(4, 8).arity, 4);
   * ```
   */
  get arity(): number {
    return this.#shape.arity;
  }

  /**
   * Levels below the root.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MerkleTree } from "./tree.ts";
   *
   * assert.equal(MerkleTree.empty(4, 8).height, 8);
   * ```
   */
  get height(): number {
    return this.#shape.height;
  }

  /**
   * The number of positions, `arity ** height`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MerkleTree } from "./tree.ts";
   *
   * assert.equal(MerkleTree.empty(4, 8).capacity, 65536);
   * ```
   */
  get capacity(): number {
    return this.#shape.capacity;
  }

  /**
   * The number of leaves present.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MerkleTree } from "./tree.ts";
   *
   * assert.equal(MerkleTree.empty(2, 3).insert(5, new Uint8Array(32)).size, 1);
   * ```
   */
  get size(): number {
    return this.#root?.size ?? 0;
  }

  /**
   * Returns a tree with `leaf` at `position`, replacing any leaf there.
   *
   * @param position From 0 to `capacity - 1`.
   * @param leaf A 32-byte hash; copied.
   * @throws {RangeError} If `position` is out of range.
   * @throws {TypeError} If `leaf` is not a 32-byte array.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MerkleTree } from "./tree.ts";
   *
   * const empty = MerkleTree.empty(2, 3);
   * const one = empty.insert(6, new Uint8Array(32));
   * assert.equal(empty.size, 0);
   * assert.equal(one.size, 1);
   * assert.equal(one.has(6), true);
   * ```
   */
  insert(position: number, leaf: Uint8Array): MerkleTree {
    this.#checkPosition(position);
    if (!isHash(leaf)) {
      throw new TypeError(`a leaf must be a Uint8Array of ${HASH_LENGTH} bytes`);
    }
    return new MerkleTree(
      this.#shape,
      inserted(this.#shape, this.#root, 0, position, leaf.slice()),
    );
  }

  /**
   * Returns a tree without the leaf at `position`, or this tree if there is
   * none. Subtrees left without leaves are dropped, as in `dusk-merkle`.
   *
   * @param position From 0 to `capacity - 1`.
   * @throws {RangeError} If `position` is out of range.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MerkleTree } from "./tree.ts";
   *
   * const tree = MerkleTree.empty(2, 3).insert(1, new Uint8Array(32).fill(9));
   * assert.equal(tree.remove(1).size, 0);
   * ```
   */
  remove(position: number): MerkleTree {
    if (!this.has(position) || this.#root === undefined) return this;
    return new MerkleTree(this.#shape, removed(this.#shape, this.#root, 0, position));
  }

  /**
   * Returns the leaf at `position`, or `undefined` if there is none.
   *
   * @param position From 0 to `capacity - 1`.
   * @returns A copy of the leaf hash.
   * @throws {RangeError} If `position` is out of range.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MerkleTree } from "./tree.ts";
   *
   * const tree = MerkleTree.empty(4, 2).insert(3, new Uint8Array(32).fill(7));
   * assert.equal(tree.get(3)?.[0], 7);
   * assert.equal(tree.get(4), undefined);
   * ```
   */
  get(position: number): Uint8Array | undefined {
    return this.#leaf(position)?.hash?.slice();
  }

  /**
   * Whether a leaf is present at `position`.
   *
   * @param position From 0 to `capacity - 1`.
   * @throws {RangeError} If `position` is out of range.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MerkleTree } from "./tree.ts";
   *
   * const tree = MerkleTree.empty(4, 2).insert(3, new Uint8Array(32));
   * assert.equal(tree.has(3), true);
   * assert.equal(tree.has(2), false);
   * ```
   */
  has(position: number): boolean {
    return this.#leaf(position) !== undefined;
  }

  /**
   * Iterates over the leaves in ascending position order.
   *
   * @returns `[position, leaf]` pairs; each leaf is a copy.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MerkleTree } from "./tree.ts";
   *
   * const tree = MerkleTree.empty(2, 4)
   *   .insert(9, new Uint8Array(32))
   *   .insert(2, new Uint8Array(32));
   * assert.deepEqual([...tree.leaves()].map(([position]) => position), [2, 9]);
   * ```
   */
  *leaves(): Generator<[number, Uint8Array]> {
    if (this.#root !== undefined) yield* leavesOf(this.#root, 0, 0, this.#shape);
  }

  /**
   * Returns the root hash: 32 zero bytes for an empty tree.
   *
   * @returns A copy of the root hash.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MerkleTree } from "./tree.ts";
   *
   * assert.equal(MerkleTree.empty(2, 32).root().every((byte) => byte === 0), true);
   * ```
   */
  root(): Uint8Array {
    return this.#root === undefined
      ? new Uint8Array(HASH_LENGTH)
      : nodeHash(this.#shape, this.#root).slice();
  }

  /**
   * Returns the proof that the leaf at `position` is in this tree, or
   * `undefined` if there is none. Check it with
   * {@linkcode import("./opening.ts").verifyOpening}.
   *
   * @param position From 0 to `capacity - 1`.
   * @returns Plain data; every hash in it is a copy.
   * @throws {RangeError} If `position` is out of range.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { verifyOpening } from "./opening.ts";
   * import { MerkleTree } from "./tree.ts";
   *
   * const leaf = new Uint8Array(32).fill(1);
   * const tree = MerkleTree.empty(4, 8).insert(5, leaf);
   * const opening = tree.opening(5)!;
   * assert.deepEqual(opening.positions, [0, 0, 0, 0, 0, 0, 1, 1]);
   * assert.equal(verifyOpening(opening, leaf), true);
   * ```
   */
  opening(position: number): Opening | undefined {
    const root = this.#root;
    if (!this.has(position) || root === undefined) return undefined;
    const shape = this.#shape;
    const branch: Uint8Array[][] = [];
    const positions: number[] = [];
    let node = root;
    let remaining = position;
    for (let depth = 0; depth < shape.height; depth++) {
      const span = shape.spans[depth];
      const index = Math.floor(remaining / span);
      branch.push(
        node.children.map((child) =>
          child === undefined ? new Uint8Array(HASH_LENGTH) : nodeHash(shape, child).slice()
        ),
      );
      positions.push(index);
      node = node.children[index]!;
      remaining -= index * span;
    }
    return { root: nodeHash(shape, root).slice(), branch, positions };
  }

  #checkPosition(position: number): void {
    if (!Number.isInteger(position) || position < 0 || position >= this.#shape.capacity) {
      throw new RangeError(
        `position must be an integer from 0 to ${this.#shape.capacity - 1}, got ${position}`,
      );
    }
  }

  #leaf(position: number): Node | undefined {
    this.#checkPosition(position);
    const shape = this.#shape;
    let node = this.#root;
    let remaining = position;
    for (let depth = 0; node !== undefined && depth < shape.height; depth++) {
      const span = shape.spans[depth];
      const index = Math.floor(remaining / span);
      node = node.children[index];
      remaining -= index * span;
    }
    return node;
  }
}
