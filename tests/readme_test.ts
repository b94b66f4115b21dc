import assert from "node:assert/strict";
import { assertNoLiveHandles } from "./_helpers.ts";

/**
 * Runs every ```ts block of the README that imports "./mod.ts", and checks
 * that each `console.log(...); // expected` prints what its comment says.
 */
Deno.test("README examples run and print what their comments say", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((match) => match[1])
    .filter((code) => code.includes(`from "./mod.ts"`));
  assert.ok(blocks.length > 0, "the README has a runnable example");
  const rootUrl = new URL("../", import.meta.url);
  const dir = await Deno.makeTempDir({ prefix: "piecrust-readme-" });
  const original = console.log;
  try {
    for (const [index, code] of blocks.entries()) {
      const expected = [...code.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]);
      const printed: string[] = [];
      console.log = (...values: unknown[]) => {
        printed.push(values.map((value) => Deno.inspect(value)).join(" "));
      };
      const path = `${dir}/example_${index}.ts`;
      // The README's imports are relative to the repository root.
      const resolved = code.replaceAll(
        /from "(\.\/[^"]+)"/g,
        (_, specifier: string) => `from ${JSON.stringify(new URL(specifier, rootUrl).href)}`,
      );
      await Deno.writeTextFile(path, resolved);
      await import(new URL(`file://${path}`).href);
      console.log = original;
      assert.deepEqual(printed, expected, `README example ${index + 1}`);
    }
  } finally {
    console.log = original;
    await Deno.remove(dir, { recursive: true });
  }
  assertNoLiveHandles();
});
