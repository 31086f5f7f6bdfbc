/**
 * Python's slice arithmetic (`PySlice_AdjustIndices` and friends), pure: no map, no I/O.
 * Internal: not exported from the package.
 * @module
 */
import { invalidArgValue, rangeError } from "./errors.js";
import { validateIndex, validateSliceIndex } from "./validate.js";

/** Python's index adjustment for a sequence of `length`: a negative value counts from the end, then clamp to [lo, hi]. */
export function adjust(value: number, length: number, lo: number, hi: number): number {
  let v = value;
  if (v < 0) v += length;
  return v < lo ? lo : v > hi ? hi : v;
}

/** [start, end) of a sequence of `length`, `Uint8Array#subarray`'s way: negatives from the end, clamped, never end < start. */
export function clampRange(start: number, end: number | undefined, length: number): [number, number] {
  const a = adjust(start, length, 0, length);
  const b = end === undefined ? length : adjust(end, length, 0, length);
  return [a, Math.max(a, b)];
}

/**
 * The common slice `[a:b]`: integer bounds and no step (or 1). slice() and setSlice() take it
 * without the general slice arithmetic (sliceArgs, sliceIndices: two arrays a call); any other
 * arguments take the general path, which checks and reports them.
 */
export function plainRange(start: unknown, stop: unknown, step: unknown): boolean {
  return (step === undefined || step === 1) && typeof start === "number" && typeof stop === "number" && Number.isInteger(start) && Number.isInteger(stop);
}

/** A slice's arguments, type-checked: `undefined` (or `null`) bounds stay undefined; the step defaults to 1. */
export function sliceArgs(start: unknown, stop: unknown, step: unknown): [number | undefined, number | undefined, number] {
  return [
    start === undefined || start === null ? undefined : validateSliceIndex(start, "start"),
    stop === undefined || stop === null ? undefined : validateSliceIndex(stop, "stop"),
    step === undefined || step === null ? 1 : validateSliceIndex(step, "step"),
  ];
}

/** A slice resolved against a length: its first index, step and number of items. */
export interface Slice {
  readonly start: number;
  readonly step: number;
  readonly count: number;
}

/**
 * `PySlice_AdjustIndices`: the items of `[a:b:step]` in a sequence of `length`.
 * @throws {RangeError} `ERR_INVALID_ARG_VALUE` for step 0.
 */
export function sliceIndices(length: number, a: number | undefined, b: number | undefined, step: number): Slice {
  if (step === 0) throw invalidArgValue("step", step, "must not be zero (slice step cannot be zero)");
  let s: number, e: number;
  if (step > 0) {
    s = a === undefined ? 0 : adjust(a, length, 0, length);
    e = b === undefined ? length : adjust(b, length, 0, length);
  } else {
    s = a === undefined ? length - 1 : adjust(a, length, -1, length - 1);
    e = b === undefined ? -1 : adjust(b, length, -1, length - 1);
  }
  let count = 0;
  if (step > 0 ? s < e : e < s) count = Math.floor((step > 0 ? e - s - 1 : s - e - 1) / Math.abs(step)) + 1;
  return { start: s, step, count };
}

/** The bytes [lo, hi) a slice touches; an empty slice touches [start, start). */
export function spanOf(slice: Slice): [number, number] {
  const { start, step, count } = slice;
  if (count === 0) return [start, start];
  const last = start + (count - 1) * step;
  return step > 0 ? [start, last + 1] : [last, start + 1];
}

/** What boundsArgs() checks against: the map (memory layer), open or closed. */
export interface Sized {
  /** Throws ERR_MMAP_CLOSED when closed. */
  open(): unknown;
  readonly length: number;
}

/**
 * [start, end) of find/rfind/search over `seq`: Python's slice rules for the bounds given,
 * `start` defaulting to `def` (find: the position; search: 0), `end` to the length. end < start
 * stays so (nothing to find). Checks the types first, as CPython's argument parsing does, then
 * that the map is open.
 * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number.
 * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer.
 * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
 */
export function boundsArgs(start: unknown, end: unknown, seq: Sized, def: number): [number, number] {
  const a = start === undefined ? undefined : validateIndex(start, "start");
  const b = end === undefined ? undefined : validateIndex(end, "end");
  seq.open();
  const len = seq.length;
  return [a === undefined ? Math.min(def, len) : adjust(a, len, 0, len), b === undefined ? len : adjust(b, len, 0, len)];
}

/**
 * Python's checks of flush(offset, size) on a map of `length`: [offset, size], `size` -1 for
 * "to the end" (3.15).
 * @throws {RangeError} `ERR_OUT_OF_RANGE` when the range falls outside the map.
 */
export function flushRange(offset: number, size: number, length: number): [number, number] {
  const sz = size === -1 ? length - offset : size;
  if (offset < 0 || sz < 0 || offset + sz > length) {
    throw rangeError(`flush values out of range: offset ${offset}, size ${sz}, length ${length}`);
  }
  return [offset, sz];
}
