#!/usr/bin/env node
// The benchmark suite of issue #4: memmap against CPython 3.13's mmap, Node's fs and C on raw
// mapped memory, workload by workload, in one run.
//
//   npm run bench                  full sizes (1 GiB files, ...), writes docs/benchmarks.md + .svg
//   npm run bench -- --quick       small sizes, under a minute; prints the table only
//
// Options:
//   --quick            small sizes and 3 repetitions
//   --reps=N           repetitions per implementation (default 5, quick 3); the median is used
//   --only=a,b         run these workloads only (ids: see bench/workloads.mjs)
//   --docs / --no-docs write (or not) docs/benchmarks.md and docs/benchmarks.svg
//                      (default: written after a full run of every workload)
//   --profile[=a,b]    afterwards, run memmap's side of these workloads under `node --cpu-prof`
//                      (default: the three furthest from their targets) and summarise the
//                      profiles; the .cpuprofile files stay in bench/profiles/
//   --json=FILE        also write the raw measurements as JSON
//   --keep             keep the temporary data directory
//
// Data files are generated deterministically into a directory under os.tmpdir() and deleted
// at the end. Each implementation runs as its own process, with the same operation count;
// only the operation loop is timed; each figure is the median of the repetitions.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { formatSummary } from "./profile.mjs";
import { evaluate, fmtRatio, IMPLS, IMPL_NAMES, markdownTable, median, NOISE, svgChart, textTable } from "./report.mjs";
import { SIZES, WORKLOADS, sz } from "./workloads.mjs";

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
  if (!/^--(quick|reps|only|docs|no-docs|profile|json|keep)(=.*)?$/.test(a)) {
    console.error(`unknown option ${a}\n(see the comment at the top of bench/run.mjs)`);
    process.exit(2);
  }
}
const quick = opt("quick") === true;
const S = { ...SIZES[quick ? "quick" : "full"] };
if (opt("reps") !== undefined) S.reps = Math.max(1, Number(opt("reps")));
const only = typeof opt("only") === "string" ? opt("only").split(",") : null;
if (only) {
  const unknown = only.filter((id) => !WORKLOADS.some((w) => w.id === id));
  if (unknown.length) {
    console.error(`unknown workload(s): ${unknown.join(", ")}; known: ${WORKLOADS.map((w) => w.id).join(", ")}`);
    process.exit(2);
  }
}
const workloads = WORKLOADS.filter((w) => only === null || only.includes(w.id) || (w.cpythonFrom && only.includes(w.cpythonFrom)));
const writeDocs = opt("no-docs") === true ? false : opt("docs") === true ? true : !quick && only === null;
const profileOpt = opt("profile");

