/**
 * The contract ABI of piecrust 0.32, in one table: the host functions a
 * contract may import (name and signature per memory width), the argument
 * buffer, contract ids and the wasm page. Deploy-time validation, the
 * linker's definitions and the host functions all derive from it.
 *
 * @module
 */

import type { FuncSignature, ValueType } from "./wasm_reader.ts";

/**
 * The wasm page size: the unit of memory lengths, committed pages and page openings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WASM_PAGE_SIZE } from "./abi.ts";
 *
 * assert.equal(Math.floor(200_000 / WASM_PAGE_SIZE), 3); // byte 200000 is on page 3
 * ```
 */
export const WASM_PAGE_SIZE = 65536;

/**
 * Bytes in a contract's argument buffer `A`: the most an argument, a result
 * or a metadata value may have.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ARGBUF_LEN } from "./abi.ts";
 *
 * assert.equal(ARGBUF_LEN, 64 * 1024);
 * ```
 */
export const ARGBUF_LEN = 65536;

/**
 * Bytes in a contract id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContractId } from "../../mod.ts";
 * import { CONTRACT_ID_BYTES } from "./abi.ts";
 *
 * assert.equal(new ContractId(new Uint8Array(CONTRACT_ID_BYTES)).toBytes().length, 32);
 * ```
 */
export const CONTRACT_ID_BYTES = 32;

/**
 * Bytes of rkyv scratch space a contract built with piecrust-uplink has.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SCRATCH_BUF_BYTES } from "./abi.ts";
 *
 * assert.equal(SCRATCH_BUF_BYTES, 1024);
 * ```
 */
export const SCRATCH_BUF_BYTES = 1024;

/**
 * The host functions of the reference ABI, by import name: parameters and
 * results, where `p` is a pointer of the memory's width (`i32` or `i64`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HOST_IMPORTS } from "./abi.ts";
 *
 * assert.deepEqual(HOST_IMPORTS.hq, { params: "p i32 i32", results: "i32" });
 * assert.equal(Object.keys(HOST_IMPORTS).length, 13);
 * ```
 */
export const HOST_IMPORTS = {
  c: { params: "p p i32 i32 i64", results: "i32" },
  hq: { params: "p i32 i32", results: "i32" },
  hd: { params: "p i32", results: "i32" },
  emit: { params: "p i32 i32", results: "" },
  feed: { params: "i32", results: "" },
  caller: { params: "", results: "i32" },
  callstack: { params: "", results: "i32" },
  limit: { params: "", results: "i64" },
  spent: { params: "", results: "i64" },
  panic: { params: "i32", results: "" },
  owner: { params: "p", results: "i32" },
  self_id: { params: "", results: "" },
  hdebug: { params: "i32", results: "" },
} as const;

/**
 * The name of a host function a contract may import.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HOST_IMPORT_NAMES, type HostImportName } from "./abi.ts";
 *
 * const name: HostImportName = "emit";
 * assert.ok(HOST_IMPORT_NAMES.includes(name));
 * ```
 */
export type HostImportName = keyof typeof HOST_IMPORTS;

/**
 * Every host import name, in the table's order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HOST_IMPORT_NAMES } from "./abi.ts";
 *
 * assert.equal(HOST_IMPORT_NAMES[0], "c");
 * assert.ok(HOST_IMPORT_NAMES.includes("hdebug"));
 * ```
 */
export const HOST_IMPORT_NAMES: readonly HostImportName[] = Object.keys(
  HOST_IMPORTS,
) as HostImportName[];

function signatures(pointer: ValueType): ReadonlyMap<string, FuncSignature> {
  const list = (types: string): ValueType[] =>
    types === "" ? [] : types.split(" ").map((t) => t === "p" ? pointer : t as ValueType);
  return new Map(
    HOST_IMPORT_NAMES.map((name) => {
      const { params, results } = HOST_IMPORTS[name];
      return [name, { params: list(params), results: list(results) }];
    }),
  );
}

const SIGNATURES_WASM32 = signatures("i32");
const SIGNATURES_WASM64 = signatures("i64");

/**
 * The signature of the host function `name` for memories of the given
 * width, or undefined for a name that is not a host function.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hostImportType } from "./abi.ts";
 *
 * assert.deepEqual(hostImportType("hd", true), { params: ["i64", "i32"], results: ["i32"] });
 * assert.deepEqual(hostImportType("hd", false), { params: ["i32", "i32"], results: ["i32"] });
 * assert.equal(hostImportType("print", false), undefined);
 * ```
 */
export function hostImportType(name: string, is64: boolean): FuncSignature | undefined {
  return (is64 ? SIGNATURES_WASM64 : SIGNATURES_WASM32).get(name);
}
