/**
 * `deno task test:npm`: builds the npm package, packs it, installs the
 * tarball into a new Node.js project and a new Bun project, and runs there
 * with the real runtimes (Node.js 26.10.0 and Bun 1.4.5, through npx):
 *
 * 1. `npm/test/suite.mjs`, the package's test suite, on each runtime;
 * 2. the package README's examples (its `js` blocks that import the package);
 * 3. `npm/test/scenario.mjs` on each runtime, on Deno from the sources and on
 *    Deno from the npm build, whose outputs (data, gas, events, errors,
 *    state roots) must be equal;
 * 4. `tsc` on `npm/test/types_check.ts` against the package's declarations;
 * 5. an import on Node.js 22, which has no FFI, that must fail with one
 *    sentence naming what is required.
 *
 * Prints each result and a last line `N passed, N failed`, and exits 1 if
 * anything failed. `--keep` keeps the temporary projects.
 *
 * @module
 */

import { DENO, installedProjects, must, NODE, ROOT, run } from "./_npm_projects.ts";

const keep = Deno.args.includes("--keep");
/** What a TypeScript user of the package on Node.js installs. */
const TYPESCRIPT = ["typescript@6.0.3", "@types/node@26"];
const work = Deno.makeTempDirSync({ prefix: "piecrust-npm-test-" });

/** The README's complete examples: its `js` blocks that import the package. */
const examples = [
  ...Deno.readTextFileSync(`${ROOT}/npm/README.md`).matchAll(/```js\n([\s\S]*?)```/g),
]
  .map((match) => match[1])
  .filter((code) => code.includes('from "@piecrust/deno"'));

let passed = 0;
let failed = 0;
const check = (ok: boolean, what: string) => {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok" : "FAILED"} ${what}`);
};

try {
  const projects = installedProjects(work, ["npm/test"]);
  const deno = must([...DENO.command, `${ROOT}/npm/test/scenario.mjs`], ROOT);
  const steps = deno.trim().split("\n");
  for (const [runtime, project] of projects) {
    console.log(`npm: ${runtime.name}: the suite`);
    const suite = run([...runtime.command, "suite.mjs"], project, true);
    console.log(suite.stdout.trimEnd());
    const counts = suite.stdout.match(/(\d+) passed, (\d+) failed\s*$/);
    if (counts === null) {
      check(false, `the suite on ${runtime.name} printed its counts`);
    } else {
      passed += Number(counts[1]);
      failed += Number(counts[2]);
      if (counts[2] === "0") check(suite.ok, `the suite on ${runtime.name} exited with 0`);
    }
    examples.forEach((code, i) => {
      Deno.writeTextFileSync(`${project}/readme_example_${i + 1}.mjs`, code);
      const example = run([...runtime.command, `readme_example_${i + 1}.mjs`], project);
      check(example.ok, `README example ${i + 1} on ${runtime.name}`);
    });
    const scenario = run([...runtime.command, "scenario.mjs"], project, true);
    const theirs = scenario.stdout.trim().split("\n");
    const differs = steps.findIndex((line, i) => line !== theirs[i]);
    check(
      scenario.ok && differs === -1 && theirs.length === steps.length,
      `scenario on ${runtime.name}: the same ${steps.length} results as on Deno` +
        (differs === -1
          ? ""
          : `\n  deno: ${steps[differs]}\n  ${runtime.name}: ${theirs[differs]}`),
    );
  }
  // The declarations, as a TypeScript user on Node.js sees them.
  const node = projects.get(NODE)!;
  must(["npm", "install", "--silent", "--no-audit", "--no-fund", ...TYPESCRIPT], node);
  const tsc = run(["npx", "--no-install", "tsc", "-p", "tsconfig.json"], node);
  check(tsc.ok, "the declarations type-check a program with TypeScript 6 (nodenext)");
  // Deno importing the npm build (from the Node.js project) uses its own namespace.
  const fromNpm = run([...DENO.command, "scenario.mjs"], node, true);
  check(
    fromNpm.ok && fromNpm.stdout === deno,
    `scenario on Deno from the npm build: the same ${steps.length} results as from the sources`,
  );
  // Node.js 22: no node:ffi, so the import must fail at once, saying what is needed.
  const old = run(
    [
      "npx",
      "--yes",
      "node@22",
      "-e",
      'import("@piecrust/deno").catch((e) => console.log(e.message))',
    ],
    node,
    true,
  );
  check(
    /^@piecrust\/deno needs Linux on x86-64 and .*; this is Node\.js v22\.[\d.]+ on linux x64\.\n$/
      .test(
        old.stdout,
      ),
    `an import on Node.js 22 fails with one sentence: ${old.stdout.trim()}`,
  );
} catch (error) {
  check(false, `test:npm: ${error instanceof Error ? error.message : error}`);
} finally {
  if (keep) console.log(`npm: kept ${work}`);
  else Deno.removeSync(work, { recursive: true });
}
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);
