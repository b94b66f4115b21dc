/**
 * The `piecrust` command line: {@linkcode main} runs one command.
 *
 * @module
 */

import { parseArgs } from "node:util";
import denoJson from "../../deno.json" with { type: "json" };
import { PiecrustError } from "../errors.ts";
import { call } from "./call.ts";
import { type Command, type Invocation, type OptionSpec, UsageError } from "./command.ts";
import { deploy } from "./deploy.ts";
import { formatTable } from "./format.ts";
import { gc } from "./gc.ts";
import { inspect } from "./inspect.ts";
import { type CliIo, processIo } from "./io.ts";
import { deleteCommand, finalizeCommand } from "./retire.ts";
import { verify } from "./verify.ts";

/** The commands, in the order `piecrust --help` lists them. */
const COMMANDS: readonly Command[] = [
  inspect,
  verify,
  deleteCommand,
  finalizeCommand,
  gc,
  deploy,
  call,
];

function usage(): string {
  const rows = COMMANDS.map((command) => [`  ${command.name}`, command.summary]);
  return `Usage: piecrust COMMAND [ARGS] [--json] [--help]

The piecrust VM from the command line: look into a VM directory, check it,
delete or finalize commits, deploy and call contracts.

Commands:
${formatTable(rows)}
Run 'piecrust COMMAND --help' for a command's arguments and options.
Exit status: 0 on success, 1 when the command fails (a corrupt directory,
a failed call), 2 for a command line that cannot be run.
`;
}

/**
 * Runs the command `args` names (`args` as after `piecrust`), writing to
 * `io`; resolves to the exit status: 0 on success, 1 when the command
 * failed, 2 for a command line that cannot be run.
 *
 * @param args The command line, without the program's name.
 * @param io Where to write. Default: the process's standard output and error.
 * @returns The exit status.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "./main.ts";
 *
 * let out = "";
 * let err = "";
 * const io = { out: (text: string) => (out += text), err: (text: string) => (err += text), outIsTerminal: false, errIsTerminal: false };
 * assert.equal(await main(["--help"], io), 0);
 * assert.match(out, /Usage: piecrust COMMAND/);
 * assert.equal(await main(["inspect"], io), 2);
 * assert.match(err, /inspect takes DIR/);
 * ```
 */
export async function main(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined) {
    io.err(usage());
    return 2;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    const command = COMMANDS.find((candidate) => candidate.name === rest[0]);
    io.out(command?.help ?? usage());
    return 0;
  }
  if (name === "--version" || name === "-V") {
    io.out(`piecrust ${denoJson.version}\n`);
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    io.err(`piecrust: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  try {
    const { positionals, values } = parse(command, rest);
    if (values.help === true) {
      io.out(command.help);
      return 0;
    }
    return await command.run({ positionals, values, io });
  } catch (error) {
    return report(command, error, io);
  }
}

function parse(
  command: Command,
  args: readonly string[],
): Pick<Invocation, "positionals" | "values"> {
  const options: Record<string, OptionSpec & { short?: string }> = {
    ...command.options,
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  };
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { positionals, values } = parsed;
  const [min, max] = command.arity;
  if (values.help !== true && (positionals.length < min || positionals.length > max)) {
    const synopsis = command.help.split("\n", 1)[0].replace(/^Usage: piecrust \S+ /, "").replace(
      / \[?--.*$/,
      "",
    );
    throw new UsageError(
      `${command.name} takes ${synopsis}, got ${positionals.length} argument${
        positionals.length === 1 ? "" : "s"
      }`,
    );
  }
  return { positionals, values: values as Record<string, string | boolean | undefined> };
}

function report(command: Command, error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    io.err(
      `piecrust ${command.name}: ${error.message}\nRun 'piecrust ${command.name} --help' for usage.\n`,
    );
    return 2;
  }
  if (error instanceof PiecrustError) {
    io.err(`piecrust ${command.name}: ${error.kind}: ${error.message}\n`);
    return 1;
  }
  io.err(`piecrust ${command.name}: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}
