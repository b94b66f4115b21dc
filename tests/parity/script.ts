/**
 * Parity scripts: the steps both VMs run, one JSON object per line, and the
 * line each step prints. The native harness (`native/src/main.rs`) and
 * `run_ours.ts` print the same line for the same behaviour, so a script's
 * outputs are compared line by line.
 *
 * | step | line |
 * |---|---|
 * | `{op:"open", dir}` / `{op:"ephemeral"}` | `open commits=[root,…]` (sorted) |
 * | `{op:"session", base?, meta?}` | `session ok` / `session err KIND` |
 * | `{op:"deploy", as, wasm, owner, gas, init?, id?}` | `deploy LABEL ok id=ID init RECEIPT\|-` / `deploy LABEL err KIND` |
 * | `{op:"call"\|"feed", to, fn, arg?, gas}` | `call LABEL.FN ok RECEIPT` (+ ` feeds=[hex,…]`) / `call LABEL.FN err KIND` |
 * | `{op:"commit"}` | `commit ROOT` (the session ends; open another) |
 * | `{op:"root"}` | `root ROOT` |
 * | `{op:"memlen", to}` | `memlen LABEL BYTES\|none` |
 *
 * RECEIPT is `spent=N data=HEX events=[LABEL/TOPIC/HEX/REVERTED,…]
 * tree=[LABEL:LIMIT:SPENT:MEMLEN,…]`; KIND is the error kind (our
 * `PiecrustError.kind` names), followed by the message for `Panic` and the
 * trap for `RuntimeError`. Contracts are shown by the label of their deploy
 * step. `base: "last"` is the root of the script's last commit; `meta`
 * values are u64s; every VM registers the host queries `hash` (BLAKE3 of an
 * rkyv `Vec<u8>`, free) and `very_expensive` (priced at 2^64 − 1), and
 * sessions accept `hdebug`.
 *
 * @module
 */

/** One step of a parity script. */
export type ParityStep =
  | { op: "open"; dir: string }
  | { op: "ephemeral" }
  | { op: "session"; base?: string; meta?: Record<string, number> }
  | {
    op: "deploy";
    as: string;
    wasm: string;
    owner: string;
    gas: number;
    init?: string;
    id?: string;
  }
  | { op: "call" | "feed"; to: string; fn: string; arg?: string; gas: number }
  | { op: "commit" }
  | { op: "root" }
  | { op: "memlen"; to: string };

/** A named script: its steps run in order on one side each. */
export interface ParityScenario {
  name: string;
  steps: ParityStep[];
}

/** The script as the native harness reads it: JSON lines. */
export function toJsonLines(steps: readonly ParityStep[]): string {
  return steps.map((step) => JSON.stringify(step)).join("\n") + "\n";
}
