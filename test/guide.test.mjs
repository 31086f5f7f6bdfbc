// The recipes of docs/guide.md: each is a runnable file in examples/, and prints exactly what the
// guide says it does. (examples.test.mjs runs the examples of Python's documentation and the
// sharing examples; mutex.mjs and ring.mjs run in wait.test.mjs.)
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runNode, tmpdir, VIEWS, WINDOWS } from "./helpers.mjs";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Runs examples/<name> with a private TMPDIR; asserts a clean end and nothing left behind; returns stdout lines. */
function run(name, args = []) {
  return runFull(name, args).lines;
}

/** run(), with the child's spawnSync result too. */
function runFull(name, args = []) {
  const { r, tmp } = start(name, args);
  assert.equal(r.signal, null, `${name}: killed by ${r.signal}; stderr: ${r.stderr}`);
  assert.equal(r.status, 0, `${name}: stderr: ${r.stderr}`);
  assert.equal(r.stderr, "", name);
  assert.deepEqual(fs.readdirSync(tmp), [], `${name} removes what it made`);
  return { r, lines: r.stdout.split("\n").slice(0, -1) };
}

function start(name, args) {
  const tmp = tmpdir("memmap-guide-tmp-");
  const r = runNode([path.join(root, "examples", name), ...args], { cwd: root, timeout: 60_000, env: { ...process.env, TMPDIR: tmp, TEMP: tmp, TMP: tmp } });
  return { r, tmp };
}

/**
 * Where the runtime forbids external ArrayBuffers (MEMMAP_NO_EXTERNAL_BUFFERS=1, as Electron's
 * sandbox), a recipe built on views stops at its first view with ERR_MMAP_VIEWS_UNAVAILABLE and
 * still removes what it made; returns stdout lines.
 */
function runWithoutViews(name, args = []) {
  return runWithoutViewsFull(name, args).lines;
}

/** runWithoutViews(), with the child's spawnSync result too. */
function runWithoutViewsFull(name, args = []) {
  const { r, tmp } = start(name, args);
  assert.equal(r.signal, null, `${name}: killed by ${r.signal}; stderr: ${r.stderr}`);
  assert.equal(r.status, 1, `${name}: stderr: ${r.stderr}`);
  assert.match(r.stderr, /code: 'ERR_MMAP_VIEWS_UNAVAILABLE'/, name);
  assert.deepEqual(fs.readdirSync(tmp), [], `${name} removes what it made`);
  return { r, lines: r.stdout.split("\n").slice(0, -1) };
}

test("typed-data.mjs: a Float32Array view of a map sums what readFileSync sums; a DataView reads records", () => {
  if (!VIEWS) return void assert.deepEqual(runWithoutViews("typed-data.mjs", ["1000"]), []);
  let sum = 0;
  const f = new Float32Array(1);
  for (let i = 0; i < 1_000_000; i++) (f[0] = (i % 1000) / 1000), (sum += f[0]);
  assert.deepEqual(run("typed-data.mjs", ["1000000"]), [
    "floats in the map: 1000000",
    "record fields: 0.002 0.003",
    `sum through the map:          ${sum.toFixed(3)}`,
    `sum through readFileSync:     ${sum.toFixed(3)}`,
    "the same: true",
  ]);
});

test("share-wait.mjs: two processes share memory by name and wait for each other; the name is removed", () => {
  const { r, lines } = VIEWS ? runFull("share-wait.mjs") : runWithoutViewsFull("share-wait.mjs");
  assert.deepEqual(lines, VIEWS ? ['the parent read: the child read "hello from the parent"', "name removed: true"] : ["name removed: true"]);
  // The tag is named after the parent's pid: only this run's is looked for (other runs may be at work).
  if (!WINDOWS && fs.existsSync("/dev/shm")) assert.equal(fs.existsSync(`/dev/shm/memmap-guide-${r.pid}`), false, "nothing left in /dev/shm");
});

test("follow-file.mjs: the lines of a growing file, each once, whole", { skip: WINDOWS && "a file that grows while mapped: POSIX" }, () => {
  assert.deepEqual(run("follow-file.mjs"), [
    "started",
    ...[1, 2, 3, 4, 5].map((i) => `event ${i}: (${9 + i * 3000} characters)`),
  ]);
});

test("durable-writes.mjs: write, flush, flushAsync, and the file on disk agrees", () => {
  assert.deepEqual(run("durable-writes.mjs"), [
    "flushed 100 records (6400 bytes)",
    "flushAsync: the whole map is on disk",
    "the file agrees: true",
    "record 42 on disk: record 042",
  ]);
});

test("prefetch.mjs: a prefetched range is resident; lock and unlock (or the system's refusal)", () => {
  const out = run("prefetch.mjs");
  assert.deepEqual(out.slice(0, 2), ["pages in the range: 64", "all of them in memory after prefetch: true"]);
  assert.match(out[2], /^locked one page( \(or the system refused: E[A-Z]+\))?$/);
});
