import assert from "node:assert/strict";
import { watFixture } from "../../contracts/wat.ts";
import { i64, u32, u8, unit } from "../../src/codec/mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { ContractId } from "../../src/session/contract_id.ts";
import { contractFunction } from "../../src/session/session.ts";
import { verifyPageOpening } from "../../src/merkle/page_opening.ts";
import { assertThrowsKind, assertTraps, runFixture, withSession } from "../_helpers.ts";

const OWNER = new Uint8Array(32).fill(7);
const GAS = 1_000_000n;
const probe = await watFixture("abi_probe");
const readValue = contractFunction("read_value", unit, i64);
const increment = contractFunction("increment", unit, unit);
const readValue8 = contractFunction("read_value", unit, u8);

for (const target of ["wasm32", "wasm64"] as const satisfies ContractTarget[]) {
  Deno.test(`Session.call runs the ${target} counter and keeps its state across calls`, () => {
    withSession((session) => {
      const counter = session.deploy(contractBytecode("counter", { target }), OWNER, GAS);
      assert.equal(session.call(counter, readValue, undefined, GAS).data, 0xfcn);
      const receipt = session.call(counter, increment, undefined, GAS);
      assert.ok(receipt.gasSpent > 0n && receipt.gasSpent < GAS);
      assert.equal(receipt.gasLimit, GAS);
      assert.deepEqual([...receipt.callTree].map((call) => call.contractId.toString()), [
        counter.toString(),
      ]);
      assert.equal(session.call(counter, readValue, undefined, GAS).data, 0xfdn);
      assert.equal(session.call(counter, readValue, undefined, GAS).data, 0xfdn);
    });
  });
}

Deno.test("Session.deploy ids a contract by the BLAKE3 of its bytecode unless given one", () => {
  withSession((session) => {
    const bytecode = contractBytecode("counter");
    const id = session.deploy(bytecode, OWNER, GAS);
    assert.equal(id.toString().length, 64);
    assertThrowsKind(
      () => session.deploy(bytecode, OWNER, GAS),
      "InitializationError",
    );
    const chosen = ContractId.fromHex("11".repeat(32));
    assert.ok(session.deploy(bytecode, OWNER, GAS, { contractId: chosen }).equals(chosen));
    assert.throws(
      () => session.deploy(bytecode, {} as Uint8Array, GAS),
      TypeError,
    );
  });
});

Deno.test("Session.callRaw of a failed call leaves memory, length and root as before", () => {
  withSession((session) => {
    const id = session.deploy(probe, OWNER, GAS);
    session.callRaw(id, "write", new Uint8Array(0), GAS);
    const root = session.root();
    const length = session.memoryLen(id);
    assertTraps(
      () => session.callRaw(id, "write_then_trap", new Uint8Array(0), GAS),
      "Unreachable",
      "RuntimeError",
    );
    assertTraps(
      () => session.callRaw(id, "grow_then_trap", new Uint8Array(0), GAS),
      "Unreachable",
      "RuntimeError",
    );
    assert.equal(session.memoryLen(id), length);
    assert.deepEqual(session.root(), root);
  });
});

Deno.test("Session.callRaw fails with OutOfGas and changes nothing", () => {
  withSession((session) => {
    const id = session.deploy(probe, OWNER, GAS);
    const root = session.root();
    const arg = new Uint8Array(4);
    new DataView(arg.buffer).setUint32(0, 10_000_000, true);
    assertThrowsKind(() => session.callRaw(id, "spin", arg, 100_000n), "OutOfGas");
    assert.deepEqual(session.root(), root);
    new DataView(arg.buffer).setUint32(0, 10, true);
    assert.ok(session.callRaw(id, "spin", arg, 100_000n).gasSpent < 1000n);
  });
});

Deno.test("Session.callRaw reports a contract panic with its message", () => {
  withSession((session) => {
    const id = session.deploy(probe, OWNER, GAS);
    const error = assertThrowsKind(
      () => session.callRaw(id, "panic", new TextEncoder().encode("no luck"), GAS),
      "Panic",
    );
    assert.equal(error.message, "no luck");
  });
});

