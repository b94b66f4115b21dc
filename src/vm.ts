/**
 * {@linkcode VM}: the entry point. Opens sessions over the VM's state.
 *
 * @module
 */

import { FlockOp, OpenFlags } from "../ffi/libc.ts";
import { libc } from "../ffi/library.ts";
import { PiecrustError } from "./errors.ts";
import type { HostQuery } from "./session/host_query.ts";
import { Runtime, type RuntimeOptions } from "./session/runtime.ts";
import { Session, type SessionHost, type SessionOptions } from "./session/session.ts";
import { fromHex, isHex32, toHex } from "./store/layout.ts";
import { openStore, type Store } from "./store/store.ts";
import { ModuleCache } from "./session/module_cache.ts";

/**
 * Takes the directory's writer lock (`flock` on `LOCK`) or fails at once: one
 * VM per directory writes commits, whether the other is in this process or not.
 */
function lockDirectory(directory: string): number {
  const lib = libc();
  const path = new TextEncoder().encode(`${directory}/LOCK\0`);
  const fd = lib.open(path, OpenFlags.RDWR | OpenFlags.CREAT | OpenFlags.CLOEXEC, 0o644);
  if (fd < 0) throw new PiecrustError("PersistenceError", `cannot open ${directory}/LOCK`);
  if (lib.flock(fd, FlockOp.EX | FlockOp.NB) !== 0) {
    lib.close(fd);
    throw new PiecrustError(
      "PersistenceError",
      `${directory} is in use by another VM; close it first (one VM writes a directory at a time)`,
    );
  }
  return fd;
}

/** Options of {@linkcode VM.open} and {@linkcode VM.ephemeral}. */
export interface VMOptions extends RuntimeOptions {}

/** Options of {@linkcode VM.session}. */
export interface VMSessionOptions extends SessionOptions {
  /** The commit to start from (its 32-byte root). Default: the empty state. */
  base?: Uint8Array;
}

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
  readonly #store: Store;
  readonly #ephemeral: boolean;
  readonly #lockFd: number;
  readonly #modules: ModuleCache;
  readonly #hostQueries = new Map<string, HostQuery>();
  readonly #sessions = new Set<Session>();
  #closed = false;

  private constructor(directory: string, ephemeral: boolean, options: VMOptions) {
    this.#directory = directory;
    this.#ephemeral = ephemeral;
    Deno.mkdirSync(directory, { recursive: true });
    this.#lockFd = lockDirectory(directory);
    try {
      this.#store = openStore(directory);
      this.#modules = new ModuleCache(`${directory}/modules`);
      this.#runtime = new Runtime(options);
    } catch (error) {
      libc().close(this.#lockFd);
      throw error;
    }
  }

  /**
   * A VM over the commits in `directory`, created if missing. Leftovers of
   * an interrupted commit are removed; a missing, torn or corrupt commit
   * file fails with a `PersistenceError` that names the commit.
   */
  static open(directory: string, options: VMOptions = {}): VM {
    return new VM(directory, false, options);
  }

  /** A VM whose state lives in a new temporary folder, removed by {@linkcode close}. */
  static ephemeral(options: VMOptions = {}): VM {
    const directory = Deno.makeTempDirSync({ prefix: "piecrust-vm-" });
    try {
      return new VM(directory, true, options);
    } catch (error) {
      Deno.removeSync(directory, { recursive: true });
      throw error;
    }
  }

  /** The roots of the VM's commits. */
  commits(): Uint8Array[] {
    this.#checkOpen();
    return this.#store.commits().map((root) => fromHex(root));
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

  /**
   * Starts a session on the commit `base` (default: the empty state). Close
   * it (or use `using`) to free its memories.
   */
  session(options: VMSessionOptions = {}): Session {
    this.#checkOpen();
    let base: string | null = null;
    if (options.base !== undefined) {
      base = toHex(options.base);
      if (!isHex32(base) || !this.#store.commits().includes(base)) {
        throw new PiecrustError("PersistenceError", `no commit ${base} in ${this.#directory}`);
      }
    }
    const host: SessionHost = {
      runtime: this.#runtime,
      store: this.#store,
      modules: this.#modules,
      base,
      commit: (commit) => this.#store.writeCommit(commit),
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

  /** Closes every session, frees the engines, and removes an ephemeral VM's folder. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const session of [...this.#sessions]) session.close();
    this.#runtime.close();
    if (this.#ephemeral) Deno.removeSync(this.#directory, { recursive: true });
    libc().close(this.#lockFd);
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new PiecrustError("Disposed", "the VM is closed");
  }
}
