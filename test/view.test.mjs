// SPEC §8 `m.view(Type, byteOffset?, length?)`: a TypedArray or DataView over the map without
// copying. numpy.memmap's use (float32 weights summed straight from a file, fixed-size records
// read through a DataView), every constructor, the byteOffset/length rules and their errors, the
// Type rules (built-in constructors only: no subclass, no Buffer, no other realm's), detachment
// by close() and resize() (whole-map, segment and own-buffer views), offsets beyond 4 GiB, and
// read-only maps. In the copying mode (MEMMAP_NO_EXTERNAL_BUFFERS=1) view() throws
// ERR_MMAP_VIEWS_UNAVAILABLE after the argument and closed checks.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { runInNewContext } from "node:vm";
import { constants as bufferConstants } from "node:buffer";
import { MMap, ACCESS_READ, ACCESS_WRITE, PAGESIZE } from "../dist/index.js";
import { tmpfile, tmpfd, throwsCode, withMap, runNode, VIEWS } from "./helpers.mjs";

const DIST = new URL("../dist/index.js", import.meta.url).href;
const noViews = !VIEWS && "no views in the copying mode (MEMMAP_NO_EXTERNAL_BUFFERS=1): see the test of that mode";
const Float16 = globalThis.Float16Array;
const TYPES = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  ...(typeof Float16 === "function" ? [Float16] : []),
];

/** Closes `m` when the test `t` ends (Node 20 has no `using`). */
function closing(t, m) {
  t.after(() => m.close());
  return m;
}

/** Deterministic float32 weights, as a model file holds them. */
function weights(n) {
  const w = new Float32Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    w[i] = (x / 2 ** 31 - 0.5) * 4;
  }
  return w;
}

describe("numpy.memmap's use", { skip: noViews }, () => {
  test("float32 weights summed straight from the file equal the sum of the array written", (t) => {
    const w = weights(300_001);
    const path = tmpfile(Buffer.from(w.buffer));
    let expected = 0;
    for (const x of w) expected += x;
    const m = closing(t, MMap.open(path, { access: ACCESS_READ }));
    const view = m.view(Float32Array);
    assert.ok(view instanceof Float32Array);
    assert.equal(view.length, w.length);
    let sum = 0;
    for (const x of view) sum += x;
    assert.equal(sum, expected);
    // A slice of the weights, from an element offset: the same values.
    const part = m.view(Float32Array, 4 * 1000, 500);
    assert.deepEqual(part, w.subarray(1000, 1500));
  });

  test("fixed-size records through a DataView; writes through it reach the file", (t) => {
    // struct { uint32 id; float64 value; uint16 flags; } packed: 14 bytes, little-endian
    const SIZE = 14;
    const n = 1000;
    const file = Buffer.alloc(SIZE * n);
    for (let i = 0; i < n; i++) {
      file.writeUInt32LE(i * 7, i * SIZE);
      file.writeDoubleLE(i / 8, i * SIZE + 4);
      file.writeUInt16LE(i & 0xffff, i * SIZE + 12);
    }
    const { fd, path } = tmpfd(file);
    const m = closing(t, new MMap(fd, 0, { access: ACCESS_WRITE }));
    const dv = m.view(DataView);
    assert.ok(dv instanceof DataView);
    assert.equal(dv.byteLength, SIZE * n);
    for (const i of [0, 1, 499, 999]) {
      assert.equal(dv.getUint32(i * SIZE, true), i * 7);
      assert.equal(dv.getFloat64(i * SIZE + 4, true), i / 8);
      assert.equal(dv.getUint16(i * SIZE + 12, true), i);
    }
    // One record, by offset and length in bytes (a DataView's elements are bytes).
    const rec = m.view(DataView, 10 * SIZE, SIZE);
    assert.equal(rec.byteLength, SIZE);
    rec.setFloat64(4, 2.5, true);
    m.flush();
    assert.equal(fs.readFileSync(path).readDoubleLE(10 * SIZE + 4), 2.5);
  });
});

