#!/usr/bin/env node
// Builds the prebuilt addons shipped in the npm package: prebuilds/<platform>-<arch>/memmap.<libc>.node
// (prebuildify --napi --strip --tag-libc), one Node-API binary per target for every Node version.
//
//   npm run prebuild                    all targets: linux-x64 glibc, linux-x64 musl, linux-arm64 glibc
//   node scripts/prebuild.mjs --host    the host's target only (what the packaging test uses)
//   node scripts/prebuild.mjs --targets=linux-arm64-glibc --out=/some/dir
//   --source=DIR builds from DIR's native/ and its binding.gyp (an unpacked package's native/memmap.gyp)
//                instead of this checkout's
//   --prepack    (the prepack script) a target without its toolchain is skipped with a warning,
//                except under `npm publish`, which needs all of them
//
// Each target builds in a private copy of binding.gyp + native/ (never in ./build, which stays the
// development build), then is checked statically: the ELF machine, the shared libraries it needs,
// the newest glibc symbol version it asks for (at most 2.28, Node 20's own floor), and for musl
// that every libc symbol it imports exists in musl. Cross toolchains come from Debian:
//   apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross musl-tools
// Running the binaries: scripts/prebuild-test.mjs (npm run prebuild:test).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const require_ = (await import("node:module")).createRequire(import.meta.url);

/** Newest glibc symbol version a glibc prebuild may need: Node 20, 22 and 24 run on glibc 2.28. */
export const GLIBC_FLOOR = [2, 28];

/** Every target this script knows, keyed by `<platform>-<arch>-<libc>`. */
export const TARGETS = {
  "linux-x64-glibc": { arch: "x64", libc: "glibc", machine: "X86-64", prefix: "x86_64-linux-gnu-" },
  "linux-x64-musl": { arch: "x64", libc: "musl", machine: "X86-64", cc: "musl-gcc", apt: ["musl-tools"] },
  "linux-arm64-glibc": {
    arch: "arm64",
    libc: "glibc",
    machine: "AArch64",
    prefix: "aarch64-linux-gnu-",
    apt: ["gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"],
  },
};
/** Windows: cross-built with mingw-w64 by scripts/build-win32.mjs (not prebuildify/node-gyp). */
TARGETS["win32-x64"] = { arch: "x64", platform: "win32", apt: ["gcc-mingw-w64-x86-64-win32", "binutils-mingw-w64-x86-64"] };
export const APT_COMMAND =
  "apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross musl-tools gcc-mingw-w64-x86-64-win32 binutils-mingw-w64-x86-64";

/** The host's own target name (linux-x64-glibc here). */
export function hostTarget() {
  const glibc = process.report?.getReport?.().header?.glibcVersionRuntime !== undefined;
  return `${process.platform}-${process.arch}-${glibc ? "glibc" : "musl"}`;
}

const WIN_PREFIX = "x86_64-w64-mingw32-";

