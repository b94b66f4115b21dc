/**
 * The package as another project sees it: a fresh project in a temporary
 * folder, with an empty Deno cache (`DENO_DIR`) and an empty libwasmtime
 * cache, imports the package by URL from a static file server on 127.0.0.1
 * that serves only the files `deno publish` would upload, the way JSR serves
 * them. Its programs run with exactly the scoped permissions of the README's
 * table, read from the README itself.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT))) as {
  exports: Record<string, string>;
  publish: { include: string[] };
};

/**
 * The flags of the README's permission table, its placeholders filled in:
 * `DIR` (the VM directory), `~/.cache` (the cache folder) and the Deno
 * executable.
 */
function readmePermissions(directory: string, cacheHome: string): string[] {
  const readme = Deno.readTextFileSync(new URL("README.md", ROOT));
  const table = readme.slice(
    readme.indexOf("## Permissions"),
    readme.indexOf("\n## ", readme.indexOf("## Permissions") + 1),
  );
  const flags = [...table.matchAll(/^\| `(--allow-[^`]+)`/gm)].map((match) => match[1]);
  assert.ok(flags.length >= 4, "the README has a permission table");
  return flags.map((flag) =>
    flag.replace(/=DIR\b/, `=${directory}`).replaceAll("~/.cache", cacheHome)
      .replace("<the deno executable>", Deno.execPath())
  );
}

function isPublished(path: string): boolean {
  return config.publish.include.some((entry) =>
    entry.endsWith("/") ? path.startsWith(entry) : path === entry
  );
}

/** Serves the published files of this repository, and nothing else, as JSR would. */
function servePackage(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen(): void {} }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname).slice(1);
    if (path.includes("..") || !isPublished(path)) {
      return new Response("not found", { status: 404 });
    }
    try {
      const body = await Deno.readFile(new URL(path, ROOT));
      const type = path.endsWith(".ts") ? "application/typescript" : "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

const DEPLOY_AND_COMMIT = `
import { contractFunction, i64, unit, VM } from "@piecrust/deno";
import { contractBytecode } from "@piecrust/deno/testing";

const increment = contractFunction("increment", unit, unit);
const readValue = contractFunction("read_value", unit, i64);
using vm = VM.open(Deno.args[0]);
using session = vm.session();
const counter = session.deploy(contractBytecode("counter"), new Uint8Array(32), 1_000_000n);
session.call(counter, increment, undefined, 1_000_000n);
console.log(\`first call after \${Math.round(performance.now())} ms\`);
console.log(\`counter \${counter}\`);
console.log(\`root \${session.commit().toHex()}\`);
`;

const REOPEN = `
import { contractFunction, ContractId, i64, unit, VM } from "@piecrust/deno";

using vm = VM.open(Deno.args[0]);
const [root] = vm.commits();
using session = vm.session({ base: root });
const counter = ContractId.fromHex(Deno.args[1]);
const value = session.call(counter, contractFunction("read_value", unit, i64), undefined, 1_000_000n);
console.log(\`root \${root.toHex()} value \${value.data}\`);
`;

interface Run {
  stdout: string;
  stderr: string;
  milliseconds: number;
}

async function run(args: string[], cwd: string, env: Record<string, string>): Promise<Run> {
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), { args, cwd, env, stdin: "null" })
    .output();
  const result = {
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
    milliseconds: performance.now() - started,
  };
  assert.equal(output.code, 0, `deno ${args.join(" ")} failed:\n${result.stderr}`);
  return result;
}

Deno.test("the package works from another project that imports it by URL, from empty caches", async () => {
  await using server = servePackage();
  const origin = `http://127.0.0.1:${server.addr.port}`;
  const project = Deno.makeTempDirSync({ prefix: "piecrust-consumer-" });
  try {
    const state = `${project}/state`;
    const cache = `${project}/cache`;
    Deno.writeTextFileSync(
      `${project}/deno.json`,
      JSON.stringify({
        imports: {
          "@piecrust/deno": `${origin}/${config.exports["."].slice(2)}`,
          "@piecrust/deno/testing": `${origin}/${config.exports["./testing"].slice(2)}`,
        },
      }),
    );
    Deno.writeTextFileSync(`${project}/deploy.ts`, DEPLOY_AND_COMMIT);
    Deno.writeTextFileSync(`${project}/reopen.ts`, REOPEN);
    const env = {
      DENO_DIR: `${project}/deno_dir`,
      XDG_CACHE_HOME: cache,
      PIECRUST_WASMTIME_LIB: "",
      NO_COLOR: "1",
    };
    // Stands in for JSR, which Deno may import from without this flag.
    const fromServer = `--allow-import=127.0.0.1:${server.addr.port}`;
    const readmeFlags = readmePermissions(state, cache);
    const fetchOnFirstUse = `--allow-run=${Deno.execPath()}`;
    assert.ok(
      readmeFlags.includes(fetchOnFirstUse),
      "the README lists --allow-run for the first use",
    );
    const permissions = ["--no-prompt", ...readmeFlags.filter((flag) => flag !== fetchOnFirstUse)];

    // First run: nothing cached. The library is fetched on first use, which
    // is what --allow-run (of the Deno executable) is for.
    const first = await run(
      ["run", fromServer, ...permissions, fetchOnFirstUse, "deploy.ts", state],
      project,
      env,
    );
    assert.match(first.stderr, /libwasmtime 49\.0\.0 is in .*\(verified\)/);
    const firstCall = Number(/first call after (\d+) ms/.exec(first.stdout)?.[1]);
    const counter = /counter ([0-9a-f]{64})/.exec(first.stdout)?.[1];
    const root = /root ([0-9a-f]{64})/.exec(first.stdout)?.[1];
    assert.ok(firstCall > 0 && counter !== undefined && root !== undefined, first.stdout);
    console.error(
      `consumer: empty caches -> first successful call ${firstCall} ms after Deno started ` +
        `(the process ran ${Math.round(first.milliseconds)} ms in all)`,
    );

    // A new process reopens the directory, with no --allow-run: the library is cached now.
    const reopened = await run(
      ["run", fromServer, ...permissions, "reopen.ts", state, counter],
      project,
      env,
    );
    assert.equal(reopened.stdout.trim(), `root ${root} value 253`);
    assert.equal(reopened.stderr, "");

    // The published modules type-check as the consumer's project sees them.
    await run(["check", "--all", fromServer, "deploy.ts", "reopen.ts"], project, env);
  } finally {
    Deno.removeSync(project, { recursive: true });
  }
});
