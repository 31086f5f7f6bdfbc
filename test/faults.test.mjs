// Faults inside memmap's own mappings are contained (docs/safety.md); all others are not ours.
// Every case runs in a child process and asserts how it ended. The children inherit
// MEMMAP_NO_EXTERNAL_BUFFERS: without views (`npm run test:no-external`) the methods copy in
// C (memcpy) under the same fault handler, and must report the same errors; only the parts
// about raw views change, to asserting that there are none.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ASAN, python, runNode, tmpdir, VIEWS, WINDOWS } from "./helpers.mjs";

const dir = tmpdir("memmap-faults-");
const index = new URL("../dist/index.js", import.meta.url).href;

function child(body, env = {}, options = {}) {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(file, `import fs from "node:fs";\nimport * as mm from ${JSON.stringify(index)};\n${body}\n`);
  return runNode([file], { env: { ...process.env, ...env }, ...options });
}

test("a file truncated under a live map: methods throw ERR_MMAP_TRUNCATED naming the lost range, views read zeros", { skip: WINDOWS && "Windows refuses to truncate a mapped file (test/windows.test.mjs)" }, () => {
  const f = path.join(dir, "shrink.bin");
  const r = child(`
    fs.writeFileSync(${JSON.stringify(f)}, Buffer.alloc(4 * 4096, 7));
    const m = mm.MMap.open(${JSON.stringify(f)});
    const err = (fn) => { try { fn(); return "no error"; } catch (e) { return [e.constructor.name, e.code, e.goneStart, e.goneEnd]; } };
    const views = process.env.MEMMAP_NO_EXTERNAL_BUFFERS !== "1";
    const view = views ? m.buffer : null;
    fs.truncateSync(${JSON.stringify(f)}, 4096 + 100);
    const out = {};
    out.head = m.get(4095);                       // still in the file
    out.firstTouch = err(() => m.get(3 * 4096));  // the first touch faults: contained, then reported
    if (views) {
      out.view = view[2 * 4096];                  // raw views read zeros
      view[2 * 4096 + 1] = 9;                     // and writes stay in memory
    } else {
      out.view = err(() => m.buffer);             // no raw view to read
      out.subarray = err(() => m.subarray(2 * 4096));
    }
    out.known = err(() => m.get(2 * 4096 + 1));   // a known loss is reported before touching
    out.set = err(() => m.set(2 * 4096 + 1, 1));
    out.setSlice = err(() => m.setSlice(4000, 4300, Buffer.alloc(300)));
    out.sliceStep = err(() => m.slice(4000, 16000, 7));
    out.rfind = err(() => m.rfind("x"));
    out.matchAll = err(() => m.matchAll(/x/g).next());
    out.inRange = m.find(Buffer.from([7, 7]), 4000, 4096 + 100);
    out.find = err(() => m.find("x", 0));
    out.slice = err(() => m.slice(4000, 4300));
    out.read = m.read(4096 + 100).length;
    out.pos = m.tell();
    out.write = err(() => m.write("abc"));
    out.posAfter = m.tell();
    out.readline = err(() => m.readline());
    out.resize = err(() => m.resize(8192));
    out.move = err(() => m.move(0, 5000, 10));
    out.search = err(() => m.search(/x/));
    out.iter = err(() => { for (const b of m) void b; });
    out.readByte = err(() => m.readByte());
    out.writeByte = err(() => m.writeByte(1));
    out.head2 = [...m.slice(4090, 4096)];         // what is left still reads
    out.length = m.length;
    m.close();
    out.file = fs.statSync(${JSON.stringify(f)}).size;
    console.log(JSON.stringify(out));
  `);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const gone = ["Error", "ERR_MMAP_TRUNCATED", 4096 + 100, 4 * 4096];
  assert.deepEqual(JSON.parse(r.stdout), {
    head: 7,
    firstTouch: gone,
    ...(VIEWS
      ? { view: 0 }
      : { view: ["Error", "ERR_MMAP_VIEWS_UNAVAILABLE", null, null], subarray: ["Error", "ERR_MMAP_VIEWS_UNAVAILABLE", null, null] }),
    known: gone,
    set: gone,
    setSlice: gone,
    sliceStep: gone,
    rfind: gone,
    matchAll: gone,
    inRange: 4000,
    find: gone,
    slice: gone,
    read: 4096 + 100,
    pos: 4096 + 100,
    write: gone,
    posAfter: 4096 + 100,
    readline: gone,
    resize: gone,
    move: gone,
    search: gone,
    iter: gone,
    readByte: gone,
    writeByte: gone,
    head2: [7, 7, 7, 7, 7, 7],
    length: 4 * 4096,
    file: 4096 + 100,
  });
});

