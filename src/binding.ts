/**
 * Loads the native addon and describes, with types, what it offers.
 * Every function returns a number >= 0 on success and -errno on failure.
 * @internal
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { isMainThread } from "node:worker_threads";
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
  /**
   * Ranges a mapping leaves (close, resize) become placeholders that read zeros until nothing
   * holds them, atomically (POSIX; Windows 10 1803 and later). Without: unmapped and reserved
   * again at once.
   */
  readonly placeholders: boolean;
  /** A tag is an object of its own with a descriptor (POSIX shared memory), not a name of the mapping (Windows). */
  readonly tagObjects: boolean;
  /** The longest tag in bytes the system takes; 0 where the system checks it itself. */
  readonly tagMax: number;
  /** The system call a failed native remap names, and the portable path's. */
  readonly remapSyscall: string;
  readonly portableRemapSyscall: string;
}

export interface Binding {
  /**
   * out = [size, isRegular], and with 4 elements the file's identity as raw words for map(). `out`
   * is a Float64Array or the ArrayBuffer of one (the buffer costs the addon less to read: the hot
   * callers pass it).
   */
  fstat(fd: number, out: Float64Array | ArrayBuffer): number;
  /**
   * A close-on-exec duplicate, or -errno. With `out` (an ArrayBuffer of 5 doubles), the
   * duplicate is also fstat'ed: out[0..3] as fstat() fills them, out[4] that fstat's 0 | -errno.
   */
  dup(fd: number, out?: ArrayBuffer): number;
  close(fd: number): number;
  truncate(fd: number, size: number): number;
  memfd(size: number): number;
  /** `tagname` names the mapping (Windows; where tags are objects, src/tags.ts opens them and maps their descriptor). */
  /** `stat`: the array (or its buffer) fstat() just filled for `ownedFd` (4 elements): its file's identity is taken from it. */
  map(
    fd: number,
    length: number,
    prot: number,
    flags: number,
    offset: number,
    ownedFd: number,
    tagname?: string,
    stat?: Float64Array | ArrayBuffer,
    reuse?: Handle,
  ): Handle | number;
  /**
   * An external ArrayBuffer over [start, start + length) of the map; null where the runtime refuses
   * one. `exposed`: it may reach user code, and its addresses stay reserved until nothing can use
   * them (native/region.h); memmap's own views (false) are only used synchronously by the methods.
   */
  view(handle: Handle, start: number, length: number, exposed: boolean): ArrayBuffer | null | number;
  /** Closes: 0, or 1 while ranges of the map stay reserved for views that may still use them. */
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
  /**
   * Which pages of [start, start + length) are in memory (`start` page-aligned): `out[i]` 1 or 0,
   * one byte per page; 0 or -errno.
   */
  residency(handle: Handle, start: number, length: number, out: Uint8Array): number;
  /**
   * Reads [start, start + length) (`start` page-aligned) into memory on the thread pool: with
   * `populate`, the kernel's one call first (MADV_POPULATE_READ), else a read-ahead hint and a read
   * of every page (a page that faults is contained and recorded: see `loss`). 0 or -errno.
   */
  prefetch(handle: Handle, start: number, length: number, populate: boolean): Promise<number>;
  /** mlock (`lock` true) or munlock of [start, start + length); 0 or -errno. */
  lock(handle: Handle, start: number, length: number, lock: boolean): number;
  /**
   * Opens the shared-memory object of a tag (`tag`: its UTF-8 bytes and a final NUL): `create`
   * makes a new one (-EEXIST when there is one), else an existing one (-ENOENT when there is none),
   * read-only when `readonly`. A close-on-exec descriptor, or -errno; -ENOSYS where tags are not objects.
   */
  tagOpen(tag: Uint8Array, create: boolean, readonly: boolean): number;
  /** Removes a tag's name (shm_unlink); 0 or -errno (-ENOENT: none). */
  tagUnlink(tag: Uint8Array): number;
  /** Windows: the size (whole pages) of the existing section named by the tag, or -errno (-ENOENT: none). */
  tagSize(tag: Uint8Array): number;
  /**
   * flock of a tag's object without waiting: `lock` true takes it (-EWOULDBLOCK while another holds
   * it), false lets it go; 0 or -errno (-ENOSYS on Windows).
   */
  tagLock(fd: number, lock: boolean): number;
  /**
   * Releases the memory and descriptors of this thread's maps found unreachable by the last GC;
   * returns how many still hold some. Then, with `round`, starts a round (every thread reclaims
   * once), and sets the process's next threshold to twice what its threads hold now, at least `base`.
   */
  reclaim(round: boolean, base: number): number;
  /**
   * `held` read through a call: 2 when the maps of every thread reach the threshold (at least
   * `base`) and `floor`, 1 when the round is no longer `epoch`, else 0.
   */
  reclaimDue(epoch: number, base: number, floor: number): number;
  /** `held`'s count and round, into `out` (a Float64Array of 2): 0, or -errno. */
  reclaimState(out: Float64Array): number;
  /**
   * Shared by every thread, read in place: [maps of the process that still hold memory or a
   * descriptor, the reclaim round, the threshold of the next round (0: none yet)]; null where
   * `faults` is.
   */
  readonly held: ArrayBuffer | null;
  /** First (or last) offset of `needle` inside [start, end) of the map; -1 when absent; < -1 is -errno. */
  find(handle: Handle, start: number, end: number, needle: Uint8Array, backward: boolean): number;
  /**
   * The offsets, from `start`, just past each `\n` of [start, end) of the map, in order, into
   * `out` (as many as it holds); returns how many, or -errno. Fewer than `out.length`: no `\n`
   * is left in the range. `end - start` < 2^32.
   */
  lineEnds(handle: Handle, start: number, end: number, out: Uint32Array): number;
  /** memmove of `count` bytes from `src` to `dest` inside the map; 0 or -errno (-EFAULT: the last byte of the two ranges faulted first, nothing moved). */
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
  /**
   * A string of the map's [start, start + length) read as Latin-1, over the mapped memory itself
   * (a Node-API external string, which keeps that memory mapped or reserved while it lives);
   * null where the runtime makes no such string (copy the text instead); < 0 is -errno.
   * `length` is at least 1 and at most the runtime's longest string.
   */
  text(handle: Handle, start: number, length: number): string | null | number;
  /** `text` makes strings over mapped memory here (src/platform.ts is the one reader). */
  readonly externalText: boolean;
  /**
   * Puts memmap's SIGSEGV/SIGBUS handlers back on top if something replaced them; 1 if it did.
   * With the three arguments, then tells containment whether JavaScript listens for SIGBUS
   * (`sigbus` true) or SIGSEGV, and with `record` which handler is Node's, kept installed by
   * memmap's own listener (1: the one memmap went back on top of in this call, if it had to; 2:
   * the one it chains to now): while nobody else listens, a signal passed on to it takes the
   * default action.
   */
  ensureFaultHandler(sigbus?: boolean, listening?: boolean, record?: 0 | 1 | 2): number;
  /**
   * A 4-byte counter of pages lost in any map, read in place; null where the runtime refuses
   * external ArrayBuffers (or `MEMMAP_NO_EXTERNAL_BUFFERS=1` says to behave so): then no view
   * can be made, and memmap copies through `read`/`write`/`getByte`/`setByte` instead.
   */
  readonly faults: ArrayBuffer | null;
  /**
   * Sleeps while the Int32 at byte `index` (inside the map, a multiple of 4) holds `value`, until
   * notified or `timeoutMs` pass (Infinity: never): 0 "ok", 1 "not-equal", 2 "timed-out", or
   * -errno. The sleep is cut into slices, between which `check` (a function that does nothing) is
   * called: the call fails when the thread must stop (a worker being stopped, an isolate asked to
   * terminate what runs: vm's `timeout`, `breakOnSigint`), and the wait returns.
   */
  wait(handle: Handle, index: number, value: number, timeoutMs: number, check: () => void): number;
  /** `wait` on a thread of memmap's own; -EBADF when `waitCancel` (close) ends it. */
  waitAsync(handle: Handle, index: number, value: number, timeoutMs: number): Promise<number>;
  /** Wakes up to `count` (Infinity: all) waiters on the Int32 at `index`, in any process; how many, or -errno. */
  notify(handle: Handle, index: number, count: number): number;
  /** Settles every pending `waitAsync` on the map with -EBADF and wakes their threads; how many. */
  waitCancel(handle: Handle): number;
  /** How many `waitAsync` calls of this thread have not finished (tests). */
  waitPending(): number;
  /**
   * The descriptor the region owns (closed with it), or -1: none, or released; -EBADF when it no
   * longer names the map's file. With `out` (a Float64Array or its ArrayBuffer), a descriptor's
   * file size goes to out[0] (the same fstat).
   */
  fd(handle: Handle, out?: Float64Array | ArrayBuffer): number;
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

/**
 * This module's file (dist/binding.js of the package), or undefined where the module has no file
 * URL of its own: a bundler's CommonJS output leaves `import.meta.url` empty.
 */
const self: string | undefined = (() => {
  try {
    return fileURLToPath(import.meta.url);
  } catch {
    return undefined;
  }
})();
/** The package's directory: where the addon is looked for (inside a bundle, some other directory). */
const root = self === undefined ? "" : join(dirname(self), "..");

/**
 * Whether `root` is memmap's package (a checkout or an install), read only once loading failed:
 * a bundler that took memmap into a bundle leaves this code in some other directory, where no
 * addon can be found and building one (`npx memmap build`) would not help.
 */
function inPackage(): boolean {
  try {
    return root !== "" && (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name?: unknown }).name === "memmap";
  } catch {
    return false;
  }
}

