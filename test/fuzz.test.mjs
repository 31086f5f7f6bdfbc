// Differential fuzzing against CPython 3.13 (issue #3): a fixed-seed batch of at least
// 20,000 random operations must give the same results, errors and states in memmap as in
// CPython's mmap, up to the deliberate differences listed in test/fuzz/engine.mjs
// (NORMALISATIONS). A longer run: `npm run fuzz -- --seed N --ops M`.
//
// The batch runs in a child process (test/fuzz/run.mjs): random operations on mapped memory
// must not be able to take the test runner down with them; a crash fails the test instead.
import test from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { python, runNode, tmpdir } from "./helpers.mjs";
import { NORMALISATIONS, OPS, MUTANTS, evaluate } from "./fuzz/engine.mjs";

const NO_PYTHON = "CPython 3.13 (PYENV_VERSION=3.13.0 python3) is not available";
const RUN = path.join(path.dirname(fileURLToPath(import.meta.url)), "fuzz", "run.mjs");
const SEED = 20250601;
const OPS_IN_CI = 20000;

/** Runs the fuzzer in a child process; returns its exit status and JSON summary. */
function fuzz(args) {
  // The programs' files go to a directory removed when this process exits, even if the child dies.
  const r = runNode([RUN, ...args, "--tmpdir", tmpdir("memmap-fuzz-"), "--json"], { maxBuffer: 1 << 28 });
  assert.equal(r.signal, null, `the fuzzer died with ${r.signal}: ${r.stderr}`);
  assert.ok(r.status === 0 || r.status === 1, `the fuzzer failed (status ${r.status}): ${r.stderr}`);
  const last = r.stdout.trim().split("\n").at(-1);
  return { status: r.status, summary: JSON.parse(last) };
}

/** The shrunk reproductions of a summary, for an assertion message. */
function describe(summary) {
  const kinds = summary.mismatchKinds.map((k) => `${k.programs} programs: ${k.kind}`).join("\n");
  return `${kinds}\n${summary.mismatches
    .map((m) => {
      const mm = m.mismatch;
      return [
        `--- mismatch at ${mm.sig}, operation ${mm.index}: ${JSON.stringify(mm.op ?? null)}`,
        `CPython ${JSON.stringify(mm.cpython ?? mm.fileCPython)} ${JSON.stringify(mm.stateCPython ?? "")}`,
        `memmap  ${JSON.stringify(mm.memmap ?? mm.fileMemmap)} ${JSON.stringify(mm.stateMemmap ?? "")}`,
        `expected from memmap: ${mm.want}`,
        "JavaScript:",
        m.js,
        "Python:",
        m.py,
      ].join("\n");
    })
    .join("\n")}`;
}

test(`a fixed-seed batch of ${OPS_IN_CI} random operations gives CPython's results, errors and states`, (t) => {
  if (python === null) return t.skip(NO_PYTHON);
  const { status, summary } = fuzz(["--seed", String(SEED), "--ops", String(OPS_IN_CI), "--reports", "6", "--budget", "40"]);
  assert.ok(summary.ops >= OPS_IN_CI, `only ${summary.ops} operations compared`);

  // The batch is not vacuous: every operation ran often, both ways where it can fail.
  for (const op of Object.keys(OPS)) {
    const s = summary.perOp[op];
    assert.ok(s !== undefined && s.n >= 100, `${op} ran ${s?.n ?? 0} times`);
    assert.ok(s.values >= 20, `${op} returned normally only ${s.values} times`);
    if (op !== "seekable" && op !== "closed" && op !== "close") assert.ok(s.errors >= 10, `${op} threw only ${s.errors} times`);
  }
  // Every kind of map was made, and refused constructions were compared too.
  const labels = Object.keys(summary.maps).join("\n");
  for (const part of ["anon", "file", "READ", "WRITE", "COPY", "DEFAULT", "MAP_PRIVATE", "prot 1", "trackfd false", "offset 4096"]) {
    assert.ok(labels.includes(part), `no map with ${part}: ${labels}`);
  }
  assert.ok(summary.ctorErrors >= 20, `only ${summary.ctorErrors} refused constructions`);
  // Every normalisation is exercised (so each is known to be needed, and to be the only
  // allowance made); a failed resize depends on the kernel refusing mremap, so it may not occur.
  for (const n of NORMALISATIONS) {
    if (n.name === "failed-resize-undone") continue;
    assert.ok((summary.applied[n.name] ?? 0) > 0, `normalisation ${n.name} never applied`);
  }

  assert.equal(summary.mismatchingPrograms, 0, `${summary.mismatchingPrograms} programs differ from CPython (seed ${SEED}):\n${describe(summary)}`);
  assert.equal(status, 0);
});

