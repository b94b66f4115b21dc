/** End-to-end tests of the `piecrust` command line (src/cli/), in-process and as a process. */

import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";
import type { CliIo } from "../../src/cli/io.ts";
import { DataDriver, encode, tuple, u64 } from "../../mod.ts";
import {
  contractBytecode,
  dataDriverBytecode,
  duskContractBytecode,
} from "../../src/testing/mod.ts";
import { withDirectoryAsync } from "../_helpers.ts";

/** What one run of the CLI printed, and its exit status. */
interface Run {
  status: number;
  out: string;
  err: string;
}

async function cli(...args: string[]): Promise<Run> {
  let out = "";
  let err = "";
  const io: CliIo = {
    out: (text) => (out += text),
    err: (text) => (err += text),
    outIsTerminal: false,
    errIsTerminal: false,
  };
  const status = await main(args, io);
  return { status, out, err };
}

async function json(...args: string[]): Promise<Record<string, unknown>> {
  const run = await cli(...args, "--json");
  assert.equal(run.status, 0, run.err);
  return JSON.parse(run.out);
}

function withWasm(dir: string, name: string): string {
  const path = `${dir}/${name}.wasm`;
  Deno.writeFileSync(path, contractBytecode(name));
  return path;
}

/** A directory `state` with counter deployed, then incremented: two commits. */
async function counterState(
  dir: string,
): Promise<{ state: string; contract: string; first: string; second: string }> {
  const state = `${dir}/state`;
  const deployed = await json("deploy", state, withWasm(dir, "counter"), "--owner", "0x0707");
  const contract = deployed.contract as string;
  const incremented = await json("call", state, contract, "increment", "--commit");
  return { state, contract, first: deployed.root as string, second: incremented.root as string };
}

Deno.test("main prints the usage, a command's help and the version", async () => {
  const help = await cli("--help");
  assert.equal(help.status, 0);
  for (const name of ["inspect", "verify", "delete", "finalize", "gc", "deploy", "call"]) {
    assert.match(help.out, new RegExp(`^  ${name} `, "m"));
    const own = await cli(name, "--help");
    assert.equal(own.status, 0);
    assert.match(own.out, new RegExp(`^Usage: piecrust ${name} `));
    assert.deepEqual(await cli("help", name), own);
  }
  const version = await cli("--version");
  assert.match(version.out, /^piecrust \d+\.\d+\.\d+\n$/);
});

Deno.test("main exits 2 with a pointer to the help for a command line it cannot run", async () => {
  const none = await cli();
  assert.equal(none.status, 2);
  assert.match(none.err, /Usage: piecrust COMMAND/);
  const unknown = await cli("inspekt", "x");
  assert.equal(unknown.status, 2);
  assert.match(unknown.err, /unknown command "inspekt"/);
  const cases: [string[], RegExp][] = [
    [["inspect"], /inspect takes DIR \[ROOT\], got 0 arguments/],
    [["inspect", "a", "b", "c"], /got 3 arguments/],
    [["inspect", "a", "--frobnicate"], /Unknown option '--frobnicate'/],
    [["call", "a", "00", "f", "--gas"], /--gas/],
    [["call", "a", "00", "f"], /CONTRACT must be 32 bytes of hex/],
    [["call", "a", "00".repeat(32), "f", "zz"], /ARG must be an even number of hex digits/],
    [["call", "a", "00".repeat(32), "f", "--gas", "12x"], /--gas must be a whole number/],
    [["delete", "a", "abc"], /ROOT must be 32 bytes of hex/],
    [["deploy", "a", "/nonexistent/x.wasm"], /WASM \/nonexistent\/x.wasm does not exist/],
  ];
  for (const [args, message] of cases) {
    const run = await cli(...args);
    assert.equal(run.status, 2, `${args.join(" ")}: ${run.err}`);
    assert.match(run.err, message);
    assert.match(run.err, new RegExp(`Run 'piecrust ${args[0]} --help' for usage`));
    assert.equal(run.out, "");
  }
});

Deno.test(
  "main refuses a folder that is not a VM directory, and leaves it alone",
  withDirectoryAsync(async (dir) => {
    for (const command of ["inspect", "verify", "gc"]) {
      const run = await cli(command, dir);
      assert.equal(run.status, 2);
      assert.match(run.err, /is not a VM directory \(it has no commits\/ folder\)/);
    }
    const missing = await cli("inspect", `${dir}/nothing`);
    assert.equal(missing.status, 2);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  }),
);

