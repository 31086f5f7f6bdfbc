/**
 * A mapping's lifetime: made from a plan (the audit event, the file-size rule, the descriptor
 * it owns, the system call), resized, flushed, closed. The addon owns the mapping itself (its
 * address, its descriptor, the jobs using it); this module owns the policy around it.
 *
 * Invariants between TypeScript and C:
 * - `mem.handle` is null exactly when the addon was told to unmap (close), or reported that it
 *   lost the memory (a failed Windows resize that could not map it again): from then on every
 *   method throws `ERR_MMAP_CLOSED`.
 * - `mem.length` equals the region's length in the addon while the handle is live: both change
 *   only in {@link Mapping.resize}, on success.
 * - The descriptor the map owns (a duplicate, a memfd, or the one `MMap.open` opened) is the
 *   addon's: it closes it with the mapping, and `fd` asks it.
 * - The file identity (device, inode) the addon keeps for that descriptor comes from an fstat of
 *   the descriptor itself: the one that sized the map, passed to `native.map` in `mapStat` only
 *   when that fstat succeeded on the owned descriptor; otherwise the addon makes its own.
 * - A handle is reachable from JavaScript through its map's `mem.handle` alone (and locals of
 *   synchronous code that got it from there), until close() sets that to null; after that only
 *   `spare` holds it, and `native.map` may give it to the next map. So no code uses a closed
 *   map's handle: were one to, it would reach whatever map the handle was given to since.
 * Internal: not exported from the package.
 * @module
 */
