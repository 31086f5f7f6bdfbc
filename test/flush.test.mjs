// flush(), flushAsync() and madvise(): the behaviour reference's "flush" and "madvise" entries,
// with the CPython 3.15 semantics the SPEC adopts (flush(offset) alone flushes offset..end,
// size -1 means "to the end", an optional { flags } with MS_SYNC as the default).
//
// For the calls where CPython 3.13 and the SPEC agree (explicit non-negative sizes, madvise
// arguments), the expected outcome of every call is computed by CPython on the same kind of map.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import {
  MMap,
  constants,
  ACCESS_READ,
  ACCESS_WRITE,
  ACCESS_COPY,
  ACCESS_DEFAULT,
  MAP_SHARED,
  MAP_PRIVATE,
  PAGESIZE,
  MS_SYNC,
  MS_ASYNC,
  MS_INVALIDATE,
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTNEED,
  MADV_HWPOISON,
} from "../dist/index.js";
import { python, runPython, tmpfile, throwsCode, runNode, WINDOWS } from "./helpers.mjs";

const NO_PYTHON = "CPython 3.13 (PYENV_VERSION=3.13.0 python3) is not available";

/** Runs fn(map, path) on a fresh file map holding `content`, closing everything afterwards. */
async function withFileMap(content, options, fn) {
  const p = tmpfile(content);
  const access = options?.access;
  const fd = fs.openSync(p, access === ACCESS_READ || access === ACCESS_COPY ? "r" : "r+");
  const m = new MMap(fd, 0, options);
  try {
    return await fn(m, p);
  } finally {
    m.close();
    fs.closeSync(fd);
  }
}

/** Asserts a system error shaped like Node's fs errors. */
function assertSystemError(err, code, syscall) {
  assert.equal(Object.getPrototypeOf(err), Error.prototype, `exact class Error, got ${err?.constructor?.name}: ${err?.message}`);
  assert.equal(err.code, code, err.message);
  assert.equal(err.syscall, syscall);
  assert.equal(typeof err.errno, "number");
  assert.ok(err.errno < 0);
}

function throwsSystem(fn, code, syscall) {
  assert.throws(fn, (err) => {
    assertSystemError(err, code, syscall);
    return true;
  });
}