describe("every constructor, without copying", { skip: noViews }, () => {
  for (const Type of TYPES) {
    test(`${Type.name}: default length, zero-copy both ways`, () => {
      withMap([-1, 64 + 3], (m) => {
        const v = m.view(Type);
        assert.equal(Object.getPrototypeOf(v), Type.prototype);
        assert.equal(v.length, Math.floor(67 / Type.BYTES_PER_ELEMENT));
        const one = typeof v[0] === "bigint" ? 1n : 1;
        const size = Type.BYTES_PER_ELEMENT;
        const bytes = Buffer.from(new Type([one]).buffer);
        v[1] = one;
        // The map holds the element's bytes at its place; bytes written to the map show in the view.
        assert.deepEqual(m.slice(size, 2 * size), bytes);
        m.setSlice(0, size, bytes);
        assert.equal(v[0], one);
        // From an offset, for a length.
        const w = m.view(Type, 2 * size, 3);
        assert.equal(w.length, 3);
        w[0] = one;
        assert.equal(v[2], one);
      });
    });
  }

  test("DataView: byteOffset and length in bytes, any offset", () => {
    withMap([-1, 20], (m) => {
      m.setSlice(0, 5, "\x01\x02\x03\x04\x05");
      const dv = m.view(DataView, 1, 3);
      assert.equal(dv.byteLength, 3);
      assert.equal(dv.getUint8(0), 2);
      assert.equal(m.view(DataView, 19).byteLength, 1);
    });
  });

  test("Atomics work on view(Int32Array) of a shared map", () => {
    withMap([-1, PAGESIZE], (m) => {
      const i32 = m.view(Int32Array);
      assert.equal(Atomics.add(i32, 3, 5), 0);
      assert.equal(Atomics.compareExchange(i32, 3, 5, 9), 5);
      assert.equal(m.slice(12, 16).readInt32LE(0), 9);
    });
  });
});

describe("byteOffset and length", { skip: noViews }, () => {
  test("length defaults to as many elements as fit; an empty view at the end", () => {
    withMap([-1, 37], (m) => {
      assert.equal(m.view(Float64Array).length, 4);
      assert.equal(m.view(Float64Array, 8).length, 3);
      assert.equal(m.view(Int16Array, 36).length, 0);
      assert.equal(m.view(Uint8Array, 37).length, 0);
      assert.equal(m.view(Uint8Array, 0, 0).length, 0);
      assert.equal(m.view(Float64Array, 8, 3).length, 3);
    });
  });

  test("a byteOffset that is not a multiple of BYTES_PER_ELEMENT: RangeError ERR_INVALID_ARG_VALUE", () => {
    withMap([-1, 64], (m) => {
      for (const [Type, off] of [[Int16Array, 1], [Int32Array, 2], [Float64Array, 4], [BigInt64Array, 12]]) {
        throwsCode(() => m.view(Type, off), RangeError, "ERR_INVALID_ARG_VALUE");
      }
    });
  });

  test("out of range: RangeError ERR_OUT_OF_RANGE (negative, fraction, beyond the map)", () => {
    withMap([-1, 64], (m) => {
      throwsCode(() => m.view(Int32Array, -4), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => m.view(Int32Array, 1.5), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => m.view(Int32Array, 0, -1), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => m.view(Int32Array, 0, 2.5), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => m.view(Int32Array, 68), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => m.view(Int32Array, 0, 17), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => m.view(Int32Array, 60, 2), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => m.view(DataView, 0, 65), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => m.view(Int32Array, 2 ** 53), RangeError, "ERR_OUT_OF_RANGE");
    });
  });

  test("a non-number: TypeError ERR_INVALID_ARG_TYPE; null is not a default", () => {
    withMap([-1, 64], (m) => {
      for (const bad of ["0", null, 0n, {}, true]) {
        throwsCode(() => m.view(Int32Array, bad), TypeError, "ERR_INVALID_ARG_TYPE");
        throwsCode(() => m.view(Int32Array, 0, bad), TypeError, "ERR_INVALID_ARG_TYPE");
      }
    });
  });
});

