/**
 * Every failure is a PiecrustError with a kind, or a TypeError naming the
 * argument: resource limits, missing permissions, corrupt module-cache
 * entries, exceptions of user callbacks, and callbacks that misuse the
 * session they run in.
 */

import assert from "node:assert/strict";
import {
  contractFunction,
  ContractId,
  type DeployOptions,
  type HostQuery,
  i64,
  PiecrustError,
  type Session,
  string,
  tuple,
  u8,
  unit,
  vec,
  VM,
} from "../mod.ts";
import { contractBytecode } from "../src/testing/mod.ts";
import { assembleWat } from "../contracts/wat.ts";
import {
  assertNoLiveHandles,
  assertThrowsKind,
  commitCounter,
  counterAt,
  withDirectory,
  withSession,
} from "./_helpers.ts";

const OWNER = new Uint8Array(32);
const GAS = 1_000_000n;
const PROBE = new URL("./fixtures/error_probe.ts", import.meta.url).pathname;

/**
 * A raw-ABI contract whose calls write page 2 and then call back into the
 * host, so that a failed call visibly has something to undo.
 */
const CALLBACKS = await assembleWat(`
(module
  (import "env" "feed" (func $feed (param i32)))
  (import "env" "hq" (func $hq (param i32 i32 i32) (result i32)))
  (import "env" "c" (func $c (param i32 i32 i32 i32 i64) (result i32)))
  (import "env" "self_id" (func $self_id))
  (memory (export "memory") 4)
  (global (export "A") i32 (i32.const 65536))
  (data (i32.const 2048) "write_feed")
  (data (i32.const 2064) "misuse")
  ;; Writes page 2, then feeds the argument.
  (func (export "write_feed") (param $len i32) (result i32)
    (i32.store8 (i32.const 131072) (i32.const 1))
    (call $feed (local.get $len))
    (i32.const 0))
  ;; Calls its own write_feed through c; returns c's result code in A[0..4].
  (func (export "relay") (param $len i32) (result i32)
    (call $self_id)
    (memory.copy (i32.const 1024) (i32.const 65536) (i32.const 32))
    (i32.store (i32.const 65536)
      (call $c (i32.const 1024) (i32.const 2048) (i32.const 10) (i32.const 0) (i64.const 0)))
    (i32.const 4))
  ;; Writes page 2, then runs the host query "misuse".
  (func (export "write_query") (param $len i32) (result i32)
    (i32.store8 (i32.const 131072) (i32.const 1))
    (drop (call $hq (i32.const 2064) (i32.const 6) (local.get $len)))
    (i32.const 0)))
`);

