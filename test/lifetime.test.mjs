// SPEC §3 "Views and lifetime": zero-copy views (buffer, subarray), their detachment by
// close() and resize(), maps reclaimed by the garbage collector (descriptors and mappings),
// a loop of maps never closed under `ulimit -n 1024`, flushAsync racing close, Symbol.dispose,
// and writes through views of read-only maps.
//
// Without views (MEMMAP_NO_EXTERNAL_BUFFERS=1, as in Electron) every view asked for must be
// refused with ERR_MMAP_VIEWS_UNAVAILABLE, and the rest of each test (contents through the
// methods, resize, close, descriptors and mappings released) runs as it does with views.
//
// Memory is only read through a view after checking that the view is still attached (or
// that the mapping is still listed in /proc/self/maps), so a library bug makes a test fail
// instead of crashing this process; unguarded reads run in child processes.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import crypto from "node:crypto";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { MMap, ACCESS_READ, MAP_PRIVATE, MAP_SHARED, PROT_READ, PAGESIZE } from "../dist/index.js";
import { tmpdir, tmpfile, throwsCode, rejectsCode, mappingCount, runNode, VIEWS, fillFrom, assertNoViews, WINDOWS } from "./helpers.mjs";

const DIST = new URL("../dist/index.js", import.meta.url).href;

/** V8's gc(): exposed by the test runner (--expose-gc), or obtained the documented way. */
const gc =
  globalThis.gc ??
  (() => {
    setFlagsFromString("--expose-gc");
    const f = runInNewContext("gc");
    setFlagsFromString("--no-expose-gc");
    return f;
  })();

/** Full collections, letting the finalizers (which Node-API runs from the event loop) run in between. */
async function collect(rounds = 4) {
  for (let i = 0; i < rounds; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

const opened = [];
after(() => {
  for (const fd of opened) fs.closeSync(fd);
});

/** A new temporary file holding `content`, open read-write: { fd, path }, closed after the tests. */
function tmpfd(content) {
  const path = tmpfile(content);
  const fd = fs.openSync(path, "r+");
  opened.push(fd);
  return { fd, path };
}

/** Descriptors of this process open on `file`. */
function fdsOn(file) {
  const real = fs.realpathSync(file);
  let n = 0;
  for (const e of fs.readdirSync("/proc/self/fd")) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${e}`) === real) n++;
    } catch {}
  }
  return n;
}

/** Descriptors of this process that are memfds made by memmap. */
function memfds() {
  let n = 0;
  for (const e of fs.readdirSync("/proc/self/fd")) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${e}`).startsWith("/memfd:memmap")) n++;
    } catch {}
  }
  return n;
}

/** Lines of /proc/self/maps that map `file`. */
function mapsOf(file) {
  const real = fs.realpathSync(file);
  return fs
    .readFileSync("/proc/self/maps", "utf8")
    .split("\n")
    .filter((l) => l.endsWith(` ${real}`)).length;
}

/** Virtual size of this process in KiB. */
function vmSizeKiB() {
  return Number(/VmSize:\s+(\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]);
}

/** Asserts that every view is detached, checking byteLength before touching any element. */
function assertDetached(views, what) {
  for (const [name, v] of Object.entries(views)) {
    assert.equal(v.buffer.byteLength, 0, `${what}: ${name}.buffer is detached`);
    assert.equal(v.byteLength, 0, `${what}: ${name}.byteLength`);
    assert.equal(v.length, 0, `${what}: ${name}.length`);
    assert.equal(v[0], undefined, `${what}: ${name}[0]`);
  }
}

/**
 * Takes the views `makers` give ({ name: () => view }). Without views, asserts that each one is
 * refused with ERR_MMAP_VIEWS_UNAVAILABLE and returns {}: there is nothing to detach.
 */
function takeViews(makers) {
  const out = {};
  for (const [name, make] of Object.entries(makers)) {
    if (VIEWS) out[name] = make();
    else throwsCode(make, Error, "ERR_MMAP_VIEWS_UNAVAILABLE");
  }
  return out;
}

/** `m.buffer`; without views, a copy of the same bytes (the view being refused). */
function wholeOf(m) {
  if (VIEWS) return m.buffer;
  throwsCode(() => m.buffer, Error, "ERR_MMAP_VIEWS_UNAVAILABLE");
  return m.slice();
}

/** `m.subarray(a, b)`; without views, a copy of the same bytes (the view being refused). */
function partOf(m, a, b) {
  if (VIEWS) return m.subarray(a, b);
  throwsCode(() => m.subarray(a, b), Error, "ERR_MMAP_VIEWS_UNAVAILABLE");
  return Buffer.from(m.slice().subarray(a, b));
}

/** Runs an ESM `source` in a child Node (it may import { MMap, ... } from DIST); asserts a clean exit 0. */
function runChild(source, { env, args = [], timeout = 60_000 } = {}) {
  const r = runNode(["--input-type=module", "-e", source, ...args], { env: { ...process.env, ...env }, timeout });
  assert.equal(r.signal, null, `child killed by ${r.signal}\n${r.stderr}`);
  assert.equal(r.status, 0, `child exit status ${r.status}\n${r.stderr}`);
  return r.stdout;
}

const pattern = (n, mul = 7, add = 3) => Buffer.from(Array.from({ length: n }, (_, i) => (i * mul + add) & 255));

// ---------------------------------------------------------------- zero-copy views

