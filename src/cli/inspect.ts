/**
 * `piecrust inspect DIR [ROOT]`: the commits of a VM directory and their contracts.
 *
 * @module
 */

import type { CommitInfo } from "../commit_info.ts";
import { type Command, parseHex } from "./command.ts";
import { formatBytes, formatTable } from "./format.ts";
import { openVm } from "./open_vm.ts";

/** A commit as `inspect --json` prints it: hex for bytes. */
function commitJson(info: CommitInfo): Record<string, unknown> {
  return {
    root: info.root.toHex(),
    base: info.base?.toHex() ?? null,
    diskBytes: info.diskBytes,
    contracts: info.contracts.map((contract) => ({
      id: contract.id.toString(),
      owner: contract.owner.toHex(),
      is64: contract.is64,
      memoryLength: contract.memoryLength,
      pages: contract.pages,
      pagesWritten: contract.pagesWritten,
      changed: contract.changed,
      bytecodeBytes: contract.bytecodeBytes,
      bytecodeHash: contract.bytecodeHash.toHex(),
      leafIndex: contract.leafIndex,
      pageRoot: contract.pageRoot.toHex(),
    })),
  };
}

/** Owners are usually 32 bytes: the start is enough to tell them apart in a table. */
function shortHex(bytes: Uint8Array): string {
  const hex = bytes.toHex();
  return hex.length > 16 ? `${hex.slice(0, 16)}…` : hex || "(empty)";
}

function commitText(info: CommitInfo, listed: ReadonlySet<string>): string {
  const base = info.base?.toHex();
  const lines = [
    `commit ${info.root.toHex()}\n`,
    `  base  ${
      base === undefined ? "none" : listed.has(base) ? base : `${base} (deleted or finalized)`
    }\n`,
    `  disk  ${formatBytes(info.diskBytes)}\n`,
  ];
  if (info.contracts.length === 0) return lines.join("") + "  no contracts\n";
  const rows = [["  contract", "owner", "memory", "pages", "written", "bytecode", ""]];
  for (const contract of info.contracts) {
    rows.push([
      `  ${contract.id}`,
      shortHex(contract.owner),
      formatBytes(contract.memoryLength) + (contract.is64 ? " (64-bit)" : ""),
      String(contract.pages),
      String(contract.pagesWritten),
      formatBytes(contract.bytecodeBytes),
      contract.changed ? "changed" : "",
    ]);
  }
  return lines.join("") + formatTable(rows, { right: [3, 4] }).replaceAll(/ +\n/g, "\n");
}

/** `piecrust inspect`. */
export const inspect: Command = {
  name: "inspect",
  summary: "list the commits of a VM directory and the contracts of each",
  help: `Usage: piecrust inspect DIR [ROOT] [--json]

Lists the commits of the VM directory DIR (or only commit ROOT): each
commit's base and the bytes its folder takes, and every contract at it
with its owner, memory length, committed pages, pages the commit wrote,
bytecode size, and whether the commit changed it.

Options:
  --json   print one JSON object: { directory, commits: [...] }
  --help   print this help
`,
  options: {},
  arity: [1, 2],
  run({ positionals: [dir, root], values, io }): number {
    using vm = openVm(dir);
    const commits = vm.commits();
    const roots = root === undefined ? commits : [parseHex("ROOT", root, 32)];
    const infos = roots.map((commit) => vm.commitInfo(commit));
    if (values.json === true) {
      io.out(JSON.stringify({ directory: dir, commits: infos.map(commitJson) }, null, 2) + "\n");
      return 0;
    }
    const total = infos.reduce((sum, info) => sum + info.diskBytes, 0);
    const count = infos.length === 1 ? "1 commit" : `${infos.length} commits`;
    io.out(`${dir}: ${count}, ${formatBytes(total)}\n`);
    const listed = new Set(commits.map((commit) => commit.toHex()));
    for (const info of infos) io.out("\n" + commitText(info, listed));
    return 0;
  },
};
