/**
 * Loss tracking: bytes of a map lost because its file shrank under it, or struck by an I/O error
 * (a full disk under a sparse file, EIO). The native fault handler (native/guard.c) replaces such
 * pages with zeros and counts them in one process-wide counter; every access path of the memory layer (src/memory/) checks the counter after it
 * touched memory and, when it moved, asks the addon what this map lost. The one place that
 * raises `ERR_MMAP_TRUNCATED` and a method's I/O error.
 * Internal: not exported from the package.
 * @module
 */
import { native, type Handle } from "./binding.js";
import { closedError, stateError, systemError, type MMapError, type SystemError } from "./errors.js";

/**
 * Counts pages lost to shrinking files in any map, read without a call: the counter itself
 * where views exist; otherwise a copy that every native call touching mapped memory refreshes
 * before it returns (so a fault it caused is seen right after it). Not exported: an exported
 * binding is read through a module cell on every access, a module-local constant is folded
 * into optimized code (about 11 instructions less on every hot-path access, measured).
 */
const FAULTS: Uint32Array = native.faults !== null ? new Uint32Array(native.faults) : mirroredFaults();

function mirroredFaults(): Uint32Array {
  const counter = new Uint32Array(new ArrayBuffer(4)); // not on V8's heap: its memory never moves
  const rc = native.mirrorFaults(counter);
  if (rc < 0) throw systemError(rc, "mirrorFaults");
  return counter;
}

/** What a map lost, as the addon fills it: [lostFrom (-1: none), ioErrno (0: none), ioStart, ioEnd]. */
const lossOut = new Float64Array(4);

/**
 * An I/O error that struck a map (`ENOSPC` writing into a hole of a full file system, `EIO`,
 * `EDQUOT`): a {@link SystemError} (`syscall` `"pagefault"` from a method, `"msync"` from a flush)
 * with the range the call touched and the range whose writes may not have reached the file.
 */
export interface IOError extends SystemError {
  /** The bytes of the map the call touched. */
  readonly start: number;
  readonly end: number;
  /** The bytes of the map whose writes may not have reached the file. */
  readonly ioStart: number;
  readonly ioEnd: number;
}

/**
 * An I/O error that struck the map (ENOSPC writing into a hole of a full file system, EIO,
 * EDQUOT), as Node's fs errors: `code`, `errno`, `syscall` (`"msync"` from a flush,
 * `"pagefault"` from a method), plus `start`/`end`, the bytes the call touched, and
 * `ioStart`/`ioEnd`, the bytes of the map whose writes may not have reached the file.
 * `loss` is the addon's [lostFrom, ioErrno, ioStart, ioEnd].
 */
export function ioError(loss: Float64Array, syscall: string, start: number, end: number): IOError {
  const ioStart = loss[2] as number;
  const ioEnd = loss[3] as number;
  const err = systemError(loss[1] as number, syscall) as SystemError & { start: number; end: number; ioStart: number; ioEnd: number };
  err.message += `: bytes ${ioStart}..${ioEnd} of the map may not have reached the file (the call touched ${start}..${end})`;
  err.start = start;
  err.end = end;
  err.ioStart = ioStart;
  err.ioEnd = ioEnd;
  return err;
}

/**
 * A length (an integer, 0 <= n <= 2^53) as the `length` field should hold it: a small integer
 * (an int32) wherever it fits. Lengths come from `fstat` through a Float64Array, whose elements
 * V8 hands out as heap numbers; stored as such, they turned the field into a double one, every
 * load of it into a float and every value computed from it (the end of a map's last line) into a
 * heap number, which deoptimized readline's copy at the end of its first pass over a map.
 */
export function lengthField(n: number): number {
  return n <= 0x7fffffff ? n | 0 : n;
}

/**
 * `ERR_MMAP_TRUNCATED`: the file shrank under the map, and the call touched bytes it lost. Map the
 * file again; `flush(0, err.goneStart)` flushes what is left (docs/safety.md).
 */
