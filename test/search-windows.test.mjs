// search() and matchAll() over ranges longer than SEARCH_WINDOW (SPEC §4; issue 11 item 6;
// issue 12): such a range is searched in windows, and no window boundary may produce a result
// other than the one of a single search of the whole range as one string. A match that cannot
// be decided inside a window is an ERR_MMAP_SEARCH_LIMIT error, never a wrong match.
//
// The windows of a real map are 512 MiB (V8's longest string); fixtures/small-search-window.mjs,
// imported before memmap loads, sets MEMMAP_SEARCH_WINDOW=2048 so that maps of a few KiB have
// the same internal boundaries: windows of the map's own text start at multiples of
// SEARCH_WINDOW / 2 and end SEARCH_WINDOW later; copied text (npm run test:no-external, or
// MEMMAP_NO_EXTERNAL_STRINGS=1) is read in windows that start just before the search position.
// Every test runs in both, and the last one runs this file again with copied text.
import "./fixtures/small-search-window.mjs";
import test from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { MMap, MAP_PRIVATE, SEARCH_WINDOW, SEARCH_MAX_MATCH, SEARCH_LOOKBEHIND } from "../dist/index.js";
import { runNode, throwsCode } from "./helpers.mjs";

const W = SEARCH_WINDOW;
const GRID = W / 2;

/** Deterministic background text: words of a–z, a newline every 20 to 60 bytes. */
function background(length, seed = 1) {
  let s = seed;
  const rnd = (n) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const out = Buffer.alloc(length);
  let col = 0;
  for (let i = 0; i < length; i++) {
    const r = rnd(100);
    if (col > 20 && (r < 4 || col > 60)) {
      out[i] = 10;
      col = 0;
    } else {
      out[i] = r < 18 ? 32 : 97 + rnd(26);
      col++;
    }
  }
  return out;
}

/** A private anonymous map holding `bytes`. */
function mapOf(bytes) {
  const m = new MMap(-1, bytes.length, { flags: MAP_PRIVATE });
  m.setSlice(0, bytes.length, bytes);
  return m;
}

/** The comparable parts of a match (memmap's or the RegExp's over the whole text). */
function summary(x) {
  if (x === null) return null;
  const out = { index: x.index, end: x.index + x[0].length, items: [...x], groups: x.groups === undefined ? undefined : { ...x.groups } };
  if (x.end !== undefined) assert.equal(x.end, out.end);
  if (x.indices !== undefined) {
    out.indices = [...x.indices].map((p) => p && [...p]);
    out.indexGroups = x.indices.groups && Object.fromEntries(Object.entries(x.indices.groups).map(([k, p]) => [k, p && [...p]]));
  }
  return out;
}

/** The definition: `re` over the text [0, end) as one string, from `start`. */
function oracleSearch(text, re, start, end) {
  const rx = new RegExp(re.source, re.flags.replace(/[gy]/g, "") + (re.sticky ? "y" : "g"));
  rx.lastIndex = start;
  return summary(rx.exec(text.slice(0, end)));
}

function oracleAll(text, re) {
  return [...text.matchAll(new RegExp(re.source, re.flags))].map(summary);
}

/**
 * Each pattern with what it is planted as: every plant is written so that it straddles every
 * internal boundary of the map (every multiple of GRID, and every window end), at each offset.
 */
const CASES = [
  { re: /\bfoo\b/g, plant: " foo " },
  { re: /\bfoo/g, plant: "xfoo foo" },
  { re: /bar$/gm, plant: "bar\nbar" },
  { re: /^baz/gm, plant: "\nbaz" },
  { re: /(?<=<)tag(?=>)/g, plant: "<tag><tag " },
  { re: /x+y/g, plant: "xxxxxxxxy" },
  { re: /q[a-z]*?z/g, plant: "qabcz qz" },
  { re: /(?<key>[a-z]+)=(?<val>\d+)/dg, plant: "key=12345;" },
  { re: /A[^\n]*$/gm, plant: "A line that ends\n" },
  { re: /(\w)\1/g, plant: "oo" },
  { re: /(?<![a-z])\d{3}(?!\d)/g, plant: " 123 4567" },
  { re: /\d+/g, plant: "0123456789012" },
  { re: /[^\n]{1,9}?END/g, plant: "a tail END" },
  { re: /(?:ab|cd)+e/g, plant: "ababcdabe" },
  { re: /F(?=[a-z]* G)/g, plant: "F abc G" },
  { re: /\n\n/g, plant: "\n\n\n" },
  { re: /./gs, plant: "" },
  { re: /\B/g, plant: "" },
];