import { channel } from "node:diagnostics_channel";
import { fstatSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { native, type Handle } from "./binding.js";
import { ALLOCATIONGRANULARITY, MAP_ANONYMOUS, MAP_PRIVATE, PAGESIZE, PROT_EXEC, PROT_READ, PROT_WRITE, constants, type Access } from "./constants.js";
import { invalidArgValue, notResizable, stateError, systemError } from "./errors.js";
import { memoryOf, type Memory } from "./memory/index.js";
import { platform } from "./platform.js";
import type { MapPlan } from "./plan.js";
import { beforeMap, mapped, unmapped, withReclaim } from "./reclaim.js";
import { openTag, release as releaseTag, sectionSize } from "./tags.js";
import { ioError } from "./truncation.js";

/** What `memmap:new` publishes, before the map is made (Python's `mmap.__new__` audit event). */
export interface NewMapEvent {
  fd: number;
  length: number;
  access: Access;
  offset: number;
}

/**
 * The advice memmap passes to madvise: the `MADV_*` constants it exports, less MADV_HWPOISON
 * (which poisons pages: the next access kills the process). What the destructive ones do per
 * map kind is in docs/safety.md ("Advice").
 */
const KNOWN_ADVICE = new Set(
  Object.entries(constants)
    .filter(([name]) => name.startsWith("MADV_") && name !== "MADV_HWPOISON")
    .map(([, v]) => v),
);

const newMapChannel = channel("memmap:new");
/**
 * [size] of a live map's file, from native.fd (resize, size). The addon is handed the ArrayBuffer
 * (statBuf, mapStatBuf below), which it reads in ~100 instructions where a Float64Array costs ~475
 * (Node 20's napi_get_typedarray_info tries every typed-array kind): two of them per map + close.
 */
const statBuf = new ArrayBuffer(16);
const statOut = new Float64Array(statBuf);
/**
 * [size, isRegular, dev, ino, result] from the fstat that sizes a new map; dev and ino are the
 * file's identity as raw 64-bit words, which only native.map reads back, from this array
 * (JavaScript never reads or copies them: a copy could change a NaN's bits); `result` is the
 * 0 | -errno of that fstat when native.dup made it. Used by Mapping.create alone.
 */
const mapStatBuf = new ArrayBuffer(40);
const mapStat = new Float64Array(mapStatBuf);
/**
 * Handles of closed maps, for native.map to give to the next maps: a handle it takes over saves
 * making a Node-API external and its finalizer, and the collector the work of finalizing them
 * (about 0.6 us of a 7 us map + close). The addon takes one only when nothing but the handle
 * counts on its region any more (no view, string, job, reserved range or descriptor); else it
 * makes a new handle, and the spare one is left to the collector.
 */
const spare: Handle[] = [];
const SPARE_MAX = 8;
/** An I/O error a flush reports, as the addon fills it (see src/truncation.ts). */
const syncOut = new Float64Array(4);

const { EACCES, EBADF, EBUSY, EFAULT, EINVAL, ENODEV, ENOENT } = osConstants.errno;

function busyError(): Error {
  return stateError("ERR_MMAP_BUSY", "mmap can't resize while flushAsync(), waitAsync() or prefetch() is in progress");
}

/**
 * The descriptor the map owns, for a call that sizes or maps its file: -1 for none; throws when
 * it was closed outside memmap (the addon checks that the number still names the map's file:
 * once closed, the number may name another file, which memmap must never touch).
 */
function ownedFd(h: Handle, size?: ArrayBuffer): number {
  const fd = native.fd(h, size);
  if (fd === -EBADF) {
    throw stateError(
      "ERR_MMAP_FD_CLOSED",
      "the map's descriptor was closed outside memmap (m.fd), and its number may now name another file: " +
        "memmap will not size, resize or close it; map the file again",
    );
  }
  return fd;
}

/** fstat of `fd` into mapStat: whether it succeeded. */
function stat(fd: number): boolean {
  return native.fstat(fd, mapStatBuf) === 0;
}

/** The file as the user named it, for errors: the path (MMap.open) or the descriptor. */
function fileOf(plan: MapPlan): string {
  return plan.path === undefined ? `the file of descriptor ${plan.fd}` : `'${plan.path}'`;
}

/**
 * CPython's rule: a map of a regular file lies inside it; length 0 maps the whole file from the
 * offset. `statted`: mapStat holds an fstat of the file's descriptor (false: it failed, which is
 * left to dup/mmap, as in CPython; or the map has no file).
 */
function resolveLength(plan: MapPlan, statted: boolean): number {
  const { fd, offset } = plan;
  let len = plan.length;
  if (!statted || mapStat[1] !== 1) return len;
  const size = mapStat[0] as number;
  // Errors name the file with fileOf, only when they are thrown: a number turned into a string
  // on every map cost it ~1 % of its time.
  if (len === 0) {
    if (size === 0) {
      // CPython's words, then what to do about it (a file just made by `create: true` is one).
      if (plan.path !== undefined) {
        throw invalidArgValue("path", plan.path, "is an empty file: cannot mmap an empty file (options.size gives it a size, filled with zeros, before mapping)");
      }
      throw invalidArgValue("fd", fd, "is an empty file: cannot mmap an empty file (give the file a size first, e.g. with fs.ftruncateSync or filehandle.truncate)");
    }
    if (offset >= size) throw invalidArgValue("options.offset", offset, `is not smaller than the size of ${fileOf(plan)}, ${size}`);
    len = size - offset;
  } else if (!platform.mapSizesFile && (offset > size || size - offset < len)) {
    throw invalidArgValue(plan.path === undefined ? "length" : "options.length", len, `is greater than the size of ${fileOf(plan)} (${size}) minus the offset ${offset}`);
  }
  return len;
}

/**
 * A file's map that owns a duplicate of the caller's descriptor: the duplicate is made first and
 * the file-size rule applied through it, so that the one fstat also gives the addon the file's
 * identity (the file is the same: a duplicate shares the open file). The outcome is CPython's
 * (fstat, the rule, then dup): when dup fails, the rule's error, if any, comes first.
 * @returns [the duplicate, the map's length, whether mapStat holds the duplicate's fstat]
 */
function dupAndResolve(plan: MapPlan): [number, number, boolean] {
  // The addon fstats the duplicate in the same call: one Node-API call fewer a map (with the raw
  // fstat of native/linux.c, a map + close went from 5.85 to 5.77 us, ten alternating pairs).
  // mapStat[4] = 1 is no result the addon writes: an addon built before dup took `out` leaves it,
  // and the map is then sized by a separate fstat instead of by a stale one.
  mapStat[4] = 1;
  const fd = withReclaim(() => native.dup(plan.fd, mapStatBuf), (r) => r);
  if (fd < 0) {
    resolveLength(plan, stat(plan.fd));
    throw systemError(fd, "dup", plan.path);
  }
  try {
    const statted = mapStat[4] === 1 ? stat(fd) : mapStat[4] === 0;
    return [fd, resolveLength(plan, statted), statted];
  } catch (e) {
    native.close(fd);
    throw e;
  }
}

/** The descriptor the map will own: a close-on-exec duplicate, a memfd, the adopted one, or -1. */
function ownedDescriptor(plan: MapPlan, length: number): number {
  if (plan.fd === -1) {
    if (!plan.shareable) return -1;
    // Made empty, then sized to offset + length, as a new tag is (the map starts at `offset` in
    // it): each step's error names its own system call (RLIMIT_FSIZE refuses the ftruncate).
    const fd = withReclaim(() => native.memfd(0), (r) => r);
    if (fd < 0) throw systemError(fd, "memfd_create");
    const rc = native.truncate(fd, plan.offset + length);
    if (rc < 0) {
      native.close(fd);
      throw systemError(rc, "ftruncate");
    }
    return fd;
  }
  if (plan.adopt) return plan.fd;
  return -1; // trackfd: false (a duplicate is dupAndResolve's)
}

/**
 * What to do about a failed mmap whose cause is an argument, which the system's error does not
 * name (CPython leaves these to the kernel too): EACCES of a descriptor the user opened without
 * the access the map needs (`fs.openSync(path)` opens for reading only; a map shares writes with
 * the file by default); EINVAL of an offset off the granularity, or of an anonymous map of length
 * 0; EINVAL or ENODEV of a directory, a pipe or a socket (CPython's errnos, which say nothing of it).
 * Undefined otherwise.
 */
function mapHint(plan: MapPlan, rc: number, length: number, fileSize: number): string | undefined {
  if ((rc === -EINVAL || rc === -ENODEV) && plan.fd !== -1 && fileSize < 0) {
    const kind = unmappable(plan.fd);
    if (kind !== undefined) return `${plan.path === undefined ? `descriptor ${plan.fd}` : "it"} is ${kind}`;
  }
  // Windows: a file's map with a tag that names an existing section maps that section, whatever
  // its file, and no view reaches past its end.
  if (plan.fd !== -1 && plan.tagname !== undefined) {
    const size = sectionSize(plan.tagname);
    if (size >= 0 && plan.offset + length > size) {
      return `options.tagname '${plan.tagname}' names an existing mapping of ${size} bytes, which a map of the tag cannot reach past (offset + length is ${plan.offset + length}); the file's own size does not count while the tag exists`;
    }
  }
  // Windows sizes the file to offset + length, but only through a writable shared map: any
  // other is refused, with ERROR_NOT_ENOUGH_MEMORY (STATUS_SECTION_TOO_BIG) or access denied.
  if (platform.mapSizesFile && fileSize >= 0 && plan.offset + length > fileSize && ((plan.prot & PROT_WRITE) === 0 || (plan.flags & MAP_PRIVATE) !== 0)) {
    const within = fileSize > plan.offset ? `map at most ${fileSize - plan.offset} bytes from this offset (length 0: to the end)` : `the offset is not below it`;
    return `a read-only or copy-on-write map cannot extend the file: offset + length (${plan.offset + length}) is beyond its size (${fileSize}); ${within}, or map it writable and shared to extend it`;
  }
  // Windows reads a backslash in a name as a directory of named objects: only the namespaces
  // exist (Local, Global, Session\<n>); any other is ERROR_PATH_NOT_FOUND, ENOENT.
  if (rc === -ENOENT && plan.tagname !== undefined && !platform.tagObjects && plan.tagname.includes("\\")) {
    return `a backslash in options.tagname separates a namespace (Local\\, Global\\ or Session\\<n>\\) from the name: '${plan.tagname}' names none that exists`;
  }
  // (PROT_EXEC has an EACCES of its own: a file system mounted noexec.)
  if (rc === -EACCES && plan.fd !== -1 && plan.path === undefined && (plan.prot & PROT_EXEC) === 0) {
    if ((plan.prot & PROT_WRITE) !== 0 && (plan.flags & MAP_PRIVATE) === 0) {
      return "a writable shared map needs a descriptor open for reading and writing: open the file with 'r+', or map it read-only with { access: ACCESS_READ }";
    }
    return "a map needs a descriptor open for reading: open the file with 'r' or 'r+'";
  }
  if (rc !== -EINVAL) return undefined;
  if (plan.offset % ALLOCATIONGRANULARITY !== 0) {
    return `options.offset must be a multiple of ALLOCATIONGRANULARITY (${ALLOCATIONGRANULARITY}); it is ${plan.offset}`;
  }
  if (plan.fd === -1 && plan.tagname === undefined && plan.length === 0) return "an anonymous map needs a length of at least 1";
  return undefined;
}

/**
 * What `fd` is when it is a kind of file no map can be made of (a directory, a pipe, a socket), said
 * for an error's hint; undefined otherwise, or when fstat fails.
 */
function unmappable(fd: number): string | undefined {
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return "a directory, which cannot be mapped: map a file in it";
    if (st.isFIFO() || st.isSocket()) return `a ${st.isFIFO() ? "pipe" : "socket"}, which cannot be mapped: map a regular file (or copy the stream into one)`;
  } catch {}
  return undefined;
}

