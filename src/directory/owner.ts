/**
 * {@linkcode DirectoryOwner}: the one writer of a VM directory. It holds the
 * directory lock, writes every commit, counts the sessions on each commit
 * (in this thread and in Workers), and runs deletions and finalizations when
 * nothing they would disturb is in use.
 *
 * @module
 */

import { FlockOp, OpenFlags } from "../../ffi/libc.ts";
import { libc } from "../../ffi/library.ts";
import { PiecrustError } from "../errors.ts";
import type { RuntimeOptions } from "../session/runtime.ts";
import { type CommitTrees, openStore, type Store } from "../store/store.ts";
import { TMP_DIR } from "../store/layout.ts";
import type { CommitData } from "../store/write_commit.ts";
import {
  answer,
  closeReply,
  describe,
  newReplyBuffer,
  type Request,
  type Settlement,
  type VMHandle,
} from "./channel.ts";
import type { CommitOperation, Directory } from "./directory.ts";

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
      `${directory} is in use by another VM; close it first (one VM writes a directory at a ` +
        `time; share it with Workers through vm.share())`,
    );
  }
  return fd;
}

/** A deletion or finalization waiting for the sessions it would disturb. */
interface Deferred {
  kind: CommitOperation;
  root: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A Worker's connection, with the commits its open sessions read. */
interface Connection {
  handle: VMHandle;
  port: MessagePort;
  /**
   * Each open session's base and the commits below it as they were when the
   * session started: the folders the Worker reads by path.
   */
  holds: { base: string; lineage: string[] }[];
}

/**
 * The owner of a VM directory.
 *
 * A deletion or finalization of a commit waits while a session started from
 * it is open; for a session in a Worker, also while the commit is below that
 * session's base, since the Worker reads the base's files by path.
 *
 * @example
 * ```ts ignore
 * const owner = new DirectoryOwner(dir);
 * owner.hold(root);
 * ```
 */
export class DirectoryOwner implements Directory {
  readonly store: Store;
  readonly #lockFd: number;
  /** Open sessions per base root, in this thread and in Workers. */
  readonly #holds = new Map<string, number>();
  readonly #deferred: Deferred[] = [];
  readonly #connections = new Set<Connection>();
  /** Listed commits whose retired copy waits for Workers to stop reading it. */
  readonly #retiredCopies = new Set<string>();
  #closed = false;