/** The internal boundaries of a map of `length` bytes: grid starts and window ends. */
function boundaries(length) {
  const out = new Set();
  for (let b = GRID; b < length; b += GRID) out.add(b);
  for (let b = W; b < length; b += GRID) out.add(b);
  return [...out].sort((a, b) => a - b);
}

/** A text of `length` bytes with `plant` written across every boundary, `d` bytes before it. */
function planted(length, plant, d, seed) {
  const bytes = background(length, seed);
  if (plant !== "") for (const b of boundaries(length)) bytes.write(plant, Math.max(0, b - d), "latin1");
  return bytes;
}

test("SEARCH_WINDOW is set for these tests; the limits derive from it", () => {
  assert.equal(W, Number(process.env.MEMMAP_SEARCH_WINDOW));
  assert.equal(SEARCH_MAX_MATCH, W / 8);
  assert.equal(SEARCH_LOOKBEHIND, W / 8);
});

test("matchAll across every internal boundary equals String.prototype.matchAll over the whole text", () => {
  const length = 3 * W + 321;
  for (const { re, plant } of CASES) {
    const offsets = plant === "" ? [0] : [...Array(plant.length + 2).keys()];
    for (const d of offsets) {
      const bytes = planted(length, plant, d, 7 + d);
      const text = bytes.toString("latin1");
      const m = mapOf(bytes);
      try {
        assert.deepEqual([...m.matchAll(re)].map(summary), oracleAll(text, re), `${re} planted ${d} bytes before each boundary`);
      } finally {
        m.close();
      }
    }
  }
});

test("search from every position around every boundary, and with ends there, equals the RegExp over [0, end)", () => {
  const length = 3 * W + 5;
  for (const { re, plant } of CASES) {
    const bytes = planted(length, plant, Math.min(3, plant.length), 3);
    const text = bytes.toString("latin1");
    const m = mapOf(bytes);
    try {
      const bounds = boundaries(length);
      const near = [0, length, ...bounds.flatMap((b) => [b - 9, b - 3, b - 1, b, b + 1, b + 4, b + 11])].filter((x) => x <= length);
      for (const start of near) {
        assert.deepEqual(summary(m.search(re, start)), oracleSearch(text, re, start, length), `${re} from ${start}`);
      }
      for (const end of near) {
        for (const start of [0, end - 40, end - 3]) {
          if (start < 0) continue;
          assert.deepEqual(summary(m.search(re, start, end)), oracleSearch(text, re, start, end), `${re} from ${start} to ${end}`);
        }
      }
      const sticky = new RegExp(re.source, re.flags.replace("g", "") + "y");
      for (const start of near) assert.deepEqual(summary(m.search(sticky, start)), oracleSearch(text, sticky, start, length), `${sticky} at ${start}`);
    } finally {
      m.close();
    }
  }
});

test("a match that no window can decide is ERR_MMAP_SEARCH_LIMIT, never a match that ends at a window's end (issue 11 item 6)", () => {
  const length = 3 * W;
  const bytes = background(length, 11);
  bytes.write("A", 100, "latin1");
  const m = mapOf(bytes);
  try {
    // /A[\s\S]*$/ matches from the A to the end of the map: longer than any window.
    throwsCode(() => m.search(/A[\s\S]*$/), Error, "ERR_MMAP_SEARCH_LIMIT");
    throwsCode(() => [...m.matchAll(/A[\s\S]*$/g)], Error, "ERR_MMAP_SEARCH_LIMIT");
    throwsCode(() => m.search(/A[\s\S]*?$/), Error, "ERR_MMAP_SEARCH_LIMIT");
    // The error says where.
    assert.throws(() => m.search(/A[\s\S]*$/), (err) => err.position >= 0 && err.position <= 100 && /SEARCH_MAX_MATCH/.test(err.message));
    // Where the text fits in one window, the same search is exact and has no limit.
    const text = bytes.toString("latin1");
    assert.deepEqual(summary(m.search(/A[\s\S]*$/, 0, W)), oracleSearch(text, /A[\s\S]*$/, 0, W));
    assert.equal(m.search(/A[\s\S]*$/, 0, W).end, W);
    // Past the A, and where there is none: decided (no byte can begin a match), so null.
    assert.equal(m.search(/A[\s\S]*$/, 101), null);
    assert.equal(m.search(/A[\s\S]*$/, 0, 100), null);
  } finally {
    m.close();
  }
});

