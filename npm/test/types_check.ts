/**
 * Type-checked by `tsc` in the Node.js project of `deno task test:npm`
 * (never run): the package's declarations resolve through its `exports`
 * and type what a program uses, and a wrong argument is a type error.
 *
 * @module
 */

import { type CallReceipt, contractFunction, i64, unit, VM } from "@piecrust/deno";
import { main } from "@piecrust/deno/cli";
import { Engine } from "@piecrust/deno/engine";
import { blake3 } from "@piecrust/deno/merkle";
import { contractBytecode } from "@piecrust/deno/testing";

const readValue = contractFunction("read_value", unit, i64);
const vm: VM = VM.ephemeral();
const session = vm.session();
const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
const receipt: CallReceipt<bigint> = session.call(counter, readValue, undefined, 1_000_000n);
export const value: bigint = receipt.data;
export const hash: Uint8Array = blake3(new Uint8Array(1));
export const engine: Engine = new Engine();
export const status: Promise<number> = main(["--version"]);
// @ts-expect-error: a gas limit is a bigint
session.call(counter, readValue, undefined, "1");
