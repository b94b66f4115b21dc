/**
 * Runs every example in `examples/` and the demo as their own programs, with
 * exactly the scoped permissions of the README's table, and checks that each
 * succeeds (the examples assert what they show) and prints what it should.
 */

import assert from "node:assert/strict";
import { VM } from "../mod.ts";
import { wasmtimeLibraryPath } from "../src/native/library.ts";

const ROOT = new URL("../", import.meta.url);

/** Each example and a line its output must contain. */
const EXAMPLES: Record<string, RegExp> = {
  "typed_calls.ts": /popped \[ 12, -3, 7, null \]/,
  "events.ts": /number \(reverted\)/,
  "inter_contract_calls.ts": /counter: limit \d+, spent 39/,
  "failed_call.ts": /root unchanged: [0-9a-f]{64}/,
  "commit_and_reopen.ts": /reads 254 from the commit/,
  "page_openings.ts": /a forged page: rejected/,
  "workers.ts": /a Worker's 5 increments: .* value 257/,
};

/**
 * Runs `script` from the repository's root with its temporary folder and its
 * VM directory in `temp`; returns standard output, or fails with standard error.
 */
async function run(temp: string, script: string, readable: string[] = []): Promise<string> {
  const library = wasmtimeLibraryPath();
  readable.push(temp, library.slice(0, library.lastIndexOf("/")));
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-ffi",
      `--allow-read=${readable.join(",")}`,
      `--allow-write=${temp}`,
      "--allow-env=PIECRUST_WASMTIME_LIB,XDG_CACHE_HOME,HOME",
      script,
    ],
    cwd: ROOT.pathname,
    env: { TMPDIR: temp, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  assert.equal(code, 0, `${script} failed:\n${new TextDecoder().decode(stderr)}`);
  return new TextDecoder().decode(stdout);
}

Deno.test("examples/ has a test for every example", () => {
  const files = [...Deno.readDirSync(new URL("examples/", ROOT))]
    .map((entry) => entry.name)
    .filter((name) => name.endsWith(".ts") && !name.startsWith("_"))
    .sort();
  assert.deepEqual(files, Object.keys(EXAMPLES).sort());
});

for (const [file, expected] of Object.entries(EXAMPLES)) {
  Deno.test(`examples/${file} runs and its assertions hold`, async () => {
    const temp = Deno.makeTempDirSync({ prefix: "piecrust-examples-" });
    try {
      // Deno's rule, not the library's: a Worker loads its local module graph
      // under --allow-read (here the repository's sources; imported from JSR
      // the package's modules are remote and need none).
      const readable = file === "workers.ts" ? [ROOT.pathname] : [];
      assert.match(await run(temp, `examples/${file}`, readable), expected);
      assert.deepEqual([...Deno.readDirSync(temp)], [], "the example cleans up after itself");
    } finally {
      Deno.removeSync(temp, { recursive: true });
    }
  });
}

Deno.test("scripts/demo.ts keeps its VM directory and says where it is", async () => {
  const temp = Deno.makeTempDirSync({ prefix: "piecrust-demo-test-" });
  try {
    const out = await run(temp, "scripts/demo.ts");
    const directory = out.match(/^The VM directory stays in (.+)$/m)?.[1];
    assert.ok(directory !== undefined && directory.startsWith(`${temp}/piecrust-demo-`), out);
    assert.ok(out.includes(`rm -r ${directory}\n`), "it says how to remove it");
    using vm = VM.open(directory);
    const root = out.match(/^committed to .*: root ([0-9a-f]{64})$/m)?.[1];
    assert.deepEqual(vm.commits().map((commit) => commit.toHex()), [root]);
  } finally {
    Deno.removeSync(temp, { recursive: true });
  }
});
