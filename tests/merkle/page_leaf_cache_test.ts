import assert from "node:assert/strict";
import { blake3, blake3FromSubtrees, blake3Subtree } from "../../src/merkle/blake3.ts";
import { PAGE_PART_SIZE, PageLeafCache } from "../../src/merkle/page_leaf_cache.ts";
import { pageLeaf, WASM_PAGE_SIZE } from "../../src/merkle/mod.ts";

function lcg(seed: number): (below: number) => number {
  return (below) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % below;
  };
}

Deno.test("blake3FromSubtrees of blake3Subtree parts equals blake3 for every split of 64 KiB", () => {
  const random = lcg(1);
  const data = new Uint8Array(65536).map(() => random(256));
  for (let size = 1024; size <= 32768; size *= 2) {
    const count = data.length / size;
    const parts = new Uint8Array(32 * count);
    for (let i = 0; i < count; i++) {
      blake3Subtree(data.subarray(i * size, (i + 1) * size), i * size, parts, 32 * i);
    }
    assert.deepEqual(blake3FromSubtrees(parts), blake3(data), `${count} parts of ${size} bytes`);
  }
});

Deno.test("blake3Subtree and blake3FromSubtrees reject shapes that are not subtrees", () => {
  const out = new Uint8Array(32);
  for (const length of [0, 512, 3072, 131072]) {
    assert.throws(() => blake3Subtree(new Uint8Array(length), 0, out), RangeError, `${length}`);
  }
  for (const offset of [-4096, 2048, 0.5, 2 ** 32, NaN]) {
    assert.throws(() => blake3Subtree(new Uint8Array(4096), offset, out), RangeError, `${offset}`);
  }
  for (const length of [0, 32, 96, 65, 32 * 4096]) {
    assert.throws(() => blake3FromSubtrees(new Uint8Array(length)), RangeError, `${length}`);
  }
});

Deno.test("PageLeafCache leaf equals pageLeaf through random versions of several pages", () => {
  const random = lcg(2);
  const cache = new PageLeafCache({ capacity: 8 });
  const pages = [0, 1, 2].map(() => new Uint8Array(WASM_PAGE_SIZE));
  const leaves: (Uint8Array | undefined)[] = [undefined, undefined, undefined];
  for (let step = 0; step < 300; step++) {
    const which = random(3);
    const page = pages[which];
    let changed = 0;
    for (let writes = random(4); writes >= 0; writes--) {
      const at = random(WASM_PAGE_SIZE);
      page[at] = random(256);
      changed |= 1 << Math.floor(at / PAGE_PART_SIZE);
    }
    // Sometimes a caller marks more parts than it wrote: still the right leaf.
    if (random(5) === 0) changed |= 1 << random(16);
    const leaf = cache.leaf(page, leaves[which], changed);
    assert.deepEqual(leaf, pageLeaf(page), `step ${step}`);
    leaves[which] = leaf;
    assert.ok(cache.size <= 8);
  }
});

Deno.test("PageLeafCache builds on any kept version, also one built on before", () => {
  const cache = new PageLeafCache();
  const page = new Uint8Array(WASM_PAGE_SIZE);
  const base = cache.leaf(page);
  page[0] = 1;
  const first = cache.leaf(page, base, 1);
  // A second child of `first` (another session on the same base): from part 0 = 1.
  page[0] = 2;
  const left = cache.leaf(page, first, 1);
  page[0] = 1;
  page[65535] = 9;
  const right = cache.leaf(page, first, 1 << 15);
  const leftPage = new Uint8Array(WASM_PAGE_SIZE);
  leftPage[0] = 2;
  assert.deepEqual(left, pageLeaf(leftPage));
  assert.deepEqual(right, pageLeaf(page));
});

Deno.test("PageLeafCache keeps at most its capacity, dropping the least recently used", () => {
  const cache = new PageLeafCache({ capacity: 2 });
  const page = new Uint8Array(WASM_PAGE_SIZE);
  const leaves = [cache.leaf(page)];
  for (let version = 1; version <= 4; version++) {
    page[0] = version;
    leaves.push(cache.leaf(page, leaves.at(-1), 1));
    assert.equal(cache.size, Math.min(version, 2));
  }
  // An evicted version is still a valid base: its parts are hashed again.
  page[0] = 9;
  assert.deepEqual(cache.leaf(page, leaves[1], 1), pageLeaf(page));
});

Deno.test("PageLeafCache rejects pages, masks and capacities out of range", () => {
  const cache = new PageLeafCache();
  const page = new Uint8Array(WASM_PAGE_SIZE);
  assert.throws(() => cache.leaf(new Uint8Array(4096)), RangeError);
  for (const changed of [-1, 0x10000, 1.5, NaN]) {
    assert.throws(() => cache.leaf(page, new Uint8Array(32), changed), RangeError, `${changed}`);
  }
  for (const capacity of [0, -1, 1.5, Infinity]) {
    assert.throws(() => new PageLeafCache({ capacity }), RangeError, `${capacity}`);
  }
});