const log = (...a) => console.error(...a);

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
  idxSeek: path.join(tmp, "idx-seek.u32"),
  idxGet: path.join(tmp, "idx-get.u32"),
  idxCold: path.join(tmp, "idx-cold.u32"),
};
{
  const t0 = Date.now();
  log(`generating data in ${tmp} (${sz(S.big)} of text)...`);
  helper("gen-text", F.big, S.big, 1);
  helper("gen-text", F.rw, S.small, 2);
  helper("gen-text", F.small4k, 4096, 3);
  helper("gen-idx", F.idxSeek, S.seekCount, S.text - 64, 1, 4);
  helper("gen-idx", F.idxGet, S.getCount, S.small, 1, 5);
  helper("gen-idx", F.idxCold, S.coldCount, S.big, 4096, 6);
  log(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

// ----------------------------------------------------------------------------- running

function cArgs(w, reps, warmup, p) {
  const kv = Object.entries(p).map(([k, v]) => `${k}=${v}`);
  return ["run", w.id, `reps=${reps}`, `warmup=${warmup}`, ...kv];
}

function spawnImpl(impl, w, reps, warmup, params, extraNodeArgs = []) {
  const cfg = JSON.stringify({ impl, workload: w.id, reps, warmup, params: { ...params, baseline } });
  let cmd, argv, env = process.env;
  if (impl === "python") {
    cmd = "python3";
    argv = [path.join(here, "py_impl.py"), cfg];
    env = pyEnv;
  } else if (impl === "c") {
    cmd = baseline;
    argv = cArgs(w, reps, warmup, params);
  } else {
    cmd = process.execPath;
    argv = [...extraNodeArgs, path.join(here, "node-impl.mjs"), cfg];
  }
  const r = spawnSync(cmd, argv, { env, encoding: "utf8", maxBuffer: 1 << 24, timeout: 600_000 });
  if (r.status !== 0) {
    throw new Error(`${impl} ${w.id} failed (status ${r.status}, signal ${r.signal}):\n${r.stderr}`);
  }
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

const results = new Map();
let failures = 0;
const rows = [];
for (const w of workloads) {
  const params = w.params(S, F);
  const reps = w.reps ? w.reps(S) : S.reps;
  const warmup = w.warmup ?? 1;
  if (params.file === F.big && !w.id.startsWith("cold")) helper("warm", F.big);
  const res = {};
  const t0 = Date.now();
  for (const impl of IMPLS) {
    if (!w.impls.includes(impl)) continue;
    try {
      res[impl] = spawnImpl(impl, w, w.implReps?.[impl] ?? reps, w.implWarmup?.[impl] ?? warmup, params);
    } catch (err) {
      failures++;
      log(`  ERROR: ${err.message}`);
    }
  }
  results.set(w.id, res);
  // every implementation must have computed the same thing
  const checks = Object.entries(res).map(([impl, r]) => [impl, r.check]);
  const agreed = checks.every(([, c]) => c === checks[0][1]);
  if (!agreed) log(`  WARNING: ${w.id}: the implementations disagree: ${JSON.stringify(Object.fromEntries(checks))}`);
  if (!agreed) process.exitCode = 1;
  const anyCheck = checks[0]?.[1];
  const ops = w.opsFromCheck ? anyCheck : w.ops(S);
  const perOp = {};
  for (const impl of IMPLS) perOp[impl] = res[impl] ? median(res[impl].times) / ops : null;
  if (w.cpythonFrom) perOp.python = rows.find((r) => r.id === w.cpythonFrom)?.perOp.python ?? null;
  const row = evaluate(
    { id: w.id, group: w.group, title: w.title(S), ops, perOp, times: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, v.times])), agreed, note: w.note, reference: !!w.reference },
    w.target,
  );
  rows.push(row);
  log(
    `${w.id.padEnd(12)} ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s  ` +
      IMPLS.filter((i) => res[i]).map((i) => `${IMPL_NAMES[i]} ${fmtRatio(row.ratio[i])}`).join("  ") +
      (row.met === null ? "" : `  target ${row.met ? "met" : "MISSED"}`),
  );
}

// ------------------------------------------------------------------------------ report

const machine = {
  cpu: os.cpus()[0]?.model ?? "unknown CPU",
  cores: os.cpus().length,
  memGiB: Math.round(os.totalmem() / 2 ** 30),
  kernel: `${os.type()} ${os.release()}`,
  node: process.version,
  python: pyVersion,
  cc: ccVersion,
  load: os.loadavg().map((l) => l.toFixed(2)).join(" "),
};
const elapsed = (Date.now() - started) / 1000;
console.log("");
console.log(`memmap benchmarks (${quick ? "quick" : "full"}): per-operation medians of ${S.reps} runs; × = speed-up over CPython 3.13 mmap`);
console.log(textTable(rows));
const missed = rows.filter((r) => r.met === false);
console.log("");
console.log(missed.length ? `targets missed: ${missed.map((r) => `${r.id} (${r.detail || fmtRatio(r.ratio.memmap)})`).join("; ")}` : "every target met");
console.log(`${machine.cpu}, ${machine.cores} cores; load average at the end ${machine.load}; ${elapsed.toFixed(0)} s`);

if (failures > 0) {
  console.log(`${failures} implementation run(s) failed: see the errors above`);
  process.exitCode = 1;
}

