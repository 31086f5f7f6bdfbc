// Errors (SPEC §5, behaviour reference §4 and §11): closed maps, system errors,
// failed calls that change nothing, and argument type errors of every method.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import {
  MMap,
  ACCESS_READ,
  ACCESS_WRITE,
  ACCESS_COPY,
  MADV_NORMAL as MADV_NORMAL_,
  MADV_WILLNEED as MADV_WILLNEED_,
  PAGESIZE,
  ALLOCATIONGRANULARITY,
  PROT_READ,
} from "../dist/index.js";
import { tmpfile, python, runPython, throwsCode, rejectsCode, openFds, VIEWS, assertNoViews, errnoOf, WINDOWS, more } from "./helpers.mjs";

// Windows has no MADV_*: there madvise checks its arguments, then throws ERR_MMAP_UNSUPPORTED_PLATFORM.
const MADV_NORMAL = MADV_NORMAL_ ?? 0;
const MADV_WILLNEED = MADV_WILLNEED_ ?? 0;

/** The unit of a map offset: the page size on POSIX systems, 64 KiB on Windows. */
const P = ALLOCATIONGRANULARITY;
const TEXT = "abcdefghij";

/** A system error shaped like Node's fs errors. */
function checkSystemError(err, code, syscall) {
  assert.ok(err instanceof Error, `an Error: ${err}`);
  assert.equal(Object.getPrototypeOf(err), Error.prototype, "exactly Error");
  assert.equal(typeof err.code, "string");
  assert.match(err.code, /^E[A-Z0-9]+$/);
  if (code !== undefined) assert.equal(err.code, code, err.message);
  assert.equal(typeof err.errno, "number");
  assert.ok(Number.isInteger(err.errno) && err.errno < 0, "errno is a negative integer");
  assert.equal(err.errno, errnoOf(err.code), "errno matches the code");
  assert.equal(typeof err.syscall, "string");
  assert.ok(err.syscall.length > 0);
  if (syscall !== undefined) assert.equal(err.syscall, syscall);
  assert.ok(err.message.startsWith(err.code), `message starts with the code: ${err.message}`);
  return true;
}

function catchError(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail("expected an error");
}

/** A file map ('abcdefghij', read-write) and its path; fn(m, path); closes both. */
function withFileMap(options, fn, content = TEXT) {
  const p = tmpfile(content);
  const fd = fs.openSync(p, "r+");
  let m;
  try {
    m = new MMap(fd, 0, options);
    return fn(m, p);
  } finally {
    m?.close();
    fs.closeSync(fd);
  }
}

// ------------------------------------------------------------------ closed maps

/** Every operation, with valid arguments, on map `m`. */
function operations(m) {
  return [
    ["get", () => m.get(0)],
    ["get(-1)", () => m.get(-1)],
    ["set", () => m.set(0, 1)],
    ["slice", () => m.slice()],
    ["slice(0, 2)", () => m.slice(0, 2)],
    ["slice step", () => m.slice(0, 4, 2)],
    ["setSlice", () => m.setSlice(0, 2, "xy")],
    ["setSlice step", () => m.setSlice(0, 4, "xy", 2)],
    ["subarray", () => m.subarray()],
    ["subarray(1, 2)", () => m.subarray(1, 2)],
    ["buffer", () => m.buffer],
    ["length", () => m.length],
    ["read", () => m.read()],
    ["read(1)", () => m.read(1)],
    ["readByte", () => m.readByte()],
    ["readline", () => m.readline()],
    ["write", () => m.write("x")],
    ["write('')", () => m.write("")],
    ["writeByte", () => m.writeByte(1)],
    ["find", () => m.find("a")],
    ["find(start, end)", () => m.find("a", 0, 5)],
    ["rfind", () => m.rfind("a")],
    ["search", () => m.search(/a/)],
    ["matchAll (first next)", () => m.matchAll(/a/g).next()],
    ["seek", () => m.seek(0)],
    ["seek whence 2", () => m.seek(0, 2)],
    ["tell", () => m.tell()],
    ["size", () => m.size()],
    ["flush", () => m.flush()],
    ["flush(0, 0)", () => m.flush(0, 0)],
    ["move", () => m.move(0, 1, 1)],
    ["resize", () => m.resize(8)],
    ["madvise", () => m.madvise(MADV_NORMAL)],
    ["view", () => m.view(Uint8Array)],
    ["view(DataView, 1, 2)", () => m.view(DataView, 1, 2)],
    ["residency", () => m.residency()],
    ["lock", () => m.lock()],
    ["unlock", () => m.unlock(0, 1)],
    ["iteration (spread)", () => [...m]],
    ["iteration (next)", () => m[Symbol.iterator]().next()],
    ["iteration (for-of)", () => {
      for (const b of m) return b;
    }],
  ];
}

const KINDS = [
  ["anonymous", () => ({ m: new MMap(-1, 16), done() {} })],
  ["file (read-write)", () => fileKind(undefined)],
  ["file ACCESS_READ", () => fileKind({ access: ACCESS_READ })],
  ["file ACCESS_COPY", () => fileKind({ access: ACCESS_COPY })],
  ["file trackfd: false", () => fileKind({ trackfd: false })],
];

function fileKind(options) {
  const fd = fs.openSync(tmpfile("0123456789abcdef"), "r+");
  const m = new MMap(fd, 0, options);
  return { m, done: () => fs.closeSync(fd) };
}

