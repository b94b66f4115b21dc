/** Tests of src/native/provision.ts and src/native/wheel.ts. */

import assert from "node:assert/strict";
import { PiecrustError } from "../../src/errors.ts";
import {
  sha256File,
  WASMTIME_LIB_ENV,
  WASMTIME_SHA256,
  wasmtimeLibraryPath,
} from "../../src/native/library.ts";
import { provisionWasmtime } from "../../src/native/provision.ts";
import { zipMember } from "../../src/native/wheel.ts";

/** Runs `body` with `XDG_CACHE_HOME` at a fresh folder and no override, then restores both. */
async function withEmptyCache(body: (cache: string) => Promise<void>): Promise<void> {
  const saved = [Deno.env.get("XDG_CACHE_HOME"), Deno.env.get(WASMTIME_LIB_ENV)] as const;
  const cache = Deno.makeTempDirSync({ prefix: "piecrust-provision-" });
  Deno.env.set("XDG_CACHE_HOME", cache);
  Deno.env.delete(WASMTIME_LIB_ENV);
  try {
    await body(cache);
  } finally {
    if (saved[0] === undefined) Deno.env.delete("XDG_CACHE_HOME");
    else Deno.env.set("XDG_CACHE_HOME", saved[0]);
    if (saved[1] === undefined) Deno.env.delete(WASMTIME_LIB_ENV);
    else Deno.env.set(WASMTIME_LIB_ENV, saved[1]);
    Deno.removeSync(cache, { recursive: true });
  }
}

Deno.test("provisionWasmtime with nothing cached and no source says what to do", async () => {
  const installed = wasmtimeLibraryPath();
  await withEmptyCache(async () => {
    await assert.rejects(
      () => provisionWasmtime({ sources: [], onProgress: () => {} }),
      (error) =>
        error instanceof PiecrustError && error.kind === "LibraryError" &&
        error.message.includes(WASMTIME_LIB_ENV) &&
        error.message.includes("Run it again where pip or PyPI is reachable"),
    );
    // The override is verified and used as it is.
    Deno.env.set(WASMTIME_LIB_ENV, installed);
    assert.equal(await provisionWasmtime({ sources: [] }), installed);
    // A file that is not the pinned build is refused.
    const impostor = Deno.makeTempFileSync();
    Deno.env.set(WASMTIME_LIB_ENV, impostor);
    await assert.rejects(() => provisionWasmtime({ sources: [] }), /SHA-256|checksum/i);
  });
});

Deno.test("provisionWasmtime downloads the pinned wheel from PyPI into an empty cache", async () => {
  await withEmptyCache(async (cache) => {
    const progress: string[] = [];
    const path = await provisionWasmtime({
      sources: ["download"],
      onProgress: (message) => progress.push(message),
    });
    assert.equal(path, `${cache}/piecrust-deno/libwasmtime-49.0.0.so`);
    assert.equal(sha256File(path), WASMTIME_SHA256);
    assert.ok(progress.some((line) => line.startsWith("downloaded 100%")), progress.join("\n"));
    // Cached now: a second call fetches nothing.
    assert.equal(await provisionWasmtime({ sources: [] }), path);
  });
});

Deno.test("zipMember refuses what is not a zip archive", () => {
  assert.throws(
    () => zipMember(new Uint8Array(100), "a"),
    (error) => error instanceof PiecrustError && error.kind === "LibraryError",
  );
});