/** Like throwsCode, for a promise, with the exact class. */
async function rejectsExact(promise, Class, code) {
  assert.ok(promise instanceof Promise, "returns a promise (never throws synchronously)");
  await assert.rejects(promise, (err) => {
    assert.equal(Object.getPrototypeOf(err), Class.prototype, `exact class ${Class.name}, got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

/** The outcome of a call in CPython's vocabulary: {ok}, {value} (ValueError/OverflowError), {os: errno}. */
function outcomeOf(fn) {
  try {
    const v = fn();
    return { ok: v === undefined ? null : v };
  } catch (err) {
    return errOutcome(err);
  }
}

async function outcomeOfAsync(fn) {
  try {
    const v = await fn();
    return { ok: v === undefined ? null : v };
  } catch (err) {
    return errOutcome(err);
  }
}

function errOutcome(err) {
  if (Object.getPrototypeOf(err) === RangeError.prototype && err.code === "ERR_OUT_OF_RANGE") return { value: true };
  if (Object.getPrototypeOf(err) === Error.prototype && typeof err.errno === "number" && /^E[A-Z0-9]+$/.test(err.code)) {
    return { os: err.code, syscall: err.syscall };
  }
  return { other: `${err?.constructor?.name} ${err?.code} ${err?.message}` };
}

// ------------------------------------------------------------------- flush

test("flush() returns undefined for every access mode and for anonymous maps", async () => {
  for (const access of [ACCESS_DEFAULT, ACCESS_READ, ACCESS_WRITE, ACCESS_COPY]) {
    await withFileMap("abcdefghijklmnop", { access }, (m) => {
      assert.equal(m.flush(), undefined);
    });
  }
  for (const flags of [MAP_SHARED, MAP_PRIVATE]) {
    const a = new MMap(-1, 2 * PAGESIZE, { flags });
    try {
      a.write("anonymous");
      assert.equal(a.flush(), undefined);
      assert.equal(a.flush(0, PAGESIZE), undefined);
      assert.equal(a.flush(PAGESIZE), undefined);
      assert.equal(a.flush(undefined, undefined, { flags: MS_ASYNC }), undefined);
      assert.equal(await a.flushAsync(), undefined);
    } finally {
      a.close();
    }
  }
});

test("flush() of a MAP_PRIVATE map of a file opened read-only: undefined, the file untouched (CPython: None)", async () => {
  // Its writes never reach the file, so there is nothing to flush. Windows: before, flush()
  // asked FlushFileBuffers, which needs write access to the file: EACCES (msync).
  const path = tmpfile("0123456789");
  const fd = fs.openSync(path, "r");
  try {
    for (const trackfd of [true, false]) {
      const m = new MMap(fd, 0, { flags: MAP_PRIVATE, trackfd });
      try {
        m.set(0, 0x41);
        assert.equal(m.flush(), undefined);
        assert.equal(m.flush(0, 4), undefined);
        assert.equal(m.flush(undefined, undefined, { flags: MS_SYNC }), undefined);
        assert.equal(await m.flushAsync(), undefined);
        assert.equal(m.get(0), 0x41);
      } finally {
        m.close();
      }
    }
    assert.equal(fs.readFileSync(path, "latin1"), "0123456789");
  } finally {
    fs.closeSync(fd);
  }
});

test("flush parameters (CPython 3.15 test_flush_parameters) on a 4-page file map", async () => {
  await withFileMap(Buffer.alloc(4 * PAGESIZE, 0x61), undefined, (m) => {
    assert.equal(m.flush(), undefined);
    assert.equal(m.flush(PAGESIZE), undefined, "offset alone: from offset to the end");
    assert.equal(m.flush(PAGESIZE, PAGESIZE), undefined);
    assert.equal(m.flush(0, PAGESIZE, { flags: MS_SYNC }), undefined);
    assert.equal(m.flush(undefined, undefined, { flags: MS_ASYNC }), undefined);
    assert.equal(m.flush(PAGESIZE * 2, undefined, { flags: MS_INVALIDATE }), undefined);
    assert.equal(m.flush(0, PAGESIZE, { flags: MS_ASYNC | MS_INVALIDATE }), undefined);
    assert.equal(m.flush(0, PAGESIZE, { flags: MS_SYNC | MS_INVALIDATE }), undefined);
    assert.equal(m.flush(undefined, undefined, {}), undefined, "{} means the default flags");
    assert.equal(m.flush(undefined, undefined, { flags: undefined }), undefined);
    assert.equal(m.flush(PAGESIZE, -1), undefined, "size -1 means to the end");
    assert.equal(m.flush(3 * PAGESIZE, -1, { flags: MS_ASYNC }), undefined);
    assert.equal(m.flush(4 * PAGESIZE), undefined, "offset at the end: an empty range");
    assert.equal(m.flush(0, 0), undefined);
    assert.equal(m.flush(0, 4 * PAGESIZE), undefined);
  });
});

test("flush(offset) alone covers offset..end (3.15), so an unaligned offset reaches msync", { skip: WINDOWS && "no msync alignment rule or flags on Windows (FlushViewOfFile)" }, async () => {
  // Under 3.13 rules flush(8) on a 16-byte map would be a range error (size = whole length);
  // under the adopted 3.15 rules the range [8, 16) is valid and the kernel refuses the address.
  await withFileMap("0123456789abcdef", undefined, (m) => {
    throwsSystem(() => m.flush(8), "EINVAL", "msync");
    throwsSystem(() => m.flush(1), "EINVAL", "msync");
    throwsSystem(() => m.flush(16), "EINVAL", "msync");
    throwsSystem(() => m.flush(8, -1), "EINVAL", "msync");
    throwsCode(() => m.flush(17), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.flush(4096), RangeError, "ERR_OUT_OF_RANGE");
  });
  await withFileMap(Buffer.alloc(2 * PAGESIZE), undefined, (m) => {
    assert.equal(m.flush(PAGESIZE), undefined, "flush(PAGESIZE) on a 2-page map flushes the second page");
  });
});

test("flush out of range → RangeError ERR_OUT_OF_RANGE, for every access mode", async () => {
  for (const access of [ACCESS_DEFAULT, ACCESS_READ, ACCESS_WRITE, ACCESS_COPY]) {
    await withFileMap("0123456789abcdef", { access }, (m) => {
      const bad = [
        [0, 17],
        [0, 16 + 90],
        [16, 1],
        [1, 16],
        [-1, undefined],
        [-1, 1],
        [-PAGESIZE, PAGESIZE],
        [0, -2],
        [8, -3],
        [4096, undefined],
        [17, undefined],
        [17, -1],
        [Number.MAX_SAFE_INTEGER, undefined],
        [1, Number.MAX_SAFE_INTEGER],
      ];
      for (const [o, s] of bad) throwsCode(() => m.flush(o, s), RangeError, "ERR_OUT_OF_RANGE");
    });
  }
});

test("flush with a wrong argument type → TypeError, a non-integer → RangeError", async () => {
  await withFileMap("0123456789abcdef", undefined, (m) => {
    for (const bad of ["0", null, 0n, {}, true]) {
      throwsCode(() => m.flush(bad), TypeError, "ERR_INVALID_ARG_TYPE");
      throwsCode(() => m.flush(0, bad), TypeError, "ERR_INVALID_ARG_TYPE");
    }
    for (const bad of [0.5, NaN, Infinity, -Infinity]) {
      throwsCode(() => m.flush(bad), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => m.flush(0, bad), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => m.flush(0, 0, { flags: bad }), RangeError, "ERR_OUT_OF_RANGE");
    }
    for (const bad of [null, 4, "x"]) throwsCode(() => m.flush(0, 0, bad), TypeError, "ERR_INVALID_ARG_TYPE");
    for (const bad of ["4", null, {}]) throwsCode(() => m.flush(0, 0, { flags: bad }), TypeError, "ERR_INVALID_ARG_TYPE");
  });
});

test("flush: ACCESS_READ/ACCESS_COPY never call msync; ACCESS_WRITE/DEFAULT refuse an unaligned offset (EINVAL)", { skip: WINDOWS && "no msync alignment rule or flags on Windows (FlushViewOfFile)" }, async () => {
  for (const access of [ACCESS_READ, ACCESS_COPY]) {
    await withFileMap("0123456789abcdef", { access }, (m) => {
      assert.equal(m.flush(1, 1), undefined);
      assert.equal(m.flush(8), undefined);
      assert.equal(m.flush(1, 0), undefined);
      assert.equal(m.flush(0, 0), undefined);
    });
  }
  for (const options of [{ access: ACCESS_WRITE }, { access: ACCESS_DEFAULT }, { flags: MAP_PRIVATE }]) {
    await withFileMap("0123456789abcdef", options, (m) => {
      throwsSystem(() => m.flush(1, 1), "EINVAL", "msync");
      throwsSystem(() => m.flush(1, 0), "EINVAL", "msync");
      throwsSystem(() => m.flush(8, 8), "EINVAL", "msync");
      assert.equal(m.flush(0, 0), undefined);
      assert.equal(m.flush(0, 16), undefined);
    });
  }
});

test("flush with flags the kernel refuses → system error EINVAL (msync)", { skip: WINDOWS && "no msync alignment rule or flags on Windows (FlushViewOfFile)" }, async () => {
  await withFileMap(Buffer.alloc(PAGESIZE), undefined, async (m) => {
    throwsSystem(() => m.flush(0, PAGESIZE, { flags: MS_SYNC | MS_ASYNC }), "EINVAL", "msync");
    throwsSystem(() => m.flush(undefined, undefined, { flags: 0x4000 }), "EINVAL", "msync");
    throwsSystem(() => m.flush(undefined, undefined, { flags: -1 }), "EINVAL", "msync");
  });
});

const PY_FLUSH_GRID = `
import json, mmap, os, sys, errno
inp = json.load(sys.stdin)
def outcome(fn):
    try:
        return {"ok": fn()}
    except (ValueError, OverflowError):
        return {"value": True}
    except OSError as e:
        return {"os": errno.errorcode[e.errno], "syscall": "msync"}
out = {}
for mode in inp["modes"]:
    if mode["file"]:
        fd = os.open(mode["path"], os.O_RDWR)
        m = mmap.mmap(fd, 0, **mode["kw"])
    else:
        fd = None
        m = mmap.mmap(-1, mode["anon"], **mode["kw"])
    out[mode["name"]] = [outcome(lambda: m.flush(o, s)) for o, s in inp["grid"]]
    m.close()
    if fd is not None:
        os.close(fd)
print(json.dumps(out))
`;

/** The map kinds of the grid, in CPython keyword form and memmap option form. */
function flushModes(content) {
  const file = (name, kw, options) => ({ name, file: true, path: tmpfile(content), kw, options });
  return [
    file("default", {}, {}),
    file("read", { access: ACCESS_READ }, { access: ACCESS_READ }),
    file("write", { access: ACCESS_WRITE }, { access: ACCESS_WRITE }),
    file("copy", { access: ACCESS_COPY }, { access: ACCESS_COPY }),
    file("private", { flags: MAP_PRIVATE }, { flags: MAP_PRIVATE }),
    { name: "anon", file: false, anon: content.length, kw: {}, options: {} },
    { name: "anonPrivate", file: false, anon: content.length, kw: { flags: MAP_PRIVATE }, options: { flags: MAP_PRIVATE } },
  ];
}

/** Offsets and explicit non-negative sizes: where CPython 3.13 and the SPEC agree. */
function flushGrid(len) {
  const values = [0, 1, 8, PAGESIZE - 1, PAGESIZE, len - 1, len, len + 1, -1, -PAGESIZE];
  const sizes = [0, 1, 8, PAGESIZE, len - PAGESIZE, len - 1, len, len + 1, len + 90];
  const grid = [];
  for (const o of values) for (const s of sizes) grid.push([o, s]);
  return grid;
}

test("flush and flushAsync give CPython's outcome for every (offset, size) on every kind of map", async (t) => {
  if (python === null) return t.skip(NO_PYTHON);
  const content = Buffer.alloc(2 * PAGESIZE, 0x62);
  const modes = flushModes(content);
  const grid = flushGrid(content.length);
  const expected = runPython(PY_FLUSH_GRID, JSON.stringify({ modes, grid }));
  for (const mode of modes) {
    let fd = null;
    let m;
    if (mode.file) {
      fd = fs.openSync(mode.path, "r+");
      m = new MMap(fd, 0, mode.options);
    } else {
      m = new MMap(-1, mode.anon, mode.options);
    }
    try {
      const sync = grid.map(([o, s]) => outcomeOf(() => m.flush(o, s)));
      assert.deepEqual(sync, expected[mode.name], `flush on ${mode.name}`);
      const async = [];
      for (const [o, s] of grid) async.push(await outcomeOfAsync(() => m.flushAsync(o, s)));
      assert.deepEqual(async, expected[mode.name], `flushAsync on ${mode.name}`);
      // the grid holds successes and failures of each kind for the writable file maps
      if (mode.name === "default") {
        assert.ok(sync.some((r) => "ok" in r) && sync.some((r) => "value" in r) && sync.some((r) => "os" in r));
      }
    } finally {
      m.close();
      if (fd !== null) fs.closeSync(fd);
    }
  }
});

test("flush on a closed map → ERR_MMAP_CLOSED (flushAsync rejects with it)", async () => {
  const m = new MMap(-1, PAGESIZE);
  m.close();
  throwsCode(() => m.flush(), Error, "ERR_MMAP_CLOSED");
  throwsCode(() => m.flush(0, 0), Error, "ERR_MMAP_CLOSED");
  await rejectsExact(m.flushAsync(), Error, "ERR_MMAP_CLOSED");
});

// ------------------------------------------------------------------- flushAsync

test("flushAsync resolves undefined, runs msync, and validates like flush (rejecting)", { skip: WINDOWS && "no msync alignment rule or flags on Windows (FlushViewOfFile)" }, async () => {
  await withFileMap(Buffer.alloc(4 * PAGESIZE, 0x2e), undefined, async (m, p) => {
    const promise = m.flushAsync();
    assert.ok(promise instanceof Promise);
    assert.equal(await promise, undefined);
    m.setSlice(PAGESIZE, PAGESIZE + 5, "async");
    m.set(-1, 0x21);
    assert.equal(await m.flushAsync(PAGESIZE), undefined);
    assert.equal(await m.flushAsync(PAGESIZE, PAGESIZE, { flags: MS_SYNC }), undefined);
    assert.equal(await m.flushAsync(undefined, undefined, { flags: MS_ASYNC | MS_INVALIDATE }), undefined);
    const file = fs.readFileSync(p);
    assert.equal(file.subarray(PAGESIZE, PAGESIZE + 5).toString(), "async");
    assert.equal(file[file.length - 1], 0x21);

    // the same validation as flush, as rejections with the same classes and codes
    await rejectsExact(m.flushAsync(0, 4 * PAGESIZE + 1), RangeError, "ERR_OUT_OF_RANGE");
    await rejectsExact(m.flushAsync(-1), RangeError, "ERR_OUT_OF_RANGE");
    await rejectsExact(m.flushAsync(0, -2), RangeError, "ERR_OUT_OF_RANGE");
    await rejectsExact(m.flushAsync(5 * PAGESIZE), RangeError, "ERR_OUT_OF_RANGE");
    await rejectsExact(m.flushAsync(1.5), RangeError, "ERR_OUT_OF_RANGE");
    await rejectsExact(m.flushAsync("0"), TypeError, "ERR_INVALID_ARG_TYPE");
    await rejectsExact(m.flushAsync(0, null), TypeError, "ERR_INVALID_ARG_TYPE");
    await rejectsExact(m.flushAsync(0, 0, 7), TypeError, "ERR_INVALID_ARG_TYPE");
    await rejectsExact(m.flushAsync(0, 0, { flags: "MS_SYNC" }), TypeError, "ERR_INVALID_ARG_TYPE");

    // kernel refusals reject with the system error
    for (const [args, what] of [
      [[1, 1], "unaligned offset"],
      [[undefined, undefined, { flags: MS_SYNC | MS_ASYNC }], "MS_SYNC|MS_ASYNC"],
      [[undefined, undefined, { flags: 0x4000 }], "unknown flag"],
    ]) {
      await assert.rejects(m.flushAsync(...args), (err) => {
        assertSystemError(err, "EINVAL", "msync");
        return true;
      }, what);
    }
  });
  for (const access of [ACCESS_READ, ACCESS_COPY]) {
    await withFileMap("0123456789abcdef", { access }, async (m) => {
      assert.equal(await m.flushAsync(1, 1), undefined, "no msync for read-only and copy-on-write maps");
      await rejectsExact(m.flushAsync(0, 17), RangeError, "ERR_OUT_OF_RANGE");
    });
  }
});

test("several flushAsync calls may run together; close() while one runs is safe", async () => {
  await withFileMap(Buffer.alloc(8 * PAGESIZE), undefined, async (m, p) => {
    for (let i = 0; i < 8; i++) m.set(i * PAGESIZE, i + 1);
    const results = await Promise.all([
      m.flushAsync(),
      m.flushAsync(PAGESIZE),
      m.flushAsync(2 * PAGESIZE, PAGESIZE),
      m.flushAsync(0, 0, { flags: MS_ASYNC }),
    ]);
    assert.deepEqual(results, [undefined, undefined, undefined, undefined]);
    const file = fs.readFileSync(p);
    for (let i = 0; i < 8; i++) assert.equal(file[i * PAGESIZE], i + 1);
  });
  const a = new MMap(-1, 16 * PAGESIZE);
  a.write(Buffer.alloc(16 * PAGESIZE, 7));
  const pending = a.flushAsync();
  a.close();
  assert.equal(a.closed, true);
  assert.equal(await pending, undefined);
});

// ------------------------------------------------------------------- durability

test("ACCESS_WRITE: data written and flushed is in the file for another process", async () => {
  const readInChild = (p) => {
    const r = runNode(["-e", `process.stdout.write(require("fs").readFileSync(${JSON.stringify(p)}).toString("hex"))`]);
    assert.equal(r.status, 0, r.stderr);
    return Buffer.from(r.stdout, "hex");
  };
  await withFileMap(Buffer.alloc(2 * PAGESIZE, 0x30), { access: ACCESS_WRITE }, async (m, p) => {
    m.seek(PAGESIZE - 3);
    m.write("durable data");
    assert.equal(m.flush(), undefined);
    const seen = readInChild(p);
    assert.equal(seen.length, 2 * PAGESIZE);
    assert.equal(seen.subarray(PAGESIZE - 3, PAGESIZE + 9).toString(), "durable data");
    m.setSlice(0, 5, "async");
    assert.equal(await m.flushAsync(0, PAGESIZE), undefined);
    assert.equal(readInChild(p).subarray(0, 5).toString(), "async");
  });
  // ACCESS_COPY: flushing never reaches the file
  await withFileMap(Buffer.alloc(PAGESIZE, 0x30), { access: ACCESS_COPY }, async (m, p) => {
    m.write("private");
    m.flush();
    await m.flushAsync();
    assert.equal(m.slice(0, 7).toString(), "private");
    assert.deepEqual(readInChild(p), Buffer.alloc(PAGESIZE, 0x30));
  });
});

// ------------------------------------------------------------------- madvise

/** Every MADV_* name the platform defines, as memmap exports them. */
const MADV_NAMES = Object.keys(constants).filter((k) => k.startsWith("MADV_")).sort();

const PY_MADV_ALL = `
import json, mmap, errno, sys
names = json.load(sys.stdin)
out = {}
for kind, flags in (("shared", mmap.MAP_SHARED), ("private", mmap.MAP_PRIVATE)):
    res = {}
    for name in names:
        m = mmap.mmap(-1, 2 * mmap.PAGESIZE, flags=flags)
        m.write(b"advice")
        try:
            m.madvise(getattr(mmap, name), 0, 2 * mmap.PAGESIZE)
            r = {"ok": None}
        except OSError as e:
            r = {"os": errno.errorcode[e.errno], "syscall": "madvise"}
        res[name] = [getattr(mmap, name), r]
        m.close()
    out[kind] = res
print(json.dumps(out))
`;

test("madvise accepts every MADV_* constant on a 2-page anonymous map, as CPython does", { skip: WINDOWS && "Windows has no madvise (test/windows.test.mjs)" }, (t) => {
  assert.ok(MADV_NAMES.length >= 5, `MADV_* constants: ${MADV_NAMES}`);
  const names = MADV_NAMES.filter((n) => n !== "MADV_HWPOISON"); // poisons pages: see the next test
  let expected = null;
  if (python !== null) {
    expected = runPython(PY_MADV_ALL, JSON.stringify(names));
  } else {
    t.diagnostic(NO_PYTHON + ": outcomes not compared with CPython");
  }
  for (const [kind, flags] of [["shared", MAP_SHARED], ["private", MAP_PRIVATE]]) {
    for (const name of names) {
      const a = new MMap(-1, 2 * PAGESIZE, { flags });
      try {
        a.write("advice");
        const got = outcomeOf(() => a.madvise(constants[name], 0, 2 * PAGESIZE));
        assert.ok("ok" in got || got.syscall === "madvise", `${kind} ${name}: ${JSON.stringify(got)}`);
        if (expected !== null) {
          assert.equal(constants[name], expected[kind][name][0], `${name} has CPython's value`);
          assert.deepEqual(got, expected[kind][name][1], `${kind} ${name}`);
        }
        // the map is still usable after any advice
        a.set(PAGESIZE, 1);
        assert.equal(a.get(PAGESIZE), 1);
      } finally {
        a.close();
      }
    }
  }
  // the portable advice always works
  for (const opt of [MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED]) {
    const a = new MMap(-1, 2 * PAGESIZE);
    try {
      assert.equal(a.madvise(opt), undefined);
      assert.equal(a.madvise(opt, 0, 2 * PAGESIZE), undefined);
    } finally {
      a.close();
    }
  }
});

