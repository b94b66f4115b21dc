/**
 * `piecrust delete DIR ROOT` and `piecrust finalize DIR ROOT`.
 *
 * @module
 */

import { type Command, parseHex } from "./command.ts";
import { openVm } from "./open_vm.ts";

/** `piecrust delete`. */
export const deleteCommand: Command = {
  name: "delete",
  summary: "delete a commit (its files go once no other commit builds on them)",
  help: `Usage: piecrust delete DIR ROOT [--json]

Deletes commit ROOT of the VM directory DIR: it is no longer listed and can
no longer be a session base. Its files are removed once no other commit
builds on it; commits that do keep their state.

Options:
  --json   print { deleted: ROOT }
  --help   print this help
`,
  options: {},
  arity: [2, 2],
  async run({ positionals: [dir, root], values, io }): Promise<number> {
    const bytes = parseHex("ROOT", root, 32);
    using vm = openVm(dir);
    await vm.deleteCommit(bytes);
    io.out(
      values.json === true
        ? JSON.stringify({ deleted: bytes.toHex() }) + "\n"
        : `deleted ${bytes.toHex()}\n`,
    );
    return 0;
  },
};

/** `piecrust finalize`. */
export const finalizeCommand: Command = {
  name: "finalize",
  summary: "finalize a commit: commits on it no longer need the commits below it",
  help: `Usage: piecrust finalize DIR ROOT [--json]

Finalizes commit ROOT of the VM directory DIR, as the reference VM promotes
a commit into its base state: ROOT is no longer listed, and the commits
built on it keep their state but no longer need the commits below it, whose
files are removed once nothing else needs them.

Options:
  --json   print { finalized: ROOT }
  --help   print this help
`,
  options: {},
  arity: [2, 2],
  async run({ positionals: [dir, root], values, io }): Promise<number> {
    const bytes = parseHex("ROOT", root, 32);
    using vm = openVm(dir);
    await vm.finalizeCommit(bytes);
    io.out(
      values.json === true
        ? JSON.stringify({ finalized: bytes.toHex() }) + "\n"
        : `finalized ${bytes.toHex()}\n`,
    );
    return 0;
  },
};
