/**
 * Locating, verifying and opening the native libraries.
 *
 * libwasmtime is looked up, in order, at `PIECRUST_WASMTIME_LIB` and in the
 * user's cache folder; when neither has it, the first use fetches it into the
 * cache (`provision.ts`, run as a child process). Whatever is found must have
 * the pinned SHA-256 before it is opened: a native library runs with the full
 * rights of the process, so an unverified one is never loaded.
 *
 * This is the only module that calls `Deno.dlopen`. Each isolate (the main
 * thread and every Worker) opens the libraries once.
 *
 * @module
 */

import { PiecrustError, systemError } from "../errors.ts";
import { provisionCommand, SETUP_COMMAND } from "./provision_program.ts";
import { type LibcSymbols, libcSymbols } from "../../ffi/libc.ts";
import {
  wasmtimeReentrantSymbols,
  type WasmtimeSymbols,
  wasmtimeSymbols,
} from "../../ffi/libwasmtime.ts";

/**
 * The wasmtime release this project is built against.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WASMTIME_VERSION, wasmtimeCachePath } from "./library.ts";
 *
 * assert.ok(wasmtimeCachePath().endsWith(`libwasmtime-${WASMTIME_VERSION}.so`));
 * ```
 */
export const WASMTIME_VERSION = "49.0.0";

/**
 * SHA-256 of `wasmtime/linux-x86_64/_libwasmtime.so` in the official
 * `wasmtime==49.0.0` wheel.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256File, WASMTIME_SHA256, wasmtimeLibraryPath } from "./library.ts";
 *
 * assert.equal(sha256File(wasmtimeLibraryPath()), WASMTIME_SHA256);
 * ```
 */
export const WASMTIME_SHA256 = "9594714d3c73c3087ab3d42d9614cf72973b25c181b8625ffcc46a8a75972d7e";

/**
 * Environment variable naming a libwasmtime file to use instead of the cache.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WASMTIME_LIB_ENV, wasmtimeLibraryPath } from "./library.ts";
 *
 * const before = Deno.env.get(WASMTIME_LIB_ENV);
 * try {
 *   Deno.env.set(WASMTIME_LIB_ENV, "/opt/libwasmtime.so");
 *   assert.equal(wasmtimeLibraryPath(), "/opt/libwasmtime.so");
 * } finally {
 *   if (before === undefined) Deno.env.delete(WASMTIME_LIB_ENV);
 *   else Deno.env.set(WASMTIME_LIB_ENV, before);
 * }
 * ```
 */
export const WASMTIME_LIB_ENV = "PIECRUST_WASMTIME_LIB";

const SETUP_HINT = `Fetch it once with \`${SETUP_COMMAND}\`, or ` +
  `\`await provisionWasmtime()\`, or set ${WASMTIME_LIB_ENV} to a libwasmtime ` +
  `${WASMTIME_VERSION} file.`;

/**
 * Throws a `LibraryError` unless this platform has a pinned libwasmtime.
 *
 * @example
 * ```ts
 * import { assertSupportedPlatform } from "./library.ts";
 *
 * assertSupportedPlatform(); // throws a LibraryError on anything but Linux x86-64
 * ```
 */
export function assertSupportedPlatform(): void {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new PiecrustError(
      "LibraryError",
      `piecrust for Deno runs on Linux x86-64 only (this is ${Deno.build.os} ` +
        `${Deno.build.arch}): contract memories rely on Linux's ` +
        "/proc/self/pagemap, and only that platform's libwasmtime is pinned.",
    );
  }
}

/**
 * The cache file that provisioning fills:
 * `$XDG_CACHE_HOME/piecrust-deno/libwasmtime-49.0.0.so`, with
 * `$HOME/.cache` when `XDG_CACHE_HOME` is unset.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wasmtimeCachePath } from "./library.ts";
 *
 * assert.match(wasmtimeCachePath(), /\/piecrust-deno\/libwasmtime-49\.0\.0\.so$/);
 * ```
 */
export function wasmtimeCachePath(): string {
  const xdg = environment("XDG_CACHE_HOME");
  const home = environment("HOME");
  const cacheHome = xdg ? xdg : home ? `${home}/.cache` : undefined;
  if (cacheHome === undefined) {
    throw new PiecrustError(
      "LibraryError",
      `Neither XDG_CACHE_HOME nor HOME is set, so there is no cache folder ` +
        `for libwasmtime. Set one of them, or set ${WASMTIME_LIB_ENV}.`,
    );
  }
  return `${cacheHome}/piecrust-deno/libwasmtime-${WASMTIME_VERSION}.so`;
}

/**
 * Hex SHA-256 of a file's contents.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256File } from "./library.ts";
 *
 * const path = Deno.makeTempFileSync();
 * assert.equal(sha256File(path), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
 * ```
 */
export function sha256File(path: string): string {
  // Loaded when needed: importing node:crypto costs a program (and every
  // Worker) about 25–40 ms, and most never hash anything.
  const { createHash } = process.getBuiltinModule("node:crypto");
  return createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
}

