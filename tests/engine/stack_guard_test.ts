/**
 * Stack headroom: no recursion depth, host import, `memory.grow` or call
 * chain at the bottom of wasm takes the process down, on the main thread or
 * in a Worker, for either memory width.
 */

import assert from "node:assert/strict";
import { deepStack, DeepStackAction, DIVE_LEVEL_BYTES } from "../../contracts/wat/deep_stack.ts";
import { ContractId, type PiecrustError } from "../../mod.ts";
import { Engine } from "../../src/engine/mod.ts";
import { ensureStack, stackHeadroom, threadStackBudget } from "../../src/engine/stack_guard.ts";
import { assertThrowsKind, assertTraps, withSession } from "../_helpers.ts";

const KiB = 1024;
const OWNER = new Uint8Array(32);
const GAS = 100_000_000n;

/** Calls `body` from `frames` JS frames deeper than the caller. */
function deeper<T>(frames: number, body: () => T): T {
  return frames === 0 ? body() : deeper(frames - 1, body);
}

/** Calls `body` from deep enough in the JS stack that at most `bytes` are left. */
function withHeadroom<T>(bytes: number, body: () => T): T {
  return stackHeadroom() > bytes ? withHeadroom(bytes, body) : body();
}

Deno.test("stackHeadroom shrinks as the JS stack grows, and stays positive", () => {
  const here = stackHeadroom();
  const below = deeper(1000, stackHeadroom);
  assert.ok(here > below, `${here} > ${below}`);
  assert.ok(below > 0);
  assert.ok(threadStackBudget() > here);
});

Deno.test("ensureStack throws a StackOverflow trap once too little stack is left", () => {
  ensureStack(64 * KiB);
  const error = assertTraps(() => ensureStack(stackHeadroom() + 64 * KiB), "StackOverflow");
  assert.match(error.message, /not enough native stack/);
});

Deno.test("Engine refuses a maxWasmStack that leaves no room in the thread's stack", () => {
  const error = assertThrowsKind(
    () => new Engine({ maxWasmStack: 1984 * KiB }),
    "ConfigError",
  );
  assert.match(error.message, /maxWasmStack must be at least 64 KiB and at most \d+ bytes/);
  new Engine({ maxWasmStack: 512 * KiB }).close();
});

Deno.test("Session.callRaw from a JS stack too deep for wasm fails with a StackOverflow RuntimeError, and the session keeps working", async () => {
  const bytecode = await deepStack(false);
  withSession((session) => {
    const id = session.deploy(bytecode, OWNER, GAS);
    const arg = new Uint8Array(DIVE_LEVEL_BYTES);
    new DataView(arg.buffer).setUint32(4, DeepStackAction.HOST_IMPORT, true);
    const root = session.root();
    // Leave about half of what an entry into wasm needs (512 + 64 KiB).
    const error = withHeadroom(300 * KiB, () => {
      try {
        session.callRaw(id, "dive", arg, GAS);
      } catch (error) {
        return error;
      }
    });
    assert.equal((error as { kind?: string })?.kind, "RuntimeError", String(error));
    assert.equal((error as PiecrustError).details.trap, "StackOverflow", String(error));
    assert.deepEqual(session.root(), root);
    assert.equal(session.callRaw(id, "dive", arg, GAS).data.length, 4);
  });
});

Deno.test("deep_stack dive with a call back into itself reaches the host import at the bottom", async () => {
  const bytecode = await deepStack(true);
  withSession((session) => {
    const id = session.deploy(bytecode, OWNER, GAS, {
      contractId: ContractId.fromHex("01".repeat(32)),
    });
    const arg = new Uint8Array(2 * DIVE_LEVEL_BYTES);
    const view = new DataView(arg.buffer);
    view.setUint32(0, 100, true);
    view.setUint32(4, DeepStackAction.CALL, true);
    arg.set(id.toBytes(), 8);
    view.setUint32(DIVE_LEVEL_BYTES, 100, true);
    view.setUint32(DIVE_LEVEL_BYTES + 4, DeepStackAction.HOST_IMPORT, true);
    const receipt = session.callRaw(id, "dive", arg, GAS);
    // `c` returned the callee's 4-byte result, and both frames are in the tree.
    assert.equal(new DataView(receipt.data.buffer).getInt32(0, true), 4);
    assert.equal([...receipt.callTree].length, 2);
  });
});

