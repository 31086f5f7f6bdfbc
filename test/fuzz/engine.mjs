// Differential fuzzing of memmap against CPython 3.13's mmap (issue #3).
//
// A seeded generator writes programs: one map (anonymous, shared or private, or a file with
// random content, length and offset, in every access mode, prot=PROT_READ, trackfd=false; a
// few constructions are invalid on purpose) and a sequence of operations with arguments drawn
// from interesting values (around 0, the length and the position, negative, huge, multiples
// of PAGESIZE, non-integers, wrong types). Every program runs through CPython (driver.py,
// one python3 process per batch, JSON lines both ways) and through memmap in this process;
// after every operation the result (value or error class and code) and the state (closed,
// position, length, an MD5 of the whole content, the file size) are compared, and the file
// itself at the end. A mismatch is shrunk (delta debugging over the operations, then simpler
// arguments and a simpler map) and printed as ready-to-run JavaScript and Python.
//
// Where memmap deliberately differs from CPython 3.13, the rule is in NORMALISATIONS below,
// with the document that states it; nothing else is forgiven.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isDeepStrictEqual } from "node:util";
import {
  MMap,
  PAGESIZE,
  ACCESS_DEFAULT,
  ACCESS_READ,
  ACCESS_WRITE,
  ACCESS_COPY,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MADV_DONTNEED,
  MADV_REMOVE,
  MADV_DONTFORK,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DODUMP,
  constants,
} from "../../dist/index.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const DRIVER = path.join(HERE, "driver.py");
export const DIST = pathToFileURL(path.join(HERE, "..", "..", "dist", "index.js")).href;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

// ============================================================================ normalisations
//
// Every place where memmap is allowed to differ from CPython 3.13.0, and what is compared
// instead. `applied` counts how often each rule was used in a run (reported in the summary,
// and the CI test checks that each one is exercised).

export const NORMALISATIONS = [
  {
    name: "arg-before-state",
    doc: "docs/python.md, Errors: 'Arguments are validated before the closed check (as CPython 3.15 does), type before value.' SPEC intro: wrong type -> TypeError ERR_INVALID_ARG_TYPE; non-integer or out of range -> RangeError ERR_OUT_OF_RANGE",
    rule:
      "When an argument is invalid by memmap's own per-argument validation (wrong type, non-integer, outside the argument's range), memmap must throw that argument's error (TypeError ERR_INVALID_ARG_TYPE or RangeError ERR_OUT_OF_RANGE; any of the invalid arguments may be reported) and change nothing; CPython must raise too, but may report the closed map, the access mode or another argument first. An integer outside C's ssize_t, which CPython refuses (OverflowError), may likewise be refused with RangeError ERR_OUT_OF_RANGE before the map's state is looked at.",
  },
  {
    name: "float",
    doc: "SPEC intro ('even where CPython would say TypeError for a float'); docs/python.md Errors table",
    rule: "A non-integer number (1.5, NaN, ±Infinity) is a RangeError ERR_OUT_OF_RANGE in memmap, a TypeError in CPython. Applied through arg-before-state.",
  },
  {
    name: "js-only-types",
    doc: "docs/python.md, Deliberate differences, Type conventions: 'Integers must be JavaScript numbers ... Booleans are not accepted as integers.'",
    rule: "A boolean or a bigint where an integer is expected: not run in CPython (which takes True as 1); memmap must throw TypeError ERR_INVALID_ARG_TYPE and change nothing.",
  },
  {
    name: "strings-as-bytes",
    doc: "SPEC §2: 'Bytes-like arguments accept ... strings (encoded as UTF-8, as Node's own APIs do)'",
    rule: "A string where bytes are expected is given to CPython as its UTF-8 bytes.",
  },
  {
    name: "undefined-default",
    doc: "SPEC intro: '`undefined` means \"the default\" for every optional argument'; SPEC §2 find: 'default start is the current position, as in CPython'",
    rule: "undefined trailing arguments are left out in CPython; an undefined argument followed by a given one becomes CPython's default: None for slice bounds, the current position for find/rfind start, 0 for flush offset and madvise start.",
  },
  {
    name: "flush-to-end",
    doc: "SPEC intro: '`flush(offset)` alone flushes from `offset` to the end' (CPython 3.15); docs/python.md flush row '3.15 rules'",
    rule: "flush(offset) and flush(offset, -1) are given to CPython as flush(offset, len(m) - offset).",
  },
  {
    name: "failed-resize-undone",
    doc: "docs/python.md, Deliberate differences: 'A failed resize is undone. If the map cannot follow a grown file, the file is set back to its former size'",
    rule: "When CPython's resize raises OSError after changing the file's size (mremap failing after ftruncate), driver.py sets the file back (size and bytes) before the states are compared.",
  },
  {
    name: "madvise-length-null",
    doc: "docs/python.md Methods table, madvise: '`length` `null`/omitted is the rest of the map' (CPython 3.15 accepts None)",
    rule: "madvise(option, start, null) is given to CPython without the length.",
  },
  {
    name: "size-anonymous",
    doc: "SPEC intro: '`size()` of an anonymous map returns its length' (CPython 3.15); docs/python.md size row",
    rule: "size() of an anonymous map: CPython 3.13 raises OSError EBADF; memmap must return the map's length.",
  },
  {
    name: "size-no-fd",
    doc: "docs/python.md Construction ('`trackfd: false` keeps none; `size()` then throws `ERR_MMAP_NO_FD` (as CPython 3.15)') and Errors table",
    rule: "size() with trackfd=false: CPython 3.13 raises OSError EBADF; memmap must throw Error ERR_MMAP_NO_FD.",
  },
  {
    name: "resize-zero",
    doc: "docs/python.md, Deliberate differences: '`resize(0)` is refused with `RangeError` before anything happens. CPython truncates the file ...'",
    rule: "resize(0) on an open, resizable map is not run in CPython (it would truncate the file and leave pages past its end); memmap must throw RangeError ERR_OUT_OF_RANGE and change nothing.",
  },
  {
    name: "grow-shared-anon",
    doc: "docs/python.md, Deliberate differences: 'As in CPython on Linux, a plain shared anonymous map cannot grow'; reference §9 step 6 (a 2025 fix: 3.13.0 still grows it, and the new pages raise SIGBUS)",
    rule: "Growing a shared anonymous map is not run in CPython 3.13.0; memmap must throw TypeError ERR_MMAP_NOT_RESIZABLE (the later CPython's ValueError, mapped by SPEC §5) and change nothing.",
  },
  {
    name: "madvise-remove-readonly",
    doc: "docs/python.md, Deliberate differences: 'A read-only file map is a private mapping ... madvise(MADV_REMOVE) on it fails with EACCES where CPython ... punches a hole in the file'",
    rule: "madvise(MADV_REMOVE, ...) on a read-only file map (ACCESS_READ, or a prot without PROT_WRITE) is not run in CPython; memmap must throw Error EACCES or EINVAL (an unaligned start) and change nothing.",
  },
  {
    name: "madvise-unknown-advice",
    doc: "docs/safety.md, Advice: 'memmap passes to madvise only the MADV_* constants it exports, less MADV_HWPOISON: anything else is RangeError ERR_INVALID_ARG_VALUE, after the range checks'",
    rule: "madvise with an option that is not one of memmap's MADV_* constants (or is MADV_HWPOISON): where CPython raises OSError (the kernel's EINVAL), memmap must throw RangeError ERR_INVALID_ARG_VALUE and change nothing.",
  },
  {
    name: "not-resizable",
    doc: "SPEC §5: 'resize forbidden (access mode, `trackfd: false`, platform) | TypeError / ValueError / SystemError | `TypeError`, `ERR_MMAP_NOT_RESIZABLE`'",
    rule: "CPython's TypeError/ValueError 'mmap can't resize ...' maps to TypeError ERR_MMAP_NOT_RESIZABLE.",
  },
];
const RULES = new Set(NORMALISATIONS.map((n) => n.name));
/** The advice memmap passes to the kernel (src/mapping.ts). */
const KNOWN_ADVICE = new Set(Object.entries(constants).filter(([k]) => k.startsWith("MADV_") && k !== "MADV_HWPOISON").map(([, v]) => v));

