/**
 * What of a map is in memory, and keeping it there: `residency()` (one entry per page),
 * `prefetch()` (reads a range in off the event loop), `lock()`/`unlock()`. Their ranges follow
 * `madvise()`'s rules (a start inside the map, a length defaulting to the rest and clipped to it),
 * with the start rounded down to a page, as the system calls need. They reach no byte from
 * JavaScript, so they work the same whether or not the runtime allows views.
 * Internal: not exported from the package.
 * @module
 */
import { constants as osConstants } from "node:os";
import { native } from "./binding.js";
import { MS_INVALIDATE, PAGESIZE } from "./constants.js";
import { allocationFailed, closedError, rangeError, systemError } from "./errors.js";
import type { Memory } from "./memory/index.js";
import { platform } from "./platform.js";
import { validateIndex, type NonSharedUint8Array } from "./validate.js";

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const SSIZE_MAX = 2n ** 63n - 1n;
const { EBADF, EBUSY, ENOMEM } = osConstants.errno;

/**
 * [start, byte count] of a range given as Python's `madvise()` takes it: `start` (default 0)
 * inside the map, `length` (default, `null`: the rest) not negative, clipped to the map; both any
 * integer below 2^63, with `start + length` below 2^63, as CPython's ssize_t. Checks types first,
 * then that the map is open, then the values against it.
 * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number.
 * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer, a start outside the map, a negative length.
 * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
 */
export function adviceRange(mem: Memory, start: unknown, length: unknown, what: string): [number, number] {
  // Any integer C's ssize_t holds, as CPython converts them (beyond: its OverflowError).
  const s = start === undefined ? 0 : validateIndex(start, "start");
  const l = length === null || length === undefined ? undefined : validateIndex(length, "length");
  mem.open();
  const len = mem.length;
  if (s < 0 || s >= len) throw rangeError(`${what} start out of bounds: ${s} (length ${len})`);
  const n = l === undefined ? len - s : l;
  if (n < 0) throw rangeError(`${what} length invalid: ${n}`);
  // CPython refuses start + length beyond ssize_t; told exactly (a double's sum may round).
  if (n > MAX_SAFE && BigInt(s) + BigInt(n) > SSIZE_MAX) throw rangeError(`${what} length too large: ${n} from ${s}`);
  return [s, Math.min(n, len - s)];
}

/**
 * adviceRange() with the start rounded down to a page: [page start, byte count]; a length of 0
 * gives a count of 0.
 * @throws as {@link adviceRange}.
 */
function pageRange(mem: Memory, start: unknown, length: unknown, what: string): [number, number] {
  const [s, n] = adviceRange(mem, start, length, what);
  const a = s - (s % PAGESIZE);
  return [a, n === 0 ? 0 : s + n - a];
}

/** `m.residency(start?, length?)`: 1 for each page of the range in memory, 0 for each page not. */
export function residency(mem: Memory, start: unknown, length: unknown): NonSharedUint8Array {
  const [a, n] = pageRange(mem, start, length, "residency");
  let out: NonSharedUint8Array;
  try {
    out = new Uint8Array(Math.ceil(n / PAGESIZE));
  } catch (err) {
    throw allocationFailed("the residency of a range", Math.ceil(n / PAGESIZE), err); // ulimit -v
  }
  if (n === 0) return out;
  // A range the map knows lost: private zeros stand in for the file's pages there, and mincore
  // would report them (1 where a read touched one) as if they were the file's. refresh(), not
  // verify(): a query takes no I/O error's report, which the next flush (or a method touching the
  // bytes) is to give.
  mem.refresh();
  mem.guard(a, a + n);
  const rc = native.residency(mem.open(), a, n, out);
  if (rc < 0) throw systemError(rc, "mincore");
  return out;
}

/**
 * `m.prefetch(start?, length?)`: the range read into memory on the thread pool. A range known lost
 * (a file that shrank under the map) rejects at once; a loss the reads discover rejects once they
 * are done, as every method that touches lost bytes throws.
 */
export async function prefetch(mem: Memory, start: unknown, length: unknown): Promise<void> {
  const [a, n] = pageRange(mem, start, length, "prefetch");
  if (n === 0) return;
  mem.guard(a, a + n);
  const rc = await native.prefetch(mem.open(), a, n, platform.populate);
  if (rc < 0) throw rc === -EBADF ? closedError() : systemError(rc, "madvise");
  mem.verify(a, a + n);
  // Also a loss another call learned while the reads ran (the event loop runs meanwhile): the
  // counter has not moved since, and verify() alone would see nothing.
  mem.guard(a, a + n);
}

/**
 * `m.lock()` (`on` true) and `m.unlock()`: mlock/munlock (VirtualLock/VirtualUnlock) of the range.
 *
 * mlock faults every page in, and a page the file no longer backs (it shrank under the map) makes
 * it fail with ENOMEM, and on Linux leaves the range marked locked (the mark is set before the pages
 * are faulted in). So a lock first touches the range's last page through the memory layer: a
 * truncation is then contained, learned and thrown as `ERR_MMAP_TRUNCATED` before anything is
 * locked (the file is one piece: if the last page is there, every page before it is). Should the
 * file shrink between that and mlock, the failed mlock is undone and the loss reported the same way.
 * munlock faults nothing in: unlocking a lost range works.
 */
export function lock(mem: Memory, start: unknown, length: unknown, on: boolean): void {
  const what = on ? "mlock" : "munlock";
  const [a, n] = pageRange(mem, start, length, what);
  if (n === 0) return;
  if (on) assertBacked(mem, a, a + n);
  const h = mem.open();
  // Linux's mlock marks the whole range locked before it faults the pages in, and leaves it so
  // when a page cannot be had (a hole of a full tmpfs, a page the disk cannot read: ENOMEM). Asked
  // first, one system call: whether none of the range is locked, so that a failed lock can then
  // be undone without unlocking what an earlier lock() locked.
  const fresh = on && platform.lockedProbe && native.sync(h, a, n, MS_INVALIDATE) === 0;
  const rc = native.lock(h, a, n, on);
  if (rc < 0) {
    if (on && !backed(mem, a, a + n)) {
      native.lock(h, a, n, false); // a failed call leaves nothing locked
      throw mem.truncated(a, a + n);
    }
    if (fresh && native.sync(h, a, n, MS_INVALIDATE) === -EBUSY) {
      native.lock(h, a, n, false); // marked by this call: undone
      // ENOMEM is then a page that could not be faulted in (the limit is checked before anything
      // is marked): read through the memory layer, it throws what struck it, with its code
      // (ENOSPC, EIO, ...), instead of an ENOMEM that reads as RLIMIT_MEMLOCK. The pages before
      // it are in memory already. (EAGAIN, memory itself short, is left as it is.)
      if (rc === -ENOMEM) for (let p = a; p < a + n; p += PAGESIZE) mem.byteAt(p);
    }
    throw systemError(rc, what);
  }
}

/**
 * Throws `ERR_MMAP_TRUNCATED` (for the range [a, b)) when the file no longer backs its last byte,
 * or the I/O error that struck that byte: reads it, so that a fault there is contained and learned.
 */
function assertBacked(mem: Memory, a: number, b: number): void {
  mem.guard(a, b);
  try {
    mem.byteAt(b - 1);
  } catch (err) {
    if (mem.gone < b) throw mem.truncated(a, b);
    throw err;
  }
}

/** Whether the file still backs [a, b) (see assertBacked); false for a range it lost. */
function backed(mem: Memory, a: number, b: number): boolean {
  try {
    assertBacked(mem, a, b);
    return true;
  } catch {
    return mem.gone >= b;
  }
}