test("madvise(MADV_HWPOISON) is refused before the system call, whatever the range (in a child process)", (t) => {
  if (MADV_HWPOISON === undefined) return t.skip("MADV_HWPOISON is not defined on this platform");
  // MADV_HWPOISON poisons pages (with the privilege to, as root has): the next access kills the
  // process. memmap never passes it to the kernel (issue 11 item 4): RangeError
  // ERR_INVALID_ARG_VALUE, and the map keeps working. Run in a child in case it did pass.
  const index = new URL("../dist/index.js", import.meta.url).href;
  const script = `
    import { MMap, MADV_HWPOISON, PAGESIZE } from ${JSON.stringify(index)};
    const a = new MMap(-1, 2 * PAGESIZE);
    a.set(0, 7);
    const out = [];
    for (const args of [[0, 0], [0, PAGESIZE], []]) {
      try { out.push({ ok: a.madvise(MADV_HWPOISON, ...args) ?? null }); }
      catch (e) { out.push({ cls: e.constructor.name, code: e.code }); }
    }
    out.push({ byte: a.get(0) });
    a.close();
    process.stdout.write(JSON.stringify(out));`;
  const r = runNode(["--input-type=module", "-e", script]);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const refused = { cls: "RangeError", code: "ERR_INVALID_ARG_VALUE" };
  assert.deepEqual(JSON.parse(r.stdout), [refused, refused, refused, { byte: 7 }]);
});