/**
 * What EFAULT from mremap means: the map is more than one kernel mapping, which mremap cannot grow
 * (as CPython's resize fails after an madvise of part of a map).
 */
const SPLIT_HINT =
  "lock() or madvise() of part of it split the map into parts the kernel keeps apart, and mremap grows one part only: " +
  "unlock() that part, or give it the same advice as the rest of the map, before growing it";

/** What to do about EINVAL from msync or madvise: the system takes page-aligned starts only. */
function pageHint(rc: number, start: number, what: string): string | undefined {
  return rc === -EINVAL && start % PAGESIZE !== 0 ? `${what} must be a multiple of PAGESIZE (${PAGESIZE}); it is ${start}` : undefined;
}

export class Mapping {
  readonly mem: Memory;
  readonly offset: number;
  readonly flags: number;
  readonly trackfd: boolean;
  readonly anonymous: boolean;
  /** Windows: the map's memory is a named pagefile section (`tagname`, no file). */
  readonly namedSection: boolean;

  private constructor(mem: Memory, plan: MapPlan, flags: number) {
    this.mem = mem;
    this.offset = plan.offset;
    this.flags = flags;
    this.trackfd = plan.trackfd;
    this.anonymous = plan.fd === -1;
    this.namedSection = this.anonymous && plan.tagname !== undefined && !platform.tagObjects;
  }