describe("zero-copy views", () => {
  test("buffer and subarray share memory with a file map, both ways", () => {
    const content = Buffer.from("The quick brown fox jumps over the lazy dog\n");
    const { fd, path } = tmpfd(content);
    const m = new MMap(fd, 0);
    try {
      if (!VIEWS) {
        // Without views: the same changes through the methods, the same file.
        assertNoViews(m, 4, 9);
        m.set(4, 0x51);
        m.setSlice(5, 6, "U");
        assert.equal(m.get(5), 0x55);
        assert.equal(m.slice(4, 9).toString(), "QUick");
        m.seek(10);
        m.write("BROWN");
        assert.equal(m.slice(10, 15).toString("latin1"), "BROWN");
        m.flush();
        assert.ok(fs.readFileSync(path).equals(m.slice()));
        // A write to the file is seen by the map (one page cache).
        fs.writeSync(fd, "zz", 0, "latin1");
        assert.equal(m.slice(0, 2).toString("latin1"), "zz");
        return;
      }
      const b = m.buffer;
      assert.ok(Buffer.isBuffer(b));
      assert.equal(b.length, content.length);
      assert.ok(b.equals(content));
      const v = m.subarray(4, 9);
      assert.ok(Buffer.isBuffer(v));
      assert.equal(v.toString(), "quick");

      m.set(4, 0x51); // 'Q' through the map
      assert.equal(b[4], 0x51);
      assert.equal(v[0], 0x51);
      v[1] = 0x55; // 'U' through the view
      assert.equal(m.get(5), 0x55);
      assert.equal(b[5], 0x55);
      assert.equal(m.slice(4, 9).toString(), "QUick");

      m.seek(10);
      m.write("BROWN");
      assert.equal(b.toString("latin1", 10, 15), "BROWN");
      assert.equal(v.toString(), "QUick");
      b.write("JUMPS", 20, "latin1");
      assert.equal(m.slice(20, 25).toString(), "JUMPS");
      m.subarray(-4, -1).fill(0x2a);
      assert.equal(m.slice(-5).toString(), " ***\n");
      // Each call gives a view of the same memory.
      assert.equal(m.buffer[4], 0x51);
      m.buffer[0] = 0x74;
      assert.equal(b[0], 0x74);
      assert.equal(m.get(0), 0x74);

      m.flush();
      const onDisk = fs.readFileSync(path);
      assert.ok(onDisk.equals(Buffer.from(b)), `file: ${onDisk}`);
      // A write to the file is seen through the views (one page cache).
      fs.writeSync(fd, "zz", 0, "latin1");
      assert.equal(b.toString("latin1", 0, 2), "zz");
    } finally {
      m.close();
    }
  });

  test("views of an anonymous map: TextEncoder.encodeInto and fs.readSync write into the map", () => {
    const m = new MMap(-1, 64);
    /** fill(view of [a, b)); without views, fill(a Buffer) copied into [a, b) after. */
    const into = (a, b, fill) => {
      if (VIEWS) return fill(m.subarray(a, b));
      throwsCode(() => m.subarray(a, b), Error, "ERR_MMAP_VIEWS_UNAVAILABLE");
      const tmp = Buffer.alloc(b - a);
      const r = fill(tmp);
      m.setSlice(a, b, tmp);
      return r;
    };
    try {
      const text = "héllo, wörld";
      const { read, written } = into(8, 40, (v) => new TextEncoder().encodeInto(text, v));
      assert.equal(read, text.length);
      assert.equal(written, Buffer.byteLength(text));
      assert.ok(m.slice(8, 8 + written).equals(Buffer.from(text)));
      assert.equal(m.get(7), 0);

      const src = tmpfile("0123456789abcdef");
      const fd = fs.openSync(src, "r");
      try {
        assert.equal(into(48, 56, (v) => fs.readSync(fd, v, 0, 8, 4)), 8);
      } finally {
        fs.closeSync(fd);
      }
      assert.equal(m.slice(48, 56).toString(), "456789ab");
      assert.equal(m.get(56), 0);
    } finally {
      m.close();
    }
  });

  test("views work with TextDecoder, crypto hashes, Buffer.compare, DataView and fs.writeSync", () => {
    const text = "zero-copy ✓ views — ünïcödé\n".repeat(40) + "end";
    const content = Buffer.from(text);
    const { fd } = tmpfd(content);
    const m = new MMap(fd, 0);
    // Without views, copies (m.slice) go where the views went: the same results.
    const whole = () => wholeOf(m);
    const part = (a, b) => partOf(m, a, b);
    try {
      const dec = new TextDecoder();
      assert.equal(dec.decode(whole()), text);
      const a = Buffer.byteLength(text.slice(0, 10));
      const b = Buffer.byteLength(text.slice(0, 27));
      assert.equal(dec.decode(part(a, b)), text.slice(10, 27));

      const sha = (data) => crypto.createHash("sha256").update(data).digest("hex");
      assert.equal(sha(whole()), sha(content));
      assert.equal(sha(part(3, 517)), sha(content.subarray(3, 517)));
      assert.equal(crypto.createHmac("sha1", "k").update(part(-100)).digest("hex"),
        crypto.createHmac("sha1", "k").update(content.subarray(-100)).digest("hex"));

      assert.equal(Buffer.compare(part(0, 9), content.subarray(0, 9)), 0);
      assert.equal(Buffer.compare(whole(), content), 0);
      assert.equal(Buffer.compare(whole(), Buffer.concat([content, Buffer.from([0])])), -1);
      assert.equal(Buffer.compare(part(1), part(0)), Buffer.compare(content.subarray(1), content));
      assert.equal(part(5, 9).compare(content, 5, 9), 0);

      const w = whole();
      const dv = new DataView(w.buffer, w.byteOffset, m.length);
      assert.equal(dv.getUint32(0), content.readUInt32BE(0));
      assert.equal(dv.getUint16(101, true), content.readUInt16LE(101));

      const out = tmpfile("");
      const ofd = fs.openSync(out, "w");
      try {
        assert.equal(fs.writeSync(ofd, part(5, 25)), 20);
        assert.equal(fs.writeSync(ofd, whole()), content.length);
      } finally {
        fs.closeSync(ofd);
      }
      assert.ok(fs.readFileSync(out).equals(Buffer.concat([content.subarray(5, 25), content])));

      // The hash follows a change made through the map (with views: nothing was copied).
      const before = VIEWS ? m.buffer : null;
      m.set(0, 0x5a);
      const changed = Buffer.from(content);
      changed[0] = 0x5a;
      assert.equal(sha(VIEWS ? before : m.slice()), sha(changed));
    } finally {
      m.close();
    }
  });
});

// ---------------------------------------------------------------- subarray rules

