// The constructor, MMap.open/openAsync, the access modes, trackfd, the constants,
// util.inspect and the module shape (ESM and CommonJS).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import dc from "node:diagnostics_channel";
import { inspect } from "node:util";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runInNewContext } from "node:vm";
import * as memmap from "../dist/index.js";
import {
  MMap,
  ACCESS_DEFAULT,
  ACCESS_READ,
  ACCESS_WRITE,
  ACCESS_COPY,
  MAP_SHARED,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  PAGESIZE,
  ALLOCATIONGRANULARITY,
  MADV_WILLNEED,
  MS_SYNC,
  MS_ASYNC,
  MS_INVALIDATE,
  constants,
} from "../dist/index.js";
import { tmpfile, tmpdir, python, runPython, throwsCode, rejectsCode, openFds, runNode, errnoOf, WINDOWS, more } from "./helpers.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
/** The unit of a map offset: the page size on POSIX systems, 64 KiB on Windows. */
const P = ALLOCATIONGRANULARITY;
const TEXT = "abcdefghij";
const O_ACCMODE = 3;
const O_CLOEXEC = 0o2000000; // Linux (asm-generic) value, as reported in /proc/self/fdinfo

// ------------------------------------------------------------------ helpers

/** Opens a new temporary file holding `content` and calls fn({ path, fd }); closes the fd after. */
async function withFile(content, flags, fn) {
  const p = tmpfile(content);
  const fd = fs.openSync(p, flags);
  try {
    return await fn({ path: p, fd });
  } finally {
    try {
      fs.closeSync(fd);
    } catch {}
  }
}

/** Runs fn(m) and closes m whatever happens (after the promise settles when fn is async). */
function using(m, fn) {
  let r;
  try {
    r = fn(m);
  } catch (e) {
    m.close();
    throw e;
  }
  if (r !== null && typeof r === "object" && typeof r.then === "function") return r.finally(() => m.close());
  m.close();
  return r;
}

/** The file-status flags of one of our descriptors, from /proc/self/fdinfo. */
function fdFlags(fd) {
  const txt = fs.readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
  const m = /^flags:\s+([0-7]+)$/m.exec(txt);
  assert.ok(m, "fdinfo has flags");
  return parseInt(m[1], 8);
}

/** Whether a spawned child process (sh) has descriptor `fd` open. */
function childHasFd(fd, stdio) {
  const r = spawnSync("/bin/sh", ["-c", `if [ -e /proc/self/fd/${fd} ]; then echo yes; else echo no; fi`], {
    encoding: "utf8",
    stdio,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim() === "yes";
}

/** The same file? */
function sameFile(fdA, fdB) {
  const a = fs.fstatSync(fdA);
  const b = fs.fstatSync(fdB);
  return a.ino === b.ino && a.dev === b.dev;
}

/** A system error shaped like Node's fs errors, with `code` and `syscall`. */
function assertSystemError(err, code, syscall) {
  assert.ok(err instanceof Error, `an Error: ${err}`);
  assert.equal(Object.getPrototypeOf(err), Error.prototype);
  assert.equal(err.code, code, `code of: ${err.message}`);
  assert.equal(typeof err.errno, "number");
  assert.ok(err.errno < 0, "errno is negative");
  assert.equal(err.errno, errnoOf(code));
  if (syscall !== undefined) assert.equal(err.syscall, syscall);
  return true;
}

function throwsSystem(fn, code, syscall) {
  assert.throws(fn, (err) => assertSystemError(err, code, syscall));
}

/** Bytes 0..n-1 of a recognisable pattern. */
function pattern(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) % 251;
  return b;
}

const latin1 = (p) => fs.readFileSync(p, "latin1");

const scratch = tmpdir("memmap-ctor-");
let dirCounter = 0;
/** A new empty directory inside this file's scratch directory. */
function freshDir() {
  const d = path.join(scratch, `d${dirCounter++}`);
  fs.mkdirSync(d);
  return d;
}

// ------------------------------------------------------------------ 1. shape

describe("shape (SPEC §1)", () => {
  test("named exports and the SPEC example", async () => {
    assert.equal(typeof MMap, "function");
    assert.equal(typeof MMap.open, "function");
    assert.equal(typeof MMap.openAsync, "function");
    for (const name of ["ACCESS_READ", "ACCESS_WRITE", "ACCESS_COPY", "ACCESS_DEFAULT", "MAP_SHARED", "MAP_PRIVATE", "PROT_READ", "PROT_WRITE", "PAGESIZE", "ALLOCATIONGRANULARITY", ...(WINDOWS ? [] : ["MADV_WILLNEED"])]) {
      assert.equal(typeof memmap[name], "number", name);
    }
    assert.equal(typeof constants, "object");
    assert.equal(MADV_WILLNEED, constants.MADV_WILLNEED);
    assert.throws(() => MMap(-1, 1), TypeError); // a class

    await withFile("Hello Python!\n", "r+", async ({ path: p, fd }) => {
      const mm = new MMap(fd, 0);
      assert.ok(mm instanceof MMap);
      await using(mm, () => {
        assert.deepEqual(mm.readline(), Buffer.from("Hello Python!\n"));
        assert.equal(mm.slice(0, 5).toString(), "Hello");
        mm.setSlice(6, mm.length, " world!\n");
        assert.equal(mm.seek(0), 0);
        assert.equal(mm.readline().toString(), "Hello  world!\n");
      });
      assert.equal(latin1(p), "Hello  world!\n");
    });
  });

  test("Symbol.dispose closes the map", () => {
    const m = new MMap(-1, 16);
    assert.equal(typeof m[Symbol.dispose], "function");
    m[Symbol.dispose]();
    assert.equal(m.closed, true);
  });

  test("TypeScript types are shipped", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
    assert.equal(pkg.name, "memmap");
    assert.ok(pkg.types, "package.json names its types");
    // index.d.ts adds two references to the declarations tsc emits, and re-exports them
    const entry = fs.readFileSync(path.join(root, pkg.types), "utf8");
    const emitted = /^export \* from "\.\/(.+)\.js";$/m.exec(entry)?.[1];
    assert.match(fs.readFileSync(path.join(root, `${emitted}.d.ts`), "utf8"), /MMap/);
  });

  test("ESM: the package imports by name", async () => {
    const byName = await import("memmap");
    assert.equal(byName.MMap, MMap);
    assert.equal(byName.constants, constants);
  });

  test("CommonJS: require() of the package maps anonymous memory", () => {
    const code = `
      const m = require(${JSON.stringify(root)});
      const a = new m.MMap(-1, 8);
      a.write("hey");
      a.seek(0);
      const out = { read: a.read(3).toString(), zero: a.readByte(), len: a.length,
                    R: m.ACCESS_READ, C: m.constants.ACCESS_COPY, kind: typeof m.MMap };
      a.close();
      console.log(JSON.stringify(out));`;
    const r = runNode(["-e", code], { cwd: os.tmpdir() });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").pop()), {
      read: "hey",
      zero: 0,
      len: 8,
      R: ACCESS_READ,
      C: ACCESS_COPY,
      kind: "function",
    });
  });

  test("CommonJS and ESM: require('memmap') / import('memmap') from an installing project", { skip: WINDOWS && "installs the package with npm, which is Linux tooling here" }, () => {
    const dir = freshDir();
    fs.mkdirSync(path.join(dir, "node_modules"));
    fs.symlinkSync(root, path.join(dir, "node_modules", "memmap"), "dir");
    const cjs = runNode(["-e", `const { MMap } = require("memmap"); const m = new MMap(-1, 3); m.set(1, 7); console.log(m.get(1)); m.close();`], { cwd: dir });
    assert.equal(cjs.status, 0, cjs.stderr);
    assert.equal(cjs.stdout.trim().split("\n").pop(), "7");
    const esm = runNode(["--input-type=module", "-e", `import { MMap } from "memmap"; const m = new MMap(-1, 3); m.set(2, 9); console.log(m.get(2)); m.close();`], { cwd: dir });
    assert.equal(esm.status, 0, esm.stderr);
    assert.equal(esm.stdout.trim().split("\n").pop(), "9");
  });
});

// ------------------------------------------------------------------ 2. constructor: fd

describe("constructor: fd", () => {
  test("a descriptor number maps the file", async () => {
    await withFile(TEXT, "r+", ({ fd }) => {
      const m = new MMap(fd, 0);
      using(m, () => {
        assert.equal(m.length, 10);
        assert.equal(m.slice().toString(), TEXT);
        assert.equal(m.closed, false);
        assert.equal(m.offset, 0);
        assert.equal(m.access, ACCESS_DEFAULT);
      });
    });
  });

  test("a fs/promises FileHandle maps the file; the handle may be closed afterwards", async () => {
    const p = tmpfile(TEXT);
    const fh = await fsp.open(p, "r+");
    let m;
    try {
      m = new MMap(fh, 0);
      assert.notEqual(m.fd, fh.fd);
      assert.ok(m.fd >= 0);
      assert.ok(sameFile(m.fd, fh.fd));
    } finally {
      await fh.close();
    }
    await using(m, () => {
      assert.equal(m.slice().toString(), TEXT);
      m.set(0, 0x41);
      assert.equal(m.size(), 10);
      m.flush();
    });
    assert.equal(latin1(p), "Abcdefghij");
  });

  test("a FileHandle with a length and an offset", async () => {
    const data = pattern(2 * P + 5);
    const p = tmpfile(data);
    const fh = await fsp.open(p, "r");
    try {
      const m = new MMap(fh, 5, { offset: P, access: ACCESS_READ });
      using(m, () => assert.deepEqual(m.slice(), data.subarray(P, P + 5)));
    } finally {
      await fh.close();
    }
  });

  test("a closed FileHandle is refused", async () => {
    const fh = await fsp.open(tmpfile(TEXT), "r+");
    await fh.close();
    const before = openFds();
    throwsCode(() => new MMap(fh, 0), RangeError, "ERR_INVALID_ARG_VALUE");
    assert.equal(openFds(), before);
  });

  test("-1 maps anonymous zero-filled memory", () => {
    for (const n of [1, 10, P, 3 * P + 1]) {
      const m = new MMap(-1, n);
      using(m, () => {
        assert.equal(m.length, n);
        assert.equal(m.fd, -1);
        assert.equal(m.access, ACCESS_DEFAULT);
        assert.ok(m.slice().every((b) => b === 0), "zero-filled");
        assert.equal(m.size(), n); // adopted from CPython 3.15
        m.set(n - 1, 255);
        assert.equal(m.get(-1), 255);
      });
    }
  });

  test("wrong types for fd", () => {
    for (const bad of ["3", null, undefined, {}, { fd: 3 }, [3], 3n, true, () => 3, Symbol("fd")]) {
      throwsCode(() => new MMap(bad, 10), TypeError, "ERR_INVALID_ARG_TYPE");
    }
    for (const bad of [1.5, -1.5, NaN, Infinity, -Infinity, 2 ** 40, -(2 ** 40), 2 ** 31]) {
      throwsCode(() => new MMap(bad, 10), RangeError, "ERR_OUT_OF_RANGE");
    }
  });
});

