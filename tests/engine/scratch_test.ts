import assert from "node:assert/strict";
import { PiecrustError } from "../../src/errors.ts";
import { ScratchStack } from "../../src/engine/_scratch.ts";

Deno.test("ScratchStack.push refuses a frame past its capacity with a StackOverflow trap and stays usable", () => {
  const stack = new ScratchStack();
  const outer = stack.push(24);
  assert.throws(
    () => stack.push(1024 * 1024),
    (e) => e instanceof PiecrustError && e.kind === "Trap" && e.details.trap === "StackOverflow",
  );
  // The refused frame took nothing: the next one follows the outer frame.
  const inner = stack.push(8);
  assert.equal(inner, outer + 32);
  stack.pop(outer);
  assert.equal(stack.push(8), outer);
});

Deno.test("ScratchStack frames start 16-byte aligned, nest in order and have their own addresses", () => {
  const stack = new ScratchStack();
  const frames = [stack.push(1), stack.push(17), stack.push(0), stack.push(16)];
  assert.deepEqual(frames, [0, 16, 48, 48]);
  const addresses = [0, 16, 48].map((offset) => Deno.UnsafePointer.value(stack.pointer(offset)));
  assert.equal(addresses[1] - addresses[0], 16n);
  assert.equal(addresses[2] - addresses[0], 48n);
  assert.equal(stack.pointer(16), stack.pointer(16), "pointer objects are made once");
  stack.pop(frames[0]);
  assert.equal(stack.push(4), 0);
});
