/**
 * Deno's synchronous file API over `node:fs`, as far as the VM uses it.
 *
 * @module
 */

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { translate, translated } from "./errors.ts";
import { dlopen, UnsafePointerView } from "./ffi.ts";

/** `Deno.FileInfo`, the fields the VM reads. */
export interface FileInfo {
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  size: number;
  mtime: Date | null;
  atime: Date | null;
  birthtime: Date | null;
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  blocks: number;
}

function fileInfo(stats: fs.Stats): FileInfo {
  return {
    isFile: stats.isFile(),
    isDirectory: stats.isDirectory(),
    isSymlink: stats.isSymbolicLink(),
    size: stats.size,
    mtime: stats.mtime,
    atime: stats.atime,
    birthtime: stats.birthtime,
    dev: stats.dev,
    ino: stats.ino,
    mode: stats.mode,
    nlink: stats.nlink,
    uid: stats.uid,
    gid: stats.gid,
    blocks: stats.blocks,
  };
}

/** A plain Uint8Array over a Buffer's bytes: `Buffer#slice` shares memory, `Uint8Array#slice` copies. */
const plain = (buffer: Buffer) => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);

export const readFileSync = (file: string | URL): Uint8Array<ArrayBuffer> =>
  translated(() => plain(fs.readFileSync(file))) as Uint8Array<ArrayBuffer>;

export const readTextFileSync = (file: string | URL): string =>
  translated(() => fs.readFileSync(file, "utf8"));

/** `Deno.WriteFileOptions`. */
export interface WriteFileOptions {
  append?: boolean;
  create?: boolean;
  createNew?: boolean;
  mode?: number;
}

export function writeFileSync(
  file: string | URL,
  data: Uint8Array,
  options: WriteFileOptions = {},
): void {
  const flag = options.createNew ? "wx" : options.append ? "a" : "w";
  if (options.create === false) statSync(file);
  translated(() => fs.writeFileSync(file, data, { flag, mode: options.mode }));
}

export const writeTextFileSync = (file: string | URL, text: string): void =>
  writeFileSync(file, new TextEncoder().encode(text));

export const statSync = (file: string | URL): FileInfo =>
  translated(() => fileInfo(fs.statSync(file)));

export const lstatSync = (file: string | URL): FileInfo =>
  translated(() => fileInfo(fs.lstatSync(file)));

export function mkdirSync(
  dir: string | URL,
  options: { recursive?: boolean; mode?: number } = {},
): void {
  const target = dir instanceof URL ? dir.pathname : dir;
  translated(() =>
    options.recursive
      ? mkdirRecursive(target, options.mode)
      : fs.mkdirSync(target, { mode: options.mode })
  );
}

/**
 * `mkdir -p`, done here: Node.js 26's own `recursive` loops forever where
 * the kernel refuses a folder under an existing one with ENOENT (`/proc`).
 */
function mkdirRecursive(dir: string, mode: number | undefined): void {
  try {
    fs.mkdirSync(dir, { mode });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "EEXIST" && fs.statSync(dir).isDirectory()) return;
    const parent = path.dirname(dir);
    if (code !== "ENOENT" || parent === dir) throw error;
    mkdirRecursive(parent, mode);
    // The parent is there now: a second refusal is this folder's own.
    fs.mkdirSync(dir, { mode });
  }
}

/** Deno removes a file or an empty folder, or anything with `recursive`. */
export function removeSync(file: string | URL, options: { recursive?: boolean } = {}): void {
  translated(() => {
    if (options.recursive) {
      fs.lstatSync(file);
      fs.rmSync(file, { recursive: true, force: true });
    } else if (fs.lstatSync(file).isDirectory()) {
      fs.rmdirSync(file);
    } else {
      fs.unlinkSync(file);
    }
  });
}

export const renameSync = (from: string | URL, to: string | URL): void =>
  translated(() => fs.renameSync(from, to));

export const linkSync = (from: string, to: string): void => translated(() => fs.linkSync(from, to));

export const chmodSync = (file: string | URL, mode: number): void =>
  translated(() => fs.chmodSync(file, mode));

/** `Deno.DirEntry`. */
export interface DirEntry {
  name: string;
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
}

export const readDirSync = (dir: string | URL): DirEntry[] =>
  translated(() =>
    fs.readdirSync(dir, { withFileTypes: true }).map((entry) => ({
      name: entry.name,
      isFile: entry.isFile(),
      isDirectory: entry.isDirectory(),
      isSymlink: entry.isSymbolicLink(),
    }))
  );

