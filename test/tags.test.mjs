// SPEC §8 `tagname` on every OS, here POSIX shared memory (/dev/shm on Linux), with Windows'
// rules: the same tag gives the same memory in this process or another; a new tag creates zeros
// of the length asked; length 0 maps an existing tag whole (ENOENT, shm_open, when none exists);
// a length beyond an existing one's size is RangeError and grows nothing. The tag's checks ('/',
// '.', '..', NAME_MAX, NUL: RangeError ERR_INVALID_ARG_VALUE; "" names nothing), its combinations
// (a file descriptor, shareable), access modes, m.fd, resize, offsets. MMap.unlinkTag and the
// lifecycle docs/named-memory.md documents: the documented pattern leaves nothing in /dev/shm,
// also when a process that had the tag mapped is killed; a failed constructor leaves nothing.
// test/windows.test.mjs has the Windows rows.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { MMap, ACCESS_READ, ACCESS_COPY, ACCESS_WRITE, MAP_ANONYMOUS, MAP_SHARED, PAGESIZE, PROT_READ } from "../dist/index.js";
import { tmpfd, throwsCode, withMap, runNode, openFds, python, runPython, WINDOWS, VIEWS } from "./helpers.mjs";

const skip = WINDOWS && "POSIX shared memory: test/windows.test.mjs has the Windows rows";
const DIST = new URL("../dist/index.js", import.meta.url).href;

/**
 * A child's preamble that wraps the addon's tagLock (through process.dlopen): the child sets
 * `hook` to a function that then runs once, as a map is about to take its new tag's lock to size
 * it, forcing another party's step into that moment.
 */
const TAG_LOCK_HOOK = `const dlopen = process.dlopen;
       let hook = null;
       process.dlopen = function (module, file, ...rest) {
         dlopen.call(this, module, file, ...rest);
         const lock = module.exports.tagLock;
         if (typeof lock === "function") module.exports.tagLock = (fd, on) => {
           if (on && hook) { const h = hook; hook = null; h(); }
           return lock(fd, on);
         };
       };`;
const SHM = "/dev/shm";

/**
 * In a child process: a creator maps tag `t` with `creatorCall` while `hookBody` runs as another
 * party at the moment the creator takes its new tag's lock (TAG_LOCK_HOOK; `other` holds that
 * party's map), then a third map of the tag. Returns { creator: its error's code (or [code,
 * syscall] when the call fails in a system call) or "mapped", hooked, third: [length, first 6
 * bytes] }; the child writes nothing to stderr.
 */
function creatorRace(t, hookBody, creatorCall) {
  const r = runNode([
    "--input-type=module",
    "-e",
    `${TAG_LOCK_HOOK}
     const { MMap } = await import(${JSON.stringify(DIST)});
     const t = ${JSON.stringify(t)};
     let other = null;
     hook = () => { ${hookBody} };
     const out = {};
     try { ${creatorCall}; out.creator = "mapped"; } catch (e) { out.creator = e.syscall ? [e.code, e.syscall] : e.code; }
     out.hooked = other !== null;
     const third = new MMap(-1, 0, { tagname: t });
     out.third = [third.length, third.read(6).toString()];
     console.log(JSON.stringify(out));`,
  ]);
  assert.equal(r.stderr, "");
  return JSON.parse(r.stdout);
}
const made = [];
/** A fresh tag, removed (if still there) when the tests end. */
const tag = () => {
  const t = `memmap-test-${process.pid}-${randomBytes(4).toString("hex")}`;
  made.push(t);
  return t;
};
after(() => {
  if (WINDOWS) return;
  for (const t of made) fs.rmSync(`${SHM}/${t}`, { force: true });
});
const exists = (t) => fs.existsSync(`${SHM}/${t}`);
const sizeOf = (t) => fs.statSync(`${SHM}/${t}`).size;

