/**
 * Port of piecrust's `tests/host.rs`: host queries called by contracts with
 * `hq`, their pricing, and how exceptions thrown by them are contained.
 *
 * Not ported: `host_proof` (PLONK proof verification through a
 * "verify_proof" query) needs dusk-plonk, which is not built; our `host`
 * contract has no `host_verify`.
 */

import assert from "node:assert/strict";
import {
  bytes,
  contractError,
  contractFunction,
  ContractId,
  contractId,
  decode,
  encode,
  type HostQuery,
  result,
  type Session,
  string,
  tuple,
  u8,
  unit,
  vec,
  VM,
  type VMSessionOptions,
} from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { blake3 } from "../../src/merkle/blake3.ts";
import { assertBytes, assertNoLiveHandles, assertThrowsKind } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies readonly ContractTarget[];

const hostHash = contractFunction("host_hash", vec(u8), bytes(32));
const hostVeryExpensive = contractFunction("host_very_expensive", unit, unit);
const hostQueryRaw = contractFunction("host_query_raw", tuple(string, vec(u8)), vec(u8));
const delegateQuery = contractFunction(
  "delegate_query",
  tuple(contractId, string, vec(u8)),
  result(vec(u8), contractError),
);

/** `hash`: BLAKE3 of an rkyv `Vec<u8>`, free like the reference's plain-function query. */
const hash: HostQuery = {
  price: () => 0n,
  execute(arg, buffer): number {
    buffer.set(blake3(decode(vec(u8), arg)));
    return 32;
  },
};

/** `very_expensive`: priced at u64::MAX, so it never runs. */
const veryExpensive: HostQuery = {
  price: () => (1n << 64n) - 1n,
  execute(): never {
    throw new Error("unreachable: the query will never run since its price is too high");
  },
};

/** Errors the panicking queries throw; their messages must not reach the contract. */
const PRICE_PANIC = new Error("pricing exploded");
const EXECUTE_PANIC = new Error("execution exploded");

const panicInPrice: HostQuery = {
  price(): never {
    throw PRICE_PANIC;
  },
  execute: () => 0,
};

const panicInExecute: HostQuery = {
  price: () => 0n,
  execute(): never {
    throw EXECUTE_PANIC;
  },
};

function withHostSession(
  options: VMSessionOptions,
  body: (session: Session, host: ContractId) => void,
  target: ContractTarget,
): void {
  {
    using vm = VM.ephemeral();
    vm.registerHostQuery("hash", hash);
    vm.registerHostQuery("very_expensive", veryExpensive);
    vm.registerHostQuery("panic_in_price", panicInPrice);
    vm.registerHostQuery("panic_in_execute", panicInExecute);
    using session = vm.session(options);
    const host = session.deploy(contractBytecode("host", { target }), OWNER, LIMIT);
    body(session, host);
  }
  assertNoLiveHandles();
}

/** A second `host` contract, deployed under another id, to be called through an ICC. */
function deploySecondHost(session: Session, target: ContractTarget): ContractId {
  return session.deploy(contractBytecode("host", { target }), OWNER, LIMIT, {
    contractId: new ContractId(new Uint8Array(32).fill(0x99)),
  });
}