// The fuzzer's model of memmap's arguments must be memmap's own: an argument the model calls
// invalid where memmap (and CPython) take it turns a correct result into a reported mismatch.
test("the fuzzer models madvise's start and length as memmap validates them: any ssize_t (a start of -2^63 on a closed map is ERR_MMAP_CLOSED, as CPython's ValueError; the model wanted an argument error)", (t) => {
  if (python === null) return t.skip(NO_PYTHON);
  const big = (e, neg) => ({ $: "big", v: `${neg ? "-" : ""}${2n ** BigInt(e)}` });
  const prog = (ops) => ({ id: 0, seed: 0, map: { kind: "anon", len: 1 }, ops });
  const progs = [
    prog([{ op: "close", args: [] }, { op: "madvise", args: [0, big(63, true)] }]),
    prog([{ op: "close", args: [] }, { op: "madvise", args: [0, 0, big(62)] }]),
    prog([{ op: "madvise", args: [0, big(62, true)] }]),
  ];
  const found = evaluate(progs, tmpdir("memmap-fuzz-model-"));
  assert.deepEqual(found.map((m) => m && m.kind), [null, null, null]);
});

// The fuzzer itself: a deliberately wrong memmap (a mutant) must be caught, and the program
// shrunk to the one operation that shows it, with reproductions that run.
for (const [name, mutant] of Object.entries(MUTANTS)) {
  test(`the fuzzer catches the ${name} mutant and shrinks it to a runnable reproduction`, (t) => {
    if (python === null) return t.skip(NO_PYTHON);
    const { status, summary } = fuzz(["--seed", "3", "--ops", "1500", "--mutant", name, "--only", mutant.op, "--reports", "1"]);
    assert.equal(status, 1);
    assert.ok(summary.mismatchingPrograms > 0);
    assert.equal(summary.mismatches.length, 1);
    const [report] = summary.mismatches;
    assert.equal(report.mismatch.sig, mutant.op);
    assert.ok(report.original.ops > report.prog.ops.length || report.original.ops === 1);
    assert.ok(report.prog.ops.length <= 2, `shrunk to ${report.prog.ops.length} operations: ${JSON.stringify(report.prog.ops)}`);
    assert.equal(report.prog.ops.at(-1).op, mutant.op);

    // The snippets run as they are printed (without the mutant, so without the mismatch).
    const js = runNode(["--input-type=module", "-e", report.js]);
    assert.equal(js.status, 0, js.stderr);
    assert.ok(js.stdout.trim().split("\n").length >= 2, js.stdout);
    const py = spawnSync(python.cmd, ["-c", report.py], { env: python.env, encoding: "utf8" });
    assert.equal(py.status, 0, py.stderr);
    assert.equal(py.stdout.trim().split("\n").length, js.stdout.trim().split("\n").length, `${js.stdout}\n${py.stdout}`);
  });
}

// Several maps of one file at once, and the file itself (test/fuzz/multi.mjs): shared, read-only
// and copy-on-write maps at different offsets, resized, closed and mapped again, while the file
// is written, truncated and grown through its descriptor; calls CPython dies on (SIGBUS past a
// shrunk file's end) must be ERR_MMAP_TRUNCATED. A longer run: node test/fuzz/multi.mjs --seed N --programs P.
const MULTI = path.join(path.dirname(fileURLToPath(import.meta.url)), "fuzz", "multi.mjs");

test("multi-map differential fuzzing: a fixed batch of programs over two or three maps of one file matches CPython 3.13", { skip: python === null && NO_PYTHON }, () => {
  for (const seed of [1, 2, 4]) {
    const r = runNode([MULTI, "--seed", String(seed), "--programs", "150", "--reports", "1", "--tmpdir", tmpdir("memmap-multi-"), "--json"], { maxBuffer: 1 << 28 });
    assert.equal(r.signal, null, `the fuzzer died with ${r.signal}: ${r.stderr}`);
    assert.ok(r.status === 0 || r.status === 1, `the fuzzer failed (status ${r.status}): ${r.stderr}`);
    const s = JSON.parse(r.stdout.trim().split("\n").at(-1));
    assert.equal(s.programs, 150);
    assert.ok(s.ops > 2500, `only ${s.ops} operations`);
    const sigbus = Object.values(s.perOp).reduce((n, v) => n + v.sigbus, 0);
    assert.ok(sigbus > 0, "no call reached a page past the end of a shrunk file");
    assert.equal(s.mismatchingPrograms, 0, JSON.stringify(s.mismatches.map((m) => ({ kind: m.mismatch.kind, js: m.js })), null, 1));
  }
});
