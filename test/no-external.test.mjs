// Runtimes without external ArrayBuffers (Electron's V8 sandbox): memmap copies through the
// addon, and hands out no views. MEMMAP_NO_EXTERNAL_BUFFERS=1 forces that mode on any Node.
//
// This file runs the same in both modes of the suite (`npm test`, `npm run test:no-external`):
// every scenario of test/fixtures/copy-mode.mjs runs in two child processes, one with views
// and one with MEMMAP_NO_EXTERNAL_BUFFERS=1. Each child must end cleanly (no signal, status 0);
// their results must be identical except for what m.buffer and m.subarray() did (views in
// one, Error ERR_MMAP_VIEWS_UNAVAILABLE in the other); and the results are checked against
// what they must be, so that a mistake common to both modes fails too.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { constants as bufferConstants } from "node:buffer";
import { PAGESIZE } from "../dist/index.js";
import { runNode, tmpdir, VIEWS, WINDOWS } from "./helpers.mjs";

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "copy-mode.mjs");
const dir = tmpdir("memmap-no-external-");

const NO_VIEW = { e: ["Error", "ERR_MMAP_VIEWS_UNAVAILABLE"] };
const CLOSED = ["Error", "ERR_MMAP_CLOSED"];
const READ_ONLY = ["TypeError", "ERR_MMAP_READ_ONLY"];

