/**
 * {@linkcode ContractMemory}: a contract's linear memory, mapped
 * copy-on-write from immutable files, with exact write tracking and nested
 * snapshots.
 *
 * @module
 */

import { Madvise, MapFlags, MemfdFlags, OpenFlags, ProtFlags } from "../../ffi/libc.ts";
import { libc } from "../native/library.ts";
import type { HostMemory, MemoryRequest } from "../engine/memory_creator.ts";
import { PiecrustError, systemError } from "../errors.ts";
import { trackHandle, untrackHandle } from "../handles.ts";
import { at, checkMapped, errno, osError } from "../native/os.ts";
import { type AdoptedReservation, adoptReservation, Reservation } from "./reservation.ts";
import { OS_PAGE_SIZE, type WriteScanner, writeScanner } from "./write_scanner.ts";
import { WASM_PAGE_SIZE } from "../bytecode/abi.ts";

const OS_PAGES_PER_WASM_PAGE = WASM_PAGE_SIZE / OS_PAGE_SIZE;

/** A run of committed pages: `byteLength` bytes of `path` from `fileOffset`, at `memoryOffset`. */
export interface MemoryFileMapping {
  /** An immutable file; it is mapped, so it must never be modified or truncated. */
  path: string;
  /** Offset in the file; a multiple of 4 KiB. */
  fileOffset: number;
  /** Offset in the memory; a multiple of 64 KiB. */
  memoryOffset: number;
  /** Bytes to map; a multiple of 64 KiB, within the file. */
  byteLength: number;
}

/** Options of {@linkcode ContractMemory}. */
export interface ContractMemoryOptions {
  /** Accessible bytes at first; a multiple of 64 KiB. Default 0. */
  byteLength?: number;
  /** The most bytes the memory may grow to; a multiple of 64 KiB. Default: the reservation. */
  maxByteLength?: number;
  /** Committed pages, mapped copy-on-write; everything else reads as zero. Default none. */
  files?: readonly MemoryFileMapping[];
  /**
   * Directory for the memory's overlay file: an unnamed file that holds the
   * page versions written before each snapshot (about one per page written).
   * Default: none, an in-memory file (`memfd_create`, made at the first
   * page copy), which costs no file system work; a directory on a disk lets
   * the kernel write a large overlay out under memory pressure instead (its
   * blocks are allocated as it grows, so a full disk fails the snapshot
   * instead of faulting a write).
   */
  scratchDirectory?: string;
  /**
   * Finds the pages written since the last snapshot point. Default: the
   * isolate's shared scanner, which uses `PAGEMAP_SCAN` where the kernel has
   * it and reads `/proc/self/pagemap` otherwise.
   */
  writeScanner?: WriteScanner;
}

/**
 * Where an OS page's bytes come from: `source id × 2^32 + page index in that
 * source`. Id 0 is the zero page, id 1 the overlay file, ids from 2 the
 * committed files.
 */
type Source = number;
const ZERO: Source = 0;
const OVERLAY_ID = 1;
const SOURCE_STRIDE = 2 ** 32;

/** The most page and slot pointers a memory keeps of each (see `#pagePointers`). */
const POINTERS_KEPT = 256;

/** Flushes in a row that must find a hot page unchanged before it is write-protected again. */
const HOT_IDLE_FLUSHES = 4;
/** The most hot pages a memory keeps: each costs a compare at every flush. */
const HOT_PAGES = 64;
/** The most pages between two appended to the overlay that are copied again to join them (see `#bridged`). */
const MAX_BRIDGED_GAP = 4;
/** An in-place flush times one scan in this many. */
const SCAN_SAMPLE_EVERY = 8;
/** What a scan of a few pages costs, in ms; beyond it, a scan is walking pages earlier calls left. */
const CHEAP_SCAN_MS = 0.002;
/**
 * The time scans may spend beyond {@linkcode CHEAP_SCAN_MS} before the
 * pages in the page tables that need not be there are dropped, in ms: about
 * what dropping them and faulting the ones touched again back in costs, so
 * neither outweighs the other by much.
 */
const SWEEP_AFTER_MS = 1;

const PAGE_BYTES = BigInt(OS_PAGE_SIZE);

/** Calls `onRun` for each run of consecutive numbers in ascending `pages`. */
function forEachRun(pages: readonly number[], onRun: (first: number, count: number) => void): void {
  let i = 0;
  while (i < pages.length) {
    let count = 1;
    while (i + count < pages.length && pages[i + count] === pages[i] + count) count++;
    onRun(pages[i], count);
    i += count;
  }
}

/** Errno of `fallocate` on a file system without it. */
const EOPNOTSUPP = 95;

/**
 * Gives file `fd` blocks for `[offset, offset + length)`, extending it: with
 * `fallocate`, or by writing zeros where the file system lacks it.
 */
function allocateFile(fd: number, offset: number, length: number): void {
  const lib = libc();
  if (lib.fallocate(fd, 0, BigInt(offset), BigInt(length)) === 0) return;
  if (errno() !== EOPNOTSUPP) throw osError(`allocating ${length} bytes of the overlay file`);
  const zeros = new Uint8Array(Math.min(length, 1 << 20));
  const pointer = Deno.UnsafePointer.of(zeros);
  for (let done = 0; done < length;) {
    const chunk = Math.min(zeros.length, length - done);
    const written = Number(lib.pwrite(fd, pointer, BigInt(chunk), BigInt(offset + done)));
    if (written <= 0) throw osError(`extending the overlay file by ${length} bytes`);
    done += written;
  }
}

/** A snapshot point: the length then, and the source then of every page remapped since. */
interface SnapshotPoint {
  byteLength: number;
  saved: Map<number, Source>;
}

/**
 * Errnos of `open(O_TMPFILE)` on a file system without it (EISDIR from
 * kernels older than O_TMPFILE, EOPNOTSUPP); any other is a real failure.
 */
const NO_TMPFILE = new Set([21, 95]);

/** The name of in-memory overlay files, as `/proc/<pid>/fd` shows them. */
const MEMFD_NAME = new TextEncoder().encode("piecrust-overlay\0");

