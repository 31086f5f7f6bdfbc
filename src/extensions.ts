/**
 * What memmap adds to Python's mmap (SPEC §8), as the base class of `MMap`: the line iterator,
 * typed views, waiting and waking across processes, residency, prefetch and locking, named
 * memory. Each method checks its arguments and hands the map's memory layer to its room
 * (src/lines.ts, src/typed.ts, src/waiting.ts, src/residency.ts, src/tags.ts); Python's
 * semantics stay in src/mmap.ts.
 * @module
 */
import { Lines } from "./lines.js";
import type { Memory } from "./memory/index.js";
import { lock, prefetch, residency } from "./residency.js";
import { unlinkTag } from "./tags.js";
import { typedView, type NonSharedDataView, type ViewType } from "./typed.js";
import { boundsArgs } from "./slices.js";
import { notifyOn, waitOn, waitOnAsync, type WaitResult } from "./waiting.js";
import type { NonSharedBuffer, NonSharedUint8Array } from "./validate.js";

/**
 * The methods of {@link MMap} that go beyond Python's mmap (SPEC §8). Not made directly: every
 * `MMap` is one.
 */
export abstract class MMapExtensions {
  /** The memory layer of the map (the same object as MMap's own). */
  readonly #mem: Memory;

  /** @internal */
  protected constructor(mem: Memory) {
    this.#mem = mem;
  }

  /**
   * Removes the name of named shared memory (`tagname`) on Linux and macOS, where names outlive
   * their maps: maps open now keep their memory, a new map of the name makes new memory, and the
   * memory itself goes once its last map is closed. Returns `true` when a name was removed, `false`
   * when there was none. On Windows a name goes with the last map of it: this does nothing and
   * returns `false`. See docs/named-memory.md.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-string.
   * @throws {RangeError} `ERR_INVALID_ARG_VALUE` for `""` or a name no tag can have.
   * @throws {Error} a system error (`syscall` `shm_unlink`), e.g. `EACCES`.
   * @example
   * ```ts
   * using shared = new MMap(-1, 4096, { tagname: "my-app-state" });
   * // … once every process that needs it has mapped it:
   * MMap.unlinkTag("my-app-state"); // true
   * ```
   */
  static unlinkTag(name: string): boolean {
    return unlinkTag(name);
  }