function which(cmd) {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** The compiler and strip program for a target on this host, or null with what to install. */
function toolchain(name) {
  const t = TARGETS[name];
  if (t.platform === "win32") {
    const absent = [`${WIN_PREFIX}gcc`, `${WIN_PREFIX}dlltool`, `${WIN_PREFIX}objdump`].filter((c) => which(c) === null);
    return absent.length > 0 ? { missing: `${absent.join(", ")} not found (Debian: apt-get install ${t.apt.join(" ")})` } : {};
  }
  const native = t.arch === process.arch && process.platform === "linux";
  let cc;
  let strip;
  if (t.libc === "musl") {
    if (!native) return { missing: `musl targets build on a ${t.arch} host only` };
    cc = t.cc;
    strip = "strip";
  } else if (native) {
    cc = process.env.CC || "cc";
    strip = "strip";
  } else {
    cc = `${t.prefix}gcc`;
    strip = `${t.prefix}strip`;
  }
  const absent = [cc, strip].filter((c) => which(c) === null);
  if (absent.length > 0) return { missing: `${absent.join(", ")} not found (Debian: ${APT_COMMAND})` };
  return { cc, strip };
}

/** node-gyp: the one npm runs scripts with, else the one bundled with the npm on PATH. */
function nodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) {
    candidates.push(path.join(path.dirname(process.env.npm_execpath), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  }
  const npm = which("npm");
  if (npm) candidates.push(path.join(path.dirname(fs.realpathSync(npm)), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new Error("node-gyp not found: run this through npm (npm run prebuild)");
  return found;
}

/** Headers for node-gyp without a download: the running Node's own include/node, when it has one. */
function nodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const dir = path.resolve(path.dirname(process.execPath), "..");
  return fs.existsSync(path.join(dir, "include", "node", "node_api.h")) ? dir : undefined;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status ?? r.signal}\n${r.stdout ?? ""}${r.stderr ?? ""}`);
  }
  return r.stdout ?? "";
}

const versionOf = (v) => v.split(".").map(Number);
const newer = (a, b) => a[0] !== b[0] ? a[0] > b[0] : (a[1] ?? 0) > (b[1] ?? 0);

/**
 * Static checks of one built addon; returns a description, throws on a violation.
 * `readelf` reads any architecture's ELF.
 */
export function inspect(file, name) {
  const t = TARGETS[name];
  const header = run("readelf", ["-h", file]);
  const machine = /Machine:\s+(.*)/.exec(header)?.[1] ?? "";
  if (!machine.includes(t.machine === "X86-64" ? "X86-64" : "AArch64")) throw new Error(`${file}: machine ${machine}, expected ${t.machine}`);
  const dynamic = run("readelf", ["-d", "-W", file]);
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)].map((m) => m[1]);
  const syms = run("readelf", ["--dyn-syms", "-W", file]).split("\n");
  const undef = syms
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[6] === "UND" && f[7])
    .map((f) => ({ name: f[7].replace(/@.*/, ""), version: /@+(GLIBC_[\d.]+)/.exec(f[7])?.[1], weak: f[4] === "WEAK" }));
  const info = { file, machine, needed, size: fs.statSync(file).size };
  if (t.libc === "glibc") {
    if (needed.some((n) => n !== "libc.so.6")) throw new Error(`${file}: needs ${needed.join(", ")}; only libc.so.6 expected`);
    const versions = undef.filter((s) => s.version).map((s) => ({ ...s, v: versionOf(s.version.slice(6)) }));
    const tooNew = versions.filter((s) => newer(s.v, GLIBC_FLOOR));
    if (tooNew.length > 0) {
      throw new Error(`${file}: needs glibc > ${GLIBC_FLOOR.join(".")}: ${tooNew.map((s) => `${s.name}@${s.version}`).join(", ")}`);
    }
    info.glibc = versions.reduce((m, s) => (newer(s.v, m) ? s.v : m), [2, 0]).join(".");
  } else {
    if (needed.some((n) => !/^libc\.(so|musl-[\w-]+\.so\.1)$/.test(n))) throw new Error(`${file}: needs ${needed.join(", ")}; only musl's libc expected`);
    // every libc function it imports must exist in musl (Node-API comes from the host process)
    const musl = ["/usr/lib/x86_64-linux-musl/libc.so", "/usr/lib/musl/lib/libc.so"].find((f) => fs.existsSync(f));
    if (musl) {
      const exported = new Set(
        run("readelf", ["--dyn-syms", "-W", musl])
          .split("\n")
          .map((l) => l.trim().split(/\s+/))
          .filter((f) => f[6] && f[6] !== "UND" && f[7])
          .map((f) => f[7].replace(/@.*/, "")),
      );
      const unknown = undef.filter((s) => !s.weak && !/^(napi_|node_api_)/.test(s.name) && !exported.has(s.name));
      if (unknown.length > 0) throw new Error(`${file}: imports symbols musl lacks: ${unknown.map((s) => s.name).join(", ")}`);
      info.muslChecked = musl;
    }
  }
  return info;
}

/** The Windows addon: built by scripts/build-win32.mjs; imports only what Windows and node.exe have. */
async function buildWindows(name, { out, source }) {
  const { buildWin32, importsOf } = await import("./build-win32.mjs");
  const file = buildWin32({ out, source });
  const needed = importsOf(file);
  const allowed = ["KERNEL32.dll", "msvcrt.dll", "node.exe"];
  const extra = needed.filter((d) => !allowed.includes(d));
  if (extra.length > 0) throw new Error(`${file}: imports ${extra.join(", ")}; only ${allowed.join(", ")} expected`);
  return { file, machine: "x86-64 PE", needed, size: fs.statSync(file).size };
}