test("a strided setSlice() over a range the map knows lost throws ERR_MMAP_TRUNCATED and writes nothing, in both memory modes (the copying mode wrote the bytes before the loss first)", { skip: WINDOWS && "Windows refuses to truncate a mapped file (test/windows.test.mjs)" }, () => {
  const f = path.join(dir, "shrink-scatter.bin");
  const body = `
    fs.writeFileSync(${JSON.stringify(f)}, Buffer.alloc(4 * 4096, 7));
    const m = mm.MMap.open(${JSON.stringify(f)});
    fs.truncateSync(${JSON.stringify(f)}, 4096 + 100);
    const err = (fn) => { try { fn(); return "no error"; } catch (e) { return [e.constructor.name, e.code, e.goneStart]; } };
    const out = {};
    out.learn = err(() => m.get(3 * 4096)); // the loss is known from here on
    // [4000, 4300) by 2 and [4300, 4000) by -2: the first bytes written would lie before the loss
    out.forward = err(() => m.setSlice(4000, 4300, Buffer.alloc(150, 1), 2));
    out.backward = err(() => m.setSlice(4300, 4000, Buffer.alloc(150, 2), -2));
    out.kept = m.slice(0, 4096 + 100).equals(Buffer.alloc(4096 + 100, 7));
    m.close();
    out.file = fs.readFileSync(${JSON.stringify(f)}).equals(Buffer.alloc(4096 + 100, 7));
    console.log(JSON.stringify(out));
  `;
  const gone = ["Error", "ERR_MMAP_TRUNCATED", 4096 + 100];
  for (const mode of ["1", ""]) {
    const r = child(body, { MEMMAP_NO_EXTERNAL_BUFFERS: mode });
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { learn: gone, forward: gone, backward: gone, kept: true, file: true }, `MEMMAP_NO_EXTERNAL_BUFFERS=${mode}`);
  }
});

test("a file truncated by another process under a read-only map", { skip: WINDOWS && "Windows refuses to truncate a mapped file (test/windows.test.mjs)" }, () => {
  const f = path.join(dir, "shrink2.bin");
  const r = child(`
    import { execFileSync } from "node:child_process";
    fs.writeFileSync(${JSON.stringify(f)}, Buffer.alloc(3 * 4096, 1));
    const m = new mm.MMap(fs.openSync(${JSON.stringify(f)}, "r"), 0, { access: mm.ACCESS_READ, trackfd: false });
    execFileSync("truncate", ["-s", "0", ${JSON.stringify(f)}]);
    const out = [];
    for (const i of [5000, 0]) { try { out.push(m.get(i)); } catch (e) { out.push([e.code, e.goneStart, e.goneEnd]); } }
    console.log(JSON.stringify(out));
  `);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  // Without a descriptor (trackfd: false) the loss is known to the page: page 1 first, then page 0.
  assert.deepEqual(JSON.parse(r.stdout), [["ERR_MMAP_TRUNCATED", 4096, 3 * 4096], ["ERR_MMAP_TRUNCATED", 0, 3 * 4096]]);
});

