/**
 * The host side of the imports that metering puts in place of `memory.fill`,
 * `memory.copy`, `memory.grow` and `memory.size` (see
 * `src/bytecode/meter.ts`): each does what its instruction does, on the
 * running contract's memory. The call costs 1 fuel and host code none, so
 * the instruction costs what it costs in the reference, whatever its size.
 *
 * Lengths are the memory's own (`ContractMemory.byteLength`), which a failed
 * sub-call returns to where they were, as in the reference, even though the
 * wasmtime instance keeps the length it grew to (`accessibleLength`).
 *
 * @module
 */

import { WASM_PAGE_SIZE } from "../bytecode/abi.ts";
import type { HostArgs, Linker } from "../engine/mod.ts";
import { PiecrustError } from "../errors.ts";
import { BULK_MEMORY_IMPORTS, BULK_MEMORY_MODULE, tableImport } from "../bytecode/meter.ts";
import { HOST_MEMORY_ERROR } from "../engine/memory_creator.ts";
import type { CallStack } from "./_call_stack.ts";

/** Reads argument `i` as an address or length of the memory's index type. */
type AddressArg = (args: HostArgs, i: number) => number;

const address32: AddressArg = (args, i) => args.i32(i) >>> 0;
/** Beyond 2^53 an address is out of bounds anyway: Infinity fails every check. */
const address64: AddressArg = (args, i) => {
  const value = BigInt.asUintN(64, args.i64(i));
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(value);
};

const MAX_FUEL = 2n ** 64n - 1n;

/** The count of the `table.grow` between a `grow` and its `grown` call. */
let pendingGrowth = 0n;

function outOfBounds(): PiecrustError {
  return new PiecrustError("Trap", "wasm trap: out of bounds memory access", {
    details: { trap: "MemoryOutOfBounds" },
  });
}

/**
 * Defines {@linkcode BULK_MEMORY_IMPORTS} on `linker`, for memories of the
 * given width; `running` is the call stack whose top frame called.
 */
