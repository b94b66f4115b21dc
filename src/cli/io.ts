/**
 * Where the CLI writes, so that tests can run it in-process.
 *
 * @module
 */

/** The CLI's output streams. */
export interface CliIo {
  /** Writes `text` to standard output. */
  out(text: string): void;
  /** Writes `text` to standard error. */
  err(text: string): void;
  /** Whether standard output is a terminal that takes color (`NO_COLOR` unset). */
  readonly outIsTerminal: boolean;
  /** Whether standard error is a terminal (progress bars and color go there only then). */
  readonly errIsTerminal: boolean;
}

/**
 * The process's standard output and error.
 *
 * @example
 * ```ts
 * import { processIo } from "./io.ts";
 *
 * processIo().out("");
 * ```
 */
export function processIo(): CliIo {
  const encoder = new TextEncoder();
  const write = (file: { writeSync(p: Uint8Array): number }, text: string) => {
    const bytes = encoder.encode(text);
    for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
  };
  return {
    out: (text) => write(Deno.stdout, text),
    err: (text) => write(Deno.stderr, text),
    outIsTerminal: Deno.stdout.isTerminal() && !Deno.noColor,
    errIsTerminal: Deno.stderr.isTerminal(),
  };
}
