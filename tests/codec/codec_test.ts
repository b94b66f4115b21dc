/**
 * Tests of the rkyv 0.7 codec against bytes produced by real rkyv.
 *
 * Golden vectors: a throwaway cargo project (not part of this repository)
 * with `rkyv = { version = "0.7", default-features = false, features =
 * ["size_32", "alloc", "validation", "std"] }` and `bytecheck = "0.6"`, which
 * resolved to rkyv 0.7.46, rkyv_derive 0.7.46, bytecheck 0.6.12, rend 0.4.2
 * and ptr_meta 0.1.4, built with rustc 1.95.0 on x86_64-unknown-linux-gnu.
 * Each value went through `rkyv::to_bytes::<_, 256>(&value)` and was printed
 * as hex; `rkyv::check_archived_root` accepted every one, and rejected each
 * with its first or last byte cut off. The Rust types (all
 * `#[derive(Archive, Serialize)] #[archive_attr(derive(CheckBytes))]`):
 *
 * ```rust
 * enum ContractError { Panic(String), OutOfGas, DoesNotExist, Unknown }
 * struct Padded { a: u8, b: u64, c: u16 }
 * #[archive_attr(repr(C))] struct PaddedC { a: u8, b: u64, c: u16 }
 * struct WithBool { flag: bool, value: u32, tag: u8 }
 * struct Person { name: String, nickname: Option<String>, tags: Vec<String>, age: u16, active: bool }
 * struct Account { id: [u8; 32], balance: u64, nonce: u32, frozen: bool }
 * struct Arr16 { a: u8, b: [u8; 16] }
 * struct BoolArr16 { a: bool, b: [u8; 16], c: u32 }
 * struct Niches { x: u16, b: bool, c: char, o: Option<u8>, y: u8 }
 * struct Inner { small: u8, flag: bool }
 * struct Outer { v: u32, inner: Inner, t: (u8, bool), w: u16 }
 * enum Shape { Empty, Circle(u32), Rect { w: u16, h: u64 }, Named(String, u8) }
 * ```
 *
 * Verdict vectors: hand-made byte strings, copied into a 16-aligned
 * `rkyv::AlignedVec` and given to `rkyv::check_archived_root` in the same
 * project; `accepted` records its answer.
 */

import assert from "node:assert/strict";
import { PiecrustError } from "../../src/errors.ts";
import {
  array,
  bool,
  bytes,
  char,
  contractError,
  contractId,
  decode,
  encode,
  enumeration,
  f32,
  f64,
  i128,
  i16,
  i32,
  i64,
  i8,
  type Infer,
  option,
  result,
  type Schema,
  string,
  struct,
  tuple,
  u128,
  u16,
  u32,
  u64,
  u8,
  unit,
  usize,
  vec,
} from "../../src/codec/mod.ts";
import { structLayout } from "../../src/codec/layout.ts";

function assertValidationError(fn: () => unknown, why: string): PiecrustError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PiecrustError, `${why}: expected a PiecrustError, got ${error}`);
    assert.equal(error.kind, "ValidationError", why);
    return error;
  }
  assert.fail(`${why}: expected a ValidationError, but the bytes were accepted`);
}

const Padded = struct([["a", u8], ["b", u64], ["c", u16]], { name: "Padded" });
const PaddedC = struct([["a", u8], ["b", u64], ["c", u16]], { name: "PaddedC", repr: "C" });
const WithBool = struct([["flag", bool], ["value", u32], ["tag", u8]], { name: "WithBool" });
const Person = struct([
  ["name", string],
  ["nickname", option(string)],
  ["tags", vec(string)],
  ["age", u16],
  ["active", bool],
], { name: "Person" });
const Account = struct([["id", contractId], ["balance", u64], ["nonce", u32], ["frozen", bool]]);
const Arr16 = struct([["a", u8], ["b", bytes(16)]]);
const BoolArr16 = struct([["a", bool], ["b", bytes(16)], ["c", u32]]);
const Niches = struct([["x", u16], ["b", bool], ["c", char], ["o", option(u8)], ["y", u8]]);
const Inner = struct([["small", u8], ["flag", bool]]);
const Outer = struct([["v", u32], ["inner", Inner], ["t", tuple(u8, bool)], ["w", u16]]);
const Shape = enumeration([
  ["Empty"],
  ["Circle", [["radius", u32]]],
  ["Rect", [["w", u16], ["h", u64]]],
  ["Named", [["label", string], ["weight", u8]]],
], { name: "Shape" });

const ID = Uint8Array.from({ length: 32 }, (_, i) => i);

