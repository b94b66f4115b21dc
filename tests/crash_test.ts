import assert from "node:assert/strict";
import { contractFunction, ContractId, i64, unit, VM } from "../mod.ts";
import { openStore } from "../src/store/mod.ts";
import { assertNoLiveHandles } from "./_helpers.ts";

const script = new URL("./fixtures/commit_loop.ts", import.meta.url).pathname;
const counter = ContractId.fromHex("07".repeat(32));
const readValue = contractFunction("read_value", unit, i64);
const KILLS = 8;

/**
 * Checks that every commit is complete, uncorrupted and has the root it is
 * named by, and that no retired commit is left that nothing builds on;
 * returns the highest counter value.
 */
function checkDirectory(dir: string): bigint {
  const store = openStore(dir);
  for (const root of store.commits()) store.verifyCommit(root);
  const retired = [...Deno.readDirSync(`${dir}/retired`)].map((entry) => entry.name);
  for (const root of retired) {
    store.verifyCommit(root);
    const dependents = [...store.commits(), ...retired]
      .filter((other) => store.manifest(other).base === root);
    assert.ok(dependents.length > 0, `retired commit ${root} was left behind`);
  }
  assert.deepEqual([...Deno.readDirSync(`${dir}/tmp`)], [], "open empties tmp/");
  using vm = VM.open(dir);
  let highest = 0n;
  for (const root of vm.commits()) {
    using session = vm.session({ base: root });
    assert.deepEqual(session.root(), root, "a commit's content gives its root");
    const value = session.call(counter, readValue, undefined, 1_000_000n).data;
    assert.ok(value > 0xfcn);
    if (value > highest) highest = value;
  }
  return highest;
}

Deno.test("VM commits, finalizations and deletions killed at random moments leave only complete commits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piecrust-crash-" });
  try {
    let highest = 0n;
    for (let kill = 0; kill < KILLS; kill++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-ffi", "--allow-read", "--allow-write", "--allow-env", script, dir],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      // Let it start (about 0.3 s) and commit a while, then kill it mid-flight.
      await new Promise((resolve) => setTimeout(resolve, 400 + Math.random() * 400));
      child.kill("SIGKILL");
      const status = await child.status;
      const stderr = new TextDecoder().decode((await child.output()).stderr);
      assert.equal(status.signal, "SIGKILL", `the child ended on its own: ${stderr}`);
      const now = checkDirectory(dir);
      assert.ok(now >= highest, "the newest commit was not lost");
      highest = now;
    }
    assert.ok(highest > 0xfcn + BigInt(KILLS), `only ${highest - 0xfcn} commits were made`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assertNoLiveHandles();
});