Deno.test(
  "deploy, call and inspect work together on a new directory",
  withDirectoryAsync(async (dir) => {
    const { state, contract, first, second } = await counterState(dir);
    const listing = await json("inspect", state);
    const commits = listing.commits as {
      root: string;
      base: string | null;
      contracts: Record<string, unknown>[];
    }[];
    assert.deepEqual(commits.map((commit) => commit.root).sort(), [first, second].sort());
    const top = commits.find((commit) => commit.root === second)!;
    assert.equal(top.base, first);
    assert.equal(top.contracts.length, 1);
    assert.equal(top.contracts[0].id, contract);
    assert.equal(top.contracts[0].owner, "0707");
    assert.equal(top.contracts[0].changed, true);
    assert.equal(top.contracts[0].bytecodeBytes, contractBytecode("counter").length);

    const text = await cli("inspect", state, second);
    assert.equal(text.status, 0);
    assert.match(text.out, new RegExp(`^commit ${second}$`, "m"));
    assert.match(text.out, new RegExp(`^  base  ${first}$`, "m"));
    assert.match(text.out, new RegExp(`^  ${contract}  0707 .* changed$`, "m"));

    // Two commits now: a call must name its base.
    const ambiguous = await cli("call", state, contract, "read_value");
    assert.equal(ambiguous.status, 2);
    assert.match(ambiguous.err, /has 2 commits; choose one with --base ROOT/);
    const read = await json("call", state, contract, "read_value", "--base", second);
    assert.equal(read.data, "fd00000000000000"); // 0xfc + 1, little-endian i64
    assert.equal(read.root, undefined, "no --commit: nothing committed");
    const traced = await cli("call", state, contract, "read_value", "--base", second, "--trace");
    assert.equal(traced.status, 0);
    assert.match(
      traced.out,
      new RegExp(`\n\n${contract.slice(0, 8)}….read_value {2}\\d+ gas, limit 10000000000\n$`),
    );
    const before = await json("call", state, contract, "read_value", "--base", first);
    assert.equal(before.data, "fc00000000000000");
    assert.ok(BigInt(read.gasSpent as string) > 0n);
    assert.equal((await json("inspect", state)).commits instanceof Array, true);
  }),
);

Deno.test(
  "call exits 1 naming the error kind for a failed call, and commits nothing",
  withDirectoryAsync(async (dir) => {
    const { state, contract, second } = await counterState(dir);
    const outOfGasCall = ["call", state, contract, "increment", "--base", second, "--gas", "1"];
    const outOfGas = await cli(...outOfGasCall, "--commit");
    assert.equal(outOfGas.status, 1);
    assert.match(outOfGas.err, /^piecrust call: OutOfGas: /);
    const traced = await cli(...outOfGasCall, "--trace");
    assert.equal(traced.status, 1);
    assert.match(
      traced.err,
      new RegExp(`^✗ ${contract.slice(0, 8)}….increment {2}1 gas, limit 1 {2}OutOfGas`),
    );
    const missing = await cli("call", state, contract, "no_such_function", "--base", second);
    assert.equal(missing.status, 1);
    assert.match(missing.err, /InvalidFunction/);
    const unknownBase = await cli("call", state, contract, "read_value", "--base", "ab".repeat(32));
    assert.equal(unknownBase.status, 1);
    assert.match(unknownBase.err, /CommitNotFound/);
    assert.equal(((await json("inspect", state)).commits as unknown[]).length, 2);
  }),
);

Deno.test(
  "verify passes a sound directory and names the damaged file of a corrupt one",
  withDirectoryAsync(async (dir) => {
    const { state, first, second } = await counterState(dir);
    const ok = await cli("verify", state);
    assert.equal(ok.status, 0, ok.err);
    assert.match(ok.out, /^ok: 2 commits, [\d.]+ KiB checked\n$/);
    assert.deepEqual(await json("verify", state, second), {
      ok: true,
      commits: 2,
      bytes: sizeOf(state, [first, second]),
    });

    const folder = `${state}/commits/${first}`;
    const pack = [...Deno.readDirSync(folder)].find((entry) => entry.name.endsWith(".pages"))!.name;
    const bytes = Deno.readFileSync(`${folder}/${pack}`);
    bytes[1234] ^= 0x10;
    Deno.chmodSync(`${folder}/${pack}`, 0o644);
    Deno.writeFileSync(`${folder}/${pack}`, bytes);
    const bad = await cli("verify", state);
    assert.equal(bad.status, 1);
    assert.match(
      bad.err,
      new RegExp(`^piecrust verify: Commit ${first} is corrupt: ${pack} has checksum`),
    );
    const badJson = await cli("verify", state, second, "--json");
    assert.equal(badJson.status, 1);
    const report = JSON.parse(badJson.out);
    assert.equal(report.ok, false);
    assert.equal(report.error.kind, "PersistenceError");

    // A truncated file is found when the directory is opened: a finding all the same.
    Deno.truncateSync(`${folder}/${pack}`, 100);
    const truncated = await cli("verify", state);
    assert.equal(truncated.status, 1);
    assert.match(truncated.err, new RegExp(`${pack} has 100 bytes`));
  }),
);

/** The bytes of the files of `roots` in `state`. */
function sizeOf(state: string, roots: string[]): number {
  let total = 0;
  for (const root of roots) {
    for (const entry of Deno.readDirSync(`${state}/commits/${root}`)) {
      total += Deno.statSync(`${state}/commits/${root}/${entry.name}`).size;
    }
  }
  return total;
}

