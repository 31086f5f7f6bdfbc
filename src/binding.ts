/**
 * Loads the native addon and describes, with types, what it offers.
 * Every function returns a number >= 0 on success and -errno on failure.
 * @internal
 * @module
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { stateError } from "./errors.js";

/** An opaque handle on one mapping (a Node-API external). */
export interface Handle {
  readonly __memmapHandle: unique symbol;
}

/** What the native layer reports this system can do. */
export interface Capabilities {
  /** mremap(2) exists: resize can grow or move a mapping in place. */
  readonly mremap: boolean;
  /** `remap` also sets the file's size (Windows: a file cannot change size under a view there). */
  readonly remapSizesFile: boolean;
  readonly madvise: boolean;
  /** Anonymous memory with a descriptor (`shareable`). */
  readonly memfd: boolean;
  /** Named mappings (`tagname`). */
  readonly tagname: boolean;
  /** The system call a failed native remap names, and the portable path's. */
  readonly remapSyscall: string;
  readonly portableRemapSyscall: string;
}

export interface Binding {
  fstat(fd: number, out: Float64Array): number;
  dup(fd: number): number;
  close(fd: number): number;
  truncate(fd: number, size: number): number;
  memfd(size: number): number;
  /** `tagname` names the mapping (Windows only; src/mmap.ts refuses it elsewhere). */
  map(fd: number, length: number, prot: number, flags: number, offset: number, ownedFd: number, tagname?: string): Handle | number;
  view(handle: Handle, start: number, length: number): ArrayBuffer | null | number;
  unmap(handle: Handle): number;
  remap(handle: Handle, length: number, portable: boolean): number;
  /**
   * msync of [start, start + length). With `out`, an I/O error of the map not yet reported is
   * reported after a successful msync (as fsync reports a failed writeback): `out` is filled as
   * by `loss`, the error is taken, and the result is its -errno; `out[1]` is 0 otherwise.
   */
  sync(handle: Handle, start: number, length: number, flags: number, out?: Float64Array): number;
  syncAsync(handle: Handle, start: number, length: number, flags: number, out?: Float64Array): Promise<number>;
  advise(handle: Handle, start: number, length: number, advice: number): number;
  /** Releases the memory and descriptors of maps found unreachable by the last GC; returns how many still hold some. */
  reclaim(): number;
  /** First (or last) offset of `needle` inside [start, end) of the map; -1 when absent; < -1 is -errno. */
  find(handle: Handle, start: number, end: number, needle: Uint8Array, backward: boolean): number;
  /** memmove of `count` bytes from `src` to `dest` inside the map; 0 or -errno. */
  move(handle: Handle, dest: number, src: number, count: number): number;
  /** Copies `dest.length` bytes of the map from `start` into `dest`; 0 or -errno. For runtimes without views. */
  read(handle: Handle, start: number, dest: Uint8Array): number;
  /** Copies `src` into the map at `start`; 0 or -errno (-EACCES on a read-only map). For runtimes without views. */
  write(handle: Handle, start: number, src: Uint8Array): number;
  /** The byte at `index`, or -errno. For runtimes without views. */
  getByte(handle: Handle, index: number): number;
  /** Sets the byte at `index`; 0 or -errno. For runtimes without views. */
  setByte(handle: Handle, index: number, value: number): number;
  /**
   * For runtimes without views: from now on, every call that touches mapped memory copies the
   * counter `faults` would show into `counter[0]` before it returns; 0 or -errno.
   */
  mirrorFaults(counter: Uint32Array): number;
  /**
   * What the map lost, into `out` (4 elements): [lostFrom (-1: none), ioErrno (0: none), ioStart,
   * ioEnd] — the first I/O error (ENOSPC, EIO, ...) not yet reported and the bytes of the map it
   * struck. Puts the file's page back where a fault had set it aside. `take` marks the I/O error
   * reported (it stays when it cannot be repaired: no descriptor). 0 or -errno.
   */
  loss(handle: Handle, out: Float64Array, take: boolean): number;
  /** Puts memmap's SIGSEGV/SIGBUS handlers back on top if something replaced them; 1 if it did. */
  ensureFaultHandler(): number;
  /**
   * A 4-byte counter of pages lost in any map, read in place; null where the runtime refuses
   * external ArrayBuffers (or `MEMMAP_NO_EXTERNAL_BUFFERS=1` says to behave so): then no view
   * can be made, and memmap copies through `read`/`write`/`getByte`/`setByte` instead.
   */
  readonly faults: ArrayBuffer | null;
  /** The descriptor the region owns (closed with it), or -1: none, or released. */
  fd(handle: Handle): number;
  /** How many thread-pool jobs use the region's memory now (close defers the unmap; resize refuses). */
  busy(handle: Handle): number;
  /** 1 while the memory is mapped and not being closed; 0 after unmap or a remap that lost it. */
  live(handle: Handle): number;
  readonly constants: Readonly<Record<string, number>>;
  /** What this system can do; src/platform.ts is the one reader. */
  readonly capabilities: Capabilities;
  /** The soft limit on open descriptors (RLIMIT_NOFILE) when the addon loaded. */
  readonly fdLimit: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");

/** The part of node-gyp-build this loader uses (a CommonJS runtime dependency). */
interface GypBuild {
  /** The addon file for this platform: `build/Release`, then `build/Debug`, then `prebuilds/<platform>-<arch>/`. */
  resolve(dir: string): string;
}

const FIX =
  "To fix it, build the addon from source: `npm rebuild memmap` (it builds when no prebuilt addon loads; " +
  "in a checkout of memmap, `npm run build:native`); building needs python3, make and a C compiler.";

/** The one error of a failed load: what is missing or broken, and how to fix it. */
function loadError(what: string, cause: unknown): Error {
  const err = stateError("ERR_MMAP_UNSUPPORTED_PLATFORM", `${what}\n${FIX}`);
  Object.defineProperty(err, "cause", { value: cause, configurable: true, writable: true });
  return err;
}

/**
 * Finds the addon the way node-gyp-build does: a local build (`build/Release`, made by
 * `npm install` in a checkout or by a build from source) wins over the prebuilt binaries
 * shipped in `prebuilds/<platform>-<arch>/` (tagged glibc or musl), so that a build of edited
 * C sources is never shadowed by an older prebuild. `MEMMAP_PREBUILD=<dir>` makes it look
 * in `<dir>` instead of the package (node-gyp-build's override).
 */
function load(): Binding {
  const require = createRequire(import.meta.url);
  const target = `${process.platform}-${process.arch}`;
  const dir = process.env["MEMMAP_PREBUILD"] || root;
  let file: string;
  try {
    file = (require("node-gyp-build") as GypBuild).resolve(root);
  } catch (err) {
    const missingLoader = (err as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND";
    throw loadError(
      missingLoader
        ? `memmap could not load its native addon: its dependency node-gyp-build is not installed (${root}).`
        : `memmap has no native addon for ${target}: no prebuilt binary in ${join(dir, "prebuilds", target)} ` +
            `fits this system, and there is no local build in ${join(dir, "build", "Release")}. ` +
            "Prebuilt binaries ship for linux-x64 (glibc and musl), linux-arm64 (glibc) and win32-x64.",
      err,
    );
  }
  try {
    return require(file) as Binding;
  } catch (err) {
    throw loadError(
      `memmap found its native addon for ${target} at ${file}, but it does not load here: ` +
        `${(err as Error).message.split("\n")[0]}`,
      err,
    );
  }
}

/** The addon, loaded once. */
export const native: Binding = load();

// Node installs libuv's handler for SIGBUS or SIGSEGV, over memmap's, when a listener for that
// signal is added (and the default action when the last one goes); a fault in a truncated page
// would then repeat forever. Node's own listeners for these events were registered at bootstrap,
// so these run after them and put memmap's handler back on top, chaining to libuv's (or the
// default) for every fault that is not memmap's. docs/safety.md, "Signal listeners".
const keepFaultHandler = (event: string | symbol): void => {
  if (event === "SIGBUS" || event === "SIGSEGV") native.ensureFaultHandler();
};
process.on("newListener", keepFaultHandler);
process.on("removeListener", keepFaultHandler);