test("move() from or into bytes another process truncated away, as its first touch: ERR_MMAP_TRUNCATED before anything is written (the file kept zeros over its own bytes before)", { skip: WINDOWS && "Windows refuses to truncate a mapped file (test/windows.test.mjs)" }, () => {
  const f = path.join(dir, "shrink-move.bin");
  const r = child(`
    import { execFileSync } from "node:child_process";
    const out = [];
    // [dest, src, count]: from the lost tail, partly from it, into it, partly into it.
    for (const [d, s, n] of [[0, 3 * 4096, 100], [4096 - 300, 4096 - 100, 200], [3 * 4096, 0, 100], [4096 - 50, 0, 100]]) {
      fs.writeFileSync(${JSON.stringify(f)}, Buffer.alloc(4 * 4096, 0x41));
      const m = mm.MMap.open(${JSON.stringify(f)});
      m.get(0); // the map is in use before the file shrinks
      execFileSync(process.execPath, ["-e", "require('fs').truncateSync(process.argv[1], 4096)", ${JSON.stringify(f)}]);
      let code = "no error";
      try { m.move(d, s, n); } catch (e) { code = e.code; }
      const kept = m.slice(0, 4096).equals(Buffer.alloc(4096, 0x41));
      m.close();
      const file = fs.readFileSync(${JSON.stringify(f)});
      out.push([code, kept, file.length, file.equals(Buffer.alloc(4096, 0x41))]);
    }
    console.log(JSON.stringify(out));
  `);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const refused = ["ERR_MMAP_TRUNCATED", true, 4096, true];
  assert.deepEqual(JSON.parse(r.stdout), [refused, refused, refused, refused]);
});

test("move(d, d, n) onto itself over bytes the file lost: ERR_MMAP_TRUNCATED as any move (it returned silently; CPython's memmove touches them and dies of SIGBUS)", { skip: WINDOWS && "Windows refuses to truncate a mapped file (test/windows.test.mjs)" }, () => {
  // Found by the multi-map fuzzer (test/fuzz/multi.mjs, seed 3): two maps of one file, the file
  // truncated under them through the descriptor, then a move of a range onto itself.
  const f = path.join(dir, "shrink-move-self.bin");
  const r = child(`
    const out = [];
    for (const [d, n] of [[4096, 4096], [2 * 4096 + 5, 10], [0, 3 * 4096]]) {
      fs.writeFileSync(${JSON.stringify(f)}, Buffer.alloc(3 * 4096, 0x61));
      const fd = fs.openSync(${JSON.stringify(f)}, "r+");
      const a = new mm.MMap(fd, 0);
      const b = new mm.MMap(fd, 0, { access: mm.ACCESS_WRITE, offset: 4096 });
      fs.ftruncateSync(fd, 4096);
      let code = "no error";
      try { a.move(d, d, n); } catch (e) { code = e.code; }
      let again = "no error";
      try { a.move(d, d, n); } catch (e) { again = e.code; } // the loss is known now: refused before touching
      out.push([code, again, a.slice(0, 4096).equals(Buffer.alloc(4096, 0x61)), b.closed]);
      a.close(); b.close(); fs.closeSync(fd);
    }
    console.log(JSON.stringify(out));
  `);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const refused = ["ERR_MMAP_TRUNCATED", "ERR_MMAP_TRUNCATED", true, false];
  assert.deepEqual(JSON.parse(r.stdout), [refused, refused, refused]);
  if (python !== null && !ASAN) {
    // CPython: the same call is a memmove that touches the lost page (not under the ASan
    // runtime test:asan preloads into every process: its memmove returns at once when d === s).
    const py = spawnSync(python.cmd, ["-c", `
import mmap, os
f = ${JSON.stringify(f)}
open(f, "wb").write(b"a" * 3 * 4096)
fd = os.open(f, os.O_RDWR)
a = mmap.mmap(fd, 0)
os.ftruncate(fd, 4096)
a.move(4096, 4096, 4096)
print("survived")
`], { env: python.env, encoding: "utf8" });
    assert.equal(py.signal, "SIGBUS", py.stdout + py.stderr);
  }
});