describe("subarray", () => {
  const content = Buffer.from(Array.from({ length: 20 }, (_, i) => 100 + i));
  const MAX = Number.MAX_SAFE_INTEGER;

  test("follows Uint8Array.prototype.subarray: negatives from the end, clamping", () => {
    const m = new MMap(-1, content.length);
    try {
      m.setSlice(0, content.length, content);
      const values = [undefined, -MAX, -100, -21, -20, -19, -5, -1, 0, 1, 5, 19, 20, 21, 100, MAX];
      for (const a of values) {
        for (const b of values) {
          if (!VIEWS) {
            // arguments are valid: the view itself is what is refused
            throwsCode(() => m.subarray(a, b), Error, "ERR_MMAP_VIEWS_UNAVAILABLE");
            continue;
          }
          const expected = new Uint8Array(content).subarray(a, b);
          const got = m.subarray(a, b);
          assert.ok(Buffer.isBuffer(got), `subarray(${a}, ${b}) is a Buffer`);
          assert.deepEqual([...got], [...expected], `subarray(${a}, ${b})`);
        }
      }
      if (VIEWS) {
        assert.deepEqual([...m.subarray()], [...content]);
        assert.deepEqual([...m.subarray(7)], [...content.subarray(7)]);
      } else assertNoViews(m, 7);
      assert.ok(m.slice().equals(content), "the contents are unchanged");
    } finally {
      m.close();
    }
  });

  test("validates its arguments: TypeError for non-numbers, RangeError for non-integers", () => {
    const m = new MMap(-1, content.length);
    try {
      for (const bad of ["1", 1n, true, {}, [], Symbol("s"), () => 1]) {
        throwsCode(() => m.subarray(bad), TypeError, "ERR_INVALID_ARG_TYPE");
        throwsCode(() => m.subarray(0, bad), TypeError, "ERR_INVALID_ARG_TYPE");
      }
      for (const bad of [1.5, -0.5, NaN, Infinity, -Infinity]) {
        throwsCode(() => m.subarray(bad), RangeError, "ERR_OUT_OF_RANGE");
        throwsCode(() => m.subarray(0, bad), RangeError, "ERR_OUT_OF_RANGE");
      }
    } finally {
      m.close();
    }
  });

  test("buffer and subarray of a closed map throw ERR_MMAP_CLOSED", () => {
    const m = new MMap(-1, 10);
    m.close();
    throwsCode(() => m.buffer, Error, "ERR_MMAP_CLOSED");
    throwsCode(() => m.subarray(), Error, "ERR_MMAP_CLOSED");
    throwsCode(() => m.subarray(0, 1), Error, "ERR_MMAP_CLOSED");
    throwsCode(() => m.subarray(-1), Error, "ERR_MMAP_CLOSED");
  });
});

// ---------------------------------------------------------------- detachment

