/**
 * The host functions of the reference ABI (`c`, `hq`, `hd`, `emit`, `feed`,
 * `caller`, `callstack`, `limit`, `spent`, `panic`, `owner`, `self_id`,
 * `hdebug`): each decodes its wasm arguments and acts on the running call
 * stack. The linker entry calls the handler directly, one hop. The names
 * and signatures come from the ABI table, `src/bytecode/abi.ts`.
 *
 * @module
 */

import type { HostArgs, Linker, ValType } from "../engine/mod.ts";
import { PiecrustError } from "../errors.ts";
import {
  type CallFrame,
  type CallStack,
  type LiveInstance,
  normalize,
  uncontained,
} from "./_call_stack.ts";
import {
  ARGBUF_LEN,
  CONTRACT_ID_BYTES,
  HOST_IMPORT_NAMES,
  type HostImportName,
  hostImportType,
} from "../bytecode/abi.ts";
import { ContractId } from "./contract_id.ts";
import type { PricedHostQuery } from "./host_query.ts";

/** Percent of its remaining gas a caller passes on when it asks for no or too much gas. */
const GAS_PASS_PCT = 93n;
/** Gas per byte of an event's topic and data. */
const EVENT_BYTE_COST = 4n;
/** One past the largest host query price. */
const PRICE_END = 1n << 64n;

/** Codes `c` returns to a caller when the callee fails, as the reference VM's `c` does. */
const CODE_PANIC = -1;
const CODE_OUT_OF_GAS = -2;
const CODE_DOES_NOT_EXIST = -3;
const CODE_UNKNOWN = -2147483648;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** Reads argument `i` as a wasm pointer of the memory's width. */
type PointerArg = (args: HostArgs, i: number) => number;

/** A host function: decodes `args` and acts on `stack`. */
type HostFunction = (stack: CallStack, args: HostArgs, pointer: PointerArg) => void;

/** wasm32 pointers are unsigned i32. */
const pointer32: PointerArg = (args, i) => args.i32(i) >>> 0;
/** wasm64 pointers are i64; beyond 2^53 they are out of bounds anyway. */
const pointer64: PointerArg = (args, i) => {
  const value = args.i64(i);
  return value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(value);
};

function text(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (error) {
    throw new PiecrustError("Utf8", "invalid UTF-8", { cause: error });
  }
}

/**
 * The handler of each host import of the ABI table, by import name: the
 * type makes a missing or an extra handler a compile error.
 */
