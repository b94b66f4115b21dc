/**
 * {@linkcode DirectoryOwner}: the one writer of a VM directory. It holds the
 * directory lock, writes every commit, counts the sessions on each commit
 * (in this thread and in Workers), and runs deletions and finalizations when
 * nothing they would disturb is in use.
 *
 * A Worker's liveness is a lock: its VM opens the connection's file in
 * `workers/` and `flock`s it. The descriptor belongs to the Worker's
 * thread, so when the thread ends for any reason (`terminate()`, an
 * uncaught exception, `close()`) Deno closes it and the kernel drops the
 * lock. While a deletion or finalization waits, the owner tries that lock
 * every {@linkcode WORKER_CHECK_MS}; once it is free, the Worker's sessions
 * are over and their holds are released.
 *
 * @module
 */

import { PiecrustError, systemError } from "../errors.ts";
import { type CommitStore, openCommitStore } from "../store/commit_store.ts";
import type { CommitTrees } from "../store/trees.ts";
import { READ_ONLY } from "../store/durable.ts";
import { TMP_DIR, WORKERS_DIR } from "../store/paths.ts";
import type { CommitData, CommitWriteOptions } from "../store/publish.ts";
import {
  answer,
  closeReply,
  describe,
  type DirectoryHandle,
  isConnected,
  newReplyBuffer,
  type Request,
  type Settlement,
} from "./channel.ts";
import type { CommitOperation, Directory } from "./directory.ts";

/**
 * Takes the directory's writer lock (`flock` on `LOCK`) or fails at once: one
 * VM per directory writes commits, whether the other is in this process or not.
 * The lock is the open file's, so it ends with the file: at `close()`, or when
 * the thread that opened it ends.
 */
function lockDirectory(directory: string): Deno.FsFile {
  const path = `${directory}/LOCK`;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o644 });
  } catch (error) {
    throw systemError(error, `opening ${path}`);
  }
  if (!file.tryLockSync(true)) {
    file.close();
    throw new PiecrustError(
      "DirectoryInUse",
      `${directory} is in use by another VM; close it first (one VM writes a directory at a ` +
        `time; share it with Workers through vm.share())`,
    );
  }
  return file;
}

/**
 * How often the owner checks that the Workers holding commits still live,
 * while a deletion or finalization waits: the holds of a Worker whose thread
 * ended are released at most this long (plus the time its thread takes to
 * wind down, which is longer only while it is inside a contract call) later.
 */
export const WORKER_CHECK_MS = 100;

/** Whether the liveness lock at `path` is held, by a live Worker; an unreadable file counts as held. */
function isHeld(path: string): boolean {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch {
    // Removed or unreadable by someone else: never release holds a live Worker may rely on.
    return true;
  }
  using _ = file;
  return !file.tryLockSync(true);
}

/**
 * Refuses a path that is empty or names a folder holding something other
 * than a VM: opening clears a VM's `tmp/` and `workers/` folders, which in
 * any other folder (`""` joins to `/tmp`, `"/"` to `//tmp`) are the user's.
 */
