// Plain JavaScript, run as it is by Deno, Node.js and Bun: no type annotations to write.
// deno-lint-ignore-file explicit-function-return-type
/**
 * The per-runtime benchmark's workloads, timed in this process after a
 * warm-up; prints one JSON object of nanoseconds per operation. `deno task
 * bench:npm` runs it on Deno (from the sources), Node.js and Bun (from the
 * installed package), round after round, and compares.
 *
 * @module
 */

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { contractFunction, contractId, i64, u32, u64, unit, VM } from "@piecrust/deno";
import { Engine, Module, Store } from "@piecrust/deno/engine";
import { blake3 } from "@piecrust/deno/merkle";
import { contractBytecode } from "@piecrust/deno/testing";

const GAS = 1_000_000_000n;
const OWNER = new Uint8Array(32);
const increment = contractFunction("increment", unit, unit);
const incrementCounter = contractFunction("increment_counter", contractId, unit);
const nth = contractFunction("nth", u32, u64);
const readValue = contractFunction("read_value", unit, i64);

/** Nanoseconds per run of `body`, `iterations` times after `warmup` untimed runs. */
function timed(iterations, warmup, body) {
  for (let i = 0; i < warmup; i++) body();
  const started = performance.now();
  for (let i = 0; i < iterations; i++) body();
  return Math.round(((performance.now() - started) * 1e6) / iterations);
}

const results = {};
const vm = VM.ephemeral();
const session = vm.session({ debug: true });
const counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
const callcenter = session.deploy(contractBytecode("callcenter"), OWNER, GAS);
const fibonacci = session.deploy(contractBytecode("fibonacci"), OWNER, GAS);

results["counter increment (top-level call)"] = timed(10000, 2000, () => {
  session.call(counter, increment, undefined, GAS);
});
results["counter read_value (query)"] = timed(10000, 2000, () => {
  session.call(counter, readValue, undefined, GAS);
});
results["callcenter → counter (inter-contract call)"] = timed(4000, 1000, () => {
  session.call(callcenter, incrementCounter, counter.toBytes(), GAS);
});
results["fibonacci nth(27) (compute)"] = timed(30, 5, () => {
  session.call(fibonacci, nth, 27, GAS);
});
session.close();
vm.close();

// A plain FFI round trip: a wasmtime store made and dropped, two native calls.
const engine = new Engine();
results["wasmtime store new + drop (2 FFI calls)"] = timed(200000, 20000, () => {
  new Store(engine).close();
});
const wasm = contractBytecode("counter");
results["compile counter (Cranelift)"] = timed(30, 5, () => {
  Module.compile(engine, wasm).close();
});
engine.close();

const page = new Uint8Array(65536).fill(7);
results["BLAKE3 of a 64 KiB page (wasm SIMD)"] = timed(2000, 200, () => blake3(page));

// The runtime's own FFI, without the VM or the shim: what one native call costs.
const raw = rawLibc();
const buffer = new Uint8Array(new ArrayBuffer(16)).fill(1);
const address = raw.address(buffer);
results["raw FFI: labs(i64) → i64"] = timed(1_000_000, 100_000, () => raw.labs(-5n));
results["raw FFI: memchr(pointer, i32, u64) → pointer"] = timed(1_000_000, 100_000, () => {
  raw.memchr(address, 1, 16n);
});

/** libc's `labs` and `memchr` through the runtime's own FFI. */
function rawLibc() {
  if (globalThis.Deno !== undefined) {
    const { symbols } = globalThis.Deno.dlopen("libc.so.6", {
      labs: { parameters: ["i64"], result: "i64" },
      memchr: { parameters: ["pointer", "i32", "u64"], result: "pointer" },
    });
    return { ...symbols, address: (bytes) => globalThis.Deno.UnsafePointer.of(bytes) };
  }
  if (globalThis.Bun !== undefined) {
    const ffi = process.getBuiltinModule("bun:ffi");
    const { symbols } = ffi.dlopen("libc.so.6", {
      labs: { args: ["i64"], returns: "i64" },
      memchr: { args: ["ptr", "i32", "u64"], returns: "ptr" },
    });
    return { ...symbols, address: (bytes) => ffi.ptr(bytes) };
  }
  const ffi = process.getBuiltinModule("node:ffi");
  const { functions } = ffi.dlopen("libc.so.6", {
    labs: { arguments: ["int64"], return: "int64" },
    memchr: { arguments: ["pointer", "int32", "uint64"], return: "pointer" },
  });
  return { ...functions, address: (bytes) => ffi.getRawPointer(bytes) };
}

const directory = fs.mkdtempSync(path.join(os.tmpdir(), "piecrust-bench-"));
try {
  const disk = VM.open(directory);
  let base;
  {
    const first = disk.session();
    const id = first.deploy(contractBytecode("counter"), OWNER, GAS);
    base = { id, root: first.commit() };
    first.close();
  }
  results["session + call + commit, durable"] = timed(300, 50, () => {
    const next = disk.session({ base: base.root });
    next.call(base.id, increment, undefined, GAS);
    next.commit();
    next.close();
  });
  disk.close();
} finally {
  fs.rmSync(directory, { recursive: true, force: true });
}

console.log(JSON.stringify(results));
