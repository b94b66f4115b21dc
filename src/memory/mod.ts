/**
 * Contract linear memories: copy-on-write file mappings, exact write
 * tracking and nested snapshots.
 *
 * @module
 */

export {
  ContractMemory,
  type ContractMemoryOptions,
  type MemoryFileMapping,
  WASM_PAGE_SIZE,
} from "./contract_memory.ts";
export { OS_PAGE_SIZE, type ScanMethod, WriteScanner } from "./write_scanner.ts";
