// Unit tests of the pure parts of src/ (issue 10): Python's slice arithmetic (src/slices.ts),
// the constructor's plan (src/plan.ts), and the segment geometry of maps larger than one view
// (src/memory/views.ts) — the last also end to end, with MEMMAP_MAX_VIEW making every map of a
// few KiB take the segment path, so no multi-GiB sparse file is needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { adjust, clampRange, sliceArgs, sliceIndices, spanOf } from "../dist/slices.js";
import { planMap, openedFrom } from "../dist/plan.js";
import { geometry } from "../dist/memory/views.js";
import {
  ACCESS_COPY,
  ACCESS_DEFAULT,
  ACCESS_READ,
  ACCESS_WRITE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from "../dist/index.js";
import { python, runNode, runPython, throwsCode, tmpdir, WINDOWS } from "./helpers.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

// ------------------------------------------------------------------------------------ slices

const BOUNDS = [undefined, -9, -7, -5, -2, -1, 0, 1, 2, 3, 5, 7, 9];
const STEPS = [-4, -3, -2, -1, 1, 2, 3, 4];
const LENGTHS = [0, 1, 2, 5, 7];

/** Every (length, start, stop, step) of the grid, resolved by sliceIndices. */
function ourSlices() {
  const out = [];
  for (const n of LENGTHS)
    for (const a of BOUNDS)
      for (const b of BOUNDS)
        for (const st of STEPS) {
          const s = sliceIndices(n, a, b, st);
          const [lo, hi] = spanOf(s);
          out.push([n, a ?? null, b ?? null, st, s.start, s.count, lo, hi]);
        }
  return out;
}

test("sliceIndices agrees with CPython's slice.indices() and len(range()) on every grid point", { skip: !python && "CPython 3.13 is not available" }, () => {
  const ours = ourSlices();
  const theirs = runPython(
    `import json, sys
grid = json.load(sys.stdin)
out = []
for n, a, b, st, *_ in grid:
    s, e, step = slice(a, b, st).indices(n)
    r = range(s, e, step)
    items = list(r)
    lo, hi = (min(items), max(items) + 1) if items else (s, s)
    out.append([n, a, b, st, s if items else None, len(r), lo if items else None, hi if items else None])
print(json.dumps(out))`,
    JSON.stringify(ours),
  );
  assert.equal(theirs.length, ours.length);
  for (let i = 0; i < ours.length; i++) {
    const [n, a, b, st, start, count, lo, hi] = ours[i];
    const t = theirs[i];
    const where = `length ${n}, [${a}:${b}:${st}]`;
    assert.equal(count, t[5], `${where}: count`);
    if (count > 0) {
      assert.equal(start, t[4], `${where}: first index`);
      assert.deepEqual([lo, hi], [t[6], t[7]], `${where}: span`);
    } else {
      assert.equal(lo, hi, `${where}: an empty slice touches nothing`);
    }
  }
});

test("slice helpers: adjust clamps after counting negatives from the end; clampRange never inverts", () => {
  assert.equal(adjust(-1, 10, 0, 10), 9);
  assert.equal(adjust(-11, 10, 0, 10), 0);
  assert.equal(adjust(11, 10, 0, 10), 10);
  assert.equal(adjust(-11, 10, -1, 9), -1);
  assert.deepEqual(clampRange(0, undefined, 10), [0, 10]);
  assert.deepEqual(clampRange(-3, undefined, 10), [7, 10]);
  assert.deepEqual(clampRange(8, 2, 10), [8, 8]);
  assert.deepEqual(clampRange(-100, 100, 10), [0, 10]);
});

test("slice helpers: step 0 and non-integers are refused with their codes; null and undefined are defaults", () => {
  throwsCode(() => sliceIndices(10, 0, 5, 0), RangeError, "ERR_INVALID_ARG_VALUE");
  throwsCode(() => sliceArgs(1.5, 2, 1), RangeError, "ERR_OUT_OF_RANGE");
  throwsCode(() => sliceArgs("1", 2, 1), TypeError, "ERR_INVALID_ARG_TYPE");
  assert.deepEqual(sliceArgs(null, undefined, null), [undefined, undefined, 1]);
  assert.deepEqual(sliceArgs(-1, 2 ** 60, -3), [-1, 2 ** 60, -3]);
});

// -------------------------------------------------------------------------------------- plan

test("plan: access derives flags/prot, and prot derives access, as CPython does", () => {
  const cases = [
    [{}, ACCESS_DEFAULT, MAP_SHARED, PROT_READ | PROT_WRITE],
    [{ access: ACCESS_READ }, ACCESS_READ, MAP_SHARED, PROT_READ],
    [{ access: ACCESS_WRITE }, ACCESS_WRITE, MAP_SHARED, PROT_READ | PROT_WRITE],
    [{ access: ACCESS_COPY }, ACCESS_COPY, MAP_PRIVATE, PROT_READ | PROT_WRITE],
    [{ prot: PROT_READ }, ACCESS_READ, MAP_SHARED, PROT_READ],
    [{ prot: PROT_WRITE }, ACCESS_WRITE, MAP_SHARED, PROT_WRITE],
    [{ prot: 0 }, ACCESS_READ, MAP_SHARED, 0],
    [{ flags: MAP_PRIVATE, prot: PROT_READ }, ACCESS_READ, MAP_PRIVATE, PROT_READ],
  ];
  for (const [options, access, flags, prot] of cases) {
    const p = planMap(-1, 10, options);
    assert.deepEqual([p.access, p.flags, p.prot], [access, flags, prot], JSON.stringify(options));
    assert.deepEqual(
      { fd: p.fd, length: p.length, offset: p.offset, trackfd: p.trackfd, shareable: p.shareable, tagname: p.tagname, adopt: p.adopt, path: p.path },
      { fd: -1, length: 10, offset: 0, trackfd: true, shareable: false, tagname: undefined, adopt: false, path: undefined },
    );
  }
});

test("plan: CPython's order of checks — length, then offset, then access with flags/prot, then access's value", () => {
  throwsCode(() => planMap(-1, -1, { offset: -1, access: 9, flags: MAP_PRIVATE }), RangeError, "ERR_OUT_OF_RANGE");
  assert.throws(() => planMap(-1, -1, { offset: -1 }), /"length"/);
  assert.throws(() => planMap(-1, 1, { offset: -1, access: ACCESS_READ, flags: MAP_PRIVATE }), /"options.offset"/);
  throwsCode(() => planMap(-1, 1, { access: ACCESS_READ, flags: MAP_PRIVATE }), RangeError, "ERR_INVALID_ARG_VALUE");
  throwsCode(() => planMap(-1, 1, { access: 9 }), RangeError, "ERR_INVALID_ARG_VALUE");
  // Types are checked before any value.
  throwsCode(() => planMap(-1, -1, { trackfd: "yes" }), TypeError, "ERR_INVALID_ARG_TYPE");
});

test("plan: a FileHandle-like fd is validated as a plain number (NaN, fractions, > 32 bits refused)", () => {
  const fh = (fd) => ({ fd, close() {} });
  for (const bad of [NaN, 1.5, 2 ** 32 + 1, -2, Infinity]) {
    assert.throws(() => planMap(fh(bad), 0), (e) => e instanceof RangeError && ["ERR_OUT_OF_RANGE", "ERR_INVALID_ARG_VALUE"].includes(e.code), String(bad));
  }
  throwsCode(() => planMap(fh(-1), 0), RangeError, "ERR_INVALID_ARG_VALUE"); // a closed FileHandle
  assert.equal(planMap(fh(3), 0).fd, 3);
});

test("plan: only options objects made by MMap.open adopt their descriptor and name its path", () => {
  const mine = openedFrom({ access: ACCESS_READ }, "/some/file", true);
  assert.deepEqual([planMap(5, 0, mine).adopt, planMap(5, 0, mine).path], [true, "/some/file"]);
  const shared = openedFrom({}, "/other", false);
  assert.deepEqual([planMap(5, 0, shared).adopt, planMap(5, 0, shared).path], [false, "/other"]);
  assert.deepEqual([planMap(5, 0, { ...mine }).adopt, planMap(5, 0, { ...mine }).path], [false, undefined], "a copy is neither");
  assert.equal(planMap(5, 0, { access: ACCESS_READ }).adopt, false);
});

test("plan: shareable and tagname follow the platform's capabilities", () => {
  throwsCode(() => planMap(3, 0, { shareable: true }), RangeError, "ERR_INVALID_ARG_VALUE");
  if (WINDOWS) {
    throwsCode(() => planMap(-1, 10, { shareable: true }), Error, "ERR_MMAP_UNSUPPORTED_PLATFORM");
    assert.equal(planMap(-1, 10, { tagname: "" }).tagname, undefined);
  } else {
    assert.equal(planMap(-1, 10, { shareable: true }).shareable, true);
  }
});

// ---------------------------------------------------------------------------------- segments

test("segment geometry: any range of at most segment - stride bytes lies inside the segment where it starts", () => {
  for (const maxView of [2, 3, 7, 64, 1000, 4096, 2 ** 31, 2 ** 32]) {
    const g = geometry(maxView);
    assert.ok(g.segment <= maxView && g.segment <= 2 ** 31);
    assert.ok(g.stride >= 1 && g.stride <= g.segment - g.stride, `maxView ${maxView}`);
    const span = g.segment - g.stride;
    const probe = [0, 1, g.stride - 1, g.stride, g.stride + 1, 3 * g.stride - 1, 7 * g.stride + 3];
    for (const a of probe) {
      for (const n of [0, 1, span - 1, span]) {
        if (n < 0) continue;
        const k = Math.floor(a / g.stride);
        const lo = k * g.stride;
        assert.ok(a >= lo && a + n <= lo + g.segment, `maxView ${maxView}: [${a}, ${a + n}) in segment ${k}`);
      }
    }
  }
});

/** Runs a scenario of test/fixtures/copy-mode.mjs with views, with extra environment. */
function scenario(name, env) {
  const dir = tmpdir("memmap-segments-");
  const r = runNode([path.join(here, "fixtures", "copy-mode.mjs"), name, dir], {
    env: { ...process.env, MEMMAP_NO_EXTERNAL_BUFFERS: "", ...env },
    maxBuffer: 1 << 26,
  });
  assert.equal(r.signal, null, `${name}: killed by ${r.signal}\n${r.stderr}`);
  assert.equal(r.status, 0, `${name}: exit status ${r.status}\n${r.stderr}`);
  fs.rmSync(dir, { recursive: true, force: true });
  return JSON.parse(r.stdout);
}

for (const name of ["methods", "read-only", "truncated"]) {
  test(`segments: the ${name} scenario gives the same results when every map is reached through small segments`, { skip: WINDOWS && "the scenarios use POSIX-only kinds of maps" }, () => {
    const { views: whole, ...expected } = scenario(name, {});
    // 1000 and 333: segments of 1000 (333) bytes at a stride of 500 (166), so reads, writes,
    // copies, searches and lines cross segment edges everywhere in maps of a few KiB.
    for (const maxView of ["1000", "333"]) {
      const { views, ...got } = scenario(name, { MEMMAP_MAX_VIEW: maxView });
      assert.deepEqual(got, expected, `MEMMAP_MAX_VIEW=${maxView}`);
      for (const [where, v] of Object.entries(views)) {
        assert.ok("v" in v.subarray, `${where}: subarray(1, 9) fits in one segment`);
        if ("v" in (whole[where]?.buffer ?? {}) && whole[where].buffer.v?.length > Number(maxView)) {
          assert.deepEqual(v.buffer, { e: ["RangeError", "ERR_OUT_OF_RANGE"] }, `${where}: m.buffer is larger than one view`);
        }
      }
    }
  });
}

test("copyOf: every length 0..300 at every alignment 0..35, at the source's end too, gives the source's bytes and nothing more", async () => {
  const { copyOf } = await import("../dist/memory/base.js");
  const src = new Uint8Array(4096 + 7);
  for (let i = 0; i < src.length; i++) src[i] = (i * 131 + 7) & 255;
  const dv = new DataView(src.buffer);
  let copies = 0;
  for (let n = 0; n <= 300; n++) {
    for (let a = 0; a < 36; a++) {
      for (const at of [a, src.length - n - a]) {
        if (at < 0) continue;
        const out = copyOf(src, dv, at, at + n);
        assert.equal(out.length, n);
        assert.ok(Buffer.isBuffer(out));
        assert.deepEqual(out, Buffer.from(src.subarray(at, at + n)), `n=${n} at=${at}`);
        copies++;
      }
    }
  }
  // Copies made in a row never write into one another (each block copy overruns its length).
  const kept = [];
  for (let k = 0; k < 3000; k++) {
    const at = (k * 977) % (src.length - 130);
    const n = (k * 37) % 130;
    kept.push([at, n, copyOf(src, dv, at, at + n)]);
  }
  for (const [at, n, out] of kept) assert.deepEqual(out, Buffer.from(src.subarray(at, at + n)));
  assert.ok(copies > 20000);
});

test("toBytes: a view of a SharedArrayBuffer is taken at its length now; a plain Buffer or Uint8Array of an ArrayBuffer is handed on as it is", async () => {
  // Another thread may grow a growable SharedArrayBuffer while a call runs: a view that tracks its
  // length would then hold more bytes than the call checked (write, setSlice: bytes past the slice
  // written). Before, such a Uint8Array was handed on as it was.
  const { toBytes } = await import("../dist/validate.js");
  let g;
  try {
    g = new SharedArrayBuffer(8, { maxByteLength: 64 });
  } catch {
    g = null;
  }
  if (g !== null && typeof g.grow === "function") {
    const tracking = new Uint8Array(g);
    const bytes = toBytes(tracking, "data");
    g.grow(32);
    assert.equal(tracking.length, 32);
    assert.equal(bytes.length, 8);
  }
  const fixed = new Uint8Array(new SharedArrayBuffer(8));
  assert.notEqual(toBytes(fixed, "data"), fixed);
  assert.equal(toBytes(fixed, "data").length, 8);
  const b = Buffer.alloc(4);
  const u = new Uint8Array(4);
  assert.equal(toBytes(b, "data"), b);
  assert.equal(toBytes(u, "data"), u);
});
