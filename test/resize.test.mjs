// resize(): SPEC §5 with the semantics of the behaviour reference §9 (and the resize cases of
// its §14: test_basic, test_offset, test_resize_past_pos, test_resize_*_anonymous_mapping).
//
// Where CPython 3.13 is the reference (file sizes and contents after a resize, the position
// past the end, the errno of a refused ftruncate), the expected values come from running the
// same scenario in CPython. Where memmap deliberately differs (resize(0) leaves the file alone,
// error classes and codes), the SPEC is asserted directly.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import {
  MMap,
  ACCESS_READ,
  ACCESS_WRITE,
  ACCESS_COPY,
  ACCESS_DEFAULT,
  MAP_SHARED,
  MAP_PRIVATE,
  PAGESIZE,
  ALLOCATIONGRANULARITY,
} from "../dist/index.js";
import { python, runPython, tmpfile, tmpdir, throwsCode, runNode, VIEWS, assertNoViews, WINDOWS, ASAN } from "./helpers.mjs";

const NO_PYTHON = "CPython 3.13 (PYENV_VERSION=3.13.0 python3) is not available";

/** Deterministic non-zero-ish bytes, so that kept and zeroed regions are told apart. */
function pattern(n, seed = 7) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) % 251 || 1;
  return b;
}

/** Opens a new temporary file holding `content`; the caller closes `fd`. */
function openTemp(content) {
  const p = tmpfile(content);
  return { path: p, fd: fs.openSync(p, "r+") };
}

/** Runs fn(map, file) on a fresh file map, closing the map and the descriptor afterwards. */
function withFileMap(content, length, options, fn) {
  const f = openTemp(content);
  const m = new MMap(f.fd, length, options);
  try {
    return fn(m, f);
  } finally {
    m.close();
    fs.closeSync(f.fd);
  }
}

/** Asserts `err` is a system error shaped like Node's fs errors. */
function assertSystemError(err, syscalls) {
  assert.equal(Object.getPrototypeOf(err), Error.prototype, `exact class Error: ${err?.message}`);
  assert.equal(typeof err.code, "string");
  assert.match(err.code, /^E[A-Z0-9]+$/);
  assert.equal(typeof err.errno, "number");
  assert.ok(err.errno < 0, "errno is negative, as in Node");
  assert.ok(syscalls.includes(err.syscall), `syscall ${err.syscall} in ${syscalls}`);
}

/** Calls fn, which must throw; returns the error. */
function caught(fn) {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail("expected an exception");
}

// ------------------------------------------------------------------- file maps vs CPython

/**
 * File-map scenarios, each run by CPython and by memmap on identical files:
 * map (offset, length, private?), write `before`, seek, resize(newsize), write `after`,
 * then report len, size(), tell(), the map's bytes and the file's bytes.
 */
const G = ALLOCATIONGRANULARITY;
const FILE_SCENARIOS = [
  // grow a whole-file map: the file grows, zero-filled
  { name: "grow 10 -> 20", content: "abcdefghij", offset: 0, length: 0, newsize: 20 },
  // shrink: the file is truncated to exactly newsize
  { name: "shrink 10 -> 4", content: "abcdefghij", offset: 0, length: 0, newsize: 4, seek: 2 },
  // test_basic: a 2-page file with foo at PAGESIZE, resize(512)
  { name: "test_basic 2 pages -> 512", content: { zeros: 2 * PAGESIZE, plant: [[PAGESIZE, "foo"]] }, offset: 0, length: 0, newsize: 512 },
  // test_offset: map at the granularity, resize(512) keeps the content, file = offset+512
  { name: "test_offset", content: { zeros: 2 * G, plant: [[G, "foo"]] }, offset: G, length: 0, newsize: 512 },
  // a window in the middle of a bigger file, shrunk: the file's tail is cut
  { name: "middle window shrink", content: { pattern: 4 * PAGESIZE }, offset: PAGESIZE, length: PAGESIZE, newsize: 2048 },
  // a small window in the middle, grown but still inside the old file: the file is set to offset+newsize
  { name: "middle window grow inside file", content: { pattern: 4 * PAGESIZE }, offset: PAGESIZE, length: 100, newsize: 200 },
  // a window grown past the old end: existing bytes kept, zeros after
  { name: "middle window grow past end", content: { pattern: 4 * PAGESIZE }, offset: PAGESIZE, length: 100, newsize: 4 * PAGESIZE + 7 },
  // grow over several pages, then write at both ends of the new map: the writes reach the file
  {
    name: "grow several pages then write",
    content: "abcdefghij",
    offset: 0,
    length: 0,
    newsize: 3 * PAGESIZE + 5,
    seek: 10,
    after: [[0, "A"], [3 * PAGESIZE + 4, "Z"], [PAGESIZE, "mid"]],
  },
  // writes before a shrink: the kept part reaches the file
  { name: "write then shrink", content: { pattern: 3 * PAGESIZE }, offset: 0, length: 0, before: [[5, "hello"], [2 * PAGESIZE, "gone"]], newsize: PAGESIZE + 1 },
  // ACCESS_DEFAULT with MAP_PRIVATE is resizable: the file is resized, private writes stay in memory
  { name: "MAP_PRIVATE grow", content: "abcdefghij", offset: 0, length: 0, private: true, before: [[0, "X"]], newsize: 20, after: [[19, "Y"]] },
  { name: "MAP_PRIVATE shrink", content: { pattern: 2 * PAGESIZE }, offset: 0, length: 0, private: true, before: [[1, "Q"]], newsize: 100 },
];

function contentOf(c) {
  if (typeof c === "string") return Buffer.from(c, "latin1");
  const b = c.zeros !== undefined ? Buffer.alloc(c.zeros) : pattern(c.pattern);
  for (const [pos, text] of c.plant ?? []) b.write(text, pos, "latin1");
  return b;
}

const PY_FILE_SCENARIOS = `
import json, mmap, os, sys
out = []
for s in json.load(sys.stdin):
    fd = os.open(s["path"], os.O_RDWR)
    flags = mmap.MAP_PRIVATE if s.get("private") else mmap.MAP_SHARED
    m = mmap.mmap(fd, s["length"], flags=flags, offset=s["offset"])
    for pos, text in s.get("before", []):
        m[pos:pos + len(text)] = text.encode("latin1")
    m.seek(s.get("seek", 0))
    m.resize(s["newsize"])
    for pos, text in s.get("after", []):
        m[pos:pos + len(text)] = text.encode("latin1")
    r = {"len": len(m), "size": m.size(), "tell": m.tell(), "map": m[:].hex()}
    m.close()
    os.close(fd)
    with open(s["path"], "rb") as f:
        r["file"] = f.read().hex()
    out.append(r)
print(json.dumps(out))
`;

