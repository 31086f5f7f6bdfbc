/**
 * The `MMap` class: Python's `mmap.mmap`. This file holds Python's semantics only — the cursor,
 * indices and slices, bounds, access rules and errors — and reads like a table of contents:
 * how memory is reached is src/memory/, the mapping's lifetime src/mapping.ts, the constructor's
 * checks src/plan.ts, loss tracking src/truncation.ts, `MMap.open` src/open.ts; beyond Python,
 * src/extensions.ts (the base class: typed views, waiting, residency, prefetch, locking, named memory).
 * @module
 */
import type { PathLike } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { inspect, type InspectOptions } from "node:util";
import { ACCESS_COPY, ACCESS_READ, MS_SYNC, type Access } from "./constants.js";
import { invalidArgValue, notResizable, rangeError, readOnlyError, stateError, type MMapError } from "./errors.js";
import { Mapping } from "./mapping.js";
import type { Memory } from "./memory/index.js";
import { openMap, openMapAsync, type OpenOptions } from "./open.js";
import { planMap, type MMapOptions } from "./plan.js";
import { adviceRange } from "./residency.js";
import { compile, matchesOf, searchOnce, type MMapMatch } from "./search.js";
import { adjust, boundsArgs, clampRange, flushRange, plainRange, sliceArgs, sliceIndices } from "./slices.js";
import { settleWaits } from "./waiting.js";
import { MMapExtensions } from "./extensions.js";
import { installItemAccess } from "./item-access.js";
import {
  byteLength,
  needleBytes,
  optionalInteger,
  ownCopy,
  setMapBytes,
  toBytes,
  validateByte,
  validateIndex,
  validateInteger,
  validateOptions,
  validateSliceIndex,
  type BytesLike,
  type NonSharedBuffer,
} from "./validate.js";

export type { MMapOptions } from "./plan.js";
export type { OpenOptions } from "./open.js";
export type { NewMapEvent } from "./mapping.js";
export type { WaitResult } from "./waiting.js";
export type { ViewType } from "./typed.js";

/** Options of `flush()` and `flushAsync()`. */
export interface FlushOptions {
  /** `MS_SYNC` (default), `MS_ASYNC`, `MS_INVALIDATE`, or a combination the platform accepts. */
  flags?: number | undefined;
}

const ACCESS_NAMES = ["ACCESS_DEFAULT", "ACCESS_READ", "ACCESS_WRITE", "ACCESS_COPY"] as const;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** setSlice's error when the data and the slice differ in size (CPython: "mmap slice assignment is wrong size"). */
function wrongSize(given: number, count: number): MMapError {
  return invalidArgValue("data", `${given} bytes`, `must have the slice's size, ${count} bytes (mmap slice assignment is wrong size)`);
}

/**
 * A memory-mapped file or anonymous memory: Python's `mmap.mmap` for Node.js.
 *
 * It behaves like both a byte array (`get`, `set`, `slice`, `setSlice`,
 * zero-copy `buffer` and `subarray` views) and a file (`read`, `write`,
 * `readline`, `seek`, `tell`) over the mapped memory.
 *
 * @example
 * ```ts
 * import fs from "node:fs";
 * import { MMap } from "memmap";
 * const fd = fs.openSync("hello.txt", "r+");
 * using mm = new MMap(fd, 0);
 * mm.readline().toString(); // "Hello Python!\n"
 * mm.setSlice(6, mm.length, " world!\n");
 * ```
 */
/** Whether `o` is a map (made by MMap's constructor, a subclass's included); set in MMap's static block. */
let isMap: (o: unknown) => boolean;

export class MMap extends MMapExtensions implements Iterable<number> {
  /**
   * `m[i]` reads the byte at `i` and `m[i] = v` writes it, as Python's `m[i]`: the same as
   * {@link MMap.get | get(i)} and {@link MMap.set | set(i, v)}, with their rules and errors (a
   * negative index counts from the end; out of range, a fraction or a value outside 0..255 throws).
   */
  [index: number]: number;
  /** How the bytes are reached (and whether the map is closed: `handle` null). */
  readonly #mem: Memory;
  /** The mapping's lifetime: close, resize, flush, size. */
  readonly #map: Mapping;
  readonly #access: Access;
  #pos = 0;