// ------------------------------------------------------------------ 2. constructor: length and offset

describe("constructor: length and offset", () => {
  test("wrong types and negative values", async () => {
    await withFile(TEXT, "r+", ({ fd }) => {
      for (const bad of ["10", null, undefined, {}, 10n, [10]]) {
        throwsCode(() => new MMap(fd, bad), TypeError, "ERR_INVALID_ARG_TYPE");
        throwsCode(() => new MMap(fd, 0, { offset: bad === undefined ? "0" : bad }), TypeError, "ERR_INVALID_ARG_TYPE");
      }
      for (const bad of [-1, -P, 1.5, NaN, Infinity, -Infinity]) {
        throwsCode(() => new MMap(fd, bad), RangeError, "ERR_OUT_OF_RANGE");
        throwsCode(() => new MMap(-1, bad), RangeError, "ERR_OUT_OF_RANGE");
        throwsCode(() => new MMap(fd, 0, { offset: bad === -1 ? -P : bad }), RangeError, "ERR_OUT_OF_RANGE");
      }
    });
  });

  test("length 0 maps the whole file, also from an offset", async () => {
    const data = pattern(3 * P + 10);
    await withFile(data, "r+", ({ fd }) => {
      using(new MMap(fd, 0), (m) => {
        assert.equal(m.length, data.length);
        assert.deepEqual(m.slice(), data);
      });
      using(new MMap(fd, 0, { offset: P }), (m) => {
        assert.equal(m.length, data.length - P);
        assert.equal(m.offset, P);
        assert.deepEqual(m.slice(), data.subarray(P));
      });
      using(new MMap(fd, 0, { offset: 3 * P }), (m) => {
        assert.equal(m.length, 10);
        assert.deepEqual(m.slice(), data.subarray(3 * P));
      });
    });
  });

  test("length and offset against the file size", { skip: WINDOWS && "Windows extends the file instead (test/windows.test.mjs)" }, async () => {
    const data = pattern(3 * P + 10);
    await withFile(data, "r+", ({ fd }) => {
      using(new MMap(fd, 5, { offset: 2 * P }), (m) => assert.deepEqual(m.slice(), data.subarray(2 * P, 2 * P + 5)));
      using(new MMap(fd, data.length), (m) => assert.equal(m.length, data.length));
      throwsCode(() => new MMap(fd, data.length + 1), RangeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => new MMap(fd, 11, { offset: 3 * P }), RangeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => new MMap(fd, 1, { offset: 4 * P }), RangeError, "ERR_INVALID_ARG_VALUE");
      // length 0 with offset >= size (aligned or not, the size check comes first)
      throwsCode(() => new MMap(fd, 0, { offset: 4 * P }), RangeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => new MMap(fd, 0, { offset: data.length }), RangeError, "ERR_INVALID_ARG_VALUE");
    });
    await withFile(pattern(2 * P), "r+", ({ fd }) => {
      throwsCode(() => new MMap(fd, 0, { offset: 2 * P }), RangeError, "ERR_INVALID_ARG_VALUE"); // equality too
    });
  });

  test("an empty file cannot be mapped", async () => {
    await withFile("", "r+", ({ fd }) => {
      throwsCode(() => new MMap(fd, 0), RangeError, "ERR_INVALID_ARG_VALUE");
      if (!WINDOWS) throwsCode(() => new MMap(fd, 5), RangeError, "ERR_INVALID_ARG_VALUE"); // Windows extends the file
    });
  });

  test("an offset that is not page aligned is refused by the kernel (EINVAL)", async () => {
    await withFile(pattern(3 * P), "r+", ({ fd }) => {
      const before = openFds();
      throwsSystem(() => new MMap(fd, 1, { offset: 1 }), "EINVAL", "mmap");
      throwsSystem(() => new MMap(fd, 0, { offset: P + 1 }), "EINVAL", "mmap");
      throwsSystem(() => new MMap(fd, 5, { offset: P / 2 }), "EINVAL", "mmap");
      assert.equal(openFds(), before, "the duplicate is closed on failure");
    });
  });

  test("anonymous: length 0 and offset 1 are EINVAL; an aligned offset is ignored", () => {
    throwsSystem(() => new MMap(-1, 0), "EINVAL", "mmap");
    throwsSystem(() => new MMap(-1, 10, { offset: 1 }), "EINVAL", "mmap");
    using(new MMap(-1, 10, { offset: P }), (m) => {
      assert.equal(m.length, 10);
      assert.ok(m.slice().every((b) => b === 0));
    });
  });

  test("an options object with a property that is not an option is refused before anything is mapped, as CPython refuses an unknown keyword argument", async (t) => {
    // A misspelt `access` or `flags` silently gave the default before: a map that writes through
    // to the file where the caller asked for a read-only or a private one.
    const f = tmpfile(Buffer.from("hello world\n"));
    const fd = fs.openSync(f, "r+");
    try {
      const before = openFds();
      for (const [opts, key] of [
        [{ acess: ACCESS_COPY }, "acess"],
        [{ access: ACCESS_READ, flag: 1 }, "flag"],
        [{ length: 3 }, "length"], // MMap.open's, not the constructor's
        [{ access: ACCESS_READ, nope: undefined }, "nope"],
      ]) {
        assert.throws(() => new MMap(fd, 0, opts), (e) => {
          assert.equal(Object.getPrototypeOf(e), TypeError.prototype);
          assert.equal(e.code, "ERR_INVALID_ARG_VALUE");
          assert.match(e.message, new RegExp(`'${key}' that is not an option of new MMap\\(\\)`));
          return true;
        });
      }
      for (const opts of [{ acces: ACCESS_READ }, { access: ACCESS_READ, sise: 100 }]) {
        throwsCode(() => MMap.open(f, opts), TypeError, "ERR_INVALID_ARG_VALUE");
        await rejectsCode(MMap.openAsync(f, opts), TypeError, "ERR_INVALID_ARG_VALUE");
      }
      assert.deepEqual(openFds(), before, "no descriptor left behind");
      assert.equal(fs.readFileSync(f, "utf8"), "hello world\n", "the file untouched (sise: not grown)");
      // Options read from the prototype, symbols and non-enumerable properties are not looked at.
      const proto = Object.create({ extra: 1 });
      proto.access = ACCESS_READ;
      Object.defineProperty(proto, "hidden", { value: 1, enumerable: false });
      proto[Symbol("tag")] = 1;
      using(new MMap(fd, 0, proto), (m) => assert.equal(m.length, 12));
      using(MMap.open(f, { length: 5, create: false, size: 12, access: ACCESS_READ }), (m) => assert.equal(m.length, 5));
    } finally {
      fs.closeSync(fd);
    }
    if (python === null) return t.skip("CPython 3.13 is not available (its refusal not compared)");
    const py = runPython(`
import mmap, os, json, sys
fd = os.open(sys.stdin.read().strip(), os.O_RDWR)
try:
    mmap.mmap(fd, 0, acess=1)
    print(json.dumps("ok"))
except TypeError as e:
    print(json.dumps(["TypeError", str(e)]))
`, f);
    assert.equal(py[0], "TypeError", "CPython refuses it with a TypeError too");
    assert.match(py[1], /acess/, "and names the keyword");
  });

  test("size and offset matrix matches CPython 3.13", async (t) => {
    if (python === null) return t.skip("CPython 3.13 is not available");
    const cases = [
      // [file size (null: anonymous), length, offset]
      [10, 0, 0], [10, 10, 0], [10, 5, 0], [10, 11, 0],
      [3 * P + 10, 0, P], [3 * P + 10, 0, 3 * P], [3 * P + 10, 10, 3 * P], [3 * P + 10, 11, 3 * P],
      [3 * P + 10, 0, 4 * P], [3 * P + 10, 1, 4 * P], [3 * P + 10, 0, 3 * P + 10], [3 * P + 10, 1, 1],
      [3 * P + 10, 0, P + 1], [3 * P + 10, 5, P / 2],
      [4 * P, 0, 4 * P], [4 * P, 1, 4 * P], [4 * P, P, 3 * P],
      [0, 0, 0], [0, 5, 0],
      [10, -1, 0], [10, 0, -P],
      [null, 0, 0], [null, 10, 1], [null, 10, P], [null, 10, 0],
    ];
    const files = cases.map(([size]) => (size === null ? null : tmpfile(pattern(size))));
    const py = runPython(
      `
import mmap, os, json, sys, errno
out = []
for c in json.load(sys.stdin):
    fd = -1 if c["path"] is None else os.open(c["path"], os.O_RDWR)
    try:
        m = mmap.mmap(fd, c["length"], offset=c["offset"])
        r = {"ok": len(m)}
        m.close()
    except OSError as e:
        r = {"err": "OSError", "code": errno.errorcode[e.errno]}
    except Exception as e:
        r = {"err": type(e).__name__}
    if fd != -1: os.close(fd)
    out.append(r)
print(json.dumps(out))
`,
      JSON.stringify(cases.map(([, length, offset], i) => ({ path: files[i], length, offset }))),
    );
    for (const [i, [size, length, offset]] of cases.entries()) {
      const label = `size ${size} length ${length} offset ${offset}: CPython ${JSON.stringify(py[i])}`;
      const fd = files[i] === null ? -1 : fs.openSync(files[i], "r+");
      try {
        const make = () => new MMap(fd, length, { offset });
        const r = py[i];
        if ("ok" in r) {
          const m = make();
          using(m, () => {
            assert.equal(m.length, r.ok, label);
            if (size !== null) assert.deepEqual(m.slice(), pattern(size).subarray(offset, offset + r.ok), label);
          });
        } else if (r.err === "ValueError") {
          assert.throws(make, (e) => e instanceof RangeError && e.code === "ERR_INVALID_ARG_VALUE", label);
        } else if (r.err === "OverflowError") {
          assert.throws(make, (e) => e instanceof RangeError && e.code === "ERR_OUT_OF_RANGE", label);
        } else {
          assert.equal(r.err, "OSError", label);
          assert.throws(make, (e) => assertSystemError(e, r.code, "mmap"), label);
        }
      } finally {
        if (fd !== -1) fs.closeSync(fd);
      }
    }
  });
});

// ------------------------------------------------------------------ 10. access modes

