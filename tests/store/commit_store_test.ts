/** Tests of src/store/: the commit store, its chain resolution, verification and publishing. */

import assert from "node:assert/strict";
import { ContractMemory, WASM_PAGE_SIZE } from "../../src/memory/mod.ts";
import { blake3 } from "../../src/merkle/blake3.ts";
import {
  type CommitContract,
  type CommitData,
  openCommitStore,
  packChecksum,
  parseManifest,
  publishCommit,
  stageCommit,
} from "../../src/store/mod.ts";
import { assertNoLiveHandles, assertThrowsKind } from "../_helpers.ts";

/** Writes `data` as a commit of `dir` with no store open, as another process would. */
function writeCommit(dir: string, data: CommitData): void {
  publishCommit(dir, stageCommit(dir, data).folder, data.root);
}

const A = "0a".repeat(32);
const B = "0b".repeat(32);
const C = "0c".repeat(32);
const ROOT1 = "01".repeat(32);
const ROOT2 = "02".repeat(32);
const ROOT3 = "03".repeat(32);
/** These tests check page resolution, not Merkle trees: any page-tree root will do. */
const NO_PAGE_ROOT = new Uint8Array(32);
const WASM_A = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 0xaa]);
const WASM_B = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 0xbb]);
const WASM_C = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 0xcc]);

/** A page whose bytes say which commit, contract and page wrote it. */
function page(root: string, id: string, index: number): Uint8Array {
  const bytes = new Uint8Array(WASM_PAGE_SIZE);
  bytes[0] = parseInt(root.slice(0, 2), 16);
  bytes[1] = parseInt(id.slice(0, 2), 16);
  bytes[2] = index;
  bytes[WASM_PAGE_SIZE - 1] = 0x5a;
  return bytes;
}

function commit(root: string, base: string | null, contracts: CommitContract[]): CommitData {
  return { root, base, contracts, readPage: (id, index) => page(root, id, index) };
}

const hashA = blake3(WASM_A).toHex();
const hashB = blake3(WASM_B).toHex();

/**
 * 1: deploy A (pages 0, 1, 3 of 4) and B (page 0 of 1).
 * 2: A writes pages 1, 2 and grows to 6; C deployed (no pages).
 * 3: A writes pages 0 and 5; B writes page 0 and grows to 2.
 */
const CHAIN: CommitData[] = [
  commit(ROOT1, null, [
    {
      id: A,
      owner: new Uint8Array([1]),
      is64: false,
      memoryLength: 4 * WASM_PAGE_SIZE,
      leafIndex: 1,
      bytecode: WASM_A,
      pageRoot: NO_PAGE_ROOT,
      pages: [3, 0, 1],
    },
    {
      id: B,
      owner: new Uint8Array([2]),
      is64: true,
      memoryLength: WASM_PAGE_SIZE,
      leafIndex: 2,
      bytecode: WASM_B,
      pageRoot: NO_PAGE_ROOT,
      pages: [0],
    },
  ]),
  commit(ROOT2, ROOT1, [
    {
      id: A,
      owner: new Uint8Array([1]),
      is64: false,
      memoryLength: 6 * WASM_PAGE_SIZE,
      leafIndex: 1,
      bytecodeHash: hashA,
      pageRoot: NO_PAGE_ROOT,
      pages: [1, 2],
    },
    {
      id: C,
      owner: new Uint8Array([3]),
      is64: false,
      memoryLength: WASM_PAGE_SIZE,
      leafIndex: 3,
      bytecode: WASM_C,
      pageRoot: NO_PAGE_ROOT,
      pages: [],
    },
  ]),
  commit(ROOT3, ROOT2, [
    {
      id: A,
      owner: new Uint8Array([1]),
      is64: false,
      memoryLength: 6 * WASM_PAGE_SIZE,
      leafIndex: 1,
      bytecodeHash: hashA,
      pageRoot: NO_PAGE_ROOT,
      pages: [0, 5],
    },
    {
      id: B,
      owner: new Uint8Array([2]),
      is64: true,
      memoryLength: 2 * WASM_PAGE_SIZE,
      leafIndex: 2,
      bytecodeHash: hashB,
      pageRoot: NO_PAGE_ROOT,
      pages: [0],
    },
  ]),
];

