// Plain JavaScript, run as it is by Node.js and Bun: no type annotations to write.
// deno-lint-ignore-file explicit-function-return-type explicit-module-boundary-types
/**
 * A test runner small enough to behave the same on Node.js and Bun: tests
 * run one after the other, each line says `ok` or `FAILED`, and the last
 * line is `N passed, N failed`. The exit status is 1 if any test failed.
 *
 * @module
 */

import process from "node:process";

const tests = [];

/** Registers a test named "<symbol> <behaviour>". */
export function test(name, fn) {
  tests.push({ name, fn });
}

/** Runs the registered tests whose name contains `filter`, and sets the exit status. */
export async function run(filter = "") {
  let passed = 0;
  let failed = 0;
  const runtime = globalThis.Bun ? `Bun ${globalThis.Bun.version}` : `Node.js ${process.version}`;
  for (const { name, fn } of tests) {
    if (!name.includes(filter)) continue;
    const started = performance.now();
    try {
      await fn();
      passed++;
      console.log(`ok ${name} (${Math.round(performance.now() - started)} ms)`);
    } catch (error) {
      failed++;
      console.log(`FAILED ${name}: ${error?.stack ?? error}`);
    }
  }
  console.log(`${runtime}: ${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}
