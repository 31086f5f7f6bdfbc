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

export interface Binding {
  fstat(fd: number, out: Float64Array): number;
  dup(fd: number): number;
  close(fd: number): number;
  truncate(fd: number, size: number): number;
  memfd(size: number): number;
  map(fd: number, length: number, prot: number, flags: number, offset: number, ownedFd: number): Handle | number;
  view(handle: Handle, start: number, length: number): ArrayBuffer | null | number;
  unmap(handle: Handle): number;
  remap(handle: Handle, length: number, portable: boolean): number;
  sync(handle: Handle, start: number, length: number, flags: number): number;
  syncAsync(handle: Handle, start: number, length: number, flags: number): Promise<number>;
  advise(handle: Handle, start: number, length: number, advice: number): number;
  /** Releases the memory and descriptors of maps found unreachable by the last GC; returns how many still hold some. */
  reclaim(): number;
  /** First (or last) offset of `needle` inside [start, end) of the map; -1 when absent; < -1 is -errno. */
  find(handle: Handle, start: number, end: number, needle: Uint8Array, backward: boolean): number;
  /** Offset of the first page of this map lost to a shrinking file, or -1. */
  lostFrom(handle: Handle): number;
  /** A 4-byte counter of pages lost in any map, or null where external buffers are refused. */
  readonly faults: ArrayBuffer | null;
  readonly constants: Readonly<Record<string, number>>;
  readonly hasMremap: boolean;
  /** The soft limit on open descriptors (RLIMIT_NOFILE) when the addon loaded. */
  readonly fdLimit: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");

function load(): Binding {
  if (process.platform === "win32") {
    throw stateError(
      "ERR_MMAP_UNSUPPORTED_PLATFORM",
      "memmap does not support Windows yet (tagname, CreateFileMapping): see the README for supported platforms",
    );
  }
  const require = createRequire(import.meta.url);
  const candidates = [join(root, "build", "Release", "memmap.node"), join(root, "build", "Debug", "memmap.node")];
  const failures: string[] = [];
  for (const file of candidates) {
    try {
      return require(file) as Binding;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      failures.push(`${file}: ${e.code === "MODULE_NOT_FOUND" ? "not built" : e.message}`);
    }
  }
  throw stateError(
    "ERR_MMAP_UNSUPPORTED_PLATFORM",
    `memmap could not load its native addon for ${process.platform}-${process.arch} (Node-API 8).\n` +
      failures.map((f) => `  - ${f}`).join("\n") +
      "\nTo fix it: run `npm rebuild memmap` (needs python3, make and a C compiler), " +
      "or `npm install` inside a checkout of memmap.",
  );
}

/** The addon, loaded once. */
export const native: Binding = load();
