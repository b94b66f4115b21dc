import assert from "node:assert/strict";
import { blake3 } from "../../src/merkle/blake3.ts";
import { blake3Many, HASHING_THREADS_ENV } from "../../src/merkle/blake3_many.ts";
import { runFixture } from "../_helpers.ts";

Deno.test("blake3Many equals blake3 of each input, whatever their lengths", () => {
  const bytes = new Uint8Array(3 << 20).map((_, i) => (i * 31 + (i >> 12)) % 256);
  const lengths = [0, 1, 1023, 1024, 65536, 65537, 200_000, 0, 4096];
  const inputs: Uint8Array[] = [];
  for (let offset = 0, i = 0; offset + 200_000 < bytes.length; i++) {
    const length = lengths[i % lengths.length];
    inputs.push(bytes.subarray(offset, offset + length));
    offset += length + 7;
  }
  assert.deepEqual(blake3Many(inputs), inputs.map((input) => blake3(input)));
  assert.deepEqual(blake3Many([]), []);
});

/** The helper thread runs only where there are two cores or more. */
const ONE_CORE = navigator.hardwareConcurrency < 2;

Deno.test({
  name: "blake3Many hashes on a helper thread in a process that hashed 64 MiB, which still ends",
  ignore: ONE_CORE,
}, async () => {
  const output = await runFixture("hashing_helper.ts", [], {
    signal: AbortSignal.timeout(60_000),
  });
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.match(stdout, /^threads 2 lists \d+\n$/);
});

/** What the fixture prints after hashing `lists` lists of `mebibytes` MiB in a child. */
async function threadsAfter(
  lists: number,
  mebibytes: number,
  env?: Record<string, string>,
): Promise<string> {
  const output = await runFixture("hashing_helper.ts", ["lists", `${lists}`, `${mebibytes}`], {
    env,
    signal: AbortSignal.timeout(60_000),
  });
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout);
}

Deno.test("blake3Many starts no helper thread in a process that hashes one long list", async () => {
  assert.equal(await threadsAfter(1, 128), "threads 1\n");
});

Deno.test({
  name: `blake3Many starts no helper thread with ${HASHING_THREADS_ENV}=1`,
  ignore: ONE_CORE,
}, async () => {
  assert.equal(await threadsAfter(4, 32), "threads 2\n");
  assert.equal(await threadsAfter(4, 32, { [HASHING_THREADS_ENV]: "1" }), "threads 1\n");
});
