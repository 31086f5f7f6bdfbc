// Runtimes from the npm registry, unpacked into a cache outside the repository.
//
// Node:  `node@N` on npm installs its platform package node-<platform>-<arch>@N (a preinstall script
//        picks it); we fetch that platform package directly with `npm pack` (no install scripts run).
// Bun:   `bun` on npm depends on @oven/bun-<platform>-<arch>[-musl|-baseline]; same approach.
// Deno:  `deno` on npm depends on @deno/<platform>-<arch>-glibc; same approach.
//
// Cache: $MEMMAP_RUNTIMES_CACHE, else $XDG_CACHE_HOME/memmap-runtimes, else ~/.cache/memmap-runtimes.
// Nothing is downloaded from anywhere but the npm registry the npm client is configured with.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const cacheDir =
  process.env.MEMMAP_RUNTIMES_CACHE ||
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "memmap-runtimes");

function npm(args, opts = {}) {
  const r = spawnSync("npm", args, { encoding: "utf8", maxBuffer: 1 << 26, ...opts });
  if (r.error) throw r.error;
  return r;
}

/** The newest version of `name` matching `range` on the registry, or null when offline. */
function resolveVersion(name, range) {
  const r = npm(["view", `${name}@${range}`, "version", "--json"]);
  if (r.status !== 0) return null;
  const v = JSON.parse(r.stdout);
  const list = Array.isArray(v) ? v : [v];
  return list.sort((a, b) => a.localeCompare(b, "en", { numeric: true })).pop() ?? null;
}

function cachedVersions(name) {
  const prefix = `${name.replace("/", "+")}@`;
  if (!fs.existsSync(cacheDir)) return [];
  return fs
    .readdirSync(cacheDir)
    .filter((d) => d.startsWith(prefix) && fs.existsSync(path.join(cacheDir, d, ".complete")))
    .map((d) => d.slice(prefix.length));
}

const satisfiesMajor = (version, range) => !/^\d+$/.test(range) || version.split(".")[0] === range;

/**
 * Unpacks `name@range` (range: a major like "22", an exact version, or "latest") into the cache and
 * returns { dir, version }. Works offline from the cache when the registry cannot be reached; an
 * exact version already in the cache is taken without asking the registry (the tests pin theirs).
 */
export function fetchPackage(name, range = "latest") {
  if (/^\d+\.\d+\.\d+$/.test(range)) {
    const dir = path.join(cacheDir, `${name.replace("/", "+")}@${range}`);
    if (fs.existsSync(path.join(dir, ".complete"))) return { dir, version: range };
  }
  let version = resolveVersion(name, range);
  if (version === null) {
    const cached = cachedVersions(name)
      .filter((v) => satisfiesMajor(v, range))
      .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    version = cached.pop() ?? null;
    if (version === null) throw new Error(`cannot resolve ${name}@${range}: registry unreachable and nothing cached`);
  }
  const dir = path.join(cacheDir, `${name.replace("/", "+")}@${version}`);
  if (fs.existsSync(path.join(dir, ".complete"))) return { dir, version };
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(cacheDir, ".pack-"));
  try {
    const r = npm(["pack", `${name}@${version}`, "--pack-destination", tmp, "--json"], { cwd: tmp });
    if (r.status !== 0) throw new Error(`npm pack ${name}@${version} failed:\n${r.stderr}`);
    const [{ filename }] = JSON.parse(r.stdout);
    const t = spawnSync("tar", ["xzf", path.join(tmp, filename), "-C", dir, "--strip-components=1"], { encoding: "utf8" });
    if (t.status !== 0) throw new Error(`tar failed on ${filename}: ${t.stderr}`);
    fs.writeFileSync(path.join(dir, ".complete"), `${name}@${version}\n`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { dir, version };
}

const NODE_ARCH = { x64: "x64", arm64: "arm64" };

/** A Node binary of major `major` for `arch` (default: this machine's), from node-linux-<arch>@major. */
export function fetchNode(major, arch = process.arch) {
  const { dir, version } = fetchPackage(`node-${process.platform}-${NODE_ARCH[arch] ?? arch}`, String(major));
  return { bin: path.join(dir, "bin", "node"), version };
}

function hasAvx2() {
  try {
    return /\bavx2\b/.test(fs.readFileSync("/proc/cpuinfo", "latin1"));
  } catch {
    return false;
  }
}

/** Bun from @oven/bun-linux-<arch>[-musl][-baseline] (what the `bun` package installs). */
export function fetchBun({ musl = false, range = "latest" } = {}) {
  const arch = process.arch === "arm64" ? "aarch64" : "x64";
  const baseline = arch === "x64" && !hasAvx2() ? "-baseline" : "";
  const name = `@oven/bun-${process.platform}-${arch}${musl ? "-musl" : ""}${baseline}`;
  const { dir, version } = fetchPackage(name, range);
  return { bin: path.join(dir, "bin", "bun"), version, name };
}

/**
 * TypeScript 7's compiler: the native `tsc` of @typescript/typescript-<platform>-<arch>, the
 * package through which `typescript@7` (npm's default TypeScript) runs it.
 */
export function fetchTypeScript7(range = "7") {
  const { dir, version } = fetchPackage(`@typescript/typescript-${process.platform}-${process.arch}`, range);
  return { bin: path.join(dir, "lib", process.platform === "win32" ? "tsc.exe" : "tsc"), version };
}

/** Deno from @deno/linux-<arch>-glibc (what the `deno` package installs). */
export function fetchDeno({ range = "latest" } = {}) {
  const name = `@deno/${process.platform}-${process.arch}-glibc`;
  const { dir, version } = fetchPackage(name, range);
  const bin = [path.join(dir, "deno"), path.join(dir, "bin", "deno")].find((f) => fs.existsSync(f));
  if (!bin) throw new Error(`no deno binary in ${dir}`);
  return { bin, version, name };
}

/** Parses the last JSON line a smoke run printed, or null. */
export function smokeReport(stdout) {
  const line = stdout.trim().split("\n").reverse().find((l) => l.startsWith("{"));
  try {
    return line ? JSON.parse(line) : null;
  } catch {
    return null;
  }
}