function checkMultiple(name: string, value: number, unit: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value % unit !== 0) {
    throw new RangeError(`${name} must be a non-negative multiple of ${unit}, got ${value}`);
  }
}

/**
 * A contract's linear memory.
 *
 * The whole {@linkcode Reservation} is mapped `PROT_NONE`, and the first
 * {@linkcode byteLength} bytes are accessible: wasm and the host trap (or
 * fail their bounds checks) beyond it. Committed pages are mapped
 * `MAP_PRIVATE` from their immutable files, so writes never reach the files:
 * the kernel copies a page on its first write, and the memory finds written
 * pages in the page tables ({@linkcode WriteScanner}).
 *
 * {@linkcode snapshot}, {@linkcode revert} and {@linkcode apply} nest to any
 * depth. A snapshot copies the pages written since the previous point into
 * the overlay file, where they become those pages' sources, and makes them
 * clean so that the next write is seen: write-protected in place where the
 * kernel offers userfaultfd write protection (pages written at every
 * snapshot stay writable and are compared instead), else mapped from the
 * copy. Revert maps the pages written since its snapshot back to the
 * sources they had then (no copying) and restores the length; apply keeps
 * the changes. Each costs in proportion to the pages written since its
 * snapshot, never to the size of the memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContractMemory } from "./contract_memory.ts";
 *
 * using memory = new ContractMemory(2 ** 32, { byteLength: 65536 });
 * memory.snapshot();
 * memory.view()[10] = 42;
 * memory.revert();
 * assert.equal(memory.view()[10], 0);
 * ```
 *
 * @example Reusing address space from a pool
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContractMemory } from "./contract_memory.ts";
 * import { ReservationPool } from "./reservation.ts";
 *
 * using pool = new ReservationPool();
 * const first = new ContractMemory(pool.acquire(2 ** 32), { byteLength: 65536 });
 * first.view()[0] = 9;
 * first.close(); // its reservation goes back to the pool, reset
 * assert.equal(pool.idle, 1);
 * using memory = new ContractMemory(pool.acquire(2 ** 32), { byteLength: 65536 });
 * assert.equal(memory.view()[0], 0);
 * assert.equal(pool.idle, 0);
 * ```
 */
export class ContractMemory {
  /** Address of byte 0; never changes. */
  readonly base: bigint;
  /** Bytes of address space reserved from {@linkcode base}. */
  readonly reservation: number;
  /** The most bytes {@linkcode grow} allows. */
  readonly maxByteLength: number;
  #byteLength: number;
  /** Readable and writable: {@linkcode byteLength}, or more after a revert that kept the length. */
  #accessibleLength: number;
  readonly #reservation: AdoptedReservation;
  #closed = false;
  #attached = 0;
  #view: Uint8Array | undefined;
  /** File descriptors by source id; index 0 (zero pages) is unused. */
  readonly #fds: number[] = [-1];
  readonly #files: { memoryPage: number; pages: number; source: Source }[] = [];
  #overlayPages = 0;
  /**
   * The overlay file mapped shared (0n until the first copy), so that pages
   * are copied in with `memcpy`: a `pwrite` per flush cost more than the
   * copy itself. Holds {@linkcode #overlayCapacity} pages.
   */
  #overlayWindow = 0n;
  #overlayCapacity = 0;
  /**
   * Pointer objects of memory pages and overlay slots, made once: a flush
   * compares and copies the same few (hot) pages every call, and making a
   * pointer from a BigInt costs about 100 ns, four per page and flush.
   */
  readonly #pagePointers = new Map<number, Deno.PointerValue>();
  readonly #slotPointers = new Map<number, Deno.PointerValue>();
  /** Whether the overlay is a file in a scratch directory rather than in memory. */
  #overlayOnDisk = false;
  /** Sources of the pages that differ from their committed source. */
  readonly #current = new Map<number, Source>();
  readonly #points: SnapshotPoint[] = [];
  readonly #writeScanner: WriteScanner | undefined;
  /**
   * Pages a flush left writable after copying them (written at two flushes
   * in a row: likely written again), each with how many flushes in a row
   * then found it unchanged (see `#flushInPlace`).
   */
  readonly #hot = new Map<number, number>();
  /** Pages write-protected in place, private copies still in the page tables. */
  readonly #protected = new Set<number>();
  /** In-place flushes so far, to sample their scans' times. */
  #flushes = 0;
  /** Estimated scan time beyond {@linkcode CHEAP_SCAN_MS} per scan since the last sweep, in ms. */
  #scanExcess = 0;
  /** Pages the last in-place flush copied. */
  #copiedLast = new Set<number>();
  /** The set `#copiedLast` is swapped with at each flush, and the flush's page lists: reused, not reallocated. */
  #copiedNow = new Set<number>();
  readonly #found: number[] = [];
  readonly #toCopy: number[] = [];
  readonly #toAppend: number[] = [];
  readonly #bridgedPages: number[] = [];
  readonly #toProtect: number[] = [];

