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
import type { ContractId } from "./session/contract_id.ts";
import { prepareContractModule } from "./session/contract_module.ts";
import { committedBytecodes, ModuleCache } from "./session/module_cache.ts";

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

/** A deletion or finalization waiting for the sessions on its commit to close. */
interface DeferredOperation {
  kind: "delete" | "finalize";
  resolve: () => void;
  reject: (error: unknown) => void;
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
  /** Live sessions per base root. */
  readonly #holds = new Map<string, number>();
  /** Deletions and finalizations waiting for the sessions on a root to end, in order. */
  readonly #deferred = new Map<string, DeferredOperation[]>();
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

  /**
   * The roots of the VM's commits, sorted; a commit whose deletion or
   * finalization is waiting for its sessions is no longer listed.
   */
  commits(): Uint8Array[] {
    this.#checkOpen();
    return this.#store.commits()
      .filter((root) => !this.#deferred.has(root))
      .map((root) => fromHex(root));
  }

  /**
   * Deletes the commit `root`: it leaves {@linkcode commits} and can no
   * longer be a session base; its files are removed once no other commit
   * builds on it (commits that do are unaffected). While sessions started
   * from `root` are open, the deletion waits for the last one to close; the
   * promise settles when it is done. Rejects with a `PersistenceError` for
   * a root that is not listed.
   *
   * @example
   * ```ts
   * import { VM } from "./vm.ts";
   *
   * using vm = VM.ephemeral();
   * const root = vm.session().commit();
   * await vm.deleteCommit(root);
   * console.log(vm.commits().length); // 0
   * ```
   */
  deleteCommit(root: Uint8Array): Promise<void> {
    return this.#schedule("delete", root);
  }

  /**
   * Finalizes the commit `root`, as the reference VM promotes a commit into
   * its base state: it leaves {@linkcode commits}; commits that build on it
   * keep their state but no longer need the commits below it, whose files
   * are reclaimed once those are deleted or finalized too. Waits for open
   * sessions on `root` as {@linkcode deleteCommit} does.
   *
   * @example
   * ```ts
   * import { VM } from "./vm.ts";
   *
   * using vm = VM.ephemeral();
   * const first = vm.session().commit();
   * await vm.finalizeCommit(first);
   * console.log(vm.commits().length); // 0
   * ```
   */
  finalizeCommit(root: Uint8Array): Promise<void> {
    return this.#schedule("finalize", root);
  }

  #schedule(kind: DeferredOperation["kind"], root: Uint8Array): Promise<void> {
    try {
      this.#checkOpen();
      const key = root instanceof Uint8Array ? toHex(root) : "";
      if (!isHex32(key) || !this.#store.has(key) || this.#deferred.has(key)) {
        throw new PiecrustError("PersistenceError", `no commit ${key} in ${this.#directory}`);
      }
      if ((this.#holds.get(key) ?? 0) === 0) {
        this.#run(kind, key);
        return Promise.resolve();
      }
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      this.#deferred.set(key, [{ kind, resolve, reject }]);
      return promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #run(kind: DeferredOperation["kind"], root: string): void {
    if (kind === "delete") this.#store.deleteCommit(root);
    else this.#store.finalizeCommit(root);
  }

  /** Called when a session closes: releases its base and runs what waited for it. */
  #release(base: string | null): void {
    if (base === null) return;
    const holds = (this.#holds.get(base) ?? 1) - 1;
    if (holds > 0) {
      this.#holds.set(base, holds);
      return;
    }
    this.#holds.delete(base);
    const waiting = this.#deferred.get(base);
    this.#deferred.delete(base);
    for (const { kind, resolve, reject } of waiting ?? []) {
      try {
        this.#run(kind, base);
        resolve();
      } catch (error) {
        reject(error);
      }
    }
  }

  /** The folder that holds the VM's state. */
  get directory(): string {
    return this.#directory;
  }

  /**
   * Deletes the compiled module of contract `id` (of every bytecode the
   * contract has in a commit) and marks it removed, durably: until
   * {@linkcode recompileModule}, loading that bytecode fails with a
   * `PiecrustError` of kind `ModuleRemoved`, in a session call or a deploy,
   * for every contract with the same bytecode, also after a restart.
   * Sessions that already loaded the contract keep running it. State is
   * untouched. An id in no commit (unknown, or deployed only in a session
   * that has not committed) is ignored.
   *
   * @example
   * ```ts
   * import { contractBytecode } from "./contract_bytecode.ts";
   * import { VM } from "./vm.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const owner = new Uint8Array(32);
   * const id = session.deploy(contractBytecode("counter"), { owner }, 1_000_000n);
   * session.commit();
   * vm.removeModule(id);
   * vm.recompileModule(id);
   * ```
   */
  removeModule(id: ContractId): void {
    this.#checkOpen();
    for (const hash of committedBytecodes(this.#store, id.toString()).keys()) {
      this.#modules.remove(hash);
    }
  }

  /**
   * Compiles the committed bytecode of contract `id` again, replaces its
   * compiled module on disk and lifts a {@linkcode removeModule}. Fails
   * with `ContractDoesNotExist` if `id` is in no commit.
   *
   * @example
   * ```ts
   * import { contractBytecode } from "./contract_bytecode.ts";
   * import { VM } from "./vm.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const owner = new Uint8Array(32);
   * const id = session.deploy(contractBytecode("counter"), { owner }, 1_000_000n);
   * session.commit();
   * vm.recompileModule(id);
   * ```
   */
  recompileModule(id: ContractId): void {
    this.#checkOpen();
    const bytecodes = committedBytecodes(this.#store, id.toString());
    if (bytecodes.size === 0) {
      throw new PiecrustError(
        "ContractDoesNotExist",
        `contract ${id} is in no commit of ${this.#directory}, so it has no module to ` +
          `recompile; commit the session that deploys it first`,
      );
    }
    for (const [hash, read] of bytecodes) {
      // Deploy already accepted any `hdebug` import; `debug` only widens that check.
      const prepared = prepareContractModule(read(), { debug: true });
      this.#modules.recompile(this.#runtime.engine(prepared.is64), hash, prepared.wasm);
    }
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
      if (!isHex32(base) || !this.#store.has(base) || this.#deferred.has(base)) {
        throw new PiecrustError("PersistenceError", `no commit ${base} in ${this.#directory}`);
      }
    }
    const host: SessionHost = {
      runtime: this.#runtime,
      store: this.#store,
      modules: this.#modules,
      base,
      commit: (commit, trees) => this.#store.writeCommit(commit, trees),
      hostQueries: new Map(this.#hostQueries),
      scratchDirectory: this.#directory,
      release: (session: Session): void => {
        this.#sessions.delete(session);
        this.#release(base);
      },
    };
    const session = new Session(host, options);
    this.#sessions.add(session);
    if (base !== null) this.#holds.set(base, (this.#holds.get(base) ?? 0) + 1);
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
