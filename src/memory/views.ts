/**
 * Memory reached through views: external ArrayBuffers over the mapping itself. A map that fits
 * in one Buffer gets one view of the whole map once it has been accessed a few times (single
 * native calls before: see deferFor); a larger one is reached through overlapping segments.
 * Every view is detached by the addon on close or resize.
 *
 * Two sets of views, never mixed: memmap's own, which the methods read and write and which never
 * reach user code (so nobody else can detach, transfer or lend them to a thread), and the exposed
 * ones that `buffer`, `subarray` and the like hand out. The addon keeps the addresses of an exposed
 * view reserved until nothing can use them (native/region.h); its own views cost nothing at close.
 * An exposed view that someone else detached (`ArrayBuffer.prototype.transfer()`) is replaced
 * by a new one the next time it is asked for.
 * Internal: not exported from the package.
 * @module
 */
import { native, type Handle } from "../binding.js";
import { rangeError, systemError } from "../errors.js";
import { platform } from "../platform.js";
import { spanOf, type Slice } from "../slices.js";
import { FastBuffer, Memory, allocCopy, allocResult, checked, copyOf, tooLarge, viewsUnavailable, type LineWindow } from "./base.js";
import { lengthField } from "../truncation.js";
import { byteLength, bytesAt } from "../validate.js";

/**
 * How a map larger than one Buffer is cut: segment k covers [k * stride, k * stride + segment),
 * so any range of at most `segment - stride` bytes lies inside the segment where it starts.
 */
export interface Geometry {
  /** The largest single view. */
  readonly maxView: number;
  readonly segment: number;
  readonly stride: number;
}

/** The geometry for views of at most `maxView` bytes (segments of at most 2 GiB). */
export function geometry(maxView: number): Geometry {
  const segment = Math.min(2 ** 31, maxView);
  return Object.freeze({ maxView, segment, stride: Math.floor(segment / 2) });
}

const DEFAULT_GEOMETRY = geometry(platform.maxView);
/**
 * memmap's own whole view of a map is made only once the native calls made instead would have
 * cost about what the view costs (the ski-rental rule: never more than twice the better choice);
 * until then each access is one native call (the copying mode's), counted in units of a byte
 * access's extra cost over the view (~60 ns; a copy counts COPY_COST, a line LINE_COST).
 * - Up to platform.eagerView (8 MiB): making the view and detaching it at close() or resize()
 *   cost about as much as 8 native calls (callgrind: ~4,000 instructions against ~450).
 * - Under 32 MiB: the same, but V8 counts the whole length of an external ArrayBuffer as memory
 *   it could free, and several such views together can start a collection: 64.
 * - From 32 MiB: V8 starts a full collection when what it counts grows by more than 64 MiB since
 *   the last one (docs/performance.md, "Mapped memory and V8's garbage collector"), so a view of
 *   64 MiB or more starts one as it is made, whatever the addon tells V8 (measured: a 64 MiB view
 *   made after 32 random reads started one in every run, a 63 MiB one in none, in a process
 *   doing nothing else), and one of half that step or more needs only as much again from the
 *   rest of the process (any Buffer, another map's view). A collection costs ~3 ms of the main
 *   thread's time on an empty heap, more on a large one, and the collector's threads besides:
 *   as much as ~16,000 byte accesses through native calls (measured on a 1 GiB map: 58 ns more
 *   a byte, 93 ns a read(64), 205 ns a readline). A map read sparsely (a few thousand random
 *   reads) then never makes V8 collect; one used in earnest pays the collection once, after at
 *   most as much again in native calls, and then runs at full speed.
 * A map touched a few times between resizes (or before close()) makes no view at all.
 */
const DEFER_SMALL = 8;
const DEFER_LARGE = 64;
const DEFER_HUGE = 16384;
/**
 * A view this long or longer takes at least half of V8's external-memory step (64 MiB) at once:
 * with as much again from anything else in the process, or alone from 64 MiB, it starts a full
 * collection as it is made.
 */
const COLLECTING_VIEW = 32 * 1024 * 1024;
/**
 * What a copy (read, slice, write) and a line (readline) count against the deferral: see above.
 * A line counts 64: through native calls it costs ~200 ns more than through the view once V8
 * has optimized both paths, but 1-3 us more in a process whose readline has yet to be optimized
 * (its first thousands of lines), and lines read that way put off the optimization of the view's
 * path. Counting 4, a single pass over a 256 MiB map read its first 4,096 lines natively and took
 * 92-98 ns a line; counting 64 (256 lines), 81-84 (CPython 76-84); the view's cost is unchanged.
 */