test("madvise over a range the file lost is ERR_MMAP_TRUNCATED before the kernel sees it: MADV_REMOVE no longer punches the file's hole and then fails", { skip: (WINDOWS || process.platform === "darwin") && "Linux's MADV_REMOVE" }, () => {
  // Found by the multi-map fuzzer (test/fuzz/multi.mjs): the kernel applied MADV_REMOVE to the
  // part of the range the file still backs (zeros in the file), then refused the private zeros
  // standing in for the lost tail with EINVAL: a failed call that changed the file.
  const f = path.join(dir, "shrink-advise.bin");
  const r = child(`
    const out = [];
    fs.writeFileSync(${JSON.stringify(f)}, Buffer.alloc(8246, 0x61));
    const fd = fs.openSync(${JSON.stringify(f)}, "r+");
    const m = new mm.MMap(fd, 8246);
    fs.ftruncateSync(fd, 4149);
    const err = (fn) => { try { fn(); return "no error"; } catch (e) { return e.code; } };
    out.push(err(() => m.read()));
    out.push(err(() => m.madvise(mm.MADV_REMOVE)));
    out.push(err(() => m.madvise(mm.MADV_DONTNEED, 0, 8246)));
    out.push(err(() => m.madvise(mm.MADV_NORMAL, 4096)));
    out.push(err(() => m.madvise(mm.MADV_NORMAL, 0, 4096)));
    out.push(err(() => m.madvise(mm.MADV_REMOVE, 0, 0)));
    out.push(fs.readFileSync(${JSON.stringify(f)}).equals(Buffer.alloc(4149, 0x61)));
    m.close(); fs.closeSync(fd);
    console.log(JSON.stringify(out));
  `);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [
    "ERR_MMAP_TRUNCATED",
    "ERR_MMAP_TRUNCATED",
    "ERR_MMAP_TRUNCATED",
    "ERR_MMAP_TRUNCATED",
    "no error",
    "no error",
    true,
  ]);
});

// A flush is where a program learns whether its writes reached the file. A write through a view
// into bytes the file no longer has lands in the zeros standing in for them (it cannot throw), and
// flush() and flushAsync() over them said nothing: success, while those bytes never reach the
// file; also after a method had learned the loss. Now they throw ERR_MMAP_TRUNCATED (after the
// msync, so what the file still has is flushed), as every method touching the lost range does; a
// flush of what the file still has succeeds.
test("flush() and flushAsync() over bytes the file lost (a write through a view went to the zeros) throw ERR_MMAP_TRUNCATED; a flush of what is left succeeds", { skip: WINDOWS && "Windows refuses to truncate a mapped file (test/windows.test.mjs)" }, () => {
  const f = path.join(dir, "shrink-flush.bin");
  const r = child(`
    const views = process.env.MEMMAP_NO_EXTERNAL_BUFFERS !== "1";
    const out = {};
    fs.writeFileSync(${JSON.stringify(f)}, Buffer.alloc(4 * 4096, 0x61));
    const fd = fs.openSync(${JSON.stringify(f)}, "r+");
    const m = new mm.MMap(fd, 0);
    const err = (fn) => { try { fn(); return "ok"; } catch (e) { return [e.code, e.goneStart ?? null, e.goneEnd ?? null]; } };
    const aerr = (p) => p.then(() => "ok", (e) => [e.code, e.goneStart ?? null, e.goneEnd ?? null]);
    const v = views ? m.buffer : null;
    m.set(0, 0x62);
    fs.ftruncateSync(fd, 4096 + 100);
    if (views) v[3 * 4096] = 0x63;                  // into the lost tail: no error can show here
    else out.set = err(() => m.set(3 * 4096, 0x63)); // without views a method finds the loss
    out.flush = err(() => m.flush());               // the first call after the write, in views mode
    out.flushTail = err(() => m.flush(2 * 4096, 4096));
    out.flushAsync = await aerr(m.flushAsync());
    out.flushHead = err(() => m.flush(0, 4096));
    out.flushHeadAsync = await aerr(m.flushAsync(0, 4096));
    out.flushEmpty = err(() => m.flush(3 * 4096, 0));
    out.later = err(() => m.flush());               // still lost: again, as get() throws again
    out.file = fs.readFileSync(${JSON.stringify(f)}).toString("hex", 0, 1);
    const c = new mm.MMap(fd, 4096, { access: mm.ACCESS_COPY });
    out.copy = err(() => c.flush());                // a private map flushes nothing, as before
    c.close(); m.close(); fs.closeSync(fd);
    console.log(JSON.stringify(out));
  `);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const lost = ["ERR_MMAP_TRUNCATED", 4096 + 100, 4 * 4096];
  const expected = { flush: lost, flushTail: lost, flushAsync: lost, flushHead: "ok", flushHeadAsync: "ok", flushEmpty: "ok", later: lost, file: "62", copy: "ok" };
  if (!VIEWS) expected.set = lost;
  assert.deepEqual(JSON.parse(r.stdout), expected);
});

