/**
 * The native harness (`native/`, the reference piecrust 0.32.2): built once
 * into the user cache, and run on a script. Shared by `deno task parity` and
 * `deno task bench:native`.
 *
 * @module
 */

const MANIFEST = new URL("native/Cargo.toml", import.meta.url).pathname;

function cacheHome(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  return xdg ? xdg : `${Deno.env.get("HOME")}/.cache`;
}

/** Builds the native harness (a no-op when it is current) and returns its path. */
export async function buildHarness(): Promise<string> {
  const targetDir = `${cacheHome()}/piecrust-deno/parity-target`;
  const started = performance.now();
  const { success } = await new Deno.Command("cargo", {
    args: ["build", "--release", "--locked", "--quiet", "--manifest-path", MANIFEST],
    env: { CARGO_TARGET_DIR: targetDir },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!success) throw new Error("building the native harness failed (see above)");
  console.error(
    `native harness (piecrust 0.32.2) ready in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s`,
  );
  return `${targetDir}/release/piecrust-parity`;
}

/** Runs `script` (JSON lines) on the harness at `harness`; returns the lines it printed. */
export async function runNative(harness: string, script: string): Promise<string[]> {
  const child = new Deno.Command(harness, { stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const { stdout, stderr, success } = await child.output();
  // With its `debug` feature the reference prints contracts' debug messages to stdout.
  const lines = new TextDecoder().decode(stdout).split("\n")
    .filter((line) => line !== "" && !line.startsWith("CONTRACT DEBUG"));
  if (!success) lines.push(`native harness failed: ${new TextDecoder().decode(stderr).trim()}`);
  return lines;
}