const COPY_COST = 2;
const LINE_COST = 64;
/**
 * Copies of this many bytes or more, into the map or out of it, are one native call (mm_copy in
 * native/search.c) rather than the engine's TypedArray#set: glibc's memmove, which the engine
 * calls, is 2-20x slower where the destination lies 1-255 bytes past the source modulo 4 KiB, as
 * a Buffer of 128 KiB or more (malloc's own mmap, 16 bytes past a page) does for a read at a
 * page-aligned position. The call costs ~0.2 us, under 5 % of a 64 KiB copy.
 */
const NATIVE_COPY_MIN = 64 * 1024;

/** The accesses through native calls (in byte-access units) before a map of `length` bytes gets memmap's own view. */
function deferFor(length: number): number {
  return length >= COLLECTING_VIEW ? DEFER_HUGE : length > platform.eagerView ? DEFER_LARGE : DEFER_SMALL;
}
/** While the view is deferred, text of up to this many bytes is copied out; longer text makes the view. */
const TEXT_COPY_MAX = 64 * 1024;
/** Buffer#indexOf is trusted on views up to this length (Node 22+ mishandles offsets from 2^31). */
const INDEX_OF_MAX = 2 ** 31;
const EMPTY = Buffer.alloc(0);
/**
 * How a view's Buffer is made (#makeView): Node's FastBuffer constructor, or, where the engine is
 * JavaScriptCore (Bun, whose FastBuffer is Buffer itself, with its legacy forms), `Buffer.from` as
 * it was when memmap loaded.
 */
const JSC = platform.engine === "jsc";
const bufferFrom: (ab: ArrayBuffer) => Buffer = Buffer.from.bind(Buffer);
/** Buffer#indexOf, called on the view: no property lookup on the hot path. */
const indexOf = Buffer.prototype.indexOf;
/** The largest copy (a module-local constant: folded into optimized code). */
const MAX_COPY = platform.maxBuffer;

/** One string of text() over [a, b) of the map. */
interface Text {
  readonly a: number;
  readonly b: number;
  readonly s: string;
}
/**
 * readline's window over the map: memmap's own bytes [base, base + n), where it searches for the
 * next newline and copies the line from.
 * - `s`, where the runtime makes strings over mapped memory (externalText): the window as such a
 *   string (Latin-1, one character a byte), searched with String#indexOf, which every engine runs
 *   natively (V8: a builtin calling memchr). Buffer#indexOf is as fast only where Node makes it a
 *   fast API call (Node 20); Node 22 and later call into C++ the slow way and Deno's is JavaScript:
 *   readline 155 -> 69 ns a line on Node 22, 116 -> 74 on Deno, the same on Node 20
 *   (docs/performance.md). Windows of up to the longest string, half of one apart, once the map
 *   has given LINE_TEXT_AFTER lines the other way.
 * - `buf` otherwise: the window as a Buffer for Buffer#indexOf: the whole view (maps up to
 *   INDEX_OF_MAX bytes), else window k of the whole view, or segment k.
 * `u` and `dv` are the same bytes as a Uint8Array and a DataView (for copyOf). A line starting in
 * a window has at least half of it (or the map's end) to end in; a longer one goes the general way.
 */
interface LineSpan {
  readonly base: number;
  readonly n: number;
  readonly s: string | null;
  readonly buf: Buffer | null;
  readonly u: Uint8Array;
  readonly dv: DataView;
}
/**
 * Lines a map gives through Buffer#indexOf before readline makes its string window: making the
 * string (a native call and a hold on the range) and retiring the range at close while the
 * string lives (one more system call) cost ~3 us, what ~250 lines save.
 */
const LINE_TEXT_AFTER = 256;
/** The shortest string window worth making (MEMMAP_SEARCH_WINDOW may make the longest string short). */
const LINE_TEXT_MIN = 256;

/** How many strings text() keeps per map: the whole map, or a window and the next one, and a few more. */
const TEXTS = 4;
/** text() makes strings over the mapped memory (until the runtime is found to copy them). */
let externalText = platform.externalText;

/** The views of one set (memmap's own, or exposed): the whole map, or segments of a larger one. */
interface ViewSet {
  /** The whole map as one view, once made; null while not made or when the map is larger than one view. */
  whole: Buffer | null;
  /** Segment views of a map larger than one view, by index. */
  segments: Map<number, Buffer> | null;
}

