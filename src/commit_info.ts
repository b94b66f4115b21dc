/**
 * What `VM.commitInfo`, `VM.contractInfo` and `VM.verifyCommit` report
 * about the commits of a VM directory.
 *
 * @module
 */

import type { ContractId } from "./session/contract_id.ts";

/** A contract at a commit. */
export interface ContractInfo {
  /** The contract's id. */
  readonly id: ContractId;
  /** The owner bytes given at deployment. */
  readonly owner: Uint8Array;
  /** Whether the contract's memory is 64-bit (wasm64). */
  readonly is64: boolean;
  /** The memory's length in bytes at the commit. */
  readonly memoryLength: number;
  /** The contract's leaf index in the contracts tree (its position in openings). */
  readonly leafIndex: number;
  /** The BLAKE3 hash of its bytecode. */
  readonly bytecodeHash: Uint8Array;
  /** The length of its bytecode in bytes. */
  readonly bytecodeBytes: number;
  /** The root of its page tree: its leaf in the contracts tree. */
  readonly pageRoot: Uint8Array;
  /** How many 64 KiB pages of its memory are committed (the rest read as zeros). */
  readonly pages: number;
  /** How many pages this commit wrote. */
  readonly pagesWritten: number;
  /** Whether this commit deployed, wrote or grew the contract. */
  readonly changed: boolean;
}

/** A commit and what it holds. */
export interface CommitInfo {
  /** The commit's state root. */
  readonly root: Uint8Array;
  /**
   * The commit it was made on, or null if made on the empty state. The
   * base may be unlisted (deleted or finalized) and still hold state the
   * commit builds on.
   */
  readonly base: Uint8Array | null;
  /** Every contract at the commit, ordered by id. */
  readonly contracts: readonly ContractInfo[];
  /**
   * Bytes of the files in the commit's own folder: its manifest, the pages
   * it wrote, the bytecode it deployed. A finalized commit's folder
   * hard-links files of older commits, which are counted here and there.
   */
  readonly diskBytes: number;
}

/** What `VM.verifyCommit` reports after each file it checked. */
export interface VerifyProgress {
  /** The commit whose file was checked. */
  readonly root: Uint8Array;
  /** The file's name in the commit's folder. */
  readonly file: string;
  /** Bytes checked so far, this file included. */
  readonly verifiedBytes: number;
  /** Bytes the whole verification checks. */
  readonly totalBytes: number;
}

/** Options of `VM.verifyCommit`. */
export interface VerifyOptions {
  /**
   * Also check the files of every commit the commit is built on (its base,
   * the base's base, ...), listed or not. Default: false, only the
   * commit's own files.
   */
  readonly bases?: boolean;
  /** Called after each checked file, for a progress display. Default: none. */
  readonly onProgress?: (progress: VerifyProgress) => void;
}
