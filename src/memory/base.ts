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
import { rangeError, stateError, systemError, type MMapError } from "../errors.js";
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
 * Copies of up to SLAB_MAX bytes are carved out of a shared slab, as Node's Buffer pool does,
 * with one object per copy (Buffer.allocUnsafe costs a second one, plus checks): readline,
 * read and slice make one per call. A copy keeps its slab alive, as pooled Buffers do.
 */
const FastBuffer = (Buffer as unknown as { [Symbol.species]: new (ab: ArrayBuffer, off: number, n: number) => Buffer })[
  Symbol.species
];
const POOLED = typeof FastBuffer === "function" && FastBuffer !== (Buffer as unknown) && FastBuffer.prototype === Buffer.prototype;
const SLAB_SIZE = 64 * 1024;
const SLAB_MAX = 4 * 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabOffset = 0;

/** An uninitialised Buffer of n bytes for a copy, from the slab when small. */
export function allocCopy(n: number): Buffer {
  if (!POOLED || n > SLAB_MAX) return Buffer.allocUnsafe(n);
  if (slabOffset + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabOffset = 0;
  }
  const out = new FastBuffer(slab, slabOffset, n);
  slabOffset = (slabOffset + n + 7) & ~7;
  return out;
}

/** A copy of src[a, b). */
export function copyOf(src: Uint8Array, a: number, b: number): Buffer {
  const out = allocCopy(b - a);
  out.set(src.subarray(a, b));
  return out;
}

const NEWLINE = new Uint8Array([10]);

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

  /** Sets the byte at i when the fast path applies (as {@link tryGet}, v a byte, writable); false otherwise. */
  trySet(i: unknown, v: unknown): boolean {
    const u = this.fastW;
    if (u !== null && typeof i === "number" && i >= 0 && i < u.length && Number.isInteger(i) && typeof v === "number" && (v & 255) === v) {
      u[i] = v;
      this.verify(i, i + 1);
      return true;
    }
    return false;
  }

  /** memmove of `count` bytes from `src` to `dest`, one native call for any size. */
  move(dest: number, src: number, count: number): void {
    const lo = Math.min(dest, src);
    const hi = Math.max(dest, src) + count;
    this.guard(lo, hi);
    checked(native.move(this.open(), dest, src, count), "memmove");
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

  /** The byte at i (0 <= i < length). */
  abstract byteAt(i: number): number;
  /** Sets the byte at i (0 <= i < length). */
  abstract setByteAt(i: number, v: number): void;
  /** A copy of [a, b). */
  abstract copy(a: number, b: number): Buffer;
  /** Copies src into the map at `at` (at + src.length <= length). */
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