/** The operations of the access matrix, in JavaScript; each returns nothing useful. */
const WRITE_OPS = [
  ["write", (m) => m.write("XY")],
  ["writeByte", (m) => m.writeByte(0x5a)],
  ["set", (m) => m.set(0, 0x51)],
  ["setSlice", (m) => m.setSlice(1, 3, "RS")],
  ["move", (m) => m.move(8, 0, 2)],
];

/** What the write ops above make of 'abcdefghij' after read(3). */
function expectedAfterWrites() {
  const b = Buffer.from(TEXT, "latin1");
  b.write("XY", 3, "latin1");
  b[5] = 0x5a;
  b[0] = 0x51;
  b.write("RS", 1, "latin1");
  b.copyWithin(8, 0, 2);
  return b.toString("latin1");
}

const VARIANTS = [
  // name, options, derived access, writable, writes reach the file
  ["ACCESS_READ", { access: ACCESS_READ }, ACCESS_READ, false, false],
  ["ACCESS_WRITE", { access: ACCESS_WRITE }, ACCESS_WRITE, true, true],
  ["ACCESS_COPY", { access: ACCESS_COPY }, ACCESS_COPY, true, false],
  ["ACCESS_DEFAULT", { access: ACCESS_DEFAULT }, ACCESS_DEFAULT, true, true],
  ["no options", undefined, ACCESS_DEFAULT, true, true],
  ["prot PROT_READ", { prot: PROT_READ }, ACCESS_READ, false, false],
  ["prot PROT_WRITE", { prot: PROT_WRITE }, ACCESS_WRITE, true, true],
  ["flags MAP_PRIVATE", { flags: MAP_PRIVATE }, ACCESS_DEFAULT, true, false],
  ["explicit default flags and prot with ACCESS_READ", { flags: MAP_SHARED, prot: PROT_READ | PROT_WRITE, access: ACCESS_READ }, ACCESS_READ, false, false],
  ["explicit default flags and prot with ACCESS_COPY", { flags: MAP_SHARED, prot: PROT_READ | PROT_WRITE, access: ACCESS_COPY }, ACCESS_COPY, true, false],
];

/** Runs the access-matrix sequence on a fresh 'abcdefghij' file; returns what it observed. */
async function runMatrix(options) {
  return withFile(TEXT, "r+", ({ path: p, fd }) => {
    const m = new MMap(fd, 0, options);
    const ops = [];
    let read;
    try {
      read = m.read(3).toString("latin1");
      for (const [, op] of WRITE_OPS) {
        try {
          op(m);
          ops.push("ok");
        } catch (e) {
          ops.push(e);
        }
      }
      const mapAfter = m.slice().toString("latin1");
      const pos = m.tell();
      const find = m.find("g", 0);
      assert.equal(m.flush(), undefined);
      const fileAfterFlush = latin1(p);
      m.close();
      return { read, ops, mapAfter, pos, find, fileAfterFlush, fileAfterClose: latin1(p) };
    } finally {
      m.close();
    }
  });
}

describe("access modes (behaviour reference §10)", () => {
  for (const [name, options, access, writable, reaches] of VARIANTS) {
    test(`${name}: access ${access}, ${writable ? "writable" : "read-only"}, ${reaches ? "writes through" : "file unchanged"}`, async () => {
      await withFile(TEXT, "r+", ({ fd }) => {
        using(new MMap(fd, 0, options), (m) => assert.equal(m.access, access));
      });
      const r = await runMatrix(options);
      assert.equal(r.read, "abc");
      assert.equal(r.find, 6);
      if (writable) {
        assert.deepEqual(r.ops, WRITE_OPS.map(() => "ok"));
        assert.equal(r.mapAfter, expectedAfterWrites());
        assert.equal(r.pos, 6);
      } else {
        for (const e of r.ops) {
          assert.ok(e instanceof TypeError, `TypeError, got ${e}`);
          assert.equal(e.code, "ERR_MMAP_READ_ONLY");
        }
        assert.equal(r.mapAfter, TEXT);
        assert.equal(r.pos, 3);
      }
      const file = reaches ? expectedAfterWrites() : TEXT;
      assert.equal(r.fileAfterFlush, file);
      assert.equal(r.fileAfterClose, file);
    });
  }

  test("a write on ACCESS_READ is refused even at the end of the map", async () => {
    await withFile(TEXT, "r+", ({ path: p, fd }) => {
      using(new MMap(fd, 0, { access: ACCESS_READ }), (m) => {
        m.seek(0, 2);
        throwsCode(() => m.write("x"), TypeError, "ERR_MMAP_READ_ONLY");
        throwsCode(() => m.write(""), TypeError, "ERR_MMAP_READ_ONLY");
        throwsCode(() => m.writeByte(1), TypeError, "ERR_MMAP_READ_ONLY");
        throwsCode(() => m.set(100, 1), TypeError, "ERR_MMAP_READ_ONLY"); // the access check comes first
        throwsCode(() => m.move(0, 0, 100), TypeError, "ERR_MMAP_READ_ONLY");
        assert.equal(m.tell(), 10);
      });
      assert.equal(latin1(p), TEXT);
    });
  });

  test("the matrix matches CPython 3.13 (results, file contents, derived access in repr)", async (t) => {
    if (python === null) return t.skip("CPython 3.13 is not available");
    const files = VARIANTS.map(() => tmpfile(TEXT));
    const py = runPython(
      `
import mmap, os, json, sys
out = []
for c in json.load(sys.stdin):
    fd = os.open(c["path"], os.O_RDWR)
    m = mmap.mmap(fd, 0, **c["kw"])
    r = {"repr": repr(m), "read": m.read(3).decode("latin1"), "ops": []}
    def op(f):
        try:
            f(); r["ops"].append("ok")
        except Exception as e:
            r["ops"].append(type(e).__name__)
    op(lambda: m.write(b"XY"))
    op(lambda: m.write_byte(0x5a))
    def s(): m[0] = 0x51
    op(s)
    def sl(): m[1:3] = b"RS"
    op(sl)
    op(lambda: m.move(8, 0, 2))
    r["mapAfter"] = m[:].decode("latin1")
    r["pos"] = m.tell()
    r["find"] = m.find(b"g", 0)
    m.flush()
    with open(c["path"], "rb") as f: r["fileAfterFlush"] = f.read().decode("latin1")
    m.close(); os.close(fd)
    with open(c["path"], "rb") as f: r["fileAfterClose"] = f.read().decode("latin1")
    out.append(r)
print(json.dumps(out))
`,
      JSON.stringify(VARIANTS.map(([, options], i) => ({ path: files[i], kw: options ?? {} }))),
    );
    const names = ["ACCESS_DEFAULT", "ACCESS_READ", "ACCESS_WRITE", "ACCESS_COPY"];
    for (const [i, [name, options]] of VARIANTS.entries()) {
      const want = py[i];
      const got = await runMatrix(options);
      await withFile(TEXT, "r+", ({ fd }) => {
        using(new MMap(fd, 0, options), (m) => {
          assert.match(want.repr, new RegExp(`access=${names[m.access]},`), name);
          assert.match(inspect(m), new RegExp(`access: '${names[m.access]}'`), name);
        });
      });
      assert.equal(got.read, want.read, name);
      assert.deepEqual(
        got.ops.map((o) => (o === "ok" ? "ok" : o instanceof TypeError && o.code === "ERR_MMAP_READ_ONLY" ? "TypeError" : String(o))),
        want.ops,
        name,
      );
      assert.equal(got.mapAfter, want.mapAfter, name);
      assert.equal(got.pos, want.pos, name);
      assert.equal(got.find, want.find, name);
      assert.equal(got.fileAfterFlush, want.fileAfterFlush, name);
      assert.equal(got.fileAfterClose, want.fileAfterClose, name);
    }
  });

  test("invalid access values", async () => {
    await withFile(TEXT, "r+", ({ fd }) => {
      for (const bad of [4, -1, 100, 2 ** 31 - 1]) {
        throwsCode(() => new MMap(fd, 0, { access: bad }), RangeError, "ERR_INVALID_ARG_VALUE");
        throwsCode(() => new MMap(-1, 10, { access: bad }), RangeError, "ERR_INVALID_ARG_VALUE");
      }
      throwsCode(() => new MMap(fd, 0, { access: 1.5 }), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => new MMap(fd, 0, { access: "1" }), TypeError, "ERR_INVALID_ARG_TYPE");
    });
  });

  test("access together with non-default flags or prot is refused", async () => {
    await withFile(TEXT, "r+", ({ fd }) => {
      const before = openFds();
      for (const access of [ACCESS_READ, ACCESS_WRITE, ACCESS_COPY, 4]) {
        throwsCode(() => new MMap(fd, 0, { access, flags: MAP_PRIVATE }), RangeError, "ERR_INVALID_ARG_VALUE");
        throwsCode(() => new MMap(fd, 0, { access, prot: PROT_READ }), RangeError, "ERR_INVALID_ARG_VALUE");
        throwsCode(() => new MMap(fd, 0, { access, prot: PROT_WRITE, flags: MAP_SHARED }), RangeError, "ERR_INVALID_ARG_VALUE");
      }
      assert.equal(openFds(), before);
      // ACCESS_DEFAULT with any flags/prot is fine
      using(new MMap(fd, 0, { access: ACCESS_DEFAULT, flags: MAP_PRIVATE, prot: PROT_READ }), (m) => assert.equal(m.access, ACCESS_READ));
    });
  });

  test("read-only descriptor: DEFAULT and WRITE are EACCES, READ and COPY work", async () => {
    await withFile(TEXT, "r", ({ path: p, fd }) => {
      const before = openFds();
      for (const options of [undefined, { access: ACCESS_DEFAULT }, { access: ACCESS_WRITE }, { prot: PROT_WRITE }]) {
        throwsSystem(() => new MMap(fd, 0, options), "EACCES", "mmap");
      }
      assert.equal(openFds(), before, "no duplicate left open");
      using(new MMap(fd, 0, { access: ACCESS_READ }), (m) => assert.equal(m.slice().toString(), TEXT));
      using(new MMap(fd, 0, { access: ACCESS_COPY }), (m) => {
        m.write("zz");
        assert.equal(m.slice().toString(), "zzcdefghij");
      });
      // MAP_PRIVATE with write permission is allowed on a read-only descriptor
      using(new MMap(fd, 0, { flags: MAP_PRIVATE }), (m) => m.set(0, 0x30));
      assert.equal(latin1(p), TEXT);
      assert.equal(openFds(), before);
    });
  });
});

// ------------------------------------------------------------------ bad descriptors

