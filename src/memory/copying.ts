/**
 * Memory reached by copying through the addon, for runtimes that refuse external ArrayBuffers
 * (Electron's V8 sandbox): one native memmove per range, one call per byte. The addon checks
 * the range against the live mapping on every call and refreshes the mirrored fault counter
 * before it returns, so loss is seen right after the call that caused it.
 * Internal: not exported from the package.
 * @module
 */
import { native } from "../binding.js";
import { spanOf, type Slice } from "../slices.js";
import { Memory, allocCopy, allocResult, checked, tooLarge, viewsUnavailable } from "./base.js";
import { lengthField } from "../truncation.js";
import { platform } from "../platform.js";
import { byteLength } from "../validate.js";

/** Largest span a strided slice copies in one call (else it goes byte by byte). */
const STRIDED_COPY_MAX = 16 * 1024 * 1024;

export class CopyMemory extends Memory {
  byteAt(i: number): number {
    this.guard(i, i + 1);
    const v = checked(native.getByte(this.open(), i), "memcpy");
    this.verify(i, i + 1);
    return v;
  }

  setByteAt(i: number, v: number): void {
    this.guard(i, i + 1);
    checked(native.setByte(this.open(), i, v), "memcpy");
    this.verify(i, i + 1);
  }

  copy(a: number, b: number): Buffer {
    const n = b - a;
    if (n <= 0) return Buffer.alloc(0);
    if (n > platform.maxBuffer) throw tooLarge("A copy", n);
    this.guard(a, b);
    const out = allocCopy(n);
    checked(native.read(this.open(), a, out), "memcpy");
    this.verify(a, b);
    return out;
  }

  put(at: number, src: Uint8Array): void {
    const n = byteLength(src);
    if (n === 0) return;
    this.guard(at, at + n);
    checked(native.write(this.open(), at, src), "memcpy");
    this.verify(at, at + n);
  }

  gather(slice: Slice): Buffer {
    const { start, step, count } = slice;
    const out = allocResult(count);
    if (count === 0) return out;
    const [lo, hi] = spanOf(slice);
    if (hi - lo <= STRIDED_COPY_MAX) {
      // A span of moderate size is copied once, then picked from.
      const span = this.copy(lo, hi);
      for (let i = 0, p = start - lo; i < count; i++, p += step) out[i] = span[p] as number;
      return out;
    }
    for (let i = 0, p = start; i < count; i++, p += step) out[i] = this.byteAt(p);
    return out;
  }

  scatter(slice: Slice, src: Uint8Array): void {
    const { start, step, count } = slice;
    if (count === 0) return;
    // The whole span is checked before the first byte is written, as the views' scatter does: a
    // range the map knows lost is refused with nothing written (byte by byte, the bytes before
    // the loss were written first).
    const [lo, hi] = spanOf(slice);
    this.guard(lo, hi);
    for (let i = 0, p = start; i < count; i++, p += step) this.setByteAt(p, src[i] as number);
  }

  text(a: number, b: number): string {
    return this.copy(a, b).toString("latin1");
  }

  lineWindow(): null {
    return null;
  }

  line(a: number, b: number): Buffer {
    return this.copy(a, b);
  }

  liveText(): boolean {
    return false;
  }

  view(): Buffer {
    this.open();
    throw viewsUnavailable();
  }

  whole(): Buffer {
    this.open();
    throw viewsUnavailable();
  }

  protected lost(): void {
    // No fast paths to shorten: every access goes through the addon's range checks.
  }

  reset(length: number): void {
    this.length = lengthField(length);
  }

  release(): void {
    this.handle = null;
  }
}
