import assert from "node:assert/strict";

const FLAGS = ["run", "--allow-ffi", "--allow-read", "--allow-write", "--allow-env"];
const script = new URL("../fixtures/cold_reboot.ts", import.meta.url).pathname;

async function run(...args: string[]): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...FLAGS, script, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.ok(output.success, `child failed: ${stderr}`);
  return new TextDecoder().decode(output.stdout).trim();
}

Deno.test("VM.open in a new process reads back what another process committed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piecrust-reboot-" });
  try {
    const root = await run("write", dir);
    assert.match(root, /^[0-9a-f]{64}$/);
    for (let i = 0; i < 3; i++) assert.equal(await run("confirm", dir, root), "253n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
