/**
 * Named shared memory (`tagname`): the checks of a tag, and what a tag map maps. The rules are
 * Windows' on every system: the same tag gives the same memory, in this process or another; a
 * new tag creates memory of the length asked (zeros); length 0 maps an existing one whole; a
 * length beyond an existing one's size is `RangeError`, and nothing grows silently.
 *
 * Where a tag is an object of its own (POSIX shared memory, `platform.tagObjects`), this module
 * opens or creates the object `"/" + tag`, sizes a new one, and hands its descriptor to the map,
 * which owns it (`m.fd`). Where the mapping itself is named (Windows), the addon names it when it
 * maps, and this module only learns the size of an existing one. docs/named-memory.md tells the
 * lifecycle on each system.
 * Internal: not exported from the package.
 * @module
 */
import { constants as osConstants } from "node:os";
import { native } from "./binding.js";
import { ACCESS_COPY, ACCESS_READ, MAP_PRIVATE } from "./constants.js";
import { invalidArgType, invalidArgValue, systemError, unsupported } from "./errors.js";
import { platform } from "./platform.js";
import type { MapPlan } from "./plan.js";
import { withReclaim } from "./reclaim.js";

const { ENOENT, EEXIST, EACCES, EAGAIN, EWOULDBLOCK, EINVAL, EISDIR, ELOOP, ENXIO, EPERM } = osConstants.errno;
/** Attempts at opening a tag that other processes create and remove meanwhile. */
const OPEN_ATTEMPTS = 8;
/** Attempts, a millisecond apart, at the lock of a new object that another party is sizing. */
const LOCK_ATTEMPTS = 1000;
const pause = new Int32Array(new SharedArrayBuffer(4));
const statBuf = new ArrayBuffer(16);
const statOut = new Float64Array(statBuf);

const LONE_SURROGATE = /\p{Surrogate}/u;
/** Windows: the prefixes that name this session's namespace (`Local\`, `Session\<n>\`), any number. */
const SESSION_PREFIX = /^(?:Local\\|Session\\\d+\\)+/;
/** Windows: the names of memmap's own objects (native/wait-win32.c). */
const OWN_NAME = /^memmap-wait-v1(?:-lock|-\d+)?$/;

/**
 * A `tagname` (or `MMap.unlinkTag`'s name), checked: a string; `undefined` for `""`, which names
 * nothing (Windows' rule: an anonymous map of its own). Where tags are objects, the system's name
 * is `"/" + tag`: a tag holds no `/`, is not `.` or `..`, and fits the system's length. No system
 * takes a NUL inside a name, and a name is a well-formed string (no lone surrogate). On Windows a
 * tag is at most 32766 UTF-16 code units, does not end with a backslash, and is not the name of one
 * of memmap's own objects.
 * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-string; `ERR_MMAP_UNSUPPORTED_PLATFORM` where
 *   the system has no named memory.
 * @throws {RangeError} `ERR_INVALID_ARG_VALUE` for a name the system cannot take, or memmap's own.
 */
export function tagOf(value: unknown, name: string): string | undefined {
  if (typeof value !== "string") throw invalidArgType(name, "of type string", value);
  if (!platform.tagname) throw unsupported(`${name} is not supported on this system: it has no named shared memory`);
  if (value === "") return undefined;
  if (value.includes("\0")) throw invalidArgValue(name, value, "must not contain a NUL character");
  // A lone surrogate has no UTF-8 form: every one would become U+FFFD, and different tags would
  // name the same memory.
  if (LONE_SURROGATE.test(value)) throw invalidArgValue(name, value, "must not contain a lone surrogate (it has no UTF-8 form)");
  if (platform.tagObjects) {
    if (value.includes("/")) throw invalidArgValue(name, value, "must not contain '/' (the system names the memory '/' + tag)");
    if (value === "." || value === "..") throw invalidArgValue(name, value, "must not be '.' or '..'");
  }
  const max = platform.tagMax;
  if (platform.tagObjects && max > 0 && Buffer.byteLength(value, "utf8") > max) {
    throw invalidArgValue(name, value, `must be at most ${max} bytes long in UTF-8 on this system`);
  }
  // Windows: a backslash separates a directory of objects (a namespace) from a name: ending with
  // one names a directory, no memory.
  if (!platform.tagObjects && value.endsWith("\\")) {
    throw invalidArgValue(name, value, "must not end with a backslash: on Windows a backslash separates a namespace (Local\\, Global\\, Session\\<n>\\) from the name that follows it");
  }
  // Windows: the names of memmap's own objects in the session (wait-win32.c: the waiter table,
  // its mutex, a waiter's event), with or without the prefixes that name the session's namespace.
  if (!platform.tagObjects && OWN_NAME.test(value.replace(SESSION_PREFIX, ""))) {
    throw invalidArgValue(name, value, "names an object of memmap's own (the table through which wait() and notify() reach other processes)");
  }
  // Windows names the section itself, and cuts a longer name: distinct tags would be one.
  if (!platform.tagObjects && max > 0 && value.length > max) {
    throw invalidArgValue(name, `${value.slice(0, 40)}… (${value.length} UTF-16 code units)`, `must be at most ${max} UTF-16 code units long on Windows, which cuts longer names (distinct tags would name the same memory)`);
  }
  return value;
}