  /**
   * Maps the committed files into `reservation`: a {@linkcode Reservation}
   * in its fresh state, which the memory then owns (even if this throws) and
   * releases on {@linkcode close}, or a size in bytes to reserve a new one.
   * Throws a `MemoryError` if the kernel refuses, and a `RangeError` for
   * misaligned sizes or mappings outside the memory or their file.
   */
  constructor(reservation: number | Reservation, options: ContractMemoryOptions = {}) {
    if (typeof reservation === "number") {
      checkMultiple("reservation", reservation, WASM_PAGE_SIZE);
      ContractMemory.#validate(reservation, options);
      reservation = Reservation.map(reservation);
      this.#reservation = adoptReservation(reservation);
    } else {
      this.#reservation = adoptReservation(reservation);
      try {
        checkMultiple("reservation", reservation.byteLength, WASM_PAGE_SIZE);
        ContractMemory.#validate(reservation.byteLength, options);
      } catch (error) {
        this.#reservation.release();
        throw error;
      }
    }
    this.#writeScanner = options.writeScanner;
    this.base = reservation.base;
    this.reservation = reservation.byteLength;
    this.maxByteLength = options.maxByteLength ?? reservation.byteLength;
    this.#byteLength = 0;
    this.#accessibleLength = 0;
    trackHandle("memory");
    try {
      // An in-memory overlay is made at the first copy: many sessions load a
      // contract, call it once and commit, and never copy a page.
      if (options.scratchDirectory === undefined) this.#fds.push(-1);
      else this.#openOverlay(options.scratchDirectory);
      this.#scanner().register(this.base, this.reservation);
      this.#protect(0, options.byteLength ?? 0, ProtFlags.READ | ProtFlags.WRITE);
      this.#byteLength = this.#accessibleLength = options.byteLength ?? 0;
      for (const file of ContractMemory.#sortedFiles(options)) this.#mapFile(file);
    } catch (error) {
      this.close();
      throw error;
    }
  }

  static #sortedFiles(options: ContractMemoryOptions): MemoryFileMapping[] {
    return [...(options.files ?? [])].sort((a, b) => a.memoryOffset - b.memoryOffset);
  }

