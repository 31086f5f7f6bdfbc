/**
 * Python's slice arithmetic (`PySlice_AdjustIndices` and friends), pure: no map, no I/O.
 * Internal: not exported from the package.
 * @module
 */
import { invalidArgValue } from "./errors.js";
import { validateSliceIndex } from "./validate.js";

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
