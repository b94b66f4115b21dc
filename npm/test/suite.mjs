// Plain JavaScript, run as it is by Node.js and Bun: no type annotations to write.
// deno-lint-ignore-file explicit-function-return-type
/**
 * The npm package's test suite, run by `deno task test:npm` on Node.js 26
 * and on Bun from a project that installed the packed package: what a user
 * of either runtime relies on, end to end.
 *
 * @module
 */

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { Worker } from "node:worker_threads";
import {
  bool,
  contractError,
  contractFunction,
  contractId,
  DataDriver,
  encode,
  i64,
  PiecrustError,
  result,
  string,
  tuple,
  u32,
  u64,
  u8,
  unit,
  vec,
  verifyPageOpening,
  VM,
  WASMTIME_VERSION,
} from "@piecrust/deno";
import { contractBytecode, dataDriverBytecode, duskContractBytecode } from "@piecrust/deno/testing";
import { run, test } from "./harness.mjs";

const GAS = 1_000_000n;
const OWNER = new Uint8Array(32);
const increment = contractFunction("increment", unit, unit);
const readValue = contractFunction("read_value", unit, i64);
const hex = (bytes) => Buffer.from(bytes).toString("hex");
const tempDir = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** The PiecrustError `call` throws. */
function failure(call) {
  try {
    call();
  } catch (error) {
    if (error instanceof PiecrustError) return error;
    throw error;
  }
  throw new Error("the call should have failed");
}

/** `body(session)` on a fresh ephemeral VM, both closed afterwards. */
function withSession(body, options = {}) {
  const vm = VM.ephemeral();
  try {
    const session = vm.session(options);
    try {
      return body(session, vm);
    } finally {
      session.close();
    }
  } finally {
    vm.close();
  }
}

test("Session.deploy and typed calls run the counter", () => {
  withSession((session) => {
    const counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
    assert.equal(session.call(counter, readValue, undefined, GAS).data, 0xfcn);
    const receipt = session.call(counter, increment, undefined, GAS);
    assert.equal(receipt.data, undefined);
    assert.equal(session.call(counter, readValue, undefined, GAS).data, 0xfdn);
  });
});

test("Session.callRaw takes and returns archived bytes", () => {
  withSession((session) => {
    const counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
    const raw = session.callRaw(counter, "read_value", new Uint8Array(), GAS);
    assert.deepEqual(raw.data, encode(i64, 0xfcn));
  });
});

test("Session.call charges the reference's gas", () => {
  withSession((session) => {
    const counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
    // The same figures as the Deno tests and the reference piecrust.
    assert.equal(session.call(counter, increment, undefined, GAS).gasSpent, 39n);
    const fibonacci = session.deploy(contractBytecode("fibonacci"), OWNER, GAS);
    const nth = contractFunction("nth", u32, u64);
    const receipt = session.call(fibonacci, nth, 10, GAS);
    assert.equal(receipt.data, 89n);
    assert.ok(receipt.gasSpent > 0n && receipt.gasSpent < GAS);
  });
});

test("Session.call fails with OutOfGas and leaves no trace", () => {
  withSession((session) => {
    const fibonacci = session.deploy(contractBytecode("fibonacci"), OWNER, GAS);
    const before = session.root();
    const error = failure(() =>
      session.call(fibonacci, contractFunction("nth", u32, u64), 25, 5_000n)
    );
    assert.equal(error.kind, "OutOfGas");
    assert.deepEqual(session.root(), before);
  });
});

