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
 * import { ContractId } from "./contract_id.ts";
 *
 * const id = ContractId.fromHex("01".repeat(32));
 * console.log(id.toString() === "01".repeat(32)); // true
 * console.log(id.equals(new ContractId(new Uint8Array(32).fill(1)))); // true
 * ```
 */
export class ContractId {
  readonly #bytes: Uint8Array;
  #hex: string | undefined;

  /** Copies `bytes`, which must be exactly 32 bytes. */
  constructor(bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array) || bytes.length !== CONTRACT_ID_BYTES) {
      throw new TypeError(`a contract id is ${CONTRACT_ID_BYTES} bytes`);
    }
    this.#bytes = bytes.slice();
  }

  /** Parses 64 hex digits. */
  static fromHex(hex: string): ContractId {
    if (!HEX.test(hex)) throw new TypeError(`"${hex}" is not 64 hex digits`);
    const bytes = new Uint8Array(CONTRACT_ID_BYTES);
    for (let i = 0; i < CONTRACT_ID_BYTES; i++) {
      bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    }
    return new ContractId(bytes);
  }

  /** A copy of the 32 bytes. */
  toBytes(): Uint8Array {
    return this.#bytes.slice();
  }

  /** Lowercase hex. */
  toString(): string {
    this.#hex ??= this.#bytes.toHex();
    return this.#hex;
  }

  /** Whether `other` has the same bytes. */
  equals(other: ContractId): boolean {
    return this.toString() === other.toString();
  }

  /** Writes the 32 bytes into `target` at `offset`. */
  copyTo(target: Uint8Array, offset = 0): void {
    target.set(this.#bytes, offset);
  }
}
