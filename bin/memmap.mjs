#!/usr/bin/env node
// memmap's command: `npx memmap build`, in a project that depends on memmap, compiles the native
// addon from source for this system. The package has no install script (prebuilt addons load as
// they are, npm has nothing to run or warn about); this is the one step for a system no prebuild
// fits, and the command the load error names. It runs node-gyp (the one npm ships) on a private
// copy of native/ and native/memmap.gyp (binding.gyp, which the package does not carry under its
// own name: npm would take it for an install script), then puts the addon where the loader takes
// it before any prebuild: build/Release/memmap.node.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const addon = path.join(root, "build", "Release", "memmap.node");

const USAGE = `usage: npx memmap build | --help | --version

  build   compiles memmap's native addon for this system (${process.platform}-${process.arch})
          into ${addon}
          with node-gyp; needs python3, make and a C compiler (Windows: Visual Studio's C++ tools)`;

/** node-gyp's script: npm's own (npm and npx name it), or one installed beside npm or in the project. */
function nodeGyp() {
  const script = ["node_modules", "node-gyp", "bin", "node-gyp.js"];
  const candidates = [process.env.npm_config_node_gyp];
  if (process.env.npm_execpath) candidates.push(path.join(path.dirname(process.env.npm_execpath), "..", ...script));
  const bin = path.dirname(process.execPath);
  candidates.push(path.join(bin, "..", "lib", "node_modules", "npm", ...script), path.join(bin, "node_modules", "npm", ...script));
  try {
    candidates.push(createRequire(path.join(process.cwd(), "package.json")).resolve("node-gyp/bin/node-gyp.js"));
  } catch {}
  return candidates.find((c) => c && fs.existsSync(c));
}

function fail(message, status = 1) {
  console.error(`memmap build: ${message}`);
  process.exit(status);
}

const [command, ...rest] = process.argv.slice(2);
if (command === "--help" || command === "-h" || command === "help") {
  console.log(USAGE);
  process.exit(0);
}
if (command === "--version" || command === "-v") {
  console.log(JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).version);
  process.exit(0);
}
/** A wrong command line: what was wrong, then the usage; exit status 2. */
function usageError(message) {
  console.error(`memmap: ${message}\n${USAGE}`);
  process.exit(2);
}
if (command === undefined) usageError("no command given");
if (command !== "build") usageError(`unknown command '${command}'`);
if (rest.length > 0) usageError(`build takes no arguments; got: ${rest.join(" ")}`);

// native/memmap.gyp is made when the package is packed (scripts/pack-files.mjs): a checkout has
// binding.gyp at its root instead, and its own command.
if (!fs.existsSync(path.join(root, "native", "memmap.gyp"))) {
  if (fs.existsSync(path.join(root, "binding.gyp"))) fail(`${root} is a checkout of memmap: build its addon with \`npm run build:native\` there.`);
  fail(`${path.join(root, "native", "memmap.gyp")} is missing: this copy of memmap is incomplete; reinstall it (\`npm install memmap\`).`);
}

const gyp = nodeGyp();
if (gyp === undefined) fail("node-gyp was not found: run this command through npm (`npx memmap build`), or install node-gyp (`npm install -g node-gyp`).");

/** Builds in a private directory; puts the addon in place (a new file, renamed over any old one). */
function build() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-build-"));
  try {
    fs.cpSync(path.join(root, "native"), path.join(work, "native"), { recursive: true });
    fs.renameSync(path.join(work, "native", "memmap.gyp"), path.join(work, "binding.gyp"));
    console.error(`memmap build: node-gyp rebuild (in ${work})`);
    const built = spawnSync(process.execPath, [gyp, "rebuild"], { cwd: work, stdio: "inherit" });
    if (built.error) return `could not run node-gyp: ${built.error.message}`;
    if (built.status !== 0) {
      return `node-gyp failed (${built.status ?? built.signal}): it needs python3, make and a C compiler (Windows: Visual Studio's C++ tools).`;
    }
    fs.mkdirSync(path.dirname(addon), { recursive: true });
    fs.copyFileSync(path.join(work, "build", "Release", "memmap.node"), `${addon}.new`);
    fs.renameSync(`${addon}.new`, addon);
    return null;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const problem = build();
if (problem !== null) fail(problem);

// The proof: a fresh process imports memmap, which takes build/Release before any prebuild.
const entry = pathToFileURL(path.join(root, "dist", "index.js")).href;
const env = { ...process.env };
delete env.MEMMAP_PREBUILD;
const check = spawnSync(process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(entry)});`], {
  stdio: ["ignore", "inherit", "pipe"],
  encoding: "utf8",
  env,
});
if (check.status !== 0) fail(`built ${addon}, but memmap does not load it:\n${check.stderr}`);
console.log(`memmap build: built ${addon}; memmap loads it.`);
