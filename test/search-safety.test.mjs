// Searching mapped memory in place (issue 12) without ever handing user code a string over it,
// and searches that meet a file that shrank (issue 11 item 10).
//
// search and matchAll run the RegExp over a string made over the mapped bytes (Node-API external
// strings) where the runtime has them. What must hold, whatever the runtime:
// - every matched text, group and named group is a string of its own: it reads the same after
//   the map is closed and its addresses are mapped again by other files (a child process keeps
//   every result through that: fixtures/search-after-close.mjs);
// - the realm's record of the last match, which RegExp.input, RegExp.lastMatch, RegExp.$1… and
//   RegExp.leftContext/rightContext read, never holds such a string;
// - the memory under such a string stays mapped, or reserved reading zeros, while it lives (the
//   control of the same fixture keeps one on purpose);
// - a search that reaches bytes a shrinking file took away throws ERR_MMAP_TRUNCATED, including
//   a matchAll iteration that was started before the file shrank.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { MMap, ACCESS_READ, ACCESS_WRITE, MAP_PRIVATE, PAGESIZE } from "../dist/index.js";
import { runNode, throwsCode, tmpfile, WINDOWS } from "./helpers.mjs";

const FIXTURE = fileURLToPath(new URL("./fixtures/search-after-close.mjs", import.meta.url));
const STATICS = ["input", "$_", "lastMatch", "$&", "lastParen", "$+", "leftContext", "$`", "rightContext", "$'", "$1", "$2", "$9"];

/** The legacy static properties of RegExp that exist in this runtime. */
function statics() {
  const out = {};
  for (const k of STATICS) if (k in RegExp) out[k] = RegExp[k];
  return out;
}

test("a child process keeps every result, closes the map, maps other files at its addresses: the results read the same, nothing crashes", () => {
  const r = runNode(["--expose-gc", FIXTURE]);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout.trim().split("\n").at(-1));
  assert.equal(report.same, true, "a result changed after close: it shared the map's memory");
  assert.ok(report.matched > 100_000 && report.results > 1000, JSON.stringify(report));
  // The addresses were given back once the strings were collected, and (where the system
  // places new maps there: not under ASan or valgrind, which move them) other files took them.
  // JavaScriptCore (Bun) scans the stack conservatively and may keep a string, and so its
  // reservation, alive longer: safe, but not a release this test can wait for.
  if (!WINDOWS && !("bun" in process.versions)) assert.ok(report.landed || report.released, `the map's addresses were never given back: ${JSON.stringify(report)}`);
});

test("the control: a string over the map (kept on purpose) reads zeros after close, so the check above can see one", (t) => {
  const r = runNode(["--expose-gc", FIXTURE, "control"]);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout.trim().split("\n").at(-1));
  if (!report.external) return t.skip("this runtime makes no external strings: the text is copied");
  // held: the check of the test above (a mapping covering the range) sees the control's range as
  // held while its string lives (null where /proc/self/maps is missing).
  assert.deepEqual(report.control, { before: true, zerosAfter: true, held: process.platform === "linux" ? true : null });
});

test("search and matchAll leave no string over the map in RegExp's legacy statics", () => {
  const text = Buffer.from("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu\n".repeat(200), "latin1");
  const m = new MMap(-1, text.length, { flags: MAP_PRIVATE });
  try {
    m.setSlice(0, text.length, text);
    const checks = [
      () => m.search(/(gamma) (delta) (epsilon)/),
      () => m.search(/(?<w>kappa lambda mu)\n/d, 1000),
      () => [...m.matchAll(/(theta) iota/g)],
      () => m.matchAll(/(zeta) (eta)/g).next(),
      () => m.search(/absent/),
    ];
    for (const check of checks) {
      /(b)(c)/.exec("abcd"); // what the statics hold before: a match of the caller's own
      check();
      const s = statics();
      for (const [k, v] of Object.entries(s)) {
        assert.equal(typeof v, "string", k);
        assert.ok(v.length < 64, `RegExp.${k} holds ${v.length} characters after ${check}`);
        assert.ok(!v.includes("kappa") && !v.includes("theta"), `RegExp.${k} = ${JSON.stringify(v)}`);
      }
    }
    // An iteration that is still going: between yields too.
    const it = m.matchAll(/(alpha) beta/g);
    it.next();
    it.next();
    for (const [k, v] of Object.entries(statics())) assert.ok(v.length < 64, `RegExp.${k} between yields`);
  } finally {
    m.close();
  }
});