/** rkyv::to_bytes output as hex, by case name. */
const GOLDEN = {
  unit: "",
  bool_true: "01",
  bool_false: "00",
  u8: "ab",
  i8: "fe",
  u16: "3412",
  i16: "feff",
  u32: "efbeadde",
  i32: "c01dfeff",
  u64_42: "2a00000000000000",
  u64_max: "ffffffffffffffff",
  i64_min: "0000000000000080",
  i64_neg: "fbffffffffffffff",
  u128: "100f0e0d0c0b0a090807060504030201",
  i128: "feffffffffffffffffffffffffffffff",
  f32: "0000c03f",
  f64: "9a9999999999b9bf",
  char_ascii: "41000000",
  char_crab: "80f90100",
  bytes4: "01020304",
  bytes0: "",
  contract_id: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
  array_u16_3: "01000200ffff",
  array_string_2:
    "6669727374206c6f6e6720737472696e677365636f6e64206c6f6e6720737472696e670011000000dcffffff12000000e5ffffff",
  string_empty: "0000000000000000",
  string_1: "6100000000000001",
  string_7: "3132333435363707",
  string_8: "313233343536373808000000f8ffffff",
  string_hello: "48656c6c6f20776f726c64000b000000f4ffffff",
  string_unicode: "68c3a96c6c6f2077c3b6726c6420f09fa680000012000000ecffffff",
  string_bom: "efbbbf7800000004",
  vec_u8_empty: "0000000000000000",
  vec_u8_123: "01020300fcffffff03000000",
  vec_u64_empty: "0000000000000000",
  vec_u64_2: "01000000000000000807060504030201f0ffffff02000000",
  vec_string:
    "61206c6f6e6720737472696e67206e756d626572206f6e65616e6f74686572206c6f6e6720737472696e6700610000000000000118000000ccffffff000000000000000013000000d4ffffffe0ffffff04000000",
  vec_vec_u16: "0100020003000400f8ffffff03000000f6ffffff00000000eeffffff01000000e8ffffff03000000",
  vec_option_u32: "010000000100000000000000000000000100000003000000e8ffffff03000000",
  option_u64_none: "00000000000000000000000000000000",
  option_u64_some: "01000000000000000700000000000000",
  option_i16_some: "01001100",
  option_bytes33: "01333333333333333333333333333333333333333333333333333333333333333333",
  option_string_long: "616e206f7074696f6e616c206c6f6e6720737472696e67000100000017000000e4ffffff",
  option_vec_u32_some: "010000000200000001000000f4ffffff02000000",
  option_vec_u32_none: "000000000000000000000000",
  option_unit_some: "01",
  result_u32_ok: "000000000700000000000000",
  result_u32_err: "736f6d657468696e672077656e742077726f6e670100000014000000e8ffffff",
  result_u8_u64_ok: "00090000000000000000000000000000",
  result_u8_u64_err: "01000000000000000a00000000000000",
  result_unit_ce_ok: "00000000000000000000000000000000",
  tuple_u8_u64: "01000000000000000200000000000000",
  tuple_u64_u8: "02000000000000000100000000000000",
  tuple_u8_u16_u32: "0200010003000000",
  tuple_string_u32: "61206c6f6e67207475706c6520737472696e670013000000ecffffff05000000",
  tuple_u32_string_bool: "61206c6f6e67207475706c6520737472696e670013000000ecffffff0500000001000000",
  tuple_vec_u8_u16: "09080700fcffffff0300000002010000",
  tuple_string_string:
    "7365636f6e64206c6f6e6720737472696e676669727374206c6f6e6720737472696e670011000000eeffffff12000000d4ffffff",
  tuple_bool_u8_u16: "01030504",
  padded: "22222222222222223333110000000000",
  padded_c: "110000000000000022222222222222223333000000000000",
  with_bool: "4444444455010000",
  person:
    "416c69636520576f6e6465726c616e6461206c6f6e672074616720666f722074657374696e67000061646d696e00000516000000e0ffffff01000000416c00000000000210000000bcffffffdcffffff0200000021000100",
  person_none: "000000000000000000000000426f620000000003ecffffff0000000002010000",
  account:
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f01020304050607080a0b0c0d01000000",
  arr16: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0baa",
  bool_arr16: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0c0c0c0c01000000",
  niches: "5a0000000122111101330000",
  outer: "111111114444012233010000",
  ce_panic: "636f6e74726163742070616e69636b65643a20626f6f6d000000000017000000e4ffffff",
  ce_panic_short: "00000000626f6f6d00000004",
  ce_out_of_gas: "010000000000000000000000",
  ce_does_not_exist: "020000000000000000000000",
  ce_unknown: "030000000000000000000000",
  result_u64_ce_err:
    "61206c6f6e672070616e6963206d65737361676500000000010000000000000014000000e0ffffff",
  shape_empty: "00000000000000000000000000000000",
  shape_circle: "01000000040302010000000000000000",
  shape_rect: "02000605000000000e0d0c0b0a090807",
  shape_named: "61206e616d6564206c6f6e672073686170650000000000000300000012000000e4ffffff7f000000",
} as const;

interface GoldenCase {
  readonly name: keyof typeof GOLDEN;
  readonly schema: Schema<unknown>;
  readonly value: unknown;
}

function golden<T>(name: keyof typeof GOLDEN, schema: Schema<T>, value: T): GoldenCase {
  return { name, schema: schema as Schema<unknown>, value };
}

