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

import { watFixture } from "../../contracts/wat.ts";
import { KNOWN_DIFFERENCES } from "./known_differences.ts";
import { buildHarness, runNative } from "./native_harness.ts";
import { runOurs } from "./run_ours.ts";
import { type Builds, committedBuilds, scenarios } from "./scenarios.ts";
import { toJsonLines } from "./script.ts";
import { hasTable64, toTable32 } from "./table32.ts";

/**
 * The builds both VMs run: the committed ones, with every wasm64 module that
 * has a 64-bit table converted to a 32-bit one in `work` (see `table32.ts`).
 */
function runnableBuilds(work: string): Builds {
  const builds = committedBuilds();
  for (const [name, dir] of Object.entries(builds)) {
    if (!name.startsWith("wasm64")) continue;
    const converted = `${work}/${name}`;
    Deno.mkdirSync(converted, { recursive: true });
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.name.endsWith(".wasm")) continue;
      const wasm = Deno.readFileSync(`${dir}/${entry.name}`);
      Deno.writeFileSync(`${converted}/${entry.name}`, hasTable64(wasm) ? toTable32(wasm) : wasm);
    }
    builds[name] = converted;
  }
  return builds;
}

/** A line short enough to read: receipts can list thousands of events. */
function clip(line: string): string {
  return line.length <= 400 ? line : `${line.slice(0, 400)}… (${line.length} characters)`;
}

if (import.meta.main) {
  const filter = Deno.args[0] ?? "";
  const harness = await buildHarness();
  const work = Deno.makeTempDirSync({ prefix: "piecrust-parity-" });
  let compared = 0;
  let equal = 0;
  let documented = 0;
  let unexpected = 0;
  const known = new Set(
    KNOWN_DIFFERENCES.flatMap(({ scenario, steps }) => steps.map((step) => `${scenario}#${step}`)),
  );
  const seen = new Set<string>();
  try {
    const builds = runnableBuilds(`${work}/builds`);
    const probe = `${work}/bulk_probe.wasm`;
    Deno.writeFileSync(probe, await watFixture("bulk_probe"));
    const natives = scenarios(`${work}/native`, builds, probe)
      .filter((scenario) => scenario.name.includes(filter));
    const ours = scenarios(`${work}/ours`, builds, probe)
      .filter((scenario) => scenario.name.includes(filter));
    for (const [index, scenario] of natives.entries()) {
      const expected = await runNative(harness, toJsonLines(scenario.steps));
      const actual = runOurs(ours[index].steps);
      for (let line = 0; line < Math.max(expected.length, actual.length); line++) {
        compared++;
        const key = `${scenario.name}#${line + 1}`;
        if (expected[line] === actual[line]) {
          equal++;
          continue;
        }
        const listed = known.has(key);
        if (listed) {
          documented++;
          seen.add(key);
        } else {
          unexpected++;
        }
        console.log(`${scenario.name} step ${line + 1}${listed ? " (documented)" : ""}:`);
        console.log(`  reference: ${clip(expected[line] ?? "(nothing)")}`);
        console.log(`  ours:      ${clip(actual[line] ?? "(nothing)")}`);
      }
    }
    const stale = filter === "" ? [...known].filter((key) => !seen.has(key)) : [];
    for (const key of stale) console.log(`${key}: listed as a known difference, but equal now`);
    unexpected += stale.length;
    console.log(
      `parity: ${natives.length} scenarios, ${compared} steps compared, ${equal} equal, ` +
        `${documented} documented differences, ${unexpected} unexpected`,
    );
  } finally {
    Deno.removeSync(work, { recursive: true });
  }
  if (unexpected > 0) Deno.exit(1);
}