describe("bad descriptors", () => {
  test("-2 and a closed descriptor are EBADF from dup", () => {
    assert.throws(() => fs.fstatSync(999), { code: "EBADF" });
    const before = openFds();
    throwsSystem(() => new MMap(-2, 10), "EBADF", "dup");
    throwsSystem(() => new MMap(999, 10), "EBADF", "dup");
    throwsSystem(() => new MMap(999, 0), "EBADF", "dup");
    assert.equal(openFds(), before);
  });

  test("a directory is ENODEV (EACCES with write access on its read-only descriptor)", { skip: WINDOWS && "POSIX errno of mmap on a directory" }, () => {
    const dir = freshDir();
    const fd = fs.openSync(dir, "r");
    try {
      throwsSystem(() => new MMap(fd, 10, { access: ACCESS_READ }), "ENODEV", "mmap");
      throwsSystem(() => new MMap(fd, 10, { access: ACCESS_COPY }), "ENODEV", "mmap");
      throwsSystem(() => new MMap(fd, 10), "EACCES", "mmap");
    } finally {
      fs.closeSync(fd);
    }
  });

  // memmap duplicates the descriptor before it applies the file-size rule (one fstat serves both
  // the rule and the file's identity); CPython applies the rule first. Out of descriptors, the
  // outcome must still be CPython's: the rule's error for an empty file or a range beyond it,
  // EMFILE from dup for a good request, and nothing left open.
  test("out of descriptors: the file-size rule's errors come before dup's EMFILE, as in CPython", { skip: WINDOWS && "ulimit -n" }, async (t) => {
    const empty = tmpfile("");
    const full = tmpfile(TEXT);
    const probe = (lang) =>
      lang === "node"
        ? `
import fs from "node:fs";
const { MMap } = await import(${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)});
const e = fs.openSync(process.argv[1], "r+"), f = fs.openSync(process.argv[2], "r+");
const ls = () => fs.readdirSync("/proc/self/fd").map((x) => { try { return x + ">" + fs.readlinkSync("/proc/self/fd/" + x); } catch { return x; } });
const before = ls();
const fill = [];
try { for (;;) fill.push(fs.openSync(process.argv[2], "r")); } catch (err) { if (err.code !== "EMFILE") throw err; }
const out = [];
for (const [fd, len] of [[e, 0], [f, 0], [f, 1 << 20], [f, 10]]) {
  try { const m = new MMap(fd, len); out.push({ ok: m.length }); m.close(); }
  catch (err) { out.push(err.syscall ? { errno: err.code, syscall: err.syscall } : { value: err.code }); }
}
for (const x of fill) fs.closeSync(x);
const after = ls();
process.stdout.write(JSON.stringify({ out, leaked: after.filter((x) => !before.includes(x)) }));
`
        : `
import mmap, os, sys, errno, json
e = os.open(sys.argv[1], os.O_RDWR); f = os.open(sys.argv[2], os.O_RDWR)
fill = []
try:
    while True: fill.append(os.open(sys.argv[2], os.O_RDONLY))
except OSError as err:
    assert err.errno == errno.EMFILE
out = []
for fd, n in [(e, 0), (f, 0), (f, 1 << 20), (f, 10)]:
    try:
        m = mmap.mmap(fd, n); out.append({"ok": len(m)}); m.close()
    except OSError as err: out.append({"errno": errno.errorcode[err.errno]})
    except ValueError: out.append({"value": True})
print(json.dumps(out))
`;
    const node = spawnSync("bash", ["-c", `ulimit -n 64 && exec "${process.execPath}" --input-type=module -e "$0" "$@"`, probe("node"), empty, full], { encoding: "utf8" });
    assert.equal(node.status, 0, node.stderr);
    const got = JSON.parse(node.stdout);
    assert.deepEqual(got.out, [
      { value: "ERR_INVALID_ARG_VALUE" },
      { errno: "EMFILE", syscall: "dup" },
      { value: "ERR_INVALID_ARG_VALUE" },
      { errno: "EMFILE", syscall: "dup" },
    ]);
    assert.deepEqual(got.leaked, [], "no descriptor left open by the failed maps");
    if (python === null) return t.skip("CPython 3.13 is not available");
    const py = spawnSync("bash", ["-c", `ulimit -n 64 && exec ${python.cmd} -c "$0" "$@"`, probe("python"), empty, full], { encoding: "utf8", env: python.env });
    assert.equal(py.status, 0, py.stderr);
    assert.deepEqual(
      JSON.parse(py.stdout),
      got.out.map((r) => ("value" in r ? { value: true } : { errno: r.errno })),
    );
  });

  test("system errors match CPython 3.13's errno", async (t) => {
    if (python === null) return t.skip("CPython 3.13 is not available");
    const file = tmpfile(TEXT);
    const dir = freshDir();
    const cases = [
      { kind: "num", num: -2, length: 10, kw: {}, syscall: "dup" },
      { kind: "num", num: 999, length: 10, kw: {}, syscall: "dup" },
      { kind: "dir", path: dir, length: 10, kw: { access: ACCESS_READ }, syscall: "mmap" },
      { kind: "dir", path: dir, length: 10, kw: {}, syscall: "mmap" },
      { kind: "ro", path: file, length: 0, kw: {}, syscall: "mmap" },
      { kind: "ro", path: file, length: 0, kw: { access: ACCESS_WRITE }, syscall: "mmap" },
      { kind: "ro", path: file, length: 0, kw: { access: ACCESS_READ } },
      { kind: "ro", path: file, length: 0, kw: { access: ACCESS_COPY } },
      { kind: "anon", length: 0, kw: {}, syscall: "mmap" },
      { kind: "rw", path: file, length: 0, kw: { flags: 0 }, syscall: "mmap" },
      { kind: "rw", path: file, length: 0, kw: { flags: MAP_SHARED | MAP_PRIVATE }, syscall: "mmap" },
    ];
    const py = runPython(
      `
import mmap, os, json, sys, errno
out = []
for c in json.load(sys.stdin):
    fd = None
    if c["kind"] == "anon": fileno = -1
    elif c["kind"] == "num": fileno = c["num"]
    else:
        fd = os.open(c["path"], os.O_RDWR if c["kind"] == "rw" else os.O_RDONLY)
        fileno = fd
    try:
        m = mmap.mmap(fileno, c["length"], **c["kw"])
        r = {"ok": len(m)}
        m.close()
    except OSError as e:
        r = {"code": errno.errorcode[e.errno]}
    if fd is not None: os.close(fd)
    out.append(r)
print(json.dumps(out))
`,
      JSON.stringify(cases),
    );
    for (const [i, c] of cases.entries()) {
      let fileno = c.kind === "anon" ? -1 : c.kind === "num" ? c.num : fs.openSync(c.path, c.kind === "rw" ? "r+" : "r");
      try {
        const make = () => new MMap(fileno, c.length, c.kw);
        if ("ok" in py[i]) using(make(), (m) => assert.equal(m.length, py[i].ok));
        else throwsSystem(make, py[i].code, c.syscall);
      } finally {
        if (c.kind !== "anon" && c.kind !== "num") fs.closeSync(fileno);
      }
    }
  });
});

// ------------------------------------------------------------------ 2.4 trackfd

describe("trackfd", () => {
  test("default: the map owns a close-on-exec duplicate; the caller may close theirs at once", { skip: WINDOWS && "reads /proc/self/fdinfo (close-on-exec)" }, async () => {
    const p = tmpfile(TEXT);
    const fd = fs.openSync(p, "r+");
    const before = openFds();
    const m = new MMap(fd, 0);
    try {
      assert.equal(openFds(), more(before, +1), "one new descriptor");
      assert.ok(m.fd >= 0);
      assert.notEqual(m.fd, fd);
      assert.ok(sameFile(m.fd, fd));
      assert.ok(fdFlags(m.fd) & O_CLOEXEC, "close-on-exec");
      assert.equal(childHasFd(m.fd), false, "a spawned child does not inherit it");
      // positive control: the child check sees a descriptor that is handed over
      const stdio = Array.from({ length: m.fd + 1 }, (_, i) => (i < 3 ? "pipe" : "ignore"));
      stdio[m.fd] = m.fd;
      assert.equal(childHasFd(m.fd, stdio), true);

      fs.closeSync(fd);
      assert.equal(m.size(), 10);
      m.write("XYZ");
      assert.equal(m.slice().toString(), "XYZdefghij");
      m.flush();
      assert.equal(latin1(p), "XYZdefghij");
      m.resize(12);
      assert.equal(fs.statSync(p).size, 12);
      const own = m.fd;
      const beforeClose = openFds();
      m.close();
      assert.equal(m.fd, -1);
      assert.equal(openFds(), beforeClose - 1, "close() closes the duplicate");
      assert.throws(() => fs.fstatSync(own), { code: "EBADF" });
    } finally {
      m.close();
    }
  });

  test("the positive control of fdinfo: Node's own descriptors are close-on-exec", { skip: WINDOWS && "reads /proc/self/fdinfo" }, async () => {
    await withFile(TEXT, "r", ({ fd }) => {
      assert.ok(fdFlags(fd) & O_CLOEXEC);
      assert.equal(fdFlags(fd) & O_ACCMODE, fs.constants.O_RDONLY);
    });
  });

  test("trackfd false: no duplicate, works after the caller closes its descriptor", async () => {
    const p = tmpfile(TEXT);
    const fd = fs.openSync(p, "r+");
    const before = openFds();
    const m = new MMap(fd, 0, { trackfd: false });
    try {
      assert.equal(openFds(), before, "no new descriptor");
      assert.equal(m.fd, -1);
      fs.closeSync(fd);
      assert.equal(m.read(3).toString(), "abc");
      m.write("XY");
      assert.equal(m.seek(0), 0);
      assert.equal(m.readline().toString(), "abcXYfghij");
      m.flush();
      assert.equal(latin1(p), "abcXYfghij");
      throwsCode(() => m.size(), Error, "ERR_MMAP_NO_FD");
      throwsCode(() => m.resize(20), TypeError, "ERR_MMAP_NOT_RESIZABLE");
      throwsCode(() => m.resize(5), TypeError, "ERR_MMAP_NOT_RESIZABLE");
      assert.equal(m.length, 10);
      assert.equal(fs.statSync(p).size, 10);
      m.close();
      assert.equal(openFds(), more(before, -1));
    } finally {
      m.close();
    }
  });

  test("trackfd false: the resize check comes before the access check; anonymous maps too", async () => {
    await withFile(TEXT, "r+", ({ fd }) => {
      using(new MMap(fd, 0, { trackfd: false, access: ACCESS_READ }), (m) => {
        throwsCode(() => m.resize(20), TypeError, "ERR_MMAP_NOT_RESIZABLE");
        throwsCode(() => m.size(), Error, "ERR_MMAP_NO_FD");
      });
    });
    using(new MMap(-1, 10, { trackfd: false }), (m) => {
      assert.equal(m.fd, -1);
      throwsCode(() => m.size(), Error, "ERR_MMAP_NO_FD");
      throwsCode(() => m.resize(5), TypeError, "ERR_MMAP_NOT_RESIZABLE");
    });
  });

  test("trackfd with a FileHandle: no duplicate with false", async () => {
    const fh = await fsp.open(tmpfile(TEXT), "r+");
    try {
      using(new MMap(fh, 0, { trackfd: false }), (m) => {
        assert.equal(m.fd, -1);
        assert.equal(m.slice(0, 3).toString(), "abc");
      });
    } finally {
      await fh.close();
    }
  });
});