describe("views are detached by close() and resize()", () => {
  test("close() detaches buffer, subarray and everything derived from them", { skip: WINDOWS && "reads /proc/self (fd, maps)" }, () => {
    const content = pattern(64);
    const { fd } = tmpfd(content);
    const m = new MMap(fd, 0);
    if (!VIEWS) {
      // nothing to detach: no view is handed out, before close or after
      assertNoViews(m, 8, 40);
      m.close();
      throwsCode(() => m.buffer, Error, "ERR_MMAP_CLOSED");
      throwsCode(() => m.subarray(8, 40), Error, "ERR_MMAP_CLOSED");
      assert.ok(fs.readFileSync(`/proc/self/fd/${fd}`).equals(content));
      return;
    }
    const b = m.buffer;
    const v = m.subarray(8, 40);
    const views = {
      buffer: b,
      subarray: v,
      "buffer.subarray": b.subarray(1, 5),
      "subarray.subarray": v.subarray(3),
      "Buffer.from(ab)": Buffer.from(b.buffer, b.byteOffset + 2, 6),
      Uint32Array: new Uint32Array(b.buffer, b.byteOffset, 4),
      "subarray(-3)": m.subarray(-3),
    };
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    for (const [name, x] of Object.entries(views)) assert.ok(x.length > 0, `${name} before close`);
    assert.equal(dv.getUint8(0), content[8]);

    m.close();
    assert.equal(m.closed, true);
    assertDetached(views, "after close");
    // Detached views are inert: writes are ignored, copies are empty, DataView throws a TypeError.
    b[0] = 1;
    assert.equal(b[0], undefined);
    try {
      v.fill(7);
    } catch (err) {
      assert.ok(err instanceof TypeError, String(err));
    }
    assert.equal(b.toString(), "");
    assert.equal(Buffer.from(v).length, 0);
    assert.equal(Buffer.compare(b, Buffer.alloc(0)), 0);
    assert.throws(() => dv.getUint8(0), TypeError);
    // The file is intact.
    assert.ok(fs.readFileSync(`/proc/self/fd/${fd}`).equals(content));
  });

  test("resize() of a file map, growing then shrinking: old views detached, new views show the new length", () => {
    const content = pattern(300);
    const { fd, path } = tmpfd(content);
    const m = new MMap(fd, 0);
    try {
      let old = takeViews({ buffer: () => m.buffer, subarray: () => m.subarray(100, 200), derived: () => m.buffer.subarray(5, 10) });
      const grown = 3 * PAGESIZE + 5;
      m.resize(grown);
      assertDetached(old, "after growing");
      assert.equal(fs.fstatSync(fd).size, grown);
      const b = wholeOf(m);
      assert.equal(b.length, grown);
      assert.equal(m.length, grown);
      assert.ok(b.subarray(0, 300).equals(content));
      assert.ok(b.subarray(300).equals(Buffer.alloc(grown - 300)));
      assert.ok(partOf(m, 100, 200).equals(content.subarray(100, 200)));
      if (VIEWS) b[grown - 1] = 0x7e;
      else m.set(grown - 1, 0x7e);
      m.flush();
      const tail = Buffer.alloc(1);
      fs.readSync(fd, tail, 0, 1, grown - 1);
      assert.equal(tail[0], 0x7e);

      old = takeViews({ buffer: () => m.buffer, subarray: () => m.subarray(0, 10), tail: () => m.subarray(-10) });
      m.resize(150);
      assertDetached(old, "after shrinking");
      assert.equal(fs.fstatSync(fd).size, 150);
      assert.equal(wholeOf(m).length, 150);
      assert.ok(wholeOf(m).equals(content.subarray(0, 150)));
      assert.ok(partOf(m, -50).equals(content.subarray(100, 150)));
      assert.ok(fs.readFileSync(path).equals(content.subarray(0, 150)));
    } finally {
      m.close();
    }
  });

  test("resize() of a MAP_PRIVATE anonymous map: old views detached, content preserved", () => {
    const m = new MMap(-1, PAGESIZE, { flags: MAP_PRIVATE });
    try {
      const content = pattern(PAGESIZE, 13, 1);
      fillFrom(m, content);
      let old = takeViews({ buffer: () => m.buffer, subarray: () => m.subarray(10, 20) });
      const grown = 5 * PAGESIZE + 3;
      m.resize(grown);
      assertDetached(old, "after growing");
      assert.equal(wholeOf(m).length, grown);
      assert.ok(wholeOf(m).subarray(0, PAGESIZE).equals(content));
      assert.ok(partOf(m, PAGESIZE).equals(Buffer.alloc(grown - PAGESIZE)));
      if (VIEWS) m.buffer[grown - 1] = 9;
      else m.set(grown - 1, 9);
      assert.equal(m.get(-1), 9);

      old = takeViews({ buffer: () => m.buffer, subarray: () => m.subarray(-7) });
      m.resize(77);
      assertDetached(old, "after shrinking");
      assert.equal(wholeOf(m).length, 77);
      assert.ok(wholeOf(m).equals(content.subarray(0, 77)));
    } finally {
      m.close();
    }
  });

  test("shrinking a MAP_SHARED anonymous map detaches its views", () => {
    const m = new MMap(-1, 3 * PAGESIZE, { flags: MAP_SHARED });
    try {
      const content = pattern(3 * PAGESIZE, 5, 2);
      fillFrom(m, content);
      const old = takeViews({ buffer: () => m.buffer, subarray: () => m.subarray(PAGESIZE) });
      m.resize(PAGESIZE + 1);
      assertDetached(old, "after shrinking");
      assert.ok(wholeOf(m).equals(content.subarray(0, PAGESIZE + 1)));
    } finally {
      m.close();
    }
  });

  // Unguarded reads of stale views, in a child: with mremap and with the copying path that
  // always moves the mapping (MEMMAP_NO_MREMAP=1, the macOS path).
  const staleViews = `
    import fs from "node:fs";
    import assert from "node:assert/strict";
    import { MMap, MAP_PRIVATE, PAGESIZE } from ${JSON.stringify(DIST)};
    const [file] = process.argv.slice(1);
    const fd = fs.openSync(file, "r+");
    const read = (views) => views.map((v) => [v.length, v[0], v[v.length - 1], Buffer.from(v).length]);
    // Without views (MEMMAP_NO_EXTERNAL_BUFFERS=1) each view is refused, and the rest runs.
    const withViews = process.env.MEMMAP_NO_EXTERNAL_BUFFERS !== "1";
    const take = (...makers) => makers.flatMap((make) => {
      if (withViews) return [make()];
      assert.throws(make, (e) => e.constructor === Error && e.code === "ERR_MMAP_VIEWS_UNAVAILABLE");
      return [];
    });
    for (const m of [new MMap(fd, 0), new MMap(-1, 100, { flags: MAP_PRIVATE })]) {
      m.setSlice(0, 100, Buffer.alloc(100, 0x41));
      let views = take(() => m.buffer, () => m.subarray(10, 90), () => m.buffer.subarray(50));
      assert.equal(views.length, withViews ? 3 : 0);
      m.resize(64 * PAGESIZE);
      for (const [len, first, last, copied] of read(views)) {
        assert.deepEqual([len, first, last, copied], [0, undefined, undefined, 0]);
      }
      for (const v of views) {
        v[0] = 0x42;
        try { v.fill(0x42); } catch (err) { assert.ok(err instanceof TypeError); }
      }
      assert.equal(m.slice(0, 100).toString(), "A".repeat(100));
      assert.equal(m.get(100), 0);
      views = take(() => m.buffer, () => m.subarray(4 * PAGESIZE));
      m.close();
      for (const [len, first, last, copied] of read(views)) {
        assert.deepEqual([len, first, last, copied], [0, undefined, undefined, 0]);
      }
    }
    console.log("ok");
  `;
  for (const noMremap of [false, true]) {
    test(`reading stale views after resize and close never crashes${noMremap ? " (MEMMAP_NO_MREMAP=1)" : ""}`, () => {
      const file = tmpfile(Buffer.alloc(100));
      const out = runChild(staleViews, { args: [file], env: noMremap ? { MEMMAP_NO_MREMAP: "1" } : {} });
      assert.equal(out.trim(), "ok");
    });
  }

  // SPEC §3: "A write through a view of a read-only map ... never reaches the file and never
  // crashes the process."
  test("a write through a view of a read-only map never reaches the file and never crashes", () => {
    const original = "read-only content\n";
    const file = tmpfile(original);
    const source = `
      import fs from "node:fs";
      import { MMap, ACCESS_READ, PROT_READ } from ${JSON.stringify(DIST)};
      const [file] = process.argv.slice(1);
      const fd = fs.openSync(file, "r");
      const maps = [new MMap(fd, 0, { access: ACCESS_READ }), new MMap(fd, 0, { prot: PROT_READ }), MMap.open(file, { access: ACCESS_READ })];
      const codes = new Set();
      for (const m of maps) {
        const attempts = [
          () => { m.buffer[0] = 0x78; },
          () => { m.subarray(2, 6).fill(0x79); },
          () => { m.buffer.write("XYZ", 3); },
          () => { m.subarray(1).set([1, 2, 3]); },
          () => { new TextEncoder().encodeInto("enc", m.subarray(5)); },
          () => { fs.readSync(fs.openSync("/proc/self/stat", "r"), m.subarray(0, 4)); },
        ];
        for (const attempt of attempts) {
          try { attempt(); } catch (e) { codes.add(e.code); }
        }
      }
      for (const m of maps) m.close();
      console.log(JSON.stringify([...codes]));
    `;
    const out = JSON.parse(runChild(source, { args: [file] }));
    // Without views, every attempt is refused before any memory is touched.
    if (!VIEWS) assert.deepEqual(out, ["ERR_MMAP_VIEWS_UNAVAILABLE"]);
    else assert.ok(!out.includes("ERR_MMAP_VIEWS_UNAVAILABLE"), String(out));
    assert.equal(fs.readFileSync(file, "utf8"), original);
  });
});

// ---------------------------------------------------------------- garbage collection

