/**
 * Argument validation, in Node's order: type, then integer, then bounds.
 * @internal
 * @module
 */
import { invalidArgType, invalidArgValue, outOfRange } from "./errors.js";
import type { MMap } from "./mmap.js";

/**
 * Anything memmap accepts where it needs bytes: a view, a buffer, a string (UTF-8), or a map,
 * which is bytes-like as CPython's mmap is (its bytes, not its position).
 */
export type BytesLike = Uint8Array | ArrayBuffer | SharedArrayBuffer | ArrayBufferView | string | MMap;

/** The bytes of a map given where bytes are taken, or undefined for anything else (set by mmap.ts). */
let bytesOfMap: (value: object) => Uint8Array | undefined = () => undefined;

/**
 * Sets how a map given as bytes is read: `read(value)` returns a copy of the map's bytes (checked
 * for loss, `ERR_MMAP_CLOSED` for a closed map) when `value` is a map, undefined otherwise,
 * without running code of the value's (a private-field brand check: a Proxy or an object that
 * merely inherits from a map is none).
 */
export function setMapBytes(read: (value: object) => Uint8Array | undefined): void {
  bytesOfMap = read;
}

/**
 * A `Buffer` over an `ArrayBuffer`, never a `SharedArrayBuffer`: what memmap's methods return,
 * copies and views alike, as `fs.readFileSync` returns one (it goes where TypeScript wants an
 * ArrayBuffer's bytes: a `BufferSource`, a `BlobPart`). `Buffer<ArrayBuffer>` where @types/node's
 * `Buffer` is generic (TypeScript >= 5.7), `Buffer` before: the type of `Buffer.allocUnsafe()`,
 * whichever @types/node the project has.
 */
export type NonSharedBuffer = ReturnType<typeof Buffer.allocUnsafe>;

/** A `Uint8Array` over an `ArrayBuffer` (`Uint8Array<ArrayBuffer>` from TypeScript 5.7 on): `residency()`'s. */
export type NonSharedUint8Array = ReturnType<typeof Uint8Array.of>;

/**
 * An integer in [min, max]; `TypeError` for a non-number, `RangeError` otherwise. `-0` is returned
 * as `0` (`value + 0`), by every validator of integers here: CPython's integers have no negative
 * zero, and a -0 kept would come back from the call (`find("", -0)`, `m.offset`, the `memmap:new`
 * event) where CPython gives 0.
 */
export function validateInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== "number") throw invalidArgType(name, "of type number", value);
  if (!Number.isInteger(value)) throw outOfRange(name, "an integer", value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
  return value + 0;
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
  return value + 0;
}