/** Runs a scenario in a child, with views or without; asserts a clean end; returns its JSON. */
function child(scenario, views, arg) {
  const sub = fs.mkdtempSync(path.join(dir, `${scenario}-`));
  const env = { ...process.env };
  if (views) delete env.MEMMAP_NO_EXTERNAL_BUFFERS;
  else env.MEMMAP_NO_EXTERNAL_BUFFERS = "1";
  const r = runNode([CHILD, scenario, sub, ...(arg === undefined ? [] : [arg])], { env, maxBuffer: 1 << 26 });
  assert.equal(r.signal, null, `${scenario} (views: ${views}) killed by ${r.signal}\n${r.stderr}`);
  assert.equal(r.status, 0, `${scenario} (views: ${views}) exit status ${r.status}\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * The scenario in both modes: asserts that the views child had views and the other none, and
 * that everything else is identical. Returns the results of the child without views.
 * `largerThanBuffer`: the map is larger than a Buffer, so m.buffer is a RangeError even with views.
 */
function bothModes(scenario, { arg, largerThanBuffer = false } = {}) {
  const { views: withViews, ...a } = child(scenario, true, arg);
  const { views: without, ...b } = child(scenario, false, arg);
  assert.deepEqual(Object.keys(without), Object.keys(withViews));
  for (const [where, v] of Object.entries(withViews)) {
    assert.ok("v" in v.subarray, `${where}: views exist where external ArrayBuffers do: ${JSON.stringify(v)}`);
    if (largerThanBuffer) assert.deepEqual(v.buffer, { e: ["RangeError", "ERR_OUT_OF_RANGE"] }, `${where}: m.buffer`);
    else assert.ok("v" in v.buffer, `${where}: m.buffer: ${JSON.stringify(v)}`);
  }
  for (const [where, v] of Object.entries(without)) {
    assert.deepEqual(v, { buffer: NO_VIEW, subarray: NO_VIEW }, `${where}: no views without external ArrayBuffers`);
  }
  assert.deepEqual(b, a, `${scenario}: the same results with and without views`);
  return b;
}

test(`this run has ${VIEWS ? "views" : "no views (MEMMAP_NO_EXTERNAL_BUFFERS=1)"}; the children choose their own mode`, async () => {
  const { MMap } = await import("../dist/index.js");
  const m = new MMap(-1, 16);
  try {
    if (VIEWS) assert.equal(m.buffer.length, 16);
    else assert.throws(() => m.buffer, (e) => e.constructor === Error && e.code === "ERR_MMAP_VIEWS_UNAVAILABLE");
  } finally {
    m.close();
  }
});

test("every public method gives the same results with and without views, on file and anonymous maps", { skip: WINDOWS && "a memfd-backed shareable map is one of its kinds: POSIX only" }, () => {
  const r = bothModes("methods");
  const kinds = ["file", "file ACCESS_COPY", "MMap.open", "anonymous MAP_SHARED", "anonymous MAP_PRIVATE", "anonymous shareable"];
  for (const kind of kinds) {
    const got = Object.fromEntries(r[kind]);
    const v = (name) => {
      assert.ok("v" in got[name], `${kind}, ${name}: ${JSON.stringify(got[name])}`);
      return got[name].v;
    };
    // A few results known in advance (the content starts and ends with TEXT of copy-mode.mjs).
    assert.equal(v("get(0)"), "f".charCodeAt(0), kind);
    assert.deepEqual(got["get(n)"].e, ["RangeError", "ERR_OUT_OF_RANGE"], kind);
    assert.equal(v("readline"), Buffer.from("first line\n").toString("hex"), kind);
    assert.equal(v("readByte"), "t".charCodeAt(0), kind);
    assert.equal(v("tell 2"), 41, kind);
    assert.equal(v("find('id=')"), 42, `${kind}: from the position, the second "id="`);
    assert.deepEqual(v("search"), { match: ["id=41;", "41"], index: 28, end: 34, groups: { n: "41" } }, kind);
    assert.equal(v("matchAll").length, 6, kind);
    const text = "first line\nsecond LINE with id=41;\nthird, id=42; and id=43;\n\nlast without newline";
    assert.deepEqual(v("lines()").slice(0, 4), ["first line\n", "second LINE with id=41;\n", "third, id=42; and id=43;\n", "\n"].map((l) => Buffer.from(l).toString("hex")), kind);
    assert.equal(v("lines()").at(-1), Buffer.from("last without newline").toString("hex"), kind);
    assert.deepEqual(v("lines(12, -10)").slice(0, 2), ["econd LINE with id=41;\n", "third, id=42; and id=43;\n"].map((l) => Buffer.from(l).toString("hex")), kind);
    assert.equal(v("lines(12, -10)").at(-1), Buffer.from(text.slice(-20, -10)).toString("hex"), kind);
    assert.equal(v("tell after lines"), v("tell 2"), `${kind}: lines() does not move the position`);
    assert.equal(v("read()"), Buffer.from(" newline").toString("hex"), kind);
    assert.deepEqual(got["readByte at the end"].e, ["RangeError", "ERR_OUT_OF_RANGE"], kind);
    assert.deepEqual(got["setSlice wrong size"].e, ["RangeError", "ERR_INVALID_ARG_VALUE"], kind);
    assert.deepEqual(got["move out of range"].e, ["RangeError", "ERR_OUT_OF_RANGE"], kind);
    assert.equal(v("closed after"), true, kind);
    // After close, everything says closed: buffer and subarray too (the closed check comes first).
    assert.deepEqual(Object.values(got["closed map"]), Object.keys(got["closed map"]).map(() => CLOSED), kind);
    assert.ok("buffer" in got["closed map"] && "subarray" in got["closed map"]);
  }
  // Resizable maps grew and shrank; the shared file map's file holds what the map held.
  for (const kind of ["file", "MMap.open", "anonymous MAP_PRIVATE", "anonymous shareable"]) {
    const got = Object.fromEntries(r[kind]);
    const n = got.length.v;
    assert.deepEqual(got["after grow"].v.slice(0, 4), [n + 3 * PAGESIZE + 7, "z".charCodeAt(0), 0, 0], kind);
    assert.equal(got["after shrink"].v[0], n - 10, kind);
    assert.deepEqual(got["get past the new end"].e, ["RangeError", "ERR_OUT_OF_RANGE"], kind);
  }
  for (const kind of ["file", "MMap.open"]) {
    const got = Object.fromEntries(r[kind]);
    assert.equal(r[`${kind}: file after`], got["after shrink"].v[1], `${kind}: the file holds the map's bytes`);
  }
  for (const kind of ["file ACCESS_COPY", "anonymous MAP_SHARED"]) {
    assert.deepEqual(Object.fromEntries(r[kind])["resize refused"].e, ["TypeError", "ERR_MMAP_NOT_RESIZABLE"], kind);
  }
  // MMap.openAsync maps what the last map left in the file.
  const last = Object.fromEntries(r["MMap.open"]);
  const subs = fs.readdirSync(dir).filter((d) => d.startsWith("methods-"));
  assert.equal(subs.length, 2);
  for (const sub of subs) {
    const bytes = fs.readFileSync(path.join(dir, sub, "methods.bin"));
    assert.deepEqual(r.openAsync, [last["after shrink"].v[0], bytes.subarray(0, 16).toString("hex")]);
  }
});