function runFileScenarioJs(s, p) {
  const fd = fs.openSync(p, "r+");
  const m = new MMap(fd, s.length, { flags: s.private ? MAP_PRIVATE : MAP_SHARED, offset: s.offset });
  try {
    for (const [pos, text] of s.before ?? []) m.setSlice(pos, pos + text.length, Buffer.from(text, "latin1"));
    m.seek(s.seek ?? 0);
    const ret = m.resize(s.newsize);
    assert.equal(ret, undefined, "resize returns undefined");
    for (const [pos, text] of s.after ?? []) m.setSlice(pos, pos + text.length, Buffer.from(text, "latin1"));
    const r = { len: m.length, size: m.size(), tell: m.tell(), map: m.slice().toString("hex") };
    m.close();
    r.file = fs.readFileSync(p).toString("hex");
    return r;
  } finally {
    m.close();
    fs.closeSync(fd);
  }
}

test("file maps: resize gives the same map, file, size() and position as CPython", (t) => {
  if (python === null) return t.skip(NO_PYTHON);
  const jsPaths = [];
  const pyInput = FILE_SCENARIOS.map((s) => {
    const content = contentOf(s.content);
    jsPaths.push(tmpfile(content));
    return { ...s, content: undefined, path: tmpfile(content) };
  });
  const expected = runPython(PY_FILE_SCENARIOS, JSON.stringify(pyInput));
  assert.equal(expected.length, FILE_SCENARIOS.length);
  FILE_SCENARIOS.forEach((s, i) => {
    const got = runFileScenarioJs(s, jsPaths[i]);
    assert.deepEqual(got, expected[i], s.name);
  });
});

test("file maps: resize sets the file to offset + newsize, zero-fills growth, keeps min(old, new)", { skip: WINDOWS && "an offset of PAGESIZE is not a multiple of Windows' 64 KiB granularity" }, () => {
  // The facts of §9 asserted directly (the CPython comparison above covers the details).
  const original = pattern(4 * PAGESIZE, 3);
  // grow a whole-file map
  withFileMap(original.subarray(0, 100), 0, undefined, (m, f) => {
    m.resize(3 * PAGESIZE);
    const file = fs.readFileSync(f.path);
    assert.equal(file.length, 3 * PAGESIZE);
    assert.deepEqual(file.subarray(0, 100), original.subarray(0, 100));
    assert.ok(file.subarray(100).every((b) => b === 0), "grown part of the file is zeros");
    assert.equal(m.length, 3 * PAGESIZE);
    assert.equal(m.size(), 3 * PAGESIZE);
    assert.deepEqual(m.slice(0, 100), original.subarray(0, 100));
    assert.ok(m.slice(100).every((b) => b === 0), "grown part of the map is zeros");
  });
  // shrink a window in the middle: the file's tail is cut at offset + newsize
  withFileMap(original, PAGESIZE, { offset: PAGESIZE }, (m, f) => {
    m.resize(2048);
    assert.equal(fs.statSync(f.path).size, PAGESIZE + 2048);
    assert.equal(m.size(), PAGESIZE + 2048);
    assert.equal(m.length, 2048);
    assert.deepEqual(fs.readFileSync(f.path), original.subarray(0, PAGESIZE + 2048));
    assert.deepEqual(m.slice(), original.subarray(PAGESIZE, PAGESIZE + 2048));
  });
});

test("test_basic / test_offset: after resize(512) the map, the file and seek agree on the new size", () => {
  for (const offset of [0, ALLOCATIONGRANULARITY]) {
    const content = Buffer.alloc(offset + 2 * PAGESIZE);
    content.write("foo", offset + 3, "latin1");
    withFileMap(content, 0, { offset }, (m, f) => {
      assert.equal(m.find("foo"), 3);
      m.resize(512);
      assert.equal(m.length, 512);
      throwsCode(() => m.seek(513), RangeError, "ERR_OUT_OF_RANGE");
      assert.equal(m.seek(512), 512);
      assert.equal(fs.statSync(f.path).size, offset + 512);
      assert.equal(m.size(), offset + 512);
      assert.equal(m.slice(3, 6).toString(), "foo");
      throwsCode(() => m.get(512), RangeError, "ERR_OUT_OF_RANGE");
      assert.equal(m.get(511), 0);
    });
  }
});

test("file maps: the position is unchanged and may end up past the end (test_resize_past_pos)", () => {
  withFileMap(pattern(2 * PAGESIZE), 0, undefined, (m, f) => {
    assert.equal(m.read(5000).length, 5000);
    m.resize(PAGESIZE);
    assert.equal(m.tell(), 5000);
    assert.deepEqual(m.read(), Buffer.alloc(0));
    assert.deepEqual(m.read(14), Buffer.alloc(0));
    assert.deepEqual(m.readline(), Buffer.alloc(0));
    throwsCode(() => m.readByte(), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.writeByte(65), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.write(Buffer.alloc(0)), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.write(""), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.write("x"), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.seek(0, 1), RangeError, "ERR_OUT_OF_RANGE");
    assert.equal(m.find(""), PAGESIZE, "find('') returns the clamped start");
    assert.equal(m.tell(), 5000, "failed calls do not move the position");
    assert.equal(fs.statSync(f.path).size, PAGESIZE, "failed writes do not touch the file");
    assert.equal(m.seek(-(5000 - 4000), 1), 4000, "seek(-k, 1) back into range works");
    assert.equal(m.readByte(), pattern(2 * PAGESIZE)[4000]);
    assert.equal(m.tell(), 4001);
  });
});

const PY_PAST_POS = `
import json, mmap, os, sys
inp = json.load(sys.stdin)
def run(m, ops):
    res = []
    for op in ops:
        name, args = op[0], op[1:]
        args = [a.encode("latin1") if isinstance(a, str) else a for a in args]
        try:
            v = getattr(m, name)(*args)
            res.append({"ok": v.hex() if isinstance(v, bytes) else v})
        except Exception as e:
            res.append({"err": type(e).__name__})
    return res
out = {}
fd = os.open(inp["path"], os.O_RDWR)
m = mmap.mmap(fd, 0)
m.read(inp["read"]); m.resize(inp["newsize"])
out["file"] = run(m, inp["ops"])
m.close(); os.close(fd)
m = mmap.mmap(-1, inp["anon"])
m.read(inp["read"]); m.resize(inp["newsize"])
out["anon"] = run(m, inp["ops"])
m.close()
print(json.dumps(out))
`;

/** Runs the ops on memmap with the Python method names; CPython's ValueError is memmap's RangeError ERR_OUT_OF_RANGE. */
function runOpsJs(m, ops) {
  const names = { read_byte: "readByte", write_byte: "writeByte" };
  return ops.map(([name, ...args]) => {
    try {
      const v = m[names[name] ?? name](...args.map((a) => (typeof a === "string" ? Buffer.from(a, "latin1") : a)));
      return { ok: Buffer.isBuffer(v) ? v.toString("hex") : v === undefined ? null : v };
    } catch (err) {
      if (err instanceof RangeError && err.code === "ERR_OUT_OF_RANGE") return { err: "ValueError" };
      return { err: `${err.constructor.name} ${err.code}` };
    }
  });
}

