import assert from "node:assert/strict";
import {
  openWasmtime,
  sha256File,
  verifyLibrary,
  WASMTIME_SHA256,
  wasmtimeLibraryPath,
} from "../../src/native/library.ts";
import { assertThrowsKind } from "../_helpers.ts";

Deno.test("verifyLibrary accepts the pinned libwasmtime", () => {
  const path = wasmtimeLibraryPath();
  verifyLibrary(path, WASMTIME_SHA256);
  assert.equal(sha256File(path), WASMTIME_SHA256);
});

Deno.test("openWasmtime refuses a library with a wrong checksum", () => {
  const dir = Deno.makeTempDirSync({ prefix: "piecrust-lib-" });
  try {
    const tampered = `${dir}/libwasmtime.so`;
    const bytes = Deno.readFileSync(wasmtimeLibraryPath());
    bytes[bytes.length >> 1] ^= 0xff;
    Deno.writeFileSync(tampered, bytes);
    const error = assertThrowsKind(() => openWasmtime({ path: tampered }), "LibraryError");
    assert.match(error.message, /Refusing to load .*SHA-256/);
    assert.match(error.message, /deno run .*\/src\/native\/provision\.ts/);
    assert.match(error.message, /provisionWasmtime\(\)/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openWasmtime explains a missing library", () => {
  const error = assertThrowsKind(
    () => openWasmtime({ path: "/nonexistent/libwasmtime.so" }),
    "LibraryError",
  );
  assert.match(error.message, /not found at \/nonexistent\/libwasmtime\.so/);
  assert.match(error.message, /PIECRUST_WASMTIME_LIB/);
});

Deno.test("openWasmtime opens the verified library", () => {
  const library = openWasmtime();
  try {
    assert.equal(typeof library.symbols.wasm_engine_new_with_config, "function");
  } finally {
    library.close();
  }
});

Deno.test("wasmtime without the library or --allow-run says how to fetch it ahead of time", async () => {
  const cache = Deno.makeTempDirSync({ prefix: "piecrust-empty-cache-" });
  try {
    const library = new URL("../../src/native/library.ts", import.meta.url).href;
    const script = `${cache}/first_use.ts`;
    Deno.writeTextFileSync(
      script,
      `import { wasmtime } from "${library}";
      try { wasmtime(); } catch (error) { console.log(error.kind); console.log(error.message); }`,
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-ffi",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        script,
      ],
      env: { XDG_CACHE_HOME: `${cache}/cache` },
      stdin: "null",
    }).output();
    const [kind, message] = new TextDecoder().decode(stdout).split("\n");
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.equal(kind, "PermissionError");
    assert.match(
      message,
      /libwasmtime 49\.0\.0 is not in .*piecrust-deno\/libwasmtime-49\.0\.0\.so/,
    );
    assert.match(message, /--allow-run/);
    assert.match(message, /deno run --allow-env .* file:\/\/.*\/src\/native\/provision\.ts/);
    assert.throws(
      () => Deno.statSync(`${cache}/cache/piecrust-deno`),
      Deno.errors.NotFound,
      "nothing was fetched",
    );
  } finally {
    Deno.removeSync(cache, { recursive: true });
  }
});