function checkVmDirectory(directory: string): void {
  if (directory === "") throw new TypeError("directory must be a path, not an empty string");
  let entries: string[];
  try {
    entries = [...Deno.readDirSync(directory)].map((entry) => entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (entries.length === 0 || entries.includes("LOCK") || entries.includes("commits")) return;
  throw new PiecrustError(
    "PersistenceError",
    `${directory} is not a VM directory (it holds ${entries.slice(0, 3).join(", ")}` +
      `${entries.length > 3 ? ", ..." : ""}): open a new or empty folder, or one a VM made`,
  );
}

/** Removes what `path` names, if anything. */
function removeIfThere(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
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
  handle: DirectoryHandle;
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
 * ```ts
 * import assert from "node:assert/strict";
 * import { PiecrustError } from "../errors.ts";
 * import { DirectoryOwner } from "./owner.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const owner = new DirectoryOwner(dir);
 * assert.throws(
 *   () => new DirectoryOwner(dir), // one writer per directory
 *   (e) => e instanceof PiecrustError && e.kind === "DirectoryInUse",
 * );
 * owner.close();
 * new DirectoryOwner(dir).close();
 * ```
 */
export class DirectoryOwner implements Directory {
  readonly store: CommitStore;
  readonly #lock: Deno.FsFile;
  /** Open sessions per base root, in this thread and in Workers. */
  readonly #holds = new Map<string, number>();
  readonly #deferred: Deferred[] = [];
  readonly #connections = new Set<Connection>();
  /** Listed commits whose retired copy waits for Workers to stop reading it. */
  readonly #retiredCopies = new Set<string>();
  /** The timer that checks Workers' liveness while something waits for them. */
  #watch: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /**
   * Locks `directory` (created if missing), opens its commits (carrying out
   * the deletions and finalizations recorded before it last closed) and
   * removes the liveness files of earlier Workers.
   */
  constructor(directory: string, options: CommitWriteOptions = {}) {
    checkVmDirectory(directory);
    Deno.mkdirSync(directory, { recursive: true });
    this.#lock = lockDirectory(directory);
    try {
      this.store = openCommitStore(directory, options);
      removeIfThere(`${directory}/${WORKERS_DIR}`);
      Deno.mkdirSync(`${directory}/${WORKERS_DIR}`);
    } catch (error) {
      this.#lock.close();
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

  /** Counts a session on `base`; a `CommitNotFound` if it is no session base. */
  hold(base: string): void {
    if (!this.store.has(base) || this.#withdrawn(base)) {
      throw new PiecrustError("CommitNotFound", `no commit ${base} in ${this.store.dir}`, {
        details: { root: base },
      });
    }
    this.#holds.set(base, (this.#holds.get(base) ?? 0) + 1);
  }

  /** Ends a session on `base` and runs what waited for it. */
  release(base: string): void {
    this.#unhold(base);
    this.#runDeferred();
  }

  #unhold(base: string): void {
    const holds = (this.#holds.get(base) ?? 1) - 1;
    if (holds > 0) this.#holds.set(base, holds);
    else this.#holds.delete(base);
  }

  /** Writes a commit of a session in this thread. */
  commit(commit: CommitData, trees: CommitTrees): void {
    if (this.store.writeCommit(commit, trees)) this.#dropRetiredCopy(commit.root);
  }

  /**
   * Removes the retired copy of a commit that was committed again, unless
   * a Worker may still read it by path; then once it no longer can.
   */
  #dropRetiredCopy(root: string): void {
    if (this.#busy(root)) {
      this.#retiredCopies.add(root);
      this.#watchWorkers();
    } else {
      this.store.removeRetiredCopy(root);
    }
  }

  /**
   * Records durably that `root` is to be deleted or finalized, then does it
   * now or once the sessions it would disturb have closed; the promise
   * settles when it is done.
   */
  schedule(kind: CommitOperation, root: string): Promise<void> {
    try {
      return this.#enqueue(kind, root);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** {@linkcode schedule}, throwing at once what fails before anything waits. */
  #enqueue(kind: CommitOperation, root: string): Promise<void> {
    if (!this.store.has(root) || this.#withdrawn(root)) {
      throw new PiecrustError("CommitNotFound", `no commit ${root} in ${this.store.dir}`, {
        details: { root },
      });
    }
    this.store.recordIntent(kind, root);
    if (!this.#busy(root)) {
      this.store.carryOut(kind, root);
      return Promise.resolve();
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#deferred.push({ kind, root, resolve, reject });
    this.#watchWorkers();
    return promise;
  }

  /** Whether a session is open on `root`, or a Worker's session on a commit above it. */
  #busy(root: string): boolean {
    if ((this.#holds.get(root) ?? 0) > 0) return true;
    for (const connection of this.#connections) {
      for (const { lineage } of connection.holds) if (lineage.includes(root)) return true;
    }
    return false;
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
        this.store.carryOut(operation.kind, operation.root);
        operation.resolve();
      } catch (error) {
        operation.reject(error);
      }
    }
  }

  /** How many VMs of Workers are connected (shared handles in use). */
  get connections(): number {
    return this.#connections.size;
  }

  /** Whether an operation waits for a session of a Worker. */
  #waitsForWorkers(): boolean {
    if (this.#deferred.length === 0 && this.#retiredCopies.size === 0) return false;
    for (const connection of this.#connections) if (connection.holds.length > 0) return true;
    return false;
  }

  /** Starts checking Workers' liveness, if something waits for them. */
  #watchWorkers(): void {
    if (this.#watch !== undefined || !this.#waitsForWorkers()) return;
    this.#watch = setInterval(() => {
      this.#dropDeadWorkers();
      this.#runDeferred();
      if (!this.#waitsForWorkers()) this.#stopWatching();
    }, WORKER_CHECK_MS);
  }

  #stopWatching(): void {
    clearInterval(this.#watch);
    this.#watch = undefined;
  }

  /** Ends the connections of Workers whose thread ended, releasing their holds. */
  #dropDeadWorkers(): void {
    for (const connection of [...this.#connections]) {
      const { handle } = connection;
      if (!isConnected(handle.reply) || isHeld(handle.liveness)) continue;
      this.#disconnect(connection);
      for (const { base } of connection.holds.splice(0)) this.#unhold(base);
    }
  }

  #disconnect(connection: Connection): void {
    const { port, handle } = connection;
    this.#connections.delete(connection);
    closeReply(handle.reply);
    port.close();
    try {
      Deno.removeSync(handle.liveness);
    } catch {
      // Removed at the next open.
    }
  }

  /**
   * A handle for one Worker's `VM.connect`, served by this owner until it
   * is closed or the Worker's thread ends.
   */
  share(): DirectoryHandle {
    this.#dropDeadWorkers();
    const liveness = `${this.store.dir}/${WORKERS_DIR}/${crypto.randomUUID()}.lock`;
    Deno.writeFileSync(liveness, new Uint8Array(), { createNew: true, mode: READ_ONLY });
    const channel = new MessageChannel();
    const handle: DirectoryHandle = {
      directory: this.store.dir,
      port: channel.port2,
      reply: newReplyBuffer(),
      liveness,
    };
    const connection: Connection = { handle, port: channel.port1, holds: [] };
    this.#connections.add(connection);
    channel.port1.onmessage = (event: MessageEvent<Request>) => this.#serve(connection, event.data);
    return handle;
  }

  #serve(connection: Connection, request: Request): void {
    const { port, handle } = connection;
    if (request.op === "delete" || request.op === "finalize") {
      // Answered at once, so that the Worker's promise exists only once the intent is on disk.
      let done: Promise<void>;
      try {
        done = this.#enqueue(request.op, request.root);
      } catch (error) {
        answer(handle.reply, { error });
        return;
      }
      answer(handle.reply, { value: null });
      const settle = (error?: unknown): void => {
        const settlement: Settlement = { ticket: request.ticket };
        if (error !== undefined) settlement.error = describe(error);
        port.postMessage(settlement);
      };
      done.then(() => settle(), settle);
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

  /**
   * Closes the Workers' channels, fails what still waits (its intent stays
   * recorded, for the next open to carry out), and unlocks the directory.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopWatching();
    // What waits only for Workers that have ended can still be done now.
    this.#dropDeadWorkers();
    this.#runDeferred();
    for (const connection of [...this.#connections]) this.#disconnect(connection);
    for (const operation of this.#deferred.splice(0)) {
      operation.reject(
        new PiecrustError(
          "Disposed",
          `the VM closed while Workers' sessions still needed commit ${operation.root}; the ` +
            `next VM.open of ${this.store.dir} will ${operation.kind} it`,
        ),
      );
    }
    this.#lock.close();
  }
}
