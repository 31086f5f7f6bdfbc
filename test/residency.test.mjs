// SPEC §8 `m.residency(start?, length?)`, `m.prefetch(start?, length?)`, `m.lock()`/`m.unlock()`:
// one entry per page (mincore's low bit), the start rounded down to a page and the range clamped
// as madvise's; prefetch off the event loop, by MADV_POPULATE_READ and by the path of kernels
// without it (MEMMAP_NO_POPULATE=1), rejecting ERR_MMAP_TRUNCATED for a file that shrank, safe
// against close() and refused by resize() while it runs; mlock/munlock seen in /proc/self/status,
// and RLIMIT_MEMLOCK's errors as fs-style errors in a child under a low `ulimit -l`. Every
// method validates its arguments (class and code) before the closed check. None needs views:
// the copying mode (MEMMAP_NO_EXTERNAL_BUFFERS=1) runs the same tests.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { spawnSync } from "node:child_process";
import { MMap, ACCESS_READ, PAGESIZE, MADV_RANDOM, MAP_PRIVATE } from "../dist/index.js";
import { tmpfile, throwsCode, rejectsCode, withMap, runNode, errnoOf, WINDOWS, VIEWS } from "./helpers.mjs";

const DIST = new URL("../dist/index.js", import.meta.url).href;
const posixOnly = WINDOWS && "Linux (/proc, mincore of a file's page cache, fault containment): test/windows.test.mjs has the Windows rows";
const sum = (a) => a.reduce((n, x) => n + x, 0);
// AddressSanitizer's interceptors make mlock/munlock do nothing and return 0 (npm run test:asan).
const noMlock = /libasan/.test(process.env.LD_PRELOAD ?? "") && "AddressSanitizer ignores mlock and munlock";

/** A sparse file of `pages` pages (no page of it in the page cache), open read-write. */
function holes(t, pages) {
  const path = tmpfile("");
  const fd = fs.openSync(path, "r+");
  fs.ftruncateSync(fd, pages * PAGESIZE);
  t.after(() => {
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
  });
  return { path, fd };
}

/** Closes `m` when the test `t` ends. */
function closing(t, m) {
  t.after(() => m.close());
  return m;
}

/** A read-only map of `fd` without read-ahead, so that a page read brings in no other page. */
function randomAccess(t, fd) {
  const m = closing(t, new MMap(fd, 0, { access: ACCESS_READ }));
  m.madvise(MADV_RANDOM);
  return m;
}

/** Kibibytes of locked memory of this process (VmLck). */
function lockedKiB() {
  return Number(/VmLck:\s+(\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]);
}

/**
 * fn(m, label) for a map of a 4-page file, in each of three modes, after another descriptor cut
 * the file to PAGESIZE + 100 bytes (pages 2 and 3 gone, page 1 partly).
 */
function withLostTail(fn) {
  for (const options of [{}, { trackfd: false }, { access: ACCESS_READ }]) {
    const fd = fs.openSync(tmpfile(Buffer.alloc(4 * PAGESIZE, 0x61)), "r+");
    const m = new MMap(fd, 0, options);
    try {
      fs.ftruncateSync(fd, PAGESIZE + 100);
      fn(m, JSON.stringify(options));
    } finally {
      m.close();
      fs.closeSync(fd);
    }
  }
}

/** Every way the range arguments of these methods can be wrong, with the class and code each gives. */
const BAD_RANGES = [
  [["0"], TypeError, "ERR_INVALID_ARG_TYPE"],
  [[0, "1"], TypeError, "ERR_INVALID_ARG_TYPE"],
  [[null], TypeError, "ERR_INVALID_ARG_TYPE"],
  [[1.5], RangeError, "ERR_OUT_OF_RANGE"],
  [[0, 0.5], RangeError, "ERR_OUT_OF_RANGE"],
  [[-1], RangeError, "ERR_OUT_OF_RANGE"],
  [[3 * PAGESIZE], RangeError, "ERR_OUT_OF_RANGE"],
  [[0, -1], RangeError, "ERR_OUT_OF_RANGE"],
];

