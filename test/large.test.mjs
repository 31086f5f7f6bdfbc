// Maps larger than the largest Buffer (SPEC §3, §4): sparse files of more than 4 GiB,
// read through subarray and every method (get, slice, find, rfind, read, readline, search,
// matchAll) at offsets beyond 4 GiB and across the boundaries of the views memmap uses
// internally; a map at a large offset; writes (set, write, setSlice, move, views) beyond 4 GiB.
// Without views (MEMMAP_NO_EXTERNAL_BUFFERS=1) the methods copy through the addon at the
// same offsets, and every view asked for is refused with ERR_MMAP_VIEWS_UNAVAILABLE.
//
// Sparse files cost no disk space, but reading a hole still faults pages in: every search is
// bounded to a few MiB (or one 64 MiB range) instead of scanning gigabytes of zeros.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { constants as bufferConstants } from "node:buffer";
import { MMap, ACCESS_READ, ACCESS_WRITE, PAGESIZE, MADV_WILLNEED, SEARCH_WINDOW } from "../dist/index.js";
import { tmpfile, throwsCode, VIEWS, assertNoViews, WINDOWS } from "./helpers.mjs";

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const TWO = 2 * GiB;
const FOUR = 4 * GiB;
const MAX_BUFFER = bufferConstants.MAX_LENGTH;

/**
 * Creates a sparse file of `size` bytes holding `writes` ([position, bytes] pairs).
 * Returns { path, fd } (open read-write), or null when the filesystem allocated the holes.
 */
function sparseFile(size, writes) {
  const path = tmpfile("");
  const fd = fs.openSync(path, "r+");
  fs.ftruncateSync(fd, size);
  for (const [pos, bytes] of writes) {
    const b = Buffer.from(bytes, "latin1");
    assert.equal(fs.writeSync(fd, b, 0, b.length, pos), b.length);
  }
  const st = fs.fstatSync(fd);
  assert.equal(st.size, size);
  if (st.blocks * 512 >= size / 16) {
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
    return null;
  }
  return { path, fd };
}

function removeFile(file) {
  if (file === null) return;
  try {
    fs.closeSync(file.fd);
  } catch {}
  fs.rmSync(file.path, { force: true });
}

/** pread of `n` bytes at `pos`. */
function pread(fd, pos, n) {
  const b = Buffer.alloc(n);
  assert.equal(fs.readSync(fd, b, 0, n, pos), n);
  return b;
}

const text = (b) => b.toString("latin1");
const SKIP = "the filesystem does not keep sparse files";

// ---------------------------------------------------------------- a 5.25 GiB read-only map

