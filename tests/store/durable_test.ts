/** Tests of src/store/durable.ts. */

import assert from "node:assert/strict";
import { OpenFlags } from "../../ffi/libc.ts";
import { libc } from "../../src/native/library.ts";
import { startWriteback } from "../../src/store/durable.ts";

/** The lowest free descriptor, which open(2) returns: higher after a leak. */
function lowestFreeDescriptor(): number {
  const fd = libc().open(new TextEncoder().encode("/dev/null\0"), OpenFlags.RDONLY, 0);
  libc().close(fd);
  return fd;
}

Deno.test("startWriteback leaves files as written and no descriptor open, on disk and on tmpfs", () => {
  const folders = [Deno.makeTempDirSync()];
  try {
    folders.push(Deno.makeTempDirSync({ dir: "/dev/shm" }));
  } catch {
    // No /dev/shm here: the disk alone.
  }
  for (const folder of folders) {
    try {
      const bytes = crypto.getRandomValues(new Uint8Array(65536));
      Deno.writeFileSync(`${folder}/a`, bytes);
      Deno.writeFileSync(`${folder}/b`, bytes.subarray(0, 100));
      const before = lowestFreeDescriptor();
      // A missing path and a folder are skipped, or harmless.
      startWriteback([`${folder}/a`, `${folder}/missing`, folder, `${folder}/b`]);
      startWriteback([]);
      assert.equal(lowestFreeDescriptor(), before, folder);
      assert.deepEqual(Deno.readFileSync(`${folder}/a`), bytes);
      assert.deepEqual(Deno.readFileSync(`${folder}/b`), bytes.subarray(0, 100));
    } finally {
      Deno.removeSync(folder, { recursive: true });
    }
  }
});