test("ACCESS_READ and PROT_READ maps refuse every write with ERR_MMAP_READ_ONLY; the file is unchanged", () => {
  const r = bothModes("read-only");
  for (const name of ["ACCESS_READ", "MMap.open ACCESS_READ", "PROT_READ"]) {
    const { after, resize, ...writes } = r[name];
    assert.deepEqual(Object.keys(writes), ["set", "setSlice", "setSliceStep", "write", "writeByte", "move"]);
    for (const [op, e] of Object.entries(writes)) assert.deepEqual(e, READ_ONLY, `${name}: ${op}`);
    assert.deepEqual(resize, ["TypeError", "ERR_MMAP_NOT_RESIZABLE"], name);
    const text = "first line\nsecond LINE with id=41;\nthird, id=42; and id=43;\n\nlast without newline";
    assert.deepEqual(after, [3, Buffer.from(text).toString("hex"), "f".charCodeAt(0)], `${name}: position and contents unchanged`);
  }
  // (each child checked the file unchanged through its maps; the files themselves:)
  for (const sub of fs.readdirSync(dir).filter((d) => d.startsWith("read-only-"))) {
    assert.equal(fs.readFileSync(path.join(dir, sub, "ro.bin"), "latin1").slice(0, 11), "first line\n");
  }
});

test("a file truncated under live maps: read, get, readline, slice, find, search... give ERR_MMAP_TRUNCATED; the process lives", { skip: WINDOWS && "Windows refuses to truncate a mapped file (test/windows.test.mjs)" }, () => {
  const { out } = bothModes("truncated");
  const gone = ["Error", "ERR_MMAP_TRUNCATED", PAGESIZE + 10, 6 * PAGESIZE];
  const lost = ["get (first touch)", "get", "slice", "slice step", "read", "readline", "find", "rfind", "search", "matchAll", "lines", "set", "write", "write as the first touch"];
  for (const name of lost) assert.deepEqual(out[name], { e: gone }, name);
  assert.deepEqual(out["get (kept part)"], { v: "abcdefg".charCodeAt((PAGESIZE + 9) % 7) });
  assert.equal(Buffer.from(out["slice (kept part)"].v, "hex").length, 10);
  assert.deepEqual(out["lines (kept part)"].v.map((l) => Buffer.from(l, "hex").length), [10], "the kept part is one line");
  // Without a descriptor, the loss is known from the page that faulted.
  const goneRo = ["Error", "ERR_MMAP_TRUNCATED", 5 * PAGESIZE, 6 * PAGESIZE];
  for (const name of ["read-only map, no descriptor: get (first touch)", "read-only map: read", "read-only map: find"]) {
    assert.deepEqual(out[name], { e: goneRo }, name);
  }
  assert.deepEqual(out["set as the first touch, no descriptor"], { e: ["Error", "ERR_MMAP_TRUNCATED", 3 * PAGESIZE, 6 * PAGESIZE] });
  assert.equal(out["read-only map: slice"].v.length, 2 * PAGESIZE, "the pages left in the file still read");
  assert.equal(out.position, PAGESIZE, "a failed call leaves the position");
  assert.equal(out.file, PAGESIZE + 10);
});

test("strided slices: spans over 16 MiB (byte by byte without views) and small ones (one copy) give the same bytes", () => {
  const { out } = bothModes("strided");
  assert.equal(out.length, 6);
  for (const c of out) {
    assert.equal(c.equal, true, `slice(${c.case}) holds the bytes of the pattern`);
    assert.equal(c.piecesEqual, true, `slice(${c.case}) equals its pieces sliced small`);
  }
  const spans = out.map(({ case: [a, b] }) => Math.abs(b - a));
  assert.ok(spans.some((s) => s > 16 * 2 ** 20) && spans.some((s) => s < 16 * 2 ** 20), "both paths are taken");
  assert.deepEqual(out.map((c) => c.count), [10233, 2177, 8384, 256, 21846, 586]);
});

