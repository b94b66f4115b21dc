/**
 * Contract memory costs, each beside a baseline in the same run:
 *
 * - snapshot + write 4 pages + revert on a memory whose committed state is
 *   1 GiB vs 1 MiB (the ratio must stay at most 1.5: costs follow the pages
 *   written, not the memory size);
 * - finding the written pages of a 64 MiB memory whose every page was read
 *   (the worst case for the page-table walk) with `PAGEMAP_SCAN`, beside the
 *   `/proc/self/pagemap` fallback and a byte comparison against a clean copy.
 *
 * Run: `deno task bench` (or `deno bench -A bench/memory_bench.ts`).
 */

import { ContractMemory, WASM_PAGE_SIZE } from "../src/memory/mod.ts";
import { OS_PAGE_SIZE, WriteScanner } from "../src/memory/write_scanner.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const dir = Deno.makeTempDirSync({ prefix: "piecrust-memory-bench-" });

/** Writes a file of `size` bytes with a non-zero pattern, in 64 MiB chunks. */
function committedFile(name: string, size: number): string {
  const path = `${dir}/${name}`;
  const chunk = new Uint8Array(Math.min(size, 64 * MiB));
  for (let i = 0; i < chunk.length; i += 4096) chunk[i] = (i / 4096) & 0xff || 1;
  using file = Deno.openSync(path, { write: true, create: true, truncate: true });
  for (let written = 0; written < size; written += chunk.length) file.writeSync(chunk);
  return path;
}

function committedMemory(size: number): ContractMemory {
  return new ContractMemory(4 * GiB, {
    byteLength: size,
    files: [{
      path: committedFile(`state-${size}`, size),
      fileOffset: 0,
      memoryOffset: 0,
      byteLength: size,
    }],
    scratchDirectory: dir,
  });
}

const small = committedMemory(MiB);
const large = committedMemory(GiB);

/**
 * One top-level call that fails: snapshot, write 4 pages `stride` bytes
 * apart, revert. The same pages for both sizes isolate the memory size;
 * the page-table walk also grows with how far apart the written pages are
 * (one 4 KiB page table per 2 MiB touched), which the spread case shows.
 */
function failedCall(memory: ContractMemory, round: number, stride: number): void {
  memory.snapshot();
  const view = memory.view();
  for (let i = 0; i < 4; i++) view[i * stride + (round % WASM_PAGE_SIZE)] = round & 0xff;
  memory.revert();
}

let round = 0;
Deno.bench({
  name: "1 MiB memory",
  group: "snapshot + write 4 pages + revert",
  baseline: true,
  fn(): void {
    failedCall(small, round++, 4 * WASM_PAGE_SIZE);
  },
});
Deno.bench({
  name: "1 GiB memory",
  group: "snapshot + write 4 pages + revert",
  fn(): void {
    failedCall(large, round++, 4 * WASM_PAGE_SIZE);
  },
});
Deno.bench({
  name: "1 GiB memory, pages 256 MiB apart",
  group: "snapshot + write 4 pages + revert",
  fn(): void {
    failedCall(large, round++, GiB / 4);
  },
});

// --- written pages of a 64 MiB memory, every page read, 100 pages written ----------
const SIZE = 64 * MiB;
const scanned = committedMemory(SIZE);
const clean = Deno.readFileSync(`${dir}/state-${SIZE}`);
{
  const view = scanned.view();
  let sum = 0;
  for (let i = 0; i < SIZE; i += 4096) sum += view[i];
  for (let page = 0; page < 1024; page += 10) view[page * WASM_PAGE_SIZE + 8] ^= 0xff;
  if (sum === 0) throw new Error("the committed pattern was not read");
}
const expected = scanned.writtenPages().length;
if (expected !== 103) throw new Error(`expected 103 written pages, found ${expected}`);
const ioctlScanner = new WriteScanner("pagemap-scan");
const readScanner = new WriteScanner("pagemap-read");
/** The 64 KiB pages of `scanned` that `scanner` finds written, as `writtenPages()` counts them. */
function writtenPages(scanner: WriteScanner): number {
  const pages = new Set<number>();
  scanner.scan(scanned.base, SIZE, (offset, count) => {
    for (let page = offset; page < offset + count * OS_PAGE_SIZE; page += OS_PAGE_SIZE) {
      pages.add(Math.floor(page / WASM_PAGE_SIZE));
    }
  });
  return pages.size;
}

Deno.bench({
  name: "PAGEMAP_SCAN (default)",
  group: "find the written pages of 64 MiB",
  baseline: true,
  fn(): void {
    if (writtenPages(ioctlScanner) !== expected) throw new Error("wrong count");
  },
});
Deno.bench({
  name: "/proc/self/pagemap entries (fallback)",
  group: "find the written pages of 64 MiB",
  fn(): void {
    if (writtenPages(readScanner) !== expected) throw new Error("wrong count");
  },
});
Deno.bench({
  name: "compare with a clean copy",
  group: "find the written pages of 64 MiB",
  fn(): void {
    const view = scanned.view();
    let changed = 0;
    for (let page = 0; page < SIZE / WASM_PAGE_SIZE; page++) {
      const offset = page * WASM_PAGE_SIZE;
      for (let i = offset; i < offset + WASM_PAGE_SIZE; i++) {
        if (view[i] !== clean[i]) {
          changed++;
          break;
        }
      }
    }
    // Comparing cannot see same-value writes, so it finds fewer pages than were written.
    if (changed === 0) throw new Error("no change found");
  },
});

globalThis.addEventListener("unload", () => {
  small.close();
  large.close();
  scanned.close();
  Deno.removeSync(dir, { recursive: true });
});