test("madvise acts on [start, start + length): length defaults to the rest and is clipped", { skip: WINDOWS && "Windows has no madvise (test/windows.test.mjs)" }, () => {
  // MADV_DONTNEED on private anonymous memory drops the pages: they read back as zeros,
  // which shows exactly which range the advice covered.
  const fresh = () => {
    const a = new MMap(-1, 4 * PAGESIZE, { flags: MAP_PRIVATE });
    for (let i = 0; i < 4; i++) a.set(i * PAGESIZE, i + 1);
    return a;
  };
  const firstBytes = (a) => [0, 1, 2, 3].map((i) => a.get(i * PAGESIZE));
  const cases = [
    [[PAGESIZE, PAGESIZE], [1, 0, 3, 4]],
    [[2 * PAGESIZE], [1, 2, 0, 0]], // length omitted: to the end
    [[2 * PAGESIZE, undefined], [1, 2, 0, 0]],
    [[3 * PAGESIZE, null], [1, 2, 3, 0]], // null: to the end
    [[PAGESIZE, 100 * PAGESIZE], [1, 0, 0, 0]], // clipped
    [[PAGESIZE, 0], [1, 2, 3, 4]], // nothing
    [[0, 1], [0, 2, 3, 4]], // one byte: its page
    [[], [0, 0, 0, 0]], // the whole map
  ];
  for (const [args, want] of cases) {
    const a = fresh();
    try {
      assert.equal(a.madvise(MADV_DONTNEED, ...args), undefined, `madvise(DONTNEED, ${args})`);
      assert.deepEqual(firstBytes(a), want, `madvise(DONTNEED, ${args})`);
    } finally {
      a.close();
    }
  }
});