describe("a 5.25 GiB sparse file mapped whole with ACCESS_READ", () => {
  const SIZE = 0x150000000;
  const DD = "  DEARdear  "; // straddles 2 GiB and 4 GiB: "DEAR" before, "dear" after
  const M1 = "<marker-41>";
  const A = FOUR + 0x12345; // M1, beyond 4 GiB
  const B = FOUR + 0x212345; // M1 again, 2 MiB further
  const D3 = FOUR + 0x600000; // DD entirely beyond 4 GiB
  const LN = FOUR + 0x400000; // two lines
  const LINES = "first line beyond 4 GiB\nsecond\n";
  const CROSS_LINE = "cross |seg5| at 5 GiB\n"; // a line across 5 GiB, around SEG[2]
  const CROSS = 5 * GiB - 3 - "cross ".length;
  const TAIL = "TAIL!"; // the last bytes of the file
  // Markers straddling k GiB (k*2^30 - 3 .. k*2^30 + 3); 2 and 4 GiB hold DD.
  const SEG = [1, 3, 5].map((k) => ({ k, at: k * GiB - 3, bytes: `|seg${k}|` }));
  // matchAll range [R0, R1): 64 MiB beyond 4 GiB, with ids in it and across its edges.
  const R0 = FOUR + 64 * MiB;
  const R1 = R0 + 64 * MiB;
  // Two markers for a search longer than one window of text, the first across its end.
  const W0 = FOUR + 256 * MiB;
  const WIN = [
    [W0 + SEARCH_WINDOW - 3, "W-EDGE"],
    [W0 + SEARCH_WINDOW + 20 * MiB, "W-FAR"],
  ];
  const IDS = [
    [R0 - 3, "id=100;"], // starts before R0
    [R0, "id=101;"],
    [R0 + 12345, "id=102;"],
    [R0 + 32 * MiB + 1, "id=103;"],
    [R0 + 32 * MiB + 20, "id=104;"],
    [R1 - 7, "id=105;"], // ends exactly at R1
    [R1 + 100, "id=106;"], // after R1
  ];
  let file = null;
  let m = null;

  before(() => {
    file = sparseFile(SIZE, [
      [TWO - 6, DD],
      [FOUR - 6, DD],
      [D3, DD],
      [A, M1],
      [B, M1],
      [LN, LINES],
      ...SEG.map((s) => [s.at, s.bytes]),
      [CROSS, CROSS_LINE],
      [SIZE - TAIL.length, TAIL],
      ...IDS,
      ...WIN,
    ]);
    if (file !== null) m = new MMap(file.fd, 0, { access: ACCESS_READ });
  });
  after(() => {
    m?.close();
    removeFile(file);
  });

  test("length, size(), get() and slice() beyond 4 GiB", (t) => {
    if (file === null) return t.skip(SKIP);
    assert.equal(m.length, SIZE);
    assert.equal(m.size(), SIZE);
    assert.equal(m.get(A), M1.charCodeAt(0));
    assert.equal(m.get(A + M1.length - 1), M1.charCodeAt(M1.length - 1));
    assert.equal(m.get(A - 1), 0);
    assert.equal(m.get(SIZE - 1), "!".charCodeAt(0));
    assert.equal(m.get(-1), "!".charCodeAt(0));
    assert.equal(m.get(-(SIZE - A)), M1.charCodeAt(0));
    assert.equal(m.get(FOUR), "d".charCodeAt(0));
    assert.equal(m.get(FOUR - 1), "R".charCodeAt(0));
    throwsCode(() => m.get(SIZE), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.get(-SIZE - 1), RangeError, "ERR_OUT_OF_RANGE");

    assert.equal(text(m.slice(FOUR - 6, FOUR + 6)), DD);
    assert.equal(text(m.slice(TWO - 6, TWO + 6)), DD);
    assert.equal(text(m.slice(A, A + M1.length)), M1);
    assert.equal(text(m.slice(-TAIL.length)), TAIL);
    assert.equal(text(m.slice(SIZE - 2, SIZE + 100)), "L!");
    assert.equal(text(m.slice(FOUR + 5, FOUR - 7, -1)), [...DD].reverse().join(""));
    assert.equal(text(m.slice(FOUR - 6, FOUR + 6, 3)), [...DD].filter((_, i) => i % 3 === 0).join(""));
    assert.equal(text(m.slice(-(SIZE - D3), -(SIZE - D3 - DD.length))), DD);
  });

  test("subarray straddling 4 GiB, beyond it, and as large as the largest Buffer", (t) => {
    if (file === null) return t.skip(SKIP);
    if (!VIEWS) {
      // Every one of those views is refused, whatever its size; copies read the same bytes.
      for (const args of [[FOUR - 6, FOUR + 6], [A, A + M1.length], [-TAIL.length], [FOUR - GiB, FOUR + GiB], [SIZE - MAX_BUFFER], [SIZE - MAX_BUFFER - 1], []]) {
        throwsCode(() => m.subarray(...args), Error, "ERR_MMAP_VIEWS_UNAVAILABLE");
      }
      assert.equal(text(m.slice(FOUR - 6, FOUR + 6)), DD);
      // A copy reads the live map: a write to the file beyond 4 GiB shows at once.
      fs.writeSync(file.fd, Buffer.from("<"), 0, 1, A + 1);
      try {
        assert.equal(text(m.slice(A, A + 3)), "<<a");
        assert.equal(m.get(A + 1), "<".charCodeAt(0));
      } finally {
        fs.writeSync(file.fd, Buffer.from(M1[1]), 0, 1, A + 1);
      }
      assert.equal(text(m.slice(A, A + M1.length)), M1);
      return;
    }
    const s1 = m.subarray(FOUR - 6, FOUR + 6);
    assert.ok(Buffer.isBuffer(s1));
    assert.equal(text(s1), DD);
    const s2 = m.subarray(A, A + M1.length);
    assert.equal(text(s2), M1);
    assert.equal(text(m.subarray(-TAIL.length)), TAIL);
    assert.equal(text(m.subarray(SIZE - 3, SIZE + 10)), "IL!");
    assert.equal(m.subarray(FOUR + 10, FOUR).length, 0);

    // A 2 GiB view straddling 4 GiB: nothing is copied, nothing is read but the bytes asked.
    const big = m.subarray(FOUR - GiB, FOUR + GiB);
    assert.equal(big.length, 2 * GiB);
    assert.equal(text(big.subarray(GiB - 6, GiB + 6)), DD);
    assert.equal(text(big.subarray(A - (FOUR - GiB), A - (FOUR - GiB) + M1.length)), M1);

    // Zero-copy: a write to the file beyond 4 GiB shows through the views at once.
    fs.writeSync(file.fd, Buffer.from("<"), 0, 1, A + 1);
    try {
      assert.equal(text(s2.subarray(0, 3)), "<<a");
      assert.equal(big[A - (FOUR - GiB) + 1], "<".charCodeAt(0));
    } finally {
      fs.writeSync(file.fd, Buffer.from(M1[1]), 0, 1, A + 1);
    }
    assert.equal(text(s2), M1);

    if (SIZE > MAX_BUFFER) {
      // The largest view the runtime allows, ending at the end of the map.
      const largest = m.subarray(SIZE - MAX_BUFFER);
      assert.equal(largest.length, MAX_BUFFER);
      assert.equal(text(largest.subarray(-TAIL.length)), TAIL);
      throwsCode(() => m.subarray(SIZE - MAX_BUFFER - 1), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => m.subarray(), RangeError, "ERR_OUT_OF_RANGE");
    } else {
      assert.equal(m.subarray().length, SIZE);
    }
  });

  test("buffer: RangeError ERR_OUT_OF_RANGE when the map exceeds the largest Buffer", (t) => {
    if (file === null) return t.skip(SKIP);
    if (!VIEWS) {
      // without views, that is what comes first, whatever the size
      throwsCode(() => m.buffer, Error, "ERR_MMAP_VIEWS_UNAVAILABLE");
    } else if (SIZE > MAX_BUFFER) {
      throwsCode(() => m.buffer, RangeError, "ERR_OUT_OF_RANGE");
    } else {
      const b = m.buffer;
      assert.equal(b.length, SIZE);
      assert.equal(text(b.subarray(A, A + M1.length)), M1);
    }
    // The map is still usable.
    assert.equal(m.get(-1), "!".charCodeAt(0));
  });

  test("find and rfind beyond 4 GiB, with start and end", (t) => {
    if (file === null) return t.skip(SKIP);
    const n = M1.length;
    assert.equal(m.find(M1, FOUR), A);
    assert.equal(m.find(M1, A), A);
    assert.equal(m.find(M1, A + 1), B);
    assert.equal(m.find(M1, A + 1, B + n), B);
    assert.equal(m.find(M1, A + 1, B + n - 1), -1);
    assert.equal(m.find(M1, A, A + n), A);
    assert.equal(m.find(M1, A, A + n - 1), -1);
    assert.equal(m.find(M1, -(SIZE - A)), A);
    assert.equal(m.find(M1, FOUR, -(SIZE - B - n)), A);
    assert.equal(m.find(Buffer.from(M1), FOUR), A);
    assert.equal(m.find(new TextEncoder().encode(M1).buffer, FOUR), A);
    assert.equal(m.find("not in the file", FOUR, FOUR + 32 * MiB), -1);
    assert.equal(m.find("", B), B);
    assert.equal(m.find(TAIL, SIZE - MiB), SIZE - TAIL.length);

    assert.equal(m.rfind(M1, FOUR, B + n), B);
    assert.equal(m.rfind(M1, FOUR, B + n - 1), A);
    assert.equal(m.rfind(M1, A, B + n - 1), A);
    assert.equal(m.rfind(M1, A + 1, B + n), B);
    assert.equal(m.rfind(M1, A + 1, B + n - 1), -1);
    assert.equal(m.rfind(TAIL, -MiB), SIZE - TAIL.length);
    assert.equal(m.rfind("", FOUR, A), A);

    // Default start: the current position.
    m.seek(B - 10);
    assert.equal(m.find(M1), B);
    m.seek(B + 1);
    assert.equal(m.find(M1, undefined, B + MiB), -1);
    m.seek(0);
  });

  test("find and rfind of markers straddling the 1 GiB boundaries", (t) => {
    if (file === null) return t.skip(SKIP);
    const markers = [
      ...SEG.map((s) => ({ at: s.at, bytes: s.bytes })),
      { at: TWO - 4, bytes: "DEARdear" },
      { at: FOUR - 4, bytes: "DEARdear" },
    ];
    for (const { at, bytes } of markers) {
      const end = at + bytes.length;
      assert.equal(m.find(bytes, at - MiB), at, `find ${bytes}`);
      assert.equal(m.find(bytes, at - MiB, at + MiB), at, `find ${bytes} in a range`);
      assert.equal(m.find(bytes, at, end), at, `find ${bytes} in its own range`);
      assert.equal(m.find(bytes, at - MiB, end - 1), -1, `find ${bytes}, end cuts it`);
      assert.equal(m.find(bytes, at + 1, at + MiB), -1, `find ${bytes}, start after it`);
      assert.equal(m.rfind(bytes, at - MiB, at + MiB), at, `rfind ${bytes}`);
      assert.equal(m.rfind(bytes, at, end), at, `rfind ${bytes} in its own range`);
      assert.equal(m.rfind(bytes, at + 1, at + MiB), -1, `rfind ${bytes}, start after it`);
      assert.equal(m.rfind(bytes, at - MiB, end - 1), -1, `rfind ${bytes}, end cuts it`);
      // A part of the marker on each side of the boundary.
      const half = bytes.slice(0, 4);
      assert.equal(m.find(half, at - MiB, at + MiB), at, `find ${half}`);
      assert.equal(m.rfind(bytes.slice(2), at - MiB, at + MiB), at + 2, `rfind ${bytes.slice(2)}`);
    }
  });

  test("seek, read, readByte and readline beyond 4 GiB", (t) => {
    if (file === null) return t.skip(SKIP);
    assert.equal(m.seek(A), A);
    assert.equal(text(m.read(M1.length)), M1);
    assert.equal(m.tell(), A + M1.length);
    assert.equal(m.seek(-M1.length, 1), A);
    assert.equal(m.readByte(), M1.charCodeAt(0));
    assert.equal(m.tell(), A + 1);
    assert.equal(m.seek(FOUR - 6), FOUR - 6);
    assert.equal(text(m.read(12)), DD);
    assert.equal(m.tell(), FOUR + 6);
    assert.equal(m.seek(-TAIL.length, 2), SIZE - TAIL.length);
    assert.equal(text(m.read()), TAIL);
    assert.equal(m.tell(), SIZE);
    assert.equal(m.read().length, 0);
    assert.equal(m.readline().length, 0);
    throwsCode(() => m.readByte(), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.seek(1, 1), RangeError, "ERR_OUT_OF_RANGE");
    assert.equal(m.tell(), SIZE);

    m.seek(LN);
    const [first, second] = LINES.split("\n");
    assert.equal(text(m.readline()), `${first}\n`);
    assert.equal(m.tell(), LN + first.length + 1);
    assert.equal(text(m.readline()), `${second}\n`);
    assert.equal(m.tell(), LN + LINES.length);
    m.seek(CROSS);
    assert.equal(text(m.readline()), CROSS_LINE);
    assert.equal(m.tell(), CROSS + CROSS_LINE.length);
    m.seek(SIZE - TAIL.length);
    assert.equal(text(m.readline()), TAIL);
    assert.equal(m.tell(), SIZE);
    m.seek(0);
  });

  test("search() beyond 4 GiB and across the 2 and 4 GiB boundaries", (t) => {
    if (file === null) return t.skip(SKIP);
    const rx = /DEAR(dear)/;
    const r1 = m.search(rx, FOUR + 1, FOUR + 8 * MiB);
    assert.notEqual(r1, null);
    assert.equal(r1.index, D3 + 2);
    assert.equal(r1.end, D3 + 10);
    assert.equal(r1[0], "DEARdear");
    assert.equal(r1[1], "dear");
    assert.equal(m.search(rx, D3 + 3, D3 + MiB), null);
    assert.equal(m.search(rx, D3, D3 + 9), null); // the match would end after `end`

    const r2 = m.search(rx, FOUR - MiB, FOUR + MiB);
    assert.equal(r2.index, FOUR - 4);
    assert.equal(r2.end, FOUR + 4);
    const r3 = m.search(rx, TWO - 100, TWO + 100);
    assert.equal(r3.index, TWO - 4);
    assert.equal(r3[1], "dear");

    // Named groups and the d flag give byte offsets beyond 4 GiB.
    const r4 = m.search(/DEAR(?<low>dear) /d, FOUR + 1, FOUR + 8 * MiB);
    assert.equal(r4.groups.low, "dear");
    assert.deepEqual(r4.indices[0], [D3 + 2, D3 + 11]);
    assert.deepEqual(r4.indices[1], [D3 + 6, D3 + 10]);
    assert.deepEqual(r4.indices.groups.low, [D3 + 6, D3 + 10]);

    // Lookbehind reads bytes before `start`.
    const r5 = m.search(/(?<=DEAR)dear/, FOUR, FOUR + MiB);
    assert.equal(r5.index, FOUR);
    const r6 = m.search(new RegExp(M1.replace(/[<>-]/g, "\\$&")), B - 5, B + MiB);
    assert.equal(r6.index, B);
  });

  test("matchAll over a 64 MiB range beyond 4 GiB", (t) => {
    if (file === null) return t.skip(SKIP);
    const expected = IDS.filter(([at, s]) => at >= R0 && at + s.length <= R1).map(([at, s]) => ({
      index: at,
      end: at + s.length,
      text: s,
      id: s.slice(3, -1),
    }));
    const got = [...m.matchAll(/id=(\d+);/g, R0, R1)].map((x) => ({ index: x.index, end: x.end, text: x[0], id: x[1] }));
    assert.deepEqual(got, expected);
    assert.ok(got.length >= 4);
    // The first match of the range is also what search() finds.
    const first = m.search(/id=(\d+);/, R0, R1);
    assert.equal(first.index, expected[0].index);
    // A range that ends one byte early loses the last id.
    const shorter = [...m.matchAll(/id=\d+;/g, R0, R1 - 1)].map((x) => x.index);
    assert.deepEqual(shorter, expected.slice(0, -1).map((e) => e.index));
  });

  test("search and matchAll over more than one window of text beyond 4 GiB", (t) => {
    if (file === null) return t.skip(SKIP);
    const r = m.search(/W-(EDGE|FAR)/, W0);
    assert.equal(r.index, WIN[0][0]);
    assert.equal(r[1], "EDGE");
    const all = [...m.matchAll(/W-[A-Z]+/g, W0, WIN[1][0] + MiB)].map((x) => [x.index, x[0]]);
    assert.deepEqual(all, WIN);
  });

  test("views of the large map are detached by close()", (t) => {
    if (file === null) return t.skip(SKIP);
    const mm = new MMap(file.fd, 0, { access: ACCESS_READ });
    if (!VIEWS) {
      assertNoViews(mm, FOUR - 6, FOUR + 6);
      assert.equal(text(mm.slice(FOUR - 6, FOUR + 6)), DD);
      mm.close();
      throwsCode(() => mm.subarray(FOUR - 6, FOUR + 6), Error, "ERR_MMAP_CLOSED");
      throwsCode(() => mm.get(A), Error, "ERR_MMAP_CLOSED");
      return;
    }
    const views = [mm.subarray(FOUR - 6, FOUR + 6), mm.subarray(A, A + 20), mm.subarray(FOUR - GiB, FOUR + GiB)];
    assert.equal(text(views[0]), DD);
    mm.close();
    for (const v of views) {
      assert.equal(v.buffer.byteLength, 0);
      assert.equal(v.length, 0);
      assert.equal(v[0], undefined);
    }
    throwsCode(() => mm.get(A), Error, "ERR_MMAP_CLOSED");
  });

  test("a map at offset 0x140000000 with length 0 maps the tail; size() is the file's", (t) => {
    if (file === null) return t.skip(SKIP);
    const off = 0x140000000;
    const tail = new MMap(file.fd, 0, { access: ACCESS_READ, offset: off });
    try {
      assert.equal(tail.length, SIZE - off);
      assert.equal(tail.length, 0x10000000);
      assert.equal(tail.offset, off);
      assert.equal(tail.size(), SIZE);
      assert.equal(tail.get(0xfffffff), "!".charCodeAt(0));
      assert.equal(text(tail.slice(-TAIL.length)), TAIL);
      // The part of "|seg5|" and of the crossing line after 5 GiB.
      assert.equal(text(tail.slice(0, 3)), "g5|");
      assert.equal(tail.find("5 GiB\n", 0), CROSS + CROSS_LINE.indexOf("5 GiB\n") - off);
      assert.equal(tail.find("cross", 0), -1);
      assert.equal(tail.find(TAIL, 0), 0x10000000 - TAIL.length);
      if (VIEWS) {
        assert.equal(tail.buffer.length, 0x10000000);
        assert.equal(text(tail.buffer.subarray(-TAIL.length)), TAIL);
      } else assertNoViews(tail, -TAIL.length);
    } finally {
      tail.close();
    }
    // A small window at 4 GiB of the large file.
    const win = new MMap(file.fd, MiB, { access: ACCESS_READ, offset: FOUR });
    try {
      assert.equal(win.length, MiB);
      assert.equal(win.size(), SIZE);
      assert.equal(text(win.slice(0, 6)), DD.slice(6));
      assert.equal(win.find(M1, 0), A - FOUR);
    } finally {
      win.close();
    }
  });
});