export class ViewMemory extends Memory {
  readonly #geo: Geometry;
  /** memmap's own views: read and written by the methods, never handed out. */
  readonly #own: ViewSet = { whole: null, segments: null };
  /**
   * The exposed views, cached: memmap's own Buffers over the memory it hands out, which never
   * reach user code themselves (what `subarray`, `lines()` and `view()` hand out is made from them,
   * and `buffer` is {@link #shown}), so that memmap reads the properties of no object user code
   * holds: own properties given to a Buffer it handed out (a lying `length` or `byteOffset`, a
   * `subarray` of its own) never reach another call.
   */
  readonly #exposed: ViewSet = { whole: null, segments: null };
  /** What `buffer` hands out: a Buffer of its own over the same memory as `#exposed.whole`, never read here. */
  #shown: Buffer | null = null;
  /** The same memory as #own.whole, as a plain Uint8Array (cheaper to take subarrays of), for copies. */
  #raw: Uint8Array | null = null;
  /** The same memory as a DataView, for short copies (copyOf); set with #raw. */
  #dv: DataView | null = null;
  /**
   * The last few strings over the map that text() made (external strings: each keeps the memory
   * under it mapped, or reserved once the map is closed or resized, until it is collected).
   * Forgotten by reset and release, so that a closed or resized map keeps none alive.
   */
  #texts: Text[] = [];
  /** Accesses left before the map gets memmap's own whole view (native calls meanwhile): see deferFor. */
  #defer: number;
  /** readline's window (see LineSpan); forgotten with the views. */
  #lineSpan: LineSpan | null = null;
  /** Lines readline may still give through Buffer#indexOf before it makes its string window. */
  #linesToText = LINE_TEXT_AFTER;

  constructor(handle: Handle, length: number, writable: boolean, geo: Geometry = DEFAULT_GEOMETRY) {
    super(handle, length, writable);
    this.#geo = geo;
    this.#defer = deferFor(length);
  }

