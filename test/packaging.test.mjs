// The npm package as a user gets it, and a newcomer's first hour with it.
//
// before(): `npm pack` of this checkout; in an unpacked copy, what `prepack` adds before a release
// (the host's prebuilt addon, built from the tarball's own native/ by scripts/prebuild.mjs --host;
// native/memmap.gyp and docs/api by scripts/pack-files.mjs); packed again. That tarball is
// installed by npm as a user's project would install it (install scripts under npm's default
// policy), offline, from a private empty cache: node-gyp-build (memmap's one runtime dependency)
// and @types/node (for the TypeScript checks) are packed from this checkout's node_modules.
//
// What this checkout does not have — Node 20.19.0 (the floor of "engines"), Node 24, TypeScript 7
// and Deno, at the exact versions of PINNED — comes from the npm registry once and is reused from
// the cache of scripts/test-runtimes-lib.mjs (~/.cache/memmap-runtimes, $MEMMAP_RUNTIMES_CACHE).
// The fresh-clone check installs this checkout's dev dependencies from npm's own cache, offline:
// `npm ci`, which CI runs first, has put them there.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { VIEWS } from "./helpers.mjs";
import { fetchDeno, fetchNode, fetchTypeScript7 } from "../scripts/test-runtimes-lib.mjs";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const HOST = `${process.platform}-${process.arch}`;
const ADDON = `prebuilds/${HOST}/memmap.glibc.node`;

/** Exact versions of what the checks fetch: the same on every run. */
const PINNED = { nodeFloor: "20.19.0", node24: "24.22.3", typescript7: "7.0.2", deno: "2.9.6" };

/** What the README's first example prints, and leaves in hello.txt. */
const HELLO_OUTPUT = "Hello Python!\nHello\nHello  world!\n";
const HELLO_FILE = "Hello  world!\n";

let work; // everything this file creates lives here
let repoFiles; // what `npm pack` of the checkout ships
let tarball; // the tarball under test (the checkout's files + what prepack adds)
let tarFiles;
let deps; // tarballs of node-gyp-build, @types/node and undici-types, packed from node_modules
let app; // a fresh project memmap is installed into
let installed; // the output of that `npm install`
let freshClone; // the promise of cloneAndInstall()

// the installed package must find its own prebuild: no override inherited from the caller
// (scripts/prebuild-test.mjs runs this suite with MEMMAP_PREBUILD set)
const baseEnv = { ...process.env };
delete baseEnv.MEMMAP_PREBUILD;
delete baseEnv.LIBC;

/** Runs a command; returns { status, signal, stdout, stderr }. */
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000, maxBuffer: 1 << 26, env: baseEnv, ...opts });
  if (r.error) throw r.error;
  return r;
}

function runAsync(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: baseEnv, ...opts, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

function ok(r, what) {
  assert.equal(r.signal, null, `${what}: killed by ${r.signal}\n${r.stderr}`);
  assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/**
 * npm with a private cache and no registry: nothing may come from the network. Warnings are
 * shown (npm's default log level): the install checks read them.
 */
function npm(args, cwd, opts = {}) {
  return ok(
    run("npm", [...args, "--cache", path.join(work, "npm-cache"), "--offline", "--no-audit", "--no-fund"], { cwd, ...opts }),
    `npm ${args.join(" ")}`,
  );
}

function pack(dir) {
  const r = npm(["pack", "--ignore-scripts", "--json", "--loglevel=error", "--pack-destination", work], dir);
  const [info] = JSON.parse(r.stdout);
  return { file: path.join(work, info.filename), files: info.files.map((f) => f.path).sort() };
}

/** A new, empty project directory under `work`. */
function project(name, manifest = {}) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, version: "1.0.0", private: true, ...manifest }));
  return dir;
}

/** npm's notice about install scripts (npm >= 11: "N packages have install scripts not yet covered by allowScripts"). */
const scriptWarning = (r) => /install.scripts?/i.test(r.stdout + r.stderr);

