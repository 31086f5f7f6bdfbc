/**
 * `MMap.open` and `MMap.openAsync`: open a path, size it, map it, and hand the descriptor to the
 * map (or close it) so that nothing leaks on any path.
 *
 * A failed call changes nothing. Every option is checked before the path is opened, with the
 * constructor's own checks ({@link planMap}) and errors. What depends on the file (its size
 * against `length` and `offset`, what the system refuses to map) can only fail after it was
 * opened, created or grown: then this call puts back what it changed ({@link undo}) before
 * the error reaches the caller.
 * Internal: not exported from the package.
 * @module
 */
import { closeSync, fstatSync, ftruncateSync, lstatSync, openSync, readlinkSync, unlinkSync, constants as fsConstants, type PathLike, type Stats } from "node:fs";
import { lstat, open as openFile, readlink, unlink, type FileHandle } from "node:fs/promises";
import { dirname, isAbsolute, resolve, sep } from "node:path";
import { constants as osConstants } from "node:os";
import { fileURLToPath } from "node:url";
import { ACCESS_COPY, ACCESS_DEFAULT, ACCESS_READ, PROT_WRITE } from "./constants.js";
import { describe, inherits, invalidArgType, systemError } from "./errors.js";
import { platform } from "./platform.js";
import { MAP_KEYS, mapOptions, openedFrom, planMap, type MMapOptions } from "./plan.js";
import { reclaimNeglected } from "./reclaim.js";
import { byteLength, bytesAt, isUint8Array, optionalBoolean, optionalInteger, toBytes, validateInteger } from "./validate.js";

/**
 * Options of `MMap.open(path, options)`: the constructor's (`tagname` is taken as the
 * constructor takes it with a file descriptor), plus `length`, `create` and `size`.
 */
export interface OpenOptions extends Omit<MMapOptions, "shareable"> {
  /** Bytes to map; 0 or omitted maps the whole file from `offset`. */
  length?: number | undefined;
  /** Create the file if it is missing (mode 0o666 before umask); removed again if the map then fails. */
  create?: boolean | undefined;
  /**
   * Extend a shorter file with zeros to this many bytes before mapping; never shrinks. The file
   * is then opened read-write, but a read-only map of a file that already has `size` bytes needs
   * no write access.
   */
  size?: number | undefined;
}

/** Makes the map: the class's constructor, handed in (this module does not import the class). */
export type MakeMap<T> = (fd: number, length: number, options: MMapOptions) => T;

interface OpenPlan {
  /**
   * The path, read once: a string as given, a copy of a Buffer, a file URL's path. Every later
   * use (open, the undo, errors) sees what was validated, whatever the caller does to its
   * Buffer or URL meanwhile.
   */
  path: string | Buffer;
  /** O_RDONLY or O_RDWR; O_CREAT is added by {@link openSyncCreating} when `create`. */
  openFlags: number;
  /** The map will be read-only (`ACCESS_READ`, `ACCESS_COPY`, a `prot` without `PROT_WRITE`). */
  readOnly: boolean;
  create: boolean;
  length: number;
  size: number | undefined;
  /** The constructor's options, each read once from the caller's object. */
  rest: MMapOptions;
}