const GOLDEN_CASES: readonly GoldenCase[] = [
  golden("unit", unit, undefined),
  golden("bool_true", bool, true),
  golden("bool_false", bool, false),
  golden("u8", u8, 0xab),
  golden("i8", i8, -2),
  golden("u16", u16, 0x1234),
  golden("i16", i16, -2),
  golden("u32", u32, 0xdeadbeef),
  golden("i32", i32, -123456),
  golden("u64_42", u64, 42n),
  golden("u64_max", u64, 2n ** 64n - 1n),
  golden("i64_min", i64, -(2n ** 63n)),
  golden("i64_neg", i64, -5n),
  golden("u128", u128, 0x0102030405060708090a0b0c0d0e0f10n),
  golden("i128", i128, -2n),
  golden("f32", f32, 1.5),
  golden("f64", f64, -0.1),
  golden("char_ascii", char, "A"),
  golden("char_crab", char, "🦀"),
  golden("bytes4", bytes(4), new Uint8Array([1, 2, 3, 4])),
  golden("bytes0", bytes(0), new Uint8Array()),
  golden("contract_id", contractId, ID),
  golden("array_u16_3", array(u16, 3), [1, 2, 0xffff]),
  golden("array_string_2", array(string, 2), ["first long string", "second long string"]),
  golden("string_empty", string, ""),
  golden("string_1", string, "a"),
  golden("string_7", string, "1234567"),
  golden("string_8", string, "12345678"),
  golden("string_hello", string, "Hello world"),
  golden("string_unicode", string, "héllo wörld 🦀"),
  golden("string_bom", string, "\ufeffx"),
  golden("vec_u8_empty", vec(u8), new Uint8Array()),
  golden("vec_u8_123", vec(u8), new Uint8Array([1, 2, 3])),
  golden("vec_u64_empty", vec(u64), []),
  golden("vec_u64_2", vec(u64), [1n, 0x0102030405060708n]),
  golden("vec_string", vec(string), ["a", "a long string number one", "", "another long string"]),
  golden("vec_vec_u16", vec(vec(u16)), [[1, 2, 3], [], [4]]),
  golden("vec_option_u32", vec(option(u32)), [1, null, 3]),
  golden("option_u64_none", option(u64), null),
  golden("option_u64_some", option(u64), 7n),
  golden("option_i16_some", option(i16), 0x11),
  golden("option_bytes33", option(bytes(33)), new Uint8Array(33).fill(0x33)),
  golden("option_string_long", option(string), "an optional long string"),
  golden("option_vec_u32_some", option(vec(u32)), [1, 2]),
  golden("option_vec_u32_none", option(vec(u32)), null),
  golden("option_unit_some", option(unit), undefined),
  golden("result_u32_ok", result(u32, string), { ok: true, value: 7 }),
  golden("result_u32_err", result(u32, string), { ok: false, error: "something went wrong" }),
  golden("result_u8_u64_ok", result(u8, u64), { ok: true, value: 9 }),
  golden("result_u8_u64_err", result(u8, u64), { ok: false, error: 10n }),
  golden("result_unit_ce_ok", result(unit, contractError), { ok: true, value: undefined }),
  golden("tuple_u8_u64", tuple(u8, u64), [1, 2n]),
  golden("tuple_u64_u8", tuple(u64, u8), [2n, 1]),
  golden("tuple_u8_u16_u32", tuple(u8, u16, u32), [1, 2, 3]),
  golden("tuple_string_u32", tuple(string, u32), ["a long tuple string", 5]),
  golden("tuple_u32_string_bool", tuple(u32, string, bool), [5, "a long tuple string", true]),
  golden("tuple_vec_u8_u16", tuple(vec(u8), u16), [new Uint8Array([9, 8, 7]), 0x0102]),
  golden("tuple_string_string", tuple(string, string), ["first long string", "second long string"]),
  golden("tuple_bool_u8_u16", tuple(bool, u8, u16), [true, 3, 0x0405]),
  golden("padded", Padded, { a: 0x11, b: 0x2222222222222222n, c: 0x3333 }),
  golden("padded_c", PaddedC, { a: 0x11, b: 0x2222222222222222n, c: 0x3333 }),
  golden("with_bool", WithBool, { flag: true, value: 0x44444444, tag: 0x55 }),
  golden("person", Person, {
    name: "Alice Wonderland",
    nickname: "Al",
    tags: ["admin", "a long tag for testing"],
    age: 33,
    active: true,
  }),
  golden("person_none", Person, {
    name: "Bob",
    nickname: null,
    tags: [],
    age: 0x0102,
    active: false,
  }),
  golden("account", Account, {
    id: ID,
    balance: 0x0807060504030201n,
    nonce: 0x0d0c0b0a,
    frozen: true,
  }),
  golden("arr16", Arr16, { a: 0xaa, b: new Uint8Array(16).fill(0x0b) }),
  golden("bool_arr16", BoolArr16, { a: true, b: new Uint8Array(16).fill(0x0b), c: 0x0c0c0c0c }),
  golden("niches", Niches, { x: 0x1111, b: true, c: "Z", o: 0x22, y: 0x33 }),
  golden("outer", Outer, {
    v: 0x11111111,
    inner: { small: 0x22, flag: true },
    t: [0x33, true],
    w: 0x4444,
  }),
  golden("ce_panic", contractError, { tag: "Panic", message: "contract panicked: boom" }),
  golden("ce_panic_short", contractError, { tag: "Panic", message: "boom" }),
  golden("ce_out_of_gas", contractError, { tag: "OutOfGas" }),
  golden("ce_does_not_exist", contractError, { tag: "DoesNotExist" }),
  golden("ce_unknown", contractError, { tag: "Unknown" }),
  golden("result_u64_ce_err", result(u64, contractError), {
    ok: false,
    error: { tag: "Panic", message: "a long panic message" },
  }),
  golden("shape_empty", Shape, { tag: "Empty" }),
  golden("shape_circle", Shape, { tag: "Circle", radius: 0x01020304 }),
  golden("shape_rect", Shape, { tag: "Rect", w: 0x0506, h: 0x0708090a0b0c0d0en }),
  golden("shape_named", Shape, { tag: "Named", label: "a named long shape", weight: 0x7f }),
];

