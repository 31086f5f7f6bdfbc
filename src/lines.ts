/**
 * `m.lines()`: the lines of a range of the map, each with its `\n` (the last may have none), as
 * zero-copy Buffer views of the map (copies where the runtime allows no views), without moving
 * the map's position.
 *
 * Speed: the newlines are found in batches, many lines per native call (a vector scan), so a
 * line costs one Buffer object and a few loads. Each yield reads the line's last byte through
 * the window it was found in and compares it with `\n`, which checks at once that
 * - the window is still attached: close() and resize() detach it (its length becomes 0), so
 *   the read gives `undefined`;
 * - the line still ends where the batch said: a file truncated under the map reads zeros there
 *   (the read faults, the fault handler maps zeros and counts the loss), and another writer may
 *   have moved the newline;
 * any mismatch takes the slow path, which throws `ERR_MMAP_CLOSED` or `ERR_MMAP_TRUNCATED`, or
 * scans again from the line's start (a resized map: up to its new length; a window someone
 * detached, e.g. by transferring a line's ArrayBuffer: a new window).
 * A newline written into a line already scanned, before its old end, is not seen (documented in
 * docs/python.md): only the last byte is checked, not the line again.
 *
 * The windows are the map's exposed views (Memory.lineWindow): the lines are handed to user code,
 * so their addresses fall under the address rule (native/region.h) as `m.buffer`'s do.
 * Internal: not exported from the package.
 * @module
 */
import { FastBuffer as SpeciesBuffer, type Memory } from "./memory/index.js";
import { platform } from "./platform.js";

/**
 * Node's Buffer class (src/memory/base.ts), as a module-local constant: V8 reads an imported
 * binding through a module cell on every use, and folds a local constant into optimized code.
 */
const FastBuffer = SpeciesBuffer;
/**
 * JavaScriptCore (Bun): a line is `subarray` of a Buffer over the window. Bun's FastBuffer is
 * Buffer itself, whose constructor sorts out every legacy form of its arguments: `new
 * Buffer(ab, offset, n)` costs about 1.4 times a Buffer's `subarray` there, where V8's
 * FastBuffer is the cheaper (docs/performance.md, "Bun and Deno").
 */
const SUBARRAY = platform.engine === "jsc";

/** Most line ends a batch holds (one native call). */
const BATCH = 1024;
/** The fewest, for a short range. */
const MIN_BATCH = 16;
/**
 * The most bytes of a window, and of one native scan: every index into a window then stays a
 * small integer (V8 keeps such fields unboxed, and the loop free of allocations but the line's).
 */
const MAX_WINDOW = 2 ** 30;
const NO_WINDOW = new Uint8Array(0);

/**
 * The iterator `m.lines()` returns. Positions are indices into the current window `#u`, whose
 * element 0 is map offset `#base`; without a window (copying mode, or between windows) `#u` is
 * empty and `#base` 0, so they are map offsets.
 */
export class Lines implements IterableIterator<Buffer> {
  readonly #mem: Memory;
  /** The end of the range (map offset); lowered when the map shrinks. */
  #end: number;
  /** The map's length when the range was last checked against it. */
  #length: number;
  /** The window the batch was found in (a plain Uint8Array over the map), or empty. */
  #u: Uint8Array = NO_WINDOW;
  #ab: ArrayBufferLike | null = null;
  /** The window as a Buffer, where lines are its subarrays (SUBARRAY); else null. */
  #w: Buffer | null = null;
  /** `#u.byteOffset`: where the window starts in `#ab`. */
  #abOffset = 0;
  /** The map offset of `#u[0]`. */
  #base = 0;
  /** The start of the next line (a window index). */
  #s: number;
  /** The window index the batch's offsets count from. */
  #from = 0;
  /**
   * Line ends of the batch, from `#from`; `#i` the next one, `#n` how many, or -1 once every
   * line has been yielded. (Not a separate boolean: V8 treats a field never written since its
   * initialisation as a constant of the optimized code, and the first write at the end of the
   * range would throw that code away.)
   */
  readonly #ends: Uint32Array;
  #i = 0;
  #n = 0;

  /** Lines of [start, end) of `mem` (0 <= start, end <= length). */
  constructor(mem: Memory, start: number, end: number) {
    this.#mem = mem;
    this.#s = start;
    this.#end = end;
    this.#length = mem.length;
    this.#ends = new Uint32Array(Math.min(BATCH, Math.max(MIN_BATCH, Math.ceil((end - start) / 64))));
  }

  [Symbol.iterator](): this {
    return this;
  }

