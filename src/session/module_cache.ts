/**
 * {@linkcode ModuleCache}: compiled contract modules kept on disk, loaded
 * with `deserialize` (about a thousand times faster than compiling).
 *
 * Each artifact `<key>.cwasm` has a sidecar `<key>.meta` that binds it to
 * the libwasmtime build, the engine configuration and the bytecode rewrite,
 * and records the artifact's BLAKE3. A mismatch, a missing sidecar, a
 * corrupt artifact or an entry that is not a regular file (a directory, a
 * link, a pipe) means: compile again and replace both (written beside and
 * renamed into place). An artifact is never loaded unverified, because
 * wasmtime trusts serialized code: the bytes that were verified are the
 * ones loaded, never the file read a second time. Loading from bytes also
 * keeps no descriptor open, where `deserialize_file` holds one per module.
 *
 * {@linkcode ModuleCache.remove} deletes a bytecode's artifacts and leaves a
 * marker `<key>.removed`: until {@linkcode ModuleCache.recompile} clears it,
 * loading that bytecode fails (`ModuleRemoved`) instead of compiling
 * silently, as the reference VM's `remove_module` does.
 *
 * @module
 */

import { WASMTIME_SHA256 } from "../native/library.ts";
import type { Engine } from "../engine/mod.ts";
import { Module } from "../engine/mod.ts";
import { PiecrustError, systemError } from "../errors.ts";
import { libc } from "../native/library.ts";
import { errno } from "../native/os.ts";
import { blake3 } from "../merkle/blake3.ts";
import { syncDirectory, writeFileDurably } from "../store/durable.ts";
import type { CommitStore } from "../store/commit_store.ts";
import { prepareContractModule, type PreparedModule } from "../bytecode/prepare.ts";

/** errno for a path that does not exist. */
const ENOENT = 2;

/**
 * Prepared modules a {@linkcode ModuleCache} keeps in memory: a few MB at
 * most for typical contracts, and a session start then skips reading,
 * validating and metering the bytecode.
 */
export const PREPARED_KEPT = 256;

/**
 * Compiled modules a {@linkcode ModuleCache} keeps loaded, per engine, so
 * that a session start need not read and deserialize the artifact again.
 */
export const MODULES_KEPT = 64;

/**
 * Changes whenever the bytecode rewrite at deploy changes (data segments,
 * store costs and their fuel sequences, bulk memory, exported mutable
 * globals), so artifacts of an older rewrite are recompiled.
 */
const REWRITE_VERSION = 5;

/** What a cache entry's sidecar records. */
interface Sidecar {
  binding: string;
  artifact: string;
}

/** Options of the {@linkcode ModuleCache} constructor. */
export interface ModuleCacheOptions {
  /**
   * Whether the directory is new and this cache its only writer, as an
   * ephemeral VM's is: a file the cache did not write is then known to be
   * missing, and looking up a module it never stored makes no system call.
   * Default: false, the directory may hold artifacts of earlier processes.
   */
  exclusive?: boolean;
}

/** Options of {@linkcode ModuleCache.load}. */
export interface LoadOptions {
  /**
   * Whether a module compiled now waits for {@linkcode ModuleCache.save} to
   * be written, for bytecode that is only deployed: a deploy that is never
   * committed then never touches the disk, as in the reference VM. Default:
   * false, written at once.
   */
  deferWrite?: boolean;
}

/**
 * Compiled modules of one VM directory, by bytecode hash and memory width.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { Engine } from "../engine/mod.ts";
 * import { ModuleCache } from "./module_cache.ts";
 *
 * using engine = new Engine();
 * using cache = new ModuleCache(Deno.makeTempDirSync());
 * let compiled = 0;
 * const wasm = () => (compiled++, contractBytecode("counter"));
 * cache.load(engine, "counter", wasm).close();
 * cache.load(engine, "counter", wasm).close(); // from the cache: not compiled again
 * assert.equal(compiled, 1);
 * ```
 */
export class ModuleCache {
  readonly #directory: string;

