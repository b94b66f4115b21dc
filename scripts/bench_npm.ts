/**
 * `deno task bench:npm [ROUNDS]`: the same workloads (`npm/bench/workloads.mjs`)
 * on Deno from the sources and on Node.js 26 and Bun from the installed npm
 * package, interleaved round after round (3 by default), each run in a fresh
 * process. Prints every runtime's median time per workload and its ratio to
 * Deno in the same round: min / median / max over the rounds.
 *
 * @module
 */

import { BUN, DENO, installedProjects, must, NODE, ROOT, type Runtime } from "./_npm_projects.ts";

const rounds = Number(Deno.args[0] ?? 3);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error("usage: deno task bench:npm [ROUNDS]");
  Deno.exit(2);
}
const work = Deno.makeTempDirSync({ prefix: "piecrust-npm-bench-" });
try {
  const projects = installedProjects(work, ["npm/bench"]);
  projects.set(DENO, ROOT);
  const runtimes: Runtime[] = [DENO, NODE, BUN];
  /** Nanoseconds per operation, by runtime, workload and round. */
  const times = new Map<Runtime, Map<string, number[]>>(runtimes.map((r) => [r, new Map()]));
  for (let round = 1; round <= rounds; round++) {
    for (const runtime of runtimes) {
      const script = runtime === DENO ? `${ROOT}/npm/bench/workloads.mjs` : "workloads.mjs";
      const results = JSON.parse(must([...runtime.command, script], projects.get(runtime)!));
      for (const [workload, ns] of Object.entries(results as Record<string, number>)) {
        const list = times.get(runtime)!.get(workload) ?? [];
        list.push(ns);
        times.get(runtime)!.set(workload, list);
      }
    }
    console.error(`bench:npm: round ${round} of ${rounds} done`);
  }

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const format = (ns: number) =>
    ns >= 1e6
      ? `${(ns / 1e6).toFixed(2)} ms`
      : ns >= 1e3
      ? `${(ns / 1e3).toFixed(1)} µs`
      : `${ns} ns`;
  const header = ["workload", "Deno", "Node.js", "Bun", "Node.js ÷ Deno", "Bun ÷ Deno"];
  const rows = [...times.get(DENO)!.keys()].map((workload) => {
    const of = (runtime: Runtime) => times.get(runtime)!.get(workload)!;
    const ratios = (runtime: Runtime) => {
      const list = of(runtime).map((ns, i) => ns / of(DENO)[i]).sort((a, b) => a - b);
      return [list[0], median(list), list.at(-1)!].map((r) => r.toFixed(2)).join(" / ");
    };
    return [
      workload,
      format(median(of(DENO))),
      format(median(of(NODE))),
      format(median(of(BUN))),
      ratios(NODE),
      ratios(BUN),
    ];
  });
  console.log(`${rounds} rounds; times are medians, ratios min / median / max over the rounds\n`);
  console.log(`| ${header.join(" | ")} |`);
  console.log(`| ${header.map(() => "---").join(" | ")} |`);
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
} finally {
  Deno.removeSync(work, { recursive: true });
}
