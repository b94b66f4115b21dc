/**
 * {@linkcode contractBytecode}: the bundled, prebuilt test contracts.
 *
 * @module
 */

import { BUNDLED_CONTRACTS } from "./_bundled.ts";

/**
 * A contract's target: 32-bit or 64-bit (memory64) WebAssembly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode, type ContractTarget } from "./contract_bytecode.ts";
 *
 * const targets: ContractTarget[] = ["wasm32", "wasm64"];
 * assert.ok(targets.every((target) => contractBytecode("counter", { target }).length > 0));
 * ```
 */
export type ContractTarget = "wasm32" | "wasm64";

/**
 * Options of {@linkcode contractBytecode}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode, type ContractBytecodeOptions } from "./contract_bytecode.ts";
 *
 * const options: ContractBytecodeOptions = { target: "wasm64" };
 * assert.notDeepEqual(contractBytecode("counter", options), contractBytecode("counter"));
 * ```
 */
export interface ContractBytecodeOptions {
  /** Which build to return. Default `"wasm32"`. */
  target?: ContractTarget;
}

/**
 * The names of the bundled contracts, sorted: those built for `wasm32`
 * (a few exist for one target only).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractNames } from "./contract_bytecode.ts";
 *
 * assert.ok(contractNames().includes("counter"));
 * assert.ok(contractNames("wasm64").includes("counter"));
 * ```
 */
export function contractNames(target: ContractTarget = "wasm32"): string[] {
  checkTarget(target);
  const prefix = `${target}/`;
  return Object.keys(BUNDLED_CONTRACTS)
    .filter((key) => key.startsWith(prefix))
    .map((key) => key.slice(prefix.length))
    .sort();
}

function checkTarget(target: unknown): asserts target is ContractTarget {
  if (target !== "wasm32" && target !== "wasm64") {
    throw new TypeError(`target must be "wasm32" or "wasm64", got ${JSON.stringify(target)}`);
  }
}

/**
 * The bytecode of a bundled test contract: the Rust contracts of piecrust's
 * own test suite (and a few more), built for both targets and shipped inside
 * the package, so this works wherever the package is imported from. Returns
 * a fresh copy. Throws a `TypeError` for an unknown name or target.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "./contract_bytecode.ts";
 *
 * const counter = contractBytecode("counter", { target: "wasm64" });
 * assert.ok(WebAssembly.validate(counter as BufferSource));
 * assert.throws(() => contractBytecode("no_such_contract"), TypeError);
 * ```
 */
export function contractBytecode(name: string, options: ContractBytecodeOptions = {}): Uint8Array {
  const target = options.target ?? "wasm32";
  checkTarget(target);
  if (typeof name !== "string") {
    throw new TypeError(`name must be a string, got ${typeof name}`);
  }
  const base64 = BUNDLED_CONTRACTS[`${target}/${name}`];
  if (base64 === undefined) {
    throw new TypeError(
      `no bundled contract ${JSON.stringify(name)} for ${target}; there are: ${
        contractNames(target).join(", ")
      }`,
    );
  }
  return Uint8Array.fromBase64(base64);
}
