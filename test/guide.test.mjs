// The recipes of docs/guide.md: each is a runnable file in examples/, and prints exactly what the
// guide says it does. (examples.test.mjs runs the examples of Python's documentation and the
// sharing examples; mutex.mjs and ring.mjs run in wait.test.mjs.)
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { runNode, tmpdir, VIEWS, WINDOWS } from "./helpers.mjs";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Runs examples/<name> with a private TMPDIR; asserts how it ended and that it removed what it
 * made; returns stdout's lines and the child's spawnSync result. `views: false`: where the
 * runtime forbids external ArrayBuffers (MEMMAP_NO_EXTERNAL_BUFFERS=1, as Electron's sandbox), a
 * recipe built on views stops at its first view with ERR_MMAP_VIEWS_UNAVAILABLE (exit 1).
 */
function runFull(name, args = [], { views = true } = {}) {
  const tmp = tmpdir("memmap-guide-tmp-");
  const r = runNode([path.join(root, "examples", name), ...args], { cwd: root, timeout: 60_000, env: { ...process.env, TMPDIR: tmp, TEMP: tmp, TMP: tmp } });
  assert.equal(r.signal, null, `${name}: killed by ${r.signal}; stderr: ${r.stderr}`);
  if (views) {
    assert.equal(r.status, 0, `${name}: stderr: ${r.stderr}`);
    assert.equal(r.stderr, "", name);
  } else {
    assert.equal(r.status, 1, `${name}: stderr: ${r.stderr}`);
    assert.match(r.stderr, /code: 'ERR_MMAP_VIEWS_UNAVAILABLE'/, name);
  }
  assert.deepEqual(fs.readdirSync(tmp), [], `${name} removes what it made`);
  return { r, lines: r.stdout.split("\n").slice(0, -1) };
}

/** runFull()'s lines. */
const run = (name, args = []) => runFull(name, args).lines;
/** runFull()'s lines, without views. */
const runWithoutViews = (name, args = []) => runFull(name, args, { views: false }).lines;

test("grep-log.mjs: find, search, matchAll and lines() over a log, in place", () => {
  const lines = 200_000;
  // What the log holds: line i is an error with code i % 7000 when i % 1000 === 999.
  let firstAt = 0;
  for (let i = 0; i < 999; i++) firstAt += `2026-12-06T10:00:00Z INFO request ${i} ok\n`.length;
  const codes = new Set();
  for (let i = 999; i < lines; i += 1000) codes.add(i % 7000);
  assert.deepEqual(run("grep-log.mjs", [String(lines)]), [
    "ERROR lines: 200",
    `first error: code 999 in request 999 at byte ${firstAt + "2026-12-06T10:00:00Z ".length}`,
    `distinct codes: ${codes.size}`,
    'lines that say "failed": 200',
  ]);
});

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
  const { r, lines } = runFull("share-wait.mjs", [], { views: VIEWS });
  assert.deepEqual(lines, VIEWS ? ['the parent read: the child read "hello from the parent"', "name removed: true"] : ["name removed: true"]);
  // The tag is named after the parent's pid: only this run's is looked for (other runs may be at work).
  if (!WINDOWS && fs.existsSync("/dev/shm")) assert.equal(fs.existsSync(`/dev/shm/memmap-guide-${r.pid}`), false, "nothing left in /dev/shm");
});

test("share-wait.mjs: a child that dies without answering ends the parent with an error (no endless wait), and the name is still removed", { skip: !VIEWS && "the recipe stops at its first view without views" }, () => {
  // Before: the parent waited for the child's answer in 10-second waitAsync calls, again and
  // again, forever: a child that crashed left it hanging (killed here by the time limit).
  const tmp = tmpdir("memmap-guide-tmp-");
  const die = "data:text/javascript,if (process.argv[2] === '--child') process.exit(3);";
  const r = runNode([path.join(root, "examples", "share-wait.mjs")], {
    cwd: root,
    timeout: 30_000,
    env: { ...process.env, TMPDIR: tmp, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${JSON.stringify(die)}` },
  });
  assert.equal(r.signal, null, `killed by ${r.signal}: the parent waited on forever`);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /the child ended \(exit code 3\) without answering/);
  assert.equal(r.stdout, "name removed: true\n");
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

test("docs/guide.md: every ```ts snippet type-checks against the package's types (strict)", () => {
  const text = fs.readFileSync(path.join(root, "docs", "guide.md"), "utf8");
  const blocks = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 6, `the guide's snippets (${blocks.length})`);
  // Each snippet inside an async function of its own (they reuse names; some await), in a
  // module that imports what the guide says every recipe imports.
  const dir = fs.mkdtempSync(path.join(root, "test", ".guide-"));
  try {
    const source = [
      `import { MMap, ACCESS_READ, ALLOCATIONGRANULARITY, PAGESIZE } from "../../dist/index.js";`,
      `void ACCESS_READ; void ALLOCATIONGRANULARITY; void PAGESIZE; void MMap;`,
      ...blocks.map((b, i) => `export async function recipe${i}(): Promise<void> {\n${b}}\n`),
    ].join("\n");
    fs.writeFileSync(path.join(dir, "guide.mts"), source);
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    const flags = ["--noEmit", "--strict", "--module", "nodenext", "--target", "es2022", "--lib", "es2023,esnext.disposable", "--types", "node", "--skipLibCheck"];
    const r = runNode([tsc, ...flags, path.join(dir, "guide.mts")], { cwd: root });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
