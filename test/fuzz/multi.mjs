#!/usr/bin/env node
// Differential fuzzing of memmap against CPython 3.13 with several maps of one file at once,
// and the file itself.
//
//   node test/fuzz/multi.mjs --seed 7 --programs 300
//
// A seeded generator writes programs: one file (a few bytes to four pages), two or three map
// "slots" of it (shared ACCESS_DEFAULT/ACCESS_WRITE, ACCESS_READ, ACCESS_COPY, MAP_PRIVATE,
// PROT_READ; offsets that are multiples of ALLOCATIONGRANULARITY; whole-file or partial
// lengths), and a sequence of operations on one slot (every method, with valid-looking
// arguments around the map's length and position; `open` maps the slot again) or on the file
// through the descriptor the maps were made from (pwrite, write at the descriptor's offset,
// ftruncate to around a map's end, read back, fstat). Each program runs in CPython
// (multi_driver.py) and in memmap; after every operation the result, the file's size and, per
// slot, closed/position/length and the MD5 of the bytes still backed by the file are compared,
// and the file at the end.
//
// A call that would touch a page past the end of a shrunk file kills CPython (SIGBUS): the
// driver runs it in a forked child first, and when the child dies the result is
// {skip: "sigbus"}; memmap must throw ERR_MMAP_TRUNCATED there (docs/safety.md), and both sides
// close that map (a map whose tail was lost stays lost: a documented limit). resize(0) is not
// run in CPython (docs/python.md: memmap refuses it before anything happens).
//
// Options: --seed N, --programs P (default 200), --max-ops K (default 40), --reports R
// (mismatches to shrink and print, default 3), --tmpdir DIR, --json. Exit 0 when all matched,
// 1 otherwise.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { MMap, PAGESIZE, ACCESS_DEFAULT, ACCESS_READ, ACCESS_WRITE, ACCESS_COPY, MAP_PRIVATE, PROT_READ, MADV_DONTNEED, MADV_WILLNEED, MADV_REMOVE, MADV_NORMAL } from "../../dist/index.js";
// What this fuzzer shares with the single-map one.
import {
  rng,
  expectedError,
  content,
  pattern,
  pySliceCount,
  md5,
  jsErr,
  outValue,
  runDriver,
  shrinker,
  jsBytes,
  pyBytes,
  JS_PRELUDE,
  PY_SHOW,
  inTempDir,
  mismatchSummary,
} from "./engine.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const DRIVER = path.join(HERE, "multi_driver.py");
const PG = PAGESIZE;

// ============================================================================ generation

const bytes = (b) => ({ $: "bytes", hex: Buffer.from(b).toString("hex") });
const REGEXPS = ["ab", "a+b", "\\n", "x[^\\n]*\\n", "[ab]{3}", "\\x00\\x00", "b[^a]", "^a", "(?:ab|ba)+"];

function genMapSpec(r, flen) {
  const sp = {};
  r.weighted([
    [3, () => {}],
    [3, () => (sp.access = ACCESS_WRITE)],
    [3, () => (sp.access = ACCESS_READ)],
    [3, () => (sp.access = ACCESS_COPY)],
    [1, () => (sp.access = ACCESS_DEFAULT)],
    [2, () => (sp.flags = MAP_PRIVATE)],
    [1, () => (sp.prot = PROT_READ)],
  ]);
  if (r.chance(0.1)) sp.trackfd = false;
  // Most maps come from the program's descriptor; some from one of their own, opened for them
  // (read-only where the mode allows) and closed right after the constructor.
  const readOnly = sp.access === ACCESS_READ || sp.access === ACCESS_COPY || sp.prot === PROT_READ || sp.flags === MAP_PRIVATE;
  sp.fd = r.weighted([
    [6, "shared"],
    [2, "own"],
    [readOnly ? 2 : 0, "ro"],
  ]);
  const pages = Math.ceil(flen / PG);
  const off = r.chance(0.5) || pages <= 1 ? 0 : PG * r.range(1, pages - 1);
  if (off) sp.offset = off;
  const room = flen - off;
  sp.len = r.weighted([
    [4, 0],
    [2, room],
    [2, () => r.range(1, Math.max(1, room))],
    [1, () => Math.min(room, PG)],
    [1, () => room + r.pick([1, PG])], // too long: refused
  ]);
  return sp;
}

