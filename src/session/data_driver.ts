/**
 * {@linkcode DataDriver}: a contract's data driver, the wasm module Dusk's
 * JavaScript tools use to talk to the contract in JSON.
 *
 * @module
 */

import { Engine } from "../engine/engine.ts";
import type { Func } from "../engine/func.ts";
import type { Instance, Memory } from "../engine/instance.ts";
import { Linker } from "../engine/linker.ts";
import { Module } from "../engine/module.ts";
import { Store } from "../engine/store.ts";
import { PiecrustError } from "../errors.ts";
import type { CallReceipt } from "./call_receipt.ts";
import type { ContractId } from "./contract_id.ts";
import type { CallOptions, Session } from "./session.ts";

/** Options of {@linkcode DataDriver.load}. */
export interface DataDriverOptions {
  /**
   * Fuel (about one unit per wasm instruction) each operation of the driver
   * may use: a driver that loops is stopped with a `DataDriverError`.
   * Default: 10 000 000 000.
   */
  readonly fuel?: bigint;
  /**
   * The most bytes the driver's memory may grow to: past it, its
   * allocations fail. Default: 256 MiB.
   */
  readonly maxMemory?: number;
}

/** A function of a driver's {@linkcode DataDriverSchema}. */
export interface DataDriverFunction {
  /** The contract function's name. */
  readonly name: string;
  /** Its documentation, if the driver has any. */
  readonly doc: string;
  /** The Rust type of its argument. */
  readonly input: string;
  /** The Rust type of its result. */
  readonly output: string;
  /** Whether the driver encodes it in a way of its own. */
  readonly custom: boolean;
}

/** What {@linkcode DataDriver.schema} returns: the contract's functions and events. */
export interface DataDriverSchema {
  /** The contract's name. */
  readonly name: string;
  /** The functions, with their argument and result types. */
  readonly functions: readonly DataDriverFunction[];
  /** The events, by topic, with their payload types. */
  readonly events: readonly { readonly topic: string; readonly data: string }[];
  /** Anything else the driver's schema has (e.g. `imports`). */
  readonly [field: string]: unknown;
}

/** The drivers' `ErrorCode`s (`dusk-data-driver`). */
const CODE_OK = 0;
const CODE_NAMES = [
  "Ok",
  "InvalidInput",
  "OperationError",
  "DriverNotInitialized",
  "BufferTooSmall",
];
const CODE_BUFFER_TOO_SMALL = 4;
const DEFAULT_FUEL = 10_000_000_000n;
const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder();
const DEFAULT_MAX_MEMORY = 256 * 1024 * 1024;
/** The first output buffer; doubled while the driver says it is too small. */
const FIRST_OUTPUT_BYTES = 64 * 1024;
/** Beyond this, a driver's output is refused. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** The exports every driver has, by name: [parameter count, result count]. */
const DRIVER_EXPORTS = {
  alloc: [1, 1],
  dealloc: [2, 0],
  get_last_error: [2, 1],
  encode_input_fn: [6, 1],
  decode_input_fn: [6, 1],
  decode_output_fn: [6, 1],
  decode_event: [6, 1],
  get_schema: [2, 1],
  get_version: [2, 1],
} as const;

type DriverExport = keyof typeof DRIVER_EXPORTS;

/**
 * A contract's data driver (a `dusk-data-driver` wasm module, such as
 * `dusk-stake-contract-dd` built with its `js` feature): encodes a
 * function's JSON argument into the bytes the contract takes, and decodes
 * results, arguments and events back to JSON. It runs in its own wasmtime
 * store, each operation with a fuel budget and its memory capped, so a broken driver raises a
 * `DataDriverError` and never hangs or crashes the process.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DataDriver, VM } from "../../mod.ts";
 * import { dataDriverBytecode, duskContractBytecode } from "../testing/mod.ts";
 *
 * using driver = DataDriver.load(dataDriverBytecode("stake"));
 * using vm = VM.ephemeral();
 * using session = vm.session();
 * const stake = session.deploy(duskContractBytecode("stake_mirror"), new Uint8Array(32), 1_000_000_000n);
 * const config = driver.call(session, stake, "get_config", null, 1_000_000_000n);
 * assert.deepEqual(config.data, { warnings: 1, minimum_stake: "1000000000000" });
 * ```
 */
export class DataDriver {
  readonly #engine: Engine;
  readonly #store: Store;
  readonly #instance: Instance;
  readonly #memory: Memory;
  readonly #funcs: Record<DriverExport, Func>;
  readonly #fuel: bigint;
  #closed = false;