test("position past the end after a shrink behaves as in CPython (file and anonymous maps)", (t) => {
  if (python === null) return t.skip(NO_PYTHON);
  const ops = [
    ["tell"],
    ["read"],
    ["read", 14],
    ["readline"],
    ["read_byte"],
    ["write_byte", 65],
    ["write", ""],
    ["write", "xy"],
    ["seek", 0, 1],
    ["find", ""],
    ["find", "", 0],
    ["rfind", ""],
    ["tell"],
    ["seek", -1000, 1],
    ["tell"],
    ["read", 3],
    ["seek", 0, 2],
    ["read_byte"],
    ["write_byte", 66],
    ["tell"],
  ];
  const content = pattern(2 * PAGESIZE, 11);
  const input = { path: tmpfile(content), read: 5000, newsize: PAGESIZE, anon: 2 * PAGESIZE, ops };
  const expected = runPython(PY_PAST_POS, JSON.stringify(input));
  withFileMap(content, 0, undefined, (m) => {
    m.read(5000);
    m.resize(PAGESIZE);
    assert.deepEqual(runOpsJs(m, ops), expected.file);
  });
  const a = new MMap(-1, 2 * PAGESIZE);
  try {
    a.read(5000);
    a.resize(PAGESIZE);
    assert.deepEqual(runOpsJs(a, ops), expected.anon);
  } finally {
    a.close();
  }
});

// ------------------------------------------------------------------- refused resizes

/** Snapshot of everything a failed resize must leave alone. */
function snapshot(m, p) {
  return {
    length: m.length,
    tell: m.tell(),
    map: m.slice().toString("hex"),
    file: p === undefined ? null : fs.readFileSync(p).toString("hex"),
  };
}

test("resize(0) is a RangeError and, unlike CPython, leaves the file untouched", { skip: WINDOWS && "an offset of PAGESIZE is not a multiple of Windows' 64 KiB granularity" }, () => {
  const content = pattern(PAGESIZE + 5);
  withFileMap(content, 5, { offset: PAGESIZE }, (m, f) => {
    m.seek(3);
    const before = snapshot(m, f.path);
    throwsCode(() => m.resize(0), RangeError, "ERR_OUT_OF_RANGE");
    assert.deepEqual(snapshot(m, f.path), before);
    assert.equal(fs.statSync(f.path).size, PAGESIZE + 5, "the file was not truncated to the offset");
    assert.equal(m.size(), PAGESIZE + 5);
    // still usable, and a later resize works
    m.resize(10);
    assert.equal(fs.statSync(f.path).size, PAGESIZE + 10);
  });
});

test("resize with a bad argument: negative or non-integer → RangeError, wrong type → TypeError; nothing changes", () => {
  withFileMap("abcdefghij", 0, undefined, (m, f) => {
    m.seek(4);
    const before = snapshot(m, f.path);
    for (const bad of [-1, -PAGESIZE, -(2 ** 53), 1.5, 0.5, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 64]) {
      throwsCode(() => m.resize(bad), RangeError, "ERR_OUT_OF_RANGE");
    }
    for (const bad of ["20", "0", null, undefined, 20n, {}, [20], true]) {
      throwsCode(() => m.resize(bad), TypeError, "ERR_INVALID_ARG_TYPE");
    }
    assert.deepEqual(snapshot(m, f.path), before);
  });
});

test("ACCESS_READ and ACCESS_COPY maps are not resizable; file and map unchanged", () => {
  for (const access of [ACCESS_READ, ACCESS_COPY]) {
    withFileMap("abcdefghij", 0, { access }, (m, f) => {
      const before = snapshot(m, f.path);
      throwsCode(() => m.resize(20), TypeError, "ERR_MMAP_NOT_RESIZABLE");
      throwsCode(() => m.resize(5), TypeError, "ERR_MMAP_NOT_RESIZABLE");
      // the access check comes before the range check, as in CPython
      throwsCode(() => m.resize(-1), TypeError, "ERR_MMAP_NOT_RESIZABLE");
      throwsCode(() => m.resize(0), TypeError, "ERR_MMAP_NOT_RESIZABLE");
      assert.deepEqual(snapshot(m, f.path), before);
    });
  }
});

test("ACCESS_WRITE and ACCESS_DEFAULT file maps are resizable", () => {
  for (const access of [ACCESS_WRITE, ACCESS_DEFAULT]) {
    withFileMap("abcdefghij", 0, { access }, (m, f) => {
      m.resize(15);
      assert.equal(m.length, 15);
      assert.equal(fs.statSync(f.path).size, 15);
    });
  }
});

test("trackfd: false maps are not resizable (file and anonymous); nothing changes", () => {
  withFileMap("abcdefghij", 0, { trackfd: false }, (m, f) => {
    const before = snapshot(m, f.path);
    throwsCode(() => m.resize(20), TypeError, "ERR_MMAP_NOT_RESIZABLE");
    throwsCode(() => m.resize(5), TypeError, "ERR_MMAP_NOT_RESIZABLE");
    assert.deepEqual(snapshot(m, f.path), before);
  });
  withFileMap("abcdefghij", 0, { trackfd: false, access: ACCESS_READ }, (m) => {
    throwsCode(() => m.resize(20), TypeError, "ERR_MMAP_NOT_RESIZABLE");
  });
  for (const flags of [MAP_SHARED, MAP_PRIVATE]) {
    const a = new MMap(-1, PAGESIZE, { trackfd: false, flags });
    try {
      a.set(0, 42);
      throwsCode(() => a.resize(2 * PAGESIZE), TypeError, "ERR_MMAP_NOT_RESIZABLE");
      throwsCode(() => a.resize(10), TypeError, "ERR_MMAP_NOT_RESIZABLE");
      assert.equal(a.length, PAGESIZE);
      assert.equal(a.get(0), 42);
    } finally {
      a.close();
    }
  }
});

test("resize on a closed map → ERR_MMAP_CLOSED", () => {
  const m = new MMap(-1, PAGESIZE, { flags: MAP_PRIVATE });
  m.close();
  throwsCode(() => m.resize(2 * PAGESIZE), Error, "ERR_MMAP_CLOSED");
});

