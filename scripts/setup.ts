/**
 * `deno task setup`: makes a verified libwasmtime 49.0.0 available.
 *
 * 1. `PIECRUST_WASMTIME_LIB`, if set, is verified and used as it is.
 * 2. Else the copy in the user's cache folder is used if its SHA-256 matches.
 * 3. Else the official `wasmtime==49.0.0` wheel is fetched with pip, its
 *    `wasmtime/linux-x86_64/_libwasmtime.so` is extracted and verified, and
 *    it is moved into the cache atomically (a rename), so an interrupted setup
 *    never leaves a partial library behind.
 *
 * Idempotent; when the cache is warm it only hashes the file.
 *
 * @module
 */

import {
  assertSupportedPlatform,
  sha256File,
  verifyLibrary,
  WASMTIME_LIB_ENV,
  WASMTIME_SHA256,
  WASMTIME_VERSION,
  wasmtimeCachePath,
} from "../src/native/library.ts";

const WHEEL_MEMBER = "wasmtime/linux-x86_64/_libwasmtime.so";

class SetupError extends Error {}

async function python(args: string[], what: string): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("python3", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new SetupError(
        "python3 was not found, and it is needed to fetch the wasmtime wheel " +
          "with pip. Install python3 and pip (Debian/Ubuntu: `apt-get install " +
          `python3-pip\`), or set ${WASMTIME_LIB_ENV} to a libwasmtime ` +
          `${WASMTIME_VERSION} file.`,
      );
    }
    throw error;
  }
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new SetupError(
      `${what} failed (python3 ${args.slice(0, 3).join(" ")} ...):\n${stderr}\n` +
        "Check that pip can reach its package index (pip config list), or set " +
        `${WASMTIME_LIB_ENV} to a libwasmtime ${WASMTIME_VERSION} file.`,
    );
  }
}

function isVerifiedCopy(path: string): boolean {
  try {
    return sha256File(path) === WASMTIME_SHA256;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function fetchIntoCache(target: string): Promise<void> {
  const work = await Deno.makeTempDir({ prefix: "piecrust-setup-" });
  try {
    console.log(`Fetching the wasmtime ${WASMTIME_VERSION} wheel with pip ...`);
    await python([
      "-m",
      "pip",
      "download",
      "--no-deps",
      "--only-binary=:all:",
      "--disable-pip-version-check",
      "--quiet",
      "--dest",
      work,
      `wasmtime==${WASMTIME_VERSION}`,
    ], "Downloading the wasmtime wheel");
    const wheels = [...Deno.readDirSync(work)]
      .map((entry) => entry.name)
      .filter((name) => name.endsWith(".whl"));
    if (wheels.length !== 1) {
      throw new SetupError(
        `pip produced ${wheels.length} wheels in ${work}; expected one.`,
      );
    }
    const extracted = `${work}/libwasmtime.so`;
    await python([
      "-c",
      "import shutil, sys, zipfile\n" +
      "with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, " +
      "open(sys.argv[3], 'wb') as dst: shutil.copyfileobj(src, dst)",
      `${work}/${wheels[0]}`,
      WHEEL_MEMBER,
      extracted,
    ], `Extracting ${WHEEL_MEMBER} from ${wheels[0]}`);
    verifyLibrary(extracted, WASMTIME_SHA256);
    const folder = target.slice(0, target.lastIndexOf("/"));
    Deno.mkdirSync(folder, { recursive: true });
    const partial = `${target}.partial-${Deno.pid}`;
    Deno.copyFileSync(extracted, partial);
    Deno.renameSync(partial, target);
  } finally {
    Deno.removeSync(work, { recursive: true });
  }
}

async function main(): Promise<void> {
  assertSupportedPlatform();
  const override = Deno.env.get(WASMTIME_LIB_ENV);
  if (override) {
    verifyLibrary(override, WASMTIME_SHA256);
    console.log(`libwasmtime ${WASMTIME_VERSION}: ${override} (${WASMTIME_LIB_ENV}, verified)`);
    return;
  }
  const target = wasmtimeCachePath();
  if (isVerifiedCopy(target)) {
    console.log(`libwasmtime ${WASMTIME_VERSION}: ${target} (cached, verified)`);
    return;
  }
  await fetchIntoCache(target);
  verifyLibrary(target, WASMTIME_SHA256);
  console.log(`libwasmtime ${WASMTIME_VERSION}: ${target} (installed, verified)`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`setup: ${message}`);
    Deno.exit(1);
  }
}
