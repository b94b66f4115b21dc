/**
 * `piecrust deploy DIR WASM`: a contract deployed and committed.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import { ContractId } from "../session/contract_id.ts";
import { type Command, DEFAULT_GAS, parseGas, parseHex, UsageError } from "./command.ts";
import { openVm } from "./open_vm.ts";
import { sessionBase } from "./session_base.ts";

function readBytecode(path: string): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new UsageError(`WASM ${path} does not exist`);
    if (error instanceof Deno.errors.IsADirectory) {
      throw new UsageError(`WASM ${path} is a directory`);
    }
    throw new PiecrustError("IOError", `reading ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** `piecrust deploy`. */
export const deploy: Command = {
  name: "deploy",
  summary: "deploy a contract and commit: prints its id and the new root",
  help: `Usage: piecrust deploy DIR WASM [options]

Deploys the contract bytecode in the file WASM in a session of the VM
directory DIR (created if missing), runs its init, commits, and prints the
contract's id and the new commit's root.

Options:
  --base ROOT      the commit to deploy on; default: the only commit, or none
  --owner HEX      the owner bytes; default: 32 zero bytes
  --init-arg HEX   the argument of init, encoded; default: empty
  --id HEX         the contract id (32 bytes); default: BLAKE3 of the bytecode
  --gas N          gas for init; default: ${DEFAULT_GAS}
  --debug          accept contracts that import the debug functions
  --json           print { contract, root }
  --help           print this help
`,
  options: {
    base: { type: "string" },
    owner: { type: "string" },
    "init-arg": { type: "string" },
    id: { type: "string" },
    gas: { type: "string" },
    debug: { type: "boolean" },
  },
  arity: [2, 2],
  run({ positionals: [dir, wasm], values, io }): number {
    const owner = parseHex("--owner", (values.owner as string | undefined) ?? "00".repeat(32));
    const initArg = parseHex("--init-arg", (values["init-arg"] as string | undefined) ?? "");
    const id = values.id === undefined
      ? undefined
      : new ContractId(parseHex("--id", values.id as string, 32));
    const gas = values.gas === undefined ? DEFAULT_GAS : parseGas(values.gas as string);
    const bytecode = readBytecode(wasm);
    using vm = openVm(dir, { create: true });
    const base = sessionBase(vm, values.base as string | undefined);
    using session = vm.session({ base, debug: values.debug === true });
    const contract = session.deploy(bytecode, owner, gas, { initArg, contractId: id });
    const root = session.commit();
    io.out(
      values.json === true
        ? JSON.stringify({ contract: contract.toString(), root: root.toHex() }) + "\n"
        : `contract ${contract}\nroot     ${root.toHex()}\n`,
    );
    return 0;
  },
};
