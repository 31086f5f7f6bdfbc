/**
 * The `MMap` class: Python's `mmap.mmap`, with the cursor, bytes and search
 * semantics in TypeScript over zero-copy views of the mapped memory.
 * @module
 */
import { constants as bufferConstants } from "node:buffer";
import { channel } from "node:diagnostics_channel";
import { closeSync, fstatSync, ftruncateSync, openSync, constants as fsConstants, type PathLike } from "node:fs";
import { open as openAsyncFile, type FileHandle } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import { inspect, type InspectOptions } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { native, type Handle } from "./binding.js";
import {
  ACCESS_COPY,
  ACCESS_DEFAULT,
  ACCESS_READ,
  ACCESS_WRITE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MS_SYNC,
  PROT_READ,
  PROT_WRITE,
  type Access,
} from "./constants.js";
import {
  type MMapError,
  closedError,
  invalidArgType,
  invalidArgValue,
  notResizable,
  rangeError,
  readOnlyError,
  stateError,
  systemError,
  unsupported,
} from "./errors.js";
import { compile, requireGlobal, Scanner, type MMapMatch } from "./search.js";
import {
  optionalBoolean,
  optionalInteger,
  toBytes,
  validateByte,
  validateIndex,
  validateSliceIndex,
  validateInteger,
  validateOptions,
  type BytesLike,
} from "./validate.js";

/** Options of `new MMap(fd, length, options)`: the Unix signature of Python's `mmap`. */
export interface MMapOptions {
  /** `MAP_SHARED` (default) or `MAP_PRIVATE`, possibly with other `MAP_*` flags. Not with `access`. */
  flags?: number | undefined;
  /** `PROT_READ | PROT_WRITE` by default. Not with `access`. The memory is always mapped readable. */
  prot?: number | undefined;
  /** `ACCESS_DEFAULT` (default: derived from `prot`), `ACCESS_READ`, `ACCESS_WRITE` or `ACCESS_COPY`. */
  access?: Access | undefined;
  /** File offset of the map, a multiple of `ALLOCATIONGRANULARITY`. Default 0. */
  offset?: number | undefined;
  /** Keep a duplicate of the descriptor (default `true`); `false` makes `size()` and `resize()` unavailable. */
  trackfd?: boolean | undefined;
  /**
   * Anonymous maps only: back the memory with a descriptor (`m.fd`) that another process or thread can map.
   * Not on Windows (`ERR_MMAP_UNSUPPORTED_PLATFORM`): there a `tagname` shares anonymous memory.
   */
  shareable?: boolean | undefined;
  /**
   * Windows only (Python's `tagname`): the name of the mapping. Maps with the same tag share their
   * memory, in this process or another; with `fd` -1 the memory is the system's paging file.
   * An empty string means no name. On other systems: `TypeError` `ERR_MMAP_UNSUPPORTED_PLATFORM`.
   */
  tagname?: string | undefined;
}

/** Options of `MMap.open(path, options)`. */
export interface OpenOptions extends Omit<MMapOptions, "shareable"> {
  /** Bytes to map; 0 or omitted maps the whole file from `offset`. */
  length?: number | undefined;
  /** Create the file if it is missing (mode 0o666 before umask). */
  create?: boolean | undefined;
  /** Extend a shorter file with zeros to this many bytes before mapping; never shrinks. */
  size?: number | undefined;
}

/** What `memmap:new` publishes, before the map is made (Python's `mmap.__new__` audit event). */
export interface NewMapEvent {
  fd: number;
  length: number;
  access: Access;
  offset: number;
}

/** Options of `flush()` and `flushAsync()`. */
export interface FlushOptions {
  /** `MS_SYNC` (default), `MS_ASYNC`, `MS_INVALIDATE`, or a combination the platform accepts. */
  flags?: number | undefined;
}

const newMapChannel = channel("memmap:new");

/** Windows: a longer map extends the file, resize sizes the file itself, no madvise, no memfd. */
const WINDOWS = process.platform === "win32";

const ACCESS_NAMES = ["ACCESS_DEFAULT", "ACCESS_READ", "ACCESS_WRITE", "ACCESS_COPY"] as const;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** The largest single view (Buffer) this runtime allows. */
const MAX_VIEW: number = Math.min(bufferConstants.MAX_LENGTH, MAX_SAFE);
/**
 * Maps larger than MAX_VIEW are reached through segments: segment k covers
 * [k*STRIDE, k*STRIDE + SEGMENT), so any range of at most SEGMENT - STRIDE
 * bytes lies inside the segment where it starts.
 */
const SEGMENT = Math.min(2 ** 31, MAX_VIEW);
const STRIDE = SEGMENT / 2;

/** Forces the macOS resize path (no mremap) on Linux, for tests. */
const PORTABLE_REMAP = process.env.MEMMAP_NO_MREMAP === "1" || !native.capabilities.mremap;

const statOut = new Float64Array(2);

/**
 * Whether this runtime lets memmap wrap mapped memory in ArrayBuffers. Where it does not
 * (Electron's V8 sandbox; forced by `MEMMAP_NO_EXTERNAL_BUFFERS=1`), every method copies
 * through the addon instead, and `buffer`/`subarray` throw `ERR_MMAP_VIEWS_UNAVAILABLE`.
 */
const VIEWS = native.faults !== null;

/**
 * Counts pages lost to shrinking files in any map (native/fault.c), read without a call: the
 * counter itself where views exist; otherwise a copy that every native call touching mapped
 * memory refreshes before it returns (so a fault it caused is seen right after it).
 */
const FAULTS: Uint32Array = native.faults !== null ? new Uint32Array(native.faults) : mirroredFaults();

function mirroredFaults(): Uint32Array {
  const counter = new Uint32Array(new ArrayBuffer(4)); // not on V8's heap: its memory never moves
  checked(native.mirrorFaults(counter), "mirrorFaults");
  return counter;
}

// ---- fault containment: I/O errors (issue 11, item 3; to move to src/truncation.ts) ----

/** What a map lost, filled by native.loss/sync: [lostFrom, ioErrno, ioStart, ioEnd]. */
const lossOut = new Float64Array(4);
const syncOut = new Float64Array(4);

/**
 * An I/O error that struck the map (ENOSPC writing into a hole of a full file system, EIO,
 * EDQUOT), as Node's fs errors: `code`, `errno`, `syscall` (`"msync"` from a flush,
 * `"pagefault"` from a method), plus `start`/`end`, the bytes the call touched, and
 * `ioStart`/`ioEnd`, the bytes of the map whose writes may not have reached the file.
 */
function ioError(loss: Float64Array, syscall: string, start: number, end: number): MMapError {
  const ioStart = loss[2] as number, ioEnd = loss[3] as number;
  const err = systemError(loss[1] as number, syscall) as ReturnType<typeof systemError> & {
    start: number;
    end: number;
    ioStart: number;
    ioEnd: number;
  };
  err.message += `: bytes ${ioStart}..${ioEnd} of the map may not have reached the file (the call touched ${start}..${end})`;
  err.start = start;
  err.end = end;
  err.ioStart = ioStart;
  err.ioEnd = ioEnd;
  return err as unknown as MMapError;
}
// ---- end of fault containment ----

/** Largest span a strided slice copies in one call, without views (else it goes byte by byte). */
const STRIDED_COPY_MAX = 16 * 1024 * 1024;

