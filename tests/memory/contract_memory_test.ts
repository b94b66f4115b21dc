import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { watFixture } from "../../contracts/wat.ts";
import { OpenFlags } from "../../ffi/libc.ts";
import { libc } from "../../src/native/library.ts";
import { contractFunction, i64, unit, VM } from "../../mod.ts";
import { contractBytecode } from "../../src/testing/mod.ts";
import { Engine, Linker, Module, Store } from "../../src/engine/mod.ts";
import { liveHandles } from "../../src/handles.ts";
import {
  ContractMemory,
  type ContractMemoryOptions,
  DEFAULT_IDLE_RESERVATIONS,
  Reservation,
  ReservationPool,
  WASM_PAGE_SIZE,
} from "../../src/memory/mod.ts";
import {
  OS_PAGE_SIZE,
  type ScanMethod,
  WriteScanner,
  writeScanner,
} from "../../src/memory/write_scanner.ts";
import { PiecrustError } from "../../src/errors.ts";
import { adoptReservation } from "../../src/memory/reservation.ts";
import { Runtime } from "../../src/session/runtime.ts";
import { assertBytes, assertNoLiveHandles, assertThrowsKind, assertTraps } from "../_helpers.ts";

const PAGE = WASM_PAGE_SIZE;
const GiB = 2 ** 30;
/** As in the reference tests: a 4 GiB memory, all of it accessible. */
const N_PAGES = 65536;
const OFFSET = PAGE / 2 + PAGE;
const DIRT = new Uint8Array(2 * PAGE).fill(42);
const DIRT2 = new Uint8Array(2 * PAGE).fill(43);

/** The scanner of the running `forEachScanner` test; the default one elsewhere. */
let scanner: WriteScanner | undefined;

function scannedMemory(
  reservation: ConstructorParameters<typeof ContractMemory>[0],
  options: ContractMemoryOptions = {},
): ContractMemory {
  return new ContractMemory(reservation, { ...options, writeScanner: scanner });
}

/** tests/fixtures/overlay_probe.ts: measures an overlay file, which needs `--allow-all`. */
const OVERLAY_PROBE = new URL("../fixtures/overlay_probe.ts", import.meta.url).pathname;

function newMemory(): ContractMemory {
  return scannedMemory(N_PAGES * PAGE, { byteLength: N_PAGES * PAGE });
}

/** The write-scanning interfaces this kernel offers. */
const SCAN_METHODS: ScanMethod[] = writeScanner().method === "write-protect"
  ? ["write-protect", "pagemap-scan", "pagemap-read"]
  : ["pagemap-scan", "pagemap-read"];

/** Runs `body` with each write-scanning interface, and checks nothing leaked. */
function forEachScanner(name: string, body: () => void): void {
  for (const method of SCAN_METHODS) {
    Deno.test(`${name} (${method})`, () => {
      scanner = new WriteScanner(method);
      try {
        body();
      } finally {
        scanner = undefined;
      }
      assertNoLiveHandles();
    });
  }
}

function region(memory: ContractMemory, offset: number, length: number): Uint8Array {
  return memory.view().subarray(offset, offset + length);
}

/**
 * The reference implementation always has a base snapshot: applying it does
 * nothing and reverting it resets the memory to its initial state. This
 * adapter gives the ported scenarios that base on top of our explicit snapshot points,
 * where a revert without a snapshot is an error.
 */
class WithBaseSnapshot {
  constructor(readonly memory: ContractMemory) {
    memory.snapshot();
  }
  get mem(): Uint8Array {
    return this.memory.view();
  }
  snap(): void {
    this.memory.snapshot();
  }
  apply(): void {
    if (this.memory.depth > 1) this.memory.apply();
  }
  revert(): void {
    this.memory.revert();
    if (this.memory.depth === 0) this.memory.snapshot();
  }
}

// --- Scenarios of the reference memory library (crumbles) -------------------------

forEachScanner("ContractMemory tracks the pages of a write", () => {
  using memory = newMemory();
  region(memory, OFFSET, DIRT.length).set(DIRT);
  assertBytes(region(memory, OFFSET, DIRT.length), DIRT);
  assert.deepEqual(memory.writtenPages(), [1, 2, 3]);
});

forEachScanner("ContractMemory.revert restores what was written before the snapshot", () => {
  using memory = newMemory();
  region(memory, OFFSET, DIRT.length).set(DIRT);
  memory.snapshot();
  assertBytes(region(memory, OFFSET, DIRT.length), DIRT);
  region(memory, OFFSET, DIRT.length).fill(0);
  memory.revert();
  assertBytes(region(memory, OFFSET, DIRT.length), DIRT);
  assert.deepEqual(memory.writtenPages(), [1, 2, 3]);
});

forEachScanner("ContractMemory.revert undoes nested snapshots one at a time", () => {
  using memory = newMemory();
  region(memory, OFFSET, DIRT.length).set(DIRT);
  memory.snapshot();
  region(memory, OFFSET, DIRT2.length).set(DIRT2);
  memory.snapshot();
  assertBytes(region(memory, OFFSET, DIRT2.length), DIRT2);
  memory.revert();
  assertBytes(region(memory, OFFSET, DIRT2.length), DIRT2);
  memory.revert();
  assertBytes(region(memory, OFFSET, DIRT.length), DIRT);
  assert.deepEqual(memory.writtenPages(), [1, 2, 3]);
});

forEachScanner("ContractMemory.apply keeps the writes since the snapshot", () => {
  using memory = newMemory();
  region(memory, OFFSET, DIRT.length).set(DIRT);
  memory.snapshot();
  region(memory, OFFSET, DIRT.length).fill(0);
  memory.apply();
  assertBytes(region(memory, OFFSET, DIRT.length), new Uint8Array(DIRT.length));
  assert.deepEqual(memory.writtenPages(), [1, 2, 3]);
  assertThrowsKind(() => memory.apply(), "MemoryError");
});

