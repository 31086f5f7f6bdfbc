/**
 * The memory layer's contract: how a map's bytes are reached. One strategy class per process
 * (views where the runtime allows external ArrayBuffers, copying through the addon where it
 * does not), chosen once in ./index.ts, so that every call site sees one class.
 *
 * Every method that touches mapped memory checks loss (guard before, verify after): a caller
 * cannot forget it. Callers pass ranges already validated and clamped by the class's Python
 * semantics: 0 <= a <= b <= length.
 * Internal: not exported from the package.
 * @module
 */
import { native, type Handle } from "../binding.js";
import { allocationFailed, rangeError, stateError, systemError, type MMapError } from "../errors.js";
import { platform } from "../platform.js";
import type { Slice } from "../slices.js";
import { Tracked } from "../truncation.js";

/** A native result: itself when >= 0, else the system error it names. */
export function checked(rc: number, syscall: string): number {
  if (rc < 0) throw systemError(rc, syscall);
  return rc;
}

/** `ERR_MMAP_VIEWS_UNAVAILABLE`: this runtime refuses external ArrayBuffers. */
export function viewsUnavailable(): MMapError {
  return stateError(
    "ERR_MMAP_VIEWS_UNAVAILABLE",
    "this runtime does not allow external ArrayBuffers (as Electron's V8 sandbox), so memmap cannot hand out " +
      "views of mapped memory; read(), slice(), write(), setSlice() and the other methods work, by copying",
  );
}

/** RangeError for a Buffer of n bytes, beyond what the runtime allows (or what memmap makes one view of). */
export function tooLarge(what: string, n: number, max = platform.maxBuffer): MMapError {
  return rangeError(`${what} of ${n} bytes is larger than the largest Buffer this runtime allows (${max})`);
}

/**
 * Node's Buffer class (`Buffer[Symbol.species]`, its `FastBuffer`): `new FastBuffer(ab, off, n)`
 * makes a Buffer over `ab` with one object and no checks beyond the engine's own.
 */
export const FastBuffer = (Buffer as unknown as { [Symbol.species]: new (ab: ArrayBufferLike, off: number, n: number) => Buffer })[
  Symbol.species
];
const POOLED = typeof FastBuffer === "function" && FastBuffer !== (Buffer as unknown) && FastBuffer.prototype === Buffer.prototype;
/**
 * Buffer#copy, called on a plain Uint8Array source: where there is no FastBuffer (Bun, whose
 * `Buffer[Symbol.species]` is Buffer itself), a copy is `Buffer.allocUnsafe` and this one native
 * call. JavaScriptCore's `subarray` makes its result through the species constructor, and
 * allocUnsafe + `set(src.subarray(a, b))` cost twice as much there (docs/performance.md, "Bun
 * and Deno").
 */
const bufferCopy = Buffer.prototype.copy as (this: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number) => number;

/*
 * Copies (readline, read, slice) of up to SLAB_MAX bytes are carved out of a shared slab, as
 * Node's Buffer pool does: one object per copy and nothing else allocated. A copy keeps its slab
 * alive, as pooled Buffers do. Each slab is marked untransferable, as Node marks its pool, so that
 * `postMessage` or `structuredClone` with a copy's `.buffer` in the transfer list cannot detach
 * the other copies; where the mark is not honoured (`ArrayBuffer.prototype.transfer()` on Node 20
 * and 22, and Bun; every means where the runtime lacks the mark) a detached slab is noticed by
 * carve(), which starts a new one: later copies are never affected. The slab's memory comes uninitialised (allocUnsafeSlow: no
 * zero-fill of 64 KiB every ~800 lines) and every byte handed out is written by the copy.
 *
 * The bytes of a short copy (up to WORD_COPY_MAX) are moved 32 at a time by eight 32-bit loads
 * from a DataView over the map (any alignment) and eight stores into a Uint32Array over the slab
 * (carved at multiples of 8): no second typed array over the source and no call into
 * TypedArray.prototype.set. Up to 128 bytes, in blocks of 32 (session of 2026-12-06, measured
 * as time per line on the bench's text, lines of 40 to 120 bytes, a quarter of them over 96):
 * readline 76 -> 63 ns, against 16-byte blocks up to 96 bytes, which sent a quarter of the
 * lines to subarray + set (a second typed array, ~10 ns) and mispredicted the loop's end more
 * often; seek + read(64) and slice(64) 5-20 % faster too. 64-byte blocks were no faster on those
 * lines and copy more for short ones.
 * 32-bit words, not 64: Float64 loads and stores change bytes. JSC boxes every NaN as one
 * canonical NaN, and V8 quiets a signalling NaN in optimized code since V8 14 (measured: 8-byte
 * patterns through DataView#getFloat64 into a Float64Array come out with the quiet bit set on
 * Node 26.12 and Deno 2.9.6, intact on Node 20-24; the 64-bit copy would have been ~14 % fewer
 * instructions a readline). BigUint64 allocates a BigInt per load in V8 11.
 */
