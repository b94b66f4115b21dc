/**
 * Where things live in a VM directory, and the hex names used there.
 *
 * ```
 * <dir>/commits/<root-hex>/manifest.json   one folder per complete commit
 * <dir>/commits/<root-hex>/<id-hex>.pages  pages a commit wrote, 64 KiB-aligned
 * <dir>/commits/<root-hex>/<id-hex>.wasm   bytecode of a contract new in the commit
 * <dir>/retired/<root-hex>/                deleted or finalized commits that others build on
 * <dir>/tmp/                               commits being written or removed; emptied at open
 * <dir>/intents/<root-hex>.<operation>     a requested delete or finalize not done yet
 * <dir>/workers/<uuid>.lock                one per vm.share(), locked while its Worker lives
 * <dir>/LOCK                               locked while a VM owns the directory
 * ```
 *
 * Files of commits and intents are created read-only (0444): they never
 * change once written. Page packs are mapped into contract memories.
 *
 * A finalized commit is rewritten without a base: its folder then holds,
 * as hard links, the page packs and bytecode of the older commits it still
 * needs, named `<id-hex>.<n>.pages` beside its own `<id-hex>.pages`.
 *
 * @module
 */

/** The folder of complete commits. */
export const COMMITS_DIR = "commits";
/** The folder of commits that are no longer listed but are the base of others. */
export const RETIRED_DIR = "retired";
/** The folder of commits being written or removed. */
export const TMP_DIR = "tmp";
/** The folder of requested deletions and finalizations, carried out at the latest on open. */
export const INTENTS_DIR = "intents";
/** The folder of the liveness lock files of Workers' connections. */
export const WORKERS_DIR = "workers";
/** The manifest of a commit folder. */
export const MANIFEST_FILE = "manifest.json";

const HEX32 = /^[0-9a-f]{64}$/;
const HEX = /^(?:[0-9a-f]{2})*$/;

/**
 * Whether `value` is 32 bytes in lowercase hex: a root or a contract id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isHex32 } from "./paths.ts";
 *
 * assert.equal(isHex32("00".repeat(32)), true);
 * assert.equal(isHex32("AB"), false);
 * ```
 */
export function isHex32(value: unknown): value is string {
  return typeof value === "string" && HEX32.test(value);
}

/**
 * Whether `value` is bytes in lowercase hex (any even length).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isHex } from "./paths.ts";
 *
 * assert.equal(isHex("0aff"), true);
 * assert.equal(isHex("0AF"), false);
 * ```
 */
export function isHex(value: unknown): value is string {
  return typeof value === "string" && HEX.test(value);
}

/**
 * The folder of the commit `root` in the VM directory `dir`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commitPath } from "./paths.ts";
 *
 * assert.equal(commitPath("/vm", "ab".repeat(32)), `/vm/commits/${"ab".repeat(32)}`);
 * ```
 */
export function commitPath(dir: string, root: string): string {
  return `${dir}/${COMMITS_DIR}/${root}`;
}

/**
 * The name of page pack `pack` (default 0, the commit's own) of contract
 * `id` in a commit folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pagesFile } from "./paths.ts";
 *
 * const id = "01".repeat(32);
 * assert.equal(pagesFile(id), `${id}.pages`);
 * assert.equal(pagesFile(id, 2), `${id}.2.pages`);
 * ```
 */
export function pagesFile(id: string, pack = 0): string {
  return pack === 0 ? `${id}.pages` : `${id}.${pack}.pages`;
}

/**
 * Whether `name`, a file of a commit folder, is a page pack.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPagesFile, pagesFile, wasmFile } from "./paths.ts";
 *
 * const id = "01".repeat(32);
 * assert.equal(isPagesFile(pagesFile(id, 3)), true);
 * assert.equal(isPagesFile(wasmFile(id)), false);
 * ```
 */
export function isPagesFile(name: string): boolean {
  return name.endsWith(".pages");
}

/**
 * The name of the bytecode file of contract `id` in a commit folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wasmFile } from "./paths.ts";
 *
 * assert.equal(wasmFile("01".repeat(32)), `${"01".repeat(32)}.wasm`);
 * ```
 */
export function wasmFile(id: string): string {
  return `${id}.wasm`;
}
