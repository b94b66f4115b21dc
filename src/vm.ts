/**
 * {@linkcode VM}: the entry point. Opens sessions over the VM's state.
 *
 * @module
 */

import type { DirectoryHandle } from "./directory/channel.ts";
import type { CommitOperation, Directory } from "./directory/directory.ts";
import { makeEphemeralFolder, removeEphemeralFolder } from "./directory/ephemeral.ts";
import { DirectoryOwner } from "./directory/owner.ts";
import { RemoteDirectory } from "./directory/remote.ts";
import { PiecrustError, systemError } from "./errors.ts";
import type { HostQuery } from "./session/host_query.ts";
import { Runtime, type RuntimeOptions } from "./session/runtime.ts";
import { Session, type SessionOptions } from "./session/session.ts";
import type { SessionHost } from "./session/session_host.ts";
import { isHex32 } from "./store/paths.ts";
import type { CommitInfo, ContractInfo, VerifyOptions } from "./commit_info.ts";
import type { ContractDescription } from "./store/describe.ts";
import { ContractId } from "./session/contract_id.ts";
import { prepareContractModule } from "./bytecode/prepare.ts";
import { committedBytecodes, ModuleCache } from "./session/module_cache.ts";
import { checkBytes, checkContractId, checkType } from "./session/_arguments.ts";

/**
 * Options of {@linkcode VM.open} and {@linkcode VM.ephemeral}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type VMOptions, VM } from "./vm.ts";
 *
 * const options: VMOptions = { memory64Reservation: 2 ** 34, idleReservations: 4 };
 * using vm = VM.ephemeral(options);
 * assert.equal(vm.commits().length, 0);
 * ```
 */
export interface VMOptions extends RuntimeOptions {
  /**
   * Whether `commit()` returns only once the commit is on disk: its files
   * and folders fsynced, all of them together, then the rename that lists
   * it. With `false` nothing is fsynced and commits cost a fraction: a
   * killed process still loses nothing (the data is in the OS's page
   * cache), but an OS crash or power loss may lose the latest commits or
   * leave them unreadable. For tests, dry runs and scratch directories.
   * Default `true` for {@linkcode VM.open}, `false` for
   * {@linkcode VM.ephemeral} (whose folder does not outlive it anyway).
   */
  durable?: boolean;
}

/**
 * What {@linkcode VM.share} returns and {@linkcode VM.connect} takes:
 * everything a Worker needs to run sessions on the sharing VM's directory.
 * Post it to one Worker, listing `port` as transferable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type VMHandle, VM } from "./vm.ts";
 *
 * using vm = VM.ephemeral({ idleReservations: 2 });
 * const handle: VMHandle = vm.share();
 * assert.deepEqual(handle.options, { idleReservations: 2, durable: false });
 * handle.port.close();
 * ```
 */
export interface VMHandle extends DirectoryHandle {
  /** The owner's engine options, so that both compile the same machine code. */
  readonly options: VMOptions;
}

/**
 * Options of {@linkcode VM.session}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "./testing/mod.ts";
 * import { type VMSessionOptions, VM } from "./vm.ts";
 *
 * using vm = VM.ephemeral();
 * let base: Uint8Array;
 * {
 *   using session = vm.session();
 *   session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 *   base = session.commit();
 * }
 * const options: VMSessionOptions = { base, meta: { height: new Uint8Array([7]) } };
 * using session = vm.session(options);
 * assert.deepEqual(session.meta("height"), new Uint8Array([7]));
 * ```
 */
export interface VMSessionOptions extends SessionOptions {
  /** The commit to start from (its 32-byte root). Default: the empty state. */
  base?: Uint8Array;
  /**
   * Registered host queries this session does not offer (the reference's
   * `exclude_hq`): a contract that asks for one fails with
   * `MissingHostQuery`, as if it were not registered. Default: none.
   */
  excludeHostQueries?: readonly string[];
}

