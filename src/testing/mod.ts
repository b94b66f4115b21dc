/**
 * Test fixtures: the bytecode of prebuilt contracts (piecrust's own test
 * contracts, for both wasm targets), bundled in the package so that tests
 * and examples run wherever it is imported from.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractFunction, i64, unit, VM } from "../../mod.ts";
 * import { contractBytecode } from "./mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 * const value = session.call(counter, contractFunction("read_value", unit, i64), undefined, 1_000_000n);
 * assert.equal(value.data, 0xfcn);
 * ```
 *
 * @module
 */

export {
  contractBytecode,
  type ContractBytecodeOptions,
  contractNames,
  type ContractTarget,
} from "./contract_bytecode.ts";
export { dataDriverBytecode, duskContractBytecode } from "./dusk_bytecode.ts";