/** What this call changed in the file system before mapping, to put back if the map fails. */
interface Changes {
  /**
   * The absolute path of the file this call created (O_CREAT | O_EXCL succeeded on it): the
   * path given, or where the symbolic link it names pointed; null when it created nothing.
   */
  created: string | Buffer | null;
  /** The file's size before this call grew it to `size`, or -1 when it did not. */
  grownFrom: number;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Stands for the descriptor `open` will return when the constructor's checks run before it. */
const SOME_FD = 0;
/**
 * Added to every open: opening a FIFO read-only (or a terminal, a serial line) would otherwise
 * wait for the other end, forever (the event loop, or a thread-pool thread). No effect on a
 * regular file's reads, writes or mapping. 0 where the system has no such flag (Windows).
 */
const O_NONBLOCK = fsConstants.O_NONBLOCK ?? 0;
/** Symbolic links followed by `create` (see {@link openSyncCreating}), as Linux's own limit. */
const LINK_HOPS = 40;
/** Errors of an open for writing that an open for reading may not have. */
const DENIED = new Set(["EACCES", "EPERM", "EROFS", "ETXTBSY"]);
const WIN = process.platform === "win32";
const ELOOP = osConstants.errno.ELOOP;

/** URL.prototype's own `href` getter: it throws for an object that is not a URL (runs no user code). */
const urlHref = Object.getOwnPropertyDescriptor(URL.prototype, "href")?.get;

/** Whether `value` (which inherits from URL.prototype) is a URL, asked of the built-in getter. */
function isURL(value: URL): boolean {
  if (urlHref === undefined) return true;
  try {
    urlHref.call(value);
    return true;
  } catch {
    return false;
  }
}

/** The path, read once (see {@link OpenPlan.path}). */
function pathOf(path: unknown): string | Buffer {
  if (typeof path === "string") return path;
  // Any Uint8Array, of this realm or another (a Buffer that crossed to a worker or through
  // structuredClone arrives as a plain Uint8Array), as Node's fs takes one; told by the built-in
  // tag getter, not instanceof (nor Buffer.isBuffer, which is one): a Proxy's trap never runs.
  if (isUint8Array(path)) {
    // Refuses a detached buffer. A copy of its bytes, made without its own properties (Buffer.from
    // would call an own valueOf and believe an own length).
    const bytes = toBytes(path, "path");
    return Buffer.from(bytesAt(bytes, 0, byteLength(bytes)));
  }
  // ERR_INVALID_URL_SCHEME, … as Node's fs; an object that only inherits from URL.prototype (no
  // URL's internal state: the built-in getter throws for it) is no URL, as for any other object.
  if (inherits(path, URL) && isURL(path)) return fileURLToPath(path);
  // A descriptor or a FileHandle is the constructor's: the message says so.
  const descriptor = typeof path === "number" || describe(path) === "an instance of FileHandle";
  throw invalidArgType("path", `of type string or an instance of Buffer or URL${descriptor ? " (new MMap(fd, 0) maps a descriptor or a FileHandle)" : ""}`, path);
}

/** The options `MMap.open` and `openAsync` read: the constructor's, and their own. */
const OPEN_KEYS: readonly string[] = Object.freeze([...MAP_KEYS, "length", "create", "size"]);

function openPlan(pathArg: unknown, options: unknown): OpenPlan {
  const path = pathOf(pathArg);
  const opts = mapOptions(options, OPEN_KEYS, "MMap.open()");
  const length = optionalInteger(opts.length, "options.length", 0, 0, MAX_SAFE);
  const create = optionalBoolean(opts.create, "options.create", false);
  const size = opts.size === undefined ? undefined : validateInteger(opts.size, "options.size", 0, MAX_SAFE);
  // Read once: what is checked here is what the constructor is given.
  const rest = {
    flags: opts.flags,
    prot: opts.prot,
    access: opts.access,
    offset: opts.offset,
    trackfd: opts.trackfd,
    shareable: opts.shareable,
    tagname: opts.tagname,
  } as MMapOptions;
  // Everything the constructor would refuse whatever the file, refused now, with its errors:
  // types, ranges, access with flags/prot, unknown bits, shareable and tagname with a file.
  planMap(SOME_FD, length, rest);
  const { access, prot } = rest;
  const readOnly =
    access === ACCESS_READ ||
    access === ACCESS_COPY ||
    ((access === undefined || access === ACCESS_DEFAULT) && typeof prot === "number" && (prot & PROT_WRITE) === 0);
  const openFlags = readOnly && size === undefined ? fsConstants.O_RDONLY : fsConstants.O_RDWR;
  return { path, openFlags, readOnly, create, length, size, rest };
}

function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** openSync, once more after reclaiming neglected maps if the process is out of descriptors. */
function openReclaiming(path: PathLike, flags: number): number {
  try {
    return openSync(path, flags, 0o666);
  } catch (err) {
    const code = codeOf(err);
    if (code !== "EMFILE" && code !== "ENFILE") throw err;
    reclaimNeglected();
    return openSync(path, flags, 0o666);
  }
}

/**
 * Opens without waiting ({@link O_NONBLOCK}); once more, waiting, for the only wait a regular
 * file has (EAGAIN: Linux's lease of another process, broken meanwhile).
 */
function openOnce(path: PathLike, flags: number): number {
  try {
    return openReclaiming(path, flags | O_NONBLOCK);
  } catch (err) {
    if (O_NONBLOCK === 0 || (codeOf(err) !== "EAGAIN" && codeOf(err) !== "EWOULDBLOCK")) throw err;
  }
  return openReclaiming(path, flags);
}

/**
 * `path` made absolute against the working directory now, without resolving `..` or links
 * (POSIX resolves `..` after a linked directory physically). Windows resolves `..` by name, and
 * has drive-relative paths (`C:x`): there path.resolve is what the system does.
 */
function absolute(path: string | Buffer): string | Buffer {
  if (WIN) return resolve(path.toString());
  if (typeof path === "string") return isAbsolute(path) ? path : process.cwd() + sep + path;
  return path[0] === 0x2f ? path : Buffer.concat([Buffer.from(process.cwd() + "/"), path]);
}

/** Where the symbolic link `link` points (`target`, as readlink gave it), as a path from here. */
function besideLink(link: string | Buffer, target: string | Buffer): string | Buffer {
  if (typeof link === "string" || WIN) {
    const t = target.toString();
    // Joined, not normalized: `..` after a linked directory is the kernel's to resolve.
    return isAbsolute(t) ? t : dirname(link.toString()) + sep + t;
  }
  const t = target as Buffer;
  if (t[0] === 0x2f) return t;
  const slash = link.lastIndexOf(0x2f);
  const dir = slash < 0 ? Buffer.from(".") : slash === 0 ? Buffer.from("/") : link.subarray(0, slash);
  return Buffer.concat([dir, Buffer.from("/"), t]);
}

/** Where `path` points when it is a symbolic link, else (not a link, or gone) null. */
function linkTargetSync(path: string | Buffer): string | Buffer | null {
  try {
    return besideLink(path, typeof path === "string" ? readlinkSync(path) : readlinkSync(path, { encoding: "buffer" }));
  } catch {
    return null;
  }
}

/**
 * Opens the file; with `create`, exclusively first, so that this call knows it made the file
 * (and may remove it again). A path that exists is opened as it is, without O_CREAT: a file
 * someone else made is never this call's to remove. A name without a file behind it — a
 * dangling symbolic link (which O_EXCL does not follow), or a file removed between the two
 * opens — is not created through O_CREAT alone, which would not say whether it created
 * anything: the link is followed here (up to {@link LINK_HOPS}) and its target created
 * exclusively, or the path tried again.
 */
function openSyncCreating(plan: OpenPlan, changes: Changes): number {
  const { path, openFlags: flags } = plan;
  if (!plan.create) return openOnce(path, flags);
  let p = path;
  for (let hop = 0; hop <= LINK_HOPS; hop++) {
    const where = absolute(p); // before the open: the directory it resolves `p` against
    try {
      const fd = openOnce(p, flags | fsConstants.O_CREAT | fsConstants.O_EXCL);
      changes.created = where;
      return fd;
    } catch (err) {
      if (codeOf(err) !== "EEXIST") throw err;
    }
    try {
      return openOnce(p, flags);
    } catch (err) {
      if (codeOf(err) !== "ENOENT") throw err;
    }
    p = linkTargetSync(p) ?? p;
  }
  throw systemError(-ELOOP, "open", shown(path));
}

/**
 * The open for reading and writing of a writable map (the default access) was refused, where an
 * open for reading succeeds (`readable`): the error's message gains what to do, as the mmap
 * errors' hints do. (`fs.openSync(path, "r+")` says only "EACCES: permission denied, open"; the
 * user asked for no write access by name.) Node's error object is kept: code, errno, syscall, path.
 */
function writeRefused(err: unknown, plan: OpenPlan, readable: boolean): unknown {
  if (plan.readOnly || !readable || !DENIED.has(codeOf(err) as string)) return err;
  const e = err as Error;
  const stack = typeof e.stack === "string" && e.stack.startsWith(`${e.name}: ${e.message}`) ? e.stack.slice(e.name.length + e.message.length + 2) : undefined;
  const access = plan.rest.access === undefined || plan.rest.access === ACCESS_DEFAULT ? "(ACCESS_DEFAULT, the default) shares writes with the file" : "asks for writes";
  e.message += ` (MMap.open opens the file for reading and writing, as the map's access ${access}: map it read-only with { access: ACCESS_READ }, or copy-on-write with { access: ACCESS_COPY })`;
  if (stack !== undefined) e.stack = `${e.name}: ${e.message}${stack}`;
  return e;
}

/** Whether `path` opens for reading (for {@link writeRefused}'s hint only). */
function readableSync(path: PathLike): boolean {
  try {
    closeSync(openOnce(path, fsConstants.O_RDONLY));
    return true;
  } catch {
    return false;
  }
}

/**
 * {@link openSyncCreating}; when that was refused for writing a read-only map asked to `size`,
 * the file opened read-only instead if it already has `size` bytes (nothing to write: a
 * read-only file, or one on a read-only file system, maps as without `size`).
 */
function openSyncForMap(plan: OpenPlan, changes: Changes): number {
  try {
    return openSyncCreating(plan, changes);
  } catch (err) {
    if (!plan.readOnly && DENIED.has(codeOf(err) as string)) throw writeRefused(err, plan, readableSync(plan.path));
    if (!plan.readOnly || plan.size === undefined || !DENIED.has(codeOf(err) as string)) throw err;
    let fd: number;
    try {
      fd = openOnce(plan.path, fsConstants.O_RDONLY);
    } catch {
      throw err;
    }
    let long = false;
    try {
      long = fstatSync(fd).size >= plan.size;
    } catch {
      // as too short
    }
    if (long) return fd;
    closeSync(fd);
    throw err;
  }
}

/** The path as errors show it, as Node's fs errors do. */
function shown(path: string | Buffer): string {
  return path.toString();
}

/** Whether the map takes the descriptor opened here (else it is closed here once mapped). */
function adopts(plan: OpenPlan): boolean {
  return plan.rest.trackfd !== false && !platform.runtimeOwnsFds;
}

/**
 * What to put back after a failed map, from the file as the descriptor sees it now (`now`) and
 * as the path names it (`named`, only when this call created it): "unlink", a size to truncate
 * to, or nothing.
 *
 * Another process may use the file meanwhile; so only what is still exactly as this call left
 * it is undone: a file it created is removed only while the path still names that file (same
 * device and inode) and it still has the size this call gave it; a file it grew is cut back
 * only while it still has the size it was grown to (a process that grew it further, or made it
 * shorter, is left alone). Between the change and the undo there is one failed map (a few
 * microseconds, or a few event-loop turns for openAsync); a process that wrote into the grown
 * range within that window, without changing the size, loses what it wrote there: that range
 * exists only because of a call that failed.
 */
function undoFor(plan: OpenPlan, changes: Changes, now: Stats, named: Stats | null): "unlink" | number | null {
  // The size this call left the file with: `size` if it grew it, else (created) empty.
  const left = changes.grownFrom >= 0 ? (plan.size as number) : 0;
  if (changes.created !== null) {
    const same = named !== null && named.dev === now.dev && named.ino === now.ino;
    return same && now.size === left ? "unlink" : null;
  }
  return changes.grownFrom >= 0 && now.size === left ? changes.grownFrom : null;
}

/** Puts back what this call changed (see {@link undoFor}); best effort: the map's error is what the caller gets. */
function undo(fd: number, plan: OpenPlan, changes: Changes): void {
  const { created } = changes;
  if (created === null && changes.grownFrom < 0) return;
  try {
    const todo = undoFor(plan, changes, fstatSync(fd), created !== null ? lstatSync(created) : null);
    if (todo === "unlink") unlinkSync(created as string | Buffer);
    else if (todo !== null) ftruncateSync(fd, todo);
  } catch {
    // Nothing more can be done safely; the original error is thrown.
  }
}

/** {@link undo} for openAsync, off the event loop. */
async function undoAsync(fh: FileHandle, plan: OpenPlan, changes: Changes): Promise<void> {
  const { created } = changes;
  if (created === null && changes.grownFrom < 0) return;
  try {
    const todo = undoFor(plan, changes, await fh.stat(), created !== null ? await lstat(created) : null);
    if (todo === "unlink") await unlink(created as string | Buffer);
    else if (todo !== null) await fh.truncate(todo);
  } catch {
    // As undo().
  }
}

/** `MMap.open`. */
export function openMap<T>(path: PathLike | Uint8Array, options: unknown, make: MakeMap<T>): T {
  const plan = openPlan(path, options);
  const changes: Changes = { created: null, grownFrom: -1 };
  const fd = openSyncForMap(plan, changes);
  const adopt = adopts(plan);
  let m: T;
  try {
    if (plan.size !== undefined) {
      const before = fstatSync(fd).size;
      if (before < plan.size) {
        ftruncateSync(fd, plan.size);
        changes.grownFrom = before;
      }
    }
    // The map owns `fd` (no duplicate) unless trackfd is false or the runtime owns descriptors.
    m = make(fd, plan.length, openedFrom({ ...plan.rest }, shown(plan.path), adopt));
  } catch (err) {
    undo(fd, plan, changes);
    closeSync(fd); // a map that failed did not take it
    throw err;
  }
  if (!adopt) closeSync(fd);
  return m;
}

/** {@link openOnce} off the event loop. */
async function openOnceAsync(path: PathLike, flags: number): Promise<FileHandle> {
  try {
    return await openFile(path, flags | O_NONBLOCK, 0o666);
  } catch (err) {
    if (O_NONBLOCK === 0 || (codeOf(err) !== "EAGAIN" && codeOf(err) !== "EWOULDBLOCK")) throw err;
  }
  return openFile(path, flags, 0o666);
}

/** {@link openSyncCreating} off the event loop. */
async function openCreatingAsync(plan: OpenPlan, changes: Changes): Promise<FileHandle> {
  const { path, openFlags: flags } = plan;
  if (!plan.create) return openOnceAsync(path, flags);
  let p = path;
  for (let hop = 0; hop <= LINK_HOPS; hop++) {
    // Opened by its absolute path: the thread pool would resolve a relative one against the
    // working directory of whenever it runs, which the undo could not know.
    const where = absolute(p);
    try {
      const fh = await openOnceAsync(where, flags | fsConstants.O_CREAT | fsConstants.O_EXCL);
      changes.created = where;
      return fh;
    } catch (err) {
      if (codeOf(err) !== "EEXIST") throw err;
    }
    try {
      return await openOnceAsync(p, flags);
    } catch (err) {
      if (codeOf(err) !== "ENOENT") throw err;
    }
    let target: string | Buffer | null = null;
    try {
      target = besideLink(p, typeof p === "string" ? await readlink(p) : await readlink(p, { encoding: "buffer" }));
    } catch {
      // not a link (any more): the path again
    }
    p = target ?? p;
  }
  throw systemError(-ELOOP, "open", shown(path));
}

/** {@link readableSync} off the event loop. */
async function readableAsync(path: PathLike): Promise<boolean> {
  try {
    await (await openOnceAsync(path, fsConstants.O_RDONLY)).close();
    return true;
  } catch {
    return false;
  }
}

/** {@link openSyncForMap} off the event loop. */
async function openForMapAsync(plan: OpenPlan, changes: Changes): Promise<FileHandle> {
  try {
    return await openCreatingAsync(plan, changes);
  } catch (err) {
    if (!plan.readOnly && DENIED.has(codeOf(err) as string)) throw writeRefused(err, plan, await readableAsync(plan.path));
    if (!plan.readOnly || plan.size === undefined || !DENIED.has(codeOf(err) as string)) throw err;
    let fh: FileHandle;
    try {
      fh = await openOnceAsync(plan.path, fsConstants.O_RDONLY);
    } catch {
      throw err;
    }
    let long = false;
    try {
      long = (await fh.stat()).size >= plan.size;
    } catch {
      // as too short
    }
    if (long) return fh;
    await fh.close();
    throw err;
  }
}

/** `MMap.openAsync`: the file is opened, sized and (on failure) put back off the event loop. */
export async function openMapAsync<T>(path: PathLike | Uint8Array, options: unknown, make: MakeMap<T>): Promise<T> {
  const plan = openPlan(path, options);
  const changes: Changes = { created: null, grownFrom: -1 };
  const fh = await openForMapAsync(plan, changes);
  try {
    if (plan.size !== undefined) {
      const before = (await fh.stat()).size;
      if (before < plan.size) {
        await fh.truncate(plan.size);
        changes.grownFrom = before;
      }
    }
    // The map keeps its own duplicate (trackfd, the default) or none; the handle closes here.
    return make(fh.fd, plan.length, openedFrom({ ...plan.rest }, shown(plan.path), false));
  } catch (err) {
    await undoAsync(fh, plan, changes);
    throw err;
  } finally {
    await fh.close();
  }
}
