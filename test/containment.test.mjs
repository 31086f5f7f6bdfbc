// What fault containment costs and what it tells (docs/safety.md, "Faults contained"): a constant
// number of kernel mappings per map whatever the number of faults (vm.max_map_count is 65,530
// by default, and each mapping a contained fault splits off used to count); I/O errors inside
// the file (a full file system) reported as such, never as a truncation, and never lost
// silently; no hang when JavaScript listens to SIGBUS or SIGSEGV. Every case runs in a child
// process and asserts how it ended. The children inherit MEMMAP_NO_EXTERNAL_BUFFERS: without
// views only the cases made of method calls run.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { ASAN, errnoOf, runNode, tmpdir, VIEWS, WINDOWS } from "./helpers.mjs";

const dir = tmpdir("memmap-containment-");
const index = new URL("../dist/index.js", import.meta.url).href;
const NO_VIEWS = "raw views only (MEMMAP_NO_EXTERNAL_BUFFERS=1: no raw access exists, the methods copy)";
const NO_PROC = "/proc/self/maps and vm.max_map_count are Linux's (Windows has neither limit: test/windows.test.mjs)";
const PAGE = 4096;

const prelude = `
import fs from "node:fs";
import * as mm from ${JSON.stringify(index)};
const rows = () => fs.readFileSync("/proc/self/maps", "utf8").split("\\n").filter(Boolean)
  .map((l) => l.match(/^([0-9a-f]+)-([0-9a-f]+) \\S+ \\S+ \\S+ \\S+ *(.*)$/))
  .map((x) => ({ a: BigInt("0x" + x[1]), b: BigInt("0x" + x[2]), path: x[3] }));
// Every kernel mapping of the process (Node's own come and go: compare with some slack).
const maps = () => rows().length;
// The kernel mappings that make up one map of \`file\` of \`length\` bytes: those inside its range,
// which starts where the first mapping of the file does.
const mappingsOf = (file, length) => {
  const all = rows(), own = all.filter((r) => r.path === file);
  if (own.length === 0) return -1;
  const a = own.reduce((m, r) => (r.a < m ? r.a : m), own[0].a), b = a + BigInt(length);
  return all.filter((r) => r.a < b && r.b > a).length;
};
const err = (fn) => { try { const v = fn(); return v === undefined ? "ok" : v; } catch (e) {
  return [e.constructor.name, e.code, e.errno ?? null, e.syscall ?? null, e.start ?? e.goneStart ?? null, e.end ?? e.goneEnd ?? null, e.ioStart ?? null, e.ioEnd ?? null]; } };
const views = process.env.MEMMAP_NO_EXTERNAL_BUFFERS !== "1";
`;

function script(body) {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(file, `${prelude}\n${body}\n`);
  return file;
}

function child(body, options = {}) {
  return runNode([script(body)], options);
}

