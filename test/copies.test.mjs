// Large copies into and out of a map go through one native call (mm_copy in native/search.c):
// a memmove, except that where the destination lies less than 256 bytes past the source modulo
// 4 KiB it copies with its own loop (glibc's memmove is 2-20x slower there). These tests make
// every such distance happen, and check the bytes: reads at every offset of a page, writes from
// every offset of a source buffer, copies within the map that overlap (where mm_copy must be a
// memmove), odd lengths (the loop's tail), and a fault inside the loop (a child process).
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { MMap } from "../dist/index.js";
import { spawnSync } from "node:child_process";
import { ASAN, runNode, tmpdir, VIEWS, WINDOWS } from "./helpers.mjs";

const dir = tmpdir("memmap-copies-");
const index = new URL("../dist/index.js", import.meta.url).href;
const PAGE = 4096;
/** Above the size from which the copies are native (NATIVE_COPY_MIN, src/memory/views.ts), odd. */
const N = 64 * 1024 + 77;

/** Bytes that differ at every offset (no period that a misplaced copy could hide behind). */
function pattern(n, seed) {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

test("reads of 64 KiB and more from every offset of a page copy the map's bytes exactly", () => {
  const f = path.join(dir, "read.bin");
  const data = pattern(3 * PAGE + 2 * N, 1);
  fs.writeFileSync(f, data);
  const m = MMap.open(f);
  try {
    for (let a = 0; a < PAGE + 64; a += a < 300 || a > PAGE - 300 ? 1 : 37) {
      for (const n of [N, 2 * N - 1, 64 * 1024]) {
        const got = m.slice(a, a + n);
        assert.equal(got.length, n);
        assert.ok(got.equals(data.subarray(a, a + n)), `slice(${a}, ${a} + ${n})`);
      }
      m.seek(a);
      assert.ok(m.read(N).equals(data.subarray(a, a + N)), `read at ${a}`);
      assert.equal(m.tell(), a + N);
    }
  } finally {
    m.close();
  }
});

test("writes of 64 KiB and more from every offset of a source buffer put its bytes exactly", () => {
  const f = path.join(dir, "write.bin");
  fs.writeFileSync(f, Buffer.alloc(4 * N));
  const source = pattern(N + 2 * PAGE, 2);
  const m = MMap.open(f);
  try {
    for (let k = 0; k < PAGE + 64; k += k < 300 || k > PAGE - 300 ? 1 : 41) {
      const at = (k * 7) % (2 * PAGE); // destinations at many offsets of a page too
      const src = source.subarray(k, k + N);
      m.seek(at);
      assert.equal(m.write(src), N);
      m.setSlice(at + N + 5, at + 2 * N + 5, src);
      assert.ok(m.slice(at, at + N).equals(src), `write of source offset ${k} at ${at}`);
      assert.ok(m.slice(at + N + 5, at + 2 * N + 5).equals(src), `setSlice of source offset ${k}`);
    }
    m.flush();
  } finally {
    m.close();
  }
});

test("a large write whose source is a view of the same map, overlapping it, is a memmove", { skip: !VIEWS && "no views in the copying mode: a source from the map is a copy" }, () => {
  const f = path.join(dir, "overlap.bin");
  const size = 2 * N + 4 * PAGE;
  const data = pattern(size, 3);
  fs.writeFileSync(f, data);
  const m = MMap.open(f);
  try {
    const shadow = Buffer.from(data);
    const base = 2 * PAGE;
    for (const d of [0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 200, 255, 256, 4095, 4096, 4097]) {
      for (const sign of [1, -1]) {
        const to = base + sign * d;
        m.setSlice(to, to + N, m.subarray(base, base + N)); // the source: the map itself
        shadow.copyWithin(to, base, base + N);
        assert.ok(m.slice(0, size).equals(shadow), `copy of [${base}, +${N}) to ${to}`);
        m.seek(base - sign * d);
        m.write(m.subarray(base, base + N));
        shadow.copyWithin(base - sign * d, base, base + N);
        assert.ok(m.slice(0, size).equals(shadow), `write() of [${base}, +${N}) at ${base - sign * d}`);
      }
    }
  } finally {
    m.close();
  }
});

test("a large write that faults inside the copy (the file truncated under the map) throws ERR_MMAP_TRUNCATED", { skip: WINDOWS && "Windows refuses to truncate a mapped file (test/windows.test.mjs)" }, () => {
  const f = path.join(dir, "fault.bin");
  const file = path.join(dir, "fault-child.mjs");
  // A fresh map for each source offset, so that each write is the first touch of the lost pages
  // (a loss already known is reported before any copy): offsets 32 apart over a page put some of
  // the copies inside the loop's window whatever the source buffer's own alignment.
  fs.writeFileSync(
    file,
    `import fs from "node:fs";
import * as mm from ${JSON.stringify(index)};
const f = ${JSON.stringify(f)};
const source = Buffer.alloc(2 * 65536 + 8192, 5);
const out = { codes: {}, head: 0, survived: false };
for (let k = 0; k < 4096; k += 32) {
  fs.writeFileSync(f, Buffer.alloc(4 * 65536));
  const m = mm.MMap.open(f);
  fs.truncateSync(f, 65536);
  let code = "no error";
  try {
    m.seek(65536 - 4096);
    m.write(source.subarray(k, k + 2 * 65536));
  } catch (e) {
    code = e.code;
  }
  out.codes[code] = (out.codes[code] ?? 0) + 1;
  out.head += m.get(100) === 0 ? 1 : 0;
  m.close();
}
out.survived = true;
console.log(JSON.stringify(out));
`,
  );
  const r = runNode([file], { env: process.env });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { codes: { ERR_MMAP_TRUNCATED: 128 }, head: 128, survived: true });
});