Deno.test("Session.callRaw makes an inter-contract call and builds the call tree", () => {
  withSession((session) => {
    const counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
    const center = session.deploy(probe, OWNER, GAS);
    const arg = new Uint8Array(40);
    counter.copyTo(arg);
    const receipt = session.callRaw(center, "call_increment", arg, GAS);
    assert.equal(new DataView(receipt.data.buffer).getInt32(0, true), 0, "increment returns ()");
    assert.equal(session.call(counter, readValue, undefined, GAS).data, 0xfdn);
    const calls = [...receipt.callTree];
    assert.deepEqual(calls.map((call) => call.contractId.toString()), [
      counter.toString(),
      center.toString(),
    ]);
    const [inner, outer] = calls;
    // The callee asked for the default share: 93% of what the caller had left.
    assert.ok(inner.limit < GAS && inner.limit > GAS * 92n / 100n);
    assert.equal(inner.spent + outer.spent, receipt.gasSpent);
  });
});

Deno.test("Session.callRaw returns -3 to a caller of a missing contract, charging nothing for it", () => {
  withSession((session) => {
    const center = session.deploy(probe, OWNER, GAS);
    const arg = new Uint8Array(40);
    arg.fill(0x42, 0, 32);
    new DataView(arg.buffer).setBigUint64(32, 5000n, true);
    const receipt = session.callRaw(center, "call_increment", arg, GAS);
    assert.equal(new DataView(receipt.data.buffer).getInt32(0, true), -3);
    // The same call with a 1-gas limit costs the same: the limit is not charged.
    new DataView(arg.buffer).setBigUint64(32, 1n, true);
    assert.equal(session.callRaw(center, "call_increment", arg, GAS).gasSpent, receipt.gasSpent);
    assert.ok(receipt.gasSpent < 5000n, "the callee limit is not charged");
    assert.deepEqual([...receipt.callTree].length, 1, "the failed call is pruned");
  });
});

Deno.test("Session.call receipts lead with the reverted events of failed calls before them", () => {
  withSession((session) => {
    const eventer = session.deploy(contractBytecode("eventer"), OWNER, GAS);
    const emitEvents = contractFunction("emit_events", u32, unit);
    // Runs out of gas after emitting a few of its hundred events.
    assertThrowsKind(() => session.call(eventer, emitEvents, 100, 10_000n), "OutOfGas");
    const next = session.call(eventer, emitEvents, 2, GAS);
    const carried = next.events.filter((event) => event.reverted);
    assert.ok(carried.length > 0, "the failed call's events come with the next receipt");
    assert.deepEqual(next.events.slice(0, carried.length), carried, "first, as in the reference");
    assert.equal(next.events.length - carried.length, 2);
    // Taken once: the receipt after holds only its own events.
    assert.equal(session.call(eventer, emitEvents, 2, GAS).events.length, 2);
  });
});

Deno.test("Session.callRaw collects events in order", () => {
  withSession((session) => {
    const id = session.deploy(probe, OWNER, GAS);
    const receipt = session.callRaw(id, "emit_twice", new Uint8Array([1, 2, 3]), GAS);
    assert.equal(receipt.events.length, 2);
    for (const event of receipt.events) {
      assert.ok(event.source.equals(id));
      assert.equal(event.topic, "topic");
      assert.deepEqual(event.data, new Uint8Array([1, 2, 3]));
      assert.equal(event.reverted, false);
    }
  });
});

Deno.test("Session.callRaw gives limit and spent of the frame", () => {
  withSession((session) => {
    const id = session.deploy(probe, OWNER, GAS);
    const view = new DataView(
      session.callRaw(id, "limit_spent", new Uint8Array(0), GAS).data.buffer,
    );
    assert.equal(view.getBigUint64(0, true), GAS);
    const spent = view.getBigUint64(8, true);
    assert.ok(spent > 0n && spent < 100n);
  });
});

Deno.test("Session.callRaw reports no caller for a call from the host", () => {
  withSession((session) => {
    const id = session.deploy(probe, OWNER, GAS);
    const data = session.callRaw(id, "who_called", new Uint8Array(0), GAS).data;
    assert.deepEqual(data, new Uint8Array(4));
  });
});

