/**
 * {@linkcode contractBytecode}: the bundled, prebuilt test contracts.
 *
 * @module
 */

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

const NAME = /^[a-z][a-z0-9_]*$/;

/**
 * The bytecode of a contract bundled in `contracts/build/<target>/<name>.wasm`
 * (built from `contracts/rust/` by `scripts/build_contracts.sh`).
 * Throws a `TypeError` for a malformed name and `Deno.errors.NotFound` for
 * an unknown contract.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "./contract_bytecode.ts";
 *
 * const counter = contractBytecode("counter", { target: "wasm64" });
 * assert.ok(WebAssembly.validate(counter as BufferSource));
 * assert.throws(() => contractBytecode("no_such_contract"), Deno.errors.NotFound);
 * ```
 */
export function contractBytecode(name: string, options: ContractBytecodeOptions = {}): Uint8Array {
  const target = options.target ?? "wasm32";
  if (!NAME.test(name)) throw new TypeError(`"${name}" is not a contract name`);
  if (target !== "wasm32" && target !== "wasm64") {
    throw new TypeError(`target must be "wasm32" or "wasm64", got "${target}"`);
  }
  const url = new URL(`../contracts/build/${target}/${name}.wasm`, import.meta.url);
  try {
    return Deno.readFileSync(url);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `no bundled contract "${name}" for ${target} (${url.pathname})`,
      );
    }
    throw error;
  }
}
