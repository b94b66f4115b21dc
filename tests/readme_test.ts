import assert from "node:assert/strict";
import { assertNoLiveHandles } from "./_helpers.ts";

/**
 * Runs every `ts` code block of the README that imports the package, with its
 * specifiers resolved through this repository's `deno.json` exports, and
 * checks that each `console.log(...); // expected` prints what its comment
 * says, or, for a block followed by a `text` code block, that it prints that.
 */
Deno.test("README examples run and print what their comments say", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  // A ts block may be followed by the text block it prints.
  const blocks = [
    ...readme.matchAll(/```ts\n([\s\S]*?)```(?:\n\n[^\n]*\n\n```text\n([\s\S]*?)```)?/g),
  ]
    .map((match) => ({ code: match[1], output: match[2] }))
    .filter(({ code }) => code.includes(`from "@piecrust/deno"`));
  assert.ok(blocks.length > 0, "the README has a runnable example");
  const rootUrl = new URL("../", import.meta.url);
  const { name, exports } = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", rootUrl)),
  ) as { name: string; exports: Record<string, string> };
  const dir = await Deno.makeTempDir({ prefix: "piecrust-readme-" });
  const original = console.log;
  try {
    for (const [index, { code, output }] of blocks.entries()) {
      const expected = [...code.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]);
      const printed: string[] = [];
      const shown: string[] = [];
      console.log = (...values: unknown[]) => {
        printed.push(values.map((value) => Deno.inspect(value)).join(" "));
        shown.push(
          values.map((value) => (typeof value === "string" ? value : Deno.inspect(value))).join(
            " ",
          ),
        );
      };
      const path = `${dir}/example_${index}.ts`;
      const resolved = code.replaceAll(/from "(@[^"]+)"/g, (_, specifier: string) => {
        const target = exports[`.${specifier.slice(name.length)}`];
        assert.ok(specifier.startsWith(name) && target, `${specifier} is not an export`);
        return `from ${JSON.stringify(new URL(target, rootUrl).href)}`;
      });
      await Deno.writeTextFile(path, resolved);
      await import(new URL(`file://${path}`).href);
      console.log = original;
      if (output !== undefined) {
        // As a terminal shows it; the block leaves out trailing blank lines.
        const terminal = shown.map((line) => `${line}\n`).join("");
        assert.equal(
          terminal.trimEnd(),
          output.trimEnd(),
          `README example ${index + 1} prints its text block`,
        );
      } else {
        assert.deepEqual(printed, expected, `README example ${index + 1}`);
      }
    }
  } finally {
    console.log = original;
    await Deno.remove(dir, { recursive: true });
  }
  assertNoLiveHandles();
});