describe("operations on a closed map (behaviour reference §4)", () => {
  for (const [kind, make] of KINDS) {
    test(`${kind}: every method throws Error ERR_MMAP_CLOSED`, async () => {
      const { m, done } = make();
      try {
        // the operations work while open (so the error below is about closing)
        // make a view first, so that cached views are exercised too; without views, the open
        // map refuses them, and once closed it says closed (the closed check comes first)
        if (VIEWS) m.buffer;
        else assertNoViews(m, 1, 2);
        m.close();
        for (const [name, op] of operations(m)) {
          assert.throws(
            op,
            (e) => {
              assert.equal(Object.getPrototypeOf(e), Error.prototype, `${name}: exactly Error, got ${e?.constructor?.name}: ${e?.message}`);
              assert.equal(e.code, "ERR_MMAP_CLOSED", `${name}: ${e.message}`);
              return true;
            },
            name,
          );
        }
        await rejectsCode(m.flushAsync(), Error, "ERR_MMAP_CLOSED");
        await rejectsCode(m.flushAsync(0, 0), Error, "ERR_MMAP_CLOSED");
        await rejectsCode(m.prefetch(), Error, "ERR_MMAP_CLOSED");
      } finally {
        m.close();
        done();
      }
    });
  }

  // A closed map's handle goes to the next map made (src/mapping.ts, `spare`). The closed map
  // must still refuse everything, and nothing it is asked may reach the map that took its handle.
  for (const [kind, make] of KINDS) {
    test(`${kind}: every method still throws ERR_MMAP_CLOSED once a new map took its handle, which it never touches`, async () => {
      const { m, done } = make();
      try {
        m.close();
        const taker = new MMap(-1, 16); // made right after the close: it takes m's handle
        taker.write(Buffer.from("taker's 16 bytes"));
        for (const [name, op] of operations(m)) {
          assert.throws(op, (e) => e.code === "ERR_MMAP_CLOSED", name);
        }
        await rejectsCode(m.flushAsync(), Error, "ERR_MMAP_CLOSED");
        await rejectsCode(m.prefetch(), Error, "ERR_MMAP_CLOSED");
        m.close();
        m[Symbol.dispose]();
        assert.equal(m.closed, true);
        assert.equal(taker.closed, false);
        assert.equal(taker.size(), 16);
        assert.equal(taker.slice(0, 16).toString(), "taker's 16 bytes");
        taker.close();
      } finally {
        m.close();
        done();
      }
    });
  }

  test("the same operations succeed while the map is open", () => {
    const fd = fs.openSync(tmpfile("0123456789abcdef"), "r+");
    const m = new MMap(fd, 0);
    try {
      for (const [name, op] of operations(m)) {
        m.seek(0);
        if (!VIEWS && /^(buffer|subarray|view)/.test(name)) throwsCode(op, Error, "ERR_MMAP_VIEWS_UNAVAILABLE");
        else if (WINDOWS && name === "madvise") throwsCode(op, Error, "ERR_MMAP_UNSUPPORTED_PLATFORM");
        else assert.doesNotThrow(op, name);
      }
    } finally {
      m.close();
      fs.closeSync(fd);
    }
  });

  test("close() is idempotent; closed, seekable, fd, offset and access still answer", () => {
    const fd = fs.openSync(tmpfile(TEXT), "r+");
    try {
      const m = new MMap(fd, 0, { access: ACCESS_WRITE });
      assert.equal(m.closed, false);
      const before = openFds();
      assert.equal(m.close(), undefined);
      assert.equal(openFds(), more(before, -1), "the map's descriptor is closed once");
      assert.equal(m.close(), undefined);
      assert.equal(m.close(), undefined);
      assert.equal(openFds(), more(before, -1));
      assert.equal(m.closed, true);
      assert.equal(m.seekable(), true);
      assert.equal(m.fd, -1);
      assert.equal(m.offset, 0);
      assert.equal(m.access, ACCESS_WRITE);
    } finally {
      fs.closeSync(fd);
    }
  });

  test("Symbol.dispose closes (and may be repeated)", () => {
    const fd = fs.openSync(tmpfile(TEXT), "r+");
    try {
      const m = new MMap(fd, 0);
      const before = openFds();
      m[Symbol.dispose]();
      assert.equal(m.closed, true);
      assert.equal(openFds(), more(before, -1));
      throwsCode(() => m.read(), Error, "ERR_MMAP_CLOSED");
      m[Symbol.dispose]();
      m.close();
      assert.equal(m.closed, true);
    } finally {
      fs.closeSync(fd);
    }
  });

  test("views handed out before close are detached, not dangling", () => {
    const m = new MMap(-1, 32);
    if (!VIEWS) {
      // no view to detach: the open map refuses them; the closed one says it is closed
      assertNoViews(m, 4, 8);
      m.close();
      throwsCode(() => m.buffer, Error, "ERR_MMAP_CLOSED");
      throwsCode(() => m.subarray(4, 8), Error, "ERR_MMAP_CLOSED");
      return;
    }
    const whole = m.buffer;
    const part = m.subarray(4, 8);
    m.close();
    assert.equal(whole.length, 0);
    assert.equal(part.length, 0);
  });

  test("an iterator started on an open map fails once the map is closed", () => {
    const m = new MMap(-1, 8);
    m.write("a a a");
    const it = m[Symbol.iterator]();
    assert.deepEqual(it.next(), { value: 0x61, done: false });
    m.close();
    throwsCode(() => it.next(), Error, "ERR_MMAP_CLOSED");
  });

  test("a matchAll started on an open map fails once the map is closed", () => {
    const m = new MMap(-1, 8);
    m.write("a a a");
    const matches = m.matchAll(/a/g);
    assert.equal(matches.next().value.index, 0);
    m.close();
    throwsCode(() => matches.next(), Error, "ERR_MMAP_CLOSED");
  });

  test("CPython agrees: every operation listed raises on a closed map, and seekable() does not", async (t) => {
    if (python === null) return t.skip("CPython 3.13 is not available");
    const py = runPython(`
import mmap, json
m = mmap.mmap(-1, 16)
m.close()
ops = {
  "get": lambda: m[0], "set": lambda: m.__setitem__(0, 1), "slice": lambda: m[:],
  "setSlice": lambda: m.__setitem__(slice(0, 2), b"xy"), "buffer": lambda: memoryview(m),
  "length": lambda: len(m), "read": lambda: m.read(), "readByte": lambda: m.read_byte(),
  "readline": lambda: m.readline(), "write": lambda: m.write(b"x"), "writeByte": lambda: m.write_byte(1),
  "find": lambda: m.find(b"a"), "rfind": lambda: m.rfind(b"a"), "seek": lambda: m.seek(0),
  "tell": lambda: m.tell(), "size": lambda: m.size(), "flush": lambda: m.flush(),
  "move": lambda: m.move(0, 1, 1), "resize": lambda: m.resize(8), "madvise": lambda: m.madvise(mmap.MADV_NORMAL),
  "iteration (spread)": lambda: list(m), "close": lambda: m.close(), "seekable": lambda: m.seekable(),
}
out = {}
for k, f in ops.items():
    try:
        f(); out[k] = "ok"
    except ValueError as e:
        out[k] = "closed" if str(e) == "mmap closed or invalid" else "ValueError"
    except Exception as e:
        out[k] = type(e).__name__
print(json.dumps(out))
`);
    const m = new MMap(-1, 16);
    m.close();
    const js = new Map(operations(m));
    js.set("close", () => m.close());
    js.set("seekable", () => m.seekable());
    for (const [name, want] of Object.entries(py)) {
      const op = js.get(name);
      assert.ok(op, name);
      let got = "ok";
      try {
        op();
      } catch (e) {
        got = e.code === "ERR_MMAP_CLOSED" ? "closed" : e.code;
      }
      assert.equal(got, want, name);
    }
  });
});

