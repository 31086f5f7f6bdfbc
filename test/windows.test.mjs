// Issue 6: the Windows version (run under Wine by `npm run test:windows`). The reference's
// Windows constructor: tagname, a file extended when the map is longer, the allocation
// granularity, Windows' resize rules, flush, madvise's absence, errors shaped like Node's fs
// errors on Windows, and faults contained by the vectored exception handler. Issue 14 (SPEC §8):
// tagname's lengths (0: an existing tag whole; beyond it: RangeError), unlinkTag, view,
// residency (QueryWorkingSetEx), prefetch (PrefetchVirtualMemory), lock (VirtualLock).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import * as memmap from "../dist/index.js";
import { MMap, ACCESS_READ, ACCESS_WRITE, ACCESS_COPY, ALLOCATIONGRANULARITY, PAGESIZE, MS_ASYNC, constants } from "../dist/index.js";
import { tmpfile, throwsCode, rejectsCode, errnoOf, runNode, withMap, WINDOWS, VIEWS, assertNoViews } from "./helpers.mjs";

const skip = !WINDOWS && "Windows only (npm run test:windows runs it under Wine)";
const DIST = new URL("../dist/index.js", import.meta.url).href;
const G = 64 * 1024;
const tag = () => `memmap-test-${randomBytes(6).toString("hex")}`;
const pattern = (n, mul = 7, add = 3) => Buffer.from(Array.from({ length: n }, (_, i) => (i * mul + add) & 255));

/** Opens `content` in a new file; hands { path, fd } to fn and closes fd afterwards. */
function withFile(content, flags, fn) {
  const path = tmpfile(content);
  const fd = fs.openSync(path, flags);
  try {
    return fn({ path, fd });
  } finally {
    fs.closeSync(fd);
  }
}

/** Asserts a system error shaped like Node's fs errors on Windows (libuv's errno). */
function assertSystemError(fn, code, syscall) {
  assert.throws(fn, (err) => {
    assert.equal(Object.getPrototypeOf(err), Error.prototype, err.message);
    assert.equal(err.code, code, err.message);
    assert.equal(err.errno, errnoOf(code));
    assert.equal(err.syscall, syscall);
    assert.match(err.message, new RegExp(`^${code}: .*, ${syscall}( \\(.*\\))?$`)); // then what to do, where memmap knows
    return true;
  });
}

describe("constants and granularity", { skip }, () => {
  test("ALLOCATIONGRANULARITY is the system's 64 KiB, PAGESIZE 4 KiB", () => {
    assert.equal(ALLOCATIONGRANULARITY, G);
    assert.equal(PAGESIZE, 4096);
    assert.equal(constants.ALLOCATIONGRANULARITY, G);
  });

  test("no MADV_*; PROT_*, MAP_* and MS_* are memmap's own values; ACCESS_* are 0..3", () => {
    assert.deepEqual(Object.keys(constants).filter((k) => k.startsWith("MADV_")), []);
    assert.equal(memmap.MADV_NORMAL, undefined);
    for (const [name, value] of Object.entries({ PROT_READ: 1, PROT_WRITE: 2, PROT_EXEC: 4, MAP_SHARED: 1, MAP_PRIVATE: 2, MAP_ANONYMOUS: 0x20 })) {
      assert.equal(constants[name], value, name);
    }
    assert.deepEqual([constants.ACCESS_DEFAULT, ACCESS_READ, ACCESS_WRITE, ACCESS_COPY], [0, 1, 2, 3]);
  });

  test("an offset must be a multiple of ALLOCATIONGRANULARITY, not of PAGESIZE (EINVAL)", () => {
    const data = pattern(2 * G + 10);
    withFile(data, "r+", ({ fd }) => {
      assertSystemError(() => new MMap(fd, 10, { offset: PAGESIZE }), "EINVAL", "mmap");
      assertSystemError(() => new MMap(fd, 10, { offset: G / 2 }), "EINVAL", "mmap");
      withMap([fd, 0, { offset: G }], (m) => {
        assert.equal(m.length, G + 10);
        assert.deepEqual(m.slice(0, 10), data.subarray(G, G + 10));
      });
      withMap([fd, 10, { offset: 2 * G }], (m) => assert.deepEqual(m.slice(), data.subarray(2 * G)));
    });
  });
});

