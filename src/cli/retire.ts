/**
 * `piecrust delete DIR ROOT` and `piecrust finalize DIR ROOT`.
 *
 * @module
 */

import { type Command, parseHex } from "./command.ts";
import { openVm } from "./open_vm.ts";

/** A command that retires commit ROOT with `retire` and prints `{ [done]: ROOT }`. */
function retireCommand(
  name: string,
  done: string,
  summary: string,
  description: string,
  retire: (vm: ReturnType<typeof openVm>, root: Uint8Array) => Promise<void>,
): Command {
  return {
    name,
    summary,
    help: `Usage: piecrust ${name} DIR ROOT [--json]

${description}

Options:
  --json   print { ${done}: ROOT }
  --help   print this help
`,
    options: {},
    arity: [2, 2],
    async run({ positionals: [dir, root], values, io }): Promise<number> {
      const bytes = parseHex("ROOT", root, 32);
      using vm = openVm(dir);
      await retire(vm, bytes);
      io.out(
        values.json === true
          ? JSON.stringify({ [done]: bytes.toHex() }) + "\n"
          : `${done} ${bytes.toHex()}\n`,
      );
      return 0;
    },
  };
}

/** `piecrust delete`. */
export const deleteCommand: Command = retireCommand(
  "delete",
  "deleted",
  "delete a commit (its files go once no other commit builds on them)",
  `Deletes commit ROOT of the VM directory DIR: it is no longer listed and can
no longer be a session base. Its files are removed once no other commit
builds on it; commits that do keep their state.`,
  (vm, root) => vm.deleteCommit(root),
);

/** `piecrust finalize`. */
export const finalizeCommand: Command = retireCommand(
  "finalize",
  "finalized",
  "finalize a commit: commits on it no longer need the commits below it",
  `Finalizes commit ROOT of the VM directory DIR, as the reference VM promotes
a commit into its base state: ROOT is no longer listed, and the commits
built on it keep their state but no longer need the commits below it, whose
files are removed once nothing else needs them.`,
  (vm, root) => vm.finalizeCommit(root),
);
