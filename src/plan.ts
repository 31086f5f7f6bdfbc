/**
 * The constructor's arguments turned into a frozen map plan: every check CPython makes before
 * it maps, in CPython's order, and the derivation of `access` from `flags`/`prot` (or of
 * `flags`/`prot` from `access`). Pure apart from reading {@link platform}: nothing is opened,
 * mapped or published here.
 * Internal: not exported from the package.
 * @module
 */
import type { FileHandle } from "node:fs/promises";
import {
  ACCESS_COPY,
  ACCESS_DEFAULT,
  ACCESS_READ,
  ACCESS_WRITE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  constants,
  type Access,
} from "./constants.js";
import { inherits, invalidArgType, invalidArgValue, isProxy, rangeError, stateError } from "./errors.js";
import { platform } from "./platform.js";
import { tagOf } from "./tags.js";
import { isUint8Array, optionalBoolean, optionalInteger, validateInteger, validateOptions } from "./validate.js";

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
   * Python's `tagname` (Windows), on every system: named shared memory. Maps with the same tag share
   * their memory, in this process or another; a new tag creates `length` bytes of zeros, length 0
   * maps an existing one whole, and a length beyond an existing one's size is `RangeError`. Linux
   * and macOS: POSIX shared memory named `"/" + tagname` (`shm_open`), for `fd` -1 only; its name
   * stays until `MMap.unlinkTag(tagname)`. Windows: the paging file with `fd` -1 (or the file's
   * mapping), named until its last map closes. An empty string means no name. See
   * docs/named-memory.md.
   */
  tagname?: string | undefined;
}

