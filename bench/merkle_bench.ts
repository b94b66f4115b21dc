/**
 * Merkle state costs, each beside a baseline in the same run:
 *
 * - BLAKE3 over 64 MiB as 1,024 pages of 64 KiB: `src/merkle`'s wasm SIMD
 *   hasher, the same on two threads (`blake3Many`, whose helper thread starts
 *   during the warm-up), hash-wasm (portable wasm), and native
 *   `b3sum --num-threads 1` and `2` on the same bytes in a temporary file.
 *   b3sum is timed as a whole process; its spawn cost is measured on an empty
 *   file and subtracted for the MiB/s it is credited with.
 * - A root after 16 page writes, in a page tree holding 16 pages vs 16,384:
 *   the cost must follow the pages written, not the pages held.
 *
 * After the run, MiB/s and ratios from the median iteration of each entry are
 * printed.
 *
 * Run: `deno bench --allow-read --allow-write --allow-run bench/merkle_bench.ts`.
 */

import { createBLAKE3 } from "hash-wasm";
import { blake3, emptyPageTree, type MerkleTree, WASM_PAGE_SIZE } from "../src/merkle/mod.ts";
import { blake3Many, hashingThreads } from "../src/merkle/blake3_many.ts";

const PAGES = 1024;
const MIB = PAGES * WASM_PAGE_SIZE / 2 ** 20;
const GROUP_HASH = `BLAKE3, ${MIB} MiB as ${PAGES} pages of 64 KiB`;
const GROUP_ROOT = "root after 16 dirty pages (wasm32 page tree)";

/** Iteration times in ms, by entry, for the summary. */
const samples = new Map<string, number[]>();

function timed(name: string, fn: () => void): () => void {
  const times: number[] = [];
  samples.set(name, times);
  return () => {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  };
}