const HOST_FUNCTIONS: Readonly<Record<HostImportName, HostFunction>> = {
  c: (stack, args, pointer) => {
    args.setI32(
      0,
      call(stack, pointer(args, 0), pointer(args, 1), args.i32(2), args.i32(3), args.i64(4)),
    );
  },
  hq: (stack, args, pointer) => {
    args.setI32(0, hostQuery(stack, pointer(args, 0), args.i32(1), args.i32(2)));
  },
  // `hd`: copies a metadata value into the argument buffer; 0 if absent.
  hd: (stack, args, pointer) => {
    const value = stack.scope.meta.get(text(stack.bytes(pointer(args, 0), args.i32(1))));
    if (value !== undefined) stack.argBuffer(value.length).set(value);
    args.setI32(0, value?.length ?? 0);
  },
  // `emit`: records an event, charging 4 gas per byte first.
  emit: (stack, args, pointer) => {
    const topicLen = args.i32(1);
    const argLen = args.i32(2);
    const topic = stack.bytes(pointer(args, 0), topicLen);
    const data = stack.argBuffer(argLen).slice();
    stack.charge(EVENT_BYTE_COST * BigInt(topicLen + argLen));
    const { live, node } = stack.top;
    const event = { source: live.contract.id, topic: text(topic), data, reverted: false };
    stack.events.push(event);
    (node.events ??= []).push(event);
    (node.eventCalls ??= []).push(node.children.length);
  },
  // `feed`: hands a copy of the argument buffer's first bytes to the feeder.
  feed: (stack, args) => {
    if (stack.feeder === undefined) {
      throw new PiecrustError("MissingFeed", "feed outside a feeder call");
    }
    stack.feeder(stack.argBuffer(args.i32(0)).slice());
  },
  // `caller`: writes the calling contract's id into `A` (a synthetic root
  // caller for the root frame of a call made with one); 0 for a call from the host.
  caller: (stack, args) => {
    const frames = stack.frames;
    // Allocation-free: contracts ask for their caller often.
    const caller = frames.length >= 2
      ? frames[frames.length - 2].live.contract.id
      : stack.rootCaller;
    if (caller !== undefined) caller.copyTo(stack.argBuffer(CONTRACT_ID_BYTES));
    args.setI32(0, caller === undefined ? 0 : 1);
  },
  // `callstack`: writes every caller's id, the immediate caller first; returns the count.
  callstack: (stack, args) => {
    const callers = stack.callStack(false);
    const buffer = stack.argBuffer(callers.length * CONTRACT_ID_BYTES);
    callers.forEach((id, i) => id.copyTo(buffer, i * CONTRACT_ID_BYTES));
    args.setI32(0, callers.length);
  },
  limit: (stack, args) => args.setI64(0, stack.top.limit),
  // `spent`: gas the running frame has spent, its sub-calls included.
  spent: (stack, args) => {
    const frame = stack.top;
    args.setI64(0, frame.limit - frame.live.store.getFuel());
  },
  panic: (stack, args) => {
    throw new PiecrustError("Panic", text(stack.argBuffer(args.i32(0))));
  },
  // `owner`: writes a contract's owner into `A` (0 = the running contract); 0 if absent.
  owner: (stack, args, pointer) => {
    const contractPtr = pointer(args, 0);
    const idBytes = stack.bytes(contractPtr, CONTRACT_ID_BYTES);
    const contract = contractPtr === 0
      ? stack.top.live.contract
      : stack.scope.contracts.get(new ContractId(idBytes).toString());
    if (contract !== undefined) stack.argBuffer(contract.owner.length).set(contract.owner);
    args.setI32(0, contract?.owner.length ?? 0);
  },
  self_id: (stack) => stack.top.live.contract.id.copyTo(stack.argBuffer(CONTRACT_ID_BYTES)),
  hdebug: (stack, args) => {
    const message = text(stack.argBuffer(args.i32(0)));
    if (stack.scope.debug === undefined) {
      throw new PiecrustError("InvalidFunction", "hdebug needs a session with debug: true");
    }
    stack.scope.debug.push(message);
  },
};

/**
 * Defines every host function as `module`.`name` on `linker` for memories
 * of the given width, acting on the stack `running()` returns. piecrust
 * resolves imports by field name only, so a VM defines them under each
 * module name its contracts use (`env` in Rust and C builds).
 */
export function defineHostFunctions(
  linker: Linker,
  is64: boolean,
  running: () => CallStack,
  module = "env",
): void {
  const pointer = is64 ? pointer64 : pointer32;
  for (const name of HOST_IMPORT_NAMES) {
    const handler = HOST_FUNCTIONS[name];
    // The deploy-time checks and the linker take signatures from one table.
    const type = hostImportType(name, is64)!;
    linker.defineFunc(
      module,
      name,
      type as { params: ValType[]; results: ValType[] },
      (args) => handler(running(), args, pointer),
    );
  }
}

