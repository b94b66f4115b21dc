/**
 * Contract bytecode: reading a wasm module's interface, checking it against
 * piecrust's ABI, taking its active data segments out and pricing its
 * stores as the reference VM does, and the ABI table all of them share.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { prepareContractModule } from "./mod.ts";
 *
 * const prepared = prepareContractModule(contractBytecode("counter"), { debug: false });
 * assert.deepEqual([...prepared.functions].sort(), ["increment", "read_value"]);
 * assert.equal(prepared.is64, false);
 * ```
 *
 * @module
 */

export {
  ARGBUF_LEN,
  CONTRACT_ID_BYTES,
  HOST_IMPORT_NAMES,
  HOST_IMPORTS,
  type HostImportName,
  hostImportType,
  SCRATCH_BUF_BYTES,
  WASM_PAGE_SIZE,
} from "./abi.ts";
export { type ExportedGlobals, exportMutableGlobals } from "./export_globals.ts";
export {
  BULK_MEMORY_IMPORTS,
  BULK_MEMORY_MODULE,
  meter,
  type MeteredModule,
  STORE_COSTS,
  type StoreOperator,
} from "./meter.ts";
export {
  INSTANTIATION_FUEL,
  MAX_BYTECODE_BYTES,
  prepareContractModule,
  type PreparedModule,
} from "./prepare.ts";
export { stripActiveDataSegments, type StrippedModule } from "./strip_data.ts";
export {
  type ContractInterface,
  MAX_TABLE_ELEMENTS,
  validateContract,
  type ValidateContractOptions,
} from "./validate.ts";
export {
  checkInfoOf,
  type DataSegment,
  type ElementSegment,
  type Export,
  type FuncSignature,
  type GlobalType,
  type Import,
  inspectModule,
  type MemoryType,
  type ModuleInfo,
  type Section,
  type TableType,
  type ValueType,
} from "./wasm_reader.ts";
