/**
 * Contract linear memories: copy-on-write file mappings, exact write
 * tracking and nested snapshots, in address space reused across sessions.
 *
 * @module
 */

export { WASM_PAGE_SIZE } from "../bytecode/abi.ts";
export {
  ContractMemory,
  type ContractMemoryOptions,
  type MemoryFileMapping,
} from "./contract_memory.ts";
export {
  DEFAULT_IDLE_RESERVATIONS,
  Reservation,
  ReservationPool,
  type ReservationPoolOptions,
} from "./reservation.ts";
export {
  OS_PAGE_SIZE,
  type ScanMethod,
  WriteScanner,
  type WrittenRunCallback,
} from "./write_scanner.ts";