describe("maps nobody refers to are unmapped and their descriptors closed", () => {
  const COUNT = 2000;
  const SLACK = 4;

  test("new MMap(fd, 0) without close()", async () => {
    const text = "a small file, mapped many times\n";
    const { fd, path } = tmpfd(text);
    const fds0 = fdsOn(path);
    assert.equal(mapsOf(path), 0);
    (function neglect() {
      for (let i = 0; i < COUNT; i++) {
        const m = new MMap(fd, 0);
        if (i % 2 === 0) assert.equal(m.get(i % text.length), text.charCodeAt(i % text.length));
      }
    })();
    await collect();
    assert.ok(fdsOn(path) <= fds0 + SLACK, `descriptors on the file: ${fdsOn(path)}, baseline ${fds0}`);
    assert.ok(mapsOf(path) <= SLACK, `mappings of the file: ${mapsOf(path)}`);
  });

  test("MMap.open(path) without close()", async () => {
    const path = tmpfile("opened by path, many times\n");
    assert.equal(fdsOn(path), 0);
    (function neglect() {
      for (let i = 0; i < COUNT; i++) {
        const m = MMap.open(path, i % 3 === 0 ? { access: ACCESS_READ } : undefined);
        if (i % 2 === 0) assert.equal((VIEWS ? m.subarray(0, 6) : m.slice(0, 6)).toString(), "opened");
      }
    })();
    await collect();
    assert.ok(fdsOn(path) <= SLACK, `descriptors on the file: ${fdsOn(path)}`);
    assert.ok(mapsOf(path) <= SLACK, `mappings of the file: ${mapsOf(path)}`);
  });

  test("anonymous maps without close()", async () => {
    await collect();
    const maps0 = mappingCount();
    const vm0 = vmSizeKiB();
    const size = 16 * PAGESIZE;
    (function neglect() {
      for (let i = 0; i < COUNT; i++) {
        const m = new MMap(-1, size, i % 4 === 0 ? { flags: MAP_PRIVATE } : undefined);
        if (i % 2 === 0) m.set(i % size, 1);
      }
    })();
    await collect();
    const grownKiB = vmSizeKiB() - vm0;
    const allKiB = (COUNT * size) / 1024;
    assert.ok(mappingCount() <= maps0 + 64, `mappings: ${mappingCount()}, baseline ${maps0}`);
    assert.ok(grownKiB < allKiB / 4, `virtual size grew by ${grownKiB} KiB (${COUNT} maps take ${allKiB} KiB)`);
  });

  test("shareable anonymous maps (memfd) without close()", { skip: WINDOWS && "memfd-backed shareable maps are POSIX: Windows shares anonymous memory by tagname (test/windows.test.mjs)" }, async () => {
    await collect();
    const memfds0 = memfds();
    (function neglect() {
      for (let i = 0; i < 500; i++) {
        const m = new MMap(-1, PAGESIZE, { shareable: true });
        if (i % 2 === 0) m.set(0, 1);
      }
    })();
    await collect();
    assert.ok(memfds() <= memfds0 + SLACK, `memfds: ${memfds()}, baseline ${memfds0}`);
  });

  test("a map object that becomes garbage is collected (WeakRef)", async () => {
    const { fd } = tmpfd("weak");
    const refs = (() => [new WeakRef(new MMap(fd, 0)), new WeakRef(new MMap(-1, 10))])();
    await collect();
    assert.deepEqual(refs.map((r) => r.deref()), [undefined, undefined]);
  });

  test("a view kept alive keeps its memory mapped after the map is garbage (not its descriptor)", { skip: WINDOWS && "reads /proc/self (fd, maps)" }, async () => {
    const content = "0123456789abcdefghij";
    const { fd, path } = tmpfd(content);
    const fds0 = fdsOn(path);
    const N = 50;
    if (!VIEWS) {
      // Without views, copies are all a program can keep: they hold no mapping and no
      // descriptor, and keep their bytes after the map is gone.
      let copies = (() => {
        const out = [];
        for (let i = 0; i < N; i++) {
          const m = new MMap(fd, 0);
          assertNoViews(m, 3, 9);
          out.push(i % 2 === 0 ? m.slice() : m.slice(3, 9));
        }
        return out;
      })();
      await collect();
      assert.equal(mapsOf(path), 0);
      assert.equal(fdsOn(path), fds0);
      fs.writeSync(fd, "#", 3);
      for (let i = 0; i < N; i++) assert.equal(copies[i].toString(), i % 2 === 0 ? content : content.slice(3, 9));
      copies = null;
      return;
    }
    // Keep only views: the whole buffer, a subarray, and a Buffer derived from the buffer.
    let views = (() => {
      const out = [];
      for (let i = 0; i < N; i++) {
        const m = new MMap(fd, 0);
        out.push(i % 3 === 0 ? m.buffer : i % 3 === 1 ? m.subarray(3, 9) : m.buffer.subarray(10, 15));
      }
      return out;
    })();
    await collect();
    // Check that the memory is still mapped before reading through the views. (The checks run
    // in a plain function: an async function's saved registers could keep the views alive.)
    (function check(views) {
      assert.equal(mapsOf(path), N);
      // The descriptor only served the map's methods, which nobody can call any more: closed.
      assert.equal(fdsOn(path), fds0);
      for (let i = 0; i < views.length; i++) {
        const v = views[i];
        assert.ok(v.byteLength > 0, `view ${i} is attached`);
        assert.equal(v.toString(), i % 3 === 0 ? content : i % 3 === 1 ? content.slice(3, 9) : content.slice(10, 15));
      }
      // Still the live shared mapping: a write to the file shows through the views.
      fs.writeSync(fd, "#", 3);
      for (let i = 0; i < views.length; i++) {
        if (i % 3 !== 2) assert.equal(views[i].toString()[i % 3 === 0 ? 3 : 0], "#");
      }
    })(views);
    // Letting the views go releases the mappings and the descriptors.
    views = null;
    await collect();
    assert.equal(mapsOf(path), 0);
    assert.equal(fdsOn(path), fds0);
  });
});

// ---------------------------------------------------------------- a loop that never closes