function I(r, L) {
  return r.weighted([
    [10, () => r.pick([0, 1, 2, 5, -1, -2])],
    [8, () => ({ $: "len", d: r.pick([-2, -1, 0, 1]) })],
    [6, () => ({ $: "pos", d: r.pick([-1, 0, 1, 3]) })],
    [10, () => r.range(0, Math.max(0, L))],
    [4, () => r.pick([PG - 1, PG, PG + 1, 2 * PG, 3 * PG])],
  ]);
}

function genData(r, L, rel) {
  return r.weighted([
    [6, () => ({ $: "sized", rel, d: r.pick([0, 0, 0, 1, -1]), seed: r.int(256) })],
    [4, () => bytes(content(r, r.range(0, 6)))],
    [1, () => bytes(content(r, r.range(PG - 2, PG + 2)))],
  ]);
}

function genNeedle(r, L) {
  const a = r.range(0, Math.max(0, L));
  return r.weighted([
    [6, () => ({ $: "needle", a, b: a + r.pick([1, 2, 3, 5]), x: r.pick(["", "", "61"]) })],
    [3, () => bytes(content(r, r.range(1, 3)))],
    [1, () => bytes([])],
  ]);
}

function genMapOp(r, L) {
  const op = r.weighted([
    [6, "get"],
    [6, "set"],
    [7, "slice"],
    [7, "setSlice"],
    [6, "read"],
    [3, "readByte"],
    [5, "readline"],
    [7, "write"],
    [3, "writeByte"],
    [8, "seek"],
    [2, "tell"],
    [5, "find"],
    [5, "rfind"],
    [4, "search"],
    [4, "move"],
    [3, "flush"],
    [7, "resize"],
    [3, "size"],
    [3, "madvise"],
    [2, "length"],
    [2, "close"],
    [3, "open"],
  ]);
  let args = [];
  const step = () => r.weighted([[5, null], [3, 1], [2, () => r.pick([2, 3, -1, -2, 7, PG + 1, -PG])]]);
  switch (op) {
    case "get":
      args = [I(r, L)];
      break;
    case "set":
      args = [I(r, L), r.int(256)];
      break;
    case "slice":
      args = [r.chance(0.2) ? null : I(r, L), r.chance(0.2) ? null : I(r, L), step()];
      break;
    case "setSlice": {
      const s = step();
      const data = r.chance(0.85) ? { $: "sized", rel: "slice", d: r.chance(0.9) ? 0 : 1, seed: r.int(256) } : genData(r, L, "slice");
      args = [r.chance(0.2) ? null : I(r, L), r.chance(0.2) ? null : I(r, L), data, s];
      break;
    }
    case "read":
      args = r.chance(0.3) ? [] : [r.weighted([[1, null], [1, -1], [6, () => r.pick([0, 1, 3, 10, PG, PG + 5])], [2, () => I(r, L)]])];
      break;
    case "write":
      args = [genData(r, L, "rest")];
      break;
    case "writeByte":
      args = [r.int(256)];
      break;
    case "seek":
      args = r.weighted([
        [5, () => [r.range(0, Math.max(0, L))]],
        [3, () => [{ $: "len", d: r.pick([-PG - 1, -PG, -5, -1, 0]) }]],
        [2, () => [r.pick([PG - 1, PG, PG + 3, 2 * PG + 1, 3 * PG - 2])]],
        [2, () => [r.range(-3, 3), 1]],
        [2, () => [-r.range(0, Math.min(L, PG + 2)), 2]],
      ]);
      break;
    case "find":
    case "rfind": {
      const n = genNeedle(r, L);
      args = r.weighted([
        [3, () => [n]],
        [3, () => [n, I(r, L)]],
        [3, () => [n, I(r, L), I(r, L)]],
      ]);
      break;
    }
    case "search": {
      const re = { $: "re", src: r.pick(REGEXPS) };
      args = r.weighted([
        [3, () => [re]],
        [3, () => [re, r.range(0, Math.max(0, L))]],
        [3, () => [re, r.range(0, Math.max(0, L >> 1)), { $: "len", d: -r.range(0, Math.min(L, 10)) }]],
      ]);
      break;
    }
    case "move":
      args = r.weighted([
        [3, () => [r.range(0, L), r.range(0, L), r.range(0, 5)]],
        [2, () => [{ $: "len", d: -r.range(1, 4) }, r.range(0, 3), r.range(0, 4)]],
        [1, () => [0, r.pick([PG, PG - 2]), r.pick([3, PG])]],
        [1, () => [0, { $: "len", d: -PG }, PG]],
      ]);
      break;
    case "flush":
      args = r.weighted([
        [3, () => []],
        [2, () => [0, { $: "len", d: 0 }]],
        [2, () => [r.pick([PG, 2 * PG]), r.pick([PG, 1, 0])]],
        [1, () => [r.pick([1, 100]), 10]],
      ]);
      break;
    case "madvise":
      args = [
        r.pick([MADV_DONTNEED, MADV_DONTNEED, MADV_WILLNEED, MADV_REMOVE, MADV_NORMAL]),
        ...r.weighted([
          [2, () => []],
          [2, () => [r.pick([0, PG, 2 * PG])]],
          [4, () => [r.pick([0, PG, 2 * PG]), r.pick([1, PG, 2 * PG, { $: "len", d: 0 }])]],
        ]),
      ];
      break;
    case "resize":
      args = [
        r.weighted([
          [5, () => ({ $: "len", d: r.pick([-1, 1, -PG, PG, 2 * PG, -PG + 1]) })],
          [5, () => r.pick([1, 5, 100, PG - 1, PG, PG + 1, 2 * PG, 3 * PG, 4 * PG + 7])],
          [2, () => ({ $: "fsize", d: r.pick([-PG, 0, PG]) })],
          [1, () => r.pick([0, -1])],
        ]),
      ];
      break;
    default:
  }
  return { op, args };
}