function median(name: string): number {
  const times = (samples.get(name) ?? []).toSorted((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? NaN;
}

// Incompressible, not constant: the hash must not be able to short-cut anything.
const data = new Uint8Array(PAGES * WASM_PAGE_SIZE);
for (let offset = 0; offset < data.length; offset += WASM_PAGE_SIZE) {
  crypto.getRandomValues(data.subarray(offset, offset + WASM_PAGE_SIZE));
}
const pages = Array.from(
  { length: PAGES },
  (_, i) => data.subarray(i * WASM_PAGE_SIZE, (i + 1) * WASM_PAGE_SIZE),
);
let sink = 0;

// --- BLAKE3 ------------------------------------------------------------------------------
const OURS = "src/merkle blake3 (wasm SIMD)";
const HASH_WASM = "hash-wasm createBLAKE3 (portable wasm)";
const OURS_TWO = "src/merkle blake3Many (wasm SIMD, two threads)";
const B3SUM = `b3sum --num-threads 1, ${MIB} MiB file`;
const B3SUM_TWO = `b3sum --num-threads 2, ${MIB} MiB file`;
const B3SUM_EMPTY = "b3sum --num-threads 1, empty file (spawn cost)";

Deno.bench({
  name: OURS,
  group: GROUP_HASH,
  baseline: true,
  n: 30,
  warmup: 5,
  fn: timed(OURS, () => {
    for (const page of pages) sink ^= blake3(page)[0];
  }),
});

Deno.bench({
  name: OURS_TWO,
  group: GROUP_HASH,
  n: 30,
  warmup: 5,
  fn: timed(OURS_TWO, () => {
    for (const leaf of blake3Many(pages)) sink ^= leaf[0];
  }),
});

const hashWasm = await createBLAKE3();
Deno.bench({
  name: HASH_WASM,
  group: GROUP_HASH,
  n: 30,
  warmup: 5,
  fn: timed(HASH_WASM, () => {
    for (const page of pages) sink ^= hashWasm.init().update(page).digest("binary")[0];
  }),
});

/** Why b3sum cannot run here, or `undefined` if it can. */
function b3sumMissing(): string | undefined {
  try {
    const { success } = new Deno.Command("b3sum", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return success ? undefined : "`b3sum --version` failed";
  } catch (error) {
    return error instanceof Deno.errors.NotFound ? "b3sum is not on PATH" : String(error);
  }
}

const tempFiles: string[] = [];
const missing = b3sumMissing();
if (missing === undefined) {
  const dataFile = Deno.makeTempFileSync({ prefix: "merkle_bench_", suffix: ".bin" });
  const emptyFile = Deno.makeTempFileSync({ prefix: "merkle_bench_", suffix: ".empty" });
  tempFiles.push(dataFile, emptyFile);
  Deno.writeFileSync(dataFile, data);
  const b3sum = (file: string, threads = 1): () => void => (): void => {
    const { success, stdout } = new Deno.Command("b3sum", {
      args: ["--num-threads", `${threads}`, "--no-names", file],
      stderr: "inherit",
    }).outputSync();
    if (!success) throw new Error(`b3sum failed on ${file}`);
    sink ^= stdout[0];
  };
  Deno.bench({
    name: B3SUM,
    group: GROUP_HASH,
    n: 30,
    warmup: 5,
    fn: timed(B3SUM, b3sum(dataFile)),
  });
  Deno.bench({
    name: B3SUM_TWO,
    group: GROUP_HASH,
    n: 30,
    warmup: 5,
    fn: timed(B3SUM_TWO, b3sum(dataFile, 2)),
  });
  Deno.bench({
    name: B3SUM_EMPTY,
    group: GROUP_HASH,
    n: 30,
    warmup: 5,
    fn: timed(B3SUM_EMPTY, b3sum(emptyFile)),
  });
} else {
  console.log(`notice: skipping the native b3sum entries: ${missing}`);
}

// --- incremental root ----------------------------------------------------------------------
const DIRTY = 16;
/** Spread over the whole tree, so that the 16 paths share as little as possible. */
const dirtyPositions = Array.from({ length: DIRTY }, (_, i) => i * 4096 + 7);
const dirtyLeaves = dirtyPositions.map((_, i) => blake3(pages[i]));

function pageTree(present: number): MerkleTree {
  let tree = emptyPageTree("wasm32");
  const stride = 65536 / present;
  // Offset so that the dirty positions are among the present ones: sessions rewrite pages.
  for (let i = 0; i < present; i++) {
    tree = tree.insert(
      i * stride + 7 % stride,
      blake3(new Uint8Array(new Uint32Array([i]).buffer)),
    );
  }
  tree.root(); // a committed tree has its hashes
  return tree;
}

function writeDirty(base: MerkleTree): void {
  let tree = base;
  for (let i = 0; i < DIRTY; i++) tree = tree.insert(dirtyPositions[i], dirtyLeaves[i]);
  sink ^= tree.root()[0];
}

const SMALL = `${DIRTY} pages present`;
const LARGE = "16,384 pages present";
const smallTree = pageTree(DIRTY);
const largeTree = pageTree(16384);
Deno.bench({
  name: SMALL,
  group: GROUP_ROOT,
  baseline: true,
  fn: timed(SMALL, () => writeDirty(smallTree)),
});
Deno.bench({ name: LARGE, group: GROUP_ROOT, fn: timed(LARGE, () => writeDirty(largeTree)) });

// --- summary ---------------------------------------------------------------------------------
globalThis.addEventListener("unload", () => {
  for (const file of tempFiles) Deno.removeSync(file);
  const mibPerSecond = (ms: number): string => (MIB / (ms / 1000)).toFixed(0);
  const ours = median(OURS);
  const portable = median(HASH_WASM);
  console.log(`\nBLAKE3 over ${MIB} MiB in 64 KiB pages (median iteration):`);
  console.log(`  ours (wasm SIMD)   ${mibPerSecond(ours)} MiB/s`);
  const two = median(OURS_TWO);
  console.log(
    `  ours, two threads  ${mibPerSecond(two)} MiB/s (${hashingThreads()} hashing now); ` +
      `one thread/two = ${(ours / two).toFixed(2)}x`,
  );
  console.log(
    `  hash-wasm          ${mibPerSecond(portable)} MiB/s; ours/hash-wasm = ${
      (portable / ours).toFixed(2)
    }x`,
  );
  if (samples.has(B3SUM)) {
    const spawn = median(B3SUM_EMPTY);
    const native = median(B3SUM) - spawn;
    console.log(
      `  b3sum, 1 thread    ${mibPerSecond(native)} MiB/s ` +
        `(${median(B3SUM).toFixed(1)} ms per run minus ${spawn.toFixed(1)} ms spawn cost)`,
    );
    console.log(
      `  ours/native = ${(native / ours).toFixed(2)}; hash-wasm/native = ${
        (native / portable).toFixed(2)
      }`,
    );
    const nativeTwo = median(B3SUM_TWO) - spawn;
    console.log(
      `  b3sum, 2 threads   ${mibPerSecond(nativeTwo)} MiB/s; ours on two threads/native on two = ${
        (nativeTwo / two).toFixed(2)
      }`,
    );
  }
  const ratio = median(LARGE) / median(SMALL);
  console.log(
    `\nRoot after ${DIRTY} dirty pages: ${
      median(SMALL).toFixed(3)
    } ms with ${DIRTY} pages present, ` +
      `${median(LARGE).toFixed(3)} ms with 16,384; ratio ${
        ratio.toFixed(2)
      } (1 = independent of state size)`,
  );
  if (sink === 0.5) console.log("unreachable: keeps results alive");
});
