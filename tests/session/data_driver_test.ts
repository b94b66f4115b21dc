/** Tests of src/session/data_driver.ts with the real stake data driver and a contract on dusk-core. */

import assert from "node:assert/strict";
import { DataDriver, encode, PiecrustError, tuple, u64, VM } from "../../mod.ts";
import {
  contractBytecode,
  dataDriverBytecode,
  duskContractBytecode,
} from "../../src/testing/mod.ts";
import { assembleWat } from "../../contracts/wat.ts";
import { assertThrowsKind } from "../_helpers.ts";

const GAS = 10_000_000_000n;

type TestSession = ReturnType<VM["session"]>;
type Mirror = ReturnType<TestSession["deploy"]>;

function deployMirror(session: TestSession): Mirror {
  return session.deploy(duskContractBytecode("stake_mirror"), new Uint8Array(32), GAS);
}

/** A `Stake` of `value` signed with the key of `scalar`, in the contract's bytes and as the driver's JSON. */
function sampleStake(
  driver: DataDriver,
  session: TestSession,
  mirror: Mirror,
  scalar: bigint,
  value: bigint,
): { bytes: Uint8Array; json: { keys: { account: string }; value: string } } {
  const bytes =
    session.callRaw(mirror, "sample_stake", encode(tuple(u64, u64), [scalar, value]), GAS).data;
  return {
    bytes,
    json: driver.decodeInput("stake", bytes) as { keys: { account: string }; value: string },
  };
}

Deno.test("DataDriver encodes what the contract decodes and decodes what it returns and emits", () => {
  using driver = DataDriver.load(dataDriverBytecode("stake"));
  using vm = VM.ephemeral();
  using session = vm.session();
  const stake = deployMirror(session);
  const { bytes, json } = sampleStake(driver, session, stake, 7n, 5000n);
  assert.equal(json.value, "5000");
  assert.match(json.keys.account, /^[1-9A-HJ-NP-Za-km-z]+$/, "a base58 BLS key");
  // JSON back to the contract's own bytes.
  assert.deepEqual(driver.encodeInput("stake", json), bytes);

  const staked = driver.call(session, stake, "stake", json, GAS);
  assert.equal(staked.data, null);
  assert.deepEqual(staked.events.map((event) => event.topic), ["stake"]);
  assert.deepEqual(driver.decodeEvent("stake", staked.events[0].data), {
    keys: json.keys,
    value: "5000",
    locked: "0",
  });
  driver.call(session, stake, "stake", json, GAS);
  const data = driver.call(session, stake, "get_stake", json.keys.account, GAS).data;
  assert.deepEqual(data, {
    amount: { value: "10000", locked: "0", eligibility: "0" },
    reward: "0",
    faults: 0,
    hard_faults: 0,
  });
  assert.equal(driver.call(session, stake, "burnt_amount", null, GAS).data, "10000");
  assert.deepEqual(driver.call(session, stake, "get_config", undefined, GAS).data, {
    warnings: 1,
    minimum_stake: "1000000000000",
  });
  // An account that never staked.
  const other = sampleStake(driver, session, stake, 8n, 1n).json;
  assert.notEqual(other.keys.account, json.keys.account);
  assert.equal(driver.call(session, stake, "get_stake", other.keys.account, GAS).data, null);
});

Deno.test("DataDriver schema and version describe the stake contract", () => {
  using driver = DataDriver.load(dataDriverBytecode("stake"));
  const schema = driver.schema();
  assert.equal(schema.name, "StakeContract");
  const getStake = schema.functions.find((fn) => fn.name === "get_stake");
  assert.deepEqual(getStake, {
    name: "get_stake",
    doc: "",
    input: "BlsPublicKey",
    output: "Option<StakeData>",
    custom: false,
  });
  assert.ok(
    schema.events.some((event) => event.topic === "reward" && event.data === "Vec<Reward>"),
  );
  assert.equal(driver.version(), "0.1.0");
});

