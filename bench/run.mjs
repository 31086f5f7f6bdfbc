#!/usr/bin/env node
// The benchmark suite of issues #4, #12 and #13: memmap against CPython 3.13's mmap and re,
// Node's fs and C on raw mapped memory, workload by workload, in one run.
//
//   npm run bench                  full sizes (1 GiB files, ...), writes docs/benchmarks.md + .svg
//   npm run bench -- --quick       small sizes, about a minute; prints the table only
//
// Options:
//   --quick            small sizes and 4 repetitions
//   --reps=N           repetitions per implementation (default 6, quick 4); the median is used
//   --clock=cpu|wall   what is timed (default cpu): the CPU time of the process during the
//                      operation loop, which other processes on a busy machine disturb far
//                      less than the wall clock; the workloads that wait for the disk (write +
//                      flush, cold reads) are always timed by the wall clock
//   --rounds=N         the repetitions are split into N rounds (default 2); in each round every
//                      implementation runs in turn, in the opposite order in the next round, so
//                      that a busy spell of the machine falls on all of them; the spread of the
//                      memmap/CPython ratio between rounds is reported as the run's noise
//   --only=a,b         run these workloads only (ids: see bench/workloads.mjs)
//   --docs / --no-docs write (or not) docs/benchmarks.md and docs/benchmarks.svg
//                      (default: written after a full run of every workload)
//   --profile[=a,b]    afterwards, run memmap's side of these workloads under `node --cpu-prof`
//                      (default: the three furthest from their targets) and summarise the
//                      profiles; the .cpuprofile files stay in bench/profiles/
//   --detached         memmap's and Node fs's processes first detach an ArrayBuffer, as a
//                      program has done once it closed or resized a map with views, or
//                      transferred a buffer: V8 then compiles a check for detachment into every
//                      typed-array access (its ArrayBufferDetaching protector is gone for the
//                      process). docs/ are not written. docs/performance.md, "readline once an
//                      ArrayBuffer was detached"
//   --json=FILE        also write the raw measurements as JSON
//   --keep             keep the temporary data directory
//   --runtime=node|bun|deno
//                      the JavaScript runtime of memmap's side and Node fs's side (default
//                      node: this Node, process.execPath). bun and deno are fetched from the
//                      npm registry into the cache of npm run test:runtimes, as it does
//                      (scripts/test-runtimes-lib.mjs: fetchBun, fetchDeno); Bun runs
//                      bench/node-impl.mjs directly, Deno as `deno run --allow-all`. CPython
//                      and C are the same; the table is printed, docs/ are not written
//                      (--docs is refused), --profile is Node's only, and the floors are
//                      measured under that runtime. Compare ratios of runs made close together:
//                      docs/performance.md, "Bun and Deno"
//
// Data files are generated deterministically into a directory under os.tmpdir() and deleted
// at the end. Each implementation runs as its own process, with the same operation count;
// only the operation loop is timed; each figure is the median of the repetitions. A loop that
// could run for hours (issue 12's search loop on today's memmap) stops after a time budget and
// is extrapolated; the table marks such figures with ~. The floors of docs/performance.md are
// measured in the same run: memory bandwidth and latency as reference rows of C, the pieces
// of a JavaScript operation (one object, one Node-API call, a newline search) at the end.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fetchBun, fetchDeno } from "../scripts/test-runtimes-lib.mjs";
import { formatSummary } from "./profile.mjs";
import {
  evaluate,
  fmtRatio,
  floorsTable,
  IMPLS,
  IMPL_NAMES,
  markdownTable,
  median,
  NOISE,
  noiseSummary,
  svgChart,
  targetsOf,
  textTable,
} from "./report.mjs";
import { FLOORS, SIZES, WORKLOADS, sz } from "./workloads.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const started = Date.now();

// ------------------------------------------------------------------------------ options