  /**
   * Maps what `plan` describes: publishes `memmap:new`, applies the file-size rule, takes the
   * descriptor the map owns, maps.
   * @throws {RangeError} `ERR_INVALID_ARG_VALUE` for an empty file or a range beyond it.
   * @throws {Error} a system error from dup, memfd_create or mmap.
   */
  static create(plan: MapPlan, writable: boolean): Mapping {
    if (newMapChannel.hasSubscribers) {
      newMapChannel.publish({ fd: plan.fd, length: plan.length, access: plan.access, offset: plan.offset } satisfies NewMapEvent);
    }
    // Named shared memory: the tag's memory decides the length (src/tags.ts), and owns the descriptor where it has one.
    const named = plan.tagname !== undefined && plan.fd === -1;
    // An offset mmap is sure to refuse (EINVAL, as it would say) before a tag's object is made:
    // made and removed again, another process could map it in between and lose its name.
    if (named && platform.tagObjects && plan.offset % ALLOCATIONGRANULARITY !== 0) throw systemError(-EINVAL, "mmap", plan.path, mapHint(plan, -EINVAL, plan.length, -1));
    const tag = named ? openTag(plan) : null;
    let length: number;
    let owned: number;
    // mapStat holds the fstat of `owned` (its file's identity, for the addon): one fstat fewer.
    let identified = false;
    // The size of plan.fd's regular file, from the fstat that sized the map; -1: none (for mapHint).
    let fileSize = -1;
    if (tag !== null) {
      length = tag.length;
      beforeMap();
      owned = tag.fd;
    } else if (plan.fd !== -1 && plan.trackfd && !plan.adopt) {
      beforeMap();
      [owned, length, identified] = dupAndResolve(plan);
      if (identified && mapStat[1] === 1) fileSize = mapStat[0] as number;
    } else {
      const statted = plan.fd !== -1 && stat(plan.fd);
      if (statted && mapStat[1] === 1) fileSize = mapStat[0] as number;
      length = resolveLength(plan, statted);
      beforeMap();
      owned = ownedDescriptor(plan, length);
      // trackfd: false owns no descriptor, but its map still has the file's identity: the key by
      // which a notify of this process finds the waits on its words through every map of the file.
      identified = statted && (owned === plan.fd || owned === -1);
    }
    const anonymous = plan.fd === -1 && owned === -1;
    // A descriptor's memory (a tag's object, a memfd) is mapped as a file: never MAP_ANONYMOUS.
    const flags = anonymous ? plan.flags | MAP_ANONYMOUS : owned >= 0 && plan.fd === -1 ? plan.flags & ~MAP_ANONYMOUS : plan.flags;
    const mapFd = plan.fd === -1 ? owned : plan.fd;
    // Every API reads the memory from JavaScript, so it is always mapped readable.
    const reuse = spare.pop();
    const h = withReclaim(
      () => native.map(mapFd, length, plan.prot | PROT_READ, flags, plan.offset, owned, plan.tagname, identified ? mapStatBuf : undefined, reuse),
      (r) => (typeof r === "number" ? r : 0),
    );
    if (typeof h === "number") {
      if (reuse !== undefined) spare.push(reuse); // a failed map leaves it as it was (the addon's contract)
      if (tag !== null) releaseTag(tag);
      else if (owned >= 0 && !plan.adopt) native.close(owned);
      throw systemError(h, "mmap", plan.path, mapHint(plan, h, length, fileSize));
    }
    mapped();
    return new Mapping(memoryOf(h, length, writable), plan, flags);
  }

