// find/rfind's vector kernels (native/search.c): the AVX2 kernel chosen at load on CPUs that
// have it, and the 16-byte kernel (SSE2, NEON) that MEMMAP_NO_AVX2=1 keeps. Both must give
// exactly what a plain search gives, for needles across every block edge and at the ends of
// a range, without reading outside it.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runNode, tmpdir, WINDOWS } from "./helpers.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const AVX2 = process.arch === "x64" && process.platform === "linux" && /\bavx2\b/.test(fs.readFileSync("/proc/cpuinfo", "utf8"));

for (const [name, extra] of [
  ["the kernel chosen for this CPU", {}],
  ["MEMMAP_NO_AVX2=1 (the 16-byte kernel)", { MEMMAP_NO_AVX2: "1" }],
]) {
  test(`find/rfind across 32/64-byte block edges and range ends: ${name}`, () => {
    const env = { ...process.env, ...extra };
    if (!("MEMMAP_NO_AVX2" in extra)) delete env.MEMMAP_NO_AVX2;
    const r = runNode([path.join(here, "fixtures", "find-edges.mjs")], { env });
    assert.equal(r.signal, null, `child killed by ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr || String(r.error));
    const { checks, failures } = JSON.parse(r.stdout);
    assert.deepEqual(failures, []);
    assert.ok(checks > 50_000, `${checks} checks`);
  });
}

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
