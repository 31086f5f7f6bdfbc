#!/usr/bin/env node
// Operations outside issue 13's table, memmap against CPython 3.13 in the same run: small
// writes, stepped slices, short searches, the cursor, views, flush, size(), and copies of
// 4 KiB to 1 MiB (where a new Buffer per call costs more than CPython's bytes: docs/performance.md,
// "Large copies"), beside the way around that cost (a copy into a reused Buffer).
//
//   node bench/others.mjs [--quick] [--rounds=N] [--only=id,id]
//
// Each operation runs in its own process per implementation (this script re-run with --child,
// and bench/py_impl.py's interpreter with the Python text below), alternating memmap and CPython
// for --rounds rounds (default 3); a figure is the median over the rounds of each process's best
// pass after two untimed ones, CPU time per call. Offsets are drawn by the same generator on both
// sides. Needs PYENV_VERSION=3.13.0 python3, as bench/run.mjs does.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const opt = (name) => args.find((a) => a.startsWith(`--${name}`))?.split("=")[1] ?? (args.includes(`--${name}`) ? true : undefined);
const PASSES = 6;

/** The operations: [id, what, calls a pass, bytes the file needs, JavaScript body, Python body]. */
const OPS = [
  ["write64", "seek(p) + write(64 bytes)", 200_000, 4 << 20, "m.seek(p); m.write(d64);", "m.seek(p); m.write(d64)"],
  ["setslice64", "setSlice(p, p + 64, data) / m[p:p+64] = data", 200_000, 4 << 20, "m.setSlice(p, p + 64, d64);", "m[p:p+64] = d64"],
  ["step2", "slice(p, p + 64, 2) / m[p:p+64:2]", 200_000, 4 << 20, "s += m.slice(p, p + 64, 2)[0];", "s += m[p:p+64:2][0]"],
  ["find", "find(3 bytes, p, p + 200)", 200_000, 4 << 20, "s += m.find(nd, p, p + 200);", "s += m.find(nd, p, p + 200)"],
  ["rfind", "rfind(3 bytes, p, p + 200)", 200_000, 4 << 20, "s += m.rfind(nd, p, p + 200);", "s += m.rfind(nd, p, p + 200)"],
  ["cursor", "seek(p), seek(5, 1), tell()", 200_000, 4 << 20, "m.seek(p); m.seek(5, 1); s += m.tell();", "m.seek(p); m.seek(5, 1); s += m.tell()"],
  ["view64", "subarray(p, p + 64)[0] / memoryview(m)[p:p+64][0]", 200_000, 4 << 20, "s += m.subarray(p, p + 64)[0];", "s += mv[p:p+64][0]"],
  ["setbyte", "set(p, 97) / m[p] = 97", 1_000_000, 4 << 20, "m.set(p, 97);", "m[p] = 97"],
  ["flush", "flush(page, 4096) of a clean page", 20_000, 4 << 20, "m.flush(p - (p % 4096), 4096);", "m.flush(p - (p % 4096), 4096)"],
  ["size", "size()", 200_000, 4 << 20, "s += m.size();", "s += m.size()"],
  ["slice4k", "slice(p, p + 4096), random, cached 64 MiB", 50_000, 64 << 20, "s += m.slice(p, p + 4096)[0];", "s += m[p:p+4096][0]"],
  ["read64k", "read(65536), sequential", 2_048, 128 << 20, "if (m.tell() + 65536 > m.length) m.seek(0); s += m.read(65536)[0];", "if m.tell() + 65536 > len(m): m.seek(0)\n        s += m.read(65536)[0]"],
  ["into64k", "64 KiB into a reused Buffer, dst.set(m.subarray(q, q + 65536)) (CPython: read(65536))", 2_048, 128 << 20, "const q = m.tell() + 65536 > m.length ? 0 : m.tell(); dst.set(m.subarray(q, q + 65536)); m.seek(q + 65536); s += dst[0];", "if m.tell() + 65536 > len(m): m.seek(0)\n        s += m.read(65536)[0]"],
  ["read256k", "read(262144), sequential", 512, 128 << 20, "if (m.tell() + 262144 > m.length) m.seek(0); s += m.read(262144)[0];", "if m.tell() + 262144 > len(m): m.seek(0)\n        s += m.read(262144)[0]"],
  ["into256k", "256 KiB into a reused Buffer (CPython: read(262144))", 512, 128 << 20, "const q = m.tell() + 262144 > m.length ? 0 : m.tell(); dst.set(m.subarray(q, q + 262144)); m.seek(q + 262144); s += dst[0];", "if m.tell() + 262144 > len(m): m.seek(0)\n        s += m.read(262144)[0]"],
  ["read1m", "read(1 MiB), sequential", 128, 128 << 20, "if (m.tell() + 1048576 > m.length) m.seek(0); s += m.read(1048576)[0];", "if m.tell() + 1048576 > len(m): m.seek(0)\n        s += m.read(1048576)[0]"],
  ["into1m", "1 MiB into a reused Buffer (CPython: read(1 MiB))", 128, 128 << 20, "const q = m.tell() + 1048576 > m.length ? 0 : m.tell(); dst.set(m.subarray(q, q + 1048576)); m.seek(q + 1048576); s += dst[0];", "if m.tell() + 1048576 > len(m): m.seek(0)\n        s += m.read(1048576)[0]"],
];