// ------------------------------------------------------------------ options

describe("options", () => {
  test("wrong option types", async () => {
    await withFile(TEXT, "r+", ({ fd }) => {
      const before = openFds();
      for (const options of [5, "x", true, null, 5n]) {
        throwsCode(() => new MMap(fd, 0, options), TypeError, "ERR_INVALID_ARG_TYPE");
      }
      for (const key of ["flags", "prot", "access", "offset"]) {
        for (const bad of ["x", null, 1n, {}, true]) {
          throwsCode(() => new MMap(fd, 0, { [key]: bad }), TypeError, "ERR_INVALID_ARG_TYPE");
        }
        throwsCode(() => new MMap(fd, 0, { [key]: 1.5 }), RangeError, "ERR_OUT_OF_RANGE");
      }
      for (const bad of [1, 0, "true", null, {}]) {
        throwsCode(() => new MMap(fd, 0, { trackfd: bad }), TypeError, "ERR_INVALID_ARG_TYPE");
      }
      for (const bad of [2 ** 31, -(2 ** 31) - 1]) {
        throwsCode(() => new MMap(fd, 0, { flags: bad }), RangeError, "ERR_OUT_OF_RANGE");
        throwsCode(() => new MMap(fd, 0, { prot: bad }), RangeError, "ERR_OUT_OF_RANGE");
      }
      assert.equal(openFds(), before);
    });
  });

  test("undefined means the default for every option", async () => {
    await withFile(TEXT, "r+", ({ path: p, fd }) => {
      const before = openFds();
      const all = { flags: undefined, prot: undefined, access: undefined, offset: undefined, trackfd: undefined };
      for (const options of [undefined, {}, all]) {
        using(new MMap(fd, 0, options), (m) => {
          assert.equal(m.access, ACCESS_DEFAULT);
          assert.equal(m.offset, 0);
          assert.ok(m.fd >= 0, "trackfd defaults to true");
          assert.equal(openFds(), more(before, +1));
          assert.equal(m.length, 10);
          m.set(0, m.get(0) + 1); // writes (MAP_SHARED + PROT_WRITE): reach the file
          m.flush();
        });
      }
      assert.equal(latin1(p), "dbcdefghij");
      using(new MMap(fd, 0, all), (m) => assert.equal(m.size(), 10));
    });
  });
});

// ------------------------------------------------------------------ diagnostics_channel

describe("diagnostics_channel memmap:new", () => {
  /** Calls fn() with a subscriber; returns [events, error]. */
  function capture(fn) {
    const events = [];
    const onMessage = (msg) => events.push({ ...msg });
    dc.subscribe("memmap:new", onMessage);
    let error = null;
    try {
      const m = fn();
      m.close();
    } catch (e) {
      error = e;
    } finally {
      dc.unsubscribe("memmap:new", onMessage);
    }
    return [events, error];
  }

  test("publishes { fd, length, access, offset } with the derived access, before mapping", async () => {
    await withFile(pattern(2 * P), "r+", ({ fd }) => {
      let [ev, err] = capture(() => new MMap(fd, 0));
      assert.equal(err, null);
      assert.deepEqual(ev, [{ fd, length: 0, access: ACCESS_DEFAULT, offset: 0 }]);

      [ev] = capture(() => new MMap(fd, 5, { prot: PROT_READ, offset: P }));
      assert.deepEqual(ev, [{ fd, length: 5, access: ACCESS_READ, offset: P }]);

      [ev] = capture(() => new MMap(fd, 5, { prot: PROT_WRITE }));
      assert.deepEqual(ev, [{ fd, length: 5, access: ACCESS_WRITE, offset: 0 }]);

      [ev] = capture(() => new MMap(fd, 0, { access: ACCESS_COPY }));
      assert.deepEqual(ev, [{ fd, length: 0, access: ACCESS_COPY, offset: 0 }]);

      [ev] = capture(() => new MMap(-1, 7));
      assert.deepEqual(ev, [{ fd: -1, length: 7, access: ACCESS_DEFAULT, offset: 0 }]);
    });
  });

  test("published even when the mapping then fails; not for argument errors", { skip: WINDOWS && "Windows extends the file where this test expects a refusal" }, async () => {
    await withFile(TEXT, "r+", ({ fd }) => {
      let [ev, err] = capture(() => new MMap(fd, 100));
      assert.equal(err?.code, "ERR_INVALID_ARG_VALUE");
      assert.deepEqual(ev, [{ fd, length: 100, access: ACCESS_DEFAULT, offset: 0 }]);

      [ev, err] = capture(() => new MMap(fd, 4, { offset: 1 }));
      assert.equal(err?.code, "EINVAL");
      assert.deepEqual(ev, [{ fd, length: 4, access: ACCESS_DEFAULT, offset: 1 }]);

      [ev, err] = capture(() => new MMap(999, 4, { access: ACCESS_READ }));
      assert.equal(err?.code, "EBADF");
      assert.deepEqual(ev, [{ fd: 999, length: 4, access: ACCESS_READ, offset: 0 }]);

      [ev, err] = capture(() => new MMap(fd, -1));
      assert.equal(err?.code, "ERR_OUT_OF_RANGE");
      assert.deepEqual(ev, []);

      [ev, err] = capture(() => new MMap(fd, 0, { access: 4 }));
      assert.equal(err?.code, "ERR_INVALID_ARG_VALUE");
      assert.deepEqual(ev, []);
    });
  });

  test("a FileHandle publishes its descriptor number", async () => {
    const fh = await fsp.open(tmpfile(TEXT), "r+");
    try {
      const [ev, err] = capture(() => new MMap(fh, 3));
      assert.equal(err, null);
      assert.deepEqual(ev, [{ fd: fh.fd, length: 3, access: ACCESS_DEFAULT, offset: 0 }]);
    } finally {
      await fh.close();
    }
  });

  test("the events match CPython 3.13's mmap.__new__ audit events", async (t) => {
    if (python === null) return t.skip("CPython 3.13 is not available");
    const file = tmpfile(pattern(2 * P));
    const cases = [
      { fd: "file", length: 0, kw: {} },
      { fd: "file", length: 5, kw: { prot: PROT_READ, offset: P } },
      { fd: "file", length: 5, kw: { prot: PROT_WRITE } },
      { fd: "file", length: 0, kw: { access: ACCESS_COPY } },
      { fd: "file", length: 0, kw: { flags: MAP_PRIVATE } },
      { fd: "file", length: 3 * P, kw: {} },
      { fd: "file", length: 4, kw: { offset: 1 } },
      { fd: "file", length: -1, kw: {} },
      { fd: "file", length: 0, kw: { access: 4 } },
      { fd: "file", length: 0, kw: { access: ACCESS_READ, prot: PROT_READ } },
      { fd: -1, length: 7, kw: {} },
      { fd: 999, length: 4, kw: { access: ACCESS_READ } },
    ];
    const py = runPython(
      `
import mmap, os, json, sys
events = []
sys.addaudithook(lambda name, args: events.append(list(args)) if name == "mmap.__new__" else None)
data = json.load(sys.stdin)
fd = os.open(data["path"], os.O_RDWR)
out = []
for c in data["cases"]:
    del events[:]
    try:
        mmap.mmap(fd if c["fd"] == "file" else c["fd"], c["length"], **c["kw"]).close()
    except Exception:
        pass
    out.append([{"fd": "file" if e[0] == fd else e[0], "length": e[1], "access": e[2], "offset": e[3]} for e in events])
print(json.dumps(out))
`,
      JSON.stringify({ path: file, cases }),
    );
    const fd = fs.openSync(file, "r+");
    try {
      for (const [i, c] of cases.entries()) {
        const [ev] = capture(() => new MMap(c.fd === "file" ? fd : c.fd, c.length, c.kw));
        assert.deepEqual(
          ev.map((e) => ({ ...e, fd: e.fd === fd ? "file" : e.fd })),
          py[i],
          JSON.stringify(c),
        );
      }
    } finally {
      fs.closeSync(fd);
    }
  });
});

// ------------------------------------------------------------------ MMap.open / openAsync

const openers = [
  ["MMap.open", (p, o) => MMap.open(p, o)],
  ["MMap.openAsync", (p, o) => MMap.openAsync(p, o)],
];