/** A map to make: the constructor's arguments, checked and resolved (the length may still be 0: the whole file). */
export interface MapPlan {
  /** The descriptor to map, or -1 for anonymous memory. */
  readonly fd: number;
  /** Bytes to map; 0 means the whole file from `offset` (resolved when the file is examined). */
  readonly length: number;
  readonly offset: number;
  /** The `MAP_*` flags to map with (`access` applied; `MAP_ANONYMOUS` is added when mapping). */
  readonly flags: number;
  /** The `PROT_*` bits the user asked for (`access` applied); the memory is always mapped readable too. */
  readonly prot: number;
  readonly access: Access;
  readonly trackfd: boolean;
  readonly shareable: boolean;
  readonly tagname: string | undefined;
  /** The map takes ownership of `fd` instead of duplicating it (`MMap.open` hands over the descriptor it opened). */
  readonly adopt: boolean;
  /** The path `fd` was opened from (`MMap.open`), for errors; undefined for a descriptor the user gave. */
  readonly path: string | undefined;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * The `MAP_*` bits memmap passes to mmap: the constants it exports, which only choose sharing,
 * placement hints and reservation. Anything else (MAP_FIXED maps over the process's own memory,
 * MAP_GROWSDOWN, MAP_HUGETLB, ...) is refused before any system call.
 */
const KNOWN_FLAGS = Object.entries(constants).reduce((bits, [name, v]) => (name.startsWith("MAP_") ? bits | v : bits), 0);
const KNOWN_PROT = PROT_READ | PROT_WRITE | PROT_EXEC;

/** Refuses bits of `value` outside `known`, naming them. */
function onlyKnownBits(value: number, known: number, name: string, kind: string): void {
  const unknown = value & ~known;
  if (unknown !== 0) {
    throw invalidArgValue(
      name,
      value,
      `has bits memmap does not pass to the system (0x${(unknown >>> 0).toString(16)}): only the ${kind} constants memmap exports are accepted`,
    );
  }
}

/**
 * What `MMap.open` tells the constructor about the descriptor it hands over, keyed by an options
 * object it made itself and hands straight to the constructor (user code never reaches one):
 * the path it opened (errors name it rather than the descriptor), and whether the map adopts the
 * descriptor instead of duplicating it.
 */
const opened = new WeakMap<object, { path: string; adopt: boolean }>();

/** Marks `options` (an object of the caller's own making) as `MMap.open`'s for `path`; `adopt`: the map owns the descriptor. */
export function openedFrom(options: MMapOptions, path: string, adopt: boolean): MMapOptions {
  opened.set(options, { path, adopt });
  return options;
}

/** A descriptor number, from a number or a `FileHandle`, validated as a number is. */
function descriptorOf(fd: unknown): number {
  if (typeof fd === "number") return validateInteger(fd, "fd", INT32_MIN, INT32_MAX);
  // A FileHandle is read as one (its fd, its close); a Proxy is not one: no trap runs.
  // Its fd read once: a getter runs once, and the number checked is the number used.
  const n = typeof fd === "object" && fd !== null && !isProxy(fd) ? (fd as FileHandle).fd : undefined;
  if (typeof n === "number" && "close" in (fd as object)) {
    if (n === -1) throw invalidArgValue("fd", "FileHandle", "is a closed FileHandle");
    // Checked as a plain number is: NaN, fractions and values past 32 bits never reach the system.
    return validateInteger(n, "fd", 0, INT32_MAX);
  }
  // A path (or URL) is MMap.open's: the message says so.
  const pathLike = typeof fd === "string" || inherits(fd, URL) || isUint8Array(fd);
  throw invalidArgType("fd", `of type number or an instance of FileHandle${pathLike ? " (MMap.open(path) maps a file by its path)" : ""}`, fd);
}

/** The options the constructor reads (Python's keyword arguments, and SPEC §8's). */
export const MAP_KEYS: readonly string[] = Object.freeze(["flags", "prot", "access", "offset", "trackfd", "shareable", "tagname"]);

/**
 * The options object of the constructor (`keys`: MAP_KEYS) and of `MMap.open` (its own list). A
 * number or a string in its place is a habit from elsewhere (Python's positional
 * `flags`/`prot`/`access`, or `tagname` on Windows; a flag of `fs` such as `"r"`): the error names
 * the object to pass instead.
 *
 * An own property that is not an option is refused, as CPython refuses a keyword argument it does
 * not know (`TypeError: 'acess' is an invalid keyword argument for mmap()`): Node's APIs ignore
 * unknown keys, but here a misspelt `access` or `flags` would silently give the default, a map
 * that writes through to the file, where the caller asked for a read-only or a private one.
 * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for anything but an object or `undefined`;
 *   `ERR_INVALID_ARG_VALUE` for a property that is not an option.
 */
export function mapOptions(value: unknown, keys: readonly string[] = MAP_KEYS, call = "new MMap()"): Record<string, unknown> {
  if (typeof value === "number" || typeof value === "string") {
    throw invalidArgType("options", "of type object, such as { access: ACCESS_READ } (flags, prot, access, offset and tagname are its properties)", value);
  }
  const opts = validateOptions(value, "options");
  if (value === undefined) return opts;
  for (const key of Object.keys(opts)) {
    if (!keys.includes(key)) {
      throw invalidArgValue("options", opts, `has a property '${key}' that is not an option of ${call}, which takes ${keys.join(", ")}`, TypeError);
    }
  }
  // Each option read once, here: a getter or a Proxy's trap runs once, and what a caller checks
  // is what it uses, however often it reads the snapshot.
  const snapshot: Record<string, unknown> = {};
  for (const key of keys) snapshot[key] = opts[key];
  return snapshot;
}

/** `access` applied to `flags`/`prot`, or `access` derived from `prot` as CPython does. */
function resolveAccess(accessArg: number, flags: number, prot: number): [Access, number, number] {
  switch (accessArg) {
    case ACCESS_READ:
      return [ACCESS_READ, MAP_SHARED, PROT_READ];
    case ACCESS_WRITE:
      return [ACCESS_WRITE, MAP_SHARED, PROT_READ | PROT_WRITE];
    case ACCESS_COPY:
      return [ACCESS_COPY, MAP_PRIVATE, PROT_READ | PROT_WRITE];
    case ACCESS_DEFAULT:
      // Read+write stays DEFAULT, write alone is WRITE, anything else READ.
      if (prot & PROT_READ && prot & PROT_WRITE) return [ACCESS_DEFAULT, flags, prot];
      return [prot & PROT_WRITE ? ACCESS_WRITE : ACCESS_READ, flags, prot];
    default:
      throw invalidArgValue("options.access", accessArg, "must be one of ACCESS_DEFAULT, ACCESS_READ, ACCESS_WRITE, ACCESS_COPY");
  }
}

/**
 * The plan of `new MMap(fd, length, options)`: validation, then CPython's checks in CPython's order.
 * @throws {TypeError} `ERR_INVALID_ARG_TYPE` for a wrong type; `ERR_MMAP_UNSUPPORTED_PLATFORM` for `tagname` where there is none.
 * @throws {RangeError} `ERR_INVALID_ARG_VALUE` for a tag the system cannot take, or (where tags are
 *   objects) a tag with a file descriptor or with `shareable`.
 * @throws {RangeError} `ERR_OUT_OF_RANGE` / `ERR_INVALID_ARG_VALUE` for bad values.
 * @throws {Error} `ERR_MMAP_UNSUPPORTED_PLATFORM` for `shareable` where there is none.
 */
export function planMap(fd: unknown, length: unknown, options: unknown): MapPlan {
  const fileno = descriptorOf(fd);
  // Omitted (new MMap(fd)): Python requires it too; say what to pass.
  if (length === undefined) throw invalidArgType("length", `of type number (${fileno === -1 ? "the size of the memory, in bytes" : "0 maps the whole file"})`, length);
  const len = validateInteger(length, "length", -MAX_SAFE, MAX_SAFE);
  const opts = mapOptions(options);
  const flagsArg = optionalInteger(opts.flags, "options.flags", MAP_SHARED, INT32_MIN, INT32_MAX);
  const protArg = optionalInteger(opts.prot, "options.prot", PROT_READ | PROT_WRITE, INT32_MIN, INT32_MAX);
  const accessValue = opts.access;
  // A name ("read", "r+": fs's habit) gets the names of the constants to use instead.
  if (typeof accessValue === "string") throw invalidArgType("options.access", "of type number: ACCESS_DEFAULT, ACCESS_READ, ACCESS_WRITE or ACCESS_COPY, exported by memmap", accessValue);
  const accessArg = optionalInteger(accessValue, "options.access", ACCESS_DEFAULT, INT32_MIN, INT32_MAX);
  const offset = optionalInteger(opts.offset, "options.offset", 0, -MAX_SAFE, MAX_SAFE);
  const trackfd = optionalBoolean(opts.trackfd, "options.trackfd", true);
  const shareable = optionalBoolean(opts.shareable, "options.shareable", false);
  const tagname = opts.tagname === undefined ? undefined : tagOf(opts.tagname, "options.tagname");

  if (len < 0) throw rangeError(`The value of "length" is out of range. It must be >= 0. Received ${len}`);
  if (offset < 0) throw rangeError(`The value of "options.offset" is out of range. It must be >= 0. Received ${offset}`);
  if (accessArg !== ACCESS_DEFAULT && (flagsArg !== MAP_SHARED || protArg !== (PROT_READ | PROT_WRITE))) {
    throw invalidArgValue("options.access", accessArg, "cannot be given together with options.flags or options.prot");
  }
  const [access, flags, prot] = resolveAccess(accessArg, flagsArg, protArg);
  onlyKnownBits(flags, KNOWN_FLAGS, "options.flags", "MAP_*");
  onlyKnownBits(prot, KNOWN_PROT, "options.prot", "PROT_*");
  if (shareable && fileno !== -1) throw invalidArgValue("options.shareable", true, "is only for anonymous maps (fd -1)");
  if (shareable && !platform.shareable) {
    throw stateError("ERR_MMAP_UNSUPPORTED_PLATFORM", "options.shareable is not supported on Windows: share anonymous memory with options.tagname");
  }
  if (tagname !== undefined && platform.tagObjects) {
    if (shareable) throw invalidArgValue("options.shareable", true, "cannot be given with options.tagname (a tag map is shared by its name)");
    if (fileno !== -1) throw invalidArgValue("options.tagname", tagname, "names shared memory: it needs fd -1 on this system");
  }
  const from = typeof options === "object" && options !== null ? opened.get(options) : undefined;
  // Read-only by its type, not frozen: the plan never leaves memmap (the memmap:new event is an
  // object of its own), and Object.freeze is a runtime call V8 does not inline, ~370 of a map +
  // close's ~6,000 user-space instructions (callgrind).
  return {
    fd: fileno,
    length: len,
    offset,
    flags,
    prot,
    access,
    trackfd,
    shareable,
    tagname,
    adopt: from?.adopt ?? false,
    path: from?.path,
  };
}