  private constructor(
    engine: Engine,
    store: Store,
    instance: Instance,
    memory: Memory,
    funcs: Record<DriverExport, Func>,
    fuel: bigint,
  ) {
    this.#engine = engine;
    this.#store = store;
    this.#instance = instance;
    this.#memory = memory;
    this.#funcs = funcs;
    this.#fuel = fuel;
  }

  /**
   * Loads the driver in `bytecode` and runs its `init`. A `DataDriverError`
   * for a module that is no data driver (invalid wasm, imports, missing
   * exports) or whose `init` fails.
   *
   * @param bytecode The driver's wasm.
   * @param options The fuel of each operation and the memory cap.
   * @returns The driver; close it (or `using`) to free its store.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DataDriver, PiecrustError } from "../../mod.ts";
   * import { contractBytecode } from "../testing/mod.ts";
   *
   * assert.throws(
   *   () => DataDriver.load(contractBytecode("counter")),
   *   (e) => e instanceof PiecrustError && e.kind === "DataDriverError" && /exports no/.test(e.message),
   * );
   * ```
   */
  static load(bytecode: Uint8Array, options: DataDriverOptions = {}): DataDriver {
    if (!(bytecode instanceof Uint8Array)) throw new TypeError("bytecode must be a Uint8Array");
    const fuel = options.fuel ?? DEFAULT_FUEL;
    if (typeof fuel !== "bigint" || fuel <= 0n) {
      throw new TypeError(`options.fuel must be a positive bigint, got ${String(fuel)}`);
    }
    const maxMemory = options.maxMemory ?? DEFAULT_MAX_MEMORY;
    if (!Number.isSafeInteger(maxMemory) || maxMemory < 0) {
      throw new TypeError(
        `options.maxMemory must be a non-negative integer, got ${String(maxMemory)}`,
      );
    }
    const engine = new Engine();
    let store: Store | undefined;
    try {
      let module: Module;
      try {
        module = Module.compile(engine, bytecode);
      } catch (error) {
        throw driverError(`is not valid wasm (${(error as Error).message})`, error);
      }
      store = new Store(engine);
      store.limitMemory(maxMemory);
      // Instantiation runs code too (a start function), within the budget.
      store.setFuel(fuel);
      let instance: Instance;
      try {
        using linker = new Linker(engine);
        // A driver needs nothing from its host: any import fails here.
        instance = linker.instantiate(store, module);
      } catch (error) {
        throw driverError(`cannot be instantiated (${(error as Error).message})`, error);
      } finally {
        module.close();
      }
      const funcs = {} as Record<DriverExport, Func>;
      for (const [name, [params, results]] of Object.entries(DRIVER_EXPORTS)) {
        const func = exported(name, () => instance.getFunc(name));
        if (func.type.params.length !== params || func.type.results.length !== results) {
          throw driverError(`exports ${name} with the wrong signature`);
        }
        funcs[name as DriverExport] = func;
      }
      const memory = exported("memory", () => instance.getMemory("memory"));
      const driver = new DataDriver(engine, store, instance, memory, funcs, fuel);
      driver.#init();
      return driver;
    } catch (error) {
      store?.close();
      engine.close();
      throw error;
    }
  }

  /**
   * The bytes contract function `fn` takes for the argument `value`, which
   * is given as JSON would carry it (`bigint`s become decimal strings; the
   * driver's types decide how numbers are written: Dusk's amounts are
   * strings).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DataDriver, PiecrustError } from "../../mod.ts";
   * import { dataDriverBytecode } from "../testing/mod.ts";
   *
   * using driver = DataDriver.load(dataDriverBytecode("stake"));
   * assert.deepEqual(driver.encodeInput("burnt_amount", null), new Uint8Array());
   * assert.throws(
   *   () => driver.encodeInput("no_such_fn", null),
   *   (e) => e instanceof PiecrustError && e.kind === "DataDriverError" && /no_such_fn/.test(e.message),
   * );
   * ```
   */
  encodeInput(fn: string, value: unknown): Uint8Array {
    checkName("fn", fn);
    return this.#run("encode_input_fn", [fn, toJson(value)]);
  }

  /**
   * The argument of contract function `fn` encoded in `bytes`, as JSON.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DataDriver } from "../../mod.ts";
   * import { dataDriverBytecode } from "../testing/mod.ts";
   *
   * using driver = DataDriver.load(dataDriverBytecode("stake"));
   * assert.equal(driver.decodeInput("get_version", new Uint8Array()), null);
   * ```
   */
  decodeInput(fn: string, bytes: Uint8Array): unknown {
    checkName("fn", fn);
    return this.#json("decode_input_fn", fn, bytes);
  }