  /**
   * A new view of [start, start + length); `exposed`: one for user code (see the module's comment).
   * Made without `Buffer.from`, which a program may have replaced: its replacement would receive
   * memmap's own views too, which are unmapped at close() whoever else holds them.
   */
  #makeView(start: number, length: number, exposed: boolean): Buffer {
    if (length === 0) return EMPTY;
    const ab = native.view(this.open(), start, length, exposed);
    if (ab === null) throw viewsUnavailable();
    if (typeof ab === "number") throw systemError(ab, "mmap view");
    return JSC ? bufferFrom(ab) : new FastBuffer(ab, 0, length);
  }

  /**
   * The whole map as one of memmap's own views, made once deferred; null when it is larger than one
   * view may be (segments), or while the view is deferred (#direct: native calls), which costs
   * the deferral `cost`. `bulk`: work over a range, for which the view pays off at once: no
   * deferring. Checks closed.
   */
  #ensureWhole(bulk = false, cost = 1): Uint8Array | null {
    const raw = this.#raw;
    if (raw !== null) return raw;
    this.open();
    if (this.length > this.#geo.maxView) return null;
    if (this.#defer > 0 && !bulk) {
      this.#defer -= cost;
      return null;
    }
    const whole = (this.#own.whole = this.#makeView(0, this.length, false));
    const made = (this.#raw = new Uint8Array(whole.buffer, whole.byteOffset, whole.length));
    this.#dv = new DataView(whole.buffer, whole.byteOffset, whole.length);
    this.lost();
    return made;
  }

  /** The whole map as an exposed view, made when first asked for, or again when someone detached it (transfer()). */
  #exposedWhole(): Buffer {
    const w = this.#exposed.whole;
    if (w !== null && w.length !== 0) return w;
    this.#shown = null;
    return (this.#exposed.whole = this.#makeView(0, this.length, true));
  }

  protected lost(): void {
    const raw = this.#raw;
    if (raw === null) return;
    this.fast = this.gone < this.length ? raw.subarray(0, this.gone) : raw;
    this.fastW = this.writable ? this.fast : null;
  }

  /** Segment k of a set (made again if someone detached an exposed one). */
  #segment(k: number, set: ViewSet = this.#own): Buffer {
    let segs = set.segments;
    if (segs === null) segs = set.segments = new Map();
    let s = segs.get(k);
    if (s === undefined || s.length === 0) {
      const base = k * this.#geo.stride;
      s = this.#makeView(base, Math.min(this.#geo.segment, this.length - base), set === this.#exposed);
      segs.set(k, s);
    }
    return s;
  }

  /** A zero-copy view of [a, b), without loss checks: memmap's own, or `exposed`. */
  #span(a: number, b: number, exposed: boolean): Buffer {
    if (this.length <= this.#geo.maxView) {
      if (exposed) return this.#exposedWhole().subarray(a, b);
      this.#ensureWhole(true);
      return (this.#own.whole as Buffer).subarray(a, b);
    }
    const { segment, stride, maxView } = this.#geo;
    if (b - a <= segment - stride) {
      const k = Math.floor(a / stride);
      return this.#segment(k, exposed ? this.#exposed : this.#own).subarray(a - k * stride, b - k * stride);
    }
    if (b - a > maxView) throw tooLarge("A view", b - a, maxView);
    return this.#makeView(a, b - a, exposed);
  }

  /** Calls fn on consecutive pieces of [a, b), each inside one segment: (view, offset from a). */
  #pieces(a: number, b: number, fn: (piece: Buffer, at: number) => void): void {
    const step = this.#geo.segment - this.#geo.stride;
    for (let p = a; p < b; ) {
      const q = Math.min(b, p + step);
      fn(this.#span(p, q, false), p - a);
      p = q;
    }
  }

  /** After #ensureWhole() gave null: the view is deferred, so bytes go through single native calls. */
  #direct(): boolean {
    return this.length <= this.#geo.maxView;
  }

  #get(i: number): number {
    const raw = this.#ensureWhole();
    if (raw !== null) return raw[i] as number;
    if (this.#direct()) return checked(native.getByte(this.open(), i), "memcpy");
    const k = Math.floor(i / this.#geo.stride);
    return this.#segment(k)[i - k * this.#geo.stride] as number;
  }

  #set(i: number, v: number): void {
    const raw = this.#ensureWhole();
    if (raw !== null) raw[i] = v;
    else if (this.#direct()) checked(native.setByte(this.open(), i, v), "memcpy");
    else {
      const k = Math.floor(i / this.#geo.stride);
      this.#segment(k)[i - k * this.#geo.stride] = v;
    }
  }

  byteAt(i: number): number {
    this.guard(i, i + 1);
    const v = this.#get(i);
    this.verify(i, i + 1);
    return v;
  }

  setByteAt(i: number, v: number): void {
    this.guard(i, i + 1);
    this.#set(i, v);
    this.verify(i, i + 1);
  }

  copy(a: number, b: number): Buffer {
    const n = b - a;
    if (n <= 0) return Buffer.alloc(0);
    if (n > platform.maxBuffer) throw tooLarge("A copy", n);
    this.guard(a, b);
    const raw = this.#ensureWhole(false, COPY_COST);
    let out: Buffer;
    if (n >= NATIVE_COPY_MIN || (raw === null && this.#direct())) checked(native.read(this.open(), a, (out = allocCopy(n))), "memcpy");
    else if (raw !== null) out = copyOf(raw, this.#dv as DataView, a, b);
    else {
      const dest = (out = allocResult(n));
      this.#pieces(a, b, (piece, at) => piece.copy(dest, at));
    }
    this.verify(a, b);
    return out;
  }

  put(at: number, src: Uint8Array): void {
    const n = byteLength(src);
    if (n === 0) return;
    this.guard(at, at + n);
    const raw = this.#ensureWhole(false, COPY_COST);
    // Without the whole view, in pieces only when one piece holds it all: the source may be a view
    // of this map overlapping the range, which pieces copied front to back would read after the
    // piece before had written over it (the addon's copy is a memmove).
    if (n >= NATIVE_COPY_MIN || (raw === null && (this.#direct() || n > this.#geo.segment - this.#geo.stride))) {
      checked(native.write(this.open(), at, src), "memcpy");
    } else if (raw !== null) raw.set(src, at);
    else this.#pieces(at, at + n, (piece, off) => piece.set(bytesAt(src, off, piece.length)));
    this.verify(at, at + n);
  }

  gather(slice: Slice): Buffer {
    const { start, step, count } = slice;
    const [lo, hi] = spanOf(slice);
    const out = allocResult(count);
    if (count === 0) return out;
    this.guard(lo, hi);
    const raw = this.#ensureWhole(true); // strided work over a range: the view pays off at once
    if (raw !== null) for (let i = 0, p = start; i < count; i++, p += step) out[i] = raw[p] as number;
    else for (let i = 0, p = start; i < count; i++, p += step) out[i] = this.#get(p);
    this.verify(lo, hi);
    return out;
  }

  scatter(slice: Slice, src: Uint8Array): void {
    const { start, step, count } = slice;
    if (count === 0) return;
    const [lo, hi] = spanOf(slice);
    this.guard(lo, hi);
    this.#ensureWhole(true);
    for (let i = 0, p = start; i < count; i++, p += step) this.#set(p, src[i] as number);
    this.verify(lo, hi);
  }

  /**
   * readline's path: one newline search in the window holding pos (see LineSpan), one copy, one
   * loss check for both. The end of the map takes the same path (no newline: an empty copy), so
   * that reaching it brings no new code into the optimized caller. Anything else (no view yet,
   * a lost tail, a line running past its window, a position past the end of a shrunk map) goes
   * the general way.
   */
  override readLine(pos: number): Buffer {
    const len = this.length;
    if (pos <= len && this.gone === Infinity) {
      const w = this.#lineSpan;
      // Both comparisons run on every line: one first reached at the map's end would have no
      // type feedback there, and V8 would throw the optimized code away at the end of a pass.
      const end = w === null ? -1 : w.base + w.n;
      const inside = pos < end;
      const atEnd = end === len;
      const out = w !== null && pos >= w.base && (inside || atEnd) ? this.#lineIn(w, pos, len) : this.#lineInWindow(pos, len);
      if (out !== null) return out;
    }
    return super.readLine(pos);
  }

  /** readLine when pos is outside the current window: the window holding it, then the line. */
  #lineInWindow(pos: number, len: number): Buffer | null {
    const w = pos < len ? this.#lineWindowAt(pos) : null;
    return w === null ? null : this.#lineIn(w, pos, len);
  }

  /**
   * The line from pos (map offsets, inside w) as a copy; null when it runs on past the window
   * short of the map's end, or is larger than a copy may be.
   */
  #lineIn(w: LineSpan, pos: number, len: number): Buffer | null {
    const base = w.base;
    const at = pos - base;
    const s = w.s;
    let nl: number;
    if (s !== null) nl = s.indexOf("\n", at);
    else {
      nl = indexOf.call(w.buf as Buffer, 10, at);
      if (--this.#linesToText === 0) this.#lineSpan = null; // the next line makes the string window
    }
    const atEnd = base + w.n === len; // on every line: see readLine
    const b = nl >= 0 ? base + nl + 1 : atEnd ? len : -1;
    if (b < 0 || b - pos > MAX_COPY) return null;
    const out = copyOf(w.u, w.dv, at, b - base);
    this.verify(pos, b);
    return out;
  }

  /**
   * readline's window holding pos (pos < length): a string window once LINE_TEXT_AFTER lines were
   * read where the runtime makes them, else the Buffer window; null while the whole view is
   * deferred (the general way counts the deferral).
   */
  #lineWindowAt(pos: number): LineSpan | null {
    const { segment, stride, maxView } = this.#geo;
    const len = this.length;
    if (len <= maxView && this.#raw === null) return null;
    if (externalText && this.#linesToText <= 0) {
      // A window must lie inside the segment where it starts (copyOf reads that segment).
      const most = Math.min(platform.maxText, len <= maxView ? Infinity : segment - stride);
      if (most >= LINE_TEXT_MIN) {
        const step = Math.floor(most / 2);
        const base = len <= most ? 0 : Math.floor(pos / step) * step;
        const n = Math.min(most, len - base);
        const t = this.#mappedText(base, base + n);
        if (typeof t === "string") return (this.#lineSpan = this.#lineSpanOf(base, n, t));
        if (t !== null) this.#linesToText = LINE_TEXT_AFTER; // an error (ENOMEM): try again later
      }
    }
    if (len <= maxView && len <= INDEX_OF_MAX) return (this.#lineSpan = this.#lineSpanOf(0, len, null));
    const base = Math.floor(pos / stride) * stride;
    return (this.#lineSpan = this.#lineSpanOf(base, Math.min(segment, len - base), null));
  }

  /** The LineSpan of [base, base + n) (inside the segment where it starts), searched in `s` or a Buffer. */
  #lineSpanOf(base: number, n: number, s: string | null): LineSpan {
    let ab: ArrayBufferLike;
    let offset: number;
    if (this.length <= this.#geo.maxView) {
      const raw = this.#raw as Uint8Array;
      ab = raw.buffer;
      offset = raw.byteOffset + base;
    } else {
      const k = Math.floor(base / this.#geo.stride);
      const seg = this.#segment(k);
      ab = seg.buffer;
      offset = seg.byteOffset + (base - k * this.#geo.stride);
    }
    return {
      base,
      n,
      s,
      buf: s === null ? new FastBuffer(ab, offset, n) : null,
      u: new Uint8Array(ab, offset, n),
      dv: new DataView(ab, offset, n),
    };
  }

  protected override newline(pos: number, limit: number): number {
    const raw = this.#ensureWhole(false, LINE_COST);
    if (raw !== null && limit === this.length && this.length <= INDEX_OF_MAX) {
      const nl = (this.#own.whole as Buffer).indexOf(10, pos);
      this.verify(pos, nl < 0 ? limit : nl + 1);
      return nl;
    }
    return super.newline(pos, limit);
  }

  /**
   * A string over [a, b) of the map itself (native.text; a < b): null where the runtime copied
   * it after all (external strings are then off for good: callers copy, or search Buffers), or
   * -errno. Checks closed.
   */
  #mappedText(a: number, b: number): string | number | null {
    const s = native.text(this.open(), a, b - a);
    if (s === null) externalText = false;
    return s;
  }

  text(a: number, b: number): string {
    this.guard(a, b);
    if (a === b) return "";
    const texts = this.#texts;
    for (let k = 0; k < texts.length; k++) {
      const t = texts[k] as Text;
      if (t.a === a && t.b === b) return t.s;
    }
    if (externalText) {
      const s = this.#mappedText(a, b);
      if (typeof s === "number") throw systemError(s, "text");
      if (s !== null) {
        if (texts.length === TEXTS) texts.shift();
        texts.push({ a, b, s });
        return s;
      }
    }
    // A copy. While the whole view is deferred: a short text is a copy (one native call, one
    // access counted); a long one (a regular expression's window) is bulk work, for which the
    // view pays off. Else from one view of the range where one can hold it, or piece by piece.
    if (this.#raw === null && this.#defer > 0 && b - a <= TEXT_COPY_MAX && this.length <= this.#geo.maxView) {
      return this.copy(a, b).toString("latin1"); // copy() checks for loss itself
    }
    let text: string;
    const { segment, stride } = this.#geo;
    if (b - a <= segment - stride || (this.length <= this.#geo.maxView && b - a <= this.#geo.maxView)) {
      text = this.#span(a, b, false).toString("latin1");
    } else {
      const parts: string[] = [];
      this.#pieces(a, b, (piece) => parts.push(piece.toString("latin1")));
      text = parts.join("");
    }
    this.verify(a, b);
    return text;
  }

  liveText(): boolean {
    return externalText;
  }

  view(a: number, b: number): Buffer {
    this.open();
    return this.#span(a, b, true);
  }

  /** An exposed view (lines are handed to user code): the whole map, or the segment holding pos. */
  lineWindow(pos: number): LineWindow {
    this.open();
    let v: Buffer;
    let base = 0;
    if (this.length <= this.#geo.maxView) v = this.#exposedWhole();
    else {
      const k = Math.floor(pos / this.#geo.stride);
      v = this.#segment(k, this.#exposed);
      base = k * this.#geo.stride;
    }
    return { u: new Uint8Array(v.buffer, v.byteOffset, v.length), base };
  }

  line(a: number, b: number): Buffer {
    this.guard(a, b);
    const v = this.#span(a, b, true);
    this.verify(a, b);
    return v;
  }

  whole(): Buffer {
    this.open();
    if (this.length > this.#geo.maxView) {
      throw rangeError(
        `The map of ${this.length} bytes is larger than the largest Buffer this runtime allows (${this.#geo.maxView}); use subarray()`,
      );
    }
    const w = this.#exposedWhole(); // made again (and #shown forgotten) when someone detached it
    return (this.#shown ??= w.subarray(0));
  }

  reset(length: number): void {
    this.length = lengthField(length);
    this.#defer = deferFor(length);
    this.#forget();
  }

  release(): void {
    this.handle = null;
    this.#forget();
  }

  #forget(): void {
    this.#raw = this.fast = this.fastW = null;
    this.#dv = null;
    this.#own.whole = this.#exposed.whole = this.#shown = null;
    this.#own.segments = this.#exposed.segments = null;
    this.#lineSpan = null;
    this.#linesToText = LINE_TEXT_AFTER;
    this.#texts = [];
  }
}