describe("tagname", { skip }, () => {
  test("the same tag shares memory, different tags do not (test_tagname)", () => {
    const a = tag(), b = tag();
    const m1 = new MMap(-1, 100, { tagname: a });
    const m2 = new MMap(-1, 100, { tagname: a });
    const m3 = new MMap(-1, 100, { tagname: b });
    try {
      m1.setSlice(0, 6, "shared");
      assert.equal(m2.slice(0, 5).toString(), "share");
      m2.set(50, 0x41);
      assert.equal(m1.get(50), 0x41);
      assert.ok(m3.slice().every((x) => x === 0), "another tag is other memory");
      m3.set(0, 1);
      assert.equal(m1.get(0), "s".charCodeAt(0));
    } finally {
      m1.close();
      m2.close();
      m3.close();
    }
  });

  test("maps without a tag (or with an empty one) share nothing", () => {
    withMap([-1, 16], (m1) =>
      withMap([-1, 16, { tagname: "" }], (m2) => {
        m1.set(0, 9);
        assert.equal(m2.get(0), 0);
      }),
    );
  });

  test("a tagged map of a file: two maps with the tag share the file's pages", () => {
    withFile("0123456789", "r+", ({ path, fd }) => {
      const t = tag();
      withMap([fd, 10, { tagname: t }], (m1) =>
        withMap([fd, 10, { tagname: t }], (m2) => {
          m1.set(0, 0x41);
          assert.equal(m2.get(0), 0x41);
          m2.flush();
          assert.equal(fs.readFileSync(path, "latin1"), "A123456789");
        }),
      );
    });
  });

  test("a reused tag with a larger size does not crash (test_crasher_on_windows): RangeError ERR_INVALID_ARG_VALUE", () => {
    const t = tag();
    withMap([-1, 1000, { tagname: t }], (m1) => {
      m1.set(999, 7);
      // The section exists with 1000 bytes (a page, as Windows sizes it): asking for more is RangeError (SPEC §8).
      throwsCode(() => new MMap(-1, 5 * G, { tagname: t }), RangeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => new MMap(-1, PAGESIZE + 1, { tagname: t }), RangeError, "ERR_INVALID_ARG_VALUE");
      withMap([-1, 1000, { tagname: t }], (m2) => assert.equal(m2.get(999), 7));
      withMap([-1, PAGESIZE, { tagname: t }], (m3) => assert.equal(m3.get(999), 7));
    });
  });

  test("length 0 maps an existing tag whole (whole pages); with no such tag it is ENOENT (OpenFileMapping)", () => {
    const t = tag();
    withMap([-1, 2 * PAGESIZE + 100, { tagname: t }], (m) => {
      m.set(2 * PAGESIZE + 99, 9);
      withMap([-1, 0, { tagname: t }], (whole) => {
        assert.equal(whole.length, 3 * PAGESIZE, "Windows sizes a section in whole pages");
        assert.equal(whole.get(2 * PAGESIZE + 99), 9);
      });
    });
    assert.throws(() => new MMap(-1, 0, { tagname: tag() }), (e) => {
      assert.equal(e.code, "ENOENT");
      assert.equal(e.errno, errnoOf("ENOENT"));
      assert.equal(e.syscall, "OpenFileMapping");
      return true;
    });
  });

  test("a tag naming a file's section: length 0 maps the file's bytes whole, a longer length is RangeError", () => {
    // Before, the size of an existing section was its view's, in whole pages: length 0 asked
    // for a page of a 10-byte file's section, and the system refused (EACCES); so did every
    // length between the section's size and the page's end, where SPEC §8 says RangeError.
    withFile("0123456789", "r+", ({ fd }) => {
      const t = tag();
      withMap([fd, 10, { tagname: t }], (file) => {
        withMap([-1, 0, { tagname: t }], (m) => {
          assert.equal(m.length, 10);
          assert.equal(m.slice().toString(), "0123456789");
          m.set(0, 0x41);
          assert.equal(file.get(0), 0x41, "the file's pages");
        });
        throwsCode(() => new MMap(-1, 11, { tagname: t }), RangeError, "ERR_INVALID_ARG_VALUE");
        throwsCode(() => new MMap(-1, PAGESIZE, { tagname: t }), RangeError, "ERR_INVALID_ARG_VALUE");
        withMap([-1, 10, { tagname: t }], (m) => assert.equal(m.get(9), 0x39));
      });
    });
    withFile(pattern(G + 10), "r+", ({ fd }) => {
      const t = tag();
      withMap([fd, 10, { tagname: t, offset: G }], () => {
        withMap([-1, 0, { tagname: t, offset: G }], (m) => assert.deepEqual(m.slice(), pattern(G + 10).subarray(G)));
        withMap([-1, 0, { tagname: t }], (m) => assert.equal(m.length, G + 10));
        throwsCode(() => new MMap(-1, 11, { tagname: t, offset: G }), RangeError, "ERR_INVALID_ARG_VALUE");
      });
    });
  });

  test("a file map whose tag names a shorter existing mapping: the error says so, not to open the file with 'r+'", () => {
    // Windows opens the existing section of the name, whatever the file, and refuses a view past
    // its end (EACCES): before, the hint blamed the descriptor, open with 'r+' already.
    withFile("0123456789", "r+", ({ path, fd }) => {
      const t = tag();
      withMap([-1, 100, { tagname: t }], () => {
        assert.throws(() => new MMap(fd, 5 * PAGESIZE, { tagname: t }), (e) => {
          assert.equal(e.syscall, "mmap");
          assert.equal(typeof e.errno, "number");
          assert.match(e.message, new RegExp(`options.tagname '${t}' names an existing mapping of ${PAGESIZE} bytes`));
          assert.doesNotMatch(e.message, /open the file with/);
          return true;
        });
        assert.equal(fs.statSync(path).size, 10, "the file was not extended");
      });
    });
  });

  test("the name goes with the last map of it: unlinkTag does nothing and returns false", () => {
    const t = tag();
    withMap([-1, 10, { tagname: t }], (m) => {
      m.set(0, 4);
      assert.equal(MMap.unlinkTag(t), false);
      withMap([-1, 0, { tagname: t }], (n) => assert.equal(n.get(0), 4));
    });
    throwsCode(() => new MMap(-1, 0, { tagname: t }), Error, "ENOENT");
    throwsCode(() => MMap.unlinkTag(""), RangeError, "ERR_INVALID_ARG_VALUE");
    throwsCode(() => MMap.unlinkTag(1), TypeError, "ERR_INVALID_ARG_TYPE");
  });

  test("close() lets go of the tag at once, also while a waitAsync() it settles still holds the memory", async () => {
    // close() settles a pending waitAsync at once, but its thread leaves the memory only at the
    // end of its slice (Windows cannot wake it sooner), and until then the map kept its section's
    // handle: the closed map's tag still named its memory, so a new map of the tag got the old
    // data (or RangeError for a longer length) instead of new memory.
    for (let i = 0; i < 5; i++) {
      const t = tag();
      const m = new MMap(-1, 100, { tagname: t });
      m.set(50, 7);
      const pending = m.waitAsync(0, 0);
      m.close();
      throwsCode(() => new MMap(-1, 0, { tagname: t }), Error, "ENOENT");
      withMap([-1, 2 * PAGESIZE, { tagname: t }], (n) => {
        assert.equal(n.length, 2 * PAGESIZE);
        assert.equal(n.get(50), 0, "new memory");
      });
      await rejectsCode(pending, Error, "ERR_MMAP_CLOSED");
    }
  });

  test("tag names: a NUL is RangeError ERR_INVALID_ARG_VALUE; '/' and the Local\\ namespace are Windows names", () => {
    throwsCode(() => new MMap(-1, 10, { tagname: "a\0b" }), RangeError, "ERR_INVALID_ARG_VALUE");
    const t = tag();
    withMap([-1, 10, { tagname: `${t}/x` }], (a) => withMap([-1, 10, { tagname: `Local\\${t}/x` }], (b) => {
      a.set(0, 1);
      assert.equal(b.get(0), 1);
    }));
  });

  test("wait/notify reach each other through 'x' and 'Local\\x', the same memory (it was keyed by the name as written: notify woke nobody)", async () => {
    // Before, the waiter table's key hashed the tag as written, so two names of one section were
    // two keys: notify() returned 0 and a wait without a timeout slept forever. The word does not
    // change here, so nothing but the notify can end the wait "ok".
    const t = tag();
    const pairs = [[t, `Local\\${t}`], [`Local\\${t}`, t], [`Local\\Local\\${t}`, t]];
    // "Session\\<n>\\x", n this process's session (Wine: 1), is the same name again.
    withMap([-1, 64, { tagname: t }], () => {
      for (let n = 0; n < 8; n++) {
        try {
          new MMap(-1, 0, { tagname: `Session\\${n}\\${t}` }).close();
          pairs.push([t, `Session\\${n}\\${t}`]);
          break;
        } catch {}
      }
    });
    assert.equal(pairs.length, 4, "this process's session was found");
    for (const [w, n] of pairs) {
      const waiter = new MMap(-1, 64, { tagname: w });
      const notifier = new MMap(-1, 64, { tagname: n });
      try {
        waiter.set(8, 1);
        assert.equal(notifier.get(8), 1, `${w} and ${n} are one section`);
        const result = waiter.waitAsync(0, 0, 30_000);
        result.catch(() => {}); // settled by close() should an assertion fail first
        let woken = 0;
        for (let i = 0; i < 500 && woken === 0; i++) {
          await new Promise((r) => setTimeout(r, 20));
          woken = notifier.notify(0); // 0 until the waiter's thread sleeps
        }
        assert.equal(woken, 1, `notify through '${n}' wakes the waiter on '${w}'`);
        assert.equal(await result, "ok");
      } finally {
        waiter.close();
        notifier.close();
      }
    }
  });

  test("wait/notify reach each other through every map of one file: untagged, tagged, two tags, its tag opened with fd -1", async () => {
    // Before, a tagged map's waits were keyed by its tag even when its section was a file's,
    // and an untagged map's by the file: notify() through one woke nobody waiting through the
    // other (0), and a wait whose word did not change slept to its timeout.
    const path = tmpfile(Buffer.alloc(PAGESIZE));
    const fd = fs.openSync(path, "r+");
    const t1 = tag(), t2 = tag();
    const plain = new MMap(fd, 0);
    const tagged = new MMap(fd, 0, { tagname: t1 });
    const other = new MMap(fd, 0, { tagname: t2 });
    const byName = new MMap(-1, 0, { tagname: t1 }); // the file's section, opened by its tag
    try {
      for (const [w, n, what] of [[plain, tagged, "untagged, tagged"], [tagged, plain, "tagged, untagged"], [tagged, other, "two tags"], [byName, plain, "opened by tag, untagged"], [plain, byName, "untagged, opened by tag"]]) {
        const result = w.waitAsync(16, 0, 30_000);
        result.catch(() => {});
        let woken = 0;
        for (let i = 0; i < 500 && woken === 0; i++) {
          await new Promise((r) => setTimeout(r, 20));
          woken = n.notify(16);
        }
        assert.equal(woken, 1, `${what}: notify wakes the waiter`);
        assert.equal(await result, "ok", what);
      }
    } finally {
      for (const m of [plain, tagged, other, byName]) m.close();
      fs.closeSync(fd);
    }
  });

  test("another process sees a tagged anonymous map while one map of the tag is open", async () => {
    const t = tag();
    const m = new MMap(-1, 64, { tagname: t });
    try {
      m.setSlice(0, 11, "from parent");
      const child = spawn(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `import { MMap } from ${JSON.stringify(DIST)};
           const m = new MMap(-1, 64, { tagname: ${JSON.stringify(t)} });
           const got = m.slice(0, 11).toString();
           m.setSlice(20, 30, "from child");
           m.close();
           process.exitCode = got === "from parent" ? 0 : 3;`,
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      const [code] = await once(child, "exit");
      assert.equal(code, 0, stderr);
      assert.equal(m.slice(20, 30).toString(), "from child");
    } finally {
      m.close();
    }
  });

  test("a tag with a backslash that names no namespace: ENOENT says why (it said 'no such file or directory' alone)", () => {
    // Windows reads "a\\b" as the object "b" in a directory "a", which does not exist.
    const t = tag();
    for (const [name, fd] of [[`${t}\\b`, -1], [`Nowhere\\${t}`, -1]]) {
      assert.throws(() => new MMap(fd, 10, { tagname: name }), (e) => {
        assert.equal(e.code, "ENOENT");
        assert.equal(e.syscall, "mmap");
        assert.match(e.message, /a backslash in options.tagname separates a namespace .* from the name/);
        return true;
      });
    }
    withFile("0123456789", "r+", ({ fd }) => {
      assert.throws(() => new MMap(fd, 10, { tagname: `${t}\\c` }), (e) => e.code === "ENOENT" && /separates a namespace/.test(e.message));
    });
    withMap([-1, 10, { tagname: `Local\\${t}` }], (m) => assert.equal(m.length, 10)); // a namespace: fine
  });

  test("a tag longer than Windows keeps (32766 UTF-16 units) is RangeError: distinct long tags named the same memory", () => {
    // Windows cuts an object's name at 32766 UTF-16 code units (a UNICODE_STRING's most): two
    // tags that differed after that named one section, silently (seen under Wine).
    const base = "b".repeat(32766);
    for (const name of [`${base}X`, `${"é".repeat(32767)}`, `Local\\${base}`]) {
      throwsCode(() => new MMap(-1, 10, { tagname: name }), RangeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => new MMap(-1, 0, { tagname: name }), RangeError, "ERR_INVALID_ARG_VALUE");
      withFile("0123456789", "r+", ({ fd }) => throwsCode(() => new MMap(fd, 10, { tagname: name }), RangeError, "ERR_INVALID_ARG_VALUE"));
      throwsCode(() => MMap.unlinkTag(name), RangeError, "ERR_INVALID_ARG_VALUE");
    }
    // At the limit, names stay distinct.
    const t = tag();
    const a = new MMap(-1, 10, { tagname: `${t}${"c".repeat(32766 - t.length - 1)}X` });
    const b = new MMap(-1, 10, { tagname: `${t}${"c".repeat(32766 - t.length - 1)}Y` });
    try {
      a.set(0, 1);
      assert.equal(b.get(0), 0, "two tags, two sections");
    } finally {
      a.close();
      b.close();
    }
  });

  test("memmap's own names (its waiter table, its mutex, its events) are no tag: RangeError (a tag mapped the waiter table)", () => {
    // Before, tagname "memmap-wait-v1" mapped the table every memmap process of the session
    // waits through: a write there lost or invented wake-ups everywhere.
    withMap([-1, 64, { tagname: tag() }], (m) => m.notify(0)); // the table exists now
    for (const name of ["memmap-wait-v1", "Local\\memmap-wait-v1", "memmap-wait-v1-lock", "memmap-wait-v1-7", "Session\\1\\memmap-wait-v1"]) {
      throwsCode(() => new MMap(-1, 0, { tagname: name }), RangeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => new MMap(-1, 64, { tagname: name }), RangeError, "ERR_INVALID_ARG_VALUE");
    }
    withMap([-1, 10, { tagname: `memmap-wait-v10-${tag()}` }], (m) => assert.equal(m.length, 10)); // another name: fine
  });

  test("a tag that names only a namespace (ends with a backslash) is RangeError (it was 'EIO: i/o error')", () => {
    // "Local\\" names the session's directory of objects, no object in it: Windows refuses it with
    // an error memmap read as EIO, an I/O error, for a map of memory.
    for (const name of ["Local\\", "Session\\1\\", `${tag()}\\`, "Local\\Local\\"]) {
      throwsCode(() => new MMap(-1, 10, { tagname: name }), RangeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => new MMap(-1, 0, { tagname: name }), RangeError, "ERR_INVALID_ARG_VALUE");
      withFile("0123456789", "r+", ({ fd }) => throwsCode(() => new MMap(fd, 10, { tagname: name }), RangeError, "ERR_INVALID_ARG_VALUE"));
    }
  });

  test("tagname must be a string: TypeError ERR_INVALID_ARG_TYPE", () => {
    for (const bad of [1, null, {}, true]) throwsCode(() => new MMap(-1, 10, { tagname: bad }), TypeError, "ERR_INVALID_ARG_TYPE");
  });
});

describe("a map longer than the file extends the file", { skip }, () => {
  test("length beyond the end: the file grows to offset + length, zero-filled", () => {
    withFile("abc", "r+", ({ path, fd }) => {
      withMap([fd, 10], (m) => {
        assert.equal(fs.fstatSync(fd).size, 10);
        assert.equal(m.length, 10);
        assert.deepEqual(m.slice(), Buffer.from("abc\0\0\0\0\0\0\0"));
        m.set(9, 0x5a);
      });
      assert.deepEqual(fs.readFileSync(path), Buffer.from("abc\0\0\0\0\0\0Z"));
    });
  });

  test("an empty file with a length, and an offset past the end", () => {
    withFile("", "r+", ({ fd }) => {
      throwsCode(() => new MMap(fd, 0), RangeError, "ERR_INVALID_ARG_VALUE"); // cannot map an empty file
      withMap([fd, 5], (m) => assert.equal(m.length, 5));
      assert.equal(fs.fstatSync(fd).size, 5);
      withMap([fd, 3, { offset: G }], (m) => assert.equal(m.slice().toString("hex"), "000000"));
      assert.equal(fs.fstatSync(fd).size, G + 3);
    });
  });

  test("a read-only map cannot extend the file: a system error, the file unchanged", () => {
    withFile("abc", "r", ({ fd }) => {
      assert.throws(() => new MMap(fd, 10, { access: ACCESS_READ }), (e) => e.syscall === "mmap" && typeof e.errno === "number");
      assert.equal(fs.fstatSync(fd).size, 3);
    });
  });

  test("a read-only or copy-on-write map longer than the file: the error says so (the system's own says 'not enough memory')", () => {
    // Windows refuses a section longer than the file unless it may write the file, with
    // ERROR_NOT_ENOUGH_MEMORY: before, the message was that alone ("ENOMEM: not enough memory,
    // mmap"), and for a descriptor open for reading the hint was to open it for reading.
    const hint = /cannot extend the file: offset \+ length \(10\) is beyond its size \(3\)/;
    for (const flags of ["r", "r+"]) {
      withFile("abc", flags, ({ path, fd }) => {
        for (const options of [{ access: ACCESS_READ }, { access: ACCESS_COPY }, { prot: constants.PROT_READ }]) {
          assert.throws(() => new MMap(fd, 10, options), (e) => {
            assert.equal(e.syscall, "mmap");
            assert.equal(typeof e.errno, "number");
            assert.match(e.message, hint, `${flags} ${JSON.stringify(options)}`);
            assert.doesNotMatch(e.message, /open the file with/);
            return true;
          });
          assert.throws(() => new MMap(fd, 10, { ...options, trackfd: false }), (e) => hint.test(e.message));
        }
        assert.throws(() => MMap.open(path, { access: ACCESS_READ, length: 10 }), (e) => hint.test(e.message) && e.path === path);
        assert.throws(() => new MMap(fd, 10, { access: ACCESS_READ, offset: G }), (e) => /cannot extend the file: .*; the offset is not below it/.test(e.message));
        assert.equal(fs.fstatSync(fd).size, 3);
      });
    }
  });
});

describe("resize", { skip }, () => {
  test("a file map grows and shrinks with its file (offset + newsize)", () => {
    withFile(pattern(G + 100), "r+", ({ path, fd }) => {
      withMap([fd, 100, { offset: G }], (m) => {
        m.seek(7);
        m.resize(5000);
        assert.equal(m.length, 5000);
        assert.equal(fs.statSync(path).size, G + 5000);
        assert.deepEqual(m.slice(0, 100), pattern(G + 100).subarray(G));
        assert.ok(m.slice(100).every((x) => x === 0), "zero-filled growth");
        assert.equal(m.tell(), 7, "the position is kept");
        m.resize(50);
        assert.equal(fs.statSync(path).size, G + 50);
        assert.deepEqual(m.slice(), pattern(G + 100).subarray(G, G + 50));
        assert.equal(m.size(), G + 50);
      });
    });
  });

  test("fails cleanly (EBUSY) while another map of the file is open; works once it is closed", () => {
    withFile(pattern(3 * PAGESIZE), "r+", ({ path, fd }) => {
      withMap([fd, 0], (m) => {
        const other = new MMap(fd, 0);
        try {
          m.seek(5);
          m.set(0, 0x42);
          const err = (() => {
            try {
              m.resize(PAGESIZE);
            } catch (e) {
              return e;
            }
            return null;
          })();
          assert.ok(err !== null, "resize must fail while another map holds the file");
          assert.equal(err.code, "EBUSY");
          assert.equal(err.errno, errnoOf("EBUSY"));
          assert.equal(err.syscall, "MapViewOfFile");
          assert.equal(m.length, 3 * PAGESIZE, "the map is unchanged");
          assert.equal(m.tell(), 5);
          assert.equal(m.get(0), 0x42);
          assert.equal(other.get(0), 0x42, "the two maps still share the pages");
          assert.equal(fs.statSync(path).size, 3 * PAGESIZE, "the file is unchanged");
          m.set(1, 0x43);
          assert.equal(other.get(1), 0x43, "the map still works");
        } finally {
          other.close();
        }
        m.resize(PAGESIZE);
        assert.equal(m.length, PAGESIZE);
        assert.equal(fs.statSync(path).size, PAGESIZE);
        assert.equal(m.get(1), 0x43);
      });
    });
  });

  test("an anonymous map keeps its data: grown with a zero tail, shrunk to a prefix", () => {
    withMap([-1, 100], (m) => {
      m.write("keep me");
      m.resize(3 * G);
      assert.equal(m.length, 3 * G);
      assert.equal(m.slice(0, 7).toString(), "keep me");
      assert.ok(m.slice(7).every((x) => x === 0));
      m.resize(4);
      assert.equal(m.slice().toString(), "keep");
    });
  });

  test("a tagged anonymous map resizes when it alone holds its tag (CPython's rule): the tag names the new size, the data kept", () => {
    // Before, a tagged map could never resize: its own section held the name (EBUSY). CPython
    // lets its handle go first, and refuses only while another handle holds the name.
    const t = tag();
    withMap([-1, 100, { tagname: t }], (m) => {
      m.write("tagged");
      m.resize(3 * PAGESIZE);
      assert.equal(m.length, 3 * PAGESIZE);
      assert.equal(m.slice(0, 6).toString(), "tagged");
      assert.ok(m.slice(6).every((x) => x === 0), "a zero tail");
      withMap([-1, 0, { tagname: t }], (other) => {
        assert.equal(other.length, 3 * PAGESIZE, "the tag names the resized memory");
        other.set(3 * PAGESIZE - 1, 5);
        assert.equal(m.get(3 * PAGESIZE - 1), 5, "and it is shared");
      });
      m.resize(4);
      assert.equal(m.slice().toString(), "tagg");
    });
  });

  test("a copy-on-write (MAP_PRIVATE) map of a tag is not resizable: ERR_MMAP_NOT_RESIZABLE, the tag's memory untouched", () => {
    // A new section would take the name with none of the tag's data (the map's copy-on-write
    // view cannot write it): whoever opened the tag next found zeros.
    const t = tag();
    withMap([-1, 100, { tagname: t }], (shared) => {
      shared.write("shared");
      const m = new MMap(-1, 100, { tagname: t, flags: constants.MAP_PRIVATE });
      shared.close(); // the copy-on-write map alone holds the tag now
      try {
        m.set(0, 0x53);
        throwsCode(() => m.resize(200), TypeError, "ERR_MMAP_NOT_RESIZABLE");
        assert.equal(m.length, 100);
        assert.equal(m.slice(0, 6).toString(), "Shared");
        withMap([-1, 0, { tagname: t }], (again) => assert.equal(again.slice(0, 6).toString(), "shared", "the tag's data"));
      } finally {
        m.close();
      }
    });
  });

  test("a tagged map cannot be resized while another map holds its tag (EBUSY), and nothing changes", () => {
    const t = tag();
    withMap([-1, 100, { tagname: t }], (m) => withMap([-1, 100, { tagname: t }], (other) => {
      m.write("tagged");
      for (const n of [200, 50]) {
        assert.throws(() => m.resize(n), (e) => e.code === "EBUSY" && e.syscall === "MapViewOfFile");
        assert.equal(m.length, 100);
        assert.equal(m.tell(), 6);
        assert.equal(m.slice(0, 6).toString(), "tagged");
        m.set(99, n & 255);
        assert.equal(other.get(99), n & 255, "still the tag's memory");
      }
    }));
    // A file's tagged map: before, a grow refused for the tag left the file grown.
    withFile(pattern(3 * PAGESIZE), "r+", ({ path, fd }) => {
      const ft = tag();
      withMap([fd, 0, { tagname: ft }], (m) => withMap([fd, 0, { tagname: ft }], (other) => {
        for (const n of [5 * PAGESIZE, PAGESIZE]) {
          assert.throws(() => m.resize(n), (e) => e.code === "EBUSY" && e.syscall === "MapViewOfFile");
          assert.equal(fs.statSync(path).size, 3 * PAGESIZE, `resize(${n}) left the file as it was`);
          assert.equal(m.length, 3 * PAGESIZE);
          m.set(0, n & 255);
          assert.equal(other.get(0), n & 255);
        }
      }));
      // Alone with its tag, it resizes, file and all.
      withMap([fd, 0, { tagname: ft }], (m) => {
        m.resize(5 * PAGESIZE);
        assert.equal(fs.statSync(path).size, 5 * PAGESIZE);
        withMap([fd, 0, { tagname: ft }], (other) => assert.equal(other.length, 5 * PAGESIZE));
      });
    });
  });

  test("views handed out before a resize are detached", { skip: !VIEWS && "no views in the copying mode (MEMMAP_NO_EXTERNAL_BUFFERS=1)" }, () => {
    withMap([-1, 100], (m) => {
      const b = m.buffer;
      m.resize(200);
      assert.equal(b.buffer.byteLength, 0);
      assert.equal(m.buffer.length, 200);
    });
  });
});

describe("flush", { skip }, () => {
  test("flush, flush(offset, size), flags and flushAsync reach the file; an empty range is fine", async () => {
    const path = tmpfile(Buffer.alloc(2 * PAGESIZE));
    const fd = fs.openSync(path, "r+");
    const m = new MMap(fd, 0);
    try {
      m.setSlice(0, 5, "hello");
      assert.equal(m.flush(), undefined);
      assert.equal(fs.readFileSync(path, "latin1").slice(0, 5), "hello");
      m.setSlice(PAGESIZE + 1, PAGESIZE + 6, "world");
      assert.equal(m.flush(PAGESIZE + 1, 5, { flags: MS_ASYNC }), undefined, "any offset: Windows has no alignment rule");
      assert.equal(m.flush(2 * PAGESIZE), undefined, "an empty range at the end");
      assert.equal(m.flush(0, 0), undefined);
      assert.equal(await m.flushAsync(), undefined);
      assert.equal(fs.readFileSync(path, "latin1").slice(PAGESIZE + 1, PAGESIZE + 6), "world");
    } finally {
      m.close();
      fs.closeSync(fd);
    }
  });
});

describe("what Windows does not have", { skip }, () => {
  test("madvise: Error ERR_MMAP_UNSUPPORTED_PLATFORM, after the argument and state checks", () => {
    const m = new MMap(-1, 100);
    throwsCode(() => m.madvise(0), Error, "ERR_MMAP_UNSUPPORTED_PLATFORM");
    throwsCode(() => m.madvise(0, 0, 10), Error, "ERR_MMAP_UNSUPPORTED_PLATFORM");
    throwsCode(() => m.madvise("x"), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => m.madvise(0, 100), RangeError, "ERR_OUT_OF_RANGE");
    m.close();
    throwsCode(() => m.madvise(0), Error, "ERR_MMAP_CLOSED");
  });

  test("shareable: Error ERR_MMAP_UNSUPPORTED_PLATFORM (a tagname shares anonymous memory)", () => {
    throwsCode(() => new MMap(-1, 10, { shareable: true }), Error, "ERR_MMAP_UNSUPPORTED_PLATFORM");
    withMap([-1, 10, { shareable: false }], (m) => assert.equal(m.fd, -1));
  });
});

describe("errors", { skip }, () => {
  test("system errors carry Node's Windows errno (libuv's numbers) and the syscall", () => {
    assertSystemError(() => new MMap(999, 10), "EBADF", "dup");
    assertSystemError(() => new MMap(-1, 0), "EINVAL", "mmap");
    withFile("0123456789", "r", ({ path, fd }) => {
      assertSystemError(() => new MMap(fd, 0), "EACCES", "mmap");
      assertSystemError(() => new MMap(fd, 0, { access: ACCESS_WRITE }), "EACCES", "mmap");
      withMap([fd, 0, { access: ACCESS_READ }], (m) => assert.equal(m.slice().toString(), "0123456789"));
      withMap([fd, 0, { access: ACCESS_COPY }], (m) => {
        m.set(0, 0x78);
        assert.equal(m.get(0), 0x78);
      });
      assert.equal(fs.readFileSync(path, "latin1"), "0123456789", "ACCESS_COPY writes stay in memory");
    });
  });

  test("a directory's descriptor is ENODEV (EINVAL for length 0), as on Linux: not 'an empty file', not a file to extend", () => {
    // Before, fstat said a directory was a regular file of 0 bytes: length 0 was "cannot mmap an
    // empty file (give the file a size first ...)", a length the system's EBADF, with the hint
    // that a read-only map cannot extend the file.
    const dir = path.dirname(tmpfile(""));
    const fd = fs.openSync(dir, "r");
    try {
      // Length 0: no size to take from a file that is none, so the map has no length: EINVAL, as
      // on Linux and in CPython (OSError EINVAL from mmap).
      for (const [length, options, code] of [[0, undefined, "EINVAL"], [0, { trackfd: false }, "EINVAL"], [10, undefined, "ENODEV"], [10, { access: ACCESS_READ }, "ENODEV"], [10, { access: ACCESS_COPY }, "ENODEV"]]) {
        assert.throws(() => new MMap(fd, length, options), (e) => {
          assert.equal(e.code, code, `${length} ${JSON.stringify(options)}: ${e.message}`);
          assert.equal(e.errno, errnoOf(code));
          assert.equal(e.syscall, "mmap");
          assert.doesNotMatch(e.message, /empty file|extend/);
          return true;
        });
      }
    } finally {
      fs.closeSync(fd);
    }
    assert.throws(() => MMap.open(dir, { access: ACCESS_READ, length: 10 }), (e) => e.code === "ENODEV" && e.path === dir);
  });

  test("MMap.open errors are Node's own (ENOENT with the path)", async () => {
    assert.throws(() => MMap.open("Z:\\no\\such\\file"), (e) => e.code === "ENOENT" && e.errno === errnoOf("ENOENT"));
    await rejectsCode(MMap.openAsync(tmpfile("")), RangeError, "ERR_INVALID_ARG_VALUE");
  });
});

describe("faults and descriptors", { skip }, () => {
  test("a write through a view of a read-only map lands in a private copy, never in the file", () => {
    withFile("0123456789", "r+", ({ path, fd }) => {
      withMap([fd, 0, { access: ACCESS_READ }], (m) => {
        throwsCode(() => m.set(1, 0x42), TypeError, "ERR_MMAP_READ_ONLY");
        if (!VIEWS) return assertNoViews(m); // the copying mode hands out no view to write through
        const b = m.buffer;
        b[0] = 0x41; // the vectored exception handler makes the page a private copy
        assert.equal(b[0], 0x41);
      });
      assert.equal(fs.readFileSync(path, "latin1"), "0123456789");
    });
  });

  test("Windows refuses to truncate a mapped file, so a map never loses its pages", () => {
    withFile(pattern(2 * PAGESIZE), "r+", ({ fd }) => {
      withMap([fd, 0], (m) => {
        assert.throws(() => fs.ftruncateSync(fd, 10));
        assert.equal(fs.fstatSync(fd).size, 2 * PAGESIZE);
        assert.deepEqual(m.slice(), pattern(2 * PAGESIZE));
      });
      fs.ftruncateSync(fd, 10); // once the map is closed
      assert.equal(fs.fstatSync(fd).size, 10);
    });
  });

  test("m.fd is a descriptor of Node's own: fs calls work on it; trackfd: false keeps none", () => {
    withFile("0123456789", "r+", ({ fd }) => {
      const m = new MMap(fd, 0);
      assert.ok(m.fd >= 0 && m.fd !== fd);
      assert.equal(fs.fstatSync(m.fd).size, 10);
      assert.equal(m.size(), 10);
      m.close();
      assert.equal(m.fd, -1);
      withMap([fd, 0, { trackfd: false }], (n) => assert.equal(n.fd, -1));
    });
  });

  test("maps and their descriptors are released: no descriptor number grows over 2000 maps", () => {
    withFile("0123456789", "r+", ({ path, fd }) => {
      const probe = () => {
        const d = fs.openSync(path, "r");
        fs.closeSync(d);
        return d;
      };
      const first = probe();
      for (let i = 0; i < 2000; i++) new MMap(fd, 0, { tagname: i % 2 ? undefined : tag() }).close();
      assert.equal(probe(), first);
    });
  });

  test("maps never closed in a loop are reclaimed: 20,000 file maps complete in a child", () => {
    const path = tmpfile("never closed\n");
    const r = runNode(
      [
        "--input-type=module",
        "-e",
        `import fs from "node:fs"; import { MMap } from ${JSON.stringify(DIST)};
         const fd = fs.openSync(${JSON.stringify(path)}, "r+");
         for (let i = 0; i < 20000; i++) { const m = new MMap(fd, 0); if (m.get(0) !== 110) throw new Error("byte"); }
         console.log("ok");`,
      ],
      { timeout: 300_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "ok");
  });
});

describe("beyond Python (SPEC §8): view, residency, prefetch, lock", { skip }, () => {
  test("view: float32 weights summed from a file; detached by close()", { skip: !VIEWS && "no views in the copying mode" }, () => {
    const w = Float32Array.from({ length: 10_000 }, (_, i) => (i % 97) / 8);
    withFile(Buffer.from(w.buffer), "r", ({ fd }) => {
      const m = new MMap(fd, 0, { access: ACCESS_READ });
      const v = m.view(Float32Array);
      let got = 0;
      let want = 0;
      for (let i = 0; i < w.length; i++) {
        got += v[i];
        want += w[i];
      }
      assert.equal(got, want);
      const dv = m.view(DataView, 8, 8);
      assert.equal(dv.getFloat32(0, true), w[2]);
      throwsCode(() => m.view(Float64Array, 4), RangeError, "ERR_INVALID_ARG_VALUE");
      m.close();
      assert.equal(v.length, 0);
      assert.throws(() => dv.getUint8(0), TypeError);
    });
  });

  test("view in the copying mode: ERR_MMAP_VIEWS_UNAVAILABLE", { skip: VIEWS && "views exist here" }, () => {
    withMap([-1, 16], (m) => throwsCode(() => m.view(Int32Array), Error, "ERR_MMAP_VIEWS_UNAVAILABLE"));
  });

  test("residency (QueryWorkingSetEx): one entry per page, 0 or 1; written pages are resident", () => {
    withMap([-1, 8 * PAGESIZE + 1, { tagname: tag() }], (m) => {
      const r = m.residency();
      assert.equal(r.length, 9);
      assert.ok(r.every((x) => x === 0 || x === 1));
      m.set(3 * PAGESIZE, 1);
      assert.equal(m.residency(3 * PAGESIZE + 5, 1)[0], 1);
      assert.equal(m.residency(0, 0).length, 0);
      throwsCode(() => m.residency(-1), RangeError, "ERR_OUT_OF_RANGE");
    });
  });

  test("prefetch: resolves, then every page of the range is resident; ERR_MMAP_CLOSED once closed", async () => {
    const data = pattern(64 * PAGESIZE);
    await withFile(data, "r", async ({ fd }) => {
      const m = new MMap(fd, 0, { access: ACCESS_READ });
      await m.prefetch();
      assert.deepEqual([...new Set(m.residency())], [1]);
      await m.prefetch(5 * PAGESIZE + 3, PAGESIZE);
      assert.deepEqual(m.slice(0, 16), data.subarray(0, 16));
      m.close();
      await rejectsCode(m.prefetch(), Error, "ERR_MMAP_CLOSED");
    });
  });

  test("lock and unlock (VirtualLock, VirtualUnlock); unlocking what is not locked is no error", () => {
    withMap([-1, 16 * PAGESIZE], (m) => {
      m.lock();
      assert.deepEqual([...new Set(m.residency())], [1]);
      m.unlock();
      m.unlock(0, PAGESIZE);
      m.lock(PAGESIZE + 1, 10);
      m.unlock(PAGESIZE, 10);
    });
    const closed = new MMap(-1, 10);
    closed.close();
    throwsCode(() => closed.lock(), Error, "ERR_MMAP_CLOSED");
  });
});

test("on other systems this file checks nothing (test/tags.test.mjs has POSIX named memory)", { skip: WINDOWS && "Windows runs the tests above" }, () => {
  assert.equal(WINDOWS, false);
});