  /** The descriptor the map owns, or -1 (none, or closed). */
  get fd(): number {
    const h = this.mem.handle;
    return h === null ? -1 : Math.max(-1, native.fd(h));
  }

  /**
   * Detaches every view, lets go of the file (once any thread-pool job using the memory is done)
   * and closes the descriptor. Idempotent. A map whose views someone may still use keeps its
   * addresses reserved until they are gone: it still counts for the reclaiming policy meanwhile.
   */
  close(): void {
    const h = this.mem.handle;
    if (h === null) return;
    this.mem.release();
    if (native.unmap(h) === 0) {
      unmapped();
      if (spare.length < SPARE_MAX) spare.push(h);
    }
  }

  /**
   * Resizes to `n` bytes (the caller checked Python's rules), the file first where the system
   * does not size it itself. On success every view made before is detached (those that escaped
   * detaching read zeros where the mapping no longer is); a failure changes nothing.
   * @throws {TypeError} `ERR_MMAP_NOT_RESIZABLE` for shared anonymous memory that cannot grow.
   * @throws {Error} `ERR_MMAP_BUSY`, `ERR_MMAP_TRUNCATED` (the file lost part of the map: checked
   *   before anything changes), or a system error (the map is closed when the system lost it:
   *   see the invariants).
   */
  resize(n: number): void {
    const mem = this.mem;
    const h = mem.open();
    const old = mem.length;
    // The descriptor, checked, and its file's size (statOut[0]) in one fstat: the size is what a
    // failed resize puts back.
    const fd = ownedFd(h, statBuf);
    if (!platform.growSharedAnonymous && fd < 0 && !(this.flags & MAP_PRIVATE) && n > old) {
      throw notResizable("to expand a shared anonymous mapping on Linux (make it with shareable: true to grow it)");
    }
    // A named section grows or shrinks only as a new section that takes the name with the data
    // (win32.c); a copy-on-write view cannot write them into it: the tag would name zeros.
    if (this.namedSection && this.flags & MAP_PRIVATE) {
      throw notResizable("a copy-on-write (MAP_PRIVATE) map of named memory on Windows: a new section would take the tag without its data");
    }
    // A job on the memory (flushAsync, waitAsync, prefetch) refuses the resize: asked here for a
    // map with a file, before the file's size changes; without one, the addon's remap refuses
    // first thing (-EBUSY, told from a system's EBUSY below), which saves a call per resize.
    if (fd >= 0 && native.busy(h) > 0) throw busyError();
    // A loss seen only through a view has moved the fault counter without telling this map yet.
    mem.refresh();
    mem.assertWhole();
    // The file first, in both directions: a failing ftruncate then changes nothing at all,
    // and the map never holds a page the file does not back once it has followed. Except for
    // a growth of a map of part of its file (the file goes on past the new end): the file backs
    // the new pages already, and cutting it first would lose its bytes past the new end for
    // good should the map then fail to grow (mremap's ENOMEM, or EFAULT for a map that advice
    // split): the undo could only put the size back, with zeros. There the map grows first.
    const sizeFile = fd >= 0 && !platform.mapSizesFile;
    const fileSize = sizeFile ? (statOut[0] as number) : -1;
    const cutsAfter = sizeFile && n > old && fileSize > this.offset + n;
    if (sizeFile && !cutsAfter) {
      const t = native.truncate(fd, this.offset + n);
      if (t < 0) throw systemError(t, "ftruncate");
    }
    const r = native.remap(h, n, platform.portableRemap);
    if (r === -EBUSY && fd < 0 && native.busy(h) > 0) throw busyError(); // nothing changed
    // Views detached on success (and in the rare failure that moved the mapping): forget them.
    mem.reset(r < 0 ? old : n);
    if (r < 0) {
      if (sizeFile && !cutsAfter) native.truncate(fd, fileSize); // undo (a shrink's lost tail cannot come back)
      if (native.live(h) === 0) this.close(); // the system could not map it again: it is gone
      throw systemError(r, platform.remapSyscall, undefined, r === -EFAULT ? SPLIT_HINT : undefined);
    }
    if (cutsAfter) {
      const t = native.truncate(fd, this.offset + n);
      if (t < 0) {
        // Undo: the map back to its length (a shrink, which maps nothing); its views stay detached.
        const back = native.remap(h, old, platform.portableRemap);
        mem.reset(back < 0 ? n : old);
        if (native.live(h) === 0) this.close();
        throw systemError(t, "ftruncate");
      }
    }
  }

