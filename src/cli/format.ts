/**
 * Formatting for the CLI's human-readable output.
 *
 * @module
 */

const UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB"];

/**
 * `bytes` in binary units, with one decimal from KiB on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatBytes } from "./format.ts";
 *
 * assert.equal(formatBytes(512), "512 bytes");
 * assert.equal(formatBytes(1536), "1.5 KiB");
 * assert.equal(formatBytes(64 * 1024 * 1024), "64.0 MiB");
 * ```
 */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/**
 * Lays `rows` out in columns separated by two spaces, each as wide as its
 * widest cell; columns listed in `right` are aligned right. Every line ends
 * with a newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTable } from "./format.ts";
 *
 * assert.equal(formatTable([["name", "n"], ["a", "10"]], { right: [1] }), "name   n\na     10\n");
 * ```
 */
export function formatTable(rows: string[][], options: { right?: number[] } = {}): string {
  const right = new Set(options.right ?? []);
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  }
  return rows.map((row) =>
    row.map((cell, i) => {
      if (i === row.length - 1 && !right.has(i)) return cell;
      return right.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i]);
    }).join("  ") + "\n"
  ).join("");
}