/** The part of node-gyp-build this loader uses (a CommonJS runtime dependency). */
interface GypBuild {
  /** The addon file for this platform: `build/Release`, then `build/Debug`, then `prebuilds/<platform>-<arch>/`. */
  resolve(dir: string): string;
}

/** Deno's permission API, the part the load error asks. */
interface DenoPermissions {
  querySync(descriptor: { name: string; path?: string }): { state: string };
}

/**
 * The one command that builds the addon from source for this system, and where to run it: a
 * checkout has binding.gyp at its root, the npm package does not (npm would take it for an
 * install script; it carries native/memmap.gyp for `npx memmap build`).
 */
function buildCommand(): string {
  return existsSync(join(root, "binding.gyp")) ? "run `npm run build:native` in this checkout" : "run `npx memmap build` in your project";
}

/**
 * The Deno permissions loading needs and this process lacks, each with what it is for; empty
 * outside Deno. Asked only once loading failed, so that Deno's own prompts still work.
 */
function denoPermissionsMissing(file: string | undefined): { flag: string; why: string }[] {
  const permissions = (globalThis as { Deno?: { permissions?: DenoPermissions } }).Deno?.permissions;
  if (permissions === undefined) return [];
  const needs: [string, { name: string; path?: string }, string][] = [
    ["--allow-env", { name: "env" }, "to read its settings (MEMMAP_PREBUILD, LIBC, npm_config_arch …)"],
    // node-gyp-build reads /etc/alpine-release as well as the package: a narrower grant fails
    ["--allow-read", { name: "read" }, `to find its addon (in ${root})`],
    ["--allow-ffi", file === undefined ? { name: "ffi" } : { name: "ffi", path: file }, "to load it"],
  ];
  return needs
    .filter(([, descriptor]) => {
      try {
        return permissions.querySync(descriptor).state !== "granted";
      } catch {
        return false;
      }
    })
    .map(([flag, , why]) => ({ flag, why }));
}

