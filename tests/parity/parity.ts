/**
 * `deno task parity`: runs every parity scenario on the reference piecrust
 * 0.32.2 (the native harness in `native/`, built once into the user cache)
 * and on our VM, and compares their outputs line by line.
 *
 * ```sh
 * deno task parity                 # all scenarios
 * deno task parity callcenter      # scenarios whose name contains "callcenter"
 * ```
 *
 * Prints each differing line of both sides and a summary; exits 1 on any
 * difference.
 *
 * @module
 */

import { runOurs } from "./run_ours.ts";
import { scenarios } from "./scenarios.ts";
import { toJsonLines } from "./script.ts";

const MANIFEST = new URL("native/Cargo.toml", import.meta.url).pathname;

function cacheHome(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  return xdg ? xdg : `${Deno.env.get("HOME")}/.cache`;
}

/** Builds the native harness (a no-op when it is current) and returns its path. */
async function buildHarness(): Promise<string> {
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
    `parity: native harness ready in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return `${targetDir}/release/piecrust-parity`;
}

async function runNative(harness: string, script: string): Promise<string[]> {
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

/** A line short enough to read: receipts can list thousands of events. */
function clip(line: string): string {
  return line.length <= 400 ? line : `${line.slice(0, 400)}… (${line.length} characters)`;
}

if (import.meta.main) {
  const filter = Deno.args[0] ?? "";
  const harness = await buildHarness();
  const nativeRoot = Deno.makeTempDirSync({ prefix: "piecrust-parity-native-" });
  const oursRoot = Deno.makeTempDirSync({ prefix: "piecrust-parity-ours-" });
  let compared = 0;
  let equal = 0;
  let differing = 0;
  try {
    const natives = scenarios(nativeRoot).filter((scenario) => scenario.name.includes(filter));
    const ours = scenarios(oursRoot).filter((scenario) => scenario.name.includes(filter));
    for (const [index, scenario] of natives.entries()) {
      const expected = await runNative(harness, toJsonLines(scenario.steps));
      const actual = runOurs(ours[index].steps);
      let differences = 0;
      for (let line = 0; line < Math.max(expected.length, actual.length); line++) {
        compared++;
        if (expected[line] === actual[line]) {
          equal++;
          continue;
        }
        differences++;
        console.log(`${scenario.name} step ${line + 1}:`);
        console.log(`  reference: ${clip(expected[line] ?? "(nothing)")}`);
        console.log(`  ours:      ${clip(actual[line] ?? "(nothing)")}`);
      }
      if (differences > 0) differing++;
    }
    console.log(
      `parity: ${natives.length} scenarios, ${compared} steps compared, ${equal} equal, ` +
        `${compared - equal} different (in ${differing} scenarios)`,
    );
  } finally {
    Deno.removeSync(nativeRoot, { recursive: true });
    Deno.removeSync(oursRoot, { recursive: true });
  }
  if (compared !== equal) Deno.exit(1);
}
