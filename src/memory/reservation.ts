/**
 * {@linkcode Reservation}: a range of address space for one contract memory,
 * and {@linkcode ReservationPool}, which reuses ranges across sessions.
 *
 * JavaScript sees a memory's bytes through an external `ArrayBuffer`. V8
 * counts each such buffer's length as external memory and answers fast
 * growth of it with major GCs, so creating a buffer of a memory's length for
 * every session made each session on a 1 GiB memory pay for a mark-compact.
 * A range keeps its buffers for its whole life, pooled or not, and views are
 * cheap `Uint8Array`s over the largest. That buffer is as long as the
 * largest view asked for so far, rounded up to a power of two (at least
 * {@linkcode MIN_BUFFER_LENGTH}): a buffer over a whole 4 GiB range cost
 * about 2 ms each, mostly the GC it triggered, which every deploy paid for
 * a new range.
 *
 * Released views are not detached: a detach needs a new `ArrayBuffer` for
 * the next lease, a young object charged with the whole range, and V8
 * answers that with scavenges that made a short session half again as
 * slow. A stale view aliased the next memory before pooling too, since the
 * kernel hands a just-unmapped range to the next mapping of its size.
 *
 * @module
 */

import { Madvise, MapFlags, ProtFlags } from "../../ffi/libc.ts";
import { libc } from "../native/library.ts";
import { PiecrustError } from "../errors.ts";
import { trackHandle, untrackHandle } from "../handles.ts";
import { at, checkMapped } from "../native/os.ts";

/**
 * How many released reservations a {@linkcode ReservationPool} keeps by
 * default: enough for a session that loaded 16 contracts to pass all its
 * ranges on to the next, while 16 wasm64 ranges (16 GiB each) stay a small
 * part of the 128 TiB address space.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_IDLE_RESERVATIONS, ReservationPool } from "./reservation.ts";
 *
 * using pool = new ReservationPool();
 * const held = Array.from({ length: DEFAULT_IDLE_RESERVATIONS + 1 }, () => pool.acquire(2 ** 20));
 * for (const reservation of held) reservation.release();
 * assert.equal(pool.idle, DEFAULT_IDLE_RESERVATIONS); // the one beyond was unmapped
 * ```
 */
export const DEFAULT_IDLE_RESERVATIONS = 16;

const RESERVE_FLAGS = MapFlags.PRIVATE | MapFlags.ANONYMOUS | MapFlags.NORESERVE;

/** The shortest buffer a range makes: small memories never need a second. */
const MIN_BUFFER_LENGTH = 2 ** 20;

/** A mapped range: the native resource that outlives the leases of a pool. */
interface Range {
  readonly base: bigint;
  readonly byteLength: number;
  /** Buffers over the range's start, each longer than the last; kept for the life of the range. */
  readonly buffers: ArrayBuffer[];
}

function checkLength(byteLength: number): void {
  if (!Number.isSafeInteger(byteLength) || byteLength <= 0 || byteLength % 4096 !== 0) {
    throw new RangeError(`a reservation must be a positive multiple of 4096, got ${byteLength}`);
  }
}

/** Maps a fresh range: inaccessible, reading as zeros once made accessible. */
function mapRange(byteLength: number): Range {
  const base = checkMapped(
    libc().mmap(null, BigInt(byteLength), ProtFlags.NONE, RESERVE_FLAGS, -1, 0n),
    `reserving ${byteLength} bytes`,
  );
  trackHandle("reservation");
  // A huge page would make a one-byte write dirty 2 MiB at once.
  libc().madvise(at(base), BigInt(byteLength), Madvise.NOHUGEPAGE);
  return { base, byteLength, buffers: [] };
}

/**
 * Returns `range` to the state {@linkcode mapRange} leaves: one fresh
 * anonymous mapping replaces every mapping in the range, which also drops its
 * page tables, so no byte and no written-page trace of the last user remains.
 */
function resetRange(range: Range): void {
  checkMapped(
    libc().mmap(
      at(range.base),
      BigInt(range.byteLength),
      ProtFlags.NONE,
      RESERVE_FLAGS | MapFlags.FIXED,
      -1,
      0n,
    ),
    `resetting a reservation of ${range.byteLength} bytes`,
  );
  libc().madvise(at(range.base), BigInt(range.byteLength), Madvise.NOHUGEPAGE);
}