/** `c`: an inter-contract call; returns the result length or a negative error code. */
function call(
  stack: CallStack,
  calleePtr: number,
  namePtr: number,
  nameLen: number,
  argLen: number,
  gasLimit: bigint,
): number {
  const caller = stack.top;
  const callerStore = caller.live.store;
  const remaining = callerStore.getFuel();
  const requested = BigInt.asUintN(64, gasLimit);
  const limit = requested > 0n && requested < remaining
    ? requested
    : (remaining / 100n) * GAS_PASS_PCT + (remaining % 100n) * GAS_PASS_PCT / 100n;
  // Bad pointers and lengths trap the caller, as in the reference.
  const calleeBytes = stack.bytes(calleePtr, CONTRACT_ID_BYTES);
  const nameBytes = stack.bytes(namePtr, nameLen);
  const argBytes = stack.argBuffer(argLen);
  let callee: CallFrame;
  let fn: string;
  let arg: Uint8Array;
  let reentered: LiveInstance | undefined;
  let outerFuel = 0n;
  try {
    const id = new ContractId(calleeBytes);
    fn = text(nameBytes);
    arg = argBytes.slice();
    const refusal = stack.callHook?.({
      contract: id,
      fn,
      arg: arg.slice(),
      callStack: stack.callStack(true),
    });
    if (typeof refusal === "string") throw new PiecrustError("Panic", refusal);
    const contract = stack.scope.contracts.get(id.toString());
    if (contract === undefined) {
      throw new PiecrustError("ContractDoesNotExist", `no contract ${id}`, {
        details: { contract: id.toString() },
      });
    }
    // A re-entered contract shares its store with the outer frame: keep its fuel aside.
    reentered = stack.instances.get(id.toString());
    outerFuel = reentered?.store.getFuel() ?? 0n;
    callee = stack.push(contract, fn, limit, caller);
  } catch (thrown) {
    // The callee never started (bad name, no such contract, depth limit):
    // as in the reference, the caller is charged nothing for the attempt.
    if (uncontained(thrown) !== undefined) throw thrown;
    return writeError(stack, normalize(thrown));
  }
  try {
    if (fn === "init") {
      throw new PiecrustError("InitializationError", "init can only be called by deploy");
    }
    const ret = stack.enter(callee, fn, arg);
    const spent = limit - callee.live.store.getFuel();
    reentered?.store.setFuel(outerFuel);
    callee.node.spent = spent;
    stack.frames.pop();
    const result = stack.contractBytes(callee.live.contract, callee.live.contract.argBuffer, ret)
      .slice();
    stack.argBuffer(ret).set(result);
    callerStore.setFuel(remaining - spent);
    return ret;
  } catch (thrown) {
    // The callee started: it is undone, and the caller pays its whole limit.
    stack.unwind(callee);
    reentered?.store.setFuel(outerFuel);
    const charge = remaining > limit ? limit : remaining;
    callerStore.setFuel(remaining - charge);
    if (uncontained(thrown) !== undefined) throw thrown;
    const failure = normalize(thrown);
    callee.node.failure = failure;
    callee.node.spent = charge;
    return writeError(stack, failure);
  }
}

/** Writes a failed call's error into the caller's argument buffer and returns its code. */
function writeError(stack: CallStack, error: PiecrustError): number {
  switch (error.kind) {
    case "Panic": {
      const message = utf8Encoder.encode(error.message).subarray(0, ARGBUF_LEN - 4);
      const buffer = stack.argBuffer(4 + message.length);
      new DataView(buffer.buffer, buffer.byteOffset, 4).setUint32(0, message.length, true);
      buffer.set(message, 4);
      return CODE_PANIC;
    }
    case "OutOfGas":
      return CODE_OUT_OF_GAS;
    case "ContractDoesNotExist":
      return CODE_DOES_NOT_EXIST;
    default:
      return CODE_UNKNOWN;
  }
}

/** `hq`: runs a host query on the argument buffer; returns the result length. */
function hostQuery(stack: CallStack, namePtr: number, nameLen: number, argLen: number): number {
  const name = text(stack.bytes(namePtr, nameLen));
  const query = stack.scope.hostQueries.get(name);
  if (query === undefined) {
    throw new PiecrustError("MissingHostQuery", `no host query "${name}"`, { details: { name } });
  }
  const arg = stack.argBuffer(argLen).slice();
  const priced: unknown = containPanics(stack, () => query.price(arg));
  // A price alone, or a price with the state that `execute` receives.
  const withState = typeof priced === "object" && priced !== null;
  const price = withState ? (priced as PricedHostQuery<unknown>).gas : priced;
  const state = withState ? (priced as PricedHostQuery<unknown>).state : undefined;
  if (typeof price !== "bigint" || price < 0n || price >= PRICE_END) {
    throw new PiecrustError(
      "Panic",
      `host query "${name}" priced a call at ${String(price)}; a price must be a bigint ` +
        "from 0 to 2^64 - 1",
    );
  }
  stack.charge(price);
  const length = containPanics(
    stack,
    () => query.execute(arg, stack.argBuffer(ARGBUF_LEN), state),
  );
  if (!Number.isInteger(length) || length < 0 || length > ARGBUF_LEN) {
    throw new PiecrustError("Panic", `host query "${name}" returned length ${length}`);
  }
  return length;
}

/** Runs host-query code, containing its exceptions unless the session says otherwise. */
function containPanics<T>(stack: CallStack, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (!stack.scope.containHostQueryPanics) throw error;
    throw new PiecrustError("Panic", "host query panicked", { cause: error });
  }
}