Deno.test("GOLDEN_CASES cover every golden vector", () => {
  assert.deepEqual(GOLDEN_CASES.map((c) => c.name).sort(), Object.keys(GOLDEN).sort());
});

for (const { name, schema, value } of GOLDEN_CASES) {
  Deno.test(`encode reproduces rkyv's bytes for ${name}`, () => {
    assert.equal(encode(schema, value).toHex(), GOLDEN[name]);
  });

  Deno.test(`decode returns the value of rkyv's ${name} archive`, () => {
    assert.deepEqual(decode(schema, Uint8Array.fromHex(GOLDEN[name])), value);
  });
}

Deno.test("decode rejects every golden archive cut by one byte at either end, as rkyv does", () => {
  for (const { name, schema } of GOLDEN_CASES) {
    const archive = Uint8Array.fromHex(GOLDEN[name]);
    if (archive.length === 0) continue;
    assertValidationError(
      () => decode(schema, archive.subarray(0, -1)),
      `${name} without its last byte`,
    );
    assertValidationError(
      () => decode(schema, archive.subarray(1)),
      `${name} without its first byte`,
    );
  }
});

Deno.test("encode reproduces rkyv's bytes for the reference's worked examples", () => {
  assert.equal(encode(u64, 42n).toHex(), "2a00000000000000");
  assert.deepEqual(encode(contractId, ID), ID);
  const hello = encode(string, "Hello world");
  assert.equal(hello.length, 20);
  assert.equal(
    hello.toHex(),
    (new TextEncoder().encode("Hello world")).toHex() + "00" + "0b000000f4ffffff",
  );
  assert.equal(
    (encode(vec(u8), new Uint8Array([1, 2, 3]))).toHex(),
    "01020300" + "fcffffff03000000",
  );
  assert.equal((encode(option(i16), 0x11)).toHex(), "01001100");
});

interface Verdict {
  readonly name: string;
  readonly schema: Schema<unknown>;
  readonly hex: string;
  readonly accepted: boolean;
}

function verdict<T>(name: string, schema: Schema<T>, hex: string, accepted: boolean): Verdict {
  return { name, schema: schema as Schema<unknown>, hex, accepted };
}

