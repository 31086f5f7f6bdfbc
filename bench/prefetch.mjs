#!/usr/bin/env node
// Prefetch and residency, measured (docs/residency.md has a run's results):
//   - reading a cold file of --size MiB (default 1024) into memory: m.prefetch() (Linux
//     MADV_POPULATE_READ), m.prefetch() on the path of kernels without it (MEMMAP_NO_POPULATE=1:
//     MADV_WILLNEED and a read of every page, in a child process), fs.readSync in 1 MiB chunks
//     (what a Node program does without mmap), and a JavaScript loop reading one byte per page
//     through the map (page faults one at a time, with the kernel's read-ahead);
//   - the cost of m.residency() per GiB of map, with every page in memory and with none.
// "Cold" means none of the file's pages in the page cache: posix_fadvise(POSIX_FADV_DONTNEED)
// evicts them (through python3), and m.residency() checks that it did before each run.
//
//   npm run build:ts && node bench/prefetch.mjs [--size=MiB] [--runs=N]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { MMap, ACCESS_READ, PAGESIZE } from "../dist/index.js";

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")));
const MiB = 2 ** 20;
const size = Number(args.size ?? 1024) * MiB;
const runs = Number(args.runs ?? 3);
const here = fileURLToPath(import.meta.url);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const sum = (a) => a.reduce((n, x) => n + x, 0);

/** Evicts the file's pages from the page cache (they are clean: the file was synced). */
function evict(file) {
  const r = spawnSync("python3", ["-c", "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)", file]);
  if (r.status !== 0) throw new Error(`posix_fadvise through python3 failed: ${r.stderr}`);
}

/** Pages of the file in the page cache (mincore of a fresh map: a file map shows the cache). */
function cached(file) {
  const m = MMap.open(file, { access: ACCESS_READ });
  try {
    return sum(m.residency());
  } finally {
    m.close();
  }
}

function cold(file) {
  evict(file);
  const n = cached(file);
  if (n > 0) throw new Error(`${n} pages still cached after posix_fadvise`);
}

// A child run: one cold prefetch, its time in ms on stdout (MEMMAP_NO_POPULATE is read at load).
if (args.child === "prefetch") {
  const m = MMap.open(args.file, { access: ACCESS_READ });
  const t0 = process.hrtime.bigint();
  await m.prefetch();
  const t = ms(t0);
  const resident = sum(m.residency());
  m.close();
  console.log(JSON.stringify({ t, resident }));
  process.exit(0);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-prefetch-"));
const file = path.join(dir, "data.bin");
try {
  // Data that is not zeros, so that no file system can skip it.
  const chunk = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
  const fd = fs.openSync(file, "w");
  for (let at = 0; at < size; at += MiB) fs.writeSync(fd, chunk, 0, Math.min(MiB, size - at), at);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const pages = Math.ceil(size / PAGESIZE);

  const results = [];
  const measure = (name, once) => {
    const times = [];
    for (let r = 0; r < runs; r++) {
      cold(file);
      times.push(once());
    }
    const t = median(times);
    results.push({ name, ms: t, gibps: size / 2 ** 30 / (t / 1000) });
  };

  measure("m.prefetch() (MADV_POPULATE_READ)", () => {
    const out = spawnSync(process.execPath, [here, "--child=prefetch", `--file=${file}`], { encoding: "utf8" });
    const { t, resident } = JSON.parse(out.stdout);
    if (resident !== pages) throw new Error(`prefetch left ${pages - resident} pages out`);
    return t;
  });
  measure("m.prefetch() without it (MADV_WILLNEED + a read per page)", () => {
    const env = { ...process.env, MEMMAP_NO_POPULATE: "1" };
    const out = spawnSync(process.execPath, [here, "--child=prefetch", `--file=${file}`], { encoding: "utf8", env });
    const { t, resident } = JSON.parse(out.stdout);
    if (resident !== pages) throw new Error(`prefetch left ${pages - resident} pages out`);
    return t;
  });
  measure("fs.readSync, 1 MiB chunks", () => {
    const buf = Buffer.allocUnsafe(MiB);
    const fd2 = fs.openSync(file, "r");
    const t0 = process.hrtime.bigint();
    for (let at = 0; at < size; at += MiB) fs.readSync(fd2, buf, 0, MiB, at);
    const t = ms(t0);
    fs.closeSync(fd2);
    return t;
  });
  measure("a JavaScript loop: m.get() of one byte per page", () => {
    const m = MMap.open(file, { access: ACCESS_READ });
    const t0 = process.hrtime.bigint();
    let x = 0;
    for (let at = 0; at < size; at += PAGESIZE) x ^= m.get(at);
    const t = ms(t0);
    m.close();
    return t + (x & 0); // keep x alive
  });

  // residency(): the cost per GiB, with every page in memory (the file just read) and with none.
  const residencyCost = (m) => {
    const n = 20;
    m.residency();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) m.residency();
    return ms(t0) / n / (m.length / 2 ** 30);
  };
  const m = MMap.open(file, { access: ACCESS_READ });
  await m.prefetch();
  const warm = residencyCost(m);
  m.close();
  cold(file);
  const m2 = MMap.open(file, { access: ACCESS_READ });
  const none = residencyCost(m2);
  m2.close();

  const gib = (size / 2 ** 30).toFixed(size >= 2 ** 30 ? 0 : 2);
  console.log(`A cold ${gib} GiB file into memory (median of ${runs}), ${os.cpus().length} cores, Linux ${os.release()}, Node ${process.version}:`);
  console.log("| how | time | GiB/s |\n|---|--:|--:|");
  for (const r of results) console.log(`| ${r.name} | ${r.ms.toFixed(0)} ms | ${r.gibps.toFixed(2)} |`);
  console.log(`\nm.residency() per GiB of map: ${warm.toFixed(3)} ms with every page in memory, ${none.toFixed(3)} ms with none.`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