/** Builds one target into `<out>/prebuilds/`; returns the path of the binary. */
export async function build(name, { out = root, source = root, quiet = false } = {}) {
  const t = TARGETS[name];
  const tools = toolchain(name);
  if (tools.missing) throw new Error(`cannot build ${name}: ${tools.missing}`);
  if (t.platform === "win32") return buildWindows(name, { out, source });
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), `memmap-prebuild-${name}-`));
  try {
    for (const entry of ["package.json", "native"]) {
      fs.cpSync(path.join(source, entry), path.join(stage, entry), { recursive: true });
    }
    // a checkout's binding.gyp, or an unpacked package's copy of it (scripts/pack-files.mjs)
    const gyp = fs.existsSync(path.join(source, "binding.gyp")) ? path.join(source, "binding.gyp") : path.join(source, "native", "memmap.gyp");
    fs.copyFileSync(gyp, path.join(stage, "binding.gyp"));
    const env = {
      ...process.env,
      CC: tools.cc,
      CXX: tools.cc,
      LINK: tools.cc,
      PREBUILD_LIBC: t.libc,
      PREBUILD_STRIP_BIN: tools.strip,
      PREBUILD_NODE_GYP: nodeGyp(),
    };
    const dir = nodedir();
    if (dir) env.npm_config_nodedir = dir;
    if (t.libc === "glibc") {
      // see scripts/prebuild-glibc-compat.c: keeps the binary loadable on glibc 2.28
      const compat = path.join(stage, "glibc-compat.o");
      run(tools.cc, ["-c", "-O2", "-fPIC", "-fvisibility=hidden", path.join(root, "scripts", "prebuild-glibc-compat.c"), "-o", compat]);
      const wrap = ["fstat64", "fstat", "pthread_create", "pthread_attr_setstacksize"].map((f) => `-Wl,--wrap=${f}`);
      env.LDFLAGS = [process.env.LDFLAGS, ...wrap, compat].filter(Boolean).join(" ");
    }
    const prebuildify = require_.resolve("prebuildify/bin.js");
    const args = [prebuildify, "--napi", "--strip", "--tag-libc", `--target=${process.versions.node}`, `--arch=${t.arch}`, "--cwd", stage, "--out", stage, "--cache", path.join(stage, ".cache")];
    if (quiet) args.push("--quiet");
    // progress goes to stderr: `npm pack --json` runs this (prepack) and its stdout must stay JSON
    run(process.execPath, args, { env, stdio: quiet ? "pipe" : ["ignore", 2, 2] });
    const built = path.join(stage, "prebuilds", `linux-${t.arch}`, `memmap.${t.libc}.node`);
    const info = inspect(built, name);
    const dest = path.join(out, "prebuilds", `linux-${t.arch}`, `memmap.${t.libc}.node`);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(built, dest);
    return { ...info, file: dest };
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

async function main(argv) {
  const opt = Object.fromEntries(
    argv.map((a) => {
      const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
      if (!m) throw new Error(`unknown argument ${a}`);
      return [m[1], m[2] ?? true];
    }),
  );
  let names = Object.keys(TARGETS);
  if (opt.host) names = [hostTarget()];
  if (typeof opt.targets === "string") names = opt.targets.split(",");
  for (const n of names) if (!TARGETS[n]) throw new Error(`unknown target ${n}; known: ${Object.keys(TARGETS).join(", ")}`);
  const out = typeof opt.out === "string" ? path.resolve(opt.out) : root;
  const source = typeof opt.source === "string" ? path.resolve(opt.source) : root;
  // prepack (npm pack, npm publish, and npm's packing of a git dependency): every target for a
  // publish; otherwise the targets this machine has a toolchain for, the others skipped with a warning
  const lenient = opt.prepack === true && process.env.npm_command !== "publish";
  const results = [];
  for (const n of names) {
    if (lenient && toolchain(n).missing) {
      console.warn(`prebuild ${n}: skipped, ${toolchain(n).missing} (npm publish requires it)`);
      continue;
    }
    const info = await build(n, { out, source, quiet: !!opt.quiet });
    results.push(info);
    const extra = info.glibc ? `glibc >= ${info.glibc}` : info.muslChecked ? "musl symbols checked" : "";
    console.error(`prebuild ${n}: ${path.relative(process.cwd(), info.file)} (${info.size} bytes, ${info.machine}, needs ${info.needed.join(" ")}; ${extra})`);
  }
  return results;
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await main(process.argv.slice(2));
  } catch (err) {
    console.error(`prebuild: ${err.message}`);
    process.exitCode = 1;
  }
}