const SLAB_SIZE = 64 * 1024;
const SLAB_MAX = 4 * 1024;
const WORD_COPY_MAX = 128;
/** DataView reads in the platform's order, so that a Uint32Array store writes the same bytes. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
let slab: ArrayBuffer = new ArrayBuffer(0);
let slabBytes = new Uint8Array(0);
let slabWords = new Uint32Array(0);
let slabOffset = 0;
/** Where the slab's bytes end (a variable: ArrayBuffer#byteLength is a call). */
let slabEnd = 0;

function newSlab(): void {
  const b = Buffer.allocUnsafeSlow(SLAB_SIZE);
  slab = b.buffer as ArrayBuffer;
  platform.untransferable(slab);
  slabBytes = new Uint8Array(slab, b.byteOffset, SLAB_SIZE);
  slabWords = new Uint32Array(slab, b.byteOffset, SLAB_SIZE / 4);
  slabOffset = b.byteOffset;
  slabEnd = b.byteOffset + SLAB_SIZE;
}

/**
 * Where n bytes (0 <= n <= SLAB_MAX) of the slab start, 8-aligned, now reserved; `span` >= n bytes
 * from there may be written (a block copy's overrun, which the next copy overwrites).
 *
 * A copy's `.buffer` is the slab, and user code may detach it (`transfer()` where the runtime does
 * not honour the untransferable mark, see newSlab): the slab's typed arrays then have length 0, and
 * a new slab is started: one load and a compare per copy.
 */
function carve(n: number, span = n): number {
  if (slabOffset + span > slabEnd || slabWords.length === 0) newSlab();
  const o = slabOffset;
  slabOffset = (o + n + 7) & ~7;
  return o;
}

/**
 * `Buffer.allocUnsafe(n)` for a result whose size the caller chose (a copy over the slab's size,
 * a strided slice): where the engine cannot allocate it, `ERR_MEMORY_ALLOCATION_FAILED` instead of
 * its uncoded `RangeError`, before anything moved (found under `ulimit -v`: `read()` and `slice()`
 * of a 64 MiB map threw "Array buffer allocation failed" without a code).
 */
export function allocResult(n: number): Buffer {
  try {
    return Buffer.allocUnsafe(n);
  } catch (err) {
    throw isAllocationFailure(err) ? allocationFailed("a copy", n, err) : err;
  }
}

/**
 * Whether `err` says the engine could not allocate: V8's uncoded `RangeError`, or the
 * `RangeError` `ERR_MEMORY_ALLOCATION_FAILED` some Node versions throw themselves (Node 26 for a
 * large `Buffer.allocUnsafe`). memmap's error is the same on every runtime: `Error` with the
 * code, and the runtime's own as `cause`.
 */
export function isAllocationFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === undefined || code === "ERR_MEMORY_ALLOCATION_FAILED";
}

/** -EFAULT from native.move: the last byte of its ranges faulted before anything moved. */
const EFAULT = 14;
/** How many times a move runs again after a fault that was not its ranges' (another map's). */
const MOVE_ATTEMPTS = 4;

/** An uninitialised Buffer of n bytes for a copy, from the slab when small. */
export function allocCopy(n: number): Buffer {
  if (!POOLED || n > SLAB_MAX) return allocResult(n);
  const o = carve(n); // before reading `slab`: carving may start a new one
  return new FastBuffer(slab, o, n);
}

/**
 * The word copy's other path (subarray + set: a copy over WORD_COPY_MAX bytes, or one whose last
 * block would pass the end of its source, as a map's last line does) is taken once on purpose,
 * by the PRIME-th copy, so that V8 has type feedback for it before it optimizes copyOf (which
 * takes a few hundred calls; feedback is recorded from a function's ~8th call on). A call never
 * made before is compiled as a deoptimization: reached at the end of a map, it threw away the
 * optimized readline at the end of every first pass, and the next ~50,000 lines ran unoptimized
 * (~500 ns a line instead of ~65).
 */