/** `Deno.MakeTempOptions`. */
export interface MakeTempOptions {
  dir?: string;
  prefix?: string;
  suffix?: string;
}

export function makeTempDirSync(options: MakeTempOptions = {}): string {
  const made = translated(() =>
    fs.mkdtempSync(path.join(options.dir ?? os.tmpdir(), options.prefix ?? ""))
  );
  if (!options.suffix) return made;
  renameSync(made, made + options.suffix);
  return made + options.suffix;
}

export const makeTempDir = (options: MakeTempOptions = {}): Promise<string> =>
  Promise.resolve().then(() => makeTempDirSync(options));

export function makeTempFileSync(options: MakeTempOptions = {}): string {
  const dir = options.dir ?? os.tmpdir();
  for (;;) {
    const name = `${options.prefix ?? ""}${Math.random().toString(36).slice(2, 10)}${
      options.suffix ?? ""
    }`;
    const file = path.join(dir, name);
    try {
      fs.closeSync(fs.openSync(file, "wx", 0o600));
      return file;
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw translate(error);
    }
  }
}

/** `Deno.OpenOptions`. */
export interface OpenOptions {
  read?: boolean;
  write?: boolean;
  append?: boolean;
  truncate?: boolean;
  create?: boolean;
  createNew?: boolean;
  mode?: number;
}

/** `Deno.SeekMode`. */
export const SeekMode = { Start: 0, Current: 1, End: 2 } as const;

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;
let flock: ((fd: number, operation: number) => number) | undefined;
let errnoLocation: (() => bigint | number | null) | undefined;

/** `flock(fd, operation | LOCK_NB)`: false if another open file holds the lock. */
function tryFlock(fd: number, operation: number): boolean {
  if (flock === undefined) {
    const { symbols } = dlopen("libc.so.6", {
      flock: { parameters: ["i32", "i32"], result: "i32" },
      __errno_location: { parameters: [], result: "pointer" },
    });
    flock = symbols.flock!;
    errnoLocation = symbols.__errno_location!;
  }
  if (flock(fd, operation | LOCK_NB) === 0) return true;
  const errno = new UnsafePointerView(errnoLocation!()!).getInt32();
  if (errno === EWOULDBLOCK) return false;
  throw new Error(`flock failed (errno ${errno})`);
}

/** `Deno.FsFile` over a Node.js file descriptor, with its own position as Deno's has. */
export class FsFile {
  readonly #fd: number;
  #position = 0;
  #closed = false;

  constructor(fd: number) {
    this.#fd = fd;
  }

  readSync(buffer: Uint8Array): number | null {
    if (buffer.length === 0) return 0;
    const read = translated(() => fs.readSync(this.#fd, buffer, 0, buffer.length, this.#position));
    this.#position += read;
    return read === 0 ? null : read;
  }

  writeSync(buffer: Uint8Array): number {
    const written = translated(() =>
      fs.writeSync(this.#fd, buffer, 0, buffer.length, this.#position)
    );
    this.#position += written;
    return written;
  }

  seekSync(offset: number | bigint, whence: number): number {
    const base = whence === SeekMode.Start
      ? 0
      : whence === SeekMode.Current
      ? this.#position
      : this.statSync().size;
    this.#position = base + Number(offset);
    return this.#position;
  }

  syncSync(): void {
    translated(() => fs.fsyncSync(this.#fd));
  }

  syncDataSync(): void {
    translated(() => fs.fdatasyncSync(this.#fd));
  }

  statSync(): FileInfo {
    return translated(() => fileInfo(fs.fstatSync(this.#fd)));
  }

  tryLockSync(exclusive = false): boolean {
    return tryFlock(this.#fd, exclusive ? LOCK_EX : LOCK_SH);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    translated(() => fs.closeSync(this.#fd));
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export function openSync(file: string | URL, options: OpenOptions = { read: true }): FsFile {
  const { constants } = fs;
  let flags = options.write || options.append
    ? (options.read ? constants.O_RDWR : constants.O_WRONLY)
    : constants.O_RDONLY;
  if (options.append) flags |= constants.O_APPEND;
  if (options.truncate) flags |= constants.O_TRUNC;
  if (options.createNew) flags |= constants.O_CREAT | constants.O_EXCL;
  else if (options.create) flags |= constants.O_CREAT;
  return new FsFile(translated(() => fs.openSync(file, flags, options.mode ?? 0o666)));
}