for (const [name, open] of openers) {
  /** Asserts that open(p, o) fails with (Class, code), leaving no descriptor behind. */
  const fails = async (p, o, Class, code) => {
    const before = openFds();
    let thrown = null;
    try {
      (await open(p, o)).close();
    } catch (e) {
      thrown = e;
    }
    assert.ok(thrown !== null, `${name} should fail`);
    assert.ok(thrown instanceof Class, `${Class.name}: ${thrown}`);
    assert.equal(thrown.code, code, thrown.message);
    assert.equal(openFds(), before, "no descriptor leaked");
    return thrown;
  };

  describe(name, () => {
    test("maps the whole file read-write; only the map's own descriptor stays open", { skip: WINDOWS && "reads /proc/self/fdinfo (access mode, close-on-exec)" }, async () => {
      const p = tmpfile(TEXT);
      const before = openFds();
      const m = await open(p);
      await using(m, () => {
        assert.equal(openFds(), more(before, +1));
        assert.equal(m.length, 10);
        assert.equal(m.access, ACCESS_DEFAULT);
        assert.equal(m.slice().toString(), TEXT);
        assert.equal(fdFlags(m.fd) & O_ACCMODE, fs.constants.O_RDWR);
        assert.ok(fdFlags(m.fd) & O_CLOEXEC);
        m.write("XY");
        m.flush();
        assert.equal(m.size(), 10);
      });
      assert.equal(openFds(), before);
      assert.equal(latin1(p), "XYcdefghij");
    });

    test("ACCESS_READ and ACCESS_COPY open read-only (a 0o444 file works)", async () => {
      for (const access of [ACCESS_READ, ACCESS_COPY]) {
        const p = tmpfile(TEXT);
        fs.chmodSync(p, 0o444);
        const before = openFds();
        const m = await open(p, { access });
        await using(m, () => {
          assert.equal(openFds(), more(before, +1));
          assert.equal(m.access, access);
          assert.equal(fdFlags(m.fd) & O_ACCMODE, fs.constants.O_RDONLY, "opened read-only");
          assert.equal(m.slice().toString(), TEXT);
          if (access === ACCESS_READ) throwsCode(() => m.write("x"), TypeError, "ERR_MMAP_READ_ONLY");
          else m.write("x");
        });
        assert.equal(openFds(), before);
        assert.equal(latin1(p), TEXT);
      }
    });

    test("prot without PROT_WRITE opens read-only too", async () => {
      const p = tmpfile(TEXT);
      const m = await open(p, { prot: PROT_READ });
      await using(m, () => {
        assert.equal(m.access, ACCESS_READ);
        assert.equal(fdFlags(m.fd) & O_ACCMODE, fs.constants.O_RDONLY);
      });
    });

    test("length and offset", async () => {
      const data = pattern(3 * P + 7);
      const p = tmpfile(data);
      let m = await open(p, { offset: P });
      await using(m, () => assert.deepEqual(m.slice(), data.subarray(P)));
      m = await open(p, { offset: 2 * P, length: 5, access: ACCESS_READ });
      await using(m, () => {
        assert.equal(m.offset, 2 * P);
        assert.deepEqual(m.slice(), data.subarray(2 * P, 2 * P + 5));
      });
    });

    test("create: true creates a missing file (size makes it non-empty)", async () => {
      const p = path.join(freshDir(), "new.bin");
      const m = await open(p, { create: true, size: 100 });
      await using(m, () => {
        assert.equal(m.length, 100);
        assert.ok(m.slice().every((b) => b === 0));
        m.write("hi");
      });
      assert.equal(fs.statSync(p).size, 100);
      assert.equal(fs.readFileSync(p).subarray(0, 3).toString("latin1"), "hi\0");
      // an existing file is left as it is
      const q = tmpfile(TEXT);
      const m2 = await open(q, { create: true });
      await using(m2, () => assert.equal(m2.slice().toString(), TEXT));
    });

    test("create: true without size on a missing file fails as an empty file, without leaking", async () => {
      const p = path.join(freshDir(), "empty.bin");
      await fails(p, { create: true }, RangeError, "ERR_INVALID_ARG_VALUE");
    });

    test("size extends a shorter file with zeros and never shrinks", async () => {
      const p = tmpfile("abc");
      let m = await open(p, { size: 10 });
      await using(m, () => {
        assert.equal(m.length, 10);
        assert.equal(m.slice().toString("latin1"), "abc\0\0\0\0\0\0\0");
      });
      assert.equal(fs.statSync(p).size, 10);
      m = await open(p, { size: 4 });
      await using(m, () => assert.equal(m.length, 10));
      assert.equal(fs.statSync(p).size, 10);
      // size with a read-only access still extends the file
      m = await open(p, { size: 12, access: ACCESS_READ });
      await using(m, () => {
        assert.equal(m.length, 12);
        assert.equal(m.access, ACCESS_READ);
      });
      assert.equal(fs.statSync(p).size, 12);
    });

    test("trackfd: false keeps no descriptor open", async () => {
      const p = tmpfile(TEXT);
      const before = openFds();
      const m = await open(p, { trackfd: false });
      await using(m, () => {
        assert.equal(openFds(), before, "no descriptor stays open");
        assert.equal(m.fd, -1);
        assert.equal(m.slice().toString(), TEXT);
        throwsCode(() => m.size(), Error, "ERR_MMAP_NO_FD");
      });
      assert.equal(openFds(), before);
    });

    test("a missing file without create is ENOENT with the path", async () => {
      const p = path.join(freshDir(), "missing.bin");
      const e = await fails(p, undefined, Error, "ENOENT");
      assert.equal(e.path, p);
      assert.equal(e.errno, errnoOf("ENOENT"));
      assert.equal(typeof e.syscall, "string");
      assert.equal(fs.existsSync(p), false);
    });

    test("failure paths leak no descriptor", { skip: WINDOWS && "Windows extends a file shorter than the map (test/windows.test.mjs)" }, async () => {
      const empty = tmpfile("");
      await fails(empty, undefined, RangeError, "ERR_INVALID_ARG_VALUE");
      await fails(empty, { access: ACCESS_READ }, RangeError, "ERR_INVALID_ARG_VALUE");
      const p = tmpfile(pattern(2 * P));
      await fails(p, { offset: 1 }, Error, "EINVAL");
      await fails(p, { offset: 3 * P }, RangeError, "ERR_INVALID_ARG_VALUE");
      await fails(p, { length: 3 * P }, RangeError, "ERR_INVALID_ARG_VALUE");
      await fails(p, { access: ACCESS_READ, flags: MAP_PRIVATE }, RangeError, "ERR_INVALID_ARG_VALUE");
      await fails(p, { access: 7 }, RangeError, "ERR_INVALID_ARG_VALUE");
      await fails(p, { length: -1 }, RangeError, "ERR_OUT_OF_RANGE");
      await fails(p, { size: -1 }, RangeError, "ERR_OUT_OF_RANGE");
      await fails(p, { flags: "x" }, TypeError, "ERR_INVALID_ARG_TYPE");
      await fails(p, { trackfd: 1 }, TypeError, "ERR_INVALID_ARG_TYPE");
      await fails(p, { create: 1 }, TypeError, "ERR_INVALID_ARG_TYPE");
      await fails(p, 5, TypeError, "ERR_INVALID_ARG_TYPE");
      await fails(42, undefined, TypeError, "ERR_INVALID_ARG_TYPE");
      await fails(freshDir(), { access: ACCESS_READ, length: 10 }, Error, "ENODEV");
      await fails(freshDir(), { access: ACCESS_READ }, Error, "EINVAL"); // not a regular file: length 0 reaches mmap
      assert.equal(fs.statSync(p).size, 2 * P);
    });

    /** The file at `p` as a test compares it: missing, or its bytes. */
    const stateOf = (p) => (fs.existsSync(p) ? fs.readFileSync(p) : "missing");
    /** `fails`, and the file at `p` is as it was: existence, size and contents. */
    const failsUnchanged = async (p, o, Class, code) => {
      const before = stateOf(p);
      const e = await fails(p, o, Class, code);
      assert.deepEqual(stateOf(p), before, `${JSON.stringify(o)}: the file is as it was`);
      return e;
    };
    /** The error the constructor throws for `options` with a descriptor of a 3-byte file. */
    const constructorError = (options) => {
      const fd = fs.openSync(tmpfile("xyz"), "r+");
      try {
        new MMap(fd, 0, options).close();
      } catch (e) {
        return e;
      } finally {
        fs.closeSync(fd);
      }
      assert.fail(`the constructor took ${JSON.stringify(options)}`);
    };

    test("a refused option is refused before the file is opened: nothing is created, grown or leaked", async () => {
      const bad = [
        { access: 7 },
        { offset: -P },
        { offset: 1.5 },
        { flags: 0x10 },
        { flags: "x" },
        { prot: 0x100 },
        { access: ACCESS_READ, flags: MAP_PRIVATE },
        { trackfd: "yes" },
        { tagname: 5 },
        { tagname: "a\0b" },
        { shareable: true },
        { shareable: "yes" },
      ];
      // A tag names shared memory, not a file's mapping, on POSIX systems (Windows maps the file under the tag).
      if (!WINDOWS) bad.push({ tagname: "memmap-open-tag" });
      const dir = freshDir();
      for (const o of bad) {
        const want = constructorError(o);
        const p = tmpfile("abc");
        const missing = path.join(dir, `missing-${bad.indexOf(o)}.bin`);
        for (const [q, extra] of [
          [p, { size: 1 << 20 }],
          [p, { size: 1 << 20, create: true }],
          [missing, { create: true }],
          [missing, { create: true, size: P }],
          [missing, {}],
        ]) {
          const e = await failsUnchanged(q, { ...extra, ...o }, want.constructor, want.code);
          assert.equal(Object.getPrototypeOf(e), want.constructor.prototype, JSON.stringify(o));
          assert.equal(e.message, want.message, "the constructor's message");
        }
      }
      // The options of open itself, too.
      const p = tmpfile("abc");
      await failsUnchanged(p, { size: 1 << 20, length: -1 }, RangeError, "ERR_OUT_OF_RANGE");
      await failsUnchanged(p, { size: 1 << 20, create: "yes" }, TypeError, "ERR_INVALID_ARG_TYPE");
      await failsUnchanged(path.join(dir, "new.bin"), { create: true, size: -1 }, RangeError, "ERR_OUT_OF_RANGE");
    });

    test("tagname is taken as the constructor takes it with a file descriptor", async () => {
      const p = tmpfile(TEXT);
      await failsUnchanged(p, { tagname: 5 }, TypeError, "ERR_INVALID_ARG_TYPE");
      const m = await open(p, { tagname: "" }); // no name
      await using(m, () => assert.equal(m.slice().toString(), TEXT));
    });

    test("a map refused once the file was opened puts back what the call changed", { skip: WINDOWS && "Windows extends a file shorter than the map (test/windows.test.mjs)" }, async () => {
      const dir = freshDir();
      // Grown, then refused: the size (and so the contents) is put back.
      for (const [o, Class, code] of [
        [{ size: 2 * P, offset: 1 }, Error, "EINVAL"],
        [{ size: P, length: 2 * P }, RangeError, "ERR_INVALID_ARG_VALUE"],
        [{ size: P, offset: P }, RangeError, "ERR_INVALID_ARG_VALUE"],
        [{ size: P, length: P, offset: P }, RangeError, "ERR_INVALID_ARG_VALUE"],
      ]) {
        await failsUnchanged(tmpfile("abc"), o, Class, code);
        // Created, then refused: the file is removed.
        const q = path.join(dir, "created.bin");
        await failsUnchanged(q, { ...o, create: true }, Class, code);
        assert.equal(fs.existsSync(q), false);
      }
      const q = path.join(dir, "created.bin");
      await failsUnchanged(q, { create: true }, RangeError, "ERR_INVALID_ARG_VALUE"); // an empty file
      await failsUnchanged(q, { create: true, access: ACCESS_READ }, RangeError, "ERR_INVALID_ARG_VALUE");
      // An existing file is not this call's to remove, nor is a file it did not grow cut.
      const empty = tmpfile("");
      await failsUnchanged(empty, { create: true }, RangeError, "ERR_INVALID_ARG_VALUE");
      assert.equal(fs.existsSync(empty), true);
      const big = tmpfile(pattern(P));
      await failsUnchanged(big, { size: 10, offset: 1 }, Error, "EINVAL");
    });

    test("what another process changed meanwhile is left alone", { skip: WINDOWS && "Windows extends a file shorter than the map (test/windows.test.mjs)" }, async () => {
      // memmap:new is published inside the constructor, after the file was opened and sized and
      // before the map fails: a subscriber stands for another process acting in that window.
      const during = async (p, o, act) => {
        const onMessage = () => act();
        dc.subscribe("memmap:new", onMessage);
        try {
          return await fails(p, o, Error, "EINVAL");
        } finally {
          dc.unsubscribe("memmap:new", onMessage);
        }
      };
      // Grown further by someone else: not cut back.
      const p = tmpfile("abc");
      await during(p, { size: P, offset: 1 }, () => fs.appendFileSync(p, "more"));
      assert.equal(fs.statSync(p).size, P + 4);
      // Shrunk by someone else: not grown back or cut.
      const r = tmpfile("abc");
      await during(r, { size: P, offset: 1 }, () => fs.truncateSync(r, 2));
      assert.equal(latin1(r), "ab");
      // Created here, then replaced at its path by another file: the other file stays.
      const dir = freshDir();
      const q = path.join(dir, "created.bin");
      await during(q, { create: true, size: P, offset: 1 }, () => {
        fs.renameSync(q, path.join(dir, "moved.bin"));
        fs.writeFileSync(q, "theirs");
      });
      assert.equal(latin1(q), "theirs");
      // Created here and written by someone else: it stays.
      const w = path.join(dir, "written.bin");
      await during(w, { create: true, size: P, offset: 1 }, () => fs.appendFileSync(w, "x"));
      assert.equal(fs.statSync(w).size, P + 1);
    });

    test("a FIFO is refused at once, never waited on (found by an attack: a read-only open of a FIFO hung)", { skip: WINDOWS && "no FIFOs" }, () => {
      const fifo = path.join(freshDir(), "fifo");
      if (spawnSync("mkfifo", [fifo]).status !== 0) return;
      // In a child: before the fix the read-only open waited for a writer forever.
      const code = `
        import fs from "node:fs";
        import { MMap, ACCESS_READ, ACCESS_COPY, PROT_READ } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
        // The descriptors open on the FIFO (the process's others come and go: one closed by Node
        // meanwhile read as -1 here once)
        const fds = () => fs.readdirSync("/proc/self/fd").filter((n) => { try { return fs.readlinkSync("/proc/self/fd/" + n) === process.argv[1]; } catch { return false; } }).length;
        const before = fds();
        const out = [];
        for (const o of [{ access: ACCESS_READ }, { access: ACCESS_COPY }, { prot: PROT_READ }, {}, { access: ACCESS_READ, length: 4096 }, { create: true, access: ACCESS_READ }]) {
          try {
            (await ${name}(process.argv[1], o)).close();
            out.push("mapped");
          } catch (e) {
            out.push(e.code + " " + e.syscall);
          }
        }
        console.log(JSON.stringify({ out, leaked: fds() - before }));
      `;
      const r = runNode(["--input-type=module", "-e", code, fifo], { timeout: 30_000 });
      assert.equal(r.signal, null, "the child ended by itself (no hang)");
      assert.equal(r.status, 0, r.stderr);
      const { out, leaked } = JSON.parse(r.stdout);
      // Not a regular file: length 0 reaches mmap (EINVAL), a length is ENODEV, as CPython's mmap of the descriptor.
      assert.deepEqual(out, ["EINVAL mmap", "EINVAL mmap", "EINVAL mmap", "EINVAL mmap", "ENODEV mmap", "EINVAL mmap"]);
      assert.equal(leaked, 0, "no descriptor left open");
      assert.equal(fs.lstatSync(fifo).isFIFO(), true);
    });

    test("create through a dangling symbolic link creates its target, and removes it again when the map fails (found by an attack)", { skip: WINDOWS && "symbolic links need privileges" }, async () => {
      const dir = freshDir();
      fs.mkdirSync(path.join(dir, "sub"));
      const link = path.join(dir, "link");
      const target = path.join(dir, "target.bin");
      fs.symlinkSync("target.bin", link);
      // Before the fix, each left an empty target.bin behind.
      await failsUnchanged(link, { create: true }, RangeError, "ERR_INVALID_ARG_VALUE");
      await failsUnchanged(link, { create: true, access: ACCESS_READ }, RangeError, "ERR_INVALID_ARG_VALUE");
      await failsUnchanged(link, { create: true, size: P, offset: 1 }, Error, "EINVAL");
      await failsUnchanged(link, { create: true, size: P, length: 2 * P }, RangeError, "ERR_INVALID_ARG_VALUE");
      assert.equal(fs.existsSync(target), false);
      assert.equal(fs.readlinkSync(link), "target.bin", "the link stays");
      // A chain of links, relative to their own directories, from a Buffer path.
      fs.symlinkSync("sub/hop", path.join(dir, "chain"));
      fs.symlinkSync("../target.bin", path.join(dir, "sub", "hop"));
      await failsUnchanged(Buffer.from(path.join(dir, "chain")), { create: true, size: P, offset: 1 }, Error, "EINVAL");
      assert.equal(fs.existsSync(target), false);
      // A map that works creates the target, as O_CREAT would.
      const m = await open(path.join(dir, "chain"), { create: true, size: P });
      await using(m, () => assert.equal(m.length, P));
      assert.equal(fs.statSync(target).size, P);
      assert.equal(fs.lstatSync(link).isSymbolicLink(), true);
      // A loop of links is ELOOP, a link into a missing directory ENOENT: nothing made.
      fs.symlinkSync("loop2", path.join(dir, "loop1"));
      fs.symlinkSync("loop1", path.join(dir, "loop2"));
      await fails(path.join(dir, "loop1"), { create: true, size: P }, Error, "ELOOP");
      fs.symlinkSync("nodir/x", path.join(dir, "nowhere"));
      await fails(path.join(dir, "nowhere"), { create: true, size: P }, Error, "ENOENT");
      assert.deepEqual(fs.readdirSync(dir).sort(), ["chain", "link", "loop1", "loop2", "nowhere", "sub", "target.bin"]);
    });

    test("the path is read once: what the caller changes meanwhile (its Buffer, the working directory) does not change the file a failed call removes (found by an attack)", { skip: WINDOWS && "Windows extends a file shorter than the map (test/windows.test.mjs)" }, async () => {
      const dir = freshDir();
      const other = freshDir();
      const cwd = process.cwd();
      // Runs `act` inside the call, after the file was created and before the map fails.
      const during = async (p, o, act, Class, code) => {
        const onMessage = () => act();
        dc.subscribe("memmap:new", onMessage);
        try {
          return await fails(p, o, Class, code);
        } finally {
          dc.unsubscribe("memmap:new", onMessage);
          process.chdir(cwd);
        }
      };
      // A Buffer path rewritten by its owner: before the fix the created file stayed and the error named the new path.
      const buf = Buffer.from(path.join(dir, "aaa.bin"));
      const e = await during(buf, { create: true }, () => buf.write(path.join(dir, "bbb.bin")), RangeError, "ERR_INVALID_ARG_VALUE");
      assert.match(e.message, /aaa\.bin/);
      assert.deepEqual(fs.readdirSync(dir), []);
      // A relative path, and the working directory changed meanwhile.
      process.chdir(dir);
      await during("rel.bin", { create: true, size: P, offset: 1 }, () => process.chdir(other), Error, "EINVAL");
      assert.deepEqual(fs.readdirSync(dir), []);
      assert.deepEqual(fs.readdirSync(other), []);
      // openAsync's open runs in the thread pool, after a chdir that follows the call.
      process.chdir(dir);
      try {
        const pr = (async () => open("rel.bin", { create: true }))(); // MMap.open throws here, before the chdir
        process.chdir(other);
        await assert.rejects(pr, (err) => err.code === "ERR_INVALID_ARG_VALUE");
      } finally {
        process.chdir(cwd);
      }
      assert.deepEqual(fs.readdirSync(dir), []);
      assert.deepEqual(fs.readdirSync(other), []);
      // A file URL, percent-encoded, is its path.
      const q = path.join(dir, "a b%.bin");
      fs.writeFileSync(q, TEXT);
      const m = await open(new URL(`file://${dir}/a%20b%25.bin`), { access: ACCESS_READ });
      await using(m, () => assert.equal(m.slice().toString(), TEXT));
      await fails(new URL("http://example.com/x"), undefined, TypeError, "ERR_INVALID_URL_SCHEME");
      await fails(new URL(`file://${dir}/a%2Fb`), undefined, TypeError, "ERR_INVALID_FILE_URL_PATH");
    });

    test("a path given as any Uint8Array is taken, as fs takes it: this realm's, another realm's (vm), one from structuredClone or a worker, one at a byteOffset (found by a pass on realms: ERR_INVALID_ARG_TYPE before)", async () => {
      const p = tmpfile(TEXT);
      const bytes = Buffer.from(p);
      const padded = new Uint8Array(bytes.length + 6);
      padded.set(bytes, 3);
      const paths = {
        uint8array: new Uint8Array(bytes),
        otherRealm: runInNewContext(`new Uint8Array([${[...bytes]}])`),
        cloned: structuredClone(bytes), // what a worker receives for a Buffer: a plain Uint8Array
        atOffset: padded.subarray(3, 3 + bytes.length),
      };
      for (const [label, u8] of Object.entries(paths)) {
        fs.closeSync(fs.openSync(u8, "r")); // node:fs takes each of them
        const m = await open(u8, { access: ACCESS_READ });
        await using(m, () => assert.equal(m.slice().toString(), TEXT, label));
      }
      // Read once, as a Buffer is: the caller's array changed inside the call names no other file.
      const dir = freshDir();
      const u8 = new Uint8Array(Buffer.from(path.join(dir, "aaa.bin")));
      const onMessage = () => u8.set(Buffer.from("bbb.bin"), u8.length - 7);
      dc.subscribe("memmap:new", onMessage);
      try {
        const e = await fails(u8, { create: true }, RangeError, "ERR_INVALID_ARG_VALUE");
        assert.match(e.message, /aaa\.bin/);
      } finally {
        dc.unsubscribe("memmap:new", onMessage);
      }
      assert.deepEqual(fs.readdirSync(dir), []);
      // Other typed arrays are no path, for fs nor here.
      for (const other of [new Uint16Array(4), new Uint8ClampedArray(bytes), new DataView(bytes.buffer)]) {
        assert.throws(() => fs.openSync(other, "r"), { code: "ERR_INVALID_ARG_TYPE" });
        await fails(other, undefined, TypeError, "ERR_INVALID_ARG_TYPE");
      }
    });

    test("a read-only map asked for a size the file already has does not need to write it (found by an attack: EACCES)", { skip: WINDOWS && "POSIX permissions" }, () => {
      const p = tmpfile(TEXT);
      fs.chmodSync(p, 0o444);
      // A child that may not write a 0o444 file: root ignores permissions unless it drops CAP_DAC_OVERRIDE.
      const root = process.getuid?.() === 0;
      if (root && spawnSync("setpriv", ["--version"]).status !== 0) return;
      const code = `
        import fs from "node:fs";
        import { MMap, ACCESS_READ, ACCESS_COPY, ACCESS_WRITE, PROT_READ } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
        const fds = () => fs.readdirSync("/proc/self/fd").length;
        const before = fds();
        const out = [];
        for (const o of [{ access: ACCESS_READ, size: 10 }, { access: ACCESS_COPY, size: 4 }, { prot: PROT_READ, size: 0 }, { access: ACCESS_READ, size: 11 }, { access: ACCESS_WRITE, size: 4 }, { access: ACCESS_READ, size: 4, create: true }]) {
          try {
            const m = await ${name}(process.argv[1], o);
            out.push(m.slice().toString());
            m.close();
          } catch (e) {
            out.push(e.code + " " + e.syscall);
          }
        }
        console.log(JSON.stringify({ out, leaked: fds() - before }));
      `;
      const argv = ["--input-type=module", "-e", code, p];
      const r = root
        ? spawnSync("setpriv", ["--bounding-set=-dac_override", "--inh-caps=-dac_override", process.execPath, ...argv], { encoding: "utf8", timeout: 60_000 })
        : runNode(argv);
      assert.equal(r.status, 0, r.stderr);
      const { out, leaked } = JSON.parse(r.stdout);
      // Growing needs writing: refused as before (size 11), and a writable map (ACCESS_WRITE) too.
      assert.deepEqual(out, [TEXT, TEXT, TEXT, "EACCES open", "EACCES open", TEXT]);
      assert.equal(leaked, 0);
      assert.equal(latin1(p), TEXT);
    });
  });
}

