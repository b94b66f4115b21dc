import assert from "node:assert/strict";
import { assertNoLiveHandles } from "../_helpers.ts";
import { killLoop } from "../fixtures/crash_kills.ts";

// A short run for CI; `deno task soak:crash` kills hundreds of times.
const KILLS = 8;

Deno.test("VM commits, finalizations and deletions killed at random moments leave only complete commits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piecrust-crash-" });
  try {
    const highest = await killLoop(dir, KILLS);
    assert.ok(highest > 0xfcn + BigInt(KILLS), `only ${highest - 0xfcn} commits were made`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assertNoLiveHandles();
});