/** xorshift32, so the random scenario is the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

forEachScanner("ContractMemory apply, revert, apply matches the same writes applied", () => {
  const N_WRITES = 64;
  const next = random(0xdeadbeef);
  const randomWrite = (): [number, number] => [
    Math.floor(next() * N_PAGES * 16),
    Math.floor(next() * 256),
  ];
  using memory = newMemory();
  using alternative = newMemory();
  memory.snapshot();
  alternative.snapshot();
  for (let i = 0; i < N_WRITES; i++) {
    const [at, byte] = randomWrite();
    memory.view()[at] = byte;
    alternative.view()[at] = byte;
  }
  memory.apply();
  alternative.apply();

  memory.snapshot();
  for (let i = 0; i < N_WRITES; i++) {
    const [at, byte] = randomWrite();
    memory.view()[at] = byte;
  }
  memory.revert();

  memory.snapshot();
  alternative.snapshot();
  for (let i = 0; i < N_WRITES; i++) {
    const [at, byte] = randomWrite();
    memory.view()[at] = byte;
    alternative.view()[at] = byte;
  }
  memory.apply();
  alternative.apply();

  const pages = memory.writtenPages();
  assert.deepEqual(pages, alternative.writtenPages());
  for (const page of pages) {
    assertBytes(region(memory, page * PAGE, PAGE), region(alternative, page * PAGE, PAGE));
  }
});

forEachScanner(
  "ContractMemory matches a plain array through random nested calls and sweeps",
  () => {
    // Calls nest up to 3 deep and write unaligned spans, most right after
    // the last one, as an appending contract does; some read the whole
    // memory, so that scans slow down and sweeps come. A plain array, with
    // one saved copy per open snapshot, says what the memory must hold.
    const next = random(0x5eed);
    const below = (bound: number) => Math.floor(next() * bound);
    using memory = scannedMemory(GiB, { byteLength: 16 * PAGE });
    const model = new Uint8Array(16 * PAGE);
    const written = new Set<number>();
    const saved: { bytes: Uint8Array; written: Set<number> }[] = [];
    const check = (step: number) => {
      assertBytes(memory.view(), model, `step ${step}:`);
      assert.deepEqual(memory.writtenPages(), [...written].sort((a, b) => a - b), `step ${step}`);
    };
    let end = 0;
    for (let step = 0; step < 3_000; step++) {
      const action = next();
      if (action < 0.3 && saved.length < 3) {
        memory.snapshot();
        saved.push({ bytes: model.slice(), written: new Set(written) });
      } else if (action < 0.5 && saved.length > 0) {
        const point = saved.pop()!;
        if (next() < 0.3) {
          memory.revert();
          model.set(point.bytes);
          written.clear();
          for (const page of point.written) written.add(page);
        } else {
          memory.apply();
        }
      } else if (action < 0.55) {
        let sum = 0;
        let expected = 0;
        for (let byte = 0; byte < model.length; byte += 4096) {
          sum += memory.view()[byte];
          expected += model[byte];
        }
        assert.equal(sum, expected, `step ${step}`);
      } else {
        const start = next() < 0.7 ? end % model.length : below(model.length);
        end = Math.min(start + 1 + below(80 * 1024), model.length);
        const value = 1 + below(255);
        memory.view().fill(value, start, end);
        model.fill(value, start, end);
        const last = Math.floor((end - 1) / PAGE);
        for (let page = Math.floor(start / PAGE); page <= last; page++) written.add(page);
      }
      if (step % 100 === 0) check(step);
    }
    while (saved.length > 0) {
      saved.pop();
      memory.apply();
    }
    check(3_000);
  },
);

forEachScanner("ContractMemory reverts a transfer contract's call chain", () => {
  // transfer: spend_and_execute → query → contract_to_contract → ... → stake panics.
  using memory = newMemory();
  const mem = (): Uint8Array => memory.view();
  for (let i = 0; i < 50 * PAGE; i++) mem()[i] = i % 256;
  const initial = region(memory, 0, 50 * PAGE).slice();
  memory.snapshot(); // call_inner
  memory.snapshot(); // query
  memory.snapshot(); // contract_to_contract
  const first: [number, number][] = [[1, 0xab], [2, 0xcd], [3, 0xef], [27, 0x12], [28, 0x34], [
    30,
    0x56,
  ]];
  for (const [page, value] of first) mem()[page * PAGE] = value;
  memory.snapshot(); // contract_to_contract again
  for (const [page, value] of first) assert.equal(mem()[page * PAGE], value);
  mem()[1 * PAGE] = 0x11;
  mem()[2 * PAGE] = 0x22;
  mem()[3 * PAGE] = 0x33;
  memory.revert();
  for (const [page, value] of first) assert.equal(mem()[page * PAGE], value);
  memory.revert();
  assertBytes(region(memory, 0, 50 * PAGE), initial);
  memory.revert();
  assertBytes(region(memory, 0, 50 * PAGE), initial);
  assert.equal(memory.depth, 1);
});

forEachScanner(
  "ContractMemory snapshot, revert, revert, apply keeps the first call's writes",
  () => {
    using memory = newMemory();
    const length = 2 * PAGE;
    const isFilled = (offset: number, size: number, value: number): boolean =>
      region(memory, offset, size).every((byte) => byte === value);
    memory.snapshot(); // 1: spend_and_execute
    region(memory, 0, length).fill(0x11);
    memory.snapshot(); // 2: prepare an inter-contract call
    region(memory, 0, length).fill(0x22);
    memory.snapshot(); // 3: balance query
    region(memory, length, PAGE).fill(0x33);
    memory.apply(); // the query returned
    assert.ok(isFilled(length, PAGE, 0x33));
    region(memory, 0, length).fill(0x44);
    memory.snapshot(); // 4: stake
    region(memory, 0, length).fill(0x55);
    memory.revert(); // stake panicked
    assert.ok(isFilled(0, length, 0x44));
    memory.revert(); // back to before call 2
    assert.ok(isFilled(0, length, 0x11));
    assert.ok(isFilled(length, PAGE, 0));
    memory.apply(); // spend_and_execute finished
    assert.ok(isFilled(0, length, 0x11));
    memory.snapshot(); // a new call sees the first call's state
    assert.ok(isFilled(0, length, 0x11));
    assert.deepEqual(memory.writtenPages(), [0, 1]);
  },
);

forEachScanner("ContractMemory.apply preserves the earliest clean state", () => {
  using memory = newMemory();
  memory.snapshot();
  memory.view()[2 * PAGE] = 0x11;
  memory.snapshot(); // S1
  memory.view()[2 * PAGE] = 0x22;
  memory.snapshot(); // S2
  memory.view()[2 * PAGE] = 0x33;
  memory.apply(); // S2 folds into S1, which keeps its own, older source
  assert.equal(memory.view()[2 * PAGE], 0x33);
  memory.revert(); // back to S1: 0x11, not 0x22
  assert.equal(memory.view()[2 * PAGE], 0x11);
  memory.revert();
  assert.equal(memory.view()[2 * PAGE], 0);
  assert.deepEqual(memory.writtenPages(), []);
});

forEachScanner("ContractMemory.revert with more reverts than snapshots is an error", () => {
  using memory = newMemory();
  memory.snapshot();
  memory.view()[0] = 1;
  memory.snapshot();
  memory.view()[0] = 2;
  memory.revert();
  memory.revert();
  assert.equal(memory.view()[0], 0);
  const error = assertThrowsKind(() => memory.revert(), "MemoryError");
  assert.match(error.message, /revert without an open snapshot/);
  assert.equal(memory.view()[0], 0);
  memory.view()[0] = 10;
  assert.deepEqual(memory.writtenPages(), [0]);
});

forEachScanner("ContractMemory unwinds snapshots taken without changes", () => {
  using memory = scannedMemory(PAGE, { byteLength: PAGE });
  const port = new WithBaseSnapshot(memory);
  port.mem[0] = 1;
  port.snap();
  port.snap();
  port.mem[0] = 2;
  port.snap();
  assert.ok(port.mem.subarray(1).every((byte) => byte === 0));
  port.revert();
  assert.equal(port.mem[0], 2);
  port.revert();
  assert.equal(port.mem[0], 1);
  port.revert();
  assert.equal(port.mem[0], 1);
});

forEachScanner("ContractMemory unwinds unchanged snapshots of an untouched memory", () => {
  using memory = scannedMemory(PAGE, { byteLength: PAGE });
  const port = new WithBaseSnapshot(memory);
  port.snap();
  port.snap();
  port.mem[0] = 1;
  port.snap();
  port.revert();
  assert.equal(port.mem[0], 1);
  port.revert();
  assert.equal(port.mem[0], 0);
  port.revert();
  assert.equal(port.mem[0], 0);
});

forEachScanner("ContractMemory mixes applies and reverts over a snapshot chain", () => {
  using memory = scannedMemory(PAGE, { byteLength: PAGE });
  const port = new WithBaseSnapshot(memory);
  port.snap();
  port.mem[0] = 1;
  port.snap();
  port.mem[0] = 2;
  port.snap();
  port.mem[0] = 3;
  port.snap();
  port.apply();
  assert.equal(port.mem[0], 3);
  port.revert();
  assert.equal(port.mem[0], 2);
  for (let i = 0; i < 3; i++) {
    port.apply();
    assert.equal(port.mem[0], 2);
  }
  port.revert();
  assert.equal(port.mem[0], 0);
});

forEachScanner("ContractMemory applies twice then reverts to an older value", () => {
  using memory = scannedMemory(PAGE, { byteLength: PAGE });
  const port = new WithBaseSnapshot(memory);
  port.snap();
  port.mem[0] = 1;
  port.snap();
  port.mem[0] = 2;
  port.snap();
  port.mem[0] = 3;
  port.snap();
  port.apply();
  port.apply();
  assert.equal(port.mem[0], 3);
  port.revert();
  assert.equal(port.mem[0], 1);
  port.apply();
  port.apply();
  assert.equal(port.mem[0], 1);
});

forEachScanner("ContractMemory keeps 99 nested snapshots straight", () => {
  using memory = scannedMemory(PAGE, { byteLength: PAGE });
  const port = new WithBaseSnapshot(memory);
  for (let i = 0; i < 99; i++) {
    port.mem[0] = i + 1;
    port.snap();
  }
  assert.equal(memory.depth, 100);
  for (let i = 0; i < 10; i++) {
    assert.equal(port.mem[0], 99);
    assert.equal(memory.depth, 100 - i);
    port.apply();
  }
  port.revert();
  assert.equal(port.mem[0], 89);
  port.revert();
  assert.equal(port.mem[0], 88);
  for (let i = 0; i < 88; i++) {
    if (i % 2 === 0) {
      port.apply();
      assert.equal(port.mem[0], 88 - i);
    } else {
      port.revert();
      assert.equal(port.mem[0], 88 - (i + 1));
    }
  }
  assert.equal(port.mem[0], 0);
});

// --- Our own guarantees ---------------------------------------------------------------

/** KiB of `memory`'s accessible pages in the page tables, from /proc/self/pagemap. */
function residentKiB(memory: ContractMemory): number {
  const entries = new BigUint64Array(memory.accessibleLength / 4096);
  const fd = libc().open(new TextEncoder().encode("/proc/self/pagemap\0"), OpenFlags.RDONLY, 0);
  assert.ok(fd >= 0, "open /proc/self/pagemap");
  try {
    const read = libc().pread(
      fd,
      Deno.UnsafePointer.of(entries),
      BigInt(entries.byteLength),
      (memory.base / 4096n) * 8n,
    );
    assert.equal(Number(read), entries.byteLength);
  } finally {
    libc().close(fd);
  }
  // Bit 63: present; bit 62: swapped out.
  return entries.filter((entry) => (entry >> 62n) !== 0n).length * 4;
}

