/**
 * The fuzz test (scripts/fuzz.ts with a fixed seed): thousands of mutated and
 * generated contracts, deployed and called; every failure must be a
 * PiecrustError that left the root unchanged, and no module may crash the
 * process. The modules run in child processes so that a crash fails the
 * test with the module's index instead of ending the test run.
 * `deno task fuzz` runs longer soaks.
 */

import assert from "node:assert/strict";
import { formatReport, fuzzInChildren } from "../scripts/fuzz.ts";

const SEED = 1;
const MODULES = 3000;

Deno.test("Session.deploy and Session.callRaw on 3,000 fuzzed modules: only PiecrustErrors, root unchanged after each failure, no crash", async () => {
  const started = performance.now();
  const report = await fuzzInChildren({ seed: SEED, count: MODULES });
  const summary = formatReport(report, (performance.now() - started) / 1000);
  console.log(summary);
  assert.equal(report.modules, MODULES, summary);
  assert.deepEqual(report.crashes, [], summary);
  assert.deepEqual(report.failures, [], summary);
  // A module that deploys can be instantiated: deploy refuses what never could.
  assert.equal(report.calls.InstantiationError, undefined, summary);
  // The run must reach calls of every outcome class, or it proves little.
  assert.ok((report.deploys.ok ?? 0) > MODULES / 4, `too few deploys succeeded: ${summary}`);
  assert.ok((report.calls.ok ?? 0) > MODULES / 4, `too few calls succeeded: ${summary}`);
});