function genFileOp(r, flen) {
  const op = r.weighted([
    [5, "pwrite"],
    [2, "fwrite"],
    [6, "truncate"],
    [2, "fread"],
    [1, "fsize"],
  ]);
  let args = [];
  switch (op) {
    case "pwrite":
      args = [
        r.weighted([
          [4, () => r.range(0, flen + 10)],
          [3, () => ({ $: "fsize", d: r.pick([-3, -1, 0, 1, 5, PG]) })],
          [2, () => r.pick([0, PG - 1, PG, 2 * PG, 3 * PG + 1])],
        ]),
        bytes(content(r, r.weighted([[6, () => r.range(1, 8)], [1, () => PG + r.range(0, 3)]]))),
      ];
      break;
    case "fwrite":
      args = [bytes(content(r, r.range(1, 20)))];
      break;
    case "truncate":
      args = [
        r.weighted([
          [5, () => ({ $: "ext", k: r.int(3), d: r.pick([-PG - 1, -PG, -1, 0, 1, PG, 2 * PG]) })],
          [3, () => ({ $: "fsize", d: r.pick([-PG, -PG + 1, -1, 1, PG, PG + 1]) })],
          [3, () => r.pick([0, 1, 100, PG - 1, PG, PG + 1, 2 * PG, 3 * PG + 5])],
        ]),
      ];
      break;
    default:
  }
  return { t: "f", op, args };
}

/** Program `index` of the batch `seed`. */
export function genProgram(seed, index, maxOps = 40) {
  const r = rng(((Number(seed) * 1000003 + index * 7919) >>> 0) ^ (index * 31));
  const flen = r.weighted([
    [2, () => r.range(1, 100)],
    [2, PG],
    [3, () => 2 * PG + r.range(1, 60)],
    [2, 3 * PG],
    [2, () => 3 * PG + r.range(1, 100)],
    [1, 4 * PG - 1],
  ]);
  const file = content(r, flen).toString("hex");
  const nmaps = r.range(2, 3);
  const maps = [];
  for (let k = 0; k < nmaps; k++) maps.push(genMapSpec(r, flen));
  const ops = maps.map((_, k) => ({ t: k, op: "open", args: [] }));
  const n = r.range(1, maxOps);
  for (let i = 0; i < n; i++) {
    if (r.chance(0.22)) ops.push(genFileOp(r, flen));
    else {
      const t = r.int(nmaps);
      const sp = maps[t];
      const L = sp.len > 0 ? sp.len : Math.max(1, flen - (sp.offset ?? 0));
      ops.push({ t, ...genMapOp(r, L) });
    }
  }
  // truncate's `ext` must name a slot that exists
  for (const o of ops) for (const a of o.args) if (a && a.$ === "ext") a.k %= nmaps;
  return { id: index, seed: Number(seed), file, maps, ops };
}