test("a resize the file system refuses (2**52 bytes) is a system error and changes nothing", (t) => {
  const huge = 2 ** 52;
  let pyErrno = null;
  const content = pattern(3 * PAGESIZE);
  if (python !== null) {
    const p = tmpfile(content);
    // CPython calls ftruncate first and reports its errno (it does not undo a successful ftruncate).
    pyErrno = runPython(
      `import json, mmap, os, sys, errno
inp = json.load(sys.stdin)
fd = os.open(inp["path"], os.O_RDWR)
m = mmap.mmap(fd, 0)
try:
    m.resize(inp["n"]); r = None
except OSError as e:
    r = errno.errorcode[e.errno]
m.close(); os.close(fd); os.truncate(inp["path"], 0)
print(json.dumps(r))`,
      JSON.stringify({ path: p, n: huge }),
    );
  }
  withFileMap(content, 0, undefined, (m, f) => {
    m.seek(123);
    const before = snapshot(m, f.path);
    const err = caught(() => m.resize(huge));
    assertSystemError(err, ["ftruncate", "mremap", ...(WINDOWS ? ["MapViewOfFile"] : [])]);
    if (pyErrno !== null) assert.equal(err.code, pyErrno, "same errno as CPython");
    assert.deepEqual(snapshot(m, f.path), before);
    assert.equal(fs.statSync(f.path).size, 3 * PAGESIZE);
    assert.equal(m.size(), 3 * PAGESIZE);
    // the map still works afterwards
    m.set(0, 0x41);
    assert.equal(fs.readFileSync(f.path)[0], 0x41);
    m.resize(4 * PAGESIZE);
    assert.equal(fs.statSync(f.path).size, 4 * PAGESIZE);
  });
  if (python === null) t.diagnostic(NO_PYTHON + ": errno not compared with CPython");
});

// ------------------------------------------------------------------- anonymous maps

test("shared anonymous maps: growing → ERR_MMAP_NOT_RESIZABLE, shrinking keeps the prefix (test_resize_*_anonymous_mapping)", { skip: WINDOWS && "Windows grows an anonymous map by copying it into a new section (test/windows.test.mjs)" }, () => {
  const a = new MMap(-1, 2 * PAGESIZE);
  try {
    const data = pattern(2 * PAGESIZE, 5);
    a.setSlice(0, 2 * PAGESIZE, data);
    a.seek(17);
    throwsCode(() => a.resize(3 * PAGESIZE), TypeError, "ERR_MMAP_NOT_RESIZABLE");
    throwsCode(() => a.resize(2 * PAGESIZE + 1), TypeError, "ERR_MMAP_NOT_RESIZABLE");
    assert.equal(a.length, 2 * PAGESIZE);
    assert.equal(a.tell(), 17);
    assert.deepEqual(a.slice(), data);
    a.resize(PAGESIZE);
    assert.equal(a.length, PAGESIZE);
    assert.equal(a.size(), PAGESIZE);
    assert.deepEqual(a.slice(), data.subarray(0, PAGESIZE));
    throwsCode(() => a.resize(2 * PAGESIZE), TypeError, "ERR_MMAP_NOT_RESIZABLE");
    assert.deepEqual(a.slice(), data.subarray(0, PAGESIZE));
    a.resize(PAGESIZE); // the same size is fine
    a.resize(10);
    assert.deepEqual(a.slice(), data.subarray(0, 10));
  } finally {
    a.close();
  }
});

test("MAP_PRIVATE anonymous maps grow, keeping the data with a zero tail", () => {
  const a = new MMap(-1, PAGESIZE, { flags: MAP_PRIVATE });
  try {
    const data = pattern(PAGESIZE, 9);
    a.setSlice(0, PAGESIZE, data);
    a.resize(2 * PAGESIZE);
    assert.equal(a.length, 2 * PAGESIZE);
    assert.deepEqual(a.slice(0, PAGESIZE), data);
    assert.ok(a.slice(PAGESIZE).every((b) => b === 0), "tail is zero");
    // the new part is usable
    a.set(2 * PAGESIZE - 1, 7);
    assert.equal(a.get(-1), 7);
    // a big grow (likely to move the mapping)
    a.resize(64 * PAGESIZE + 3);
    assert.deepEqual(a.slice(0, PAGESIZE), data);
    assert.equal(a.get(2 * PAGESIZE - 1), 7);
    assert.ok(a.slice(2 * PAGESIZE).every((b) => b === 0));
    assert.equal(a.size(), 64 * PAGESIZE + 3, "size() of an anonymous map is its length");
    a.resize(100);
    assert.deepEqual(a.slice(), data.subarray(0, 100));
  } finally {
    a.close();
  }
});

test("a MAP_PRIVATE file map keeps its own writes through resize (grow and shrink); they never reach the file", () => {
  // Windows maps the file anew to resize it: before, the copy-on-write pages were dropped with
  // the old view, and the map read the file's bytes again where it had written its own.
  const size = 2 * ALLOCATIONGRANULARITY;
  const path = tmpfile(Buffer.alloc(size, 0x30));
  const fd = fs.openSync(path, "r+");
  try {
    const m = new MMap(fd, 0, { flags: MAP_PRIVATE });
    try {
      m.set(0, 0x41);
      m.setSlice(PAGESIZE + 10, PAGESIZE + 13, "abc");
      m.set(size - 1, 0x5a);
      m.resize(size + 3 * PAGESIZE);
      assert.equal(m.get(0), 0x41);
      assert.equal(m.slice(PAGESIZE + 9, PAGESIZE + 14).toString(), "0abc0");
      assert.equal(m.get(size - 1), 0x5a);
      assert.equal(m.get(1), 0x30, "unwritten bytes are the file's");
      assert.ok(m.slice(size).every((b) => b === 0), "the file's zero-filled growth");
      m.set(size + 5, 0x42);
      m.resize(PAGESIZE + 12);
      assert.equal(m.get(0), 0x41);
      assert.equal(m.slice(PAGESIZE + 9).toString(), "0ab");
      m.resize(size + PAGESIZE);
      assert.equal(m.get(0), 0x41, "still kept after a second resize");
      assert.equal(m.get(PAGESIZE + 11), 0x62);
    } finally {
      m.close();
    }
    const file = fs.readFileSync(path);
    assert.equal(file.length, size + PAGESIZE, "resize() sizes the file, as for a shared map");
    assert.ok(file.subarray(0, PAGESIZE + 12).every((b) => b === 0x30), "no private write reached the file");
  } finally {
    fs.closeSync(fd);
  }
});

test("shareable anonymous maps (with a descriptor) can grow", { skip: WINDOWS && "memfd-backed shareable maps are POSIX: Windows shares anonymous memory by tagname (test/windows.test.mjs)" }, () => {
  const a = new MMap(-1, PAGESIZE, { shareable: true });
  try {
    a.write("shareable");
    a.resize(3 * PAGESIZE);
    assert.equal(a.length, 3 * PAGESIZE);
    assert.equal(a.slice(0, 9).toString(), "shareable");
    assert.ok(a.slice(9).every((b) => b === 0));
    assert.equal(fs.fstatSync(a.fd).size, 3 * PAGESIZE);
    a.resize(4);
    assert.equal(a.slice().toString(), "shar");
  } finally {
    a.close();
  }
});