test("readline: lines of many lengths, empty lines and an unterminated last line", () => {
  const { out } = bothModes("lines");
  assert.equal(out.equal, true, "the lines are the data split after each newline");
  for (const n of [510, 511, 512, 513, 514]) assert.ok(out.lengths.includes(n + 1), `a line of ${n} bytes and its newline`);
  assert.ok(out.lengths.some((l) => l > 1024), "a line longer than 1 KiB");
  assert.deepEqual(out.lengths.slice(-3), [1, 1, 700], "two empty lines, then the last line without a newline");
  assert.deepEqual(out.end, [out.lengths.reduce((a, b) => a + b, 0), 0], "at the end: the position is the length, readline is empty");
  assert.equal(out.linesEqual, true, "m.lines() gives the same lines");
  assert.deepEqual(out.ranges, [true, true, true, true, true], "m.lines(start, end): the lines of the bytes of the range");
});

test("a sparse file of 5.25 GiB mapped with ACCESS_READ reads right above 2^32, with and without views", (t) => {
  const FOUR = 2 ** 32;
  const size = 0x150000000;
  const markers = [
    [FOUR - 3, "|x4|"], // straddles 4 GiB
    [FOUR + 0x400000, "a line beyond 4 GiB\n"],
    [FOUR + 0x12345, "<marker-41>"],
    [5 * 2 ** 30 + 7, "<five>"],
    [size - 6, "TAIL!\n"],
  ];
  const wide = [FOUR - 2 ** 20, FOUR + 20 * 2 ** 20, 2 ** 13 + 1]; // over 16 MiB, beyond 4 GiB
  const file = path.join(dir, "sparse.bin");
  const fd = fs.openSync(file, "w+");
  try {
    fs.ftruncateSync(fd, size);
    for (const [at, text] of markers) fs.writeSync(fd, Buffer.from(text, "latin1"), 0, text.length, at);
    if (fs.fstatSync(fd).blocks * 512 >= size / 16) return t.skip("the filesystem does not keep sparse files");
  } finally {
    fs.closeSync(fd);
  }
  fs.writeFileSync(`${file}.json`, JSON.stringify({ markers, size, wide }));
  try {
    const { out } = bothModes("large", { arg: file, largerThanBuffer: size > bufferConstants.MAX_LENGTH });
    assert.equal(out.length, size);
    assert.equal(out.size, size);
    markers.forEach(([at, text], i) => {
      assert.deepEqual(out.markers[i], [text.charCodeAt(0), text, at, at, text, at + text.length, at], `marker at ${at.toString(16)}`);
    });
    assert.equal(out.straddle, "\0\0\0\0\0|x4|\0\0\0\0\0\0\0");
    assert.equal(out.stepped, [...Buffer.alloc(40)].map((_, k) => (k % 3 === 0 ? FOUR + 20 - k : null)).filter((x) => x !== null).map((p) => String.fromCharCode(p >= FOUR - 3 && p <= FOUR ? "|x4|".charCodeAt(p - FOUR + 3) : 0)).join(""));
    // The wide strided slice: its length, and the sum of the marker bytes it lands on.
    const [a, b, c] = wide;
    let sum = 0;
    for (const [at, text] of markers) for (let k = 0; k < text.length; k++) if (at + k >= a && at + k < b && (at + k - a) % c === 0) sum += text.charCodeAt(k);
    assert.deepEqual(out.wide, [Math.ceil((b - a) / c), sum]);
    assert.equal(out.readline, "a line beyond 4 GiB\n");
    assert.deepEqual(out.lines, ["\0\0\0\0\0a line beyond 4 GiB\n", "\0\0\0\0\0"]);
    assert.deepEqual(out.tailLines, ["\0\0TAIL!\n"]);
    assert.equal(out.readByte, "\n".charCodeAt(0));
    assert.equal(out.tail, "TAIL!\n");
    assert.deepEqual(out.get, ["|".charCodeAt(0), "4".charCodeAt(0), "\n".charCodeAt(0), 0]);
    assert.deepEqual(out.outside, ["RangeError", "ERR_OUT_OF_RANGE"]);
    assert.deepEqual(out.write, READ_ONLY);
  } finally {
    fs.rmSync(file, { force: true });
  }
});