// ============================================================================ running memmap

class JsProg {
  constructor(prog, dir) {
    this.prog = prog;
    this.file = path.join(dir, `jsm-${prog.id}.bin`);
    this.slots = prog.maps.map(() => null);
  }
  fsize() {
    return fs.fstatSync(this.fd).size;
  }
  openMap(k) {
    const m = this.slots[k];
    return m !== null && !m.closed ? m : null;
  }
  safeEnd(k) {
    const m = this.openMap(k);
    if (m === null) return 0;
    const backed = Math.ceil(this.fsize() / PG) * PG;
    return Math.max(0, Math.min(m.length, backed - (this.prog.maps[k].offset ?? 0)));
  }
  val(t, k, ctx) {
    if (t === null || typeof t === "number") return t;
    const m = k === null ? null : this.openMap(k);
    switch (t.$) {
      case "len":
        return (m ? m.length : 0) + t.d;
      case "pos":
        return (m ? m.tell() : 0) + t.d;
      case "fsize":
        return this.fsize() + t.d;
      case "ext": {
        const o = this.openMap(t.k);
        return o === null ? this.fsize() + t.d : (this.prog.maps[t.k].offset ?? 0) + o.length + t.d;
      }
      case "bytes":
        return Buffer.from(t.hex, "hex");
      case "re":
        return new RegExp(t.src);
      case "needle": {
        const off = k === null ? 0 : (this.prog.maps[k].offset ?? 0);
        const n = m ? m.length : 0;
        const a = Math.max(0, Math.min(t.a, n));
        const b = Math.max(a, Math.min(t.b, n));
        const buf = Buffer.alloc(b - a);
        const got = fs.readSync(this.fd, buf, 0, b - a, off + a);
        return Buffer.concat([buf.subarray(0, got), Buffer.from(t.x, "hex")]);
      }
      case "sized": {
        let n;
        if (t.rel === "rest") n = m ? m.length - m.tell() : 0;
        else n = m && ctx[2] !== 0 ? pySliceCount(m.length, ...ctx) : 1;
        return pattern(n + t.d, t.seed);
      }
      default:
        throw new Error(`unknown tag ${t.$}`);
    }
  }
  /** The state; `py` is CPython's, whose `n` (the bytes compared) also leaves out what a map lost. */
  state(py) {
    const ms = this.slots.map((m, k) => {
      if (m === null) return null;
      if (m.closed) return { c: true };
      const want = py?.m?.[k]?.n;
      const n = want !== undefined && want < this.safeEnd(k) ? want : this.safeEnd(k);
      let h;
      try {
        h = md5(m.slice(0, n));
      } catch (e) {
        h = `threw ${e.code}`;
      }
      return { c: false, p: m.tell(), l: m.length, n, h };
    });
    return { f: this.fsize(), m: ms };
  }
  fileOp(op, raw) {
    const a = raw.map((t) => this.val(t, null));
    switch (op) {
      case "pwrite":
        return fs.writeSync(this.fd, a[1], 0, a[1].length, Math.max(0, a[0]));
      case "fwrite":
        return fs.writeSync(this.fd, a[0]);
      case "truncate":
        fs.ftruncateSync(this.fd, Math.max(0, a[0]));
        return null;
      case "fread": {
        const buf = Buffer.alloc(this.fsize() + 1);
        const n = fs.readSync(this.fd, buf, 0, buf.length, 0);
        return buf.subarray(0, n).toString("hex");
      }
      case "fsize":
        return this.fsize();
    }
    throw new Error(op);
  }
  /** The arguments of a map op, resolved from slot k's state. */
  args(k, op, raw) {
    if (op === "setSlice") {
      const [s, e, st] = [raw[0], raw[1], raw[3]].map((t) => this.val(t, k));
      return [s, e, this.val(raw[2], k, [s, e, st]), st];
    }
    return raw.map((t) => this.val(t, k));
  }
  mapOp(k, op, a) {
    if (op === "open") {
      this.slots[k]?.close();
      this.slots[k] = null;
      const { len, fd: via, ...opts } = this.prog.maps[k];
      if (via === "shared" || via === undefined) this.slots[k] = new MMap(this.fd, len, opts);
      else {
        const own = fs.openSync(this.file, via === "ro" ? "r" : "r+");
        try {
          this.slots[k] = new MMap(own, len, opts);
        } finally {
          fs.closeSync(own);
        }
      }
      return null;
    }
    const m = this.slots[k];
    if (m === null) return { skip: "nomap" };
    switch (op) {
      case "length":
        return m.length;
      case "search": {
        const x = m.search(...a);
        return x === null ? null : [x.index, x.end, Buffer.from(x[0], "latin1").toString("hex")];
      }
      default:
        return m[op](...a);
    }
  }
}

