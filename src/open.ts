/**
 * `MMap.open` and `MMap.openAsync`: open a path, size it, map it, and hand the descriptor to the
 * map (or close it) so that nothing leaks on any path.
 * Internal: not exported from the package.
 * @module
 */
import { closeSync, fstatSync, ftruncateSync, openSync, constants as fsConstants, type PathLike } from "node:fs";
import { open as openFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { ACCESS_COPY, ACCESS_DEFAULT, ACCESS_READ, PROT_WRITE, type Access } from "./constants.js";
import { invalidArgType } from "./errors.js";
import { platform } from "./platform.js";
import { openedFrom, type MMapOptions } from "./plan.js";
import { reclaimNeglected } from "./reclaim.js";
import { optionalBoolean, optionalInteger, toBytes, validateInteger, validateOptions } from "./validate.js";

/** Options of `MMap.open(path, options)`. */
export interface OpenOptions extends Omit<MMapOptions, "shareable"> {
  /** Bytes to map; 0 or omitted maps the whole file from `offset`. */
  length?: number | undefined;
  /** Create the file if it is missing (mode 0o666 before umask). */
  create?: boolean | undefined;
  /** Extend a shorter file with zeros to this many bytes before mapping; never shrinks. */
  size?: number | undefined;
}

/** Makes the map: the class's constructor, handed in (this module does not import the class). */
export type MakeMap<T> = (fd: number, length: number, options: MMapOptions) => T;

interface OpenPlan {
  openFlags: number;
  length: number;
  size: number | undefined;
  rest: MMapOptions;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

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

/** The path as errors show it, as Node's fs errors do. */
function shown(path: PathLike): string {
  return typeof path === "string" ? path : path instanceof URL ? fileURLToPath(path) : path.toString();
}

/** Maps `fd` (opened here); the map owns it unless trackfd is false or the runtime owns it, when it is closed here. */
function mapOpened<T>(fd: number, path: PathLike, plan: OpenPlan, make: MakeMap<T>): T {
  if (plan.rest.trackfd === false || platform.runtimeOwnsFds) {
    const m = make(fd, plan.length, openedFrom({ ...plan.rest }, shown(path), false));
    closeSync(fd);
    return m;
  }
  return make(fd, plan.length, openedFrom({ ...plan.rest }, shown(path), true));
}

/** `MMap.open`. */
export function openMap<T>(path: PathLike, options: unknown, make: MakeMap<T>): T {
  const plan = openPlan(path, options);
  const fd = openReclaiming(path, plan.openFlags);
  try {
    if (plan.size !== undefined && fstatSync(fd).size < plan.size) ftruncateSync(fd, plan.size);
    return mapOpened(fd, path, plan, make);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** `MMap.openAsync`: the file is opened and sized off the event loop. */
export async function openMapAsync<T>(path: PathLike, options: unknown, make: MakeMap<T>): Promise<T> {
  const plan = openPlan(path, options);
  const fh = await openFile(path, plan.openFlags, 0o666);
  try {
    if (plan.size !== undefined && (await fh.stat()).size < plan.size) await fh.truncate(plan.size);
    // The map keeps its own duplicate (trackfd, the default) or none; the handle closes here.
    return make(fh.fd, plan.length, openedFrom({ ...plan.rest }, shown(path), false));
  } finally {
    await fh.close();
  }
}
