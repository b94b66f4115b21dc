/**
 * {@linkcode RemoteDirectory}: a VM directory seen from a Worker. The Worker
 * reads commit files itself (they never change), writes its commits' files
 * to `tmp/` itself, and asks the owner, through the handle's channel, for
 * everything that must be coordinated: holds, listing and publishing
 * commits, deletions and finalizations.
 *
 * @module
 */

import { PiecrustError } from "../errors.ts";
import { CommitStore } from "../store/commit_store.ts";
import { type CommitData, type CommitWriteOptions, stageCommit } from "../store/publish.ts";
import type { CommitTrees } from "../store/trees.ts";
import {
  type DirectoryHandle,
  markConnected,
  requestSync,
  revive,
  type Settlement,
} from "./channel.ts";
import type { CommitOperation, Directory } from "./directory.ts";

/**
 * A directory owned by a VM in another thread.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DirectoryOwner } from "./owner.ts";
 *
 * const owner = new DirectoryOwner(Deno.makeTempDirSync());
 * // A Worker's end, here in the owner's thread: answers need the owner's event loop.
 * const handle = owner.share();
 * const worker = new Worker(
 *   URL.createObjectURL(
 *     new Blob([
 *       `import { RemoteDirectory } from "${new URL("./remote.ts", import.meta.url)}";
 *       self.onmessage = ({ data }) => {
 *         const directory = new RemoteDirectory(data);
 *         self.postMessage(directory.commits());
 *         directory.close();
 *       };`,
 *     ]),
 *   ),
 *   { type: "module" },
 * );
 * worker.postMessage(handle, [handle.port]);
 * const commits = await new Promise((resolve) => worker.onmessage = (e) => resolve(e.data));
 * worker.terminate();
 * assert.deepEqual(commits, []);
 * owner.close();
 * ```
 */
export class RemoteDirectory implements Directory {
  readonly store: CommitStore;
  readonly #handle: DirectoryHandle;
  readonly #pending = new Map<number, { resolve: () => void; reject: (error: unknown) => void }>();
  /**
   * The locked liveness file. A descriptor of this thread's Deno runtime,
   * closed (and so unlocked) when the thread ends however it ends; a
   * descriptor opened through FFI would outlive a terminated Worker.
   */
  readonly #liveness: Deno.FsFile;
  #nextTicket = 1;
  readonly #writeOptions: CommitWriteOptions;

  /** Connects to the owner of `handle`; `options` say how this Worker writes its commits. */
  constructor(handle: DirectoryHandle, options: CommitWriteOptions = {}) {
    if (
      !(handle?.port instanceof MessagePort) || !(handle.reply instanceof SharedArrayBuffer) ||
      typeof handle.liveness !== "string"
    ) {
      throw new TypeError("VM.connect needs the handle that vm.share() returned");
    }
    this.#writeOptions = { durable: options.durable ?? true };
    this.#liveness = Deno.openSync(handle.liveness, { read: true });
    if (!this.#liveness.tryLockSync(true)) {
      this.#liveness.close();
      throw new PiecrustError(
        "DirectoryInUse",
        `the handle for ${handle.directory} is connected already; vm.share() makes one per Worker`,
      );
    }
    markConnected(handle.reply);
    this.#handle = handle;
    // No openCommitStore: cleaning tmp/ is the owner's job, and would remove other threads' commits.
    this.store = new CommitStore(handle.directory, []);
    handle.port.onmessage = (event: MessageEvent<Settlement>) => {
      const { ticket, error } = event.data;
      const pending = this.#pending.get(ticket);
      this.#pending.delete(ticket);
      if (error === undefined) pending?.resolve();
      else pending?.reject(revive(error));
    };
  }

  commits(): string[] {
    return requestSync(this.#handle, { op: "commits" }) as string[];
  }

  hold(base: string): void {
    requestSync(this.#handle, { op: "hold", root: base });
    try {
      this.store.refreshChain(base);
    } catch (error) {
      this.release(base);
      throw error;
    }
  }

  release(base: string): void {
    this.#handle.port.postMessage({ op: "release", root: base });
  }

  commit(commit: CommitData, trees: CommitTrees): void {
    const { folder } = stageCommit(this.#handle.directory, commit, this.#writeOptions);
    try {
      requestSync(this.#handle, { op: "publish", root: commit.root, staged: folder });
    } catch (error) {
      try {
        Deno.removeSync(folder, { recursive: true });
      } catch {
        // The owner removed it, or the next open will.
      }
      throw error;
    }
    // Keeping the trees spares a session on the new commit from rebuilding
    // them; the commit may already be gone again, deleted by another thread.
    try {
      this.store.refreshChain(commit.root);
      this.store.cacheTrees(commit.root, trees);
    } catch (error) {
      if (!(error instanceof PiecrustError && error.kind === "PersistenceError")) throw error;
    }
  }

  schedule(kind: CommitOperation, root: string): Promise<void> {
    const ticket = this.#nextTicket++;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#pending.set(ticket, { resolve, reject });
    try {
      // Synchronous: the owner has recorded the intent when this returns.
      requestSync(this.#handle, { op: kind, root, ticket });
    } catch (error) {
      this.#pending.delete(ticket);
      reject(error);
    }
    return promise;
  }

  close(): void {
    for (const { reject } of this.#pending.values()) {
      reject(new PiecrustError("Disposed", "the VM closed before the owner answered"));
    }
    this.#pending.clear();
    this.#handle.port.close();
    // Last: the sessions posted their releases, and the owner drops what is left once this is free.
    this.#liveness.close();
  }
}