/** Any integer-valued number: a slice bound or step, clamped later as Python clamps slices. */
export function validateSliceIndex(value: unknown, name: string): number {
  if (typeof value !== "number") throw invalidArgType(name, "of type number", value);
  if (!Number.isInteger(value)) throw outOfRange(name, "an integer", value);
  return value + 0;
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

const BYTES = "of type string or an instance of Buffer, TypedArray, DataView, ArrayBuffer or MMap";

/** A getter of a built-in prototype, called on objects directly: user code cannot intercept it. */
function intrinsic<T>(proto: object, key: PropertyKey): (this: unknown) => T {
  const get = Object.getOwnPropertyDescriptor(proto, key)?.get;
  if (get === undefined) throw new Error(`memmap: no intrinsic getter ${String(key)}`);
  return get as (this: unknown) => T;
}
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const taTag = intrinsic<string | undefined>(TypedArrayPrototype, Symbol.toStringTag);
const taBuffer = intrinsic<ArrayBufferLike>(TypedArrayPrototype, "buffer");
const taOffset = intrinsic<number>(TypedArrayPrototype, "byteOffset");
const taLength = intrinsic<number>(TypedArrayPrototype, "byteLength");
const dvBuffer = intrinsic<ArrayBufferLike>(DataView.prototype, "buffer");
const dvOffset = intrinsic<number>(DataView.prototype, "byteOffset");
const dvLength = intrinsic<number>(DataView.prototype, "byteLength");
const abLength = intrinsic<number>(ArrayBuffer.prototype, "byteLength");
const sabLength = typeof SharedArrayBuffer === "function" ? intrinsic<number>(SharedArrayBuffer.prototype, "byteLength") : null;

/**
 * A `Uint8Array` over the bytes of `value`, without copying where possible. Strings are encoded
 * as UTF-8, as Node's own APIs do.
 *
 * Everything is read through the built-in getters, never through the value's own properties,
 * and the result is either the value itself — only a plain `Buffer` or `Uint8Array`, whose
 * prototype has no behaviour of its own — or a fresh `Uint8Array` over the same memory. The
 * value itself may still carry own properties (an own `length` getter, `subarray`,
 * `constructor`): callers read a result only through the engine (`TypedArray#set` on their own
 * array, index access, the addon) and through {@link byteLength} and {@link bytesAt}, never its
 * properties or methods. So no user code runs while, or after, the bytes are taken (a getter or
 * a `Proxy` trap that closes the map, resizes it or changes its length, or a length that lies),
 * and the caller's checks that follow stay true. A `Proxy` is not a view:
 * `ERR_INVALID_ARG_TYPE`, as Node's `fs` APIs say.
 */
export function toBytes(value: unknown, name: string): Uint8Array {
  // The common case first, small enough for the compiler to inline into every caller: a plain,
  // attached Buffer or Uint8Array over an ArrayBuffer is the value itself. The tag getter returns
  // undefined for anything that is not a typed array (a Proxy included) and never throws; a
  // Uint8Array's prototype is read only once the tag proved it is one (no trap can run).
  if (taTag.call(value) === "Uint8Array") {
    const proto = Object.getPrototypeOf(value);
    if ((proto === Buffer.prototype || proto === Uint8Array.prototype) && taLength.call(value) !== 0 && !isShared(taBuffer.call(value))) {
      return value as Uint8Array;
    }
  }
  return anyBytes(value, name);
}

/** {@link toBytes} for every other value: strings, other views, buffers, empty or detached views. */
function anyBytes(value: unknown, name: string): Uint8Array {
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (ArrayBuffer.isView(value)) {
    let tag: string | undefined;
    try {
      tag = taTag.call(value);
    } catch {
      tag = undefined;
    }
    let buffer: ArrayBufferLike, offset: number, length: number;
    try {
      // A view of a detached buffer: byteLength is 0 (a DataView's getter throws).
      if (tag === undefined) (buffer = dvBuffer.call(value)), (offset = dvOffset.call(value)), (length = dvLength.call(value));
      else (buffer = taBuffer.call(value)), (offset = taOffset.call(value)), (length = taLength.call(value));
    } catch {
      // The DataView getters throw for a detached buffer, and for a view that a resizable buffer
      // shrank under (out of bounds; a TypedArray's read 0 there, as the engine says).
      throw outOfBounds(name, value, tag === undefined ? dvBuffer : taBuffer);
    }
    if (length === 0) assertAttached(buffer, name, value);
    const proto = Object.getPrototypeOf(value);
    if (tag === "Uint8Array" && (proto === Buffer.prototype || proto === Uint8Array.prototype) && !isShared(buffer)) {
      return value as Uint8Array;
    }
    // A fresh view has the length read now, for good: a view that tracks the length of a growable
    // SharedArrayBuffer would grow under the call when another thread grows the buffer, past the
    // length the caller checked (a write would then reach bytes after its slice).
    return new Uint8Array(buffer, offset, length);
  }
  // An ArrayBuffer or SharedArrayBuffer is told by its built-in byteLength getter, which throws for
  // anything else (a Proxy included) without running a trap, where instanceof would run one.
  const length = bufferLength(value);
  if (length < 0) {
    // A map, as CPython takes an mmap wherever it takes a buffer: a copy of its bytes.
    const map = typeof value === "object" && value !== null ? bytesOfMap(value) : undefined;
    if (map !== undefined) return map;
    throw invalidArgType(name, BYTES, value);
  }
  const buffer = value as ArrayBufferLike;
  if (length === 0) assertAttached(buffer, name, value);
  return new Uint8Array(buffer, 0, length);
}

/**
 * Whether `value` is a `Uint8Array` (a `Buffer` included) of any realm, told by the built-in tag
 * getter as Node's `util.types.isUint8Array` tells it: no trap or getter of the value runs.
 */
export function isUint8Array(value: unknown): value is Uint8Array {
  return taTag.call(value) === "Uint8Array";
}

/**
 * The length of a result of {@link toBytes}, through the built-in getter: never an own `length`
 * of the caller's `Buffer` (a getter would run user code mid-call, a value could lie).
 */
export function byteLength(bytes: Uint8Array): number {
  return taLength.call(bytes);
}

/**
 * A `Uint8Array` over `n` bytes of a result of {@link toBytes} from `offset`, made without calling
 * its methods (an own `subarray`, or an own `constructor` that `subarray`'s species would use).
 */
export function bytesAt(bytes: Uint8Array, offset: number, n: number): Uint8Array {
  return new Uint8Array(taBuffer.call(bytes), taOffset.call(bytes) + offset, n);
}

/** Whether `buffer` (a view's, from the built-in getter) is a SharedArrayBuffer: the ArrayBuffer getter throws for one. */
function isShared(buffer: ArrayBufferLike): boolean {
  try {
    abLength.call(buffer);
    return false;
  } catch {
    return true;
  }
}

/** The byte length of an ArrayBuffer or SharedArrayBuffer (0 once detached), -1 for anything else. */
function bufferLength(value: unknown): number {
  if (typeof value !== "object" || value === null) return -1;
  try {
    return abLength.call(value);
  } catch {
    // not an ArrayBuffer
  }
  if (sabLength === null) return -1;
  try {
    return sabLength.call(value);
  } catch {
    return -1;
  }
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

/** A copy of `bytes` (a result of {@link toBytes}) that the caller owns: built from its memory, not by iterating it. */
export function ownCopy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** A view whose getters threw: detached, or (its buffer still attached) out of its shrunk resizable buffer. */
function outOfBounds(name: string, value: unknown, getBuffer: (this: unknown) => ArrayBufferLike) {
  try {
    new Uint8Array(getBuffer.call(value), 0, 0);
  } catch {
    return detached(name, value);
  }
  return invalidArgValue(name, value, "is a view out of the bounds of its ArrayBuffer (a resizable buffer resized below the view's end)");
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

/** Array.isArray, true for a revoked Proxy (which it throws for): neither is an options object. */
function isArray(value: object): boolean {
  try {
    return Array.isArray(value);
  } catch {
    return true;
  }
}

/**
 * Options omitted: an object without a prototype (Node's `kEmptyObject`), so that properties
 * someone put on `Object.prototype` are not read as options (a polluted `tagname` made every
 * anonymous map of the process one named shared memory; a getter ran inside the call).
 */
const NO_OPTIONS: Record<string, unknown> = Object.freeze(Object.create(null) as Record<string, unknown>);

/**
 * An options object, or an empty one without a prototype for `undefined`. Its properties are read
 * as Node reads an options object's: a getter, or a Proxy's trap, runs then (and what it throws is
 * thrown), and an object the caller made inherits what its prototype has.
 */
export function validateOptions(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return NO_OPTIONS;
  if (value === null || typeof value !== "object" || isArray(value)) throw invalidArgType(name, "of type object", value);
  return value as Record<string, unknown>;
}