export interface TruncatedError extends MMapError {
  readonly code: "ERR_MMAP_TRUNCATED";
  /** Where the lost bytes begin (offset in the map). */
  readonly goneStart: number;
  /** The end of the map: everything from goneStart on is lost. */
  readonly goneEnd: number;
}

/**
 * The state every memory strategy shares: which mapping, how long, and what of it is lost.
 *
 * Invariants:
 * - `handle` is null exactly when the map is closed; then no access path touches memory.
 * - `gone` is Infinity while nothing is known lost, else in [0, length]: bytes [gone, length)
 *   read zeros and writes to them are lost; an access that touches them throws.
 * - `seen` is the value of FAULTS[0] this map has accounted for: when FAULTS[0] differs, some
 *   page of some map was lost since, and this map asks the addon whether it was one of its own.
 */
export abstract class Tracked {
  handle: Handle | null;
  /** The map's length; store it with `lengthField()`. */
  length: number;
  gone = Infinity;
  seen: number = FAULTS[0] as number;

  constructor(handle: Handle, length: number) {
    this.handle = handle;
    this.length = lengthField(length);
  }

  /** The handle, or `ERR_MMAP_CLOSED`. */
  open(): Handle {
    const h = this.handle;
    if (h === null) throw closedError();
    return h;
  }

  /** Before touching [lo, hi): throws when part of it is known to be lost. */
  guard(lo: number, hi: number): void {
    if (hi > this.gone) throw this.truncated(lo, hi);
  }

  /** After touching [lo, hi): accounts for pages lost meanwhile (one comparison when none was). */
  verify(lo: number, hi: number): void {
    if (FAULTS[0] !== this.seen) this.learn(lo, hi);
  }

  /** verify(i, i + 1), for the one-byte hot paths: `i + 1` is computed only when a page was lost. */
  verifyAt(i: number): void {
    if (FAULTS[0] !== this.seen) this.learn(i, i + 1);
  }

  /**
   * Asks the addon what this map lost, and throws if [lo, hi) is part of it: `ERR_MMAP_TRUNCATED`
   * for bytes past the file's end, the I/O error for bytes inside the file that a fault could not
   * read or write (reported once here; elsewhere it waits for the next flush).
   */
  learn(lo: number, hi: number): void {
    this.seen = FAULTS[0] as number;
    const h = this.handle;
    if (h === null) return;
    // Also maps the file back where an I/O error had set a page aside.
    if (native.loss(h, lossOut, false) < 0) return;
    const lostFrom = lossOut[0] as number;
    if (lostFrom >= 0) {
      this.gone = Math.min(this.gone, lostFrom, this.length);
      this.lost();
    }
    if (lossOut[1] !== 0 && (lossOut[2] as number) < hi && (lossOut[3] as number) > lo) {
      native.loss(h, lossOut, true);
      throw ioError(lossOut, "pagefault", lo, hi);
    }
    if (hi > this.gone) throw this.truncated(lo, hi);
  }

  /** Accounts for pages lost since this map last looked, without throwing (a loss seen only through a view). */
  refresh(): void {
    if (FAULTS[0] !== this.seen) this.learn(0, 0);
  }

  /** Throws when any byte of the map is lost (resize refuses a map in that state). */
  assertWhole(): void {
    if (this.gone < this.length) throw this.truncated(0, this.length);
  }

  /** The error for a call that touched [lo, hi) of a map lost from `gone` on. */
  truncated(lo: number, hi: number): TruncatedError {
    const err = stateError(
      "ERR_MMAP_TRUNCATED",
      `the file shrank under the map: bytes ${this.gone}..${this.length} of the map are gone ` +
        `(the call touched ${lo}..${hi}); map the file again`,
    ) as MMapError & { code: "ERR_MMAP_TRUNCATED"; goneStart: number; goneEnd: number };
    err.goneStart = this.gone;
    err.goneEnd = this.length;
    return err;
  }

  /** Called when `gone` moved: a strategy shortens what its fast paths may read. */
  protected abstract lost(): void;
}