/** The plain error mapping of SPEC §5 (not a normalisation: the contract itself). */
export function expectedError(py) {
  if (py.errno !== undefined) return { cls: "Error", codes: [py.errno] };
  if (py.m === "mmap closed or invalid") return { cls: "Error", codes: ["ERR_MMAP_CLOSED"] };
  if (py.e === "TypeError" && py.m.startsWith("mmap can't modify a readonly memory map")) {
    return { cls: "TypeError", codes: ["ERR_MMAP_READ_ONLY"] };
  }
  if (py.m.startsWith("mmap can't resize") || py.m.startsWith("mmap: can't expand a shared anonymous")) {
    return { cls: "TypeError", codes: ["ERR_MMAP_NOT_RESIZABLE"], rule: "not-resizable" };
  }
  if (py.e === "TypeError") return { cls: "TypeError", codes: ["ERR_INVALID_ARG_TYPE"] };
  if (py.e === "ValueError" || py.e === "IndexError" || py.e === "OverflowError") {
    return { cls: "RangeError", codes: ["ERR_OUT_OF_RANGE", "ERR_INVALID_ARG_VALUE"] };
  }
  return { cls: `unmapped CPython ${py.e}`, codes: [] };
}

// ============================================================================ PRNG

/** xorshift32 seeded through a splitmix-style scramble; deterministic for a given seed. */
export function rng(seed) {
  let z = (Number(seed) >>> 0) + 0x9e3779b9;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  let s = (z ^ (z >>> 16)) >>> 0 || 0x1234567;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  for (let i = 0; i < 8; i++) next();
  const r = {
    u32: next,
    /** 0 <= n < k */
    int: (k) => Math.floor((next() / 4294967296) * k),
    /** lo <= n <= hi */
    range: (lo, hi) => lo + Math.floor((next() / 4294967296) * (hi - lo + 1)),
    chance: (p) => next() / 4294967296 < p,
    pick: (arr) => arr[Math.floor((next() / 4294967296) * arr.length)],
    /** Picks from [[weight, value], ...]; a function value is called. */
    weighted: (pairs) => {
      let total = 0;
      for (const [w] of pairs) total += w;
      let x = (next() / 4294967296) * total;
      for (const [w, v] of pairs) {
        if ((x -= w) < 0) return typeof v === "function" ? v() : v;
      }
      const v = pairs[pairs.length - 1][1];
      return typeof v === "function" ? v() : v;
    },
  };
  return r;
}

// ============================================================================ tagged values
//
// Arguments travel as JSON: plain numbers (safe integers and simple fractions), null, or
// {"$": tag, ...}: big (an exact power of two beyond 2^53, as a decimal string), num (NaN,
// ±Infinity, -0), undef, str, arr, obj, bool, bigint, len (±length + d), pos (position + d),
// bytes (hex, with the kind of object in JavaScript: Buffer, Uint8Array, ArrayBuffer, DataView),
// needle (the current content [a:b] plus a suffix), sized (a pattern as long as the slice being
// assigned, or the room left before the end, plus d). len, pos, needle and sized are resolved
// at run time by each side from its own map, so programs stay meaningful while shrinking.

const U = { $: "undef" };
const big = (e, neg = false) => ({ $: "big", v: (neg ? -1n : 1n) * 2n ** BigInt(e) + "" });
const isU = (t) => t !== null && typeof t === "object" && t.$ === "undef";

const AS = [
  [6, "buffer"],
  [2, "u8"],
  [1, "ab"],
  [1, "dv"],
];

function asKind(data, kind) {
  switch (kind) {
    case "u8":
      return new Uint8Array(data);
    case "ab":
      return Uint8Array.from(data).buffer;
    case "dv": {
      const ab = Uint8Array.from(data).buffer;
      return new DataView(ab);
    }
    default:
      return Buffer.from(data);
  }
}

/** The same bytes driver.py's pattern() makes. */
export function pattern(n, seed) {
  const out = Buffer.alloc(Math.max(0, n));
  for (let i = 0; i < out.length; i++) out[i] = ((seed + 7 * i) * 13 + (i >> 3)) & 255;
  return out;
}

const isInt = (v) => typeof v === "number" && Number.isInteger(v);

/** Python's slice(a, b, c).indices(n) length; 1 when a bound is not an integer or None. */
export function pySliceCount(n, a, b, c) {
  for (const x of [a, b, c]) if (!(x === null || x === undefined || isInt(x))) return 1;
  const step = c === null || c === undefined ? 1 : c;
  if (step === 0) return 1;
  const clamp = (v, lo, hi, def) => {
    if (v === null || v === undefined) return def;
    let x = v < 0 ? v + n : v;
    return x < lo ? lo : x > hi ? hi : x;
  };
  let s, e;
  if (step > 0) {
    s = clamp(a, 0, n, 0);
    e = clamp(b, 0, n, n);
    return s < e ? Math.floor((e - s - 1) / step) + 1 : 0;
  }
  s = clamp(a, -1, n - 1, n - 1);
  e = clamp(b, -1, n - 1, -1);
  return e < s ? Math.floor((s - e - 1) / -step) + 1 : 0;
}

/** Python's m[a:b] bounds (step 1) for a sequence of n. */
function pyRange(n, a, b) {
  const c = (v) => (v < 0 ? Math.max(0, v + n) : Math.min(v, n));
  const s = c(a);
  return [s, Math.max(s, c(b))];
}

/** Resolves a tagged value for memmap, from the map's current state. */
function jsVal(t, m, ctx) {
  if (t === null || typeof t === "number") return t;
  const open = m !== null && !m.closed;
  switch (t.$) {
    case "big":
      return Number(BigInt(t.v));
    case "num":
      return t.v === "-0" ? -0 : Number(t.v);
    case "undef":
      return undefined;
    case "str":
      return t.v;
    case "arr":
      return [1, 2];
    case "obj":
      return {};
    case "bool":
      return t.v;
    case "bigint":
      return BigInt(t.v);
    case "len": {
      const n = open ? m.length : 0;
      return (t.neg ? -n : n) + t.d;
    }
    case "pos":
      return (open ? m.tell() : 0) + t.d;
    case "bytes":
      return asKind(Buffer.from(t.hex, "hex"), t.as);
    case "needle": {
      let part = Buffer.alloc(0);
      if (open) {
        // a copy, not a view: views do not exist without external ArrayBuffers
        const [s, e] = pyRange(m.length, t.a, t.b);
        part = m.slice(s, e);
      }
      return asKind(Buffer.concat([part, Buffer.from(t.x, "hex")]), t.as);
    }
    case "sized": {
      let n;
      if (t.rel === "rest") n = open ? m.length - m.tell() : 0;
      else n = open ? pySliceCount(m.length, ...ctx) : 1;
      return asKind(pattern(n + t.d, t.seed), t.as);
    }
    default:
      throw new Error(`unknown tag ${t.$}`);
  }
}

// ============================================================================ operations

// Parameter kinds, as memmap validates them (the TSDoc of src/mmap.ts):
//   idx: an integer-valued number; CPython refuses one outside C's ssize_t (OverflowError), and
//     memmap may then report it before the map's state, as any invalid argument;
//   bound: a slice bound or step: any integer-valued number (both clamp);
//   safe: an integer within ±MAX_SAFE_INTEGER; i32: a C int;
//   byte: 0..255; bytes: a string or a Uint8Array / ArrayBuffer / DataView;
//   item: set()'s value, an integer-valued number whose range (0..255) is checked after the
//     closed and read-only checks, as CPython's m[i] = v checks it (so is set()'s index range).
// (A step of 0 is not among them: memmap checks it after the closed check, as CPython does.)
// opt: undefined allowed (the default); nul: null allowed (Python's None).
const P = (kind, opt = false, nul = false) => ({ kind, opt, nul });

export const OPS = {
  get: { w: 8, params: [P("idx")] },
  set: { w: 8, params: [P("idx"), P("item")] },
  slice: { w: 8, params: [P("bound", true, true), P("bound", true, true), P("bound", true, true)] },
  setSlice: { w: 8, params: [P("bound", true, true), P("bound", true, true), P("bytes"), P("bound", true, true)] },
  read: { w: 8, params: [P("idx", true, true)] },
  readByte: { w: 5, params: [] },
  readline: { w: 5, params: [] },
  write: { w: 8, params: [P("bytes")] },
  writeByte: { w: 5, params: [P("byte")] },
  seek: { w: 10, params: [P("idx"), P("safe", true)] },
  tell: { w: 3, params: [] },
  find: { w: 7, params: [P("bytes"), P("idx", true), P("idx", true)] },
  rfind: { w: 7, params: [P("bytes"), P("idx", true), P("idx", true)] },
  move: { w: 5, params: [P("idx"), P("idx"), P("idx")] },
  flush: { w: 4, params: [P("safe", true), P("safe", true)] },
  madvise: { w: 3, params: [P("i32"), P("idx", true), P("idx", true, true)] },
  resize: { w: 5, params: [P("idx")] },
  size: { w: 2, params: [] },
  close: { w: 1, params: [] },
  length: { w: 2, params: [] },
  closed: { w: 1, params: [] },
  seekable: { w: 1, params: [] },
};
const PY_NAME = { readByte: "read_byte", writeByte: "write_byte" };