  /**
   * The result of contract function `fn` encoded in `bytes` (a receipt's
   * `data`), as JSON.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DataDriver } from "../../mod.ts";
   * import { dataDriverBytecode } from "../testing/mod.ts";
   *
   * using driver = DataDriver.load(dataDriverBytecode("stake"));
   * const u64 = new Uint8Array(8);
   * u64[0] = 42;
   * assert.equal(driver.decodeOutput("burnt_amount", u64), "42"); // Dusk writes u64 as a string
   * ```
   */
  decodeOutput(fn: string, bytes: Uint8Array): unknown {
    checkName("fn", fn);
    return this.#json("decode_output_fn", fn, bytes);
  }

  /**
   * The payload of an event with topic `topic`, as JSON.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DataDriver, PiecrustError } from "../../mod.ts";
   * import { dataDriverBytecode } from "../testing/mod.ts";
   *
   * using driver = DataDriver.load(dataDriverBytecode("stake"));
   * assert.throws(
   *   () => driver.decodeEvent("stake", new Uint8Array(3)),
   *   (e) => e instanceof PiecrustError && e.kind === "DataDriverError",
   * );
   * ```
   */
  decodeEvent(topic: string, bytes: Uint8Array): unknown {
    checkName("topic", topic);
    return this.#json("decode_event", topic, bytes);
  }