// ---------------------------------------------------------------- writes beyond 4 GiB

describe("a writable map of a sparse file larger than 4 GiB", () => {
  const SIZE = 5 * GiB + MiB;
  const FIVE = 5 * GiB;
  let file = null;
  let m = null;

  before(() => {
    file = sparseFile(SIZE, []);
    if (file !== null) m = new MMap(file.fd, 0, { access: ACCESS_WRITE });
  });
  after(() => {
    m?.close();
    removeFile(file);
  });

  test("set, writeByte, write, setSlice and views beyond 4 GiB reach the file", async (t) => {
    if (file === null) return t.skip(SKIP);
    assert.equal(m.length, SIZE);
    m.set(FOUR + 7, 0xab);
    assert.equal(m.get(FOUR + 7), 0xab);
    m.set(-1, 0xcd);
    assert.equal(m.get(SIZE - 1), 0xcd);

    assert.equal(m.seek(FOUR + 100), FOUR + 100);
    assert.equal(m.write("written beyond 4 GiB"), 20);
    assert.equal(m.tell(), FOUR + 120);
    m.writeByte(0x21);
    assert.equal(m.tell(), FOUR + 121);

    // Across 4 GiB and across 5 GiB (boundaries of the internal views).
    m.seek(FOUR - 4);
    assert.equal(m.write("straddle"), 8);
    m.seek(FIVE - 4);
    assert.equal(m.write("crossing"), 8);

    m.setSlice(FOUR + 200, FOUR + 210, "0123456789");
    m.setSlice(FOUR + 300, FOUR + 310, "abcde", 2);
    m.setSlice(FIVE + 105, FIVE + 95, "ZYXWVUTSRQ", -1); // fills FIVE+105 down to FIVE+96

    if (VIEWS) {
      const v = m.subarray(FOUR + 0x30000, FOUR + 0x30010);
      v.write("via a view", "latin1");
      m.subarray(TWO - 2, TWO + 2).set([1, 2, 3, 4]);
    } else {
      // no views: the same bytes through setSlice
      assertNoViews(m, FOUR + 0x30000, FOUR + 0x30010);
      m.setSlice(FOUR + 0x30000, FOUR + 0x3000a, "via a view");
      m.setSlice(TWO - 2, TWO + 2, new Uint8Array([1, 2, 3, 4]));
    }

    const expected = [
      [FOUR + 7, Buffer.from([0xab])],
      [SIZE - 1, Buffer.from([0xcd])],
      [FOUR + 100, Buffer.from("written beyond 4 GiB!")],
      [FOUR - 4, Buffer.from("straddle")],
      [FIVE - 6, Buffer.from("\0\0crossing\0\0")],
      [FOUR + 200, Buffer.from("0123456789")],
      [FOUR + 300, Buffer.from("a\0b\0c\0d\0e\0")],
      [FIVE + 95, Buffer.from("\0QRSTUVWXYZ\0")],
      [FOUR + 0x30000, Buffer.from("via a view\0\0\0\0\0\0")],
      [TWO - 2, Buffer.from([1, 2, 3, 4])],
    ];
    for (const [pos, bytes] of expected) {
      assert.ok(m.slice(pos, pos + bytes.length).equals(bytes), `map at ${pos.toString(16)}`);
    }
    m.flush();
    m.flush(FOUR, PAGESIZE);
    await m.flushAsync(FOUR + PAGESIZE, PAGESIZE);
    if (!WINDOWS) m.madvise(MADV_WILLNEED, FOUR, PAGESIZE); // Windows has no madvise
    for (const [pos, bytes] of expected) {
      assert.ok(pread(file.fd, pos, bytes.length).equals(bytes), `file at ${pos.toString(16)}`);
    }
    assert.equal(fs.fstatSync(file.fd).size, SIZE);
    assert.equal(m.size(), SIZE);
  });

  /** Fills [pos, pos + n) with bytes derived from `seed`; returns them. */
  function fill(pos, n, seed) {
    const b = Buffer.from(Array.from({ length: n }, (_, i) => ((i * 31 + seed) % 251) + 1));
    m.setSlice(pos, pos + b.length, b);
    return b;
  }

  /**
   * m.move(dest, src, count), compared with what the bytes must become: Buffer.copyWithin on a
   * copy of the region when source and destination are close, the source bytes copied over the
   * destination otherwise. Returns the new bytes of [dest - 64, dest + count + 64).
   */
  function checkMove(dest, src, count) {
    const margin = 64;
    const lo = Math.min(dest, src) - margin;
    const hi = Math.max(dest, src) + count + margin;
    let expected;
    if (hi - lo <= 8 * MiB) {
      expected = Buffer.from(m.slice(lo, hi)).copyWithin(dest - lo, src - lo, src - lo + count);
      m.move(dest, src, count);
      assert.ok(m.slice(lo, hi).equals(expected), `move(${dest}, ${src}, ${count})`);
      return expected.subarray(dest - margin - lo, dest + count + margin - lo);
    }
    const source = m.slice(src, src + count);
    expected = m.slice(dest - margin, dest + count + margin);
    source.copy(expected, margin);
    m.move(dest, src, count);
    assert.ok(m.slice(dest - margin, dest + count + margin).equals(expected), `move(${dest}, ${src}, ${count})`);
    assert.ok(m.slice(src, src + count).equals(source), `source of move(${dest}, ${src}, ${count})`);
    return expected;
  }

  test("move() across the 5 GiB boundary with overlapping ranges, both directions", (t) => {
    if (file === null) return t.skip(SKIP);
    fill(FIVE - 100, 200, 7);
    checkMove(FIVE - 100 + 37, FIVE - 100, 200); // overlapping, dest > src
    checkMove(FIVE - 150, FIVE - 100, 200); // overlapping, dest < src
    checkMove(FIVE - 1, FIVE - 2, 150); // one byte apart
    const last = checkMove(FIVE - 3, FIVE - 1, 150);
    m.flush(FIVE - PAGESIZE, 2 * PAGESIZE);
    assert.ok(pread(file.fd, FIVE - 3 - 64, last.length).equals(last));
  });

  test("move() over more than 1 GiB, and in several chunks, beyond 4 GiB", (t) => {
    if (file === null) return t.skip(SKIP);
    // From below 4 GiB to above it, 1.5 GiB apart.
    const src = TWO + GiB / 2 + 5;
    const dest = FOUR + 0x10000 + 3;
    const data = fill(src, 10_000, 11);
    checkMove(dest, src, data.length);
    assert.ok(m.slice(dest, dest + data.length).equals(data));

    // Just under 1 GiB apart (the library copies such moves in several chunks), both directions.
    const gap = GiB - PAGESIZE;
    const n = 3 * PAGESIZE + 5;
    const s1 = FOUR + 0x8000 + 17;
    const data1 = fill(s1, n, 3);
    checkMove(s1 + gap, s1, n);
    assert.ok(m.slice(s1 + gap, s1 + gap + n).equals(data1));
    const s2 = FIVE - MiB + 9; // beyond 4 GiB; the copy lands below 4 GiB
    const data2 = fill(s2, n, 5);
    checkMove(s2 - gap, s2, n);
    assert.ok(m.slice(s2 - gap, s2 - gap + n).equals(data2));

    m.flush();
    assert.ok(pread(file.fd, dest, data.length).equals(data));
    assert.ok(pread(file.fd, s1 + gap, n).equals(data1));
    assert.ok(pread(file.fd, s2 - gap, n).equals(data2));
  });

  test("move() of overlapping ranges over 1 MiB beyond 4 GiB, across 5 GiB", (t) => {
    if (file === null) return t.skip(SKIP);
    const src = FIVE - MiB;
    const data = fill(src, 2 * MiB - 3 * PAGESIZE, 13);
    checkMove(src + 3 * PAGESIZE - 1, src, data.length);
    checkMove(src + 5, src + 3 * PAGESIZE, MiB);
  });
});
