/**
 * Where contracts sit in the contracts tree (piecrust's `ContractsMerkle`
 * dictionary): each contract id folds to a 32-bit key, and each key gets the
 * next sequential leaf index (`int_pos`) when its contract is first inserted.
 *
 * @module
 */

import { equalBytes } from "./_bytes.ts";

/**
 * Bytes of a contract id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONTRACT_ID_LENGTH, positionFromContract } from "./contract_positions.ts";
 *
 * assert.equal(positionFromContract(new Uint8Array(CONTRACT_ID_LENGTH)), 0);
 * ```
 */
export const CONTRACT_ID_LENGTH = 32;

function checkId(id: Uint8Array): void {
  if (!(id instanceof Uint8Array) || id.length !== CONTRACT_ID_LENGTH) {
    throw new TypeError(`a contract id must be a Uint8Array of ${CONTRACT_ID_LENGTH} bytes`);
  }
}

/**
 * Folds a contract id to 32 bits: the wrapping sum of its eight little-endian
 * `u32` words (piecrust's `position_from_contract`). Two ids that fold to the
 * same value cannot both be in the state.
 *
 * @param id A 32-byte contract id.
 * @returns An integer from 0 to 2^32 − 1.
 * @throws {TypeError} If `id` is not 32 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { positionFromContract } from "./contract_positions.ts";
 *
 * const id = new Uint8Array(32);
 * id[0] = 1;
 * id[4] = 2;
 * assert.equal(positionFromContract(id), 3);
 * assert.equal(positionFromContract(new Uint8Array(32).fill(0xff)), 4294967288);
 * ```
 */
export function positionFromContract(id: Uint8Array): number {
  checkId(id);
  let sum = 0;
  for (let i = 0; i < CONTRACT_ID_LENGTH; i += 4) {
    sum = (sum + (id[i] | (id[i + 1] << 8) | (id[i + 2] << 16) | (id[i + 3] << 24))) >>> 0;
  }
  return sum;
}

interface Entry {
  readonly id: Uint8Array;
  readonly leafIndex: number;
}

/**
 * An immutable map from contract to contracts-tree leaf index (`int_pos`).
 *
 * Entries are keyed by {@linkcode positionFromContract}. A contract inserted
 * for the first time gets `int_pos = size + 1`, so the first contract ever is
 * leaf 1 and leaf 0 stays empty. Updates return a new map and leave this one
 * as it was, so a session can fork a committed map for free.
 *
 * @example Two contracts, in the order they are first committed
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContractPositions } from "./contract_positions.ts";
 *
 * const a = new Uint8Array(32).fill(1);
 * const b = new Uint8Array(32).fill(2);
 * const [one, posA] = ContractPositions.EMPTY.assign(a);
 * const [two, posB] = one.assign(b);
 * assert.equal(posA, 1);
 * assert.equal(posB, 2);
 * assert.equal(two.size, 2);
 * assert.equal(one.get(b), undefined);
 * ```
 */
export class ContractPositions {
  /**
   * The map of an empty state.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractPositions } from "./contract_positions.ts";
   *
   * assert.equal(ContractPositions.EMPTY.size, 0);
   * ```
   */
  static readonly EMPTY: ContractPositions = new ContractPositions(new Map(), new Map());

  /**
   * Returns the map of contracts at known positions, as loaded from a commit
   * (piecrust's `ContractsMerkle::insert_with_int_pos` for each). A later
   * entry replaces an earlier one with the same key.
   *
   * @param entries `[id, int_pos]` pairs: 32-byte ids, positions from 1 to 2^32 − 1.
   * @throws {TypeError} If an id is not 32 bytes.
   * @throws {RangeError} If a position is out of range.
   *
   * @example Loading two contracts, then deploying a third
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractPositions } from "./contract_positions.ts";
   *
   * const positions = ContractPositions.from([
   *   [new Uint8Array(32).fill(1), 2],
   *   [new Uint8Array(32).fill(2), 1],
   * ]);
   * assert.equal(positions.assign(new Uint8Array(32).fill(3))[1], 3);
   * ```
   */
  static from(entries: Iterable<readonly [Uint8Array, number]>): ContractPositions {
    const settled = new Map<number, Entry>();
    for (const [id, leafIndex] of entries) {
      const key = positionFromContract(id);
      if (!Number.isInteger(leafIndex) || leafIndex < 1 || leafIndex >= 2 ** 32) {
        throw new RangeError(`int_pos must be an integer from 1 to 2^32 - 1, got ${leafIndex}`);
      }
      settled.set(key, { id: id.slice(), leafIndex });
    }
    return new ContractPositions(settled, new Map());
  }