// ------------------------------------------------------------------ system errors

describe("system errors are shaped like Node's fs errors", () => {
  test("from dup, mmap, msync and madvise", () => {
    const errors = [];
    errors.push([catchError(() => new MMap(999, 10)), "EBADF", "dup"]);
    errors.push([catchError(() => new MMap(-2, 10)), "EBADF", "dup"]);
    errors.push([catchError(() => new MMap(-1, 0)), "EINVAL", "mmap"]);
    const p = tmpfile(Buffer.alloc(2 * P, 1));
    const ro = fs.openSync(p, "r");
    try {
      errors.push([catchError(() => new MMap(ro, 0)), "EACCES", "mmap"]);
      errors.push([catchError(() => new MMap(ro, 1, { offset: 1, access: ACCESS_READ })), "EINVAL", "mmap"]);
    } finally {
      fs.closeSync(ro);
    }
    withFileMap(undefined, (m) => {
      if (WINDOWS) return; // no msync alignment rule (FlushViewOfFile takes any address), no madvise
      errors.push([catchError(() => m.flush(1, 1)), "EINVAL", "msync"]);
      errors.push([catchError(() => m.flush(8, 8)), "EINVAL", "msync"]);
      errors.push([catchError(() => m.madvise(MADV_WILLNEED, 1)), "EINVAL", "madvise"]);
      // madvise(9999): refused before the system call (RangeError ERR_INVALID_ARG_VALUE), as
      // test/flush.test.mjs shows; no system error to shape.
    }, Buffer.alloc(2 * P, 2));
    for (const [err, code, syscall] of errors) checkSystemError(err, code, syscall);
  });

  test("flushAsync rejects with the same shape", { skip: WINDOWS && "no msync alignment rule on Windows (FlushViewOfFile takes any address)" }, async () => {
    const p = tmpfile(Buffer.alloc(2 * P, 1));
    const fd = fs.openSync(p, "r+");
    const m = new MMap(fd, 0);
    try {
      await assert.rejects(m.flushAsync(1, 1), (e) => checkSystemError(e, "EINVAL", "msync"));
    } finally {
      m.close();
      fs.closeSync(fd);
    }
  });

  test("MMap.open errors carry the path", async () => {
    const missing = tmpfile("") + ".missing";
    const e = catchError(() => MMap.open(missing));
    checkSystemError(e, "ENOENT");
    assert.equal(e.path, missing);
    await assert.rejects(MMap.openAsync(missing), (err) => checkSystemError(err, "ENOENT") && err.path === missing);
  });

  test("the codes match CPython 3.13's errno for the same calls", async (t) => {
    if (python === null) return t.skip("CPython 3.13 is not available");
    const p = tmpfile(Buffer.alloc(2 * P, 1));
    const py = runPython(
      `
import mmap, os, sys, json, errno
p = sys.stdin.read()
out = []
def run(f):
    try:
        f(); out.append("ok")
    except OSError as e:
        out.append(errno.errorcode[e.errno])
run(lambda: mmap.mmap(999, 10))
run(lambda: mmap.mmap(-2, 10))
run(lambda: mmap.mmap(-1, 0))
ro = os.open(p, os.O_RDONLY)
run(lambda: mmap.mmap(ro, 0))
run(lambda: mmap.mmap(ro, 1, offset=1, access=mmap.ACCESS_READ))
os.close(ro)
fd = os.open(p, os.O_RDWR)
m = mmap.mmap(fd, 0)
run(lambda: m.flush(1, 1))
run(lambda: m.flush(8, 8))
run(lambda: m.madvise(mmap.MADV_WILLNEED, 1))
m.close(); os.close(fd)
print(json.dumps(out))
`,
      p,
    );
    const js = [];
    const run = (f) => {
      try {
        f();
        js.push("ok");
      } catch (e) {
        checkSystemError(e);
        js.push(e.code);
      }
    };
    run(() => new MMap(999, 10));
    run(() => new MMap(-2, 10));
    run(() => new MMap(-1, 0));
    const ro = fs.openSync(p, "r");
    run(() => new MMap(ro, 0));
    run(() => new MMap(ro, 1, { offset: 1, access: ACCESS_READ }));
    fs.closeSync(ro);
    const fd = fs.openSync(p, "r+");
    const m = new MMap(fd, 0);
    run(() => m.flush(1, 1));
    run(() => m.flush(8, 8));
    run(() => m.madvise(MADV_WILLNEED, 1));
    m.close();
    fs.closeSync(fd);
    assert.deepEqual(js, py);
  });
});