Deno.test(
  "delete and finalize retire commits; gc deletes the modules no commit uses",
  withDirectoryAsync(async (dir) => {
    const { state, first, second } = await counterState(dir);
    const boxed = await json("deploy", state, withWasm(dir, "box"), "--base", second);
    assert.deepEqual(await json("finalize", state, second), { finalized: second });
    const afterFinalize = (await json("inspect", state)).commits as {
      root: string;
      base: string;
    }[];
    assert.deepEqual(afterFinalize.map((commit) => commit.root).sort(), [first, boxed.root].sort());
    assert.equal(afterFinalize.find((commit) => commit.root === boxed.root)!.base, second);
    const text = await cli("inspect", state);
    assert.match(text.out, new RegExp(`base  ${second} \\(deleted or finalized\\)`));
    assert.equal((await cli("delete", state, first)).status, 0);
    assert.equal(
      Deno.readDirSync(`${state}/commits`).toArray().length,
      1,
      "first's files are gone",
    );
    assert.deepEqual(await json("gc", state), { files: 0, bytes: 0 });
    const deleted = await cli("delete", state, boxed.root as string);
    assert.equal(deleted.status, 0);
    assert.equal(deleted.out, `deleted ${boxed.root}\n`);
    assert.deepEqual((await json("inspect", state)).commits, []);
    const collected = await cli("gc", state);
    assert.match(
      collected.out,
      /^deleted 4 files, [\d.]+ KiB\n$/,
      "counter's and box's artifacts and sidecars",
    );
    assert.equal((await cli("verify", state)).status, 0);
    const again = await cli("delete", state, first);
    assert.equal(again.status, 1);
    assert.match(again.err, /PersistenceError|CommitNotFound/);
  }),
);

Deno.test(
  "the cli task runs as a process, with its exit status and output",
  withDirectoryAsync(async (dir) => {
    const { state, second } = await counterState(dir);
    const run = async (...args: string[]) => {
      const command = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", new URL("../../cli.ts", import.meta.url).pathname, ...args],
        stdout: "piped",
        stderr: "piped",
      });
      const { code, stdout, stderr } = await command.output();
      return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
    };
    const inspected = await run("inspect", state, second, "--json");
    assert.equal(inspected.code, 0, inspected.err);
    assert.equal(JSON.parse(inspected.out).commits[0].root, second);
    const usage = await run("inspect");
    assert.equal(usage.code, 2);
    assert.match(usage.err, /inspect takes DIR/);
  }),
);

Deno.test(
  "call --driver takes JSON and prints results and events decoded by the data driver",
  withDirectoryAsync(async (dir) => {
    const state = `${dir}/state`;
    const driverPath = `${dir}/stake_dd.wasm`;
    Deno.writeFileSync(driverPath, dataDriverBytecode("stake"));
    Deno.writeFileSync(`${dir}/stake_mirror.wasm`, duskContractBytecode("stake_mirror"));
    const deployed = await json("deploy", state, `${dir}/stake_mirror.wasm`);
    const mirror = deployed.contract as string;
    // A signed Stake from the contract itself, as the driver writes it in JSON.
    const sampleArg = encode(tuple(u64, u64), [3n, 700n]).toHex();
    const sample = await json("call", state, mirror, "sample_stake", sampleArg);
    using driver = DataDriver.load(dataDriverBytecode("stake"));
    const stake = driver.decodeInput("stake", Uint8Array.fromHex(sample.data as string)) as {
      keys: { account: string };
    };

    const staked = await json(
      "call",
      state,
      mirror,
      "stake",
      JSON.stringify(stake),
      "--driver",
      driverPath,
      "--commit",
    );
    assert.equal(staked.data, null);
    const events = staked.events as { topic: string; data: { value: string } }[];
    assert.deepEqual(events.map((event) => [event.topic, event.data.value]), [["stake", "700"]]);
    const root = staked.root as string;
    const read = await json(
      "call",
      state,
      mirror,
      "get_stake",
      JSON.stringify(stake.keys.account),
      "--driver",
      driverPath,
      "--base",
      root,
    );
    assert.deepEqual((read.data as { amount: { value: string } }).amount.value, "700");
    const text = await cli(
      "call",
      state,
      mirror,
      "burnt_amount",
      "--driver",
      driverPath,
      "--base",
      root,
    );
    assert.match(text.out, /^data {3}"700"$/m);

    const badJson = await cli(
      "call",
      state,
      mirror,
      "get_stake",
      "{oops",
      "--driver",
      driverPath,
      "--base",
      root,
    );
    assert.equal(badJson.status, 2);
    assert.match(badJson.err, /with --driver, ARG must be JSON/);
    const refused = await cli(
      "call",
      state,
      mirror,
      "get_stake",
      '"not a key"',
      "--driver",
      driverPath,
      "--base",
      root,
    );
    assert.equal(refused.status, 1);
    assert.match(
      refused.err,
      /^piecrust call: DataDriverError: the data driver encode_input_fn failed/,
    );
    const noDriver = await cli(
      "call",
      state,
      mirror,
      "get_stake",
      "null",
      "--driver",
      `${dir}/none.wasm`,
      "--base",
      root,
    );
    assert.equal(noDriver.status, 2);
    assert.match(noDriver.err, /--driver .*none.wasm does not exist/);
  }),
);
