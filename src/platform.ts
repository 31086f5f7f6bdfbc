/**
 * What this system and this runtime can do, learned once when memmap loads: the capabilities
 * the addon reports, the runtime's limits, and every environment switch memmap reads. The rest
 * of src/ asks this object; no other module tests the OS, the runtime or `process.env`.
 * Internal: not exported from the package.
 * @module
 */
import { constants as bufferConstants } from "node:buffer";
import * as workerThreads from "node:worker_threads";
import { native } from "./binding.js";

const caps = native.capabilities;
const env = process.env;

/** A positive integer from an environment switch, or undefined when it is unset or not one. */
function envInteger(name: string): number | undefined {
  const text = env[name];
  if (text === undefined || !/^[1-9][0-9]*$/.test(text)) return undefined;
  return Number(text);
}

/** A non-negative integer from an environment switch, or undefined when it is unset or not one. */
function envCount(name: string): number | undefined {
  return env[name] === "0" ? 0 : envInteger(name);
}

const maxBuffer = Math.min(bufferConstants.MAX_LENGTH, Number.MAX_SAFE_INTEGER);
const forcedRemap = env["MEMMAP_NO_MREMAP"] === "1";
const maxString = bufferConstants.MAX_STRING_LENGTH;

/** The capabilities of this system and runtime, frozen. */
export interface Platform {
  /**
   * The runtime lets memmap wrap mapped memory in ArrayBuffers (views). Where it does not
   * (Electron's V8 sandbox; forced by `MEMMAP_NO_EXTERNAL_BUFFERS=1`, read by the addon),
   * every method copies through the addon and `buffer`/`subarray` throw
   * `ERR_MMAP_VIEWS_UNAVAILABLE`.
   */
  readonly views: boolean;
  /** The largest Buffer this runtime allows: the largest copy memmap can return. */
  readonly maxBuffer: number;
  /**
   * The largest single view (Buffer) memmap makes over mapped memory: `maxBuffer`, unless
   * `MEMMAP_MAX_VIEW=<bytes>` lowers it (tests: it puts maps of a few KiB on the segment path).
   */
  readonly maxView: number;
  /**
   * The runtime makes strings over memory it does not own (Node-API's external Latin-1 strings:
   * Node >= 20.4, Bun, Deno) and the system can keep such memory reserved after a close: regular
   * expressions then search the map in place. False where the runtime copies or lacks them
   * (Electron's V8 sandbox; `MEMMAP_NO_EXTERNAL_STRINGS=1`, read by the addon, forces it, and
   * `MEMMAP_NO_EXTERNAL_BUFFERS=1` implies it): the text is copied.
   */
  readonly externalText: boolean;
  /**
   * The longest text a regular expression runs over at once: the runtime's longest string
   * (about 512 MiB in V8, 2 GiB in JavaScriptCore), unless `MEMMAP_SEARCH_WINDOW=<bytes>` lowers
   * it (tests: it puts small maps on the path of maps larger than one string).
   */
  readonly maxText: number;
  /**
   * The JavaScript engine: V8 (Node, Deno, Electron) or JavaScriptCore (Bun). They share the
   * characters of substrings differently (search.ts makes its copies accordingly).
   */
  readonly engine: "v8" | "jsc";
  /**
   * memmap's own whole view of a map of up to this many bytes is made after about 8 accesses; a
   * larger map waits longer (64, or ~16,000 from 32 MiB), reached through single native calls
   * meanwhile (see src/memory/views.ts). 8 MiB, or `MEMMAP_EAGER_VIEW=<bytes>` (tests: 0 makes
   * every map wait longer).
   */
  readonly eagerView: number;
  /** Resizing maps anew (no mremap): macOS, or `MEMMAP_NO_MREMAP=1` on Linux (tests). */
  readonly portableRemap: boolean;
  /** The system call a failed resize names. */
  readonly remapSyscall: string;
  /**
   * Mapping and resizing set the file's size themselves (Windows: a map longer than the file
   * extends it, and a file cannot change size under a view). Elsewhere a map must lie inside
   * its file, and resize sets the file's size before it remaps.
   */
  readonly mapSizesFile: boolean;
  /** madvise(2) exists. */
  readonly madvise: boolean;
  /** Anonymous memory with a descriptor (`shareable`). */
  readonly shareable: boolean;
  /** Named mappings (`tagname`). */
  readonly tagname: boolean;
  /**
   * A tag is an object of its own with a descriptor (POSIX shared memory, `shm_open`): the map owns
   * that descriptor (`m.fd`), and the name outlives the maps until `MMap.unlinkTag`. Where this is
   * false (Windows) the mapping itself is named, a tag may name a file's mapping too, and the name
   * goes with the last map of it.
   */
  readonly tagObjects: boolean;
  /** The longest tag, in UTF-8 bytes; 0 where the system checks it itself. */
  readonly tagMax: number;
  /**
   * `prefetch()` first asks the kernel to read and map the range in one call (Linux
   * `MADV_POPULATE_READ`, where the kernel has it). `MEMMAP_NO_POPULATE=1` takes the path of systems
   * without it (a read-ahead hint and a read of every page), so that the tests run both.
   */
  readonly populate: boolean;
  /**
   * Linux: `msync(MS_INVALIDATE)` does nothing but say `EBUSY` where memory is locked, so `lock()`
   * can ask whether any of its range was locked before it (see src/residency.ts). Elsewhere
   * MS_INVALIDATE does invalidate, and a failed lock leaves nothing marked.
   */
  readonly lockedProbe: boolean;
  /** Shared anonymous memory without a descriptor can grow (Windows' paging-file sections). */
  readonly growSharedAnonymous: boolean;
  /** The soft limit on open descriptors when memmap loaded. */
  readonly fdLimit: number;
  /**
   * The runtime keeps its own record of the descriptors its `fs` opened, so they must be closed
   * through it and never adopted by a map (`MMap.open` maps a duplicate then): Deno; and a worker
   * thread, whose Node (`trackUnmanagedFds`, on by default) closes at the worker's end every
   * descriptor that `fs.openSync` opened there and `fs.closeSync` did not close, by its number,
   * which another thread may have reused by then (an adopted descriptor, closed by the map: writes
   * of the main thread meant for its own file reached the file opened after the worker ended).
   */
  readonly runtimeOwnsFds: boolean;
  /**
   * Marks an ArrayBuffer untransferable, as Node marks its own Buffer pool (`markAsUntransferable`
   * of node:worker_threads; a no-op where the runtime lacks it). What honours the mark depends on
   * the runtime (measured, docs/safety.md "Copies"): `postMessage` and `structuredClone` everywhere
   * it exists (Node 20 copies the buffer instead, Node >= 22, Bun and Deno refuse), and
   * `ArrayBuffer.prototype.transfer()` from Node 24 and in Deno only.
   */
  readonly untransferable: (buffer: ArrayBuffer) => void;
}

