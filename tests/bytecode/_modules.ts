/** Module builders and checks shared by the bytecode tests. */

import assert from "node:assert/strict";
import wabtInit from "wabt";
import type { ContractTarget } from "../../src/testing/mod.ts";
import { inspectModule, type ModuleInfo, stripActiveDataSegments } from "../../src/bytecode/mod.ts";
import { assertBytes } from "../_helpers.ts";

const wabt = await wabtInit();

const encoder = new TextEncoder();

/**
 * Assembles WAT with wabt's defaults plus memory64 and any extra features
 * (multi-memory, threads, ...) that contracts/wat.ts does not enable.
 */
export function assemble(
  source: string,
  features: Record<string, boolean> = {},
  binary: { canonicalize_lebs?: boolean; relocatable?: boolean } = {},
): Uint8Array {
  const all = { memory64: true, ...features };
  const module = wabt.parseWat("test.wat", source, all);
  try {
    module.resolveNames();
    // wabt.js validates with its default features unless given them; its typings omit the parameter.
    (module as unknown as { validate(features: object): void }).validate(all);
    return module.toBinary(binary).buffer;
  } finally {
    module.destroy();
  }
}

// Hand-built modules, for what no assembler writes.
export const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    const byte = value & 0x7f;
    value = Math.floor(value / 128);
    out.push(value > 0 ? byte | 0x80 : byte);
  } while (value > 0);
  return out;
}

export function str(text: string): number[] {
  const bytes = encoder.encode(text);
  return [...leb(bytes.length), ...bytes];
}

export function section(id: number, content: number[]): number[] {
  return [id, ...leb(content.length), ...content];
}

export function wasm(...sections: number[][]): Uint8Array {
  return new Uint8Array([...HEADER, ...sections.flat()]);
}

const kinds = { func: "function", table: "table", memory: "memory", global: "global" } as const;

/** Asserts that the reader sees the same imports and exports as V8. */
export function assertMatchesV8(bytes: Uint8Array, info: ModuleInfo): void {
  const module = new WebAssembly.Module(bytes as BufferSource);
  assert.deepEqual(
    info.exports.map((e) => ({ name: e.name, kind: kinds[e.kind] })),
    WebAssembly.Module.exports(module),
  );
  assert.deepEqual(
    info.imports.map((i) => ({ module: i.module, name: i.name, kind: kinds[i.kind] })),
    WebAssembly.Module.imports(module),
  );
}

/** Instantiates with V8, every imported function throwing if called. */
export function instantiate(bytes: Uint8Array): WebAssembly.Instance {
  const module = new WebAssembly.Module(bytes as BufferSource);
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const i of WebAssembly.Module.imports(module)) {
    assert.equal(i.kind, "function", `${i.module}.${i.name}`);
    (imports[i.module] ??= {})[i.name] = (): never => {
      throw new Error(`unexpected call of ${i.name}`);
    };
  }
  return new WebAssembly.Instance(module, imports);
}

export function memoryOf(instance: WebAssembly.Instance, name = "memory"): Uint8Array {
  return new Uint8Array((instance.exports[name] as WebAssembly.Memory).buffer);
}

/** Asserts that exported globals with a known value have it in V8 too. */
export function assertGlobalValues(instance: WebAssembly.Instance, info: ModuleInfo): void {
  for (const e of info.exports) {
    if (e.kind === "global" && e.value !== undefined) {
      assert.equal((instance.exports[e.name] as WebAssembly.Global).value, e.value, e.name);
    }
  }
}

/**
 * Asserts that the stripped module initializes nothing, and that applying
 * the returned segments gives the memory the original module starts with.
 */
export function assertStripped(bytes: Uint8Array): void {
  const info = inspectModule(bytes);
  const { wasm, segments } = stripActiveDataSegments(bytes, info);
  const active = info.dataSegments.filter((s) => s.mode === "active");
  assert.equal(segments.length, active.length);
  const original = memoryOf(instantiate(bytes));
  const stripped = memoryOf(instantiate(wasm));
  for (const [i, { offset, bytes: data }] of segments.entries()) {
    assert.equal(offset, active[i].offset);
    const start = Number(offset);
    assertBytes(data, original.subarray(start, start + data.length), `segment ${i}`);
    assert.ok(stripped.subarray(start, start + data.length).every((b) => b === 0), `segment ${i}`);
  }
  for (const { offset, bytes: data } of segments) stripped.set(data, Number(offset));
  assertBytes(stripped, original, "memory");
}

/** Every bundled Rust contract, by target and name. */
export function bundledContracts(): { target: ContractTarget; name: string }[] {
  const contracts: { target: ContractTarget; name: string }[] = [];
  for (const target of ["wasm32", "wasm64"] as const) {
    const folder = new URL(`../../contracts/build/${target}/`, import.meta.url);
    for (const entry of Deno.readDirSync(folder)) {
      if (entry.name.endsWith(".wasm")) contracts.push({ target, name: entry.name.slice(0, -5) });
    }
  }
  return contracts.sort((a, b) => `${a.target}${a.name}`.localeCompare(`${b.target}${b.name}`));
}
