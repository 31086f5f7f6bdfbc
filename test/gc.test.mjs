// Mapped memory and V8's garbage collector (issue 13): memmap's own access to a map must not
// make V8 collect garbage. V8 counts an external ArrayBuffer's length as memory it may free, and
// one that adds more than 64 MiB starts a full collection (docs/performance.md, "Mapped memory
// and V8's garbage collector"). Each workload runs in a child under --trace-gc, whose trace is
// parsed; the same loop without memmap's accesses is the control.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

import { MMap, MAP_PRIVATE } from "../dist/index.js";
import { VIEWS, WINDOWS, runNode, throwsCode, tmpdir } from "./helpers.mjs";

const dist = new URL("../dist/index.js", import.meta.url).href;
const MiB = 1024 * 1024;

/** Runs `body` (an ES module's text, memmap imported as MMap etc.) under --trace-gc: { fullGCs, out, lines }. */
function traced(body, env = {}) {
  const dir = tmpdir("memmap-gc-");
  const file = path.join(dir, "child.mjs");
  fs.writeFileSync(file, `import { MMap, MAP_PRIVATE } from ${JSON.stringify(dist)};\n${body}\n`);
  const r = runNode(["--trace-gc", "--expose-gc", file], { env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const lines = r.stdout.split("\n");
  // "Mark-Compact" (Node 20 to 24; "Mark-Compact (reduce)" too); "Mark-sweep" on older V8.
  const fullGCs = lines.filter((l) => /Mark-Compact|Mark-sweep/.test(l) && !/testing/.test(l));
  const out = lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  return { fullGCs, out: out[0], lines };
}

// The resize workload of bench/workloads.mjs ("resizeanon"): doubling 4 KiB -> 1 GiB, touching
// the map after each resize through its methods, ten times. Before the fix every access after a
// resize made a view of the whole map, and one past 64 MiB started a collection: 12 full
// collections here, 0 in the control.
const resizeLoop = (touch) => `
const before = process.memoryUsage().external;
let peak = 0;
for (let s = 0; s < 10; s++) {
  let size = 4096;
  const m = new MMap(-1, size, { flags: MAP_PRIVATE });
  while (size < 2 ** 30) {
    size *= 2;
    m.resize(size);
    if (${touch}) {
      m.set(size - 1, s + 1);
      if (m.get(size - 1) !== s + 1 || m.get(0) !== 0) throw new Error("wrong byte");
      if (m.slice(size - 2, size)[1] !== s + 1) throw new Error("wrong slice");
    }
    peak = Math.max(peak, process.memoryUsage().external - before);
  }
  m.close();
}
console.log(JSON.stringify({ peak }));
`;

test("resizing a map 4 KiB -> 1 GiB and touching it after each resize starts no full collection", { skip: WINDOWS && "1 GiB maps: POSIX runs" }, () => {
  const touched = traced(resizeLoop(true));
  const control = traced(resizeLoop(false));
  // V8 collects in the control only on its own schedule (startup, a task): none here.
  assert.ok(
    touched.fullGCs.length <= control.fullGCs.length + 1,
    `full collections: ${touched.fullGCs.length} with accesses, ${control.fullGCs.length} without:\n${touched.fullGCs.join("\n")}`,
  );
  // What V8 counts as external memory never grew by the map's size.
  assert.ok(touched.out.peak < 16 * MiB, `external memory grew by ${touched.out.peak} bytes`);
});

test("map + touch + close, 3,000 times: the external memory V8 counts goes back, never below where it was", () => {
  const { fullGCs, out } = traced(`
globalThis.gc();
const before = process.memoryUsage().external;
let low = Infinity, peak = 0;
for (let i = 0; i < 3000; i++) {
  const m = new MMap(-1, ${4 * MiB});
  m.set(i % ${4 * MiB}, 1);
  if (i % 3 === 0 && ${VIEWS}) m.buffer[0] = 2;
  m.close();
  const e = process.memoryUsage().external;
  low = Math.min(low, e); peak = Math.max(peak, e - before);
}
await new Promise((resolve) => setTimeout(resolve, 50)); // finalizers
globalThis.gc();
await new Promise((resolve) => setTimeout(resolve, 50));
const after = process.memoryUsage().external;
console.log(JSON.stringify({ before, low, peak, after }));
`);
  assert.ok(out.low > 0, `external memory went to ${out.low}`);
  assert.ok(out.peak <= 8 * MiB, `external memory grew by ${out.peak} bytes`);
  assert.ok(Math.abs(out.after - out.before) < 2 * MiB, `external memory ${out.before} -> ${out.after}`);
  assert.ok(fullGCs.length <= 2, fullGCs.join("\n"));
});

test("a large map is read and written right through single native calls, then through its view, with loss reported on both paths", { skip: WINDOWS && "truncating a mapped file: POSIX" }, () => {
  const dir = tmpdir();
  const p = path.join(dir, "big.bin");
  const size = 24 * MiB;
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) data.write(`line ${i}\n`, i, "latin1");
  fs.writeFileSync(p, data);
  const m = MMap.open(p);
  try {
    // The first accesses (the view deferred) and many more (the view made): the same answers.
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 40; k++) {
        const at = (k * 7919 * 4096) % size;
        assert.equal(m.get(at), data[at]);
        m.set(at + 100, k);
        assert.equal(m.get(at + 100), k);
        assert.deepEqual(m.slice(at, at + 10), data.subarray(at, at + 10));
      }
      m.seek(4096 * 3);
      assert.equal(m.readline().toString("latin1"), `line ${4096 * 3}\n`);
      assert.equal(m.find("line 8192\n", 0), 8192);
      assert.equal(m.search(/line 12288/, 0)?.index, 12288);
      const pos = m.tell();
      m.write(`xyz${round}`);
      m.seek(pos);
      assert.equal(m.read(4).toString(), `xyz${round}`);
    }
  } finally {
    m.close();
  }
  // Loss through the deferred path: a file that shrank under a fresh map.
  const m2 = MMap.open(p);
  try {
    fs.truncateSync(p, 8 * MiB);
    throwsCode(() => m2.get(16 * MiB), Error, "ERR_MMAP_TRUNCATED");
    assert.equal(m2.get(0), data[0]);
  } finally {
    m2.close();
  }
});