  /** Locks `directory` (created if missing) and opens its commits. */
  constructor(directory: string) {
    Deno.mkdirSync(directory, { recursive: true });
    this.#lockFd = lockDirectory(directory);
    try {
      this.store = openStore(directory);
    } catch (error) {
      libc().close(this.#lockFd);
      throw error;
    }
  }

  /** Listed roots, without those waiting to be deleted or finalized. */
  commits(): string[] {
    return this.store.commits().filter((root) => !this.#withdrawn(root));
  }

  #withdrawn(root: string): boolean {
    return this.#deferred.some((operation) => operation.root === root);
  }

  /** Counts a session on `base`; a `PersistenceError` if it is no session base. */
  hold(base: string): void {
    if (!this.store.has(base) || this.#withdrawn(base)) {
      throw new PiecrustError("PersistenceError", `no commit ${base} in ${this.store.dir}`);
    }
    this.#holds.set(base, (this.#holds.get(base) ?? 0) + 1);
  }

  /** Ends a session on `base` and runs what waited for it. */
  release(base: string): void {
    const holds = (this.#holds.get(base) ?? 1) - 1;
    if (holds > 0) this.#holds.set(base, holds);
    else this.#holds.delete(base);
    this.#runDeferred();
  }

  /** Writes a commit of a session in this thread. */
  commit(commit: CommitData, trees: CommitTrees): void {
    const retired = this.store.isRetired(commit.root);
    this.store.writeCommit(commit, trees);
    if (retired) this.#dropRetiredCopy(commit.root);
  }

  /**
   * Removes the retired copy of a commit that was committed again, unless
   * a Worker may still read it by path; then once it no longer can.
   */
  #dropRetiredCopy(root: string): void {
    if (this.#busy(root)) this.#retiredCopies.add(root);
    else this.store.removeRetiredCopy(root);
  }

  /**
   * Deletes or finalizes `root` now, or once the sessions it would disturb
   * have closed; the promise settles when it is done.
   */
  schedule(kind: CommitOperation, root: string): Promise<void> {
    try {
      if (!this.store.has(root) || this.#withdrawn(root)) {
        throw new PiecrustError("PersistenceError", `no commit ${root} in ${this.store.dir}`);
      }
      if (!this.#busy(root)) {
        this.#run(kind, root);
        return Promise.resolve();
      }
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      this.#deferred.push({ kind, root, resolve, reject });
      return promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Whether a session is open on `root`, or a Worker's session on a commit above it. */
  #busy(root: string): boolean {
    if ((this.#holds.get(root) ?? 0) > 0) return true;
    for (const connection of this.#connections) {
      for (const { lineage } of connection.holds) if (lineage.includes(root)) return true;
    }
    return false;
  }

  #run(kind: CommitOperation, root: string): void {
    if (kind === "delete") this.store.deleteCommit(root);
    else this.store.finalizeCommit(root);
  }

  /** Runs, in the order they were asked for, the waiting operations nothing blocks any more. */
  #runDeferred(): void {
    for (const root of [...this.#retiredCopies]) {
      if (this.#busy(root)) continue;
      this.#retiredCopies.delete(root);
      this.store.removeRetiredCopy(root);
    }
    for (let i = 0; i < this.#deferred.length;) {
      const operation = this.#deferred[i];
      if (this.#busy(operation.root)) {
        i++;
        continue;
      }
      this.#deferred.splice(i, 1);
      try {
        this.#run(operation.kind, operation.root);
        operation.resolve();
      } catch (error) {
        operation.reject(error);
      }
    }
  }

  /**
   * A handle for one Worker's `VM.connect`, served by this owner until it
   * is closed.
   */
  share(options: RuntimeOptions): VMHandle {
    const channel = new MessageChannel();
    const handle: VMHandle = {
      directory: this.store.dir,
      port: channel.port2,
      reply: newReplyBuffer(),
      options,
    };
    const connection: Connection = { handle, port: channel.port1, holds: [] };
    this.#connections.add(connection);
    channel.port1.onmessage = (event: MessageEvent<Request>) => this.#serve(connection, event.data);
    return handle;
  }

  #serve(connection: Connection, request: Request): void {
    const { port, handle } = connection;
    if (request.op === "delete" || request.op === "finalize") {
      const settle = (error?: unknown): void => {
        const settlement: Settlement = { ticket: request.ticket };
        if (error !== undefined) settlement.error = describe(error);
        port.postMessage(settlement);
      };
      this.schedule(request.op, request.root).then(() => settle(), settle);
      return;
    }
    if (request.op === "release") {
      const index = connection.holds.findIndex(({ base }) => base === request.root);
      if (index >= 0) {
        connection.holds.splice(index, 1);
        this.release(request.root);
      }
      return;
    }
    try {
      let value: unknown = null;
      if (request.op === "commits") value = this.commits();
      else if (request.op === "hold") {
        this.hold(request.root);
        connection.holds.push({ base: request.root, lineage: this.store.lineage(request.root) });
      } else if (request.op === "publish") {
        this.#publish(request.root, request.staged);
      }
      answer(handle.reply, { value });
    } catch (error) {
      answer(handle.reply, { error });
    }
  }

  /** Lists a commit that a Worker wrote to `tmp/`. */
  #publish(root: string, staged: string): void {
    const folder = `${this.store.dir}/${TMP_DIR}/`;
    const name = staged.slice(folder.length);
    if (!staged.startsWith(folder) || !/^[0-9a-f-]{36}$/.test(name)) {
      throw new PiecrustError("PersistenceError", `${staged} is not a staged commit`);
    }
    if (this.store.publish(staged, root)) this.#dropRetiredCopy(root);
  }

  /** Closes the Workers' channels, fails what still waits, and unlocks the directory. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { port, handle } of this.#connections) {
      closeReply(handle.reply);
      port.close();
    }
    this.#connections.clear();
    for (const operation of this.#deferred.splice(0)) {
      operation.reject(new PiecrustError("Disposed", "the VM closed before the commit was free"));
    }
    libc().close(this.#lockFd);
  }
}