interface ScanCounts {
  probes: number;
  crashes: number;
  outcomes: Map<string, number>;
  /** Probes whose outcome is not what their depth allows (see below). */
  unexpected: string[];
  deepest: number[];
}

/**
 * Runs every probe of tests/fixtures/stack_probe.ts on `thread` in child
 * processes: after a crash the next child starts past the probe that
 * crashed, so a crash is counted, never fatal to the scan.
 */
async function scan(thread: "main" | "worker"): Promise<ScanCounts> {
  const fixture = new URL("../fixtures/stack_probe.ts", import.meta.url).pathname;
  const counts: ScanCounts = {
    probes: 0,
    crashes: 0,
    outcomes: new Map(),
    unexpected: [],
    deepest: [],
  };
  let start = 0;
  for (;;) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", fixture, thread, String(start)],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const lines = new TextDecoder().decode(output.stdout).split("\n");
    let last = start - 1;
    let done = false;
    for (const line of lines) {
      const [word, ...rest] = line.split(" ");
      if (word === "deepest") counts.deepest = rest.map(Number);
      if (word === "done") done = true;
      if (word !== "probe") continue;
      const [index, description, outcome] = rest;
      last = Number(index);
      counts.probes++;
      const key = outcome.replace(/:-?\d+$/, "");
      counts.outcomes.set(key, (counts.outcomes.get(key) ?? 0) + 1);
      if (!expected(description, key, counts.deepest)) {
        counts.unexpected.push(`${description} ${outcome}`);
      }
    }
    if (done && output.success) return counts;
    counts.crashes++;
    const stderr = new TextDecoder().decode(output.stderr);
    console.error(`probe ${last + 1} on ${thread} crashed the process: ${stderr.slice(-400)}`);
    if (counts.crashes > 20) return counts;
    start = last + 2;
  }
}

/**
 * What a probe may end with: its first contract must succeed a few frames
 * short of the deepest recursion that succeeds with nothing at the bottom,
 * and fail with `StackOverflow` a few past it. Whatever fails below it is
 * reported to its caller as a code, so the top call still succeeds.
 */
function expected(description: string, outcome: string, deepest: number[]): boolean {
  const [width, , depth] = description.split(":").map((part) => part.split("=").at(-1)!);
  const top = deepest[width === "wasm64" ? 1 : 0];
  if (Number(depth) < top - 8) return outcome === "ok";
  if (Number(depth) > top + 8) return outcome === "error:StackOverflow";
  return outcome === "ok" || outcome === "error:StackOverflow";
}

for (const thread of ["main", "worker"] as const) {
  Deno.test(`deep_stack depth scan on the ${thread} thread: no crash, no untyped error, no trace of a failure`, async () => {
    const counts = await scan(thread);
    console.log(
      `${thread}: ${counts.probes} probes, ${counts.crashes} crashes, deepest ${counts.deepest}, ` +
        JSON.stringify(Object.fromEntries(counts.outcomes)),
    );
    assert.equal(counts.crashes, 0);
    assert.deepEqual(counts.unexpected, []);
    // Every probe ran, and both ends of the range were reached.
    assert.ok(counts.probes > 10_000, `${counts.probes} probes`);
    assert.ok((counts.outcomes.get("ok") ?? 0) > 0);
    assert.ok((counts.outcomes.get("error:StackOverflow") ?? 0) > 0);
    assert.deepEqual(
      [...counts.outcomes.keys()].filter((key) => key !== "ok" && key !== "error:StackOverflow"),
      [],
    );
    // 512 KiB of wasm stack holds about 10,900 frames of `dive`.
    for (const deepest of counts.deepest) assert.ok(deepest > 5_000 && deepest < 20_000);
  });
}