test("Session.call leaves no trace of a failed call", () => {
  withSession((session) => {
    const counter = session.deploy(contractBytecode("fallible_counter"), OWNER, GAS);
    const grower = session.deploy(contractBytecode("grower"), OWNER, GAS);
    // fallible_counter's increment(panic) adds 1, then panics if asked to.
    const incrementOrPanic = contractFunction("increment", bool, unit);
    const valueBefore = session.call(counter, readValue, undefined, GAS).data;
    const memoryBefore = session.memoryLen(grower);
    const rootBefore = session.root();
    const panic = failure(() => session.call(counter, incrementOrPanic, true, GAS));
    assert.equal(panic.kind, "Panic");
    assert.equal(panic.message, "Incremental panic");
    const grown = failure(() =>
      session.callRaw(grower, "append_and_panic", new Uint8Array(60_000), GAS)
    );
    assert.equal(grown.kind, "Panic");
    assert.deepEqual(session.root(), rootBefore);
    assert.equal(session.call(counter, readValue, undefined, GAS).data, valueBefore);
    assert.equal(session.memoryLen(grower), memoryBefore);
  });
});

test("Session.call runs inter-contract calls", () => {
  withSession((session) => {
    const counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
    const callcenter = session.deploy(contractBytecode("callcenter"), OWNER, GAS);
    const incrementCounter = contractFunction("increment_counter", contractId, unit);
    const receipt = session.call(callcenter, incrementCounter, counter.toBytes(), GAS);
    const [inner, outer] = receipt.callTree;
    assert.ok(outer.contractId.equals(callcenter) && inner.contractId.equals(counter));
    assert.equal(receipt.gasSpent, outer.spent + inner.spent);
    assert.equal(session.call(counter, readValue, undefined, GAS).data, 0xfdn);
  }, { debug: true });
});

test("Session.call stays right through the JIT's tiers and garbage collections", () => {
  withSession((session) => {
    const counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
    const callcenter = session.deploy(contractBytecode("callcenter"), OWNER, GAS);
    const incrementCounter = contractFunction("increment_counter", contractId, unit);
    // Enough calls for the hot paths to be compiled by the optimizing tiers,
    // which moved buffers whose addresses native code held (Bun before the shim's fix).
    for (let i = 0; i < 3000; i++) {
      session.call(callcenter, incrementCounter, counter.toBytes(), GAS);
      if (i % 500 === 0) globalThis.Bun?.gc(true);
    }
    assert.equal(session.call(counter, readValue, undefined, GAS).data, 0xfcn + 3000n);
  }, { debug: true });
});

test("CallReceipt.events lists events, reverted ones marked", () => {
  withSession((session) => {
    const eventer = session.deploy(contractBytecode("eventer"), OWNER, GAS);
    const emitEvents = contractFunction("emit_events", u32, unit);
    const receipt = session.call(eventer, emitEvents, 3, GAS);
    assert.deepEqual(receipt.events.map((event) => event.topic), ["number", "number", "number"]);
    const reverter = session.deploy(contractBytecode("event_reverter"), OWNER, GAS);
    const callcenter = session.deploy(contractBytecode("callcenter"), OWNER, GAS);
    const delegate = contractFunction(
      "delegate_query_with_event",
      tuple(contractId, string, vec(u8)),
      result(vec(u8), contractError),
    );
    const call = session.call(
      callcenter,
      delegate,
      [reverter.toBytes(), "emit_then_panic", encode(contractId, eventer.toBytes())],
      GAS,
    );
    assert.deepEqual(
      call.events.map(({ topic, reverted }) => `${topic} ${reverted}`),
      ["callcenter-before false", "number true", "callcenter-after false"],
    );
  }, { debug: true });
});

test("DataDriver turns the stake contract's bytes into JSON and back", () => {
  const driver = DataDriver.load(dataDriverBytecode("stake"));
  try {
    withSession((session) => {
      const mirror = session.deploy(duskContractBytecode("stake_mirror"), OWNER, 10_000_000_000n);
      const bytes = session.callRaw(
        mirror,
        "sample_stake",
        encode(tuple(u64, u64), [7n, 5000n]),
        10_000_000_000n,
      ).data;
      const json = driver.decodeInput("stake", bytes);
      assert.equal(json.value, "5000");
      assert.deepEqual(driver.encodeInput("stake", json), bytes);
      const staked = driver.call(session, mirror, "stake", json, 10_000_000_000n);
      assert.deepEqual(driver.decodeEvent("stake", staked.events[0].data).value, "5000");
    });
    const error = failure(() => driver.encodeInput("no_such_fn", null));
    assert.equal(error.kind, "DataDriverError");
  } finally {
    driver.close();
  }
});

