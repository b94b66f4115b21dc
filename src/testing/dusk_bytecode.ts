/**
 * Wasm built from Dusk's own crates on crates.io, bundled for tests: the
 * stake contract's data driver and a test contract whose types are
 * `dusk-core`'s (see `contracts/dusk/`).
 *
 * @module
 */

import { BUNDLED_CONTRACTS } from "./_bundled.ts";

function bundled(key: string, what: string, names: readonly string[]): Uint8Array {
  const base64 = BUNDLED_CONTRACTS[key];
  if (base64 === undefined) {
    throw new TypeError(`no bundled ${what}; there are: ${names.join(", ")}`);
  }
  return Uint8Array.fromBase64(base64);
}

/**
 * The bytecode of a bundled data driver: `"stake"`, the stake contract's
 * (`dusk-stake-contract-dd` 1.7.0 with its `js` feature). Returns a fresh
 * copy; a `TypeError` for another name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dataDriverBytecode } from "./dusk_bytecode.ts";
 *
 * assert.ok(WebAssembly.validate(dataDriverBytecode("stake") as BufferSource));
 * assert.throws(() => dataDriverBytecode("transfer"), TypeError);
 * ```
 */
export function dataDriverBytecode(name: string): Uint8Array {
  if (typeof name !== "string") throw new TypeError(`name must be a string, got ${typeof name}`);
  return bundled(`dusk/${name}_dd`, `data driver ${JSON.stringify(name)}`, ["stake"]);
}

/**
 * The bytecode of a bundled test contract built on `dusk-core`:
 * `"stake_mirror"`, which has part of the stake contract's interface
 * (`stake`, `get_stake`, `burnt_amount`, `get_config`) and `sample_stake`,
 * which returns a signed `Stake`. Returns a fresh copy; a `TypeError` for
 * another name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { duskContractBytecode } from "./dusk_bytecode.ts";
 *
 * assert.ok(WebAssembly.validate(duskContractBytecode("stake_mirror") as BufferSource));
 * assert.throws(() => duskContractBytecode("stake_dd"), TypeError);
 * ```
 */
export function duskContractBytecode(name: string): Uint8Array {
  if (typeof name !== "string") throw new TypeError(`name must be a string, got ${typeof name}`);
  const contracts = ["stake_mirror"];
  if (!contracts.includes(name)) {
    throw new TypeError(
      `no bundled Dusk contract ${JSON.stringify(name)}; there are: ${contracts.join(", ")}`,
    );
  }
  return bundled(`dusk/${name}`, `Dusk contract ${JSON.stringify(name)}`, contracts);
}