const VERDICTS: readonly Verdict[] = [
  verdict("bool_2", bool, "02", false),
  verdict("u64_truncated", u64, "2a000000000000", false),
  verdict("u64_len9_misaligned_root", u64, "002a00000000000000", false),
  verdict("u64_empty", u64, "", false),
  verdict("u64_leading_bytes", u64, "00000000000000002a00000000000000", true),
  verdict("u128_root_misaligned", u128, "000000000000000001000000000000000000000000000000", false),
  verdict("unit_with_bytes", unit, "0102", true),
  verdict("char_surrogate", char, "00d80000", false),
  verdict("char_too_big", char, "00001100", false),
  verdict("char_max", char, "ffff1000", true),
  verdict("option_tag_2", option(u8), "0200", false),
  verdict("option_none_payload_garbage", option(u8), "00ff", true),
  verdict("option_u64_len17", option(u64), "01000000000000000700000000000000ff", false),
  verdict("result_tag_2", result(u8, u8), "0200", false),
  verdict("ce_tag_4", contractError, "040000000000000000000000", false),
  verdict("ce_panic_bad_ptr", contractError, "00000000ff000000f0ffffff", false),
  verdict("string_inline_len8", string, "3132333435363708", false),
  verdict("string_inline_bad_utf8", string, "c328000000000002", false),
  verdict("string_inline_padding_garbage", string, "61ffffffffffff01", true),
  verdict("string_ool_bad_utf8", string, "48656c6c6fff776f726c64000b000000f4ffffff", false),
  verdict(
    "string_ool_long_bad_utf8",
    string,
    "61".repeat(39) + "ff" + "28000000d8ffffff",
    false,
  ),
  verdict("string_ool_surrogate", string, "eda080616263646508000000f8ffffff", false),
  verdict("string_ool_short_len", string, "4142000002000000fcffffff", true),
  verdict("string_ool_ptr_out_of_range", string, "0b000000f0ffffff", false),
  verdict("string_ool_len_overrun", string, "48656c6c6f20776f726c64000d000000f4ffffff", false),
  verdict("string_ool_offset_min", string, "0800000000000080", false),
  verdict("vec_u8_ptr_out_of_range", vec(u8), "010203fff8ffffff03000000", false),
  verdict("vec_u8_len_overrun", vec(u8), "01020300fcffffff05000000", false),
  verdict("vec_u8_ptr_into_self", vec(u8), "010203000000000003000000", false),
  verdict("vec_u8_ptr_forward", vec(u8), "0400000003000000010203", false),
  verdict("vec_u8_empty_ptr_self", vec(u8), "0000000000000000", true),
  verdict("vec_u8_empty_ptr_end", vec(u8), "0800000000000000", false),
  verdict("vec_u8_empty_ptr_prefix", vec(u8), "fffffffffcffffff00000000", true),
  verdict("vec_u64_misaligned", vec(u64), "000000000100000000000000f8ffffff01000000", false),
  verdict("vec_u32_huge_len", vec(u32), "00000000fcffffffffffffff", false),
  verdict(
    "vec_string_overlap",
    vec(string),
    "6162636465666768696a6b6c0c000000f4ffffff0c000000ecfffffff0ffffff02000000",
    false,
  ),
  verdict(
    "vec_string_reversed",
    vec(string),
    "6262626262626262626262626161616161616161616161610c000000f4ffffff0c000000e0fffffff0ffffff02000000",
    false,
  ),
  verdict(
    "vec_string_in_order",
    vec(string),
    "6262626262626262626262626161616161616161616161610c000000e8ffffff0c000000ecfffffff0ffffff02000000",
    true,
  ),
  verdict(
    "tuple_string_string_forward",
    tuple(string, string),
    "6669727374206c6f6e6720737472696e677365636f6e64206c6f6e6720737472696e67" +
      "0011000000dcffffff12000000e5ffffff",
    false,
  ),
  verdict("option_vec_ptr_into_parent", option(vec(u32)), "01000000fcffffff01000000", false),
  verdict("padded_garbage_padding", Padded, "2222222222222222333311ffffffffff", true),
  verdict("padded_truncated", Padded, "2222222222222222", false),
];

for (const { name, schema, hex, accepted } of VERDICTS) {
  Deno.test(`decode agrees with rkyv's check_archived_root on ${name}`, () => {
    const archive = Uint8Array.fromHex(hex);
    if (accepted) decode(schema, archive);
    else assertValidationError(() => decode(schema, archive), name);
  });
}

function verdictHex(name: string): string {
  const found = VERDICTS.find((v) => v.name === name);
  assert.ok(found, name);
  return found.hex;
}

Deno.test("decode names the root type and the problem in its ValidationError", () => {
  const error = assertValidationError(
    () => decode(vec(string), Uint8Array.fromHex(verdictHex("vec_string_overlap"))),
    "overlap",
  );
  assert.match(error.message, /Vec<String>/);
  assert.match(error.message, /overlaps or follows data already claimed/);
  assert.match(
    assertValidationError(() => decode(bool, Uint8Array.fromHex("02")), "bool").message,
    /not a bool/,
  );
});

Deno.test("decode rejects bytes that are not a Uint8Array with TypeError", () => {
  assert.throws(() => decode(u8, [1] as unknown as Uint8Array), TypeError);
});

Deno.test("decode reads a subarray in place and returns copies of bytes and strings", () => {
  const backing = new Uint8Array(64);
  const archive = encode(tuple(vec(u8), string), [new Uint8Array([5, 6]), "long enough string"]);
  // Starts at an 8-aligned offset, as piecrust's argument buffer does.
  backing.set(archive, 8);
  const view = backing.subarray(8, 8 + archive.length);
  const [data, text] = decode(tuple(vec(u8), string), view);
  backing.fill(0);
  assert.deepEqual(data, new Uint8Array([5, 6]));
  assert.equal(text, "long enough string");
});

Deno.test("encode returns an exactly sized buffer for values without out-of-line data", () => {
  assert.equal(encode(u64, 1n).buffer.byteLength, 8);
  assert.equal(encode(Padded, { a: 1, b: 2n, c: 3 }).buffer.byteLength, 16);
  assert.equal(encode(unit, undefined).length, 0);
});