const INT32 = 2 ** 31;

const TYPE = "TypeError ERR_INVALID_ARG_TYPE";
const RANGE = "RangeError ERR_OUT_OF_RANGE";
const SSIZE = 2 ** 63;

/** An idx argument (or set()'s item) CPython cannot convert to ssize_t: memmap may refuse it with RangeError (see above). */
function beyondSsize(v, p) {
  return (p.kind === "idx" || p.kind === "item") && typeof v === "number" && Number.isInteger(v) && (v >= SSIZE || v < -SSIZE);
}

/**
 * null when memmap accepts the (resolved) argument `v` for `p`, else the "class code" it must
 * throw for it: memmap's per-argument validation, as its TSDoc states it.
 */
function argError(v, p) {
  if (v === undefined) return p.opt ? null : TYPE;
  if (v === null) return p.nul ? null : TYPE;
  if (p.kind === "bytes") {
    return typeof v === "string" || v instanceof Uint8Array || v instanceof ArrayBuffer || v instanceof DataView ? null : TYPE;
  }
  if (typeof v !== "number") return TYPE;
  if (!Number.isInteger(v)) return RANGE;
  if (p.kind === "safe" && Math.abs(v) > MAX_SAFE) return RANGE;
  if (p.kind === "i32" && (v < -INT32 || v >= INT32)) return RANGE;
  if (p.kind === "byte" && (v < 0 || v > 255)) return RANGE;
  return null;
}

/**
 * How an operation is run in CPython: `jsOnly` (not at all), or the call (name and tagged
 * arguments), translated by the rules above.
 */
export function plan(op) {
  const spec = OPS[op.op];
  const args = op.args;
  const rules = [];
  let jsOnly = false;
  spec.params.forEach((p, i) => {
    const t = i < args.length ? args[i] : U;
    if (p.kind !== "bytes" && t !== null && typeof t === "object" && (t.$ === "bool" || t.$ === "bigint")) jsOnly = true;
  });
  if (jsOnly) rules.push("js-only-types");
  const A = (i) => (i < args.length ? args[i] : U);
  const none = (t) => (isU(t) ? null : t);
  const bytes = (t) => {
    if (t !== null && typeof t === "object" && t.$ === "str") {
      rules.push("strings-as-bytes");
      return { $: "pybytes", hex: Buffer.from(t.v, "utf8").toString("hex") };
    }
    return none(t);
  };
  const undefNotTrailing = (i) => isU(A(i)) && args.slice(i + 1).some((t) => !isU(t));
  for (let i = 0; i < args.length; i++) if (undefNotTrailing(i) && spec.params[i]?.opt) rules.push("undefined-default");
  let py;
  switch (op.op) {
    case "get":
      py = [none(A(0))];
      break;
    case "set":
      py = [none(A(0)), none(A(1))];
      break;
    case "slice":
      py = [none(A(0)), none(A(1)), none(A(2))];
      break;
    case "setSlice":
      py = [none(A(0)), none(A(1)), none(A(3)), bytes(A(2))]; // driver order: start, stop, step, data
      break;
    case "read":
      py = isU(A(0)) ? [] : [A(0)];
      break;
    case "write":
      py = [bytes(A(0))];
      break;
    case "writeByte":
    case "resize":
      py = [none(A(0))];
      break;
    case "seek":
      py = isU(A(1)) ? [none(A(0))] : [none(A(0)), A(1)];
      break;
    case "find":
    case "rfind": {
      const sub = bytes(A(0));
      if (isU(A(2))) py = isU(A(1)) ? [sub] : [sub, A(1)];
      else py = [sub, isU(A(1)) ? { $: "tell" } : A(1), A(2)];
      break;
    }
    case "move":
      py = [none(A(0)), none(A(1)), none(A(2))];
      break;
    case "flush": {
      if (isU(A(0)) && isU(A(1))) py = [];
      else {
        // The size is decided at run time (a `len` marker may resolve to -1): see driver.py.
        const off = isU(A(0)) ? 0 : A(0);
        py = [off, { $: "size315", v: A(1), off }];
      }
      break;
    }
    case "madvise": {
      const noLen = isU(A(2)) || A(2) === null;
      if (A(2) === null) rules.push("madvise-length-null");
      if (noLen) py = isU(A(1)) ? [none(A(0))] : [none(A(0)), A(1)];
      else py = [none(A(0)), isU(A(1)) ? 0 : A(1), A(2)];
      break;
    }
    default:
      py = [];
  }
  return { jsOnly, rules, pyOp: PY_NAME[op.op] ?? op.op, pyArgs: py };
}

// ============================================================================ generation

const ALPHA = [
  [5, () => 0x61],
  [3, () => 0x62],
  [2, () => 0x0a],
  [1, () => 0x00],
  [1, () => 0x78],
];

/** n random bytes, mostly a few letters, newlines and zeros (so that searches and readline find things). */
export function content(r, n) {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = r.chance(0.3) ? r.int(256) : r.weighted(ALPHA);
  return out;
}

const MADVICE = [MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_DONTNEED, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK, MADV_DONTDUMP, MADV_DODUMP].filter(
  (x) => x !== undefined,
);

/** A map spec: { kind, len, flags?, prot?, access?, offset?, trackfd?, file?, fdmode?, init? }. */
function genMap(r) {
  const kind = r.weighted([
    [4, "anon"],
    [6, "file"],
  ]);
  const sp = { kind };
  // The mode: access given, flags/prot given, or the defaults; sometimes trackfd: false.
  r.weighted([
    [3, () => {}],
    [2, () => (sp.access = ACCESS_READ)],
    [2, () => (sp.access = ACCESS_WRITE)],
    [2, () => (sp.access = ACCESS_COPY)],
    [1, () => (sp.access = ACCESS_DEFAULT)],
    [1, () => (sp.prot = PROT_READ)],
    [kind === "anon" ? 3 : 1, () => (sp.flags = MAP_PRIVATE)],
  ]);
  if (r.chance(0.12)) sp.trackfd = false;
  if (kind === "anon") {
    sp.len = r.weighted([
      [3, () => r.range(1, 24)],
      [1, 100],
      [1, PAGESIZE - 1],
      [2, PAGESIZE],
      [1, PAGESIZE + 1],
      [1, 2 * PAGESIZE],
      [1, 3 * PAGESIZE],
    ]);
  } else {
    const flen = r.weighted([
      [2, () => r.range(1, 24)],
      [1, 100],
      [1, PAGESIZE - 1],
      [1, PAGESIZE],
      [1, PAGESIZE + 1],
      [2, () => 2 * PAGESIZE + r.range(1, 60)],
      [1, 3 * PAGESIZE],
    ]);
    sp.file = content(r, flen).toString("hex");
    if (flen > PAGESIZE && r.chance(0.4)) sp.offset = PAGESIZE;
    const room = flen - (sp.offset ?? 0);
    sp.len = r.weighted([
      [3, 0],
      [2, room],
      [2, () => r.range(1, room)],
    ]);
  }
  // A few invalid constructions.
  if (r.chance(0.06)) {
    r.weighted([
      [1, () => kind === "file" && (sp.offset = 100)],
      [1, () => kind === "file" && ((sp.offset = Math.ceil(sp.file.length / 2 / PAGESIZE) * PAGESIZE), (sp.len = 0))],
      [1, () => kind === "file" && (sp.len = sp.file.length / 2 - (sp.offset ?? 0) + 1)],
      [1, () => kind === "file" && ((sp.file = ""), (sp.len = r.pick([0, 5])))],
      [1, () => (sp.len = -1)],
      [1, () => (sp.access = 4)],
      [1, () => ((sp.access = ACCESS_READ), (sp.flags = MAP_PRIVATE))],
      [1, () => kind === "file" && ((sp.fdmode = "r"), (sp.access = r.pick([ACCESS_WRITE, ACCESS_DEFAULT, undefined])))],
      [1, () => kind === "anon" && (sp.len = 0)],
      [1, () => kind === "anon" && (sp.offset = 1)],
    ]);
    if (sp.access === undefined) delete sp.access;
  } else if (kind === "file" && r.chance(0.15) && (sp.access === ACCESS_READ || sp.access === ACCESS_COPY || sp.prot === PROT_READ || sp.flags === MAP_PRIVATE)) {
    sp.fdmode = "r"; // a read-only descriptor: fine for these maps (MAP_PRIVATE maps it copy-on-write)
  }
  const writable =
    sp.access === ACCESS_WRITE || sp.access === ACCESS_COPY || ((sp.access ?? 0) === ACCESS_DEFAULT && (sp.prot ?? PROT_READ | PROT_WRITE) & PROT_WRITE);
  if (kind === "anon" && writable && sp.len > 0 && r.chance(0.85)) sp.init = content(r, sp.len).toString("hex");
  return sp;
}