  /*
   * next() holds the whole iterator, its rare paths included, on purpose: as one large function
   * V8 does not inline it into the caller's for-of loop. Inlined there, the Buffer construction
   * would sit inside the loop's implicit try/finally, where V8 11 (Node 20) does not lower the
   * Buffer subclass's super() call: the generic construct path costs about 80 instructions a line
   * more than a call to next() that returns a fresh result object (callgrind; docs/performance.md).
   */
  next(): IteratorResult<Buffer, undefined> {
    const i = this.#i;
    // Window indices are below 2^31: `| 0` keeps them small integers (no boxing).
    const e = (this.#from + (this.#ends[i] as number)) | 0;
    // The one check of a yield (see the module's comment): attached, and still a line.
    if (i < this.#n && this.#u[e - 1] === 10) {
      const s = this.#s;
      this.#i = i + 1;
      this.#s = e;
      return {
        value: SUBARRAY ? (this.#w as Buffer).subarray(s, e) : new FastBuffer(this.#ab as ArrayBufferLike, this.#abOffset + s, e - s),
        done: false,
      };
    }
    if (this.#n < 0) return { value: undefined, done: true };
    const mem = this.#mem;
    mem.open(); // ERR_MMAP_CLOSED
    for (;;) {
      const pos = this.#base + this.#s;
      if (this.#i < this.#n) {
        const b = this.#base + this.#from + (this.#ends[this.#i] as number);
        if (this.#ab === null && mem.length === this.#length) {
          // No views: each line is a copy, checked for loss by the copy itself; a copy that no
          // longer ends in "\n" (another writer moved it) is scanned again.
          const line = mem.line(pos, b);
          if (line[line.length - 1] === 10) {
            this.#i++;
            this.#s = b;
            return { value: line, done: false };
          }
        }
        if (this.#ab !== null && this.#u[b - this.#base - 1] === 10) {
          // A fresh batch's first line.
          this.#i++;
          this.#s = b - this.#base;
          return { value: new FastBuffer(this.#ab, this.#abOffset + (pos - this.#base), b - pos), done: false };
        }
        // Detached (resized), or the line's end changed since the scan: a loss throws here;
        // anything else scans again from this line.
        mem.verify(pos, b);
        this.#n = 0;
      }
      if (mem.length !== this.#length) {
        this.#length = mem.length;
        this.#end = Math.min(this.#end, this.#length);
      }
      const end = this.#end;
      let limit = end;
      if (pos < end) {
        if (pos >= mem.gone) throw mem.truncated(pos, end);
        const w = mem.lineWindow(pos);
        if (w === null) {
          this.#u = NO_WINDOW;
          this.#ab = null;
          this.#w = null;
          this.#abOffset = 0;
          this.#base = 0;
        } else {
          // A window from pos (at most MAX_WINDOW bytes) of the view holding it.
          const n = Math.min(w.base + w.u.length - pos, MAX_WINDOW);
          const u = new Uint8Array(w.u.buffer, w.u.byteOffset + (pos - w.base), n);
          this.#u = u;
          this.#ab = u.buffer;
          this.#abOffset = u.byteOffset;
          if (SUBARRAY) this.#w = new FastBuffer(u.buffer, u.byteOffset, n);
          this.#base = pos;
          limit = Math.min(limit, pos + n);
        }
        limit = Math.min(limit, mem.gone, pos + MAX_WINDOW);
        this.#s = this.#from = pos - this.#base;
        this.#i = 0;
        this.#n = this.#scan(pos, limit);
      }
      // Called after every batch's scan, so that the end of the range brings no code into
      // next() that never ran before: V8 would throw away next()'s optimized code there (a
      // deoptimization) and compile it again in the next loop, whose time that would count.
      const r = this.#tail(pos, limit, end);
      if (r !== null) return r;
    }
  }

  /**
   * After a batch's scan of [pos, limit): null when it found lines; otherwise the last line, or
   * the line that runs past the window, or the end of the range.
   */
  #tail(pos: number, limit: number, end: number): IteratorResult<Buffer, undefined> | null {
    if (pos >= end) {
      this.#n = -1; // stays done, also after close() or a resize
      return { value: undefined, done: true };
    }
    if (this.#n > 0) return null;
    // No newline in [pos, limit): the last line, a line longer than the window, or a loss.
    const mem = this.#mem;
    let b = end;
    if (limit < end) {
      if (limit >= mem.gone) throw mem.truncated(pos, end);
      const nl = mem.nextNewline(limit, Math.min(end, mem.gone));
      b = nl < 0 ? end : nl + 1;
    }
    const value = mem.line(pos, b); // first: if it throws, the next call tries this line again
    this.#u = NO_WINDOW;
    this.#ab = null;
    this.#w = null;
    this.#base = 0;
    this.#s = b;
    return { value, done: false };
  }

  /** A batch of line ends of [pos, limit); a loss found by the scan itself cuts the range there. */
  #scan(pos: number, limit: number): number {
    const mem = this.#mem;
    try {
      return mem.lineEnds(pos, limit, this.#ends);
    } catch (err) {
      // The scan touched bytes a shrinking file took away: the lines before them still come.
      if ((err as { code?: unknown }).code !== "ERR_MMAP_TRUNCATED" || mem.gone <= pos) throw err;
      return mem.lineEnds(pos, Math.min(limit, mem.gone), this.#ends);
    }
  }
}
