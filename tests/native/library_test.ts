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
    assert.match(error.message, /deno task setup/);
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
