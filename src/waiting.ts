/**
 * Waiting on an `Int32` of a map: `wait`, `waitAsync` and `notify`, as `Atomics.wait`,
 * `Atomics.waitAsync` and `Atomics.notify` do for a `SharedArrayBuffer`, but across processes
 * too (the system's futex, `os_sync_wait_on_address`, or a waiter table on Windows: see
 * native/wait.c and docs/python.md). This module owns the validation and the results; the addon
 * sleeps.
 *
 * Invariants:
 * - Every argument is checked before the addon is called (type, then integer, then range), and
 *   nothing a call does changes the map: a failed call has no effect.
 * - No handle is kept across an `await`: `waitAsync` takes it from the memory layer before each
 *   call into the addon (docs/architecture.md: a closed map's handle may be a new map's).
 * - `pending` counts the `waitAsync` calls not yet settled in this thread: `close()` asks the
 *   addon to settle a map's calls only when some exist (a close costs no extra call otherwise).
 * Internal: not exported from the package.
 * @module
 */
import { native, type Handle } from "./binding.js";
import { closedError, invalidArgType, invalidArgValue, outOfRange, rangeError, systemError } from "./errors.js";
import type { Memory } from "./memory/index.js";
import { validateInteger } from "./validate.js";

/** What `wait` and `waitAsync` return, as `Atomics.wait` does. */
export type WaitResult = "ok" | "not-equal" | "timed-out";

const RESULTS: readonly WaitResult[] = ["ok", "not-equal", "timed-out"];
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const EBADF = 9;
const EFAULT = 14;

let pending = 0;

/** A byte offset of an `Int32`: an integer >= 0, a multiple of 4 (bounds are checked once the map is known open). */
function validateWordIndex(index: unknown): number {
  const i = validateInteger(index, "index", 0, Number.MAX_SAFE_INTEGER);
  if (i % 4 !== 0) throw invalidArgValue("index", i, "must be a multiple of 4 (the byte offset of an Int32)");
  return i;
}

/** A timeout in milliseconds: a number >= 0, fractions allowed, `Infinity` (the default) for none. */
function validateTimeout(timeout: unknown): number {
  if (timeout === undefined) return Infinity;
  if (typeof timeout !== "number") throw invalidArgType("timeout", "of type number", timeout);
  if (!(timeout >= 0)) throw outOfRange("timeout", ">= 0 (milliseconds, or Infinity)", timeout);
  return timeout;
}

/** How many waiters to wake: an integer >= 0, or `Infinity` (the default) for all. */
function validateCount(count: unknown): number {
  if (count === undefined || count === Infinity) return Infinity;
  return validateInteger(count, "count", 0, Number.MAX_SAFE_INTEGER);
}

/** The map's handle, once the word [index, index + 4) is known inside it and not lost. */
function wordOf(mem: Memory, index: number): Handle {
  const h = mem.open();
  if (index > mem.length - 4) {
    throw rangeError(`index out of range: the Int32 at ${index} does not fit in length ${mem.length}`);
  }
  mem.guard(index, index + 4);
  // A fault counted since this map last looked may have put zeros in the word's place already.
  mem.verify(index, index + 4);
  return h;
}

/**
 * The result of a wait, or its error. A word the map has learned meanwhile to be lost throws, also
 * when another call learned it (waitAsync: the event loop ran during the sleep), so no result is
 * read from the zeros standing in for it.
 */
function resultOf(rc: number, mem: Memory, index: number, syscall: string): WaitResult {
  if (rc === -EBADF) throw closedError();
  if (rc < 0) throw systemError(rc, syscall);
  mem.verify(index, index + 4);
  mem.guard(index, index + 4);
  return RESULTS[rc] as WaitResult;
}

/**
 * `m.wait(index, value, timeout)`: sleeps on this thread while the `Int32` at byte `index` holds
 * `value`, until notified or `timeout` ms pass.
 */