/** Runs an ES module in a child process that imports memmap as `MMap`; resolves { code, signal, stdout, stderr }. */
function child(source, { onLine } = {}) {
  const p = spawn(process.execPath, ["--input-type=module", "-e", `import { MMap } from ${JSON.stringify(DIST)};\n${source}`], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  p.stdout.on("data", (d) => {
    for (const line of String(d).split("\n").filter(Boolean)) onLine?.(line, p);
    stdout += d;
  });
  p.stderr.on("data", (d) => (stderr += d));
  return { process: p, done: once(p, "exit").then(([code, signal]) => ({ code, signal, stdout, stderr })) };
}

describe("the same tag, the same memory", { skip }, () => {
  test("two maps of a tag in this process share their bytes; another tag is other memory", () => {
    const a = tag();
    const b = tag();
    withMap([-1, 100, { tagname: a }], (m1) =>
      withMap([-1, 100, { tagname: a }], (m2) =>
        withMap([-1, 100, { tagname: b }], (m3) => {
          m1.setSlice(0, 6, "shared");
          assert.equal(m2.slice(0, 6).toString(), "shared");
          m2.set(99, 0x41);
          assert.equal(m1.get(99), 0x41);
          assert.ok(m3.slice().every((x) => x === 0), "another tag is other memory");
        }),
      ),
    );
    assert.equal(sizeOf(a), 100);
    MMap.unlinkTag(a);
    MMap.unlinkTag(b);
  });

  test("a new tag is created with the length asked, zero-filled, as the object /dev/shm/<tag>", () => {
    const t = tag();
    assert.equal(exists(t), false);
    withMap([-1, 3 * PAGESIZE + 1, { tagname: t }], (m) => {
      assert.equal(m.length, 3 * PAGESIZE + 1);
      assert.ok(m.slice().every((x) => x === 0));
      assert.equal(sizeOf(t), 3 * PAGESIZE + 1);
      assert.equal((fs.statSync(`${SHM}/${t}`).mode & 0o777).toString(8), "600");
    });
    assert.ok(MMap.unlinkTag(t));
  });

  test("another process writes, this one reads, and back (the reference's sharing example by name)", async () => {
    const t = tag();
    const m = new MMap(-1, 64, { tagname: t });
    try {
      m.setSlice(0, 11, "from parent");
      const c = child(
        `const m = new MMap(-1, 0, { tagname: ${JSON.stringify(t)} });
         const got = m.slice(0, 11).toString();
         m.setSlice(20, 30, "from child");
         m.close();
         process.exitCode = got === "from parent" && m.closed ? 0 : 3;`,
      );
      const r = await c.done;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(m.slice(20, 30).toString(), "from child");
    } finally {
      m.close();
      MMap.unlinkTag(t);
    }
  });

  test("wait/notify by name across processes: a notify through another process's map (ACCESS_READ too) wakes the waiters, and says how many", async () => {
    const t = tag();
    const m = new MMap(-1, 64, { tagname: t });
    try {
      const waits = [m.waitAsync(8, 0, 60_000), m.waitAsync(8, 0, 60_000), m.waitAsync(8, 0, 60_000)];
      const c = child(
        `const { ACCESS_READ } = await import(${JSON.stringify(DIST)});
         const w = new MMap(-1, 0, { tagname: ${JSON.stringify(t)} });
         const r = new MMap(-1, 0, { tagname: ${JSON.stringify(t)}, access: ACCESS_READ });
         // The word stays 0: a waiter not asleep yet is not counted, and is woken by a later round.
         let woke = 0;
         for (let i = 0; i < 600 && woke < 2; i++) { woke += r.notify(8, 2 - woke); await new Promise((ok) => setTimeout(ok, 50)); }
         for (let i = 0; i < 600 && woke < 3; i++) { woke += w.notify(8); await new Promise((ok) => setTimeout(ok, 50)); }
         console.log(woke);`,
      );
      const r = await c.done;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), "3");
      assert.deepEqual(await Promise.all(waits), ["ok", "ok", "ok"]);
    } finally {
      m.close();
      MMap.unlinkTag(t);
    }
  });

  test("Python's multiprocessing.shared_memory names the same memory ('/' + tag)", { skip: python === null && "CPython 3.13 is not available" }, () => {
    const t = tag();
    withMap([-1, 64, { tagname: t }], (m) => {
      m.write("from memmap");
      const got = runPython(
        `import json\nfrom multiprocessing import shared_memory\n` +
          `s = shared_memory.SharedMemory(name=${JSON.stringify(t)}, track=False)\n` +
          `s.buf[20:31] = b"from python"\nprint(json.dumps([s.size, bytes(s.buf[:11]).decode()]))\ns.close()`,
      );
      assert.deepEqual(got, [64, "from memmap"]);
      assert.equal(m.slice(20, 31).toString(), "from python");
    });
    MMap.unlinkTag(t);
  });

  test("the memory outlives every map of it until the name is removed", () => {
    const t = tag();
    withMap([-1, 10, { tagname: t }], (m) => m.write("persisted!"));
    assert.ok(exists(t));
    withMap([-1, 0, { tagname: t }], (m) => assert.equal(m.read().toString(), "persisted!"));
    assert.equal(MMap.unlinkTag(t), true);
    assert.equal(exists(t), false);
    withMap([-1, 10, { tagname: t }], (m) => assert.ok(m.slice().every((x) => x === 0), "a new map of the name is new memory"));
    MMap.unlinkTag(t);
  });
});