const PY_MADV_GRID = `
import json, mmap, sys, errno
inp = json.load(sys.stdin)
m = mmap.mmap(-1, inp["len"])
out = []
for opt, start, length in inp["grid"]:
    args = [opt] + ([] if start == "OMIT" else [start]) + ([] if length == "OMIT" else [length])
    try:
        out.append({"ok": m.madvise(*args)})
    except (ValueError, OverflowError):
        out.append({"value": True})
    except OSError as e:
        out.append({"os": errno.errorcode[e.errno], "syscall": "madvise"})
m.close()
print(json.dumps(out))
`;

test("madvise argument checks give CPython's outcome (start bounds, negative length, alignment, unknown option)", (t) => {
  if (python === null) return t.skip(NO_PYTHON);
  const len = 2 * PAGESIZE;
  const starts = ["OMIT", 0, 1, PAGESIZE - 1, PAGESIZE, len - 1, len, len + 1, -1, -PAGESIZE];
  const lengths = ["OMIT", 0, 1, PAGESIZE, len, 10 * len, -1, -PAGESIZE];
  const grid = [];
  for (const opt of [MADV_NORMAL, MADV_WILLNEED, 9999]) {
    for (const s of starts) for (const l of lengths) if (!(s === "OMIT" && l !== "OMIT")) grid.push([opt, s, l]);
  }
  // A deliberate difference (issue 11 item 4, docs/safety.md "Advice"): where the kernel says
  // EINVAL to CPython for advice it does not know, memmap refuses it before the system call.
  const refused = { other: "RangeError ERR_INVALID_ARG_VALUE" };
  const expected = runPython(PY_MADV_GRID, JSON.stringify({ len, grid })).map((r, i) =>
    grid[i][0] === 9999 && r.os === "EINVAL" ? refused : r,
  );
  const a = new MMap(-1, len);
  try {
    const got = grid.map(([opt, s, l]) => {
      const args = [opt, ...(s === "OMIT" ? [] : [s]), ...(l === "OMIT" ? [] : [l])];
      const r = outcomeOf(() => a.madvise(...args));
      return r.other?.startsWith(refused.other) ? refused : r;
    });
    assert.ok(got.some((r) => r === refused), "unknown advice is refused");
    assert.deepEqual(got, expected);
    assert.ok(got.some((r) => "os" in r) && got.some((r) => "value" in r) && got.some((r) => "ok" in r));
  } finally {
    a.close();
  }
});