/**
 * A piecrust VM. `VM.ephemeral()` keeps its state in a temporary folder that
 * is removed on `close()`. Sessions are started with {@linkcode VM.session}.
 * A VM belongs to the thread (isolate) that created it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractFunction, i64, unit } from "../mod.ts";
 * import { contractBytecode } from "./testing/mod.ts";
 * import { VM } from "./vm.ts";
 *
 * const readValue = contractFunction("read_value", unit, i64);
 * using vm = VM.ephemeral();
 * let root: Uint8Array;
 * {
 *   using session = vm.session();
 *   const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
 *   session.call(counter, contractFunction("increment", unit, unit), undefined, 1_000_000n);
 *   root = session.commit();
 * }
 * using session = vm.session({ base: root });
 * assert.deepEqual(session.root(), root);
 * assert.equal(vm.commits().length, 1);
 * ```
 */
export class VM {
  readonly #runtime: Runtime;
  readonly #path: string;
  readonly #directory: Directory;
  /** This VM's directory coordination, when it owns the directory (not in a Worker). */
  readonly #owner: DirectoryOwner | undefined;
  readonly #options: VMOptions;
  readonly #ephemeral: boolean;
  readonly #modules: ModuleCache;
  readonly #hostQueries = new Map<string, HostQuery>();
  readonly #sessions = new Set<Session>();
  #closed = false;

