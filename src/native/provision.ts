/**
 * {@linkcode provisionWasmtime}: makes the pinned libwasmtime available,
 * fetching it once into the user's cache when it is missing. The SHA-256 of
 * the library is checked whatever its source, so a fetched file is trusted
 * only if it is the exact pinned build.
 *
 * @module
 */

import { PiecrustError, systemError } from "../errors.ts";
import {
  assertSupportedPlatform,
  sha256File,
  verifyLibrary,
  WASMTIME_LIB_ENV,
  WASMTIME_SHA256,
  WASMTIME_VERSION,
  wasmtimeCachePath,
  wasmtimeOverride,
} from "./library.ts";
import { zipMember } from "./wheel.ts";

/** Where {@linkcode provisionWasmtime} may fetch the official wheel from. */
export type ProvisionSource = "pip" | "download";

/** Options of {@linkcode provisionWasmtime}. */
export interface ProvisionOptions {
  /** Receives a line per step and the download's progress. Default: standard error. */
  onProgress?: (message: string) => void;
  /**
   * Where to fetch the wheel from, in order, when neither the override nor
   * the cache has the library: `pip` (python3 -m pip download, which honours
   * the machine's pip configuration) and `download` (straight from PyPI).
   * Default: both, pip first.
   */
  sources?: readonly ProvisionSource[];
}

/** The official wheel with the Linux x86-64 build, and its SHA-256 on PyPI. */
const WHEEL_FILE = `wasmtime-${WASMTIME_VERSION}-py3-none-manylinux1_x86_64.whl`;
const WHEEL_SHA256 = "94f0288f9e1c33924995a72bb769f4c4e2885002391589dd6992cdaa35d1990a";
const WHEEL_MEMBER = "wasmtime/linux-x86_64/_libwasmtime.so";
const INDEX_URL = "https://pypi.org/simple/wasmtime/";

function sha256(bytes: Uint8Array): string {
  // Loaded when needed, as in library.ts: importing node:crypto is slow.
  const { createHash } = process.getBuiltinModule("node:crypto");
  return createHash("sha256").update(bytes).digest("hex");
}

function isVerifiedCopy(path: string): boolean {
  try {
    return sha256File(path) === WASMTIME_SHA256;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw systemError(error, `reading ${path}`);
  }
}

/** Calls `onLine` with each line of `stream` as it arrives. */
async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (pending + text).split(/\r?\n|\r/);
    pending = lines.pop()!;
    for (const line of lines) if (line.trim() !== "") onLine(line.trim());
  }
  if (pending.trim() !== "") onLine(pending.trim());
}

