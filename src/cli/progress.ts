/**
 * A progress bar on standard error, for long runs on a terminal.
 *
 * @module
 */

import type { CliIo } from "./io.ts";
import { formatBytes } from "./format.ts";

/** Redraws at most this often, in milliseconds. */
const REDRAW_MS = 100;
/** A run shorter than this shows no bar at all. */
const SHOW_AFTER_MS = 500;
const WIDTH = 30;

/**
 * A byte-count progress bar drawn on `io.err` when it is a terminal, once
 * the run has taken half a second; {@linkcode ProgressBar.done} clears it.
 *
 * @example
 * ```ts
 * import { ProgressBar } from "./progress.ts";
 *
 * const bar = new ProgressBar({ out() {}, err() {}, outIsTerminal: false, errIsTerminal: false }, "verifying");
 * bar.update(50, 100);
 * bar.done();
 * ```
 */
export class ProgressBar {
  readonly #io: CliIo;
  readonly #label: string;
  readonly #started = performance.now();
  #drawn = 0;
  #visible = false;

  /** A bar titled `label` on `io`'s standard error. */
  constructor(io: CliIo, label: string) {
    this.#io = io;
    this.#label = label;
  }

  /** Shows `done` of `total` bytes. */
  update(done: number, total: number): void {
    if (!this.#io.errIsTerminal) return;
    const now = performance.now();
    if (now - this.#started < SHOW_AFTER_MS || now - this.#drawn < REDRAW_MS) return;
    this.#drawn = now;
    this.#visible = true;
    const fraction = total === 0 ? 1 : Math.min(1, done / total);
    const filled = Math.round(fraction * WIDTH);
    const bar = "█".repeat(filled) + "░".repeat(WIDTH - filled);
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    this.#io.err(
      `\r${this.#label} ${bar} ${percent}  ${formatBytes(done)} of ${formatBytes(total)}\x1b[K`,
    );
  }

  /** Clears the bar, if it was drawn. */
  done(): void {
    if (this.#visible) this.#io.err("\r\x1b[K");
    this.#visible = false;
  }
}