// ------------------------------------------------------------------- views

test("views taken before a resize are detached; m.buffer afterwards has the new length", () => {
  if (!VIEWS) {
    // Without views: refused before and after each resize; the methods see the new length.
    withFileMap(pattern(2 * PAGESIZE), 0, undefined, (m, f) => {
      for (const newsize of [5 * PAGESIZE + 1, PAGESIZE - 3, 40 * PAGESIZE]) {
        assertNoViews(m, 1, 11);
        m.resize(newsize);
        assertNoViews(m);
        assert.equal(m.length, newsize);
        assert.equal(m.slice().length, newsize);
        m.set(newsize - 1, 0x5a);
        assert.equal(fs.readFileSync(f.path)[newsize - 1], 0x5a, "writes after the resize reach the file");
      }
    });
    const a = new MMap(-1, PAGESIZE, { flags: MAP_PRIVATE });
    try {
      assertNoViews(a);
      a.resize(10 * PAGESIZE);
      assertNoViews(a);
      assert.equal(a.slice().length, 10 * PAGESIZE);
      a.resize(PAGESIZE);
      assert.equal(a.slice().length, PAGESIZE);
    } finally {
      a.close();
    }
    return;
  }
  withFileMap(pattern(2 * PAGESIZE), 0, undefined, (m, f) => {
    for (const newsize of [5 * PAGESIZE + 1, PAGESIZE - 3, 40 * PAGESIZE]) {
      const whole = m.buffer;
      const part = m.subarray(1, 11);
      assert.equal(whole.length, m.length);
      m.resize(newsize);
      assert.equal(whole.length, 0, "m.buffer taken before is detached");
      assert.equal(whole.buffer.byteLength, 0);
      assert.equal(part.length, 0, "a subarray taken before is detached");
      assert.equal(whole[0], undefined);
      const now = m.buffer;
      assert.equal(now.length, newsize);
      assert.equal(m.subarray().length, newsize);
      now[newsize - 1] = 0x5a;
      assert.equal(fs.readFileSync(f.path)[newsize - 1], 0x5a, "writes through the new view reach the file");
    }
  });
  const a = new MMap(-1, PAGESIZE, { flags: MAP_PRIVATE });
  try {
    const v = a.buffer;
    a.resize(10 * PAGESIZE);
    assert.equal(v.length, 0);
    assert.equal(a.buffer.length, 10 * PAGESIZE);
    const w = a.buffer;
    a.resize(PAGESIZE);
    assert.equal(w.length, 0, "shrinking detaches too");
    assert.equal(a.buffer.length, PAGESIZE);
  } finally {
    a.close();
  }
});

// ------------------------------------------------------------------- flushAsync in flight

test("resize while flushAsync() is pending → ERR_MMAP_BUSY; after it settles, resize works", { skip: WINDOWS && "no msync alignment rule or flags on Windows (FlushViewOfFile)" }, async () => {
  const f = openTemp(pattern(2 * PAGESIZE));
  const m = new MMap(f.fd, 0);
  try {
    m.seek(9);
    const before = snapshot(m, f.path);
    const pending = m.flushAsync();
    throwsCode(() => m.resize(4 * PAGESIZE), Error, "ERR_MMAP_BUSY");
    throwsCode(() => m.resize(PAGESIZE), Error, "ERR_MMAP_BUSY");
    assert.deepEqual(snapshot(m, f.path), before, "a refused resize changes nothing");
    assert.equal(await pending, undefined);
    m.resize(4 * PAGESIZE);
    assert.equal(m.length, 4 * PAGESIZE);
    assert.equal(fs.statSync(f.path).size, 4 * PAGESIZE);
    // a flushAsync that fails also releases the map
    const failing = m.flushAsync(1, 1);
    throwsCode(() => m.resize(PAGESIZE), Error, "ERR_MMAP_BUSY");
    await assert.rejects(failing, (err) => err.code === "EINVAL" && err.syscall === "msync");
    m.resize(PAGESIZE);
    assert.equal(fs.statSync(f.path).size, PAGESIZE);
  } finally {
    m.close();
    fs.closeSync(f.fd);
  }
});

// ------------------------------------------------------------------- portable path (macOS)

