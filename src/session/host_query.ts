/**
 * {@linkcode HostQuery}: a host function that contracts call by name with `hq`.
 *
 * @module
 */

/**
 * A host query, registered on a VM with `vm.registerHostQuery(name, query)`.
 * The contract pays `price(arg)` gas first; a price above the gas left fails
 * the call with `OutOfGas` without running the query. A price must be a
 * bigint from 0 to 2^64 - 1: any other value fails the call with a `Panic`
 * that names the query, without running it.
 *
 * Both functions run inside the contract's call, so they must not change the
 * session that runs it: `close`, `commit`, `deploy`, `migrate`, a call, or
 * setting metadata on that session (or closing its VM) throws a
 * `SessionError` and changes nothing, and the call fails as when the query
 * throws (see `containHostQueryPanics`). Reading it (`root`,
 * `meta`, `memoryPages`) is allowed and sees the call's writes so far.
 *
 * @example A query that sums the bytes of its argument
 * ```ts
 * import assert from "node:assert/strict";
 * import type { HostQuery } from "./host_query.ts";
 *
 * const sum: HostQuery = {
 *   price: (arg) => BigInt(arg.length),
 *   execute(arg, buffer) {
 *     const total = arg.reduce((a, b) => a + b, 0);
 *     new DataView(buffer.buffer, buffer.byteOffset).setUint32(0, total, true);
 *     return 4;
 *   },
 * };
 * const buffer = new Uint8Array(65536);
 * assert.equal(sum.price(new Uint8Array(3)), 3n);
 * assert.equal(sum.execute(new Uint8Array([1, 2, 3]), buffer), 4);
 * assert.deepEqual(buffer.subarray(0, 4), new Uint8Array([6, 0, 0, 0]));
 * ```
 */
export interface HostQuery<S = unknown> {
  /**
   * The gas price (a u64) of running the query on `arg` (the contract's
   * argument bytes); or, to hand what pricing worked out (a parsed argument)
   * to {@linkcode execute}, the price with that state, as the reference's
   * `deserialize_and_price` does.
   */
  price(arg: Uint8Array): bigint | PricedHostQuery<S>;
  /**
   * Runs the query on `arg`; writes the result at the start of `buffer` (the
   * contract's whole 64 KiB argument buffer) and returns its length. `state`
   * is what `price` returned with the price, if anything.
   */
  execute(arg: Uint8Array, buffer: Uint8Array, state?: S): number;
}

/**
 * A price with the state that {@linkcode HostQuery.execute} receives.
 *
 * @example A query that parses its argument once, when pricing it
 * ```ts
 * import assert from "node:assert/strict";
 * import type { HostQuery } from "./host_query.ts";
 *
 * const words: HostQuery<string[]> = {
 *   price(arg) {
 *     const parsed = new TextDecoder().decode(arg).split(" ");
 *     return { gas: BigInt(parsed.length) * 10n, state: parsed };
 *   },
 *   execute(_arg, buffer, parsed) {
 *     buffer[0] = parsed!.length;
 *     return 1;
 *   },
 * };
 * const priced = words.price(new TextEncoder().encode("a b c"));
 * assert.ok(typeof priced === "object");
 * assert.equal(priced.gas, 30n);
 * const buffer = new Uint8Array(65536);
 * assert.equal(words.execute(new Uint8Array(), buffer, priced.state), 1);
 * assert.equal(buffer[0], 3);
 * ```
 */
export interface PricedHostQuery<S> {
  /** The gas price, a bigint from 0 to 2^64 − 1. */
  readonly gas: bigint;
  /** What `execute` receives. */
  readonly state: S;
}