/** Runs a file of the app with the Node running this test; returns its last stdout line as JSON. */
function runApp(file, env = {}, dir = app) {
  const r = ok(run(process.execPath, [file], { cwd: dir, env: { ...baseEnv, ...env } }), file);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

/** Prints how `import("memmap")` went: { loaded } or the error's { exact, code, hasCause, message }. */
const LOAD_PROBE = `try { await import("memmap"); console.log(JSON.stringify({ loaded: true })); }
catch (e) { console.log(JSON.stringify({ exact: Object.getPrototypeOf(e) === Error.prototype, code: e.code, hasCause: e.cause !== undefined, message: e.message })); }
`;

/** The fenced ```js blocks of the README's "First example" section. */
function readmeExamples() {
  const text = fs.readFileSync(path.join(root, "README.md"), "utf8");
  const section = text.slice(text.indexOf("\n## First example\n"));
  const body = section.slice(0, section.indexOf("\n## ", 1));
  return [...body.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

/** The compilers the TypeScript checks run: this checkout's TypeScript 5 and npm's TypeScript 7. */
function compilers() {
  const ts5 = require("typescript/package.json").version;
  const ts7 = fetchTypeScript7(PINNED.typescript7);
  return [
    { name: `TypeScript ${ts5}`, major: 5, cmd: process.execPath, pre: [require.resolve("typescript/bin/tsc")] },
    { name: `TypeScript ${ts7.version}`, major: 7, cmd: ts7.bin, pre: [] },
  ];
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-packaging-"));

  // 1. the checkout's tarball, as `npm pack` makes it (dist/ is already compiled by pretest)
  const repo = pack(root);
  repoFiles = repo.files;

  // 2. unpack it, add what prepack adds (from the tarball's own sources), pack again
  const stage = path.join(work, "stage");
  fs.mkdirSync(stage);
  ok(run("tar", ["xzf", repo.file, "-C", stage]), "tar");
  const pkgDir = path.join(stage, "package");
  const script = (name, ...args) => runAsync(process.execPath, [path.join(root, "scripts", name), ...args]).then((r) => ok(r, `${name} ${args.join(" ")}`));
  await script("pack-files.mjs", `--out=${pkgDir}`, "--only=gyp");
  await Promise.all([
    script("pack-files.mjs", `--out=${pkgDir}`, "--only=docs"),
    script("prebuild.mjs", "--host", "--quiet", `--source=${pkgDir}`, `--out=${pkgDir}`),
  ]);
  fs.renameSync(repo.file, path.join(work, "checkout.tgz"));
  ({ file: tarball, files: tarFiles } = pack(pkgDir));

  // 3. the dependencies as the registry would serve them, from this checkout's node_modules
  deps = ["node-gyp-build", "@types/node", "undici-types"].map((name) => pack(path.join(root, "node_modules", name)).file);

  // 4. a fresh project; npm installs it as it installs any dependency (no --ignore-scripts)
  app = project("app", { type: "commonjs" });
  installed = npm(["install", tarball, ...deps], app);

  // 5. the fresh clone's `npm install` (half a minute: dev dependencies, node-gyp, tsc) runs
  // while the other tests do; its test waits for it
  freshClone = cloneAndInstall();
});

/**
 * A clone of this checkout — the files a commit of the working tree would hold — committed, then
 * `npm install` in it, with the dev dependencies from npm's own cache (filled by `npm ci`),
 * offline. Resolves to { clone, git, install } or { skip }.
 */
async function cloneAndInstall() {
  if (run("git", ["--version"]).status !== 0) return { skip: "git is missing" };
  const listed = run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root });
  if (listed.status !== 0) return { skip: "not a git checkout" };
  const clone = path.join(work, "clone");
  for (const f of listed.stdout.split("\0").filter(Boolean)) {
    const from = path.join(root, f);
    if (!fs.existsSync(from)) continue; // deleted, not yet committed
    fs.mkdirSync(path.dirname(path.join(clone, f)), { recursive: true });
    fs.copyFileSync(from, path.join(clone, f));
  }
  const git = (...args) => ok(run("git", ["-c", "user.name=test", "-c", "user.email=test@localhost", ...args], { cwd: clone }), `git ${args[0]}`);
  git("init", "-q");
  git("add", "-A");
  git("commit", "-q", "-m", "clone");
  const install = await runAsync("npm", ["install", "--offline", "--no-audit", "--no-fund"], { cwd: clone });
  return { clone, git, install };
}

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test("npm pack ships dist, src (the source maps' sources), index.d.ts, bin, the native sources and the docs; no tests, build output or binding.gyp", () => {
  for (const f of ["package.json", "README.md", "LICENSE", "index.d.ts", "bin/memmap.mjs", "dist/index.js", "dist/index.d.ts", "dist/binding.js", "src/index.ts", "native/binding.c", "native/mm.h", "docs/python.md"]) {
    assert.ok(repoFiles.includes(f), `${f} is packed`);
  }
  const unwanted = repoFiles.filter((f) => /^(test|build|scripts|bench|examples|node_modules)\//.test(f) || f === "binding.gyp" || (f.endsWith(".node") && !f.startsWith("prebuilds/")));
  assert.deepEqual(unwanted, []);
});

test("the tarball under test is the checkout's plus what prepack adds: the host's prebuild, native/memmap.gyp, docs/api", () => {
  const made = (f) => f.startsWith("prebuilds/") || f.startsWith("docs/api/") || f === "native/memmap.gyp";
  assert.deepEqual(tarFiles.filter((f) => !made(f)), repoFiles.filter((f) => !made(f)));
  for (const f of [ADDON, "native/memmap.gyp", "docs/api/index.html", "docs/api/classes/MMap.html"]) assert.ok(tarFiles.includes(f), `${f} is packed`);
  assert.match(fs.readFileSync(path.join(root, "README.md"), "utf8"), /\]\(docs\/api\/index\.html\)/, "the README links the API reference");
});