// Under a limit on address space (ulimit -v), the engine cannot allocate a large copy's Buffer:
// it throws a RangeError without a code ("Array buffer allocation failed"), which memmap let
// through (found by the resource-exhaustion attack). Each now throws ERR_MEMORY_ALLOCATION_FAILED,
// before anything moved. The child maps a 64 MiB file, takes the rest of its address space with
// anonymous maps, gives 8 MiB back (room for the engine's small objects, not for a copy of the
// map), then asks for copies every way.
test("copies the engine cannot allocate (ulimit -v) throw ERR_MEMORY_ALLOCATION_FAILED and change nothing", { skip: (WINDOWS && "ulimit -v: POSIX") || (ASAN && "ulimit -v: AddressSanitizer reserves terabytes") }, () => {
  const f = path.join(dir, "alloc.bin");
  const MiB = 1 << 20;
  const data = Buffer.alloc(64 * MiB, 0x61);
  data[64 * MiB - 1] = 10; // one line of 64 MiB
  fs.writeFileSync(f, data);
  const body = `
    import { MMap } from ${JSON.stringify(index)};
    const MiB = 1 << 20, m = MMap.open(process.argv[1]), taken = [];
    m.seek(100);
    const tryIt = (fn) => { try { return ["ok", fn().length]; } catch (e) { return [e.constructor.name, e.code, e.cause?.constructor.name]; } };
    for (let size = 2 ** 34; size >= MiB; ) { try { taken.push(new MMap(-1, size)); } catch { size /= 2; } }
    for (let given = 0; given < 8 * MiB && taken.length > 0; ) { const t = taken.pop(); given += t.length; t.close(); }
    const out = {
      slice: tryIt(() => m.slice(0, m.length)),
      read: tryIt(() => m.read()),
      strided: tryIt(() => m.slice(null, null, -1)), // all 64 MiB, reversed: a gather (step 2 asked for 32 MiB, which Node 22 found)
      readline: tryIt(() => m.readline()),
    };
    for (const t of taken) t.close();
    out.after = [m.tell(), m.get(0), m.read(3).toString(), m.slice(0, m.length).length];
    console.log(JSON.stringify(out));
  `;
  const child = spawnSync("bash", ["-c", 'ulimit -v 8000000 && exec "$0" --input-type=module -e "$1" "$2"', process.execPath, body, f], { encoding: "utf8", timeout: 120_000 });
  assert.equal(child.signal, null, child.stderr);
  assert.equal(child.status, 0, child.stderr);
  const got = JSON.parse(child.stdout.trim().split("\n").at(-1));
  const failed = ["Error", "ERR_MEMORY_ALLOCATION_FAILED", "RangeError"];
  assert.deepEqual(got.slice, failed);
  assert.deepEqual(got.read, failed);
  assert.deepEqual(got.strided, failed);
  assert.deepEqual(got.readline, failed);
  assert.deepEqual(got.after, [100, 0x61, "aaa", 64 * MiB], "the position and the map as they were");
});
