/**
 * Where this VM deliberately differs from the reference in a parity
 * scenario: each entry names the scenario and the step (1-based) whose
 * lines differ, and why. The comparison counts these as documented, and
 * fails on any other difference and on an entry that no longer differs.
 * `docs/differences.md` lists the same differences for users.
 *
 * @module
 */

/** Steps whose lines differ on purpose. */
export interface KnownDifference {
  scenario: string;
  steps: readonly number[];
  why: string;
}

/** Every known difference of the parity scenarios. */
export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    scenario: "known/table64",
    steps: [3],
    why: "a wasm64 module with a 64-bit table (what LLVM ≥ 20 emits): the reference's " +
      "wasmtime 21 refuses it, ours runs it",
  },
  ...["wasm64", "wasm64-nobulk"].map((build) => ({
    // not_out_of_bounds, with each argument shape and gas limit, before and after the reopening.
    scenario: `${build}/c_example`,
    steps: [12, 13, 14, 15, 16, 17, 18, 19, 42, 43, 44, 45, 46, 47, 48, 49],
    why: "a host function given a pointer past the memory's length (inside the 4 TiB " +
      "wasm64 mapping): the reference reads the mapping's zero pages, ours fails with " +
      "MemoryAccessOutOfBounds, as wasm itself traps there",
  })),
];
