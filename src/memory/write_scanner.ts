/**
 * Finding the pages of a mapping that were written, from the kernel's own
 * page tables.
 *
 * A page mapped `MAP_PRIVATE` from a file, or an untouched anonymous page,
 * is replaced by a private anonymous page on its first write: the kernel's
 * copy-on-write. So "written since the page was (re)mapped" is exactly
 * "present, not file-backed and not the shared zero page" (or swapped out,
 * which only private anonymous pages are). Same-value writes count, reads
 * never do — the write semantics piecrust's state root needs.
 *
 * Linux 6.7+ answers with the `PAGEMAP_SCAN` ioctl, which walks only
 * populated page tables and returns matching ranges, so a scan costs in
 * proportion to the pages the process has touched, not to the size of the
 * range. Older kernels fall back to reading one `/proc/self/pagemap` entry
 * per page, which costs in proportion to the range.
 *
 * Where userfaultfd offers asynchronous write protection (Linux 6.7+, and
 * not refused by a seccomp filter), ranges are registered with it and a
 * written page can be made clean again in place by write-protecting it
 * ({@linkcode WriteScanner.protect}): its next write only clears that
 * protection in the kernel (no copy, no fault delivered anywhere). Without it, the only
 * way to make a written page clean is to map it again from a file, which
 * costs an `mmap`, a TLB flush and a copy on the next write.
 *
 * @module
 */

import {
  OpenFlags,
  PAGE_REGION_SIZE,
  PageCategory,
  PAGEMAP_SCAN,
  PM_SCAN_ARG_SIZE,
  SYS_USERFAULTFD,
  UFFD_API,
  UFFD_FEATURE_WP_ASYNC,
  UFFDIO_API,
  UFFDIO_REGISTER,
  UFFDIO_REGISTER_MODE_WP,
  UFFDIO_WRITEPROTECT,
  UFFDIO_WRITEPROTECT_MODE_WP,
  UserfaultfdFlags,
} from "../../ffi/libc.ts";
import { libc } from "../native/library.ts";
import { PiecrustError } from "../errors.ts";
import { errno, osError } from "../native/os.ts";

/**
 * The OS page size that write tracking works at.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WASM_PAGE_SIZE } from "../bytecode/abi.ts";
 * import { OS_PAGE_SIZE } from "./write_scanner.ts";
 *
 * assert.equal(WASM_PAGE_SIZE / OS_PAGE_SIZE, 16); // write tracking is 16 times finer than pages
 * ```
 */
export const OS_PAGE_SIZE = 4096;

/** Receives a run of written pages: `count` pages from byte offset `offset`. */
export type WrittenRunCallback = (offset: number, count: number) => void;

/**
 * Which kernel interface a {@linkcode WriteScanner} uses:
 * `"write-protect"` (`PAGEMAP_SCAN` on ranges registered with userfaultfd,
 * which can make written pages clean in place), `"pagemap-scan"` or
 * `"pagemap-read"`.
 */
export type ScanMethod = "write-protect" | "pagemap-scan" | "pagemap-read";

const REGIONS = 128;
/** pagemap entry bits in the high word: 63 present, 62 swapped, 61 file/shared, 56 exclusive. */
const PRESENT_HI = 1 << 31;
const SWAPPED_HI = 1 << 30;
const FILE_HI = 1 << 29;
const EXCLUSIVE_HI = 1 << 24;
const ENOTTY = 25;
const EINVAL = 22;
/** Entries read per pread in the fallback: 1 MiB of entries covers 512 MiB. */
const FALLBACK_ENTRIES = 131072;

/**
 * Reports written pages of address ranges of this process. One per isolate;
 * see {@linkcode writeScanner}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContractMemory } from "./contract_memory.ts";
 * import { OS_PAGE_SIZE, WriteScanner } from "./write_scanner.ts";
 *
 * using memory = new ContractMemory(2 ** 20, { byteLength: 65536 });
 * memory.view()[5 * OS_PAGE_SIZE] = 1;
 * for (const method of ["pagemap-scan", "pagemap-read"] as const) {
 *   const runs: [number, number][] = [];
 *   new WriteScanner(method).scan(memory.base, memory.byteLength, (offset, count) => {
 *     runs.push([offset, count]);
 *   });
 *   assert.deepEqual(runs, [[5 * OS_PAGE_SIZE, 1]]);
 * }
 * ```
 */