const PORTABLE_SCRIPT = (indexUrl) => `
import fs from "node:fs";
import { MMap, MAP_PRIVATE, MAP_SHARED, PAGESIZE } from ${JSON.stringify(indexUrl)};
const dir = process.argv[2];
const out = {};
const hex = (b) => Buffer.from(b).toString("hex");
const pat = (n, seed) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) % 251 || 1; return b; };
const errOf = (fn) => { try { fn(); return null; } catch (e) { return { cls: e.constructor.name, code: e.code, syscall: e.syscall ?? null }; } };
// Without views (MEMMAP_NO_EXTERNAL_BUFFERS=1) each view asked for must be refused: null.
const views = process.env.MEMMAP_NO_EXTERNAL_BUFFERS !== "1";
const take = (make) => {
  if (views) return make();
  const e = errOf(make);
  if (e === null || e.code !== "ERR_MMAP_VIEWS_UNAVAILABLE") throw new Error("a view without external buffers: " + JSON.stringify(e));
  return null;
};
const detached = (v) => (v === null ? "no view" : v.length === 0);

// 1. whole-file map: grow, write in the new part, shrink, grow over many pages
{
  const p = dir + "/a.bin"; fs.writeFileSync(p, "abcdefghij");
  const fd = fs.openSync(p, "r+");
  const m = new MMap(fd, 0);
  const steps = [];
  const v0 = take(() => m.buffer);
  m.resize(20); m.set(15, 0x5a);
  steps.push({ len: m.length, size: m.size(), map: hex(m.slice()), file: hex(fs.readFileSync(p)), detached: detached(v0) });
  m.resize(4);
  steps.push({ len: m.length, size: m.size(), map: hex(m.slice()), file: hex(fs.readFileSync(p)) });
  const v1 = take(() => m.subarray(0, 2));
  m.resize(3 * PAGESIZE + 1); m.set(3 * PAGESIZE, 0x41);
  const b = take(() => m.buffer);
  if (b !== null) b[PAGESIZE] = 0x42; else m.set(PAGESIZE, 0x42);
  steps.push({ len: m.length, size: m.size(), bufLen: b === null ? "no view" : b.length, detached: detached(v1), map: hex(m.slice()), file: hex(fs.readFileSync(p)) });
  m.close(); fs.closeSync(fd);
  out.wholeFile = steps;
}
// 2. a window at an offset of a bigger file: grow past the end, write at the end, shrink
{
  const p = dir + "/b.bin"; fs.writeFileSync(p, pat(4 * PAGESIZE, 3));
  const fd = fs.openSync(p, "r+");
  const m = new MMap(fd, PAGESIZE, { offset: PAGESIZE });
  m.seek(100);
  const steps = [];
  m.resize(4 * PAGESIZE + 10); m.set(-1, 0x77);
  steps.push({ len: m.length, size: m.size(), tell: m.tell(), map: hex(m.slice()), file: hex(fs.readFileSync(p)) });
  m.resize(50);
  steps.push({ len: m.length, size: m.size(), tell: m.tell(), map: hex(m.slice()), file: hex(fs.readFileSync(p)) });
  m.close(); fs.closeSync(fd);
  out.window = steps;
}
// 3. MAP_PRIVATE file map (ACCESS_DEFAULT): private writes survive the grow, the file grows with zeros
{
  const p = dir + "/c.bin"; fs.writeFileSync(p, "abcdefghij");
  const fd = fs.openSync(p, "r+");
  const m = new MMap(fd, 0, { flags: MAP_PRIVATE });
  m.set(0, 0x58);
  m.resize(3 * PAGESIZE);
  const r = { len: m.length, map: hex(m.slice()), file: hex(fs.readFileSync(p)) };
  m.resize(5);
  r.shrunk = { map: hex(m.slice()), file: hex(fs.readFileSync(p)) };
  m.close(); fs.closeSync(fd);
  out.privateFile = r;
}
// 4. MAP_PRIVATE anonymous: grow keeps data with a zero tail, shrink keeps the prefix
{
  const m = new MMap(-1, 100, { flags: MAP_PRIVATE });
  m.write("hello"); m.set(99, 0x63);
  const v = take(() => m.buffer);
  m.resize(5 * PAGESIZE);
  const r = { len: m.length, detached: detached(v), map: hex(m.slice()) };
  m.set(5 * PAGESIZE - 1, 0x64);
  m.resize(2 * PAGESIZE);
  r.shrunk = { len: m.length, map: hex(m.slice()) };
  m.resize(3);
  r.tiny = hex(m.slice());
  const before = hex(m.slice());
  r.hugeError = errOf(() => m.resize(2 ** 50));
  r.afterHuge = { len: m.length, same: hex(m.slice()) === before };
  // Shrinking inside a page and growing again brings back that page's bytes on both paths.
  m.resize(2 * PAGESIZE);
  r.regrown = hex(m.slice(0, 6));
  m.close();
  out.privateAnon = r;
}
// 5. shared anonymous: shrink works, grow is refused
{
  const m = new MMap(-1, 2 * PAGESIZE);
  m.write("shared");
  m.resize(PAGESIZE);
  out.sharedAnon = { len: m.length, head: hex(m.slice(0, 6)), grow: errOf(() => m.resize(2 * PAGESIZE)), lenAfter: m.length };
  m.close();
}
// 6. shareable anonymous (memfd): grow and shrink
{
  const m = new MMap(-1, 10, { shareable: true });
  m.write("memfd");
  m.resize(2 * PAGESIZE + 1); m.set(-1, 1);
  out.shareable = { len: m.length, map: hex(m.slice()), fdSize: fs.fstatSync(m.fd).size };
  m.resize(3);
  out.shareable.shrunk = hex(m.slice());
  m.close();
}
// 7. a file resize the file system refuses changes nothing
{
  const p = dir + "/d.bin"; fs.writeFileSync(p, pat(2 * PAGESIZE, 1));
  const fd = fs.openSync(p, "r+");
  const m = new MMap(fd, 0);
  const e = errOf(() => m.resize(2 ** 52));
  out.hugeFile = { cls: e && e.cls, len: m.length, file: hex(fs.readFileSync(p)), map: hex(m.slice()) };
  m.close(); fs.closeSync(fd);
}
process.stdout.write(JSON.stringify(out));
`;

