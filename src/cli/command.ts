/**
 * The shape of a CLI command, and the usage errors its argument checks raise.
 *
 * @module
 */

import type { CliIo } from "./io.ts";

/** What `node:util`'s `parseArgs` takes for one option. */
export interface OptionSpec {
  /** `boolean` for a flag, `string` for an option with a value. */
  type: "boolean" | "string";
}

/** The parsed command line of one command. */
export interface Invocation {
  /** The positional arguments, after the command's name. */
  positionals: string[];
  /** The options given, by name: `true` for a flag, the text of a value. */
  values: Record<string, string | boolean | undefined>;
  /** Where to write. */
  io: CliIo;
}

/** One command of the CLI. */
export interface Command {
  /** The name users type. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The full help text (`piecrust NAME --help`). */
  help: string;
  /** The options it takes besides `--help` (and `--json`, which every command takes). */
  options: Record<string, OptionSpec>;
  /** The positional arguments it takes: the least and the most. */
  arity: [min: number, max: number];
  /** Runs it; resolves to the exit code. */
  run(invocation: Invocation): Promise<number> | number;
}

/**
 * A command line that cannot be run as given: exit code 2, and the message
 * with a pointer to the command's help.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UsageError } from "./command.ts";
 *
 * const error = new UsageError("ROOT must be 64 hex digits");
 * assert.equal(error.name, "UsageError");
 * ```
 */
export class UsageError extends Error {
  /** An error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * `text` as bytes: hex digits, with or without `0x`, an even count, and
 * exactly `length` bytes if given. A {@linkcode UsageError} naming `name`
 * otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseHex } from "./command.ts";
 *
 * assert.deepEqual(parseHex("ARG", "0x0aff"), new Uint8Array([10, 255]));
 * assert.deepEqual(parseHex("ARG", ""), new Uint8Array());
 * assert.throws(() => parseHex("ROOT", "abc", 32), /ROOT must be 32 bytes of hex/);
 * ```
 */
export function parseHex(name: string, text: string, length?: number): Uint8Array {
  const digits = text.startsWith("0x") || text.startsWith("0X") ? text.slice(2) : text;
  const valid = /^([0-9a-fA-F]{2})*$/.test(digits) &&
    (length === undefined || digits.length === 2 * length);
  if (!valid) {
    const expected = length === undefined
      ? "an even number of hex digits"
      : `${length} bytes of hex`;
    throw new UsageError(`${name} must be ${expected}, got ${JSON.stringify(text)}`);
  }
  return Uint8Array.fromHex(digits.toLowerCase());
}

/**
 * The gas limit of `deploy` and `call` without `--gas`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_GAS } from "./command.ts";
 *
 * assert.equal(DEFAULT_GAS, 10_000_000_000n);
 * ```
 */
export const DEFAULT_GAS = 10_000_000_000n;

/** The largest u64, the most gas a call can be given. */
const U64_MAX = (1n << 64n) - 1n;

/**
 * `text` as a gas limit: a decimal integer from 0 to 2^64 − 1, `_` allowed
 * between digits. A {@linkcode UsageError} otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseGas } from "./command.ts";
 *
 * assert.equal(parseGas("1_000_000"), 1_000_000n);
 * assert.throws(() => parseGas("-1"), /--gas must be/);
 * ```
 */
export function parseGas(text: string): bigint {
  if (!/^\d+(_\d+)*$/.test(text) || BigInt(text.replaceAll("_", "")) > U64_MAX) {
    throw new UsageError(
      `--gas must be a whole number from 0 to ${U64_MAX}, got ${JSON.stringify(text)}`,
    );
  }
  return BigInt(text.replaceAll("_", ""));
}