  /**
   * msync of [start, start + length), which also reports, once, an I/O error that struck the map
   * since the last report (writes through views that may not have reached the file), as fsync
   * reports a failed writeback; and, after the msync, bytes of the range the file lost (its file
   * shrank: writes through views there went to zeros that never reach the file).
   * @throws {Error} a system error (`msync`), with `ioStart`/`ioEnd` for an I/O error;
   *   `ERR_MMAP_TRUNCATED` for a range the file lost.
   */
  sync(start: number, length: number, flags: number): void {
    syncOut[1] = 0;
    const rc = native.sync(this.mem.open(), start, length, flags, syncOut);
    if (rc < 0) throw syncOut[1] !== 0 ? ioError(syncOut, "msync", start, start + length) : systemError(rc, "msync", undefined, pageHint(rc, start, "the offset"));
    this.#flushedWhole(start, length);
  }

  /** The promise twin of {@link sync}, on the thread pool (the addon keeps the memory mapped meanwhile). */
  async syncAsync(start: number, length: number, flags: number): Promise<void> {
    const out = new Float64Array(4);
    const rc = await native.syncAsync(this.mem.open(), start, length, flags, out);
    if (rc < 0) throw out[1] !== 0 ? ioError(out, "msync", start, start + length) : systemError(rc, "msync", undefined, pageHint(rc, start, "the offset"));
    this.#flushedWhole(start, length); // the map as it is now (another call may have learned the loss)
  }

  /**
   * After a flush: `ERR_MMAP_TRUNCATED` when part of the range is lost, also when only a view
   * touched the loss (the fault counter moved). A flush is where a program learns whether its
   * writes reached the file; a view's write into the lost tail cannot throw.
   */
  #flushedWhole(start: number, length: number): void {
    if (length === 0) return;
    this.mem.verify(start, start + length);
    this.mem.guard(start, start + length);
  }

  /** madvise of [start, start + length). @throws {Error} `ERR_MMAP_UNSUPPORTED_PLATFORM`, or a system error (`madvise`). */
  advise(start: number, length: number, advice: number): void {
    const h = this.mem.open();
    if (!platform.madvise) throw stateError("ERR_MMAP_UNSUPPORTED_PLATFORM", "madvise is not supported on this platform (Windows has no madvise)");
    if (!KNOWN_ADVICE.has(advice)) {
      throw invalidArgValue("option", advice, "is not advice memmap passes to the system: use one of the MADV_* constants memmap exports (MADV_HWPOISON is refused)");
    }
    // A range the map knows lost (its file shrank: a private zero mapping stands in for the
    // tail) is refused before the kernel sees it, as other methods refuse it: the kernel would
    // apply the advice to the part the file still backs, then refuse the zeros (EINVAL for
    // MADV_REMOVE, after punching the hole), and a failed call would have changed the file.
    if (length > 0) {
      this.mem.verify(start, start + length);
      this.mem.guard(start, start + length);
    }
    const rc = native.advise(h, start, length, advice);
    if (rc < 0) throw systemError(rc, "madvise", undefined, pageHint(rc, start, "start"));
  }

  /** The size of the file now, or the length of an anonymous map. @throws {Error} a system error (`fstat`). */
  fileSize(): number {
    const h = this.mem.open();
    if (this.anonymous) return this.mem.length;
    const fd = ownedFd(h, statBuf); // checks the descriptor and reads the size in one fstat
    if (fd < 0) throw systemError(-EBADF, "fstat");
    return statOut[0] as number;
  }
}