Deno.test("DataDriver reports the driver's own message for bad JSON and unknown names", () => {
  using driver = DataDriver.load(dataDriverBytecode("stake"));
  const unknown = assertThrowsKind(() => driver.encodeInput("no_such_fn", null), "DataDriverError");
  assert.match(unknown.message, /encode_input_fn failed: OperationError: .*no_such_fn/);
  const badJson = assertThrowsKind(
    () => driver.encodeInput("stake", { chain_id: "one" }),
    "DataDriverError",
  );
  assert.match(badJson.message, /encode_input_fn failed: OperationError: /);
  const badBytes = assertThrowsKind(
    () => driver.decodeOutput("get_stake", new Uint8Array([1, 2, 3])),
    "DataDriverError",
  );
  assert.match(badBytes.message, /decode_output_fn failed/);
  assertThrowsKind(() => driver.decodeEvent("no_such_topic", new Uint8Array()), "DataDriverError");
  // Still usable after failures.
  assert.equal(driver.decodeOutput("burnt_amount", new Uint8Array(8)), "0");
  // What JSON cannot carry is refused before the driver sees it; bigints become strings.
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => driver.encodeInput("stake", cyclic), TypeError);
  assert.throws(() => driver.encodeInput(7 as unknown as string, null), /fn must be a string/);
  assert.throws(
    () => driver.decodeOutput("burnt_amount", [0] as unknown as Uint8Array),
    /bytes must be a Uint8Array/,
  );
});

Deno.test("DataDriver.load refuses what is no data driver", async () => {
  const memoryOnly = await assembleWat(`(module (memory (export "memory") 1))`);
  const notWasm = assertThrowsKind(
    () => DataDriver.load(new Uint8Array([1, 2, 3])),
    "DataDriverError",
  );
  assert.match(notWasm.message, /is not valid wasm/);
  const contract = assertThrowsKind(
    () => DataDriver.load(contractBytecode("counter")),
    "DataDriverError",
  );
  assert.match(contract.message, /cannot be instantiated|exports no "alloc"/);
  const noExports = assertThrowsKind(
    () => DataDriver.load(memoryOnly),
    "DataDriverError",
  );
  assert.match(noExports.message, /exports no "alloc": is it a data driver\?/);
  assert.throws(() => DataDriver.load("wasm" as unknown as Uint8Array), TypeError);
  assert.throws(
    () => DataDriver.load(dataDriverBytecode("stake"), { fuel: 0n }),
    /options.fuel must be a positive bigint/,
  );
  assert.throws(
    () => DataDriver.load(dataDriverBytecode("stake"), { maxMemory: -1 }),
    /options.maxMemory must be/,
  );
  // The stake driver starts with more memory than 64 KiB: capped below that, it cannot start.
  const capped = assertThrowsKind(
    () => DataDriver.load(dataDriverBytecode("stake"), { maxMemory: 65536 }),
    "DataDriverError",
  );
  assert.match(capped.message, /cannot be instantiated/);
});

/** A driver whose every export does what `body` says (WAT instructions leaving an i32). */
function fakeDriver(body: string): Promise<Uint8Array> {
  const six = "(param i32 i32 i32 i32 i32 i32) (result i32)";
  return assembleWat(`(module
    (memory (export "memory") 2)
    (func (export "alloc") (param i32) (result i32) i32.const 1024)
    (func (export "dealloc") (param i32 i32))
    (func (export "get_last_error") (param i32 i32) (result i32) i32.const 1)
    (func (export "encode_input_fn") ${six} ${body})
    (func (export "decode_input_fn") ${six} ${body})
    (func (export "decode_output_fn") ${six} ${body})
    (func (export "decode_event") ${six} ${body})
    (func (export "get_schema") (param i32 i32) (result i32) ${body})
    (func (export "get_version") (param i32 i32) (result i32) ${body}))`);
}