export class WriteScanner {
  readonly #fd: number;
  /** The userfaultfd descriptor of the `"write-protect"` method, else -1. */
  readonly #userfaultfd: number;
  #method: ScanMethod;
  readonly #arg = new BigUint64Array(new ArrayBuffer(PM_SCAN_ARG_SIZE));
  readonly #argPointer = Deno.UnsafePointer.of(this.#arg);
  readonly #regions = new BigUint64Array(new ArrayBuffer(REGIONS * PAGE_REGION_SIZE));
  /** `struct uffdio_register` (start, len, mode, ioctls), also used as `struct uffdio_writeprotect`. */
  readonly #registerArg = new BigUint64Array(new ArrayBuffer(32));
  readonly #registerPointer = Deno.UnsafePointer.of(this.#registerArg);
  #entries: Uint32Array | undefined;

  /**
   * Opens `/proc/self/pagemap` and, for `"write-protect"` (the default where
   * the kernel allows it), a userfaultfd; `method` forces an interface
   * (tests use it) and throws a `MemoryError` if it is unavailable.
   */
  constructor(method?: ScanMethod) {
    const fd = libc().open(
      new TextEncoder().encode("/proc/self/pagemap\0"),
      OpenFlags.RDONLY | OpenFlags.CLOEXEC,
      0,
    );
    if (fd < 0) {
      throw new PiecrustError(
        "MemoryError",
        `cannot open /proc/self/pagemap (errno ${errno()}): write tracking needs Linux ` +
          "and read access to /proc/self/pagemap (--allow-read)",
      );
    }
    this.#fd = fd;
    this.#userfaultfd = method === undefined || method === "write-protect"
      ? openAsyncUserfaultfd()
      : -1;
    if (method === "write-protect" && this.#userfaultfd < 0) {
      libc().close(fd);
      throw new PiecrustError(
        "MemoryError",
        `this kernel offers no asynchronous write protection (errno ${errno()})`,
      );
    }
    this.#method = this.#userfaultfd >= 0 ? "write-protect" : method ?? "pagemap-scan";
    const arg = this.#arg;
    arg[0] = BigInt(PM_SCAN_ARG_SIZE);
    arg[5] = Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#regions));
    arg[6] = BigInt(REGIONS);
    // Match: not file-backed, not the zero page, present or swapped, and, where
    // pages are write-protected when clean, not protected.
    arg[8] = PageCategory.FILE | PageCategory.PFNZERO;
    arg[9] = PageCategory.FILE | PageCategory.PFNZERO |
      (this.#method === "write-protect" ? PageCategory.WRITTEN : 0n);
    arg[10] = PageCategory.PRESENT | PageCategory.SWAPPED;
    arg[11] = PageCategory.PRESENT;
  }

  /** The kernel interface in use. */
  get method(): ScanMethod {
    return this.#method;
  }

  /**
   * Whether {@linkcode protect} can make written pages clean in place, so
   * the caller need not map them again to see their next write.
   */
  get cleansInPlace(): boolean {
    return this.#method === "write-protect";
  }

  /**
   * Makes the mapped range `[start, start + length)` trackable by the
   * `"write-protect"` method; a no-op for the others. Call it for a fresh
   * reservation and after every `mmap` into one (a new mapping is not
   * registered). If the kernel refuses, the scanner falls back to
   * `"pagemap-scan"` for good, which reports every page this one would.
   */
  register(start: bigint, length: number): void {
    if (this.#method !== "write-protect" || length === 0) return;
    const range = this.#registerArg;
    range[0] = start;
    range[1] = BigInt(length);
    range[2] = UFFDIO_REGISTER_MODE_WP;
    range[3] = 0n;
    if (libc().ioctl(this.#userfaultfd, UFFDIO_REGISTER, this.#registerPointer) !== 0) {
      this.#method = "pagemap-scan";
      this.#arg[9] = PageCategory.FILE | PageCategory.PFNZERO;
    }
  }

  /**
   * Makes the registered range `[start, start + length)` clean in place:
   * its pages count as written again only after their next write. Only for
   * {@linkcode cleansInPlace}; throws a `MemoryError` otherwise or if the
   * kernel refuses.
   */
  protect(start: bigint, length: number): void {
    if (this.#method !== "write-protect") {
      throw new PiecrustError("MemoryError", `the ${this.#method} method cannot protect pages`);
    }
    const range = this.#registerArg;
    range[0] = start;
    range[1] = BigInt(length);
    range[2] = UFFDIO_WRITEPROTECT_MODE_WP;
    if (libc().ioctl(this.#userfaultfd, UFFDIO_WRITEPROTECT, this.#registerPointer) !== 0) {
      throw osError("ioctl(UFFDIO_WRITEPROTECT)");
    }
  }

  /**
   * Calls `onRun` for each run of written OS pages in
   * `[start, start + length)`, in ascending order, with offsets relative to
   * `start`. `start` and `length` must be multiples of 4 KiB.
   */
  scan(start: bigint, length: number, onRun: WrittenRunCallback): void {
    if (length === 0) return;
    if (this.#method !== "pagemap-read") {
      if (this.#scanIoctl(start, length, onRun)) return;
      this.#method = "pagemap-read";
    }
    this.#scanEntries(start, length, onRun);
  }

  /** Returns false if the kernel has no `PAGEMAP_SCAN`. */
  #scanIoctl(start: bigint, length: number, onRun: WrittenRunCallback): boolean {
    const arg = this.#arg;
    const regions = this.#regions;
    const end = start + BigInt(length);
    let from = start;
    while (from < end) {
      arg[2] = from;
      arg[3] = end;
      const count = libc().ioctl(this.#fd, PAGEMAP_SCAN, this.#argPointer);
      if (count < 0) {
        const code = errno();
        if (from === start && (code === ENOTTY || code === EINVAL)) return false;
        throw osError("ioctl(PAGEMAP_SCAN)");
      }
      for (let i = 0; i < count; i++) {
        const first = Number(regions[i * 3] - start);
        onRun(first, Number(regions[i * 3 + 1] - start) / OS_PAGE_SIZE - first / OS_PAGE_SIZE);
      }
      // walk_end: the kernel stops early when the region buffer is full.
      if (arg[4] <= from) throw new PiecrustError("MemoryError", "PAGEMAP_SCAN made no progress");
      from = arg[4];
    }
    return true;
  }

  #scanEntries(start: bigint, length: number, onRun: WrittenRunCallback): void {
    this.#entries ??= new Uint32Array(new ArrayBuffer(FALLBACK_ENTRIES * 8));
    const entries = this.#entries;
    const entriesPointer = Deno.UnsafePointer.of(entries);
    const pages = length / OS_PAGE_SIZE;
    let runStart = -1;
    for (let done = 0; done < pages; done += FALLBACK_ENTRIES) {
      const batch = Math.min(FALLBACK_ENTRIES, pages - done);
      const offset = (start / BigInt(OS_PAGE_SIZE) + BigInt(done)) * 8n;
      const read = libc().pread(this.#fd, entriesPointer, BigInt(batch * 8), offset);
      if (Number(read) !== batch * 8) throw osError("pread(/proc/self/pagemap)");
      for (let i = 0; i < batch; i++) {
        const hi = entries[i * 2 + 1];
        const written = (hi & SWAPPED_HI) !== 0 ||
          ((hi & PRESENT_HI) !== 0 && (hi & FILE_HI) === 0 && (hi & EXCLUSIVE_HI) !== 0);
        const page = done + i;
        if (written && runStart < 0) runStart = page;
        else if (!written && runStart >= 0) {
          onRun(runStart * OS_PAGE_SIZE, page - runStart);
          runStart = -1;
        }
      }
    }
    if (runStart >= 0) onRun(runStart * OS_PAGE_SIZE, pages - runStart);
  }
}

/**
 * A userfaultfd with asynchronous write protection, or -1 where the kernel
 * (or a seccomp filter, or `vm.unprivileged_userfaultfd`) refuses one. It
 * stays open for the isolate's life: closing it would unregister every range.
 */
function openAsyncUserfaultfd(): number {
  const lib = libc();
  const flags = UserfaultfdFlags.USER_MODE_ONLY | UserfaultfdFlags.NONBLOCK |
    UserfaultfdFlags.CLOEXEC;
  const fd = Number(lib.syscall(SYS_USERFAULTFD, flags));
  if (fd < 0) return -1;
  const api = new BigUint64Array([UFFD_API, UFFD_FEATURE_WP_ASYNC, 0n]);
  if (lib.ioctl(fd, UFFDIO_API, Deno.UnsafePointer.of(api)) !== 0) {
    lib.close(fd);
    return -1;
  }
  return fd;
}

let scanner: WriteScanner | undefined;

/**
 * The isolate's write scanner, opened on first use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeScanner } from "./write_scanner.ts";
 *
 * assert.equal(writeScanner(), writeScanner()); // one per isolate
 * ```
 */
export function writeScanner(): WriteScanner {
  scanner ??= new WriteScanner();
  return scanner;
}