  /** Compiled modules by engine and key, the most recently used last. */
  readonly #modules = new Map<Engine, Map<string, Module>>();
  /** Prepared modules by debug flag and key, the most recently used last. */
  readonly #prepared = new Map<string, PreparedModule>();
  /** Keys of the kept modules, by engine, that were compiled and whose artifact is not written. */
  readonly #unsaved = new Map<Engine, Set<string>>();

  /** With `exclusive`: the paths this cache wrote, the only ones that can exist. */
  readonly #written: Set<string> | undefined;

  /**
   * A cache in `directory`, created if missing.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractBytecode } from "../testing/mod.ts";
   * import { Engine } from "../engine/mod.ts";
   * import { ModuleCache } from "./module_cache.ts";
   *
   * const directory = `${Deno.makeTempDirSync()}/modules`;
   * new ModuleCache(directory);
   * assert.ok(Deno.statSync(directory).isDirectory);
   *
   * // A directory of its own: it knows what is there without looking.
   * using engine = new Engine();
   * using cache = new ModuleCache(Deno.makeTempDirSync(), { exclusive: true });
   * let compiled = 0;
   * const wasm = () => (compiled++, contractBytecode("counter"));
   * cache.load(engine, "counter", wasm).close();
   * cache.close(); // forgets the modules in memory, not the artifact
   * cache.load(engine, "counter", wasm).close();
   * assert.equal(compiled, 1); // loaded from the artifact it wrote
   * ```
   */
  constructor(directory: string, options: ModuleCacheOptions = {}) {
    this.#directory = directory;
    this.#written = options.exclusive ? new Set() : undefined;
    try {
      Deno.mkdirSync(directory, { recursive: true });
    } catch (error) {
      throw systemError(error, `creating the module cache ${directory}`);
    }
  }

  /**
   * The module for `key` (the bytecode's hash) on `engine`: loaded from the
   * cache if its artifact is current and intact, else compiled from
   * `wasm()` and stored, or with `options.deferWrite` kept unwritten until
   * {@linkcode save} (or until it leaves the memory cache). Fails with
   * `ModuleRemoved` while `key` is removed.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractBytecode } from "../testing/mod.ts";
   * import { Engine, Module } from "../engine/mod.ts";
   * import { ModuleCache } from "./module_cache.ts";
   *
   * const directory = Deno.makeTempDirSync();
   * using engine = new Engine();
   * using first = new ModuleCache(directory);
   * first.load(engine, "counter", () => contractBytecode("counter")).close();
   * // Another cache on the same directory loads the stored artifact.
   * using second = new ModuleCache(directory);
   * using module = second.load(engine, "counter", () => {
   *   throw new Error("not compiled again");
   * });
   * assert.ok(module instanceof Module);
   * ```
   */
  load(engine: Engine, key: string, wasm: () => Uint8Array, options: LoadOptions = {}): Module {
    if (this.#isRemoved(key)) {
      throw new PiecrustError(
        "ModuleRemoved",
        `the compiled module of bytecode ${key} was removed with vm.removeModule; ` +
          `call vm.recompileModule with a contract that uses this bytecode first`,
      );
    }
    const kept = this.#kept(engine);
    const module = kept.get(key);
    if (module !== undefined) {
      kept.delete(key);
      kept.set(key, module);
      return module.clone();
    }
    const path = this.#artifactPath(engine, key);
    const binding = bindingOf(engine);
    let loaded = this.#loadCached(engine, path, binding);
    if (loaded === undefined && options.deferWrite) {
      loaded = Module.compile(engine, wasm());
      this.#unsavedOf(engine).add(key);
    }
    loaded ??= this.#compileAndStore(engine, path, binding, wasm());
    this.#keep(engine, key, loaded);
    return loaded;
  }

