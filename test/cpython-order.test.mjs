// The order of checks where CPython 3.13 and memmap could disagree: a write with a bad value on a
// read-only map (CPython refuses the write before it looks at most values), and madvise's range
// rules (lengths up to ssize_t, clipped to the map). Each case names what CPython raises; where
// CPython 3.13 is at hand (PYENV_VERSION=3.13.0 python3) the same calls are run there and must
// raise what the table says.
import test from "node:test";
import assert from "node:assert/strict";
import { MMap, ACCESS_READ, MADV_NORMAL } from "../dist/index.js";
import { python, runPython, tmpfile } from "./helpers.mjs";

const CONTENT = "hello world\n".repeat(10); // 120 bytes
const LEN = CONTENT.length;

/** What a call did: its class and code, or "ok". */
function outcome(fn) {
  try {
    fn();
    return "ok";
  } catch (e) {
    return `${e.constructor.name} ${e.code}`;
  }
}

const READ_ONLY = "TypeError ERR_MMAP_READ_ONLY";
const RANGE = "RangeError ERR_OUT_OF_RANGE";

// [memmap call on an ACCESS_READ map at position `pos`, the same in Python, CPython's exception, memmap's outcome]
const writes = [
  ["set(0, 256)", (m) => m.set(0, 256), "m[0] = 256", "TypeError", READ_ONLY],
  ["set(0, -1)", (m) => m.set(0, -1), "m[0] = -1", "TypeError", READ_ONLY],
  ["set(1000, 1)", (m) => m.set(1000, 1), "m[1000] = 1", "TypeError", READ_ONLY],
  ["set(-1000, 256)", (m) => m.set(-1000, 256), "m[-1000] = 256", "TypeError", READ_ONLY],
  ["set(2 ** 63, 1)", (m) => m.set(2 ** 63, 1), "m[2**63] = 1", "TypeError", READ_ONLY],
  ["set(0, 2 ** 64)", (m) => m.set(0, 2 ** 64), "m[0] = 2**64", "TypeError", READ_ONLY],
  ["set(0, 1)", (m) => m.set(0, 1), "m[0] = 1", "TypeError", READ_ONLY],
  ["setSlice(0, 2, 'abc')", (m) => m.setSlice(0, 2, "abc"), "m[0:2] = b'abc'", "TypeError", READ_ONLY],
  ["setSlice(0, 4, 'ab', 0)", (m) => m.setSlice(0, 4, "ab", 0), "m[0:4:0] = b'ab'", "TypeError", READ_ONLY],
  ["setSlice(0, 4, 'abc', 2)", (m) => m.setSlice(0, 4, "abc", 2), "m[0:4:2] = b'abc'", "TypeError", READ_ONLY],
  ["setSlice(-1000, 1000, 'a')", (m) => m.setSlice(-1000, 1000, "a"), "m[-1000:1000] = b'a'", "TypeError", READ_ONLY],
  // write_byte converts its argument to an unsigned byte first (OverflowError), then checks access.
  ["writeByte(256)", (m) => m.writeByte(256), "m.write_byte(256)", "OverflowError", RANGE],
  ["writeByte(-1)", (m) => m.writeByte(-1), "m.write_byte(-1)", "OverflowError", RANGE],
  ["writeByte(1) at the end", (m) => (m.seek(0, 2), m.writeByte(1)), "m.seek(0, 2); m.write_byte(1)", "TypeError", READ_ONLY],
  ["write(too long)", (m) => m.write("x".repeat(1000)), "m.write(b'x' * 1000)", "TypeError", READ_ONLY],
  ["write('a') at the end", (m) => (m.seek(0, 2), m.write("a")), "m.seek(0, 2); m.write(b'a')", "TypeError", READ_ONLY],
  ["move(-1, 0, 1)", (m) => m.move(-1, 0, 1), "m.move(-1, 0, 1)", "TypeError", READ_ONLY],
  ["move(0, 0, 1000)", (m) => m.move(0, 0, 1000), "m.move(0, 0, 1000)", "TypeError", READ_ONLY],
  ["move(0, 0, 0)", (m) => m.move(0, 0, 0), "m.move(0, 0, 0)", "TypeError", READ_ONLY],
  // move converts its three integers first (OverflowError beyond ssize_t).
  ["move(0, 0, 2 ** 63)", (m) => m.move(0, 0, 2 ** 63), "m.move(0, 0, 2**63)", "OverflowError", RANGE],
];

test("a write with a bad value on a read-only map is refused as CPython refuses it: read-only first, except for what CPython converts first", (t) => {
  const p = tmpfile(CONTENT);
  const m = MMap.open(p, { access: ACCESS_READ });
  try {
    for (const [label, call, , , want] of writes) {
      m.seek(3);
      assert.equal(outcome(() => call(m)), want, label);
      assert.equal(m.slice().toString(), CONTENT, `${label}: contents unchanged`);
    }
  } finally {
    m.close();
  }
  if (python === null) return t.diagnostic("CPython 3.13 not available: the table alone was checked");
  const got = runPython(
    `
import json, mmap, sys
out = []
with open(${JSON.stringify(p)}, "rb") as f:
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    for code in json.load(sys.stdin):
        m.seek(3)
        try:
            exec(code, {"m": m})
            out.append("ok")
        except Exception as e:
            out.append(type(e).__name__)
print(json.dumps(out))
`,
    JSON.stringify(writes.map((w) => w[2])),
  );
  assert.deepEqual(
    got,
    writes.map((w) => w[3]),
    "CPython 3.13 raises what the table says",
  );
});