function viewsUnavailable(): MMapError {
  return stateError(
    "ERR_MMAP_VIEWS_UNAVAILABLE",
    "this runtime does not allow external ArrayBuffers (as Electron's V8 sandbox), so memmap cannot hand out " +
      "views of mapped memory; read(), slice(), write(), setSlice() and the other methods work, by copying",
  );
}

/** A native result: itself when >= 0, else the system error it names. */
function checked(rc: number, syscall: string): number {
  if (rc < 0) throw systemError(rc, syscall);
  return rc;
}

/** The bytes [lo, hi) a slice of `count` items from `start` by `step` touches. */
function spanOf(start: number, step: number, count: number): [number, number] {
  if (count === 0) return [start, start];
  const last = start + (count - 1) * step;
  return step > 0 ? [start, last + 1] : [last, start + 1];
}
const EMPTY = Buffer.alloc(0);

/** Python's slice index adjustment for a sequence of `length`: negatives count from the end, then clamp. */
function adjust(value: number, length: number, lo: number, hi: number): number {
  let v = value;
  if (v < 0) v += length;
  return v < lo ? lo : v > hi ? hi : v;
}

/** A slice's arguments, type-checked: undefined for a default. */
function sliceArgs(start: unknown, stop: unknown, step: unknown): [number | undefined, number | undefined, number] {
  return [
    start === undefined || start === null ? undefined : validateSliceIndex(start, "start"),
    stop === undefined || stop === null ? undefined : validateSliceIndex(stop, "stop"),
    step === undefined || step === null ? 1 : validateSliceIndex(step, "step"),
  ];
}

/** PySlice_AdjustIndices: [start, stop, step, count] for `length` items. */
function sliceIndices(length: number, a: number | undefined, b: number | undefined, st: number): [number, number, number, number] {
  if (st === 0) throw invalidArgValue("step", st, "must not be zero (slice step cannot be zero)");
  let s: number, e: number;
  if (st > 0) {
    s = a === undefined ? 0 : adjust(a, length, 0, length);
    e = b === undefined ? length : adjust(b, length, 0, length);
  } else {
    s = a === undefined ? length - 1 : adjust(a, length, -1, length - 1);
    e = b === undefined ? -1 : adjust(b, length, -1, length - 1);
  }
  let count = 0;
  if (st > 0 ? s < e : e < s) count = Math.floor((st > 0 ? e - s - 1 : s - e - 1) / Math.abs(st)) + 1;
  return [s, e, st, count];
}

/** The `tagname` option: a name, or undefined for none (Windows only). */
function tagnameOf(tagname: unknown): string | undefined {
  if (tagname === undefined) return undefined;
  if (typeof tagname !== "string") throw invalidArgType("options.tagname", "of type string", tagname);
  if (!WINDOWS) {
    throw unsupported("options.tagname is only supported on Windows (Python's mmap has no tagname on Unix either)");
  }
  return tagname === "" ? undefined : tagname;
}

/** A file descriptor number, from a number or a `FileHandle`. */
function descriptorOf(fd: unknown): number {
  if (typeof fd === "number") return validateInteger(fd, "fd", INT32_MIN, INT32_MAX);
  if (typeof fd === "object" && fd !== null && typeof (fd as FileHandle).fd === "number" && "close" in fd) {
    const n = (fd as FileHandle).fd;
    if (n < 0) throw invalidArgValue("fd", "FileHandle", "is a closed FileHandle");
    return n;
  }
  throw invalidArgType("fd", "of type number or an instance of FileHandle", fd);
}

/**
 * Maps that are never closed are released when the garbage collector finds them, but
 * Node-API runs finalizers only from the event loop: a loop that maps without closing would
 * run out of descriptors first. So every RECLAIM_BASE maps (or more, while many stay
 * reachable), and whenever the system runs out of descriptors or mappings, memmap runs a
 * full collection and releases at once what it found unreachable.
 */
const RECLAIM_BASE = Math.max(64, Math.min(4096, Math.floor(native.fdLimit / 4)));
/** Maps made and not closed (an upper bound: some may have been collected since). */
let unclosed = 0;
let reclaimAt = RECLAIM_BASE;
type Collect = (options?: { type: "minor" | "major" }) => void;
let collect: Collect | null | undefined;

function collectGarbage(type: "minor" | "major"): void {
  if (collect === undefined) {
    collect = (globalThis as { gc?: Collect }).gc ?? null;
    if (collect === null) {
      try {
        setFlagsFromString("--expose-gc");
        collect = runInNewContext("gc") as Collect;
        setFlagsFromString("--no-expose-gc");
      } catch {
        collect = null; // a runtime without V8 flags: finalizers alone release neglected maps
      }
    }
  }
  collect?.({ type });
}

/**
 * Releases neglected maps now; called on a schedule and when a system call runs out of
 * resources. Maps made in a loop are young: a minor collection (about 1 ms) usually finds
 * them; a full one (several ms) runs only when it did not.
 */
function reclaimNeglected(): void {
  collectGarbage("minor");
  let live = native.reclaim();
  if (live >= reclaimAt / 2) {
    collectGarbage("major");
    live = native.reclaim();
  }
  unclosed = live;
  reclaimAt = Math.max(RECLAIM_BASE, 2 * live);
}

/** Errors a neglected map may cause: out of descriptors, or of mappings/memory. */
function exhausted(rc: number): boolean {
  const name = -rc;
  return name === EMFILE || name === ENFILE || name === ENOMEM;
}
const { EMFILE, ENFILE, ENOMEM } = osConstants.errno;

/** Runs a system call, and once more after reclaiming neglected maps if it ran out of resources. */
function withReclaim<T>(call: () => T, failed: (r: T) => number): T {
  const r = call();
  const rc = failed(r);
  if (rc < 0 && exhausted(rc)) {
    reclaimNeglected();
    return call();
  }
  return r;
}

/** Set by MMap.open(): the next constructor call owns `fd` instead of duplicating it. */
let adoptNextFd = false;

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
export class MMap implements Iterable<number> {
  #handle: Handle | null;
  #length: number;
  #pos = 0;
  readonly #offset: number;
  readonly #access: Access;
  readonly #prot: number;
  readonly #flags: number;
  readonly #anonymous: boolean;
  readonly #trackfd: boolean;
  #fd: number;
  /** The whole map as one view, once made; null while not made or when the map exceeds MAX_VIEW. */
  #u8: Buffer | null = null;
  /** The same memory as a plain Uint8Array (cheaper to take subarrays of), for copies. */
  #raw: Uint8Array | null = null;
  /** The hot paths' view: #raw up to #gone. */
  #fast: Uint8Array | null = null;
  /** Where the bytes lost to a file that shrank under the map begin (Infinity: none lost). */
  #gone = Infinity;
  /** The value of FAULTS[0] this map has accounted for. */
  #faultsSeen = FAULTS[0] as number;
  /** Segment views of a map larger than MAX_VIEW. */
  #segments: Map<number, Buffer> | null = null;
  /** Async operations in flight (they keep the memory mapped; resize waits for none). */
  #pending = 0;