/** The JSON a child printed on its last line. */
function result(r) {
  assert.equal(r.signal, null, `ended by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1));
}

test("70,000 stray writes through a view of one ACCESS_READ map cost no kernel mapping, and never reach the file", { skip: (!VIEWS && NO_VIEWS) || (WINDOWS && NO_PROC) }, (t) => {
  const f = path.join(dir, "ro-many.bin");
  const r = child(`
    const N = 70000, f = ${JSON.stringify(f)};
    fs.writeFileSync(f, ""); fs.truncateSync(f, 2 * N * 4096);      // sparse: reads zeros
    const m = mm.MMap.open(f, { access: mm.ACCESS_READ });
    const v = m.buffer, before = mappingsOf(f, m.length), t0 = performance.now();
    for (let i = 0; i < N; i++) v[2 * i * 4096 + 1] = 1 + (i % 200);  // every other page: each used to split the mapping
    const ms = performance.now() - t0, grew = mappingsOf(f, m.length) - before;
    let kept = true;
    for (let i = 0; i < N; i += 97) if (m.get(2 * i * 4096 + 1) !== 1 + (i % 200) || v[2 * i * 4096] !== 0) kept = false;
    m.close();
    const fd = fs.openSync(f, "r"), b = Buffer.alloc(1);
    let clean = true;
    for (let i = 0; i < N; i += 97) { fs.readSync(fd, b, 0, 1, 2 * i * 4096 + 1); if (b[0] !== 0) clean = false; }
    console.log(JSON.stringify({ grew, kept, clean, ms: Math.round(ms) }));
  `);
  const got = result(r);
  t.diagnostic(`70,000 stray writes: ${got.ms} ms, mappings +${got.grew}`);
  assert.equal(got.grew, 0, "the map stays one mapping");
  assert.equal(got.kept, true, "the writes landed in the process's own copy");
  assert.equal(got.clean, true, "the file never saw them");
});

test("raw reads of 70,000 pages past the end of a file that shrank: the whole lost tail is replaced at once", { skip: (!VIEWS && NO_VIEWS) || (WINDOWS && NO_PROC) }, (t) => {
  const f = path.join(dir, "tail-many.bin");
  const r = child(`
    const N = 70000, f = ${JSON.stringify(f)}, out = {};
    for (const trackfd of [true, false]) {
      fs.writeFileSync(f, ""); fs.truncateSync(f, 2 * N * 4096);
      fs.writeSync(fs.openSync(f, "r+"), Buffer.alloc(3 * 4096 + 100, 7), 0, 3 * 4096 + 100, 0);
      const fd = fs.openSync(f, "r+");
      const m = new mm.MMap(fd, 0, { trackfd });
      fs.closeSync(fd);
      const v = m.buffer, before = mappingsOf(f, m.length), t0 = performance.now();
      fs.truncateSync(f, 3 * 4096 + 100);
      let sum = 0;
      for (let i = N - 1; i >= 2; i--) sum += v[2 * i * 4096];     // from the end down: each page faulted, once
      out[trackfd] = {
        sum, grew: mappingsOf(f, m.length) - before, ms: Math.round(performance.now() - t0),
        head: [m.get(0), m.get(3 * 4096 + 99)],
        gone: err(() => m.get(5 * 4096)),
      };
      m.close();
    }
    console.log(JSON.stringify(out));
  `);
  const got = result(r);
  t.diagnostic(`70,000 lost pages read: ${got.true.ms} ms with a descriptor, ${got.false.ms} ms without; mappings +${got.true.grew}, +${got.false.grew}`);
  for (const k of ["true", "false"]) {
    assert.equal(got[k].sum, 0, "lost pages read zeros");
    assert.equal(got[k].grew, 1, `trackfd ${k}: one zero tail`);
    assert.deepEqual(got[k].head, [7, 7], "what is left of the file still reads");
  }
  // With a descriptor the loss starts at the file's end; without one, at the lowest page touched.
  assert.deepEqual(got.true.gone, ["Error", "ERR_MMAP_TRUNCATED", null, null, 3 * PAGE + 100, 2 * 70000 * PAGE, null, null]);
  assert.deepEqual(got.false.gone, ["Error", "ERR_MMAP_TRUNCATED", null, null, 4 * PAGE, 2 * 70000 * PAGE, null, null]);
});

test("30,000 maps of a truncated file without descriptors, get() on each: the process lives, each map's containment costs one mapping at most", { skip: WINDOWS && NO_PROC }, (t) => {
  const f = path.join(dir, "many-maps.bin");
  const r = child(`
    const N = 30000, f = ${JSON.stringify(f)};
    fs.writeFileSync(f, Buffer.alloc(4 * 4096, 1));
    const fd = fs.openSync(f, "r"), keep = [];
    for (let i = 0; i < N; i++) keep.push(new mm.MMap(fd, 0, { access: mm.ACCESS_READ, trackfd: false }));
    fs.closeSync(fd);
    const mapped = maps(), t0 = performance.now();
    fs.truncateSync(f, 0);
    const codes = {};
    for (const m of keep) { const e = err(() => m.get(2 * 4096)); codes[e[1]] = (codes[e[1]] ?? 0) + 1; }
    console.log(JSON.stringify({ codes, added: maps() - mapped, ms: Math.round(performance.now() - t0) }));
  `);
  const got = result(r);
  t.diagnostic(`30,000 truncated maps, get() on each: ${got.ms} ms, ${got.added} mappings more`);
  assert.deepEqual(got.codes, { ERR_MMAP_TRUNCATED: 30000 });
  // One zero tail per map, and some slack for Node's own mappings (JIT code, heap).
  assert.ok(got.added <= 30000 + 500, `${got.added} mappings more for 30,000 maps`);
});

// A file system of 1 MiB in a private mount namespace (unshare -m), so that nothing outside sees it.
const mountable = (() => {
  if (process.platform !== "linux") return "a tmpfs mount in a private mount namespace is Linux's";
  const probe = path.join(dir, "probe-mnt");
  fs.mkdirSync(probe, { recursive: true });
  const r = spawnSync("unshare", ["-m", "sh", "-c", `mount -t tmpfs -o size=1m tmpfs ${probe}`], { encoding: "utf8" });
  return r.status === 0 ? null : `cannot mount a tmpfs here (unshare -m + mount, needs root or CAP_SYS_ADMIN): ${(r.error?.message ?? r.stderr).trim()}`;
})();

function onFullTmpfs(body) {
  const mnt = path.join(dir, `mnt${Math.random().toString(36).slice(2)}`);
  fs.mkdirSync(mnt);
  const file = script(`const mnt = process.argv[2];\n${body}`);
  return spawnSync(
    "unshare",
    ["-m", "sh", "-c", `mount -t tmpfs -o size=1m tmpfs "$1" && exec "$2" "$3" "$1"`, "sh", mnt, process.execPath, file],
    { encoding: "utf8", timeout: 120_000 },
  );
}

test("a full file system: writes into holes throw ENOSPC (methods) or make the next flush throw it once (views); the rest keeps working", { skip: mountable ?? false }, () => {
  const r = onFullTmpfs(`
    const MiB = 1 << 20, out = {};
    fs.writeFileSync(mnt + "/filler", Buffer.alloc(MiB / 2, 1));     // half the file system
    const f = mnt + "/sparse.bin";
    fs.writeFileSync(f, ""); fs.truncateSync(f, 4 * MiB);             // 4 MiB of holes on 1 MiB
    const m = mm.MMap.open(f);
    const before = mappingsOf(f, m.length), wrote = [];
    if (views) {
      const v = m.buffer;
      for (let i = 0; i < 512; i++) { v[i * 8192] = 1; wrote.push(i * 8192); }  // no error can show here
      out.grew = mappingsOf(f, m.length) - before;                    // one page set aside at most
      out.flush = err(() => m.flush());
      out.settled = mappingsOf(f, m.length) - before;                 // the file's pages back in place
      out.flushAgain = err(() => m.flush());                          // reported once
    } else {
      out.methods = {};
      for (let i = 0; i < 512; i++) {
        const e = err(() => m.set(i * 8192, 1));
        if (e === "ok") wrote.push(i * 8192);
        else out.methods[e[1] + " " + e[3] + " " + (e[4] === i * 8192 && e[5] === i * 8192 + 1)] = (out.methods[e[1] + " " + e[3] + " " + (e[4] === i * 8192 && e[5] === i * 8192 + 1)] ?? 0) + 1;
      }
      out.flush = err(() => m.flush());                               // every loss was reported already
    }
    out.set = err(() => m.set(3 * MiB + 5, 2));                       // into a hole: the call's own range
    out.setSlice = err(() => m.setSlice(3 * MiB + 8192, 3 * MiB + 3 * 8192, Buffer.alloc(2 * 8192, 3)));
    out.reads = [m.get(0), m.get(8192), m.slice(0, 3).toString("hex")]; // pages in the file still read
    out.afterErrors = err(() => m.flush());
    fs.unlinkSync(mnt + "/filler");                                   // space again: the same pages work
    out.setAgain = err(() => m.set(3 * MiB + 5, 2));
    out.flushAsync = await m.flushAsync().then(() => "ok", (e) => [e.code, e.syscall]);
    if (views) {
      const st = fs.statfsSync(mnt);                                  // full again, written through a view
      fs.writeFileSync(mnt + "/filler", Buffer.alloc(st.bavail * st.bsize, 1));
      const v = m.buffer;
      for (let i = 256; i < 512; i++) v[i * 8192 + 1] = 4;
      out.flushAsyncFull = await m.flushAsync().then(() => "ok", (e) => [e.code, e.errno, e.syscall, e.ioStart < e.ioEnd]);
      out.flushAsyncAgain = await m.flushAsync().then(() => "ok", (e) => [e.code, e.syscall]);
      v[300 * 8192 + 2] = 5;                                          // lost again, then close() during the flush
      const pending = m.flushAsync();
      m.close();
      out.flushAsyncClosed = await pending.then(() => "ok", (e) => [e.code, e.syscall]);
    }
    m.close();
    const file = fs.readFileSync(f);
    out.file = [file[3 * MiB + 5], file.length];
    // Nothing lost silently: every write that no error covered is in the file.
    const flushErr = out.flush;
    out.silent = wrote.filter((at) => file[at] !== 1 && !(Array.isArray(flushErr) && at >= flushErr[6] && at < flushErr[7])).length;
    out.reached = wrote.filter((at) => file[at] === 1).length;
    console.log(JSON.stringify(out));
  `);
  const got = result(r);
  const ENOSPC = errnoOf("ENOSPC");
  const MiB = 1 << 20;
  if (VIEWS) {
    assert.ok(got.grew <= 2, `mappings grew by ${got.grew} while a page was set aside`);
    assert.equal(got.flush[1], "ENOSPC", JSON.stringify(got.flush));
    assert.deepEqual(got.flush.slice(0, 6), ["Error", "ENOSPC", ENOSPC, "msync", 0, 4 * MiB]);
    assert.ok(got.flush[6] >= 0 && got.flush[6] < got.flush[7] && got.flush[7] <= 4 * MiB, "ioStart..ioEnd inside the map");
    assert.equal(got.settled, 0, "after the report the mapping is whole again");
    assert.equal(got.flushAgain, "ok", "reported once");
    assert.deepEqual(got.flushAsyncFull, ["ENOSPC", ENOSPC, "msync", true]);
    assert.equal(got.flushAsyncAgain, "ok");
    assert.deepEqual(got.flushAsyncClosed, ["ENOSPC", "msync"], "close() while it runs does not swallow the error");
  } else {
    const keys = Object.keys(got.methods);
    assert.deepEqual(keys, ["ENOSPC pagefault true"], JSON.stringify(got.methods));
    assert.equal(got.flush, "ok");
  }
  assert.ok(got.reached > 0 && got.reached < 512, `${got.reached} of 512 pages reached the file`);
  assert.equal(got.silent, 0, "no write lost without an error");
  assert.deepEqual(got.set, ["Error", "ENOSPC", ENOSPC, "pagefault", 3 * MiB + 5, 3 * MiB + 6, 3 * MiB, 3 * MiB + PAGE]);
  assert.deepEqual(got.setSlice.slice(0, 6), ["Error", "ENOSPC", ENOSPC, "pagefault", 3 * MiB + 8192, 3 * MiB + 3 * 8192]);
  assert.deepEqual(got.reads, [1, 1, "010000"]);
  assert.equal(got.afterErrors, "ok", "errors reported by methods are not reported again");
  assert.equal(got.setAgain, "ok", "with space again, the page that failed takes the write");
  assert.equal(got.flushAsync, "ok");
  assert.deepEqual(got.file, [2, 4 * MiB]);
});

// residency() is a query: it refuses a range the map knows lost (ERR_MMAP_TRUNCATED), but an I/O
// error that struck a view's write is the next flush's to report. Checking the range with verify()
// (as a method touching the bytes does) threw that ENOSPC from residency() and took the report, and
// the flush that followed said nothing.
test("residency() over a page whose write through a view a full file system refused leaves the ENOSPC to the next flush", { skip: mountable ?? (!VIEWS && "writes through views") }, () => {
  const r = onFullTmpfs(`
    const P = 4096, MiB = 1 << 20, out = {};
    const f = mnt + "/sparse.bin";
    fs.writeFileSync(f, ""); fs.truncateSync(f, 4 * MiB);             // holes
    fs.writeFileSync(mnt + "/filler", Buffer.alloc(MiB - 8 * P, 1));   // room for a few pages only
    const m = mm.MMap.open(f);
    const v = m.buffer;
    for (let i = 0; i < 64; i++) v[i * P] = 1;                         // some cannot be had: no error here
    out.residency = err(() => m.residency().length);
    out.flush = err(() => m.flush());
    out.flushAgain = err(() => m.flush());
    m.close();
    console.log(JSON.stringify(out));
  `);
  const got = result(r);
  assert.equal(got.residency, 1024, `residency: ${JSON.stringify(got.residency)}`);
  assert.deepEqual(got.flush.slice(0, 4), ["Error", "ENOSPC", errnoOf("ENOSPC"), "msync"], JSON.stringify(got.flush));
  assert.equal(got.flushAgain, "ok", "reported once");
});

// Linux's mlock marks the whole range locked, then faults its pages in; when a page cannot be had
// (a hole of a full tmpfs, a page the disk cannot read) it fails with ENOMEM and leaves the range
// marked: lock() said ENOMEM (as if RLIMIT_MEMLOCK were reached) and left VmLck grown by the whole
// range (256 kB here), against the rule that a failed call changes nothing. Now a range that none of
// was locked before is unlocked again, and the page that could not be had says why.
test("lock() of a range a full file system cannot fault in: the I/O error with its code, nothing of the range left locked, an earlier lock() kept", { skip: mountable ?? ((ASAN && "AddressSanitizer ignores mlock and munlock") || false) }, () => {
  // Both ways of locking: mlock (a writable map), and a read-only map's (locked on fault, then
  // read in: native/mm.h mm_lock).
  const r = onFullTmpfs(`
    const P = 4096, MiB = 1 << 20, all = {};
    const locked = () => Number(fs.readFileSync("/proc/self/status", "utf8").match(/VmLck:\\s+(\\d+)/)[1]);
    for (const kind of ["read-write", "read-only"]) {
      const out = (all[kind] = {});
      const f = mnt + "/sparse.bin";
      fs.writeFileSync(f, ""); fs.truncateSync(f, 4 * MiB);             // holes: a read allocates on tmpfs
      fs.writeFileSync(mnt + "/filler", Buffer.alloc(MiB - 8 * P, 1));   // room for a few pages only
      const m = mm.MMap.open(f, kind === "read-only" ? { access: mm.ACCESS_READ } : {});
      const base = locked();
      out.small = err(() => m.lock(0, 2 * P));                           // fits: locked
      out.afterSmall = locked() - base;
      out.big = err(() => m.lock(32 * P, 64 * P));                       // cannot be had
      out.afterBig = locked() - base;                                    // only the earlier lock
      out.get = err(() => m.get(P));                                     // the map still works
      fs.unlinkSync(mnt + "/filler");                                    // room again
      out.again = err(() => m.lock(32 * P, 64 * P));
      out.afterAgain = locked() - base;
      m.close();
      fs.unlinkSync(f);
    }
    console.log(JSON.stringify(all));
  `);
  const all = result(r);
  const ENOSPC = errnoOf("ENOSPC");
  for (const [kind, got] of Object.entries(all)) {
    assert.equal(got.small, "ok", kind);
    assert.equal(got.afterSmall, 8, kind);
    assert.deepEqual(got.big.slice(0, 4), ["Error", "ENOSPC", ENOSPC, "pagefault"], `${kind}: ${JSON.stringify(got.big)}`);
    assert.ok(got.big[4] >= 32 * PAGE && got.big[5] <= 96 * PAGE, `${kind}: inside the range: ${got.big}`);
    assert.equal(got.afterBig, 8, `${kind}: nothing of the failed range stays locked; the earlier lock does`);
    assert.equal(got.get, 0, kind);
    assert.equal(got.again, "ok", kind);
    assert.equal(got.afterAgain, 8 + 256, kind);
  }
  assert.deepEqual(Object.keys(all), ["read-write", "read-only"]);
});

// Node unloads an addon (dlclose) when the last environment that loaded it ends: here a worker's,
// the main thread never loading memmap. Its SIGSEGV/SIGBUS handlers stayed installed over code that
// was gone, so the next fault of any kind crashed the process (a WebAssembly bounds trap, which
// V8's handler behind memmap's turns into a RuntimeError), and a waitAsync thread of a terminated
// worker could still be returning through that code (SIGSEGV in about 6 runs of 10 of the loop
// below). The addon now stays loaded for the life of the process (native/mm.h mm_keep_loaded).
test("the addon outlives the workers that loaded it: a WebAssembly trap after they ended is still a RuntimeError, and workers terminated while waitAsync threads run never crash the process", { skip: WINDOWS && "POSIX signals and dlclose (Windows pins the DLL the same way, untested here)" }, () => {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(file, `
    import fs from "node:fs";
    import { Worker } from "node:worker_threads";
    const run = (body) => new Promise((resolve, reject) => {
      const w = new Worker(\`const { parentPort } = require("node:worker_threads");
        import(${JSON.stringify(index)}).then(async ({ MMap }) => { parentPort.postMessage("up"); \${body} });\`, { eval: true });
      w.once("error", reject);
      w.once("message", () => resolve(w));
    });
    const loaded = () => fs.readFileSync("/proc/self/maps", "utf8").includes("memmap");
    const out = {};
    // Both handlers installed (a file map: SIGBUS; a read-only one: SIGSEGV), then the worker ends.
    const w = await run(\`
      fs = require("node:fs"); fs.writeFileSync(${JSON.stringify(path.join(dir, "unload.bin"))}, "abc");
      MMap.open(${JSON.stringify(path.join(dir, "unload.bin"))}).close();
      MMap.open(${JSON.stringify(path.join(dir, "unload.bin"))}, { access: 1 }).close();\`);
    await w.terminate();
    out.loaded = loaded();
    // i32.load of the address given, in a one-page memory.
    const wasm = new Uint8Array([0,97,115,109,1,0,0,0,1,6,1,96,1,127,1,127,3,2,1,0,5,3,1,0,1,7,5,1,1,102,0,0,10,9,1,7,0,32,0,40,2,0,11]);
    const { instance } = await WebAssembly.instantiate(wasm);
    try { instance.exports.f(0x7fffff00); out.trap = "none"; } catch (e) { out.trap = e.constructor.name; }
    for (let i = 0; i < 40; i++) {
      const t = await run("for (;;) { const m = new MMap(-1, 4096); const p = m.waitAsync(0, 0, 5).catch(() => {}); if (Math.random() < 0.5) m.close(); await p; }");
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
      await t.terminate();
    }
    out.rounds = 40;
    console.log(JSON.stringify(out));
  `);
  const r = runNode([file], { timeout: 60_000 });
  assert.equal(r.signal, null, `ended by ${r.signal}: ${r.stderr}`);
  assert.deepEqual(result(r), { loaded: !WINDOWS, trap: "RuntimeError", rounds: 40 });
});

test("process.on('SIGBUS'/'SIGSEGV') does not take fault containment away: no hang, and signals sent by kill still reach the listener", { skip: WINDOWS && "POSIX signals (Windows: a vectored handler, which a listener cannot replace)" }, () => {
  const f = (n) => JSON.stringify(path.join(dir, `listen${n}.bin`));
  const r = child(`
    const out = {};
    const open = (file) => { fs.writeFileSync(file, Buffer.alloc(3 * 4096, 1)); return mm.MMap.open(file); };
    let heard = 0;
    const listener = () => { heard++; };
    process.on("SIGBUS", listener);                 // Node puts libuv's handler over memmap's
    process.on("SIGSEGV", listener);
    const a = open(${f(1)}), b = open(${f(2)});
    const ro = mm.MMap.open(${f(2)}, { access: mm.ACCESS_READ });
    fs.truncateSync(${f(1)}, 0);
    out.listening = [err(() => a.get(2 * 4096)), views ? a.buffer[4096] : 0];
    if (views) ro.buffer[0] = 9;                     // a stray write: SIGSEGV
    out.readOnly = ro.get(0);
    process.kill(process.pid, "SIGBUS");             // not a fault: the listener hears it
    await new Promise((resolve) => setTimeout(resolve, 100));
    out.heard = heard;
    process.removeListener("SIGBUS", listener);      // Node puts the default action back
    fs.truncateSync(${f(2)}, 0);
    out.removed = [err(() => b.get(2 * 4096)), views ? b.buffer[4096] : 0];
    // A handler put over memmap's behind its back (here: its listener taken away first) is
    // noticed at the next map.
    const keep = process.listeners("newListener").filter((l) => l.name === "keepFaultHandler");
    out.hooks = keep.length;
    for (const l of keep) process.removeListener("newListener", l);
    process.on("SIGBUS", listener);
    const c = open(${f(3)});
    fs.truncateSync(${f(3)}, 0);
    out.nextMap = [err(() => c.get(2 * 4096)), views ? c.buffer[4096] : 0];
    out.bytes = fs.readFileSync(${f(2)}).length;
    console.log(JSON.stringify(out));
    process.exit(0);
  `, { timeout: 30_000 });
  assert.notEqual(r.signal, "SIGTERM", "the child hung (killed after 30 s)");
  const got = result(r);
  const gone = ["Error", "ERR_MMAP_TRUNCATED", null, null, 0, 3 * PAGE, null, null];
  assert.deepEqual(got, {
    listening: [gone, 0],
    readOnly: VIEWS ? 9 : 1,
    heard: 1,
    removed: [gone, 0],
    hooks: 1,
    nextMap: [gone, 0],
    bytes: 0,
  });
});

test("a SIGBUS/SIGSEGV listener removed while a worker's faults are being contained never kills the process (SIGBUS before: Node put back the default action before memmap's handler was on top again)", { skip: WINDOWS && "POSIX signals (Windows: a vectored handler, which a listener cannot replace)" }, () => {
  // The worker makes maps of a file it then shrinks, and touches the lost pages (through a view,
  // or a method in the copying mode), and writes through views of read-only maps (SIGSEGV); the
  // main thread adds and removes a listener for both signals meanwhile. Then the listeners'
  // meaning is unchanged: with none left, a SIGBUS sent by kill still kills, with one it is heard.
  const r = child(`
    import { Worker } from "node:worker_threads";
    const file = ${JSON.stringify(path.join(dir, "listener-race.bin"))};
    fs.writeFileSync(file, Buffer.alloc(16 * 4096));
    const counts = new Int32Array(new SharedArrayBuffer(8));
    const w = new Worker(\`
      const mm = await import(${JSON.stringify(index)});
      const fs = await import("node:fs");
      const { workerData: { file, counts, views } } = await import("node:worker_threads");
      const until = Date.now() + 1500;
      while (Date.now() < until) {
        const fd = fs.openSync(file, "r+");
        fs.ftruncateSync(fd, 16 * 4096);
        const m = new mm.MMap(fd, 16 * 4096);
        fs.ftruncateSync(fd, 4096);
        if (views) { const b = m.buffer; for (let i = 2 * 4096; i < b.length; i += 4096) b[i]; }
        else try { m.get(8 * 4096); } catch {}
        m.close();
        if (views) { const ro = new mm.MMap(fd, 4096, { access: mm.ACCESS_READ }); ro.buffer[0] = 1; ro.close(); }
        fs.closeSync(fd);
        Atomics.add(counts, 0, 1);
      }
    \`, { eval: true, workerData: { file, counts, views } });
    const listener = () => {};
    let toggles = 0;
    while (Atomics.load(counts, 0) === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const until = Date.now() + 1200;
    while (Date.now() < until) {
      process.on("SIGBUS", listener); process.on("SIGSEGV", listener);
      process.off("SIGBUS", listener); process.off("SIGSEGV", listener);
      toggles++;
    }
    await new Promise((resolve) => w.on("exit", resolve));
    let heard = 0;
    const hear = () => { heard++; };
    process.on("SIGBUS", hear);
    process.kill(process.pid, "SIGBUS");
    await new Promise((resolve) => setTimeout(resolve, 100));
    process.off("SIGBUS", hear);
    console.log(JSON.stringify({ rounds: Atomics.load(counts, 0) > 10, toggles: toggles > 100, heard }));
    process.kill(process.pid, "SIGBUS"); // no listener left: the default action, as without memmap
    await new Promise((resolve) => setTimeout(resolve, 1000));
    console.log("survived a SIGBUS with no listener");
  `, { timeout: 30_000 });
  assert.deepEqual({ signal: r.signal, stderr: r.stderr }, { signal: "SIGBUS", stderr: "" }, `status ${r.status}, stdout ${r.stdout}`);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { rounds: true, toggles: true, heard: 1 });
});

test("a map closed or resized by its thread while the thread pool's fault in it is being contained: the access runs again, and containment stays installed (before, the handler gave the fault up and the next fault killed the process)", { skip: (!VIEWS && NO_VIEWS) || (WINDOWS && "POSIX signals") }, () => {
  // MEMMAP_TEST_FAULT_PAUSE_US makes each fault handler sleep between finding the map and
  // containing the fault: crypto.randomFill writes a map's view from a thread of the pool (into a
  // file's lost tail: SIGBUS; into a read-only map: SIGSEGV), and the main thread closes or shrinks
  // the map meanwhile. Then another map, made before, faults: it must still be contained.
  const file = (n) => JSON.stringify(path.join(dir, `pause-${n}.bin`));
  const r = child(`
    import crypto from "node:crypto";
    const out = [];
    const fill = (view) => new Promise((resolve) => crypto.randomFill(view, (e) => resolve(e ? e.code : "filled")));
    const make = (n) => { fs.writeFileSync(n, Buffer.alloc(16 * 4096, 1)); return mm.MMap.open(n); };
    for (const [kind, how] of [["lost", "close"], ["lost", "resize"], ["read-only", "close"]]) {
      const n = ${file("a")} + kind + how, later = ${file("b")} + kind + how;
      const a = kind === "lost" ? make(n) : (fs.writeFileSync(n, Buffer.alloc(4096, 1)), mm.MMap.open(n, { access: mm.ACCESS_READ }));
      const b = make(later);
      if (kind === "lost") fs.truncateSync(n, 4096);
      fs.truncateSync(later, 4096);
      const job = fill(a.buffer);
      await new Promise((resolve) => setTimeout(resolve, 30)); // the pool's handler sleeps meanwhile
      if (how === "close") a.close(); else a.resize(4096);
      out.push(await job, err(() => b.get(8 * 4096))[1], b.buffer[9 * 4096]);
      if (!a.closed) a.close();
      b.close();
      out.push(fs.readFileSync(n).subarray(0, 4096).every((x) => x === 1));
    }
    console.log(JSON.stringify(out));
  `, { env: { ...process.env, MEMMAP_TEST_FAULT_PAUSE_US: "150000" }, timeout: 30_000 });
  const once = ["filled", "ERR_MMAP_TRUNCATED", 0];
  assert.deepEqual(result(r), [...once, false, ...once, false, ...once, true]);
});

test("faults on one map from several threads at once (the thread pool and the main thread) are all contained", { skip: (!VIEWS && NO_VIEWS) || (WINDOWS && NO_PROC) }, () => {
  const f = path.join(dir, "threads.bin");
  const r = child(`
    import crypto from "node:crypto";
    const P = 4096, N = 4096, f = ${JSON.stringify(f)}, fill = (v) => new Promise((resolve, reject) => crypto.randomFill(v, (e) => (e ? reject(e) : resolve())));
    const out = { readOnly: [], shrunk: [] };
    for (let round = 0; round < 10; round++) {
      fs.writeFileSync(f, Buffer.alloc(N * P, 5));
      const m = mm.MMap.open(f, { access: mm.ACCESS_READ }), v = m.buffer, before = mappingsOf(f, m.length);
      const jobs = [];                                   // stray writes from the thread pool ...
      for (let k = 0; k < 8; k++) jobs.push(fill(v.subarray(k * 512 * P, (k + 1) * 512 * P)));
      for (let i = 0; i < N; i += 2) v[i * P + 7] = 1;   // ... and from the main thread
      await Promise.all(jobs);
      out.readOnly.push(mappingsOf(f, m.length) - before);
      m.close();
      if (!fs.readFileSync(f).every((b) => b === 5)) out.reachedFile = true;
    }
    for (let round = 0; round < 10; round++) {
      fs.writeFileSync(f, Buffer.alloc(N * P, 5));
      const m = mm.MMap.open(f, { trackfd: round % 2 === 0 }), v = m.buffer;
      fs.truncateSync(f, 100 * P);
      const jobs = [];                                   // SIGBUS in the thread pool ...
      for (let k = 0; k < 8; k++) jobs.push(fill(v.subarray((k * 512 + 100) * P, (k + 1) * 512 * P)));
      let sum = 0;
      for (let i = N - 1; i >= 100; i -= 3) sum += v[i * P]; // ... and in the main thread
      await Promise.all(jobs);
      out.shrunk.push(err(() => m.get(200 * P))[1]);
      m.close();
    }
    console.log(JSON.stringify(out));
  `);
  const got = result(r);
  assert.deepEqual(got, { readOnly: Array(10).fill(0), shrunk: Array(10).fill("ERR_MMAP_TRUNCATED") });
});

test("another process shrinking a file and growing it back (e.g. copytruncate and a writer): a fault of that moment is never taken for an I/O error (EIO before)", { skip: WINDOWS && "Windows refuses to truncate a mapped file" }, () => {
  // The kernel raises SIGBUS against the smaller size; when the handler's fstat sees the file
  // grown back, the page lies inside it again. It was recorded as an I/O error (EIO from the
  // method, or from the next flush for a write through a view); now the access runs again.
  const f = path.join(dir, "regrow.bin");
  const r = child(`
    import { spawn } from "node:child_process";
    const P = 4096, N = 256 * P, f = ${JSON.stringify(f)};
    fs.writeFileSync(f, Buffer.alloc(N, 1));
    const other = spawn(process.execPath, ["-e", \`
      const fs = require("fs"), fd = fs.openSync(process.argv[1], "r+"), until = Date.now() + 3000;
      const pause = new Int32Array(new SharedArrayBuffer(4));
      while (Date.now() < until) { fs.ftruncateSync(fd, \${P}); fs.ftruncateSync(fd, \${N}); Atomics.wait(pause, 0, 0, 0.2); }
    \`, f], { stdio: "inherit" });
    let alive = true;
    other.on("exit", () => { alive = false; });
    const codes = {};
    let round = 0;
    while (alive) {
      let m;
      const fd = fs.openSync(f, "r+");
      try { m = new mm.MMap(fd, N); } catch (e) { await new Promise((r) => setImmediate(r)); continue; } finally { fs.closeSync(fd); }
      const v = views && round % 2 === 1 ? m.buffer : null;
      let code = "ok";
      try {
        for (let k = 0; k < 2000; k++) {
          const i = P * (1 + ((k * 37) % 255));
          if (v !== null) v[i] = 7; else m.get(i);
        }
        if (v !== null) m.flush();
      } catch (e) { code = e.code; }
      codes[code] = (codes[code] ?? 0) + 1;
      m.close();
      round++;
      await new Promise((r) => setImmediate(r));
    }
    console.log(JSON.stringify(codes));
  `, { timeout: 60_000 });
  const codes = result(r);
  assert.deepEqual(Object.keys(codes).filter((c) => c !== "ok" && c !== "ERR_MMAP_TRUNCATED"), [], JSON.stringify(codes));
  assert.ok(codes.ok > 0, JSON.stringify(codes));
});

// A process at vm.max_map_count gets ENOMEM from every mmap, containment's own too: a lost tail
// or a page set aside for an I/O error could not be mapped, the handler chained the SIGBUS and
// the process died (found by the resource-exhaustion attack). The child takes its mappings to
// the limit with memmap's own calls: every other page of one anonymous map advised apart (one
// kernel mapping each), then one-page file maps (offset 0: they never merge) until mmap says
// ENOMEM; only then does it touch what the file lost.
const MAX_MAP_COUNT = process.platform === "linux" ? Number(fs.readFileSync("/proc/sys/vm/max_map_count", "utf8")) : 0;
const NO_LIMIT = process.platform !== "linux" ? "vm.max_map_count is Linux's"
  : MAX_MAP_COUNT > 300_000 && `vm.max_map_count is ${MAX_MAP_COUNT}: too many mappings to make in a test`;
const toTheLimit = `
  const PAGE = 4096, max = Number(fs.readFileSync("/proc/sys/vm/max_map_count", "utf8"));
  const one = process.argv[2] + ".one";
  fs.writeFileSync(one, Buffer.alloc(PAGE, 2));
  const toLimit = () => {
    const big = new mm.MMap(-1, (max + 1000) * PAGE), ones = [], fd = fs.openSync(one, "r");
    for (let i = 1; i < max; i += 2) if (err(() => big.madvise(mm.MADV_RANDOM, i * PAGE, PAGE)) !== "ok") break;
    let last;
    for (;;) { try { ones.push(new mm.MMap(fd, PAGE, { access: mm.ACCESS_READ, trackfd: false })); } catch (e) { last = [e.code, e.syscall]; break; } }
    fs.closeSync(fd);
    return { last, release: () => { for (const o of ones) o.close(); big.close(); } };
  };
`;

test("at vm.max_map_count (no mapping left): a truncated tail is contained all the same, in two maps, through methods and views (SIGBUS before)", { skip: NO_LIMIT || (ASAN && "AddressSanitizer's allocator maps memory of its own, which the limit refuses (its 'Failed to mmap')") }, () => {
  const f = path.join(dir, "limit.bin");
  const r = runNode([script(`${toTheLimit}
    const f = process.argv[2];
    fs.writeFileSync(f, Buffer.alloc(16 * PAGE, 1));
    const m = mm.MMap.open(f), m2 = mm.MMap.open(f), v = views ? m2.buffer : null;
    fs.truncateSync(f, 4 * PAGE);
    const limit = toLimit(), out = { last: limit.last };
    out.get = err(() => m.get(10 * PAGE));                  // the lost tail: zeros in its place
    out.view = v ? v[12 * PAGE] : 0;                        // a second map, through a view
    out.get2 = err(() => m2.get(10 * PAGE));
    limit.release();
    out.after = [err(() => m.get(10 * PAGE)), m.get(5), m2.get(4 * PAGE - 1)];
    m.close(); m2.close();
    console.log(JSON.stringify(out));
  `), f], { timeout: 120_000 });
  const got = result(r);
  const lost = (start) => ["Error", "ERR_MMAP_TRUNCATED", null, null, start, 16 * PAGE, null, null];
  assert.deepEqual(got.last, ["ENOMEM", "mmap"], "the child reached the limit");
  assert.deepEqual(got.get, lost(4 * PAGE));
  assert.equal(got.view, 0);
  assert.deepEqual(got.get2, lost(4 * PAGE));
  assert.deepEqual(got.after, [lost(4 * PAGE), 1, 1]);
});

test("at vm.max_map_count: writes through a view into the holes of a full file system are contained and reported, none lost silently (SIGBUS before)", { skip: NO_LIMIT || mountable || (!VIEWS && NO_VIEWS) || (ASAN && "AddressSanitizer's allocator maps memory of its own, which the limit refuses") }, () => {
  const r = onFullTmpfs(`${toTheLimit.replace("process.argv[2]", JSON.stringify(path.join(dir, "limit-io.bin")))}
    const MiB = 1 << 20;
    fs.writeFileSync(mnt + "/filler", Buffer.alloc(MiB / 2, 1));     // half the file system
    const f = mnt + "/sparse.bin";
    fs.writeFileSync(f, ""); fs.truncateSync(f, 4 * MiB);             // 4 MiB of holes on 1 MiB
    const m = mm.MMap.open(f), v = m.buffer, wrote = [];
    const limit = toLimit(), out = { last: limit.last };
    for (let i = 0; i < 200; i++) { v[i * 8192 + PAGE] = 1; wrote.push(i * 8192 + PAGE); } // a page inside a mapping each
    out.set = err(() => m.set(3 * MiB + 5, 2));                       // reports the views' errors too
    limit.release();
    out.flush = err(() => m.flush());
    m.close();
    const file = fs.readFileSync(f);
    out.reached = wrote.filter((at) => file[at] === 1).length;
    out.silent = wrote.filter((at) => file[at] !== 1 && !(at >= out.set[6] && at < out.set[7])).length;
    console.log(JSON.stringify(out));
  `);
  const got = result(r);
  assert.deepEqual(got.last, ["ENOMEM", "mmap"], "the child reached the limit");
  assert.deepEqual(got.set.slice(0, 4), ["Error", "ENOSPC", errnoOf("ENOSPC"), "pagefault"]);
  assert.ok(got.reached > 0 && got.reached < 200, `${got.reached} of 200 pages reached the file`);
  assert.equal(got.silent, 0, "no write lost without an error");
  assert.equal(got.flush, "ok", "reported once, by the method");
});
