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
    big: 1 * GiB, // find / rfind / random reads / cold reads / the long regexp loop
    text: 256 * MiB, // readline, lines(), regular expressions (the first 256 MiB of the big file)
    cache: 4 * MiB, // the cache-resident rows (the first 4 MiB, in the CPU's caches)
    small: 10 * MiB, // get, readByte, writeByte
    seekCount: 300_000,
    getCount: 3_000_000,
    cachePasses: 16, // readline / lines() over the 4 MiB map: 16 passes a run
    findPasses: 64, // find / rfind over the 4 MiB map: 64 searches a run
    write: 1 * GiB,
    mapCount: 20_000,
    resizeTarget: 1 * GiB,
    resizeSeqs: 100,
    move: 256 * MiB,
    moveCount: 4,
    coldCount: 2_000,
    reEarlyCount: 2_000, // early-match searches a run, or as many as fit in budgetMs
    budgetMs: 3_000, // time budget of one run of a loop that could run for hours (then extrapolated)
    reps: 4,
    rounds: 2,
  },
  quick: {
    big: 64 * MiB,
    text: 16 * MiB,
    cache: 4 * MiB,
    small: 1 * MiB,
    seekCount: 100_000,
    getCount: 1_000_000,
    cachePasses: 4,
    findPasses: 16,
    write: 64 * MiB,
    mapCount: 5_000,
    resizeTarget: 64 * MiB,
    resizeSeqs: 20,
    move: 32 * MiB,
    moveCount: 2,
    coldCount: 200,
    reEarlyCount: 200,
    budgetMs: 1_500,
    reps: 4,
    rounds: 2,
  },
};

export const NEEDLE = "needle42"; // absent: the text has no digits
export const BYTE = "#"; // absent: the text has no '#'

/** Issue 12's regular expressions, as JavaScript source (CPython compiles the same bytes). */
export const RE = {
  early: String.raw`[a-z]+ [a-z]+\n`, // matches at the end of the first line
  literal: String.raw`notthere[0-9]+`, // absent: no digits
  cls: String.raw`[0-9]{3}-[0-9]{4}`, // absent
  all: String.raw`\n[a-z]{7} `, // lines starting with a 7-letter word: 1 in 7
  loop: String.raw`\nqz[a-z]* `, // lines starting with "qz": ~20,000 a GiB
};

const ALL = ["python", "memmap", "fs", "c"];
const NO_FS = ["python", "memmap", "c"];
const PY_MM = ["python", "memmap"];

/** Issue 13: the speed of a C AVX2 first/last-byte filter, at 90 % (time within 1/0.9). */
const NEAR_FILTER = { kind: "near", ref: "c", tol: 1 / 0.9 - 1 };

/**
 * id: the name the JavaScript and Python sides know the workload by.
 * c: the C routine that runs it (bench/baseline.c), when C runs it; default the id.
 * ops(S): operations per repetition (per-op times divide by it); an implementation that
 *   stops on a time budget reports how many it did.
 * params(S, F): what every implementation receives (F: the data files).
 * target: one or a list of { kind: "cpython", min, aim } | { kind: "near", ref: "c" | "fs", tol }
 *   | { kind: "linear", of, factor } (every one must be met).
 * cpythonFrom: borrow the CPython time of another row (reference rows, lines()).
 * clock: "wall" for a workload that waits for the disk (else bench/run.mjs --clock decides).
 * warmup: untimed runs in each process before the timed ones (default: 1 for CPython and C, 2
 *   for the Node side, bench/run.mjs warmupFor), or warmup(S): a number of operations turned
 *   into runs, so that the quick sizes warm up as far as the full.
 * settle: Node's side idles after the warm-up, then makes one more untimed run, so that V8's
 *   background compilations end before the timed runs (bench/node-impl.mjs).
 * note: what fs (or C) does where it differs from the operation itself.
 */

