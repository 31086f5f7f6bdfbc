#!/usr/bin/env node
// Differential fuzzing of memmap against CPython 3.13 (see engine.mjs).
//
//   npm run fuzz -- --seed 7 --ops 200000
//
// Options: --seed N (default: from the clock, printed), --ops M (operations, default 20000),
// --max-ops K (operations per program, default 40), --reports R (mismatches to shrink,
// default 3), --only OP (shrink and print only mismatches at this operation), --json (print
// the summary as one JSON line), --budget B (shrinking rounds per report, default 120), --tmpdir DIR (where the programs' files go, default the
// system's), --mutant NAME (self-test only: see MUTANTS in engine.mjs).
// Exit status 0 when every result matched, 1 on a mismatch, 2 on a usage error.
import { fuzz, MUTANTS, NORMALISATIONS } from "./engine.mjs";

function parse(argv) {
  const o = { seed: Date.now() % 1_000_000_007, ops: 20000, maxOps: 40, reports: 3, json: false, mutant: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < 0) usage(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === "--seed") o.seed = num();
    else if (a === "--ops") o.ops = num();
    else if (a === "--max-ops") o.maxOps = Math.max(1, num());
    else if (a === "--reports") o.reports = num();
    else if (a === "--json") o.json = true;
    else if (a === "--only") o.only = argv[++i];
    else if (a === "--tmpdir") o.tmpdir = argv[++i];
    else if (a === "--budget") o.budget = Math.max(1, num());
    else if (a === "--mutant") {
      o.mutant = argv[++i];
      if (!(o.mutant in MUTANTS)) usage(`unknown mutant ${o.mutant} (${Object.keys(MUTANTS).join(", ")})`);
    } else if (a === "--help" || a === "-h") usage();
    else usage(`unknown option ${a}`);
  }
  return o;
}

function usage(msg) {
  if (msg) console.error(msg);
  console.error("usage: node test/fuzz/run.mjs [--seed N] [--ops M] [--max-ops K] [--reports R] [--only OP] [--budget B] [--tmpdir DIR] [--json]");
  process.exit(2);
}

const o = parse(process.argv.slice(2));
const log = o.json ? () => {} : (s) => process.stderr.write(`\r${s}   `);
const summary = fuzz({ seed: o.seed, ops: o.ops, maxOps: o.maxOps, maxReports: o.reports, mutant: o.mutant, only: o.only, tmpdir: o.tmpdir, budget: o.budget, log });

if (o.json) {
  console.log(JSON.stringify(summary));
} else {
  process.stderr.write("\n");
  const lines = [];
  lines.push(`seed ${summary.seed}: ${summary.programs} programs, ${summary.ops} operations compared in ${(summary.ms / 1000).toFixed(1)} s`);
  lines.push(`constructions refused (compared): ${summary.ctorErrors}`);
  lines.push("operations (values / errors / not run in CPython):");
  for (const [k, v] of Object.entries(summary.perOp).sort()) lines.push(`  ${k.padEnd(10)} ${String(v.n).padStart(7)}  ${v.values} / ${v.errors} / ${v.skipped}`);
  lines.push("maps:");
  for (const [k, v] of Object.entries(summary.maps).sort((a, b) => b[1] - a[1])) lines.push(`  ${String(v).padStart(6)}  ${k}`);
  lines.push("normalisations applied:");
  for (const n of NORMALISATIONS) lines.push(`  ${n.name.padEnd(20)} ${summary.applied[n.name] ?? 0}`);
  lines.push(`mismatching programs: ${summary.mismatchingPrograms}`);
  for (const k of summary.mismatchKinds) lines.push(`  ${String(k.programs).padStart(6)}  ${k.kind}`);
  for (const r of summary.mismatches) {
    const mm = r.mismatch;
    lines.push("");
    lines.push(`=== mismatch: ${mm.kind} (program ${r.original.id}, ${r.original.ops} operations; shrunk to ${r.prog.ops.length} in ${r.rounds} rounds)`);
    lines.push(`operation ${mm.index}: ${JSON.stringify(mm.op ?? null)}`);
    lines.push(`CPython: ${JSON.stringify(mm.cpython ?? mm.fileCPython)}${mm.stateCPython ? ` state ${JSON.stringify(mm.stateCPython)}` : ""}`);
    lines.push(`memmap:  ${JSON.stringify(mm.memmap ?? mm.fileMemmap)}${mm.stateMemmap ? ` state ${JSON.stringify(mm.stateMemmap)}` : ""}`);
    lines.push(`expected from memmap: ${mm.want}`);
    lines.push("--- JavaScript");
    lines.push(r.js);
    lines.push("--- Python");
    lines.push(r.py);
  }
  console.log(lines.join("\n"));
}
process.exitCode = summary.mismatchingPrograms === 0 ? 0 : 1;