  static #validate(reservation: number, options: ContractMemoryOptions): void {
    const byteLength = options.byteLength ?? 0;
    const maxByteLength = options.maxByteLength ?? reservation;
    checkMultiple("byteLength", byteLength, WASM_PAGE_SIZE);
    checkMultiple("maxByteLength", maxByteLength, WASM_PAGE_SIZE);
    if (maxByteLength > reservation || byteLength > maxByteLength) {
      throw new RangeError(
        `need byteLength ${byteLength} <= maxByteLength ${maxByteLength} <= reservation ${reservation}`,
      );
    }
    let end = 0;
    for (const file of ContractMemory.#sortedFiles(options)) {
      checkMultiple("fileOffset", file.fileOffset, OS_PAGE_SIZE);
      checkMultiple("memoryOffset", file.memoryOffset, WASM_PAGE_SIZE);
      checkMultiple("byteLength", file.byteLength, WASM_PAGE_SIZE);
      if (file.memoryOffset < end || file.memoryOffset + file.byteLength > maxByteLength) {
        throw new RangeError(`file mappings overlap or exceed the memory (${file.path})`);
      }
      end = file.memoryOffset + file.byteLength;
    }
  }

  /**
   * The memory's length: what `memory.size` reports, what host functions may
   * touch and what a commit keeps.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractMemory } from "./contract_memory.ts";
   *
   * using memory = new ContractMemory(2 ** 20, { byteLength: 65536 });
   * assert.equal(memory.byteLength, 65536);
   * ```
   */
  get byteLength(): number {
    return this.#byteLength;
  }

  /**
   * Bytes that are readable and writable: {@linkcode byteLength}, or more
   * after a `revert({ keepLength: true })`, until the memory grows over them
   * or a new instance attaches. It is the length wasmtime sees.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractMemory } from "./contract_memory.ts";
   *
   * using memory = new ContractMemory(2 ** 20, { byteLength: 65536 });
   * memory.snapshot();
   * memory.grow(2 * 65536);
   * memory.revert({ keepLength: true });
   * assert.equal(memory.byteLength, 65536);
   * assert.equal(memory.accessibleLength, 2 * 65536);
   * ```
   */
  get accessibleLength(): number {
    return this.#accessibleLength;
  }

  /**
   * Open snapshots.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractMemory } from "./contract_memory.ts";
   *
   * using memory = new ContractMemory(2 ** 20);
   * memory.snapshot();
   * memory.snapshot();
   * assert.equal(memory.depth, 2);
   * memory.apply();
   * assert.equal(memory.depth, 1);
   * ```
   */
  get depth(): number {
    return this.#points.length;
  }

  /**
   * A view of the accessible bytes, aliasing the memory. It becomes invalid
   * when the length changes ({@linkcode grow}, {@linkcode revert}): fetch a
   * new one after those, never keep one across calls into wasm, never use
   * one after {@linkcode close} (a pooled reservation then holds another
   * memory). Its `buffer` may be longer than the view and partly
   * inaccessible: index through the view only.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractMemory } from "./contract_memory.ts";
   *
   * using memory = new ContractMemory(2 ** 20, { byteLength: 65536 });
   * memory.view().set([1, 2], 100);
   * assert.deepEqual(memory.view().subarray(100, 102), new Uint8Array([1, 2]));
   * ```
   */
  view(): Uint8Array {
    this.#checkOpen();
    if (this.#view === undefined || this.#view.byteLength !== this.#byteLength) {
      this.#view = this.#reservation.view(this.#byteLength);
    }
    return this.#view;
  }

  /**
   * Grows the memory to `newByteLength` bytes, fresh zero pages past the old
   * length (also where a kept length left pages accessible); throws a
   * `MemoryError` past the maximum.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PiecrustError } from "../errors.ts";
   * import { ContractMemory } from "./contract_memory.ts";
   *
   * using memory = new ContractMemory(2 ** 20, { maxByteLength: 2 * 65536 });
   * memory.grow(2 * 65536);
   * assert.equal(memory.view().length, 2 * 65536);
   * assert.throws(
   *   () => memory.grow(3 * 65536),
   *   (e) => e instanceof PiecrustError && e.kind === "MemoryError",
   * );
   * ```
   */
  grow(newByteLength: number): void {
    this.#checkOpen();
    checkMultiple("newByteLength", newByteLength, WASM_PAGE_SIZE);
    if (newByteLength > this.maxByteLength) {
      throw new PiecrustError(
        "MemoryError",
        `cannot grow to ${newByteLength} bytes: the maximum is ${this.maxByteLength}`,
      );
    }
    if (newByteLength <= this.#byteLength) return;
    const reused = Math.min(newByteLength, this.#accessibleLength);
    if (reused > this.#byteLength) {
      // Past the length, code that ignored the bounds may have written: start from zeros.
      const first = this.#byteLength / OS_PAGE_SIZE;
      this.#mapRun(first, reused / OS_PAGE_SIZE - first, ZERO, reused);
    }
    this.#protect(this.#accessibleLength, newByteLength, ProtFlags.READ | ProtFlags.WRITE);
    this.#byteLength = newByteLength;
    this.#accessibleLength = Math.max(this.#accessibleLength, newByteLength);
  }

  /**
   * Starts a snapshot point that {@linkcode revert} returns to.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractMemory } from "./contract_memory.ts";
   *
   * using memory = new ContractMemory(2 ** 20, { byteLength: 65536 });
   * memory.view()[0] = 1;
   * memory.snapshot();
   * memory.view()[0] = 2;
   * memory.revert();
   * assert.equal(memory.view()[0], 1);
   * ```
   */
  snapshot(): void {
    this.#checkOpen();
    this.#flush();
    this.#points.push({ byteLength: this.#byteLength, saved: new Map() });
  }

  /**
   * Returns contents and length to the latest open snapshot and closes it.
   * Throws a `MemoryError` if no snapshot is open.
   *
   * With `keepLength`, the length returns to the snapshot's, but the pages
   * grown since stay accessible, zeroed ({@linkcode accessibleLength}): a
   * wasm instance that uses the memory keeps the length it last grew to
   * (wasmtime has no way to shrink it), and code of wasmtime's that trusts
   * that length would fault on pages made inaccessible under it, killing the
   * process. So a memory whose instance may run again keeps them, until it
   * grows over them or a new instance attaches. Default false.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractMemory } from "./contract_memory.ts";
   *
   * using memory = new ContractMemory(2 ** 20, { byteLength: 65536 });
   * memory.snapshot();
   * memory.grow(2 * 65536);
   * memory.view()[65536] = 5;
   * memory.revert({ keepLength: true });
   * assert.equal(memory.byteLength, 65536);
   * assert.equal(memory.accessibleLength, 2 * 65536); // still accessible, zeroed
   * ```
   */
  revert(options: { keepLength?: boolean } = {}): void {
    this.#checkOpen();
    const point = this.#points.pop();
    if (point === undefined) {
      throw new PiecrustError("MemoryError", "revert without an open snapshot");
    }
    const pages = new Set(point.saved.keys());
    this.#forEachWrittenPage((page) => pages.add(page));
    const sorted = [...pages].sort((a, b) => a - b);
    const targets = sorted.map((page) =>
      point.saved.get(page) ?? this.#current.get(page) ?? this.#committedSource(page)
    );
    const accessibleAfter = options.keepLength ? this.#accessibleLength : point.byteLength;
    this.#remap(sorted, targets, accessibleAfter);
    for (let i = 0; i < sorted.length; i++) {
      if (targets[i] === this.#committedSource(sorted[i])) this.#current.delete(sorted[i]);
      else this.#current.set(sorted[i], targets[i]);
    }
    this.#protect(accessibleAfter, this.#accessibleLength, ProtFlags.NONE);
    this.#accessibleLength = accessibleAfter;
    this.#byteLength = point.byteLength;
  }

  /**
   * Keeps the changes since the latest open snapshot and closes it; an
   * enclosing snapshot can still revert them. Throws a `MemoryError` if no
   * snapshot is open.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractMemory } from "./contract_memory.ts";
   *
   * using memory = new ContractMemory(2 ** 20, { byteLength: 65536 });
   * memory.snapshot();
   * memory.view()[0] = 3;
   * memory.apply();
   * assert.equal(memory.view()[0], 3);
   * assert.equal(memory.depth, 0);
   * ```
   */
  apply(): void {
    this.#checkOpen();
    const point = this.#points.pop();
    if (point === undefined) {
      throw new PiecrustError("MemoryError", "apply without an open snapshot");
    }
    const below = this.#points.at(-1);
    if (below === undefined) return;
    // The enclosing snapshot point keeps its own, older source for a page it already saved.
    for (const [page, source] of point.saved) {
      if (!below.saved.has(page)) below.saved.set(page, source);
    }
  }

  /**
   * Maps in, with one system call, the pages of `[offset, offset + length)`
   * that are not mapped yet, as reading them would: for a caller about to
   * read the whole range, such as a commit writing a page to its file.
   * Write tracking turns off the kernel's fault-around, so a read fault
   * maps one 4 KiB page only, and faulting in a 64 KiB page by reading it
   * cost about 20 µs more here. Where the kernel cannot (before 5.14), the
   * reads fault as before.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractMemory } from "./contract_memory.ts";
   *
   * using memory = new ContractMemory(2 ** 20, { byteLength: 65536 });
   * memory.prefault(0, 65536);
   * assert.deepEqual(memory.writtenPages(), []); // reading is not writing
   * ```
   */
  prefault(offset: number, length: number): void {
    this.#checkOpen();
    checkMultiple("offset", offset, OS_PAGE_SIZE);
    checkMultiple("length", length, OS_PAGE_SIZE);
    if (offset + length > this.#byteLength) {
      throw new RangeError(
        `bytes ${offset}..${offset + length} are outside the memory's ${this.#byteLength}`,
      );
    }
    libc().madvise(this.#pageAddress(offset / OS_PAGE_SIZE), BigInt(length), Madvise.POPULATE_READ);
  }

  /**
   * Indices of the 64 KiB pages written since the memory was opened and not
   * reverted, ascending. Same-value writes count; reads never do.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractMemory } from "./contract_memory.ts";
   *
   * using memory = new ContractMemory(2 ** 20, { byteLength: 4 * 65536 });
   * memory.view()[2 * 65536] = 0; // a write of the same value counts too
   * void memory.view()[3 * 65536]; // a read does not
   * assert.deepEqual(memory.writtenPages(), [2]);
   * ```
   */
  writtenPages(): number[] {
    return [...this.writtenParts().keys()];
  }

  /**
   * The pages of {@linkcode writtenPages}, ascending, each with a mask of
   * its 4 KiB parts that were written (bit `i`: bytes `4096 i` to
   * `4096 (i + 1)` of the page). The page's other parts hold their
   * committed bytes.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractMemory } from "./contract_memory.ts";
   *
   * using memory = new ContractMemory(2 ** 20, { byteLength: 4 * 65536 });
   * memory.view()[2 * 65536 + 4096] = 1; // page 2, part 1
   * memory.view()[2 * 65536 + 65535] = 1; // page 2, part 15
   * assert.deepEqual(memory.writtenParts(), new Map([[2, (1 << 1) | (1 << 15)]]));
   * ```
   */
  writtenParts(): Map<number, number> {
    this.#checkOpen();
    const parts = new Map<number, number>();
    const add = (osPage: number) => {
      const page = Math.floor(osPage / OS_PAGES_PER_WASM_PAGE);
      parts.set(page, (parts.get(page) ?? 0) | (1 << (osPage % OS_PAGES_PER_WASM_PAGE)));
    };
    for (const osPage of this.#current.keys()) add(osPage);
    this.#forEachWrittenPage(add);
    return new Map([...parts].sort(([a], [b]) => a - b));
  }

  /**
   * This memory as wasmtime's host memory for one instance: validates that
   * the reservation covers what compiled code assumes (reservation + guard)
   * and grows to the module's minimum. The memory stays open after wasmtime
   * releases it; {@linkcode close} refuses while an instance still uses it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractMemory } from "./contract_memory.ts";
   *
   * using memory = new ContractMemory(2 ** 32 + 2 ** 31);
   * const host = memory.attach({ minimum: 65536, maximum: 2 ** 32, reserved: 2 ** 32, guard: 2 ** 31 });
   * assert.equal(host.base, memory.base);
   * assert.equal(host.byteLength, 65536);
   * host.release();
   * ```
   */
  attach(request: MemoryRequest): HostMemory {
    this.#checkOpen();
    if (request.reserved + request.guard > this.reservation) {
      throw new PiecrustError(
        "MemoryError",
        `the engine needs ${request.reserved + request.guard} bytes reserved per memory, ` +
          `this memory has ${this.reservation}`,
      );
    }
    if (this.#attached === 0 && this.#accessibleLength > this.#byteLength) {
      // A new instance sees the length: what a kept length left accessible goes.
      const first = this.#byteLength / OS_PAGE_SIZE;
      this.#mapRun(first, this.#accessibleLength / OS_PAGE_SIZE - first, ZERO);
      this.#accessibleLength = this.#byteLength;
    }
    if (request.minimum > this.#byteLength) this.grow(request.minimum);
    this.#attached++;
    return new Attachment(this, Math.min(this.maxByteLength, request.reserved), () => {
      this.#attached--;
    });
  }

  /**
   * Releases the reservation (back to its pool, reset, or unmapped) and
   * closes the memory's files. Idempotent; refuses while attached.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PiecrustError } from "../errors.ts";
   * import { ContractMemory } from "./contract_memory.ts";
   *
   * const memory = new ContractMemory(2 ** 20);
   * memory.close();
   * assert.throws(() => memory.view(), (e) => e instanceof PiecrustError && e.kind === "Disposed");
   * ```
   */
  close(): void {
    if (this.#closed) return;
    if (this.#attached > 0) {
      throw new PiecrustError("MemoryError", "the memory is still used by a wasm instance");
    }
    this.#closed = true;
    this.#view = undefined;
    this.#reservation.release();
    if (this.#overlayWindow !== 0n) {
      libc().munmap(at(this.#overlayWindow), BigInt(this.#overlayCapacity * OS_PAGE_SIZE));
    }
    for (const fd of this.#fds) if (fd >= 0) libc().close(fd);
    untrackHandle("memory");
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #checkOpen(): void {
    if (this.#closed) {
      throw new PiecrustError("Disposed", "the contract memory was used after it was closed");
    }
  }

  #openMemoryOverlay(): void {
    const fd = libc().memfd_create(MEMFD_NAME, MemfdFlags.CLOEXEC);
    if (fd < 0) throw osError("creating an in-memory overlay file (memfd_create)");
    this.#fds[OVERLAY_ID] = fd;
  }

  #openOverlay(directory: string): void {
    const lib = libc();
    const path = new TextEncoder().encode(`${directory}\0`);
    let fd = lib.open(path, OpenFlags.TMPFILE | OpenFlags.RDWR | OpenFlags.CLOEXEC, 0o600);
    if (fd < 0 && !NO_TMPFILE.has(errno())) {
      throw osError(`opening an overlay file in ${directory}`);
    }
    if (fd < 0) {
      // This file system has no O_TMPFILE: make a named file and unlink it at once.
      let named: string;
      try {
        named = Deno.makeTempFileSync({ dir: directory, prefix: "piecrust-overlay-" });
      } catch (error) {
        throw systemError(error, `making an overlay file in ${directory}`);
      }
      fd = lib.open(
        new TextEncoder().encode(`${named}\0`),
        OpenFlags.RDWR | OpenFlags.CLOEXEC,
        0,
      );
      const failure = fd < 0 ? osError(`opening an overlay file in ${directory}`) : undefined;
      try {
        Deno.removeSync(named);
      } catch (error) {
        if (fd >= 0) lib.close(fd);
        throw systemError(error, `unlinking the overlay file ${named}`);
      }
      if (failure !== undefined) throw failure;
    }
    this.#fds.push(fd);
    this.#overlayOnDisk = true;
  }

  #mapFile(file: MemoryFileMapping): void {
    let size: number;
    try {
      size = Deno.statSync(file.path).size;
    } catch (error) {
      throw systemError(error, `opening ${file.path}`);
    }
    if (file.fileOffset + file.byteLength > size) {
      // Mapping past the end of a file would kill the process with SIGBUS on access.
      throw new RangeError(
        `${file.path} has ${size} bytes; cannot map ${file.byteLength} from ${file.fileOffset}`,
      );
    }
    const fd = libc().open(
      new TextEncoder().encode(`${file.path}\0`),
      OpenFlags.RDONLY | OpenFlags.CLOEXEC,
      0,
    );
    if (fd < 0) throw osError(`opening ${file.path}`);
    const id = this.#fds.length;
    this.#fds.push(fd);
    const source = id * SOURCE_STRIDE + file.fileOffset / OS_PAGE_SIZE;
    const memoryPage = file.memoryOffset / OS_PAGE_SIZE;
    const pages = file.byteLength / OS_PAGE_SIZE;
    this.#files.push({ memoryPage, pages, source });
    this.#mapRun(memoryPage, pages, source);
  }

  /** The committed source of OS page `page`: its file's page, or the zero page. */
  #committedSource(page: number): Source {
    const files = this.#files;
    let low = 0;
    let high = files.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const file = files[middle];
      if (page < file.memoryPage) high = middle - 1;
      else if (page >= file.memoryPage + file.pages) low = middle + 1;
      else return file.source + (page - file.memoryPage);
    }
    return ZERO;
  }

  #scanner(): WriteScanner {
    return this.#writeScanner ?? writeScanner();
  }

  #forEachWrittenPage(onPage: (page: number) => void): void {
    this.#scanner().scan(this.base, this.#byteLength, (offset, count) => {
      const first = offset / OS_PAGE_SIZE;
      for (let page = first; page < first + count; page++) onPage(page);
    });
  }

  /**
   * Copies the pages written since the last snapshot point into the overlay
   * file, where they become those pages' sources, and makes them clean (the
   * scanner write-protects them in place, or they are mapped from the copy),
   * recording their previous sources in the innermost snapshot point.
   */
  #flush(): void {
    const scanner = this.#scanner();
    if (scanner.cleansInPlace) {
      this.#flushInPlace(scanner);
      return;
    }
    scanner.scan(this.base, this.#byteLength, (offset, count) => {
      const first = offset / OS_PAGE_SIZE;
      const end = first + count;
      // Pages with a reusable slot are copied over it one by one; the runs
      // between them are appended, each in one write.
      let runStart = first;
      for (let page = first; page <= end; page++) {
        const slot = page < end ? this.#reusableSlot(page) : undefined;
        if (page < end && slot === undefined) continue;
        if (page > runStart) {
          this.#mapRun(runStart, page - runStart, this.#copyToOverlay(runStart, page - runStart));
        }
        if (slot !== undefined) {
          this.#copyOver(page, slot);
          this.#mapRun(page, 1, slot);
        }
        runStart = page + 1;
      }
    });
  }

  /**
   * The flush where written pages can be write-protected in place. Each
   * protection costs a TLB flush and the page's next write a fault, which
   * made a call's snapshot cost more than the call when it wrote the same
   * page as the call before, as contracts do (their stack, their state). So
   * a page copied at two flushes in a row is left writable ("hot"): every
   * flush finds it, copies it if it differs from its source, and protects it
   * after {@linkcode HOT_IDLE_FLUSHES} flushes in a row found it unchanged.
   * A hot page always equals its source after a flush, which is all that
   * reverting and committing need. Every scan walks the pages left in the
   * page tables, so once scans slow down, a sweep empties them.
   */
  #flushInPlace(scanner: WriteScanner): void {
    const found = this.#found;
    const toCopy = this.#toCopy;
    const toProtect = this.#toProtect;
    found.length = toCopy.length = toProtect.length = 0;
    const sampled = ++this.#flushes % SCAN_SAMPLE_EVERY === 0;
    const started = sampled ? performance.now() : 0;
    scanner.scan(this.base, this.#byteLength, (offset, count) => {
      const first = offset / OS_PAGE_SIZE;
      for (let page = first; page < first + count; page++) found.push(page);
    });
    if (sampled) {
      const excess = performance.now() - started - CHEAP_SCAN_MS;
      if (excess > 0) this.#scanExcess += excess * SCAN_SAMPLE_EVERY;
    }
    for (const page of found) {
      const idle = this.#hot.get(page);
      if (idle === undefined || !this.#equalsOverlayCopy(page)) {
        toCopy.push(page);
      } else if (idle + 1 >= HOT_IDLE_FLUSHES) {
        this.#hot.delete(page);
        toProtect.push(page);
      } else {
        this.#hot.set(page, idle + 1);
      }
    }
    // A page's previous copy that no snapshot point needs is overwritten in
    // place: else the overlay grows by every page of every call.
    const toAppend = this.#toAppend;
    toAppend.length = 0;
    for (const page of toCopy) {
      const slot = this.#reusableSlot(page);
      if (slot === undefined) toAppend.push(page);
      else this.#copyOver(page, slot);
    }
    if (toAppend.length > 0) {
      forEachRun(this.#bridged(toAppend), (first, count) => this.#copyToOverlay(first, count));
    }
    const copiedNow = this.#copiedNow;
    copiedNow.clear();
    for (const page of toCopy) {
      copiedNow.add(page);
      if (
        this.#hot.has(page) || (this.#copiedLast.has(page) && this.#hot.size < HOT_PAGES)
      ) {
        this.#hot.set(page, 0);
        this.#protected.delete(page);
      } else {
        toProtect.push(page);
      }
    }
    this.#copiedNow = this.#copiedLast;
    this.#copiedLast = copiedNow;
    if (toProtect.length > 0) {
      toProtect.sort((a, b) => a - b);
      forEachRun(toProtect, (first, count) => {
        scanner.protect(this.base + BigInt(first * OS_PAGE_SIZE), count * OS_PAGE_SIZE);
        for (let page = first; page < first + count; page++) this.#protected.add(page);
      });
    }
    if (this.#scanExcess > SWEEP_AFTER_MS) this.#sweep();
  }

  /**
   * Ascending `pages` to append to the overlay, with each gap of at most
   * {@linkcode MAX_BRIDGED_GAP} pages between two of them whose pages all
   * have copies in the overlay already: copied again with them, their copies
   * stay consecutive, and a sweep can map them together (see
   * `#mapFromCopies`). Only a page with a copy is written already, so this
   * makes no page written that was not.
   */
  #bridged(pages: readonly number[]): readonly number[] {
    const bridged = this.#bridgedPages;
    bridged.length = 0;
    for (let i = 0; i < pages.length; i++) {
      const from = i > 0 ? pages[i - 1] + 1 : pages[i];
      if (pages[i] - from <= MAX_BRIDGED_GAP && this.#allCopied(from, pages[i])) {
        for (let page = from; page < pages[i]; page++) bridged.push(page);
      }
      bridged.push(pages[i]);
    }
    return bridged;
  }

  /** Whether pages `from`..`to` (exclusive) all have copies in the overlay. */
  #allCopied(from: number, to: number): boolean {
    for (let page = from; page < to; page++) {
      const source = this.#current.get(page);
      if (source === undefined || Math.floor(source / SOURCE_STRIDE) !== OVERLAY_ID) return false;
    }
    return true;
  }

  /**
   * Empties the page tables of all but the hot pages. Pages that calls read
   * stay in the page tables, and every scan walks them, and the tables of a
   * 2 MiB range, even emptied, as long as one page there is mapped. So the
   * protected pages are mapped from their copies, and then every page but
   * the hot ones, each now equal to what it is mapped from, is dropped; the
   * kernel frees the tables left empty. A dropped page that is touched again
   * is faulted back in from its source.
   */
  #sweep(): void {
    this.#scanExcess = 0;
    if (this.#protected.size > 0) this.#mapFromCopies([...this.#protected].sort((a, b) => a - b));
    const kept = [...this.#hot.keys()].sort((a, b) => a - b);
    const end = this.#byteLength / OS_PAGE_SIZE;
    let from = 0;
    for (const page of kept) {
      if (page >= end) break;
      if (page > from) this.#drop(from, page - from);
      from = page + 1;
    }
    if (end > from) this.#drop(from, end - from);
  }

  /** Drops OS pages `first`..`first + count`, each equal to its source, from the page tables. */
  #drop(first: number, count: number): void {
    // Only ever a saving: if the kernel refuses, the pages stay mapped as they are.
    libc().madvise(
      at(this.base + BigInt(first * OS_PAGE_SIZE)),
      BigInt(count * OS_PAGE_SIZE),
      Madvise.DONTNEED,
    );
  }

  /**
   * Maps the ascending `pages` from their current overlay copies, in runs
   * of consecutive copies, each run widened over its neighbours that are
   * mapped from the copies just before or after its own (hot pages aside):
   * one mapping then replaces theirs. Mappings the kernel could have merged
   * stay apart once their pages were written privately, so without this
   * every sweep would leave more mappings for every scan to walk.
   */
  #mapFromCopies(pages: readonly number[]): void {
    const end = this.#byteLength / OS_PAGE_SIZE;
    // Whether `page` continues a run that ends at `page - 1`.
    const follows = (page: number) =>
      page > 0 && page < end && !this.#hot.has(page) && !this.#hot.has(page - 1) &&
      this.#current.has(page - 1) && this.#current.get(page) === this.#current.get(page - 1)! + 1;
    let i = 0;
    while (i < pages.length) {
      let first = pages[i];
      while (follows(first)) first--;
      let last = pages[i];
      while (follows(last + 1)) last++;
      while (i < pages.length && pages[i] <= last) i++;
      this.#mapRun(first, last - first + 1, this.#current.get(first)!);
    }
  }

  /**
   * The overlay slot holding OS page `page`'s current copy, if no snapshot
   * point will return to it: the innermost point has saved an older source
   * for the page already (else it is about to save this one), and no point
   * saved this one. Only `page` is ever mapped from its slots, and it has
   * been written since (a private copy), so overwriting the slot changes no
   * visible byte.
   */
  #reusableSlot(page: number): Source | undefined {
    const source = this.#current.get(page);
    if (source === undefined || Math.floor(source / SOURCE_STRIDE) !== OVERLAY_ID) return undefined;
    const points = this.#points;
    if (points.length > 0 && !points[points.length - 1].saved.has(page)) return undefined;
    for (const point of points) if (point.saved.get(page) === source) return undefined;
    return source;
  }

  /** Whether OS page `page` still equals its copy in the overlay, its current source. */
  #equalsOverlayCopy(page: number): boolean {
    const source = this.#current.get(page);
    if (source === undefined || Math.floor(source / SOURCE_STRIDE) !== OVERLAY_ID) return false;
    const copy = this.#slotAddress(source % SOURCE_STRIDE);
    return libc().memcmp(this.#pageAddress(page), copy, PAGE_BYTES) === 0;
  }

  /** Writes OS page `page` over its copy in overlay slot `slot` (see `#reusableSlot`). */
  #copyOver(page: number, slot: Source): void {
    libc().memcpy(
      this.#slotAddress(slot % SOURCE_STRIDE),
      this.#pageAddress(page),
      PAGE_BYTES,
    );
  }

  /**
   * Copies OS pages `first`..`first + count` to the end of the overlay file,
   * makes the copies their sources and records their previous sources in the
   * innermost snapshot point; returns the source of the first copy.
   */
  #copyToOverlay(first: number, count: number): Source {
    if (this.#overlayPages + count > this.#overlayCapacity) this.#growOverlay(count);
    libc().memcpy(
      this.#slotAddress(this.#overlayPages),
      this.#pageAddress(first),
      BigInt(count * OS_PAGE_SIZE),
    );
    const source = OVERLAY_ID * SOURCE_STRIDE + this.#overlayPages;
    this.#overlayPages += count;
    const point = this.#points.at(-1);
    for (let i = 0; i < count; i++) {
      const page = first + i;
      if (point !== undefined && !point.saved.has(page)) {
        point.saved.set(page, this.#current.get(page) ?? this.#committedSource(page));
      }
      this.#current.set(page, source + i);
    }
    return source;
  }

  /**
   * Extends the overlay file to hold `count` more pages (at least doubling
   * it) and maps it anew. A file on a disk gets its blocks now: a store
   * through the mapping into a hole that the disk then has no room for
   * would kill the process with SIGBUS. An in-memory file stays sparse.
   */
  #growOverlay(count: number): void {
    const lib = libc();
    if (this.#fds[OVERLAY_ID] < 0) this.#openMemoryOverlay();
    const fd = this.#fds[OVERLAY_ID];
    const capacity = Math.max(this.#overlayPages + count, 2 * this.#overlayCapacity, 16);
    const oldBytes = this.#overlayCapacity * OS_PAGE_SIZE;
    const newBytes = BigInt(capacity * OS_PAGE_SIZE);
    if (this.#overlayOnDisk) allocateFile(fd, oldBytes, Number(newBytes) - oldBytes);
    else if (lib.ftruncate(fd, newBytes) !== 0) {
      throw osError(`growing the overlay file to ${newBytes} bytes`);
    }
    const window = checkMapped(
      lib.mmap(null, newBytes, ProtFlags.READ | ProtFlags.WRITE, MapFlags.SHARED, fd, 0n),
      "mapping the overlay file",
    );
    if (this.#overlayWindow !== 0n) lib.munmap(at(this.#overlayWindow), BigInt(oldBytes));
    this.#overlayWindow = window;
    this.#slotPointers.clear();
    this.#overlayCapacity = capacity;
  }

  #pageAddress(page: number): Deno.PointerValue {
    let pointer = this.#pagePointers.get(page);
    if (pointer === undefined) {
      pointer = at(this.base + BigInt(page * OS_PAGE_SIZE));
      if (this.#pagePointers.size < POINTERS_KEPT) this.#pagePointers.set(page, pointer);
    }
    return pointer;
  }

  /** The address of overlay slot `slot` (a source of the overlay) in the current window. */
  #slotAddress(slot: number): Deno.PointerValue {
    let pointer = this.#slotPointers.get(slot);
    if (pointer === undefined) {
      pointer = at(this.#overlayWindow + BigInt(slot * OS_PAGE_SIZE));
      if (this.#slotPointers.size < POINTERS_KEPT) this.#slotPointers.set(slot, pointer);
    }
    return pointer;
  }

  /** Maps each page of ascending `pages` from `targets[i]`, coalescing runs. */
  #remap(pages: number[], targets: Source[], byteLengthAfter: number): void {
    let i = 0;
    while (i < pages.length) {
      let count = 1;
      while (
        i + count < pages.length &&
        pages[i + count] === pages[i] + count &&
        targets[i + count] === (targets[i] === ZERO ? ZERO : targets[i] + count)
      ) count++;
      this.#mapRun(pages[i], count, targets[i], byteLengthAfter);
      i += count;
    }
  }

  /** Maps `count` OS pages from `page` onto `source`, accessible below `byteLength`. */
  #mapRun(page: number, count: number, source: Source, byteLength = this.#byteLength): void {
    // A page mapped again is clean: neither hot nor just copied any more,
    // nor in the page tables.
    const protectedPages = this.#protected;
    if (count < protectedPages.size) {
      for (let i = page; i < page + count; i++) protectedPages.delete(i);
    } else {
      for (const kept of protectedPages) {
        if (kept >= page && kept < page + count) protectedPages.delete(kept);
      }
    }
    for (const hot of this.#hot.keys()) {
      if (hot >= page && hot < page + count) this.#hot.delete(hot);
    }
    for (const copied of this.#copiedLast) {
      if (copied >= page && copied < page + count) this.#copiedLast.delete(copied);
    }
    const offset = page * OS_PAGE_SIZE;
    const accessibleEnd = Math.min(offset + count * OS_PAGE_SIZE, byteLength);
    if (accessibleEnd > offset && accessibleEnd < offset + count * OS_PAGE_SIZE) {
      // A run that straddles the length: map both parts with their own protection.
      const split = (accessibleEnd - offset) / OS_PAGE_SIZE;
      this.#mapRun(page, split, source, byteLength);
      this.#mapRun(
        page + split,
        count - split,
        source === ZERO ? ZERO : source + split,
        byteLength,
      );
      return;
    }
    const prot = accessibleEnd > offset ? ProtFlags.READ | ProtFlags.WRITE : ProtFlags.NONE;
    const lib = libc();
    const address = at(this.base + BigInt(offset));
    const bytes = BigInt(count * OS_PAGE_SIZE);
    if (source === ZERO) {
      checkMapped(
        lib.mmap(
          address,
          bytes,
          prot,
          MapFlags.PRIVATE | MapFlags.FIXED | MapFlags.ANONYMOUS | MapFlags.NORESERVE,
          -1,
          0n,
        ),
        "mapping zero pages",
      );
      lib.madvise(address, bytes, Madvise.NOHUGEPAGE);
      this.#scanner().register(this.base + BigInt(offset), count * OS_PAGE_SIZE);
    } else {
      const id = Math.floor(source / SOURCE_STRIDE);
      const filePage = source - id * SOURCE_STRIDE;
      checkMapped(
        lib.mmap(
          address,
          bytes,
          prot,
          MapFlags.PRIVATE | MapFlags.FIXED,
          this.#fds[id],
          BigInt(filePage * OS_PAGE_SIZE),
        ),
        "mapping file pages",
      );
      this.#scanner().register(this.base + BigInt(offset), count * OS_PAGE_SIZE);
    }
  }

  #protect(from: number, to: number, prot: number): void {
    if (to <= from) return;
    if (libc().mprotect(at(this.base + BigInt(from)), BigInt(to - from), prot) !== 0) {
      throw osError(`mprotect of bytes ${from}..${to}`);
    }
  }
}

/** A {@linkcode ContractMemory} lent to one wasm instance. */
class Attachment implements HostMemory {
  #released = false;

  constructor(
    readonly memory: ContractMemory,
    readonly byteCapacity: number,
    readonly onRelease: () => void,
  ) {}

  get base(): bigint {
    return this.memory.base;
  }

  get byteLength(): number {
    return this.memory.accessibleLength;
  }

  grow(newByteLength: number): void {
    this.memory.grow(newByteLength);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.onRelease();
  }
}