function unmapRange(range: Range): void {
  // Detached views read as empty instead of reaching whatever is mapped here next.
  for (const buffer of range.buffers) buffer.transfer();
  range.buffers.length = 0;
  libc().munmap(at(range.base), BigInt(range.byteLength));
  untrackHandle("reservation");
}

let lease: (range: Range, pool: ReservationPool) => Reservation;
let takeBack: (pool: ReservationPool, range: Range) => boolean;
let adopt: (reservation: Reservation) => AdoptedReservation;

/**
 * What the one {@linkcode ContractMemory} that adopted a reservation may do
 * with it. Views exist only here: the range is `PROT_NONE` until that memory
 * makes a prefix accessible, and touching an inaccessible byte through a view
 * would kill the process, so no view is handed to anyone else.
 */
export interface AdoptedReservation {
  /**
   * A view of the first `byteLength` bytes, which the adopter has made
   * accessible. Views share one `ArrayBuffer` over the whole range (index
   * through the view only); they are detached when the range is unmapped.
   */
  view(byteLength: number): Uint8Array;
  /** Releases the reservation as {@linkcode Reservation.release} would. */
  release(): void;
}

/**
 * Makes `reservation` the adopter's: from now on only the returned handle can
 * view or release it (a direct `release()` throws a `MemoryError` instead of
 * unmapping memory in use). Throws a `MemoryError` if the reservation is
 * released or adopted already.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { adoptReservation, Reservation } from "./reservation.ts";
 *
 * const reservation = Reservation.map(2 ** 20);
 * const adopted = adoptReservation(reservation);
 * assert.throws(() => reservation.release(), /belongs to a ContractMemory/);
 * assert.throws(() => adoptReservation(reservation), /released or used elsewhere/);
 * assert.equal(adopted.view(0).length, 0);
 * adopted.release();
 * assert.equal(reservation.released, true);
 * ```
 */
export function adoptReservation(reservation: Reservation): AdoptedReservation {
  return adopt(reservation);
}

/**
 * Address space reserved for one contract memory: `byteLength` bytes from
 * {@linkcode base}, mapped `PROT_NONE`, reading as zeros wherever its user
 * makes it accessible. Each reservation is one lease of its range: after
 * {@linkcode release} this object is dead, and the range either returns to
 * its pool, reset to the state of a fresh reservation, or is unmapped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Reservation } from "./reservation.ts";
 *
 * using reservation = Reservation.map(2 ** 20);
 * assert.equal(reservation.byteLength, 2 ** 20);
 * assert.equal(reservation.released, false);
 * ```
 */
export class Reservation {
  readonly #range: Range;
  readonly #pool: ReservationPool | undefined;
  #released = false;
  #adopted = false;

  static {
    lease = (range, pool) => new Reservation(range, pool);
    adopt = (reservation) => reservation.#adopt();
  }

  private constructor(range: Range, pool: ReservationPool | undefined) {
    this.#range = range;
    this.#pool = pool;
  }

  /**
   * Reserves `byteLength` bytes (a positive multiple of 4 KiB) that no pool
   * owns: {@linkcode release} unmaps them. Throws a `MemoryError` if the
   * kernel refuses.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Reservation } from "./reservation.ts";
   *
   * const reservation = Reservation.map(2 ** 32);
   * assert.equal(reservation.released, false);
   * reservation.release();
   * assert.equal(reservation.released, true);
   * ```
   */
  static map(byteLength: number): Reservation {
    checkLength(byteLength);
    return new Reservation(mapRange(byteLength), undefined);
  }

  /** Address of the first byte; the same for every lease of the range. */
  get base(): bigint {
    return this.#range.base;
  }

  /** Bytes of address space reserved. */
  get byteLength(): number {
    return this.#range.byteLength;
  }

  /** Whether {@linkcode release} was called. */
  get released(): boolean {
    return this.#released;
  }