  /**
   * Writes the artifacts of the modules of `keys` that were loaded with
   * `deferWrite` and compiled, for every engine, so that later VMs on the
   * directory load them instead of compiling. A failed write is left out:
   * the module is compiled again where it is next needed.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractBytecode } from "../testing/mod.ts";
   * import { Engine } from "../engine/mod.ts";
   * import { ModuleCache } from "./module_cache.ts";
   *
   * const directory = Deno.makeTempDirSync();
   * using engine = new Engine();
   * using cache = new ModuleCache(directory);
   * cache.load(engine, "counter", () => contractBytecode("counter"), { deferWrite: true }).close();
   * assert.equal([...Deno.readDirSync(directory)].length, 0); // compiled, not written
   * cache.save(["counter"]);
   * assert.equal([...Deno.readDirSync(directory)].length, 2); // the artifact and its sidecar
   * ```
   */
  save(keys: Iterable<string>): void {
    if (this.#unsaved.size === 0) return;
    for (const key of keys) {
      for (const [engine, unsaved] of this.#unsaved) {
        const module = this.#modules.get(engine)?.get(key);
        if (unsaved.delete(key) && module !== undefined) this.#tryStore(engine, key, module);
      }
    }
  }

  /**
   * Closes the modules kept in memory (the cache stays usable).
   *
   * @example
   * ```ts
   * import { contractBytecode } from "../testing/mod.ts";
   * import { Engine } from "../engine/mod.ts";
   * import { ModuleCache } from "./module_cache.ts";
   *
   * using engine = new Engine();
   * const cache = new ModuleCache(Deno.makeTempDirSync());
   * cache.load(engine, "counter", () => contractBytecode("counter")).close();
   * cache.close(); // frees the module it kept
   * ```
   */
  close(): void {
    for (const kept of this.#modules.values()) {
      for (const module of kept.values()) module.close();
    }
    this.#modules.clear();
    // Uncommitted compilations: nothing on disk needs them.
    this.#unsaved.clear();
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #kept(engine: Engine): Map<string, Module> {
    let kept = this.#modules.get(engine);
    if (kept === undefined) {
      kept = new Map();
      this.#modules.set(engine, kept);
    }
    return kept;
  }

  #unsavedOf(engine: Engine): Set<string> {
    let unsaved = this.#unsaved.get(engine);
    if (unsaved === undefined) {
      unsaved = new Set();
      this.#unsaved.set(engine, unsaved);
    }
    return unsaved;
  }

  /**
   * Keeps a handle on `module` for `key`, replacing one kept before. The
   * module it evicts is written first if it was compiled here: a commit may
   * still need it.
   */
  #keep(engine: Engine, key: string, module: Module): void {
    const kept = this.#kept(engine);
    kept.get(key)?.close();
    kept.delete(key);
    if (kept.size >= MODULES_KEPT) {
      const [oldest, evicted] = kept.entries().next().value!;
      if (this.#unsaved.get(engine)?.delete(oldest)) this.#tryStore(engine, oldest, evicted);
      evicted.close();
      kept.delete(oldest);
    }
    kept.set(key, module.clone());
  }