/** Calls that write nothing, until at most `kib` KiB of `memory` are in the page tables. */
function callUntilResident(memory: ContractMemory, kib: number): void {
  let calls = 0;
  while (residentKiB(memory) > kib && calls < 2_000) {
    memory.snapshot();
    memory.apply();
    calls++;
  }
  assert.ok(calls < 2_000, `still ${residentKiB(memory)} KiB resident after ${calls} calls`);
}

/** Runs `body` with the `"write-protect"` scanner, where the kernel offers it, and checks nothing leaked. */
function writeProtectTest(name: string, body: () => void): void {
  Deno.test({
    name,
    ignore: writeScanner().method !== "write-protect",
    fn(): void {
      scanner = new WriteScanner("write-protect");
      try {
        body();
      } finally {
        scanner = undefined;
      }
      assertNoLiveHandles();
    },
  });
}

forEachScanner(
  "ContractMemory keeps few written pages in the page tables, however many were written",
  () => {
    // 64 calls of a session that each write a new page (16 OS pages), then
    // calls that write nothing new: every scan walks the pages in the page
    // tables, so those of the first calls must leave them.
    using memory = scannedMemory(GiB, { byteLength: 64 * PAGE });
    memory.snapshot();
    for (let page = 0; page < 64; page++) {
      memory.snapshot();
      region(memory, page * PAGE, PAGE).fill(page + 1);
      memory.apply();
    }
    callUntilResident(memory, 1024);
    for (let page = 0; page < 64; page++) {
      assert.ok(
        region(memory, page * PAGE, PAGE).every((byte) => byte === page + 1),
        `page ${page}`,
      );
    }
    assert.deepEqual(memory.writtenPages(), Array.from({ length: 64 }, (_, page) => page));
    memory.revert();
    assert.ok(region(memory, 0, 64 * PAGE).every((byte) => byte === 0));
    assert.deepEqual(memory.writtenPages(), []);
  },
);