describe("residency", () => {
  test("one entry per page, 1 where the page is in memory (anonymous memory: where written)", () => {
    withMap([-1, 4 * PAGESIZE + 10], (m) => {
      const before = m.residency();
      assert.ok(before instanceof Uint8Array);
      assert.equal(before.length, 5);
      assert.deepEqual([...before], [0, 0, 0, 0, 0]);
      m.set(2 * PAGESIZE + 7, 1);
      m.set(4 * PAGESIZE + 9, 1);
      assert.deepEqual([...m.residency()], [0, 0, 1, 0, 1]);
    });
  });

  test("the start is rounded down to a page; the range is clamped as madvise's", () => {
    withMap([-1, 4 * PAGESIZE], (m) => {
      m.set(PAGESIZE, 1);
      assert.deepEqual([...m.residency(PAGESIZE + 100, 1)], [1]);
      assert.deepEqual([...m.residency(PAGESIZE - 1, 2)], [0, 1]);
      assert.deepEqual([...m.residency(PAGESIZE + 1)], [1, 0, 0]);
      assert.deepEqual([...m.residency(0, null)], [0, 1, 0, 0]);
      assert.deepEqual([...m.residency(3 * PAGESIZE, 100 * PAGESIZE)], [0]);
      assert.equal(m.residency(5, 0).length, 0);
    });
  });

  test("a file map: pages read are resident, holes never read are not", { skip: posixOnly }, (t) => {
    const { fd } = holes(t, 8);
    const m = randomAccess(t, fd);
    assert.equal(sum(m.residency()), 0);
    m.get(3 * PAGESIZE);
    m.get(7 * PAGESIZE + 1);
    assert.deepEqual([...m.residency()], [0, 0, 0, 1, 0, 0, 0, 1]);
  });

  test("a range the map knows its file lost: ERR_MMAP_TRUNCATED, not the pages that stand in for it", { skip: posixOnly }, () => {
    // Containment puts private zeros where the file shrank; mincore then said 1 for each of them
    // a read had touched and 0 for the rest, as if they were the file's pages.
    withLostTail((m, label) => {
      throwsCode(() => m.get(3 * PAGESIZE), Error, "ERR_MMAP_TRUNCATED"); // the loss learned
      for (const args of [[], [2 * PAGESIZE], [0, 3 * PAGESIZE + 1], [3 * PAGESIZE, 1], [3 * PAGESIZE + 5, 1], [PAGESIZE + 100]]) {
        assert.throws(
          () => m.residency(...args),
          (e) => {
            assert.equal(e.constructor, Error, `${label} residency(${args}): ${e.message}`);
            assert.equal(e.code, "ERR_MMAP_TRUNCATED", `${label} residency(${args}): ${e.message}`);
            assert.equal(e.goneEnd, 4 * PAGESIZE);
            return true;
          },
        );
      }
      assert.deepEqual([...m.residency(0, PAGESIZE)], [1], `${label}: what the file still has`);
      assert.equal(m.residency(0, PAGESIZE + 100).length, 2, `${label}: up to the file's end`);
    });
  });

  test("bad arguments: class and code, before the closed check", () => {
    withMap([-1, 2 * PAGESIZE], (m) => {
      for (const [args, Class, code] of BAD_RANGES) throwsCode(() => m.residency(...args), Class, code);
    });
    const closed = new MMap(-1, PAGESIZE);
    closed.close();
    throwsCode(() => closed.residency("0"), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => closed.residency(), Error, "ERR_MMAP_CLOSED");
    throwsCode(() => closed.residency(10 * PAGESIZE), Error, "ERR_MMAP_CLOSED");
  });
});