function fileLen(sp) {
  return sp.file === undefined ? 0 : sp.file.length / 2;
}

/** Integer-ish values for an index-like parameter. */
function genInt(r, L, { wrong = 0.04, opt = false } = {}) {
  return r.weighted([
    [30, () => r.pick([0, 1, 2, 3, -1, -2, 5, 7, 10])],
    [18, () => ({ $: "len", d: r.pick([-2, -1, 0, 0, 1, 2]) })],
    [6, () => ({ $: "len", neg: true, d: r.pick([-1, 0, 1]) })],
    [10, () => ({ $: "pos", d: r.pick([-2, -1, 0, 1, 2]) })],
    [10, () => r.range(-L - 2, L + 2)],
    [8, () => r.pick([PAGESIZE - 1, PAGESIZE, PAGESIZE + 1, 2 * PAGESIZE, 3 * PAGESIZE, -PAGESIZE])],
    [5, () => r.pick([MAX_SAFE, -MAX_SAFE, big(63), big(63, true), big(64), big(64, true)])],
    [4, () => r.pick([1.5, -0.5, { $: "num", v: "NaN" }, { $: "num", v: "Infinity" }, { $: "num", v: "-Infinity" }])],
    [1, { $: "num", v: "-0" }],
    [opt ? 8 : 0, U],
    [wrong * 100, () => genWrong(r)],
  ]);
}

function genWrong(r) {
  return r.pick([{ $: "str", v: "1" }, null, { $: "bool", v: r.chance(0.5) }, { $: "bigint", v: "1" }, { $: "arr" }, { $: "obj" }, U]);
}

function genByte(r) {
  return r.weighted([
    [12, () => r.pick([0, 1, 10, 97, 98, 128, 255])],
    [3, () => r.pick([256, -1, 1000, big(64), -MAX_SAFE])],
    [2, () => r.pick([1.5, { $: "num", v: "NaN" }, { $: "num", v: "-0" }])],
    [2, () => genWrong(r)],
  ]);
}

function genBytes(r, L, rel) {
  const as = () => r.weighted(AS);
  return r.weighted([
    [
      30,
      () => {
        const a = r.weighted([
          [3, () => r.range(0, Math.max(0, L))],
          [1, () => -r.range(1, 6)],
          [1, 0],
        ]);
        const b = a + r.pick([0, 1, 1, 2, 3, 5, 10]);
        const x = r.weighted([
          [6, ""],
          [1, "61"],
          [1, "00"],
          [1, "0a"],
        ]);
        return { $: "needle", a, b, x, as: as() };
      },
    ],
    [20, () => ({ $: "bytes", hex: content(r, r.range(0, 4)).toString("hex"), as: as() })],
    [16, () => ({ $: "sized", rel, d: r.pick([0, 0, 0, 0, 1, -1, -2]), seed: r.int(256), as: as() })],
    [10, () => ({ $: "str", v: r.pick(["a", "ab", "a\n", "", "é", "\0b", "xyz\n"]) })],
    [4, () => ({ $: "bytes", hex: "", as: as() })],
    [4, () => ({ $: "bytes", hex: pattern(L + r.range(1, 5), 3).toString("hex"), as: "buffer" })],
    [5, () => r.pick([5, null, U, { $: "bool", v: true }, { $: "arr" }, { $: "obj" }])],
  ]);
}

/** Drops trailing arguments at random (a shorter call), keeping at least `min`. */
function trim(r, args, min) {
  let n = args.length;
  while (n > min && isU(args[n - 1]) && r.chance(0.7)) n--;
  return args.slice(0, n);
}

function genOp(r, L, anonPrivate) {
  const name = r.weighted(Object.entries(OPS).map(([k, v]) => [v.w, k]));
  const I = (o) => genInt(r, L, o);
  const opt = { opt: true };
  let args;
  switch (name) {
    case "get":
      args = [I()];
      break;
    case "set":
      args = [I(), genByte(r)];
      break;
    case "slice":
      args = trim(r, [r.chance(0.2) ? null : I(opt), r.chance(0.2) ? null : I(opt), r.chance(0.5) ? U : r.weighted([[4, () => r.pick([1, 2, 3, -1, -2, 0])], [1, () => I()]])], 0);
      break;
    case "setSlice": {
      const step = r.chance(0.6) ? U : r.weighted([[4, () => r.pick([1, 2, 3, -1, -2, 0])], [1, () => I()], [1, null]]);
      // Mostly data of the slice's own size, so that most assignments happen.
      const data = r.chance(0.55) ? { $: "sized", rel: "slice", d: r.chance(0.85) ? 0 : r.pick([1, -1]), seed: r.int(256), as: r.weighted(AS) } : genBytes(r, L, "slice");
      args = trim(r, [r.chance(0.15) ? null : I(opt), r.chance(0.15) ? null : I(opt), data, step], 3);
      break;
    }
    case "read":
      args = trim(r, [r.weighted([[3, U], [1, null], [8, () => I()]])], 0);
      break;
    case "write":
      args = [genBytes(r, L, "rest")];
      break;
    case "writeByte":
      args = [genByte(r)];
      break;
    case "seek":
      args = r.weighted([
        // targeted: a position inside the map for each whence
        [3, () => [r.chance(0.5) ? r.range(0, L) : { $: "len", d: -r.range(0, 3) }, ...(r.chance(0.5) ? [] : [0])]],
        [2, () => [r.range(-3, 3), 1]],
        [2, () => [-r.range(0, Math.min(L, 8)), 2]],
        [4, () => trim(r, [I(), r.weighted([[4, U], [6, () => r.pick([0, 1, 2])], [1, () => r.pick([3, -1, 1.5, 2 ** 31, big(64)])], [1, () => genWrong(r)]])], 1)],
      ]);
      break;
    case "find":
    case "rfind":
      args = trim(r, [genBytes(r, L, "rest"), r.chance(0.35) ? U : I(opt), r.chance(0.45) ? U : I(opt)], 1);
      break;
    case "move":
      args = r.weighted([
        [3, () => [r.range(0, L), r.range(0, L), r.range(0, 4)]],
        [1, () => [{ $: "len", d: -r.range(0, 4) }, r.range(0, 3), r.range(0, 4)]],
        [3, () => [I(), I(), r.weighted([[3, () => r.range(0, 4)], [3, () => I()]])]],
      ]);
      break;
    case "flush": {
      const off = r.weighted([[4, U], [4, 0], [3, PAGESIZE], [1, 2 * PAGESIZE], [2, () => I()]]);
      const size = r.weighted([[4, U], [2, -1], [2, 0], [2, PAGESIZE], [2, () => ({ $: "len", d: r.pick([-1, 0, 1]) })], [2, () => I()]]);
      args = trim(r, [off, size], 0);
      break;
    }
    case "madvise": {
      const option = r.weighted([[10, () => r.pick(MADVICE)], [1, () => r.pick([9999, -1, 2 ** 31, 1.5])], [1, () => genWrong(r)]]);
      const start = r.weighted([[3, U], [4, 0], [3, PAGESIZE], [1, () => r.pick([1, -1])], [2, () => I()]]);
      const length = r.weighted([[4, U], [2, null], [2, 0], [2, PAGESIZE], [1, -1], [1, () => r.pick([MAX_SAFE, big(63)])], [2, () => I()]]);
      args = trim(r, [option, start, length], 1);
      break;
    }
    case "resize": {
      // Sizes that cannot succeed hugely (a sparse file of petabytes on tmpfs, or a map of
      // them, would stall both sides): huge values only where they fail before any change.
      const huge = anonPrivate ? [MAX_SAFE, big(63), big(64), 2 ** 50] : [big(63), big(64)];
      args = [
        r.weighted([
          [6, () => r.pick([1, 2, 5, 100, PAGESIZE - 1, PAGESIZE, PAGESIZE + 1, 2 * PAGESIZE, 3 * PAGESIZE])],
          [5, () => ({ $: "len", d: r.pick([-1, 1, -PAGESIZE, PAGESIZE]) })],
          [2, 0],
          [2, () => r.pick([-1, -PAGESIZE])],
          [1, () => r.pick(huge)],
          [1, () => r.pick([1.5, { $: "num", v: "NaN" }])],
          [1, () => genWrong(r)],
        ]),
      ];
      break;
    }
    default:
      args = [];
  }
  return { op: name, args };
}

