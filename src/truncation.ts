/**
 * Loss tracking: bytes of a map lost because its file shrank under it. The native fault
 * handler (native/fault.c) replaces such pages with zeros and counts them in one process-wide
 * counter; every access path of the memory layer (src/memory/) checks the counter after it
 * touched memory and, when it moved, asks the addon what this map lost. The one place that
 * raises `ERR_MMAP_TRUNCATED`.
 * Internal: not exported from the package.
 * @module
 */
import { native, type Handle } from "./binding.js";
import { closedError, stateError, systemError, type MMapError } from "./errors.js";

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

/** `ERR_MMAP_TRUNCATED`, with the lost range of the map. */
export interface TruncatedError extends MMapError {
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
  length: number;
  gone = Infinity;
  seen: number = FAULTS[0] as number;

  constructor(handle: Handle, length: number) {
    this.handle = handle;
    this.length = length;
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

  /** Asks the addon what this map lost, and throws if [lo, hi) is part of it. */
  learn(lo: number, hi: number): void {
    this.seen = FAULTS[0] as number;
    const h = this.handle;
    if (h === null) return;
    const lostFrom = native.lostFrom(h);
    if (lostFrom < 0) return; // a page of another map
    this.gone = Math.min(this.gone, lostFrom, this.length);
    this.lost();
    if (hi > this.gone) throw this.truncated(lo, hi);
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
    ) as MMapError & { goneStart: number; goneEnd: number };
    err.goneStart = this.gone;
    err.goneEnd = this.length;
    return err;
  }

  /** Called when `gone` moved: a strategy shortens what its fast paths may read. */
  protected abstract lost(): void;
}