/** The wheel, fetched with the machine's pip, its output passed on line by line as it runs. */
async function wheelWithPip(progress: (message: string) => void): Promise<Uint8Array> {
  const work = await Deno.makeTempDir({ prefix: "piecrust-wheel-" });
  try {
    progress(`fetching the wasmtime ${WASMTIME_VERSION} wheel (10 MB) with pip`);
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("python3", {
        args: [
          "-m",
          "pip",
          "download",
          "--no-deps",
          "--only-binary=:all:",
          "--disable-pip-version-check",
          "--dest",
          work,
          `wasmtime==${WASMTIME_VERSION}`,
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw new Error("python3 was not found");
      throw systemError(error, "running python3 -m pip");
    }
    const errors: string[] = [];
    const [status] = await Promise.all([
      child.status,
      forEachLine(child.stdout, (line) => progress(`pip: ${line}`)),
      forEachLine(child.stderr, (line) => {
        errors.push(line);
        progress(`pip: ${line}`);
      }),
    ]);
    if (!status.success) {
      if (errors.some((line) => line.includes("No module named pip"))) {
        throw new Error("python3 has no pip (Debian and Ubuntu: apt-get install python3-pip)");
      }
      throw new Error(`pip download failed: ${errors.at(-1) ?? `exit code ${status.code}`}`);
    }
    const wheels = [...Deno.readDirSync(work)].filter((entry) => entry.name.endsWith(".whl"));
    if (wheels.length !== 1) throw new Error(`pip left ${wheels.length} wheels, not one`);
    return Deno.readFileSync(`${work}/${wheels[0].name}`);
  } finally {
    Deno.removeSync(work, { recursive: true });
  }
}

/** The wheel, downloaded from PyPI and checked against its pinned SHA-256. */
async function downloadWheel(progress: (message: string) => void): Promise<Uint8Array> {
  let url: string | undefined;
  try {
    const index = await fetch(INDEX_URL, {
      headers: { accept: "application/vnd.pypi.simple.v1+json" },
    });
    if (!index.ok) throw new Error(`${INDEX_URL} answered ${index.status}`);
    const { files } = await index.json() as { files: { filename: string; url: string }[] };
    url = files.find((file) => file.filename === WHEEL_FILE)?.url;
  } catch (error) {
    throw systemError(error, `reading ${INDEX_URL}`);
  }
  if (url === undefined) throw new Error(`${INDEX_URL} does not list ${WHEEL_FILE}`);
  progress(`downloading ${WHEEL_FILE}`);
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw systemError(error, `downloading ${url}`);
  }
  if (!response.ok || response.body === null) throw new Error(`${url} answered ${response.status}`);
  const total = Number(response.headers.get("content-length") ?? 0);
  const chunks: Uint8Array[] = [];
  let received = 0;
  let reported = 0;
  for await (const chunk of response.body) {
    chunks.push(chunk);
    received += chunk.length;
    const percent = total > 0 ? Math.floor((received / total) * 10) * 10 : 0;
    if (percent > reported) {
      reported = percent;
      progress(`downloaded ${percent}% of ${(total / 2 ** 20).toFixed(1)} MiB`);
    }
  }
  const wheel = new Uint8Array(received);
  let at = 0;
  for (const chunk of chunks) {
    wheel.set(chunk, at);
    at += chunk.length;
  }
  const digest = sha256(wheel);
  if (digest !== WHEEL_SHA256) {
    throw new Error(`${WHEEL_FILE} has SHA-256 ${digest}, not the pinned ${WHEEL_SHA256}`);
  }
  return wheel;
}

/**
 * Makes libwasmtime 49.0.0 available and returns its path, checking its
 * SHA-256 against the pin in every case: the file named by
 * `PIECRUST_WASMTIME_LIB` if set; else the copy in the user's cache
 * (`$XDG_CACHE_HOME/piecrust-deno/`, or `~/.cache/piecrust-deno/`); else the
 * official `wasmtime==49.0.0` wheel, fetched from `sources` in order and
 * moved into the cache atomically. A `LibraryError` lists what each source
 * said and what to do; a missing permission is a `PermissionError` naming
 * it (`--allow-run=python3` for pip, `--allow-net=pypi.org,files.pythonhosted.org`
 * for the download, `--allow-read`/`--allow-write` on the cache folder).
 *
 * The first use of the library does the same on its own; this is for programs
 * that want to fetch it ahead of time. Run as a program, this module is the
 * command form (`deno task setup` in this repository).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { provisionWasmtime } from "./provision.ts";
 * import { sha256File, WASMTIME_SHA256 } from "./library.ts";
 *
 * // Already provisioned here (`deno task setup`): nothing is fetched.
 * const path = await provisionWasmtime({ sources: [] });
 * assert.equal(sha256File(path), WASMTIME_SHA256);
 * ```
 */
export async function provisionWasmtime(options: ProvisionOptions = {}): Promise<string> {
  const progress = options.onProgress ??
    ((message: string) => console.error(`piecrust: ${message}`));
  const sources = options.sources ?? ["pip", "download"];
  assertSupportedPlatform();
  const override = wasmtimeOverride();
  if (override !== undefined) {
    verifyLibrary(override, WASMTIME_SHA256);
    return override;
  }
  const target = wasmtimeCachePath();
  if (isVerifiedCopy(target)) return target;
  const failures: string[] = [];
  if (sources.length > 0) {
    progress(`libwasmtime ${WASMTIME_VERSION} is not in ${target}; fetching it`);
  }
  for (const source of sources) {
    try {
      const wheel = source === "pip" ? await wheelWithPip(progress) : await downloadWheel(progress);
      const library = zipMember(wheel, WHEEL_MEMBER);
      const digest = sha256(library);
      if (digest !== WASMTIME_SHA256) {
        throw new Error(`${WHEEL_MEMBER} has SHA-256 ${digest}, not the pinned ${WASMTIME_SHA256}`);
      }
      try {
        Deno.mkdirSync(target.slice(0, target.lastIndexOf("/")), { recursive: true });
        const partial = `${target}.partial-${Deno.pid}`;
        Deno.writeFileSync(partial, library);
        Deno.renameSync(partial, target);
      } catch (error) {
        throw systemError(error, `writing ${target}`);
      }
      progress(`libwasmtime ${WASMTIME_VERSION} is in ${target} (verified)`);
      return target;
    } catch (error) {
      if (error instanceof PiecrustError && error.kind === "PermissionError") throw error;
      const message = error instanceof Error ? error.message : String(error);
      failures.push(`${source}: ${message}`);
      progress(`${source} failed: ${message}`);
    }
  }
  throw new PiecrustError(
    "LibraryError",
    `libwasmtime ${WASMTIME_VERSION} is not in ${target}, and it could not be fetched` +
      (failures.length > 0 ? ` (${failures.join("; ")})` : " (no source to fetch it from)") +
      `. Run it again where pip or PyPI is reachable, or set ${WASMTIME_LIB_ENV} ` +
      `to a libwasmtime ${WASMTIME_VERSION} file.`,
  );
}

/**
 * The provisioning program: fetches the library as {@linkcode provisionWasmtime}
 * does, with its progress on standard error.
 *
 * @returns The exit status: 0 once the library is in the cache, 1 if it could not be fetched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { provisionProgram } from "./provision.ts";
 *
 * // Already provisioned here (`deno task setup`): it says so and succeeds.
 * assert.equal(await provisionProgram(), 0);
 * ```
 */
export async function provisionProgram(): Promise<number> {
  try {
    let fetched = false;
    const path = await provisionWasmtime({
      onProgress: (message) => {
        fetched = true;
        console.error(`piecrust: ${message}`);
      },
    });
    if (!fetched) {
      console.error(`piecrust: libwasmtime ${WASMTIME_VERSION} is ready: ${path} (verified)`);
    }
    return 0;
  } catch (error) {
    console.error(`piecrust: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

// Without a top-level await: the library imports this module, and a module
// graph with one cannot be loaded with require() (the npm build on Node.js).
if (import.meta.main) provisionProgram().then((status) => Deno.exit(status));
