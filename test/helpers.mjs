// Shared helpers for the test files.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import util from "node:util";

import { MMap } from "../dist/index.js";

/** Opens a map with `new MMap(...args)` and hands it to fn, closing it whatever happens. */
export function withMap(args, fn) {
  const m = new MMap(...args);
  try {
    return fn(m);
  } finally {
    m.close();
  }
}

/** True on Windows, where tests of POSIX-only behaviour are skipped (each with its reason). */
export const WINDOWS = process.platform === "win32";

/**
 * What to undo when this process exits, last registered first (descriptors before the
 * directories holding them). One "exit" listener runs them all: a listener per temporary
 * directory or descriptor made Node warn of a leak (MaxListenersExceededWarning) past ten.
 */
const atExit = [];
process.on("exit", () => {
  for (const undo of atExit.reverse()) undo();
});

/** A fresh temporary directory, removed at process exit. */
export function tmpdir(prefix = "memmap-") {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  atExit.push(() => {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      // Windows deletes no file that is still open or mapped: what the test left open stays.
      if (!WINDOWS) throw err;
    }
  });
  return dir;
}

const shared = tmpdir();
let counter = 0;

/** Writes `content` (string or bytes) to a new temporary file and returns its path. */
export function tmpfile(content = "", name = `f${counter++}`) {
  const p = path.join(shared, name);
  fs.writeFileSync(p, content);
  return p;
}

/** Opens a new temporary file holding `content`; returns { path, fd } and closes the fd at exit. */
export function tmpfd(content = "", flags = "r+") {
  const p = tmpfile(content);
  const fd = fs.openSync(p, flags);
  atExit.push(() => {
    try {
      fs.closeSync(fd);
    } catch {}
  });
  return { path: p, fd };
}

/** The CPython 3.13 reference interpreter, or null when it is missing. */
export const python = (() => {
  const env = { ...process.env, PYENV_VERSION: "3.13.0" };
  const r = spawnSync("python3", ["-c", "import sys; print(sys.version_info[:2])"], { env, encoding: "utf8" });
  return r.status === 0 && r.stdout.includes("3, 13") ? { cmd: "python3", env } : null;
})();

/** Runs a Python program (with PYENV_VERSION=3.13.0) and returns its stdout parsed as JSON. */
export function runPython(code, input) {
  if (python === null) throw new Error("python3 3.13 is not available");
  const r = spawnSync(python.cmd, ["-c", code], { env: python.env, encoding: "utf8", input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Asserts that fn throws an error of class `Class` with `code`. */
export function throwsCode(fn, Class, code) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof Class, `expected ${Class.name}, got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(Object.getPrototypeOf(err), Class.prototype, `exact class ${Class.name}`);
    assert.equal(err.code, code, `code of: ${err.message}`);
    return true;
  });
}

/** Like throwsCode for a promise. */
export async function rejectsCode(promise, Class, code) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof Class, `expected ${Class.name}, got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.code, code, `code of: ${err.message}`);
    return true;
  });
}


/**
 * Open descriptors of this process; null on Windows, which has no /proc: there the
 * "no descriptor left behind" checks compare null with null (test/windows.test.mjs checks
 * handles its own way), and tests that need a count are skipped.
 */
export function openFds() {
  return WINDOWS ? null : fs.readdirSync("/proc/self/fd").length;
}

/** Mappings of this process; null on Windows (no /proc). */
export function mappingCount() {
  return WINDOWS ? null : fs.readFileSync("/proc/self/maps", "utf8").split("\n").filter(Boolean).length;
}

/** Runs a Node script in a child process; returns { status, signal, stdout, stderr }. */
export function runNode(args, options = {}) {
  const run = () => spawnSync(process.execPath, args, { encoding: "utf8", timeout: 120_000, ...options });
  const r = run();
  // A child that could not be started at all (no status, no signal: the system refused the
  // process, as Wine now and then does on a loaded machine) is started once more; a child that
  // ran is never run again, whatever it did.
  if (r.error !== undefined && r.status === null && r.signal === null) return run();
  return r;
}

/**
 * The errno Node reports for an error code: -errno on POSIX systems; libuv's own number on
 * Windows (EACCES is -4092 there), as Node's fs errors have it.
 */
export function errnoOf(code) {
  for (const [errno, [name]] of util.getSystemErrorMap()) if (name === code) return errno;
  return -os.constants.errno[code];
}

/** A descriptor count changed by k; null stays null (Windows: counts are not checked there). */
export function more(count, k) {
  return count === null ? null : count + k;
}

/**
 * Whether this run has views (`m.buffer`, `m.subarray()`): false under
 * MEMMAP_NO_EXTERNAL_BUFFERS=1, where memmap behaves as in a runtime that forbids external
 * ArrayBuffers (Electron) and every method copies through the addon instead.
 */
export const VIEWS = process.env.MEMMAP_NO_EXTERNAL_BUFFERS !== "1";

/** Running under AddressSanitizer (npm run test:asan preloads libasan). */
export const ASAN = /libasan/.test(process.env.LD_PRELOAD ?? "");

/** Writes `data` into the map at `at`, without a view (so in both modes). */
export function fillFrom(m, data, at = 0) {
  m.setSlice(at, at + data.length, data);
}

/**
 * Without views: asserts that `m.buffer` and `m.subarray(...args)` throw Error
 * ERR_MMAP_VIEWS_UNAVAILABLE (the map being open).
 */
export function assertNoViews(m, ...args) {
  throwsCode(() => m.buffer, Error, "ERR_MMAP_VIEWS_UNAVAILABLE");
  throwsCode(() => m.subarray(...args), Error, "ERR_MMAP_VIEWS_UNAVAILABLE");
}

/** The lines of `bytes` as a readline loop reads them (and m.lines() yields them): split after each "\n", the last may have none. */
export function splitLines(bytes) {
  const out = [];
  for (let p = 0; p < bytes.length; ) {
    const nl = bytes.indexOf(10, p);
    const stop = nl < 0 ? bytes.length : nl + 1;
    out.push(bytes.subarray(p, stop));
    p = stop;
  }
  return out;
}