  /** Writes `module`'s artifact, or nothing if that fails (it is compiled again when needed). */
  #tryStore(engine: Engine, key: string, module: Module): void {
    try {
      this.#store(module, this.#artifactPath(engine, key), bindingOf(engine));
    } catch {
      // A cache: the bytecode is in the commit, and a missing artifact means a compilation.
    }
  }

  #forget(key: string): void {
    for (const unsaved of this.#unsaved.values()) unsaved.delete(key);
    for (const kept of this.#modules.values()) {
      kept.get(key)?.close();
      kept.delete(key);
    }
  }

  /**
   * The bytecode `key` names (its hash), validated, metered and stripped
   * (`prepareContractModule`), kept in memory for later sessions of the VM:
   * the {@linkcode PREPARED_KEPT} most recently used. `bytecode()` is read
   * only when it is not kept. A prepared module is shared: never modify it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractBytecode } from "../testing/mod.ts";
   * import { ModuleCache } from "./module_cache.ts";
   *
   * using cache = new ModuleCache(Deno.makeTempDirSync());
   * const first = cache.prepared("counter", true, () => contractBytecode("counter"));
   * const again = cache.prepared("counter", true, () => {
   *   throw new Error("not prepared again");
   * });
   * assert.equal(again, first);
   * ```
   */
  prepared(key: string, debug: boolean, bytecode: () => Uint8Array): PreparedModule {
    const entry = `${debug ? "debug" : "plain"}:${key}`;
    let prepared = this.#prepared.get(entry);
    if (prepared === undefined) {
      prepared = prepareContractModule(bytecode(), { debug });
      if (this.#prepared.size >= PREPARED_KEPT) {
        this.#prepared.delete(this.#prepared.keys().next().value!);
      }
    } else {
      this.#prepared.delete(entry);
    }
    this.#prepared.set(entry, prepared);
    return prepared;
  }

  #isRemoved(key: string): boolean {
    const path = this.#markerPath(key);
    if (this.#surelyMissing(path)) return false;
    try {
      Deno.lstatSync(path);
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw systemError(error, `checking ${this.#markerPath(key)}`);
    }
  }

  /**
   * Marks `key` removed, then deletes its artifacts for every engine
   * configuration. Modules already loaded stay usable.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractBytecode } from "../testing/mod.ts";
   * import { Engine } from "../engine/mod.ts";
   * import { PiecrustError } from "../errors.ts";
   * import { ModuleCache } from "./module_cache.ts";
   *
   * using engine = new Engine();
   * using cache = new ModuleCache(Deno.makeTempDirSync());
   * const wasm = () => contractBytecode("counter");
   * using module = cache.load(engine, "counter", wasm);
   * cache.remove("counter");
   * assert.throws(
   *   () => cache.load(engine, "counter", wasm),
   *   (e) => e instanceof PiecrustError && e.kind === "ModuleRemoved",
   * );
   * assert.ok(module.serialize().length > 0); // the module loaded before stays usable
   * ```
   */
  remove(key: string): void {
    this.#forget(key);
    this.#prepared.delete(`debug:${key}`);
    this.#prepared.delete(`plain:${key}`);
    try {
      // The marker is made durable before anything is deleted: after a crash
      // the key is either untouched or removed, never silently recompiled.
      this.#written?.add(this.#markerPath(key));
      try {
        writeFileDurably(this.#markerPath(key), new Uint8Array());
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
      syncDirectory(this.#directory);
      for (const entry of Deno.readDirSync(this.#directory)) {
        if (entry.name.startsWith(`${key}-`)) {
          Deno.removeSync(`${this.#directory}/${entry.name}`, { recursive: true });
        }
      }
    } catch (error) {
      throw systemError(error, `removing the compiled module of ${key}`);
    }
  }

  /**
   * Compiles `wasm` (the prepared bytecode of `key`) on `engine`, replaces
   * the artifact and its sidecar, and then clears the marker of
   * {@linkcode remove}, if any.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractBytecode } from "../testing/mod.ts";
   * import { Engine, Module } from "../engine/mod.ts";
   * import { PiecrustError } from "../errors.ts";
   * import { ModuleCache } from "./module_cache.ts";
   *
   * using engine = new Engine();
   * using cache = new ModuleCache(Deno.makeTempDirSync());
   * const wasm = () => contractBytecode("counter");
   * cache.remove("counter");
   * assert.throws(
   *   () => cache.load(engine, "counter", wasm),
   *   (e) => e instanceof PiecrustError && e.kind === "ModuleRemoved",
   * );
   * cache.recompile(engine, "counter", wasm());
   * // Loadable again, from the artifact recompile stored.
   * using module = cache.load(engine, "counter", () => {
   *   throw new Error("not compiled again");
   * });
   * assert.ok(module instanceof Module);
   * ```
   */
  recompile(engine: Engine, key: string, wasm: Uint8Array): void {
    const path = this.#artifactPath(engine, key);
    const module = this.#compileAndStore(engine, path, bindingOf(engine), wasm);
    this.#unsaved.get(engine)?.delete(key);
    this.#keep(engine, key, module);
    module.close();
    try {
      Deno.removeSync(this.#markerPath(key), { recursive: true });
      syncDirectory(this.#directory);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw systemError(error, `clearing the removal of ${key}`);
    }
  }

  /**
   * Deletes the compiled modules (and leftovers of interrupted writes) of
   * every key not in `keep`; removal markers stay. Only while nothing else
   * uses the cache: a module being stored meanwhile would fail.
   *
   * @returns How many files were deleted and their bytes.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { contractBytecode } from "../testing/mod.ts";
   * import { Engine } from "../engine/mod.ts";
   * import { ModuleCache } from "./module_cache.ts";
   *
   * using engine = new Engine();
   * using cache = new ModuleCache(Deno.makeTempDirSync());
   * cache.load(engine, "counter", () => contractBytecode("counter")).close();
   * cache.load(engine, "box", () => contractBytecode("box")).close();
   * const { files } = cache.collect(new Set(["counter"]));
   * assert.equal(files, 2); // box's artifact and its sidecar
   * assert.deepEqual(cache.collect(new Set(["counter"])), { files: 0, bytes: 0 });
   * ```
   */
  collect(keep: ReadonlySet<string>): { files: number; bytes: number } {
    let files = 0;
    let bytes = 0;
    try {
      for (const entry of Deno.readDirSync(this.#directory)) {
        const key = entry.name.split(/[-.]/, 1)[0];
        if (keep.has(key) || entry.name === `${key}.removed`) continue;
        const path = `${this.#directory}/${entry.name}`;
        const size = Deno.lstatSync(path).size;
        Deno.removeSync(path, { recursive: true });
        this.#forget(key);
        files++;
        bytes += size;
      }
    } catch (error) {
      throw systemError(error, `collecting the module cache ${this.#directory}`);
    }
    return { files, bytes };
  }

  #artifactPath(engine: Engine, key: string): string {
    return `${this.#directory}/${key}-${engine.options.memoryReservation}.cwasm`;
  }

  #markerPath(key: string): string {
    return `${this.#directory}/${key}.removed`;
  }

  #compileAndStore(engine: Engine, path: string, binding: string, wasm: Uint8Array): Module {
    const module = Module.compile(engine, wasm);
    try {
      this.#store(module, path, binding);
    } catch (error) {
      module.close();
      throw error;
    }
    return module;
  }

  /** Whether nothing is at `path`: known with `exclusive`, else asked of the system. */
  #surelyMissing(path: string): boolean {
    return this.#written === undefined ? surelyMissing(path) : !this.#written.has(path);
  }

  #loadCached(engine: Engine, path: string, binding: string): Module | undefined {
    if (this.#surelyMissing(`${path}.meta`)) return undefined;
    const sidecarBytes = readEntry(`${path}.meta`);
    if (sidecarBytes === undefined) return undefined;
    const artifact = readEntry(path);
    if (artifact === undefined) return undefined;
    let sidecar: Partial<Sidecar> | null;
    try {
      sidecar = JSON.parse(new TextDecoder().decode(sidecarBytes));
    } catch {
      return undefined;
    }
    if (sidecar?.binding !== binding || sidecar?.artifact !== blake3(artifact).toHex()) {
      return undefined;
    }
    try {
      return Module.deserialize(engine, artifact);
    } catch (error) {
      if (error instanceof PiecrustError && error.kind === "ArtifactError") return undefined;
      throw error;
    }
  }

  #store(module: Module, path: string, binding: string): void {
    const artifact = module.serialize();
    const sidecar: Sidecar = { binding, artifact: blake3(artifact).toHex() };
    // The artifact first, then the sidecar that vouches for it: a crash in
    // between leaves a sidecar that no longer matches, so it is recompiled.
    // Noted before writing: a write that fails halfway may leave the file.
    this.#written?.add(path).add(`${path}.meta`);
    try {
      replaceFile(path, artifact);
      replaceFile(`${path}.meta`, new TextEncoder().encode(JSON.stringify(sidecar)));
    } catch (error) {
      throw systemError(error, `writing the compiled module ${path}`);
    }
  }
}

/** {@linkcode bindingOf} by engine: every module load needs it, and an engine's options never change. */
const bindings = new WeakMap<Engine, string>();

/** What an artifact must have been built with to be loaded by `engine`. */
function bindingOf(engine: Engine): string {
  let binding = bindings.get(engine);
  if (binding === undefined) {
    binding = JSON.stringify({
      library: WASMTIME_SHA256,
      engine: engine.options,
      rewrite: REWRITE_VERSION,
    });
    bindings.set(engine, binding);
  }
  return binding;
}

/**
 * The bytecodes that contract `id` (lowercase hex) has in the commits of
 * `store`, by hash, each as a reader that checks the bytes against the hash.
 * Contracts deployed in a session that has not committed are not there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VM } from "../../mod.ts";
 * import { contractBytecode } from "../testing/mod.ts";
 * import { openCommitStore } from "../store/mod.ts";
 * import { committedBytecodes } from "./module_cache.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * let id: string;
 * {
 *   using vm = VM.open(dir);
 *   using session = vm.session();
 *   id = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n).toString();
 *   session.commit();
 * }
 * const readers = committedBytecodes(openCommitStore(dir), id);
 * assert.equal(readers.size, 1);
 * assert.deepEqual([...readers.values()][0](), contractBytecode("counter"));
 * ```
 */
export function committedBytecodes(store: CommitStore, id: string): Map<string, () => Uint8Array> {
  const bytecodes = new Map<string, () => Uint8Array>();
  const visited = new Set<string>();
  for (const root of store.commits()) {
    // A commit lists only the contracts it changed, so the contract's
    // bytecode at `root` is in the newest entry down its chain of bases.
    for (let next: string | null = root; next !== null && !visited.has(next);) {
      visited.add(next);
      const manifest = store.manifest(next);
      const entry = manifest.contracts.find((contract) => contract.id === id);
      if (entry !== undefined) {
        if (!bytecodes.has(entry.bytecodeHash)) {
          bytecodes.set(entry.bytecodeHash, bytecodeReader(store, manifest.root, id));
        }
        break;
      }
      next = manifest.base;
    }
  }
  return bytecodes;
}

/** Reads the bytecode of `id` at `root`, checked against its hash. */
function bytecodeReader(store: CommitStore, root: string, id: string): () => Uint8Array {
  return () => store.readBytecode(store.contractState(root, id)!);
}

/**
 * The bytes of the cache entry `path`, or undefined if it is missing or not
 * a regular file (a directory, a link, a pipe that would block the read):
 * then it is corrupt, like an entry whose bytes do not verify.
 */
function readEntry(path: string): Uint8Array | undefined {
  try {
    if (!Deno.lstatSync(path).isFile) return undefined;
    return Deno.readFileSync(path);
  } catch (error) {
    // Replaced by something else between the two calls: as corrupt as before.
    if (
      error instanceof Deno.errors.NotFound || error instanceof Deno.errors.IsADirectory ||
      error instanceof Deno.errors.NotADirectory
    ) return undefined;
    throw systemError(error, `reading the compiled module ${path}`);
  }
}

/**
 * Whether nothing is at `path`, as access(2) says without the error object
 * (tens of µs) a failed `Deno.lstatSync` costs: removal markers are checked
 * at every load, and a new module's entries do not exist yet. False when in
 * doubt (any other errno): callers then ask `Deno.lstatSync`, which reports
 * the problem properly.
 */
function surelyMissing(path: string): boolean {
  if (libc().access(new TextEncoder().encode(`${path}\0`), 0) === 0) return false;
  return errno() === ENOENT;
}

/**
 * Writes `bytes` beside `path` and renames them into place, so no reader
 * sees half a file. Whatever else is at `path` (a directory put there by
 * hand, say) is removed first, since a rename cannot replace it.
 */
function replaceFile(path: string, bytes: Uint8Array): void {
  const partial = `${path}.partial-${crypto.randomUUID()}`;
  try {
    Deno.writeFileSync(partial, bytes);
    if (!surelyMissing(path)) {
      try {
        if (!Deno.lstatSync(path).isFile) Deno.removeSync(path, { recursive: true });
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    Deno.renameSync(partial, path);
  } catch (error) {
    try {
      Deno.removeSync(partial);
    } catch { /* never written, or already renamed */ }
    throw error;
  }
}
