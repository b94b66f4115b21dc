/**
 * WAT fixtures, assembled in-process with the npm `wabt` package.
 *
 * The `.wat` sources live in `contracts/wat/`; tests and benchmarks assemble
 * them on demand (about 10 ms each), so no build step is needed.
 *
 * @module
 */

import wabtInit from "wabt";

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabt: Promise<Wabt> | undefined;

/** Options of {@linkcode assembleWat}. */
export interface AssembleOptions {
  /** Name used in error messages. Default `"input.wat"`. */
  filename?: string;
  /**
   * Extra wabt features to accept, e.g. `["multi_memory", "relaxed_simd"]`, for
   * fixtures that must be rejected by the VM. Default none.
   */
  features?: readonly string[];
}

/**
 * Assembles WebAssembly text into a binary module. The memory64, bulk-memory,
 * sign-extension, multi-value and mutable-global features are enabled.
 */
export async function assembleWat(
  source: string,
  options: AssembleOptions = {},
): Promise<Uint8Array> {
  wabt ??= wabtInit();
  const module = (await wabt).parseWat(options.filename ?? "input.wat", source, {
    memory64: true,
    bulk_memory: true,
    sign_extension: true,
    multi_value: true,
    mutable_globals: true,
    ...Object.fromEntries((options.features ?? []).map((feature) => [feature, true])),
  });
  try {
    module.resolveNames();
    // wabt's validator ignores the extra features, and such fixtures exist to be rejected.
    if (options.features === undefined) module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

/** Assembles the fixture `contracts/wat/<name>.wat`. */
export async function watFixture(name: string): Promise<Uint8Array> {
  const url = new URL(`./wat/${name}.wat`, import.meta.url);
  return await assembleWat(await Deno.readTextFile(url), { filename: `${name}.wat` });
}