test("writes to read-only maps (ACCESS_READ, PROT_READ, anonymous): methods refuse them, views never reach the file", () => {
  const f = path.join(dir, "ro.bin");
  const r = child(`
    fs.writeFileSync(${JSON.stringify(f)}, "abcdefgh".repeat(2048));
    const a = mm.MMap.open(${JSON.stringify(f)}, { access: mm.ACCESS_READ });
    const b = new mm.MMap(fs.openSync(${JSON.stringify(f)}, "r"), 0, { prot: mm.PROT_READ });
    const c = new mm.MMap(-1, 8192, { prot: mm.PROT_READ });
    const err = (fn) => { try { fn(); return "no error"; } catch (e) { return [e.constructor.name, e.code]; } };
    const methods = [a, b, c].map((m) => [
      err(() => m.set(1, 90)),
      err(() => m.setSlice(8000, 8100, Buffer.alloc(100, 92))),
      err(() => m.write("xyz")),
      err(() => m.writeByte(91)),
      err(() => m.move(0, 8, 8)),
      m.tell(),
    ]);
    const views = process.env.MEMMAP_NO_EXTERNAL_BUFFERS !== "1";
    for (const m of [a, b, c]) {
      if (views) { const v = m.buffer; v[1] = 90; v[5000] = 91; v.fill(92, 8000, 8100); }
    }
    const out = [a, b, c].map((m) => [m.get(1), m.get(5000), m.get(8050), m.get(2)]);
    const noViews = views ? null : [a, b, c].map((m) => [err(() => m.buffer), err(() => m.subarray(0, 8))]);
    for (const m of [a, b, c]) m.close();
    out.push(fs.readFileSync(${JSON.stringify(f)}, "latin1") === "abcdefgh".repeat(2048));
    console.log(JSON.stringify({ methods, out, noViews }));
  `);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  const readOnly = ["TypeError", "ERR_MMAP_READ_ONLY"];
  const refused = [readOnly, readOnly, readOnly, readOnly, readOnly, 0];
  assert.deepEqual(got.methods, [refused, refused, refused], "every writing method refuses, the position stays");
  if (VIEWS) {
    // writes through views land in the process's private copy, never in the file
    assert.deepEqual(got.out, [[90, 91, 92, 99], [90, 91, 92, 99], [90, 91, 92, 0], true]);
    assert.equal(got.noViews, null);
  } else {
    assert.deepEqual(got.out, [[98, 97, 99, 99], [98, 97, 99, 99], [0, 0, 0, 0], true], "contents and file unchanged");
    const none = ["Error", "ERR_MMAP_VIEWS_UNAVAILABLE"];
    assert.deepEqual(got.noViews, [[none, none], [none, none], [none, none]]);
  }
});