test("MMap.openAsync returns a promise and rejects (does not throw) on bad arguments", async () => {
  const pr = MMap.openAsync(42);
  assert.ok(pr instanceof Promise);
  await rejectsCode(pr, TypeError, "ERR_INVALID_ARG_TYPE");
});

// ------------------------------------------------------------------ 12. constants

describe("constants (behaviour reference §12)", () => {
  test("every constant CPython 3.13 exposes, with equal values, as named exports and in `constants`", async (t) => {
    if (python === null) return t.skip("CPython 3.13 is not available");
    const py = runPython(`
import mmap, json
print(json.dumps({k: getattr(mmap, k) for k in dir(mmap) if k.isupper()}))
`);
    assert.ok(Object.keys(py).length > 20);
    for (const [name, value] of Object.entries(py)) {
      assert.equal(memmap[name], value, `named export ${name}`);
      assert.equal(constants[name], value, `constants.${name}`);
    }
    const expected = new Set([...Object.keys(py), "MS_SYNC", "MS_ASYNC", "MS_INVALIDATE"]);
    assert.deepEqual(new Set(Object.keys(constants)), expected, "the same set of names");
  });

  test("ACCESS_* are 0..3, PAGESIZE and ALLOCATIONGRANULARITY are the page size", { skip: WINDOWS && "Windows: ALLOCATIONGRANULARITY is 64 KiB (test/windows.test.mjs)" }, () => {
    assert.deepEqual([ACCESS_DEFAULT, ACCESS_READ, ACCESS_WRITE, ACCESS_COPY], [0, 1, 2, 3]);
    assert.deepEqual(
      [constants.ACCESS_DEFAULT, constants.ACCESS_READ, constants.ACCESS_WRITE, constants.ACCESS_COPY],
      [0, 1, 2, 3],
    );
    const r = spawnSync("getconf", ["PAGESIZE"], { encoding: "utf8" });
    assert.equal(r.status, 0);
    assert.equal(PAGESIZE, Number(r.stdout.trim()));
    assert.equal(ALLOCATIONGRANULARITY, PAGESIZE);
    for (const [name, value] of Object.entries(constants)) {
      assert.ok(Number.isInteger(value), name);
      assert.equal(memmap[name], value, name);
    }
  });

  test("MS_SYNC, MS_ASYNC, MS_INVALIDATE are the platform's msync flags", { skip: WINDOWS && "Windows has no msync: memmap's own values, flags ignored (test/windows.test.mjs)" }, () => {
    const header = "/usr/include/asm-generic/mman-common.h";
    const values = [MS_SYNC, MS_ASYNC, MS_INVALIDATE];
    for (const v of values) assert.ok(Number.isInteger(v) && v > 0 && (v & (v - 1)) === 0, "a single bit");
    assert.equal(new Set(values).size, 3);
    if (fs.existsSync(header)) {
      const h = fs.readFileSync(header, "utf8");
      for (const [name, v] of [["MS_SYNC", MS_SYNC], ["MS_ASYNC", MS_ASYNC], ["MS_INVALIDATE", MS_INVALIDATE]]) {
        const m = new RegExp(`#define\\s+${name}\\s+(\\d+)`).exec(h);
        assert.ok(m, name);
        assert.equal(v, Number(m[1]), name);
      }
    }
    // the kernel accepts each alone and refuses SYNC together with ASYNC
    using(new MMap(-1, P), (m) => {
      for (const flags of values) assert.equal(m.flush(0, P, { flags }), undefined);
      throwsSystem(() => m.flush(0, P, { flags: MS_SYNC | MS_ASYNC }), "EINVAL", "msync");
    });
  });
});