describe("Type", () => {
  const rejected = [
    ["a non-constructor", 4],
    ["a name", "Float32Array"],
    ["undefined", undefined],
    ["an instance", new Float32Array(1)],
    ["ArrayBuffer", ArrayBuffer],
    ["Array", Array],
    ["a plain function", function Float32Array() {}],
    ["Buffer (a Uint8Array subclass)", Buffer],
    ["a subclass", class Weights extends Float32Array {}],
    ["a DataView subclass", class Records extends DataView {}],
    ["another realm's Float32Array", runInNewContext("Float32Array")],
    ["a proxy of Float32Array", new Proxy(Float32Array, {})],
  ];
  for (const [what, Type] of rejected) {
    test(`${what}: TypeError ERR_INVALID_ARG_TYPE`, () => {
      withMap([-1, 64], (m) => throwsCode(() => m.view(Type), TypeError, "ERR_INVALID_ARG_TYPE"));
    });
  }

  test("the message says why a subclass is refused and what to do instead", () => {
    withMap([-1, 64], (m) => {
      assert.throws(() => m.view(Buffer), /not a subclass.*subarray\(\)/);
      assert.throws(() => m.view(class extends Int8Array {}), /new Sub\(v\.buffer, v\.byteOffset, v\.length\)/);
    });
  });

  test(
    "Float16Array is taken where the runtime has it",
    { skip: typeof Float16 !== "function" && "this runtime has no Float16Array" },
    () => {
      withMap([-1, 8], (m) => assert.equal(m.view(Float16).length, VIEWS ? 4 : 0));
    },
  );
});

describe("checks and state", () => {
  test("argument checks come before the closed check; then ERR_MMAP_CLOSED", () => {
    const m = new MMap(-1, 64);
    m.close();
    throwsCode(() => m.view(Array), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => m.view(Int32Array, "1"), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => m.view(Int32Array, 2), RangeError, "ERR_INVALID_ARG_VALUE");
    throwsCode(() => m.view(Int32Array), Error, "ERR_MMAP_CLOSED");
    throwsCode(() => m.view(Int32Array, 1000), Error, "ERR_MMAP_CLOSED");
  });

  test("a failed view() changes nothing: position, contents, length", () => {
    withMap([-1, 64], (m) => {
      m.write("abc");
      throwsCode(() => m.view(Int32Array, 2), RangeError, "ERR_INVALID_ARG_VALUE");
      if (VIEWS) throwsCode(() => m.view(Int32Array, 0, 100), RangeError, "ERR_OUT_OF_RANGE");
      assert.equal(m.tell(), 3);
      assert.equal(m.length, 64);
      assert.equal(m.slice(0, 3).toString(), "abc");
    });
  });

  test("the copying mode: ERR_MMAP_VIEWS_UNAVAILABLE after the argument and closed checks", { skip: VIEWS && "views exist here" }, () => {
    withMap([-1, 64], (m) => {
      throwsCode(() => m.view(Float32Array), Error, "ERR_MMAP_VIEWS_UNAVAILABLE");
      throwsCode(() => m.view(DataView, 3, 2), Error, "ERR_MMAP_VIEWS_UNAVAILABLE");
      throwsCode(() => m.view(Float32Array, 2), RangeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => m.view(Buffer), TypeError, "ERR_INVALID_ARG_TYPE");
    });
    const closed = new MMap(-1, 8);
    closed.close();
    throwsCode(() => closed.view(Float32Array), Error, "ERR_MMAP_CLOSED");
  });
});

describe("detached by close() and resize()", { skip: noViews }, () => {
  test("close(): typed arrays have length 0, a DataView throws on access", () => {
    const m = new MMap(-1, PAGESIZE);
    const f = m.view(Float64Array);
    const part = m.view(Int32Array, 8, 2);
    const dv = m.view(DataView, 4, 4);
    f[0] = 1.5;
    m.close();
    assert.equal(f.length, 0);
    assert.equal(part.length, 0);
    assert.equal(f[0], undefined);
    assert.throws(() => dv.getUint8(0), TypeError);
    assert.equal(f.buffer.byteLength, 0);
  });

  test("resize(): views made before are detached, new ones see the data", (t) => {
    const { fd } = tmpfd(Buffer.alloc(2 * PAGESIZE));
    const m = closing(t, new MMap(fd, 0));
    const before = m.view(Uint32Array);
    before[5] = 0xdeadbeef;
    m.resize(4 * PAGESIZE);
    assert.equal(before.length, 0);
    const after = m.view(Uint32Array);
    assert.equal(after.length, PAGESIZE);
    assert.equal(after[5], 0xdeadbeef);
  });

  test("segment and own-buffer views (maps larger than one view) are detached too, and read right", () => {
    // MEMMAP_MAX_VIEW=10003: segments of 10003 bytes every 5001, so a Float64Array at byteOffset
    // 5008 would start 7 bytes into a segment: it gets a buffer of its own over exactly the range.
    const r = runNode(
      [
        "--input-type=module",
        "-e",
        `import { MMap } from ${JSON.stringify(DIST)};
         import assert from "node:assert/strict";
         const m = new MMap(-1, 40000);
         for (let i = 0; i < 40000; i += 8) m.setSlice(i, i + 8, Buffer.from(new Float64Array([i]).buffer));
         const at = [8, 5008, 10008, 8000];
         const views = [
           m.view(Float64Array, 8, 10),      // segment 0 (from 0), aligned there: the segment's buffer
           m.view(Float64Array, 5008, 10),   // segment 1 (from 5001), 7 bytes in: a buffer of its own
           m.view(Float64Array, 10008, 10),  // segment 2 (from 10002), 6 bytes in: a buffer of its own
           m.view(Float64Array, 8000, 1000), // 8000 bytes, more than a segment holds: a buffer of its own
           m.view(DataView, 30001, 7),
         ];
         views.slice(0, 4).forEach((v, i) => { for (let k = 0; k < v.length; k++) assert.equal(v[k], at[i] + 8 * k); });
         assert.equal(views[4].getUint8(0), m.get(30001));
         assert.throws(() => m.buffer, { code: "ERR_OUT_OF_RANGE" });
         m.close();
         for (const v of views.slice(0, 4)) assert.equal(v.length, 0);
         assert.throws(() => views[4].getUint8(0), TypeError);
         console.log("ok");`,
      ],
      { env: { ...process.env, MEMMAP_MAX_VIEW: "10003" } },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "ok");
  });
});