  static {
    // A map where bytes are taken (write, setSlice, find, rfind): a copy of its bytes, as CPython
    // takes an mmap through the buffer protocol (`dst.write(src)`, `m[a:b] = other`). Told by the
    // brand (no Proxy or object that inherits from a map is one); a closed map is ERR_MMAP_CLOSED,
    // as CPython's "mmap closed or invalid", and lost bytes ERR_MMAP_TRUNCATED, by the copy.
    setMapBytes((value) => (#mem in value ? value.#mem.copy(0, value.#len()) : undefined));
    // m[i] and m[i] = v reach get/set only for maps (see the Proxy at the end of this file).
    isMap = (o) => typeof o === "object" && o !== null && #mem in o;
  }

  /**
   * Maps `length` bytes of the file open as `fd` (a descriptor or a `FileHandle`),
   * or anonymous memory when `fd` is `-1`. `length` 0 maps the whole file from `offset`.
   *
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` when an argument has the wrong type.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a negative or non-integer `length` or `offset`;
   *   `ERR_INVALID_ARG_VALUE` for an invalid `access`, `access` given with `flags`/`prot`,
   *   an empty file, an offset or length beyond the end of the file (except on Windows, where the
   *   file is extended to hold the map), `shareable` on a file, a `tagname` the system cannot take
   *   (Linux, macOS: a `/`, `.`, `..`, too long; a NUL anywhere), a `length` beyond the size of a
   *   tag's existing memory, or (Linux, macOS) a `tagname` with a file or with `shareable`.
   * @throws {Error} `ERR_MMAP_UNSUPPORTED_PLATFORM` for `shareable` on Windows.
   * @throws {Error} a system error (`code` `EACCES`, `EBADF`, `EINVAL`, `ENODEV`, …; `syscall`
   *   `dup`, `mmap`, `memfd_create`, or `shm_open` — e.g. `ENOENT` for length 0 and a tag that
   *   names no memory) when the operating system refuses.
   * @example
   * ```ts
   * const anon = new MMap(-1, 13);
   * anon.write("Hello world!");
   * ```
   */
  constructor(fd: number | FileHandle, length: number, options?: MMapOptions) {
    const plan = planMap(fd, length, options);
    const map = Mapping.create(plan, plan.access !== ACCESS_READ);
    super(map.mem);
    this.#access = plan.access;
    this.#map = map;
    this.#mem = map.mem;
  }

  /**
   * Opens the file at `path`, maps it, and keeps no descriptor open besides the map's own.
   * `path` is what `node:fs` takes: a string, a `Buffer` or any `Uint8Array` (of any realm: one a
   * worker received, one from `vm`), or a `file:` URL; it is read once, when the call is made.
   * The file is opened read-only for `ACCESS_READ` and `ACCESS_COPY` (and a `prot` without
   * `PROT_WRITE`), read-write otherwise, and without waiting: a FIFO is refused, not waited on.
   *
   * Every option is checked, with the constructor's errors, before the path is opened. A map
   * that then fails (an empty file, a range past its end, a system error) leaves the file as it
   * was: a file this call created is removed (`create` through a dangling symbolic link creates
   * the link's target), a file it grew is cut back to its former size,
   * each only while it is still as the call left it (docs/python.md, "Construction").
   *
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` when an argument has the wrong type.
   * @throws {RangeError} as the constructor does (`tagname` included, which names shared memory,
   *   not a file, on Linux and macOS: `ERR_INVALID_ARG_VALUE`), and `ERR_OUT_OF_RANGE` for a bad `size`.
   * @throws {Error} a system error from `open`, `ftruncate`, `mmap` (e.g. `ENOENT` without `create`).
   * @example
   * ```ts
   * using m = MMap.open("data.bin", { access: ACCESS_READ });
   * m.find("needle");
   * ```
   */
  static open(path: PathLike | Uint8Array, options?: OpenOptions): MMap {
    return openMap(path, options, (fd, length, opts) => new MMap(fd, length, opts));
  }

  /**
   * The promise twin of {@link MMap.open}: the file is opened and sized off the event loop.
   *
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` (rejects) when an argument has the wrong type.
   * @throws {RangeError} (rejects) as {@link MMap.open}.
   * @throws {Error} (rejects) a system error from `open`, `ftruncate` or `mmap`.
   * @example
   * ```ts
   * const m = await MMap.openAsync("data.bin", { access: ACCESS_READ });
   * ```
   */
  static async openAsync(path: PathLike | Uint8Array, options?: OpenOptions): Promise<MMap> {
    return openMapAsync(path, options, (fd, length, opts) => new MMap(fd, length, opts));
  }

  // ---------------------------------------------------------------- state

  /**
   * `true` once `close()` has been called; also for an object that is no map (`MMap.prototype`,
   * `Object.create(m)`): it reads no private state it lacks. @throws never.
   */
  get closed(): boolean {
    return !(#mem in this) || this.#mem.handle === null;
  }

  /**
   * The length of the map in bytes (Python's `len(m)`).
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  get length(): number {
    this.#mem.open();
    return this.#mem.length;
  }

  /**
   * The length, for the class's own bounds (checks closed): never `this.length`, which a
   * subclass or an own property can redefine, and a bound taken from it could reach past the
   * map (a copy would then hand out bytes it never wrote).
   */
  #len(): number {
    const mem = this.#mem;
    mem.open();
    return mem.length;
  }

  /** The file offset of the map. @throws never. */
  get offset(): number {
    return this.#map.offset;
  }

  /** The access mode: given, or derived from `prot` as Python does. @throws never. */
  get access(): Access {
    return this.#access;
  }

  /**
   * The map's own descriptor: the duplicate it holds of a file, the memfd of a `shareable`
   * anonymous map, or (Linux, macOS) the shared-memory object of a `tagname` map; `-1` when it has
   * none (an anonymous map without either, a file map made with `trackfd: false`, a closed map). A
   * `shareable` or tag map keeps its descriptor with `trackfd: false` too (it is how the memory is
   * shared), though `size()` and `resize()` refuse it as for every such map.
   * Hand it to a child process or a worker to share the memory.
   * @throws never.
   */
  get fd(): number {
    return this.#map.fd;
  }

  /**
   * Unmaps the memory and closes the map's descriptor (unless it was closed outside memmap and
   * its number now names another file: that one is left alone). Every view handed out earlier
   * (`buffer`, `subarray`, `view`) is detached first; one that escaped detaching (moved out by
   * `ArrayBuffer.prototype.transfer()`, or in the hands of Node's thread pool) reads zeros from
   * then on, its addresses kept until it is gone: no view ever reaches unmapped memory or another
   * mapping (docs/safety.md). Idempotent. Does not flush: a shared file map's pages reach the file
   * through the kernel. Pending {@link MMap.waitAsync} calls on the map settle with `ERR_MMAP_CLOSED`.
   * @throws never.
   */
  close(): void {
    settleWaits(this.#mem);
    this.#map.close();
  }

  /** Closes the map: `using m = new MMap(…)` closes it at the end of the block. @throws never. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Checks the map is open and writable; `what` names the refused operation. */
  #writable(what: string): void {
    this.#mem.open();
    if (this.#access === ACCESS_READ) throw readOnlyError(what);
  }

  // ---------------------------------------------------------------- views

  /**
   * The whole map as a `Buffer`, without copying: it works wherever a `Uint8Array` does.
   * Detached (length 0) by `close()` and `resize()`.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` when the map is larger than the largest `Buffer`
   *   this runtime allows: use `subarray()`.
   * @throws {Error} `ERR_MMAP_VIEWS_UNAVAILABLE` where the runtime forbids external buffers.
   */
  get buffer(): NonSharedBuffer {
    return this.#mem.whole() as NonSharedBuffer;
  }

  /**
   * A zero-copy `Buffer` view of bytes [start, end), with `Uint8Array.prototype.subarray`'s
   * rules (negative values count from the end; out-of-range values are clamped).
   * Works on maps larger than the largest `Buffer`, for ranges up to that size.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer, or a range larger than one `Buffer`.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed; `ERR_MMAP_VIEWS_UNAVAILABLE` where
   *   the runtime forbids external buffers.
   */
  subarray(start?: number, end?: number): NonSharedBuffer {
    const a = start === undefined ? 0 : validateSliceIndex(start, "start");
    const b = end === undefined ? undefined : validateSliceIndex(end, "end");
    this.#mem.open();
    return this.#mem.view(...clampRange(a, b, this.#mem.length)) as NonSharedBuffer;
  }

  // ---------------------------------------------------------------- bytes

  /**
   * The byte at `index` (Python's `m[i]`); a negative index counts from the end.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer or an index out of range.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  get(index: number): number {
    // The hot path reads the memory layer's view directly (one class per process: a monomorphic
    // load) and lets the layer account for loss; byteAt() does both for every other case.
    // A number that is not an index of the view (negative, fractional, NaN, past the end, or any
    // index once the view is detached) reads undefined from it: the engine's own bounds check is
    // the only one. `| 0` keeps the result an int32 on both paths, so that optimized callers never
    // box it (together: ~20 % fewer instructions a call, which lets random reads overlap more).
    const mem = this.#mem;
    const u = mem.fast;
    if (u !== null && typeof index === "number") {
      const v = u[index];
      if (v !== undefined) {
        mem.verifyAt(index);
        return v;
      }
    }
    return mem.byteAt(this.#index(index)) | 0;
  }

  /**
   * Sets the byte at `index` (Python's `m[i] = v`); a negative index counts from the end.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number; `ERR_MMAP_READ_ONLY` on a read-only map
   *   (before the index and the value are checked against their ranges, as in CPython).
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer, an index out of range or a value outside 0..255.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  set(index: number, value: number): void {
    if (this.#mem.trySet(index, value)) return;
    // Types and integer-ness first (docs/python.md, Errors); then, as CPython's m[i] = v, the
    // closed and read-only checks before any value is checked against its range.
    validateSliceIndex(index, "index");
    validateSliceIndex(value, "value");
    this.#writable("set");
    const i = this.#index(index);
    this.#mem.setByteAt(i, validateByte(value, "value"));
  }

  /** Validates and normalises an item index (checks closed). */
  #index(index: unknown): number {
    let i = validateIndex(index, "index");
    const len = this.#len();
    if (i < 0) i += len;
    if (i < 0 || i >= len) throw rangeError(`mmap index out of range: ${String(index)} (length ${len})`);
    return i;
  }

  /**
   * A copy of `m[start:stop:step]` with Python's slice rules: `undefined`/`null` for the
   * defaults, negatives from the end, clamping, any non-zero step.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer; `ERR_INVALID_ARG_VALUE` for step 0.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  slice(start?: number | null, stop?: number | null, step?: number | null): NonSharedBuffer {
    const mem = this.#mem;
    if (mem.fast !== null && plainRange(start, stop, step)) {
      const len = mem.length;
      return mem.copy(adjust(start as number, len, 0, len), adjust(stop as number, len, 0, len)) as NonSharedBuffer;
    }
    const [a, b, st] = sliceArgs(start, stop, step);
    const sl = sliceIndices(this.#len(), a, b, st);
    return (sl.step === 1 ? mem.copy(sl.start, sl.start + sl.count) : mem.gather(sl)) as NonSharedBuffer;
  }

  /**
   * Python's `m[start:stop:step] = data`: `data` must have exactly as many bytes as the slice.
   * `undefined`/`null` bounds mean the defaults.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a wrong type; `ERR_MMAP_READ_ONLY` on a read-only map.
   * @throws {RangeError} `ERR_INVALID_ARG_VALUE` when the sizes differ or step is 0;
   *   `ERR_OUT_OF_RANGE` for a non-integer.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed, or `data` is a map that is;
   *   `ERR_MMAP_TRUNCATED` when `data` is a map whose file lost the bytes.
   */
  setSlice(start: number | null | undefined, stop: number | null | undefined, data: BytesLike, step?: number | null): void {
    const bytes = toBytes(data, "data");
    if (plainRange(start, stop, step)) {
      // The checks and errors of the general path below, in the same order.
      this.#writable("setSlice");
      const len = this.#mem.length;
      const a = adjust(start as number, len, 0, len);
      const b = adjust(stop as number, len, 0, len);
      const count = b > a ? b - a : 0;
      const given = byteLength(bytes);
      if (given !== count) throw wrongSize(given, count);
      this.#mem.put(a, bytes);
      return;
    }
    const [a, b, st] = sliceArgs(start, stop, step);
    this.#writable("setSlice");
    const sl = sliceIndices(this.#mem.length, a, b, st);
    const given = byteLength(bytes);
    if (given !== sl.count) throw wrongSize(given, sl.count);
    if (sl.step === 1) this.#mem.put(sl.start, bytes);
    else this.#mem.scatter(sl, ownCopy(bytes)); // the source may be a view of this map
  }

  /**
   * The bytes of the map, as numbers, like iterating a `Uint8Array`.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is (or becomes) closed.
   */
  *[Symbol.iterator](): IterableIterator<number> {
    for (let i = 0; i < this.#len(); i++) yield this.#mem.byteAt(i);
  }

  // ---------------------------------------------------------------- file-like

  /**
   * The current position.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  tell(): number {
    this.#mem.open();
    return this.#pos;
  }

  /**
   * Moves the position: `whence` 0 (default) from the start, 1 from the current position,
   * 2 from the end. Returns the new position; seeking to `length` is allowed.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` when the new position is outside [0, length];
   *   `ERR_INVALID_ARG_VALUE` for an unknown `whence`.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  seek(pos: number, whence?: number): number {
    const p = validateIndex(pos, "pos");
    const w = optionalInteger(whence, "whence", 0, -MAX_SAFE, MAX_SAFE);
    const len = this.#len();
    if (w !== 0 && w !== 1 && w !== 2) throw invalidArgValue("whence", w, "must be 0, 1 or 2 (unknown seek type)");
    const where = (w === 0 ? 0 : w === 1 ? this.#pos : len) + p;
    if (!(where >= 0 && where <= len)) {
      throw rangeError(`seek out of range: position ${where} is outside [0, ${len}]`);
    }
    this.#pos = where;
    return where;
  }

  /** Always `true`, as in Python (even on a closed map). @throws never. */
  seekable(): boolean {
    return true;
  }

  /**
   * Reads up to `n` bytes from the position (all the rest when `n` is omitted, `null` or
   * negative) and advances the position. Returns a copy; empty at or past the end.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  read(n?: number | null): NonSharedBuffer {
    const count = n === undefined || n === null ? -1 : validateIndex(n, "n");
    const pos = this.#pos;
    const remaining = this.#len() - pos;
    if (remaining <= 0) return Buffer.alloc(0);
    const take = count < 0 || count > remaining ? remaining : count;
    const out = this.#mem.copy(pos, pos + take) as NonSharedBuffer;
    this.#pos = pos + take;
    return out;
  }

  /**
   * The byte at the position, advancing it by one.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` at or past the end.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  readByte(): number {
    // As get(): the view when it holds pos, byteAt() otherwise. That path runs for every new map
    // (its first accesses go through native calls until memmap makes its view: views.ts
    // deferFor), so V8 compiles it into the caller's loop; `| 0` types its result int32 as the
    // view's, so that the loop's sum stays untagged in registers (a loop of readByte over a
    // 10 MiB map: 2.4 -> 1.85 ns a byte once warm, and no slow mode of ~3.9 ns in some processes).
    const pos = this.#pos;
    const mem = this.#mem;
    const u = mem.fast;
    let b: number;
    if (u !== null && pos < u.length) {
      b = u[pos] as number;
      mem.verifyAt(pos);
    } else {
      if (pos >= this.#len()) throw rangeError(`read byte out of range: position ${pos}, length ${mem.length}`);
      b = mem.byteAt(pos) | 0;
    }
    this.#pos = pos + 1;
    return b;
  }

  /**
   * Writes one byte at the position, advancing it by one.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number; `ERR_MMAP_READ_ONLY` on a read-only map.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a value outside 0..255, or at or past the end.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  writeByte(byte: number): void {
    const pos = this.#pos;
    if (!this.#mem.trySet(pos, byte)) {
      validateByte(byte, "byte");
      this.#writable("writeByte");
      if (pos >= this.#mem.length) throw rangeError(`write byte out of range: position ${pos}, length ${this.#mem.length}`);
      this.#mem.setByteAt(pos, byte);
    }
    this.#pos = pos + 1;
  }

  /**
   * The bytes from the position up to and including the next `\n` (or to the end), as a
   * copy; advances the position. Empty at or past the end.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  readline(): NonSharedBuffer {
    const pos = this.#pos;
    const out = this.#mem.readLine(pos) as NonSharedBuffer;
    this.#pos = pos + out.length;
    return out;
  }

  /**
   * Writes `data` at the position and advances it; returns the number of bytes written.
   * Nothing is written unless all of it fits before the end.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a wrong type; `ERR_MMAP_READ_ONLY` on a read-only map.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` when the data does not fit before the end.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed, or `data` is a map that is;
   *   `ERR_MMAP_TRUNCATED` when `data` is a map whose file lost the bytes.
   */
  write(data: BytesLike): number {
    const bytes = toBytes(data, "data");
    this.#writable("write");
    const pos = this.#pos;
    const n = byteLength(bytes);
    const len = this.#mem.length;
    if (pos > len || len - pos < n) {
      throw rangeError(`data out of range: ${n} bytes at position ${pos} do not fit in length ${len}`);
    }
    this.#mem.put(pos, bytes);
    this.#pos = pos + n;
    return n;
  }

  // ---------------------------------------------------------------- search

  /**
   * The lowest index at which `sub` is found inside [start, end), or -1. `start` defaults to
   * the current position (as in Python), `end` to the length; both follow slice rules.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a wrong type.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer bound.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed, or `sub` is a map that is;
   *   `ERR_MMAP_TRUNCATED` when `sub` is a map whose file lost the bytes.
   */
  find(sub: BytesLike, start?: number, end?: number): number {
    return this.#find(sub, start, end, false);
  }

  /**
   * The highest index at which `sub` is found inside [start, end), or -1 (bounds as {@link MMap.find}).
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a wrong type.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer bound.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed, or `sub` is a map that is;
   *   `ERR_MMAP_TRUNCATED` when `sub` is a map whose file lost the bytes.
   */
  rfind(sub: BytesLike, start?: number, end?: number): number {
    return this.#find(sub, start, end, true);
  }

  #find(sub: BytesLike, start: unknown, end: unknown, backward: boolean): number {
    const needle = needleBytes(sub, "sub");
    const [s, e] = boundsArgs(start, end, this.#mem, this.#pos);
    if (e < s) return -1;
    const n = byteLength(needle);
    if (n === 0) return backward ? e : s;
    if (n > e - s) return -1;
    return this.#mem.find(needle, s, e, backward);
  }

  /**
   * Runs `regexp` over the bytes read as Latin-1 (one byte per character) and returns the
   * first match at or after `start` (default 0) that ends by `end` (default the length), with
   * byte offsets `index` and `end`; `null` when there is none. The text is `[0, end)`: a
   * lookbehind sees before `start`, and `$` matches at `end` (Python's `pos` and `endpos`).
   *
   * The expression runs on the mapped bytes themselves where the runtime allows it (Node, Bun
   * and Deno do): a match near `start` costs microseconds whatever the size of the map. The
   * matched text and groups are copies. `RegExp.input`, `RegExp.lastMatch`, `RegExp.$1`… are
   * left as after a match of an empty string. `regexp` is taken as a pattern: its internal
   * source and flags (what the engine runs); its `lastIndex`, `exec`, `[Symbol.match]` and any
   * getter of its own or of a subclass are not used, and a legacy `compile()` is seen at the
   * next call.
   *
   * Up to `SEARCH_WINDOW` bytes (`[0, end)`; 512 MiB in V8) the result is exactly the RegExp's
   * over that text as one string. Longer ranges are searched in windows, with the bounds
   * `SEARCH_MAX_MATCH` and `SEARCH_LOOKBEHIND` describe: a match a window cannot decide is an
   * `ERR_MMAP_SEARCH_LIMIT` error, never a wrong match.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` when `regexp` is not a RegExp (a proxy of one is
   *   not) or a bound not a number.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer bound.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed; `ERR_MMAP_TRUNCATED` when the
   *   text reaches bytes a shrinking file took away; `ERR_MMAP_SEARCH_LIMIT` (with `position`)
   *   over a range longer than `SEARCH_WINDOW`, at an attempt no window can decide.
   * @example
   * ```ts
   * const m = mm.search(/ERROR (\d+)/);
   * if (m) console.log(m.index, m[1]);
   * ```
   */
  search(regexp: RegExp, start?: number, end?: number): MMapMatch | null {
    const rx = compile(regexp, "regexp", false);
    const [s, e] = boundsArgs(start, end, this.#mem, 0);
    if (e < s) return null;
    return searchOnce(rx, this.#mem, s, e);
  }

  /**
   * Every match of a global `regexp`, in order, as {@link MMap.search} reports them
   * (an empty match advances by one byte, as `String.prototype.matchAll` does). Each step reads
   * the map as it is then: bytes written between steps are seen, a resize (also one before the
   * first step) limits the rest to the new length. (Where the text is copied, as in Electron, a step may search the copy an
   * earlier step made; a match from it is compared with the map before it is yielded.) Costs
   * the engine's matching plus a constant per match. `regexp` is taken as a pattern, as
   * {@link MMap.search} takes it: the iteration starts at `start`, not `lastIndex`, and keeps
   * the pattern `regexp` had when `matchAll` was called.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` when `regexp` is not a RegExp;
   *   `ERR_INVALID_ARG_VALUE` when it is not global.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer bound.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is (or becomes) closed; `ERR_MMAP_TRUNCATED`
   *   when a step reaches bytes a shrinking file took away (also after the iteration began);
   *   `ERR_MMAP_SEARCH_LIMIT` as {@link MMap.search}.
   * @example
   * ```ts
   * let lines = 0;
   * for (const m of mm.matchAll(/\n/g)) lines += m.end - m.index;
   * ```
   */
  matchAll(regexp: RegExp, start?: number, end?: number): IterableIterator<MMapMatch> {
    // Arguments are checked now, as String.prototype.matchAll does; the matches come lazily.
    const rx = compile(regexp, "regexp", true);
    const [s, e] = boundsArgs(start, end, this.#mem, 0);
    return matchesOf(rx, this.#mem, s, e);
  }

  // ---------------------------------------------------------------- memory

  /**
   * Python's `move(dest, src, count)`: copies `count` bytes from `src` to `dest`, overlaps safe.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number; `ERR_MMAP_READ_ONLY` on a read-only map.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` when a range falls outside the map.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  move(dest: number, src: number, count: number): void {
    const d = validateIndex(dest, "dest");
    const s = validateIndex(src, "src");
    const c = validateIndex(count, "count");
    this.#writable("move");
    const len = this.#mem.length;
    if (d < 0 || s < 0 || c < 0 || len - d < c || len - s < c) {
      throw rangeError(`source, destination, or count out of range: move(${d}, ${s}, ${c}) on length ${len}`);
    }
    if (c === 0) return;
    // Also when d === s: a move onto itself touches its range, as CPython's memmove does, so
    // that bytes the file lost throw ERR_MMAP_TRUNCATED as for any other move (CPython: SIGBUS).
    this.#mem.move(d, s, c);
  }

  /**
   * Flushes [offset, offset + size) to the file with `msync` (Python 3.15 semantics: `size`
   * omitted or -1 means to the end). A no-op for `ACCESS_READ` and `ACCESS_COPY` maps.
   * `offset` must be a multiple of `PAGESIZE` (the kernel says `EINVAL` otherwise).
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a wrong type.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` when the range falls outside the map.
   * @throws {Error} `ERR_MMAP_CLOSED` when closed; a system error (`syscall` `msync`) when the kernel refuses,
   *   or to report an I/O error that struck the map since (ENOSPC, EIO, EDQUOT: writes through views that may
   *   not have reached the file; once, with `ioStart`/`ioEnd`); `ERR_MMAP_TRUNCATED` (after the msync) when the
   *   range reaches bytes the file lost (it shrank under the map): see docs/safety.md.
   */
  flush(offset?: number, size?: number, options?: FlushOptions): void {
    const r = this.#flushArgs(offset, size, options);
    if (r !== null) this.#map.sync(r[0], r[1], r[2]);
  }

  /**
   * The promise twin of {@link MMap.flush}: `msync` runs on the thread pool. `close()` while it
   * runs is safe (the unmap waits for it); `resize()` throws `ERR_MMAP_BUSY` until it settles.
   * @throws {TypeError} (rejects) `ERR_INVALID_ARG_TYPE` for a wrong type.
   * @throws {RangeError} (rejects) `ERR_OUT_OF_RANGE` when the range falls outside the map.
   * @throws {Error} (rejects) `ERR_MMAP_CLOSED`, or a system error (`syscall` `msync`), an I/O error of the
   *   map included, or `ERR_MMAP_TRUNCATED`, as {@link MMap.flush}.
   */
  async flushAsync(offset?: number, size?: number, options?: FlushOptions): Promise<void> {
    const r = this.#flushArgs(offset, size, options);
    if (r !== null) await this.#map.syncAsync(r[0], r[1], r[2]);
  }

  /** [start, length, flags] of a flush, or null when there is nothing to flush (read-only and copy-on-write maps). */
  #flushArgs(offset: unknown, size: unknown, options: unknown): [number, number, number] | null {
    const off = optionalInteger(offset, "offset", 0, -MAX_SAFE, MAX_SAFE);
    const sz = optionalInteger(size, "size", -1, -MAX_SAFE, MAX_SAFE);
    const flags = optionalInteger(validateOptions(options, "options").flags, "options.flags", MS_SYNC, INT32_MIN, INT32_MAX);
    const range = flushRange(off, sz, this.#len());
    return this.#access === ACCESS_READ || this.#access === ACCESS_COPY ? null : [range[0], range[1], flags];
  }

  /**
   * Python's `madvise(option, start, length)`: advice to the kernel about [start, start + length);
   * `length` defaults to the rest of the map and is clipped to it.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a wrong type.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a start outside the map or a negative length.
   * @throws {Error} `ERR_MMAP_CLOSED` when closed; `ERR_MMAP_TRUNCATED` for a range the map knows
   *   its file lost (before the kernel sees the advice); a system error (`syscall` `madvise`), e.g. `EINVAL`
   *   for an unaligned start or an unknown option; `ERR_MMAP_UNSUPPORTED_PLATFORM` on Windows.
   */
  madvise(option: number, start?: number, length?: number | null): void {
    const opt = validateInteger(option, "option", INT32_MIN, INT32_MAX);
    const [s, n] = adviceRange(this.#mem, start, length, "madvise");
    this.#map.advise(s, n, opt);
  }

  /**
   * The size of the file (not of the map), as `fstat` reports it now; for an anonymous map, its length.
   * @throws {Error} `ERR_MMAP_CLOSED` when closed; `ERR_MMAP_NO_FD` for a map made with
   *   `trackfd: false`; `ERR_MMAP_FD_CLOSED` when `m.fd` was closed outside memmap; a system error
   *   (`syscall` `fstat`).
   */
  size(): number {
    this.#mem.open();
    if (!this.#map.trackfd) throw stateError("ERR_MMAP_NO_FD", "can't get size with trackfd: false");
    return this.#map.fileSize();
  }

  /**
   * Changes the length of the map to `newsize` bytes; a file-backed map also sets the file to
   * `offset + newsize` bytes. The position is unchanged. Once it has succeeded, every view handed
   * out before is detached (one that escaped detaching reads zeros where the map no longer is).
   * A failed resize leaves the map, its views, the position and the file as they were.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number; `ERR_MMAP_NOT_RESIZABLE` for
   *   `ACCESS_READ`/`ACCESS_COPY` maps, `trackfd: false`, or growing shared anonymous memory.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a size below 1 or too large.
   * @throws {Error} `ERR_MMAP_CLOSED`; `ERR_MMAP_BUSY` while a `flushAsync()`, `waitAsync()` or `prefetch()` runs;
   *   `ERR_MMAP_TRUNCATED` when the file lost part of the map (map the file again);
   *   `ERR_MMAP_FD_CLOSED` when `m.fd` was closed outside memmap (its number may name another file now); a system error
   *   (`syscall` `ftruncate` or `mremap`/`mmap`; on Windows `MapViewOfFile`, e.g. `EBUSY` while
   *   another map of the file or of the tag is open).
   */
  resize(newsize: number): void {
    const n = validateIndex(newsize, "newsize");
    this.#mem.open();
    if (!this.#map.trackfd) throw notResizable("with trackfd: false");
    if (this.#access === ACCESS_READ || this.#access === ACCESS_COPY) {
      throw notResizable("a readonly or copy-on-write memory map");
    }
    if (n < 1 || n > MAX_SAFE - this.#map.offset) {
      throw rangeError(`new size out of range: ${n} (a map holds at least 1 byte)`);
    }
    this.#map.resize(n);
  }

  /**
   * The map's bytes as a new `Buffer`, a copy (Python's `bytes(m)`; the same as `slice()`). This is
   * what `Buffer.from(m)` copies: without it, `Buffer.from` would take the map for an array-like
   * of `length` missing elements and return that many zeros.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  override valueOf(): NonSharedBuffer {
    return this.slice();
  }

  /**
   * What `m + ""`, `` `${m}` `` and `String(m)` give: `"[object Object]"`, as for any object
   * (`NaN` as a number). Without it they would go through {@link valueOf} and copy the whole map
   * into a string.
   * @throws never.
   */
  [Symbol.toPrimitive](hint: string): string | number {
    return hint === "number" ? NaN : Object.prototype.toString.call(this);
  }

  /** `util.inspect(m)`: closed, access, length, pos, offset. */
  [inspect.custom](_depth: number, options: InspectOptions, show: typeof inspect): string {
    const name = this.constructor.name;
    if (this.closed) return `${name} { closed: true }`;
    const fields = {
      closed: false,
      access: ACCESS_NAMES[this.#access],
      length: this.#mem.length,
      pos: this.#pos,
      offset: this.#map.offset,
    };
    return `${name} ${show(fields, { ...options, breakLength: Infinity })}`;
  }
}

// `m[i]` and `m[i] = v` (src/item-access.ts): get and set for maps, ordinary properties otherwise.
installItemAccess(MMapExtensions.prototype, isMap);