function chainDir(): string {
  const dir = Deno.makeTempDirSync({ prefix: "piecrust-store-" });
  for (const data of CHAIN) writeCommit(dir, data);
  return dir;
}

Deno.test("openCommitStore lists a written chain of commits after reopening", () => {
  const dir = chainDir();
  try {
    const store = openCommitStore(dir);
    assert.deepEqual(store.commits(), [ROOT1, ROOT2, ROOT3]);
    assert.equal(store.manifest(ROOT3).base, ROOT2);
    for (const root of store.commits()) store.verifyCommit(root);
    assert.deepEqual(store.contracts(ROOT1), [{ id: A, leafIndex: 1 }, { id: B, leafIndex: 2 }]);
    assert.deepEqual(store.contracts(ROOT3), [
      { id: A, leafIndex: 1 },
      { id: B, leafIndex: 2 },
      { id: C, leafIndex: 3 },
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("CommitStore.contractState resolves the newest version of every page", () => {
  const dir = chainDir();
  try {
    const store = openCommitStore(dir);
    const a = store.contractState(ROOT3, A)!;
    assert.equal(a.memoryLength, 6 * WASM_PAGE_SIZE);
    assert.equal(a.leafIndex, 1);
    assert.equal(a.is64, false);
    assert.deepEqual(a.owner, new Uint8Array([1]));
    assert.equal(a.bytecodeHash, hashA);
    assert.equal(a.bytecodePath, `${dir}/commits/${ROOT1}/${A}.wasm`);
    assert.deepEqual(Deno.readFileSync(a.bytecodePath), WASM_A);
    const from: Record<number, string> = { 0: ROOT3, 1: ROOT2, 2: ROOT2, 3: ROOT1, 5: ROOT3 };
    assert.deepEqual([...a.leaves.keys()].sort(), [0, 1, 2, 3, 5]);
    for (const [index, root] of Object.entries(from)) {
      assert.deepEqual(a.leaves.get(Number(index)), blake3(page(root, A, Number(index))));
    }
    // Pages 1 and 2 of commit 2 are adjacent in memory and in its pack: one mapping.
    assert.deepEqual(
      a.files.map((
        f,
      ) => [
        f.path.split("/").at(-2),
        f.memoryOffset / WASM_PAGE_SIZE,
        f.byteLength / WASM_PAGE_SIZE,
      ]),
      [[ROOT3, 0, 1], [ROOT2, 1, 2], [ROOT1, 3, 1], [ROOT3, 5, 1]],
    );

    // At an older commit, the older versions.
    const a1 = store.contractState(ROOT1, A)!;
    assert.equal(a1.memoryLength, 4 * WASM_PAGE_SIZE);
    assert.deepEqual(
      a1.files.map((f) => [f.memoryOffset / WASM_PAGE_SIZE, f.byteLength / WASM_PAGE_SIZE]),
      [
        [0, 2],
        [3, 1],
      ],
    );

    const b = store.contractState(ROOT3, B)!;
    assert.equal(b.memoryLength, 2 * WASM_PAGE_SIZE);
    assert.equal(b.is64, true);
    assert.deepEqual(b.leaves, new Map([[0, blake3(page(ROOT3, B, 0))]]));
    const c = store.contractState(ROOT3, C)!;
    assert.deepEqual(c.files, []);
    assert.equal(c.bytecodePath, `${dir}/commits/${ROOT2}/${C}.wasm`);
    assert.equal(store.contractState(ROOT1, C), undefined);
    assertThrowsKind(() => store.contractState("ff".repeat(32), A), "PersistenceError");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("CommitStore.contractState files map directly into a ContractMemory", () => {
  const dir = chainDir();
  try {
    const store = openCommitStore(dir);
    const a = store.contractState(ROOT3, A)!;
    {
      using memory = new ContractMemory(2 ** 32, { byteLength: a.memoryLength, files: a.files });
      const view = memory.view();
      const expected: Record<number, Uint8Array> = {
        0: page(ROOT3, A, 0),
        1: page(ROOT2, A, 1),
        2: page(ROOT2, A, 2),
        3: page(ROOT1, A, 3),
        4: new Uint8Array(WASM_PAGE_SIZE),
        5: page(ROOT3, A, 5),
      };
      for (const [index, bytes] of Object.entries(expected)) {
        const start = Number(index) * WASM_PAGE_SIZE;
        const actual = view.subarray(start, start + WASM_PAGE_SIZE);
        assert.deepEqual([...actual.subarray(0, 4)], [...bytes.subarray(0, 4)], `page ${index}`);
        assert.equal(actual[WASM_PAGE_SIZE - 1], bytes[WASM_PAGE_SIZE - 1], `page ${index} end`);
        assert.deepEqual(blake3(actual), blake3(bytes), `page ${index}`);
      }
      // Copy-on-write: writing the memory leaves the committed file alone.
      view[0] = 0xee;
    }
    store.verifyCommit(ROOT3);
    assertNoLiveHandles();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("CommitStore.contractState drops pages older than a redeploy of the id", () => {
  const dir = chainDir();
  try {
    const root4 = "04".repeat(32);
    const store = openCommitStore(dir);
    store.writeCommit(commit(root4, ROOT3, [
      {
        id: A,
        owner: new Uint8Array([9]),
        is64: false,
        memoryLength: 2 * WASM_PAGE_SIZE,
        leafIndex: 1,
        bytecode: WASM_B,
        pageRoot: NO_PAGE_ROOT,
        pages: [1],
      },
    ]));
    const a = store.contractState(root4, A)!;
    assert.equal(a.bytecodePath, `${dir}/commits/${root4}/${A}.wasm`);
    assert.equal(a.bytecodeHash, hashB);
    assert.deepEqual([...a.leaves.keys()], [1]);
    assert.deepEqual(a.files.map((f) => f.memoryOffset), [WASM_PAGE_SIZE]);
    assert.equal(store.contractState(ROOT3, A)!.leaves.size, 5);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openCommitStore removes leftovers in tmp/", () => {
  const dir = chainDir();
  try {
    Deno.mkdirSync(`${dir}/tmp/half-written`, { recursive: true });
    Deno.writeFileSync(`${dir}/tmp/half-written/manifest.json`, new Uint8Array([123]));
    Deno.writeFileSync(`${dir}/tmp/stray`, new Uint8Array(10));
    const store = openCommitStore(dir);
    assert.deepEqual([...Deno.readDirSync(`${dir}/tmp`)], []);
    assert.deepEqual(store.commits(), [ROOT1, ROOT2, ROOT3]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openCommitStore creates a missing VM directory", () => {
  const parent = Deno.makeTempDirSync({ prefix: "piecrust-store-" });
  const dir = `${parent}/vm`;
  try {
    const store = openCommitStore(dir);
    assert.deepEqual(store.commits(), []);
    assert.ok(Deno.statSync(`${dir}/commits`).isDirectory);
  } finally {
    Deno.removeSync(parent, { recursive: true });
  }
});

Deno.test("CommitStore.verifyCommit detects a byte-flipped file, naming the commit", () => {
  const dir = chainDir();
  try {
    const path = `${dir}/commits/${ROOT2}/${A}.pages`;
    const bytes = Deno.readFileSync(path);
    bytes[70000] ^= 1;
    Deno.chmodSync(path, 0o644); // Commit files are read-only: tampering must lift that.
    Deno.writeFileSync(path, bytes);
    const store = openCommitStore(dir); // Sizes are unchanged: open succeeds.
    store.verifyCommit(ROOT1);
    const error = assertThrowsKind(() => store.verifyCommit(ROOT2), "PersistenceError");
    assert.match(error.message, new RegExp(`Commit ${ROOT2}.*${A}\\.pages.*checksum`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openCommitStore and CommitStore.verifyCommit detect a truncated file, naming the commit", () => {
  const dir = chainDir();
  try {
    const store = openCommitStore(dir);
    const path = `${dir}/commits/${ROOT1}/${B}.wasm`;
    Deno.chmodSync(path, 0o644); // Commit files are read-only: tampering must lift that.
    Deno.truncateSync(path, 3);
    const verify = assertThrowsKind(() => store.verifyCommit(ROOT1), "PersistenceError");
    assert.match(verify.message, new RegExp(`Commit ${ROOT1}.*${B}\\.wasm`));
    const open = assertThrowsKind(() => openCommitStore(dir), "PersistenceError");
    assert.match(open.message, new RegExp(`Commit ${ROOT1}.*${B}\\.wasm has 3 bytes`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openCommitStore detects a truncated manifest or a missing base, naming the commit", () => {
  const dir = chainDir();
  try {
    const path = `${dir}/commits/${ROOT3}/manifest.json`;
    const bytes = Deno.readFileSync(path);
    Deno.chmodSync(path, 0o644); // Commit files are read-only: tampering must lift that.
    Deno.writeFileSync(path, bytes.subarray(0, bytes.length >> 1));
    const error = assertThrowsKind(() => openCommitStore(dir), "PersistenceError");
    assert.match(error.message, new RegExp(`Commit ${ROOT3}: manifest.json is not valid JSON`));
    Deno.removeSync(`${dir}/commits/${ROOT3}`, { recursive: true });
    Deno.removeSync(`${dir}/commits/${ROOT1}`, { recursive: true });
    const base = assertThrowsKind(() => openCommitStore(dir), "PersistenceError");
    assert.match(base.message, new RegExp(`Commit ${ROOT2}: its base commit ${ROOT1} is missing`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("openCommitStore detects a byte-flipped manifest that still parses, naming the commit", () => {
  const dir = chainDir();
  try {
    const path = `${dir}/commits/${ROOT1}/manifest.json`;
    const text = new TextDecoder().decode(Deno.readFileSync(path));
    assert.ok(text.includes('"intPos":2,'));
    Deno.chmodSync(path, 0o644); // Commit files are read-only: tampering must lift that.
    Deno.writeFileSync(path, new TextEncoder().encode(text.replace('"intPos":2,', '"intPos":7,')));
    const error = assertThrowsKind(() => openCommitStore(dir), "PersistenceError");
    assert.match(error.message, new RegExp(`Commit ${ROOT1}: manifest.json does not match`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("CommitStore.writeCommit of the same root twice is a no-op", () => {
  const dir = chainDir();
  try {
    const path = `${dir}/commits/${ROOT2}/manifest.json`;
    const before = Deno.statSync(path);
    writeCommit(dir, CHAIN[1]);
    const after = Deno.statSync(path);
    assert.equal(after.ino, before.ino);
    assert.equal(after.mtime?.getTime(), before.mtime?.getTime());
    assert.deepEqual([...Deno.readDirSync(`${dir}/tmp`)], []);
    const store = openCommitStore(dir);
    store.writeCommit(CHAIN[2]);
    assert.deepEqual(store.commits(), [ROOT1, ROOT2, ROOT3]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("CommitStore.writeCommit keeps the existing commit under an existing root", () => {
  const dir = chainDir();
  try {
    const different = commit(ROOT2, ROOT1, [
      {
        id: A,
        owner: new Uint8Array([1]),
        is64: false,
        memoryLength: 6 * WASM_PAGE_SIZE,
        leafIndex: 1,
        bytecodeHash: hashA,
        pageRoot: NO_PAGE_ROOT,
        pages: [1],
      },
    ]);
    const manifest = Deno.readFileSync(`${dir}/commits/${ROOT2}/manifest.json`);
    writeCommit(dir, different);
    assert.deepEqual(Deno.readFileSync(`${dir}/commits/${ROOT2}/manifest.json`), manifest);
    assert.deepEqual([...Deno.readDirSync(`${dir}/tmp`)], []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("stageCommit rejects malformed input and a missing base", () => {
  const dir = Deno.makeTempDirSync({ prefix: "piecrust-store-" });
  try {
    const good: CommitContract = {
      id: A,
      owner: new Uint8Array(),
      is64: false,
      memoryLength: WASM_PAGE_SIZE,
      leafIndex: 1,
      bytecode: WASM_A,
      pageRoot: NO_PAGE_ROOT,
      pages: [0],
    };
    assert.throws(() => writeCommit(dir, commit("XY", null, [good])), TypeError);
    assert.throws(
      () => writeCommit(dir, commit(ROOT1, null, [{ ...good, pages: [1] }])),
      TypeError,
    );
    assert.throws(() => writeCommit(dir, commit(ROOT1, null, [good, good])), TypeError);
    assert.throws(
      () => writeCommit(dir, commit(ROOT1, null, [{ ...good, bytecodeHash: hashA }])),
      TypeError,
    );
    assert.throws(
      () => writeCommit(dir, { ...commit(ROOT1, null, [good]), readPage: () => new Uint8Array(5) }),
      TypeError,
    );
    assertThrowsKind(() => writeCommit(dir, commit(ROOT2, ROOT1, [good])), "PersistenceError");
    assert.deepEqual(openCommitStore(dir).commits(), []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parseManifest rejects pages outside their pack, naming the commit", () => {
  const dir = chainDir();
  try {
    const bytes = Deno.readFileSync(`${dir}/commits/${ROOT1}/manifest.json`);
    const manifest = JSON.parse(new TextDecoder().decode(bytes));
    manifest.contracts[0].pages[0][2] = 10 * WASM_PAGE_SIZE;
    const error = assertThrowsKind(
      () => parseManifest(ROOT1, new TextEncoder().encode(JSON.stringify(manifest))),
      "PersistenceError",
    );
    assert.match(error.message, new RegExp(`Commit ${ROOT1}: .*invalid offset`));
    assertThrowsKind(() => parseManifest(ROOT2, bytes), "PersistenceError");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("stageCommit records each pack's checksum over the leaves of its pages", () => {
  const dir = chainDir();
  try {
    const manifest = openCommitStore(dir).manifest(ROOT1);
    const leaves = [0, 1, 3].map((index) => blake3(page(ROOT1, A, index)));
    assert.equal(manifest.checksums[`${A}.pages`], packChecksum(leaves));
    assert.deepEqual(
      manifest.contracts[0].pages.map((entry) => entry[3]),
      leaves.map((leaf) => leaf.toHex()),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parseManifest refuses a manifest of format version 2, saying so", () => {
  const dir = chainDir();
  try {
    const bytes = Deno.readFileSync(`${dir}/commits/${ROOT1}/manifest.json`);
    const manifest = JSON.parse(new TextDecoder().decode(bytes));
    assert.equal(manifest.version, 3);
    manifest.version = 2;
    const error = assertThrowsKind(
      () => parseManifest(ROOT1, new TextEncoder().encode(JSON.stringify(manifest))),
      "PersistenceError",
    );
    assert.match(error.message, new RegExp(`Commit ${ROOT1}: manifest.json has format version 2`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("stageCommit writes runs of pages through readPages, each run in one call", () => {
  const dir = Deno.makeTempDirSync({ prefix: "piecrust-store-" });
  try {
    const runs: [number, number][] = [];
    const data: CommitData = {
      ...commit(ROOT1, null, [{
        id: A,
        owner: new Uint8Array(),
        is64: false,
        memoryLength: 8 * WASM_PAGE_SIZE,
        leafIndex: 1,
        bytecode: WASM_A,
        pageRoot: NO_PAGE_ROOT,
        pages: [6, 0, 1, 2, 4, 5],
      }]),
      readPages: (id, first, count) => {
        runs.push([first, count]);
        const bytes = new Uint8Array(count * WASM_PAGE_SIZE);
        for (let i = 0; i < count; i++) bytes.set(page(ROOT1, id, first + i), i * WASM_PAGE_SIZE);
        return bytes;
      },
    };
    writeCommit(dir, data);
    // Single pages still go through readPage.
    assert.deepEqual(runs, [[0, 3], [4, 3]]);
    const store = openCommitStore(dir);
    store.verifyCommit(ROOT1);
    const pack = Deno.readFileSync(store.contractState(ROOT1, A)!.packs[0].path);
    for (const [i, index] of [0, 1, 2, 4, 5, 6].entries()) {
      assert.deepEqual(
        pack.subarray(i * WASM_PAGE_SIZE, (i + 1) * WASM_PAGE_SIZE),
        page(ROOT1, A, index),
      );
    }
    const short = { ...data, root: ROOT2, readPages: () => new Uint8Array(WASM_PAGE_SIZE) };
    assert.throws(() => writeCommit(dir, short), TypeError);
    assert.deepEqual(openCommitStore(dir).commits(), [ROOT1]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("stageCommit calls finishHashing once, after the packs, before it reads the root", () => {
  const dir = Deno.makeTempDirSync({ prefix: "piecrust-store-" });
  try {
    const contract: CommitContract = {
      ...CHAIN[0].contracts[0],
      pageRoot: new Uint8Array(),
    };
    const seen: string[] = [];
    const data: CommitData = {
      ...commit("", null, [contract]),
      finishHashing: () => {
        const tmp = [...Deno.readDirSync(`${dir}/tmp`)];
        const pack = `${dir}/tmp/${tmp[0].name}/${A}.pages`;
        seen.push(`pack ${Deno.statSync(pack).size}`);
        data.root = ROOT1;
        contract.pageRoot = NO_PAGE_ROOT;
      },
    };
    const staged = stageCommit(dir, data);
    assert.deepEqual(seen, [`pack ${3 * WASM_PAGE_SIZE}`]);
    assert.equal(staged.manifest.root, ROOT1);
    publishCommit(dir, staged.folder, ROOT1);
    openCommitStore(dir).verifyCommit(ROOT1);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("stageCommit rejects a root or page root that finishHashing left unset, writing nothing", () => {
  const dir = Deno.makeTempDirSync({ prefix: "piecrust-store-" });
  try {
    const contract = CHAIN[0].contracts[0];
    const noRoot: CommitData = { ...commit("", null, [contract]), finishHashing: () => {} };
    assert.throws(() => stageCommit(dir, noRoot), /root must be 32-byte lowercase hex/);
    const noPageRoot: CommitData = {
      ...commit(ROOT1, null, [{ ...contract, pageRoot: new Uint8Array() }]),
      finishHashing: () => {},
    };
    assert.throws(() => stageCommit(dir, noPageRoot), /pageRoot must be 32 bytes/);
    assert.deepEqual([...Deno.readDirSync(`${dir}/tmp`)], []);
    assert.deepEqual(openCommitStore(dir).commits(), []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("CommitStore.writeCommit of an existing root known only after hashing keeps the existing commit", () => {
  const dir = chainDir();
  try {
    const manifest = Deno.readFileSync(`${dir}/commits/${ROOT2}/manifest.json`);
    const store = openCommitStore(dir);
    const data: CommitData = { ...CHAIN[1], root: "", finishHashing: () => data.root = ROOT2 };
    assert.equal(store.writeCommit(data), false);
    assert.deepEqual(Deno.readFileSync(`${dir}/commits/${ROOT2}/manifest.json`), manifest);
    assert.deepEqual([...Deno.readDirSync(`${dir}/tmp`)], []);
    assert.deepEqual(store.commits(), [ROOT1, ROOT2, ROOT3]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