test("a writable map keeps Node's order for its values: index and value ranges are RangeErrors", () => {
  const m = new MMap(-1, 16);
  try {
    assert.equal(outcome(() => m.set(0, 256)), RANGE);
    assert.equal(outcome(() => m.set(16, 1)), RANGE);
    assert.equal(outcome(() => m.set(16, 256)), RANGE);
    assert.equal(outcome(() => m.set(0, 1.5)), RANGE);
    assert.equal(outcome(() => m.set("a", 1)), "TypeError ERR_INVALID_ARG_TYPE");
    assert.equal(outcome(() => m.set(-16, 7)), "ok");
    assert.equal(m.get(0), 7);
    m.close();
    // Types first, then closed, then the values.
    assert.equal(outcome(() => m.set("a", 1)), "TypeError ERR_INVALID_ARG_TYPE");
    assert.equal(outcome(() => m.set(0, 256)), "Error ERR_MMAP_CLOSED");
    assert.equal(outcome(() => m.set(100, 1)), "Error ERR_MMAP_CLOSED");
  } finally {
    m.close();
  }
  // On a read-only map, non-integers and wrong types are still refused first (docs/python.md).
  const ro = MMap.open(tmpfile(CONTENT), { access: ACCESS_READ });
  try {
    assert.equal(outcome(() => ro.set(0, 1.5)), RANGE);
    assert.equal(outcome(() => ro.set(0, "a")), "TypeError ERR_INVALID_ARG_TYPE");
    assert.equal(outcome(() => ro.writeByte(1.5)), RANGE);
  } finally {
    ro.close();
  }
});

// [start, length] of madvise(MADV_NORMAL, start, length) on a map of 2 pages, as Python source and
// as numbers; CPython's exception (or "ok"), and memmap's outcome.
const P = 4096;
const advice = [
  ["0", "2**62", 0, 2 ** 62, "ok", "ok"],
  ["4096", "2**62", P, 2 ** 62, "ok", "ok"],
  ["0", "2**53 + 2", 0, 2 ** 53 + 2, "ok", "ok"],
  ["4096", "2**63 - 8192", P, 2 ** 63 - 2 * P, "ok", "ok"],
  ["0", "8192 * 2", 0, 4 * P, "ok", "ok"],
  ["0", "0", 0, 0, "ok", "ok"],
  ["0", "2**63", 0, 2 ** 63, "OverflowError", RANGE],
  ["4096", "2**63 - 4096", P, 2 ** 63 - P, "OverflowError", RANGE],
  ["2**63", "1", 2 ** 63, 1, "OverflowError", RANGE],
  ["8192", "1", 2 * P, 1, "ValueError", RANGE],
  ["-1", "1", -1, 1, "ValueError", RANGE],
  ["0", "-1", 0, -1, "ValueError", RANGE],
  ["8191", "1", 2 * P - 1, 1, "OSError", "Error EINVAL"],
];

test("madvise takes any length below 2^63 and clips it to the map, refuses start + length beyond 2^63 - 1, as CPython", { skip: MADV_NORMAL === undefined && "madvise: POSIX (Windows has none: ERR_MMAP_UNSUPPORTED_PLATFORM)" }, (t) => {
  const m = new MMap(-1, 2 * P);
  try {
    for (const [ps, pl, s, l, , want] of advice) assert.equal(outcome(() => m.madvise(MADV_NORMAL, s, l)), want, `madvise(MADV_NORMAL, ${ps}, ${pl})`);
    // The ranges of residency(), prefetch(), lock() and unlock() follow madvise's rules.
    assert.deepEqual([...m.residency(P, 2 ** 62)].length, 1);
    assert.equal(outcome(() => m.residency(0, 2 ** 63)), RANGE);
  } finally {
    m.close();
  }
  if (python === null) return t.diagnostic("CPython 3.13 not available: the table alone was checked");
  const got = runPython(
    `
import json, mmap, sys
m = mmap.mmap(-1, 2 * mmap.PAGESIZE)
out = []
for s, l in json.load(sys.stdin):
    try:
        m.madvise(mmap.MADV_NORMAL, eval(s), eval(l))
        out.append("ok")
    except Exception as e:
        out.append(type(e).__name__)
print(json.dumps(out))
`,
    JSON.stringify(advice.map((a) => [a[0], a[1]])),
  );
  assert.deepEqual(
    got,
    advice.map((a) => a[4]),
    "CPython 3.13 raises what the table says",
  );
});