  /**
   * Maps `length` bytes of the file open as `fd` (a descriptor or a `FileHandle`),
   * or anonymous memory when `fd` is `-1`. `length` 0 maps the whole file from `offset`.
   *
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` when an argument has the wrong type.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a negative or non-integer `length` or `offset`;
   *   `ERR_INVALID_ARG_VALUE` for an invalid `access`, `access` given with `flags`/`prot`,
   *   an empty file, an offset or length beyond the end of the file (except on Windows, where the
   *   file is extended to hold the map), or `shareable` on a file.
   * @throws {TypeError} `ERR_MMAP_UNSUPPORTED_PLATFORM` for `tagname` on a system other than Windows.
   * @throws {Error} `ERR_MMAP_UNSUPPORTED_PLATFORM` for `shareable` on Windows.
   * @throws {Error} a system error (`code` `EACCES`, `EBADF`, `EINVAL`, `ENODEV`, …; `syscall`
   *   `dup`, `mmap` or `memfd_create`) when the operating system refuses.
   * @example
   * ```ts
   * const anon = new MMap(-1, 13);
   * anon.write("Hello world!");
   * ```
   */
  constructor(fd: number | FileHandle, length: number, options?: MMapOptions) {
    const adopt = adoptNextFd;
    adoptNextFd = false;
    const fileno = descriptorOf(fd);
    let len = validateInteger(length, "length", -MAX_SAFE, MAX_SAFE);
    const opts = validateOptions(options, "options");
    const flagsArg = optionalInteger(opts.flags, "options.flags", MAP_SHARED, INT32_MIN, INT32_MAX);
    const protArg = optionalInteger(opts.prot, "options.prot", PROT_READ | PROT_WRITE, INT32_MIN, INT32_MAX);
    const accessArg = optionalInteger(opts.access, "options.access", ACCESS_DEFAULT, INT32_MIN, INT32_MAX);
    const offset = optionalInteger(opts.offset, "options.offset", 0, -MAX_SAFE, MAX_SAFE);
    const trackfd = optionalBoolean(opts.trackfd, "options.trackfd", true);
    const shareable = optionalBoolean(opts.shareable, "options.shareable", false);
    const tagname = tagnameOf(opts.tagname);

    // CPython's order of checks.
    if (len < 0) throw rangeError(`The value of "length" is out of range. It must be >= 0. Received ${len}`);
    if (offset < 0) throw rangeError(`The value of "options.offset" is out of range. It must be >= 0. Received ${offset}`);
    if (accessArg !== ACCESS_DEFAULT && (flagsArg !== MAP_SHARED || protArg !== (PROT_READ | PROT_WRITE))) {
      throw invalidArgValue("options.access", accessArg, "cannot be given together with options.flags or options.prot");
    }
    let flags = flagsArg;
    let prot = protArg;
    let access: Access;
    switch (accessArg) {
      case ACCESS_READ:
        flags = MAP_SHARED;
        prot = PROT_READ;
        access = ACCESS_READ;
        break;
      case ACCESS_WRITE:
        flags = MAP_SHARED;
        prot = PROT_READ | PROT_WRITE;
        access = ACCESS_WRITE;
        break;
      case ACCESS_COPY:
        flags = MAP_PRIVATE;
        prot = PROT_READ | PROT_WRITE;
        access = ACCESS_COPY;
        break;
      case ACCESS_DEFAULT:
        // Derived from prot, as CPython does: read+write stays DEFAULT, write alone is WRITE, else READ.
        if (prot & PROT_READ && prot & PROT_WRITE) access = ACCESS_DEFAULT;
        else if (prot & PROT_WRITE) access = ACCESS_WRITE;
        else access = ACCESS_READ;
        break;
      default:
        throw invalidArgValue("options.access", accessArg, "must be one of ACCESS_DEFAULT, ACCESS_READ, ACCESS_WRITE, ACCESS_COPY");
    }
    if (shareable && fileno !== -1) throw invalidArgValue("options.shareable", true, "is only for anonymous maps (fd -1)");
    if (shareable && WINDOWS) {
      throw stateError("ERR_MMAP_UNSUPPORTED_PLATFORM", "options.shareable is not supported on Windows: share anonymous memory with options.tagname");
    }

    if (newMapChannel.hasSubscribers) {
      newMapChannel.publish({ fd: fileno, length: len, access, offset } satisfies NewMapEvent);
    }

    if (fileno !== -1 && native.fstat(fileno, statOut) === 0 && statOut[1] === 1) {
      // A regular file: the map must lie inside it (a failing fstat is left to dup/mmap, as in CPython).
      const size = statOut[0] as number;
      if (len === 0) {
        if (size === 0) throw invalidArgValue("fd", fileno, "is an empty file: cannot mmap an empty file");
        if (offset >= size) throw invalidArgValue("options.offset", offset, `is not smaller than the file size ${size}`);
        len = size - offset;
      } else if (!WINDOWS && (offset > size || size - offset < len)) {
        // Windows extends the file instead (CreateFileMapping with the larger size).
        throw invalidArgValue("length", len, `is greater than the file size ${size} minus the offset ${offset}`);
      }
    }

    if (unclosed >= reclaimAt) reclaimNeglected();

    // The descriptor the map owns: a close-on-exec duplicate, a memfd, or none.
    let owned = -1;
    let mapFd = fileno;
    if (fileno === -1) {
      if (shareable) {
        owned = withReclaim(() => native.memfd(len), (r) => r);
        if (owned < 0) throw systemError(owned, "memfd_create");
        mapFd = owned;
      } else {
        flags |= MAP_ANONYMOUS;
      }
    } else if (adopt) {
      owned = fileno;
    } else if (trackfd) {
      owned = withReclaim(() => native.dup(fileno), (r) => r);
      if (owned < 0) throw systemError(owned, "dup");
    }
    // Every API reads the memory from JavaScript, so it is always mapped readable.
    const h = withReclaim(
      () => native.map(mapFd, len, prot | PROT_READ, flags, offset, owned, tagname),
      (r) => (typeof r === "number" ? r : 0),
    );
    if (typeof h === "number") {
      if (owned >= 0 && !adopt) native.close(owned);
      throw systemError(h, "mmap");
    }
    this.#handle = h;
    this.#length = len;
    this.#offset = offset;
    this.#access = access;
    this.#prot = prot;
    this.#flags = flags;
    this.#anonymous = fileno === -1;
    this.#trackfd = trackfd;
    this.#fd = owned;
    unclosed++;
  }

