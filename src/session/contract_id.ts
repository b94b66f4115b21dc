/**
 * {@linkcode ContractId}: the 32-byte id of a contract.
 *
 * @module
 */

import { CONTRACT_ID_BYTES } from "../bytecode/abi.ts";

const HEX = /^[0-9a-f]{64}$/i;

/**
 * The 32-byte id of a contract: by default the BLAKE3 hash of its bytecode,
 * or any 32 bytes chosen at deploy. Immutable; compare with
 * {@linkcode ContractId.equals}. Its string form is lowercase hex, as on disk.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContractId } from "./contract_id.ts";
 *
 * const id = ContractId.fromHex("01".repeat(32));
 * assert.equal(id.toString(), "01".repeat(32));
 * assert.ok(id.equals(new ContractId(new Uint8Array(32).fill(1))));
 * assert.throws(() => new ContractId(new Uint8Array(31)), TypeError);
 * ```
 */
export class ContractId {
  readonly #bytes: Uint8Array;
  #hex: string | undefined;

  /**
   * Copies `bytes`, which must be exactly 32 bytes.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractId } from "./contract_id.ts";
   *
   * const bytes = new Uint8Array(32);
   * const id = new ContractId(bytes);
   * bytes[0] = 1; // copied: the id does not change
   * assert.equal(id.toString(), "00".repeat(32));
   * assert.throws(() => new ContractId(new Uint8Array(33)), TypeError);
   * ```
   */
  constructor(bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array) || bytes.length !== CONTRACT_ID_BYTES) {
      throw new TypeError(`a contract id is ${CONTRACT_ID_BYTES} bytes`);
    }
    this.#bytes = bytes.slice();
  }

  /**
   * Parses 64 hex digits.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractId } from "./contract_id.ts";
   *
   * assert.equal(ContractId.fromHex("AB".repeat(32)).toString(), "ab".repeat(32));
   * assert.throws(() => ContractId.fromHex("ab"), TypeError);
   * ```
   */
  static fromHex(hex: string): ContractId {
    if (!HEX.test(hex)) throw new TypeError(`"${hex}" is not 64 hex digits`);
    const bytes = new Uint8Array(CONTRACT_ID_BYTES);
    for (let i = 0; i < CONTRACT_ID_BYTES; i++) {
      bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    }
    return new ContractId(bytes);
  }

  /**
   * A copy of the 32 bytes.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractId } from "./contract_id.ts";
   *
   * const id = new ContractId(new Uint8Array(32).fill(5));
   * const bytes = id.toBytes();
   * bytes[0] = 0; // a copy: the id stays as it was
   * assert.equal(id.toBytes()[0], 5);
   * ```
   */
  toBytes(): Uint8Array {
    return this.#bytes.slice();
  }

  /**
   * Lowercase hex.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractId } from "./contract_id.ts";
   *
   * assert.equal(new ContractId(new Uint8Array(32).fill(10)).toString(), "0a".repeat(32));
   * ```
   */
  toString(): string {
    this.#hex ??= this.#bytes.toHex();
    return this.#hex;
  }

  /**
   * Whether `other` has the same bytes.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractId } from "./contract_id.ts";
   *
   * const a = new ContractId(new Uint8Array(32).fill(1));
   * assert.ok(a.equals(ContractId.fromHex("01".repeat(32))));
   * assert.ok(!a.equals(new ContractId(new Uint8Array(32))));
   * ```
   */
  equals(other: ContractId): boolean {
    return this.toString() === other.toString();
  }

  /**
   * Writes the 32 bytes into `target` at `offset`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractId } from "./contract_id.ts";
   *
   * const target = new Uint8Array(34);
   * new ContractId(new Uint8Array(32).fill(7)).copyTo(target, 2);
   * assert.deepEqual(target.subarray(0, 3), new Uint8Array([0, 0, 7]));
   * ```
   */
  copyTo(target: Uint8Array, offset = 0): void {
    target.set(this.#bytes, offset);
  }
}