test("the package has no install script: no preinstall, install, postinstall or prepare, no binding.gyp at its root; its bin is `memmap`", () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(app, "node_modules", "memmap", "package.json"), "utf8"));
  for (const s of ["preinstall", "install", "postinstall", "prepare"]) assert.equal(manifest.scripts?.[s], undefined, `scripts.${s}`);
  assert.equal(fs.existsSync(path.join(app, "node_modules", "memmap", "binding.gyp")), false, "npm runs `node-gyp rebuild` for a binding.gyp at the root");
  assert.deepEqual(manifest.bin, { memmap: "./bin/memmap.mjs" });
});

test("npm 11 installs it with no install-script warning and compiles nothing; npm ci from the lockfile neither; the control, a package with an install script, is warned about", () => {
  const npmMajor = Number(run("npm", ["--version"]).stdout.split(".")[0]);
  assert.ok(npmMajor >= 11, `npm ${npmMajor}: the install-script policy this checks is npm 11's`);
  const pkg = path.join(app, "node_modules", "memmap");
  assert.equal(scriptWarning(installed), false, `npm install printed:\n${installed.stdout}${installed.stderr}`);
  assert.deepEqual(JSON.parse(npm(["install-scripts", "ls", "--json"], app).stdout), { allowScripts: [] });
  assert.ok(fs.statSync(path.join(pkg, ADDON)).size > 0);
  assert.equal(fs.existsSync(path.join(pkg, "build")), false, "nothing was compiled");
  // memmap's dependency resolved (deduplicated against the node-gyp-build supplied offline)
  const tree = JSON.parse(run("npm", ["ls", "--all", "--json"], { cwd: app }).stdout);
  assert.equal(tree.problems, undefined, JSON.stringify(tree.problems));
  assert.equal(tree.dependencies.memmap.dependencies["node-gyp-build"].version, require("node-gyp-build/package.json").version);

  // a second developer of that project: npm ci from its lockfile (which does not record every
  // field of package.json: a root binding.gyp would count as an install script here)
  const again = project("app-ci");
  fs.copyFileSync(path.join(app, "package.json"), path.join(again, "package.json"));
  fs.copyFileSync(path.join(app, "package-lock.json"), path.join(again, "package-lock.json"));
  const ci = npm(["ci"], again);
  assert.equal(scriptWarning(ci), false, `npm ci printed:\n${ci.stdout}${ci.stderr}`);
  assert.equal(fs.existsSync(path.join(again, "node_modules", "memmap", "build")), false, "nothing was compiled");

  // the control: the same npm, the same way, warns about a package that has an install script
  const withScript = project("with-script", { scripts: { install: "node -e 0" } });
  const control = project("control");
  const warned = npm(["install", pack(withScript).file], control);
  assert.equal(scriptWarning(warned), true, `npm install printed:\n${warned.stdout}${warned.stderr}`);
});