test("the portable resize path (no mremap, forced by MEMMAP_NO_MREMAP=1) gives the same results", { skip: WINDOWS && "the POSIX resize paths (mremap or mmap+copy); Windows has one path of its own" }, () => {
  const dir = tmpdir("memmap-resize-");
  const script = path.join(dir, "scenario.mjs");
  const indexUrl = new URL("../dist/index.js", import.meta.url).href;
  fs.writeFileSync(script, PORTABLE_SCRIPT(indexUrl));
  const env = { ...process.env };
  delete env.MEMMAP_NO_MREMAP;
  const runIn = (sub, extraEnv) => {
    const d = path.join(dir, sub);
    fs.mkdirSync(d);
    const r = runNode([script, d], { env: { ...env, ...extraEnv } });
    assert.equal(r.signal, null, `child killed by ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const native = runIn("native", {});
  const portable = runIn("portable", { MEMMAP_NO_MREMAP: "1" });

  // The remap failure names the call that failed: mremap on the Linux path, mmap on the
  // portable one. This shows the variable took effect; the rest must be identical.
  assert.deepEqual(native.privateAnon.hugeError, { cls: "Error", code: native.privateAnon.hugeError.code, syscall: "mremap" });
  assert.deepEqual(portable.privateAnon.hugeError, { cls: "Error", code: portable.privateAnon.hugeError.code, syscall: "mmap" });
  delete native.privateAnon.hugeError;
  delete portable.privateAnon.hugeError;
  assert.deepEqual(portable, native);

  // And the shared results are right (not merely equal).
  const r = portable;
  assert.equal(r.wholeFile[0].file, Buffer.concat([Buffer.from("abcdefghij"), Buffer.from([0, 0, 0, 0, 0, 0x5a, 0, 0, 0, 0])]).toString("hex"));
  const gone = VIEWS ? true : "no view"; // views taken before are detached; without views, none was given
  assert.equal(r.wholeFile[0].detached, gone);
  assert.equal(r.wholeFile[1].file, Buffer.from("abcd").toString("hex"));
  assert.equal(r.wholeFile[2].len, 3 * PAGESIZE + 1);
  assert.equal(r.wholeFile[2].bufLen, VIEWS ? 3 * PAGESIZE + 1 : "no view");
  assert.equal(r.wholeFile[2].detached, gone);
  assert.equal(r.wholeFile[2].file, r.wholeFile[2].map, "writes after the grow reach the file");
  const file2 = Buffer.from(r.wholeFile[2].file, "hex");
  assert.equal(file2[3 * PAGESIZE], 0x41);
  assert.equal(file2[PAGESIZE], 0x42);
  assert.equal(r.window[0].size, PAGESIZE + 4 * PAGESIZE + 10);
  assert.equal(r.window[0].tell, 100);
  const w0 = Buffer.from(r.window[0].file, "hex");
  assert.deepEqual(w0.subarray(0, 4 * PAGESIZE), pattern(4 * PAGESIZE, 3));
  assert.equal(w0[w0.length - 1], 0x77);
  assert.equal(r.window[0].map, w0.subarray(PAGESIZE).toString("hex"));
  assert.equal(r.window[1].file, pattern(PAGESIZE + 50, 3).toString("hex"));
  const pf = Buffer.from(r.privateFile.map, "hex");
  assert.equal(pf.subarray(0, 10).toString(), "Xbcdefghij");
  assert.ok(pf.subarray(10).every((b) => b === 0));
  assert.equal(r.privateFile.file, Buffer.concat([Buffer.from("abcdefghij"), Buffer.alloc(3 * PAGESIZE - 10)]).toString("hex"));
  assert.equal(r.privateFile.shrunk.map, Buffer.from("Xbcde").toString("hex"));
  assert.equal(r.privateFile.shrunk.file, Buffer.from("abcde").toString("hex"));
  const pa = Buffer.from(r.privateAnon.map, "hex");
  assert.equal(r.privateAnon.detached, gone);
  assert.equal(pa.subarray(0, 5).toString(), "hello");
  assert.equal(pa[99], 0x63);
  assert.ok(pa.subarray(100).every((b) => b === 0));
  assert.equal(r.privateAnon.tiny, Buffer.from("hel").toString("hex"));
  assert.deepEqual(r.privateAnon.afterHuge, { len: 3, same: true });
  assert.equal(r.privateAnon.regrown, Buffer.from("hello\0").toString("hex"));
  assert.deepEqual(r.sharedAnon.grow, { cls: "TypeError", code: "ERR_MMAP_NOT_RESIZABLE", syscall: null });
  assert.equal(r.sharedAnon.head, Buffer.from("shared").toString("hex"));
  assert.equal(r.sharedAnon.lenAfter, PAGESIZE);
  assert.equal(r.shareable.fdSize, 2 * PAGESIZE + 1);
  assert.equal(r.shareable.shrunk, Buffer.from("mem").toString("hex"));
  assert.equal(r.hugeFile.cls, "Error");
  assert.equal(r.hugeFile.len, 2 * PAGESIZE);
  assert.equal(r.hugeFile.file, pattern(2 * PAGESIZE, 1).toString("hex"));
  assert.equal(r.hugeFile.map, r.hugeFile.file);
});

// ------------------------------------------------------------------- failures change nothing
// Issue 11 item 7. Each case runs in a child (the loss is a contained SIGBUS; the portable path
// and `ulimit -v` are set for the process), on the mremap path and on the portable one.

const FAILURE_SCRIPT = (indexUrl) => `
import fs from "node:fs";
import { MMap, MAP_PRIVATE, MADV_RANDOM, PAGESIZE } from ${JSON.stringify(indexUrl)};
const [dir, kind] = process.argv.slice(2);
const views = process.env.MEMMAP_NO_EXTERNAL_BUFFERS !== "1";
const errOf = (fn) => { try { fn(); return "ok"; } catch (e) { return e.code; } };
const out = {};
if (kind === "lost") {
  // The file shrinks under a map of 4 pages; only a view touches the lost part.
  const p = dir + "/lost.bin";
  fs.writeFileSync(p, Buffer.alloc(4 * PAGESIZE, 0x61));
  const fd = fs.openSync(p, "r+");
  const m = new MMap(fd, 0);
  const v = views ? m.buffer : null;
  fs.ftruncateSync(fd, PAGESIZE);
  out.viewRead = views ? v[3 * PAGESIZE] : 0; // contained: zeros (without views, a method finds the loss)
  if (!views) out.get = errOf(() => m.get(3 * PAGESIZE));
  out.grow = errOf(() => m.resize(8 * PAGESIZE));
  out.shrink = errOf(() => m.resize(2 * PAGESIZE));
  out.after = { size: fs.fstatSync(fd).size, len: m.length, view: views ? v.length : 4 * PAGESIZE, head: m.get(0) };
  m.close(); fs.closeSync(fd);
} else if (kind === "window") {
  // A map of the first page of a sparse file of 1 TiB + 4 pages, with bytes past the map (and
  // past the size it is grown to) that a failed resize must leave as they were.
  const p = dir + "/window.bin";
  const size = 2 ** 40 + 4 * PAGESIZE;
  fs.writeFileSync(p, "");
  const fd = fs.openSync(p, "r+");
  fs.writeSync(fd, Buffer.from("middle"), 0, 6, 2 ** 39);
  fs.writeSync(fd, Buffer.from("the end"), 0, 7, size - 7);
  const m = new MMap(fd, PAGESIZE);
  out.huge = errOf(() => m.resize(2 ** 40)); // the file would be cut to 1 TiB; the map cannot grow so
  const read = (at, n) => { const b = Buffer.alloc(n); fs.readSync(fd, b, 0, n, at); return b.toString(); };
  out.after = { len: m.length, size: fs.fstatSync(fd).size === size, middle: read(2 ** 39, 6), end: read(size - 7, 7) };
  m.close(); fs.closeSync(fd);
} else if (kind === "split") {
  // A map of 4 pages of a 16-page file, split in two kernel mappings by advice on its first page:
  // mremap refuses to grow it (EFAULT, as CPython's resize fails); the portable path grows it.
  const p = dir + "/split.bin";
  fs.writeFileSync(p, Buffer.alloc(16 * PAGESIZE, 0x61));
  const fd = fs.openSync(p, "r+");
  const m = new MMap(fd, 4 * PAGESIZE);
  m.madvise(MADV_RANDOM, 0, PAGESIZE);
  out.grow = errOf(() => m.resize(8 * PAGESIZE));
  const file = fs.readFileSync(p);
  out.after = { len: m.length, size: file.length, untouched: file.every((b) => b === 0x61) };
  m.close(); fs.closeSync(fd);
} else {
  // Under \`ulimit -v\`: resizes that cannot get the address space, of every kind of map.
  const p = dir + "/limited.bin";
  fs.writeFileSync(p, Buffer.alloc(2 * PAGESIZE, 0x62));
  const fd = fs.openSync(p, "r+");
  for (const [name, m] of [["file", new MMap(fd, 0)], ["private", new MMap(-1, 2 * PAGESIZE, { flags: MAP_PRIVATE })], ["memfd", new MMap(-1, 2 * PAGESIZE, { shareable: true })]]) {
    if (name !== "file") m.setSlice(0, 2 * PAGESIZE, Buffer.alloc(2 * PAGESIZE, 0x62));
    const v = views ? m.buffer : null;
    const r = { huge: errOf(() => m.resize(2 ** 40)) };
    r.kept = { len: m.length, view: views ? v.length : 2 * PAGESIZE, viewByte: views ? v[PAGESIZE] : 0x62, byte: m.get(PAGESIZE) };
    if (views) { v[0] = 0x63; r.kept.through = m.get(0); } else r.kept.through = 0x63;
    if (name === "file") r.fileSize = fs.fstatSync(fd).size;
    r.later = errOf(() => m.resize(3 * PAGESIZE));
    r.grown = [m.length, m.get(PAGESIZE), m.get(3 * PAGESIZE - 1)];
    out[name] = r;
    m.close();
  }
  fs.closeSync(fd);
}
process.stdout.write(JSON.stringify(out));
`;

for (const portable of [false, true]) {
  const how = portable ? " (MEMMAP_NO_MREMAP=1)" : "";
  const runCase = (kind, shell) => {
    const dir = tmpdir("memmap-resize-fail-");
    const script = path.join(dir, "case.mjs");
    fs.writeFileSync(script, FAILURE_SCRIPT(new URL("../dist/index.js", import.meta.url).href));
    const env = { ...process.env, MEMMAP_NO_MREMAP: portable ? "1" : "" };
    const r = shell === undefined
      ? runNode([script, dir, kind], { env })
      : spawnSync("bash", ["-c", `${shell} exec "$0" "$@"`, process.execPath, script, dir, kind], { encoding: "utf8", env, timeout: 60_000 });
    assert.equal(r.signal, null, `child killed by ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };

  test(`resize() of a map that lost its tail to a shrinking file, seen only through a view, is ERR_MMAP_TRUNCATED before anything changes${how}`, { skip: WINDOWS && "a file cannot shrink under a view on Windows" }, () => {
    const got = runCase("lost");
    assert.equal(got.viewRead, 0);
    if (!VIEWS) assert.equal(got.get, "ERR_MMAP_TRUNCATED");
    assert.equal(got.grow, "ERR_MMAP_TRUNCATED", "growing: no EFAULT from mremap, no stale loss in a fresh mapping");
    assert.equal(got.shrink, "ERR_MMAP_TRUNCATED", "shrinking: the file is not grown back with zeros");
    assert.deepEqual(got.after, { size: PAGESIZE, len: 4 * PAGESIZE, view: 4 * PAGESIZE, head: 0x61 });
  });

  test(`a resize that fails (ulimit -v) changes nothing: views stay attached, map, file size and contents as they were${how}`, { skip: (WINDOWS && "ulimit -v: POSIX") || (ASAN && "ulimit -v: AddressSanitizer reserves terabytes of shadow memory (npm run test:asan)") }, () => {
    const got = runCase("limited", "ulimit -v 12000000;");
    for (const name of ["file", "private", "memfd"]) {
      const r = got[name];
      assert.equal(r.huge, name === "file" ? r.huge : "ENOMEM", `${name}: ${r.huge}`);
      assert.notEqual(r.huge, "ok", `${name}: a 1 TiB resize under ulimit -v fails`);
      assert.deepEqual(r.kept, { len: 2 * PAGESIZE, view: 2 * PAGESIZE, viewByte: 0x62, byte: 0x62, through: 0x63 }, name);
      if (name === "file") assert.equal(r.fileSize, 2 * PAGESIZE, "the file's size is put back");
      assert.equal(r.later, "ok", `${name}: a resize within the limit works afterwards`);
      assert.deepEqual(r.grown, [3 * PAGESIZE, 0x62, 0], name);
    }
  });

  // A map of part of its file: growing it sets the file to offset + newsize, which cuts the bytes
  // past that. The file was cut before the map was grown, and when the map could not grow, the
  // size was put back with zeros where the cut bytes had been: the call said "nothing changed"
  // (ENOMEM, EFAULT) and the file had lost everything past the new size.
  test(`a growth that fails of a map of part of its file leaves the file's bytes past the new size as they were (ulimit -v)${how}`, { skip: (WINDOWS && "ulimit -v: POSIX") || (ASAN && "ulimit -v: AddressSanitizer reserves terabytes of shadow memory (npm run test:asan)") }, () => {
    const got = runCase("window", "ulimit -v 12000000;");
    assert.equal(got.huge, "ENOMEM");
    assert.deepEqual(got.after, { len: PAGESIZE, size: true, middle: "middle", end: "the end" });
  });

  // The map of part of its file grows first, then the file is cut; when the cut fails (a memfd
  // sealed against shrinking: EPERM), the map is put back to its length.
  test(`a growth of a map of part of its file whose cut the system refuses (F_SEAL_SHRINK) is EPERM, the map and the file as they were${how}`, { skip: (WINDOWS && "memfd seals: Linux") || (process.platform !== "linux" && "memfd seals: Linux") || (python === null && NO_PYTHON) }, () => {
    const dir = tmpdir("memmap-resize-seal-");
    const script = path.join(dir, "case.mjs");
    fs.writeFileSync(script, `
      import fs from "node:fs";
      import { MMap, PAGESIZE } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
      const m = new MMap(3, 4 * PAGESIZE);
      m.set(0, 0x62);
      let err = null;
      try { m.resize(8 * PAGESIZE); } catch (e) { err = [e.constructor.name, e.code, e.syscall]; }
      const file = Buffer.alloc(16 * PAGESIZE);
      fs.readSync(3, file, 0, file.length, 0);
      const out = { err, len: m.length, size: fs.fstatSync(3).size, head: file[0], rest: file.subarray(1).every((b) => b === 0x61), byte: m.get(4 * PAGESIZE - 1) };
      m.set(1, 0x63);
      out.works = [m.get(1), process.env.MEMMAP_NO_EXTERNAL_BUFFERS === "1" ? 4 * PAGESIZE : m.buffer.length];
      m.close();
      process.stdout.write(JSON.stringify(out));
    `);
    const env = { ...python.env, MEMMAP_NO_MREMAP: portable ? "1" : "" };
    const r = spawnSync(python.cmd, ["-c", `
import fcntl, os, subprocess, sys
fd = os.memfd_create("seal", os.MFD_ALLOW_SEALING)
os.write(fd, b"a" * (16 * ${PAGESIZE}))
fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK)
os.dup2(fd, 3)
r = subprocess.run([sys.argv[1], sys.argv[2]], pass_fds=(3,))
sys.exit(r.returncode)
`, process.execPath, script], { env, encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout);
    assert.deepEqual(got, { err: ["Error", "EPERM", "ftruncate"], len: 4 * PAGESIZE, size: 16 * PAGESIZE, head: 0x62, rest: true, byte: 0x61, works: [0x63, 4 * PAGESIZE] });
  });

  test(`a growth that mremap refuses (EFAULT: a map split by madvise) of a map of part of its file leaves the file as it was${how}`, { skip: WINDOWS && "madvise: POSIX" }, () => {
    const got = runCase("split");
    if (portable) {
      // Mapped anew: the growth succeeds, and the file is set to offset + newsize, as CPython sets it.
      assert.deepEqual(got, { grow: "ok", after: { len: 8 * PAGESIZE, size: 8 * PAGESIZE, untouched: true } });
    } else {
      assert.deepEqual(got, { grow: "EFAULT", after: { len: 4 * PAGESIZE, size: 16 * PAGESIZE, untouched: true } });
    }
  });
}