writeProtectTest(
  "ContractMemory drops the pages calls read from the page tables once scans slow down",
  () => {
    // 16 MiB written by one call, then read by the next: every later scan
    // walks those 4096 pages until a flush drops them.
    using memory = scannedMemory(GiB, { byteLength: 256 * PAGE });
    const value = (page: number) => page % 250 + 1;
    memory.snapshot();
    for (let page = 0; page < 256; page++) region(memory, page * PAGE, PAGE).fill(value(page));
    memory.apply();
    memory.snapshot();
    let sum = 0;
    for (let byte = 0; byte < 256 * PAGE; byte += 4096) sum += memory.view()[byte];
    memory.apply();
    let expected = 0;
    for (let page = 0; page < 256; page++) expected += 16 * value(page);
    assert.equal(sum, expected);
    assert.ok(residentKiB(memory) >= 16 * 1024);
    // Calls that write a page before and after calling another contract,
    // until the pages read are dropped. The callee's snapshot copies the
    // page to a new place while it stays mapped from the old one, and the
    // page is hot (copied at every flush): dropping it from the page tables
    // would make it read as the old copy, as would a protected page's.
    let calls = 0;
    while (residentKiB(memory) > 1024 && calls < 2_000) {
      memory.snapshot();
      memory.view()[0] = 255;
      if (calls === 0) memory.view()[7 * PAGE] = 99; // written once: protected
      memory.snapshot();
      memory.apply();
      memory.view()[calls === 0 ? 2 : 1] = calls++ % 200 + 10;
      memory.apply();
    }
    assert.ok(calls < 2_000, `still ${residentKiB(memory)} KiB resident after ${calls} calls`);
    // Nothing was lost, and a snapshot still reverts.
    assertBytes(region(memory, 0, 3), new Uint8Array([255, (calls - 1) % 200 + 10, 10]));
    assert.equal(memory.view()[7 * PAGE], 99);
    for (let page = 0; page < 256; page++) {
      const bytes = region(memory, page * PAGE, PAGE);
      assert.ok(
        bytes.subarray(page === 0 ? 3 : page === 7 ? 1 : 0).every((byte) => byte === value(page)),
        `page ${page}`,
      );
    }
    memory.snapshot();
    region(memory, 5 * PAGE, PAGE).fill(0);
    memory.revert();
    assert.ok(region(memory, 5 * PAGE, PAGE).every((byte) => byte === value(5)));
    assert.equal(memory.writtenPages().length, 256);
  },
);

/** How many mappings overlap `[base, base + length)`, from /proc/self/maps. */
function mappingCount(base: bigint, length: number): number {
  const end = base + BigInt(length);
  let count = 0;
  for (const line of readProcFile("/proc/self/maps").split("\n")) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range !== null && BigInt(`0x${range[1]}`) < end && BigInt(`0x${range[2]}`) > base) count++;
  }
  return count;
}

writeProtectTest(
  "ContractMemory maps pages copied in order as one mapping, however many sweeps there were",
  () => {
    // Calls that each append 64 KiB after the last call's bytes, as a
    // contract growing a vector does, with sweeps in between: each sweep maps
    // the pages written since the last one from their copies, which follow
    // the earlier pages' copies in the overlay. The kernel merges such
    // mappings only while no page of theirs was written privately, and the
    // next call writes the rest of the last OS page (appends start 100 bytes
    // into a page). Every mapping is one more for each scan to walk.
    const SHIFT = 100;
    const phases = 4;
    const callsPerPhase = 64;
    const valueAt = (byte: number) => Math.floor((byte - SHIFT) / PAGE) % 250 + 1;
    using memory = scannedMemory(GiB, { byteLength: (phases * callsPerPhase + 1) * PAGE });
    for (let call = 0; call < phases * callsPerPhase;) {
      for (const end = call + callsPerPhase; call < end; call++) {
        memory.snapshot();
        region(memory, call * PAGE + SHIFT, PAGE).fill(valueAt(call * PAGE + SHIFT));
        memory.apply();
      }
      // Reading the whole memory fills the page tables, so that the next
      // sweep comes soon and maps every page written since the last one.
      let sum = 0;
      for (let byte = 0; byte < memory.byteLength; byte += 4096) sum += memory.view()[byte];
      assert.ok(sum > 0);
      callUntilResident(memory, 0);
    }
    // The first OS page, written from byte 100 on, is one of them.
    assert.equal(mappingCount(memory.base, phases * callsPerPhase * PAGE), 1);
    const bytes = region(memory, SHIFT, phases * callsPerPhase * PAGE);
    for (let byte = 0; byte < bytes.length; byte += 4096) {
      assert.equal(bytes[byte], valueAt(byte + SHIFT), `byte ${byte + SHIFT}`);
    }
  },
);

writeProtectTest(
  "ContractMemory copies a written page again to keep the copies around it consecutive",
  () => {
    const OS_PAGE = 4096;
    using memory = scannedMemory(GiB, { byteLength: 80 * PAGE });
    const write = (page: number, value: number) =>
      region(memory, page * OS_PAGE, OS_PAGE).fill(value);
    // OS page 5 gets a copy of its own, then a call writes 4 and 6 but not
    // 5: copied with them again, 5 keeps the three copies consecutive. OS
    // page 21 was never written, so it stays out between 20 and 22.
    memory.snapshot();
    write(5, 1);
    memory.apply();
    memory.snapshot();
    write(4, 2);
    write(6, 3);
    write(20, 4);
    write(22, 5);
    memory.apply();
    // 4 MiB more in one call, then calls that write nothing until a sweep
    // has emptied the page tables and mapped the pages from their copies.
    memory.snapshot();
    region(memory, 16 * PAGE, 64 * PAGE).fill(6);
    memory.apply();
    callUntilResident(memory, 1024);
    assert.equal(mappingCount(memory.base + 4n * BigInt(OS_PAGE), 3 * OS_PAGE), 1);
    assert.equal(memory.view()[4 * OS_PAGE], 2);
    assert.equal(memory.view()[5 * OS_PAGE], 1);
    assert.equal(memory.view()[6 * OS_PAGE], 3);
    assert.equal(memory.view()[21 * OS_PAGE], 0);
    assert.equal(memory.writtenParts().get(1), (1 << 4) | (1 << 6));
  },
);

forEachScanner("ContractMemory.writtenPages counts same-value writes and never reads", () => {
  using memory = scannedMemory(GiB, { byteLength: 256 * PAGE });
  const view = memory.view();
  let sum = 0;
  for (let page = 0; page < 256; page += 3) sum += view[page * PAGE + 100];
  view[5 * PAGE] = 0; // same value as before
  view[7 * PAGE + PAGE - 1] = 1; // last byte of a page
  view[200 * PAGE + 4096 * 5] = 9; // a 4 KiB page inside a 64 KiB page
  assert.equal(sum, 0);
  assert.deepEqual(memory.writtenPages(), [5, 7, 200]);
  memory.snapshot();
  assert.deepEqual(memory.writtenPages(), [5, 7, 200], "a snapshot forgets no write");
  view[9 * PAGE] = 1;
  assert.deepEqual(memory.writtenPages(), [5, 7, 9, 200]);
  memory.revert();
  assert.deepEqual(memory.writtenPages(), [5, 7, 200]);
});

