// find/rfind's vector kernels (native/search.c): the AVX2 kernel chosen at load on CPUs that
// have it, and the 16-byte kernel (SSE2, NEON) that MEMMAP_NO_AVX2=1 keeps; and the two-way
// search that takes over when a kernel's compares cost too much (MEMMAP_TWO_WAY=1: from the
// first candidate). All must give exactly what a plain search gives, for needles across every
// block edge and at the ends of a range, without reading outside it.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runNode, tmpdir, WINDOWS } from "./helpers.mjs";
import { MMap, MAP_PRIVATE } from "../dist/index.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const AVX2 = process.arch === "x64" && process.platform === "linux" && /\bavx2\b/.test(fs.readFileSync("/proc/cpuinfo", "utf8"));

for (const [name, extra] of [
  ["the kernel chosen for this CPU", {}],
  ["MEMMAP_NO_AVX2=1 (the 16-byte kernel)", { MEMMAP_NO_AVX2: "1" }],
  ["MEMMAP_TWO_WAY=1 (the two-way search from the first candidate)", { MEMMAP_TWO_WAY: "1" }],
]) {
  test(`find/rfind across 32/64-byte block edges and range ends: ${name}`, () => {
    const env = { ...process.env, ...extra };
    for (const key of ["MEMMAP_NO_AVX2", "MEMMAP_TWO_WAY"]) if (!(key in extra)) delete env[key];
    const r = runNode([path.join(here, "fixtures", "find-edges.mjs")], { env });
    assert.equal(r.signal, null, `child killed by ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr || String(r.error));
    const { checks, failures } = JSON.parse(r.stdout);
    assert.deepEqual(failures, []);
    assert.ok(checks > 50_000, `${checks} checks`);
  });
}

test("find/rfind of a long needle that matches far into itself at every position take linear time (the two-way search)", () => {
  // 16 MiB of 'a' and a needle of 64,001 'a' with one 'b' in the middle: every position passes the
  // first/last-byte filter and compares 32,000 bytes before it fails. Compared in full at each
  // position, that is 5 * 10^11 bytes a search (about 13 s each here); the two-way search reads
  // each byte about twice (milliseconds). The bound leaves a loaded machine 100 times the time.
  const N = 16 * 1024 * 1024;
  const K = 64_001;
  const m = new MMap(-1, N, { flags: MAP_PRIVATE });
  try {
    m.setSlice(0, N, Buffer.alloc(N, "a"));
    const needle = Buffer.alloc(K, "a");
    needle[K >> 1] = 0x62;
    const t0 = process.hrtime.bigint();
    assert.equal(m.find(needle), -1);
    assert.equal(m.rfind(needle), -1);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.ok(ms < 8000, `find + rfind took ${ms.toFixed(0)} ms`);
    // and where it does occur: once near each end
    m.setSlice(1000, 1000 + K, needle);
    m.setSlice(N - K - 3, N - 3, needle);
    assert.equal(m.find(needle), 1000);
    assert.equal(m.rfind(needle), N - K - 3);
    assert.equal(m.find(needle, 1001), N - K - 3);
    assert.equal(m.rfind(needle, 0, N - 4), 1000);
  } finally {
    m.close();
  }
});

/** A C compiler, or null. */
function compiler() {
  for (const cc of [process.env.CC, "cc", "gcc", "clang"]) {
    if (cc && spawnSync(cc, ["--version"], { stdio: "ignore" }).status === 0) return cc;
  }
  return null;
}

const CC = WINDOWS ? null : compiler();

test(
  "each kernel, called directly, equals a naive search with the haystack against inaccessible pages",
  { skip: WINDOWS ? "the harness uses mmap/mprotect" : CC === null ? "no C compiler (cc, gcc, clang or $CC)" : false },
  () => {
    const dir = tmpdir("memmap-kernels-");
    const exe = path.join(dir, "search-kernels");
    const cc = spawnSync(CC, ["-std=gnu11", "-O2", "-o", exe, path.join(here, "fixtures", "search-kernels.c")], { encoding: "utf8" });
    assert.equal(cc.status, 0, cc.stderr);
    const r = spawnSync(exe, [], { encoding: "utf8", timeout: 120_000 });
    assert.equal(r.signal, null, `killed by ${r.signal} (a read outside the haystack faults): ${r.stdout}${r.stderr}`);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^vec16 find: \d+ checks, 0 failures$/m);
    assert.match(r.stdout, /^vec16 rfind: \d+ checks, 0 failures$/m);
    assert.match(r.stdout, /^(sse2|memchr) line ends: \d+ checks, 0 failures$/m);
    if (AVX2) assert.match(r.stdout, /^avx2 line ends: \d+ checks, 0 failures$/m);
    if (AVX2) {
      assert.match(r.stdout, /^chosen at load: avx2$/m);
      assert.match(r.stdout, /^avx2 find: \d+ checks, 0 failures$/m);
      assert.match(r.stdout, /^avx2 rfind: \d+ checks, 0 failures$/m);
    }
  },
);