test("the source maps name only files the package carries", () => {
  const pkg = path.join(app, "node_modules", "memmap");
  const maps = tarFiles.filter((f) => f.endsWith(".map"));
  assert.ok(maps.length > 0);
  for (const map of maps) {
    for (const source of JSON.parse(fs.readFileSync(path.join(pkg, map), "utf8")).sources) {
      const target = path.posix.join(path.posix.dirname(map), source);
      assert.ok(tarFiles.includes(target), `${map} names ${source}, which is not in the package`);
    }
  }
  for (const file of tarFiles.filter((f) => /\.(js|d\.ts)$/.test(f))) {
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(fs.readFileSync(path.join(pkg, file), "utf8"))?.[1];
    if (url !== undefined) assert.ok(tarFiles.includes(path.posix.join(path.posix.dirname(file), url)), `${file} names ${url}`);
  }
});

test("ESM: the smoke test of the main API passes on the installed package, loading the prebuild", () => {
  fs.copyFileSync(path.join(root, "test", "fixtures", "smoke.mjs"), path.join(app, "smoke.mjs"));
  const r = run(process.execPath, ["smoke.mjs", "memmap"], { cwd: app });
  const report = JSON.parse(r.stdout.trim().split("\n").pop());
  assert.deepEqual(
    report.checks.filter((c) => !c.ok),
    [],
  );
  assert.ok(report.checks.length >= 10);
  assert.equal(report.views, VIEWS, "views are checked where they exist, their refusal where not");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(report.addon, fs.realpathSync(path.join(app, "node_modules", "memmap", ADDON)));
});

test("CommonJS: require('memmap') works (require(esm)) and is the same module as import", () => {
  fs.writeFileSync(
    path.join(app, "use.cjs"),
    `const memmap = require("memmap");
const m = new memmap.MMap(-1, 16);
m.write("from cjs");
m.seek(0);
const text = m.read(8).toString();
m.close();
import("memmap").then((ns) => {
  console.log(JSON.stringify({ text, same: ns.MMap === memmap.MMap, names: Object.keys(memmap).sort().join() === Object.keys(ns).sort().join() }));
});
`,
  );
  assert.deepEqual(runApp("use.cjs"), { text: "from cjs", same: true, names: true });
});

test("the README's first example runs unchanged as .mjs on Node 20.19.0 (the floor), this Node and Node 24; its `using` form on Node 24, not on Node 20", () => {
  const [first, usingForm, ...rest] = readmeExamples();
  assert.equal(rest.length, 0, "two examples: the first one and its `using` form");
  assert.ok(usingForm?.includes("using mm"));
  const nodes = [fetchNode(PINNED.nodeFloor).bin, process.execPath, fetchNode(PINNED.node24).bin];
  const versions = [];
  for (const [i, node] of nodes.entries()) {
    const version = run(node, ["--version"]).stdout.trim();
    const dir = path.join(app, `readme-${i}`); // inside the app: "memmap" resolves to the installed package
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "hello.mjs"), first);
    fs.writeFileSync(path.join(dir, "using.mjs"), usingForm);
    const r = run(node, ["hello.mjs"], { cwd: dir });
    assert.deepEqual({ status: r.status, stdout: r.stdout, stderr: r.stderr }, { status: 0, stdout: HELLO_OUTPUT, stderr: "" }, `Node ${version}`);
    assert.equal(fs.readFileSync(path.join(dir, "hello.txt"), "utf8"), HELLO_FILE, `Node ${version}`);
    const u = run(node, ["using.mjs"], { cwd: dir });
    if (Number(version.slice(1).split(".")[0]) >= 24) {
      assert.deepEqual({ status: u.status, stderr: u.stderr }, { status: 0, stderr: "" }, `Node ${version}`);
    } else {
      assert.equal(u.status, 1, `Node ${version} has no \`using\`: ${u.stderr}`);
      assert.match(u.stderr, /SyntaxError/);
    }
    versions.push(version);
  }
  assert.deepEqual(versions, [`v${PINNED.nodeFloor}`, process.version, `v${PINNED.node24}`]);
});