/** The tag as the addon reads it: its UTF-8 bytes and a final NUL. */
function cName(tag: string): Uint8Array {
  return Buffer.from(`${tag}\0`, "utf8");
}

/** What a tag map maps: the length resolved and, where tags are objects, the object's descriptor. */
export interface TagTarget {
  readonly tag: string;
  /** The bytes to map (never 0). */
  readonly length: number;
  /** The object's descriptor, which the map is to own; -1 where the mapping itself is named. */
  readonly fd: number;
  /** This call created the object: a failure to map it removes it again. */
  readonly created: boolean;
}

/**
 * The length of a map of `plan` over memory of `size` bytes that exists already: the whole of it
 * from the offset for length 0, else the length asked if it fits.
 * @throws {RangeError} `ERR_INVALID_ARG_VALUE` for empty memory, or a range beyond its size.
 */
function lengthIn(plan: MapPlan, tag: string, size: number): number {
  const { length, offset } = plan;
  if (length === 0) {
    if (size === 0) throw invalidArgValue("options.tagname", tag, "names empty shared memory: there is nothing to map whole");
    if (offset >= size) throw invalidArgValue("options.offset", offset, `is not smaller than the size of the tag's memory, ${size}`);
    return size - offset;
  }
  if (offset > size || size - offset < length) {
    throw invalidArgValue("length", length, `is greater than the size of the tag's memory, ${size}, minus the offset ${offset}`);
  }
  return length;
}

/**
 * Opens the tag's object, or creates it (`created`): a descriptor, or a thrown system error.
 * `readonly`: opened for reading only (a read-only map; or a copy-on-write one, whose writes never
 * reach the object, of memory this process may only read: as a file, which `ACCESS_COPY` maps
 * from a read-only descriptor).
 */
function openObject(plan: MapPlan, tag: string, name: Uint8Array, readonly: boolean): { fd: number; created: boolean; readonly: boolean } {
  const copyOnWrite = plan.access === ACCESS_COPY || (plan.flags & MAP_PRIVATE) !== 0;
  for (let attempt = 1; ; attempt++) {
    let fd = withReclaim(() => native.tagOpen(name, false, readonly), (r) => r);
    if (fd >= 0) return { fd, created: false, readonly };
    let triedReading = readonly;
    if (fd === -EACCES && !readonly && copyOnWrite) {
      fd = withReclaim(() => native.tagOpen(name, false, true), (r) => r);
      if (fd >= 0) return { fd, created: false, readonly: true };
      triedReading = true;
    }
    // Nothing to map whole: as a file that does not exist.
    if (fd !== -ENOENT || plan.length === 0) throw systemError(fd, "shm_open", tag, openHint(fd, tag, triedReading));
    const made = withReclaim(() => native.tagOpen(name, true, false), (r) => r);
    if (made >= 0) return { fd: made, created: true, readonly: false };
    // Another process created it since: open that one (unless it keeps vanishing).
    if (made !== -EEXIST || attempt === OPEN_ATTEMPTS) throw systemError(made, "shm_open", tag, made === -ENOENT ? NO_SHM : openHint(made, tag, false));
  }
}

/** Why creating a tag's object finds no such file or directory: there is nowhere to make it. */
const NO_SHM =
  process.platform === "linux"
    ? "there is no /dev/shm here, where POSIX shared memory lives, as in some containers and sandboxes: mount a tmpfs there, or share a file or a shareable map's descriptor instead"
    : "this system has no POSIX shared memory here";

/** Where tags are files ("/dev/shm/<tag>" on Linux), the file; else the system's name. */
function objectName(tag: string): string {
  return process.platform === "linux" ? `/dev/shm/${tag}` : `the shared memory object '/${tag}'`;
}

