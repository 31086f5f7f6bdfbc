// The workloads of issue #4, with their sizes (full and --quick), the implementations that
// run them and the targets they are judged by. bench/run.mjs runs them; the code of each
// workload is in bench/node-impl.mjs (memmap, fs), bench/py_impl.py (CPython) and
// bench/baseline.c (C on raw mapped memory).

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** 1073741824 -> "1 GiB". */
export function sz(bytes) {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} B`;
}
/** 1000000 -> "1,000,000". */
const n = (x) => x.toLocaleString("en-US");

/** Sizes of one run. */
export const SIZES = {
  full: {
    big: 1 * GiB, // find / rfind / cold reads
    text: 256 * MiB, // readline, seek+read, slice, search (the first 256 MiB of the big file)
    small: 10 * MiB, // get, readByte, writeByte
    seekCount: 1_000_000,
    getCount: 10_000_000,
    write: 1 * GiB,
    mapCount: 100_000,
    resizeTarget: 1 * GiB,
    resizeSeqs: 100,
    move: 256 * MiB,
    moveCount: 4,
    coldCount: 2_000,
    reps: 5,
  },
  quick: {
    big: 64 * MiB,
    text: 16 * MiB,
    small: 1 * MiB,
    seekCount: 100_000,
    getCount: 1_000_000,
    write: 64 * MiB,
    mapCount: 10_000,
    resizeTarget: 64 * MiB,
    resizeSeqs: 20,
    move: 32 * MiB,
    moveCount: 2,
    coldCount: 200,
    reps: 3,
  },
};

export const NEEDLE = "needle42"; // absent: the text has no digits
export const BYTE = "#"; // absent: the text has no '#'
export const PATTERN = "ERROR [0-9]+"; // absent: the text has no capitals

const ALL = ["python", "memmap", "fs", "c"];
const NO_FS = ["python", "memmap", "c"];

/**
 * id: the name every implementation knows the workload by.
 * ops(S): operations per repetition (per-op times divide by it).
 * params(S, F): what every implementation receives (F: the data files).
 * target: { kind: "cpython", min, aim } | { kind: "near", ref: "c" | "fs", tol }.
 * cpythonFrom: borrow the CPython time of another row (reference rows).
 * note: what fs (or C) does where it differs from the operation itself.
 */
export const WORKLOADS = [
  {
    id: "find8",
    group: 1,
    title: (S) => `find: absent 8-byte needle, ${sz(S.big)}`,
    ops: () => 1,
    params: (S, F) => ({ file: F.big, size: S.big, needle: NEEDLE }),
    impls: ALL,
    target: { kind: "cpython", min: 4, aim: 8 },
    note: "fs: readSync 1 MiB chunks + Buffer.indexOf; C: glibc memmem",
  },
  {
    id: "find8filter",
    group: 1,
    title: (S) => `find 8-byte, ${sz(S.big)}: C first/last-byte SIMD filter`,
    ops: () => 1,
    params: (S, F) => ({ file: F.big, size: S.big, needle: NEEDLE }),
    impls: ["c"],
    cpythonFrom: "find8",
    reference: true,
    note: "reference row: an AVX2 first/last-byte filter, the memory-bandwidth aim for find",
  },
  {
    id: "find1",
    group: 1,
    title: (S) => `find: absent single byte, ${sz(S.big)}`,
    ops: () => 1,
    params: (S, F) => ({ file: F.big, size: S.big, needle: BYTE }),
    impls: ALL,
    target: { kind: "near", ref: "c", tol: 0.1 },
    note: "C: glibc memchr",
  },
  {
    id: "rfind8",
    group: 1,
    title: (S) => `rfind: absent 8-byte needle, ${sz(S.big)}`,
    ops: () => 1,
    params: (S, F) => ({ file: F.big, size: S.big, needle: NEEDLE }),
    impls: ALL,
    target: { kind: "cpython", min: 4, aim: 8 },
    note: "fs: backwards 1 MiB chunks + lastIndexOf; C: reverse AVX2 first/last-byte filter (libc has no memrmem)",
  },
  {
    id: "readline",
    group: 2,
    title: (S) => `readline: every ~80-byte line of ${sz(S.text)}`,
    ops: () => null, // the line count, known after the run (check)
    opsFromCheck: true,
    params: (S, F) => ({ file: F.big, size: S.text }),
    impls: ALL,
    target: { kind: "cpython", min: 2, aim: 3 },
    note: "fs: 1 MiB readSync chunks split into subarray lines; C: memchr + memcpy of each line",
  },
  {
    id: "seekread",
    group: 3,
    title: (S) => `${n(S.seekCount)} random seek + read(64)`,
    ops: (S) => S.seekCount,
    params: (S, F) => ({ file: F.big, size: S.text, idx: F.idxSeek, count: S.seekCount }),
    impls: ALL,
    target: { kind: "cpython", min: 3 },
    note: "fs: readSync(fd, buf, 0, 64, pos) (pread); C: memcpy of 64 bytes",
  },
  {
    id: "slice",
    group: 3,
    title: (S) => `${n(S.seekCount)} random slice(p, p+64)`,
    ops: (S) => S.seekCount,
    params: (S, F) => ({ file: F.big, size: S.text, idx: F.idxSeek, count: S.seekCount }),
    impls: ALL,
    target: { kind: "cpython", min: 3 },
    note: "CPython m[p:p+64]; fs: pread of 64 bytes; C: memcpy",
  },
  {
    id: "get",
    group: 4,
    title: (S) => `${n(S.getCount)} random get(i)`,
    ops: (S) => S.getCount,
    params: (S, F) => ({ file: F.big, size: S.small, idx: F.idxGet, count: S.getCount }),
    impls: ALL,
    target: { kind: "cpython", min: 10 },
    // a 1-byte pread costs ~1 µs: one timed run, no warm-up, keeps the suite under 10 minutes
    implReps: { fs: 1 },
    implWarmup: { fs: 0 },
    note: "CPython m[i]; indices uniform over a 10 MiB map; fs: a 1-byte pread each (one run)",
  },
  {
    id: "readbyte",
    group: 4,
    title: (S) => `readByte over ${sz(S.small)}`,
    ops: (S) => S.small,
    params: (S, F) => ({ file: F.big, size: S.small }),
    impls: ALL,
    target: { kind: "cpython", min: 10 },
    note: "fs: 64 KiB readSync chunks and a byte loop",
  },
  {
    id: "writebyte",
    group: 4,
    title: (S) => `writeByte over ${sz(S.small)}`,
    ops: (S) => S.small,
    params: (S, F) => ({ file: F.rw, size: S.small }),
    impls: ALL,
    target: { kind: "cpython", min: 10 },
    note: "fs: a 64 KiB buffer written with writeSync when full",
  },
  {
    id: "write",
    group: 5,
    title: (S) => `write 4 KiB chunks filling ${sz(S.write)}, flush`,
    ops: () => 1,
    params: (S, F) => ({ file: F.write, size: S.write, chunk: 4 * KiB }),
    impls: ALL,
    target: { kind: "near", ref: "c", tol: 0.1 },
    reps: (S) => Math.min(S.reps, 3),
    warmup: 0,
    note: "a fresh sparse file each run; fs: writeSync + fdatasync; C: memcpy + msync(MS_SYNC)",
  },
  {
    id: "mapfile",
    group: 6,
    title: (S) => `map + close a 4 KiB file, ${n(S.mapCount)}×`,
    ops: (S) => S.mapCount,
    params: (S, F) => ({ file: F.small4k, size: 4 * KiB, count: S.mapCount }),
    impls: ALL,
    target: { kind: "cpython", min: 1 },
    note: "fs: readSync of the 4 KiB instead (no map); C: mmap + munmap",
  },
  {
    id: "mapanon",
    group: 6,
    title: (S) => `map + close anonymous 1 MiB, ${n(S.mapCount)}×`,
    ops: (S) => S.mapCount,
    params: (S) => ({ size: 1 * MiB, count: S.mapCount }),
    impls: NO_FS,
    target: { kind: "cpython", min: 1 },
    note: "MAP_SHARED | MAP_ANONYMOUS, as CPython's default; C: mmap + munmap",
  },
  {
    id: "resizefile",
    group: 7,
    title: (S) => `resize 4 KiB → ${sz(S.resizeTarget)} by doubling, file`,
    ops: (S) => S.resizeSeqs,
    params: (S, F) => ({ file: F.resize, target: S.resizeTarget, seqs: S.resizeSeqs }),
    impls: NO_FS,
    target: { kind: "near", ref: "c", tol: 0.1 },
    note: "one op = the whole doubling sequence; C: ftruncate + mremap",
  },
  {
    id: "resizeanon",
    group: 7,
    title: (S) => `resize 4 KiB → ${sz(S.resizeTarget)} by doubling, anonymous`,
    ops: (S) => S.resizeSeqs,
    params: (S) => ({ target: S.resizeTarget, seqs: S.resizeSeqs }),
    impls: NO_FS,
    target: { kind: "near", ref: "c", tol: 0.1 },
    note: "one op = the whole doubling sequence; C: mremap",
  },
  {
    id: "move",
    group: 8,
    title: (S) => `move ${sz(S.move)}`,
    ops: (S) => S.moveCount,
    params: (S) => ({ size: S.move, count: S.moveCount }),
    impls: NO_FS,
    target: { kind: "near", ref: "c", tol: 0.1 },
    note: "between the halves of a private anonymous map; C: memmove",
  },
  {
    id: "search",
    group: 8,
    title: (S) => `regexp search over ${sz(S.text)}`,
    ops: () => 1,
    params: (S, F) => ({ file: F.big, size: S.text, pattern: PATTERN, needle: "ERROR " }),
    impls: ALL,
    target: { kind: "cpython", min: 1 },
    note: `/${PATTERN}/, absent; CPython re.search(rb"…", m); fs: readSync + toString("latin1") + RegExp.exec; C: memmem of the literal prefix (a lower bound)`,
  },
  {
    id: "cold",
    group: 9,
    title: (S) => `${n(S.coldCount)} cold random 4 KiB reads`,
    ops: (S) => S.coldCount,
    params: (S, F) => ({ file: F.big, size: S.big, idx: F.idxCold, count: S.coldCount }),
    impls: ALL,
    target: { kind: "cpython", min: 1 },
    reps: (S) => Math.min(S.reps, 3),
    warmup: 0,
    note: "evicted with posix_fadvise(DONTNEED) before each run; slice(p, p+4096); fs: pread",
  },
  {
    id: "coldrandom",
    group: 9,
    title: (S) => `${n(S.coldCount)} cold random 4 KiB reads, MADV_RANDOM`,
    ops: (S) => S.coldCount,
    params: (S, F) => ({ file: F.big, size: S.big, idx: F.idxCold, count: S.coldCount, advice: 1 }),
    impls: ALL,
    target: { kind: "near", ref: "fs", tol: 0.1 },
    reps: (S) => Math.min(S.reps, 3),
    warmup: 0,
    note: "as above after madvise(MADV_RANDOM) (CPython and C too); fs: pread (the target)",
  },
];
