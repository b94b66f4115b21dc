/**
 * What `test:npm` and `bench:npm` share: the npm package built, packed and
 * installed into a new Node.js project and a new Bun project, and a way to
 * run programs there with the pinned runtimes.
 *
 * @module
 */

/** A runtime and the command that runs a program with it. */
export interface Runtime {
  readonly name: "deno" | "node" | "bun";
  readonly command: readonly string[];
}

/** Node.js 26.10.0 and Bun 1.4.5, fetched by npx on first use. */
export const NODE: Runtime = {
  name: "node",
  command: ["npx", "--yes", "node@26.10.0", "--disable-warning=ExperimentalWarning"],
};
export const BUN: Runtime = { name: "bun", command: ["npx", "--yes", "bun@1.4.5"] };
/** Deno from the sources: the workspace resolves `@piecrust/deno` to itself. */
export const DENO: Runtime = { name: "deno", command: [Deno.execPath(), "run", "--allow-all"] };

/** The repository's root folder. */
export const ROOT: string = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Runs `command` in `cwd`: its output goes to ours, or is returned with `capture`. */
export function run(
  command: readonly string[],
  cwd: string,
  capture = false,
): { ok: boolean; stdout: string } {
  const output = new Deno.Command(command[0], {
    args: command.slice(1),
    cwd,
    stdin: "null",
    stdout: capture ? "piped" : "inherit",
    stderr: "inherit",
  }).outputSync();
  return { ok: output.success, stdout: capture ? new TextDecoder().decode(output.stdout) : "" };
}

/** Runs `command` in `cwd` and returns its output; throws if it fails. */
export function must(command: readonly string[], cwd: string): string {
  const { ok, stdout } = run(command, cwd, true);
  if (!ok) throw new Error(`${command.join(" ")} failed in ${cwd}`);
  return stdout;
}

/**
 * Builds the package into `work/package`, packs it, installs the tarball
 * into `work/node` (with npm) and `work/bun` (with Bun), and copies the
 * files of `folders` (relative to the repository) into both projects.
 */
export function installedProjects(work: string, folders: readonly string[]): Map<Runtime, string> {
  must([...DENO.command, `${ROOT}/scripts/build_npm.ts`, `${work}/package`], ROOT);
  const packed = must(["npm", "pack", "--silent", "--pack-destination", work], `${work}/package`);
  const tarball = `${work}/${packed.trim()}`;
  console.log(`npm: packed ${tarball}`);
  const projects = new Map<Runtime, string>();
  const installs: [Runtime, string[]][] = [
    [NODE, ["npm", "install", "--silent", "--no-audit", "--no-fund", tarball]],
    [BUN, [...BUN.command, "add", "--silent", tarball]],
  ];
  for (const [runtime, install] of installs) {
    const project = `${work}/${runtime.name}`;
    Deno.mkdirSync(project);
    Deno.writeTextFileSync(
      `${project}/package.json`,
      JSON.stringify({ name: `piecrust-${runtime.name}-project`, private: true, type: "module" }),
    );
    must(install, project);
    for (const folder of folders) {
      for (const entry of Deno.readDirSync(`${ROOT}/${folder}`)) {
        if (entry.isFile) {
          Deno.copyFileSync(`${ROOT}/${folder}/${entry.name}`, `${project}/${entry.name}`);
        }
      }
    }
    projects.set(runtime, project);
  }
  return projects;
}