/**
 * Runs a program through memmap. `py` is CPython's run: where CPython died of SIGBUS, the map
 * is closed after the call, as the driver closes its own. `record` receives each op's resolved arguments.
 */
export function runMemmap(prog, dir, py, { record } = {}) {
  const P = new JsProg(prog, dir);
  const out = { ops: [] };
  fs.writeFileSync(P.file, Buffer.from(prog.file, "hex"));
  P.fd = fs.openSync(P.file, "r+");
  try {
    prog.ops.forEach((o, i) => {
      let r;
      let a = [];
      try {
        if (o.t === "f") {
          a = o.args.map((t) => P.val(t, null));
          r = { v: outValue(P.fileOp(o.op, o.args)) };
        } else {
          a = o.op === "open" ? [] : P.args(o.t, o.op, o.args);
          const v = py?.ops[i]?.r.skip === "lost-madvise" ? { skip: "lost-madvise" } : P.mapOp(o.t, o.op, a);
          r = v !== null && typeof v === "object" && v.skip ? v : { v: outValue(v) };
        }
      } catch (e) {
        r = jsErr(e);
      }
      record?.(a);
      const pr = py?.ops[i]?.r;
      if ((pr?.skip === "sigbus" && prog.maps[o.t].trackfd === false) || pr?.danger) P.slots[o.t]?.close();
      for (const j of pr?.closeLost ?? []) P.slots[j]?.close();
      out.ops.push({ r, s: P.state(py?.ops[i]?.s) });
    });
  } finally {
    for (const m of P.slots) m?.close();
    fs.closeSync(P.fd);
    const data = fs.readFileSync(P.file);
    out.file = { size: data.length, md5: md5(data) };
    fs.rmSync(P.file, { force: true });
  }
  return out;
}

export function runCPython(progs, dir) {
  return runDriver(DRIVER, progs.map((p) => JSON.stringify(p)), dir);
}

// ============================================================================ comparing

/** Methods that only read: where CPython survived a call that could reach lost pages, memmap may have touched them. */
const READERS = new Set(["get", "slice", "read", "readByte", "readline", "find", "rfind", "search"]);

function judge(py, js, op, sp) {
  // docs/python.md: size() without a descriptor throws ERR_MMAP_NO_FD (CPython 3.15); 3.13 says EBADF.
  if (op === "size" && sp?.trackfd === false && py.errno === "EBADF") return js.e === "Error" && js.code === "ERR_MMAP_NO_FD" ? null : "Error ERR_MMAP_NO_FD";
  // docs/python.md: a read-only file map is a private mapping, where MADV_REMOVE is EACCES (CPython punches a hole).
  if (py.skip === "madvise-remove-readonly") return js.e === "Error" && (js.code === "EACCES" || js.code === "EINVAL") ? null : "Error EACCES";
  if ((py.danger || py.lostOk) && READERS.has(op) && js.e === "Error" && js.code === "ERR_MMAP_TRUNCATED") return null;
  if (py.skip === "nomap") return js.skip === "nomap" ? null : "no map in the slot";
  if (py.skip === "lost") return js.e === "Error" && js.code === "ERR_MMAP_TRUNCATED" ? null : "Error ERR_MMAP_TRUNCATED (a map that lost bytes, docs/safety.md)";
  if (py.skip === "sigbus") return js.e === "Error" && js.code === "ERR_MMAP_TRUNCATED" ? null : "Error ERR_MMAP_TRUNCATED (CPython: SIGBUS)";
  if (py.skip === "lost-madvise") return null;
  if (py.skip === "resize0") return js.e !== undefined ? null : "an error (resize(0), docs/python.md)";
  if (py.e !== undefined) {
    const x = expectedError(py);
    return js.e === x.cls && x.codes.includes(js.code) ? null : `${x.cls} ${x.codes.join(" or ")}`;
  }
  return js.e === undefined && js.skip === undefined && isDeepStrictEqual(js.v, py.v) ? null : `the value ${JSON.stringify(py.v)}`;
}

