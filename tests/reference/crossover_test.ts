/**
 * Port of piecrust's `piecrust/tests/crossover.rs`: a failed inter-contract
 * call rolls back the callee's writes, including the ones it made in its
 * caller through a call back, and nothing the caller did itself.
 */

import assert from "node:assert/strict";
import {
  contractError,
  contractFunction,
  ContractId,
  contractId,
  i32,
  i64,
  result,
  type Session,
  tuple,
  unit,
} from "../../mod.ts";
import { contractBytecode, type ContractTarget } from "../../src/testing/mod.ts";
import { withSession } from "../_helpers.ts";

const OWNER = new Uint8Array(32);
const LIMIT = 1_000_000n;
const TARGETS = ["wasm32", "wasm64"] as const satisfies ContractTarget[];

function idStartingWith(byte: number): ContractId {
  const bytes = new Uint8Array(32);
  bytes[0] = byte;
  return new ContractId(bytes);
}

const CROSSOVER_ONE = idStartingWith(0x01);
const CROSSOVER_TWO = idStartingWith(0x02);

const crossover = contractFunction("crossover", unit, i32);
const checkConsistentStateOnErrors = contractFunction(
  "check_consistent_state_on_errors",
  tuple(contractId, i32, i32, i32),
  unit,
);
const readValues = contractFunction("read_values", unit, tuple(i64, i64));
const incrementLeftAndCall = contractFunction(
  "increment_left_and_call",
  contractId,
  result(unit, contractError),
);

/** Runs `body` in a debug session (crossover imports `hdebug`), then checks for leaks. */
/** These contracts import hdebug, which needs a debug session. */
function withDebugSession(body: (session: Session) => void): void {
  withSession(body, { debug: true });
}

function deployCrossovers(session: Session, target: ContractTarget): void {
  const bytecode = contractBytecode("crossover", { target });
  session.deploy(bytecode, OWNER, LIMIT, { contractId: CROSSOVER_ONE });
  session.deploy(bytecode, OWNER, LIMIT, { contractId: CROSSOVER_TWO });
}

for (const target of TARGETS) {
  // crossover
  Deno.test(`crossover check_consistent_state_on_errors sees both writes of a failed ICC reverted (${target})`, () => {
    withDebugSession((session) => {
      deployCrossovers(session, target);

      // These values should not be the contract's INITIAL_VALUE (0).
      const CROSSOVER_TO_SET = 42;
      const CROSSOVER_TO_SET_FORWARD = 314;
      const CROSSOVER_TO_SET_BACK = 272;

      // This call fails (the contract asserts) if the state is inconsistent.
      session.call(
        CROSSOVER_ONE,
        checkConsistentStateOnErrors,
        [
          CROSSOVER_TWO.toBytes(),
          CROSSOVER_TO_SET,
          CROSSOVER_TO_SET_FORWARD,
          CROSSOVER_TO_SET_BACK,
        ],
        LIMIT,
      );

      assert.equal(
        session.call(CROSSOVER_ONE, crossover, undefined, LIMIT).data,
        CROSSOVER_TO_SET,
        "The crossover should still be set even though the other contract panicked",
      );
      assert.equal(
        session.call(CROSSOVER_TWO, crossover, undefined, LIMIT).data,
        0,
        "The panicking contract's own write is reverted",
      );
    });
  });

  // iccs_dont_rollback: the reference calls `check_iccs_dont_rollback` on crossover, an
  // export our crossover build (contracts/rust/crossover) does not have. The same intent
  // (a caller's own write made before a failed ICC survives) is checked with
  // double_counter, which increments its left counter and then makes an ICC that fails
  // (crossover exports no `hello`).
  Deno.test(`crossover a caller's own write before a failed ICC is not rolled back (${target})`, () => {
    withDebugSession((session) => {
      deployCrossovers(session, target);
      const doubleCounter = session.deploy(
        contractBytecode("double_counter", { target }),
        OWNER,
        LIMIT,
      );

      const outcome = session.call(
        doubleCounter,
        incrementLeftAndCall,
        CROSSOVER_TWO.toBytes(),
        LIMIT,
      ).data;
      // A missing export reaches the caller as ContractError::Unknown.
      assert.deepEqual(outcome, { ok: false, error: { tag: "Unknown" } });

      assert.deepEqual(
        session.call(doubleCounter, readValues, undefined, LIMIT).data,
        [0xfdn, 0xcfn],
        "The caller's write should still be set even though the ICC failed",
      );
    });
  });
}
