/**
 * Locating, verifying and opening the native libraries.
 *
 * libwasmtime is looked up, in order, at `PIECRUST_WASMTIME_LIB` and in the
 * user's cache folder, where `deno task setup` puts it. Whatever is found must
 * have the pinned SHA-256 before it is opened: a native library runs with the
 * full rights of the process, so an unverified one is never loaded.
 *
 * This is the only module that calls `Deno.dlopen`. Each isolate (the main
 * thread and every Worker) opens the libraries once.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { PiecrustError, systemError } from "../errors.ts";
import { type LibcSymbols, libcSymbols } from "../../ffi/libc.ts";
import {
  wasmtimeReentrantSymbols,
  type WasmtimeSymbols,
  wasmtimeSymbols,
} from "../../ffi/libwasmtime.ts";

/** The wasmtime release this project is built against. */
export const WASMTIME_VERSION = "49.0.0";

/**
 * SHA-256 of `wasmtime/linux-x86_64/_libwasmtime.so` in the official
 * `wasmtime==49.0.0` wheel.
 */
export const WASMTIME_SHA256 = "9594714d3c73c3087ab3d42d9614cf72973b25c181b8625ffcc46a8a75972d7e";

/** Environment variable naming a libwasmtime file to use instead of the cache. */
export const WASMTIME_LIB_ENV = "PIECRUST_WASMTIME_LIB";

const SETUP_HINT = "Run `deno task setup` (it fetches the official wasmtime " +
  `${WASMTIME_VERSION} wheel with pip), or set ${WASMTIME_LIB_ENV} to a ` +
  `libwasmtime ${WASMTIME_VERSION} file.`;

/** Throws a `LibraryError` unless this platform has a pinned libwasmtime. */
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
 * The cache file that `deno task setup` fills:
 * `$XDG_CACHE_HOME/piecrust-deno/libwasmtime-49.0.0.so`, with
 * `$HOME/.cache` when `XDG_CACHE_HOME` is unset.
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

/** Hex SHA-256 of a file's contents. */
export function sha256File(path: string): string {
  return createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
}

/**
 * Checks that the file at `path` has the expected SHA-256 and throws a
 * `LibraryError` that says what to do if it does not.
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

/** Where libwasmtime is expected: the override if set, else the cache file. */
export function wasmtimeLibraryPath(): string {
  const override = environment(WASMTIME_LIB_ENV);
  return override ? override : wasmtimeCachePath();
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
 */
export function openWasmtime(
  options: OpenWasmtimeOptions = {},
): Deno.DynamicLibrary<typeof wasmtimeSymbols> {
  assertSupportedPlatform();
  const path = options.path ?? wasmtimeLibraryPath();
  verifyLibrary(path, options.sha256 ?? WASMTIME_SHA256);
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

/** The libwasmtime symbols of this isolate, opened and verified on first use. */
export function wasmtime(): WasmtimeSymbols {
  wasmtimeLibrary ??= openWasmtime().symbols;
  return wasmtimeLibrary;
}

/**
 * The libwasmtime symbols that re-enter JS and return a value, as
 * `Deno.UnsafeFnPointer`s (never a V8 fast call; see `ffi/libwasmtime.ts`).
 * Resolved with `dlsym` in the library {@linkcode wasmtime} opened.
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

/** The libc symbols of this isolate, opened on first use. */
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