// ------------------------------------------------------------------ a failed call changes nothing

function snapshot(m, p) {
  return {
    contents: m.slice().toString("latin1"),
    pos: m.tell(),
    length: m.length,
    size: m.size(),
    file: fs.readFileSync(p, "latin1"),
  };
}

/** [label, position to seek to first, operation, Class, code] on a 10-byte read-write file map. */
const FAILING = [
  ["write past the end", 7, (m) => m.write("wxyz"), RangeError, "ERR_OUT_OF_RANGE"],
  ["write at the end", 10, (m) => m.write("w"), RangeError, "ERR_OUT_OF_RANGE"],
  ["write a number", 3, (m) => m.write(5), TypeError, "ERR_INVALID_ARG_TYPE"],
  ["write null", 3, (m) => m.write(null), TypeError, "ERR_INVALID_ARG_TYPE"],
  ["writeByte at the end", 10, (m) => m.writeByte(65), RangeError, "ERR_OUT_OF_RANGE"],
  ["writeByte 256", 3, (m) => m.writeByte(256), RangeError, "ERR_OUT_OF_RANGE"],
  ["writeByte -1", 3, (m) => m.writeByte(-1), RangeError, "ERR_OUT_OF_RANGE"],
  ["writeByte 1.5", 3, (m) => m.writeByte(1.5), RangeError, "ERR_OUT_OF_RANGE"],
  ["writeByte 'a'", 3, (m) => m.writeByte("a"), TypeError, "ERR_INVALID_ARG_TYPE"],
  ["set out of range", 3, (m) => m.set(10, 65), RangeError, "ERR_OUT_OF_RANGE"],
  ["set -11", 3, (m) => m.set(-11, 65), RangeError, "ERR_OUT_OF_RANGE"],
  ["set value 256", 3, (m) => m.set(0, 256), RangeError, "ERR_OUT_OF_RANGE"],
  ["set value -1", 3, (m) => m.set(0, -1), RangeError, "ERR_OUT_OF_RANGE"],
  ["set value 'a'", 3, (m) => m.set(0, "a"), TypeError, "ERR_INVALID_ARG_TYPE"],
  ["setSlice too short", 3, (m) => m.setSlice(0, 3, "ab"), RangeError, "ERR_INVALID_ARG_VALUE"],
  ["setSlice too long", 3, (m) => m.setSlice(0, 3, "abcd"), RangeError, "ERR_INVALID_ARG_VALUE"],
  ["setSlice extended wrong size", 3, (m) => m.setSlice(0, 10, "abcd", 2), RangeError, "ERR_INVALID_ARG_VALUE"],
  ["setSlice step 0", 3, (m) => m.setSlice(0, 3, "abc", 0), RangeError, "ERR_INVALID_ARG_VALUE"],
  ["setSlice number data", 3, (m) => m.setSlice(0, 1, 5), TypeError, "ERR_INVALID_ARG_TYPE"],
  ["move past the end", 3, (m) => m.move(8, 0, 3), RangeError, "ERR_OUT_OF_RANGE"],
  ["move source past the end", 3, (m) => m.move(0, 8, 3), RangeError, "ERR_OUT_OF_RANGE"],
  ["move negative", 3, (m) => m.move(-1, 0, 1), RangeError, "ERR_OUT_OF_RANGE"],
  ["move negative count", 3, (m) => m.move(0, 1, -1), RangeError, "ERR_OUT_OF_RANGE"],
  ["move 'x'", 3, (m) => m.move(0, 1, "x"), TypeError, "ERR_INVALID_ARG_TYPE"],
  ["seek past the end", 3, (m) => m.seek(11), RangeError, "ERR_OUT_OF_RANGE"],
  ["seek negative", 3, (m) => m.seek(-1), RangeError, "ERR_OUT_OF_RANGE"],
  ["seek relative past the end", 8, (m) => m.seek(3, 1), RangeError, "ERR_OUT_OF_RANGE"],
  ["seek relative before the start", 3, (m) => m.seek(-4, 1), RangeError, "ERR_OUT_OF_RANGE"],
  ["seek from the end, positive", 3, (m) => m.seek(1, 2), RangeError, "ERR_OUT_OF_RANGE"],
  ["seek whence 3", 3, (m) => m.seek(0, 3), RangeError, "ERR_INVALID_ARG_VALUE"],
  ["seek whence -1", 3, (m) => m.seek(0, -1), RangeError, "ERR_INVALID_ARG_VALUE"],
  ["seek 'x'", 3, (m) => m.seek("x"), TypeError, "ERR_INVALID_ARG_TYPE"],
  ["seek 1.5", 3, (m) => m.seek(1.5), RangeError, "ERR_OUT_OF_RANGE"],
  ["read 'x'", 3, (m) => m.read("x"), TypeError, "ERR_INVALID_ARG_TYPE"],
  ["read 1.5", 3, (m) => m.read(1.5), RangeError, "ERR_OUT_OF_RANGE"],
  ["read NaN", 3, (m) => m.read(NaN), RangeError, "ERR_OUT_OF_RANGE"],
  ["read {}", 3, (m) => m.read({}), TypeError, "ERR_INVALID_ARG_TYPE"],
  ["readByte at the end", 10, (m) => m.readByte(), RangeError, "ERR_OUT_OF_RANGE"],
  ["find bad start", 3, (m) => m.find("a", "x"), TypeError, "ERR_INVALID_ARG_TYPE"],
  ["rfind bad end", 3, (m) => m.rfind("a", 0, 1.5), RangeError, "ERR_OUT_OF_RANGE"],
  ["get out of range", 3, (m) => m.get(10), RangeError, "ERR_OUT_OF_RANGE"],
  ["slice step 0", 3, (m) => m.slice(0, 3, 0), RangeError, "ERR_INVALID_ARG_VALUE"],
  ["flush out of range", 3, (m) => m.flush(0, 11), RangeError, "ERR_OUT_OF_RANGE"],
  ["flush negative offset", 3, (m) => m.flush(-1), RangeError, "ERR_OUT_OF_RANGE"],
  ...(WINDOWS ? [] : [["flush unaligned (EINVAL)", 3, (m) => m.flush(1, 1), Error, "EINVAL"]]),
  ["madvise start out of bounds", 3, (m) => m.madvise(MADV_NORMAL, 10), RangeError, "ERR_OUT_OF_RANGE"],
  ["madvise negative length", 3, (m) => m.madvise(MADV_NORMAL, 0, -1), RangeError, "ERR_OUT_OF_RANGE"],
  ["resize 0", 3, (m) => m.resize(0), RangeError, "ERR_OUT_OF_RANGE"],
  ["resize -1", 3, (m) => m.resize(-1), RangeError, "ERR_OUT_OF_RANGE"],
  ["resize 1.5", 3, (m) => m.resize(1.5), RangeError, "ERR_OUT_OF_RANGE"],
  ["resize 'x'", 3, (m) => m.resize("x"), TypeError, "ERR_INVALID_ARG_TYPE"],
  ["search non-RegExp", 3, (m) => m.search("a"), TypeError, "ERR_INVALID_ARG_TYPE"],
];

