/**
 * The manifest of a commit folder: what the commit changed over its base,
 * and the checksum and size of every other file in the folder.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import { blake3 } from "../merkle/blake3.ts";
import { WASM_PAGE_SIZE } from "../bytecode/abi.ts";
import { isHex, isHex32, pagesFile, wasmFile } from "./paths.ts";

/**
 * A page of a commit: `[pageIndex, pack, packOffset, leafHash-hex]`, where
 * `pack` numbers the contract's page pack in the folder (see `pagesFile`).
 */
export type ManifestPage = [pageIndex: number, pack: number, packOffset: number, leafHash: string];

/** A contract a commit changed, as its manifest lists it. */
export interface ManifestContract {
  /** The contract id, 32 bytes in lowercase hex. */
  id: string;
  /** The owner bytes, lowercase hex. */
  owner: string;
  /** Whether the memory is 64-bit. */
  is64: boolean;
  /** The memory length in bytes after the commit; a multiple of 64 KiB. */
  memoryLength: number;
  /**
   * The contract's leaf index in the contracts tree; `intPos` in
   * `manifest.json`, the reference VM's name for it.
   */
  leafIndex: number;
  /** blake3 of the bytecode, lowercase hex. */
  bytecodeHash: string;
  /** The root of the contract's page tree after the commit, lowercase hex. */
  pageRoot: string;
  /** How many page packs of the contract the folder holds. */
  packs: number;
  /**
   * Pages written in the commit (for a finalized commit: every committed
   * page of the contract), by ascending page index.
   */
  pages: ManifestPage[];
}

/** The content of `manifest.json`. */
export interface Manifest {
  /**
   * Format version; always 3. Version 2 (development builds before 0.1.0) took a
   * pack's checksum over its bytes rather than its page hashes.
   */
  version: 3;
  /** The state root, lowercase hex; also the folder name. */
  root: string;
  /**
   * The root of the base commit, or null for a commit on the empty state
   * and for a finalized commit (which then lists every contract in full).
   */
  base: string | null;
  /** Contracts changed in the commit, by ascending id. */
  contracts: ManifestContract[];
  /**
   * Checksum (lowercase hex) of every other file of the folder, by name:
   * blake3 of a bytecode file; for a page pack, blake3 of the leaf hashes
   * of its pages in file order (see `packChecksum`).
   */
  checksums: Record<string, string>;
  /** Byte length of every other file of the folder, by name. */
  sizes: Record<string, number>;
  /**
   * blake3 (lowercase hex) of the manifest's own bytes with this field set
   * to 64 zeros, so that a damaged manifest is detected when it is read.
   */
  checksum: string;
}

const ZERO_CHECKSUM = "0".repeat(64);

/** More packs than any finalized commit needs: a bound for a corrupt count. */
const MAX_PACKS = 1 << 20;

function canonicalBytes(manifest: Omit<Manifest, "checksum">, checksum: string): Uint8Array {
  const sorted = <T>(record: Record<string, T>): Record<string, T> =>
    Object.fromEntries(Object.keys(record).sort().map((key) => [key, record[key]]));
  // The file's own keys: `intPos` is the reference's name of the leaf index.
  const canonical = {
    version: 3,
    root: manifest.root,
    base: manifest.base,
    contracts: manifest.contracts.map((c) => ({
      id: c.id,
      owner: c.owner,
      is64: c.is64,
      memoryLength: c.memoryLength,
      intPos: c.leafIndex,
      bytecodeHash: c.bytecodeHash,
      pageRoot: c.pageRoot,
      packs: c.packs,
      pages: c.pages.map(([index, pack, offset, leaf]) => [index, pack, offset, leaf]),
    })),
    checksums: sorted(manifest.checksums),
    sizes: sorted(manifest.sizes),
    checksum,
  };
  return new TextEncoder().encode(JSON.stringify(canonical) + "\n");
}

/**
 * `manifest` with its `checksum` filled in, and the bytes of its
 * `manifest.json`; the same manifest always gives the same bytes (keys in a
 * fixed order). The writer keeps the manifest: it never reads back what it
 * wrote.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseManifest, sealManifest } from "./manifest.ts";
 *
 * const root = "00".repeat(32);
 * const { manifest, bytes } = sealManifest({
 *   version: 3, root, base: null, contracts: [], checksums: {}, sizes: {},
 * });
 * assert.match(manifest.checksum, /^[0-9a-f]{64}$/);
 * assert.deepEqual(parseManifest(root, bytes), manifest);
 * ```
 */