describe("lengths and offsets", { skip }, () => {
  test("length 0 maps an existing tag whole; from an offset, the rest", () => {
    const t = tag();
    withMap([-1, 3 * PAGESIZE, { tagname: t }], (m1) => {
      m1.set(3 * PAGESIZE - 1, 9);
      withMap([-1, 0, { tagname: t }], (m2) => {
        assert.equal(m2.length, 3 * PAGESIZE);
        assert.equal(m2.get(-1), 9);
      });
      withMap([-1, 0, { tagname: t, offset: PAGESIZE }], (m3) => {
        assert.equal(m3.length, 2 * PAGESIZE);
        assert.equal(m3.offset, PAGESIZE);
        assert.equal(m3.get(-1), 9);
      });
    });
    MMap.unlinkTag(t);
  });

  test("length 0 and no such tag: ENOENT (shm_open), and nothing is created", () => {
    const t = tag();
    assert.throws(() => new MMap(-1, 0, { tagname: t }), (e) => {
      assert.equal(Object.getPrototypeOf(e), Error.prototype);
      assert.equal(e.code, "ENOENT");
      assert.equal(e.syscall, "shm_open");
      assert.equal(e.path, t);
      return true;
    });
    assert.equal(exists(t), false);
  });

  test("a length beyond the existing size: RangeError ERR_INVALID_ARG_VALUE, and the memory does not grow", () => {
    const t = tag();
    withMap([-1, 1000, { tagname: t }], (m) => {
      m.set(999, 7);
      throwsCode(() => new MMap(-1, 1001, { tagname: t }), RangeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => new MMap(-1, 100, { tagname: t, offset: PAGESIZE }), RangeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => new MMap(-1, 0, { tagname: t, offset: PAGESIZE }), RangeError, "ERR_INVALID_ARG_VALUE");
      assert.equal(sizeOf(t), 1000);
      withMap([-1, 1000, { tagname: t }], (m2) => assert.equal(m2.get(999), 7));
      withMap([-1, 10, { tagname: t }], (m3) => assert.equal(m3.length, 10));
    });
    MMap.unlinkTag(t);
  });

  test("a new tag with an offset is sized to offset + length", () => {
    const t = tag();
    withMap([-1, 100, { tagname: t, offset: PAGESIZE }], (m) => {
      assert.equal(sizeOf(t), PAGESIZE + 100);
      m.set(0, 5);
      withMap([-1, 0, { tagname: t }], (whole) => assert.equal(whole.get(PAGESIZE), 5));
    });
    MMap.unlinkTag(t);
  });

  test("memory found empty (another process between creating and sizing it) is sized by the first map with a length", () => {
    const t = tag();
    fs.writeFileSync(`${SHM}/${t}`, "", { mode: 0o600 });
    throwsCode(() => new MMap(-1, 0, { tagname: t }), RangeError, "ERR_INVALID_ARG_VALUE");
    withMap([-1, 50, { tagname: t }], (m) => assert.equal(m.length, 50));
    assert.equal(sizeOf(t), 50);
    MMap.unlinkTag(t);
  });

  test("memory found empty is sized by a read-only map (ACCESS_READ) with a length too, as a map of a new tag would be", () => {
    // Before: ACCESS_READ opened the memory read-only and never sized it, so a reader started with
    // its creator, mapping the tag with the same length as the docs' pattern says, could find it
    // between the creator's shm_open and ftruncate and get RangeError "greater than the size of
    // the tag's memory, 0" (where ACCESS_WRITE sized it and went on).
    const t = tag();
    fs.writeFileSync(`${SHM}/${t}`, "", { mode: 0o600 });
    throwsCode(() => new MMap(-1, 0, { tagname: t, access: ACCESS_READ }), RangeError, "ERR_INVALID_ARG_VALUE");
    assert.equal(sizeOf(t), 0, "length 0 sizes nothing");
    withMap([-1, 50, { tagname: t, access: ACCESS_READ }], (m) => {
      assert.equal(m.length, 50);
      assert.deepEqual([...m.slice()], new Array(50).fill(0));
      throwsCode(() => m.set(0, 1), TypeError, "ERR_MMAP_READ_ONLY");
    });
    assert.equal(sizeOf(t), 50);
    // The same race, forced: as the creator is about to size its new tag (the addon's tagLock
    // wrapped through process.dlopen), a reader maps it with the same length.
    const u = tag();
    const r = runNode([
      "--input-type=module",
      "-e",
      `${TAG_LOCK_HOOK}
       const { MMap, ACCESS_READ } = await import(${JSON.stringify(DIST)});
       const t = ${JSON.stringify(u)};
       const out = {};
       let reader = null;
       hook = () => {
         try { reader = new MMap(-1, 4096, { tagname: t, access: ACCESS_READ }); out.reader = reader.length; }
         catch (e) { out.reader = e.code; }
       };
       const creator = new MMap(-1, 4096, { tagname: t });
       creator.write("made");
       out.seen = reader?.read(4).toString();
       console.log(JSON.stringify(out));`,
    ]);
    assert.equal(r.stderr, "");
    assert.deepEqual(JSON.parse(r.stdout), { reader: 4096, seen: "made" });
    MMap.unlinkTag(t);
    MMap.unlinkTag(u);
  });

  test("maps of a new tag made at once with different lengths (workers) never shrink each other's memory: the second finds the first's size (ERR_MMAP_TRUNCATED from a map just made before)", () => {
    // Four workers map one tag, each with its own length, and remove its name, for 1.5 s: the tag
    // is made new again and again, and two parties often find it empty at once. Both sized it; the
    // creator's ftruncate after the other's shrank the other's memory (2-5 times a run).
    const t = tag();
    const r = runNode(
      [
        "--input-type=module",
        "-e",
        `import { Worker } from "node:worker_threads";
         const all = { shrunk: 0, truncated: 0, maps: 0, refused: 0 };
         await Promise.all([0, 1, 2, 3].map((k) => new Promise((resolve, reject) => {
           const w = new Worker(\`
             const { MMap } = await import(${JSON.stringify(DIST)});
             const fs = await import("node:fs");
             const { parentPort, workerData: { k, t } } = await import("node:worker_threads");
             const out = { shrunk: 0, truncated: 0, maps: 0, refused: 0 };
             const len = 4096 * (1 + k);
             const until = Date.now() + 1500;
             while (Date.now() < until) {
               let m;
               try { m = new MMap(-1, len, { tagname: t }); }
               catch (e) { if (e.code !== "ERR_INVALID_ARG_VALUE" && e.code !== "ENOENT") throw e; out.refused++; continue; }
               out.maps++;
               try { m.set(len - 1, 7); } catch (e) { if (e.code !== "ERR_MMAP_TRUNCATED") throw e; out.truncated++; }
               if (fs.fstatSync(m.fd).size < len) out.shrunk++;
               MMap.unlinkTag(t);
               m.close();
             }
             parentPort.postMessage(out);
           \`, { eval: true, workerData: { k, t: ${JSON.stringify(t)} } });
           w.on("message", (o) => { for (const key in all) all[key] += o[key]; });
           w.on("error", reject);
           w.on("exit", resolve);
         })));
         console.log(JSON.stringify(all));`,
      ],
      { timeout: 30_000 },
    );
    assert.deepEqual({ signal: r.signal, status: r.status, stderr: r.stderr }, { signal: null, status: 0, stderr: "" });
    const got = JSON.parse(r.stdout);
    assert.ok(got.maps > 100 && got.refused > 100, r.stdout);
    assert.deepEqual({ shrunk: got.shrunk, truncated: got.truncated }, { shrunk: 0, truncated: 0 });
  });
});

