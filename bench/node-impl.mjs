// Node side of the benchmark suite: memmap, and what a Node user does without mmap (fs).
//
//   node bench/node-impl.mjs '<json>'
//   bun bench/node-impl.mjs '<json>'  /  deno run --allow-all bench/node-impl.mjs '<json>'
//
// (bench/run.mjs --runtime=bun|deno: it uses only what the three runtimes share: process.cpuUsage,
// process.hrtime.bigint, Buffer, node:fs, node:child_process.)
//
// The JSON holds { impl: "memmap" | "fs", workload, reps, warmup, params }. Prints
// { times: [wall ns per rep], cpu: [CPU ns per rep], check } on stdout (and ops, partial: see
// main below), or { na } when memmap cannot run the workload. Each workload does the same
// operations, in the same number, as bench/py_impl.py (CPython) and bench/baseline.c (C);
// only the operation loop is timed. Run it under `node --cpu-prof` to profile one workload (bench/run.mjs
// --profile does that).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { MMap, ACCESS_READ, ACCESS_WRITE, MAP_PRIVATE, MADV_RANDOM } from "../dist/index.js";

// bench/run.mjs --detached: the state of a program that has detached an ArrayBuffer (closed or
// resized a map with views, transferred a buffer): V8 has given up its assumption that none ever
// is, and checks for it at every typed-array access from then on, in every function it compiles.
if (process.env.MEMMAP_BENCH_DETACHED === "1") {
  const ab = new ArrayBuffer(8);
  structuredClone(ab, { transfer: [ab] });
  if (ab.byteLength !== 0) throw new Error("MEMMAP_BENCH_DETACHED: the ArrayBuffer was not detached");
}

// A timed region: const t0 = now(); ...; since(t0) returns the wall time in ns and adds the
// process's CPU time to cpuSpent (a second clock, which a busy machine disturbs less:
// bench/run.mjs --clock). elapsed(t0): the wall time so far, for time budgets.
let cpuSpent = 0;
const cpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};
const now = () => ({ wall: process.hrtime.bigint(), cpu: cpuNs() });
const since = (t0) => {
  cpuSpent += cpuNs() - t0.cpu;
  return Number(process.hrtime.bigint() - t0.wall);
};
const elapsed = (t0) => process.hrtime.bigint() - t0.wall;

function loadIdx(path, count) {
  const b = fs.readFileSync(path);
  if (b.length < count * 4) throw new Error(`index file ${path} is short`);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = b.readUInt32LE(i * 4);
  return out;
}

function chunkOf(n) {
  const c = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) c[i] = 97 + (i % 26);
  return c;
}