test("madvise: explicit checks of types, ranges and kernel errors", { skip: WINDOWS && "Windows has no madvise (test/windows.test.mjs)" }, () => {
  const a = new MMap(-1, 2 * PAGESIZE);
  try {
    throwsCode(() => a.madvise(MADV_NORMAL, 2 * PAGESIZE), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => a.madvise(MADV_NORMAL, -1), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => a.madvise(MADV_NORMAL, 0, -1), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => a.madvise(MADV_NORMAL, 0, 2 ** 63), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => a.madvise(MADV_NORMAL, 0.5), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => a.madvise(MADV_NORMAL, 0, 1.5), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => a.madvise(1.5), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => a.madvise(2 ** 40), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => a.madvise("MADV_NORMAL"), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => a.madvise(undefined), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => a.madvise(MADV_NORMAL, "0"), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => a.madvise(MADV_NORMAL, 0, "1"), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsSystem(() => a.madvise(MADV_NORMAL, 1), "EINVAL", "madvise");
    throwsSystem(() => a.madvise(MADV_NORMAL, PAGESIZE + 1, 10), "EINVAL", "madvise");
    throwsCode(() => a.madvise(9999), RangeError, "ERR_INVALID_ARG_VALUE");
    throwsCode(() => a.madvise(-1), RangeError, "ERR_INVALID_ARG_VALUE");
    if (MADV_HWPOISON !== undefined) throwsCode(() => a.madvise(MADV_HWPOISON, 0, PAGESIZE), RangeError, "ERR_INVALID_ARG_VALUE");
    // Range checks come first, as in CPython.
    throwsCode(() => a.madvise(9999, 2 * PAGESIZE), RangeError, "ERR_OUT_OF_RANGE");
    assert.equal(a.madvise(MADV_NORMAL, 0, 0), undefined);
    assert.equal(a.madvise(MADV_NORMAL, PAGESIZE, 2 ** 40), undefined, "over-long lengths are clipped");
    assert.equal(a.madvise(MADV_NORMAL, 0, null), undefined);
    assert.equal(a.madvise(MADV_WILLNEED, 0, undefined), undefined);
  } finally {
    a.close();
  }
  throwsCode(() => a.madvise(MADV_NORMAL), Error, "ERR_MMAP_CLOSED");
});

test("madvise on file maps", { skip: WINDOWS && "Windows has no madvise (test/windows.test.mjs)" }, async () => {
  for (const access of [ACCESS_READ, ACCESS_WRITE, ACCESS_COPY, ACCESS_DEFAULT]) {
    await withFileMap(Buffer.alloc(3 * PAGESIZE, 0x41), { access }, (m) => {
      assert.equal(m.madvise(MADV_SEQUENTIAL), undefined);
      assert.equal(m.madvise(MADV_WILLNEED, PAGESIZE), undefined);
      assert.equal(m.madvise(MADV_RANDOM, 0, PAGESIZE), undefined);
      assert.equal(m.get(2 * PAGESIZE), 0x41);
    });
  }
});
