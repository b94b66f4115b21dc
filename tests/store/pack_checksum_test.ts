/** Tests of src/store/pack_checksum.ts. */

import assert from "node:assert/strict";
import { WASM_PAGE_SIZE } from "../../src/memory/mod.ts";
import { blake3 } from "../../src/merkle/blake3.ts";
import { hashPackFile, packChecksum } from "../../src/store/pack_checksum.ts";

function pageOf(fill: number): Uint8Array {
  return new Uint8Array(WASM_PAGE_SIZE).fill(fill);
}

function withFile(bytes: Uint8Array, body: (path: string) => void): void {
  const path = Deno.makeTempFileSync({ prefix: "piecrust-pack-" });
  try {
    Deno.writeFileSync(path, bytes);
    body(path);
  } finally {
    Deno.removeSync(path);
  }
}

Deno.test("packChecksum is blake3 over the page leaves in order", () => {
  const leaves = [blake3(pageOf(1)), blake3(pageOf(2))];
  const joined = new Uint8Array(64);
  joined.set(leaves[0]);
  joined.set(leaves[1], 32);
  assert.equal(packChecksum(leaves), blake3(joined).toHex());
  assert.equal(packChecksum([]), blake3(new Uint8Array()).toHex());
});

Deno.test("hashPackFile matches packChecksum of the file's pages", () => {
  const pack = new Uint8Array(3 * WASM_PAGE_SIZE);
  pack.set(pageOf(9), WASM_PAGE_SIZE);
  pack[3 * WASM_PAGE_SIZE - 1] = 1;
  const leaves = [0, 1, 2].map((i) =>
    blake3(pack.subarray(i * WASM_PAGE_SIZE, (i + 1) * WASM_PAGE_SIZE))
  );
  withFile(pack, (path) => assert.equal(hashPackFile(path), packChecksum(leaves)));
});

Deno.test("hashPackFile matches packChecksum across its 4 MiB reads, a short last piece included", () => {
  for (const length of [64 * WASM_PAGE_SIZE, 128 * WASM_PAGE_SIZE, 70 * WASM_PAGE_SIZE + 100]) {
    const pack = new Uint8Array(length).map((_, i) => (i * 7 + (i >> 16)) % 256);
    const leaves: Uint8Array[] = [];
    for (let offset = 0; offset < length; offset += WASM_PAGE_SIZE) {
      leaves.push(blake3(pack.subarray(offset, Math.min(offset + WASM_PAGE_SIZE, length))));
    }
    withFile(pack, (path) => assert.equal(hashPackFile(path), packChecksum(leaves), `${length}`));
  }
});

Deno.test("hashPackFile changes with a flipped byte, swapped pages or a truncated file", () => {
  const pages = [pageOf(1), pageOf(2)];
  const expected = packChecksum(pages.map((page) => blake3(page)));
  const pack = new Uint8Array(2 * WASM_PAGE_SIZE);
  pack.set(pages[1]);
  pack.set(pages[0], WASM_PAGE_SIZE);
  withFile(pack, (path) => assert.notEqual(hashPackFile(path), expected));
  pack.set(pages[0]);
  pack.set(pages[1], WASM_PAGE_SIZE);
  withFile(pack, (path) => assert.equal(hashPackFile(path), expected));
  pack[WASM_PAGE_SIZE + 5] ^= 1;
  withFile(pack, (path) => assert.notEqual(hashPackFile(path), expected));
  pack[WASM_PAGE_SIZE + 5] ^= 1;
  withFile(
    pack.subarray(0, pack.length - 1),
    (path) => assert.notEqual(hashPackFile(path), expected),
  );
  withFile(new Uint8Array(), (path) => assert.equal(hashPackFile(path), packChecksum([])));
});

Deno.test("hashPackFile fails on a missing file", () => {
  assert.throws(() => hashPackFile("/nonexistent/piecrust.pages"), Deno.errors.NotFound);
});