test("a small and a 64 MiB map: the same bytes before their views are made (native calls) and after (the fast path)", () => {
  const m = new MMap(-1, 4096);
  try {
    for (let i = 0; i < 20; i++) m.set(5 + i, 9 + i);
    for (let i = 0; i < 20; i++) assert.equal(m.get(5 + i), 9 + i);
    if (VIEWS) assert.equal(m.buffer[5], 9);
  } finally {
    m.close();
  }
  const big = new MMap(-1, 64 * MiB, { flags: MAP_PRIVATE });
  try {
    for (let i = 0; i < 200; i++) big.set(i * 4096, i & 255);
    for (let i = 0; i < 200; i++) assert.equal(big.get(i * 4096), i & 255);
  } finally {
    big.close();
  }
});

// Sparse reads of a map over 64 MiB (the bench's cold rows: a few thousand random 4 KiB reads):
// memmap's own view of it would start a full collection, which the reads cannot pay back, so they
// go through native calls; a map used in earnest gets its view all the same (the jump in what V8
// counts as external memory shows it), and the answers are the same on both sides.
test("2,000 random 4 KiB reads of a 1 GiB map start no full collection; 20,000 more accesses make the view", { skip: WINDOWS && "1 GiB maps: POSIX runs" }, () => {
  const dir = tmpdir("memmap-gc-");
  const p = path.join(dir, "sparse.bin");
  const fd = fs.openSync(p, "w");
  fs.ftruncateSync(fd, 1024 * MiB);
  for (let k = 0; k < 64; k++) fs.writeSync(fd, `page ${k}\n`, k * 16 * MiB);
  fs.closeSync(fd);
  const reads = (touch) => `
const m = MMap.open(${JSON.stringify(p)}, { access: 1 });
const before = process.memoryUsage().external;
let x = 0, bad = 0;
for (let k = 0; k < 2000; k++) {
  const pos = ((k * 2654435761) % 65536) * 16384;
  if (${touch}) { const b = m.slice(pos, pos + 4096); x += b[0]; if (pos % (16 * 1024 * 1024) === 0 && b.toString("latin1", 0, 5) !== "page ") bad++; }
}
console.log("END OF THE SPARSE READS");
const sparse = process.memoryUsage().external - before;
for (let k = 0; k < 20000; k++) {
  const at = (k % 64) * 16 * 1024 * 1024;
  if (${touch} && m.get(at) !== 0x70) bad++;
}
m.seek(5 * 16 * 1024 * 1024);
if (${touch} && m.readline().toString() !== "page 5\\n") bad++;
const used = process.memoryUsage().external - before;
m.close();
console.log(JSON.stringify({ sparse, used, bad }));
`;
  const gcsBefore = (r) => r.fullGCs.filter((l) => r.order.indexOf(l) < r.order.indexOf("END OF THE SPARSE READS")).length;
  const run = (touch) => {
    const file = path.join(dir, `child-${touch}.mjs`);
    fs.writeFileSync(file, `import { MMap } from ${JSON.stringify(dist)};\n${reads(touch)}\n`);
    const r = runNode(["--trace-gc", file]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const order = r.stdout.split("\n");
    const fullGCs = order.filter((l) => /Mark-Compact|Mark-sweep/.test(l));
    return { order, fullGCs, out: JSON.parse(order.find((l) => l.startsWith("{")) ?? "null") };
  };
  const touched = run(true);
  const control = run(false);
  assert.equal(touched.out.bad, 0);
  assert.ok(gcsBefore(touched) <= gcsBefore(control), `full collections during the sparse reads: ${touched.fullGCs.join("\n")}`);
  assert.ok(touched.out.sparse < 16 * MiB, `external memory grew by ${touched.out.sparse} bytes over the sparse reads`);
  if (VIEWS) assert.ok(touched.out.used >= 1024 * MiB, `the view was not made: external memory grew by ${touched.out.used} bytes`);
});

// Maps of 32 MiB up to V8's external-memory step: a view of 64 MiB started a full collection as
// it was made (after 32 random 4 KiB reads, every run), which a few hundred reads cannot pay
// back; such maps wait for their view as those over 64 MiB do, and get it when used in earnest.
for (const mib of [32, 64]) {
  test(`300 random 4 KiB reads of a ${mib} MiB map start no full collection; 20,000 more accesses make the view`, () => {
    const body = (touch) => `
const m = new MMap(-1, ${mib * MiB}, { flags: MAP_PRIVATE });
for (let k = 0; k < 64; k++) m.set(k * ${(mib / 64) * MiB}, 0x70);
globalThis.gc();
const before = process.memoryUsage().external;
let bad = 0;
for (let k = 0; k < 300; k++) {
  const pos = ((k * 2654435761) % ${mib * 256}) * 4096;
  if (${touch}) { const b = m.slice(pos, pos + 4096); if (b.length !== 4096 || b[0] !== (pos % ${(mib / 64) * MiB} === 0 ? 0x70 : 0)) bad++; }
}
console.log("END OF THE SPARSE READS");
const sparse = process.memoryUsage().external - before;
for (let k = 0; k < 20000; k++) if (${touch} && m.get((k % 64) * ${(mib / 64) * MiB}) !== 0x70) bad++;
const used = process.memoryUsage().external - before;
m.close();
console.log(JSON.stringify({ sparse, used, bad }));
`;
    const run = (touch) => {
      const r = traced(body(touch));
      const order = r.lines;
      const end = order.indexOf("END OF THE SPARSE READS");
      return { ...r, sparseGCs: r.fullGCs.filter((l) => order.indexOf(l) < end) };
    };
    const touched = run(true);
    const control = run(false);
    assert.equal(touched.out.bad, 0);
    assert.ok(touched.sparseGCs.length <= control.sparseGCs.length, `full collections during the sparse reads:\n${touched.sparseGCs.join("\n")}`);
    assert.ok(touched.out.sparse < 8 * MiB, `external memory grew by ${touched.out.sparse} bytes over the sparse reads`);
    // The view adds the map's length; the collector may free a few MiB meanwhile.
    if (VIEWS) assert.ok(touched.out.used >= (mib - 8) * MiB, `the view was not made: external memory grew by ${touched.out.used} bytes`);
  });
}

// readline over a large map: the first lines go through native calls (a program reading a header
// makes no view, and so no collection), and a program reading on gets the view after a few
// hundred lines (not thousands: lines read natively put off the optimization of the fast path).
test("readline over a 64 MiB map: 150 lines make no view; a few hundred more make it, with the same lines on both sides", () => {
  const { out } = traced(`
const line = (k) => "line " + String(k).padStart(6, "0") + " " + "x".repeat(k % 50) + "\\n";
let text = "";
for (let k = 0; text.length < 2 * 1024 * 1024; k++) text += line(k);
const m = new MMap(-1, ${64 * MiB}, { flags: MAP_PRIVATE });
m.write(Buffer.from(text, "latin1"));
m.seek(0);
globalThis.gc();
const before = process.memoryUsage().external;
let bad = 0;
for (let k = 0; k < 150; k++) if (m.readline().toString("latin1") !== line(k)) bad++;
const header = process.memoryUsage().external - before;
for (let k = 150; k < 2000; k++) if (m.readline().toString("latin1") !== line(k)) bad++;
const read = process.memoryUsage().external - before;
m.close();
console.log(JSON.stringify({ header, read, bad }));
`);
  assert.equal(out.bad, 0);
  assert.ok(out.header < 8 * MiB, `150 lines grew external memory by ${out.header} bytes: a view was made`);
  // The view adds 64 MiB; the collector may free a few MiB meanwhile (the text's Buffer).
  if (VIEWS) assert.ok(out.read >= 48 * MiB, `2,000 lines made no view: external memory grew by ${out.read} bytes`);
});

test("resize() of anonymous memory while a job uses it: ERR_MMAP_BUSY from the addon's refusal, nothing changed", async () => {
  const m = new MMap(-1, 4096, { flags: MAP_PRIVATE });
  try {
    m.set(0, 7);
    const p = m.waitAsync(0, 7, 100);
    throwsCode(() => m.resize(8192), Error, "ERR_MMAP_BUSY");
    assert.equal(m.length, 4096);
    assert.equal(m.get(0), 7);
    assert.equal(await p, "timed-out");
    m.resize(8192);
    assert.equal(m.length, 8192);
    assert.equal(m.get(0), 7);
  } finally {
    m.close();
  }
});
