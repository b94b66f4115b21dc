/** Shared test helpers. */

import assert from "node:assert/strict";
import { PiecrustError, type TrapName } from "../src/errors.ts";
import { liveHandles } from "../src/handles.ts";
import {
  contractFunction,
  ContractId,
  i64,
  type Session,
  type SessionOptions,
  unit,
  VM,
} from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";

/** Asserts that every engine, store, module and linker has been closed. */
export function assertNoLiveHandles(): void {
  assert.deepEqual(liveHandles(), {}, "native handles leaked");
}

/** Asserts that `fn` throws a PiecrustError of `kind`, and returns it. */
export function assertThrowsKind(fn: () => unknown, kind: string): PiecrustError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof Error, `expected an Error, got ${error}`);
    assert.equal((error as Error & { kind?: string }).kind, kind, (error as Error).message);
    return error as PiecrustError;
  }
  assert.fail(`expected a ${kind} error, but nothing was thrown`);
}

/**
 * Asserts that `fn` throws a wasm trap named `trap`: a `Trap` at the engine
 * level, or the `kind` a session reports it as (`RuntimeError`).
 */
export function assertTraps(
  fn: () => unknown,
  trap: TrapName,
  kind: "Trap" | "RuntimeError" = "Trap",
): PiecrustError {
  const error = assertThrowsKind(fn, kind);
  assert.ok(error instanceof PiecrustError);
  assert.equal(error.details.trap, trap, error.message);
  return error;
}

/**
 * Asserts that two byte arrays are equal, reporting the first difference
 * (node's deepEqual diff of large arrays takes minutes).
 */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, message = ""): void {
  assert.equal(actual.length, expected.length, `${message} length`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`${message} bytes differ at ${i}: ${actual[i]} !== ${expected[i]}`);
    }
  }
}

/**
 * Runs `body` with a session of a new ephemeral VM, closes both, and checks
 * that no native handle outlived them.
 */
export function withSession(
  body: (session: Session, vm: VM) => void,
  options: SessionOptions = {},
): void {
  {
    using vm = VM.ephemeral();
    using session = vm.session(options);
    body(session, vm);
  }
  assertNoLiveHandles();
}

/**
 * Runs `body` with a new temporary directory, removes it, and checks that
 * no native handle outlived it.
 */
export function withDirectory(body: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "piecrust-test-" });
  try {
    body(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  assertNoLiveHandles();
}

/** {@linkcode withDirectory} for an asynchronous body, as a test function. */
export function withDirectoryAsync(
  body: (dir: string) => Promise<void> | void,
): () => Promise<void> {
  return async () => {
    const dir = Deno.makeTempDirSync({ prefix: "piecrust-test-" });
    try {
      await body(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
    assertNoLiveHandles();
  };
}

/** The id the lifecycle and concurrency tests deploy the counter contract at. */
export const COUNTER = ContractId.fromHex("07".repeat(32));

const COUNTER_GAS = 1_000_000n;
const increment = contractFunction("increment", unit, unit);
const readValue = contractFunction("read_value", unit, i64);

/**
 * Commits on `base` after `increments` increments of the counter at
 * {@linkcode COUNTER} (deploying it, at 0xfc, on the empty state).
 */
export function commitCounter(
  vm: VM,
  base: Uint8Array | undefined,
  increments: number,
): Uint8Array {
  using session = vm.session(base === undefined ? {} : { base });
  if (base === undefined) {
    const owner = new Uint8Array(32);
    session.deploy(contractBytecode("counter"), owner, COUNTER_GAS, { contractId: COUNTER });
  }
  for (let i = 0; i < increments; i++) session.call(COUNTER, increment, undefined, COUNTER_GAS);
  return session.commit();
}

/** The counter's value at `root`, checking that the commit's state gives its root. */
export function counterAt(vm: VM, root: Uint8Array): bigint {
  using session = vm.session({ base: root });
  assert.deepEqual(session.root(), root, "the commit's state gives its root");
  return session.call(COUNTER, readValue, undefined, COUNTER_GAS).data;
}

/**
 * Runs the script `tests/fixtures/<fixture>` in a child Deno with the
 * tests' permissions, so that it may die (or be killed) without the test;
 * `signal` kills it (a child that hangs).
 */
export function runFixture(
  fixture: string,
  args: string[],
  options: { env?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Deno.CommandOutput> {
  const script = new URL(`./fixtures/${fixture}`, import.meta.url).pathname;
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--allow-read", "--allow-write", "--allow-env", "--allow-run"]
      .concat(script, args),
    env: options.env,
    signal: options.signal,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
}