const outcome = (r) => (r.skip !== undefined ? `skip ${r.skip}` : r.e !== undefined ? `${r.e} ${r.code ?? r.errno ?? ""}`.trim() : "value");

/** The first difference of a program's two runs, or null. */
export function compare(prog, py, jsRaw, stats) {
  const js = JSON.parse(JSON.stringify(jsRaw));
  stats.programs++;
  for (let i = 0; i < prog.ops.length; i++) {
    const o = prog.ops[i];
    const a = py.ops[i];
    const b = js.ops[i];
    const key = o.t === "f" ? `file.${o.op}` : o.op;
    const s = (stats.ops[key] ??= { n: 0, errors: 0, sigbus: 0 });
    s.n++;
    stats.total++;
    if (a.r.e !== undefined) s.errors++;
    if (a.r.skip === "sigbus") s.sigbus++;
    const sig = `${o.t === "f" ? "file." : ""}${o.op}`;
    const want = judge(a.r, b.r, o.op, o.t === "f" ? undefined : prog.maps[o.t]);
    if (want !== null) return { index: i, op: o, kind: `${sig} | CPython ${outcome(a.r)} | memmap ${outcome(b.r)}`, cpython: a.r, memmap: b.r, want };
    if (!isDeepStrictEqual(a.s, b.s)) return { index: i, op: o, kind: `${sig} | state`, cpython: a.r, memmap: b.r, want: "the same state", stateCPython: a.s, stateMemmap: b.s };
  }
  if (!isDeepStrictEqual(py.file, js.file)) return { index: prog.ops.length, kind: "file", want: "the same file", fileCPython: py.file, fileMemmap: js.file };
  return null;
}

export function newStats() {
  return { programs: 0, total: 0, ops: {} };
}

export function evaluate(progs, dir, stats = newStats()) {
  const pys = runCPython(progs, dir);
  return progs.map((p, i) => compare(p, pys[i], runMemmap(p, dir, pys[i]), stats));
}

// ============================================================================ shrinking

/** Fewer operations (ddmin), then a shorter file, keeping a mismatch of the same kind. */
export function shrink(prog, first, dir, budget = 150) {
  const S = shrinker(prog, first, budget, (cands) => evaluate(cands, dir));
  S.cut();
  S.dropOps(1);
  // simpler file contents
  S.tryAll([{ ...S.best, file: "61".repeat(S.best.file.length / 2) }]);
  return S.result();
}

// ============================================================================ snippets

function jsLit(v) {
  if (v === null || v === undefined) return String(v);
  if (Buffer.isBuffer(v)) return jsBytes(v.toString("hex"));
  if (v instanceof RegExp) return String(v);
  return JSON.stringify(v);
}

function pyLit(v) {
  if (v === null || v === undefined) return "None";
  if (Buffer.isBuffer(v)) return pyBytes(v.toString("hex"));
  if (v instanceof RegExp) return `re.compile(rb${JSON.stringify(v.source)})`;
  return JSON.stringify(v);
}