/** Untimed runs enough for `ops` operations, `perRun` a run (at least one). */
const runsFor = (ops, perRun) => Math.max(1, Math.ceil(ops / perRun));
export const WORKLOADS = [
  // ---------------------------------------------------------------- 1. find / rfind, 1 GiB
  {
    id: "find8",
    group: 1,
    title: (S) => `find: absent 8-byte needle, ${sz(S.big)}`,
    c: "find-filter",
    ops: () => 1,
    params: (S, F) => ({ file: F.big, size: S.big, needle: NEEDLE }),
    impls: ALL,
    target: [{ kind: "cpython", min: 5 }, NEAR_FILTER],
    note: "C: an AVX2 first/last-byte filter (the floor: issue 13 asks for 90 % of its speed); fs: readSync 1 MiB chunks + Buffer.indexOf",
  },
  {
    id: "find8memmem",
    group: 1,
    title: (S) => `find 8-byte, ${sz(S.big)}: C glibc memmem`,
    c: "find-memmem",
    ops: () => 1,
    params: (S, F) => ({ file: F.big, size: S.big, needle: NEEDLE }),
    impls: ["c"],
    cpythonFrom: "find8",
    reference: true,
    note: "reference row: glibc's memmem (two-way), what a C program calls",
  },
  {
    id: "bandwidth",
    group: 1,
    title: (S) => `memory bandwidth: reading ${sz(S.big)} with AVX2 loads (C)`,
    ops: () => 1,
    bytes: (S) => S.big,
    params: (S, F) => ({ file: F.big, size: S.big, passes: 1 }),
    impls: ["c"],
    cpythonFrom: "find8",
    reference: true,
    note: "reference row, the floor of every scan of the 1 GiB map: no search can read faster",
  },
  {
    id: "find1",
    group: 1,
    title: (S) => `find: absent single byte, ${sz(S.big)}`,
    c: "find-memchr",
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
    c: "rfind-filter",
    ops: () => 1,
    params: (S, F) => ({ file: F.big, size: S.big, needle: NEEDLE }),
    impls: ALL,
    target: [{ kind: "cpython", min: 5 }, NEAR_FILTER],
    note: "C: the same AVX2 filter from the end (libc has no memrmem); fs: backwards 1 MiB chunks + lastIndexOf",
  },
  // ------------------------------------------------------------- 2. lines, 256 MiB
  {
    id: "readline",
    group: 2,
    title: (S) => `readline: every ~80-byte line of ${sz(S.text)}`,
    ops: () => null, // the line count, known after the run (check)
    opsFromCheck: true,
    params: (S, F) => ({ file: F.big, size: S.text, passes: 1 }),
    impls: ALL,
    target: { kind: "cpython", min: 1.25 },
    note: "fs: 1 MiB readSync chunks split into subarray lines; C: memchr + memcpy of each line",
  },
  {
    id: "lines",
    group: 2,
    title: (S) => `lines(): every line of ${sz(S.text)}`,
    ops: () => null,
    opsFromCheck: true,
    params: (S, F) => ({ file: F.big, size: S.text, passes: 1 }),
    impls: ["memmap", "c"],
    cpythonFrom: "readline",
    target: { kind: "cpython", min: 2 },
    note: "m.lines(), zero-copy views (SPEC §8), against CPython's readline per line; C: memchr alone",
  },
  // The same two, once: one timed pass in a fresh process over a fresh map, no untimed run, as a
  // program that reads a file once measures them (V8's warm-up and the map's first touch
  // included; CPython and C pay the first touch too). One pass in each of two processes.
  {
    id: "readlineOnce",
    c: "readline",
    group: 2,
    title: (S) => `readline: one pass of a fresh process, ${sz(S.text)}`,
    ops: () => null,
    opsFromCheck: true,
    params: (S, F) => ({ file: F.big, size: S.text, passes: 1 }),
    impls: NO_FS,
    warmup: 0,
    reps: (S) => S.rounds,
    target: { kind: "cpython", min: 1 },
    note: "no untimed run: the first pass over a new map, in a new process (docs/performance.md, \"One pass in a fresh process\")",
  },
  {
    id: "linesOnce",
    c: "lines",
    group: 2,
    title: (S) => `lines(): one pass of a fresh process, ${sz(S.text)}`,
    ops: () => null,
    opsFromCheck: true,
    params: (S, F) => ({ file: F.big, size: S.text, passes: 1 }),
    impls: ["memmap", "c"],
    cpythonFrom: "readlineOnce",
    warmup: 0,
    reps: (S) => S.rounds,
    target: { kind: "cpython", min: 1 },
    note: "as the row above, against CPython's readline",
  },
  // ---------------------------------------------------------- 3. random reads, 1 GiB
  {
    id: "seekread",
    group: 3,
    title: (S) => `${n(S.seekCount)} random seek + read(64), ${sz(S.big)}`,
    c: "read64",
    ops: (S) => S.seekCount,
    params: (S, F) => ({ file: F.big, size: S.big, idx: F.idxBig, count: S.seekCount }),
    impls: ALL,
    target: { kind: "cpython", min: 1.2 },
    note: "offsets uniform over the map (latency-bound: most reads miss every cache); fs: readSync(fd, buf, 0, 64, pos) (pread); C: memcpy of 64 bytes",
  },
  {
    id: "slice",
    group: 3,
    title: (S) => `${n(S.seekCount)} random slice(p, p+64), ${sz(S.big)}`,
    c: "read64",
    ops: (S) => S.seekCount,
    params: (S, F) => ({ file: F.big, size: S.big, idx: F.idxBig, count: S.seekCount }),
    impls: ALL,
    target: { kind: "cpython", min: 1.2 },
    note: "CPython m[p:p+64]; fs: pread of 64 bytes; C: memcpy",
  },
  {
    id: "latency",
    group: 3,
    title: (S) => `${n(S.seekCount)} dependent random reads, ${sz(S.big)} (C)`,
    ops: (S) => S.seekCount,
    params: (S, F) => ({ file: F.big, size: S.big, idx: F.idxBig, count: S.seekCount }),
    impls: ["c"],
    cpythonFrom: "seekread",
    reference: true,
    note: "reference row: each read's address waits for the byte read before it, the latency of one read from memory (the rows above overlap their misses a little)",
  },
  // 4. the same on a cache-resident map: CACHED below
  // ------------------------------------------------------------------- 5. bytes
  {
    id: "get",
    group: 5,
    title: (S) => `${n(S.getCount)} random get(i)`,
    ops: (S) => S.getCount,
    params: (S, F) => ({ file: F.big, size: S.small, idx: F.idxGet, count: S.getCount }),
    impls: ALL,
    target: { kind: "cpython", min: 10 },
    // a 1-byte pread costs ~1 µs: one timed run, no warm-up, keeps the suite short
    implReps: { fs: 1 },
    implWarmup: { fs: 0 },
    implRounds: { fs: 1 },
    note: "CPython m[i]; indices uniform over a 10 MiB map; fs: a 1-byte pread each (one run)",
  },
  {
    id: "readbyte",
    group: 5,
    title: (S) => `readByte over ${sz(S.small)}`,
    ops: (S) => S.small,
    params: (S, F) => ({ file: F.big, size: S.small }),
    impls: ALL,
    target: { kind: "cpython", min: 10 },
    note: "fs: 64 KiB readSync chunks and a byte loop",
  },
  {
    id: "writebyte",
    group: 5,
    title: (S) => `writeByte over ${sz(S.small)}`,
    ops: (S) => S.small,
    params: (S, F) => ({ file: F.rw, size: S.small }),
    impls: ALL,
    target: { kind: "cpython", min: 10 },
    note: "fs: a 64 KiB buffer written with writeSync when full",
  },
  // ------------------------------------------------------------------- 6. write
  {
    id: "write",
    clock: "wall", // waits for the disk: CPU time would leave the wait out
    group: 6,
    title: (S) => `write 4 KiB chunks filling ${sz(S.write)}, flush`,
    ops: () => 1,
    params: (S, F) => ({ file: F.write, size: S.write, chunk: 4 * KiB }),
    impls: ALL,
    target: { kind: "near", ref: "c", tol: 0.1 },
    reps: (S) => Math.min(S.reps, 2),
    warmup: 0,
    note: "a fresh sparse file each run; fs: writeSync + fdatasync; C: memcpy + msync(MS_SYNC)",
  },
  // --------------------------------------------------------------- 7. map + close
  {
    id: "mapfile",
    group: 7,
    // ~60,000 untimed maps first (3 runs, 12 quick): V8 compiles the map's creation and close()
    // on a background thread over the first ~60,000 maps (the CPU clock counts it: the first
    // timed runs took 10–30 % longer than the later ones); C and CPython are unaffected by the
    // extra runs.
    warmup: (S) => runsFor(60_000, S.mapCount),
    settle: true,
    title: (S) => `map + close a 4 KiB file, ${n(S.mapCount)}×`,
    ops: (S) => S.mapCount,
    params: (S, F) => ({ file: F.small4k, size: 4 * KiB, count: S.mapCount }),
    impls: ALL,
    target: { kind: "cpython", min: 1 },
    note: "after ~60,000 untimed maps (V8 compiles the map's creation over the first ~60,000); fs: readSync of the 4 KiB instead (no map); C: mmap + munmap",
  },
  {
    id: "mapanon",
    group: 7,
    // as mapfile
    warmup: (S) => runsFor(60_000, S.mapCount),
    settle: true,
    title: (S) => `map + close anonymous 1 MiB, ${n(S.mapCount)}×`,
    ops: (S) => S.mapCount,
    params: (S) => ({ size: 1 * MiB, count: S.mapCount }),
    impls: NO_FS,
    target: { kind: "cpython", min: 1 },
    note: "MAP_SHARED | MAP_ANONYMOUS, as CPython's default; C: mmap + munmap",
  },
  // -------------------------------------------------------------------- 8. resize
  {
    id: "resizefile",
    group: 8,
    // ~1,000 untimed sequences first (10 runs, 50 quick): a sequence is one map and 18 resizes,
    // so V8 keeps compiling the resize path and then the map's creation (on a background thread,
    // 1–12 ms of CPU a function, which the CPU clock counts) for the first ~900 sequences; C and
    // CPython are unaffected by the extra runs.
    warmup: (S) => runsFor(1_000, S.resizeSeqs),
    settle: true,
    title: (S) => `resize 4 KiB → ${sz(S.resizeTarget)} by doubling, file`,
    ops: (S) => S.resizeSeqs,
    params: (S, F) => ({ file: F.resize, target: S.resizeTarget, seqs: S.resizeSeqs, touch: 0 }),
    impls: NO_FS,
    target: { kind: "near", ref: "c", tol: 1 / 0.9 - 1 },
    note: "after ~1,000 untimed sequences (V8 compiles the resize path and the map's creation over the first ~900); one op = the whole doubling sequence (the map not touched: a page written in a file that the next run truncates makes ext4 write it out, seconds of disk waits); C: ftruncate + mremap",
  },
  {
    id: "resizeanon",
    group: 8,
    // as resizefile
    warmup: (S) => runsFor(1_000, S.resizeSeqs),
    settle: true,
    title: (S) => `resize 4 KiB → ${sz(S.resizeTarget)} by doubling, anonymous`,
    ops: (S) => S.resizeSeqs,
    params: (S) => ({ target: S.resizeTarget, seqs: S.resizeSeqs, touch: 1 }),
    impls: NO_FS,
    target: { kind: "near", ref: "c", tol: 1 / 0.9 - 1 },
    note: "after ~1,000 untimed sequences (V8 compiles the resize path and the map's creation over the first ~900); one op = the whole doubling sequence, writing the last byte after each resize (the next access, which makes memmap build a view of the new size); C: mremap",
  },
  // ---------------------------------------------------------------------- 9. move
  {
    id: "move",
    group: 9,
    title: (S) => `move ${sz(S.move)}`,
    ops: (S) => S.moveCount,
    params: (S) => ({ size: S.move, count: S.moveCount }),
    impls: NO_FS,
    target: { kind: "near", ref: "c", tol: 0.1 },
    note: "between the halves of a private anonymous map; C: memmove",
  },
  // ------------------------------------------ 10. regular expressions (issue 12), like re
  {
    id: "reEarly",
    group: 10,
    title: (S) => `search(/${RE.early}/): match in the first line, ${sz(S.text)} map`,
    ops: (S) => S.reEarlyCount,
    params: (S, F) => ({ file: F.big, size: S.text, pattern: RE.early, count: S.reEarlyCount, budgetMs: S.budgetMs / 4 }),
    impls: PY_MM,
    target: { kind: "cpython", min: 1 },
    // ~14,000 untimed searches first (7 runs, 70 quick): V8 optimizes the search path in stages
    // over the first ~12,000 calls, compiling on background threads whose CPU time the clock
    // counts (per run of 2,000 searches, from a fresh process: 8–10 ms of CPU in the first,
    // 4–7 ms up to the fifth or sixth, 3.0 ms from then, the wall clock 1.5 µs a search); with
    // three runs, the timed runs still paid for those compilations. CPython's is the same from
    // the first call, so the extra runs change nothing on its side.
    warmup: (S) => runsFor(14_000, S.reEarlyCount),
    settle: true,
    note: "the same search repeated (the count, or as many as a time budget allows: time per search), after ~14,000 untimed searches (V8 compiles the search path on background threads over the first ~12,000 calls); CPython re.search(rb\"…\", m)",
  },
  {
    id: "reLiteral",
    group: 10,
    title: (S) => `search(/${RE.literal}/): absent literal, ${sz(S.text)}`,
    ops: () => 1,
    params: (S, F) => ({ file: F.big, size: S.text, pattern: RE.literal }),
    impls: PY_MM,
    target: { kind: "cpython", min: 2 },
    note: "the whole map is scanned",
  },
  {
    id: "reClass",
    group: 10,
    title: (S) => `search(/${RE.cls}/): absent class, ${sz(S.text)}`,
    ops: () => 1,
    params: (S, F) => ({ file: F.big, size: S.text, pattern: RE.cls }),
    impls: PY_MM,
    target: { kind: "cpython", min: 5 },
    // CPython takes seconds a run here: two runs, no warm-up
    implReps: { python: 1 },
    implWarmup: { python: 0 },
    note: "CPython's re tries the class at every byte (seconds); two CPython runs",
  },
  {
    id: "reMatchAll",
    group: 10,
    title: (S) => `matchAll(/${RE.all}/g): count the matches, ${sz(S.text)}`,
    ops: () => 1,
    params: (S, F) => ({ file: F.big, size: S.text, pattern: RE.all }),
    impls: PY_MM,
    target: { kind: "cpython", min: 1.5 },
    note: "CPython sum(1 for _ in re.finditer(rb\"…\", m)); ~480,000 matches in 256 MiB",
  },
  {
    id: "reLoop",
    group: 10,
    title: (S) => `search(re, pos) loop visiting every match, ${sz(S.text)}`,
    ops: () => 1,
    params: (S, F) => ({ file: F.big, size: S.text, pattern: RE.loop, budgetMs: S.budgetMs }),
    impls: PY_MM,
    warmup: 0, // a run is long enough (and a warm-up would spend a whole budget)
    target: { kind: "cpython", min: 1 },
    note: `/${RE.loop}/, each search from the end of the last match; a run that exceeds the time budget stops and is extrapolated from the bytes it covered (marked ~: an implementation whose cost per match falls along the file, as a copy of the rest of the map does, is overestimated, by up to 2×)`,
  },
  {
    id: "reLoopBig",
    group: 10,
    title: (S) => `search(re, pos) loop visiting every match, ${sz(S.big)}`,
    ops: () => 1,
    params: (S, F) => ({ file: F.big, size: S.big, pattern: RE.loop, budgetMs: S.budgetMs }),
    impls: PY_MM,
    reps: (S) => Math.min(S.reps, 2),
    warmup: 0,
    target: [{ kind: "cpython", min: 1 }, { kind: "linear", of: "reLoop", factor: 4 }],
    note: "the same loop over a file 4× larger: linear time is 4× the row above (the target allows 30 % for noise)",
  },
  // --------------------------------------------------------------- 11. cold reads
  {
    id: "cold",
    clock: "wall", // waits for the disk: CPU time would leave the wait out
    group: 11,
    title: (S) => `${n(S.coldCount)} cold random 4 KiB reads`,
    ops: (S) => S.coldCount,
    params: (S, F) => ({ file: F.big, size: S.big, idx: F.idxCold, count: S.coldCount }),
    impls: ALL,
    target: { kind: "cpython", min: 1 },
    reps: (S) => Math.min(S.reps, 2),
    warmup: 0,
    note: "evicted with posix_fadvise(DONTNEED) before each run; slice(p, p+4096); fs: pread",
  },
  {
    id: "coldrandom",
    clock: "wall", // waits for the disk: CPU time would leave the wait out
    group: 11,
    title: (S) => `${n(S.coldCount)} cold random 4 KiB reads, MADV_RANDOM`,
    ops: (S) => S.coldCount,
    params: (S, F) => ({ file: F.big, size: S.big, idx: F.idxCold, count: S.coldCount, advice: 1 }),
    impls: ALL,
    target: { kind: "near", ref: "fs", tol: 0.1 },
    reps: (S) => Math.min(S.reps, 2),
    warmup: 0,
    note: "as above after madvise(MADV_RANDOM) (CPython and C too); fs: pread (the target)",
  },
];