test("the README's first example type-checks as .mts with TypeScript 5 and 7: `tsc --init`'s project, no project at all (7); the control without index.d.ts fails", async () => {
  const [first] = readmeExamples();
  const runs = [];
  for (const c of compilers()) {
    const dir = path.join(app, `ts${c.major}`);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "hello.mts"), first);
    ok(run(c.cmd, [...c.pre, "--init"], { cwd: dir }), `${c.name} --init`);
    runs.push([`${c.name}, tsc --init`, c, ["-p", ".", "--noEmit", "--listFiles"], dir]);
    if (c.major === 7) {
      // TypeScript 5 without a project targets ES5, where no declaration with #private checks
      const bare = path.join(app, "ts7-bare");
      fs.mkdirSync(bare);
      fs.writeFileSync(path.join(bare, "hello.mts"), first);
      runs.push([`${c.name}, no tsconfig`, c, ["--noEmit", "hello.mts"], bare]);
      fs.writeFileSync(path.join(bare, "control.mts"), first.replace('"memmap"', '"../node_modules/memmap/dist/index.js"'));
      runs.push([`${c.name}, no tsconfig, control`, c, ["--noEmit", "control.mts"], bare]);
    }
  }
  const results = await Promise.all(runs.map(([name, c, args, cwd]) => runAsync(c.cmd, [...c.pre, ...args], { cwd }).then((r) => ({ name, ...r }))));
  for (const r of results) {
    if (r.name.endsWith("control")) {
      assert.notEqual(r.status, 0, `${r.name}: dist/index.d.ts alone must not check\n${r.stdout}`);
      assert.match(r.stdout, /Cannot find name 'Buffer'/);
      continue;
    }
    assert.equal(r.status, 0, `${r.name}:\n${r.stdout}${r.stderr}`);
    if (r.name.endsWith("--init")) assert.ok(r.stdout.includes(path.join(app, "node_modules", "memmap", "index.d.ts")), `${r.name}: the installed package's types`);
  }
  assert.deepEqual(
    compilers().map((c) => c.major),
    [5, 7],
  );
});