Deno.test("encode after a failed encode still writes zero padding", () => {
  const person = {
    name: "Alice Wonderland",
    nickname: "Al",
    tags: ["admin", "a long tag for testing"],
    age: 33,
    active: true,
  };
  // Fails after the strings were written, leaving bytes in the reused buffer.
  assert.throws(() => encode(Person, { ...person, active: 1 as unknown as boolean }), TypeError);
  // Padded's padding bytes 11..16 lie where "Alice Wonderland" was written.
  const padded = { a: 0x11, b: 0x2222222222222222n, c: 0x3333 };
  assert.equal(encode(Padded, padded).toHex(), GOLDEN.padded);
  assert.equal(encode(Person, person).toHex(), GOLDEN.person);
});

Deno.test("encode rejects values of the wrong JavaScript type with TypeError", () => {
  const wrong: [Schema<unknown>, unknown][] = [
    [u8 as Schema<unknown>, "1"],
    [u64 as Schema<unknown>, 1],
    [bool as Schema<unknown>, 1],
    [string as Schema<unknown>, 5],
    [string as Schema<unknown>, "lone \ud800 surrogate"],
    [unit as Schema<unknown>, null],
    [bytes(2) as Schema<unknown>, [1, 2]],
    [vec(u8) as Schema<unknown>, [1, 2]],
    [vec(u16) as Schema<unknown>, new Uint16Array(2)],
    [Padded as Schema<unknown>, null],
    [result(u8, u8) as Schema<unknown>, { value: 1 }],
    [Shape as Schema<unknown>, { tag: "Triangle" }],
    [option(u64) as Schema<unknown>, undefined],
    [tuple(u8, u8) as Schema<unknown>, { 0: 1, 1: 2 }],
  ];
  for (const [schema, value] of wrong) {
    assert.throws(() => encode(schema, value), TypeError, `${schema.name} given ${String(value)}`);
  }
});

Deno.test("encode rejects out-of-range values with RangeError", () => {
  const outOfRange: [Schema<unknown>, unknown][] = [
    [u8 as Schema<unknown>, 256],
    [u8 as Schema<unknown>, -1],
    [i8 as Schema<unknown>, 128],
    [u16 as Schema<unknown>, 1.5],
    [i32 as Schema<unknown>, 2 ** 31],
    [usize as Schema<unknown>, 2 ** 32],
    [u64 as Schema<unknown>, -1n],
    [u64 as Schema<unknown>, 2n ** 64n],
    [i64 as Schema<unknown>, 2n ** 63n],
    [u128 as Schema<unknown>, 2n ** 128n],
    [i128 as Schema<unknown>, -(2n ** 127n) - 1n],
    [char as Schema<unknown>, "ab"],
    [char as Schema<unknown>, ""],
    [char as Schema<unknown>, "\udc00"],
    [bytes(2) as Schema<unknown>, new Uint8Array(3)],
    [array(u16, 2) as Schema<unknown>, [1]],
    [tuple(u8, u8) as Schema<unknown>, [1, 2, 3]],
  ];
  for (const [schema, value] of outOfRange) {
    assert.throws(() => encode(schema, value), RangeError, `${schema.name} given ${String(value)}`);
  }
});

Deno.test("option refuses Option<Option<T>> with TypeError", () => {
  assert.throws(() => option(option(u8)), TypeError);
});

Deno.test("enumeration and struct refuse unusable definitions", () => {
  assert.throws(() => enumeration([]), RangeError);
  assert.throws(() => enumeration([["A"], ["A"]]), TypeError);
  assert.throws(() => enumeration([["A", [["tag", u8]]]]), TypeError);
  assert.throws(() => struct([["a", u8], ["a", u16]]), TypeError);
  assert.throws(() => struct([["__proto__", u8]]), TypeError);
  assert.throws(() => bytes(-1), RangeError);
});

/**
 * `[kind, Rust field types, schemas, size, align, offsets]` as rustc 1.95
 * reports them (`size_of`, `align_of`, `offset_of!`) for the archived form of
 * `#[derive(Archive)] struct S { f0: .., f1: .. }` and of tuples
 * (`rkyv::Archived<(..)>`), rkyv 0.7.46. Of 400 random structs and 150
 * random tuples over these field types, all matched; kept here are those
 * that a plain sort by alignment would get wrong.
 */
