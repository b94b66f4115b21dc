/**
 * `piecrust gc DIR`: compiled modules no commit uses, deleted.
 *
 * @module
 */

import type { Command } from "./command.ts";
import { formatBytes } from "./format.ts";
import { openVm } from "./open_vm.ts";

/** `piecrust gc`. */
export const gc: Command = {
  name: "gc",
  summary: "delete compiled modules that no commit uses",
  help: `Usage: piecrust gc DIR [--json]

Deletes from the module cache of the VM directory DIR the compiled modules
of bytecode that no commit uses (contracts whose commits were all deleted,
deploys never committed) and leftovers of interrupted writes. Commits need
no collection: a deleted commit's files go as soon as nothing builds on it.

Options:
  --json   print { files, bytes }
  --help   print this help
`,
  options: {},
  arity: [1, 1],
  run({ positionals: [dir], values, io }): number {
    using vm = openVm(dir);
    const { files, bytes } = vm.collectModules();
    if (values.json === true) io.out(JSON.stringify({ files, bytes }) + "\n");
    else io.out(`deleted ${files} ${files === 1 ? "file" : "files"}, ${formatBytes(bytes)}\n`);
    return 0;
  },
};