describe("a failed call changes nothing (SPEC §5)", () => {
  test("read-write file map: position, contents, length, size and file are unchanged", () => {
    withFileMap(undefined, (m, p) => {
      for (const [label, pos, op, Class, code] of FAILING) {
        m.seek(pos);
        const before = snapshot(m, p);
        throwsCode(() => op(m), Class, code);
        assert.deepEqual(snapshot(m, p), before, label);
      }
      // the map still works normally afterwards
      m.seek(0);
      assert.equal(m.write("XY"), 2);
      assert.equal(m.tell(), 2);
    });
  });

  test("writes refused by ACCESS_READ change nothing", () => {
    withFileMap({ access: ACCESS_READ }, (m, p) => {
      const ops = [
        ["write", 4, (x) => x.write("XY")],
        ["write at the end", 10, (x) => x.write("X")],
        ["write nothing at the end", 10, (x) => x.write("")],
        ["writeByte", 4, (x) => x.writeByte(65)],
        ["writeByte at the end", 10, (x) => x.writeByte(65)],
        ["set", 4, (x) => x.set(0, 65)],
        ["set out of range", 4, (x) => x.set(99, 65)],
        ["setSlice", 4, (x) => x.setSlice(0, 2, "XY")],
        ["setSlice wrong size", 4, (x) => x.setSlice(0, 2, "XYZ")],
        ["move", 4, (x) => x.move(0, 2, 2)],
        ["move out of range", 4, (x) => x.move(0, 2, 20)],
      ];
      for (const [label, pos, op] of ops) {
        m.seek(pos);
        const before = snapshot(m, p);
        throwsCode(() => op(m), TypeError, "ERR_MMAP_READ_ONLY");
        assert.deepEqual(snapshot(m, p), before, label);
      }
      for (const n of [20, 5, -1]) {
        m.seek(4);
        const before = snapshot(m, p);
        throwsCode(() => m.resize(n), TypeError, "ERR_MMAP_NOT_RESIZABLE");
        assert.deepEqual(snapshot(m, p), before, `resize(${n})`);
      }
    });
  });

  test("a map made with PROT_READ refuses writes the same way", () => {
    withFileMap({ prot: PROT_READ }, (m, p) => {
      const before = snapshot(m, p);
      throwsCode(() => m.write("X"), TypeError, "ERR_MMAP_READ_ONLY");
      throwsCode(() => m.set(1, 1), TypeError, "ERR_MMAP_READ_ONLY");
      assert.deepEqual(snapshot(m, p), before);
    });
  });

  test("ACCESS_COPY: refused resize changes nothing", () => {
    withFileMap({ access: ACCESS_COPY }, (m, p) => {
      m.write("zz");
      const before = snapshot(m, p);
      throwsCode(() => m.resize(20), TypeError, "ERR_MMAP_NOT_RESIZABLE");
      assert.deepEqual(snapshot(m, p), before);
      assert.equal(before.contents, "zzcdefghij");
      assert.equal(before.file, TEXT);
    });
  });

  test("anonymous map: failed calls leave position and contents", () => {
    const m = new MMap(-1, 10);
    try {
      m.write("0123456789");
      const snap = () => ({ contents: m.slice().toString("latin1"), pos: m.tell(), length: m.length });
      for (const [label, pos, op, Class, code] of FAILING) {
        m.seek(pos);
        const before = snap();
        throwsCode(() => op(m), Class, code);
        assert.deepEqual(snap(), before, label);
      }
      // shared anonymous memory cannot grow (on Windows it can: a new section, the data copied)
      if (!WINDOWS) {
        const before = snap();
        throwsCode(() => m.resize(20), TypeError, "ERR_MMAP_NOT_RESIZABLE");
        assert.deepEqual(snap(), before);
      }
    } finally {
      m.close();
    }
  });
});

// ------------------------------------------------------------------ argument types

const NOT_NUMBERS = ["1", {}, [], 1n, true, Symbol("s"), () => 1];
const NOT_INTEGERS = [1.5, -0.5, NaN, Infinity, -Infinity];
const NOT_BYTES = [5, 0, null, {}, [1, 2], 1n, true, Symbol("s")];

