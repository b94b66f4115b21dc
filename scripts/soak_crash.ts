/**
 * The crash soak: SIGKILLs a VM in the middle of commits, finalizations and
 * deletions hundreds of times (tests/fixtures/crash_kills.ts), checking its
 * folder after each kill. Exits non-zero on the first broken check.
 *
 * Usage: `deno task soak:crash [--kills N]` (default 300).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { killLoop } from "../tests/fixtures/crash_kills.ts";

const { values } = parseArgs({ args: Deno.args, options: { kills: { type: "string" } } });
const kills = Number(values.kills ?? 300);
if (!Number.isSafeInteger(kills) || kills < 1) {
  throw new TypeError("--kills must be a positive integer");
}
const dir = await Deno.makeTempDir({ prefix: "piecrust-soak-" });
const started = performance.now();
try {
  // A wider window than the test's, so kills also land in the child's start-up and recovery.
  const highest = await killLoop(dir, kills, {
    delay: [250, 1200],
    onKill: (kill, value) => {
      if (kill % 25 === 0 || kill === kills) {
        const seconds = ((performance.now() - started) / 1000).toFixed(0);
        console.log(`${kill} kills, ${value - 0xfcn} commits survived, ${seconds} s`);
      }
    },
  });
  console.log(
    `crash soak: ${kills} kills, all checks passed, ${highest - 0xfcn} commits on the main line`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