test("WebAssembly out-of-bounds traps still work with memmap loaded (the handler chains)", () => {
  const r = child(`
    const m = new mm.MMap(-1, 4096);
    const hex = "0061736d0100000001060160017f017f030201000503010001070801046c6f61640000" + "0a0901070020002802000b";
    const i = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(hex, "hex")));
    let trapped = null;
    try { i.exports.load(1e9 | 0); } catch (e) { trapped = e.constructor.name; }
    console.log(i.exports.load(4), trapped, m.get(0));
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "0 RuntimeError 0");
});

test("two copies of the addon in one process (two versions of the package): each chains to the other, and a WebAssembly trap is still a RuntimeError, a kill() still ends the process (a hang or SIGSEGV before: the two handlers called each other forever)", { skip: WINDOWS && "POSIX signals (Windows: vectored handlers, which do not chain)" }, () => {
  // The copy loads after the package's addon and puts its handler on top, chaining to the
  // package's; then each copy makes a map that can fault, and each puts its own handler back on
  // top, chaining to whatever is there: the other copy's. A fault that is neither's went round
  // the two for ever (a tail call: a hang at 100% CPU), or until the stack ran out (SIGSEGV).
  // `order` says which copies made a map after both were loaded.
  for (const order of ["package", "package,copy", "copy,package"]) {
    const f = path.join(dir, `two-copies-${order}.bin`);
    const r = child(`
      import { createRequire } from "node:module";
      const require = createRequire(${JSON.stringify(index)});
      const addonFile = require("node-gyp-build").resolve(${JSON.stringify(fileURLToPath(new URL("..", import.meta.url)))});
      const copyFile = ${JSON.stringify(path.join(dir, "copy-"))} + ${JSON.stringify(order.replace(",", "-"))} + ".node";
      fs.copyFileSync(addonFile, copyFile);
      void new mm.MMap(-1, 4096);                        // the package's addon is loaded
      const copy = require(copyFile);                    // the other copy, loaded after it
      fs.writeFileSync(${JSON.stringify(f)}, Buffer.alloc(3 * 4096, 1));
      const fd = fs.openSync(${JSON.stringify(f)}, "r+");
      const { PROT_READ, PROT_WRITE, MAP_SHARED } = copy.constants;
      const maps = [];
      for (const who of ${JSON.stringify(order)}.split(",")) {
        if (who === "copy") maps.push(copy.map(copy.dup(fd), 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, -1));
        else maps.push(new mm.MMap(fd, 3 * 4096));
      }
      const m = maps.find((x) => x instanceof mm.MMap);
      const out = {};
      const hex = "0061736d0100000001060160017f017f030201000503010001070801046c6f61640000" + "0a0901070020002802000b";
      const wasm = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(hex, "hex")));
      try { wasm.exports.load(1e9 | 0); out.trap = "no trap"; } catch (e) { out.trap = e.constructor.name; }
      fs.ftruncateSync(fd, 4096);                       // the package's map still contains its faults
      try { m.get(2 * 4096); out.truncated = "no error"; } catch (e) { out.truncated = e.code; }
      console.log(JSON.stringify(out));
      process.kill(process.pid, "SIGBUS");               // no listener: the default action
      await new Promise((resolve) => setTimeout(resolve, 1000));
      console.log("survived");
    `, {}, { timeout: 30_000 });
    assert.notEqual(r.signal, "SIGTERM", `${order}: the child hung (killed by the timeout)`);
    assert.deepEqual({ order, signal: r.signal, stdout: r.stdout, stderr: r.stderr }, {
      order,
      signal: "SIGBUS",
      stdout: JSON.stringify({ trap: "RuntimeError", truncated: "ERR_MMAP_TRUNCATED" }) + "\n",
      stderr: "",
    });
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

test("the fault handlers' probe pipe is close-on-exec from its making: a child another thread spawns while the addon loads inherits neither end (it inherited both before: pipe(), then fcntl)", { skip: process.platform !== "linux" ? "LD_PRELOAD and /proc (macOS has no pipe2: see docs/safety.md)" : ASAN ? "AddressSanitizer must come first in LD_PRELOAD" : CC === null ? "no C compiler (cc, gcc, clang or $CC)" : false }, () => {
  // The addon makes its pipe once per process, as it loads. The shim makes that pipe() (or
  // pipe2()) return only after 300 ms; meanwhile a worker spawns children in a loop, each listing
  // its descriptors. Afterwards the pipe's inode is known (the pipes the import added).
  const shim = path.join(dir, "slow-pipe.so");
  const cc = spawnSync(CC, ["-shared", "-fPIC", "-O2", "-o", shim, fileURLToPath(new URL("fixtures/slow-pipe.c", import.meta.url)), "-ldl"], { encoding: "utf8" });
  assert.equal(cc.status, 0, cc.stderr);
  const file = path.join(dir, `probe-pipe.mjs`);
  fs.writeFileSync(file, `
    import fs from "node:fs";
    import { Worker } from "node:worker_threads";
    const pipes = () => new Set(fs.readdirSync("/proc/self/fd").map((e) => { try { return fs.readlinkSync("/proc/self/fd/" + e); } catch { return ""; } }).filter((l) => l.startsWith("pipe:")));
    const flag = new Int32Array(new SharedArrayBuffer(8));
    const w = new Worker(\`
      const { spawnSync } = require("node:child_process");
      const { workerData: flag, parentPort } = require("node:worker_threads");
      const seen = new Set();
      let runs = 0;
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      while (Atomics.load(flag, 1) === 0) {
        const r = spawnSync("/bin/sh", ["-c", "exec ls -l /proc/self/fd"], { encoding: "utf8" });
        runs++;
        for (const m of r.stdout.matchAll(/pipe:.[0-9]+./g)) seen.add(m[0]);
      }
      parentPort.postMessage({ seen: [...seen], runs });
    \`, { eval: true, workerData: flag });
    while (Atomics.load(flag, 0) === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const before = pipes();
    await import(${JSON.stringify(index)});
    Atomics.store(flag, 1, 1);
    const { seen, runs } = await new Promise((resolve) => w.once("message", resolve));
    const made = [...pipes()].filter((p) => !before.has(p));
    console.log(JSON.stringify({ made: made.length > 0, spawned: runs > 0, inherited: seen.filter((p) => made.includes(p)) }));
  `);
  const r = runNode([file], { env: { ...process.env, LD_PRELOAD: shim } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { made: true, spawned: true, inherited: [] });
});