describe("checks", { skip }, () => {
  test("names the system cannot take: RangeError ERR_INVALID_ARG_VALUE, nothing created", () => {
    const before = fs.readdirSync(SHM).length;
    // A lone surrogate has no UTF-8 form: "\ud800" and "\udfff" would both name "\ufffd" (found by an attack).
    for (const bad of ["a/b", "/lead", ".", "..", "x".repeat(256), "é".repeat(128), "nul\0inside", "lone-\ud800", "lone-\udfff", "\udc00x"]) {
      throwsCode(() => new MMap(-1, 10, { tagname: bad }), RangeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => MMap.unlinkTag(bad), RangeError, "ERR_INVALID_ARG_VALUE");
    }
    assert.equal(fs.readdirSync(SHM).length, before);
    // The longest name: NAME_MAX (255) bytes of UTF-8.
    const longest = `${"é".repeat(120)}${randomBytes(7).toString("hex")}`;
    assert.equal(Buffer.byteLength(longest), 254);
    made.push(longest);
    withMap([-1, 1, { tagname: longest }], (m) => assert.equal(m.length, 1));
    assert.ok(MMap.unlinkTag(longest));
    // Any other character is taken: spaces, dots, unicode.
    const odd = `${tag()} .x ü 🙂`;
    made.push(odd);
    withMap([-1, 1, { tagname: odd }], () => assert.ok(exists(odd)));
    assert.ok(MMap.unlinkTag(odd));
  });

  test("an empty tag names nothing: a private anonymous map, as on Windows; unlinkTag('') is RangeError", () => {
    const before = fs.readdirSync(SHM).sort();
    withMap([-1, 16, { tagname: "" }], (m1) =>
      withMap([-1, 16, { tagname: "" }], (m2) => {
        m1.set(0, 9);
        assert.equal(m2.get(0), 0);
        assert.equal(m1.fd, -1);
      }),
    );
    assert.deepEqual(fs.readdirSync(SHM).sort(), before);
    throwsCode(() => MMap.unlinkTag(""), RangeError, "ERR_INVALID_ARG_VALUE");
  });

  test("a FIFO or a directory in /dev/shm under a tag's name (any user can make one) is refused at once, never waited on", { skip: process.platform !== "linux" && "/dev/shm: Linux" }, () => {
    // Found by an attack: a read-only open of a FIFO blocks until a writer comes, on the
    // JavaScript thread. Run in a child with a timeout: a hang fails the test instead of this run.
    const fifo = tag();
    const dir = tag();
    const r0 = runNode(["-e", `require("node:child_process").execFileSync("mkfifo", [${JSON.stringify(`${SHM}/${fifo}`)}])`]);
    assert.equal(r0.status, 0, r0.stderr);
    fs.mkdirSync(`${SHM}/${dir}`);
    try {
      const body = `
        const out = [], hints = [];
        for (const [t, length, access] of [[${JSON.stringify(fifo)}, 0, ACCESS_READ], [${JSON.stringify(fifo)}, 100, ACCESS_READ], [${JSON.stringify(fifo)}, 100, undefined], [${JSON.stringify(dir)}, 0, ACCESS_READ], [${JSON.stringify(dir)}, 100, undefined]]) {
          try { new MMap(-1, length, { tagname: t, access }); out.push("mapped"); } catch (e) { out.push(e.code + " " + e.syscall); hints.push(e.message); }
        }
        try { MMap.unlinkTag(${JSON.stringify(dir)}); } catch (e) { out.push(e.code + " " + e.syscall); hints.push(e.message); }
        console.log(JSON.stringify({ out, hints }));`;
      const r = runNode(["--input-type=module", "-e", `import { MMap, ACCESS_READ } from ${JSON.stringify(DIST)};\n${body}`], { timeout: 20_000 });
      assert.equal(r.signal, null, `the child hung (killed by ${r.signal})`);
      assert.equal(r.status, 0, r.stderr);
      const { out, hints } = JSON.parse(r.stdout.trim());
      assert.deepEqual(out, ["EINVAL shm_open", "EINVAL shm_open", "EINVAL shm_open", "EISDIR shm_open", "EISDIR shm_open", "EISDIR shm_unlink"]);
      // The message says what is wrong, which "EINVAL: invalid argument" alone did not.
      for (const [i, m] of hints.entries()) {
        const name = `${SHM}/${i < 3 ? fifo : dir}`;
        assert.ok(m.includes(i < 5 ? `${name} is not shared memory but a directory, FIFO, symbolic link or socket: use another tagname` : `${name} is a directory, not shared memory`), m);
      }
      assert.ok(fs.statSync(`${SHM}/${fifo}`).isFIFO() && fs.statSync(`${SHM}/${dir}`).isDirectory(), "both left as they were");
    } finally {
      fs.rmSync(`${SHM}/${fifo}`, { force: true });
      fs.rmSync(`${SHM}/${dir}`, { recursive: true, force: true });
    }
  });

  // Root, setpriv, and a checkout another user may read (a private temporary tree may not be).
  const NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"];
  const asNobody =
    process.platform === "linux" &&
    process.getuid?.() === 0 &&
    spawnSync("setpriv", [...NOBODY, process.execPath, "-e", `require("node:fs").accessSync(${JSON.stringify(new URL(DIST).pathname)})`]).status === 0;
  test("ACCESS_COPY (and MAP_PRIVATE) of memory this process may only read maps it, as of a read-only file; its writes stay private", { skip: !asNobody && "needs root, setpriv and a checkout another user may read" }, () => {
    // Found by an attack: ACCESS_READ mapped another user's 0644 tag, ACCESS_COPY gave EACCES.
    const t = tag();
    withMap([-1, PAGESIZE, { tagname: t }], (m) => m.write("shared"));
    fs.chmodSync(`${SHM}/${t}`, 0o644);
    const body = `
      const out = [];
      for (const options of [{ access: ACCESS_COPY }, { flags: MAP_PRIVATE }, { access: ACCESS_READ }]) {
        const m = new MMap(-1, 0, { tagname: ${JSON.stringify(t)}, ...options });
        const before = m.slice(0, 6).toString();
        let wrote;
        try { m.setSlice(0, 6, "mine!!"); wrote = m.slice(0, 6).toString(); } catch (e) { wrote = e.code; }
        m.close();
        out.push([before, wrote]);
      }
      try { new MMap(-1, 0, { tagname: ${JSON.stringify(t)} }); out.push("mapped for writing"); } catch (e) { out.push(e.code); }
      console.log(JSON.stringify(out));`;
    const code = `import { MMap, ACCESS_COPY, ACCESS_READ, MAP_PRIVATE } from ${JSON.stringify(DIST)};\n${body}`;
    const r = spawnSync("setpriv", [...NOBODY, process.execPath, "--input-type=module", "-e", code], { encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim()), [["shared", "mine!!"], ["shared", "mine!!"], ["shared", "ERR_MMAP_READ_ONLY"], "EACCES"]);
    withMap([-1, 0, { tagname: t, access: ACCESS_READ }], (m) => assert.equal(m.slice(0, 6).toString(), "shared"));
  });

  test("another user's memory: EACCES and EPERM say what to do (ACCESS_READ, whose name it is)", { skip: !asNobody && "needs root, setpriv and a checkout another user may read" }, () => {
    // Before: "EACCES: permission denied, shm_open 'tag'" alone, though ACCESS_READ maps memory
    // another user shares read-only; and EPERM from unlinkTag did not say whose the name is.
    const t = tag();
    const secret = tag();
    withMap([-1, PAGESIZE, { tagname: t }], (m) => m.write("shared"));
    fs.chmodSync(`${SHM}/${t}`, 0o644);
    withMap([-1, PAGESIZE, { tagname: secret }], () => {});
    const body = `
      const out = [];
      const err = (f) => { try { f(); out.push("ok"); } catch (e) { out.push([e.code, e.syscall, e.message]); } };
      err(() => new MMap(-1, 0, { tagname: ${JSON.stringify(t)} }));
      err(() => new MMap(-1, 0, { tagname: ${JSON.stringify(t)}, access: ACCESS_READ }).close());
      err(() => new MMap(-1, 0, { tagname: ${JSON.stringify(secret)}, access: ACCESS_READ }));
      err(() => new MMap(-1, 0, { tagname: ${JSON.stringify(secret)}, access: ACCESS_COPY }));
      err(() => MMap.unlinkTag(${JSON.stringify(t)}));
      console.log(JSON.stringify(out));`;
    const r = spawnSync("setpriv", [...NOBODY, process.execPath, "--input-type=module", "-e", `import { MMap, ACCESS_READ, ACCESS_COPY } from ${JSON.stringify(DIST)};\n${body}`], { encoding: "utf8", timeout: 60_000 });
    assert.equal(r.stderr, "");
    const [write, read, unreadable, copy, unlink] = JSON.parse(r.stdout);
    assert.deepEqual(write.slice(0, 2), ["EACCES", "shm_open"]);
    assert.ok(write[2].includes(`${SHM}/${t} is another user's, or read-only to this one: map it with { access: ACCESS_READ } or ACCESS_COPY if it may be read`), write[2]);
    assert.equal(read, "ok");
    for (const e of [unreadable, copy]) {
      assert.deepEqual(e.slice(0, 2), ["EACCES", "shm_open"]);
      assert.ok(e[2].includes(`${SHM}/${secret} may not be read by this user`), e[2]);
    }
    assert.deepEqual(unlink.slice(0, 2), ["EPERM", "shm_unlink"]);
    assert.ok(unlink[2].includes(`only the user who made ${SHM}/${t}, or root, may remove its name`), unlink[2]);
    assert.ok(exists(t) && exists(secret));
    MMap.unlinkTag(t);
    MMap.unlinkTag(secret);
  });

  // A private mount namespace where a tmpfs hides /dev (so there is no /dev/shm): root or CAP_SYS_ADMIN.
  const noShm =
    process.platform === "linux" &&
    spawnSync("unshare", ["-m", "sh", "-c", "mount -t tmpfs -o size=1m none /dev && test ! -e /dev/shm"]).status === 0;
  test("a system without /dev/shm: creating a tag is ENOENT (shm_open) that says so, not a bare 'no such file or directory'", { skip: !noShm && "needs unshare -m and mount (root)" }, () => {
    // Before: "ENOENT: no such file or directory, shm_open 'x'" for a new tag, which reads as if the
    // tag had to exist (some containers and sandboxes have no /dev/shm).
    const script = `import { MMap } from ${JSON.stringify(DIST)};
      const out = [];
      for (const length of [10, 0]) try { new MMap(-1, length, { tagname: "x" }); out.push("mapped"); } catch (e) { out.push([e.code, e.syscall, e.message]); }
      out.push(MMap.unlinkTag("x"));
      console.log(JSON.stringify(out));`;
    const r = spawnSync("unshare", ["-m", "sh", "-c", 'mount -t tmpfs -o size=1m none /dev && exec "$0" --input-type=module -e "$1"', process.execPath, script], { encoding: "utf8", timeout: 60_000 });
    assert.equal(r.stderr, "");
    const [create, open, unlinked] = JSON.parse(r.stdout);
    assert.deepEqual(create.slice(0, 2), ["ENOENT", "shm_open"]);
    assert.ok(create[2].includes("there is no /dev/shm here, where POSIX shared memory lives"), create[2]);
    // Length 0 asks for an existing tag: no such tag is the plain ENOENT.
    assert.deepEqual(open, ["ENOENT", "shm_open", "ENOENT: no such file or directory, shm_open 'x'"]);
    assert.equal(unlinked, false);
  });

  test("wrong types: TypeError ERR_INVALID_ARG_TYPE", () => {
    for (const bad of [1, null, {}, true, Symbol("t")]) {
      throwsCode(() => new MMap(-1, 10, { tagname: bad }), TypeError, "ERR_INVALID_ARG_TYPE");
      throwsCode(() => MMap.unlinkTag(bad), TypeError, "ERR_INVALID_ARG_TYPE");
    }
    throwsCode(() => MMap.unlinkTag(), TypeError, "ERR_INVALID_ARG_TYPE");
  });

  test("a tag with a file descriptor, or with shareable: RangeError ERR_INVALID_ARG_VALUE, nothing created", () => {
    const t = tag();
    const { fd } = tmpfd("0123456789");
    throwsCode(() => new MMap(fd, 10, { tagname: t }), RangeError, "ERR_INVALID_ARG_VALUE");
    throwsCode(() => new MMap(-1, 10, { tagname: t, shareable: true }), RangeError, "ERR_INVALID_ARG_VALUE");
    assert.equal(exists(t), false);
  });

  test("unlinkTag: true when a name was removed, false when there was none", () => {
    const t = tag();
    assert.equal(MMap.unlinkTag(t), false);
    withMap([-1, 1, { tagname: t }], () => {
      assert.equal(MMap.unlinkTag(t), true);
      assert.equal(MMap.unlinkTag(t), false);
    });
  });
});