  /**
   * The lines of [start, end) (default: the whole map, whatever the position), each with its
   * `\n` (the last may have none), as zero-copy `Buffer` views of the map; the position does not
   * move. `start` and `end` follow slice rules (negatives count from the end, out-of-range values
   * are clamped; start after end: no lines). Newlines are found in batches, many lines a native
   * call. Views are detached by `close()` and `resize()` like every other view; where the runtime
   * allows no views, each line is a copy. Iterating on after `close()` throws `ERR_MMAP_CLOSED`
   * (a finished iterator stays finished); after `resize()` it goes on up to the new length (a
   * growth does not extend the range); a line the file lost (it shrank under the map) throws
   * `ERR_MMAP_TRUNCATED` rather than yielding zeros.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number bound.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer bound; (from the iterator) for a line
   *   longer than the largest `Buffer` the runtime allows.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is (or becomes) closed; `ERR_MMAP_TRUNCATED`
   *   (from the iterator) for a line of a file that shrank under the map.
   * @example
   * ```ts
   * using m = MMap.open("access.log", { access: ACCESS_READ });
   * let errors = 0;
   * for (const line of m.lines()) if (line.includes("ERROR")) errors++;
   * ```
   */
  lines(start?: number, end?: number): IterableIterator<NonSharedBuffer> {
    const [s, e] = boundsArgs(start, end, this.#mem, 0);
    return new Lines(this.#mem, s, Math.max(s, e)) as IterableIterator<NonSharedBuffer>;
  }

  /**
   * A `DataView` over `length` bytes of the map from `byteOffset` (by default as many as fit),
   * without copying: records with fields at any offset, in either byte order. As the other
   * signature, whose rules and errors it shares; typed over an `ArrayBuffer`.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a negative or non-integer value, a range beyond the
   *   map, or one larger than the largest buffer.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed; `ERR_MMAP_VIEWS_UNAVAILABLE` where the
   *   runtime forbids external buffers.
   */
  view(Type: DataViewConstructor, byteOffset?: number, length?: number): NonSharedDataView;
  /**
   * A `Type` (any TypedArray constructor, or `DataView`) over the map's memory, without copying:
   * `length` elements (bytes for a DataView) from `byteOffset`, by default as many as fit. Works
   * at any offset of a map larger than the largest buffer, for views up to that size. Detached
   * (length 0) by `close()` and `resize()`, as every view. `Type` must be one of the built-in
   * constructors (`Float16Array` where the runtime has it), not a subclass.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a `Type` that is not one of them, or a non-number.
   * @throws {RangeError} `ERR_INVALID_ARG_VALUE` for a `byteOffset` that is not a multiple of
   *   `Type.BYTES_PER_ELEMENT`; `ERR_OUT_OF_RANGE` for a negative or non-integer value, a range
   *   beyond the map, or one larger than the largest buffer.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed; `ERR_MMAP_VIEWS_UNAVAILABLE` where the
   *   runtime forbids external buffers.
   * @example
   * ```ts
   * using weights = MMap.open("weights.f32", { access: ACCESS_READ });
   * const w = weights.view(Float32Array); // every float of the file
   * let sum = 0;
   * for (const x of w) sum += x;
   * ```
   */
  view<T extends ArrayBufferView>(Type: ViewType<T>, byteOffset?: number, length?: number): T;
  view<T extends ArrayBufferView>(Type: ViewType<T>, byteOffset?: number, length?: number): T {
    return typedView(this.#mem, Type, byteOffset, length);
  }

  /**
   * `Atomics.wait` on the map, across processes: if the `Int32` at byte offset `index` holds
   * `value`, sleeps until {@link MMap.notify} wakes it (from this process or another that maps
   * the same memory) or `timeout` milliseconds pass; returns `"ok"`, `"not-equal"` (it did not
   * hold `value`: no sleep) or `"timed-out"`. Across processes for shared maps (a file mapped
   * `MAP_SHARED`, `shareable`, `tagname`); across the threads of this process for every map.
   * Blocks the calling thread, the event loop included when called on the main thread (as
   * `Atomics.wait` would): see {@link MMap.waitAsync}. `value` is an int32 (for a `Uint32Array`
   * value `v`, pass `v | 0`); `timeout` is a number >= 0, fractions allowed, `Infinity` (the
   * default) for none. The comparison and the sleep are one step: a notify that follows a store
   * of a new value is never lost. As with a futex, check the condition again after `"ok"`.
   * Like `Atomics.wait`, it is stopped by `vm`'s `timeout` and `breakOnSigint` (the REPL's
   * Ctrl+C) and by `worker.terminate()`: the sleep is cut into slices of 100 ms, between which the
   * engine may run its interrupts (an inspector's evaluation; closing the map then ends the wait
   * with `ERR_MMAP_CLOSED`). Which processes a notify reaches, per kind of map: docs/python.md.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer `index` or `value`, an `index` outside
   *   the map, a `value` outside the int32 range, a negative or NaN `timeout`; `ERR_INVALID_ARG_VALUE`
   *   for an `index` that is not a multiple of 4.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed; `ERR_MMAP_TRUNCATED` when the word's
   *   page was lost (the file shrank); a system error (`syscall` `wait`) when the system refuses.
   * @example
   * ```ts
   * const flag = new Int32Array(mm.buffer.buffer, mm.buffer.byteOffset, 1);
   * if (Atomics.load(flag, 0) === 0) mm.wait(0, 0, 1000); // "ok", "not-equal" or "timed-out"
   * ```
   */
  wait(index: number, value: number, timeout?: number): WaitResult {
    return waitOn(this.#mem, index, value, timeout);
  }

  /**
   * {@link MMap.wait} without blocking: a promise of `"ok"`, `"not-equal"` or `"timed-out"`. The
   * sleep happens on a thread of memmap's own, one per pending call (never on libuv's pool, so
   * that pending waits do not hold up `fs` or `crypto`), and keeps the map mapped meanwhile. A
   * pending call keeps the event loop alive; `close()` settles it with `ERR_MMAP_CLOSED`, and
   * `resize()` throws `ERR_MMAP_BUSY` until it settles. As `Atomics.waitAsync`, the word is compared
   * when the call is made: `"not-equal"` if it differs then; a store after the call wakes it
   * (`"ok"`), even before its thread sleeps. Store, then notify: a `notify` with no store before it
   * reaches the call only once its thread sleeps.
   * @throws {TypeError} (rejects) `ERR_INVALID_ARG_TYPE` for a non-number.
   * @throws {RangeError} (rejects) as {@link MMap.wait}.
   * @throws {Error} (rejects) `ERR_MMAP_CLOSED` when the map is closed, or gets closed while the call
   *   waits; `ERR_MMAP_TRUNCATED`; a system error (`syscall` `waitAsync`), e.g. `EAGAIN` when no
   *   thread can be started.
   * @example
   * ```ts
   * const result = await mm.waitAsync(0, 0, 5000); // "ok" once another process calls notify(0)
   * ```
   */
  waitAsync(index: number, value: number, timeout?: number): Promise<WaitResult> {
    return waitOnAsync(this.#mem, index, value, timeout);
  }

  /**
   * `Atomics.notify` on the map, across processes: wakes up to `count` (an integer >= 0; all by
   * default, or `Infinity`) of the threads waiting on the `Int32` at byte offset `index`
   * ({@link MMap.wait}, {@link MMap.waitAsync}), in this process and in others that map the same
   * memory. Returns how many it woke (macOS wakes "all" in bounded rounds: see docs/python.md).
   * Store the new value first (`Atomics.store`), then notify.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer or negative `index` or `count`, or an
   *   `index` outside the map; `ERR_INVALID_ARG_VALUE` for an `index` that is not a multiple of 4.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed; a system error (`syscall` `notify`).
   * @example
   * ```ts
   * const word = new Int32Array(mm.buffer.buffer, mm.buffer.byteOffset, 1);
   * Atomics.store(word, 0, 1);
   * mm.notify(0); // how many waiters it woke
   * ```
   */
  notify(index: number, count?: number): number {
    return notifyOn(this.#mem, index, count);
  }

  /**
   * Which pages of [start, start + length) are in memory: one entry per page, 1 where it is, 0
   * where it is not (`mincore`; `QueryWorkingSetEx` on Windows). `start` (default 0) is rounded
   * down to a page; `length` defaults to the rest of the map and is clipped to it, as `madvise`'s.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer, a start outside the map or a negative length.
   * @throws {Error} `ERR_MMAP_CLOSED` when closed; `ERR_MMAP_TRUNCATED` for a range the map knows its
   *   file lost (it shrank under the map); a system error (`syscall` `mincore`).
   * @example
   * ```ts
   * const pages = mm.residency();
   * const inMemory = pages.reduce((n, p) => n + p, 0);
   * ```
   */
  residency(start?: number, length?: number | null): NonSharedUint8Array {
    return residency(this.#mem, start, length);
  }

  /**
   * Reads [start, start + length) into memory off the event loop (Linux `MADV_POPULATE_READ` where
   * the kernel has it, else a read-ahead hint and a read of every page; `PrefetchVirtualMemory` and
   * a read of every page on Windows); resolves once it is in memory. The range as {@link MMap.residency}'s.
   * `close()` while it runs is safe (the unmap waits for it); `resize()` throws `ERR_MMAP_BUSY` until it settles.
   * @throws {TypeError} (rejects) `ERR_INVALID_ARG_TYPE` for a non-number.
   * @throws {RangeError} (rejects) `ERR_OUT_OF_RANGE` as {@link MMap.residency}.
   * @throws {Error} (rejects) `ERR_MMAP_CLOSED` when closed before it starts; `ERR_MMAP_TRUNCATED` when
   *   part of the range is lost (the file shrank under the map); an I/O error of the map (docs/safety.md).
   * @example
   * ```ts
   * await mm.prefetch(); // every page read in, without blocking the event loop
   * ```
   */
  prefetch(start?: number, length?: number | null): Promise<void> {
    return prefetch(this.#mem, start, length);
  }

  /**
   * Keeps the pages of [start, start + length) in memory (`mlock`; `VirtualLock` on Windows), until
   * `unlock()`, `close()` or the end of the process. The range as {@link MMap.residency}'s.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` as {@link MMap.residency}.
   * @throws {Error} `ERR_MMAP_CLOSED` when closed; `ERR_MMAP_TRUNCATED` when the file no longer
   *   backs part of the range (it shrank under the map: nothing is locked); an I/O error of a page
   *   that cannot be faulted in (`ENOSPC`, `EIO`, ..., `syscall` `pagefault`: nothing of a range
   *   none of which was locked before stays locked); a system error (`syscall` `mlock`): `ENOMEM`
   *   or `EPERM` beyond the limit on locked memory (`ulimit -l`), `EAGAIN`.
   * @example
   * ```ts
   * mm.lock();
   * mm.unlock();
   * ```
   */
  lock(start?: number, length?: number | null): void {
    lock(this.#mem, start, length, true);
  }

  /**
   * Lets the pages of [start, start + length) be paged out again (`munlock`; `VirtualUnlock`);
   * pages that were not locked are no error. The range as {@link MMap.residency}'s.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` as {@link MMap.residency}.
   * @throws {Error} `ERR_MMAP_CLOSED` when closed; a system error (`syscall` `munlock`).
   */
  unlock(start?: number, length?: number | null): void {
    lock(this.#mem, start, length, false);
  }
}