test("match results are plain arrays of strings with byte offsets, without the text as `input`", () => {
  const m = new MMap(-1, 100, { flags: MAP_PRIVATE });
  try {
    m.write("xx key=value-long-enough-to-be-shared yy");
    const r = m.search(/(?<k>key)=(?<v>[a-z-]+)/d);
    assert.ok(Array.isArray(r));
    assert.equal(Object.getPrototypeOf(r), Array.prototype);
    assert.equal("input" in r, false);
    assert.deepEqual([...r], ["key=value-long-enough-to-be-shared", "key", "value-long-enough-to-be-shared"]);
    assert.deepEqual({ ...r.groups }, { k: "key", v: "value-long-enough-to-be-shared" });
    assert.deepEqual([r.index, r.end], [3, 37]);
    assert.deepEqual([...r.indices[2]], [7, 37]);
    // The strings stay after the bytes change (they are copies, not views of the map).
    m.seek(0);
    m.write("ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ");
    assert.equal(r[0], "key=value-long-enough-to-be-shared");
    assert.equal(r.groups.v, "value-long-enough-to-be-shared");
    assert.equal(m.search(/key/), null, "the next search reads the map as it is now");
  } finally {
    m.close();
  }
});

/** A file of `lines` numbered lines mapped read-only, and its descriptor for truncating it. */
function numbered(lines) {
  let text = "";
  for (let i = 0; i < lines; i++) text += `match ${String(i).padStart(6, "0")} ${"-".repeat(40)}\n`;
  const path = tmpfile(text);
  return { path, text, fd: fs.openSync(path, "r+") };
}

const SHRINK = { skip: WINDOWS && "Windows refuses to truncate a mapped file" };

test("a matchAll iteration started before the file shrank throws ERR_MMAP_TRUNCATED, never yielding text the file no longer has (issue 11 item 10)", SHRINK, () => {
  for (const access of [ACCESS_READ, ACCESS_WRITE]) {
    const { fd, text } = numbered(4000);
    const m = new MMap(fd, 0, { access });
    try {
      const it = m.matchAll(/match (\d+) -+\n/g);
      const first = it.next().value;
      assert.equal(first[1], "000000");
      fs.ftruncateSync(fd, PAGESIZE); // the rest of the iteration lies past the new end
      const got = [];
      throwsCode(() => {
        for (const x of it) got.push(x);
      }, Error, "ERR_MMAP_TRUNCATED");
      // What it yielded before noticing came from bytes the file still has, and reads as they do.
      for (const x of got) {
        assert.ok(x.end <= PAGESIZE, `yielded ${x.index}..${x.end} of a file now ${PAGESIZE} bytes long`);
        assert.equal(x[0], text.slice(x.index, x.end));
      }
    } finally {
      m.close();
      fs.closeSync(fd);
    }
  }
});

test("a search over a range the file no longer covers throws ERR_MMAP_TRUNCATED; before it, searches work", SHRINK, () => {
  const { fd, text } = numbered(4000);
  const m = new MMap(fd, 0, { access: ACCESS_READ });
  try {
    assert.equal(m.search(/match 003999/).index, text.indexOf("match 003999"));
    fs.ftruncateSync(fd, 2 * PAGESIZE);
    throwsCode(() => m.search(/match 003999/), Error, "ERR_MMAP_TRUNCATED");
    throwsCode(() => m.search(/match 0000/), Error, "ERR_MMAP_TRUNCATED"); // the range [0, length) is lost in part
    throwsCode(() => m.matchAll(/match/g).next(), Error, "ERR_MMAP_TRUNCATED");
    assert.equal(m.search(/match 0000(\d\d)/, 0, 2 * PAGESIZE)[1], "00", "a range the file still covers");
    assert.equal([...m.matchAll(/\n/g, 0, PAGESIZE)].length, text.slice(0, PAGESIZE).split("\n").length - 1);
  } finally {
    m.close();
    fs.closeSync(fd);
  }
});

test("searches keep working through resizes while strings over the old memory may live", () => {
  const m = new MMap(-1, PAGESIZE, { flags: MAP_PRIVATE });
  try {
    m.write("hello world, a first line that is long enough\n");
    const before = m.search(/hello (\w+), a first line/);
    for (const size of [4 * PAGESIZE, PAGESIZE * 64, 2 * PAGESIZE, PAGESIZE + 1, 8 * PAGESIZE]) {
      m.resize(size);
      m.setSlice(size - 20, size, "tail of the map ...\n");
      assert.equal(m.search(/hello (\w+)/)[1], "world");
      assert.equal(m.search(/tail of the map \.\.\.\n/, size - 40).index, size - 20);
      assert.deepEqual([...m.matchAll(/tail/g, size - 40)].map((x) => x.index), [size - 20]);
    }
    assert.equal(before[1], "world");
  } finally {
    m.close();
  }
});