  /**
   * Opens the file at `path`, maps it, and keeps no descriptor open besides the map's own.
   * The file is opened read-only for `ACCESS_READ` and `ACCESS_COPY` (and a `prot` without
   * `PROT_WRITE`), read-write otherwise.
   *
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` when an argument has the wrong type.
   * @throws {RangeError} as the constructor does, and `ERR_OUT_OF_RANGE` for a bad `size`.
   * @throws {Error} a system error from `open`, `ftruncate`, `mmap` (e.g. `ENOENT` without `create`).
   * @example
   * ```ts
   * using m = MMap.open("data.bin", { access: ACCESS_READ });
   * m.find("needle");
   * ```
   */
  static open(path: PathLike, options?: OpenOptions): MMap {
    const { openFlags, length, size, rest } = openPlan(path, options);
    const fd = openReclaiming(path, openFlags);
    try {
      if (size !== undefined && fstatSync(fd).size < size) ftruncateSync(fd, size);
      return adoptAndMap(fd, length, rest);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
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
  static async openAsync(path: PathLike, options?: OpenOptions): Promise<MMap> {
    const { openFlags, length, size, rest } = openPlan(path, options);
    const fh = await openAsyncFile(path, openFlags, 0o666);
    try {
      if (size !== undefined && (await fh.stat()).size < size) await fh.truncate(size);
      // The map keeps its own duplicate (trackfd, the default) or none; the handle closes here.
      return new MMap(fh.fd, length, rest);
    } finally {
      await fh.close();
    }
  }

  // ---------------------------------------------------------------- state

  /** `true` once `close()` has been called. @throws never. */
  get closed(): boolean {
    return this.#handle === null;
  }

  /**
   * The length of the map in bytes (Python's `len(m)`).
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  get length(): number {
    this.#open();
    return this.#length;
  }

  /** The file offset of the map. @throws never. */
  get offset(): number {
    return this.#offset;
  }

  /** The access mode: given, or derived from `prot` as Python does. @throws never. */
  get access(): Access {
    return this.#access;
  }

  /**
   * The map's own descriptor: the duplicate it holds of a file, or the memfd of a
   * `shareable` anonymous map; `-1` when it has none (anonymous, `trackfd: false`, closed).
   * Hand it to a child process or a worker to share the memory.
   * @throws never.
   */
  get fd(): number {
    return this.#handle === null ? -1 : this.#fd;
  }

  /**
   * Unmaps the memory and closes the map's descriptor. Every view handed out earlier
   * (`buffer`, `subarray`) is detached first, so none can reach unmapped memory.
   * Idempotent. Does not flush: a shared file map's pages reach the file through the kernel.
   * @throws never.
   */
  close(): void {
    const h = this.#handle;
    if (h === null) return;
    this.#handle = null;
    this.#u8 = this.#raw = this.#fast = null;
    this.#segments = null;
    native.unmap(h);
    if (unclosed > 0) unclosed--;
    this.#fd = -1;
  }

  /** Closes the map: `using m = new MMap(…)` closes it at the end of the block. @throws never. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The handle, or ERR_MMAP_CLOSED. */
  #open(): Handle {
    const h = this.#handle;
    if (h === null) throw closedError();
    return h;
  }

  #writable(what: string): Handle {
    const h = this.#open();
    if (this.#access === ACCESS_READ) throw readOnlyError(what);
    return h;
  }

  // ---------------------------------------------------------------- views

  #makeView(h: Handle, start: number, length: number): Buffer {
    if (length === 0) return EMPTY;
    const ab = native.view(h, start, length);
    if (ab === null) throw viewsUnavailable();
    if (typeof ab === "number") throw systemError(ab, "mmap view");
    return Buffer.from(ab);
  }

  /** The whole map as one view, or null when it is larger than one Buffer may be. Checks closed. */
  #whole(): Buffer | null {
    const u = this.#u8;
    if (u !== null) return u;
    const h = this.#open();
    if (!VIEWS || this.#length > MAX_VIEW) return null;
    const whole = this.#makeView(h, 0, this.#length);
    const raw = (this.#raw = new Uint8Array(whole.buffer, whole.byteOffset, whole.length));
    this.#fast = this.#gone < this.#length ? raw.subarray(0, this.#gone) : raw;
    return (this.#u8 = whole);
  }

  /** Before touching [lo, hi): throws when part of it is known to be lost. */
  #guard(lo: number, hi: number): void {
    if (hi > this.#gone) throw this.#truncated(lo, hi);
  }

  /** After touching [lo, hi): accounts for pages lost meanwhile (a cheap check when none was). */
  #verify(lo: number, hi: number): void {
    if (FAULTS[0] !== this.#faultsSeen) this.#learnLoss(lo, hi);
  }

  #learnLoss(lo: number, hi: number): void {
    this.#faultsSeen = FAULTS[0] as number;
    const h = this.#handle;
    if (h === null) return;
    if (native.loss(h, lossOut, false) < 0) return; // also maps the file back where an I/O error set a page aside
    const lostFrom = lossOut[0] as number;
    if (lostFrom >= 0) {
      this.#gone = Math.min(this.#gone, lostFrom, this.#length);
      if (this.#raw !== null) this.#fast = this.#raw.subarray(0, this.#gone);
    }
    // An I/O error inside the file, where this call touched: reported here, once (elsewhere it
    // waits for the next flush).
    if (lossOut[1] !== 0 && (lossOut[2] as number) < hi && (lossOut[3] as number) > lo) {
      native.loss(h, lossOut, true);
      throw ioError(lossOut, "pagefault", lo, hi);
    }
    if (hi > this.#gone) throw this.#truncated(lo, hi);
  }

  #truncated(lo: number, hi: number): MMapError {
    const err = stateError(
      "ERR_MMAP_TRUNCATED",
      `the file shrank under the map: bytes ${this.#gone}..${this.#length} of the map are gone ` +
        `(the call touched ${lo}..${hi}); map the file again`,
    ) as MMapError & { goneStart: number; goneEnd: number };
    err.goneStart = this.#gone;
    err.goneEnd = this.#length;
    return err;
  }

  /** Segment k of a map larger than MAX_VIEW. */
  #segment(k: number): Buffer {
    let segs = this.#segments;
    if (segs === null) segs = this.#segments = new Map();
    let s = segs.get(k);
    if (s === undefined) {
      const base = k * STRIDE;
      s = this.#makeView(this.#open(), base, Math.min(SEGMENT, this.#length - base));
      segs.set(k, s);
    }
    return s;
  }

  /** A zero-copy view of [a, b), 0 <= a <= b <= length. */
  #span(a: number, b: number): Buffer {
    const u = this.#whole();
    if (u !== null) return u.subarray(a, b);
    if (b - a <= SEGMENT - STRIDE) {
      const k = Math.floor(a / STRIDE);
      return this.#segment(k).subarray(a - k * STRIDE, b - k * STRIDE);
    }
    if (b - a > MAX_VIEW) {
      throw rangeError(`A view of ${b - a} bytes is larger than the largest Buffer this runtime allows (${MAX_VIEW})`);
    }
    return this.#makeView(this.#open(), a, b - a);
  }