for (const target of TARGETS) {
  // host_query_pricing_panic_is_contained
  Deno.test(`host (${target}) exception in a query's pricing is Panic("host query panicked")`, () => {
    withHostSession({}, (session, host) => {
      const error = assertThrowsKind(
        () => session.call(host, hostQueryRaw, ["panic_in_price", new Uint8Array(0)], LIMIT),
        "Panic",
      );
      assert.equal(error.message, "host query panicked");
    }, target);
  });

  // host_query_execute_panic_is_contained
  Deno.test(`host (${target}) exception in a query's execute is Panic("host query panicked")`, () => {
    withHostSession({}, (session, host) => {
      const error = assertThrowsKind(
        () => session.call(host, hostQueryRaw, ["panic_in_execute", new Uint8Array(0)], LIMIT),
        "Panic",
      );
      assert.equal(error.message, "host query panicked");
    }, target);
  });

  // nested_host_query_panic_uses_deterministic_message
  Deno.test(`host (${target}) query exception in a callee reaches the caller as Panic`, () => {
    withHostSession({}, (session, host) => {
      const callee = deploySecondHost(session, target);
      for (const name of ["panic_in_price", "panic_in_execute"]) {
        const receipt = session.call(host, delegateQuery, [
          callee.toBytes(),
          "host_query_raw",
          // The callee's argument, rkyv-encoded by the test as call_raw expects.
          encode(hostQueryRaw.arg, [name, new Uint8Array(0)]),
        ], LIMIT);
        assert.deepEqual(receipt.data, {
          ok: false,
          error: { tag: "Panic", message: "host query panicked" },
        }, name);
      }
    }, target);
  });

  // host_query_panic_propagates_when_containment_is_disabled
  Deno.test(`host (${target}) query exception propagates out of call without containment`, () => {
    withHostSession({ containHostQueryPanics: false }, (session, host) => {
      assert.throws(
        () => session.call(host, hostQueryRaw, ["panic_in_price", new Uint8Array(0)], LIMIT),
        (error) => error === PRICE_PANIC,
      );
      assert.throws(
        () => session.call(host, hostQueryRaw, ["panic_in_execute", new Uint8Array(0)], LIMIT),
        (error) => error === EXECUTE_PANIC,
      );
      // Not in the reference test: through an inter-contract call too, and the
      // session stays usable afterwards.
      const callee = deploySecondHost(session, target);
      assert.throws(
        () =>
          session.call(host, delegateQuery, [
            callee.toBytes(),
            "host_query_raw",
            encode(hostQueryRaw.arg, ["panic_in_execute", new Uint8Array(0)]),
          ], LIMIT),
        (error) => error === EXECUTE_PANIC,
      );
      const digest = session.call(host, hostHash, new Uint8Array([0, 1, 2]), LIMIT).data;
      assertBytes(digest, blake3(new Uint8Array([0, 1, 2])));
    }, target);
  });

  // host_hash
  Deno.test(`host (${target}) hash query returns the BLAKE3 of its argument`, () => {
    withHostSession({}, (session, host) => {
      const digest = session.call(host, hostHash, new Uint8Array([0, 1, 2]), LIMIT).data;
      assertBytes(digest, blake3(new Uint8Array([0, 1, 2])));
    }, target);
  });

  Deno.test(`host (${target}) a session that excludes a query does not offer it (exclude_hq)`, () => {
    withHostSession({ excludeHostQueries: ["hash"] }, (session, host) => {
      assertThrowsKind(
        () => session.call(host, hostHash, new Uint8Array([0, 1, 2]), LIMIT),
        "MissingHostQuery",
      );
      // The others stay.
      assertThrowsKind(() => session.call(host, hostVeryExpensive, undefined, LIMIT), "OutOfGas");
    }, target);
    withHostSession({}, (session, host) => {
      assertBytes(
        session.call(host, hostHash, new Uint8Array([1]), LIMIT).data,
        blake3(new Uint8Array([1])),
      );
    }, target);
    using vm = VM.ephemeral();
    assert.throws(
      () => vm.session({ excludeHostQueries: "hash" as unknown as string[] }),
      TypeError,
    );
  });

  Deno.test(`host (${target}) a query's price can hand a state to its execution`, () => {
    {
      using vm = VM.ephemeral();
      const executed: unknown[] = [];
      vm.registerHostQuery<{ doubled: number }>("parse_once", {
        price: (arg) => ({ gas: 1_000n, state: { doubled: arg[0] * 2 } }),
        execute(_arg, buffer, state): number {
          executed.push(state);
          buffer[0] = state!.doubled;
          return 1;
        },
      });
      using session = vm.session();
      const host = session.deploy(contractBytecode("host", { target }), OWNER, LIMIT);
      const cheap = session.call(host, hostQueryRaw, ["parse_once", new Uint8Array([21])], LIMIT);
      assert.deepEqual(cheap.data, new Uint8Array([42]));
      assert.deepEqual(executed, [{ doubled: 42 }]);
      // The price is charged as a plain one is: not enough gas, no execution.
      assertThrowsKind(
        () => session.call(host, hostQueryRaw, ["parse_once", new Uint8Array([1])], 900n),
        "OutOfGas",
      );
      assert.equal(executed.length, 1);
    }
    assertNoLiveHandles();
  });

  // host_very_expensive_oog
  Deno.test(`host (${target}) query priced at u64::MAX fails with OutOfGas`, () => {
    withHostSession({}, (session, host) => {
      assertThrowsKind(() => session.call(host, hostVeryExpensive, undefined, LIMIT), "OutOfGas");
    }, target);
  });
}