test("TypeScript 5 and 7: strict projects (moduleResolution nodenext, ESM and CJS files; bundler) check with no types or lib setting, libraries checked too", async () => {
  const files = {
    "esm.mts": `import { MMap, ACCESS_READ, PAGESIZE, constants, type MMapOptions, type MMapMatch } from "memmap";
const opts: MMapOptions = { access: ACCESS_READ };
const m: MMap = new MMap(-1, PAGESIZE);
const n: number = m.write("hello");
const b: Buffer = m.slice(0, 5);
const hit: MMapMatch | null = m.search(/l+/);
const page: number = constants.PAGESIZE;
// @ts-expect-error write() takes bytes or a string
m.write(42);
m.close();
void [opts, n, b, hit, page];
`,
    // require(esm) from a CommonJS file: accepted by TypeScript >= 5.8 under module nodenext
    "cjs.cts": `import { MMap } from "memmap";
const m = new MMap(-1, 8);
const len: number = m.length;
// @ts-expect-error set() takes a byte value
m.set(0, "x");
m.close();
export { len };
`,
    // `using` with target ES2022: Symbol.dispose comes from the lib memmap's types reference
    "bundler.ts": `import { MMap, MAP_PRIVATE, type Access } from "memmap";
const access: Access = 3;
using m = new MMap(-1, 4096, { flags: MAP_PRIVATE, access });
const found: number = m.find("x");
// @ts-expect-error the map's length is read-only
m.length = 1;
export { found };
`,
  };
  const dir = path.join(app, "strict");
  fs.mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const common = { target: "ES2022", strict: true, exactOptionalPropertyTypes: true, noEmit: true, skipLibCheck: false };
  const configs = {
    "tsconfig.nodenext.json": { compilerOptions: { ...common, module: "NodeNext", moduleResolution: "NodeNext" }, files: ["esm.mts", "cjs.cts"] },
    "tsconfig.bundler.json": { compilerOptions: { ...common, module: "Preserve", moduleResolution: "Bundler" }, files: ["bundler.ts"] },
  };
  for (const [name, config] of Object.entries(configs)) fs.writeFileSync(path.join(dir, name), JSON.stringify(config));
  const runs = compilers().flatMap((c) =>
    Object.keys(configs).map((name) => runAsync(c.cmd, [...c.pre, "-p", name, "--listFiles"], { cwd: dir }).then((r) => ({ name: `${c.name} ${name}`, ...r }))),
  );
  for (const r of await Promise.all(runs)) {
    assert.equal(r.status, 0, `${r.name}:\n${r.stdout}${r.stderr}`);
    // the declarations came from the installed package, not from this checkout
    assert.ok(r.stdout.includes(path.join(app, "node_modules", "memmap", "dist", "index.d.ts")), r.stdout);
  }
});

test("the load error: no addon fits (an empty MEMMAP_PREBUILD dir; a musl system with only a glibc prebuild); it names `npx memmap build`", () => {
  const empty = path.join(work, "no-addon");
  fs.mkdirSync(empty);
  fs.writeFileSync(path.join(app, "load.mjs"), LOAD_PROBE);
  for (const env of [{ MEMMAP_PREBUILD: empty }, { LIBC: "musl" }]) {
    const { message, ...rest } = runApp("load.mjs", env);
    assert.deepEqual(rest, { exact: true, code: "ERR_MMAP_UNSUPPORTED_PLATFORM", hasCause: true });
    assert.match(message, /\nTo fix it, build one for this system: run `npx memmap build` in your project;/);
  }
  assert.deepEqual(runApp("load.mjs"), { loaded: true }, "the control: the same import loads");
});

test("the load error: an addon that exists but cannot be loaded", () => {
  const broken = path.join(work, "broken");
  fs.mkdirSync(path.join(broken, "prebuilds", HOST), { recursive: true });
  fs.writeFileSync(path.join(broken, ADDON), "not an ELF file");
  const { message, ...rest } = runApp("load.mjs", { MEMMAP_PREBUILD: broken });
  assert.deepEqual(rest, { exact: true, code: "ERR_MMAP_UNSUPPORTED_PLATFORM", hasCause: true });
  assert.match(message, /but it does not load here: .*\nTo fix it, build one for this system: run `npx memmap build`/);
});