describe("access modes, m.fd, resize", { skip }, () => {
  test("ACCESS_READ: reads the memory, refuses writes; a write through a view stays private", () => {
    const t = tag();
    withMap([-1, 8, { tagname: t }], (rw) => {
      rw.write("abcdefgh");
      withMap([-1, 0, { tagname: t, access: ACCESS_READ }], (ro) => {
        assert.equal(ro.slice().toString(), "abcdefgh");
        throwsCode(() => ro.set(0, 1), TypeError, "ERR_MMAP_READ_ONLY");
        rw.set(0, 0x41);
        assert.equal(ro.get(0), 0x41, "a read-only map sees later writes of others");
        if (VIEWS) {
          ro.buffer[1] = 0x5a;
          assert.equal(rw.get(1), "b".charCodeAt(0), "never reaches the shared memory");
        }
      });
    });
    // A read-only map of a new tag creates it, as on Windows (zeros).
    const fresh = tag();
    withMap([-1, 4, { tagname: fresh, prot: PROT_READ }], (m) => assert.deepEqual([...m.slice()], [0, 0, 0, 0]));
    MMap.unlinkTag(t);
    MMap.unlinkTag(fresh);
  });

  test("flags with MAP_ANONYMOUS still map the tag's memory", () => {
    const t = tag();
    withMap([-1, 8, { tagname: t }], (a) =>
      withMap([-1, 8, { tagname: t, flags: MAP_SHARED | MAP_ANONYMOUS }], (b) => {
        a.set(0, 6);
        assert.equal(b.get(0), 6);
      }),
    );
    MMap.unlinkTag(t);
  });

  test("ACCESS_COPY: writes stay in this map; ACCESS_WRITE: they are shared", () => {
    const t = tag();
    withMap([-1, 2 * PAGESIZE, { tagname: t, access: ACCESS_WRITE }], (w) =>
      withMap([-1, 2 * PAGESIZE, { tagname: t, access: ACCESS_COPY }], (c) => {
        c.set(0, 1);
        assert.equal(w.get(0), 0);
        // A page this map has not written still shows the shared memory (MAP_PRIVATE's rule).
        w.set(PAGESIZE, 2);
        assert.equal(c.get(PAGESIZE), 2);
        w.set(1, 2);
        assert.equal(c.get(1), 0, "its own copy of page 0");
      }),
    );
    MMap.unlinkTag(t);
  });

  test("m.fd is the object's descriptor, owned and closed with the map; trackfd: false refuses size() and resize()", () => {
    const t = tag();
    const fds = openFds();
    const m = new MMap(-1, 123, { tagname: t });
    assert.ok(m.fd >= 0);
    assert.equal(fs.fstatSync(m.fd).size, 123);
    assert.equal(fs.readlinkSync(`/proc/self/fd/${m.fd}`), `${SHM}/${t}`);
    assert.equal(m.size(), 123);
    m.close();
    assert.equal(m.fd, -1);
    assert.equal(openFds(), fds);
    withMap([-1, 10, { tagname: t, trackfd: false }], (n) => {
      throwsCode(() => n.size(), Error, "ERR_MMAP_NO_FD");
      throwsCode(() => n.resize(20), TypeError, "ERR_MMAP_NOT_RESIZABLE");
    });
    MMap.unlinkTag(t);
  });

  test("resize() sets the size of the memory (as a file's); another map keeps its own length", () => {
    const t = tag();
    withMap([-1, PAGESIZE, { tagname: t }], (a) =>
      withMap([-1, 0, { tagname: t }], (b) => {
        a.set(5, 5);
        a.resize(3 * PAGESIZE);
        assert.equal(sizeOf(t), 3 * PAGESIZE);
        a.set(2 * PAGESIZE, 7);
        assert.equal(b.length, PAGESIZE);
        withMap([-1, 0, { tagname: t }], (c) => assert.equal(c.get(2 * PAGESIZE), 7));
        a.resize(2 * PAGESIZE);
        assert.equal(b.get(5), 5);
      }),
    );
    MMap.unlinkTag(t);
  });
});