/** Ready-to-run JavaScript and Python for a program (arguments as memmap resolved them). */
export function snippets(prog, dir) {
  const rec = [];
  runMemmap(prog, dir, runCPython([prog], dir)[0], { record: (a) => rec.push(a) });
  const file = path.join(os.tmpdir(), `memmap-multi-${prog.seed}-${prog.id}.bin`);
  const fileHex = Buffer.from(prog.file, "hex");
  const js = [
    `// memmap multi-map fuzz reproduction: seed ${prog.seed}, program ${prog.id}`,
    ...JS_PRELUDE,
    `fs.writeFileSync(${JSON.stringify(file)}, ${jsLit(fileHex)});`,
    `const fd = fs.openSync(${JSON.stringify(file)}, "r+");`,
    `const m = [];`,
    `const pat = (n, seed) => Buffer.from(Array.from({ length: n }, (_, i) => ((seed + 7 * i) * 13 + (i >> 3)) & 255));`,
  ];
  const py = [
    `# CPython 3.13: seed ${prog.seed}, program ${prog.id}`,
    `import mmap, os, re`,
    ...PY_SHOW,
    `open(${JSON.stringify(file)}, "wb").write(${pyLit(fileHex)})`,
    `fd = os.open(${JSON.stringify(file)}, os.O_RDWR)`,
    `m = [None] * ${prog.maps.length}`,
    `def pat(n, seed): return bytes(((seed + 7 * i) * 13 + (i >> 3)) & 255 for i in range(n))`,
  ];
  prog.ops.forEach((o, i) => {
    const a = rec[i] ?? [];
    if (o.t === "f") {
      const J = { pwrite: `fs.writeSync(fd, ${jsLit(a[1])}, 0, ${a[1]?.length}, ${Math.max(0, a[0])})`, fwrite: `fs.writeSync(fd, ${jsLit(a[0])})`, truncate: `fs.ftruncateSync(fd, ${a[0]})`, fread: `fs.readFileSync(${JSON.stringify(file)})`, fsize: `fs.fstatSync(fd).size` }[o.op];
      const Pp = { pwrite: `os.pwrite(fd, ${pyLit(a[1])}, ${Math.max(0, a[0])})`, fwrite: `os.write(fd, ${pyLit(a[0])})`, truncate: `os.ftruncate(fd, ${Math.max(0, a[0])})`, fread: `open(${JSON.stringify(file)}, "rb").read()`, fsize: `os.fstat(fd).st_size` }[o.op];
      js.push(`show(() => ${J});`);
      py.push(`show(lambda: ${Pp})`);
      return;
    }
    const k = o.t;
    if (o.op === "open") {
      const { len, fd: via = "shared", ...opts } = prog.maps[k];
      const jfd = via === "shared" ? "fd" : `fs.openSync(${JSON.stringify(file)}, "${via === "ro" ? "r" : "r+"}")`;
      const pfd = via === "shared" ? "fd" : `os.open(${JSON.stringify(file)}, os.${via === "ro" ? "O_RDONLY" : "O_RDWR"})`;
      js.push(`m[${k}]?.close(); m[${k}] = null; show(() => { m[${k}] = new MMap(${jfd}, ${len}, ${JSON.stringify(opts)}); });`);
      py.push(`m[${k}] and m[${k}].close(); m[${k}] = None`);
      py.push(`def _open(): m[${k}] = mmap.mmap(${pfd}, ${len}${Object.entries(opts).map(([x, y]) => `, ${x}=${y === false ? "False" : y}`).join("")})`);
      py.push(`show(_open)`);
      return;
    }
    // a pattern argument is written as the call that makes it
    const isSized = (j) => {
      const t = o.args[j]; // setSlice's resolved arguments keep its order: start, stop, data, step
      return t && t.$ === "sized" ? t : null;
    };
    const jsA = a.map((v, j) => (isSized(j) ? `pat(${v.length}, ${isSized(j).seed})` : jsLit(v)));
    const pa = a.map((v, j) => (isSized(j) ? `pat(${v.length}, ${isSized(j).seed})` : pyLit(v)));
    const A = jsA.join(", ");
    const call = o.op === "length" ? `m[${k}].length` : `m[${k}].${o.op}(${A})`;
    js.push(`show(() => ${call});`);
    const pyName = { readByte: "read_byte", writeByte: "write_byte" }[o.op] ?? o.op;
    let pc;
    if (o.op === "get") pc = `m[${k}][${pa[0]}]`;
    else if (o.op === "set") pc = `m[${k}].__setitem__(${pa[0]}, ${pa[1]})`;
    else if (o.op === "slice") pc = `m[${k}][slice(${pa.join(", ")})]`;
    else if (o.op === "setSlice") pc = `m[${k}].__setitem__(slice(${pa[0]}, ${pa[1]}, ${pa[3]}), ${pa[2]})`;
    else if (o.op === "length") pc = `len(m[${k}])`;
    else if (o.op === "search") pc = `(lambda x: x and (x.start(), x.end(), x.group(0)))(${pa[0]}.search(m[${k}]${pa.slice(1).map((x) => `, ${x}`).join("")}))`;
    else pc = `m[${k}].${pyName}(${pa.join(", ")})`;
    py.push(`show(lambda: ${pc})${prog.ops[i] && ""}`);
  });
  js.push(`fs.closeSync(fd); console.log(fs.readFileSync(${JSON.stringify(file)}).toString("hex"));`);
  py.push(`print(open(${JSON.stringify(file)}, "rb").read().hex())`);
  return { js: js.join("\n") + "\n", py: py.join("\n") + "\n" };
}