/** Program `index` of the batch `seed`. */
export function genProgram(seed, index, maxOps = 40) {
  const r = rng((Number(seed) * 1000003 + index * 7919) >>> 0 ^ index);
  const map = genMap(r);
  const L = map.len > 0 ? map.len : Math.max(1, fileLen(map) - (map.offset ?? 0));
  const anonPrivate = map.kind === "anon" && ((map.flags ?? 0) & MAP_PRIVATE) !== 0;
  const n = r.range(1, maxOps);
  const ops = [];
  for (let i = 0; i < n; i++) ops.push(genOp(r, L, anonPrivate));
  return { id: index, seed: Number(seed), map, ops };
}

// ============================================================================ running

function pyLine(prog) {
  return JSON.stringify({
    id: prog.id,
    map: prog.map,
    ops: prog.ops.map((o) => {
      const p = plan(o);
      return p.jsOnly ? { args: [] } : { py: p.pyOp, args: p.pyArgs };
    }),
  });
}

/**
 * Runs programs (one JSON line each) through a CPython driver (one python3 process, which gets
 * `dir` for its files); returns the driver's answers in order. Shared with multi.mjs.
 */
export function runDriver(driver, lines, dir) {
  const r = spawnSync("python3", [driver, dir], {
    env: { ...process.env, PYENV_VERSION: "3.13.0" },
    input: lines.join("\n") + "\n",
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`CPython driver failed (status ${r.status}, signal ${r.signal}): ${r.stderr.slice(-4000)}`);
  const answers = r.stdout.split("\n").filter(Boolean);
  if (answers.length !== lines.length) throw new Error(`CPython driver answered ${answers.length} of ${lines.length} programs: ${r.stderr.slice(-2000)}`);
  return answers.map((l) => JSON.parse(l));
}

/** Runs programs through CPython (one process); returns their results in order. */
export function runCPython(progs, dir) {
  return runDriver(DRIVER, progs.map(pyLine), dir);
}

/** The exact class of an error: TypeError, RangeError, Error, or other(...). */
export function exactClass(e) {
  for (const C of [TypeError, RangeError, Error]) if (e !== null && typeof e === "object" && Object.getPrototypeOf(e) === C.prototype) return C.name;
  return `other(${e?.constructor?.name ?? typeof e})`;
}

export function jsErr(e) {
  return { e: exactClass(e), code: e?.code, m: String(e?.message ?? e) };
}

export function outValue(v) {
  if (v instanceof Uint8Array) return { hex: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  return v === undefined ? null : v;
}

export function md5(b) {
  return crypto.createHash("md5").update(b).digest("hex");
}

function jsState(m, fd) {
  const s = { c: m.closed };
  if (!s.c) {
    s.p = m.tell();
    s.l = m.length;
    s.h = md5(m.slice()); // a copy: works with and without views (MEMMAP_NO_EXTERNAL_BUFFERS=1)
  }
  if (fd !== null) s.f = fs.fstatSync(fd).size;
  return s;
}

/**
 * Mutants make memmap deliberately wrong, to check that the fuzzer notices and shrinks
 * (used by the self-test in fuzz.test.mjs; never in a real run).
 */
export const MUTANTS = {
  /** readline loses its last byte: a wrong value. */
  readline: { op: "readline", after: (m, v) => (v.length > 0 ? v.subarray(0, v.length - 1) : v) },
  /** readByte at the end throws TypeError instead of RangeError: a wrong error class. */
  readByte: {
    op: "readByte",
    error: (e) => {
      if (e instanceof RangeError) {
        const t = new TypeError(e.message);
        t.code = e.code;
        return t;
      }
      return e;
    },
  },
  /** writeByte does not advance the position: a wrong state. */
  writeByte: {
    op: "writeByte",
    after: (m, v) => {
      m.seek(-1, 1);
      return v;
    },
  },
};

/** Runs a program through memmap; `record` receives the resolved arguments of each op. */
export function runMemmap(prog, dir, { mutant, record } = {}) {
  const sp = prog.map;
  const out = { ops: [] };
  let fd = null;
  let file = null;
  let m = null;
  const mut = mutant ? MUTANTS[mutant] : undefined;
  try {
    if (sp.kind === "file") {
      file = path.join(dir, `js-${prog.id}.bin`);
      fs.writeFileSync(file, Buffer.from(sp.file, "hex"));
      fd = fs.openSync(file, sp.fdmode === "r" ? "r" : "r+");
    }
    const opts = {};
    for (const k of ["flags", "prot", "access", "offset", "trackfd"]) if (k in sp) opts[k] = sp[k];
    try {
      m = new MMap(fd ?? -1, sp.len, opts);
      out.ctor = { v: null };
    } catch (e) {
      out.ctor = jsErr(e);
      return out;
    }
    if (sp.init) m.setSlice(0, m.length, Buffer.from(sp.init, "hex"));
    for (const o of prog.ops) {
      let r;
      const resolved = [];
      const bad = [];
      let floats = false;
      let mayBad = false;
      try {
        const a = o.args;
        let args;
        if (o.op === "setSlice") {
          const [s, e, step] = [a[0], a[1], a[3]].map((t) => (t === undefined ? undefined : jsVal(t, m)));
          args = [s, e, jsVal(a[2], m, [s ?? null, e ?? null, step ?? null])];
          if (a.length > 3) args.push(step);
        } else args = a.map((t) => jsVal(t, m));
        resolved.push(...args);
        OPS[o.op].params.forEach((p, i) => {
          const e = argError(args[i], p);
          if (e !== null) bad.push(e);
          if (beyondSsize(args[i], p)) mayBad = true;
          if (p.kind !== "bytes" && typeof args[i] === "number" && !Number.isInteger(args[i])) floats = true;
        });
        let v;
        if (o.op === "length") v = m.length;
        else if (o.op === "closed") v = m.closed;
        else v = m[o.op](...args);
        if (mut?.op === o.op && mut.after) v = mut.after(m, v);
        r = { v: outValue(v) };
      } catch (e) {
        r = jsErr(mut?.op === o.op && mut.error ? mut.error(e) : e);
      }
      record?.(resolved);
      out.ops.push({ r, s: jsState(m, fd), bad, mayBad, floats });
    }
  } finally {
    m?.close();
    if (fd !== null) {
      fs.closeSync(fd);
      const data = fs.readFileSync(file);
      out.file = { size: data.length, md5: md5(data) };
    }
    if (file !== null) fs.rmSync(file, { force: true });
  }
  return out;
}

// ============================================================================ comparing

/** What memmap must have done for one op, from CPython's result and the rules. */
function judgeOp(prog, o, p, py, pyState, js, jsOp, applied) {
  const use = (name) => {
    if (!RULES.has(name)) throw new Error(`unknown rule ${name}`);
    applied[name] = (applied[name] ?? 0) + 1;
  };
  for (const name of p.rules) use(name);
  if (jsOp.floats) use("float");
  if (jsOp.bad.length > 0) {
    use("arg-before-state");
    const allowed = new Set(jsOp.mayBad ? [...jsOp.bad, RANGE] : jsOp.bad);
    const ok = js.e !== undefined && allowed.has(`${js.e} ${js.code}`);
    if (!ok) return { want: `an argument error: ${[...allowed].join(" or ")}` };
    if (py.e === undefined && py.skip !== "jsonly") return { want: "(CPython accepted these arguments)" };
    return null;
  }
  if (py.skip === "jsonly") return { want: "(a JavaScript-only argument type that memmap accepted?)" };
  if (jsOp.mayBad && py.e !== undefined && js.e === "RangeError" && js.code === "ERR_OUT_OF_RANGE") {
    use("arg-before-state");
    return null;
  }
  if (py.skip === "resize0") {
    use("resize-zero");
    return js.e === "RangeError" && js.code === "ERR_OUT_OF_RANGE" ? null : { want: "RangeError ERR_OUT_OF_RANGE" };
  }
  if (py.skip === "grow-shared-anon") {
    use("grow-shared-anon");
    return js.e === "TypeError" && js.code === "ERR_MMAP_NOT_RESIZABLE" ? null : { want: "TypeError ERR_MMAP_NOT_RESIZABLE" };
  }
  if (py.skip === "madvise-remove-readonly") {
    use("madvise-remove-readonly");
    return js.e === "Error" && (js.code === "EACCES" || js.code === "EINVAL") ? null : { want: "Error EACCES" };
  }
  if (py.skip !== undefined) return { want: `unknown skip ${py.skip}` };
  if (o.op === "madvise" && py.errno !== undefined && !KNOWN_ADVICE.has(o.args[0])) {
    use("madvise-unknown-advice");
    return js.e === "RangeError" && js.code === "ERR_INVALID_ARG_VALUE" ? null : { want: "RangeError ERR_INVALID_ARG_VALUE" };
  }
  if (py.undone) use("failed-resize-undone");
  if (py.flushToEnd) use("flush-to-end");
  if (py.e !== undefined) {
    if (o.op === "size" && py.errno === "EBADF" && prog.map.trackfd === false) {
      use("size-no-fd");
      return js.e === "Error" && js.code === "ERR_MMAP_NO_FD" ? null : { want: "Error ERR_MMAP_NO_FD" };
    }
    if (o.op === "size" && py.errno === "EBADF" && prog.map.kind === "anon") {
      use("size-anonymous");
      return isDeepStrictEqual(js, { v: pyState.l }) ? null : { want: `the value ${pyState.l}` };
    }
    const x = expectedError(py);
    if (x.rule) use(x.rule);
    return js.e === x.cls && x.codes.includes(js.code) ? null : { want: `${x.cls} ${x.codes.join(" or ")}` };
  }
  return js.e === undefined && isDeepStrictEqual(js.v, py.v) ? null : { want: `the value ${JSON.stringify(py.v)}` };
}

/**
 * Compares one program's two runs, counting into `stats`. Returns the first difference
 * (later ones would only follow from it), or null.
 */
export function compareProgram(prog, py, jsRaw, stats) {
  // Compared as JSON, as CPython's side arrives: -0 (from seek(-0), find(b"", -0)) equals 0.
  const js = JSON.parse(JSON.stringify(jsRaw));
  // sig: where (the operation, "ctor" or "file"); kind: sig and both outcomes, which tells
  // one bug from another (reports are per kind, and shrinking keeps the kind).
  const outcome = (r) => (r === undefined ? "" : r.skip !== undefined ? `skip ${r.skip}` : r.e !== undefined ? `${r.e} ${r.code ?? r.errno ?? ""}`.trim() : "value");
  const where = (k, extra) => ({
    sig: k,
    kind: `${k} | CPython ${outcome(extra.cpython)} | memmap ${outcome(extra.memmap)}${extra.stateCPython ? " | state" : ""}`,
    ...extra,
  });
  const ctorPy = py.ctor;
  const ctorJs = js.ctor;
  stats.programs++;
  if (ctorPy.e !== undefined || ctorJs.e !== undefined) {
    stats.ctorErrors++;
    const x = ctorPy.e !== undefined ? expectedError(ctorPy) : null;
    const ok = x === null ? ctorJs.e === undefined : ctorJs.e === x.cls && x.codes.includes(ctorJs.code);
    if (!ok) return where("ctor", { index: -1, cpython: ctorPy, memmap: ctorJs, want: x ? `${x.cls} ${x.codes.join(" or ")}` : "success" });
    return null;
  }
  stats.maps[mapLabel(prog.map)] = (stats.maps[mapLabel(prog.map)] ?? 0) + 1;
  for (let i = 0; i < prog.ops.length; i++) {
    const o = prog.ops[i];
    const p = plan(o);
    const a = py.ops[i];
    const b = js.ops[i];
    const s = (stats.ops[o.op] ??= { n: 0, values: 0, errors: 0, skipped: 0 });
    s.n++;
    stats.total++;
    if (b.r.e !== undefined) s.errors++;
    else s.values++;
    if (a.r.skip !== undefined) s.skipped++;
    const bad = judgeOp(prog, o, p, a.r, a.s, b.r, b, stats.applied);
    if (bad !== null) return where(o.op, { index: i, op: o, cpython: a.r, memmap: b.r, want: bad.want });
    if (!isDeepStrictEqual(a.s, b.s)) return where(o.op, { index: i, op: o, cpython: a.r, memmap: b.r, want: "the same state", stateCPython: a.s, stateMemmap: b.s });
  }
  if (!isDeepStrictEqual(py.file, js.file)) return where("file", { index: prog.ops.length, fileCPython: py.file, fileMemmap: js.file, want: "the same file" });
  return null;
}

function mapLabel(sp) {
  const parts = [sp.kind];
  if (sp.access !== undefined) parts.push(["DEFAULT", "READ", "WRITE", "COPY"][sp.access] ?? `access ${sp.access}`);
  if (sp.prot !== undefined) parts.push(`prot ${sp.prot}`);
  if (sp.flags === MAP_PRIVATE) parts.push("MAP_PRIVATE");
  if (sp.offset) parts.push(`offset ${sp.offset}`);
  if (sp.trackfd === false) parts.push("trackfd false");
  return parts.join(" ");
}

export function newStats() {
  return { programs: 0, total: 0, ctorErrors: 0, ops: {}, maps: {}, applied: {} };
}

/** Runs and compares programs; returns the mismatches (with their programs). */
export function evaluate(progs, dir, { mutant, stats = newStats() } = {}) {
  const pys = runCPython(progs, dir);
  const out = [];
  progs.forEach((prog, i) => {
    const js = runMemmap(prog, dir, { mutant });
    const mm = compareProgram(prog, pys[i], js, stats);
    out.push(mm);
  });
  return out;
}

// ============================================================================ shrinking

/** How complicated a tagged value is (a replacement must be strictly simpler). */
function rank(t) {
  if (isU(t)) return 0;
  if (typeof t === "number") return Number.isInteger(t) ? (t === 0 ? 1 : t === 1 ? 2 : Math.abs(t) <= 10 ? 3 : 5) : 6;
  if (t === null) return 4;
  switch (t.$) {
    case "len":
    case "pos":
      return 4 + (t.d === 0 ? 0 : 0.5) + (t.neg ? 0.5 : 0);
    case "bytes":
      return 4 + t.hex.length / 2 + (t.as === "buffer" ? 0 : 0.5);
    case "needle":
      return 5 + Math.max(0, t.b - t.a) + t.x.length / 2 + (t.as === "buffer" ? 0 : 0.5);
    case "sized":
      return 6 + Math.abs(t.d) + (t.as === "buffer" ? 0 : 0.5);
    case "str":
      return 4 + t.v.length;
    default:
      return 7;
  }
}

function simpler(t) {
  const c = [U, 0, 1, -1, null, { $: "len", d: 0 }, { $: "pos", d: 0 }];
  if (t !== null && typeof t === "object") {
    if (t.$ === "bytes") {
      c.push({ ...t, as: "buffer" }, { ...t, hex: t.hex.slice(0, t.hex.length / 2 - ((t.hex.length / 2) % 2)) }, { ...t, hex: t.hex.slice(2) }, { ...t, hex: t.hex.slice(0, -2) });
    }
    if (t.$ === "needle") {
      c.push({ ...t, as: "buffer" }, { ...t, x: "" }, { ...t, b: t.b - 1 }, { ...t, a: t.a + 1 }, { $: "bytes", hex: "", as: "buffer" });
    }
    if (t.$ === "sized") c.push({ ...t, as: "buffer" }, { ...t, d: 0 });
    if (t.$ === "len" || t.$ === "pos") c.push({ ...t, d: 0 }, { ...t, neg: false });
    if (t.$ === "str") c.push({ ...t, v: t.v.slice(1) }, { ...t, v: t.v.slice(0, -1) });
  }
  if (typeof t === "number" && Math.abs(t) > 1) c.push(Math.trunc(t / 2), -t);
  c.push({ $: "bytes", hex: "", as: "buffer" }, { $: "bytes", hex: "61", as: "buffer" });
  const r0 = rank(t);
  return c.filter((x) => rank(x) < r0);
}

/**
 * The state of a shrinking (shared with multi.mjs): the smallest program yet that shows a
 * mismatch of the kind of `first` (operation and outcomes), and the moves on it. `run(cands)`
 * evaluates candidates (one round: one CPython process) and returns their mismatches; at most
 * `budget` rounds run.
 */
export function shrinker(prog, first, budget, run) {
  const S = {
    best: prog,
    bestMm: first,
    rounds: 0,
    /** Runs the candidates; the first that keeps the mismatch's kind becomes the best. */
    tryAll(cands) {
      if (cands.length === 0 || S.rounds >= budget) return false;
      S.rounds++;
      const res = run(cands);
      const i = res.findIndex((mm) => mm !== null && mm.kind === first.kind);
      if (i < 0) return false;
      S.best = cands[i];
      S.bestMm = res[i];
      return true;
    },
    withOps: (ops) => ({ ...S.best, ops }),
    /** Drops the operations after the mismatching one. */
    cut() {
      if (S.bestMm.index >= 0 && S.bestMm.index < S.best.ops.length - 1) S.tryAll([S.withOps(S.best.ops.slice(0, S.bestMm.index + 1))]);
    },
    /** Removes operations (ddmin: complements of n chunks) while more than `min` are left. */
    dropOps(min) {
      let n = 2;
      while (S.best.ops.length > min && S.rounds < budget) {
        const ops = S.best.ops;
        const size = Math.max(1, Math.ceil(ops.length / n));
        const cands = [];
        for (let s = 0; s < ops.length; s += size) cands.push(S.withOps([...ops.slice(0, s), ...ops.slice(s + size)]));
        if (S.tryAll(cands)) {
          S.cut();
          n = Math.max(2, n - 1);
        } else if (size === 1) break;
        else n = Math.min(S.best.ops.length, n * 2);
      }
    },
    result: () => ({ prog: S.best, mismatch: S.bestMm, rounds: S.rounds }),
  };
  return S;
}

/**
 * Delta-debugs a mismatching program: fewer operations, simpler arguments, a simpler map,
 * keeping a mismatch of the same kind (operation and outcomes). Candidates of one round
 * run in one CPython process.
 */
export function shrink(prog, first, dir, { mutant, budget = 120 } = {}) {
  const S = shrinker(prog, first, budget, (cands) => evaluate(cands, dir, { mutant }));
  const { tryAll, withOps } = S;
  S.cut();
  for (let pass = 0; pass < 4; pass++) {
    const before = JSON.stringify(S.best);
    // 1. remove operations
    S.dropOps(0);
    // 2. simpler arguments, then fewer trailing ones
    for (let again = true; again && S.rounds < budget; ) {
      const cands = [];
      S.best.ops.forEach((o, i) => {
        o.args.forEach((t, j) => {
          for (const x of simpler(t)) {
            const ops = S.best.ops.slice();
            const args = o.args.slice();
            args[j] = x;
            ops[i] = { ...o, args };
            cands.push(withOps(ops));
          }
        });
        if (o.args.length > 0 && isU(o.args[o.args.length - 1])) {
          const ops = S.best.ops.slice();
          ops[i] = { ...o, args: o.args.slice(0, -1) };
          cands.push(withOps(ops));
        }
      });
      again = tryAll(cands);
    }
    // 3. a simpler map
    for (let again = true; again && S.rounds < budget; ) {
      const sp = S.best.map;
      const maps = [];
      for (const k of ["trackfd", "prot", "flags", "access", "offset", "fdmode"]) {
        if (k in sp) {
          const c = { ...sp };
          delete c[k];
          maps.push(c);
        }
      }
    if (sp.init) {
        maps.push({ ...sp, init: undefined });
        if (sp.init !== "61".repeat(sp.len)) maps.push({ ...sp, init: "61".repeat(sp.len) });
      }
      if (sp.kind === "anon" && sp.len > 8) {
        for (const len of [1, 4, 8, Math.floor(sp.len / 2)]) maps.push({ ...sp, len, init: sp.init ? sp.init.slice(0, 2 * len) : undefined });
      }
      if (sp.kind === "file") {
        const flen = sp.file.length / 2;
        for (const len of new Set([1, sp.len >> 1])) if (sp.len > len && len > 0) maps.push({ ...sp, len });
        if (sp.file !== "61".repeat(flen)) maps.push({ ...sp, file: "61".repeat(flen) });
        // A shorter file that still holds the map: the shortest first, then bisecting.
        const lo = Math.max(1, (sp.offset ?? 0) + (sp.len > 0 ? sp.len : 1));
        const keeps = new Set([lo, lo + ((flen - lo) >> 2), lo + ((flen - lo) >> 1), flen - 1]);
        for (const keep of keeps) if (keep >= lo && keep < flen) maps.push({ ...sp, file: sp.file.slice(0, 2 * keep) });
      }
      for (const c of maps) if (c.init === undefined) delete c.init;
      again = tryAll(maps.map((map) => ({ ...S.best, map })));
    }
    if (JSON.stringify(S.best) === before) break;
  }
  return S.result();
}

// ============================================================================ snippets

/** A JavaScript expression for bytes given as hex (a repeated byte is written short). */
export function jsBytes(hex) {
  const b = Buffer.from(hex, "hex");
  if (b.length > 8 && b.every((x) => x === b[0])) return `Buffer.alloc(${b.length}, 0x${b[0].toString(16)})`;
  return `Buffer.from("${hex}", "hex")`;
}

/** The same in Python. */
export function pyBytes(hex) {
  const b = Buffer.from(hex, "hex");
  if (b.length > 8 && b.every((x) => x === b[0])) return `bytes([0x${b[0].toString(16)}]) * ${b.length}`;
  return `bytes.fromhex("${hex}")`;
}

function jsLit(v) {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  if (typeof v === "number") {
    if (Object.is(v, -0)) return "-0";
    if (Number.isNaN(v)) return "NaN";
    if (!Number.isFinite(v)) return v > 0 ? "Infinity" : "-Infinity";
    if (Math.abs(v) > MAX_SAFE) return v < 0 ? `-(2 ** ${Math.log2(-v)})` : `2 ** ${Math.log2(v)}`;
    return String(v);
  }
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string" || typeof v === "boolean") return JSON.stringify(v);
  if (Buffer.isBuffer(v)) return jsBytes(v.toString("hex"));
  if (v instanceof Uint8Array) return `new Uint8Array(Buffer.from("${Buffer.from(v).toString("hex")}", "hex"))`;
  if (v instanceof ArrayBuffer) return `Uint8Array.from(Buffer.from("${Buffer.from(v).toString("hex")}", "hex")).buffer`;
  if (v instanceof DataView) return `new DataView(Uint8Array.from(Buffer.from("${Buffer.from(v.buffer).toString("hex")}", "hex")).buffer)`;
  if (Array.isArray(v)) return `[${v.map(jsLit).join(", ")}]`;
  return "{}";
}

function pyLit(v) {
  if (v === undefined || v === null) return "None";
  if (typeof v === "number") {
    if (Object.is(v, -0)) return "0";
    if (Number.isNaN(v)) return 'float("nan")';
    if (!Number.isFinite(v)) return v > 0 ? 'float("inf")' : 'float("-inf")';
    if (Math.abs(v) > MAX_SAFE) return `${v < 0 ? "-" : ""}2 ** ${Math.log2(Math.abs(v))}`;
    return String(v);
  }
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "bigint") return String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (v instanceof Uint8Array || v instanceof ArrayBuffer || v instanceof DataView) {
    const b = v instanceof DataView ? Buffer.from(v.buffer) : Buffer.from(v instanceof ArrayBuffer ? new Uint8Array(v) : v);
    return pyBytes(b.toString("hex"));
  }
  if (Array.isArray(v)) return `[${v.map(pyLit).join(", ")}]`;
  return "{}";
}

/** The first lines of a JavaScript reproduction (after its title): imports, and show(), which prints a value or an error's class and code. */
export const JS_PRELUDE = [
  `import fs from "node:fs";`,
  `import { MMap } from "${DIST}";`,
  `const show = (f) => { try { const v = f(); console.log(v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v); } catch (e) { console.log(e.constructor.name, e.code); } };`,
];

/** show() of a Python reproduction: prints a value (bytes as hex) or an exception's class and message. */
export const PY_SHOW = [
  `def show(f):`,
  `    try:`,
  `        v = f()`,
  `        print(v.hex() if isinstance(v, (bytes, bytearray)) else v)`,
  `    except Exception as e:`,
  `        print(type(e).__name__, e)`,
];

/** The ready-to-run JavaScript and Python reproductions of a program. */
export function snippets(prog, dir) {
  const recorded = [];
  runMemmap(prog, dir, { record: (a) => recorded.push(a) });
  const sp = prog.map;
  const file = path.join(os.tmpdir(), `memmap-fuzz-${prog.seed}-${prog.id}.bin`);
  const opts = ["flags", "prot", "access", "offset", "trackfd"].filter((k) => k in sp);
  const js = [
    `// memmap fuzz reproduction: seed ${prog.seed}, program ${prog.id}`,
    ...JS_PRELUDE,
  ];
  const py = [
    `# CPython 3.13 (PYENV_VERSION=3.13.0 python3): seed ${prog.seed}, program ${prog.id}`,
    `import mmap, os`,
    ...PY_SHOW,
  ];
  let fdJs = "-1";
  let fdPy = "-1";
  if (sp.kind === "file") {
    js.push(`fs.writeFileSync(${JSON.stringify(file)}, ${jsBytes(sp.file)});`);
    js.push(`const fd = fs.openSync(${JSON.stringify(file)}, "${sp.fdmode === "r" ? "r" : "r+"}");`);
    py.push(`with open(${JSON.stringify(file)}, "wb") as f:`, `    f.write(${pyBytes(sp.file)})`);
    py.push(`fd = os.open(${JSON.stringify(file)}, os.${sp.fdmode === "r" ? "O_RDONLY" : "O_RDWR"})`);
    fdJs = fdPy = "fd";
  }
  js.push(`const m = new MMap(${fdJs}, ${sp.len}${opts.length ? `, { ${opts.map((k) => `${k}: ${jsLit(sp[k])}`).join(", ")} }` : ""});`);
  py.push(`m = mmap.mmap(${fdPy}, ${sp.len}${opts.map((k) => `, ${k}=${pyLit(sp[k])}`).join("")})`);
  if (sp.init) {
    js.push(`m.setSlice(0, m.length, ${jsBytes(sp.init)});`);
    py.push(`m[:] = ${pyBytes(sp.init)}`);
  }
  prog.ops.forEach((o, i) => {
    const a = recorded[i] ?? [];
    const call =
      o.op === "length" ? "m.length" : o.op === "closed" ? "m.closed" : `m.${o.op}(${a.map(jsLit).join(", ")})`;
    js.push(`show(() => ${call});`);
    const p = plan(o);
    if (p.jsOnly) {
      py.push(`# not run in CPython (js-only-types): ${call}`);
      return;
    }
    // The CPython arguments, with run-time values as memmap resolved them (the states agree
    // up to the mismatch), and memmap's defaults written as CPython expressions.
    const res = new Map();
    o.args.forEach((t, j) => res.set(t, a[j])); // recorded in the order of o.args
    const lit = (t) => {
      if (t === null) return "None";
      if (typeof t === "object" && t.$ === "tell") return "m.tell()";
      if (typeof t === "object" && t.$ === "size315") {
        const v = isU(t.v) ? -1 : res.has(t.v) ? res.get(t.v) : jsVal(t.v, null);
        return v === -1 ? `len(m) - ${lit(t.off)}` : pyLit(v);
      }
      if (typeof t === "object" && t.$ === "pybytes") return pyBytes(t.hex);
      if (typeof t === "object" && t.$ === "str") return JSON.stringify(t.v);
      if (typeof t === "object" && (t.$ === "arr" || t.$ === "obj" || t.$ === "bool" || t.$ === "bigint")) return pyLit(jsVal(t, null));
      if (res.has(t)) return pyLit(res.get(t));
      return pyLit(jsVal(t, null));
    };
    const A = p.pyArgs.map(lit);
    let pc;
    switch (o.op) {
      case "get":
        pc = `m[${A[0]}]`;
        break;
      case "set":
        pc = `m.__setitem__(${A[0]}, ${A[1]})`;
        break;
      case "slice":
        pc = `m[slice(${A.join(", ")})]`;
        break;
      case "setSlice":
        pc = `m.__setitem__(slice(${A[0]}, ${A[1]}, ${A[2]}), ${A[3]})`;
        break;
      case "length":
        pc = "len(m)";
        break;
      case "closed":
        pc = "m.closed";
        break;
      default:
        pc = `m.${p.pyOp}(${A.join(", ")})`;
    }
    py.push(`show(lambda: ${pc})`);
  });
  js.push(`console.log(m.closed ? "closed" : [m.tell(), m.length, m.slice().toString("hex")]);`);
  js.push(`m.close();`);
  py.push(`print("closed" if m.closed else (m.tell(), len(m), m[:].hex()))`);
  py.push(`m.close()`);
  if (sp.kind === "file") {
    js.push(`fs.closeSync(fd);`, `console.log(fs.readFileSync(${JSON.stringify(file)}).toString("hex"));`, `fs.rmSync(${JSON.stringify(file)});`);
    py.push(`os.close(fd)`, `print(open(${JSON.stringify(file)}, "rb").read().hex())`, `os.unlink(${JSON.stringify(file)})`);
  }
  return { js: js.join("\n") + "\n", py: py.join("\n") + "\n" };
}

// ============================================================================ batches

/** Runs fn(dir) in a new directory under `tmpdir`, removed afterwards (shared with multi.mjs). */
export function inTempDir(tmpdir, prefix, fn) {
  const dir = fs.mkdtempSync(path.join(tmpdir, prefix));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The mismatches of a batch, for its summary (shared with multi.mjs): how many programs
 * mismatched, how many of each kind (in order of appearance), and the reports: the first
 * mismatch of each kind among `found` ({prog, mismatch}) that `keep` accepts, at most
 * `maxReports`, shrunk and with its reproductions.
 */
export function mismatchSummary(found, { maxReports, keep = () => true, shrink, snippets }) {
  const reports = [];
  const seen = new Set();
  for (const f of found) {
    if (reports.length >= maxReports) break;
    if (seen.has(f.mismatch.kind) || !keep(f.mismatch)) continue;
    seen.add(f.mismatch.kind);
    const s = shrink(f.prog, f.mismatch);
    reports.push({ original: { id: f.prog.id, ops: f.prog.ops.length }, ...s, ...snippets(s.prog) });
  }
  return {
    mismatchingPrograms: found.length,
    mismatchKinds: [...found.reduce((m, f) => m.set(f.mismatch.kind, (m.get(f.mismatch.kind) ?? 0) + 1), new Map())].map(([kind, programs]) => ({ kind, programs })),
    mismatches: reports,
  };
}

/**
 * Runs a batch of at least `ops` operations from `seed`; returns the summary, with the first
 * mismatch of each kind (operation and outcomes) shrunk, at most `maxReports` of them (only those at the
 * operation `only` when given), and their snippets.
 */
export function fuzz({ seed = 1, ops = 20000, maxOps = 40, chunk = 400, mutant, only, maxReports = 3, budget, tmpdir = os.tmpdir(), log = () => {} } = {}) {
  return inTempDir(tmpdir, "memmap-fuzz-", (dir) => {
    const t0 = Date.now();
    const stats = newStats();
    const found = [];
    let index = 0;
    // Until `ops` operations were compared (those after a program's first mismatch are not).
    while (stats.total < ops) {
      const progs = [];
      for (let planned = stats.total; planned < ops && progs.length < chunk; ) {
        const p = genProgram(seed, index++, maxOps);
        planned += p.ops.length;
        progs.push(p);
      }
      const res = evaluate(progs, dir, { mutant, stats });
      res.forEach((mm, i) => {
        if (mm !== null) found.push({ prog: progs[i], mismatch: mm });
      });
      log(`${stats.total} operations, ${found.length} mismatching programs`);
    }
    return {
      seed,
      programs: stats.programs,
      ops: stats.total,
      ctorErrors: stats.ctorErrors,
      perOp: stats.ops,
      maps: stats.maps,
      applied: stats.applied,
      ...mismatchSummary(found, {
        maxReports,
        keep: (mm) => only === undefined || mm.sig === only,
        shrink: (prog, mm) => shrink(prog, mm, dir, { mutant, budget }),
        snippets: (prog) => snippets(prog, dir),
      }),
      ms: Date.now() - t0,
    };
  });
}