/**
 * Group 4, "a row of the same workloads on a cache-resident map" (issue 13): readline, lines(),
 * random seek + read(64) and slices, find and rfind over the first 4 MiB of the file, which
 * stay in the CPU's caches between passes: per-call costs without memory stalls.
 */
const CACHED = {
  readline: {
    title: (S) => `readline: every line of a cached ${sz(S.cache)} map, ${S.cachePasses}×`,
    c: "readline",
    passes: "cachePasses",
    note: "C: memchr + memcpy of each line",
  },
  lines: {
    title: (S) => `lines(): every line of a cached ${sz(S.cache)} map, ${S.cachePasses}×`,
    c: "lines",
    passes: "cachePasses",
    cpythonFrom: "readline4m",
    note: "against CPython's readline per line; C: memchr alone",
  },
  seekread: {
    title: (S) => `${n(S.seekCount)} random seek + read(64), cached ${sz(S.cache)}`,
    idx: "idxCache",
    min: 2,
    note: "offsets uniform over the 4 MiB; C: memcpy of 64 bytes",
  },
  slice: {
    title: (S) => `${n(S.seekCount)} random slice(p, p+64), cached ${sz(S.cache)}`,
    idx: "idxCache",
    min: 2,
    note: "CPython m[p:p+64]; C: memcpy",
  },
  find8: {
    id: "find8c",
    title: (S) => `find: absent 8-byte needle, cached ${sz(S.cache)}, ${S.findPasses}×`,
    passes: "findPasses",
    note: "the search kernel at cache speed, no memory-bandwidth ceiling; C: the AVX2 filter",
  },
  rfind8: {
    id: "rfind8c",
    title: (S) => `rfind: absent 8-byte needle, cached ${sz(S.cache)}, ${S.findPasses}×`,
    passes: "findPasses",
    note: "C: the AVX2 filter from the end",
  },
};
for (const [from, k] of Object.entries(CACHED)) {
  const base = WORKLOADS.find((w) => w.id === from);
  const row = {
    ...base,
    id: k.id ?? `${from}4m`,
    group: 4,
    title: k.title,
    impls: base.impls.filter((i) => i !== "fs"),
    params: (S, F) => ({
      ...base.params(S, F),
      size: S.cache,
      ...(k.idx ? { idx: F[k.idx] } : {}),
      ...(k.passes ? { passes: S[k.passes] } : {}),
    }),
    note: `the first 4 MiB of the file, in the CPU's caches; ${k.note}`,
  };
  if (k.c) row.c = k.c;
  if (k.cpythonFrom) row.cpythonFrom = k.cpythonFrom;
  if (k.passes === "cachePasses") row.opsScale = (S) => S.cachePasses;
  if (k.passes === "findPasses") row.ops = (S) => S.findPasses;
  if (k.min) row.target = { kind: "cpython", min: k.min };
  WORKLOADS.splice(WORKLOADS.findIndex((w) => w.group > 4), 0, row);
}
WORKLOADS.splice(WORKLOADS.findIndex((w) => w.group > 4), 0, {
  id: "bandwidthc",
  group: 4,
  title: (S) => `cache bandwidth: reading the cached ${sz(S.cache)}, ${S.findPasses}× (C)`,
  c: "bandwidth",
  ops: (S) => S.findPasses,
  bytes: (S) => S.cache,
  params: (S, F) => ({ file: F.big, size: S.cache, passes: S.findPasses }),
  impls: ["c"],
  cpythonFrom: "find8c",
  reference: true,
  note: "reference row, the floor of a search of the cached map",
});

/**
 * The floors of docs/performance.md that are no workload, measured in the same run: the
 * pieces a JavaScript operation is made of (bench/node-impl.mjs). Memory bandwidth and
 * latency are reference rows of the table (bandwidth, latency, bandwidthc).
 */
export const FLOORS = [
  { id: "alloc", what: "one object: new Uint8Array(shared ArrayBuffer, offset, 64)", params: (S) => ({ count: S.getCount }) },
  { id: "alloccopy", what: "one object + 64-byte copy: Uint8Array over a slab, filled by set()", params: (S) => ({ count: S.getCount }) },
  {
    id: "randcopy",
    what: "one object + 64-byte copy from a random offset of a cached 4 MiB (the cached rows' offsets)",
    params: (S, F) => ({ file: F.big, size: S.cache, idx: F.idxCache, count: S.seekCount }),
  },
  { id: "napi", what: "one Node-API call into the addon doing nothing (native.live(null))", params: (S) => ({ count: S.getCount }) },
  { id: "indexof", what: "Buffer#indexOf(10) over an ~80-byte line", params: (S, F) => ({ file: F.big, size: S.cache, count: S.getCount }) },
];