describe("every path of the search, line and resize code gives back what it took", () => {
  // One round opens a 1 MiB file map and goes through the paths that hold the map's memory in
  // more than one way: search and matchAll (a string over the map, where the runtime has
  // external strings), lines() (views handed out, one of them kept past close), find, readline,
  // get, view(), and a resize that grows and shrinks the file; then closes it, or leaves it to
  // the collector. After 300 rounds and a collection: no descriptor and no mapping of the file
  // is left, and the address space is back (a round that kept one range would add 1-2 MiB).
  test("300 rounds, closed or neglected, in a child: descriptors, file mappings, address space", { skip: WINDOWS && "/proc" }, () => {
    const source = `
      import fs from "node:fs";
      import os from "node:os";
      import path from "node:path";
      import { MMap, ACCESS_WRITE } from ${JSON.stringify(DIST)};
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-rounds-"));
      const file = path.join(dir, "log.txt");
      fs.writeFileSync(file, "alpha beta gamma ERROR 42 delta epsilon zeta eta theta iota\\n".repeat(17477));
      const real = fs.realpathSync(file);
      const vm = () => Number(/VmSize:\\s+(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]);
      const fds = () => fs.readdirSync("/proc/self/fd").length;
      const fileMaps = () => fs.readFileSync("/proc/self/maps", "utf8").split("\\n").filter((l) => l.endsWith(" " + real)).length;
      const collect = async () => { for (let i = 0; i < 12; i++) { gc(); await new Promise((r) => setImmediate(r)); } };
      let kept = [];
      function round(i) {
        const m = MMap.open(file, { access: ACCESS_WRITE });
        if (m.search(/ERROR (\\d+)/)?.[1] !== "42") throw new Error("search");
        let n = 0;
        for (const x of m.matchAll(/ERROR/g)) if (++n > 50 || x.index < 0) break;
        for (const line of m.lines(1000)) { kept.push(line); break; }
        m.find("gamma", 100);
        m.readline();
        m.get(7);
        try { m.view(Int32Array, 0, 4); } catch (e) { if (e.code !== "ERR_MMAP_VIEWS_UNAVAILABLE") throw e; }
        if (i % 3 === 0) { const len = m.length; m.resize(len * 2); m.search(/zeta/, len); m.resize(len); }
        if (i % 2 === 0) m.close();
        if (kept.length > 20) kept = [];
      }
      for (let i = 0; i < 20; i++) round(i);
      kept = [];
      await collect();
      const base = { vm: vm(), fds: fds() };
      for (let i = 0; i < 300; i++) round(i);
      kept = [];
      await collect();
      const after = { vm: vm(), fds: fds(), fileMaps: fileMaps() };
      fs.rmSync(dir, { recursive: true, force: true });
      console.log(JSON.stringify({ base, after }));
    `;
    const r = runNode(["--expose-gc", "--input-type=module", "-e", source], { timeout: 120_000 });
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    const { base, after } = JSON.parse(r.stdout.trim().split("\n").at(-1));
    assert.equal(after.fileMaps, 0, "no mapping of the file is left");
    assert.ok(after.fds <= base.fds + 2, `descriptors: ${base.fds} before the rounds, ${after.fds} after`);
    assert.ok(after.vm - base.vm < 64 * 1024, `address space: +${after.vm - base.vm} KiB after 300 rounds of 1-2 MiB maps`);
  });
});

