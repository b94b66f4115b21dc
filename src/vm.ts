/**
 * {@linkcode VM}: the entry point. Opens sessions over the VM's state.
 *
 * @module
 */

import { PiecrustError } from "./errors.ts";
import type { HostQuery } from "./session/host_query.ts";
import { Runtime, type RuntimeOptions } from "./session/runtime.ts";
import { Session, type SessionHost, type SessionOptions } from "./session/session.ts";

/** Options of {@linkcode VM.ephemeral}. */
export interface VMOptions extends RuntimeOptions {}

/**
 * A piecrust VM. `VM.ephemeral()` keeps its state in a temporary folder that
 * is removed on `close()`. Sessions are started with {@linkcode VM.session}.
 * A VM belongs to the thread (isolate) that created it.
 *
 * @example
 * ```ts
 * import { VM } from "./vm.ts";
 *
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * console.log(session.root().length); // 32
 * ```
 */
export class VM {
  readonly #runtime: Runtime;
  readonly #directory: string;
  readonly #hostQueries = new Map<string, HostQuery>();
  readonly #sessions = new Set<Session>();
  #closed = false;

  private constructor(directory: string, options: VMOptions) {
    this.#directory = directory;
    this.#runtime = new Runtime(options);
  }

  /** A VM whose state lives in a new temporary folder, removed by {@linkcode close}. */
  static ephemeral(options: VMOptions = {}): VM {
    const directory = Deno.makeTempDirSync({ prefix: "piecrust-vm-" });
    try {
      return new VM(directory, options);
    } catch (error) {
      Deno.removeSync(directory, { recursive: true });
      throw error;
    }
  }

  /** The folder that holds the VM's state. */
  get directory(): string {
    return this.#directory;
  }

  /**
   * Registers a host query that contracts call by `name` with `hq`. Sessions
   * started afterwards see it.
   */
  registerHostQuery(name: string, query: HostQuery): void {
    this.#checkOpen();
    if (typeof query?.price !== "function" || typeof query?.execute !== "function") {
      throw new TypeError("a host query needs price(arg) and execute(arg, buffer)");
    }
    this.#hostQueries.set(name, query);
  }

  /** Starts a session. Close it (or use `using`) to free its memories. */
  session(options: SessionOptions = {}): Session {
    this.#checkOpen();
    const host: SessionHost = {
      runtime: this.#runtime,
      hostQueries: new Map(this.#hostQueries),
      scratchDirectory: this.#directory,
      release: (session: Session): void => {
        this.#sessions.delete(session);
      },
    };
    const session = new Session(host, options);
    this.#sessions.add(session);
    return session;
  }

  /** Closes every session, frees the engines and removes an ephemeral VM's folder. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const session of [...this.#sessions]) session.close();
    this.#runtime.close();
    Deno.removeSync(this.#directory, { recursive: true });
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new PiecrustError("Disposed", "the VM is closed");
  }
}
