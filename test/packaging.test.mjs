// The npm package as a user gets it. `npm pack` of this checkout; the host's prebuilt addon is
// built from the tarball's own native/ sources and added (scripts/prebuild.mjs --host), as
// `npm run prebuild` does before a release; the tarball is installed into a fresh project with
// install scripts disabled and no registry (an empty npm cache, --offline: node-gyp-build, the one
// runtime dependency, is packed from this checkout's node_modules); then the package is used from
// ESM, from CommonJS (require(esm)) and from TypeScript (moduleResolution nodenext and bundler),
// and publint and @arethetypeswrong/cli check the tarball.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { VIEWS } from "./helpers.mjs";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const HOST = `${process.platform}-${process.arch}`;
const ADDON = `prebuilds/${HOST}/memmap.glibc.node`;

let work; // everything this file creates lives here
let repoFiles; // what `npm pack` of the checkout ships
let tarball; // the tarball under test (the checkout's files + the host prebuild)
let tarFiles;
let app; // the fresh project memmap is installed into

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
    const child = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
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

/** npm with a private, empty cache and no registry: nothing may come from the network. */
function npm(args, cwd) {
  return ok(
    run("npm", [...args, "--cache", path.join(work, "npm-cache"), "--offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd }),
    `npm ${args.join(" ")}`,
  );
}

function pack(dir) {
  const r = npm(["pack", "--ignore-scripts", "--json", "--pack-destination", work], dir);
  const [info] = JSON.parse(r.stdout);
  return { file: path.join(work, info.filename), files: info.files.map((f) => f.path).sort() };
}

/** Runs a file of the app with the Node running this test; returns its last stdout line as JSON. */
function runApp(file, env = {}) {
  const r = ok(run(process.execPath, [file], { cwd: app, env: { ...baseEnv, ...env } }), file);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-packaging-"));

  // 1. the checkout's tarball, as `npm pack` makes it (dist/ is already compiled by pretest)
  const repo = pack(root);
  repoFiles = repo.files;

  // 2. unpack it, build the host's prebuild from the tarball's own sources, pack again
  const stage = path.join(work, "stage");
  fs.mkdirSync(stage);
  ok(run("tar", ["xzf", repo.file, "-C", stage]), "tar");
  const pkgDir = path.join(stage, "package");
  ok(
    run(process.execPath, [path.join(root, "scripts", "prebuild.mjs"), "--host", "--quiet", `--source=${pkgDir}`, `--out=${pkgDir}`], {
      timeout: 120_000,
    }),
    "prebuild --host",
  );
  fs.renameSync(repo.file, path.join(work, "checkout.tgz"));
  ({ file: tarball, files: tarFiles } = pack(pkgDir));

  // 3. node-gyp-build as the registry would serve it, from this checkout's node_modules
  const gypBuild = pack(path.dirname(require.resolve("node-gyp-build/package.json")));

  // 4. a fresh project; install with scripts disabled, offline, from an empty cache
  app = path.join(work, "app");
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true }));
  npm(["install", "--ignore-scripts", tarball, gypBuild.file], app);
});

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test("npm pack ships dist, the native sources and docs; not src, tests, build output or generated API docs", () => {
  for (const f of ["package.json", "README.md", "binding.gyp", "dist/index.js", "dist/index.d.ts", "dist/binding.js", "native/binding.c", "native/mm.h", "docs/python.md"]) {
    assert.ok(repoFiles.includes(f), `${f} is packed`);
  }
  const unwanted = repoFiles.filter((f) => /^(src|test|build|scripts|bench|examples|node_modules|docs\/api)\//.test(f) || f.endsWith(".node") && !f.startsWith("prebuilds/"));
  assert.deepEqual(unwanted, []);
});

test("the tarball under test is the checkout's tarball plus the host's prebuilt addon", () => {
  const withoutPrebuilds = (list) => list.filter((f) => !f.startsWith("prebuilds/"));
  assert.deepEqual(withoutPrebuilds(tarFiles), withoutPrebuilds(repoFiles));
  assert.ok(tarFiles.includes(ADDON), `${ADDON} in ${tarFiles.filter((f) => f.startsWith("prebuilds/")).join(", ")}`);
});

test("installed without scripts and without a registry: the prebuild is there, nothing was compiled", () => {
  const pkg = path.join(app, "node_modules", "memmap");
  assert.ok(fs.statSync(path.join(pkg, ADDON)).size > 0);
  assert.equal(fs.existsSync(path.join(pkg, "build")), false);
  const manifest = JSON.parse(fs.readFileSync(path.join(pkg, "package.json"), "utf8"));
  assert.equal(manifest.scripts.install, "node-gyp-build", "with scripts enabled, install builds only when no prebuild fits");
  assert.ok(manifest.dependencies["node-gyp-build"]);
  // memmap's dependency resolved (deduplicated against the node-gyp-build supplied offline)
  const tree = JSON.parse(run("npm", ["ls", "--all", "--json"], { cwd: app }).stdout);
  assert.equal(tree.problems, undefined, JSON.stringify(tree.problems));
  assert.equal(tree.dependencies.memmap.dependencies["node-gyp-build"].version, require("node-gyp-build/package.json").version);
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

test("TypeScript: the shipped types check under moduleResolution nodenext (ESM and CJS files) and bundler", async () => {
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
    "bundler.ts": `import { MMap, MAP_PRIVATE, type Access } from "memmap";
const access: Access = 3;
using m = new MMap(-1, 4096, { flags: MAP_PRIVATE, access });
const found: number = m.find("x");
// @ts-expect-error the map's length is read-only
m.length = 1;
export { found };
`,
  };
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(app, name), text);
  const common = {
    target: "ES2022",
    lib: ["ES2023", "ESNext.Disposable"],
    types: ["node"],
    typeRoots: [path.join(root, "node_modules", "@types")],
    strict: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
    skipLibCheck: false,
  };
  const configs = {
    "tsconfig.nodenext.json": { compilerOptions: { ...common, module: "NodeNext", moduleResolution: "NodeNext" }, files: ["esm.mts", "cjs.cts"] },
    "tsconfig.bundler.json": { compilerOptions: { ...common, module: "Preserve", moduleResolution: "Bundler" }, files: ["bundler.ts"] },
  };
  const tsc = require.resolve("typescript/bin/tsc");
  const runs = await Promise.all(
    Object.entries(configs).map(([name, config]) => {
      fs.writeFileSync(path.join(app, name), JSON.stringify(config));
      return runAsync(process.execPath, [tsc, "-p", name, "--listFiles"], { cwd: app, env: baseEnv }).then((r) => ({ name, ...r }));
    }),
  );
  for (const r of runs) {
    assert.equal(r.status, 0, `${r.name}:\n${r.stdout}${r.stderr}`);
    // the declarations came from the installed package, not from this checkout
    assert.ok(r.stdout.includes(path.join(app, "node_modules", "memmap", "dist", "index.d.ts")), r.stdout);
  }
});

test("the load error: no addon fits (an empty MEMMAP_PREBUILD dir; a musl system with only a glibc prebuild)", () => {
  const empty = path.join(work, "no-addon");
  fs.mkdirSync(empty);
  fs.writeFileSync(
    path.join(app, "load.mjs"),
    `try { await import("memmap"); console.log(JSON.stringify({ loaded: true })); }
catch (e) { console.log(JSON.stringify({ exact: Object.getPrototypeOf(e) === Error.prototype, code: e.code, hasCause: e.cause !== undefined })); }
`,
  );
  const expected = { exact: true, code: "ERR_MMAP_UNSUPPORTED_PLATFORM", hasCause: true };
  assert.deepEqual(runApp("load.mjs", { MEMMAP_PREBUILD: empty }), expected);
  assert.deepEqual(runApp("load.mjs", { LIBC: "musl" }), expected);
  assert.deepEqual(runApp("load.mjs"), { loaded: true }, "the control: the same import loads");
});

test("the load error: an addon that exists but cannot be loaded", () => {
  const broken = path.join(work, "broken");
  fs.mkdirSync(path.join(broken, "prebuilds", HOST), { recursive: true });
  fs.writeFileSync(path.join(broken, ADDON), "not an ELF file");
  assert.deepEqual(runApp("load.mjs", { MEMMAP_PREBUILD: broken }), { exact: true, code: "ERR_MMAP_UNSUPPORTED_PLATFORM", hasCause: true });
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