describe("the lifecycle: nothing left in /dev/shm", { skip }, () => {
  test("the documented pattern: create, let the others map it, unlinkTag; then kill a process that maps it", async () => {
    const t = tag();
    const creator = new MMap(-1, PAGESIZE, { tagname: t });
    creator.write("hello child");
    // The child maps the tag, says so, then waits to be killed while it keeps the map open.
    let ready;
    const mapped = new Promise((resolve) => (ready = resolve));
    const c = child(
      `const m = new MMap(-1, 0, { tagname: ${JSON.stringify(t)} });
       m.setSlice(100, 105, "child");
       console.log("mapped " + m.slice(0, 11).toString());
       setInterval(() => {}, 1000);`,
      { onLine: (line) => ready(line) },
    );
    assert.equal(await mapped, "mapped hello child");
    assert.equal(MMap.unlinkTag(t), true); // everyone has it: the name can go
    assert.equal(exists(t), false);
    assert.equal(creator.slice(100, 105).toString(), "child", "the memory lives on while mapped");
    c.process.kill("SIGKILL");
    const r = await c.done;
    assert.equal(r.signal, "SIGKILL");
    creator.close();
    assert.equal(exists(t), false);
    assert.equal(fs.readdirSync(SHM).filter((n) => n.startsWith(`memmap-test-${process.pid}`)).length, made.filter(exists).length);
  });

  test("what is not guaranteed: a process killed before anyone removed the name leaves it, and unlinkTag removes it", async () => {
    const t = tag();
    const c = child(`const m = new MMap(-1, 4096, { tagname: ${JSON.stringify(t)} }); m.write("orphan"); process.kill(process.pid, "SIGKILL");`);
    const r = await c.done;
    assert.equal(r.signal, "SIGKILL");
    assert.ok(exists(t), "a POSIX name outlives its processes");
    withMap([-1, 0, { tagname: t }], (m) => assert.equal(m.slice(0, 6).toString(), "orphan"));
    assert.equal(MMap.unlinkTag(t), true);
    assert.equal(exists(t), false);
  });

  test("a failed constructor removes the memory it created, and closes its descriptor", () => {
    const t = tag();
    const fds = openFds();
    // flags 0 (neither MAP_SHARED nor MAP_PRIVATE): the object is created and sized, then mmap says EINVAL.
    assert.throws(() => new MMap(-1, 10, { tagname: t, flags: 0 }), (e) => e.code === "EINVAL" && e.syscall === "mmap");
    assert.equal(exists(t), false);
    assert.equal(openFds(), fds);
    // A tag that existed before the failure stays, unchanged.
    withMap([-1, 10, { tagname: t }], (m) => {
      m.set(0, 3);
      assert.throws(() => new MMap(-1, 10, { tagname: t, flags: 0 }), (e) => e.code === "EINVAL");
      assert.ok(exists(t));
      assert.equal(m.get(0), 3);
    });
    assert.equal(openFds(), fds);
    MMap.unlinkTag(t);
  });

  test("a creator that fails because another process sized its new tag first leaves the name to that process's memory", () => {
    // The race of two processes creating one tag with different lengths, made deterministic: the
    // addon's tagLock is wrapped (process.dlopen) so that, as the creator is about to take the
    // object's lock to size it, another party opens the object it just made, sizes it to 4096 and
    // writes there. The creator, asking for 8192, is refused (ERR_INVALID_ARG_VALUE, as the docs
    // say). Before, its failure also removed the name (it had created the object): the other
    // party's memory lost its name under it, and the next map of the tag made new, empty memory.
    const t = tag();
    const out = creatorRace(t, `other = new MMap(-1, 4096, { tagname: t }); other.write("theirs");`, "new MMap(-1, 8192, { tagname: t })");
    assert.deepEqual(out, { creator: "ERR_INVALID_ARG_VALUE", hooked: true, third: [4096, "theirs"] });
    assert.equal(sizeOf(t), 4096);
    MMap.unlinkTag(t);
  });

  test("a creator whose map fails after another process removed the name and made new memory of it leaves that new memory's name", () => {
    // The creator made and sized its object; before it mapped it, another process removed the name
    // (unlinkTag) and created the tag again, and writes there. The creator's map then fails
    // (flags 0: EINVAL from mmap). Before, its clean-up removed the name, which named the other
    // process's memory by then: the next map of the tag found none (ENOENT). The interleaving is
    // forced by wrapping the addon's tagLock (process.dlopen).
    const t = tag();
    const out = creatorRace(t, `MMap.unlinkTag(t); other = new MMap(-1, 4096, { tagname: t }); other.write("theirs");`, "new MMap(-1, 8192, { tagname: t, flags: 0 })");
    assert.deepEqual(out, { creator: ["EINVAL", "mmap"], hooked: true, third: [4096, "theirs"] });
    MMap.unlinkTag(t);
  });

  test("an offset off the page granularity is refused before the tag's memory is made: no object appears, even for a moment", () => {
    // Before: the object was created and sized, then mmap said EINVAL and the clean-up removed
    // it; meanwhile another process could open the tag and map it (its name then removed under
    // it). The error is the same as before (EINVAL, mmap, with the hint); the addon's tagOpen is
    // watched (process.dlopen) to see that no object was created.
    const t = tag();
    const r = runNode([
      "--input-type=module",
      "-e",
      `const dlopen = process.dlopen;
       const made = [];
       process.dlopen = function (module, file, ...rest) {
         dlopen.call(this, module, file, ...rest);
         const open = module.exports.tagOpen;
         if (typeof open === "function") module.exports.tagOpen = (name, create, readonly) => {
           if (create) made.push(Buffer.from(name).toString());
           return open(name, create, readonly);
         };
       };
       const { MMap, PAGESIZE } = await import(${JSON.stringify(DIST)});
       const out = {};
       try { new MMap(-1, 10, { tagname: ${JSON.stringify(t)}, offset: PAGESIZE / 2 }); out.mapped = true; } catch (e) { out.error = [e.code, e.syscall, e.message]; }
       out.made = made.length;
       const ok = new MMap(-1, 10, { tagname: ${JSON.stringify(t)}, offset: PAGESIZE });
       out.then = [ok.length, made.length];
       ok.close();
       console.log(JSON.stringify(out));`,
    ]);
    assert.equal(r.stderr, "");
    const got = JSON.parse(r.stdout);
    assert.deepEqual(got.error.slice(0, 2), ["EINVAL", "mmap"]);
    assert.ok(got.error[2].includes(`options.offset must be a multiple of ALLOCATIONGRANULARITY (${PAGESIZE}); it is ${PAGESIZE / 2}`), got.error[2]);
    assert.equal(got.made, 0, "no object was created for the failing call");
    assert.deepEqual(got.then, [10, 1], "a valid offset still creates it (the watch works)");
    assert.equal(sizeOf(t), PAGESIZE + 10);
    MMap.unlinkTag(t);
  });

  test("tag maps never closed in a loop are reclaimed: 5,000 maps of one tag under ulimit -n 256", () => {
    const t = tag();
    const r = runNode([
      "-e",
      `require("node:child_process").execFileSync("sh", ["-c", 'ulimit -n 256 && exec "$0" --input-type=module -e "$1"', process.execPath,
        \`import { MMap } from ${JSON.stringify(DIST)};
         for (let i = 0; i < 5000; i++) { const m = new MMap(-1, 64, { tagname: ${JSON.stringify(t)} }); m.set(i % 64, 1); }
         MMap.unlinkTag(${JSON.stringify(t)});
         console.log("ok");\`], { stdio: "inherit" });`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "ok");
    assert.equal(exists(t), false);
  });
});