/** Offsets of a pass: a fixed-seed linear congruential generator, the same on both sides. */
const LCG = "x = (x * 1103515245 + 12345) % 4294967296";

function jsChild(op, file) {
  const [, , calls, , body] = OPS.find((o) => o[0] === op);
  const run = new Function(
    "m", "idx", "d64", "nd", "dst",
    `let s = 0; for (let k = 0; k < idx.length; k++) { const p = idx[k]; ${body} } return s;`,
  );
  return import("../dist/index.js").then(({ MMap }) => {
    const m = MMap.open(file);
    const span = m.length - 4096 - 300;
    const idx = new Float64Array(calls);
    let x = 7;
    for (let i = 0; i < calls; i++) {
      x = (x * 1103515245 + 12345) % 4294967296;
      idx[i] = x % span;
    }
    const d64 = Buffer.alloc(64, 0x61);
    const nd = Buffer.from("qzx");
    const dst = Buffer.alloc(1 << 20);
    const out = [];
    for (let r = 0; r < PASSES; r++) {
      const c0 = process.cpuUsage();
      run(m, idx, d64, nd, dst);
      const c = process.cpuUsage(c0);
      out.push(((c.user + c.system) * 1000) / calls);
    }
    m.close();
    return Math.min(...out.slice(2));
  });
}

function pyText(op, file) {
  const [, , calls, , , body] = OPS.find((o) => o[0] === op);
  return `
import mmap, time
f = open(${JSON.stringify(file)}, "r+b")
m = mmap.mmap(f.fileno(), 0)
mv = memoryview(m)
span = len(m) - 4096 - 300
idx = []
x = 7
for i in range(${calls}):
    ${LCG}
    idx.append(x % span)
d64 = b"a" * 64
nd = b"qzx"
def run():
    s = 0
    for p in idx:
        ${body}
    return s
out = []
for r in range(${PASSES}):
    t0 = time.process_time_ns()
    run()
    out.append((time.process_time_ns() - t0) / ${calls})
print(min(out[2:]))
mv.release()
`;
}

if (args[0] === "--child") {
  console.log(await jsChild(args[1], args[2]));
  process.exit(0);
}

const rounds = Number(opt("rounds") ?? 3);
const quick = opt("quick") === true;
const pyEnv = { ...process.env, PYENV_VERSION: process.env.PYENV_VERSION ?? "3.13.0" };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-others-"));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const show = (ns) => (ns >= 1000 ? `${(ns / 1000).toPrecision(3)} µs` : `${ns.toPrecision(3)} ns`);
try {
  const files = new Map();
  const fileFor = (bytes) => {
    const size = quick ? Math.min(bytes, 16 << 20) : bytes;
    if (!files.has(size)) {
      const p = path.join(dir, `data-${size}.bin`);
      fs.writeFileSync(p, Buffer.alloc(size, "the quick brown fox jumps over the lazy dog\n"));
      files.set(size, p);
    }
    return files.get(size);
  };
  console.log(`| operation | CPython | memmap | memmap vs CPython |\n|---|--:|--:|--:|`);
  const only = typeof opt("only") === "string" ? opt("only").split(",") : null;
  for (const [id, what, , bytes] of OPS) {
    if (only !== null && !only.includes(id)) continue;
    const file = fileFor(bytes);
    const js = [];
    const cp = [];
    for (let r = 0; r < rounds; r++) {
      const j = spawnSync(process.execPath, [script, "--child", id, file], { encoding: "utf8" });
      if (j.status !== 0) throw new Error(`memmap ${id}: ${j.stderr}`);
      js.push(Number(j.stdout.trim()));
      {
        const c = spawnSync("python3", ["-c", pyText(id, file)], { encoding: "utf8", env: pyEnv });
        if (c.status !== 0) throw new Error(`CPython ${id}: ${c.stderr}`);
        cp.push(Number(c.stdout.trim()));
      }
    }
    const a = median(js);
    const b = median(cp);
    console.log(`| ${what} | ${show(b)} | ${show(a)} | ${(b / a).toFixed(2)}× |`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
