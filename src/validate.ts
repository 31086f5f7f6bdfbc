/**
 * Argument validation, in Node's order: type, then integer, then bounds.
 * @internal
 * @module
 */
import { invalidArgType, invalidArgValue, outOfRange } from "./errors.js";

/** Anything memmap accepts where it needs bytes. */
export type BytesLike = Uint8Array | ArrayBuffer | SharedArrayBuffer | ArrayBufferView | string;

/** An integer in [min, max]; `TypeError` for a non-number, `RangeError` otherwise. */
export function validateInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== "number") throw invalidArgType(name, "of type number", value);
  if (!Number.isInteger(value)) throw outOfRange(name, "an integer", value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
  return value;
}

/** Like {@link validateInteger}, with `undefined` meaning `def`. */
export function optionalInteger(value: unknown, name: string, def: number, min: number, max: number): number {
  return value === undefined ? def : validateInteger(value, name, min, max);
}

const SSIZE = 2 ** 63;

/**
 * An integer in C's ssize_t range, [-2^63, 2^63), as CPython converts positions, counts and
 * sizes (beyond it CPython raises OverflowError).
 */
export function validateIndex(value: unknown, name: string): number {
  if (typeof value !== "number") throw invalidArgType(name, "of type number", value);
  if (!Number.isInteger(value)) throw outOfRange(name, "an integer", value);
  if (value >= SSIZE || value < -SSIZE) throw outOfRange(name, ">= -(2 ** 63) && < 2 ** 63", value);
  return value;
}

/** Any integer-valued number: a slice bound or step, clamped later as Python clamps slices. */
export function validateSliceIndex(value: unknown, name: string): number {
  if (typeof value !== "number") throw invalidArgType(name, "of type number", value);
  if (!Number.isInteger(value)) throw outOfRange(name, "an integer", value);
  return value;
}

/** A byte value 0..255. */
export function validateByte(value: unknown, name: string): number {
  return validateInteger(value, name, 0, 255);
}

/** A boolean, with `undefined` meaning `def`. */
export function optionalBoolean(value: unknown, name: string, def: boolean): boolean {
  if (value === undefined) return def;
  if (typeof value !== "boolean") throw invalidArgType(name, "of type boolean", value);
  return value;
}

const BYTES = "of type string or an instance of Buffer, TypedArray, DataView or ArrayBuffer";

/**
 * A `Uint8Array` over the bytes of `value`, without copying where possible.
 * Strings are encoded as UTF-8, as Node's own APIs do.
 */
export function toBytes(value: unknown, name: string): Uint8Array {
  if (value instanceof Uint8Array && value.length > 0) return value; // the common case, first
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (ArrayBuffer.isView(value)) {
    let length: number;
    try {
      length = value.byteLength; // a DataView over a detached buffer throws here
    } catch {
      throw detached(name, value);
    }
    if (length === 0) assertAttached(value.buffer, name, value);
    return value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, length);
  }
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer)) {
    if (value.byteLength === 0) assertAttached(value, name, value);
    return new Uint8Array(value);
  }
  throw invalidArgType(name, BYTES, value);
}

/** Encoded needles of find/rfind, by string: a loop over one string needle encodes it once. */
const needles = new Map<string, Uint8Array>();
const NEEDLES = 64;
const NEEDLE_CHARS = 1024;

/**
 * {@link toBytes} for a search needle, which is only read: a string is encoded once and its
 * bytes kept (the last {@link NEEDLES} strings of up to {@link NEEDLE_CHARS} characters), so
 * that repeated string needles cost what Buffer needles do.
 */
export function needleBytes(value: unknown, name: string): Uint8Array {
  if (typeof value !== "string") return toBytes(value, name);
  let bytes = needles.get(value);
  if (bytes === undefined) {
    bytes = Buffer.from(value, "utf8");
    if (value.length <= NEEDLE_CHARS) {
      if (needles.size >= NEEDLES) needles.delete(needles.keys().next().value as string);
      needles.set(value, bytes);
    }
  }
  return bytes;
}

function detached(name: string, value: unknown) {
  return invalidArgValue(name, value, "is a view of a detached ArrayBuffer");
}

/** An empty view may sit on a detached buffer (a closed map's view, a transferred buffer): refuse it. */
function assertAttached(buffer: ArrayBufferLike, name: string, value: unknown): void {
  try {
    new Uint8Array(buffer, 0, 0);
  } catch {
    throw detached(name, value);
  }
}

/** An options object, or `undefined` for `{}`. */
export function validateOptions(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw invalidArgType(name, "of type object", value);
  return value as Record<string, unknown>;
}