/**
 * What to do about a tag the system would not open, which its error does not say: memory of
 * another user (EACCES), or a name that is not shared memory at all (Linux: anything but a regular
 * file in /dev/shm, a directory every user may write to, is refused).
 */
function openHint(rc: number, tag: string, reading: boolean): string | undefined {
  if (rc === -EACCES) {
    return reading
      ? `${objectName(tag)} may not be read by this user: its owner may share it with chmod, or use another tagname`
      : `${objectName(tag)} is another user's, or read-only to this one: map it with { access: ACCESS_READ } or ACCESS_COPY if it may be read, or use another tagname`;
  }
  if (process.platform === "linux" && (rc === -EINVAL || rc === -EISDIR || rc === -ELOOP || rc === -ENXIO)) {
    return `${objectName(tag)} is not shared memory but a directory, FIFO, symbolic link or socket: use another tagname, or remove it`;
  }
  return undefined;
}

/**
 * The POSIX object of a tag, opened or created, and sized when new. Creating and sizing are two
 * steps there, so memory found empty is still being made by another process: the first map with a
 * length sizes it. Only memory found empty, or made here, is ever sized: existing memory never
 * grows or shrinks here.
 */
function openPosix(plan: MapPlan, tag: string): TagTarget {
  const name = cName(tag);
  // A read-only map opens existing memory read-only (memory it may only read will do).
  const { fd, created, readonly } = openObject(plan, tag, name, plan.access === ACCESS_READ);
  // Made here, and sized here: this call's alone until it returns, so a failure removes it again.
  // Made here but sized by another party (a process that opened it in between, and maps it now),
  // it is that party's too: a failure here must not remove the name of memory in use.
  let mine = created;
  try {
    const rc = native.fstat(fd, statBuf);
    if (rc < 0) throw systemError(rc, "fstat");
    let size = statOut[0] as number;
    if (size !== 0) mine = false;
    else if (plan.length > 0 && !readonly) {
      const want = plan.offset + plan.length;
      size = sizeEmpty(fd, want);
      if (size < 0) size = want;
      else mine = false;
    } else if (plan.length > 0) size = sizeForReader(name, fd, plan.offset + plan.length);
    return { tag, length: lengthIn(plan, tag, size), fd, created: mine };
  } catch (err) {
    release({ tag, length: 0, fd, created: mine });
    throw err;
  }
}

/**
 * A map that opened memory read-only and found it empty: the memory is still being made (its
 * creator has not sized it yet), and a map with a length sizes it, as any other map would (empty
 * memory is new memory, which a read-only map creates too), through a descriptor for writing of its
 * own. Memory this process may only read stays empty. Returns the size of `fd`'s memory then.
 */
function sizeForReader(name: Uint8Array, fd: number, size: number): number {
  const writer = withReclaim(() => native.tagOpen(name, false, false), (r) => r);
  if (writer >= 0) {
    try {
      // The name may name other memory by now: only the memory `fd` opened is sized.
      if (sameObject(writer, fd) === true) sizeEmpty(writer, size);
    } finally {
      native.close(writer);
    }
  }
  const rc = native.fstat(fd, statBuf);
  if (rc < 0) throw systemError(rc, "fstat");
  return statOut[0] as number;
}

/**
 * Sizes memory found empty to `size`, one party at a time: under the object's lock, and only if it
 * is still empty then; returns -1 when this call sized it, else the size another party gave it. Two
 * maps of a new tag made at once (threads, processes) both found it empty, and the creator's
 * `ftruncate` could come after the other's: memory shrank under the other map (`ERR_MMAP_TRUNCATED`
 * from a map just made), where the second now finds the size the first gave it, and a length beyond
 * it is `ERR_INVALID_ARG_VALUE` as for any existing memory.
 */
function sizeEmpty(fd: number, size: number): number {
  const locked = lockObject(fd);
  try {
    let rc = native.fstat(fd, statBuf);
    if (rc < 0) throw systemError(rc, "fstat");
    const now = statOut[0] as number;
    if (now !== 0) return now;
    rc = native.truncate(fd, size);
    if (rc < 0) throw systemError(rc, "ftruncate");
    return -1;
  } finally {
    if (locked) native.tagLock(fd, false);
  }
}

/**
 * Takes the object's lock (flock), waiting up to a second for another party sizing it (memmap holds
 * it for two system calls); false where the system has no such lock for it, or it stayed held: the
 * object is sized without it, as before.
 */