const PRIME = 64;
let copies = 0;

/** False once: for the PRIME-th copy (see PRIME). */
function primed(): boolean {
  if (copies > PRIME) return true;
  return ++copies !== PRIME;
}

/** A copy of src[a, b) (0 <= a <= b <= src.length); `dv` is a DataView over the same bytes as src. */
export function copyOf(src: Uint8Array, dv: DataView, a: number, b: number): Buffer {
  const n = b - a;
  // Every path below hands out n bytes it wrote from src: never a range past src, whose missing
  // bytes would be the slab's (or the pool's) earlier contents, another copy's. The word copy
  // checks its own bound (a + m <= src.length).
  if (!POOLED || n > SLAB_MAX) {
    if (b > src.length) throw rangeError(`copy of [${a}, ${b}) past the end of ${src.length} bytes`);
    const out = allocResult(n);
    if (POOLED) out.set(src.subarray(a, b));
    else bufferCopy.call(src, out, 0, a, b);
    return out;
  }
  // Whole blocks of 32 bytes, past b when n is not a multiple of 32 (but never past the source):
  // no loop for a tail. The bytes past b land in the slab after this copy, where the next copy
  // writes its own before anyone can see them.
  const m = (n + 31) & ~31;
  if (n <= WORD_COPY_MAX && a + m <= src.length && primed()) {
    const o = carve(n, m);
    const w = slabWords;
    for (let i = 0, j = o >> 2; i < m; i += 32, j += 8) {
      w[j] = dv.getUint32(a + i, LITTLE_ENDIAN);
      w[j + 1] = dv.getUint32(a + i + 4, LITTLE_ENDIAN);
      w[j + 2] = dv.getUint32(a + i + 8, LITTLE_ENDIAN);
      w[j + 3] = dv.getUint32(a + i + 12, LITTLE_ENDIAN);
      w[j + 4] = dv.getUint32(a + i + 16, LITTLE_ENDIAN);
      w[j + 5] = dv.getUint32(a + i + 20, LITTLE_ENDIAN);
      w[j + 6] = dv.getUint32(a + i + 24, LITTLE_ENDIAN);
      w[j + 7] = dv.getUint32(a + i + 28, LITTLE_ENDIAN);
    }
    return new FastBuffer(slab, o, n);
  }
  if (b > src.length) throw rangeError(`copy of [${a}, ${b}) past the end of ${src.length} bytes`);
  const o = carve(n);
  slabBytes.set(src.subarray(a, b), o);
  return new FastBuffer(slab, o, n);
}

const NEWLINE = new Uint8Array([10]);

/**
 * Where `lines()` reads the map through views: a plain Uint8Array over the map (the whole map,
 * or the segment of a larger one) and the map offset of its element 0.
 */
export interface LineWindow {
  readonly u: Uint8Array;
  readonly base: number;
}

/**
 * How one map's bytes are reached. The fields the hot paths read (`fast`, `fastW`, `seen`)
 * are plain properties of one class per process, so V8 keeps those sites monomorphic.
 */
export abstract class Memory extends Tracked {
  /** Writes are allowed (the map is not `ACCESS_READ`). */
  readonly writable: boolean;
  /**
   * The hot paths' view: the whole map up to the first lost byte, once made; null while not
   * made, when no single view can hold the map, without views, or closed.
   */
  fast: Uint8Array | null = null;
  /** `fast` when the map is writable, else null. */
  fastW: Uint8Array | null = null;

  constructor(handle: Handle, length: number, writable: boolean) {
    super(handle, length);
    this.writable = writable;
  }

  /** Sets the byte at i when the fast path applies (i an index of the view, v a byte, writable); false otherwise. */
  trySet(i: unknown, v: unknown): boolean {
    const u = this.fastW;
    if (u !== null && typeof i === "number" && i >= 0 && i < u.length && Number.isInteger(i) && typeof v === "number" && (v & 255) === v) {
      u[i] = v;
      this.verifyAt(i);
      return true;
    }
    return false;
  }

  /** memmove of `count` bytes from `src` to `dest`, one native call for any size. */
  move(dest: number, src: number, count: number): void {
    const lo = Math.min(dest, src);
    const hi = Math.max(dest, src) + count;
    this.guard(lo, hi);
    const h = this.open();
    // The addon reads the last byte of [lo, hi) before moving anything: -EFAULT when that faulted
    // (the file lost bytes of the ranges, or another map faulted at the same moment). verify()
    // then throws ERR_MMAP_TRUNCATED for a loss of this range, else the move runs again.
    for (let attempt = 1; ; attempt++) {
      const rc = native.move(h, dest, src, count);
      if (rc !== -EFAULT || attempt === MOVE_ATTEMPTS) {
        checked(rc, "memmove");
        break;
      }
      this.verify(lo, hi);
    }
    this.verify(lo, hi);
  }

