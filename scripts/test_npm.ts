/**
 * `deno task test:npm`: builds the npm package, packs it, installs the
 * tarball into a new Node.js project and a new Bun project, and runs there
 * with the real runtimes (Node.js 26.10.0 and Bun 1.4.5, through npx):
 *
 * 1. `npm/test/suite.mjs`, the package's test suite, on each runtime;
 * 2. the package README's examples (its `js` blocks that import the package);
 * 3. `npm/test/scenario.mjs` on each runtime and on Deno from the sources,
 *    whose outputs (data, gas, events, errors, state roots) must be equal.
 *
 * Prints each runtime's results and a last line `N passed, N failed`, and
 * exits 1 if anything failed. `--keep` keeps the temporary projects.
 *
 * @module
 */

const NODE = ["npx", "--yes", "node@26.10.0", "--disable-warning=ExperimentalWarning"];
const BUN = ["npx", "--yes", "bun@1.4.5"];

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const keep = Deno.args.includes("--keep");
const work = Deno.makeTempDirSync({ prefix: "piecrust-npm-test-" });

/** Runs `command` in `cwd`; its output goes to ours unless `capture`. */
function run(command: string[], cwd: string, capture = false): { ok: boolean; stdout: string } {
  const output = new Deno.Command(command[0], {
    args: command.slice(1),
    cwd,
    stdin: "null",
    stdout: capture ? "piped" : "inherit",
    stderr: "inherit",
  }).outputSync();
  return { ok: output.success, stdout: capture ? new TextDecoder().decode(output.stdout) : "" };
}

/** Runs `command` and fails the whole run if it fails. */
function must(command: string[], cwd: string): string {
  const { ok, stdout } = run(command, cwd, true);
  if (!ok) throw new Error(`${command.join(" ")} failed in ${cwd}`);
  return stdout;
}

/** The README's complete examples: its `js` blocks that import the package. */
const examples = [
  ...Deno.readTextFileSync(`${root}/npm/README.md`).matchAll(/```js\n([\s\S]*?)```/g),
]
  .map((match) => match[1])
  .filter((code) => code.includes('from "@piecrust/deno"'));

let passed = 0;
let failed = 0;
try {
  must(
    [Deno.execPath(), "run", "--allow-all", `${root}/scripts/build_npm.ts`, `${work}/package`],
    root,
  );
  const tarball = `${work}/${
    must(["npm", "pack", "--silent", "--pack-destination", work], `${work}/package`).trim()
  }`;
  console.log(`test:npm: packed ${tarball}`);

  const projects: [string, string[], string[]][] = [
    ["node", NODE, ["npm", "install", "--silent", "--no-audit", "--no-fund", tarball]],
    ["bun", BUN, [...BUN, "add", tarball]],
  ];
  const outputs = new Map<string, string>();
  for (const [name, runtime, install] of projects) {
    const project = `${work}/${name}`;
    Deno.mkdirSync(project);
    Deno.writeTextFileSync(
      `${project}/package.json`,
      JSON.stringify({ name: `piecrust-${name}-test`, private: true, type: "module" }),
    );
    must(install, project);
    for (const entry of Deno.readDirSync(`${root}/npm/test`)) {
      Deno.copyFileSync(`${root}/npm/test/${entry.name}`, `${project}/${entry.name}`);
    }
    console.log(`test:npm: ${name}: the suite`);
    const suite = run([...runtime, "suite.mjs"], project, true);
    console.log(suite.stdout.trimEnd());
    const counts = suite.stdout.match(/(\d+) passed, (\d+) failed\s*$/);
    if (counts === null) {
      failed++;
      console.log(`FAILED ${name}: the suite printed no counts`);
    } else {
      passed += Number(counts[1]);
      failed += Number(counts[2]);
      if (!suite.ok && counts[2] === "0") {
        failed++;
        console.log(`FAILED ${name}: the suite exited with an error`);
      }
    }
    examples.forEach((code, i) => {
      Deno.writeTextFileSync(`${project}/readme_example_${i + 1}.mjs`, code);
      const example = run([...runtime, `readme_example_${i + 1}.mjs`], project);
      if (example.ok) passed++;
      else failed++;
      console.log(`${example.ok ? "ok" : "FAILED"} README example ${i + 1} on ${name}`);
    });
    const scenario = run([...runtime, "scenario.mjs"], project, true);
    outputs.set(name, scenario.ok ? scenario.stdout : `(failed)\n${scenario.stdout}`);
  }

  // The same scenario on Deno, from the sources.
  const importMap = `${work}/import_map.json`;
  Deno.writeTextFileSync(
    importMap,
    JSON.stringify({
      imports: {
        "@piecrust/deno": `${root}/mod.ts`,
        "@piecrust/deno/testing": `${root}/src/testing/mod.ts`,
      },
    }),
  );
  const deno = run(
    [
      Deno.execPath(),
      "run",
      "--allow-all",
      "--import-map",
      importMap,
      `${root}/npm/test/scenario.mjs`,
    ],
    root,
    true,
  );
  if (!deno.ok) throw new Error("the scenario failed on Deno");
  const steps = deno.stdout.trim().split("\n").length;
  for (const [name, output] of outputs) {
    if (output === deno.stdout) {
      passed++;
      console.log(`ok scenario on ${name}: the same ${steps} results as on Deno`);
    } else {
      failed++;
      const theirs = output.trim().split("\n");
      const first = deno.stdout.trim().split("\n").findIndex((line, i) => line !== theirs[i]);
      console.log(
        `FAILED scenario on ${name}: line ${first + 1} differs\n  deno: ${
          deno.stdout.split("\n")[first]
        }\n  ${name}: ${theirs[first]}`,
      );
    }
  }
} catch (error) {
  failed++;
  console.log(`FAILED test:npm: ${error instanceof Error ? error.message : error}`);
} finally {
  if (keep) console.log(`test:npm: kept ${work}`);
  else Deno.removeSync(work, { recursive: true });
}
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);