  private constructor(
    path: string,
    ephemeral: boolean,
    options: VMOptions,
    makeDirectory: () => Directory,
  ) {
    if (options.durable !== undefined) checkType("options.durable", options.durable, "boolean");
    this.#path = path;
    this.#ephemeral = ephemeral;
    this.#options = { ...options };
    this.#directory = makeDirectory();
    if (this.#directory instanceof DirectoryOwner) this.#owner = this.#directory;
    try {
      // An ephemeral VM's folder is new and its own: nothing else writes there.
      this.#modules = new ModuleCache(`${path}/modules`, { exclusive: ephemeral });
      this.#runtime = new Runtime(options);
    } catch (error) {
      this.#directory.close();
      throw error;
    }
  }

  /**
   * A VM over the commits in `directory`, created if missing. A folder that
   * holds other files and no VM is refused with a `PersistenceError`, and an
   * empty path with a `TypeError`: opening clears a VM's `tmp/`, which there
   * would be someone else's. Leftovers of an interrupted commit are removed, and deletions and finalizations
   * requested before the directory was last closed are carried out; a
   * missing, torn or corrupt commit file fails with a `PersistenceError`
   * that names the commit.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractBytecode } from "./testing/mod.ts";
   * import { VM } from "./vm.ts";
   *
   * const directory = Deno.makeTempDirSync();
   * let root: Uint8Array;
   * {
   *   using vm = VM.open(directory);
   *   using session = vm.session();
   *   session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   *   root = session.commit();
   * }
   * using vm = VM.open(directory);
   * assert.deepEqual(vm.commits(), [root]);
   * ```
   */
  static open(directory: string, options: VMOptions = {}): VM {
    checkType("directory", directory, "string");
    try {
      return new VM(
        directory,
        false,
        options,
        () => new DirectoryOwner(directory, { durable: options.durable }),
      );
    } catch (error) {
      throw systemError(error, `opening a VM in ${directory}`);
    }
  }

  /**
   * A VM in this thread (typically a Worker) over the directory of the VM
   * that made `handle` with {@linkcode share}. Its sessions run here, in
   * parallel with other threads'; what must be coordinated (holds on base
   * commits, writing commits, deletions and finalizations) is asked of the
   * owning VM, whose thread must keep its event loop running. Engine
   * options are the owner's.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { VM } from "./vm.ts";
   *
   * // The Worker's module; it imports the VM by URL, as any module would.
   * const source = `
   *   import { VM } from "${new URL("../mod.ts", import.meta.url)}";
   *   import { contractBytecode } from "${new URL("./testing/mod.ts", import.meta.url)}";
   *   self.onmessage = ({ data: handle }) => {
   *     const vm = VM.connect(handle);
   *     const session = vm.session();
   *     session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   *     const root = session.commit();
   *     session.close();
   *     vm.close();
   *     self.postMessage(root);
   *   };`;
   * using vm = VM.ephemeral();
   * const worker = new Worker(URL.createObjectURL(new Blob([source])), { type: "module" });
   * const handle = vm.share();
   * worker.postMessage(handle, [handle.port]);
   * const root = await new Promise<Uint8Array>((resolve) => worker.onmessage = (e) => resolve(e.data));
   * worker.terminate();
   * assert.deepEqual(vm.commits(), [root]);
   * ```
   */
  static connect(handle: VMHandle): VM {
    checkType("handle", handle, "object");
    if (
      typeof handle.directory !== "string" || typeof handle.options !== "object" ||
      handle.options === null
    ) {
      throw new TypeError("VM.connect needs the handle that vm.share() returned");
    }
    try {
      return new VM(
        handle.directory,
        false,
        handle.options,
        () => new RemoteDirectory(handle, { durable: handle.options?.durable }),
      );
    } catch (error) {
      throw systemError(error, `connecting to the VM in ${handle.directory}`);
    }
  }

  /**
   * A handle for one Worker to run sessions on this VM's directory with
   * {@linkcode VM.connect}. Post it to the Worker with its port in the
   * transfer list. The Worker's sessions count as this VM's for deletions
   * and finalizations. Close the Worker's VM (which closes its sessions)
   * before ending the Worker; a Worker that ends without (`terminate()`,
   * an uncaught exception) holds nothing for more than about 100 ms after
   * its thread has stopped (longer only while it is inside a contract
   * call). Only the VM that opened the directory can share it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { VM } from "./vm.ts";
   *
   * using vm = VM.ephemeral();
   * const handle = vm.share();
   * assert.equal(handle.directory, vm.directory);
   * assert.ok(handle.port instanceof MessagePort);
   * handle.port.close(); // normally: worker.postMessage(handle, [handle.port])
   * ```
   */
  share(): VMHandle {
    this.#checkOpen();
    return { ...this.#ownerOnly("share").share(), options: this.#options };
  }

  #ownerOnly(what: string): DirectoryOwner {
    if (this.#owner === undefined) {
      throw new PiecrustError(
        "NotOwner",
        `${what} is done by the VM that owns ${this.#path}, not by one connected to it`,
      );
    }
    return this.#owner;
  }

  /**
   * A VM whose state lives in a new temporary folder,
   * `piecrust-vm-<pid>-<random>`, removed by {@linkcode close}; if the VM
   * is not closed, when the process exits normally (returning from the main
   * module, or `Deno.exit`); and if the process dies (SIGKILL, an uncaught
   * exception), by the next `VM.ephemeral()` of any process.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { VM } from "./vm.ts";
   *
   * let directory: string;
   * {
   *   using vm = VM.ephemeral();
   *   directory = vm.directory;
   *   assert.deepEqual(vm.commits(), []);
   * }
   * // Closing an ephemeral VM removes its folder.
   * assert.throws(() => Deno.statSync(directory), Deno.errors.NotFound);
   * ```
   */
  static ephemeral(options: VMOptions = {}): VM {
    let directory: string;
    try {
      directory = makeEphemeralFolder();
    } catch (error) {
      throw systemError(error, "making a temporary folder for an ephemeral VM");
    }
    try {
      const ephemeral = { ...options, durable: options.durable ?? false };
      return new VM(
        directory,
        true,
        ephemeral,
        () => new DirectoryOwner(directory, { durable: ephemeral.durable }),
      );
    } catch (error) {
      removeEphemeralFolder(directory);
      throw systemError(error, `opening an ephemeral VM in ${directory}`);
    }
  }

  /**
   * The roots of the VM's commits, sorted; a commit whose deletion or
   * finalization is waiting for its sessions is no longer listed.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractBytecode } from "./testing/mod.ts";
   * import { VM } from "./vm.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   * const root = session.commit();
   * assert.deepEqual(vm.commits(), [root]);
   * ```
   */
  commits(): Uint8Array[] {
    this.#checkOpen();
    return this.#directory.commits().map((root) => Uint8Array.fromHex(root));
  }

  /**
   * Commit `root`: its base, every contract at it with its owner, memory
   * length, bytecode size and page counts, and the bytes its folder takes.
   * A `CommitNotFound` if `root` is not a listed commit.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { VM } from "../mod.ts";
   * import { contractBytecode } from "./testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const counter = session.deploy(contractBytecode("counter"), new Uint8Array([1, 2]), 1_000_000n);
   * const root = session.commit();
   * const info = vm.commitInfo(root);
   * assert.equal(info.base, null);
   * assert.equal(info.contracts.length, 1);
   * const [contract] = info.contracts;
   * assert.ok(contract.id.equals(counter));
   * assert.deepEqual(contract.owner, new Uint8Array([1, 2]));
   * assert.equal(contract.memoryLength, session.memoryLen(counter));
   * assert.equal(contract.bytecodeBytes, contractBytecode("counter").length);
   * assert.equal(contract.changed, true);
   * assert.ok(info.diskBytes > contract.bytecodeBytes);
   * ```
   */
  commitInfo(root: Uint8Array): CommitInfo {
    this.#checkOpen();
    const key = this.#commitKey("root", root);
    return this.#whileHeld(key, `inspecting commit ${key}`, () => {
      const { base, contracts, diskBytes } = this.#directory.store.describeCommit(key);
      return {
        root: Uint8Array.fromHex(key),
        base: base === null ? null : Uint8Array.fromHex(base),
        contracts: contracts.map(contractInfoOf),
        diskBytes,
      };
    });
  }

  /**
   * Contract `contract` at commit `root`, as {@linkcode commitInfo} lists
   * it, or undefined if the commit has no such contract. A `CommitNotFound`
   * if `root` is not a listed commit.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ContractId, VM } from "../mod.ts";
   * import { contractBytecode } from "./testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const counter = session.deploy(contractBytecode("counter"), new Uint8Array([9]), 1_000_000n);
   * const root = session.commit();
   * assert.deepEqual(vm.contractInfo(root, counter)?.owner, new Uint8Array([9]));
   * assert.equal(vm.contractInfo(root, ContractId.fromHex("00".repeat(32))), undefined);
   * ```
   */
  contractInfo(root: Uint8Array, contract: ContractId): ContractInfo | undefined {
    this.#checkOpen();
    checkContractId("contract", contract);
    const key = this.#commitKey("root", root);
    return this.#whileHeld(key, `inspecting commit ${key}`, () => {
      const description = this.#directory.store.describeContract(key, contract.toString());
      return description === undefined ? undefined : contractInfoOf(description);
    });
  }

  /**
   * Checks commit `root` against its files: re-reads every file of the
   * commit (with `options.bases`, also of every commit it is built on) and
   * compares its size and checksum with the manifest, then computes the
   * root again from the page hashes and compares it and every contract's
   * page-tree root with the recorded ones. A `PersistenceError` names the
   * first commit and file that differ; a `CommitNotFound` if `root` is not
   * a listed commit. The commits cannot be deleted or finalized underneath
   * while they are checked.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PiecrustError, VM } from "../mod.ts";
   * import { contractBytecode } from "./testing/mod.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * using vm = VM.open(dir);
   * using session = vm.session();
   * session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   * const root = session.commit();
   * const files: string[] = [];
   * vm.verifyCommit(root, { onProgress: (progress) => files.push(progress.file) });
   * assert.ok(files.includes("manifest.json"));
   * const folder = `${dir}/commits/${root.toHex()}`;
   * const pack = [...Deno.readDirSync(folder)].find((entry) => entry.name.endsWith(".pages"))!;
   * Deno.chmodSync(`${folder}/${pack.name}`, 0o644);
   * using file = Deno.openSync(`${folder}/${pack.name}`, { write: true });
   * file.writeSync(new Uint8Array([0xff])); // one byte flipped, the size unchanged
   * assert.throws(
   *   () => vm.verifyCommit(root),
   *   (e) => e instanceof PiecrustError && e.kind === "PersistenceError" && /checksum/.test(e.message),
   * );
   * ```
   */
  verifyCommit(root: Uint8Array, options: VerifyOptions = {}): void {
    this.#checkOpen();
    checkVerifyOptions(options);
    const key = this.#commitKey("root", root);
    this.#whileHeld(key, `verifying commit ${key}`, () => {
      this.#verify([key], options.bases ?? false, options.onProgress);
    });
  }

  /**
   * Checks every listed commit and every unlisted one they build on, each
   * once, as {@linkcode verifyCommit} with `bases` does: every file against
   * its manifest, every root computed again. A `PersistenceError` names the
   * first commit and file that differ. `options.bases` is ignored.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { VM } from "../mod.ts";
   * import { contractBytecode } from "./testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * for (let i = 0; i < 2; i++) {
   *   using session = vm.session();
   *   session.deploy(contractBytecode("counter"), new Uint8Array([i]), 1_000_000n);
   *   session.commit();
   * }
   * let last = { verifiedBytes: 0, totalBytes: -1 };
   * vm.verifyAll({ onProgress: (progress) => (last = progress) });
   * assert.equal(last.verifiedBytes, last.totalBytes);
   * ```
   */
  verifyAll(options: VerifyOptions = {}): void {
    this.#checkOpen();
    checkVerifyOptions(options);
    const held: string[] = [];
    try {
      for (const key of this.#directory.commits()) {
        this.#directory.hold(key);
        held.push(key);
      }
      this.#verify(held, true, options.onProgress);
    } catch (error) {
      throw systemError(error, `verifying the commits of ${this.#path}`);
    } finally {
      for (const key of held) this.#directory.release(key);
    }
  }

  /**
   * Checks the files of `keys` (with `bases`, of their chains too, each
   * commit once), then computes their roots again; the caller holds `keys`.
   */
  #verify(keys: string[], bases: boolean, onProgress: VerifyOptions["onProgress"]): void {
    const store = this.#directory.store;
    const roots = new Set<string>();
    for (const key of keys) {
      for (const commit of bases ? store.lineage(key) : [key]) {
        if (roots.has(commit)) break; // The rest of the chain is in already.
        roots.add(commit);
      }
    }
    const totalBytes = [...roots].reduce((sum, commit) => sum + store.folderBytes(commit), 0);
    let verifiedBytes = 0;
    for (const commit of roots) {
      store.verifyCommit(commit, (file, bytes) => {
        verifiedBytes += bytes;
        onProgress?.({ root: Uint8Array.fromHex(commit), file, verifiedBytes, totalBytes });
      });
    }
    for (const commit of roots) store.recomputeRoot(commit);
  }

  /** Runs `body` with commit `key` held, so it cannot be deleted meanwhile. */
  #whileHeld<T>(key: string, what: string, body: () => T): T {
    try {
      this.#directory.hold(key);
      try {
        return body();
      } finally {
        this.#directory.release(key);
      }
    } catch (error) {
      throw systemError(error, `${what} in ${this.#path}`);
    }
  }

  /**
   * Deletes the commit `root`: it leaves {@linkcode commits} and can no
   * longer be a session base; its files are removed once no other commit
   * builds on it (commits that do are unaffected). While sessions started
   * from `root` are open, the deletion waits for the last one to close; the
   * promise settles when it is done. The deletion is recorded on disk
   * before this returns: if the VM closes (or the process dies) before it
   * is done, the next {@linkcode VM.open} does it, so a deleted commit is
   * never listed again. Rejects with a `PersistenceError` for a root that
   * is not listed.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PiecrustError } from "../mod.ts";
   * import { contractBytecode } from "./testing/mod.ts";
   * import { VM } from "./vm.ts";
   *
   * using vm = VM.ephemeral();
   * let root: Uint8Array;
   * {
   *   using session = vm.session();
   *   session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   *   root = session.commit();
   * }
   * await vm.deleteCommit(root);
   * assert.deepEqual(vm.commits(), []);
   * assert.throws(
   *   () => vm.session({ base: root }),
   *   (e) => e instanceof PiecrustError && e.kind === "CommitNotFound",
   * );
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
   * sessions on `root`, and is recorded durably, as {@linkcode deleteCommit} is.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractBytecode } from "./testing/mod.ts";
   * import { VM } from "./vm.ts";
   *
   * using vm = VM.ephemeral();
   * let first: Uint8Array;
   * {
   *   using session = vm.session();
   *   session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   *   first = session.commit();
   * }
   * await vm.finalizeCommit(first);
   * // Finalizing unlists the commit; what it held lives on in the commits built on it.
   * assert.deepEqual(vm.commits(), []);
   * ```
   */
  finalizeCommit(root: Uint8Array): Promise<void> {
    return this.#schedule("finalize", root);
  }

  /** `root` as the hex key of a commit; a `CommitNotFound` if it cannot be one. */
  #commitKey(name: string, root: Uint8Array): string {
    checkBytes(name, root);
    const key = root.toHex();
    if (!isHex32(key)) {
      throw new PiecrustError("CommitNotFound", `no commit ${key} in ${this.#path}`, {
        details: { root: key },
      });
    }
    return key;
  }

  #schedule(kind: CommitOperation, root: Uint8Array): Promise<void> {
    try {
      this.#checkOpen();
      const key = this.#commitKey("root", root);
      return this.#directory.schedule(kind, key);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The folder that holds the VM's state.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { VM } from "./vm.ts";
   *
   * using vm = VM.ephemeral();
   * assert.ok(Deno.statSync(vm.directory).isDirectory);
   * ```
   */
  get directory(): string {
    return this.#path;
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
   * import assert from "node:assert/strict";
   * import { contractFunction, i64, PiecrustError, unit } from "../mod.ts";
   * import { contractBytecode } from "./testing/mod.ts";
   * import { VM } from "./vm.ts";
   *
   * const readValue = contractFunction("read_value", unit, i64);
   * using vm = VM.ephemeral();
   * let root: Uint8Array, id;
   * {
   *   using session = vm.session();
   *   id = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   *   root = session.commit();
   * }
   * vm.removeModule(id);
   * {
   *   using session = vm.session({ base: root });
   *   assert.throws(
   *     () => session.call(id, readValue, undefined, 1_000_000n),
   *     (e) => e instanceof PiecrustError && e.kind === "ModuleRemoved",
   *   );
   * }
   * vm.recompileModule(id);
   * using session = vm.session({ base: root });
   * assert.equal(session.call(id, readValue, undefined, 1_000_000n).data, 0xfcn);
   * ```
   */
  removeModule(id: ContractId): void {
    this.#checkOpen();
    checkContractId("id", id);
    const { store } = this.#ownerOnly("removeModule");
    for (const hash of committedBytecodes(store, id.toString()).keys()) {
      this.#modules.remove(hash);
    }
  }

  /**
   * Deletes the compiled modules of bytecode that no commit uses any more
   * (contracts whose commits were all deleted; deploys never committed,
   * written when the in-memory cache made room) and
   * leftovers of interrupted writes from the module cache. Retired commits
   * go by themselves, when the last commit that needs them does. Only with
   * no session open and no Worker connected (a `SessionError` otherwise),
   * and only on the VM that owns the directory (`NotOwner`).
   *
   * @returns How many files were deleted and how many bytes they held.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { VM } from "../mod.ts";
   * import { contractBytecode } from "./testing/mod.ts";
   *
   * using vm = VM.ephemeral();
   * let root: Uint8Array;
   * {
   *   using session = vm.session();
   *   session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   *   root = session.commit();
   * }
   * await vm.deleteCommit(root); // no commit uses counter's compiled module any more
   * const { files, bytes } = vm.collectModules();
   * assert.ok(files > 0 && bytes > 0);
   * assert.deepEqual(vm.collectModules(), { files: 0, bytes: 0 });
   * ```
   */
  collectModules(): { files: number; bytes: number } {
    this.#checkOpen();
    const owner = this.#ownerOnly("collectModules");
    if (this.#sessions.size > 0 || owner.connections > 0) {
      throw new PiecrustError(
        "SessionError",
        `collectModules needs every session closed and no Worker connected; ` +
          `${this.#sessions.size} sessions are open, ${owner.connections} Workers connected`,
      );
    }
    const { store } = owner;
    const used = new Set<string>();
    const visited = new Set<string>();
    for (const root of store.commits()) {
      for (const commit of store.lineage(root)) {
        if (visited.has(commit)) break;
        visited.add(commit);
        for (const contract of store.manifest(commit).contracts) used.add(contract.bytecodeHash);
      }
    }
    return this.#modules.collect(used);
  }

  /**
   * Compiles the committed bytecode of contract `id` again, replaces its
   * compiled module on disk and lifts a {@linkcode removeModule}. Fails
   * with `ContractDoesNotExist` if `id` is in no commit.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractFunction, i64, unit } from "../mod.ts";
   * import { contractBytecode } from "./testing/mod.ts";
   * import { VM } from "./vm.ts";
   *
   * using vm = VM.ephemeral();
   * let root: Uint8Array, id;
   * {
   *   using session = vm.session();
   *   id = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   *   root = session.commit();
   * }
   * vm.recompileModule(id); // compiles afresh, even if the cached module is sound
   * using session = vm.session({ base: root });
   * const value = session.call(id, contractFunction("read_value", unit, i64), undefined, 1_000_000n);
   * assert.equal(value.data, 0xfcn);
   * ```
   */
  recompileModule(id: ContractId): void {
    this.#checkOpen();
    checkContractId("id", id);
    const bytecodes = committedBytecodes(this.#ownerOnly("recompileModule").store, id.toString());
    if (bytecodes.size === 0) {
      throw new PiecrustError(
        "ContractDoesNotExist",
        `contract ${id} is in no commit of ${this.#path}, so it has no module to ` +
          `recompile; commit the session that deploys it first`,
        { details: { contract: id.toString() } },
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
   * started afterwards see it. Its `price` must return a bigint from 0 to
   * 2^64 - 1; any other price fails the contract's call with a `Panic` that
   * names the query.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractFunction, string, tuple, u8, vec } from "../mod.ts";
   * import { contractBytecode } from "./testing/mod.ts";
   * import { VM } from "./vm.ts";
   *
   * using vm = VM.ephemeral();
   * vm.registerHostQuery("double", {
   *   price: () => 10n,
   *   execute: (arg, buffer) => {
   *     buffer[0] = arg[0] * 2;
   *     return 1;
   *   },
   * });
   * using session = vm.session();
   * const host = session.deploy(contractBytecode("host"), new Uint8Array(32), 1_000_000n);
   * const hostQueryRaw = contractFunction("host_query_raw", tuple(string, vec(u8)), vec(u8));
   * const receipt = session.call(host, hostQueryRaw, ["double", new Uint8Array([21])], 1_000_000n);
   * assert.deepEqual(receipt.data, new Uint8Array([42]));
   * ```
   */
  registerHostQuery<S>(name: string, query: HostQuery<S>): void {
    this.#checkOpen();
    checkType("name", name, "string");
    checkType("query", query, "object");
    checkType("query.price", query.price, "function");
    checkType("query.execute", query.execute, "function");
    this.#hostQueries.set(name, query as HostQuery);
  }

  /**
   * Starts a session on the commit `base` (default: the empty state). Close
   * it (or use `using`) to free its memories. A `PersistenceError` if
   * `base` is not a listed commit.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PiecrustError } from "../mod.ts";
   * import { contractBytecode } from "./testing/mod.ts";
   * import { VM } from "./vm.ts";
   *
   * using vm = VM.ephemeral();
   * let root: Uint8Array;
   * {
   *   using session = vm.session();
   *   session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
   *   root = session.commit();
   * }
   * using session = vm.session({ base: root, meta: { height: new Uint8Array([1]) } });
   * assert.deepEqual(session.root(), root);
   * assert.throws(
   *   () => vm.session({ base: new Uint8Array(32) }),
   *   (e) => e instanceof PiecrustError && e.kind === "CommitNotFound",
   * );
   * ```
   */
  session(options: VMSessionOptions = {}): Session {
    this.#checkOpen();
    checkType("options", options, "object");
    const hostQueries = new Map(this.#hostQueries);
    if (options.excludeHostQueries !== undefined) {
      if (!Array.isArray(options.excludeHostQueries)) {
        throw new TypeError("options.excludeHostQueries must be an array of host query names");
      }
      for (const name of options.excludeHostQueries) {
        checkType("options.excludeHostQueries[]", name, "string");
        hostQueries.delete(name);
      }
    }
    let base: string | null = null;
    if (options.base !== undefined) {
      base = this.#commitKey("options.base", options.base);
      this.#directory.hold(base);
    }
    const host: SessionHost = {
      runtime: this.#runtime,
      store: this.#directory.store,
      modules: this.#modules,
      base,
      commit: (commit, trees) => this.#directory.commit(commit, trees),
      hostQueries,
      release: (): void => {
        this.#sessions.delete(session);
        if (base !== null) this.#directory.release(base);
      },
    };
    let session: Session;
    try {
      session = new Session(host, options);
    } catch (error) {
      if (base !== null) this.#directory.release(base);
      throw error;
    }
    this.#sessions.add(session);
    return session;
  }

  /**
   * Closes every session, frees the engines, stops serving Workers, and
   * removes an ephemeral VM's folder. Deletions and finalizations still
   * waiting for Workers' sessions are rejected with `Disposed`; the next
   * {@linkcode VM.open} of the directory carries them out. Idempotent. Fails with a
   * `SessionError`, changing nothing, from inside a call of one of its
   * sessions (a host query or feeder callback).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PiecrustError } from "../mod.ts";
   * import { VM } from "./vm.ts";
   *
   * const vm = VM.ephemeral();
   * vm.close();
   * vm.close(); // closing twice is harmless
   * assert.throws(() => vm.session(), (e) => e instanceof PiecrustError && e.kind === "Disposed");
   * ```
   */
  close(): void {
    if (this.#closed) return;
    if (this.#runtime.active !== undefined) {
      throw new PiecrustError(
        "SessionError",
        "cannot close the VM while a call of one of its sessions runs (from a host query or " +
          "a feeder callback)",
      );
    }
    this.#closed = true;
    for (const session of [...this.#sessions]) session.close();
    this.#modules.close();
    this.#runtime.close();
    this.#directory.close();
    if (this.#ephemeral) removeEphemeralFolder(this.#path);
  }

  /**
   * Same as {@linkcode close}, for `using`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { VM } from "./vm.ts";
   *
   * let directory: string;
   * {
   *   using vm = VM.ephemeral();
   *   directory = vm.directory;
   * } // closed here, and an ephemeral VM's folder removed
   * assert.throws(() => Deno.statSync(directory), Deno.errors.NotFound);
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new PiecrustError("Disposed", "the VM is closed");
  }
}

/** The public form of a store's contract description. */
function contractInfoOf(description: ContractDescription): ContractInfo {
  return {
    id: ContractId.fromHex(description.id),
    owner: Uint8Array.fromHex(description.owner),
    is64: description.is64,
    memoryLength: description.memoryLength,
    leafIndex: description.leafIndex,
    bytecodeHash: Uint8Array.fromHex(description.bytecodeHash),
    bytecodeBytes: description.bytecodeBytes,
    pageRoot: Uint8Array.fromHex(description.pageRoot),
    pages: description.pages,
    pagesWritten: description.pagesWritten,
    changed: description.changed,
  };
}

function checkVerifyOptions(options: VerifyOptions): void {
  checkType("options", options, "object");
  if (options.bases !== undefined) checkType("options.bases", options.bases, "boolean");
  if (options.onProgress !== undefined) {
    checkType("options.onProgress", options.onProgress, "function");
  }
}