test("Session.commit persists; VM.open in a new process reads it back", () => {
  const directory = tempDir("piecrust-npm-");
  try {
    const vm = VM.open(directory);
    let root;
    let counter;
    try {
      const session = vm.session();
      counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
      session.call(counter, increment, undefined, GAS);
      session.call(counter, increment, undefined, GAS);
      root = session.commit();
      session.close();
    } finally {
      vm.close();
    }
    const output = execFileSync(
      process.execPath,
      [
        ...process.execArgv,
        new URL("./reopen.mjs", import.meta.url).pathname,
        directory,
        counter.toString(),
        hex(root),
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
    );
    const reopened = JSON.parse(output);
    assert.deepEqual(reopened.commits, [hex(root)]);
    assert.equal(reopened.root, hex(root));
    assert.equal(reopened.value, String(0xfcn + 2n));
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
});

test("Session.memoryPages proves pages against the state root", () => {
  withSession((session) => {
    const counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
    session.call(counter, increment, undefined, GAS);
    const root = session.root();
    const pages = session.memoryPages(counter);
    assert.ok(pages.length > 0);
    for (const { page, opening } of pages) {
      assert.deepEqual(opening.tree.root, root);
      assert.ok(verifyPageOpening(opening, page));
    }
    const forged = pages[0].page.slice();
    forged[100] ^= 1;
    assert.equal(verifyPageOpening(pages[0].opening, forged), false);
  });
});

/** Runs `start(handle, job)` for two jobs on a committed counter and checks their commits. */
async function parallelCommits(start) {
  const directory = tempDir("piecrust-npm-workers-");
  const vm = VM.open(directory);
  try {
    let base;
    let counter;
    {
      const session = vm.session();
      counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
      base = session.commit();
      session.close();
    }
    const results = await Promise.all([3, 5].map((increments) => {
      const handle = vm.share();
      return start(handle, { handle, base, counter: counter.toString(), increments });
    }));
    for (const { increments, root } of results) {
      assert.ok(vm.commits().some((commit) => hex(commit) === hex(root)));
      const session = vm.session({ base: root });
      assert.equal(
        session.call(counter, readValue, undefined, GAS).data,
        0xfcn + BigInt(increments),
      );
      session.close();
    }
    assert.equal(vm.commits().length, 3);
  } finally {
    vm.close();
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

test("VM.share runs sessions in worker threads in parallel", async () => {
  await parallelCommits((handle, job) => {
    const worker = new Worker(new URL("./counter_worker.mjs", import.meta.url), {
      workerData: job,
      transferList: [handle.port],
    });
    return new Promise((resolve, reject) => {
      worker.once("message", (message) => {
        worker.terminate();
        resolve(message);
      });
      worker.once("error", reject);
    });
  });
});

if (globalThis.Worker !== undefined) {
  test("VM.share runs sessions in Web Workers in parallel", async () => {
    await parallelCommits((handle, job) => {
      const worker = new globalThis.Worker(new URL("./counter_web_worker.mjs", import.meta.url), {
        type: "module",
      });
      worker.postMessage(job, [handle.port]);
      return new Promise((resolve, reject) => {
        worker.onmessage = (event) => {
          worker.terminate();
          resolve(event.data);
        };
        worker.onerror = (event) => reject(new Error(event.message));
      });
    });
  });
}

if (globalThis.Bun === undefined) {
  // Bun keeps a terminated worker's files open, and so its holds, until the process ends.
  test("VM.deleteCommit goes ahead once a worker holding the commit is terminated", async () => {
    const directory = tempDir("piecrust-npm-hold-");
    const vm = VM.open(directory);
    try {
      const session = vm.session();
      session.deploy(contractBytecode("counter"), OWNER, GAS);
      const base = session.commit();
      session.close();
      const handle = vm.share();
      const worker = new Worker(new URL("./holding_worker.mjs", import.meta.url), {
        workerData: { handle, base },
        transferList: [handle.port],
      });
      await new Promise((resolve) => worker.once("message", resolve));
      let deleted = false;
      const deletion = vm.deleteCommit(base).then(() => deleted = true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(deleted, false, "the worker's session still reads the commit");
      await worker.terminate();
      await deletion;
      assert.equal(vm.commits().length, 0);
    } finally {
      vm.close();
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });
}

test("VM.open refuses a directory another VM holds", () => {
  const directory = tempDir("piecrust-npm-lock-");
  const vm = VM.open(directory);
  try {
    const error = failure(() => VM.open(directory));
    assert.equal(error.kind, "DirectoryInUse");
  } finally {
    vm.close();
    fs.rmSync(directory, { recursive: true, force: true });
  }
});

test("VM.open fails at once where it cannot make the folder, and refuses an empty path", () => {
  // Node.js's own recursive mkdir loops forever on this one.
  assert.equal(failure(() => VM.open("/proc/piecrust-npm-test")).kind, "IOError");
  assert.throws(() => VM.open(""), TypeError);
});

test("PIECRUST_WASMTIME_LIB pointing at a wrong file is refused before loading", () => {
  const directory = tempDir("piecrust-npm-lib-");
  try {
    const fake = path.join(directory, "libwasmtime.so");
    fs.writeFileSync(fake, "not a library");
    const child = spawnSync(process.execPath, [
      ...process.execArgv,
      "-e",
      `
      import("@piecrust/deno").then(({ VM }) => {
        try { VM.ephemeral(); console.log("loaded"); }
        catch (error) { console.log(error.kind + ": " + error.message); }
      });`,
    ], {
      encoding: "utf8",
      cwd: path.dirname(new URL(import.meta.url).pathname),
      env: { ...process.env, PIECRUST_WASMTIME_LIB: fake },
    });
    assert.match(child.stdout, /^LibraryError: .*SHA-256/);
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
});

test("VM provisions libwasmtime into an empty cache, with progress", () => {
  const cache = tempDir("piecrust-npm-cache-");
  try {
    const env = { ...process.env, XDG_CACHE_HOME: cache };
    delete env.PIECRUST_WASMTIME_LIB;
    const child = spawnSync(process.execPath, [
      ...process.execArgv,
      "-e",
      `
      import("@piecrust/deno").then(({ VM }) => { VM.ephemeral().close(); console.log("ready"); });`,
    ], {
      encoding: "utf8",
      cwd: path.dirname(new URL(import.meta.url).pathname),
      env,
    });
    assert.equal(child.stdout.trim(), "ready", child.stderr);
    assert.match(child.stderr, /piecrust: .*wasmtime/);
    const library = path.join(cache, "piecrust-deno", `libwasmtime-${WASMTIME_VERSION}.so`);
    assert.ok(fs.statSync(library).size > 1_000_000);
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
});

test("piecrust (the command) inspects a VM directory", () => {
  const directory = tempDir("piecrust-npm-cli-");
  try {
    const vm = VM.open(directory);
    const session = vm.session();
    session.deploy(contractBytecode("counter"), OWNER, GAS);
    const root = session.commit();
    session.close();
    vm.close();
    const bin = path.join(path.dirname(new URL(import.meta.url).pathname), "node_modules/.bin");
    const output = execFileSync(process.execPath, [
      ...process.execArgv,
      fs.realpathSync(path.join(bin, "piecrust")),
      "inspect",
      "--json",
      directory,
    ], { encoding: "utf8" });
    assert.ok(output.includes(hex(root)));
    const version = execFileSync(process.execPath, [
      ...process.execArgv,
      fs.realpathSync(path.join(bin, "piecrust")),
      "--version",
    ], { encoding: "utf8" });
    assert.ok(version.includes(WASMTIME_VERSION) || /\d+\.\d+\.\d+/.test(version));
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
});

await run(process.argv[2]);
