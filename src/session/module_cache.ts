/**
 * {@linkcode ModuleCache}: compiled contract modules kept on disk, loaded
 * with `deserialize_file` (about a thousand times faster than compiling).
 *
 * Each artifact `<key>.cwasm` has a sidecar `<key>.meta` that binds it to
 * the libwasmtime build, the engine configuration and the bytecode rewrite,
 * and records the artifact's BLAKE3. A mismatch, a missing sidecar or a
 * corrupt artifact means: compile again and replace both (written beside
 * and renamed into place). An artifact is never loaded unverified, because
 * wasmtime trusts serialized code.
 *
 * @module
 */

import { WASMTIME_SHA256 } from "../../ffi/library.ts";
import type { Engine } from "../engine/mod.ts";
import { Module } from "../engine/mod.ts";
import { PiecrustError } from "../errors.ts";
import { blake3 } from "../merkle/blake3.ts";
import { toHex } from "../store/layout.ts";

/**
 * Changes whenever the bytecode rewrite at deploy changes (data segments,
 * store costs), so artifacts of an older rewrite are recompiled.
 */
const REWRITE_VERSION = 1;

/** What a cache entry's sidecar records. */
interface Sidecar {
  binding: string;
  artifact: string;
}

/**
 * Compiled modules of one VM directory, by bytecode hash and memory width.
 *
 * @example
 * ```ts ignore
 * const cache = new ModuleCache(`${dir}/modules`);
 * using module = cache.load(engine, bytecodeHash, () => prepared.wasm);
 * ```
 */
export class ModuleCache {
  readonly #directory: string;

  /** A cache in `directory`, created if missing. */
  constructor(directory: string) {
    this.#directory = directory;
    Deno.mkdirSync(directory, { recursive: true });
  }

  /**
   * The module for `key` (the bytecode's hash) on `engine`: loaded from the
   * cache if its artifact is current and intact, else compiled from
   * `wasm()` and stored.
   */
  load(engine: Engine, key: string, wasm: () => Uint8Array): Module {
    const binding = JSON.stringify({
      library: WASMTIME_SHA256,
      engine: engine.options,
      rewrite: REWRITE_VERSION,
    });
    const path = `${this.#directory}/${key}-${engine.options.memoryReservation}.cwasm`;
    const cached = this.#loadCached(engine, path, binding);
    if (cached !== undefined) return cached;
    const module = Module.compile(engine, wasm());
    try {
      this.#store(module, path, binding);
    } catch (error) {
      module.close();
      throw error;
    }
    return module;
  }

  #loadCached(engine: Engine, path: string, binding: string): Module | undefined {
    let sidecar: Sidecar;
    let artifact: Uint8Array;
    try {
      sidecar = JSON.parse(Deno.readTextFileSync(`${path}.meta`));
      artifact = Deno.readFileSync(path);
    } catch {
      return undefined;
    }
    if (sidecar.binding !== binding || sidecar.artifact !== toHex(blake3(artifact))) {
      return undefined;
    }
    try {
      return Module.deserializeFile(engine, path);
    } catch (error) {
      if (error instanceof PiecrustError && error.kind === "ArtifactError") return undefined;
      throw error;
    }
  }

  #store(module: Module, path: string, binding: string): void {
    const artifact = module.serialize();
    const sidecar: Sidecar = { binding, artifact: toHex(blake3(artifact)) };
    // The artifact first, then the sidecar that vouches for it: a crash in
    // between leaves a sidecar that no longer matches, so it is recompiled.
    replaceFile(path, artifact);
    replaceFile(`${path}.meta`, new TextEncoder().encode(JSON.stringify(sidecar)));
  }
}

/** Writes `bytes` beside `path` and renames them into place, so no reader sees half a file. */
function replaceFile(path: string, bytes: Uint8Array): void {
  const partial = `${path}.partial-${Deno.pid}`;
  Deno.writeFileSync(partial, bytes);
  Deno.renameSync(partial, path);
}