describe("prefetch", () => {
  test("resolves once the range is in memory; the event loop runs meanwhile", { skip: posixOnly }, async (t) => {
    const pages = 64 * 1024; // 256 MiB of holes: the kernel makes (zero) page-cache pages for each
    const { fd } = holes(t, pages);
    const m = closing(t, new MMap(fd, 0, { access: ACCESS_READ }));
    assert.equal(sum(m.residency()), 0);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const p = m.prefetch();
    assert.ok(p instanceof Promise);
    assert.equal(await p, undefined);
    clearInterval(timer);
    assert.equal(sum(m.residency()), pages);
    assert.ok(ticks > 0, "timers ran while the pages were read");
  });

  test("a range: only its pages (the start rounded down to a page)", { skip: posixOnly }, async (t) => {
    const { fd } = holes(t, 8);
    const m = randomAccess(t, fd);
    await m.prefetch(2 * PAGESIZE + 5, PAGESIZE);
    assert.deepEqual([...m.residency()], [0, 0, 1, 1, 0, 0, 0, 0]);
    await m.prefetch(6 * PAGESIZE, 0); // nothing
    await m.prefetch(6 * PAGESIZE, null);
    assert.deepEqual([...m.residency()], [0, 0, 1, 1, 0, 0, 1, 1]);
  });

  test("anonymous memory, and a map written through it afterwards", async () => {
    const m = new MMap(-1, 16 * PAGESIZE);
    try {
      await m.prefetch();
      assert.equal(sum(m.residency()), 16);
      m.set(5, 1);
      assert.equal(m.get(5), 1);
    } finally {
      m.close();
    }
  });

  test("the path of kernels without MADV_POPULATE_READ (MEMMAP_NO_POPULATE=1) gives the same result", { skip: posixOnly }, (t) => {
    const { path } = holes(t, 1024);
    const r = runNode(
      [
        "--input-type=module",
        "-e",
        `import { MMap, ACCESS_READ } from ${JSON.stringify(DIST)};
         const m = MMap.open(${JSON.stringify(path)}, { access: ACCESS_READ });
         const before = m.residency().reduce((n, x) => n + x, 0);
         await m.prefetch(0, m.length);
         console.log(before, m.residency().reduce((n, x) => n + x, 0));`,
      ],
      { env: { ...process.env, MEMMAP_NO_POPULATE: "1" } },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "0 1024");
  });

  for (const populate of [true, false]) {
    test(`a file that shrank under the map: ERR_MMAP_TRUNCATED for the lost range${populate ? "" : " (MEMMAP_NO_POPULATE=1)"}`, { skip: posixOnly }, () => {
      const path = tmpfile(Buffer.alloc(16 * PAGESIZE, 7));
      const r = runNode(
        [
          "--input-type=module",
          "-e",
          `import fs from "node:fs";
           import { MMap, PAGESIZE } from ${JSON.stringify(DIST)};
           const m = MMap.open(${JSON.stringify(path)});
           fs.truncateSync(${JSON.stringify(path)}, 4 * PAGESIZE + 10);
           const out = [];
           await m.prefetch(0, 5 * PAGESIZE); // inside the file: its last page is only partly there, and readable
           out.push("inside ok");
           try { await m.prefetch(); out.push("no error"); } catch (e) { out.push(e.code, e.goneStart - 4 * PAGESIZE, e.goneEnd / PAGESIZE); }
           // Known lost now: rejects before it starts, for any range touching it.
           try { await m.prefetch(10 * PAGESIZE, 1); } catch (e) { out.push(e.code); }
           try { m.get(12 * PAGESIZE); } catch (e) { out.push(e.code); }
           out.push(m.get(4 * PAGESIZE + 9));
           m.close();
           console.log(out.join(" "));`,
        ],
        { env: { ...process.env, MEMMAP_NO_POPULATE: populate ? "" : "1" } },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), "inside ok ERR_MMAP_TRUNCATED 10 16 ERR_MMAP_TRUNCATED ERR_MMAP_TRUNCATED 7");
    });
  }

  test("a loss of its range that another call learned while it ran: ERR_MMAP_TRUNCATED, not resolved", { skip: posixOnly }, () => {
    // The reads run on the thread pool while the event loop goes on (here: a synchronous spin, then
    // a read of the lost tail, which learns the loss). Before: the counter had not moved since that
    // read, so the prefetch's own check saw nothing, and it resolved over a range the map knew lost.
    const path = tmpfile(Buffer.alloc(4 * PAGESIZE, 3));
    const r = runNode([
      "--input-type=module",
      "-e",
      `import fs from "node:fs";
       import { MMap, PAGESIZE } from ${JSON.stringify(DIST)};
       const m = MMap.open(${JSON.stringify(path)});
       fs.truncateSync(${JSON.stringify(path)}, PAGESIZE);
       const p = m.prefetch().then(() => "resolved", (e) => e.code);
       const t = Date.now();
       while (Date.now() - t < 200); // the job runs meanwhile
       const out = [];
       try { m.get(3 * PAGESIZE); } catch (e) { out.push(e.code); }
       out.push(await p);
       m.close();
       console.log(out.join(" "));`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "ERR_MMAP_TRUNCATED ERR_MMAP_TRUNCATED");
  });

  test("bad arguments reject with class and code; a closed map rejects ERR_MMAP_CLOSED", async () => {
    const m = new MMap(-1, 2 * PAGESIZE);
    try {
      for (const [args, Class, code] of BAD_RANGES) await rejectsCode(m.prefetch(...args), Class, code);
    } finally {
      m.close();
    }
    await rejectsCode(m.prefetch("0"), TypeError, "ERR_INVALID_ARG_TYPE");
    await rejectsCode(m.prefetch(), Error, "ERR_MMAP_CLOSED");
  });

  test("close() while it runs is safe: it settles, and the map is closed; resize() is refused meanwhile", { skip: posixOnly }, async (t) => {
    const { fd } = holes(t, 32 * 1024);
    const m = new MMap(fd, 0);
    const p = m.prefetch();
    throwsCode(() => m.resize(PAGESIZE), Error, "ERR_MMAP_BUSY");
    m.close();
    assert.equal(m.closed, true);
    await p;
    throwsCode(() => m.residency(), Error, "ERR_MMAP_CLOSED");

    const again = closing(t, new MMap(fd, 0));
    const q = again.prefetch(0, PAGESIZE);
    throwsCode(() => again.resize(PAGESIZE), Error, "ERR_MMAP_BUSY");
    await q;
    again.resize(2 * PAGESIZE);
    assert.equal(again.length, 2 * PAGESIZE);
  });
});