/** [label, fn(x) calling a method with x in one numeric slot]. Undefined in the slot means the default. */
function numericSlots(m) {
  return [
    ["get(x)", (x) => m.get(x)],
    ["set(x, 0)", (x) => m.set(x, 0)],
    ["set(0, x)", (x) => m.set(0, x)],
    ["slice(x)", (x) => m.slice(x)],
    ["slice(0, x)", (x) => m.slice(0, x)],
    ["slice(0, 4, x)", (x) => m.slice(0, 4, x)],
    ["setSlice(x, 4, d)", (x) => m.setSlice(x, 4, "abcd")],
    ["setSlice(0, x, d)", (x) => m.setSlice(0, x, "abcd")],
    ["setSlice(0, 4, d, x)", (x) => m.setSlice(0, 4, "abcd", x)],
    ["subarray(x)", (x) => m.subarray(x)],
    ["subarray(0, x)", (x) => m.subarray(0, x)],
    ["read(x)", (x) => m.read(x)],
    ["writeByte(x)", (x) => m.writeByte(x)],
    ["find('a', x)", (x) => m.find("a", x)],
    ["find('a', 0, x)", (x) => m.find("a", 0, x)],
    ["rfind('a', x)", (x) => m.rfind("a", x)],
    ["rfind('a', 0, x)", (x) => m.rfind("a", 0, x)],
    ["search(/a/, x)", (x) => m.search(/a/, x)],
    ["search(/a/, 0, x)", (x) => m.search(/a/, 0, x)],
    ["matchAll(/a/g, x)", (x) => m.matchAll(/a/g, x).next()],
    ["matchAll(/a/g, 0, x)", (x) => m.matchAll(/a/g, 0, x).next()],
    ["seek(x)", (x) => m.seek(x)],
    ["seek(0, x)", (x) => m.seek(0, x)],
    ["flush(x)", (x) => m.flush(x)],
    ["flush(0, x)", (x) => m.flush(0, x)],
    ["flush(0, 16, { flags: x })", (x) => m.flush(0, 16, { flags: x })],
    ["move(x, 0, 1)", (x) => m.move(x, 0, 1)],
    ["move(0, x, 1)", (x) => m.move(0, x, 1)],
    ["move(0, 1, x)", (x) => m.move(0, 1, x)],
    ["resize(x)", (x) => m.resize(x)],
    ["madvise(x)", (x) => m.madvise(x)],
    ["madvise(0, x)", (x) => m.madvise(MADV_NORMAL, x)],
    ["madvise(0, 0, x)", (x) => m.madvise(MADV_NORMAL, 0, x)],
  ];
}

/** Slots where null means the default (Python's None), so null is not an error there. */
const NULL_IS_DEFAULT = new Set(["slice(x)", "slice(0, x)", "slice(0, 4, x)", "setSlice(x, 4, d)", "setSlice(0, x, d)", "setSlice(0, 4, d, x)", "read(x)", "madvise(0, 0, x)"]);
/** Slots that are required: undefined is a type error there too. */
const REQUIRED = new Set(["get(x)", "set(x, 0)", "set(0, x)", "writeByte(x)", "seek(x)", "move(x, 0, 1)", "move(0, x, 1)", "move(0, 1, x)", "resize(x)", "madvise(x)"]);