/** `MEMMAP_PREBUILD`, where the environment may be read (Deno without `--allow-env` refuses). */
function prebuildDir(): string {
  try {
    return process.env["MEMMAP_PREBUILD"] || root;
  } catch {
    return root;
  }
}

/**
 * The one error of a failed load: what is missing or broken, then the one thing that fixes it.
 * `file` is the addon found, if one was.
 */
function loadError(file: string | undefined, cause: unknown): Error {
  const target = `${process.platform}-${process.arch}`;
  let message: string;
  const deno = denoPermissionsMissing(file);
  if (deno.length > 0) {
    const flags = deno.map((d) => d.flag).join(" ");
    message =
      `memmap cannot load its native addon: Deno did not grant ${deno.map((d) => `${d.flag}, ${d.why}`).join("; ")}.\n` +
      `To fix it, add ${flags} to the Deno command line (\`deno run ${flags} … main.ts\`).`;
  } else if (!inPackage()) {
    message =
      `memmap cannot find its native addon: its code runs from ${self ?? "a module without a file URL"}, not from its package ` +
      "(a bundler took it into a bundle), and the addon is looked for beside the package's files.\n" +
      "To fix it, keep memmap out of the bundle (esbuild: --external:memmap; webpack: externals; Rollup and Vite: external, " +
      "ssr.external) and install it where the bundle runs, so that it loads from node_modules.";
  } else if ((cause as NodeJS.ErrnoException | undefined)?.code === "ERR_DLOPEN_DISABLED") {
    // The addon is fine: this process (or this worker) refuses every addon. A build would not help.
    message =
      "memmap cannot load its native addon: this process does not allow native addons " +
      "(node --no-addons, also in NODE_OPTIONS or a Worker's execArgv; or the permission model, --permission, without --allow-addons).\n" +
      "To fix it, allow them: drop --no-addons, or add --allow-addons beside --permission.";
  } else if (file === undefined && (cause as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND") {
    message =
      `memmap could not load its native addon: its dependency node-gyp-build is not installed (${root}).\n` +
      "To fix it, reinstall: run `npm install`.";
  } else if (file === undefined) {
    const dir = prebuildDir();
    message =
      `memmap has no native addon for ${target}: no prebuilt binary in ${join(dir, "prebuilds", target)} ` +
      `fits this system, and there is no local build in ${join(dir, "build", "Release")}. ` +
      "Prebuilt binaries ship for linux-x64 (glibc and musl), linux-arm64 (glibc) and win32-x64.\n" +
      `To fix it, build one for this system: ${buildCommand()}; building needs python3, make and a C compiler.`;
  } else {
    message =
      `memmap found its native addon for ${target} at ${file}, but it does not load here: ` +
      `${(cause as Error).message.split("\n")[0]}\n` +
      `To fix it, build one for this system: ${buildCommand()}; building needs python3, make and a C compiler.`;
  }
  const err = stateError("ERR_MMAP_UNSUPPORTED_PLATFORM", message);
  Object.defineProperty(err, "cause", { value: cause, configurable: true, writable: true });
  return err;
}

/**
 * Finds the addon the way node-gyp-build does: a local build (`build/Release`, made by
 * `npm install` in a checkout, or by `npx memmap build` in an installed package) wins over the
 * prebuilt binaries shipped in `prebuilds/<platform>-<arch>/` (tagged glibc or musl), so that a
 * build of edited C sources is never shadowed by an older prebuild. `MEMMAP_PREBUILD=<dir>`
 * makes it look in `<dir>` instead of the package (node-gyp-build's override).
 */
function load(): Binding {
  let file: string | undefined;
  try {
    if (self === undefined) throw new Error(`memmap's module has no file URL (import.meta.url is ${String(import.meta.url)})`);
    const require = createRequire(self);
    file = (require("node-gyp-build") as GypBuild).resolve(root);
    return require(file) as Binding;
  } catch (err) {
    throw loadError(file, err);
  }
}

/**
 * The addon, loaded once, as a frozen copy: Node-API builds the exports one property at a time,
 * which leaves V8 a dictionary-mode object, so that every `native.f(...)` in optimized code would
 * look its function up through the load IC. The copy is in fast mode and its functions are
 * constants to the compiler (callgrind: a call of `native.busy()` 451 → 368 instructions).
 */
export const native: Binding = Object.freeze({ ...load() });

// Node installs libuv's handler for SIGBUS or SIGSEGV, over memmap's, when a listener for that
// signal is added; a fault in a truncated page would then repeat forever. Node's own listeners
// for these events were registered at bootstrap, so these run after them and put memmap's
// handler back on top, chaining to libuv's for every fault that is not memmap's.
// When the last listener goes, Node puts back the default action: a fault on another thread (a
// worker's, the thread pool's) in a memmap map before memmap's handler is back on top killed the
// process. So once a listener for the signal was added, memmap keeps one of its own, which it
// never lets go (`keepSignal`, put back before Node looks, should someone remove it): Node's
// handler stays installed under memmap's, and while no other listener is left, the addon passes
// a signal that is not memmap's to the default action instead of to it, as with no listener.
// docs/safety.md, "Signal listeners".
type Signal = "SIGBUS" | "SIGSEGV";
const isFaultSignal = (event: string | symbol): event is Signal => event === "SIGBUS" || event === "SIGSEGV";
/**
 * Whether a listener here makes Node install its handler: on Node's main thread (a worker's
 * listeners are never called for a signal, and Node installs nothing for them; Bun and Deno
 * handle signals their own way).
 */
const versions = process.versions as { bun?: string; deno?: string };
const nodeSignals = isMainThread && versions.bun === undefined && versions.deno === undefined;
const kept = new Set<Signal>();
/** memmap's own listener for SIGBUS or SIGSEGV, once JavaScript listened for the signal. */
function keepSignal(): void {}
/** Listeners for `sig` other than memmap's own. */
const others = (sig: Signal): number => process.listenerCount(sig) - (kept.has(sig) ? 1 : 0);
const keepFaultHandler = (event: string | symbol, listener: unknown): void => {
  if (!isFaultSignal(event)) return;
  if (!nodeSignals || listener === keepSignal) {
    native.ensureFaultHandler();
    return;
  }
  // Node has just installed its handler, if this is the signal's first listener: the addon takes
  // it for Node's only if it did replace memmap's (record 1).
  const first = !kept.has(event);
  native.ensureFaultHandler(event === "SIGBUS", true, first ? 1 : 0);
  if (first) {
    kept.add(event);
    process.on(event, keepSignal);
  }
};
const onRemoveListener = (event: string | symbol): void => {
  if (!isFaultSignal(event)) return;
  if (nodeSignals) native.ensureFaultHandler(event === "SIGBUS", others(event) > 0, 0);
  else native.ensureFaultHandler();
};
// Runs before Node's own listener, which would see no listener left and put back the default.
const keepKept = (event: string | symbol, listener: unknown): void => {
  if (isFaultSignal(event) && listener === keepSignal && kept.has(event)) process.on(event, keepSignal);
};
// A listener added before memmap was loaded: Node's handler is the one memmap chained to when it
// installed its own at load (record 2).
for (const sig of ["SIGBUS", "SIGSEGV"] as const) {
  if (!nodeSignals || process.listenerCount(sig) === 0) continue;
  native.ensureFaultHandler(sig === "SIGBUS", true, 2);
  kept.add(sig);
  process.on(sig, keepSignal);
}
process.on("newListener", keepFaultHandler);
(process as NodeJS.EventEmitter).prependListener("removeListener", keepKept);
process.on("removeListener", onRemoveListener);