test("the bounds that remain: attempts that read up to SEARCH_MAX_MATCH bytes (SEARCH_LOOKBEHIND behind) are always decided; longer ones may be ERR_MMAP_SEARCH_LIMIT", () => {
  const length = 6 * W;
  const bytes = background(length, 13);
  // Runs of exactly SEARCH_MAX_MATCH bytes across each boundary: found as over the whole text.
  for (const b of boundaries(length)) bytes.fill(0x5a, b - SEARCH_MAX_MATCH / 2, b + SEARCH_MAX_MATCH / 2);
  // A lookbehind over nearly SEARCH_LOOKBEHIND bytes, from a Q to a b just past a boundary. Its
  // reach, as memmap bounds it: back to the third newline (the pattern's two fixed bytes, plus
  // one), here right before the Q.
  const q = 3 * GRID - SEARCH_LOOKBEHIND + 8;
  bytes.fill(0x61, q, 3 * GRID + 5);
  bytes.write("\n\n\nQ", q - 3, "latin1");
  bytes.write("b", 3 * GRID + 4, "latin1");
  const text = bytes.toString("latin1");
  const m = mapOf(bytes);
  try {
    assert.deepEqual([...m.matchAll(/Z+/g)].map(summary), oracleAll(text, /Z+/g));
    assert.deepEqual(summary(m.search(/(?<=Q[^\n]*)b/, 3 * GRID)), oracleSearch(text, /(?<=Q[^\n]*)b/, 3 * GRID, length));
  } finally {
    m.close();
  }
  // Longer than a window: no window holds the attempt.
  const long = background(length, 17);
  long.fill(0x5a, GRID + 50, GRID + 50 + W + 10);
  long.fill(0x61, 4 * GRID, 4 * GRID + W + 10);
  long.write("Q", 4 * GRID, "latin1");
  long.write("b", 4 * GRID + W + 9, "latin1");
  const m2 = mapOf(long);
  try {
    throwsCode(() => m2.search(/Z+/), Error, "ERR_MMAP_SEARCH_LIMIT");
    throwsCode(() => m2.search(/(?<=Q[^\n]*)b/, 4 * GRID + W), Error, "ERR_MMAP_SEARCH_LIMIT");
    // Before either, a match is found as usual.
    const t2 = long.toString("latin1");
    assert.deepEqual(summary(m2.search(/[a-z]+ [a-z]+\n/)), oracleSearch(t2, /[a-z]+ [a-z]+\n/, 0, length));
  } finally {
    m2.close();
  }
});

test("a pattern whose reach memmap cannot bound is refused over windows, and exact within one", () => {
  const flags = (() => {
    try {
      new RegExp("[\\q{ab}]", "v");
      return "v";
    } catch {
      return null;
    }
  })();
  if (flags === null) return; // no v flag in this runtime
  const bytes = background(3 * W, 19);
  const m = mapOf(bytes);
  try {
    const re = new RegExp("[\\q{qq|zz}]", "v");
    throwsCode(() => m.search(re), Error, "ERR_MMAP_SEARCH_LIMIT");
    assert.deepEqual(summary(m.search(re, 0, W)), oracleSearch(bytes.toString("latin1"), re, 0, W));
  } finally {
    m.close();
  }
});

test("a pattern nested deeper than memmap's analysis can follow is refused over windows with a code, and exact within one", () => {
  const d = 20_000;
  const re = new RegExp("(?:".repeat(d) + "ab" + ")".repeat(d));
  const bytes = background(3 * W, 23);
  bytes.write("ab", 107, "latin1");
  const m = mapOf(bytes);
  try {
    // The message quotes the start of the pattern and says how long it is, not its 120,002 characters.
    assert.throws(
      () => m.search(re),
      (err) => err.code === "ERR_MMAP_SEARCH_LIMIT" && err.message.length < 1000 && err.message.includes(`(${re.source.length} characters)`),
    );
    assert.deepEqual(summary(m.search(re, 0, W)), oracleSearch(bytes.toString("latin1"), re, 0, W));
  } finally {
    m.close();
  }
});