describe("argument type errors (SPEC §5)", () => {
  test("a non-number where a number is expected: TypeError ERR_INVALID_ARG_TYPE", () => {
    const m = new MMap(-1, 16);
    try {
      for (const [label, call] of numericSlots(m)) {
        const bad = [...NOT_NUMBERS];
        if (!NULL_IS_DEFAULT.has(label)) bad.push(null);
        if (REQUIRED.has(label)) bad.push(undefined);
        for (const x of bad) {
          const pos = m.seek(5);
          const before = m.slice();
          assert.throws(
            () => call(x),
            (e) => {
              assert.equal(Object.getPrototypeOf(e), TypeError.prototype, `${label} with ${String(x)}: ${e?.constructor?.name} ${e?.message}`);
              assert.equal(e.code, "ERR_INVALID_ARG_TYPE", `${label} with ${String(x)}: ${e.message}`);
              return true;
            },
          );
          assert.equal(m.tell(), pos, label);
          assert.deepEqual(m.slice(), before, label);
        }
      }
    } finally {
      m.close();
    }
  });

  test("a number that is not an integer: RangeError ERR_OUT_OF_RANGE", () => {
    const m = new MMap(-1, 16);
    try {
      for (const [label, call] of numericSlots(m)) {
        for (const x of NOT_INTEGERS) {
          m.seek(5);
          assert.throws(
            () => call(x),
            (e) => {
              assert.equal(Object.getPrototypeOf(e), RangeError.prototype, `${label} with ${x}: ${e?.constructor?.name} ${e?.message}`);
              assert.equal(e.code, "ERR_OUT_OF_RANGE", `${label} with ${x}: ${e.message}`);
              return true;
            },
          );
          assert.equal(m.tell(), 5, label);
        }
      }
    } finally {
      m.close();
    }
  });

  test("undefined means the default for optional numeric arguments", () => {
    const m = new MMap(-1, 16);
    try {
      m.write("abcdefgh");
      m.seek(0);
      assert.deepEqual(m.slice(undefined, undefined, undefined), m.slice());
      if (VIEWS) assert.deepEqual(m.subarray(undefined, undefined), m.subarray());
      else throwsCode(() => m.subarray(undefined, undefined), Error, "ERR_MMAP_VIEWS_UNAVAILABLE");
      assert.equal(m.read(undefined).length, 16);
      m.seek(0);
      assert.equal(m.find("c", undefined, undefined), 2);
      assert.equal(m.rfind("c", undefined, undefined), 2);
      assert.equal(m.search(/c/, undefined, undefined).index, 2);
      assert.equal(m.seek(3, undefined), 3);
      assert.equal(m.flush(undefined, undefined, undefined), undefined);
      assert.equal(m.flush(undefined, undefined, { flags: undefined }), undefined);
      if (!WINDOWS) assert.equal(m.madvise(MADV_NORMAL, undefined, undefined), undefined);
      m.setSlice(undefined, undefined, Buffer.alloc(16, 0x7a), undefined);
      assert.equal(m.slice().toString(), "z".repeat(16));
    } finally {
      m.close();
    }
  });

  test("a number (or other non-bytes) where bytes are expected: TypeError ERR_INVALID_ARG_TYPE", () => {
    const m = new MMap(-1, 16);
    try {
      const calls = [
        ["write(x)", (x) => m.write(x)],
        ["find(x)", (x) => m.find(x)],
        ["rfind(x)", (x) => m.rfind(x)],
        ["setSlice(0, 1, x)", (x) => m.setSlice(0, 1, x)],
      ];
      for (const [label, call] of calls) {
        for (const x of [...NOT_BYTES, undefined]) {
          m.seek(2);
          assert.throws(
            () => call(x),
            (e) => {
              assert.equal(Object.getPrototypeOf(e), TypeError.prototype, `${label} with ${String(x)}: ${e?.constructor?.name} ${e?.message}`);
              assert.equal(e.code, "ERR_INVALID_ARG_TYPE", `${label} with ${String(x)}: ${e.message}`);
              return true;
            },
          );
          assert.equal(m.tell(), 2);
        }
      }
      // every accepted bytes-like type works
      for (const data of ["ab", Buffer.from("ab"), new Uint8Array([97, 98]), new Uint8Array([97, 98]).buffer, new DataView(new Uint8Array([97, 98]).buffer), new Uint16Array([0x6261])]) {
        m.seek(0);
        assert.equal(m.write(data), 2);
        assert.equal(m.find(data, 0), 0);
      }
    } finally {
      m.close();
    }
  });

  test("search and matchAll take a RegExp; matchAll a global one", () => {
    const m = new MMap(-1, 16);
    try {
      for (const x of ["a", 5, null, {}, undefined]) {
        throwsCode(() => m.search(x), TypeError, "ERR_INVALID_ARG_TYPE");
        throwsCode(() => m.matchAll(x).next(), TypeError, "ERR_INVALID_ARG_TYPE");
      }
      throwsCode(() => m.matchAll(/a/).next(), TypeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => m.matchAll(/a/y).next(), TypeError, "ERR_INVALID_ARG_VALUE");
    } finally {
      m.close();
    }
  });

  test("flush and flushAsync: options must be an object; flushAsync rejects instead of throwing", async () => {
    const m = new MMap(-1, 16);
    try {
      for (const x of [5, "x", null, true]) {
        throwsCode(() => m.flush(0, 16, x), TypeError, "ERR_INVALID_ARG_TYPE");
        await rejectsCode(m.flushAsync(0, 16, x), TypeError, "ERR_INVALID_ARG_TYPE");
      }
      for (const x of NOT_NUMBERS) {
        await rejectsCode(m.flushAsync(x), TypeError, "ERR_INVALID_ARG_TYPE");
        await rejectsCode(m.flushAsync(0, x), TypeError, "ERR_INVALID_ARG_TYPE");
        await rejectsCode(m.flushAsync(0, 16, { flags: x }), TypeError, "ERR_INVALID_ARG_TYPE");
      }
      for (const x of NOT_INTEGERS) {
        await rejectsCode(m.flushAsync(x), RangeError, "ERR_OUT_OF_RANGE");
        await rejectsCode(m.flushAsync(0, x), RangeError, "ERR_OUT_OF_RANGE");
      }
      await rejectsCode(m.flushAsync(0, 17), RangeError, "ERR_OUT_OF_RANGE");
      let thrown = false;
      let p;
      try {
        p = m.flushAsync("x");
      } catch {
        thrown = true;
      }
      assert.equal(thrown, false, "flushAsync never throws synchronously");
      await rejectsCode(p, TypeError, "ERR_INVALID_ARG_TYPE");
    } finally {
      m.close();
    }
  });

  // get()'s fast path takes any number and lets the view's own bounds check reject it (what is not
  // an index reads undefined): once the view exists, every value must still get the answer a
  // fresh map gives through the slow path, byte or error.
  test("get() with the view made answers every index as a fresh map does", () => {
    const values = [0, -0, 15, -1, -16, -17, 16, 1.5, -1.5, 0.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), "1", 1n, null, undefined, true, {}, { valueOf: () => 1 }];
    const outcome = (m, v) => {
      try {
        return { byte: m.get(v) };
      } catch (e) {
        return { error: e.constructor.name, code: e.code };
      }
    };
    const warm = new MMap(-1, 16);
    try {
      for (let i = 0; i < 16; i++) warm.set(i, 100 + i);
      for (let k = 0; k < 1000; k++) warm.get(k & 15); // the view, and optimized code for get
      for (const v of values) {
        const fresh = new MMap(-1, 16);
        try {
          fresh.setSlice(0, 16, Uint8Array.from({ length: 16 }, (_, i) => 100 + i)); // one copy: no view made
          assert.deepEqual(outcome(warm, v), outcome(fresh, v), `get(${typeof v === "bigint" ? `${v}n` : String(v)})`);
        } finally {
          fresh.close();
        }
      }
      assert.equal(warm.get(-0), 100);
      assert.equal(warm.get(-1), 115);
    } finally {
      warm.close();
    }
    throwsCode(() => warm.get(0), Error, "ERR_MMAP_CLOSED");
  });

  test("values out of range after validation: RangeError ERR_OUT_OF_RANGE", () => {
    const m = new MMap(-1, 16);
    try {
      const cases = [
        () => m.get(16),
        () => m.get(-17),
        () => m.get(2 ** 60),
        () => m.set(16, 0),
        () => m.set(0, 256),
        () => m.set(0, -1),
        () => m.writeByte(256),
        () => m.writeByte(-1),
        () => m.seek(17),
        () => m.seek(-1),
        () => m.seek(2 ** 60, 1),
        () => m.move(16, 0, 1),
        () => m.move(0, 0, 17),
        () => m.flush(0, 17),
        () => m.flush(-1, 1),
        () => m.madvise(MADV_NORMAL, 16),
        () => m.madvise(MADV_NORMAL, -1),
        () => m.madvise(MADV_NORMAL, 0, -2),
        () => m.resize(0),
        () => m.resize(-5),
      ];
      for (const [i, c] of cases.entries()) {
        m.seek(0);
        assert.throws(c, (e) => {
          assert.equal(Object.getPrototypeOf(e), RangeError.prototype, `case ${i}: ${e?.constructor?.name} ${e?.message}`);
          assert.equal(e.code, "ERR_OUT_OF_RANGE", `case ${i}: ${e.message}`);
          return true;
        });
      }
      // huge slice bounds clamp as in Python, they are not errors
      assert.equal(m.slice(-(2 ** 60), 2 ** 60).length, 16);
      assert.equal(m.find("", 2 ** 60), 16);
    } finally {
      m.close();
    }
  });

  test("the classes correspond to CPython's (TypeError / ValueError-IndexError-OverflowError)", async (t) => {
    if (python === null) return t.skip("CPython 3.13 is not available");
    // [Python expression, JavaScript call] on a 16-byte anonymous map
    const cases = [
      ["m['x']", (m) => m.get("x")],
      ["m[16]", (m) => m.get(16)],
      ["m.__setitem__(0, 256)", (m) => m.set(0, 256)],
      ["m.__setitem__(0, b'a')", (m) => m.set(0, "a")],
      ["m.read('x')", (m) => m.read("x")],
      ["m.write(5)", (m) => m.write(5)],
      ["m.write(b'x' * 17)", (m) => m.write("x".repeat(17))],
      ["m.write_byte(256)", (m) => m.writeByte(256)],
      ["m.write_byte('a')", (m) => m.writeByte("a")],
      ["m.find(5)", (m) => m.find(5)],
      ["m.find(b'a', 'x')", (m) => m.find("a", "x")],
      ["m.seek(17)", (m) => m.seek(17)],
      ["m.seek(0, 3)", (m) => m.seek(0, 3)],
      ["m.seek('x')", (m) => m.seek("x")],
      ["m.move(0, 0, 17)", (m) => m.move(0, 0, 17)],
      ["m.move('x', 0, 1)", (m) => m.move("x", 0, 1)],
      ["m.flush(0, 17)", (m) => m.flush(0, 17)],
      ["m.madvise(mmap.MADV_NORMAL, 16)", (m) => m.madvise(MADV_NORMAL, 16)],
      ["m.madvise('x')", (m) => m.madvise("x")],
      ["m.resize(-1)", (m) => m.resize(-1)],
      ["m.resize('x')", (m) => m.resize("x")],
      ["m.__setitem__(slice(0, 3), b'ab')", (m) => m.setSlice(0, 3, "ab")],
      ["m[0:3:0]", (m) => m.slice(0, 3, 0)],
    ];
    const py = runPython(
      `
import mmap, json, sys
out = []
for expr in json.load(sys.stdin):
    m = mmap.mmap(-1, 16)
    try:
        eval(expr); out.append("ok")
    except Exception as e:
        out.append(type(e).__name__)
    m.close()
print(json.dumps(out))
`,
      JSON.stringify(cases.map(([expr]) => expr)),
    );
    const toPython = (e) => {
      if (e === null) return ["ok"];
      if (e instanceof TypeError) return ["TypeError"];
      if (e instanceof RangeError) return ["ValueError", "IndexError", "OverflowError"];
      return [`Error ${e.code}`];
    };
    for (const [i, [expr, call]] of cases.entries()) {
      const m = new MMap(-1, 16);
      let err = null;
      try {
        call(m);
      } catch (e) {
        err = e;
      } finally {
        m.close();
      }
      assert.ok(err === null || typeof err.code === "string", `${expr}: every error has a code`);
      assert.ok(toPython(err).includes(py[i]), `${expr}: CPython ${py[i]}, memmap ${err?.constructor?.name} ${err?.code}`);
    }
  });
});

