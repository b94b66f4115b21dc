/**
 * Deno's process-level API (environment, arguments, standard streams,
 * child processes, platform) over Node.js's, as far as the VM uses it.
 *
 * @module
 */

import childProcess from "node:child_process";
import fs from "node:fs";
import process from "node:process";
import { Readable } from "node:stream";
import tty from "node:tty";
import { errors, translate } from "./errors.ts";

export const env = {
  get: (name: string): string | undefined => process.env[name],
  set: (name: string, value: string): void => {
    process.env[name] = value;
  },
  delete: (name: string): void => {
    delete process.env[name];
  },
  has: (name: string): boolean => name in process.env,
  toObject: (): Record<string, string> => ({ ...process.env }) as Record<string, string>,
};

export const pid: number = process.pid;
export const args: string[] = process.argv.slice(2);
export const execPath = (): string => process.execPath;
export const exit = (code?: number): never => process.exit(code);
export const noColor: boolean = (process.env.NO_COLOR ?? "") !== "";

export const build = {
  os: process.platform,
  arch: process.arch === "x64" ? "x86_64" : process.arch === "arm64" ? "aarch64" : process.arch,
};

/** Node.js and Bun grant a program everything Deno's permissions could refuse. */
export const permissions = {
  querySync: (_descriptor: unknown): { state: "granted" } => ({ state: "granted" }),
};

/** `Deno.stdout` or `Deno.stderr`, the methods the VM uses. */
interface StandardStream {
  writeSync(bytes: Uint8Array): number;
  isTerminal(): boolean;
}

function standardStream(fd: number): StandardStream {
  return {
    writeSync: (bytes: Uint8Array): number => fs.writeSync(fd, bytes),
    isTerminal: (): boolean => tty.isatty(fd),
  };
}

export const stdout = standardStream(1);
export const stderr = standardStream(2);

type Stdio = "piped" | "inherit" | "null";

/** `Deno.CommandOptions`, the fields the VM uses. */
export interface CommandOptions {
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  stdin?: Stdio;
  stdout?: Stdio;
  stderr?: Stdio;
}

/** `Deno.CommandStatus`. */
export interface CommandStatus {
  success: boolean;
  code: number;
  signal: string | null;
}

/** `Deno.CommandOutput`. */
export interface CommandOutput extends CommandStatus {
  stdout: Uint8Array;
  stderr: Uint8Array;
}

const nodeStdio = (stdio: Stdio | undefined, fallback: Stdio) => {
  const chosen = stdio ?? fallback;
  return chosen === "piped" ? "pipe" : chosen === "null" ? "ignore" : "inherit";
};

const empty = new Uint8Array(0);
const bytesOf = (buffer: Buffer | null | undefined) =>
  buffer == null ? empty : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);

/** `Deno.ChildProcess`. */
export interface ChildProcess {
  readonly pid: number;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly status: Promise<CommandStatus>;
  kill(signal?: NodeJS.Signals): void;
}

/** `Deno.Command` over `node:child_process`. */
export class Command {
  readonly #command: string;
  readonly #options: CommandOptions;

  constructor(command: string | URL, options: CommandOptions = {}) {
    this.#command = command instanceof URL ? command.pathname : command;
    this.#options = options;
  }

  #stdio(fallback: Stdio): ["ignore" | "pipe" | "inherit", ...("ignore" | "pipe" | "inherit")[]] {
    const { stdin, stdout, stderr } = this.#options;
    return [
      nodeStdio(stdin, "inherit"),
      nodeStdio(stdout, fallback),
      nodeStdio(stderr, fallback),
    ];
  }

  outputSync(): CommandOutput {
    const result = childProcess.spawnSync(this.#command, this.#options.args ?? [], {
      cwd: this.#options.cwd,
      env: this.#options.env === undefined ? undefined : { ...process.env, ...this.#options.env },
      stdio: this.#stdio("piped"),
      maxBuffer: Infinity,
    });
    if (result.error !== undefined) throw translate(result.error);
    return {
      success: result.status === 0,
      code: result.status ?? 1,
      signal: result.signal,
      stdout: bytesOf(result.stdout),
      stderr: bytesOf(result.stderr),
    };
  }

  spawn(): ChildProcess {
    const child = childProcess.spawn(this.#command, this.#options.args ?? [], {
      cwd: this.#options.cwd,
      env: this.#options.env === undefined ? undefined : { ...process.env, ...this.#options.env },
      stdio: this.#stdio("inherit"),
    });
    if (child.pid === undefined) {
      // Deno throws at once when the program cannot be started; Node.js reports it later.
      child.on("error", () => {});
      throw new errors.NotFound(`Failed to spawn '${this.#command}': not found`);
    }
    const stream = (readable: Readable | null) =>
      readable === null
        ? new ReadableStream<Uint8Array>({ start: (controller) => controller.close() })
        : Readable.toWeb(readable) as ReadableStream<Uint8Array>;
    return {
      pid: child.pid,
      stdout: stream(child.stdout),
      stderr: stream(child.stderr),
      status: new Promise((resolve, reject) => {
        child.on("error", reject);
        child.on(
          "close",
          (code, signal) => resolve({ success: code === 0, code: code ?? 1, signal }),
        );
      }),
      kill: (signal = "SIGTERM") => {
        child.kill(signal);
      },
    };
  }
}