Deno.test("Session.callRaw rejects init, unknown functions, bad lengths and large arguments", () => {
  withSession((session) => {
    const id = session.deploy(probe, OWNER, GAS);
    assertThrowsKind(
      () => session.callRaw(id, "init", new Uint8Array(0), GAS),
      "InitializationError",
    );
    assertThrowsKind(() => session.callRaw(id, "nope", new Uint8Array(0), GAS), "InvalidFunction");
    assertThrowsKind(
      () => session.callRaw(id, "bad_length", new Uint8Array(0), GAS),
      "MemoryAccessOutOfBounds",
    );
    assertThrowsKind(
      () => session.callRaw(id, "write", new Uint8Array(65537), GAS),
      "MemoryAccessOutOfBounds",
    );
    assertThrowsKind(
      () => session.callRaw(ContractId.fromHex("00".repeat(32)), "write", new Uint8Array(0), GAS),
      "ContractDoesNotExist",
    );
    // The session keeps working.
    session.callRaw(id, "write", new Uint8Array(0), GAS);
  });
});

Deno.test("Session.root changes with state and is equal for the same history", () => {
  const roots: string[] = [];
  for (let i = 0; i < 2; i++) {
    withSession((session) => {
      const empty = session.root();
      assert.deepEqual(empty, new Uint8Array(32));
      const id = session.deploy(contractBytecode("counter"), OWNER, GAS);
      const deployed = session.root();
      assert.notDeepEqual(deployed, empty);
      session.call(id, increment, undefined, GAS);
      const incremented = session.root();
      assert.notDeepEqual(incremented, deployed);
      roots.push(Array.from(incremented).join(","));
    });
  }
  assert.equal(roots[0], roots[1]);
});

Deno.test("Session.deployWithReceipt returns the receipt of init, if there is one", () => {
  withSession((session) => {
    const withInit = session.deployWithReceipt(contractBytecode("initializer"), OWNER, GAS, {
      initArg: new Uint8Array([0xab]),
    });
    assert.ok(withInit.receipt !== undefined);
    assert.ok(withInit.receipt.gasSpent > 0n && withInit.receipt.gasSpent <= GAS);
    assert.equal(session.call(withInit.contractId, readValue8, undefined, GAS).data, 0xab);
    const without = session.deployWithReceipt(contractBytecode("counter"), OWNER, GAS);
    assert.equal(without.receipt, undefined);
  });
});

Deno.test("Session.memoryPages gives openings that verify against root, for that page only", () => {
  withSession((session) => {
    const counter = session.deploy(contractBytecode("counter"), OWNER, GAS);
    const center = session.deploy(probe, OWNER, GAS);
    session.call(counter, increment, undefined, GAS);
    session.callRaw(center, "write", new Uint8Array(0), GAS);
    const root = session.root();
    const pages = session.memoryPages(counter)!;
    assert.ok(pages.length > 0);
    for (const { page, opening } of pages) {
      assert.deepEqual(opening.tree.root, root);
      assert.ok(verifyPageOpening(opening, page));
      const other = page.slice();
      other[0] ^= 1;
      assert.ok(!verifyPageOpening(opening, other), "another page is rejected");
    }
    // An opening of one contract's page does not prove another contract's page.
    const centerPage = session.memoryPages(center)!.find(({ index }) => index === 2)!;
    assert.ok(verifyPageOpening(centerPage.opening, centerPage.page));
    assert.ok(!verifyPageOpening(pages[0].opening, centerPage.page));
    assert.equal(session.memoryPages(ContractId.fromHex("00".repeat(32))), undefined);
  });
});

Deno.test({
  name:
    "Session.commit that fails while its new pages are hashed on the helper thread commits them later",
  // The helper thread runs only where there are two cores or more.
  ignore: navigator.hardwareConcurrency < 2,
}, async () => {
  const dir = Deno.makeTempDirSync({ prefix: "piecrust-session-" });
  try {
    const output = await runFixture("commit_while_hashing.ts", [dir], {
      signal: AbortSignal.timeout(60_000),
    });
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.match(
      new TextDecoder().decode(output.stdout),
      /^PiecrustError \w+\nthreads 2\nsame root\n$/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