export function defineBulkMemory(linker: Linker, is64: boolean, running: () => CallStack): void {
  const address = is64 ? "i64" : "i32";
  const read = is64 ? address64 : address32;
  linker.defineFunc(
    BULK_MEMORY_MODULE,
    BULK_MEMORY_IMPORTS.fill,
    { params: [address, "i32", address], results: [] },
    (args) => {
      const memory = running().top.live.contract.memory;
      const [destination, length] = [read(args, 0), read(args, 2)];
      // Checked before anything is written, as the instruction does.
      if (destination > memory.byteLength || length > memory.byteLength - destination) {
        throw outOfBounds();
      }
      memory.view().fill(args.i32(1) & 0xff, destination, destination + length);
    },
  );
  linker.defineFunc(
    BULK_MEMORY_MODULE,
    BULK_MEMORY_IMPORTS.copy,
    { params: [address, address, address], results: [] },
    (args) => {
      const memory = running().top.live.contract.memory;
      const [destination, source, length] = [read(args, 0), read(args, 1), read(args, 2)];
      const size = memory.byteLength;
      if (
        destination > size || source > size || length > size - destination ||
        length > size - source
      ) {
        throw outOfBounds();
      }
      memory.view().copyWithin(destination, source, source + length);
    },
  );
  linker.defineFunc(
    BULK_MEMORY_MODULE,
    BULK_MEMORY_IMPORTS.grow,
    { params: [address], results: [address] },
    (args) => {
      const live = running().top.live;
      const memory = live.contract.memory;
      const pages = is64 ? BigInt.asUintN(64, args.i64(0)) : BigInt(args.i32(0) >>> 0);
      const previous = BigInt(memory.byteLength / WASM_PAGE_SIZE);
      const target = memory.byteLength + Number(pages) * WASM_PAGE_SIZE;
      let result = previous;
      if (pages > BigInt(memory.maxByteLength / WASM_PAGE_SIZE) || target > memory.maxByteLength) {
        result = -1n;
      } else if (target <= memory.accessibleLength) {
        // Pages the instance kept after a revert: no need to ask wasmtime.
        memory.grow(target);
      } else {
        live.memory ??= live.instance.getMemory(live.contract.memoryExport);
        const more = BigInt((target - memory.accessibleLength) / WASM_PAGE_SIZE);
        try {
          live.memory.grow(more);
        } catch (error) {
          // A refused growth is -1, as for the instruction; our memory failing is not.
          if (
            !(error instanceof PiecrustError) || error.kind !== "MemoryError" ||
            error.message.includes(HOST_MEMORY_ERROR)
          ) {
            throw error;
          }
          result = -1n;
        }
      }
      if (is64) args.setI64(0, result);
      else args.setI32(0, Number(result));
    },
  );
  // Around table instructions: refund what wasmtime 49 charges on top of
  // the instruction (see `tableImport`), handing their operand back.
  for (const width of ["i32", "i64"] as const) {
    const defineTable = (role: "elements" | "grow" | "grown", refund: (value: bigint) => bigint) =>
      linker.defineFunc(
        BULK_MEMORY_MODULE,
        tableImport(role, width),
        { params: [width], results: [width] },
        (args) => {
          const value = width === "i64" ? args.i64(0) : BigInt(args.i32(0));
          const store = running().top.live.store;
          // Fuel is a u64: what would overflow it leaves the store full, and
          // the instruction's own charge then runs it out as it would anyway.
          const refunded = store.getFuel() + refund(value);
          store.setFuel(refunded > MAX_FUEL ? MAX_FUEL : refunded);
          if (width === "i64") args.setI64(0, args.i64(0));
          else args.setI32(0, args.i32(0));
        },
      );
    const unsigned = (value: bigint) => BigInt.asUintN(width === "i64" ? 64 : 32, value);
    defineTable("elements", (count) => unsigned(count) + 1n);
    // Calls of `grow` and `grown` are adjacent around one `table.grow`:
    // nothing runs between them, so one pending count per isolate is enough.
    defineTable("grow", (count) => {
      pendingGrowth = unsigned(count);
      return 2n;
    });
    defineTable("grown", (result) => (result === -1n ? 0n : pendingGrowth));
  }
  linker.defineFunc(
    BULK_MEMORY_MODULE,
    BULK_MEMORY_IMPORTS.size,
    { params: [], results: [address] },
    (args) => {
      const pages = running().top.live.contract.memory.byteLength / WASM_PAGE_SIZE;
      if (is64) args.setI64(0, BigInt(pages));
      else args.setI32(0, pages);
    },
  );
}

/**
 * Defines `name`, a per-segment import of `memory.init` or `data.drop`
 * (see `dataSegmentImport`), on `linker`.
 */
export function defineDataSegmentImport(
  linker: Linker,
  is64: boolean,
  name: string,
  running: () => CallStack,
): void {
  const [instruction, index] = name.split(":");
  const segment = Number(index);
  if (instruction === "data.drop") {
    linker.defineFunc(BULK_MEMORY_MODULE, name, { params: [], results: [] }, () => {
      running().top.live.droppedSegments.add(segment);
    });
    return;
  }
  const read = is64 ? address64 : address32;
  linker.defineFunc(
    BULK_MEMORY_MODULE,
    name,
    { params: [is64 ? "i64" : "i32", "i32", "i32"], results: [] },
    (args) => {
      const live = running().top.live;
      const memory = live.contract.memory;
      const bytes = live.droppedSegments.has(segment)
        ? new Uint8Array()
        : live.contract.dataSegments[segment];
      const [destination, offset, length] = [read(args, 0), address32(args, 1), address32(args, 2)];
      // Both ranges are checked before anything is written, as the instruction does.
      if (
        offset > bytes.length || length > bytes.length - offset ||
        destination > memory.byteLength || length > memory.byteLength - destination
      ) {
        throw outOfBounds();
      }
      memory.view().set(bytes.subarray(offset, offset + length), destination);
    },
  );
}