// ------------------------------------------------------------------ util.inspect

describe("util.inspect", () => {
  test("shows closed, access name, length, pos and offset; closed: true after close", async () => {
    await withFile(pattern(2 * P), "r+", ({ fd }) => {
      const m = new MMap(fd, 10, { offset: P, access: ACCESS_READ });
      m.seek(3);
      const s = inspect(m);
      assert.match(s, /closed: false/);
      assert.match(s, /access: 'ACCESS_READ'/);
      assert.match(s, /length: 10\b/);
      assert.match(s, /pos: 3\b/);
      assert.match(s, new RegExp(`offset: ${P}\\b`));
      m.close();
      const c = inspect(m);
      assert.match(c, /closed: true/);
      assert.doesNotMatch(c, /closed: false/);
    });
    const a = new MMap(-1, 33, { prot: PROT_READ });
    const s = inspect(a);
    assert.match(s, /access: 'ACCESS_READ'/);
    assert.match(s, /length: 33\b/);
    assert.match(s, /pos: 0\b/);
    assert.match(s, /offset: 0\b/);
    a.close();
  });

  test("the fields match CPython 3.13's repr", async (t) => {
    if (python === null) return t.skip("CPython 3.13 is not available");
    const p = tmpfile(pattern(2 * P));
    const py = runPython(
      `
import mmap, os, json, sys
p = sys.stdin.read()
fd = os.open(p, os.O_RDWR)
out = []
for kw, pos in [({}, 0), ({"access": mmap.ACCESS_COPY, "offset": 4096}, 7), ({"prot": mmap.PROT_WRITE}, 4096)]:
    m = mmap.mmap(fd, 0, **kw)
    m.seek(pos)
    out.append(repr(m))
    m.close()
    out.append(repr(m))
print(json.dumps(out))
`,
      p,
    );
    const fd = fs.openSync(p, "r+");
    try {
      const js = [];
      for (const [kw, pos] of [[{}, 0], [{ access: ACCESS_COPY, offset: P }, 7], [{ prot: PROT_WRITE }, P]]) {
        const m = new MMap(fd, 0, kw);
        m.seek(pos);
        js.push(inspect(m));
        m.close();
        js.push(inspect(m));
      }
      for (const [i, repr] of py.entries()) {
        const fields = Object.fromEntries([...repr.matchAll(/(\w+)=(\w+)/g)].map((x) => [x[1], x[2]]));
        assert.ok(Object.keys(fields).length >= 1, repr);
        for (const [k, v] of Object.entries(fields)) {
          const want = v === "True" ? "true" : v === "False" ? "false" : /^\d+$/.test(v) ? v : `'${v}'`;
          assert.match(js[i], new RegExp(`\\b${k}: ${want}(\\W|$)`), `${repr} vs ${js[i]}`);
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe("errors of MMap.open name the path the user gave, not the descriptor it opened (issue 15)", () => {
  test("an empty file: RangeError ERR_INVALID_ARG_VALUE naming 'path' and the path", async () => {
    const empty = tmpfile("");
    for (const open of [(p, o) => MMap.open(p, o), (p, o) => MMap.openAsync(p, o)]) {
      for (const options of [undefined, { access: ACCESS_READ }, { trackfd: false }]) {
        let err;
        try {
          await open(empty, options);
        } catch (e) {
          err = e;
        }
        assert.equal(err?.constructor, RangeError, String(err));
        assert.equal(err.code, "ERR_INVALID_ARG_VALUE");
        assert.match(err.message, /The argument 'path' is an empty file/);
        assert.ok(err.message.includes(empty), err.message);
        assert.doesNotMatch(err.message, /'fd'/);
      }
    }
  });

  test("a length or offset beyond the file names the file; a system error carries `path`", async () => {
    const file = tmpfile(TEXT);
    // (Windows extends the file to hold a longer map instead.)
    if (!WINDOWS) assert.throws(() => MMap.open(file, { length: 100 }), (e) => e.code === "ERR_INVALID_ARG_VALUE" && e.message.includes(file) && e.message.includes("options.length"));
    assert.throws(() => MMap.open(file, { offset: 4 * P }), (e) => e.code === "ERR_INVALID_ARG_VALUE" && e.message.includes(file));
    // mmap refuses a directory's descriptor? open() refuses first; a FIFO is not mappable: ENODEV.
    if (!WINDOWS) {
      const fifo = path.join(tmpdir("memmap-fifo-"), "fifo");
      spawnSync("mkfifo", [fifo]);
      const held = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
      try {
        assert.throws(() => MMap.open(fifo, { length: 10 }), (e) => e.syscall === "mmap" && e.path === fifo && e.message.includes(`mmap '${fifo}' (it is a pipe, which cannot be mapped`));
      } finally {
        fs.closeSync(held);
      }
    }
    // The descriptor form keeps naming the descriptor.
    const fd = fs.openSync(tmpfile(""), "r+");
    try {
      assert.throws(() => new MMap(fd, 0), (e) => e.code === "ERR_INVALID_ARG_VALUE" && /The argument 'fd' is an empty file/.test(e.message));
    } finally {
      fs.closeSync(fd);
    }
  });
});
