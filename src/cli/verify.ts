/**
 * `piecrust verify DIR [ROOT]`: every file re-hashed, every root computed again.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import { type Command, parseHex } from "./command.ts";
import { formatBytes } from "./format.ts";
import { openVm } from "./open_vm.ts";
import { ProgressBar } from "./progress.ts";

/** `piecrust verify`. */
export const verify: Command = {
  name: "verify",
  summary: "re-hash every file and compute every root again; exit 1 on any mismatch",
  help: `Usage: piecrust verify DIR [ROOT] [--json]

Checks the VM directory DIR against its files: re-reads every file of every
commit (or of commit ROOT and the commits it is built on) and compares its
size and BLAKE3 checksum with the commit's manifest, then computes each
commit's root again from the page hashes. Shows a progress bar on a
terminal when it takes a while. Exits with 1 and names the first commit and
file that differ.

Options:
  --json   print { ok, commits, bytes } or { ok: false, error: { kind, message } }
  --help   print this help
`,
  options: {},
  arity: [1, 2],
  run({ positionals: [dir, root], values, io }): number {
    const commits = new Set<string>();
    let bytes = 0;
    const bar = new ProgressBar(io, "verifying");
    const options = {
      onProgress: (progress: { root: Uint8Array; verifiedBytes: number; totalBytes: number }) => {
        commits.add(progress.root.toHex());
        bytes = progress.verifiedBytes;
        bar.update(progress.verifiedBytes, progress.totalBytes);
      },
    };
    try {
      // Opening checks every manifest and file size: a failure there is a finding too.
      using vm = openVm(dir);
      if (root === undefined) vm.verifyAll(options);
      else vm.verifyCommit(parseHex("ROOT", root, 32), { ...options, bases: true });
    } catch (error) {
      bar.done();
      if (!(error instanceof PiecrustError) || error.kind !== "PersistenceError") throw error;
      if (values.json === true) {
        io.out(
          JSON.stringify({ ok: false, error: { kind: error.kind, message: error.message } }) + "\n",
        );
      } else {
        io.err(`piecrust verify: ${error.message}\n`);
      }
      return 1;
    }
    bar.done();
    if (values.json === true) {
      io.out(JSON.stringify({ ok: true, commits: commits.size, bytes }) + "\n");
    } else {
      const count = commits.size === 1 ? "1 commit" : `${commits.size} commits`;
      io.out(`ok: ${count}, ${formatBytes(bytes)} checked\n`);
    }
    return 0;
  },
};