// ============================================================================ batches

export function fuzz({ seed = 1, programs = 200, maxOps = 40, chunk = 100, maxReports = 3, budget, tmpdir = os.tmpdir(), log = () => {} } = {}) {
  return inTempDir(tmpdir, "memmap-multi-", (dir) => {
    const t0 = Date.now();
    const stats = newStats();
    const found = [];
    let index = 0;
    while (index < programs) {
      const progs = [];
      while (index < programs && progs.length < chunk) progs.push(genProgram(seed, index++, maxOps));
      evaluate(progs, dir, stats).forEach((mm, i) => mm !== null && found.push({ prog: progs[i], mismatch: mm }));
      log(`${stats.programs} programs, ${stats.total} operations, ${found.length} mismatching`);
    }
    return {
      seed,
      programs: stats.programs,
      ops: stats.total,
      perOp: stats.ops,
      ...mismatchSummary(found, { maxReports, shrink: (prog, mm) => shrink(prog, mm, dir, budget), snippets: (prog) => snippets(prog, dir) }),
      ms: Date.now() - t0,
    };
  });
}

// ============================================================================ command line

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const o = { seed: Date.now() % 1_000_000_007, programs: 200, maxOps: 40, reports: 3, json: false };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < 0) {
        console.error(`${argv[i - 1]} needs a non-negative integer`);
        process.exit(2);
      }
      return v;
    };
    if (argv[i] === "--seed") o.seed = num();
    else if (argv[i] === "--programs") o.programs = num();
    else if (argv[i] === "--max-ops") o.maxOps = Math.max(1, num());
    else if (argv[i] === "--reports") o.reports = num();
    else if (argv[i] === "--json") o.json = true;
    else if (argv[i] === "--tmpdir") o.tmpdir = argv[++i];
    else {
      console.error("usage: node test/fuzz/multi.mjs [--seed N] [--programs P] [--max-ops K] [--reports R] [--tmpdir DIR] [--json]");
      process.exit(2);
    }
  }
  const log = o.json ? () => {} : (s) => process.stderr.write(`\r${s}   `);
  const sum = fuzz({ seed: o.seed, programs: o.programs, maxOps: o.maxOps, maxReports: o.reports, tmpdir: o.tmpdir, log });
  if (o.json) console.log(JSON.stringify(sum));
  else {
    process.stderr.write("\n");
    const L = [`seed ${sum.seed}: ${sum.programs} programs, ${sum.ops} operations compared in ${(sum.ms / 1000).toFixed(1)} s`];
    L.push("operations (n / CPython errors / CPython SIGBUS):");
    for (const [k, v] of Object.entries(sum.perOp).sort()) L.push(`  ${k.padEnd(14)} ${String(v.n).padStart(6)}  ${v.errors} / ${v.sigbus}`);
    L.push(`mismatching programs: ${sum.mismatchingPrograms}`);
    for (const k of sum.mismatchKinds) L.push(`  ${String(k.programs).padStart(6)}  ${k.kind}`);
    for (const r of sum.mismatches) {
      const mm = r.mismatch;
      L.push("", `=== mismatch: ${mm.kind} (program ${r.original.id}, ${r.original.ops} ops; shrunk to ${r.prog.ops.length} in ${r.rounds} rounds)`);
      L.push(`operation ${mm.index}: ${JSON.stringify(mm.op ?? null)}`);
      L.push(`CPython: ${JSON.stringify(mm.cpython ?? mm.fileCPython)}${mm.stateCPython ? ` state ${JSON.stringify(mm.stateCPython)}` : ""}`);
      L.push(`memmap:  ${JSON.stringify(mm.memmap ?? mm.fileMemmap)}${mm.stateMemmap ? ` state ${JSON.stringify(mm.stateMemmap)}` : ""}`);
      L.push(`expected from memmap: ${mm.want}`, `maps: ${JSON.stringify(r.prog.maps)}`, "--- JavaScript", r.js, "--- Python", r.py);
    }
    console.log(L.join("\n"));
  }
  process.exitCode = sum.mismatchingPrograms === 0 ? 0 : 1;
}