describe("a read-only map", { skip: noViews }, () => {
  test("a write through a view never reaches the file and never crashes", (t) => {
    const path = tmpfile(Buffer.from(new Float32Array([1, 2, 3, 4]).buffer));
    const m = closing(t, MMap.open(path, { access: ACCESS_READ }));
    const v = m.view(Float32Array);
    v[0] = 42;
    assert.equal(v[0], 42); // a private copy of the page
    assert.deepEqual(new Float32Array(Uint8Array.from(fs.readFileSync(path)).buffer), new Float32Array([1, 2, 3, 4]));
  });
});

describe("beyond 4 GiB", { skip: noViews }, () => {
  const GiB = 2 ** 30;
  const SIZE = 6 * GiB;

  test("views at offsets beyond 4 GiB read and write the file; straddling 4 GiB too", (t) => {
    const path = tmpfile("");
    const fd = fs.openSync(path, "r+");
    try {
      fs.ftruncateSync(fd, SIZE);
      const at = 5 * GiB + 4096;
      fs.writeSync(fd, Buffer.from(new Float64Array([1.25, 2.5, 3.75]).buffer), 0, 24, at);
      fs.writeSync(fd, Buffer.from(new Uint32Array([7, 8, 9, 10]).buffer), 0, 16, 4 * GiB - 8);
      if (fs.fstatSync(fd).blocks * 512 > GiB) return t.skip("the filesystem does not keep sparse files");
      const m = closing(t, new MMap(fd, 0));
      assert.equal(m.length, SIZE);
      const f = m.view(Float64Array, at, 3);
      assert.deepEqual([...f], [1.25, 2.5, 3.75]);
      f[2] = -1;
      const straddle = m.view(Uint32Array, 4 * GiB - 8, 4);
      assert.deepEqual([...straddle], [7, 8, 9, 10]);
      straddle[3] = 11;
      const dv = m.view(DataView, SIZE - 3);
      assert.equal(dv.byteLength, 3);
      dv.setUint8(2, 0x5a);
      m.flush();
      const back = Buffer.alloc(24);
      fs.readSync(fd, back, 0, 24, at);
      assert.equal(back.readDoubleLE(16), -1);
      fs.readSync(fd, back, 0, 4, 4 * GiB + 4);
      assert.equal(back.readUInt32LE(0), 11);
      fs.readSync(fd, back, 0, 1, SIZE - 1);
      assert.equal(back[0], 0x5a);
      // The whole 6 GiB map as one view: only where the runtime's buffers are that large.
      if (bufferConstants.MAX_LENGTH < SIZE) throwsCode(() => m.view(Uint8Array), RangeError, "ERR_OUT_OF_RANGE");
      else assert.equal(m.view(BigUint64Array).length, SIZE / 8);
      m.close();
      assert.equal(f.length, 0);
      assert.equal(straddle.length, 0);
    } finally {
      fs.closeSync(fd);
      fs.rmSync(path, { force: true });
    }
  });
});