  // An update copies only `#recent`; once that outgrows √size it is merged
  // into a fresh `#settled`, which keeps an update at O(√size) amortized
  // instead of copying the whole map.
  readonly #settled: ReadonlyMap<number, Entry>;
  readonly #recent: ReadonlyMap<number, Entry>;
  readonly #size: number;

  private constructor(settled: ReadonlyMap<number, Entry>, recent: ReadonlyMap<number, Entry>) {
    this.#settled = settled;
    this.#recent = recent;
    let size = settled.size;
    for (const key of recent.keys()) if (!settled.has(key)) size++;
    this.#size = size;
  }

  /**
   * The number of contracts with a position; the next new one gets `size + 1`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractPositions } from "./contract_positions.ts";
   *
   * const [positions] = ContractPositions.EMPTY.assign(new Uint8Array(32));
   * assert.equal(positions.size, 1);
   * ```
   */
  get size(): number {
    return this.#size;
  }

  /**
   * Returns the `int_pos` of contract `id`, or `undefined` if it has none.
   *
   * @param id A 32-byte contract id.
   * @throws {TypeError} If `id` is not 32 bytes.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractPositions } from "./contract_positions.ts";
   *
   * const id = new Uint8Array(32).fill(5);
   * const [positions] = ContractPositions.EMPTY.assign(id);
   * assert.equal(positions.get(id), 1);
   * ```
   */
  get(id: Uint8Array): number | undefined {
    const entry = this.#entry(positionFromContract(id));
    return entry !== undefined && equalBytes(entry.id, id) ? entry.leafIndex : undefined;
  }

  /**
   * Returns the id of another contract that folds to the same key as `id`
   * (piecrust's `ContractPositionCollision`), or `undefined` if there is none.
   *
   * @param id A 32-byte contract id.
   * @returns A copy of the colliding contract's id.
   * @throws {TypeError} If `id` is not 32 bytes.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractPositions } from "./contract_positions.ts";
   *
   * const a = new Uint8Array(32);
   * a[0] = 1;
   * const b = new Uint8Array(32);
   * b[4] = 1; // folds to 1 as well
   * const [positions] = ContractPositions.EMPTY.assign(a);
   * assert.equal(positions.collision(b)?.[0], 1);
   * assert.equal(positions.collision(a), undefined);
   * ```
   */
  collision(id: Uint8Array): Uint8Array | undefined {
    const entry = this.#entry(positionFromContract(id));
    return entry !== undefined && !equalBytes(entry.id, id) ? entry.id.slice() : undefined;
  }

  /**
   * Returns the map with a position for contract `id` and that position: its
   * existing one, or `size + 1` if it has none (piecrust's
   * `ContractsMerkle::insert`). Within one commit, assign new contracts in
   * ascending id byte order.
   *
   * @param id A 32-byte contract id.
   * @returns `[map, int_pos]`; the map is this one if `id` already had a position.
   * @throws {TypeError} If `id` is not 32 bytes.
   * @throws {RangeError} If another contract holds the same key; check
   *   {@linkcode ContractPositions.collision} first.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractPositions } from "./contract_positions.ts";
   *
   * const id = new Uint8Array(32).fill(7);
   * const [once, first] = ContractPositions.EMPTY.assign(id);
   * const [twice, again] = once.assign(id);
   * assert.equal(first, 1);
   * assert.equal(again, 1);
   * assert.equal(twice === once, true);
   * ```
   */
  assign(id: Uint8Array): [ContractPositions, number] {
    const key = positionFromContract(id);
    const entry = this.#entry(key);
    if (entry !== undefined) {
      if (equalBytes(entry.id, id)) return [this, entry.leafIndex];
      throw new RangeError(
        `contract id folds to position ${key}, already held by another contract`,
      );
    }
    const leafIndex = this.#size + 1;
    return [this.#with(key, { id: id.slice(), leafIndex }), leafIndex];
  }

  #entry(key: number): Entry | undefined {
    return this.#recent.get(key) ?? this.#settled.get(key);
  }

  #with(key: number, entry: Entry): ContractPositions {
    const recent = new Map(this.#recent).set(key, entry);
    if (recent.size <= Math.max(8, Math.sqrt(this.#settled.size))) {
      return new ContractPositions(this.#settled, recent);
    }
    const settled = new Map(this.#settled);
    for (const [k, e] of recent) settled.set(k, e);
    return new ContractPositions(settled, new Map());
  }
}
