/**
 * Runs a parity script on our VM and returns one line per step, in the
 * format the native harness (`tests/parity/native`) prints for the reference
 * piecrust. The steps and the lines are described in `script.ts`.
 *
 * @module
 */

import { blake3 } from "../../src/merkle/mod.ts";
import {
  type CallReceipt,
  ContractId,
  PiecrustError,
  type Session,
  u64,
  VM,
  type VMSessionOptions,
} from "../../mod.ts";
import type { ParityStep } from "./script.ts";

function hex(bytes: Uint8Array): string {
  return bytes.toHex();
}

/** `hash`, as the native harness registers it: BLAKE3 of an rkyv `Vec<u8>`. */
function hashQuery(arg: Uint8Array, buffer: Uint8Array): number {
  const view = new DataView(arg.buffer, arg.byteOffset, arg.byteLength);
  const root = arg.length - 8;
  const start = root + view.getInt32(root, true);
  buffer.set(blake3(arg.subarray(start, start + view.getUint32(root + 4, true))));
  return 32;
}

/** wasmtime 21's names for traps (its `Trap` enum), where ours differ. */
const TRAP_NAMES: Record<string, string> = { Unreachable: "UnreachableCodeReached" };

function describe(error: unknown): string {
  if (!(error instanceof PiecrustError)) throw error;
  switch (error.kind) {
    case "Panic":
      // One line per step: the message's own line breaks are escaped.
      return `Panic ${error.message.replaceAll("\n", "\\n")}`;
    case "RuntimeError": {
      const trap = error.details.trap as string | undefined;
      return trap === undefined ? "RuntimeError" : `RuntimeError ${TRAP_NAMES[trap] ?? trap}`;
    }
    default:
      return error.kind;
  }
}

/** Runs `steps` in order on fresh VMs of ours and returns the line of each. */
export function runOurs(steps: readonly ParityStep[]): string[] {
  const labels = new Map<string, string>();
  const ids = new Map<string, ContractId>();
  let vm: VM | undefined;
  let session: Session | undefined;
  let lastCommit: Uint8Array | undefined;

  const label = (id: ContractId): string => labels.get(id.toString()) ?? id.toString();
  // A hex id, or the label of a deploy that failed: no such contract.
  const contract = (to: string): ContractId =>
    ids.get(to) ?? ContractId.fromHex(to.length === 64 ? to : "00".repeat(32));
  const open = (): Session => {
    if (session === undefined) throw new Error("the script opens a session first");
    return session;
  };
  const receipt = (r: CallReceipt<Uint8Array>): string => {
    const events = r.events.map((event) =>
      `${label(event.source)}/${event.topic}/${hex(event.data)}/${event.reverted}`
    );
    const tree = [...r.callTree].map((call) =>
      `${label(call.contractId)}:${call.limit}:${call.spent}:${call.memLen}`
    );
    return `spent=${r.gasSpent} data=${hex(r.data)} events=[${events}] tree=[${tree}]`;
  };

  const lines: string[] = [];
  try {
    for (const step of steps) lines.push(run(step));
  } finally {
    session?.close();
    vm?.close();
  }
  return lines;

  function run(step: ParityStep): string {
    switch (step.op) {
      case "open":
      case "ephemeral": {
        session?.close();
        vm?.close();
        session = undefined;
        vm = step.op === "open" ? VM.open(step.dir) : VM.ephemeral();
        vm.registerHostQuery("hash", { price: () => 0n, execute: hashQuery });
        vm.registerHostQuery("very_expensive", {
          price: () => 2n ** 64n - 1n,
          execute: () => {
            throw new Error("never executed: its price is above any limit");
          },
        });
        const commits = vm.commits().map(hex).sort();
        return `${step.op} commits=[${commits}]`;
      }
      case "session": {
        const options: VMSessionOptions = { debug: true };
        if (step.base === "last") options.base = lastCommit;
        else if (step.base !== undefined) options.base = Uint8Array.fromHex(step.base);
        if (step.meta !== undefined) {
          options.meta = Object.fromEntries(
            Object.entries(step.meta).map((
              [name, value],
            ) => [name, { schema: u64, value: BigInt(value) }]),
          );
        }
        try {
          session = vm!.session(options);
          return "session ok";
        } catch (error) {
          return `session err ${describe(error)}`;
        }
      }
      case "deploy": {
        try {
          const { contractId, receipt: init } = open().deployWithReceipt(
            Deno.readFileSync(step.wasm),
            Uint8Array.fromHex(step.owner),
            BigInt(step.gas),
            {
              initArg: step.init === undefined ? undefined : Uint8Array.fromHex(step.init),
              contractId: step.id === undefined ? undefined : ContractId.fromHex(step.id),
            },
          );
          labels.set(contractId.toString(), step.as);
          ids.set(step.as, contractId);
          return `deploy ${step.as} ok id=${contractId} init ${
            init === undefined ? "-" : receipt(init)
          }`;
        } catch (error) {
          return `deploy ${step.as} err ${describe(error)}`;
        }
      }
      case "call":
      case "feed": {
        const id = contract(step.to);
        const head = `${step.op} ${label(id)}.${step.fn}`;
        const arg = Uint8Array.fromHex(step.arg ?? "");
        try {
          if (step.op === "call") {
            return `${head} ok ${receipt(open().callRaw(id, step.fn, arg, BigInt(step.gas)))}`;
          }
          const feeds: string[] = [];
          const r = open().feederCallRaw(
            id,
            step.fn,
            arg,
            BigInt(step.gas),
            (bytes) => feeds.push(hex(bytes)),
          );
          return `${head} ok ${receipt(r)} feeds=[${feeds}]`;
        } catch (error) {
          return `${head} err ${describe(error)}`;
        }
      }
      case "commit": {
        const current = open();
        session = undefined;
        try {
          lastCommit = current.commit();
          return `commit ${hex(lastCommit)}`;
        } catch (error) {
          return `commit err ${describe(error)}`;
        } finally {
          current.close();
        }
      }
      case "root":
        return `root ${hex(open().root())}`;
      case "memlen": {
        const id = contract(step.to);
        try {
          const length = open().memoryLen(id);
          return `memlen ${label(id)} ${length ?? "none"}`;
        } catch (error) {
          return `memlen ${label(id)} err ${describe(error)}`;
        }
      }
    }
  }
}