test("a backreference inside a case-insensitive modifier group reads case variants of the group's repeated bytes: they count as repeatable, so no window decides an attempt that runs on past it", async () => {
  // /(b+)(?i:\1)/ matches "bbbb" then "BBBB": the group's b+ makes b repeatable, and the
  // backreference, compared without case, consumes as many B's. Counting only b as repeatable
  // let a window that cut the B's decide a shorter match ("bbbbBB") than the whole text's.
  const { patternOf } = await import("../dist/pattern.js");
  for (const [source, flags] of [["(b+)(?i:\\1)", ""], ["(?<x>b+)(?i:\\k<x>)", ""], ["(?-i:(b+))\\1", "i"], ["(?i:\\1)(b+)", ""]]) {
    const { reach } = patternOf(source, flags);
    assert.ok(reach === null || (reach.loose[0x62] === 1 && reach.loose[0x42] === 1), `/${source}/${flags}: B is repeatable`);
  }
  // The same over a map, where the engine has modifier groups (V8 12.5+: Node 24 and later).
  let re;
  try {
    re = new RegExp("(b+)(?i:\\1)", "g");
  } catch {
    return;
  }
  const length = 3 * W;
  for (const b of boundaries(length)) {
    for (const d of [2, 4, 5, 6, 7]) {
      const bytes = Buffer.alloc(length, "x");
      bytes.write("bbbbBBBB", b - d, "latin1");
      const text = bytes.toString("latin1");
      const m = mapOf(bytes);
      try {
        assert.deepEqual(summary(m.search(re)), oracleSearch(text, re, 0, length), `boundary ${b}, ${d} bytes before`);
        assert.deepEqual([...m.matchAll(re)].map(summary), oracleAll(text, re));
      } finally {
        m.close();
      }
    }
  }
});

test("a named group and its references match by the name's value, escapes decoded: (?<\\u0061>…) is \\k<a>, and a match across a boundary is found", () => {
  // The analysis compared names as written, so \k<a> found no group named "\u0061" and was
  // counted as reading nothing: a window ending inside "abcdabcd" decided that no match began
  // there, and the match was lost.
  const sources = ["(?<\\u0061>abcd)\\k<a>", "(?<a>abcd)\\k<\\u{61}>", "(?<\\ud835\\udc9c>abcd)\\k<\\u{1d49c}>"];
  const length = 3 * W;
  for (const source of sources) {
    const re = new RegExp(source, "g");
    for (const b of boundaries(length)) {
      for (const d of [1, 3, 5, 7]) {
        const bytes = Buffer.alloc(length, " ");
        bytes.write("abcdabcd", b - d, "latin1");
        const text = bytes.toString("latin1");
        const m = mapOf(bytes);
        try {
          assert.deepEqual([...m.matchAll(re)].map(summary), oracleAll(text, re), `${re}, boundary ${b}, ${d} bytes before`);
          assert.deepEqual(summary(m.search(re, b - d)), oracleSearch(text, re, b - d, length));
        } finally {
          m.close();
        }
      }
    }
  }
});

test("an attempt that reads a few bytes is decided even where a window's last SEARCH_MAX_MATCH bytes hold no byte that ends it (/ERROR.*/ before a tail of zeros)", () => {
  // The window's decided attempts were sought only among its last SEARCH_MAX_MATCH bytes: with
  // no newline there (zeros: a file preallocated, a binary part), none was found, and a match at
  // byte 8, whose attempt reads up to the next few newlines, was refused with
  // ERR_MMAP_SEARCH_LIMIT; so was a search whose first match lay beyond such a window.
  const length = 4 * W;
  const lines = Buffer.alloc(length);
  lines.write("hello\nx ERROR 1\nfoo\n".repeat(Math.floor(W / 4 / 20)) + "foo\n", 0, "latin1");
  const later = Buffer.alloc(length);
  later.write("Eat\nEel\n" + "foo\n", 0, "latin1");
  later.write("x ERROR 2\nbar\nERROR 3 end\n" + "foo\n", 2 * W + 10, "latin1");
  for (const bytes of [lines, later]) {
    const text = bytes.toString("latin1");
    const m = mapOf(bytes);
    try {
      // (Over `later`, /[^\n]*ERROR/ would match from the first zero: longer than a window.)
      for (const re of bytes === lines ? [/ERROR.*/, /[^\n]*ERROR/, /.*ERROR \d/, /ERROR \d+$/m] : [/ERROR.*/, /ERROR \d+$/m]) assert.deepEqual(summary(m.search(re)), oracleSearch(text, re, 0, length), `${re}`);
      for (const re of [/ERROR.*/g, /ERROR [^\n]*\n/g]) assert.deepEqual([...m.matchAll(re)].map(summary), oracleAll(text, re), `${re}`);
    } finally {
      m.close();
    }
  }
});

const COPIED = process.env.MEMMAP_NO_EXTERNAL_STRINGS === "1" || process.env.MEMMAP_NO_EXTERNAL_BUFFERS === "1";

test("with copied text (MEMMAP_NO_EXTERNAL_STRINGS=1) the same tests pass", { skip: (COPIED || "versions" in process && "bun" in process.versions) && "copied text already, or a runner that cannot run this file as a child" }, () => {
  const r = runNode(["--test", fileURLToPath(import.meta.url)], { env: { ...process.env, MEMMAP_NO_EXTERNAL_STRINGS: "1" } });
  assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr.slice(-2000));
});