  /** A copy of [a, b). */
  #copy(a: number, b: number): Buffer {
    const n = b - a;
    if (n <= 0) return Buffer.alloc(0);
    if (n > MAX_VIEW) throw rangeError(`A copy of ${n} bytes is larger than the largest Buffer this runtime allows (${MAX_VIEW})`);
    if (this.#whole() !== null) return copyOf(this.#raw as Uint8Array, a, b);
    if (!VIEWS) {
      const copy = allocCopy(n);
      checked(native.read(this.#open(), a, copy), "memcpy");
      return copy;
    }
    const out = Buffer.allocUnsafe(n);
    for (let p = a; p < b; ) {
      const q = Math.min(b, p + (SEGMENT - STRIDE));
      this.#span(p, q).copy(out, p - a);
      p = q;
    }
    return out;
  }

  /** Byte at i (0 <= i < length) of a map of any size. */
  #byteAt(i: number): number {
    const u = this.#whole();
    if (u !== null) return u[i] as number;
    if (!VIEWS) return checked(native.getByte(this.#open(), i), "memcpy");
    const k = Math.floor(i / STRIDE);
    return this.#segment(k)[i - k * STRIDE] as number;
  }

  #setByteAt(i: number, v: number): void {
    const u = this.#whole();
    if (u !== null) {
      u[i] = v;
      return;
    }
    if (!VIEWS) {
      checked(native.setByte(this.#open(), i, v), "memcpy");
      return;
    }
    const k = Math.floor(i / STRIDE);
    this.#segment(k)[i - k * STRIDE] = v;
  }

  /** Copies `src` into the map at `at` (the caller checked the bounds). */
  #put(at: number, src: Uint8Array): void {
    const n = src.length;
    if (n === 0) return;
    const u = this.#whole();
    if (u !== null) {
      u.set(src, at);
      return;
    }
    if (!VIEWS) {
      checked(native.write(this.#open(), at, src), "memcpy");
      return;
    }
    for (let p = 0; p < n; ) {
      const q = Math.min(n, p + (SEGMENT - STRIDE));
      this.#span(at + p, at + q).set(src.subarray(p, q));
      p = q;
    }
  }

  /**
   * The whole map as a `Buffer`, without copying: it works wherever a `Uint8Array` does.
   * Detached (length 0) by `close()` and `resize()`.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` when the map is larger than the largest `Buffer`
   *   this runtime allows: use `subarray()`.
   * @throws {Error} `ERR_MMAP_VIEWS_UNAVAILABLE` where the runtime forbids external buffers.
   */
  get buffer(): Buffer {
    const u = this.#whole();
    if (u === null) {
      if (!VIEWS) throw viewsUnavailable();
      throw rangeError(`The map of ${this.#length} bytes is larger than the largest Buffer this runtime allows (${MAX_VIEW}); use subarray()`);
    }
    return u;
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
  subarray(start?: number, end?: number): Buffer {
    const a0 = start === undefined ? 0 : validateSliceIndex(start, "start");
    const b0 = end === undefined ? undefined : validateSliceIndex(end, "end");
    this.#open();
    if (!VIEWS) throw viewsUnavailable();
    const len = this.#length;
    const a = adjust(a0, len, 0, len);
    const b = b0 === undefined ? len : adjust(b0, len, 0, len);
    return this.#span(a, Math.max(a, b));
  }

  // ---------------------------------------------------------------- bytes

  /**
   * The byte at `index` (Python's `m[i]`); a negative index counts from the end.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer or an index out of range.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  get(index: number): number {
    const u = this.#fast;
    if (u !== null && typeof index === "number" && index >= 0 && index < u.length && Number.isInteger(index)) {
      const v = u[index] as number;
      if (FAULTS[0] !== this.#faultsSeen) this.#learnLoss(index, index + 1);
      return v;
    }
    const i = this.#index(index);
    this.#guard(i, i + 1);
    const v = this.#byteAt(i);
    this.#verify(i, i + 1);
    return v;
  }

  /**
   * Sets the byte at `index` (Python's `m[i] = v`); a negative index counts from the end.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number; `ERR_MMAP_READ_ONLY` on a read-only map.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for an index out of range or a value outside 0..255.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  set(index: number, value: number): void {
    const u = this.#fast;
    if (
      u !== null &&
      typeof index === "number" &&
      index >= 0 &&
      index < u.length &&
      Number.isInteger(index) &&
      typeof value === "number" &&
      (value & 255) === value &&
      this.#access !== ACCESS_READ
    ) {
      u[index] = value;
      if (FAULTS[0] !== this.#faultsSeen) this.#learnLoss(index, index + 1);
      return;
    }
    validateIndex(index, "index");
    validateByte(value, "value");
    this.#writable("set");
    const i = this.#index(index);
    this.#guard(i, i + 1);
    this.#setByteAt(i, value);
    this.#verify(i, i + 1);
  }

  /** Validates and normalises an item index (checks closed). */
  #index(index: unknown): number {
    let i = validateIndex(index, "index");
    this.#open();
    const len = this.#length;
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
  slice(start?: number | null, stop?: number | null, step?: number | null): Buffer {
    const raw = this.#raw;
    if (
      raw !== null &&
      (step === undefined || step === 1) &&
      typeof start === "number" &&
      typeof stop === "number" &&
      Number.isInteger(start) &&
      Number.isInteger(stop)
    ) {
      // The common case, m.slice(a, b): no arrays, no general slice arithmetic.
      const len = this.#length;
      const a = adjust(start, len, 0, len);
      const b = adjust(stop, len, 0, len);
      if (b <= a) return Buffer.alloc(0);
      this.#guard(a, b);
      const out = copyOf(raw, a, b);
      this.#verify(a, b);
      return out;
    }
    const [s, , st, count] = this.#slice(start, stop, step);
    const [lo, hi] = spanOf(s, st, count);
    this.#guard(lo, hi);
    let out: Buffer;
    if (st === 1) out = this.#copy(s, s + count);
    else {
      out = Buffer.allocUnsafe(count);
      // Without views, a span of moderate size is copied once, then picked from.
      let src = this.#whole();
      let base = 0;
      if (src === null && !VIEWS && hi - lo <= STRIDED_COPY_MAX) {
        src = this.#copy(lo, hi);
        base = lo;
      }
      if (src !== null) for (let i = 0, p = s - base; i < count; i++, p += st) out[i] = src[p] as number;
      else for (let i = 0, p = s; i < count; i++, p += st) out[i] = this.#byteAt(p);
    }
    this.#verify(lo, hi);
    return out;
  }

  #slice(start: unknown, stop: unknown, step: unknown): [number, number, number, number] {
    const [a, b, st] = sliceArgs(start, stop, step);
    this.#open();
    return sliceIndices(this.#length, a, b, st);
  }

  /**
   * Python's `m[start:stop:step] = data`: `data` must have exactly as many bytes as the slice.
   * `undefined`/`null` bounds mean the defaults.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a wrong type; `ERR_MMAP_READ_ONLY` on a read-only map.
   * @throws {RangeError} `ERR_INVALID_ARG_VALUE` when the sizes differ or step is 0;
   *   `ERR_OUT_OF_RANGE` for a non-integer.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  setSlice(start: number | null | undefined, stop: number | null | undefined, data: BytesLike, step?: number | null): void {
    const bytes = toBytes(data, "data");
    const [a, b, step1] = sliceArgs(start, stop, step);
    this.#writable("setSlice");
    const [s, , st, count] = sliceIndices(this.#length, a, b, step1);
    if (bytes.length !== count) {
      throw invalidArgValue("data", `${bytes.length} bytes`, `must have the slice's size, ${count} bytes (mmap slice assignment is wrong size)`);
    }
    const [lo, hi] = spanOf(s, st, count);
    this.#guard(lo, hi);
    if (st === 1) this.#put(s, bytes);
    else {
      const src = Uint8Array.from(bytes); // the source may be a view of this map
      for (let i = 0, p = s; i < count; i++, p += st) this.#setByteAt(p, src[i] as number);
    }
    this.#verify(lo, hi);
  }

  /**
   * The bytes of the map, as numbers, like iterating a `Uint8Array`.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is (or becomes) closed.
   */
  *[Symbol.iterator](): IterableIterator<number> {
    this.#open();
    for (let i = 0; ; i++) {
      this.#open();
      if (i >= this.#length) return;
      this.#guard(i, i + 1);
      const v = this.#byteAt(i);
      this.#verify(i, i + 1);
      yield v;
    }
  }

  // ---------------------------------------------------------------- file-like

  /**
   * The current position.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  tell(): number {
    this.#open();
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
    this.#open();
    let where: number;
    switch (w) {
      case 0:
        where = p;
        break;
      case 1:
        where = this.#pos + p;
        break;
      case 2:
        where = this.#length + p;
        break;
      default:
        throw invalidArgValue("whence", w, "must be 0, 1 or 2 (unknown seek type)");
    }
    if (!(where >= 0 && where <= this.#length)) {
      throw rangeError(`seek out of range: position ${where} is outside [0, ${this.#length}]`);
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
  read(n?: number | null): Buffer {
    const count = n === undefined || n === null ? -1 : validateIndex(n, "n");
    this.#open();
    const pos = this.#pos;
    const remaining = this.#length - pos;
    if (remaining <= 0) return Buffer.alloc(0);
    const take = count < 0 || count > remaining ? remaining : count;
    this.#guard(pos, pos + take);
    const out = this.#copy(pos, pos + take);
    this.#verify(pos, pos + take);
    this.#pos = pos + take;
    return out;
  }

  /**
   * The byte at the position, advancing it by one.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` at or past the end.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  readByte(): number {
    const pos = this.#pos;
    const u = this.#fast;
    if (u !== null && pos < u.length) {
      const b = u[pos] as number;
      if (FAULTS[0] !== this.#faultsSeen) this.#learnLoss(pos, pos + 1);
      this.#pos = pos + 1;
      return b;
    }
    this.#open();
    if (pos >= this.#length) throw rangeError(`read byte out of range: position ${pos}, length ${this.#length}`);
    this.#guard(pos, pos + 1);
    const b = this.#byteAt(pos);
    this.#verify(pos, pos + 1);
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
    const u = this.#fast;
    if (u !== null && pos < u.length && typeof byte === "number" && (byte & 255) === byte && this.#access !== ACCESS_READ) {
      u[pos] = byte;
      if (FAULTS[0] !== this.#faultsSeen) this.#learnLoss(pos, pos + 1);
      this.#pos = pos + 1;
      return;
    }
    validateByte(byte, "byte");
    this.#writable("writeByte");
    if (pos >= this.#length) throw rangeError(`write byte out of range: position ${pos}, length ${this.#length}`);
    this.#guard(pos, pos + 1);
    this.#setByteAt(pos, byte);
    this.#verify(pos, pos + 1);
    this.#pos = pos + 1;
  }

  /**
   * The bytes from the position up to and including the next `\n` (or to the end), as a
   * copy; advances the position. Empty at or past the end.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  readline(): Buffer {
    const pos = this.#pos;
    const u = this.#whole();
    const len = this.#length;
    if (pos >= len) return Buffer.alloc(0);
    if (pos >= this.#gone) throw this.#truncated(pos, pos + 1);
    const limit = Math.min(len, this.#gone);
    let stop: number;
    // Buffer#indexOf (memchr) is the fastest way in, but Node 22+ mishandles start offsets of
    // 2^32 and beyond: there, and before a lost range, the native search (memchr) takes over.
    if (u !== null && limit === len && pos < 4294967296) {
      const nl = u.indexOf(10, pos);
      stop = nl < 0 ? len : nl + 1;
    } else {
      const nl = this.#findForward(NEWLINE, pos, limit);
      stop = nl < 0 ? len : nl + 1;
    }
    this.#guard(pos, stop);
    const out = this.#copy(pos, stop);
    this.#verify(pos, stop);
    this.#pos = stop;
    return out;
  }

  /**
   * Writes `data` at the position and advances it; returns the number of bytes written.
   * Nothing is written unless all of it fits before the end.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a wrong type; `ERR_MMAP_READ_ONLY` on a read-only map.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` when the data does not fit before the end.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  write(data: BytesLike): number {
    const bytes = toBytes(data, "data");
    this.#writable("write");
    const pos = this.#pos;
    const n = bytes.length;
    if (pos > this.#length || this.#length - pos < n) {
      throw rangeError(`data out of range: ${n} bytes at position ${pos} do not fit in length ${this.#length}`);
    }
    this.#guard(pos, pos + n);
    this.#put(pos, bytes);
    this.#verify(pos, pos + n);
    this.#pos = pos + n;
    return n;
  }

  // ---------------------------------------------------------------- search

  /** find/rfind bounds: [start, end) after Python's slice rules, start defaulting to the position. */
  #bounds(start: unknown, end: unknown): [number, number] {
    const a = start === undefined ? undefined : validateIndex(start, "start");
    const b = end === undefined ? undefined : validateIndex(end, "end");
    this.#open();
    const len = this.#length;
    const s = a === undefined ? Math.min(this.#pos, len) : adjust(a, len, 0, len);
    const e = b === undefined ? len : adjust(b, len, 0, len);
    return [s, e];
  }

  /**
   * The lowest index at which `sub` is found inside [start, end), or -1. `start` defaults to
   * the current position (as in Python), `end` to the length; both follow slice rules.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a wrong type.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer bound.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  find(sub: BytesLike, start?: number, end?: number): number {
    const needle = toBytes(sub, "sub");
    const [s, e] = this.#bounds(start, end);
    if (e < s) return -1;
    if (needle.length === 0) return s;
    if (needle.length > e - s) return -1;
    this.#guard(s, e);
    const i = this.#findForward(needle, s, e);
    this.#verify(s, e);
    return i;
  }

  /**
   * The highest index at which `sub` is found inside [start, end), or -1 (bounds as {@link MMap.find}).
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a wrong type.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer bound.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   */
  rfind(sub: BytesLike, start?: number, end?: number): number {
    const needle = toBytes(sub, "sub");
    const [s, e] = this.#bounds(start, end);
    if (e < s) return -1;
    if (needle.length === 0) return e;
    if (needle.length > e - s) return -1;
    this.#guard(s, e);
    const i = this.#findBackward(needle, s, e);
    this.#verify(s, e);
    return i;
  }

  /** One native call searches the whole range, at memory bandwidth (native/search.c). */
  #findForward(needle: Uint8Array, s: number, e: number): number {
    const i = native.find(this.#open(), s, e, needle, false);
    if (i < -1) throw systemError(i, "find");
    return i;
  }

  #findBackward(needle: Uint8Array, s: number, e: number): number {
    const i = native.find(this.#open(), s, e, needle, true);
    if (i < -1) throw systemError(i, "find");
    return i;
  }

  /** Latin-1 text of [a, b). */
  #text = (a: number, b: number): string => {
    this.#open();
    this.#guard(a, b);
    const text = (VIEWS ? this.#span(a, b) : this.#copy(a, b)).toString("latin1");
    this.#verify(a, b);
    return text;
  };

  /**
   * Runs `regexp` over the bytes read as Latin-1 (one byte per character) and returns the
   * first match at or after `start` (default 0) that ends by `end` (default the length), with
   * byte offsets `index` and `end`; `null` when there is none. Ranges larger than
   * `SEARCH_WINDOW` are searched in windows: see `SEARCH_MAX_MATCH` for the longest match
   * found there.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` when `regexp` is not a RegExp or a bound not a number.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer bound.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is closed.
   * @example
   * ```ts
   * const m = mm.search(/ERROR (\d+)/);
   * if (m) console.log(m.index, m[1]);
   * ```
   */
  search(regexp: RegExp, start?: number, end?: number): MMapMatch | null {
    const rx = compile(regexp, "regexp");
    const [s, e] = this.#searchBounds(start, end);
    if (e < s) return null;
    return new Scanner(rx, this.#text, e).next(s);
  }

  /**
   * Every match of a global `regexp`, in order, as {@link MMap.search} reports them
   * (an empty match advances by one byte, as `String.prototype.matchAll` does).
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` when `regexp` is not a RegExp;
   *   `ERR_INVALID_ARG_VALUE` when it is not global.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a non-integer bound.
   * @throws {Error} `ERR_MMAP_CLOSED` when the map is (or becomes) closed.
   */
  matchAll(regexp: RegExp, start?: number, end?: number): IterableIterator<MMapMatch> {
    // Arguments are checked now, as String.prototype.matchAll does; the matches come lazily.
    const rx = compile(regexp, "regexp");
    requireGlobal(regexp, "regexp");
    const [s, e] = this.#searchBounds(start, end);
    return this.#matches(rx, s, e);
  }

  *#matches(rx: RegExp, s: number, e: number): IterableIterator<MMapMatch> {
    if (e < s) return;
    let limit = e;
    let length = this.#length;
    let scanner = new Scanner(rx, this.#text, limit);
    for (let p = s; p <= limit; ) {
      // The scanner holds a copy of the text: a closed map yields nothing more, and a
      // resized one is read again, up to its new length.
      this.#open();
      if (this.#length !== length) {
        length = this.#length;
        limit = Math.min(limit, length);
        if (p > limit) return;
        scanner = new Scanner(rx, this.#text, limit);
      }
      const m = scanner.next(p);
      if (m === null) return;
      yield m;
      p = m.end > m.index ? m.end : m.end + 1;
    }
  }

  #searchBounds(start: unknown, end: unknown): [number, number] {
    const a = start === undefined ? 0 : validateIndex(start, "start");
    const b = end === undefined ? undefined : validateIndex(end, "end");
    this.#open();
    const len = this.#length;
    return [adjust(a, len, 0, len), b === undefined ? len : adjust(b, len, 0, len)];
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
    const len = this.#length;
    if (d < 0 || s < 0 || c < 0 || len - d < c || len - s < c) {
      throw rangeError(`source, destination, or count out of range: move(${d}, ${s}, ${c}) on length ${len}`);
    }
    if (c === 0 || d === s) return;
    const lo = Math.min(d, s);
    const hi = Math.max(d, s) + c;
    this.#guard(lo, hi);
    this.#moveBytes(d, s, c);
    this.#verify(lo, hi);
  }

  /** One native memmove for any size (a map larger than one view included). */
  #moveBytes(d: number, s: number, c: number): void {
    const rc = native.move(this.#open(), d, s, c);
    if (rc < 0) throw systemError(rc, "memmove");
  }

  /**
   * Flushes [offset, offset + size) to the file with `msync` (Python 3.15 semantics: `size`
   * omitted or -1 means to the end). A no-op for `ACCESS_READ` and `ACCESS_COPY` maps.
   * `offset` must be a multiple of `PAGESIZE` (the kernel says `EINVAL` otherwise).
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a wrong type.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` when the range falls outside the map.
   * @throws {Error} `ERR_MMAP_CLOSED` when closed; a system error (`syscall` `msync`) when the kernel refuses,
   *   or to report an I/O error that struck the map since (ENOSPC, EIO, EDQUOT: writes through views that may
   *   not have reached the file; once, with `ioStart`/`ioEnd`): see docs/safety.md.
   */
  flush(offset?: number, size?: number, options?: FlushOptions): void {
    const r = this.#flushRange(offset, size, options);
    if (r === null) return;
    syncOut[1] = 0;
    const rc = native.sync(r.h, r.start, r.length, r.flags, syncOut);
    if (rc < 0) throw syncOut[1] !== 0 ? ioError(syncOut, "msync", r.start, r.start + r.length) : systemError(rc, "msync");
  }

  /**
   * The promise twin of {@link MMap.flush}: `msync` runs on the thread pool. `close()` while it
   * runs is safe (the unmap waits for it); `resize()` throws `ERR_MMAP_BUSY` until it settles.
   * @throws {TypeError} (rejects) `ERR_INVALID_ARG_TYPE` for a wrong type.
   * @throws {RangeError} (rejects) `ERR_OUT_OF_RANGE` when the range falls outside the map.
   * @throws {Error} (rejects) `ERR_MMAP_CLOSED`, or a system error (`syscall` `msync`), an I/O error of the
   *   map included, as {@link MMap.flush}.
   */
  async flushAsync(offset?: number, size?: number, options?: FlushOptions): Promise<void> {
    const r = this.#flushRange(offset, size, options);
    if (r === null) return;
    this.#pending++;
    let rc: number;
    const out = new Float64Array(4);
    try {
      rc = await native.syncAsync(r.h, r.start, r.length, r.flags, out);
    } finally {
      this.#pending--;
    }
    if (rc < 0) throw out[1] !== 0 ? ioError(out, "msync", r.start, r.start + r.length) : systemError(rc, "msync");
  }

  #flushRange(offset: unknown, size: unknown, options: unknown): { h: Handle; start: number; length: number; flags: number } | null {
    const off = optionalInteger(offset, "offset", 0, -MAX_SAFE, MAX_SAFE);
    let sz = optionalInteger(size, "size", -1, -MAX_SAFE, MAX_SAFE);
    const opts = validateOptions(options, "options");
    const flags = optionalInteger(opts.flags, "options.flags", MS_SYNC, INT32_MIN, INT32_MAX);
    const h = this.#open();
    const len = this.#length;
    if (sz === -1) sz = len - off;
    if (off < 0 || sz < 0 || off + sz > len) {
      throw rangeError(`flush values out of range: offset ${off}, size ${sz}, length ${len}`);
    }
    if (this.#access === ACCESS_READ || this.#access === ACCESS_COPY) return null;
    return { h, start: off, length: sz, flags };
  }

  /**
   * Python's `madvise(option, start, length)`: advice to the kernel about [start, start + length);
   * `length` defaults to the rest of the map and is clipped to it.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a wrong type.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a start outside the map or a negative length.
   * @throws {Error} `ERR_MMAP_CLOSED` when closed; a system error (`syscall` `madvise`), e.g. `EINVAL`
   *   for an unaligned start or an unknown option; `ERR_MMAP_UNSUPPORTED_PLATFORM` on Windows.
   */
  madvise(option: number, start?: number, length?: number | null): void {
    const opt = validateInteger(option, "option", INT32_MIN, INT32_MAX);
    const s = optionalInteger(start, "start", 0, -MAX_SAFE, MAX_SAFE);
    const l = length === null || length === undefined ? undefined : validateInteger(length, "length", -MAX_SAFE, MAX_SAFE);
    const h = this.#open();
    const len = this.#length;
    if (s < 0 || s >= len) throw rangeError(`madvise start out of bounds: ${s} (length ${len})`);
    let n = l === undefined ? len : l;
    if (n < 0) throw rangeError(`madvise length invalid: ${n}`);
    if (n > len - s) n = len - s;
    if (WINDOWS) throw stateError("ERR_MMAP_UNSUPPORTED_PLATFORM", "madvise is not supported on this platform (Windows has no madvise)");
    const rc = native.advise(h, s, n, opt);
    if (rc < 0) throw systemError(rc, "madvise");
  }

  /**
   * The size of the file (not of the map), as `fstat` reports it now; for an anonymous map, its length.
   * @throws {Error} `ERR_MMAP_CLOSED` when closed; `ERR_MMAP_NO_FD` for a map made with
   *   `trackfd: false`; a system error (`syscall` `fstat`).
   */
  size(): number {
    this.#open();
    if (!this.#trackfd) throw stateError("ERR_MMAP_NO_FD", "can't get size with trackfd: false");
    if (this.#anonymous) return this.#length;
    const rc = native.fstat(this.#fd, statOut);
    if (rc < 0) throw systemError(rc, "fstat");
    return statOut[0] as number;
  }

  /**
   * Changes the length of the map to `newsize` bytes; a file-backed map also sets the file to
   * `offset + newsize` bytes. The position is unchanged. Every view handed out before is detached.
   * A failed resize leaves the map, the position and the file as they were.
   * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-number; `ERR_MMAP_NOT_RESIZABLE` for
   *   `ACCESS_READ`/`ACCESS_COPY` maps, `trackfd: false`, or growing shared anonymous memory.
   * @throws {RangeError} `ERR_OUT_OF_RANGE` for a size below 1 or too large.
   * @throws {Error} `ERR_MMAP_CLOSED`; `ERR_MMAP_BUSY` while a `flushAsync()` runs; a system error
   *   (`syscall` `ftruncate` or `mremap`/`mmap`; on Windows `MapViewOfFile`, e.g. `EBUSY` while
   *   another map of the file or of the tag is open).
   */
  resize(newsize: number): void {
    const n = validateIndex(newsize, "newsize");
    const h = this.#open();
    if (!this.#trackfd) throw notResizable("with trackfd: false");
    if (this.#access === ACCESS_READ || this.#access === ACCESS_COPY) {
      throw notResizable("a readonly or copy-on-write memory map");
    }
    if (n < 1 || n > MAX_SAFE - this.#offset) {
      throw rangeError(`new size out of range: ${n} (a map holds at least 1 byte)`);
    }
    const old = this.#length;
    const fileBacked = this.#fd >= 0;
    if (!WINDOWS && !fileBacked && !(this.#flags & MAP_PRIVATE) && n > old) {
      throw notResizable("to expand a shared anonymous mapping on Linux (make it with shareable: true to grow it)");
    }
    if (this.#pending > 0) throw stateError("ERR_MMAP_BUSY", "mmap can't resize while flushAsync() is in progress");
    if (this.#gone < old) throw this.#truncated(0, old);
    let fileSize = -1;
    if (fileBacked) {
      const rc = native.fstat(this.#fd, statOut);
      if (rc < 0) throw systemError(rc, "fstat");
      fileSize = statOut[0] as number;
    }
    const target = this.#offset + n;
    // The file first, in both directions: a failing ftruncate then changes nothing at all,
    // and the map never holds a page the file does not back once it has followed.
    // On Windows the remap sizes the file itself: a file cannot change size under a view there.
    const sizeFile = fileBacked && !native.capabilities.remapSizesFile;
    if (sizeFile) {
      const t = native.truncate(this.#fd, target);
      if (t < 0) throw systemError(t, "ftruncate");
    }
    const r = this.#remap(h, n);
    if (r < 0) {
      if (sizeFile) native.truncate(this.#fd, fileSize); // undo (a shrink's lost tail cannot come back)
      throw systemError(r, WINDOWS ? "MapViewOfFile" : PORTABLE_REMAP ? "mmap" : "mremap");
    }
    this.#length = n;
  }

  /** Remaps to n bytes; the views made before are detached in C, and forgotten here. */
  #remap(h: Handle, n: number): number {
    this.#u8 = this.#raw = this.#fast = null;
    this.#segments = null;
    return native.remap(h, n, PORTABLE_REMAP);
  }

  /** `util.inspect(m)`: closed, access, length, pos, offset. */
  [inspect.custom](_depth: number, options: InspectOptions, show: typeof inspect): string {
    const name = this.constructor.name;
    if (this.#handle === null) return `${name} { closed: true }`;
    const fields = {
      closed: false,
      access: ACCESS_NAMES[this.#access],
      length: this.#length,
      pos: this.#pos,
      offset: this.#offset,
    };
    return `${name} ${show(fields, { ...options, breakLength: Infinity })}`;
  }
}

const NEWLINE = new Uint8Array([10]);

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
function allocCopy(n: number): Buffer {
  if (!POOLED || n > SLAB_MAX) return Buffer.allocUnsafe(n);
  if (slabOffset + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabOffset = 0;
  }
  const out = new FastBuffer(slab, slabOffset, n);
  slabOffset = (slabOffset + n + 7) & ~7;
  return out;
}

function copyOf(src: Uint8Array, a: number, b: number): Buffer {
  const out = allocCopy(b - a);
  out.set(src.subarray(a, b));
  return out;
}

interface OpenPlan {
  openFlags: number;
  length: number;
  size: number | undefined;
  rest: MMapOptions;
}

/** openSync, once more after reclaiming neglected maps if the process is out of descriptors. */
function openReclaiming(path: PathLike, flags: number): number {
  try {
    return openSync(path, flags, 0o666);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EMFILE" && code !== "ENFILE") throw err;
    reclaimNeglected();
    return openSync(path, flags, 0o666);
  }
}

function openPlan(path: unknown, options: unknown): OpenPlan {
  if (typeof path !== "string" && !(path instanceof URL) && !Buffer.isBuffer(path)) {
    throw invalidArgType("path", "of type string or an instance of Buffer or URL", path);
  }
  if (Buffer.isBuffer(path)) toBytes(path, "path"); // refuses a view of a detached buffer
  const opts = validateOptions(options, "options");
  const length = optionalInteger(opts.length, "options.length", 0, 0, MAX_SAFE);
  const create = optionalBoolean(opts.create, "options.create", false);
  const size = opts.size === undefined ? undefined : validateInteger(opts.size, "options.size", 0, MAX_SAFE);
  const access = opts.access;
  const prot = opts.prot;
  const readOnly =
    access === ACCESS_READ ||
    access === ACCESS_COPY ||
    ((access === undefined || access === ACCESS_DEFAULT) && typeof prot === "number" && (prot & PROT_WRITE) === 0);
  let openFlags = readOnly && size === undefined ? fsConstants.O_RDONLY : fsConstants.O_RDWR;
  if (create) openFlags |= fsConstants.O_CREAT;
  const rest: MMapOptions = {
    flags: opts.flags as number | undefined,
    prot: opts.prot as number | undefined,
    access: opts.access as Access | undefined,
    offset: opts.offset as number | undefined,
    trackfd: opts.trackfd as boolean | undefined,
  };
  return { openFlags, length, size, rest };
}

/** Deno keeps its own record of the descriptors its `fs` opened: they must be closed through it. */
const OWN_FDS_BY_RUNTIME = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

/** Maps `fd` (opened by MMap.open), letting the map own it unless trackfd is false. */
function adoptAndMap(fd: number, length: number, rest: MMapOptions): MMap {
  if (rest.trackfd === false || OWN_FDS_BY_RUNTIME) {
    const m = new MMap(fd, length, rest);
    closeSync(fd);
    return m;
  }
  adoptNextFd = true;
  try {
    return new MMap(fd, length, rest);
  } finally {
    adoptNextFd = false;
  }
}