const args = process.argv.slice(2);
const opt = (name) => {
  const a = args.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (a === undefined) return undefined;
  return a.includes("=") ? a.slice(a.indexOf("=") + 1) : true;
};
for (const a of args) {
  if (!/^--(quick|reps|rounds|clock|only|docs|no-docs|profile|json|keep|runtime|detached)(=.*)?$/.test(a)) {
    console.error(`unknown option ${a}\n(see the comment at the top of bench/run.mjs)`);
    process.exit(2);
  }
}
const quick = opt("quick") === true;
const S = { ...SIZES[quick ? "quick" : "full"] };
if (opt("reps") !== undefined) S.reps = Math.max(1, Number(opt("reps")));
if (opt("rounds") !== undefined) S.rounds = Math.max(1, Number(opt("rounds")));
const clock = opt("clock") ?? "cpu";
if (clock !== "cpu" && clock !== "wall") {
  console.error(`--clock=cpu or --clock=wall, not ${clock}`);
  process.exit(2);
}
/** The clock a workload is timed by. */
const clockOf = (w) => (w.clock === "wall" ? "wall" : clock);
const only = typeof opt("only") === "string" ? opt("only").split(",") : null;
if (only) {
  const unknown = only.filter((id) => !WORKLOADS.some((w) => w.id === id));
  if (unknown.length) {
    console.error(`unknown workload(s): ${unknown.join(", ")}; known: ${WORKLOADS.map((w) => w.id).join(", ")}`);
    process.exit(2);
  }
  // a row that borrows CPython's time, or is judged against another row, brings that row along
  for (const w of WORKLOADS) {
    if (!only.includes(w.id)) continue;
    for (const t of [w.cpythonFrom, ...targetsOf(w).map((x) => x.of)]) if (t && !only.includes(t)) only.push(t);
  }
}
const workloads = WORKLOADS.filter((w) => only === null || only.includes(w.id));
const runtimeName = opt("runtime") ?? "node";
if (!["node", "bun", "deno"].includes(runtimeName)) {
  console.error(`--runtime=node, bun or deno, not ${runtimeName}`);
  process.exit(2);
}
if (runtimeName !== "node" && (opt("docs") === true || opt("profile") !== undefined)) {
  console.error(`--docs and --profile are for Node's runs only (not --runtime=${runtimeName})`);
  process.exit(2);
}
const detached = opt("detached") === true;
if (detached && opt("docs") === true) {
  console.error("--docs is for runs without --detached");
  process.exit(2);
}
const writeDocs = opt("no-docs") === true ? false : opt("docs") === true ? true : !quick && only === null && runtimeName === "node" && !detached;
const profileOpt = opt("profile");

const log = (...a) => console.error(...a);

/**
 * The runtime of the JavaScript sides (memmap, Node fs): { name, bin, version, args }, where
 * args come before the script.
 */
const runtime = (() => {
  if (runtimeName === "node") return { name: "Node", bin: process.execPath, version: process.version.slice(1), args: [] };
  try {
    if (runtimeName === "bun") {
      const b = fetchBun();
      return { name: "Bun", bin: b.bin, version: b.version, args: [] };
    }
    const d = fetchDeno();
    return { name: "Deno", bin: d.bin, version: d.version, args: ["run", "--allow-all"] };
  } catch (err) {
    console.error(`cannot fetch ${runtimeName}: ${err.message}`);
    process.exit(1);
  }
})();
if (runtimeName !== "node") log(`memmap and Node fs run on ${runtime.name} ${runtime.version} (${runtime.bin})`);

// -------------------------------------------------------------------------- environment

