/**
 * Typed views: `m.view(Type, byteOffset?, length?)`, a TypedArray or a DataView over the map's
 * own memory (numpy.memmap's use of a map: float32 weights, records). A view shares the
 * ArrayBuffer the memory layer made over that memory: the whole map's, or, on a map larger than
 * the largest buffer, the segment holding the range or a buffer over exactly the range; where
 * that buffer would put the range at an offset the element size does not divide, the addon makes
 * one over exactly the range. Every one of them is tracked by the addon, so `close()` and
 * `resize()` detach the view with the rest.
 *
 * `Type` is one of the built-in constructors of this realm, not a subclass: a subclass's
 * constructor is code of its own, with its own signature (`Buffer`'s three-argument form is
 * deprecated), run over mapped memory; a subclass can wrap a view instead:
 * `new Sub(v.buffer, v.byteOffset, v.length)`.
 * Internal: not exported from the package.
 * @module
 */
import { native } from "./binding.js";
import { dataProperty, inherits, invalidArgType, invalidArgValue, rangeError, systemError } from "./errors.js";
import { viewsUnavailable, type Memory } from "./memory/index.js";
import { platform } from "./platform.js";
import { validateInteger } from "./validate.js";

/**
 * A constructor `m.view()` takes: a TypedArray constructor (`Float32Array`, …) or `DataView`.
 * The view's type is what the constructor makes of an `ArrayBuffer` (`Float32Array<ArrayBuffer>`
 * from TypeScript 5.7 on: a map's memory is never a SharedArrayBuffer); `prototype` only keeps
 * out constructors of other things (`Array`).
 */
export interface ViewType<T extends ArrayBufferView> {
  readonly prototype: ArrayBufferView;
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): T;
}

/**
 * `m.view(DataView)`'s type: a DataView over an `ArrayBuffer` (`DataViewConstructor`, generic
 * alone among the constructors, gives nothing narrower to infer; this reads as
 * `DataView<ArrayBuffer>` from TypeScript 5.7 on, and as `DataView` before).
 */
export type NonSharedDataView = DataView & { readonly buffer: ArrayBuffer };

type AnyViewType = new (buffer: ArrayBuffer, byteOffset: number, length: number) => ArrayBufferView;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** The constructors `view()` takes, with their element sizes (a DataView's length is in bytes). */
const SIZES = new Map<unknown, number>([
  [Int8Array, 1],
  [Uint8Array, 1],
  [Uint8ClampedArray, 1],
  [Int16Array, 2],
  [Uint16Array, 2],
  [Int32Array, 4],
  [Uint32Array, 4],
  [Float32Array, 4],
  [Float64Array, 8],
  [BigInt64Array, 8],
  [BigUint64Array, 8],
  [DataView, 1],
]);
/** Float16Array where the runtime has it (Node 24 behind a flag, newer runtimes without one). */
const Float16 = (globalThis as { Float16Array?: unknown }).Float16Array;
if (typeof Float16 === "function") SIZES.set(Float16, 2);

const NAMES = [...SIZES.keys()].map((c) => (c as { name: string }).name).join(", ");
const TypedArray = Object.getPrototypeOf(Int8Array) as abstract new () => object;

/** Whether `Type` derives from a TypedArray or DataView (a subclass, which `view()` refuses). */
function isSubclass(Type: unknown): boolean {
  if (typeof Type !== "function") return false;
  // Read without running code of Type's (a Proxy's trap, a getter): a failing call changes nothing.
  const proto = dataProperty(Type, "prototype");
  return inherits(proto, TypedArray) || inherits(proto, DataView);
}

/** The element size of `Type`, or TypeError `ERR_INVALID_ARG_TYPE` when view() does not take it. */
function elementSize(Type: unknown): number {
  const size = SIZES.get(Type);
  if (size !== undefined) return size;
  const hint = isSubclass(Type)
    ? " (not a subclass: wrap a view, new Sub(v.buffer, v.byteOffset, v.length); for a Buffer use subarray())"
    : "";
  throw invalidArgType("Type", `one of ${NAMES}${hint}`, Type);
}

/**
 * `m.view(Type, byteOffset?, length?)`: checks in Node's order (types, integers, alignment), then
 * that the map is open and views exist, then the range against the map.
 */
export function typedView<T extends ArrayBufferView>(mem: Memory, Type: ViewType<T>, byteOffset: unknown, length: unknown): T {
  const size = elementSize(Type);
  const off = byteOffset === undefined ? 0 : validateInteger(byteOffset, "byteOffset", 0, MAX_SAFE);
  const count = length === undefined ? undefined : validateInteger(length, "length", 0, MAX_SAFE);
  if (off % size !== 0) {
    throw invalidArgValue("byteOffset", off, `must be a multiple of ${Type.name}.BYTES_PER_ELEMENT (${size})`);
  }
  mem.open();
  if (!platform.views) throw viewsUnavailable();
  const len = mem.length;
  if (off > len) throw rangeError(`view byteOffset out of range: ${off} is beyond the end of the map (length ${len})`);
  const n = count ?? Math.floor((len - off) / size);
  if (n > (len - off) / size) {
    throw rangeError(`view out of range: ${n} elements of ${size} bytes from byteOffset ${off} do not fit in length ${len}`);
  }
  const bytes = n * size;
  if (bytes > platform.maxView) {
    throw rangeError(
      `A view of ${bytes} bytes is larger than the largest buffer this runtime allows (${platform.maxView}): pass a smaller length`,
    );
  }
  const span = mem.view(off, off + bytes);
  let buffer = span.buffer as ArrayBuffer;
  let at = span.byteOffset;
  if (at % size !== 0) {
    // A segment starting at an offset the element size does not divide: a buffer of its own.
    const own = native.view(mem.open(), off, bytes, true);
    if (own === null) throw viewsUnavailable();
    if (typeof own === "number") throw systemError(own, "mmap view");
    buffer = own;
    at = 0;
  }
  return new (Type as unknown as AnyViewType)(buffer, at, n) as T;
}