for (const sig of ["SIGSEGV", "SIGBUS"]) {
  test(`a ${sig} that is not memmap's still ends the process`, { skip: WINDOWS && "POSIX signals (Windows: the vectored handler passes on what is not memmap's, see the WebAssembly test)" }, () => {
    const r = child(`new mm.MMap(-1, 4096); process.kill(process.pid, "${sig}"); setTimeout(() => console.log("survived"), 200);`);
    assert.equal(r.signal, sig);
    assert.equal(r.stdout, "");
  });
}

test("MEMMAP_NO_FAULT_HANDLER=1 leaves the signals alone: a write through a read-only view", { skip: WINDOWS && "POSIX signals" }, () => {
  const f = path.join(dir, "nohandler.bin");
  const r = child(
    `fs.writeFileSync(${JSON.stringify(f)}, "x".repeat(4096));
     const m = mm.MMap.open(${JSON.stringify(f)}, { access: mm.ACCESS_READ });
     try { m.buffer[0] = 1; } catch (e) { console.log(e.code); }
     console.log("survived");`,
    { MEMMAP_NO_FAULT_HANDLER: "1" },
  );
  if (VIEWS) {
    assert.equal(r.signal, "SIGSEGV");
    assert.equal(r.stdout, "");
  } else {
    // without views there is no raw write to fault: the view is refused, the process lives
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "ERR_MMAP_VIEWS_UNAVAILABLE\nsurvived\n");
    assert.equal(fs.readFileSync(f, "latin1"), "x".repeat(4096));
  }
});

test("MEMMAP_NO_FAULT_HANDLER=1 leaves the signals alone: a method reading a truncated file", { skip: WINDOWS && "POSIX signals; Windows refuses to truncate a mapped file" }, () => {
  const f = path.join(dir, "nohandler2.bin");
  // trackfd: false, so that nothing is known of the loss before the page is touched
  const r = child(
    `fs.writeFileSync(${JSON.stringify(f)}, "x".repeat(3 * 4096));
     const m = new mm.MMap(fs.openSync(${JSON.stringify(f)}, "r"), 0, { access: mm.ACCESS_READ, trackfd: false });
     fs.truncateSync(${JSON.stringify(f)}, 0);
     console.log(m.get(5000));
     console.log("survived");`,
    { MEMMAP_NO_FAULT_HANDLER: "1" },
  );
  assert.equal(r.signal, "SIGBUS", r.stderr);
  assert.equal(r.stdout, "");
});
