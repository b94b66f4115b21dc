/** Tests of src/bytecode/prepare.ts. */

import assert from "node:assert/strict";
import { assembleWat } from "../../contracts/wat.ts";
import { prepareContractModule } from "../../src/bytecode/mod.ts";
import { contractBytecode } from "../../src/testing/mod.ts";

const contract = (body: string) =>
  assembleWat(
    `(module (memory (export "memory") 1) (global (export "A") i32 (i32.const 0))
      (table $t 1 funcref)
      ${body}
      (func (export "f") (param i32) (result i32) (i32.const 0)))`,
    { features: ["reference_types"] },
  );

Deno.test("prepareContractModule lets every bundled contract's instances run again", () => {
  for (const name of ["counter", "callcenter", "fibonacci"]) {
    const prepared = prepareContractModule(contractBytecode(name), { debug: true });
    assert.equal(prepared.reusable, true, name);
    assert.deepEqual(prepared.globalExports, ["piecrust:global:0"], name);
  }
});

Deno.test("prepareContractModule does not reuse instances that keep a table or reference global", async () => {
  const writesTable = await contract(
    `(func (export "g") (param i32) (result i32) (table.set $t (i32.const 0) (ref.null func)) (i32.const 0))`,
  );
  const referenceGlobal = await contract(`(global (mut funcref) (ref.null func))`);
  const numberGlobal = await contract(`(global (mut i64) (i64.const 1))`);
  const prepare = (wasm: Uint8Array) => prepareContractModule(wasm, { debug: false });
  assert.equal(prepare(writesTable).reusable, false);
  assert.equal(prepare(referenceGlobal).reusable, false);
  assert.equal(prepare(numberGlobal).reusable, true);
  assert.deepEqual(prepare(numberGlobal).globalExports, ["piecrust:global:1"]);
});