const RUSTC_LAYOUTS: [
  "struct" | "tuple",
  string,
  Schema<unknown>[],
  number,
  number,
  number[],
][] = [
  ["struct", "u64; [char; 2]", [u64, array(char, 2)], 16, 8, [8, 0]],
  ["struct", "i64; [char; 2]", [i64, array(char, 2)], 16, 8, [8, 0]],
  ["struct", "bool; char; Vec<u64>; [u8; 6]", [bool, char, vec(u64), bytes(6)], 20, 4, [
    18,
    0,
    4,
    12,
  ]],
  [
    "struct",
    "[bool; 2]; [u8; 16]; Vec<u8>; (u16, u8)",
    [array(bool, 2), bytes(16), vec(u8), tuple(u16, u8)],
    32,
    4,
    [28, 0, 16, 24],
  ],
  [
    "struct",
    "Option<u32>; Option<char>; [u8; 32]; (u32, char, u8)",
    [option(u32), option(char), bytes(32), tuple(u32, char, u8)],
    60,
    4,
    [12, 20, 28, 0],
  ],
  ["struct", "u16; (u16, u8); Vec<u8>", [u16, tuple(u16, u8), vec(u8)], 16, 4, [12, 8, 0]],
  ["struct", "u16; f32; (u16, u8)", [u16, f32, tuple(u16, u8)], 12, 4, [8, 0, 4]],
  ["struct", "u64; Vec<u8>; String; [u8; 3]; u64", [u64, vec(u8), string, bytes(3), u64], 40, 8, [
    0,
    8,
    16,
    32,
    24,
  ]],
  [
    "struct",
    "u16; i64; (u16, u8); [u8; 3]; [u8; 6]",
    [u16, i64, tuple(u16, u8), bytes(3), bytes(6)],
    24,
    8,
    [12, 0, 8, 20, 14],
  ],
  ["struct", "f32; Result<u8, u32>", [f32, result(u8, u32)], 12, 4, [8, 0]],
  [
    "struct",
    "[u8; 32]; u128; [bool; 2]; Vec<u8>",
    [bytes(32), u128, array(bool, 2), vec(u8)],
    64,
    16,
    [0, 32, 56, 48],
  ],
  [
    "struct",
    "[u8; 3]; u32; [u16; 3]; [u8; 32]; Vec<u8>",
    [bytes(3), u32, array(u16, 3), bytes(32), vec(u8)],
    56,
    4,
    [50, 40, 44, 0, 32],
  ],
  [
    "struct",
    "(bool, u64); [u16; 3]; [u8; 32]; [bool; 2]; ()",
    [tuple(bool, u64), array(u16, 3), bytes(32), array(bool, 2), unit],
    56,
    8,
    [0, 50, 16, 48, 56],
  ],
  ["struct", "[u8; 16]; char; Vec<u64>", [bytes(16), char, vec(u64)], 28, 4, [4, 0, 20]],
  ["struct", "String; (); [u8; 32]; [u16; 3]", [string, unit, bytes(32), array(u16, 3)], 48, 4, [
    32,
    46,
    0,
    40,
  ]],
  [
    "struct",
    "String; f32; [u8; 16]; (u32, char, u8); Option<u64>",
    [string, f32, bytes(16), tuple(u32, char, u8), option(u64)],
    56,
    8,
    [32, 40, 0, 44, 16],
  ],
  ["struct", "u64; (bool, u64)", [u64, tuple(bool, u64)], 24, 8, [16, 0]],
  [
    "struct",
    "u64; Option<u64>; (u16, u8); bool; Option<bool>",
    [u64, option(u64), tuple(u16, u8), bool, option(bool)],
    32,
    8,
    [16, 0, 24, 30, 28],
  ],
  [
    "struct",
    "f32; [bool; 2]; Result<u8, u32>; [u16; 3]; u32",
    [f32, array(bool, 2), result(u8, u32), array(u16, 3), u32],
    24,
    4,
    [8, 16, 0, 18, 12],
  ],
  [
    "struct",
    "u32; Vec<u64>; [bool; 2]; (bool, u64)",
    [u32, vec(u64), array(bool, 2), tuple(bool, u64)],
    32,
    8,
    [24, 16, 28, 0],
  ],
  [
    "struct",
    "u8; Option<u64>; [char; 2]; u128; Vec<u64>",
    [u8, option(u64), array(char, 2), u128, vec(u64)],
    64,
    16,
    [48, 16, 40, 0, 32],
  ],
  ["struct", "(u8, bool); [u8; 6]; u16; char", [tuple(u8, bool), bytes(6), u16, char], 16, 4, [
    4,
    6,
    12,
    0,
  ]],
  ["struct", "u128; i64; f32; String", [u128, i64, f32, string], 48, 16, [0, 16, 32, 24]],
  [
    "tuple",
    "String; [u8; 32]; (u16, u8); [u16; 3]",
    [string, bytes(32), tuple(u16, u8), array(u16, 3)],
    52,
    4,
    [32, 0, 40, 44],
  ],
  ["tuple", "String; u64; f32; u128", [string, u64, f32, u128], 48, 16, [0, 8, 16, 32]],
  [
    "tuple",
    "Result<u8, u32>; [u8; 16]; u8; [char; 2]; Vec<u64>",
    [result(u8, u32), bytes(16), u8, array(char, 2), vec(u64)],
    44,
    4,
    [8, 16, 32, 0, 36],
  ],
  ["tuple", "u128; u32; Option<u32>; (u16, u8)", [u128, u32, option(u32), tuple(u16, u8)], 32, 16, [
    0,
    24,
    16,
    28,
  ]],
  [
    "tuple",
    "i64; [char; 2]; [u8; 3]; Vec<u64>; f32",
    [i64, array(char, 2), bytes(3), vec(u64), f32],
    32,
    8,
    [8, 0, 24, 16, 28],
  ],
  [
    "tuple",
    "(u16, u8); Option<bool>; [u8; 3]; u32; Option<char>",
    [tuple(u16, u8), option(bool), bytes(3), u32, option(char)],
    24,
    4,
    [0, 8, 10, 4, 16],
  ],
  [
    "tuple",
    "[bool; 2]; (); (u8, bool); (u8, bool); u32",
    [array(bool, 2), unit, tuple(u8, bool), tuple(u8, bool), u32],
    12,
    4,
    [0, 6, 2, 4, 8],
  ],
  ["tuple", "f32; char; i64; char", [f32, char, i64, char], 24, 8, [12, 8, 0, 16]],
  [
    "tuple",
    "(); Vec<u64>; [char; 2]; [u8; 6]; Result<u8, u32>",
    [unit, vec(u64), array(char, 2), bytes(6), result(u8, u32)],
    32,
    4,
    [22, 8, 0, 16, 24],
  ],
  ["tuple", "Option<char>; char; u16", [option(char), char, u16], 16, 4, [4, 0, 12]],
  [
    "tuple",
    "[u8; 16]; (u16, u8); Vec<u8>; Option<u8>",
    [bytes(16), tuple(u16, u8), vec(u8), option(u8)],
    32,
    4,
    [0, 24, 16, 28],
  ],
  [
    "tuple",
    "Vec<u64>; Option<u8>; (u8, bool); u64; i64",
    [vec(u64), option(u8), tuple(u8, bool), u64, i64],
    32,
    8,
    [0, 16, 18, 8, 24],
  ],
];

