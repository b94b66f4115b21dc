/**
 * Runs every example in `examples/` as its own program, with exactly the
 * scoped permissions of the README's table, and checks that it succeeds
 * (each example asserts what it shows) and prints what it should.
 */

import assert from "node:assert/strict";
import { wasmtimeLibraryPath } from "../src/native/library.ts";

const ROOT = new URL("../", import.meta.url);

/** Each example and a line its output must contain. */
const EXAMPLES: Record<string, RegExp> = {
  "typed_calls.ts": /popped \[ 12, -3, 7, null \]/,
  "events.ts": /number: 2/,
  "inter_contract_calls.ts": /counter: limit \d+, spent 39/,
  "failed_call.ts": /root unchanged: [0-9a-f]{64}/,
  "commit_and_reopen.ts": /reads 254 from the commit/,
  "page_openings.ts": /a forged page: rejected/,
  "workers.ts": /a Worker's 5 increments: .* value 257/,
};

Deno.test("examples/ has a test for every example", () => {
  const files = [...Deno.readDirSync(new URL("examples/", ROOT))]
    .map((entry) => entry.name)
    .filter((name) => name.endsWith(".ts") && !name.startsWith("_"))
    .sort();
  assert.deepEqual(files, Object.keys(EXAMPLES).sort());
});

for (const [file, expected] of Object.entries(EXAMPLES)) {
  Deno.test(`examples/${file} runs and its assertions hold`, async () => {
    // The examples' temporary folders go here: the VM directory of the table.
    const temp = Deno.makeTempDirSync({ prefix: "piecrust-examples-" });
    try {
      const library = wasmtimeLibraryPath();
      const readable = [temp, library.slice(0, library.lastIndexOf("/"))];
      // Deno's rule, not the library's: a Worker loads its local module graph
      // under --allow-read (here the repository's sources; imported from JSR
      // the package's modules are remote and need none).
      if (file === "workers.ts") readable.push(ROOT.pathname);
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-prompt",
          "--allow-ffi",
          `--allow-read=${readable.join(",")}`,
          `--allow-write=${temp}`,
          "--allow-env=PIECRUST_WASMTIME_LIB,XDG_CACHE_HOME,HOME",
          `examples/${file}`,
        ],
        cwd: ROOT.pathname,
        env: { TMPDIR: temp, NO_COLOR: "1" },
        stdin: "null",
      }).output();
      const out = new TextDecoder().decode(stdout);
      assert.equal(code, 0, `${file} failed:\n${new TextDecoder().decode(stderr)}`);
      assert.match(out, expected);
    } finally {
      Deno.removeSync(temp, { recursive: true });
    }
  });
}