if (typeof opt("json") === "string") {
  fs.writeFileSync(opt("json"), JSON.stringify({ mode: quick ? "quick" : "full", sizes: S, machine, rows }, null, 2) + "\n");
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
  return `# Benchmarks

memmap against CPython ${machine.python}'s \`mmap\`, against what a Node user does without
mmap (\`fs.readSync\` / \`writeSync\` / \`pread\`), and against C doing the same operation on raw
mapped memory (\`memchr\`, \`memmem\`, \`memcpy\`, \`mmap\`, \`mremap\`): the machine's limit.

Generated by \`npm run bench\`${quick ? " -- --quick" : ""} on ${date}: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB,
${machine.kernel}, Node ${machine.node}, CPython ${machine.python}, ${machine.cc}. Load average at
the end of the run: ${machine.load}. The run took ${elapsed.toFixed(0)} s.

Each figure is the median of ${S.reps} runs of the operation loop only, per operation (3 runs
for write + flush and the cold reads, one run for fs's 1-byte preads in get). "vs CPython" is CPython's time divided by the other's:
above 1× is faster than CPython. The table is the latest run; numbers taken on a busy machine
are noisy (a few tens of percent on the shortest workloads).

![speed-up over CPython](benchmarks.svg)

${markdownTable(rows)}

Targets met: ${metList.filter((r) => r.met).length} of ${metList.length}.
${missed.length ? "\nMissed:\n\n" + missed.map((r) => `- ${r.group}. ${r.title}: memmap ${fmtRatio(r.ratio.memmap)} CPython; target ${r.targetText}; ${r.detail}`).join("\n") + "\n" : ""}
Why each missed target is missed, with the profiles, and what would close it:
[performance.md](performance.md).

## How to run

\`\`\`sh
npm run bench                 # the full suite (under 10 minutes); rewrites this page
npm run bench -- --quick      # small sizes, under a minute; prints the table only
npm run bench -- --only=readline,get --profile   # a subset, then CPU profiles of memmap's side
\`\`\`

It needs CPython 3.13 (\`PYENV_VERSION=3.13.0 python3\`) and a C compiler (\`cc\`, or \`$CC\`):
\`bench/baseline.c\` is compiled at bench time into a temporary directory. The data files
(deterministic text of ~80-byte lines, index files of random offsets) are generated there too,
and deleted at the end.

## Method

- Every implementation is its own process and runs the same number of operations:
  \`bench/node-impl.mjs\` (memmap and Node fs), \`bench/py_impl.py\` (CPython),
  \`bench/baseline.c\` (C). Setup (opening, mapping, loading the random offsets) is not timed;
  one untimed warm-up run precedes the timed ones, except for the write and cold workloads.
  Each side checks its result (found index, line count, checksum of the bytes read) and
  the suite warns when they disagree.
- Files are warm (read once into the page cache before each workload) except in workload 9,
  where each run first evicts the file with \`posix_fadvise(POSIX_FADV_DONTNEED)\`.
- Random offsets are drawn once by a fixed-seed generator and shared by every implementation.
- Each side is written the way its users write it, loop included: CPython's per-operation
  figures therefore include the interpreter's loop (\`for i in idx: s += m[i]\`), as memmap's
  include the JavaScript loop and C's its own. Node fs reuses one buffer where \`pread\` allows
  it; memmap and CPython return a fresh copy (\`read\`, \`slice\`, \`readline\`).
- "Met" judges memmap against the issue's targets: a minimum speed-up over CPython, or a time
  within 10% of the C baseline (write + flush, move, resize) or of \`pread\` (cold reads with
  \`MADV_RANDOM\`); and never slower than CPython (a deficit under ${Math.round(NOISE * 100)}% is
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
    spawnImpl("memmap", w, w.reps ? w.reps(S) : S.reps, w.warmup ?? 1, w.params(S, F), [
      "--cpu-prof",
      `--cpu-prof-dir=${dir}`,
      `--cpu-prof-name=${id}${quick ? "-quick" : ""}.cpuprofile`,
      "--cpu-prof-interval=200",
    ]);
    const file = `${id}${quick ? "-quick" : ""}.cpuprofile`;
    console.log(`\nprofile of memmap ${id} (bench/profiles/${file}):`);
    console.log(formatSummary(JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"))));
  }
}

// ----------------------------------------------------------------------------- ping-pong

// Cross-process round trips through wait/notify, beside a pipe between the same two processes
// and CPython's closest equivalents (bench/pingpong.mjs, which also runs alone): after a run of
// every workload, printed, and added to docs/benchmarks.md when the run writes it.
if (only === null) {
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