/** Runs tests/fixtures/error_probe.ts with `flags` (through bash, for `ulimit`) and parses its report. */
async function probe(
  flags: string[],
  args: string[],
  shellPrefix = "",
): Promise<Record<string, unknown>> {
  const command = new Deno.Command("bash", {
    args: ["-c", `${shellPrefix}exec "$0" "$@"`, Deno.execPath(), "run", ...flags, PROBE, ...args],
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await command.output();
  const text = new TextDecoder().decode(stdout);
  assert.equal(code, 0, `the probe exited with ${code}: ${new TextDecoder().decode(stderr)}`);
  return JSON.parse(text);
}

// --- module cache ------------------------------------------------------------------

/** Ways a cache entry can be of the wrong type or content, each applied to `path`. */
const CORRUPTIONS: [string, (artifact: string) => void][] = [
  ["the artifact replaced by a directory", (artifact) => {
    Deno.removeSync(artifact);
    Deno.mkdirSync(`${artifact}/inner`, { recursive: true });
  }],
  ["the sidecar replaced by a directory", (artifact) => {
    Deno.removeSync(`${artifact}.meta`);
    Deno.mkdirSync(`${artifact}.meta`);
  }],
  ["the artifact replaced by a symbolic link", (artifact) => {
    Deno.renameSync(artifact, `${artifact}.elsewhere`);
    Deno.symlinkSync(`${artifact}.elsewhere`, artifact);
  }],
  ["the artifact replaced by a named pipe", (artifact) => {
    Deno.removeSync(artifact);
    const { code } = new Deno.Command("mkfifo", { args: [artifact] }).outputSync();
    assert.equal(code, 0, "mkfifo");
  }],
  ["a sidecar of JSON null", (artifact) => Deno.writeTextFileSync(`${artifact}.meta`, "null")],
];

for (const [name, corrupt] of CORRUPTIONS) {
  Deno.test(`ModuleCache.load recompiles an entry with ${name}`, () => {
    withDirectory((dir) => {
      let root: Uint8Array;
      {
        using vm = VM.open(dir);
        root = commitCounter(vm, undefined, 1);
      }
      const artifacts = [...Deno.readDirSync(`${dir}/modules`)]
        .filter((entry) => entry.name.endsWith(".cwasm"));
      assert.equal(artifacts.length, 1, "one artifact");
      const artifact = `${dir}/modules/${artifacts[0].name}`;
      corrupt(artifact);
      for (let attempt = 0; attempt < 2; attempt++) {
        using vm = VM.open(dir);
        assert.equal(counterAt(vm, root), 0xfdn, `the counter runs (attempt ${attempt})`);
      }
      assert.ok(Deno.lstatSync(artifact).isFile, "the artifact is a file again");
      assert.ok(Deno.lstatSync(`${artifact}.meta`).isFile, "the sidecar is a file again");
    });
  });
}

// --- resource limits and permissions -------------------------------------------------

Deno.test("VM sessions fail with ResourceError when descriptors run out, holding one each", async () => {
  // Counting descriptors reads /proc/self/fd, which Deno allows only with --allow-all.
  const report = await probe(["--allow-all"], ["sessions"], "ulimit -n 64 && ");
  assert.equal(report.name, "PiecrustError", String(report.message));
  assert.equal(report.kind, "ResourceError", String(report.message));
  assert.match(String(report.message), /ulimit -n/);
  assert.ok(Number(report.opened) >= 8, `${report.opened} sessions opened`);
  // The committed page pack of the one contract used. Its memory's overlay
  // file is made at the first page copy, which one call does not need; the
  // compiled module is loaded from bytes and keeps no descriptor.
  assert.equal(report.descriptorsPerSession, 1);
});

Deno.test("Session.call fails with ResourceError, changing nothing, when no descriptor is left for its overlay", async () => {
  const report = await probe(["--allow-all"], ["overlay"], "ulimit -n 64 && ");
  assert.equal(report.name, undefined, String(report.message));
  assert.equal(report.copyFailure, "ResourceError");
  // The counter was committed at 0xfc + 1; only the call made after a descriptor was freed counts.
  assert.equal(report.valueAfter, 0xfe);
});

const MISSING_PERMISSIONS: [string, string[], string[]][] = [
  ["--allow-ffi", ["--allow-read", "--allow-write", "--allow-env"], ["ephemeral"]],
  ["--allow-write", ["--allow-ffi", "--allow-read", "--allow-env"], ["ephemeral"]],
  ["--allow-read", ["--allow-ffi", "--allow-write", "--allow-env"], ["ephemeral"]],
  ["--allow-env", ["--allow-ffi", "--allow-read", "--allow-write"], ["ephemeral"]],
];

for (const [flag, flags, args] of MISSING_PERMISSIONS) {
  Deno.test(`VM.ephemeral without ${flag} fails with a PermissionError naming it`, async () => {
    const report = await probe(flags, args);
    assert.equal(report.kind, "PermissionError", String(report.message));
    assert.ok(String(report.message).includes(`${flag} flag`), String(report.message));
  });
}

Deno.test("VM.open of a folder it may not write fails with a PermissionError", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "piecrust-test-" });
  try {
    const report = await probe(
      ["--allow-ffi", "--allow-env", "--allow-read", `--allow-write=${dir}/elsewhere`],
      ["open", `${dir}/vm`],
    );
    assert.equal(report.kind, "PermissionError", String(report.message));
    assert.ok(String(report.message).includes("--allow-write flag"), String(report.message));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

// --- arguments -------------------------------------------------------------------------

const readValue = contractFunction("read_value", unit, i64);

/** Every public Session method that takes gas, called with `gas`. */
function gasTakers(session: Session, counter: ContractId, gas: unknown): [string, () => unknown][] {
  const limit = gas as bigint;
  const counterBytes = contractBytecode("counter");
  const onFeed = (): void => {};
  return [
    ["deploy", () => session.deploy(counterBytes, OWNER, limit)],
    ["deployWithReceipt", () => session.deployWithReceipt(counterBytes, OWNER, limit)],
    ["callRaw", () => session.callRaw(counter, "read_value", new Uint8Array(0), limit)],
    ["call", () => session.call(counter, readValue, undefined, limit)],
    [
      "feederCallRaw",
      () => session.feederCallRaw(counter, "read_value", new Uint8Array(0), limit, onFeed),
    ],
    ["feederCall", () => session.feederCall(counter, readValue, undefined, limit, onFeed)],
    [
      "feederCallIterable",
      () => session.feederCallIterable(counter, "read_value", new Uint8Array(0), limit),
    ],
    ["migrate", () => session.migrate(counter, counterBytes, limit, () => {})],
  ];
}

Deno.test("Session methods refuse gas that is not a u64 bigint, naming gasLimit", () => {
  withSession((session) => {
    const counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
    const root = session.root();
    for (const [method, run] of gasTakers(session, counter, 1_000_000)) {
      assert.throws(
        run,
        { name: "TypeError", message: "gasLimit must be a bigint, got number" },
        method,
      );
    }
    for (const [method, run] of gasTakers(session, counter, -1n)) {
      assert.throws(
        run,
        { name: "RangeError", message: /^gasLimit must be from 0 to 2\^64 - 1/ },
        method,
      );
    }
    for (const [method, run] of gasTakers(session, counter, 1n << 64n)) {
      assert.throws(run, RangeError, method);
    }
    assert.deepEqual(session.root(), root, "nothing changed");
    assert.equal(session.call(counter, readValue, undefined, GAS).data, 0xfcn);
  });
});

Deno.test("Session methods refuse a contract that is not a ContractId without printing it", () => {
  withSession((session) => {
    const notAnId = function secretSource(): string {
      return "do not print me";
    };
    const contract = notAnId as unknown as ContractId;
    const calls: [string, () => unknown][] = [
      ["callRaw", () => session.callRaw(contract, "read_value", new Uint8Array(0), GAS)],
      ["call", () => session.call(contract, readValue, undefined, GAS)],
      [
        "feederCallRaw",
        () => session.feederCallRaw(contract, "f", new Uint8Array(0), GAS, () => {}),
      ],
      ["memoryLen", () => session.memoryLen(contract)],
      ["memoryPages", () => session.memoryPages(contract)],
      ["migrate", () => session.migrate(contract, contractBytecode("counter"), GAS, () => {})],
    ];
    for (const [method, run] of calls) {
      assert.throws(run, {
        name: "TypeError",
        message: "contract must be a ContractId, got function",
      }, method);
    }
    assert.throws(
      () => session.callRaw("07".repeat(32) as unknown as ContractId, "f", new Uint8Array(0), GAS),
      { name: "TypeError", message: "contract must be a ContractId, got string" },
    );
  });
});

Deno.test("Session methods refuse arguments of the wrong type, naming them", () => {
  withSession((session) => {
    const counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
    const bad = <T>(value: unknown): T => value as T;
    const cases: [() => unknown, string][] = [
      [
        () => session.deploy(bad([0, 97, 115, 109]), OWNER, GAS),
        "bytecode must be a Uint8Array, got an Array",
      ],
      [
        () => session.deploy(contractBytecode("counter"), bad(undefined), GAS),
        "owner must be a Uint8Array, got undefined",
      ],
      [
        () => session.deploy(contractBytecode("counter"), OWNER, GAS, bad<DeployOptions>(5)),
        "options must be an object, got number",
      ],
      [
        () => session.deploy(contractBytecode("counter"), OWNER, GAS, { contractId: bad("07") }),
        "options.contractId must be a ContractId, got string",
      ],
      [
        () =>
          session.deploy(contractBytecode("counter"), OWNER, GAS, {
            initArg: bad<Uint8Array>("x"),
          }),
        "options.initArg must be a Uint8Array or a { schema, value } object, got string",
      ],
      [
        () => session.callRaw(counter, bad(7), new Uint8Array(0), GAS),
        "fn must be a string, got number",
      ],
      [
        () => session.callRaw(counter, "read_value", bad("x"), GAS),
        "arg must be a Uint8Array, got string",
      ],
      [
        () => session.call(counter, bad<typeof readValue>("read_value"), undefined, GAS),
        "fn must be an object, got string",
      ],
      [
        () => session.feederCallRaw(counter, "read_value", new Uint8Array(0), GAS, bad(null)),
        "onFeed must be a function, got null",
      ],
      [
        () => session.migrate(counter, contractBytecode("counter"), GAS, bad(1)),
        "migration must be a function, got number",
      ],
      [
        () => session.setMeta("key", bad<Uint8Array>("value")),
        "value must be a Uint8Array or a { schema, value } object, got string",
      ],
      [() => session.setMeta(bad(1), new Uint8Array(1)), "name must be a string, got number"],
    ];
    for (const [run, message] of cases) assert.throws(run, { name: "TypeError", message });
  });
});

Deno.test("VM methods refuse arguments of the wrong type, naming them", async () => {
  assert.throws(() => VM.open(7 as unknown as string), {
    name: "TypeError",
    message: "directory must be a string, got number",
  });
  using vm = VM.ephemeral();
  const query: HostQuery = { price: () => 0n, execute: () => 0 };
  const bad = <T>(value: unknown): T => value as T;
  const cases: [() => unknown, string][] = [
    [() => vm.session({ base: bad("00") }), "options.base must be a Uint8Array, got string"],
    [() => vm.session(bad(null)), "options must be an object, got null"],
    [() => vm.removeModule(bad("07")), "id must be a ContractId, got string"],
    [() => vm.recompileModule(bad(undefined)), "id must be a ContractId, got undefined"],
    [() => vm.registerHostQuery(bad(1), query), "name must be a string, got number"],
    [
      () => vm.registerHostQuery("q", bad<HostQuery>(undefined)),
      "query must be an object, got undefined",
    ],
    [
      () => vm.registerHostQuery("q", { ...query, price: bad(5n) }),
      "query.price must be a function, got bigint",
    ],
    [
      () => vm.registerHostQuery("q", { ...query, execute: bad(0) }),
      "query.execute must be a function, got number",
    ],
  ];
  for (const [run, message] of cases) assert.throws(run, { name: "TypeError", message });
  await assert.rejects(vm.deleteCommit(bad("root")), {
    name: "TypeError",
    message: "root must be a Uint8Array, got string",
  });
  await assert.rejects(vm.finalizeCommit(bad(undefined)), TypeError);
});

// --- callbacks -------------------------------------------------------------------------

/** What a callback does with the session it runs in. */
type Misuse = (session: Session, vm: VM, contract: ContractId) => void;

/**
 * Deploys {@linkcode CALLBACKS} in a session whose host query "misuse" runs
 * `misuse` on that session and is priced by `price`, and commits.
 */
function withCallbacks(
  body: (session: Session, contract: ContractId, vm: VM) => void,
  misuse: Misuse = () => {},
  price: () => unknown = () => 0n,
): void {
  {
    using vm = VM.ephemeral();
    // The query must be registered before the session it misuses is made.
    const current: { session?: Session; contract?: ContractId } = {};
    vm.registerHostQuery("misuse", {
      price: price as () => bigint,
      execute: () => {
        misuse(current.session!, vm, current.contract!);
        return 0;
      },
    });
    using session = vm.session();
    const contract = session.deploy(CALLBACKS, OWNER, GAS);
    Object.assign(current, { session, contract });
    session.commit();
    body(session, contract, vm);
  }
  assertNoLiveHandles();
}

Deno.test("Session.feederCallRaw turns an exception of onFeed into a HostError and undoes the call", () => {
  withCallbacks((session, contract) => {
    const root = session.root();
    for (
      const thrown of [new Error("consumer gone"), "a string", new PiecrustError("Panic", "typed")]
    ) {
      for (const fn of ["write_feed", "relay"]) {
        const error = assertThrowsKind(
          () =>
            session.feederCallRaw(contract, fn, new Uint8Array(1), GAS, () => {
              throw thrown;
            }),
          "HostError",
        );
        assert.equal(error.cause, thrown, `${fn}: the cause is what onFeed threw`);
        assert.match(error.message, /feeder callback threw/);
        assert.deepEqual(session.root(), root, `${fn}: the write was undone`);
      }
    }
    const chunks: Uint8Array[] = [];
    session.feederCallRaw(contract, "write_feed", new Uint8Array([5]), GAS, (c) => chunks.push(c));
    assert.deepEqual(chunks, [new Uint8Array([5])], "the next call works");
    assert.notDeepEqual(session.root(), root, "and writes");
  });
});

Deno.test("Session.close, commit, deploy and setMeta from the session's own callbacks fail and change nothing", () => {
  const misuses: [string, Misuse][] = [
    ["close", (session) => session.close()],
    ["commit", (session) => session.commit()],
    ["deploy", (session) => session.deploy(contractBytecode("counter"), OWNER, GAS)],
    ["setMeta", (session) => session.setMeta("key", new Uint8Array(1))],
    ["removeMeta", (session) => session.removeMeta("key")],
    ["callRaw", (session, _, id) => session.callRaw(id, "write_feed", new Uint8Array(0), GAS)],
    ["vm.close", (_, vm) => vm.close()],
  ];
  for (const [name, misuse] of misuses) {
    withCallbacks((session, contract, vm) => {
      const root = session.root();
      const commits = vm.commits();
      const error = assertThrowsKind(
        () => session.callRaw(contract, "write_query", new Uint8Array(0), GAS),
        "Panic",
      );
      const cause = error.cause as PiecrustError;
      assert.equal(cause.kind, "SessionError", `${name}: ${cause.message}`);
      assert.match(cause.message, /while a call .* runs|already running/, name);
      assert.deepEqual(session.root(), root, `${name}: the call was undone`);
      assert.deepEqual(vm.commits(), commits, `${name}: nothing was committed`);
      assert.equal(session.meta("key"), undefined, `${name}: no metadata was set`);
      // The same misuse from a feeder callback is a HostError with the SessionError as cause.
      const fed = assertThrowsKind(
        () =>
          session.feederCallRaw(contract, "write_feed", new Uint8Array(0), GAS, () => {
            misuse(session, vm, contract);
          }),
        "HostError",
      );
      assert.equal((fed.cause as PiecrustError).kind, "SessionError", name);
      assert.deepEqual(session.root(), root, `${name}: the fed call was undone`);
      session.feederCallRaw(contract, "write_feed", new Uint8Array(0), GAS, () => {});
      assert.notDeepEqual(session.root(), root, `${name}: the session still works`);
    }, misuse);
  }
});

Deno.test("Session.callRaw fails a host query priced below 0, above u64 or not as a bigint", () => {
  for (const price of [-5n, 1n << 64n, 5, "5", undefined]) {
    withCallbacks(
      (session, contract) => {
        const root = session.root();
        const error = assertThrowsKind(
          () => session.callRaw(contract, "write_query", new Uint8Array(0), GAS),
          "Panic",
        );
        assert.match(error.message, /host query "misuse" priced a call at/, String(price));
        assert.deepEqual(session.root(), root, "the call was undone");
      },
      undefined,
      () => price,
    );
  }
  withCallbacks(
    (session, contract) => {
      const receipt = session.callRaw(contract, "write_query", new Uint8Array(0), GAS);
      assert.ok(receipt.gasSpent >= 1000n, "a valid price is charged");
    },
    undefined,
    () => 1000n,
  );
});

Deno.test("PiecrustError.details names the missing contract, function and host query", () => {
  withSession((session) => {
    const counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
    const missing = new ContractId(new Uint8Array(32).fill(0xab));
    const notDeployed = assertThrowsKind(
      () => session.callRaw(missing, "read_value", new Uint8Array(0), GAS),
      "ContractDoesNotExist",
    );
    assert.deepEqual(notDeployed.details, { contract: missing.toString() });

    const noFunction = assertThrowsKind(
      () => session.callRaw(counter, "no_such_function", new Uint8Array(0), GAS),
      "InvalidFunction",
    );
    assert.deepEqual(noFunction.details, {
      contract: counter.toString(),
      function: "no_such_function",
    });

    const host = session.deploy(contractBytecode("host"), OWNER, GAS);
    const hostQueryRaw = contractFunction("host_query_raw", tuple(string, vec(u8)), vec(u8));
    const noQuery = assertThrowsKind(
      () => session.call(host, hostQueryRaw, ["no_such_query", new Uint8Array(0)], GAS),
      "MissingHostQuery",
    );
    assert.deepEqual(noQuery.details, { name: "no_such_query" });
  });
});

Deno.test("PiecrustError.details of a wasm trap names it; a session reports it as a RuntimeError", async () => {
  const bytecode = await assembleWat(`(module
    (memory (export "memory") 1)
    (global (export "A") i32 (i32.const 0))
    (func (export "crash") (param i32) (result i32) unreachable))`);
  withSession((session) => {
    const id = session.deploy(bytecode, OWNER, GAS);
    const error = assertThrowsKind(
      () => session.callRaw(id, "crash", new Uint8Array(0), GAS),
      "RuntimeError",
    );
    assert.equal(error.details.trap, "Unreachable");
    assert.ok(error.cause instanceof PiecrustError && error.cause.kind === "Trap");
  });
});

Deno.test("VM.share, removeModule, recompileModule and collectModules on a connected VM fail with NotOwner", () => {
  using owner = VM.ephemeral();
  const handle = owner.share();
  using connected = VM.connect(handle);
  const id = new ContractId(new Uint8Array(32));
  const attempts = [
    () => connected.share(),
    () => connected.removeModule(id),
    () => connected.recompileModule(id),
    () => connected.collectModules(),
  ];
  for (const attempt of attempts) {
    const error = assertThrowsKind(attempt, "NotOwner");
    assert.match(error.message, /done by the VM that owns/);
  }
});
