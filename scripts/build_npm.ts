/**
 * `deno task build:npm [OUT]`: writes the npm package of this VM, for
 * Node.js 26 and Bun, to `dist/npm/` (or `OUT`).
 *
 * - JavaScript: esbuild bundles each export of `deno.json`, and the two
 *   commands, into ES modules in `esm/` (shared code in chunks). Wherever
 *   the sources name the global `Deno`, esbuild injects `npm/shim/deno.ts`,
 *   the part of Deno's namespace the VM uses, implemented on `node:ffi` or
 *   `bun:ffi` and `node:fs`; no global is defined. `provision_program.ts`,
 *   the one module that differs, is swapped for its npm form. The `.wasm`
 *   import of the BLAKE3 hasher becomes a module that instantiates the
 *   embedded bytes synchronously, as Deno's wasm imports do.
 * - Types: `tsc` (TypeScript 6, from npm) emits `.d.ts` files into `types/`.
 * - `package.json` (exports, engines, bins, license), `README.md` from
 *   `npm/README.md`, and `LICENSE`.
 *
 * The build fails if the bundle reads a member of `Deno` the shim lacks.
 *
 * @module
 */

import * as esbuild from "esbuild";
import ts from "typescript";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const out = Deno.args[0] ?? `${root}/dist/npm`;
const config = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`)) as {
  name: string;
  version: string;
  license: string;
  exports: Record<string, string>;
};

/** Entry points by output name: each export of deno.json, and the two commands. */
const entries: Record<string, string> = {
  "bin/piecrust": `${root}/npm/bin/cli.ts`,
  "provision": `${root}/npm/bin/provision.ts`,
};
for (const [subpath, source] of Object.entries(config.exports)) {
  entries[subpath === "." ? "mod" : subpath.slice(2)] = `${root}/${source}`;
}

/** `import { … } from "./x.wasm"` as Deno does it: instantiated at import, synchronously. */
const wasmImports: esbuild.Plugin = {
  name: "wasm-imports",
  setup(build): void {
    build.onLoad({ filter: /\.wasm$/ }, (args) => {
      const bytes = Deno.readFileSync(args.path);
      const module = new WebAssembly.Module(bytes);
      if (WebAssembly.Module.imports(module).length > 0) {
        throw new Error(`${args.path} has imports; the npm build instantiates it without any`);
      }
      const names = WebAssembly.Module.exports(module).map((entry) => entry.name);
      const contents = [
        `const bytes = Uint8Array.from(atob("${bytes.toBase64()}"), (c) => c.charCodeAt(0));`,
        "const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes));",
        ...names.map((name) => `export const ${name} = exports.${name};`),
      ].join("\n");
      return { contents, loader: "js" };
    });
  },
};

/** The modules whose npm form lives in `npm/platform/`. */
const platformModules: esbuild.Plugin = {
  name: "platform-modules",
  setup(build): void {
    build.onResolve({ filter: /\/provision_program\.ts$/ }, () => ({
      path: `${root}/npm/platform/provision_program.ts`,
    }));
  },
};

clearOutput(out);

/**
 * Removes a previous build at `out`. Anything else there is left alone and
 * the build stops: `OUT` is a command-line argument, and a mistyped one must
 * not delete a folder the user cares about.
 */
function clearOutput(out: string): void {
  let entries: string[];
  try {
    entries = [...Deno.readDirSync(out)].map((entry) => entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    console.error(`build:npm: cannot build into ${out}: ${(error as Error).message}`);
    Deno.exit(2);
  }
  if (entries.length === 0) return;
  let name: unknown;
  try {
    name = JSON.parse(Deno.readTextFileSync(`${out}/package.json`)).name;
  } catch {
    name = undefined;
  }
  if (name !== config.name) {
    console.error(
      `build:npm: ${out} is neither empty nor an earlier build of ${config.name}; ` +
        "choose another folder",
    );
    Deno.exit(2);
  }
  Deno.removeSync(out, { recursive: true });
}

const result = await esbuild.build({
  entryPoints: Object.entries(entries).map(([out, source]) => ({ in: source, out })),
  outdir: `${out}/esm`,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "es2024",
  inject: [`${root}/npm/shim/deno.ts`],
  define: { "globalThis.addEventListener": "addEventListener" },
  plugins: [wasmImports, platformModules],
  external: ["node:*", "bun:*"],
  logLevel: "warning",
  metafile: true,
});
await esbuild.stop();

// Every member of Deno the bundle reads must be one the shim defines.
const shimKeys = ["errors"];
for (const file of ["ffi.ts", "files.ts", "process.ts"]) {
  const text = Deno.readTextFileSync(`${root}/npm/shim/${file}`);
  for (const match of text.matchAll(/^export (?:const|function|class) (\w+)/gm)) {
    shimKeys.push(match[1]);
  }
}
const used = new Set<string>();
for (const file of Object.keys(result.metafile.outputs)) {
  const text = Deno.readTextFileSync(file.startsWith("/") ? file : `${Deno.cwd()}/${file}`);
  for (const match of text.matchAll(/\bDeno\d*\.([A-Za-z]+)/g)) used.add(match[1]);
}
const missing = [...used].filter((name) => !shimKeys.includes(name));
if (missing.length > 0) {
  throw new Error(`the bundle uses Deno.${missing.join(", Deno.")}, which npm/shim lacks`);
}

// Declarations, from the sources. Deno's own types make the program complete;
// the declarations' few references to Deno's FFI types go to npm/deno_types.d.ts.
const denoTypes = `${out}/deno.d.ts`;
Deno.writeFileSync(
  denoTypes,
  new Deno.Command(Deno.execPath(), { args: ["types"] }).outputSync().stdout,
);
const program = ts.createProgram({
  rootNames: [...Object.values(config.exports).map((source) => `${root}/${source}`), denoTypes],
  options: {
    declaration: true,
    emitDeclarationOnly: true,
    noCheck: true,
    allowImportingTsExtensions: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ESNext,
    lib: ["lib.esnext.d.ts", "lib.dom.d.ts"],
    types: [],
    skipLibCheck: true,
    strict: true,
    rootDir: root,
    outDir: `${out}/types`,
  },
});
program.emit();
// emitSkipped is not reliable here (it is set with every file written): check the entries instead.
for (const source of Object.values(config.exports)) {
  const declaration = `${out}/types/${source.replace(/\.ts$/, ".d.ts")}`;
  try {
    Deno.statSync(declaration);
  } catch {
    throw new Error(`tsc wrote no ${declaration}`);
  }
}
Deno.removeSync(denoTypes);
Deno.copyFileSync(`${root}/npm/deno_types.d.ts`, `${out}/types/_deno.d.ts`);
let declarations = 0;
for (const file of walk(`${out}/types`)) {
  if (!file.endsWith(".d.ts") || file.endsWith("/_deno.d.ts")) continue;
  declarations++;
  const toShim = relative(file, `${out}/types/_deno.js`);
  const text = Deno.readTextFileSync(file)
    // Relative imports name the emitted files: `.js`, which TypeScript maps to `.d.ts`.
    .replace(/((?:from|import)\s*\(?\s*["']\.{1,2}\/[^"']*)\.ts(["'])/g, "$1.js$2")
    .split("\n")
    .map((line) =>
      /^\s*(\*|\/\*|\/\/)/.test(line)
        ? line
        : line.replace(/\bDeno\.(\w+)/g, `import("${toShim}").$1`)
    )
    .join("\n");
  Deno.writeTextFileSync(file, text);
}

/** Every file under `dir`. */
function* walk(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else yield path;
  }
}

/** `to` relative to the folder of `from`, starting with `./` or `../`. */
function relative(from: string, to: string): string {
  const fromParts = from.split("/").slice(0, -1);
  const toParts = to.split("/");
  let common = 0;
  while (common < fromParts.length && fromParts[common] === toParts[common]) common++;
  const up = fromParts.length - common;
  return (up === 0 ? "./" : "../".repeat(up)) + toParts.slice(common).join("/");
}

// The package: its manifest, the README for npm, the license, the commands' shebangs.
const exports: Record<string, { types: string; default: string }> = {};
for (const [subpath, source] of Object.entries(config.exports)) {
  const name = subpath === "." ? "mod" : subpath.slice(2);
  exports[subpath] = {
    types: `./types/${source.slice(2).replace(/\.ts$/, ".d.ts")}`,
    default: `./esm/${name}.js`,
  };
}
const manifest = {
  name: config.name,
  version: config.version,
  description: "A WebAssembly smart-contract VM compatible with Dusk's piecrust, on wasmtime " +
    "through FFI: the same contracts, results, gas and state roots",
  license: config.license,
  type: "module",
  exports,
  bin: { "piecrust": "./esm/bin/piecrust.js", "piecrust-setup": "./esm/provision.js" },
  engines: { node: ">=26", bun: ">=1.4" },
  os: ["linux"],
  cpu: ["x64"],
  files: ["esm/", "types/", "README.md", "LICENSE"],
  keywords: ["piecrust", "dusk", "wasm", "webassembly", "smart-contracts", "wasmtime", "vm"],
};
Deno.writeTextFileSync(`${out}/package.json`, JSON.stringify(manifest, null, 2) + "\n");
Deno.copyFileSync(`${root}/npm/README.md`, `${out}/README.md`);
Deno.copyFileSync(`${root}/LICENSE`, `${out}/LICENSE`);
for (const command of ["bin/piecrust.js", "provision.js"]) {
  const path = `${out}/esm/${command}`;
  // node:ffi's ExperimentalWarning would precede every command's output.
  const shebang = "#!/usr/bin/env -S node --disable-warning=ExperimentalWarning";
  Deno.writeTextFileSync(path, `${shebang}\n${Deno.readTextFileSync(path)}`);
  Deno.chmodSync(path, 0o755);
}

console.log(
  `build:npm: ${Object.keys(result.metafile.outputs).length} modules in ${out}/esm, ` +
    `${declarations} declaration files in ${out}/types`,
);