describe("lock and unlock", () => {
  test("lock() keeps the range in memory (VmLck), unlock() lets it go; unlocking twice is fine", { skip: posixOnly || noMlock }, () => {
    withMap([-1, 64 * PAGESIZE], (m) => {
      const base = lockedKiB();
      m.lock();
      assert.equal(lockedKiB() - base, (64 * PAGESIZE) / 1024);
      assert.equal(sum(m.residency()), 64, "locked pages are in memory");
      m.unlock(0, 32 * PAGESIZE);
      assert.equal(lockedKiB() - base, (32 * PAGESIZE) / 1024);
      m.unlock();
      m.unlock();
      assert.equal(lockedKiB(), base);
      m.lock(PAGESIZE + 1, 1); // one page, rounded down
      assert.equal(lockedKiB() - base, PAGESIZE / 1024);
      m.close(); // unmapping unlocks
      assert.equal(lockedKiB(), base);
    });
  });

  test("ranges and states: class and code", () => {
    withMap([-1, 2 * PAGESIZE], (m) => {
      m.lock(0, 0);
      m.unlock(PAGESIZE, null);
      for (const [args, Class, code] of BAD_RANGES) {
        throwsCode(() => m.lock(...args), Class, code);
        throwsCode(() => m.unlock(...args), Class, code);
      }
    });
    const closed = new MMap(-1, PAGESIZE);
    closed.close();
    throwsCode(() => closed.lock(-1.5), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => closed.lock(), Error, "ERR_MMAP_CLOSED");
    throwsCode(() => closed.unlock(), Error, "ERR_MMAP_CLOSED");
  });

  test("lock() of a range the file lost (truncated by another descriptor): ERR_MMAP_TRUNCATED, nothing locked; unlock() works", { skip: posixOnly || noMlock }, () => {
    withLostTail((m, label) => {
      const base = lockedKiB(); // the cut locked and unlocked nothing
      for (const args of [[], [2 * PAGESIZE], [0, 3 * PAGESIZE + 1], [3 * PAGESIZE, 1]]) {
        assert.throws(
          () => m.lock(...args),
          (e) => {
            assert.equal(e.constructor, Error, `${label} lock(${args}): ${e.message}`);
            assert.equal(e.code, "ERR_MMAP_TRUNCATED", `${label} lock(${args}): ${e.message}`);
            assert.ok(e.goneStart >= PAGESIZE + 100 && e.goneStart <= 3 * PAGESIZE, `${label}: goneStart ${e.goneStart}`);
            assert.equal(e.goneEnd, 4 * PAGESIZE);
            return true;
          },
        );
        assert.equal(lockedKiB(), base, `${label} lock(${args}): nothing locked`);
      }
      m.lock(0, PAGESIZE); // what the file still has
      assert.equal(lockedKiB() - base, PAGESIZE / 1024, `${label}: the first page locked`);
      m.unlock(); // munlock faults nothing in: a lost range unlocks
      m.unlock(2 * PAGESIZE);
      assert.equal(lockedKiB(), base, `${label}: unlocked`);
      assert.equal(m.get(0), 0x61, `${label}: the map still reads what the file has`);
      throwsCode(() => m.get(3 * PAGESIZE), Error, "ERR_MMAP_TRUNCATED");
    });
  });

  test("lock() of a read-only map, before or after a stray write through a view, breaks no copy-on-write: the map goes on showing the file", { skip: posixOnly || noMlock || (!VIEWS && "stray writes go through views") }, () => {
    // A read-only file map is a private mapping (a stray write lands in a private copy of its
    // page); Linux's mlock faults a writable private mapping in for writing, and mprotect makes a
    // locked one writable the same way: each copied every page of the map, which then stopped
    // showing the file's changes (and took the map's length in private memory).
    const path = tmpfile(Buffer.alloc(64 * PAGESIZE));
    const child = `import fs from "node:fs";
      import { MMap, ACCESS_READ, PAGESIZE } from ${JSON.stringify(DIST)};
      const path = ${JSON.stringify(path)}, P = PAGESIZE, out = {};
      // Private memory (kB) of the mappings of the file: the pages copied.
      const anon = () => fs.readFileSync("/proc/self/smaps", "utf8").split(/\\n(?=[0-9a-f]+-)/)
        .filter((e) => e.split("\\n")[0].endsWith(" " + path))
        .reduce((n, e) => n + Number(/\\nAnonymous:\\s+(\\d+)/.exec(e)[1]), 0);
      const fd = fs.openSync(path, "r+");
      for (const order of ["write, lock", "lock, write"]) {
        const m = new MMap(fd, 0, { access: ACCESS_READ });
        const v = m.buffer;
        if (order === "write, lock") { v[1] = 9; m.lock(); } else { m.lock(); v[1] = 9; }
        const mark = order.length;
        fs.writeSync(fd, Buffer.from([mark]), 0, 1, 40 * P); // another process's change, say
        out[order] = { stray: m.get(1), follows: m.get(40 * P) === mark, copiedKiB: anon() };
        m.close();
      }
      console.log(JSON.stringify(out));`;
    const r = runNode(["--input-type=module", "-e", child]);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    for (const order of ["write, lock", "lock, write"]) {
      assert.equal(out[order].stray, 9, `${order}: the stray write stays in the process's copy`);
      assert.equal(out[order].follows, true, `${order}: a page the stray write did not touch still shows the file`);
      assert.ok(out[order].copiedKiB <= (2 * PAGESIZE) / 1024, `${order}: ${out[order].copiedKiB} KiB copied (one page was written)`);
    }
    assert.equal(fs.readFileSync(path)[1], 0, "the file never saw the stray write");
  });

  test("resize() of a map lock() split: EFAULT says why (the lock of part of the map) and what to do; after unlock() it grows", { skip: (process.platform !== "linux" && "mremap: Linux") || (process.env.MEMMAP_NO_MREMAP === "1" && "the portable path maps anew: it grows") || noMlock }, () => {
    // mremap grows one kernel mapping only, and lock() (or madvise()) of part of a map splits it:
    // the growth failed with "EFAULT: bad address in system call argument, mremap", which names
    // neither the cause nor the way out.
    withMap([-1, 4 * PAGESIZE, { shareable: true }], (m) => {
      m.set(PAGESIZE, 7);
      m.lock(PAGESIZE, PAGESIZE);
      assert.throws(
        () => m.resize(8 * PAGESIZE),
        (e) => {
          assert.equal(e.code, "EFAULT");
          assert.equal(e.syscall, "mremap");
          assert.match(e.message, /lock\(\) or madvise\(\) of part of it/);
          assert.match(e.message, /unlock\(\)/);
          return true;
        },
      );
      assert.equal(m.length, 4 * PAGESIZE, "nothing changed");
      m.unlock(PAGESIZE, PAGESIZE);
      m.resize(8 * PAGESIZE);
      assert.equal(m.get(PAGESIZE), 7);
    });
  });

  test("a locked map grown while a view of it is held keeps the lock and gives the old range's back: VmLck does not creep up", { skip: (process.platform !== "linux" && "mremap: Linux") || (process.env.MEMMAP_NO_MREMAP === "1" && "the portable path maps anew: the new mapping is not locked") || noMlock || (!VIEWS && "a view held makes the growth keep the old addresses") }, () => {
    // With a view handed out, a growth that must move keeps the old addresses (a placeholder),
    // moving the pages with MREMAP_DONTUNMAP, which clears the old range's lock without taking it
    // off the process's locked memory (VmLck, what RLIMIT_MEMLOCK is checked against): every such
    // growth of a locked map added its old length for good, and under `ulimit -l` lock() and
    // resize() then failed (EAGAIN) with nothing locked.
    const base = lockedKiB();
    for (const make of [() => new MMap(-1, 4 * PAGESIZE, { shareable: true }), () => new MMap(-1, 4 * PAGESIZE, { flags: MAP_PRIVATE })]) {
      for (let round = 0; round < 3; round++) {
        const m = make();
        try {
          m.set(100, 7);
          m.lock();
          const view = m.buffer; // held: the old addresses must stay valid
          m.resize(64 * PAGESIZE);
          assert.equal(view.length, 0);
          assert.equal(m.get(100), 7);
          assert.equal(lockedKiB() - base, (64 * PAGESIZE) / 1024, "the grown map is locked whole, and nothing else");
          m.unlock();
          assert.equal(lockedKiB(), base, `round ${round}: nothing left counted as locked`);
        } finally {
          m.close();
        }
      }
    }
    assert.equal(lockedKiB(), base);
    // Under `ulimit -l 64` (without CAP_IPC_LOCK): twelve such rounds all work (the fourth failed
    // with EAGAIN before), and a growth beyond the limit fails with EAGAIN, changing nothing.
    const root = process.getuid() === 0;
    const setpriv = root ? spawnSync("setpriv", ["--version"]).status === 0 : true;
    if (!setpriv) return; // nothing here can drop the capability
    const child = `import fs from "node:fs";
      import { MMap, PAGESIZE } from ${JSON.stringify(DIST)};
      const locked = () => Number(/VmLck:\\s+(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]);
      const out = { rounds: [] };
      for (let i = 0; i < 12; i++) {
        const m = new MMap(-1, 4 * PAGESIZE, { shareable: true });
        try { m.lock(); const v = m.buffer; m.resize(8 * PAGESIZE); m.unlock(); out.rounds.push(locked()); }
        catch (e) { out.rounds.push(e.code); }
        m.close();
      }
      const m = new MMap(-1, 4 * PAGESIZE, { shareable: true });
      m.set(5, 5);
      m.lock();
      const v = m.buffer;
      try { m.resize(64 * PAGESIZE); out.big = "grown"; } catch (e) { out.big = [e.code, e.syscall]; }
      out.after = [m.length, v.length, v[5], locked()];
      m.close();
      console.log(JSON.stringify(out));`;
    const cmd = `ulimit -l 64 && exec ${root ? "setpriv --bounding-set=-ipc_lock --inh-caps=-ipc_lock " : ""}"${process.execPath}" --input-type=module -e '${child}'`;
    const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout);
    assert.deepEqual(got.rounds, Array(12).fill(0));
    assert.deepEqual(got.big, ["EAGAIN", "mremap"]);
    assert.deepEqual(got.after, [4 * PAGESIZE, 4 * PAGESIZE, 5, (4 * PAGESIZE) / 1024], "nothing changed: the map, its view and its lock");
  });

  test("beyond RLIMIT_MEMLOCK: ENOMEM (EPERM with a limit of 0) as fs-style errors, in a child under ulimit -l", { skip: posixOnly || noMlock }, () => {
    // Root has CAP_IPC_LOCK, which ignores the limit: the child runs without it (setpriv).
    const root = process.getuid() === 0;
    const setpriv = root ? spawnSync("setpriv", ["--version"]).status === 0 : false;
    if (root && !setpriv) return; // nothing here can drop the capability
    const child = `import { MMap, PAGESIZE } from ${JSON.stringify(DIST)};
      const m = new MMap(-1, 256 * PAGESIZE);
      const out = [];
      for (const [start, length] of [[0, 2 * PAGESIZE], [0, 256 * PAGESIZE]]) {
        try { m.lock(start, length); out.push("locked"); }
        catch (e) { out.push([e.constructor.name, e.code, e.errno, e.syscall, e.message].join("|")); }
      }
      m.unlock();
      console.log(JSON.stringify(out));`;
    const run = (kib) => {
      const cmd = `ulimit -l ${kib} && exec ${setpriv ? "setpriv --bounding-set=-ipc_lock --inh-caps=-ipc_lock " : ""}"${process.execPath}" --input-type=module -e '${child}'`;
      const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const [small, large] = run(64);
    assert.equal(small, "locked");
    assert.equal(large, `Error|ENOMEM|${errnoOf("ENOMEM")}|mlock|ENOMEM: not enough memory, mlock`);
    const [none] = run(0);
    assert.equal(none, `Error|EPERM|${errnoOf("EPERM")}|mlock|EPERM: operation not permitted, mlock`);
  });
});