/** posix_fadvise(DONTNEED) through the C helper (Node has no fadvise). */
function evict(p) {
  const r = spawnSync(p.baseline, ["evict", p.file], { stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error("evict failed");
}

const openRead = (p) => MMap.open(p.file, { access: ACCESS_READ, length: p.size });

/** What a workload's setup returns when memmap cannot run it: printed as n/a. */
class NotAvailable {
  constructor(why) {
    this.why = why;
  }
}

/** `passes` searches of the whole map, from 0 (find) or to the end (rfind). */
function searches(p, backward) {
  const m = openRead(p);
  const needle = Buffer.from(p.needle, "latin1");
  const passes = p.passes ?? 1;
  return [
    () => {
      let r = -1;
      const t0 = now();
      for (let k = 0; k < passes; k++) r = backward ? m.rfind(needle, 0) : m.find(needle, 0);
      return [since(t0), r];
    },
    () => m.close(),
  ];
}

/** Every line, `passes` times; check: lines per pass. */
function everyLine(p) {
  const m = openRead(p);
  const passes = p.passes ?? 1;
  return [
    () => {
      let n = 0;
      const t0 = now();
      for (let k = 0; k < passes; k++) {
        m.seek(0);
        for (;;) {
          const line = m.readline();
          if (line.length === 0) break;
          n++;
        }
      }
      return [since(t0), n / passes];
    },
    () => m.close(),
  ];
}

/** m.lines() (SPEC §8), `passes` times (n/a for a build of memmap without lines()). */
function lineViews(p) {
  const m = openRead(p);
  if (typeof m.lines !== "function") {
    m.close();
    return new NotAvailable("not implemented");
  }
  const passes = p.passes ?? 1;
  return [
    () => {
      let n = 0;
      const t0 = now();
      for (let k = 0; k < passes; k++) for (const line of m.lines()) if (line.length > 0) n++;
      return [since(t0), n / passes];
    },
    () => m.close(),
  ];
}

/** A search loop that may not finish: runs until done or `budgetMs`, then extrapolates. */
function budgeted(budgetMs, size, step) {
  const budget = BigInt(Math.round(budgetMs * 1e6));
  const t0 = now();
  let state = { pos: 0, count: 0, done: false };
  while (!state.done) {
    state = step(state);
    if (!state.done && elapsed(t0) > budget) {
      const t = since(t0);
      const covered = state.pos / size;
      const partial = `${(covered * 100).toFixed(covered < 0.1 ? 2 : 1)}% of the map (${state.count} matches) in ${(t / 1e9).toFixed(1)} s`;
      return [Math.round(t / covered), state.count, { partial, scale: 1 / covered }];
    }
  }
  return [since(t0), state.count];
}

// Each entry: (params) => [rep, teardown] or a NotAvailable; rep() => [ns, check, extra?],
// extra: { ops } when the repetition did a number of operations other than the workload's,
// { partial } when its time is extrapolated from part of the work.
const memmap = {
  find8: (p) => searches(p, false),
  find1: (p) => searches(p, false),
  rfind8: (p) => searches(p, true),
  find8c: (p) => searches(p, false),
  rfind8c: (p) => searches(p, true),
  readline: everyLine,
  readline4m: everyLine,
  lines: lineViews,
  lines4m: lineViews,
  readlineOnce: everyLine,
  linesOnce: lineViews,
  seekread(p) {
    const m = openRead(p);
    const idx = loadIdx(p.idx, p.count);
    return [
      () => {
        let s = 0;
        const t0 = now();
        for (let k = 0; k < idx.length; k++) {
          m.seek(idx[k]);
          s += m.read(64)[0];
        }
        return [since(t0), s];
      },
      () => m.close(),
    ];
  },
  slice(p) {
    const m = openRead(p);
    const idx = loadIdx(p.idx, p.count);
    return [
      () => {
        let s = 0;
        const t0 = now();
        for (let k = 0; k < idx.length; k++) {
          const pos = idx[k];
          s += m.slice(pos, pos + 64)[0];
        }
        return [since(t0), s];
      },
      () => m.close(),
    ];
  },
  get(p) {
    const m = openRead(p);
    const idx = loadIdx(p.idx, p.count);
    return [
      () => {
        let s = 0;
        const t0 = now();
        for (let k = 0; k < idx.length; k++) s += m.get(idx[k]);
        return [since(t0), s];
      },
      () => m.close(),
    ];
  },
  readbyte(p) {
    const m = openRead(p);
    const n = p.size;
    return [
      () => {
        m.seek(0);
        let s = 0;
        const t0 = now();
        for (let i = 0; i < n; i++) s += m.readByte();
        return [since(t0), s];
      },
      () => m.close(),
    ];
  },
  writebyte(p) {
    const m = MMap.open(p.file, { length: p.size });
    const n = p.size;
    return [
      () => {
        m.seek(0);
        const t0 = now();
        for (let i = 0; i < n; i++) m.writeByte(i & 255);
        return [since(t0), n];
      },
      () => m.close(),
    ];
  },
  write(p) {
    const chunk = chunkOf(p.chunk);
    const count = Math.floor(p.size / p.chunk);
    return [
      () => {
        const fd = fs.openSync(p.file, "w+");
        fs.ftruncateSync(fd, p.size);
        const m = new MMap(fd, p.size, { access: ACCESS_WRITE });
        fs.closeSync(fd);
        const t0 = now();
        for (let k = 0; k < count; k++) m.write(chunk);
        m.flush();
        const t = since(t0);
        m.close();
        return [t, p.size];
      },
      null,
    ];
  },
  mapfile(p) {
    const fd = fs.openSync(p.file, "r+");
    const count = p.count;
    return [
      () => {
        const t0 = now();
        for (let k = 0; k < count; k++) new MMap(fd, 0).close();
        return [since(t0), count];
      },
      () => fs.closeSync(fd),
    ];
  },
  mapanon(p) {
    const { count, size } = p;
    return [
      () => {
        const t0 = now();
        for (let k = 0; k < count; k++) new MMap(-1, size).close();
        return [since(t0), count];
      },
      null,
    ];
  },
  resizefile(p) {
    return resize(p, true);
  },
  resizeanon(p) {
    return resize(p, false);
  },
  seekread4m: (p) => memmap.seekread(p),
  slice4m: (p) => memmap.slice(p),
  move(p) {
    const { size, count } = p;
    const m = new MMap(-1, 2 * size, { flags: MAP_PRIVATE });
    // Filled through setSlice, which also works where views are refused (MEMMAP_NO_EXTERNAL_BUFFERS=1).
    m.setSlice(0, size, Buffer.alloc(size, 1));
    m.setSlice(size, 2 * size, Buffer.alloc(size, 2));
    return [
      () => {
        const t0 = now();
        for (let k = 0; k < count; k++) {
          if (k % 2 === 0) m.move(size, 0, size);
          else m.move(0, size, size);
        }
        return [since(t0), m.get(0) + m.get(size)];
      },
      () => m.close(),
    ];
  },
  reEarly(p) {
    const m = openRead(p);
    const rx = new RegExp(p.pattern);
    const budget = BigInt(Math.round(p.budgetMs * 1e6));
    return [
      () => {
        let r = null;
        let k = 0;
        const t0 = now();
        while (k < p.count) {
          r = m.search(rx);
          k++;
          if (elapsed(t0) > budget) break;
        }
        return [since(t0), r === null ? -1 : r.index, { ops: k }];
      },
      () => m.close(),
    ];
  },
  reLiteral(p) {
    const m = openRead(p);
    const rx = new RegExp(p.pattern);
    return [
      () => {
        const t0 = now();
        const r = m.search(rx);
        return [since(t0), r === null ? -1 : r.index];
      },
      () => m.close(),
    ];
  },
  reClass: (p) => memmap.reLiteral(p),
  reMatchAll(p) {
    const m = openRead(p);
    const rx = new RegExp(p.pattern, "g");
    return [
      () => {
        let n = 0;
        const t0 = now();
        for (const _ of m.matchAll(rx)) n++;
        return [since(t0), n];
      },
      () => m.close(),
    ];
  },
  // search(re, pos) from the end of each match: what a user writes to visit every match
  reLoop(p) {
    const m = openRead(p);
    const rx = new RegExp(p.pattern);
    return [
      () =>
        budgeted(p.budgetMs, p.size, ({ pos, count }) => {
          const r = m.search(rx, pos);
          if (r === null) return { pos: p.size, count, done: true };
          return { pos: r.end, count: count + 1, done: false };
        }),
      () => m.close(),
    ];
  },
  reLoopBig: (p) => memmap.reLoop(p),
  cold(p) {
    return cold(p, false);
  },
  coldrandom(p) {
    return cold(p, true);
  },
};

function resize(p, file) {
  const { target, seqs } = p;
  return [
    () => {
      let total = 0;
      let size = 0;
      for (let s = 0; s < seqs; s++) {
        size = 4096;
        let m;
        if (file) {
          const fd = fs.openSync(p.file, "w+");
          fs.ftruncateSync(fd, size);
          m = new MMap(fd, size);
          fs.closeSync(fd);
        } else {
          m = new MMap(-1, size, { flags: MAP_PRIVATE });
        }
        const t0 = now();
        while (size < target) {
          size *= 2;
          m.resize(size);
          if (p.touch) m.set(size - 1, 1); // the next access, as a user makes one
        }
        total += since(t0);
        m.close();
      }
      return [total, size];
    },
    null,
  ];
}

function cold(p, advise) {
  const idx = loadIdx(p.idx, p.count);
  return [
    () => {
      evict(p);
      const m = MMap.open(p.file, { access: ACCESS_READ, length: p.size });
      if (advise) m.madvise(MADV_RANDOM);
      let s = 0;
      const t0 = now();
      for (let k = 0; k < idx.length; k++) {
        const pos = idx[k];
        s += m.slice(pos, pos + 4096)[0];
      }
      const t = since(t0);
      m.close();
      return [t, s];
    },
    null,
  ];
}

// ------------------------------------------------------------------------------------ fs

const CHUNK = 1 << 20;

function fsRead(p, body) {
  const fd = fs.openSync(p.file, "r");
  return [() => body(fd), () => fs.closeSync(fd)];
}

function fsFind(fd, size, needle) {
  const nl = needle.length;
  const buf = Buffer.allocUnsafe(CHUNK + nl - 1);
  for (let pos = 0; pos < size; ) {
    const want = Math.min(buf.length, size - pos);
    const got = fs.readSync(fd, buf, 0, want, pos);
    const i = buf.subarray(0, got).indexOf(needle);
    if (i >= 0) return pos + i;
    if (pos + got >= size) break;
    pos += got - (nl - 1);
  }
  return -1;
}

function fsRfind(fd, size, needle) {
  const nl = needle.length;
  const buf = Buffer.allocUnsafe(CHUNK + nl - 1);
  for (let end = size; end >= nl; ) {
    const start = Math.max(0, end - buf.length);
    const got = fs.readSync(fd, buf, 0, end - start, start);
    const i = buf.subarray(0, got).lastIndexOf(needle);
    if (i >= 0) return start + i;
    if (start === 0) break;
    end = start + nl - 1;
  }
  return -1;
}

const fsImpl = {
  find8(p) {
    const needle = Buffer.from(p.needle, "latin1");
    return fsRead(p, (fd) => { const t0 = now(); const r = fsFind(fd, p.size, needle); return [since(t0), r]; });
  },
  find1(p) {
    return fsImpl.find8(p);
  },
  rfind8(p) {
    const needle = Buffer.from(p.needle, "latin1");
    return fsRead(p, (fd) => { const t0 = now(); const r = fsRfind(fd, p.size, needle); return [since(t0), r]; });
  },
  // Lines as Buffers: subarrays of a 1 MiB chunk, copies only for lines straddling two chunks.
  readline(p) {
    const buf = Buffer.allocUnsafe(CHUNK);
    return fsRead(p, (fd) => {
      let n = 0;
      let carry = null;
      const t0 = now();
      for (let pos = 0; pos < p.size; ) {
        const got = fs.readSync(fd, buf, 0, Math.min(CHUNK, p.size - pos), pos);
        pos += got;
        const view = buf.subarray(0, got);
        let s = 0;
        for (;;) {
          const nl = view.indexOf(10, s);
          if (nl < 0) break;
          let line = view.subarray(s, nl + 1);
          if (carry !== null) {
            line = Buffer.concat([carry, line]);
            carry = null;
          }
          if (line.length > 0) n++;
          s = nl + 1;
        }
        if (s < got) carry = carry === null ? Buffer.from(view.subarray(s)) : Buffer.concat([carry, view.subarray(s)]);
      }
      if (carry !== null) n++;
      return [since(t0), n];
    });
  },
  seekread(p) {
    const idx = loadIdx(p.idx, p.count);
    const b = Buffer.allocUnsafe(64);
    return fsRead(p, (fd) => {
      let s = 0;
      const t0 = now();
      for (let k = 0; k < idx.length; k++) {
        fs.readSync(fd, b, 0, 64, idx[k]);
        s += b[0];
      }
      return [since(t0), s];
    });
  },
  slice(p) {
    return fsImpl.seekread(p);
  },
  get(p) {
    const idx = loadIdx(p.idx, p.count);
    const b = Buffer.allocUnsafe(1);
    return fsRead(p, (fd) => {
      let s = 0;
      const t0 = now();
      for (let k = 0; k < idx.length; k++) {
        fs.readSync(fd, b, 0, 1, idx[k]);
        s += b[0];
      }
      return [since(t0), s];
    });
  },
  // Sequential bytes: buffered 64 KiB reads, then a loop over the buffer.
  readbyte(p) {
    const buf = Buffer.allocUnsafe(1 << 16);
    return fsRead(p, (fd) => {
      let s = 0;
      const t0 = now();
      for (let pos = 0; pos < p.size; ) {
        const got = fs.readSync(fd, buf, 0, Math.min(buf.length, p.size - pos), pos);
        for (let i = 0; i < got; i++) s += buf[i];
        pos += got;
      }
      return [since(t0), s];
    });
  },
  writebyte(p) {
    const buf = Buffer.allocUnsafe(1 << 16);
    const fd = fs.openSync(p.file, "r+");
    return [
      () => {
        const n = p.size;
        let used = 0;
        let pos = 0;
        const t0 = now();
        for (let i = 0; i < n; i++) {
          buf[used++] = i & 255;
          if (used === buf.length) {
            fs.writeSync(fd, buf, 0, used, pos);
            pos += used;
            used = 0;
          }
        }
        if (used > 0) fs.writeSync(fd, buf, 0, used, pos);
        return [since(t0), n];
      },
      () => fs.closeSync(fd),
    ];
  },
  write(p) {
    const chunk = chunkOf(p.chunk);
    const count = Math.floor(p.size / p.chunk);
    return [
      () => {
        const fd = fs.openSync(p.file, "w+");
        fs.ftruncateSync(fd, p.size);
        const t0 = now();
        for (let k = 0; k < count; k++) fs.writeSync(fd, chunk);
        fs.fdatasyncSync(fd);
        const t = since(t0);
        fs.closeSync(fd);
        return [t, p.size];
      },
      null,
    ];
  },
  // No map to make: reading the 4 KiB file's contents is what fs does instead.
  mapfile(p) {
    const b = Buffer.allocUnsafe(4096);
    const fd = fs.openSync(p.file, "r");
    return [
      () => {
        const t0 = now();
        for (let k = 0; k < p.count; k++) fs.readSync(fd, b, 0, 4096, 0);
        return [since(t0), p.count];
      },
      () => fs.closeSync(fd),
    ];
  },
  cold(p) {
    const idx = loadIdx(p.idx, p.count);
    const b = Buffer.allocUnsafe(4096);
    return [
      () => {
        evict(p);
        const fd = fs.openSync(p.file, "r");
        let s = 0;
        const t0 = now();
        for (let k = 0; k < idx.length; k++) {
          fs.readSync(fd, b, 0, 4096, idx[k]);
          s += b[0];
        }
        const t = since(t0);
        fs.closeSync(fd);
        return [t, s];
      },
      null,
    ];
  },
  coldrandom(p) {
    return fsImpl.cold(p);
  },
};

// -------------------------------------------------------------------------------- floors

/** Floors (docs/performance.md): the cost of the pieces every operation is made of. */
async function floorImpl(name, p) {
  const count = p.count;
  if (name === "alloc" || name === "alloccopy") {
    const slab = new ArrayBuffer(64 * 1024);
    const src = new Uint8Array(64).fill(7);
    return [
      () => {
        let s = 0;
        let off = 0;
        const t0 = now();
        for (let k = 0; k < count; k++) {
          const b = new Uint8Array(slab, off, 64);
          if (name === "alloccopy") b.set(src);
          s += b.length;
          off = (off + 64) & 0xffff;
        }
        return [since(t0), s];
      },
      null,
    ];
  }
  if (name === "randcopy") {
    // The cached seek + read(64) and slice rows without memmap: their random offsets into a plain
    // 4 MiB ArrayBuffer, one object over a slab and 64 bytes copied by 16 word loads and stores
    // (memmap's copy, without its checks). Measured 90-205 ns a copy where "alloccopy" (the same
    // object and 64 bytes from one place) took 25-30: at these offsets the memory, not the work,
    // sets most of the cost (docs/performance.md, "Ninth session").
    const src = new ArrayBuffer(p.size);
    const fd = fs.openSync(p.file, "r");
    fs.readSync(fd, new Uint8Array(src), 0, p.size, 0);
    fs.closeSync(fd);
    const dv = new DataView(src);
    const idx = loadIdx(p.idx, count);
    const slab = new ArrayBuffer(64 * 1024);
    const words = new Uint32Array(slab);
    return [
      () => {
        let s = 0;
        let off = 0;
        const t0 = now();
        for (let k = 0; k < count; k++) {
          const at = idx[k];
          for (let i = 0, j = off >> 2; i < 64; i += 4, j++) words[j] = dv.getUint32(at + i, true);
          const b = new Uint8Array(slab, off, 64);
          s += b[0];
          off = (off + 64) & 0xffff;
        }
        return [since(t0), s];
      },
      null,
    ];
  }
  if (name === "napi") {
    let native;
    try {
      ({ native } = await import("../dist/binding.js"));
    } catch {
      return new NotAvailable("dist/binding.js has no native export");
    }
    if (typeof native?.live !== "function") return new NotAvailable("no native.live");
    // live(null): argument parsing, one type check, an integer returned: a call and no work
    return [
      () => {
        let s = 0;
        const t0 = now();
        for (let k = 0; k < count; k++) s += native.live(null);
        return [since(t0), s];
      },
      null,
    ];
  }
  if (name === "indexof") {
    const buf = fs.readFileSync(p.file).subarray(0, p.size);
    const starts = [];
    for (let i = 0; i < buf.length && starts.length < 4096; ) {
      starts.push(i);
      i = buf.indexOf(10, i) + 1;
      if (i === 0) break;
    }
    return [
      () => {
        let s = 0;
        const t0 = now();
        for (let k = 0; k < count; k++) s += buf.indexOf(10, starts[k & 4095]);
        return [since(t0), s];
      },
      null,
    ];
  }
  throw new Error(`no floor ${name}`);
}

// ---------------------------------------------------------------------------------- main

const cfg = JSON.parse(process.argv[2]);
/** How long the event loop idles between the untimed runs and the timed ones (MEMMAP_BENCH_SETTLE_MS). */
const SETTLE_MS = +(process.env.MEMMAP_BENCH_SETTLE_MS ?? 150);
let setup;
if (cfg.workload.startsWith("floor-")) setup = (p) => floorImpl(cfg.workload.slice(6), p);
else {
  const table = cfg.impl === "memmap" ? memmap : cfg.impl === "fs" ? fsImpl : null;
  setup = table?.[cfg.workload];
}
if (setup === undefined) throw new Error(`no ${cfg.impl} implementation of ${cfg.workload}`);
const made = await setup(cfg.params);
if (made instanceof NotAvailable) {
  process.stdout.write(JSON.stringify({ na: made.why }) + "\n");
  process.exit(0);
}
const [rep, teardown] = made;
for (let i = 0; i < (cfg.warmup ?? 1); i++) rep();
// For the rows that ask for it (`settle`), the event loop then idles a moment: V8 compiles hot
// functions on a background thread, and the last ones queued during the warm-up (the map's
// plan, 9 ms of CPU) would otherwise finish, and be counted by the CPU clock, inside the first
// timed run. Quick sizes finish their warm-up in ~100 ms, before the compiler thread has caught
// up: the first timed run of the quick resize row took 6.8 ms of CPU against 1.5 ms for the next
// ones. One more untimed run follows: the first run after the idle moment was itself slower for
// allocation-heavy loops (readline over 4 MiB: 65–93 ms of CPU against 54), the heap having been
// shrunk meanwhile; other rows do not idle at all (readline was ~5 % slower with it).
if (cfg.settle && (cfg.warmup ?? 1) > 0 && SETTLE_MS > 0) {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  rep();
}
const out = { times: [], cpu: [], check: null };
for (let i = 0; i < cfg.reps; i++) {
  cpuSpent = 0;
  const [t, c, extra] = rep();
  out.times.push(t);
  out.cpu.push(Math.round(cpuSpent * (extra?.scale ?? 1)));
  out.check = c;
  if (extra?.ops !== undefined) (out.ops ??= []).push(extra.ops);
  if (extra?.partial !== undefined) {
    (out.partial ??= []).push(extra.partial);
    break; // a run that hit its time budget: more of them would only repeat it
  }
}
teardown?.();
process.stdout.write(JSON.stringify(out) + "\n");