const markAsUntransferable = (workerThreads as { markAsUntransferable?: (object: object) => void }).markAsUntransferable;

export const platform: Platform = Object.freeze({
  views: native.faults !== null,
  maxBuffer,
  maxView: Math.min(maxBuffer, envInteger("MEMMAP_MAX_VIEW") ?? maxBuffer),
  externalText: native.externalText,
  maxText: Math.min(maxString, envInteger("MEMMAP_SEARCH_WINDOW") ?? maxString),
  engine: typeof (process.versions as { bun?: string }).bun === "string" ? "jsc" : "v8",
  eagerView: envCount("MEMMAP_EAGER_VIEW") ?? 8 * 1024 * 1024,
  portableRemap: forcedRemap || !caps.mremap,
  remapSyscall: forcedRemap ? caps.portableRemapSyscall : caps.remapSyscall,
  mapSizesFile: caps.remapSizesFile,
  madvise: caps.madvise,
  shareable: caps.memfd,
  tagname: caps.tagname,
  tagObjects: caps.tagObjects,
  tagMax: caps.tagMax,
  populate: env["MEMMAP_NO_POPULATE"] !== "1",
  lockedProbe: process.platform === "linux",
  growSharedAnonymous: caps.remapSizesFile,
  fdLimit: native.fdLimit,
  runtimeOwnsFds: typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" || !workerThreads.isMainThread,
  untransferable: typeof markAsUntransferable === "function" ? (buffer: ArrayBuffer) => markAsUntransferable(buffer) : () => {},
});
