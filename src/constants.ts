/**
 * The constants of Python's `mmap` module, with the values of this platform.
 * Names the platform does not define are `undefined` (e.g. `MAP_32BIT` off x86-64).
 * @module
 */
import { native } from "./binding.js";

const c = native.constants;

/** Access modes, fixed 0..3 as in Python. */
export const ACCESS_DEFAULT = 0;
/** Read-only access: writes throw `ERR_MMAP_READ_ONLY`. */
export const ACCESS_READ = 1;
/** Write-through access: writes reach the file. */
export const ACCESS_WRITE = 2;
/** Copy-on-write access: writes stay in memory, the file is unchanged. */
export const ACCESS_COPY = 3;

/** One of the four access modes. */
export type Access = typeof ACCESS_DEFAULT | typeof ACCESS_READ | typeof ACCESS_WRITE | typeof ACCESS_COPY;

/** The size of a page. */
export const PAGESIZE: number = c.PAGESIZE as number;
/** The granularity a file offset must respect (the page size on POSIX systems). */
export const ALLOCATIONGRANULARITY: number = c.ALLOCATIONGRANULARITY as number;

export const PROT_READ: number = c.PROT_READ as number;
export const PROT_WRITE: number = c.PROT_WRITE as number;
export const PROT_EXEC: number = c.PROT_EXEC as number;

export const MAP_SHARED: number = c.MAP_SHARED as number;
export const MAP_PRIVATE: number = c.MAP_PRIVATE as number;
export const MAP_ANONYMOUS: number = c.MAP_ANONYMOUS as number;
export const MAP_ANON: number | undefined = c.MAP_ANON;
export const MAP_DENYWRITE: number | undefined = c.MAP_DENYWRITE;
export const MAP_EXECUTABLE: number | undefined = c.MAP_EXECUTABLE;
export const MAP_POPULATE: number | undefined = c.MAP_POPULATE;
export const MAP_STACK: number | undefined = c.MAP_STACK;
export const MAP_32BIT: number | undefined = c.MAP_32BIT;
export const MAP_NORESERVE: number | undefined = c.MAP_NORESERVE;

export const MADV_NORMAL: number | undefined = c.MADV_NORMAL;
export const MADV_RANDOM: number | undefined = c.MADV_RANDOM;
export const MADV_SEQUENTIAL: number | undefined = c.MADV_SEQUENTIAL;
export const MADV_WILLNEED: number | undefined = c.MADV_WILLNEED;
export const MADV_DONTNEED: number | undefined = c.MADV_DONTNEED;
export const MADV_FREE: number | undefined = c.MADV_FREE;
export const MADV_REMOVE: number | undefined = c.MADV_REMOVE;
export const MADV_DONTFORK: number | undefined = c.MADV_DONTFORK;
export const MADV_DOFORK: number | undefined = c.MADV_DOFORK;
export const MADV_HWPOISON: number | undefined = c.MADV_HWPOISON;
export const MADV_MERGEABLE: number | undefined = c.MADV_MERGEABLE;
export const MADV_UNMERGEABLE: number | undefined = c.MADV_UNMERGEABLE;
export const MADV_HUGEPAGE: number | undefined = c.MADV_HUGEPAGE;
export const MADV_NOHUGEPAGE: number | undefined = c.MADV_NOHUGEPAGE;
export const MADV_DONTDUMP: number | undefined = c.MADV_DONTDUMP;
export const MADV_DODUMP: number | undefined = c.MADV_DODUMP;

/** `flush()` flags (`{ flags }`), as CPython 3.15 exposes them. */
export const MS_SYNC: number = c.MS_SYNC as number;
export const MS_ASYNC: number = c.MS_ASYNC as number;
export const MS_INVALIDATE: number = c.MS_INVALIDATE as number;

/**
 * Every constant of this platform by name: the `ACCESS_*` modes, `PAGESIZE`,
 * `ALLOCATIONGRANULARITY`, and each `MAP_*`, `PROT_*`, `MADV_*`, `MS_*` the platform defines.
 */
export const constants: Readonly<Record<string, number>> = Object.freeze({
  ACCESS_DEFAULT,
  ACCESS_READ,
  ACCESS_WRITE,
  ACCESS_COPY,
  ...c,
});