function lockObject(fd: number): boolean {
  for (let attempt = 1; attempt <= LOCK_ATTEMPTS; attempt++) {
    const rc = native.tagLock(fd, true);
    if (rc === 0) return true;
    if (rc !== -EWOULDBLOCK && rc !== -EAGAIN) return false;
    Atomics.wait(pause, 0, 0, 1);
  }
  return false;
}

/** Windows: the section of that name, if one exists, decides the length; else the map creates it. */
function sectionOf(plan: MapPlan, tag: string): TagTarget {
  const size = native.tagSize(cName(tag));
  if (size >= 0) return { tag, length: lengthIn(plan, tag, size), fd: -1, created: false };
  if (size === -ENOENT && plan.length === 0) throw systemError(size, "OpenFileMapping", tag);
  // None (or none this process may look at): CreateFileMapping makes it, or says why not.
  return { tag, length: plan.length, fd: -1, created: false };
}

/**
 * Windows: the size of the existing section named `tag`, or -1 for none (or none this process
 * may look at). For the message of a failed map of a file with a tag (src/mapping.ts).
 */
export function sectionSize(tag: string): number {
  if (platform.tagObjects) return -1;
  const size = native.tagSize(cName(tag));
  return size >= 0 ? size : -1;
}

/**
 * What the anonymous tag map of `plan` maps (`plan.tagname` set, `plan.fd` -1).
 * @throws {RangeError} `ERR_INVALID_ARG_VALUE` for a length the existing memory cannot hold.
 * @throws {Error} a system error (`shm_open` `ENOENT` for length 0 and no such tag; `EACCES`; …).
 */
export function openTag(plan: MapPlan): TagTarget {
  const tag = plan.tagname as string;
  return platform.tagObjects ? openPosix(plan, tag) : sectionOf(plan, tag);
}

/**
 * After a failed map: closes the object's descriptor, and removes the name if this map created it
 * and the name still names that object. Another process may have removed it meanwhile and made new
 * memory of the name, which is in use there: that name stays.
 */
export function release(target: TagTarget): void {
  if (target.fd < 0) return;
  const name = cName(target.tag);
  if (target.created && namesObject(name, target.fd)) native.tagUnlink(name);
  native.close(target.fd);
}

const idA = new Float64Array(4);
const idB = new Float64Array(4);
const wordsA = new BigUint64Array(idA.buffer, 16, 2);
const wordsB = new BigUint64Array(idB.buffer, 16, 2);

/**
 * Whether the tag's name still names the object of `fd` (the same device and inode). Where this
 * cannot be told (the name opens with an error other than ENOENT), true: the name is removed, as it
 * was made here.
 */
function namesObject(name: Uint8Array, fd: number): boolean {
  const other = withReclaim(() => native.tagOpen(name, false, true), (r) => r);
  if (other === -ENOENT) return false;
  if (other < 0) return true;
  try {
    return sameObject(fd, other) !== false;
  } finally {
    native.close(other);
  }
}

/** Whether two descriptors are of the same object (device and inode); undefined where fstat fails. */
function sameObject(a: number, b: number): boolean | undefined {
  if (native.fstat(a, idA) !== 0 || native.fstat(b, idB) !== 0) return undefined;
  return wordsA[0] === wordsB[0] && wordsA[1] === wordsB[1];
}

/**
 * `MMap.unlinkTag(name)`: removes the name of POSIX shared memory; `true` when there was one,
 * `false` when there was none, and always `false` on Windows, where a name goes with its last map.
 * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a non-string.
 * @throws {RangeError} `ERR_INVALID_ARG_VALUE` for the empty string, or a name no tag can have.
 * @throws {Error} a system error (`shm_unlink`), e.g. `EACCES`.
 */
export function unlinkTag(name: unknown): boolean {
  const tag = tagOf(name, "name");
  if (tag === undefined) throw invalidArgValue("name", name, "must not be empty (an empty tagname names no memory)");
  if (!platform.tagObjects) return false;
  const rc = native.tagUnlink(cName(tag));
  if (rc === -ENOENT) return false;
  if (rc < 0) {
    const hint =
      rc === -EPERM || rc === -EACCES
        ? `only the user who made ${objectName(tag)}, or root, may remove its name`
        : process.platform === "linux" && rc === -EISDIR
          ? `${objectName(tag)} is a directory, not shared memory`
          : undefined;
    throw systemError(rc, "shm_unlink", tag, hint);
  }
  return true;
}