export function waitOn(mem: Memory, index: unknown, value: unknown, timeout: unknown): WaitResult {
  const i = validateWordIndex(index);
  const v = validateInteger(value, "value", INT32_MIN, INT32_MAX);
  const t = validateTimeout(timeout);
  const h = wordOf(mem, i);
  const left = timeLeft(t);
  for (let attempt = 1; ; attempt++) {
    const rc = native.wait(h, i, v, left(), interruptCheck);
    if (rc !== -EFAULT) return resultOf(rc, mem, i, "wait");
    lostWord(mem, i, attempt, "wait");
  }
}

/**
 * What a blocking wait calls between the slices of its sleep (native/wait.c, between_slices):
 * nothing, but a call into JavaScript, where the engine acts on a request to terminate what runs
 * (vm's `timeout` and `breakOnSigint`, the REPL's Ctrl+C) and Node refuses to run code in a worker
 * being stopped: the wait then returns, as `Atomics.wait` does.
 */
function interruptCheck(): void {}

/** How many times a call runs again after faults that were not its word's (see lostWord). */
const FAULT_RETRIES = 16;

/**
 * -EFAULT from the addon: a fault was counted while it read the word (before or during the sleep).
 * `ERR_MMAP_TRUNCATED` when the word is lost (its file shrank); else it was another map's fault,
 * or the file grew back, and the caller runs the call again, up to FAULT_RETRIES times (then the
 * EFAULT itself: faults elsewhere kept coming faster than the call could read its word).
 */
function lostWord(mem: Memory, index: number, attempt: number, syscall: string): void {
  mem.verify(index, index + 4);
  mem.guard(index, index + 4);
  if (attempt >= FAULT_RETRIES) throw systemError(-EFAULT, syscall);
}

/** The milliseconds left of `timeout` (Infinity stays so), counted from now. */
function timeLeft(timeout: number): () => number {
  const start = performance.now();
  return () => (timeout === Infinity ? timeout : Math.max(0, timeout - (performance.now() - start)));
}

/** `m.waitAsync(index, value, timeout)`: the same on a thread of memmap's own; settles on close. */
export async function waitOnAsync(mem: Memory, index: unknown, value: unknown, timeout: unknown): Promise<WaitResult> {
  const i = validateWordIndex(index);
  const v = validateInteger(value, "value", INT32_MIN, INT32_MAX);
  const t = validateTimeout(timeout);
  let h = wordOf(mem, i);
  const left = timeLeft(t);
  for (let attempt = 1; ; attempt++) {
    // Again after an await: user code ran meanwhile, and may have closed the map (whose handle
    // the next map may then have taken over: the call would wait on that map's word, keeping it
    // busy) or resized it. The handle is taken, and the word checked, afresh.
    if (attempt > 1) h = wordOf(mem, i);
    pending++;
    let rc: number;
    try {
      rc = await native.waitAsync(h, i, v, left());
    } finally {
      pending--;
    }
    if (rc !== -EFAULT) return resultOf(rc, mem, i, "waitAsync");
    lostWord(mem, i, attempt, "waitAsync");
  }
}

/** `m.notify(index, count)`: wakes up to `count` waiters on the word; how many it woke. */
export function notifyOn(mem: Memory, index: unknown, count: unknown): number {
  const i = validateWordIndex(index);
  const c = validateCount(count);
  const h = wordOf(mem, i);
  let rc = native.notify(h, i, c);
  for (let attempt = 1; rc === -EFAULT; attempt++) {
    lostWord(mem, i, attempt, "notify");
    rc = native.notify(h, i, c);
  }
  if (rc < 0) throw systemError(rc, "notify");
  mem.verify(i, i + 4);
  return rc;
}

/** Before close(): every pending `waitAsync` on the map settles now with `ERR_MMAP_CLOSED`. */
export function settleWaits(mem: Memory): void {
  const h = mem.handle;
  if (pending > 0 && h !== null) native.waitCancel(h);
}