test("where no prebuild fits: the command the load error names, `npx memmap build`, builds the addon, and memmap loads it", () => {
  const dir = project("no-prebuild", { type: "module" });
  npm(["install", tarball, deps[0]], dir);
  fs.rmSync(path.join(dir, "node_modules", "memmap", "prebuilds"), { recursive: true }); // as on a system none fits
  fs.writeFileSync(path.join(dir, "load.mjs"), LOAD_PROBE);
  const before = runApp("load.mjs", {}, dir);
  assert.equal(before.code, "ERR_MMAP_UNSUPPORTED_PLATFORM");
  const command = /run `([^`]+)` in your project/.exec(before.message)?.[1];
  assert.equal(command, "npx memmap build");

  const r = ok(run("npx", ["--offline", "--cache", path.join(work, "npm-cache"), ...command.split(" ").slice(1)], { cwd: dir, timeout: 300_000 }), command);
  const addon = path.join(dir, "node_modules", "memmap", "build", "Release", "memmap.node");
  assert.equal(r.stdout.trim().split("\n").pop(), `memmap build: built ${addon}; memmap loads it.`);
  assert.deepEqual(runApp("load.mjs", {}, dir), { loaded: true });
  fs.copyFileSync(path.join(root, "test", "fixtures", "smoke.mjs"), path.join(dir, "smoke.mjs"));
  const smoke = run(process.execPath, ["smoke.mjs", "memmap"], { cwd: dir });
  assert.equal(smoke.status, 0, smoke.stdout + smoke.stderr);
  assert.equal(JSON.parse(smoke.stdout.trim().split("\n").pop()).addon, fs.realpathSync(addon));
  assert.deepEqual(fs.readdirSync(path.join(dir, "node_modules", "memmap")).filter((f) => f === "binding.gyp"), [], "no binding.gyp left behind");
});

test(`Deno ${PINNED.deno}: without permissions the load error names the --allow-* flags missing, and only those; with them memmap loads`, () => {
  const deno = fetchDeno({ range: PINNED.deno }).bin;
  const env = { ...baseEnv, DENO_DIR: path.join(work, "deno-dir"), NO_COLOR: "1" };
  const probe = (flags) => {
    const r = run(deno, ["run", "--no-prompt", ...flags, "load.mjs"], { cwd: app, env });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split("\n").pop());
  };
  const all = ["--allow-env", "--allow-read", "--allow-ffi"];
  for (const granted of [[], ["--allow-env", "--allow-read"], ["--allow-read", "--allow-ffi"], ["--allow-env"]]) {
    const missing = all.filter((f) => !granted.includes(f));
    const { message, ...rest } = probe(granted);
    assert.deepEqual(rest, { exact: true, code: "ERR_MMAP_UNSUPPORTED_PLATFORM", hasCause: true }, `granted ${granted}`);
    assert.ok(message.endsWith(`\nTo fix it, add ${missing.join(" ")} to the Deno command line (\`deno run ${missing.join(" ")} … main.ts\`).`), message);
    for (const f of granted) assert.ok(!message.includes(f), `${f} was granted: ${message}`);
  }
  assert.deepEqual(probe(all), { loaded: true });
});

test("a fresh clone stays clean after `npm install`: package-lock.json as committed, every output ignored", async (t) => {
  const r = await freshClone;
  if (r.skip) return t.skip(r.skip);
  ok(r.install, "npm install in the clone");
  assert.equal(r.git("status", "--porcelain", "--untracked-files=all").stdout, "");
  assert.ok(fs.existsSync(path.join(r.clone, "build", "Release", "memmap.node")), "npm install built the addon");
  assert.ok(fs.existsSync(path.join(r.clone, "dist", "index.js")), "npm install compiled dist/");
});

test("publint finds nothing to report in the tarball (suggestions included)", async () => {
  const { publint } = await import("publint");
  const data = fs.readFileSync(tarball);
  const { messages } = await publint({ pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) }, level: "suggestion" });
  assert.deepEqual(messages, []);
});

test("@arethetypeswrong/cli: no problems but the expected one, CJS resolving to ESM under node16", () => {
  // memmap is ESM-only: CommonJS loads it with require(esm) (Node >= 20.19, checked above at run
  // time and by TypeScript's nodenext check of cjs.cts); attw's node16-from-CJS mode predates
  // require(esm) and reports exactly that, so that one rule is ignored, and only where expected.
  const cli = path.join(path.dirname(require.resolve("@arethetypeswrong/cli/package.json")), "dist", "index.js");
  const r = run(process.execPath, [cli, tarball, "--format", "json", "--ignore-rules", "cjs-resolves-to-esm"]);
  assert.equal(r.status, 0, r.stdout.slice(0, 2000) + r.stderr);
  const { problems } = JSON.parse(r.stdout);
  assert.deepEqual(problems, {
    CJSResolvesToESM: [{ kind: "CJSResolvesToESM", entrypoint: ".", resolutionKind: "node16-cjs" }],
  });
});