export function sealManifest(
  manifest: Omit<Manifest, "checksum">,
): { manifest: Manifest; bytes: Uint8Array } {
  const checksum = blake3(canonicalBytes(manifest, ZERO_CHECKSUM)).toHex();
  return { manifest: { ...manifest, checksum }, bytes: canonicalBytes(manifest, checksum) };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Parses and checks the manifest of the commit folder `root`. Throws a
 * `PersistenceError` naming the commit if the bytes are not a well-formed
 * manifest of that root.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { parseManifest, sealManifest } from "./manifest.ts";
 *
 * const root = "00".repeat(32);
 * const { bytes } = sealManifest({
 *   version: 3, root, base: null, contracts: [], checksums: {}, sizes: {},
 * });
 * assert.equal(parseManifest(root, bytes).contracts.length, 0);
 * assert.throws(
 *   () => parseManifest("11".repeat(32), bytes),
 *   (e) => e instanceof PiecrustError && e.kind === "PersistenceError",
 * );
 * ```
 */
export function parseManifest(root: string, bytes: Uint8Array): Manifest {
  const fail = (what: string): never => {
    throw new PiecrustError("PersistenceError", `Commit ${root}: manifest.json ${what}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    return fail(`is not valid JSON (${(error as Error).message}); the commit is corrupt`);
  }
  if (typeof value !== "object" || value === null) return fail("is not an object");
  const m = value as Record<string, unknown>;
  if (m.version === 2) {
    fail("has format version 2, of a development build; this version reads version 3 only");
  }
  if (m.version !== 3) fail(`has unsupported version ${JSON.stringify(m.version)}`);
  if (m.root !== root) fail(`names root ${JSON.stringify(m.root)}, not its folder`);
  if (m.base !== null && (!isHex32(m.base) || m.base === root)) {
    fail(`has an invalid base ${JSON.stringify(m.base)}`);
  }
  const checksums = m.checksums as Record<string, unknown>;
  const sizes = m.sizes as Record<string, unknown>;
  if (typeof checksums !== "object" || checksums === null || Array.isArray(checksums)) {
    fail("has no checksums object");
  }
  if (typeof sizes !== "object" || sizes === null || Array.isArray(sizes)) {
    fail("has no sizes object");
  }
  if (!Array.isArray(m.contracts)) fail("has no contracts array");
  const files = new Set<string>();
  let previousId = "";
  for (const entry of m.contracts as unknown[]) {
    if (typeof entry !== "object" || entry === null) fail("has a contract that is not an object");
    const c = entry as Record<string, unknown>;
    if (!isHex32(c.id)) fail(`has an invalid contract id ${JSON.stringify(c.id)}`);
    const id = c.id as string;
    const where = `contract ${id}`;
    if (id <= previousId) fail(`lists ${where} out of order or twice`);
    previousId = id;
    if (!isHex(c.owner)) fail(`${where}: invalid owner`);
    if (typeof c.is64 !== "boolean") fail(`${where}: is64 is not a boolean`);
    if (!isCount(c.memoryLength) || c.memoryLength % WASM_PAGE_SIZE !== 0) {
      fail(`${where}: memoryLength is not a multiple of ${WASM_PAGE_SIZE}`);
    }
    if (!isCount(c.intPos)) fail(`${where}: intPos is not a non-negative integer`);
    if (!isHex32(c.bytecodeHash)) fail(`${where}: invalid bytecodeHash`);
    if (!isHex32(c.pageRoot)) fail(`${where}: invalid pageRoot`);
    if (!isCount(c.packs) || c.packs > MAX_PACKS) fail(`${where}: invalid pack count`);
    if (!Array.isArray(c.pages)) fail(`${where}: pages is not an array`);
    const packSizes: number[] = [];
    for (let pack = 0; pack < (c.packs as number); pack++) {
      const name = pagesFile(id, pack);
      if (!isCount(sizes[name])) fail(`${where}: no size for ${name}`);
      packSizes.push(sizes[name] as number);
      files.add(name);
    }
    const offsets = new Set<string>();
    let previousIndex = -1;
    for (const page of c.pages as unknown[]) {
      if (!Array.isArray(page) || page.length !== 4) fail(`${where}: a page is not a quadruple`);
      const [index, pack, offset, leaf] = page as unknown[];
      if (!isCount(index) || index <= previousIndex) {
        fail(`${where}: page indices are not ascending integers`);
      }
      previousIndex = index as number;
      if ((index as number) * WASM_PAGE_SIZE >= (c.memoryLength as number)) {
        fail(`${where}: page ${index} is beyond memoryLength ${c.memoryLength}`);
      }
      if (!isCount(pack) || pack >= packSizes.length) {
        fail(`${where}: page ${index} names a missing pack ${JSON.stringify(pack)}`);
      }
      const slot = `${pack}:${offset}`;
      if (
        !isCount(offset) || offset % WASM_PAGE_SIZE !== 0 || offsets.has(slot) ||
        offset + WASM_PAGE_SIZE > packSizes[pack as number]
      ) {
        fail(
          `${where}: page ${index} has an invalid offset ${offset} in ${
            pagesFile(id, pack as number)
          }`,
        );
      }
      offsets.add(slot);
      if (!isHex32(leaf)) fail(`${where}: page ${index} has an invalid leaf hash`);
    }
    if (wasmFile(id) in checksums) files.add(wasmFile(id));
  }
  for (const name of new Set([...Object.keys(checksums), ...Object.keys(sizes)])) {
    if (!files.has(name)) fail(`lists ${JSON.stringify(name)}, which no contract uses`);
    if (!isHex32(checksums[name])) fail(`has an invalid checksum for ${name}`);
    if (!isCount(sizes[name])) fail(`has an invalid size for ${name}`);
  }
  if (!isHex32(m.checksum)) fail("has no checksum");
  const manifest: Manifest = {
    version: 3,
    root,
    base: m.base as string | null,
    contracts: (m.contracts as Record<string, unknown>[]).map((c) => ({
      id: c.id as string,
      owner: c.owner as string,
      is64: c.is64 as boolean,
      memoryLength: c.memoryLength as number,
      leafIndex: c.intPos as number,
      bytecodeHash: c.bytecodeHash as string,
      pageRoot: c.pageRoot as string,
      packs: c.packs as number,
      pages: c.pages as ManifestPage[],
    })),
    checksums: checksums as Record<string, string>,
    sizes: sizes as Record<string, number>,
    checksum: m.checksum as string,
  };
  const expected = blake3(canonicalBytes(manifest, ZERO_CHECKSUM)).toHex();
  if (manifest.checksum !== expected || !sameBytes(canonicalBytes(manifest, expected), bytes)) {
    fail("does not match its checksum; the commit is corrupt");
  }
  return manifest;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
