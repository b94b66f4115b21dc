/**
 * piecrust for Deno: a WebAssembly smart-contract VM compatible with Dusk's
 * piecrust, running on wasmtime through Deno FFI.
 *
 * A {@linkcode VM} starts {@linkcode Session}s, which deploy contracts and
 * call them with gas limits; failed calls leave no trace. Typed calls use
 * the rkyv codec re-exported here (`u64`, `string`, `struct`, ...).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractFunction, i64, unit, VM } from "./mod.ts";
 * import { contractBytecode } from "./src/testing/mod.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 * session.call(counter, contractFunction("increment", unit, unit), undefined, 1_000_000n);
 * const value = session.call(counter, contractFunction("read_value", unit, i64), undefined, 1_000_000n);
 * assert.equal(value.data, 0xfdn);
 * ```
 *
 * @module
 */

export { VM, type VMHandle, type VMOptions, type VMSessionOptions } from "./src/vm.ts";
export type { CommitInfo, ContractInfo, VerifyOptions, VerifyProgress } from "./src/commit_info.ts";
export type { RuntimeOptions } from "./src/session/runtime.ts";
export type { DirectoryHandle } from "./src/directory/channel.ts";
export {
  type ProvisionOptions,
  type ProvisionSource,
  provisionWasmtime,
} from "./src/native/provision.ts";
export { WASMTIME_LIB_ENV, WASMTIME_SHA256, WASMTIME_VERSION } from "./src/native/library.ts";
export type { CallReceipt } from "./src/session/call_receipt.ts";
export type { Encodable, TypedValue } from "./src/session/typed_value.ts";
export type { CallHook, HookedCall } from "./src/session/call_hook.ts";
export {
  type CallOptions,
  type ContractFunction,
  contractFunction,
  type ContractMetadata,
  type DeployOptions,
  MAX_CALL_DEPTH,
  type MemoryPage,
  type MigrateOptions,
  Session,
  type SessionOptions,
} from "./src/session/session.ts";
export { ARGBUF_LEN, CONTRACT_ID_BYTES, SCRATCH_BUF_BYTES } from "./src/bytecode/abi.ts";
export { ContractId } from "./src/session/contract_id.ts";
export { type CallTrace, CallTree, type CallTreeElem } from "./src/session/call_tree.ts";
export {
  type ContractLabels,
  formatCallTree,
  type FormatCallTreeOptions,
  type TraceSource,
} from "./src/session/format_call_tree.ts";
export { GasReport, type GasReportRow } from "./src/session/gas_report.ts";
export {
  DataDriver,
  type DataDriverFunction,
  type DataDriverOptions,
  type DataDriverSchema,
} from "./src/session/data_driver.ts";
export type { Event } from "./src/session/event.ts";
export type { HostQuery, PricedHostQuery } from "./src/session/host_query.ts";
export { type PageOpening, verifyPageOpening } from "./src/merkle/page_opening.ts";
export { type Opening, verifyOpening } from "./src/merkle/opening.ts";
export {
  type ErrorDetails,
  type ErrorKind,
  PiecrustError,
  type PiecrustErrorOptions,
  type TrapName,
} from "./src/errors.ts";
export * from "./src/codec/mod.ts";