  #adopt(): AdoptedReservation {
    if (this.#released || this.#adopted) {
      throw new PiecrustError("MemoryError", "the reservation is released or used elsewhere");
    }
    this.#adopted = true;
    return {
      view: (byteLength) => this.#view(byteLength),
      release: () => {
        this.#adopted = false;
        this.release();
      },
    };
  }

  #view(byteLength: number): Uint8Array {
    if (this.#released) {
      throw new PiecrustError("Disposed", "the reservation was used after it was released");
    }
    const range = this.#range;
    if (!Number.isSafeInteger(byteLength) || byteLength < 0 || byteLength > range.byteLength) {
      throw new RangeError(
        `cannot view ${byteLength} bytes of a ${range.byteLength}-byte reservation`,
      );
    }
    let buffer = range.buffers.at(-1);
    if (buffer === undefined || buffer.byteLength < byteLength) {
      const length = Math.min(
        range.byteLength,
        Math.max(MIN_BUFFER_LENGTH, 2 ** Math.ceil(Math.log2(Math.max(byteLength, 1)))),
      );
      buffer = Deno.UnsafePointerView.getArrayBuffer(at(range.base)!, length);
      range.buffers.push(buffer);
    }
    return new Uint8Array(buffer, 0, byteLength);
  }

  /**
   * Ends this lease: hands the range back to its pool, reset to the state of
   * a fresh reservation, or unmaps it if there is no pool or no room in it.
   * Idempotent. A reservation given to a {@linkcode ContractMemory} is that
   * memory's: closing the memory releases it, and releasing it directly
   * while the memory is open throws a `MemoryError`.
   */
  release(): void {
    if (this.#released) return;
    if (this.#adopted) {
      throw new PiecrustError(
        "MemoryError",
        "the reservation belongs to a ContractMemory that is open; close the memory, which releases it",
      );
    }
    this.#released = true;
    if (this.#pool !== undefined && takeBack(this.#pool, this.#range)) return;
    unmapRange(this.#range);
  }

  /** Same as {@linkcode release}, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/** Options of {@linkcode ReservationPool}. */
export interface ReservationPoolOptions {
  /**
   * Released reservations kept for reuse, of all sizes together; beyond
   * that they are unmapped. Each costs address space only (no memory) plus
   * one mapping. Default {@linkcode DEFAULT_IDLE_RESERVATIONS}.
   */
  maxIdle?: number;
}

/**
 * Reuses released reservations, so that a new contract memory gets a range
 * whose `ArrayBuffer` already exists instead of a new mapping and a new
 * buffer. A range comes back reset: accessible nowhere, every page a fresh
 * zero page, no page tables — nothing of the previous lease is observable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReservationPool } from "./reservation.ts";
 *
 * using pool = new ReservationPool({ maxIdle: 2 });
 * const first = pool.acquire(2 ** 20);
 * const base = first.base;
 * first.release();
 * using second = pool.acquire(2 ** 20);
 * assert.equal(second.base, base); // the same address space, reused
 * assert.equal(pool.idle, 0);
 * ```
 */
export class ReservationPool {
  /** The most released reservations kept. */
  readonly maxIdle: number;
  /** Most recently released last. */
  readonly #idle: Range[] = [];
  #closed = false;

  static {
    takeBack = (pool, range) => pool.#takeBack(range);
  }

  /** An empty pool; see {@linkcode ReservationPoolOptions}. */
  constructor(options: ReservationPoolOptions = {}) {
    const maxIdle = options.maxIdle ?? DEFAULT_IDLE_RESERVATIONS;
    if (!Number.isSafeInteger(maxIdle) || maxIdle < 0) {
      throw new RangeError(`maxIdle must be a non-negative integer, got ${maxIdle}`);
    }
    this.maxIdle = maxIdle;
  }

  /** Released reservations waiting for reuse. */
  get idle(): number {
    return this.#idle.length;
  }

  /**
   * A reservation of `byteLength` bytes in the state of a fresh one: a
   * released one of that size if the pool has it, else a new mapping.
   * Throws `Disposed` after {@linkcode close}.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ReservationPool } from "./reservation.ts";
   *
   * using pool = new ReservationPool();
   * using reservation = pool.acquire(2 ** 20);
   * assert.equal(reservation.byteLength, 2 ** 20);
   * ```
   */
  acquire(byteLength: number): Reservation {
    if (this.#closed) throw new PiecrustError("Disposed", "the reservation pool is closed");
    checkLength(byteLength);
    const idle = this.#idle;
    for (let i = idle.length - 1; i >= 0; i--) {
      if (idle[i].byteLength === byteLength) return lease(idle.splice(i, 1)[0], this);
    }
    return lease(mapRange(byteLength), this);
  }

  /**
   * Unmaps the idle reservations; reservations still leased are unmapped
   * when released. Idempotent.
   */
  close(): void {
    this.#closed = true;
    for (const range of this.#idle.splice(0)) unmapRange(range);
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #takeBack(range: Range): boolean {
    if (this.#closed || this.#idle.length >= this.maxIdle) return false;
    try {
      resetRange(range);
    } catch {
      // A range that cannot be reset is never reused.
      return false;
    }
    this.#idle.push(range);
    return true;
  }
}