describe("maps never closed in a loop, under ulimit -n 1024", () => {
  // Issue #3: 200,000 maps of each kind, never closed, with 1024 descriptors. Anonymous maps
  // hold no descriptor but a mapping each: 200,000 is three times vm.max_map_count here.
  const FILE_MAPS = 200_000;
  const ANON_MAPS = 200_000;

  const loop = `
    import fs from "node:fs";
    import { MMap } from ${JSON.stringify(DIST)};
    const [kind, count, file] = process.argv.slice(1);
    const n = Number(count);
    const fd = kind === "fd" ? fs.openSync(file, "r+") : -1;
    const text = kind === "anon" ? null : fs.readFileSync(file, "latin1");
    for (let i = 0; i < n; i++) {
      const m = kind === "fd" ? new MMap(fd, 0) : kind === "open" ? MMap.open(file) : new MMap(-1, 4096);
      if (i % 2 === 0) {
        const j = i % m.length;
        const want = text === null ? 0 : text.charCodeAt(j);
        if (m.get(j) !== want) throw new Error("byte " + j + " of map " + i + " is " + m.get(j));
      }
    }
    console.log("ok " + n);
  `;

  for (const [kind, count] of [["fd", FILE_MAPS], ["open", FILE_MAPS], ["anon", ANON_MAPS]]) {
    const what = { fd: "new MMap(fd, 0)", open: "MMap.open(path)", anon: "new MMap(-1, 4096)" }[kind];
    test(`${count} × ${what} never closed: the loop completes`, { skip: WINDOWS && "ulimit and 200,000 maps are beyond Wine's pace here (test/windows.test.mjs runs a smaller loop)" }, () => {
      const file = tmpfile("never closed, never leaked\n");
      // No --expose-gc: a program that forgets close() does not run with it either.
      const r = spawnSync(
        "bash",
        ["-c", 'ulimit -n 1024 && exec "$0" "$@"', process.execPath, "--input-type=module", "-e", loop, kind, String(count), file],
        { encoding: "utf8", timeout: 120_000 },
      );
      assert.equal(r.signal, null, `child killed by ${r.signal}\n${r.stderr}`);
      assert.equal(r.status, 0, `child exit status ${r.status}\n${r.stderr}`);
      assert.equal(r.stdout.trim(), `ok ${count}`);
    });
  }

  test("a program's own globalThis.gc (a stand-in that collects nothing) does not stop reclaiming: 5,000 × MMap.open never closed (ulimit -n 512)", { skip: WINDOWS && "ulimit" }, () => {
    // Before: memmap called whatever function globalThis.gc held. The common guard
    // `global.gc = global.gc || function gc() {}` made every collection a no-op, and the loop
    // failed with EMFILE after ~650 maps.
    const file = tmpfile("reclaimed\n");
    const r = spawnSync(
      "bash",
      ["-c", 'ulimit -n 512 && exec "$0" "$@"', process.execPath, "--input-type=module", "-e", `
        let called = 0;
        globalThis.gc = globalThis.gc || function gc() { called++; };
        const { MMap } = await import(${JSON.stringify(DIST)});
        for (let i = 0; i < 5000; i++) MMap.open(process.argv[1]).get(0);
        console.log("ok", called);`, file],
      { encoding: "utf8", timeout: 60_000 },
    );
    assert.equal(r.stderr, "");
    assert.equal(r.stdout.trim(), "ok 0");
  });

  test("maps never closed whose views are kept hold no descriptor once the map is unreachable (ulimit -n 256): 2,000 maps, every view intact, a truncation under them contained", { skip: (!VIEWS && "views only") || (WINDOWS && "ulimit, /proc: POSIX") }, () => {
    const file = tmpfile("v".repeat(2 * PAGESIZE));
    const body = `
      import fs from "node:fs";
      import { MMap } from ${JSON.stringify(DIST)};
      const file = process.argv[1];
      const fdsOn = () => fs.readdirSync("/proc/self/fd").filter((e) => { try { return fs.readlinkSync("/proc/self/fd/" + e) === file; } catch { return false; } }).length;
      const kept = [];
      for (let i = 0; i < 2000; i++) kept.push(i % 2 ? MMap.open(file).buffer : MMap.open(file).subarray(PAGE, PAGE + 16));
      const intact = kept.every((b) => b[0] === 0x76 && b[b.length - 1] === 0x76);
      globalThis.gc();
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      const fds = fdsOn();
      fs.truncateSync(file, 0); // every kept view is now past the file's end: contained, never SIGBUS
      const after = kept.slice(0, 4).map((b) => b[b.length - 1]);
      kept[0][0] = 1;
      console.log(JSON.stringify({ n: kept.length, intact, fds, after }));
    `.replaceAll("PAGE", String(PAGESIZE));
    const r = spawnSync("bash", ["-c", 'ulimit -n 256 && exec "$0" "$@"', process.execPath, "--expose-gc", "--input-type=module", "-e", body, file], { encoding: "utf8", timeout: 120_000 });
    assert.equal(r.signal, null, `child killed by ${r.signal}\n${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1)), { n: 2000, intact: true, fds: 0, after: [0, 0, 0, 0] });
  });

  test("worker threads whose first reclaims come at once each obtain V8's gc: 8 threads, each finds its 200 neglected maps", { skip: WINDOWS && "ulimit: POSIX" }, () => {
    // Each thread obtains V8's gc by turning --expose-gc on, making a context, turning it off: the
    // flag is the process's, and a thread that turned it off between another's two steps left that
    // one without gc for good, its neglected maps never reclaimed (EMFILE under ulimit -n 256 with
    // 3 threads mapping in loops).
    const file = tmpfile("threads\n");
    const body = `
      import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
      const file = process.argv[1];
      if (isMainThread) {
        const barrier = new Int32Array(new SharedArrayBuffer(4));
        const workers = Array.from({ length: 8 }, () => new Worker(new URL(import.meta.url), { argv: [file], workerData: barrier }));
        const results = workers.map((w) => new Promise((r) => { w.once("message", r); w.once("error", (e) => r("error " + e.message)); }));
        console.log(JSON.stringify(await Promise.all(results)));
      } else {
        const { MMap } = await import(${JSON.stringify(DIST)});
        const { reclaimNeglected } = await import(${JSON.stringify(new URL("../dist/reclaim.js", import.meta.url).href)});
        const { native } = await import(${JSON.stringify(new URL("../dist/binding.js", import.meta.url).href)});
        const barrier = workerData;
        if (Atomics.add(barrier, 0, 1) + 1 === 8) Atomics.notify(barrier, 0);
        else while (Atomics.load(barrier, 0) < 8) Atomics.wait(barrier, 0, Atomics.load(barrier, 0), 1000);
        reclaimNeglected(); // the first: all threads at once
        for (let i = 0; i < 200; i++) MMap.open(file).get(0);
        reclaimNeglected();
        parentPort.postMessage(native.reclaim(false, 64));
      }
    `;
    const script = path.join(tmpdir("memmap-threads-"), "threads.mjs");
    fs.writeFileSync(script, body);
    const r = spawnSync("bash", ["-c", 'ulimit -n 4096 && exec "$0" "$@"', process.execPath, script, file], { encoding: "utf8", timeout: 120_000 });
    assert.equal(r.signal, null, `child killed by ${r.signal}\n${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    // What each thread still holds: at most the last map of its loop (a register may hold it).
    const held = JSON.parse(r.stdout.trim().split("\n").at(-1));
    assert.ok(held.every((n) => n <= 1), `maps each thread still holds: ${held}`);
  });

  test("maps never closed in 8 worker threads at once (ulimit -n 512): 3,000 × MMap.open each, every loop completes", { skip: WINDOWS && "ulimit: POSIX" }, () => {
    // Descriptors are the process's, but each thread reclaimed only its own neglected maps, past a
    // threshold of its own (a quarter of the limit): 8 threads held 8 quarters, and the loops
    // failed with EMFILE (dup, or MMap.open's open) while garbage of the other threads held the
    // descriptors. The threshold now counts the maps of every thread.
    const file = tmpfile("threads\n");
    const body = `
      import { Worker, isMainThread, parentPort } from "node:worker_threads";
      const file = process.argv[1];
      if (isMainThread) {
        const workers = Array.from({ length: 8 }, () => new Worker(new URL(import.meta.url), { argv: [file] }));
        const message = (w) => new Promise((r) => { w.once("message", r); w.once("error", (e) => r("error " + e.code)); });
        await Promise.all(workers.map(message)); // every thread loaded memmap before any maps
        const results = workers.map(message);
        for (const w of workers) w.postMessage("go");
        console.log(JSON.stringify(await Promise.all(results)));
      } else {
        const { MMap } = await import(${JSON.stringify(DIST)});
        parentPort.once("message", () => {
          let i = 0;
          try {
            for (; i < 3000; i++) MMap.open(file).get(0);
            parentPort.postMessage("ok " + i);
          } catch (e) {
            parentPort.postMessage("map " + i + ": " + e.code + " (" + e.syscall + ")");
          }
        });
        parentPort.postMessage("ready");
      }
    `;
    const script = path.join(tmpdir("memmap-threads-"), "threads.mjs");
    fs.writeFileSync(script, body);
    const r = spawnSync("bash", ["-c", 'ulimit -n 512 && exec "$0" "$@"', process.execPath, script, file], { encoding: "utf8", timeout: 120_000 });
    assert.equal(r.signal, null, `child killed by ${r.signal}\n${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1)), Array(8).fill("ok 3000"));
  });

  test("maps kept open by one thread never make another thread collect at every map (ulimit -n 256): 3,000 × map + close in a worker", { skip: WINDOWS && "ulimit: POSIX" }, () => {
    // The main thread keeps as many maps as the threshold, and has not reclaimed (so they are in
    // no thread's published count): the process's count stays at the threshold, and a worker
    // mapping and closing must not start a round, a collection, at each of its maps.
    const file = tmpfile("kept\n");
    const body = `
      import { Worker, isMainThread, parentPort } from "node:worker_threads";
      import { PerformanceObserver } from "node:perf_hooks";
      const file = process.argv[1];
      const { MMap } = await import(${JSON.stringify(DIST)});
      if (isMainThread) {
        const kept = Array.from({ length: 64 }, () => MMap.open(file));
        const w = new Worker(new URL(import.meta.url), { argv: [file] });
        console.log(JSON.stringify({ ...(await new Promise((r) => w.once("message", r))), kept: kept.length }));
      } else {
        let collections = 0;
        new PerformanceObserver((list) => { collections += list.getEntries().length; }).observe({ entryTypes: ["gc"] });
        for (let i = 0; i < 3000; i++) { const m = MMap.open(file); m.get(0); m.close(); }
        await new Promise((r) => setTimeout(r, 100));
        parentPort.postMessage({ many: collections > 300 });
      }
    `;
    const script = path.join(tmpdir("memmap-threads-"), "kept.mjs");
    fs.writeFileSync(script, body);
    const r = spawnSync("bash", ["-c", 'ulimit -n 256 && exec "$0" "$@"', process.execPath, script, file], { encoding: "utf8", timeout: 120_000 });
    assert.equal(r.signal, null, `child killed by ${r.signal}\n${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1)), { many: false, kept: 64 });
  });
});

// ---------------------------------------------------------------- flushAsync and close

describe("flushAsync() racing close()", () => {
  test("close() before flushAsync() settles: the promise settles cleanly and the map is released", async () => {
    const { fd, path } = tmpfd("x".repeat(3 * PAGESIZE));
    const fds0 = fdsOn(path);
    const m = new MMap(fd, 0);
    const views = takeViews({ view: () => m.buffer });
    m.set(0, 0x41);
    m.set(2 * PAGESIZE, 0x42);
    const pending = [m.flushAsync(), m.flushAsync(PAGESIZE), m.flushAsync(0, PAGESIZE)];
    m.close();
    assert.equal(m.closed, true);
    assertDetached(views, "close() while flushAsync() runs");
    const results = await Promise.allSettled(pending);
    for (const r of results) {
      if (r.status === "rejected") {
        assert.ok(r.reason instanceof Error, `rejected with ${r.reason}`);
        assert.equal(typeof r.reason.code, "string", `a coded error: ${r.reason.message}`);
      }
    }
    // The deferred unmap happened once the msync returned.
    assert.equal(mapsOf(path), 0);
    assert.equal(fdsOn(path), fds0);
    const data = fs.readFileSync(path);
    assert.equal(data[0], 0x41);
    assert.equal(data[2 * PAGESIZE], 0x42);
  });

  test("many maps closed while their flushes run", async () => {
    const { fd, path } = tmpfd(Buffer.alloc(PAGESIZE));
    const fds0 = fdsOn(path);
    const promises = [];
    for (let i = 0; i < 20; i++) {
      const m = new MMap(fd, 0);
      m.set(i, i + 1);
      for (let j = 0; j < 5; j++) promises.push(m.flushAsync());
      if (i % 2 === 0) m.close();
      else queueMicrotask(() => m.close());
    }
    const results = await Promise.allSettled(promises);
    for (const r of results) if (r.status === "rejected") assert.equal(typeof r.reason?.code, "string");
    assert.equal(mapsOf(path), 0);
    assert.equal(fdsOn(path), fds0);
    const data = fs.readFileSync(path);
    for (let i = 0; i < 20; i++) assert.equal(data[i], i + 1);
  });

  test("a map dropped while flushAsync() runs: the promise resolves, then the map is reclaimed", async () => {
    const { fd, path } = tmpfd(Buffer.alloc(PAGESIZE));
    const fds0 = fdsOn(path);
    const p = (() => {
      const m = new MMap(fd, 0);
      m.set(1, 0x63);
      return m.flushAsync();
    })();
    gc();
    await p;
    await collect();
    assert.equal(mapsOf(path), 0);
    assert.equal(fdsOn(path), fds0);
    assert.equal(fs.readFileSync(path)[1], 0x63);
  });

  test("resize() while flushAsync() runs throws ERR_MMAP_BUSY; afterwards it works", async () => {
    const { fd } = tmpfd(Buffer.alloc(PAGESIZE));
    const m = new MMap(fd, 0);
    try {
      const p = m.flushAsync();
      throwsCode(() => m.resize(2 * PAGESIZE), Error, "ERR_MMAP_BUSY");
      assert.equal(m.length, PAGESIZE);
      await p;
      m.resize(2 * PAGESIZE);
      assert.equal(m.length, 2 * PAGESIZE);
    } finally {
      m.close();
    }
  });

  test("flushAsync() on a closed map rejects with ERR_MMAP_CLOSED", async () => {
    const { fd } = tmpfd("abc");
    const m = new MMap(fd, 0);
    m.close();
    await rejectsCode(m.flushAsync(), Error, "ERR_MMAP_CLOSED");
  });
});

// ---------------------------------------------------------------- Symbol.dispose

describe("Symbol.dispose and close()", () => {
  test("Symbol.dispose closes the map and detaches its views", { skip: WINDOWS && "reads /proc/self (fd, maps)" }, () => {
    const { fd, path } = tmpfd("disposable");
    const fds0 = fdsOn(path);
    const m = new MMap(fd, 0);
    assert.equal(typeof m[Symbol.dispose], "function");
    const views = takeViews({ buffer: () => m.buffer, subarray: () => m.subarray(2, 5) });
    assert.equal(mapsOf(path), 1);
    m[Symbol.dispose]();
    assert.equal(m.closed, true);
    assertDetached(views, "after dispose");
    assert.equal(mapsOf(path), 0);
    assert.equal(fdsOn(path), fds0);
    throwsCode(() => m.length, Error, "ERR_MMAP_CLOSED");
    // Closing again, either way, is fine.
    assert.equal(m[Symbol.dispose](), undefined);
    assert.equal(m.close(), undefined);
    assert.equal(m.closed, true);
  });

  test("close() twice, then dispose; and the block-scoped pattern that `using` compiles to", () => {
    const m = new MMap(-1, 16);
    m.close();
    m.close();
    m[Symbol.dispose]();
    assert.equal(m.closed, true);

    const { fd, path } = tmpfd("scoped");
    let escaped;
    {
      const scoped = new MMap(fd, 0);
      try {
        escaped = takeViews({ escaped: () => scoped.subarray(0, 3) });
        if (VIEWS) assert.equal(escaped.escaped.toString(), "sco");
        assert.equal(scoped.slice(0, 3).toString(), "sco");
      } finally {
        scoped[Symbol.dispose]();
      }
    }
    assertDetached(escaped, "after the block");
    assert.equal(mapsOf(path), 0);
  });
});