Deno.test("structLayout places fields where rustc 1.95 places them", () => {
  for (const [kind, rust, fields, size, align, offsets] of RUSTC_LAYOUTS) {
    const layout = structLayout(fields, kind === "struct" ? "rust" : "tuple");
    assert.deepEqual([layout.size, layout.align, layout.offsets], [size, align, offsets], rust);
    const schema = kind === "struct"
      ? struct(fields.map((field, i) => [`f${i}`, field] as const))
      : tuple(...fields);
    assert.deepEqual([schema.size, schema.align], [size, align], rust);
  }
});

Deno.test("Schema size and align match the archived Rust types", () => {
  assert.deepEqual([Padded.size, Padded.align], [16, 8]);
  assert.deepEqual([PaddedC.size, PaddedC.align], [24, 8]);
  assert.deepEqual([Person.size, Person.align], [32, 4]);
  assert.deepEqual([contractError.size, contractError.align], [12, 4]);
  assert.deepEqual([option(u64).size, option(bytes(33)).size, option(i16).size], [16, 34, 4]);
  assert.deepEqual([u128.align, tuple(u8, u64).size, tuple().size], [16, 16, 0]);
});

Deno.test("encode and decode round-trip nested values", () => {
  const Ledger = struct([
    ["owner", contractId],
    ["entries", vec(tuple(string, option(vec(u64)), result(i128, contractError)))],
    ["labels", array(string, 3)],
    ["limits", option(tuple(f32, f64, char))],
    ["blob", vec(vec(u8))],
  ]);
  const value: Infer<typeof Ledger> = {
    owner: ID,
    entries: [
      ["first entry, out of line", [1n, 2n ** 64n - 1n], { ok: true, value: -(2n ** 127n) }],
      ["short", null, { ok: false, error: { tag: "Panic", message: "a panic long enough" } }],
      ["", [], { ok: false, error: { tag: "DoesNotExist" } }],
    ],
    labels: ["ééé" + "a", "éééé", "a string of more than thirty-two bytes, ending in é"],
    limits: [0.5, Number.MAX_VALUE, "\u{10ffff}"],
    blob: [new Uint8Array([1]), new Uint8Array(), new Uint8Array(300).fill(7)],
  };
  const archive = encode(Ledger, value);
  assert.deepEqual(decode(Ledger, archive), value);
  assert.deepEqual(encode(Ledger, decode(Ledger, archive)), archive);
  assert.equal(decode(vec(unit), encode(vec(unit), [undefined, undefined])).length, 2);
});

Deno.test("Infer derives value types from schemas", () => {
  const person: Infer<typeof Person> = {
    name: "Carol",
    nickname: null,
    tags: [],
    age: 1,
    active: true,
  };
  // @ts-expect-error: u64 takes a bigint
  const wrong: Infer<typeof Account> = { id: ID, balance: 1, nonce: 0, frozen: false };
  const shape: Infer<typeof Shape> = { tag: "Rect", w: 1, h: 2n };
  // @ts-expect-error: Rect needs h
  const partial: Infer<typeof Shape> = { tag: "Rect", w: 1 };
  assert.equal(typeof wrong.balance, "number");
  assert.throws(() => encode(Shape, partial), TypeError);
  assert.deepEqual(decode(Person, encode(Person, person)), person);
  assert.deepEqual(decode(Shape, encode(Shape, shape)), shape);
});