  /** The first (last) offset of `needle` in [s, e), or -1: one native call, at memory bandwidth. */
  find(needle: Uint8Array, s: number, e: number, backward: boolean): number {
    this.guard(s, e);
    const i = native.find(this.open(), s, e, needle, backward);
    if (i < -1) throw systemError(i, "find");
    this.verify(s, e);
    return i;
  }

  /**
   * A copy of the line from `pos`: up to and including the next `\n`, or to the end; empty at or
   * past the end. Checks closed.
   */
  readLine(pos: number): Buffer {
    this.open();
    if (pos >= this.length) return Buffer.alloc(0);
    return this.copy(pos, this.lineEnd(pos));
  }

  /** The offset just past the next `\n` at or after `pos` (pos < length), or the length. */
  lineEnd(pos: number): number {
    if (pos >= this.gone) throw this.truncated(pos, pos + 1);
    const nl = this.newline(pos, Math.min(this.length, this.gone));
    return nl < 0 ? this.length : nl + 1;
  }

  /** The first `\n` in [pos, limit), or -1; limit <= gone. */
  protected newline(pos: number, limit: number): number {
    return this.find(NEWLINE, pos, limit, false);
  }

  /**
   * The offsets, from s, just past each `\n` of [s, e) into `out`, in order, as many as it
   * holds; returns how many (fewer than out.length: no `\n` is left in the range). One native
   * call for many lines. Callers keep e <= gone and e - s < 2^32.
   */
  lineEnds(s: number, e: number, out: Uint32Array): number {
    this.guard(s, e);
    const k = native.lineEnds(this.open(), s, e, out);
    if (k < 0) throw systemError(k, "lineEnds");
    this.verify(s, e);
    return k;
  }

  /** The first `\n` at or after `pos` before `end`, or -1 (for a line longer than a window). */
  nextNewline(pos: number, end: number): number {
    return this.find(NEWLINE, pos, end, false);
  }

  /** Where `lines()` reads through views, for the line starting at pos; null without views. */
  abstract lineWindow(pos: number): LineWindow | null;
  /** One line [a, b) as `lines()` yields it: a view (checked for loss), or a copy without views. */
  abstract line(a: number, b: number): Buffer;
  /** The byte at i (0 <= i < length). */
  abstract byteAt(i: number): number;
  /** Sets the byte at i (0 <= i < length). */
  abstract setByteAt(i: number, v: number): void;
  /** A copy of [a, b). */
  abstract copy(a: number, b: number): Buffer;
  /**
   * Copies src into the map at `at` (at + its length <= length). `src` is a result of `toBytes`:
   * its length is read with `byteLength`, never through its own properties.
   */
  abstract put(at: number, src: Uint8Array): void;
  /** A copy of the bytes of a slice (with a step other than 1). */
  abstract gather(slice: Slice): Buffer;
  /** Writes src[i] at slice.start + i * slice.step (src has slice.count bytes, a copy the caller owns). */
  abstract scatter(slice: Slice, src: Uint8Array): void;
  /**
   * [a, b) read as Latin-1 text (one byte, one character), for regular expressions; throws
   * `ERR_MMAP_TRUNCATED` when part of it is known lost. Where {@link liveText} is true, a string
   * over the mapped memory itself, made without copying and the same string while the map keeps
   * its size: it reads what the map holds at each access, so the caller calls `verify` after
   * reading it, and never hands it (or a slice of it) to user code. Otherwise a copy.
   * `b - a` is at most `platform.maxText`.
   */
  abstract text(a: number, b: number): string;
  /** Whether {@link text} is a string over the map itself (free to make) rather than a copy. */
  abstract liveText(): boolean;
  /** A zero-copy view of [a, b). @throws `ERR_MMAP_VIEWS_UNAVAILABLE` without views. */
  abstract view(a: number, b: number): Buffer;
  /** A zero-copy view of the whole map. @throws RangeError when no one Buffer can hold it. */
  abstract whole(): Buffer;
  /** The map now has `length` bytes (resized): forget every view made before (the addon detached them). */
  abstract reset(length: number): void;
  /** The map is closed: forget everything. */
  abstract release(): void;
}