  /**
   * The contract's functions and events as the driver describes them.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DataDriver } from "../../mod.ts";
   * import { dataDriverBytecode } from "../testing/mod.ts";
   *
   * using driver = DataDriver.load(dataDriverBytecode("stake"));
   * const schema = driver.schema();
   * assert.equal(schema.name, "StakeContract");
   * assert.ok(schema.functions.some((fn) => fn.name === "stake" && fn.input === "Stake"));
   * ```
   */
  schema(): DataDriverSchema {
    const schema = parseJson(this.#text("get_schema"), "its schema");
    if (
      typeof schema !== "object" || schema === null ||
      !Array.isArray((schema as DataDriverSchema).functions) ||
      !Array.isArray((schema as DataDriverSchema).events)
    ) {
      throw driverError("returned a schema without functions and events");
    }
    return schema as DataDriverSchema;
  }

  /**
   * The driver's version.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DataDriver } from "../../mod.ts";
   * import { dataDriverBytecode } from "../testing/mod.ts";
   *
   * using driver = DataDriver.load(dataDriverBytecode("stake"));
   * assert.match(driver.version(), /^\d+\.\d+\.\d+/);
   * ```
   */
  version(): string {
    return this.#text("get_version");
  }

  /**
   * Calls contract function `fn` of `contract` in `session` with `value`
   * encoded by this driver, and returns the receipt with its `data` decoded
   * to JSON. Failures are the session's (`callRaw`) and the driver's.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DataDriver, VM } from "../../mod.ts";
   * import { dataDriverBytecode, duskContractBytecode } from "../testing/mod.ts";
   *
   * using driver = DataDriver.load(dataDriverBytecode("stake"));
   * using vm = VM.ephemeral();
   * using session = vm.session();
   * const stake = session.deploy(duskContractBytecode("stake_mirror"), new Uint8Array(32), 1_000_000_000n);
   * assert.equal(driver.call(session, stake, "burnt_amount", null, 1_000_000_000n).data, "0");
   * ```
   */
  call(
    session: Session,
    contract: ContractId,
    fn: string,
    value: unknown,
    gasLimit: bigint,
    options: CallOptions = {},
  ): CallReceipt<unknown> {
    const receipt = session.callRaw(contract, fn, this.encodeInput(fn, value), gasLimit, options);
    return { ...receipt, data: this.decodeOutput(fn, receipt.data) };
  }

  /**
   * Frees the driver's store and engine. Idempotent.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DataDriver, PiecrustError } from "../../mod.ts";
   * import { dataDriverBytecode } from "../testing/mod.ts";
   *
   * const driver = DataDriver.load(dataDriverBytecode("stake"));
   * driver.close();
   * assert.throws(() => driver.version(), (e) => e instanceof PiecrustError && e.kind === "Disposed");
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#store.close();
    this.#engine.close();
  }

  /** Same as {@linkcode close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #init(): void {
    // `generate_wasm_entrypoint!` exports `init`, which registers the driver.
    let init: Func | undefined;
    try {
      init = this.#instance.getFunc("init");
    } catch {
      return;
    }
    this.#store.setFuel(this.#fuel);
    try {
      init.call();
    } catch (error) {
      throw driverError(`failed in init (${(error as Error).message})`, error);
    }
  }

  #json(name: DriverExport, key: string, bytes: Uint8Array): unknown {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("bytes must be a Uint8Array");
    return parseJson(UTF8_DECODER.decode(this.#run(name, [key, bytes])), `${name}(${key})`);
  }

  #text(name: "get_schema" | "get_version"): string {
    return UTF8_DECODER.decode(this.#run(name, []));
  }

  /**
   * Runs export `name` with `inputs` copied into the driver's memory, each
   * as (pointer, length), then an output buffer; returns the output.
   */
  #run(name: DriverExport, inputs: (string | Uint8Array)[]): Uint8Array {
    if (this.#closed) throw new PiecrustError("Disposed", "the data driver is closed");
    const encoded = inputs.map((input) =>
      typeof input === "string" ? UTF8_ENCODER.encode(input) : input
    );
    this.#store.setFuel(this.#fuel);
    const allocated: [number, number][] = [];
    try {
      const args: number[] = [];
      for (const bytes of encoded) {
        args.push(this.#place(bytes, allocated), bytes.length);
      }
      for (let size = FIRST_OUTPUT_BYTES; size <= MAX_OUTPUT_BYTES; size *= 2) {
        const output = this.#place(new Uint8Array(0), allocated, size);
        const code = this.#call(name, [...args, output, size]);
        if (code === CODE_BUFFER_TOO_SMALL) continue;
        if (code !== CODE_OK) throw driverError(this.#failure(name, code, allocated));
        return this.#read(output, size);
      }
      throw driverError(`${name} needs more than ${MAX_OUTPUT_BYTES} bytes of output`);
    } finally {
      for (const [pointer, size] of allocated) {
        try {
          this.#call("dealloc", [pointer, size]);
        } catch { /* the driver already failed; its memory goes with it */ }
      }
    }
  }

  /** Allocates `size` (default: `bytes.length`, at least 1) bytes in the driver and copies `bytes` there. */
  #place(
    bytes: Uint8Array,
    allocated: [number, number][],
    size = Math.max(1, bytes.length),
  ): number {
    const pointer = this.#call("alloc", [size]);
    allocated.push([pointer, size]);
    const memory = this.#memory.data();
    if (pointer <= 0 || pointer + size > memory.length) {
      throw driverError(`allocated ${size} bytes at ${pointer}, outside its memory`);
    }
    memory.set(bytes, pointer);
    return pointer;
  }

  /** The output written at `pointer`: a u32 length, then that many bytes. */
  #read(pointer: number, size: number): Uint8Array {
    const memory = this.#memory.data();
    const length = new DataView(memory.buffer, memory.byteOffset + pointer, 4).getUint32(0, true);
    if (length > size - 4) throw driverError(`wrote ${length} bytes into a ${size}-byte buffer`);
    return memory.slice(pointer + 4, pointer + 4 + length);
  }

  #failure(name: DriverExport, code: number, allocated: [number, number][]): string {
    const what = CODE_NAMES[code] ?? `error code ${code}`;
    let message = "";
    try {
      const pointer = this.#place(new Uint8Array(0), allocated, FIRST_OUTPUT_BYTES);
      if (this.#call("get_last_error", [pointer, FIRST_OUTPUT_BYTES]) === CODE_OK) {
        message = UTF8_DECODER.decode(this.#read(pointer, FIRST_OUTPUT_BYTES));
      }
    } catch { /* the code alone says enough */ }
    return `${name} failed: ${what}${message === "" ? "" : `: ${message}`}`;
  }

  #call(name: DriverExport, args: number[]): number {
    try {
      const [result] = this.#funcs[name].call(...args);
      return result as number;
    } catch (error) {
      if (this.#store.getFuel() === 0n) {
        throw driverError(`ran out of fuel in ${name} (options.fuel is ${this.#fuel})`, error);
      }
      throw driverError(`trapped in ${name} (${(error as Error).message})`, error);
    }
  }
}

function driverError(message: string, cause?: unknown): PiecrustError {
  if (cause instanceof PiecrustError && cause.kind === "DataDriverError") return cause;
  return new PiecrustError("DataDriverError", `the data driver ${message}`, { cause });
}

/** What `lookup` returns: export `name` of a driver, which every driver has. */
function exported<T>(name: string, lookup: () => T): T {
  try {
    return lookup();
  } catch (error) {
    throw driverError(`exports no "${name}": is it a data driver?`, error);
  }
}

function checkName(name: string, value: unknown): void {
  if (typeof value !== "string") {
    throw new TypeError(`${name} must be a string, got ${typeof value}`);
  }
}

/** `value` as JSON text: `bigint`s as decimal strings, `undefined` as `null`. */
function toJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, (_, item) => (typeof item === "bigint" ? item.toString() : item));
  } catch (error) {
    throw new TypeError(`the value cannot be written as JSON: ${(error as Error).message}`);
  }
  return text ?? "null";
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw driverError(`returned invalid JSON for ${what}: ${JSON.stringify(text.slice(0, 200))}`);
  }
}