forEachScanner("ContractMemory maps committed files copy-on-write and never modifies them", () => {
  const dir = Deno.makeTempDirSync({ prefix: "piecrust-memory-" });
  try {
    const path = `${dir}/pages`;
    const contents = new Uint8Array(3 * PAGE);
    for (let i = 0; i < contents.length; i++) contents[i] = (i * 7) % 251;
    Deno.writeFileSync(path, contents);
    const digest = (): string => createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
    const before = digest();
    {
      using memory = scannedMemory(GiB, {
        byteLength: 8 * PAGE,
        files: [{ path, fileOffset: PAGE, memoryOffset: 4 * PAGE, byteLength: 2 * PAGE }],
        scratchDirectory: dir,
      });
      assertBytes(region(memory, 4 * PAGE, 2 * PAGE), contents.subarray(PAGE));
      assert.ok(region(memory, 0, 4 * PAGE).every((byte) => byte === 0));
      assert.deepEqual(memory.writtenPages(), [], "mapping and reading write nothing");

      memory.snapshot();
      region(memory, 4 * PAGE, 10).fill(0xff);
      region(memory, 6 * PAGE, 10).fill(0xee);
      assert.deepEqual(memory.writtenPages(), [4, 6]);
      memory.snapshot();
      region(memory, 5 * PAGE, 10).fill(0xdd);
      memory.revert();
      assertBytes(region(memory, 5 * PAGE, 10), contents.subarray(2 * PAGE, 2 * PAGE + 10));
      memory.revert();
      assertBytes(region(memory, 4 * PAGE, 2 * PAGE), contents.subarray(PAGE));
      assert.deepEqual(memory.writtenPages(), []);
      region(memory, 4 * PAGE, 3).fill(1);
      assert.deepEqual(memory.writtenPages(), [4]);
    }
    assert.equal(digest(), before);
    // The overlay file is unnamed: nothing but our file is left in the folder.
    assert.deepEqual([...Deno.readDirSync(dir)].map((entry) => entry.name), ["pages"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

forEachScanner("ContractMemory.revert restores the length after grow", () => {
  using memory = scannedMemory(GiB, { byteLength: PAGE, maxByteLength: 16 * PAGE });
  memory.snapshot();
  memory.grow(4 * PAGE);
  memory.view()[3 * PAGE] = 7;
  assert.equal(memory.byteLength, 4 * PAGE);
  memory.revert();
  assert.equal(memory.byteLength, PAGE);
  assert.equal(memory.view().byteLength, PAGE);
  memory.grow(4 * PAGE);
  assert.equal(memory.view()[3 * PAGE], 0, "reverted growth comes back as zeros");
  assert.deepEqual(memory.writtenPages(), []);
  assertThrowsKind(() => memory.grow(17 * PAGE), "MemoryError");
  assert.throws(() => memory.grow(PAGE + 1), RangeError);
});

Deno.test("ContractMemory rejects bad sizes and mappings", () => {
  assert.throws(() => scannedMemory(1000), RangeError);
  assert.throws(() => scannedMemory(PAGE, { byteLength: 2 * PAGE }), RangeError);
  const dir = Deno.makeTempDirSync({ prefix: "piecrust-memory-" });
  try {
    Deno.writeFileSync(`${dir}/short`, new Uint8Array(PAGE));
    const file = { path: `${dir}/short`, fileOffset: 0, memoryOffset: 0, byteLength: 2 * PAGE };
    assert.throws(() => scannedMemory(GiB, { files: [file] }), /cannot map/);
    assert.throws(
      () => scannedMemory(GiB, { files: [{ ...file, path: `${dir}/missing` }] }),
      (error: Error & { kind?: string }) =>
        error.kind === "IOError" && error.cause instanceof Deno.errors.NotFound,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  const memory = scannedMemory(PAGE, { byteLength: PAGE });
  memory.close();
  memory.close();
  assertThrowsKind(() => memory.view(), "Disposed");
  assertNoLiveHandles();
});

// --- Through wasmtime ------------------------------------------------------------------

const memoryGrow = await watFixture("memory_grow");
const memory64 = await watFixture("memory64");

forEachScanner("ContractMemory backs a wasm instance and tracks its writes exactly", () => {
  using memory = scannedMemory(4 * GiB + 32 * 2 ** 20, { maxByteLength: 16 * PAGE });
  {
    using engine = new Engine({
      memoryCreator: { newMemory: (request) => memory.attach(request) },
    });
    using module = Module.compile(engine, memoryGrow);
    using linker = new Linker(engine);
    using store = new Store(engine);
    store.setFuel(1_000_000n);
    const instance = linker.instantiate(store, module);
    // Instantiation grew the memory to the module's minimum and wrote its data segment.
    assert.equal(memory.byteLength, PAGE);
    assert.deepEqual(memory.writtenPages(), [0]);
    assert.equal(new TextDecoder().decode(region(memory, 16, 8)), "piecrust");

    memory.snapshot();
    assert.equal(instance.getFunc("grow").callI32(3), 1);
    assert.equal(instance.getFunc("poke").callI32(2 * PAGE + 9), 4);
    assert.equal(instance.getFunc("poke").callI32(3 * PAGE + 9), 4);
    assert.deepEqual(memory.writtenPages(), [0, 2, 3]);
    assert.equal(memory.view()[2 * PAGE + 9], 0x2a);
    memory.revert();
    assert.equal(memory.byteLength, PAGE);
    assert.deepEqual(memory.writtenPages(), [0]);

    // wasm sees the restored bytes in a fresh instance and traps past the length.
    using store2 = new Store(engine);
    store2.setFuel(1_000_000n);
    const again = linker.instantiate(store2, module);
    assertTraps(() => again.getFunc("poke").callI32(2 * PAGE), "MemoryOutOfBounds");
    assert.equal(again.getFunc("grow").callI32(1), 1);
    assert.equal(memory.view()[PAGE + 9], 0);
    assertThrowsKind(() => memory.close(), "MemoryError");
  }
});

Deno.test("ContractMemory lets a 64-bit memory grow past 4 GiB, sparsely", () => {
  const reservation = 8 * GiB;
  {
    using memory = scannedMemory(reservation + 32 * 2 ** 20, { maxByteLength: 6 * GiB });
    using engine = new Engine({
      memoryReservation: reservation,
      memoryCreator: { newMemory: (request) => memory.attach(request) },
    });
    using module = Module.compile(engine, memory64);
    using linker = new Linker(engine);
    using store = new Store(engine);
    store.setFuel(1_000_000n);
    const instance = linker.instantiate(store, module);
    const grow = instance.getFunc("grow");
    const store8 = instance.getFunc("store8");
    assert.deepEqual(grow.call(5n * BigInt(GiB / PAGE)), [1n]);
    assert.equal(memory.byteLength, 5 * GiB + PAGE);
    const address = 4.5 * GiB;
    store8.call(BigInt(address), 77);
    assert.deepEqual(instance.getFunc("load8").call(BigInt(address)), [77]);
    assert.deepEqual(memory.writtenPages(), [address / PAGE]);
  }
  assertNoLiveHandles();
});

// --- Reservations reused across memories -------------------------------------------------

const MiB = 2 ** 20;

/** Reads a /proc file through libc: Deno allows /proc/self/smaps only with --allow-all. */
function readProcFile(path: string): string {
  const lib = libc();
  const fd = lib.open(new TextEncoder().encode(`${path}\0`), OpenFlags.RDONLY, 0);
  assert.ok(fd >= 0, `cannot open ${path}`);
  const chunks: Uint8Array[] = [];
  try {
    const chunk = new Uint8Array(1 << 16);
    let offset = 0;
    for (;;) {
      const read = Number(
        lib.pread(fd, Deno.UnsafePointer.of(chunk), BigInt(chunk.length), BigInt(offset)),
      );
      assert.ok(read >= 0, `cannot read ${path}`);
      if (read === 0) break;
      chunks.push(chunk.slice(0, read));
      offset += read;
    }
  } finally {
    lib.close(fd);
  }
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(bytes);
}

/**
 * What the kernel says about `[base, base + length)`: the distinct kinds of
 * mapping overlapping it (protection, backing, resident size, huge-page
 * advice), and how many of its bytes they cover.
 */
function mappingsOf(base: bigint, length: number): { kinds: string[]; covered: number } {
  const end = base + BigInt(length);
  const kinds = new Set<string>();
  let covered = 0n;
  let current: { start: bigint; end: bigint; header: string; rss: string } | undefined;
  const finish = (flags: string): void => {
    if (current === undefined) return;
    const from = current.start > base ? current.start : base;
    const to = current.end < end ? current.end : end;
    if (from < to) {
      covered += to - from;
      const [, perms, , , inode, path = ""] = current.header.split(/\s+/);
      const advice = flags.split(/\s+/).includes("nh") ? "nohugepage" : "hugepage-allowed";
      kinds.add(`${perms} inode=${inode} path=${path} rss=${current.rss} ${advice}`);
    }
    current = undefined;
  };
  for (const line of readProcFile("/proc/self/smaps").split("\n")) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range !== null) {
      current = {
        start: BigInt(`0x${range[1]}`),
        end: BigInt(`0x${range[2]}`),
        header: line,
        rss: "",
      };
    } else if (current !== undefined && line.startsWith("Rss:")) {
      current.rss = line.split(/\s+/)[1];
    } else if (line.startsWith("VmFlags:")) {
      finish(line);
    }
  }
  return { kinds: [...kinds].sort(), covered: Number(covered) };
}

Deno.test("WriteScanner uses write protection wherever the kernel grants a userfaultfd", () => {
  const granted = (() => {
    try {
      new WriteScanner("write-protect");
      return true;
    } catch (error) {
      assert.ok(error instanceof PiecrustError && error.kind === "MemoryError");
      return false;
    }
  })();
  assert.equal(writeScanner().method === "write-protect", granted);
});

Deno.test("WriteScanner.protect makes a written page clean until its next write, same values included", () => {
  using memory = new ContractMemory(64 * PAGE, { byteLength: 4 * PAGE });
  const scanner = writeScanner();
  const runs = () => {
    const found: number[][] = [];
    scanner.scan(memory.base, memory.byteLength, (offset, count) => found.push([offset, count]));
    return found;
  };
  memory.view()[PAGE + 5] = 1;
  assert.deepEqual(runs(), [[PAGE, 1]]);
  if (!scanner.cleansInPlace) {
    assertThrowsKind(
      () => scanner.protect(memory.base + BigInt(PAGE), OS_PAGE_SIZE),
      "MemoryError",
    );
    return;
  }
  scanner.protect(memory.base + BigInt(PAGE), OS_PAGE_SIZE);
  assert.deepEqual(runs(), []);
  void memory.view()[PAGE + 5]; // a read is no write
  assert.deepEqual(runs(), []);
  memory.view()[PAGE + 5] = 1; // the same value: still a write
  assert.deepEqual(runs(), [[PAGE, 1]]);
});

function writtenRuns(base: bigint, length: number): number[][] {
  const runs: number[][] = [];
  writeScanner().scan(base, length, (offset, count) => runs.push([offset, count]));
  return runs;
}

forEachScanner("ReservationPool hands back a used reservation in the state of a fresh one", () => {
  const bytes = 64 * MiB;
  const dir = Deno.makeTempDirSync({ prefix: "piecrust-memory-" });
  try {
    const path = `${dir}/pages`;
    Deno.writeFileSync(path, new Uint8Array(4 * PAGE).fill(0x11));
    using fresh = Reservation.map(bytes);
    using pool = new ReservationPool();
    let base: bigint;
    {
      using memory = scannedMemory(pool.acquire(bytes), {
        byteLength: 16 * PAGE,
        files: [{ path, fileOffset: 0, memoryOffset: 2 * PAGE, byteLength: 4 * PAGE }],
        scratchDirectory: dir,
      });
      base = memory.base;
      region(memory, 0, 16 * PAGE).fill(0x5a);
      memory.snapshot(); // moves the written pages into the overlay file
      region(memory, 3 * PAGE, 2 * PAGE).fill(0x6b);
      memory.grow(32 * PAGE);
      memory.view()[30 * PAGE] = 1;
      assert.equal(writtenRuns(base, bytes).length > 0, true);
    }
    assert.equal(pool.idle, 1);
    // The kernel cannot tell the used range from a fresh one: one kind of
    // mapping, inaccessible, anonymous, nothing resident, no huge pages.
    assert.deepEqual(mappingsOf(base, bytes), {
      kinds: mappingsOf(fresh.base, bytes).kinds,
      covered: bytes,
    });
    assert.deepEqual(mappingsOf(base, bytes).kinds, ["---p inode=0 path= rss=0 nohugepage"]);
    assert.deepEqual(writtenRuns(base, bytes), [], "no written page survives the reset");

    using memory = scannedMemory(pool.acquire(bytes), { byteLength: 32 * PAGE });
    assert.equal(memory.base, base, "the pool reused the range");
    assert.deepEqual(memory.writtenPages(), [], "the previous user's writes are not reported");
    assert.ok(memory.view().every((byte) => byte === 0), "every page reads as zero");
    assert.deepEqual(memory.writtenPages(), [], "reading wrote nothing");
    assert.deepEqual(
      mappingsOf(base + BigInt(32 * PAGE), bytes - 32 * PAGE).kinds,
      ["---p inode=0 path= rss=0 nohugepage"],
      "inaccessible past the length",
    );
    memory.view()[7 * PAGE + 3] = 9;
    assert.deepEqual(memory.writtenPages(), [7], "write tracking works on a reused range");
    memory.snapshot();
    memory.view()[8 * PAGE] = 1;
    memory.revert();
    assert.deepEqual(memory.writtenPages(), [7]);
    assert.equal(memory.view()[8 * PAGE], 0);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ReservationPool.acquire reuses the latest released range of the size, up to maxIdle", () => {
  assert.equal(new ReservationPool().maxIdle, DEFAULT_IDLE_RESERVATIONS);
  assert.throws(() => new ReservationPool({ maxIdle: -1 }), RangeError);
  {
    const pool = new ReservationPool({ maxIdle: 2 });
    const [a, b, c] = [pool.acquire(MiB), pool.acquire(MiB), pool.acquire(MiB)];
    assert.equal(new Set([a.base, b.base, c.base]).size, 3);
    for (const reservation of [a, b, c]) reservation.release();
    assert.equal(pool.idle, 2, "the third release found the pool full");
    assert.equal(liveHandles().reservation, 2, "and unmapped its range");
    c.release(); // idempotent: a released lease cannot touch the range again
    assert.equal(pool.idle, 2);
    assertThrowsKind(() => adoptReservation(c), "MemoryError");

    const other = pool.acquire(2 * MiB);
    assert.ok(![a.base, b.base].includes(other.base), "a size the pool lacks is mapped anew");
    const again = pool.acquire(MiB);
    assert.equal(again.base, b.base, "the most recently released range comes first");
    assert.equal(again.released, false);
    assert.equal(pool.idle, 1);

    pool.close();
    assert.equal(pool.idle, 0);
    assertThrowsKind(() => pool.acquire(MiB), "Disposed");
    assert.throws(() => new ReservationPool().acquire(1000), RangeError);
    other.release();
    again.release();
  }
  assertNoLiveHandles();
});

Deno.test("adoptReservation views share a buffer across leases, grown to the largest view by powers of two", () => {
  for (const bytes of [4 * GiB + 32 * MiB, 16 * GiB + 32 * MiB]) {
    using pool = new ReservationPool();
    const first = adoptReservation(pool.acquire(bytes));
    const buffer = first.view(PAGE).buffer;
    assert.equal(buffer.byteLength, MiB, "small memories get a small buffer");
    assert.equal(first.view(2 * PAGE).buffer, buffer);
    assert.equal(first.view(0).length, 0);
    const grown = first.view(3 * MiB).buffer;
    assert.equal(grown.byteLength, 4 * MiB);
    assert.equal(first.view(PAGE).buffer, grown, "views come from the largest buffer");
    assert.equal(first.view(bytes).buffer.byteLength, bytes, "capped at the range");
    assert.throws(() => first.view(bytes + PAGE), RangeError);
    first.release();
    assertThrowsKind(() => first.view(PAGE), "Disposed");
    const second = adoptReservation(pool.acquire(bytes));
    assert.equal(
      second.view(PAGE).buffer.byteLength,
      bytes,
      "no new external buffer for a new lease",
    );
    second.release();
  }
  const unpooled = adoptReservation(Reservation.map(MiB));
  const view = unpooled.view(PAGE);
  unpooled.release();
  assert.equal(view.length, 0, "an unmapped range's views are detached");
  assertNoLiveHandles();
});

Deno.test("Reservation.release refuses while a ContractMemory holds the reservation", () => {
  {
    const reservation = Reservation.map(GiB);
    const memory = scannedMemory(reservation, { byteLength: PAGE });
    assertThrowsKind(() => reservation.release(), "MemoryError");
    assert.equal(reservation.released, false);
    memory.view()[PAGE - 1] = 1; // still mapped
    memory.close();
    assert.equal(reservation.released, true);
    reservation.release(); // idempotent once the memory let go
  }
  assertNoLiveHandles();
});

Deno.test("ContractMemory owns the reservation it is given, even when it throws", () => {
  {
    using pool = new ReservationPool();
    const bad = pool.acquire(GiB);
    assert.throws(() => scannedMemory(bad, { byteLength: 1000 }), RangeError);
    assert.equal(bad.released, true);
    assert.equal(pool.idle, 1);
    assert.throws(() => scannedMemory(pool.acquire(GiB + 4096)), RangeError);
    assert.equal(pool.idle, 2);

    const reservation = pool.acquire(GiB);
    const memory = scannedMemory(reservation, { byteLength: PAGE });
    assert.equal(memory.reservation, GiB);
    assert.equal(memory.maxByteLength, GiB);
    assertThrowsKind(() => scannedMemory(reservation), "MemoryError");
    memory.close();
    assert.equal(reservation.released, true);
    assertThrowsKind(() => scannedMemory(reservation), "MemoryError");
    assert.equal(pool.idle, 2);
  }
  assertNoLiveHandles();
});

Deno.test("Runtime.leaseReservation reuses the reservations of closed memories", () => {
  for (const idleReservations of [undefined, 0]) {
    const runtime = new Runtime({ idleReservations, memory64Reservation: 8 * GiB });
    try {
      for (const is64 of [false, true]) {
        const options = { maxByteLength: runtime.maxByteLength(is64) };
        const first = scannedMemory(runtime.leaseReservation(is64), options);
        assert.equal(first.reservation, runtime.reservation(is64));
        const base = first.base;
        first.close();
        assert.equal(liveHandles().reservation, idleReservations === 0 ? undefined : is64 ? 2 : 1);
        using second = scannedMemory(runtime.leaseReservation(is64), options);
        if (idleReservations === undefined) assert.equal(second.base, base);
      }
    } finally {
      runtime.close();
    }
    assertNoLiveHandles();
  }
});

Deno.test("VM sessions on one base never see each other's uncommitted writes", () => {
  const owner = new Uint8Array(32);
  const gas = 1_000_000n;
  const readValue = contractFunction("read_value", unit, i64);
  const increment = contractFunction("increment", unit, unit);
  {
    using vm = VM.ephemeral();
    let base: Uint8Array;
    let counter;
    {
      using session = vm.session();
      counter = session.deploy(contractBytecode("counter"), owner, gas);
      session.call(counter, increment, undefined, gas);
      base = session.commit();
    }
    for (let round = 0; round < 3; round++) {
      using session = vm.session({ base });
      assert.equal(session.call(counter, readValue, undefined, gas).data, 0xfdn);
      for (let i = 0; i < 5; i++) session.call(counter, increment, undefined, gas);
      assert.equal(session.call(counter, readValue, undefined, gas).data, 0x102n);
    }
  }
  assertNoLiveHandles();
});

Deno.test("ContractMemory.revert with keepLength returns the length and keeps the pages accessible", () => {
  {
    using memory = new ContractMemory(GiB, { byteLength: PAGE });
    memory.snapshot();
    memory.grow(4 * PAGE);
    memory.view()[3 * PAGE] = 9;
    memory.revert({ keepLength: true });
    assert.equal(memory.byteLength, PAGE);
    assert.equal(memory.accessibleLength, 4 * PAGE);
    assert.equal(memory.view().length, PAGE, "host access stops at the length");
    // What ignores the length (wasm of an instance that kept it) can still touch the pages...
    const beyond = new Uint8Array(
      Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(memory.base)!, 4 * PAGE),
    );
    assert.equal(beyond[3 * PAGE], 0, "zeroed by the revert");
    beyond[2 * PAGE] = 5;
    // ...and growing over them starts from zeros again, without a new mapping past them.
    memory.grow(3 * PAGE);
    assert.equal(memory.byteLength, 3 * PAGE);
    assert.equal(memory.accessibleLength, 4 * PAGE);
    assert.equal(memory.view()[2 * PAGE], 0);
    // A new instance sees the length only.
    const host = memory.attach({ minimum: PAGE, maximum: GiB, reserved: GiB, guard: 0 });
    assert.equal(host.byteLength, 3 * PAGE);
    assert.equal(memory.accessibleLength, 3 * PAGE);
    host.release();
  }
  assertNoLiveHandles();
});

forEachScanner(
  "ContractMemory matches a model under random snapshots, writes, reverts and applies",
  () => {
    const PAGES = 6;
    using memory = scannedMemory(64 * PAGE, { byteLength: PAGES * PAGE });
    // The model: the bytes at the start of each OS page, and a stack of copies for the snapshots.
    const osPages = (PAGES * PAGE) / OS_PAGE_SIZE;
    let model = new Uint8Array(osPages);
    const saved: Uint8Array<ArrayBuffer>[] = [];
    // mulberry32: a small deterministic generator.
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    // Writing the same few pages again and again, as contracts do, makes them hot.
    const favourites = [3, 4, 17, 40];
    for (let step = 0; step < 3000; step++) {
      const op = random(20);
      if (op < 5) {
        memory.snapshot();
        saved.push(model.slice());
      } else if (op < 8 && saved.length > 0) {
        memory.revert();
        model = saved.pop()!;
      } else if (op < 10 && saved.length > 0) {
        memory.apply();
        saved.pop();
      } else if (op < 11) {
        // Idle: snapshots that write nothing let hot pages cool down.
        memory.snapshot();
        memory.apply();
      } else {
        const page = random(8) === 0 ? random(osPages) : favourites[random(favourites.length)];
        // Few values: same-value writes, and pages that change and change back.
        const value = random(3);
        memory.view()[page * OS_PAGE_SIZE] = value;
        model[page] = value;
      }
      const view = memory.view();
      for (let page = 0; page < osPages; page++) {
        if (view[page * OS_PAGE_SIZE] !== model[page]) {
          assert.fail(
            `step ${step}: page ${page} holds ${view[page * OS_PAGE_SIZE]}, not ${model[page]}`,
          );
        }
      }
    }
    while (saved.length > 0) {
      memory.revert();
      model = saved.pop()!;
    }
    const view = memory.view();
    for (let page = 0; page < osPages; page++) assert.equal(view[page * OS_PAGE_SIZE], model[page]);
  },
);

forEachScanner(
  "ContractMemory copies a page over its overlay copy when no snapshot needs that copy",
  () => {
    // 1000 top-level calls writing two pages keep the overlay at its first
    // size (16 pages, allocated at once), not 2000 pages.
    const { code, stdout, stderr } = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", OVERLAY_PROBE, scanner!.method],
    }).outputSync();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const bytes = Number(new TextDecoder().decode(stdout));
    assert.ok(bytes <= 16 * OS_PAGE_SIZE, `the overlay holds ${bytes} bytes`);
    // Nested snapshots: the outer one's copy survives the inner ones' copies over it.
    using memory = newMemory();
    memory.view()[0] = 7;
    memory.snapshot();
    memory.view()[0] = 8;
    memory.snapshot();
    for (let call = 0; call < 10; call++) {
      memory.snapshot();
      memory.view()[0] = 100 + call;
      memory.apply();
    }
    memory.revert();
    assert.equal(memory.view()[0], 8);
    memory.revert();
    assert.equal(memory.view()[0], 7);
  },
);

for (const where of ["in memory", "in a scratch directory"]) {
  forEachScanner(
    `ContractMemory keeps every snapshot's pages while its overlay grows (${where})`,
    () => {
      // 3 × 40 pages of copies: the overlay's window is mapped anew twice.
      const dir = where === "in memory" ? undefined : Deno.makeTempDirSync();
      try {
        using memory = scannedMemory(64 * PAGE, { byteLength: 8 * PAGE, scratchDirectory: dir });
        const pages = 40;
        for (let round = 1; round <= 3; round++) {
          for (let page = 0; page < pages; page++) memory.view()[page * OS_PAGE_SIZE] = round;
          memory.snapshot();
        }
        for (let round = 3; round >= 1; round--) {
          for (let page = 0; page < pages; page++) memory.view()[page * OS_PAGE_SIZE] = 99;
          memory.revert();
          for (let page = 0; page < pages; page++) {
            assert.equal(memory.view()[page * OS_PAGE_SIZE], round, `round ${round}, page ${page}`);
          }
        }
      } finally {
        if (dir !== undefined) Deno.removeSync(dir, { recursive: true });
      }
    },
  );
}

/**
 * Whether OS page `page` of `memory` is mapped in, from `/proc/self/pagemap`
 * (bit 63: present), read through libc: Deno opens it only with --allow-all.
 */
function present(memory: ContractMemory, page: number): boolean {
  const lib = libc();
  const fd = lib.open(new TextEncoder().encode("/proc/self/pagemap\0"), OpenFlags.RDONLY, 0);
  assert.ok(fd >= 0);
  try {
    const entry = new Uint8Array(8);
    const offset = (memory.base / BigInt(OS_PAGE_SIZE) + BigInt(page)) * 8n;
    assert.equal(lib.pread(fd, Deno.UnsafePointer.of(entry), 8n, offset), 8n);
    return (entry[7] & 0x80) !== 0;
  } finally {
    lib.close(fd);
  }
}

Deno.test("ContractMemory.prefault maps committed pages in without making them written", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/pages`;
    Deno.writeFileSync(path, new Uint8Array(2 * PAGE).fill(5));
    using memory = new ContractMemory(16 * PAGE, {
      byteLength: 4 * PAGE,
      files: [{ path, fileOffset: 0, memoryOffset: PAGE, byteLength: 2 * PAGE }],
    });
    const first = PAGE / OS_PAGE_SIZE;
    assert.equal(present(memory, first + 3), false);
    memory.prefault(PAGE, PAGE);
    for (let page = first; page < first + 16; page++) assert.ok(present(memory, page), `${page}`);
    assert.equal(present(memory, first + 16), false, "only the range");
    assert.deepEqual(memory.writtenPages(), []);
    assert.equal(memory.view()[PAGE + 100], 5);
    assert.throws(() => memory.prefault(3 * PAGE, 2 * PAGE), RangeError);
    assert.throws(() => memory.prefault(100, OS_PAGE_SIZE), RangeError);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