const pyEnv = { ...process.env, PYENV_VERSION: "3.13.0" };
function pythonVersion() {
  const r = spawnSync("python3", ["-c", "import sys; print(sys.version.split()[0])"], { env: pyEnv, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}
const pyVersion = pythonVersion();
if (pyVersion === null || !pyVersion.startsWith("3.13")) {
  console.error(`CPython 3.13 is needed (PYENV_VERSION=3.13.0 python3); found ${pyVersion ?? "none"}`);
  process.exit(1);
}
if (!fs.existsSync(path.join(root, "dist", "index.js"))) {
  console.error("dist/ is missing: run `npx tsc -p tsconfig.json` (npm run bench does it)");
  process.exit(1);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-bench-"));
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  if (opt("keep") === true) log(`data kept in ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

const cc = process.env.CC || "cc";
const baseline = path.join(tmp, "baseline");
{
  const r = spawnSync(cc, ["-O2", "-std=gnu11", "-o", baseline, path.join(here, "baseline.c")], { encoding: "utf8" });
  if (r.status !== 0) {
    console.error(`compiling bench/baseline.c with ${cc} failed:\n${r.stderr}`);
    process.exit(1);
  }
}
const ccVersion = spawnSync(cc, ["--version"], { encoding: "utf8" }).stdout?.split("\n")[0] ?? cc;

function helper(...argv) {
  const r = spawnSync(baseline, argv.map(String), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`baseline ${argv.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

// --------------------------------------------------------------------------------- data

const F = {
  big: path.join(tmp, "text.bin"),
  rw: path.join(tmp, "rw.bin"),
  small4k: path.join(tmp, "small4k.bin"),
  write: path.join(tmp, "write.bin"),
  resize: path.join(tmp, "resize.bin"),
  idxBig: path.join(tmp, "idx-big.u32"),
  idxCache: path.join(tmp, "idx-cache.u32"),
  idxGet: path.join(tmp, "idx-get.u32"),
  idxCold: path.join(tmp, "idx-cold.u32"),
};
{
  const t0 = Date.now();
  log(`generating data in ${tmp} (${sz(S.big)} of text)...`);
  helper("gen-text", F.big, S.big, 1);
  helper("gen-text", F.rw, S.small, 2);
  helper("gen-text", F.small4k, 4096, 3);
  helper("gen-idx", F.idxBig, S.seekCount, S.big - 64, 1, 4);
  helper("gen-idx", F.idxCache, S.seekCount, S.cache - 64, 1, 7);
  helper("gen-idx", F.idxGet, S.getCount, S.small, 1, 5);
  helper("gen-idx", F.idxCold, S.coldCount, S.big, 4096, 6);
  log(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
const loadStart = os.loadavg().map((l) => l.toFixed(2)).join(" ");

// ----------------------------------------------------------------------------- running

function cArgs(name, reps, warmup, p) {
  const kv = Object.entries(p).map(([k, v]) => `${k}=${v}`);
  return ["run", name, `reps=${reps}`, `warmup=${warmup}`, ...kv];
}

/**
 * Runs one implementation of a workload in its own process. Returns { times, check, ops?,
 * partial?, na? }: ns per repetition; ops, when the implementation stopped on a time budget,
 * how many operations each repetition did; partial, for a repetition extrapolated from part
 * of the work, what it covered; na, why the implementation cannot run the workload.
 */
function spawnImpl(impl, w, reps, warmup, params, extraNodeArgs = []) {
  const cfg = JSON.stringify({ impl, workload: w.id, reps, warmup, settle: w.settle === true, params: { ...params, baseline } });
  let cmd, argv, env = process.env;
  if (impl === "python") {
    cmd = "python3";
    argv = [path.join(here, "py_impl.py"), cfg];
    env = pyEnv;
  } else if (impl === "c") {
    cmd = baseline;
    argv = cArgs(w.c ?? w.id, reps, warmup, params);
  } else {
    cmd = runtime.bin;
    argv = [...runtime.args, ...extraNodeArgs, path.join(here, "node-impl.mjs"), cfg];
    if (detached) env = { ...process.env, MEMMAP_BENCH_DETACHED: "1" };
  }
  const r = spawnSync(cmd, argv, { env, encoding: "utf8", maxBuffer: 1 << 24, timeout: 600_000 });
  if (r.status !== 0) {
    throw new Error(`${impl} ${w.id} failed (status ${r.status}, signal ${r.signal}):\n${r.stderr}`);
  }
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

/** Untimed runs before the timed ones: a workload's number, or its function of the sizes. */
function warmupOf(w) {
  return typeof w.warmup === "function" ? w.warmup(S) : (w.warmup ?? 1);
}

/**
 * The untimed runs of one implementation. A row without a warm-up of its own gives the Node side
 * (memmap, fs) two: V8 optimizes the run's loop before the code after it has ever run, and throws
 * that code away when the first run ends, so the second run starts unoptimized and pays a new
 * compilation (measured in the first timed run after one warm-up: readByte 4.2 against 2.7 ns, a
 * random get 1.5x, readline 20-35 %; the third run is as fast as the second). CPython's and C's
 * first timed runs are as fast as their next ones: one warm-up each.
 */
function warmupFor(w, impl) {
  if (w.implWarmup?.[impl] !== undefined) return w.implWarmup[impl];
  const node = impl === "memmap" || impl === "fs";
  return node && w.warmup === undefined ? 2 : warmupOf(w);
}

/** Operations of repetition i of an implementation's result. */
function opsOf(w, out, i, check) {
  if (out.ops?.[i] != null) return out.ops[i];
  if (w.opsFromCheck) return check * (w.opsScale ? w.opsScale(S) : 1);
  return w.ops(S);
}

const results = new Map();
let failures = 0;
const rows = [];
for (const w of workloads) {
  const params = w.params(S, F);
  const totalReps = w.reps ? w.reps(S) : S.reps;
  const rounds = Math.min(S.rounds, totalReps);
  const perRound = Math.ceil(totalReps / rounds);
  const warmup = warmupOf(w);
  if (params.file === F.big && !w.id.startsWith("cold")) helper("warm", F.big);
  const impls = IMPLS.filter((i) => w.impls.includes(i));
  // per implementation: every repetition's per-op time, by round; the last check; notes
  const res = Object.fromEntries(impls.map((i) => [i, { perOp: [], byRound: [], check: null, partial: [], na: null, ops: null, wall: 0, cpu: 0 }]));
  const t0 = Date.now();
  for (let round = 0; round < rounds; round++) {
    for (const impl of round % 2 === 0 ? impls : [...impls].reverse()) {
      const x = res[impl];
      if (x.na !== null || x.failed || round >= (w.implRounds?.[impl] ?? rounds)) continue;
      let out;
      try {
        out = spawnImpl(impl, w, w.implReps?.[impl] ?? perRound, warmupFor(w, impl), params);
      } catch (err) {
        failures++;
        x.failed = true;
        log(`  ERROR: ${err.message}`);
        continue;
      }
      if (out.na) {
        x.na = out.na;
        continue;
      }
      const spent = clockOf(w) === "cpu" ? out.cpu : out.times;
      const per = spent.map((t, i) => t / opsOf(w, out, i, out.check));
      x.perOp.push(...per);
      if (w.clock !== "wall") {
        x.wall += out.times.reduce((a, b) => a + b, 0);
        x.cpu += out.cpu.reduce((a, b) => a + b, 0);
      }
      x.byRound.push(median(per));
      x.check = out.check;
      x.ops = opsOf(w, out, 0, out.check);
      for (const p of out.partial ?? []) if (p) x.partial.push(p);
    }
  }
  results.set(w.id, res);
  // every implementation that did the whole work must have computed the same thing
  const checks = impls.filter((i) => res[i].perOp.length > 0 && res[i].partial.length === 0).map((i) => [i, res[i].check]);
  const agreed = checks.every(([, c]) => c === checks[0][1]);
  if (!agreed) log(`  WARNING: ${w.id}: the implementations disagree: ${JSON.stringify(Object.fromEntries(checks))}`);
  if (!agreed) process.exitCode = 1;
  const perOp = {};
  for (const impl of IMPLS) perOp[impl] = res[impl]?.perOp.length ? median(res[impl].perOp) : null;
  let roundsPy = res.python?.byRound ?? [];
  if (w.cpythonFrom) {
    const from = rows.find((r) => r.id === w.cpythonFrom);
    perOp.python = from?.perOp.python ?? null;
    roundsPy = from?.rounds.python ?? [];
  }
  const na = Object.fromEntries(impls.filter((i) => res[i].na).map((i) => [i, res[i].na]));
  const partial = Object.fromEntries(impls.filter((i) => res[i].partial.length).map((i) => [i, res[i].partial[0]]));
  // a reference row that reads memory says at what rate
  const rate = w.bytes && perOp.c ? ` = ${(w.bytes(S) / perOp.c).toFixed(1)} GB/s` : "";
  const row = evaluate(
    {
      id: w.id,
      group: w.group,
      title: w.title(S) + rate,
      ops: res.memmap?.ops ?? res.python?.ops ?? null,
      perOp,
      rounds: { python: roundsPy, memmap: res.memmap?.byRound ?? [] },
      agreed,
      na,
      partial,
      clock: clockOf(w),
      // the share of the timed wall-clock time the processes spent on a CPU: 1 on a quiet machine
      cpuShare: Object.fromEntries(impls.filter((i) => res[i].wall > 0).map((i) => [i, res[i].cpu / res[i].wall])),
      note: w.note,
      reference: !!w.reference,
    },
    targetsOf(w),
    (id) => rows.find((r) => r.id === id),
  );
  rows.push(row);
  log(
    `${w.id.padEnd(12)} ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s  ` +
      IMPLS.filter((i) => res[i]).map((i) => `${IMPL_NAMES[i]} ${res[i].na ? "n/a" : fmtRatio(row.ratio[i])}`).join("  ") +
      (row.met === null ? "" : `  target ${row.met ? "met" : "MISSED"}`),
  );
}

// ------------------------------------------------------------------------------ floors

const floors = [];
if (only === null) {
  for (let f of FLOORS) {
    const params = f.params(S, F);
    if (params.file === F.big) helper("warm", F.big);
    const w = { id: `floor-${f.id}` };
    f = { ...f, what: typeof f.what === "function" ? f.what(S) : f.what };
    try {
      const out = spawnImpl("memmap", w, 5, 1, params);
      if (out.na) {
        floors.push({ ...f, value: null, na: out.na });
        continue;
      }
      const t = median(clock === "cpu" ? out.cpu : out.times);
      const value = t / params.count;
      floors.push({ ...f, value });
    } catch (err) {
      failures++;
      log(`  ERROR: ${err.message}`);
    }
  }
}

// ------------------------------------------------------------------------------ report

const machine = {
  cpu: os.cpus()[0]?.model ?? "unknown CPU",
  cores: os.cpus().length,
  memGiB: Math.round(os.totalmem() / 2 ** 30),
  kernel: `${os.type()} ${os.release()}`,
  node: process.version,
  runtime: `${runtime.name} ${runtime.version}`,
  python: pyVersion,
  cc: ccVersion,
  load: os.loadavg().map((l) => l.toFixed(2)).join(" "),
};
const elapsed = (Date.now() - started) / 1000;
const noise = noiseSummary(rows);
console.log("");
console.log(
  `memmap benchmarks (${quick ? "quick" : "full"}, memmap on ${machine.runtime}${detached ? ", after an ArrayBuffer was detached" : ""}): per-operation medians of ${S.reps} runs in ${S.rounds} interleaved rounds, ${clock === "cpu" ? "CPU time" : "wall-clock time"}; × = speed-up over CPython 3.13 mmap`,
);
console.log(textTable(rows));
const extrapolated = rows.filter((r) => Object.keys(r.partial).length > 0);
for (const r of extrapolated) {
  for (const [impl, p] of Object.entries(r.partial)) console.log(`~ ${r.id}, ${IMPL_NAMES[impl]}: extrapolated: ${p}`);
}
const missed = rows.filter((r) => r.met === false);
console.log("");
console.log(missed.length ? `targets missed: ${missed.map((r) => `${r.id} (${r.detail || fmtRatio(r.ratio.memmap)})`).join("; ")}` : "every target met");
if (floors.length) {
  console.log("");
  console.log("floors measured in this run (docs/performance.md):");
  console.log(floorsTable(floors, "text"));
}
console.log("");
console.log(`noise: ${noise.text}`);
console.log(`${machine.cpu}, ${machine.cores} cores; load average at the start ${loadStart}, at the end ${machine.load}; ${elapsed.toFixed(0)} s`);

if (failures > 0) {
  console.log(`${failures} implementation run(s) failed: see the errors above`);
  process.exitCode = 1;
}

if (typeof opt("json") === "string") {
  fs.writeFileSync(opt("json"), JSON.stringify({ mode: quick ? "quick" : "full", sizes: S, machine, loadStart, noise, floors, rows }, null, 2) + "\n");
}

if (writeDocs) {
  const date = new Date().toISOString().slice(0, 10);
  const subtitle = `${quick ? "quick" : "full"} run, ${date}, ${machine.cpu} (${machine.cores} cores), Node ${machine.node}, CPython ${machine.python}`;
  fs.writeFileSync(path.join(root, "docs", "benchmarks.svg"), svgChart(rows, subtitle));
  fs.writeFileSync(path.join(root, "docs", "benchmarks.md"), markdownDoc(date));
  log("wrote docs/benchmarks.md and docs/benchmarks.svg");
}

function markdownDoc(date) {
  const metList = rows.filter((r) => r.met !== null);
  const notes = rows.map((r) => `- **${r.group}. ${r.title}** — ${r.note ?? ""}`).join("\n");
  const extra = extrapolated.flatMap((r) => Object.entries(r.partial).map(([impl, p]) => `- ~ ${r.group}. ${r.title}, ${IMPL_NAMES[impl]}: ${p}`));
  return `# Benchmarks

memmap against CPython ${machine.python}'s \`mmap\` and \`re\`, against what a Node user does without
mmap (\`fs.readSync\` / \`writeSync\` / \`pread\`), and against C doing the same operation on raw
mapped memory (\`memchr\`, an AVX2 first/last-byte filter, \`memcpy\`, \`mmap\`, \`mremap\`): the
machine's limit.

Generated by \`npm run bench\`${quick ? " -- --quick" : ""} on ${date}: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB,
${machine.kernel}, Node ${machine.node}, CPython ${machine.python}, ${machine.cc}. Load average at
the start of the run: ${loadStart}; at the end: ${machine.load}. The run took ${elapsed.toFixed(0)} s.

Each figure is the median of ${S.reps} runs of the operation loop only, per operation (fewer for
write + flush, the cold reads, the absent class in CPython, the long search loop and fs's 1-byte
preads in get), taken in ${S.rounds} interleaved rounds: every implementation runs in turn,
in the opposite order in the next round. ${clock === "cpu" ? `The clock is the CPU time of each process during the loop (user and
system, all its threads: Node's garbage-collector threads count against memmap), which other
processes on a shared machine disturb far less than the wall clock; write + flush and the cold
reads, which wait for the disk, are timed by the wall clock.` : "The clock is the wall clock."} "vs CPython" is CPython's time divided by the
other's: above 1× is faster than CPython. "Spread" is the lowest and highest memmap/CPython ratio
of the rounds. How noisy this run was: ${noise.text}.

![speed-up over CPython](benchmarks.svg)

${markdownTable(rows)}
${extra.length ? "\n~ extrapolated: these runs stopped after a time budget (a full run would take too long); the figure is the time so far scaled by the bytes not yet covered:\n\n" + extra.join("\n") + "\n" : ""}
Targets met: ${metList.filter((r) => r.met).length} of ${metList.length}.
${missed.length ? "\nMissed:\n\n" + missed.map((r) => `- ${r.group}. ${r.title}: memmap ${fmtRatio(r.ratio.memmap)} CPython; target ${r.targetText}; ${r.detail}`).join("\n") + "\n" : ""}
Why each missed target is missed, with the profiles, and what would close it:
[performance.md](performance.md).

## Floors measured in this run

The pieces a JavaScript operation is made of, on this machine; memory bandwidth and the
latency of a random read are reference rows of the table above. [performance.md](performance.md)
puts each row against them.

${floorsTable(floors, "markdown")}

## How to run

\`\`\`sh
npm run bench                 # the full suite (2–4 minutes); rewrites this page
npm run bench -- --quick      # small sizes, about a minute; prints the table only
npm run bench -- --only=readline,get --profile   # a subset, then CPU profiles of memmap's side
npm run bench -- --quick --runtime=bun          # memmap's and Node fs's sides on Bun (or deno)
npm run bench -- --only=readline,lines --detached  # after an ArrayBuffer was detached (performance.md)
node bench/others.mjs                           # operations outside this table, against CPython (performance.md)
\`\`\`

\`--runtime=bun\` or \`--runtime=deno\` runs memmap's side and Node fs's side under that runtime
instead of Node (CPython and C are unchanged), fetched from the npm registry into the cache of
\`npm run test:runtimes\` (\`scripts/test-runtimes-lib.mjs\`); Deno runs as \`deno run --allow-all\`.
Such a run prints its table and never rewrites this page; [performance.md](performance.md#bun-and-deno)
has the ratios per runtime.

It needs CPython 3.13 (\`PYENV_VERSION=3.13.0 python3\`) and a C compiler (\`cc\`, or \`$CC\`):
\`bench/baseline.c\` is compiled at bench time into a temporary directory. The data files
(deterministic text: random words of a–z in ~80-byte lines; index files of random offsets) are
generated there too, and deleted at the end.

## Method

- Every implementation is its own process and runs the same number of operations:
  \`bench/node-impl.mjs\` (memmap and Node fs), \`bench/py_impl.py\` (CPython),
  \`bench/baseline.c\` (C). Setup (opening, mapping, loading the random offsets) is not timed;
  untimed warm-up runs precede the timed ones in each process: one for CPython and C, two for
  the Node side (V8 discards the run loop's optimized code when the first run ends and compiles
  it again during the next: the first timed run after one warm-up was up to 1.5× slower than the
  next ones; CPython's and C's are not), none for the write and cold workloads and the one-pass
  rows of group 2 (one timed pass in each of two new processes: what a program reading a file
  once measures, V8's warm-up included), more where a
  row's note says so (the early-match search: 3; resize: 10). Each side checks its result (found index, line or match count, checksum of
  the bytes read) and the suite warns when they disagree.
- Files are warm (read once into the page cache before each workload) except in group 11,
  where each run first evicts the file with \`posix_fadvise(POSIX_FADV_DONTNEED)\`. Group 4
  works on the first 4 MiB of the file, which stay in the CPU's caches between passes.
- Random offsets are drawn once by a fixed-seed generator and shared by every implementation.
- Each side is written the way its users write it, loop included: CPython's per-operation
  figures therefore include the interpreter's loop (\`for i in idx: s += m[i]\`), as memmap's
  include the JavaScript loop and C's its own. Node fs reuses one buffer where \`pread\` allows
  it; memmap and CPython return a fresh copy (\`read\`, \`slice\`, \`readline\`); \`lines()\`
  returns views, and is compared with CPython's \`readline\`, its nearest equivalent.
- A workload memmap cannot run yet (\`lines()\` before it exists) is shown as n/a.
- "Met" judges memmap against the issues' targets: a minimum speed-up over CPython, a time
  within a tolerance of the C baseline (find and rfind: 90 % of the C filter's speed; write +
  flush, move, resize) or of \`pread\` (cold reads with \`MADV_RANDOM\`), or a time linear in the
  file's size (the search loop); and never slower than CPython (a deficit under ${Math.round(NOISE * 100)}% is
  reported as noise, not as a miss).

## What each workload does

${notes}
`;
}

// ----------------------------------------------------------------------------- profile

if (profileOpt !== undefined) {
  let ids;
  if (typeof profileOpt === "string") ids = profileOpt.split(",");
  else {
    // furthest from the target: the smallest (achieved speed-up / required speed-up)
    ids = rows
      .filter((r) => r.need != null && r.ratio.memmap != null)
      .sort((a, b) => a.ratio.memmap / a.need - b.ratio.memmap / b.need)
      .slice(0, 3)
      .map((r) => r.id);
  }
  const dir = path.join(here, "profiles");
  fs.mkdirSync(dir, { recursive: true });
  for (const id of ids) {
    const w = WORKLOADS.find((x) => x.id === id);
    if (!w || !w.impls.includes("memmap")) continue;
    if (w.params(S, F).file === F.big && !id.startsWith("cold")) helper("warm", F.big);
    const out = spawnImpl("memmap", w, w.reps ? w.reps(S) : S.reps, warmupFor(w, "memmap"), w.params(S, F), [
      "--cpu-prof",
      `--cpu-prof-dir=${dir}`,
      `--cpu-prof-name=${id}${quick ? "-quick" : ""}.cpuprofile`,
      "--cpu-prof-interval=200",
    ]);
    if (out.na) {
      console.log(`\nprofile of memmap ${id}: n/a (${out.na})`);
      continue;
    }
    const file = `${id}${quick ? "-quick" : ""}.cpuprofile`;
    console.log(`\nprofile of memmap ${id} (bench/profiles/${file}):`);
    console.log(formatSummary(JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"))));
  }
}

// ----------------------------------------------------------------------------- ping-pong

// Cross-process round trips through wait/notify, beside a pipe between the same two processes
// and CPython's closest equivalents (bench/pingpong.mjs, which also runs alone): after a run of
// every workload, printed, and added to docs/benchmarks.md when the run writes it.
if (only === null && runtimeName === "node") {
  const { pingpong, markdown } = await import("./pingpong.mjs");
  log("ping-pong: wait/notify between two processes, beside a pipe");
  const table = markdown(await pingpong({ rounds: quick ? 20_000 : 100_000, reps: S.reps }));
  console.log(`\n${table}`);
  if (writeDocs) {
    const doc = path.join(root, "docs", "benchmarks.md");
    const about =
      "Round trips between two processes, each sleeping while the other has the turn (two wake-ups " +
      "and two sleeps per round trip): `bench/pingpong.mjs`, the median of the runs.";
    fs.appendFileSync(doc, `\n## Cross-process ping-pong\n\n${about}\n\n${table}\n`);
  }
}
