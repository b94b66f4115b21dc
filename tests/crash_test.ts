import assert from "node:assert/strict";
import { contractFunction, ContractId, i64, unit, VM } from "../mod.ts";
import { openStore } from "../src/store/mod.ts";
import { assertNoLiveHandles } from "./_helpers.ts";

const script = new URL("./fixtures/commit_loop.ts", import.meta.url).pathname;
const counter = ContractId.fromHex("07".repeat(32));
const readValue = contractFunction("read_value", unit, i64);
const KILLS = 8;

/** Checks that every commit is complete, uncorrupted and has the root it is named by. */
function checkDirectory(dir: string): number {
  const store = openStore(dir);
  for (const root of store.commits()) store.verifyCommit(root);
  using vm = VM.open(dir);
  const roots = vm.commits();
  for (const root of roots) {
    using session = vm.session({ base: root });
    assert.deepEqual(session.root(), root, "a commit's content gives its root");
    assert.ok(session.call(counter, readValue, undefined, 1_000_000n).data > 0xfcn);
  }
  return roots.length;
}

Deno.test("Session.commit killed at random moments leaves only complete commits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piecrust-crash-" });
  try {
    let commits = 0;
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
      assert.ok(now >= commits, "no commit was lost");
      commits = now;
    }
    assert.ok(commits > KILLS, `only ${commits} commits were made`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assertNoLiveHandles();
});
