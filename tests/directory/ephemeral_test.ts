/**
 * The folder of an ephemeral VM that is never closed: removed when its
 * process exits normally, and else by the next `VM.ephemeral()`, unless its
 * process still runs or a VM still holds its lock. Each case runs in a
 * child process, with a temporary directory of its own.
 */

import assert from "node:assert/strict";
import { VM } from "../../mod.ts";
import { pathExists } from "../../src/store/durable.ts";
import { runFixture, withDirectoryAsync } from "../_helpers.ts";

/** Runs the fixture, ending as `how` says, with `temp` as its temporary directory. */
async function ephemeralChild(
  temp: string,
  how: "close" | "return" | "exit" | "throw" | "kill",
): Promise<{ folder: string; output: Deno.CommandOutput }> {
  const output = await runFixture("ephemeral_exit.ts", [how], { env: { TMPDIR: temp } });
  const folder = new TextDecoder().decode(output.stdout).trim();
  assert.ok(folder.startsWith(`${temp}/piecrust-vm-`), folder);
  return { folder, output };
}

for (const how of ["return", "exit"] as const) {
  Deno.test(
    `VM.ephemeral's folder is removed on ${how} without close`,
    withDirectoryAsync(async (temp) => {
      const { folder, output } = await ephemeralChild(temp, how);
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
      assert.equal(pathExists(folder), false);
      assert.deepEqual([...Deno.readDirSync(temp)], []);
    }),
  );
}

for (const how of ["kill", "throw"] as const) {
  Deno.test(
    `VM.ephemeral removes the folder a process left on ${how}`,
    withDirectoryAsync(async (temp) => {
      const { folder, output } = await ephemeralChild(temp, how);
      assert.equal(output.success, false);
      assert.ok(pathExists(`${folder}/commits`), "the dead process left its folder");
      const next = await ephemeralChild(temp, "close");
      assert.equal(next.output.code, 0, new TextDecoder().decode(next.output.stderr));
      assert.equal(pathExists(folder), false, "removed by the next VM.ephemeral");
      assert.deepEqual([...Deno.readDirSync(temp)], []);
    }),
  );
}

Deno.test(
  "VM.ephemeral keeps the folders of running processes and of VMs that hold their lock",
  withDirectoryAsync(async (temp) => {
    const { folder: dead } = await ephemeralChild(temp, "kill");
    // A dead process's folder that a VM opened since: its lock is held.
    using held = VM.open(dead);
    const running = `${temp}/piecrust-vm-${Deno.pid}-x`;
    Deno.mkdirSync(running);
    const next = await ephemeralChild(temp, "close");
    assert.equal(next.output.code, 0, new TextDecoder().decode(next.output.stderr));
    assert.equal(pathExists(`${dead}/commits`), true, "its lock is held");
    assert.equal(pathExists(running), true, "its process runs");
    held.close();
    Deno.removeSync(running);
    const last = await ephemeralChild(temp, "close");
    assert.equal(last.output.code, 0);
    assert.deepEqual([...Deno.readDirSync(temp)], [], "removed once its lock is free");
  }),
);