describe("a redefined length never moves the class's bounds", () => {
  // Found by an attack: read(20) at position 5000 of a 16-byte map whose `length` an own
  // property (or a subclass's getter) said was 1e9 returned bytes of another map, left in the
  // shared slab by an earlier copy. The class takes every bound from the map itself.
  class Longer extends MMap {
    get length() {
      return 1e9;
    }
  }
  for (const [how, make] of [
    ["an own property", (fd) => Object.defineProperty(new MMap(fd, 0), "length", { value: 1e9 })],
    ["a subclass getter", (fd) => new Longer(fd, 0)],
  ]) {
    test(`${how}: seek, read, get, set, iteration, slice and flush use the map's length`, () => {
      // Another map's bytes copied first, so that a slab holds them.
      const other = new MMap(-1, 4096);
      other.write("SECRET-BYTES-THAT-MUST-NOT-LEAK".repeat(4));
      other.seek(0);
      other.read(100);
      other.slice(0, 100);
      other.close();
      const fd = fs.openSync(tmpfile("0123456789abcdef"), "r+");
      const m = make(fd);
      try {
        assert.equal(m.length, 1e9);
        throwsCode(() => m.seek(5000), RangeError, "ERR_OUT_OF_RANGE");
        assert.equal(m.tell(), 0);
        m.seek(10);
        assert.equal(m.read(20).toString(), "abcdef");
        assert.equal(m.read(20).length, 0);
        throwsCode(() => m.get(100), RangeError, "ERR_OUT_OF_RANGE");
        throwsCode(() => m.set(100, 1), RangeError, "ERR_OUT_OF_RANGE");
        assert.equal([...m].length, 16);
        assert.equal(m.slice(0, 1e9).toString(), "0123456789abcdef");
        throwsCode(() => m.flush(100), RangeError, "ERR_OUT_OF_RANGE");
        m.seek(16);
        throwsCode(() => m.readByte(), RangeError, "ERR_OUT_OF_RANGE");
      } finally {
        m.close();
        fs.closeSync(fd);
      }
    });
  }
});