/**
 * Checks that the file at `path` has the expected SHA-256 and throws a
 * `LibraryError` that says what to do if it does not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { verifyLibrary } from "./library.ts";
 *
 * const path = Deno.makeTempFileSync();
 * assert.throws(
 *   () => verifyLibrary(path, "00".repeat(32)),
 *   (e) => e instanceof PiecrustError && e.kind === "LibraryError",
 * );
 * ```
 */
export function verifyLibrary(path: string, expectedSha256: string): void {
  let actual: string;
  try {
    actual = sha256File(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new PiecrustError(
        "LibraryError",
        `libwasmtime was not found at ${path}. ${SETUP_HINT}`,
        { cause: error },
      );
    }
    if (error instanceof Deno.errors.NotCapable) throw systemError(error, "reading libwasmtime");
    throw new PiecrustError(
      "LibraryError",
      `libwasmtime at ${path} cannot be read: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (actual !== expectedSha256) {
    throw new PiecrustError(
      "LibraryError",
      `Refusing to load ${path}: its SHA-256 is ${actual}, but libwasmtime ` +
        `${WASMTIME_VERSION} must be ${expectedSha256}. ${SETUP_HINT}`,
    );
  }
}

/** Options of {@linkcode openWasmtime}. */
export interface OpenWasmtimeOptions {
  /**
   * The library file. Defaults to `PIECRUST_WASMTIME_LIB`, else
   * {@linkcode wasmtimeCachePath}.
   */
  path?: string;
  /** The SHA-256 the file must have. Defaults to {@linkcode WASMTIME_SHA256}. */
  sha256?: string;
}

/**
 * Where libwasmtime is expected: the override if set, else the cache file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { verifyLibrary, WASMTIME_SHA256, wasmtimeLibraryPath } from "./library.ts";
 *
 * verifyLibrary(wasmtimeLibraryPath(), WASMTIME_SHA256); // provisioned before the tests
 * assert.ok(Deno.statSync(wasmtimeLibraryPath()).isFile);
 * ```
 */
export function wasmtimeLibraryPath(): string {
  return wasmtimeOverride() ?? wasmtimeCachePath();
}

/**
 * The file `PIECRUST_WASMTIME_LIB` names, or undefined when it is unset or
 * empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WASMTIME_LIB_ENV, wasmtimeOverride } from "./library.ts";
 *
 * const before = Deno.env.get(WASMTIME_LIB_ENV);
 * try {
 *   Deno.env.set(WASMTIME_LIB_ENV, "");
 *   assert.equal(wasmtimeOverride(), undefined);
 * } finally {
 *   if (before === undefined) Deno.env.delete(WASMTIME_LIB_ENV);
 *   else Deno.env.set(WASMTIME_LIB_ENV, before);
 * }
 * ```
 */
export function wasmtimeOverride(): string | undefined {
  return environment(WASMTIME_LIB_ENV) || undefined;
}

/** The environment variable `name`; a `PermissionError` naming it without `--allow-env`. */
function environment(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (error) {
    throw systemError(error, `finding libwasmtime (reading ${name})`);
  }
}

/**
 * Verifies and opens a libwasmtime. Prefer {@linkcode wasmtime}, which opens
 * the library once per isolate; this is for tools and tests that need a
 * specific file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { openWasmtime } from "./library.ts";
 *
 * const library = openWasmtime();
 * library.close();
 * assert.throws(
 *   () => openWasmtime({ path: Deno.makeTempFileSync() }),
 *   (e) => e instanceof PiecrustError && e.kind === "LibraryError",
 * );
 * ```
 */
export function openWasmtime(
  options: OpenWasmtimeOptions = {},
): Deno.DynamicLibrary<typeof wasmtimeSymbols> {
  assertSupportedPlatform();
  const path = options.path ?? wasmtimeLibraryPath();
  // In a Worker, the library that another isolate verified and loaded is the
  // one dlopen returns for this path anyway; hashing it again took ~50 ms.
  if (options.path !== undefined || options.sha256 !== undefined || !isLoaded(path)) {
    verifyLibrary(path, options.sha256 ?? WASMTIME_SHA256);
  }
  try {
    return Deno.dlopen(path, wasmtimeSymbols);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw systemError(error, "loading libwasmtime");
    throw new PiecrustError(
      "LibraryError",
      `Failed to load libwasmtime from ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** Whether this process has loaded the library at `path` (dlopen matches by path first). */
function isLoaded(path: string): boolean {
  const lib = libc();
  const handle = lib.dlopen(new TextEncoder().encode(`${path}\0`), RTLD_NOW | RTLD_NOLOAD);
  if (handle === null) return false;
  lib.dlclose(handle);
  return true;
}

/** {@linkcode wasmtimeReentrantSymbols}, callable without V8's fast path. */
export type WasmtimeReentrantSymbols = {
  readonly [K in keyof typeof wasmtimeReentrantSymbols]: Deno.UnsafeFnPointer<
    (typeof wasmtimeReentrantSymbols)[K]
  >;
};

const RTLD_NOW = 2;
const RTLD_NOLOAD = 4;

let wasmtimeLibrary: WasmtimeSymbols | undefined;
let wasmtimeReentrantLibrary: WasmtimeReentrantSymbols | undefined;
let libcLibrary: LibcSymbols | undefined;

/**
 * The libwasmtime symbols of this isolate, opened and verified on first use.
 * When neither `PIECRUST_WASMTIME_LIB` nor the cache has the library, the
 * first use fetches it into the cache as {@linkcode provisionWasmtime} does,
 * in a child Deno process (loading is synchronous, fetching is not) whose
 * progress goes to standard error. That needs `--allow-run` for the Deno
 * executable; without it the error says how to fetch the library ahead of time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wasmtime } from "./library.ts";
 *
 * assert.equal(wasmtime(), wasmtime()); // opened once per isolate
 * assert.equal(typeof wasmtime().wasm_engine_new_with_config, "function");
 * ```
 */
export function wasmtime(): WasmtimeSymbols {
  if (wasmtimeLibrary === undefined) {
    if (wasmtimeOverride() === undefined && !fileExists(wasmtimeCachePath())) {
      provisionInChildProcess(wasmtimeCachePath());
    }
    wasmtimeLibrary = openWasmtime().symbols;
  }
  return wasmtimeLibrary;
}

function fileExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw systemError(error, `looking for libwasmtime at ${path}`);
  }
}

/**
 * Runs `provision.ts` as a program and waits for it: fetching is
 * asynchronous, but the first use of the library is inside synchronous calls
 * (`VM.open`, `new Engine()`), so the fetch runs in a process of its own.
 */
function provisionInChildProcess(cachePath: string): void {
  const { command, args } = provisionCommand();
  const fetchAhead = `libwasmtime ${WASMTIME_VERSION} is not in ${cachePath}. To fetch it on ` +
    `first use, allow this program to run ${command} (--allow-run). ${SETUP_HINT}`;
  if (Deno.permissions.querySync({ name: "run", command }).state === "denied") {
    throw new PiecrustError("LibraryError", fetchAhead);
  }
  let status: Deno.CommandOutput;
  try {
    status = new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
    }).outputSync();
  } catch (error) {
    throw new PiecrustError(
      error instanceof Deno.errors.NotCapable ? "PermissionError" : "LibraryError",
      error instanceof Deno.errors.NotCapable
        ? fetchAhead
        : `Fetching libwasmtime with ${command} failed: ${(error as Error).message}. ${SETUP_HINT}`,
      { cause: error },
    );
  }
  if (!status.success) {
    throw new PiecrustError(
      "LibraryError",
      `Fetching libwasmtime ${WASMTIME_VERSION} failed (the reasons are printed above). ${SETUP_HINT}`,
    );
  }
}

/**
 * The libwasmtime symbols that re-enter JS and return a value, as
 * `Deno.UnsafeFnPointer`s (never a V8 fast call; see `ffi/libwasmtime.ts`).
 * Resolved with `dlsym` in the library {@linkcode wasmtime} opened.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wasmtimeReentrant } from "./library.ts";
 *
 * assert.ok(Object.keys(wasmtimeReentrant()).length > 0);
 * ```
 */
export function wasmtimeReentrant(): WasmtimeReentrantSymbols {
  if (wasmtimeReentrantLibrary === undefined) {
    wasmtime();
    const lib = libc();
    const path = new TextEncoder().encode(`${wasmtimeLibraryPath()}\0`);
    const handle = lib.dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (handle === null) {
      throw new PiecrustError("LibraryError", "libwasmtime is not loaded; cannot resolve symbols");
    }
    const entries = Object.entries(wasmtimeReentrantSymbols).map(([name, definition]) => {
      const pointer = lib.dlsym(handle, new TextEncoder().encode(`${name}\0`));
      if (pointer === null) {
        throw new PiecrustError("LibraryError", `libwasmtime has no symbol ${name}`);
      }
      // The symbol's type is the definition's; Deno types raw addresses as unknown.
      return [name, new Deno.UnsafeFnPointer(pointer as Deno.PointerObject<never>, definition)];
    });
    wasmtimeReentrantLibrary = Object.fromEntries(entries) as WasmtimeReentrantSymbols;
  }
  return wasmtimeReentrantLibrary;
}

/**
 * The libc symbols of this isolate, opened on first use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { libc } from "./library.ts";
 *
 * assert.equal(libc().kill(Deno.pid, 0), 0); // signal 0: the process exists
 * ```
 */
export function libc(): LibcSymbols {
  if (libcLibrary === undefined) {
    assertSupportedPlatform();
    try {
      libcLibrary = Deno.dlopen("libc.so.6", libcSymbols).symbols;
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw systemError(error, "loading libc");
      throw new PiecrustError(
        "LibraryError",
        `Failed to load glibc (libc.so.6): ${(error as Error).message}. ` +
          "piecrust for Deno needs a glibc-based Linux.",
        { cause: error },
      );
    }
  }
  return libcLibrary;
}