Deno.test("DataDriver stops a driver that loops, traps or writes past its buffer", async () => {
  using looping = DataDriver.load(await fakeDriver("(loop br 0) i32.const 0"), { fuel: 100_000n });
  const outOfFuel = assertThrowsKind(() => looping.version(), "DataDriverError");
  assert.match(outOfFuel.message, /ran out of fuel in get_version \(options.fuel is 100000\)/);
  assertThrowsKind(() => looping.version(), "DataDriverError"); // each operation gets its budget again

  using trapping = DataDriver.load(await fakeDriver("unreachable"));
  assert.match(
    assertThrowsKind(() => trapping.schema(), "DataDriverError").message,
    /trapped in get_schema/,
  );

  // Claims 70000 bytes of output in a 64 KiB buffer.
  using lying = DataDriver.load(
    await fakeDriver("(i32.store (i32.const 1024) (i32.const 70000)) i32.const 0"),
  );
  assert.match(
    assertThrowsKind(() => lying.version(), "DataDriverError").message,
    /wrote 70000 bytes into a 65536-byte buffer/,
  );

  // A failure whose message the driver cannot give: the code alone.
  using failing = DataDriver.load(await fakeDriver("i32.const 2"));
  assert.match(
    assertThrowsKind(() => failing.version(), "DataDriverError").message,
    /get_version failed: OperationError$/,
  );
});

Deno.test("DataDriver caps the driver's memory: a growth past the cap fails inside the driver", async () => {
  // get_version grows the memory by 16 pages (1 MiB) and answers 0 (ok, empty) only if it could.
  const grows = await fakeDriver(
    "(if (result i32) (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then (i32.const 2)) (else (i32.store (i32.const 1024) (i32.const 0)) (i32.const 0)))",
  );
  using roomy = DataDriver.load(grows);
  assert.equal(roomy.version(), "");
  using tight = DataDriver.load(grows, { maxMemory: 4 * 65536 });
  assert.match(
    assertThrowsKind(() => tight.version(), "DataDriverError").message,
    /get_version failed: OperationError/,
  );
});

Deno.test("DataDriver asks again with a larger buffer while the driver says it is too small", async () => {
  // BufferTooSmall (4) unless the buffer is at least 256 KiB, then "ok" with 2 bytes.
  const body = `(if (result i32) (i32.lt_u (local.get 1) (i32.const 262144))
      (then (i32.const 4))
      (else (i32.store (i32.const 1024) (i32.const 2)) (i32.store16 (i32.const 1028) (i32.const 0x6b6f)) (i32.const 0)))`;
  const wasm = await assembleWat(`(module
    (memory (export "memory") 8)
    (func (export "alloc") (param i32) (result i32) i32.const 1024)
    (func (export "dealloc") (param i32 i32))
    (func (export "get_last_error") (param i32 i32) (result i32) i32.const 1)
    (func (export "encode_input_fn") (param i32 i32 i32 i32 i32 i32) (result i32) i32.const 1)
    (func (export "decode_input_fn") (param i32 i32 i32 i32 i32 i32) (result i32) i32.const 1)
    (func (export "decode_output_fn") (param i32 i32 i32 i32 i32 i32) (result i32) i32.const 1)
    (func (export "decode_event") (param i32 i32 i32 i32 i32 i32) (result i32) i32.const 1)
    (func (export "get_schema") (param i32 i32) (result i32) i32.const 1)
    (func (export "get_version") (param i32 i32) (result i32) ${body}))`);
  using driver = DataDriver.load(wasm);
  assert.equal(driver.version(), "ok");
});

Deno.test("DataDriver.close frees it; later use is Disposed", () => {
  const driver = DataDriver.load(dataDriverBytecode("stake"));
  driver.close();
  driver.close();
  const error = assertThrowsKind(() => driver.encodeInput("stake", null), "Disposed");
  assert.ok(error instanceof PiecrustError);
});
