// The address rule (docs/safety.md, "Addresses outlive their holders"; native/region.h): no
// address range memmap ever exposed is unmapped, or given to another mapping, while anything may
// still hold a pointer into it. Each attack of issue 11 item 1 runs in a child process that
// asserts how it ended: a view moved out of memmap's sight with ArrayBuffer.prototype.transfer()
// (Node 20 with --harmony-rab-gsab-transfer; Node >= 21 by default), a view lent to Node's thread
// pool (crypto.randomFill, fs.read blocked on a FIFO), a map reclaimed under a transferred view,
// resizes that move or shrink the mapping under them; what it costs (mappings, memory); and that
// the map's own methods keep working when someone transfers the buffer it handed out.
//
// The children run on this Node and on the newest Node >= 22 found in the runtimes cache of
// scripts/test-runtimes-lib.mjs (never fetched here: no network at test time). The children
// inherit MEMMAP_NO_EXTERNAL_BUFFERS: without views nothing can escape, and these cases skip.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { cacheDir } from "../scripts/test-runtimes-lib.mjs";
import { tmpdir, VIEWS, WINDOWS } from "./helpers.mjs";

const dir = tmpdir("memmap-addresses-");
const index = new URL("../dist/index.js", import.meta.url).href;
const binding = new URL("../dist/binding.js", import.meta.url).href;
const NO_VIEWS = "views only (MEMMAP_NO_EXTERNAL_BUFFERS=1: no view exists, nothing can escape)";
const NO_PROC = "reads /proc/self (maps, status, fd): Linux";
const NO_FIFO = "a FIFO (mkfifo) blocking a read in Node's thread pool: POSIX";
const PAGE = 4096;

/** A Node binary and the flags it needs for ArrayBuffer.prototype.transfer. */
function runtime(bin, version) {
  const major = Number(version.split(".")[0]);
  return { name: `Node ${version}`, bin, args: major < 21 ? ["--harmony-rab-gsab-transfer"] : [] };
}

/** This Node, and the newest Node >= 22 unpacked in the runtimes cache, when there is one. */
const RUNTIMES = (() => {
  const list = [runtime(process.execPath, process.versions.node)];
  if (WINDOWS || !fs.existsSync(cacheDir)) return list;
  const prefix = `node-${process.platform}-${process.arch}@`;
  const cached = fs
    .readdirSync(cacheDir)
    .filter((d) => d.startsWith(prefix) && fs.existsSync(path.join(cacheDir, d, ".complete")))
    .map((d) => d.slice(prefix.length))
    .filter((v) => Number(v.split(".")[0]) >= 22 && v.split(".")[0] !== process.versions.node.split(".")[0])
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const newest = cached.at(-1);
  const bin = newest && path.join(cacheDir, `${prefix}${newest}`, "bin", "node");
  if (bin && fs.existsSync(bin)) list.push(runtime(bin, newest));
  return list;
})();

const prelude = `
import fs from "node:fs";
import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import * as mm from ${JSON.stringify(index)};
import { native } from ${JSON.stringify(binding)};
const PAGE = ${PAGE};
// Whether ranges a map leaves become placeholders (everywhere but Windows without them: Wine 8).
const placeholders = native.capabilities.placeholders;
const maps = () => fs.readFileSync("/proc/self/maps", "utf8").split("\\n").filter(Boolean).length;
const status = (key) => Number(new RegExp(key + ":\\\\s+(\\\\d+)").exec(fs.readFileSync("/proc/self/status", "utf8"))[1]);
// Where the first mapping of \`file\` starts, as a string ("" when none).
const startOf = (file) => (fs.readFileSync("/proc/self/maps", "utf8").split("\\n").find((l) => l.endsWith(" " + file)) ?? "").split("-")[0];
const fdsOn = (file) => fs.readdirSync("/proc/self/fd").filter((e) => { try { return fs.readlinkSync("/proc/self/fd/" + e) === file; } catch { return false; } }).length;
const fileOf = (name, size, byte) => { const f = ${JSON.stringify(dir)} + "/" + name + "-" + process.pid; fs.writeFileSync(f, Buffer.alloc(size, byte)); return f; };
const intact = (f, byte) => fs.readFileSync(f).every((b) => b === byte);
const code = (fn) => { try { fn(); return "ok"; } catch (e) { return e.code ?? e.constructor.name; } };
const steal = (view) => new Uint8Array(view.buffer.transfer());
const turns = async (n = 4) => { for (let i = 0; i < n; i++) { globalThis.gc?.(); await new Promise((r) => setImmediate(r)); } };
const done = (value) => console.log(JSON.stringify(value));
`;

function script(body) {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(file, `${prelude}\n${body}\n`);
  return file;
}

/** Runs `body` in a child of runtime `rt` (with `shell`, a bash prefix such as "ulimit -v N;"). */
function child(rt, body, { env = {}, shell, flags = [] } = {}) {
  const args = [...rt.args, ...flags, script(body)];
  const options = { encoding: "utf8", timeout: 120_000, env: { ...process.env, ...env } };
  return shell === undefined
    ? spawnSync(rt.bin, args, options)
    : spawnSync("bash", ["-c", `${shell} exec "$0" "$@"`, rt.bin, ...args], options);
}

/** The JSON a child printed on its last line, once it ended normally. */
function result(r) {
  assert.equal(r.signal, null, `ended by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1));
}

/** One test per runtime. */
function each(name, options, fn) {
  for (const rt of RUNTIMES) test(`${name} (${rt.name})`, options, (t) => fn(t, rt));
}

// ---------------------------------------------------------------- views moved out of memmap's sight

each("a view transferred out of memmap reads zeros after close(), takes writes that reach nothing, and never crashes", { skip: !VIEWS && NO_VIEWS }, (t, rt) => {
  const got = result(child(rt, `
    const f = fileOf("a", 16 * PAGE, 0x61);
    const m = mm.MMap.open(f);
    const stolen = steal(m.buffer);
    const before = stolen[100];
    m.set(101, 0x62); // the map's own methods still work: the buffer taken was the one it handed out
    const seen = stolen[101];
    m.close();
    const after = [stolen[0], stolen[100], stolen[16 * PAGE - 1]];
    stolen.fill(0x21);
    const want = Buffer.alloc(16 * PAGE, 0x61);
    want[101] = 0x62;
    done({ placeholders, before, seen, after, length: stolen.length, file: fs.readFileSync(f).equals(want), closed: code(() => m.buffer) });
  `));
  // Windows without placeholders (Wine 8) unmaps the view and reserves its addresses again at
  // once: the same zeros (docs/safety.md, "Windows: placeholders").
  t.diagnostic(`placeholders: ${got.placeholders}`);
  assert.deepEqual({ ...got, placeholders: true }, { placeholders: true, before: 0x61, seen: 0x62, after: [0, 0, 0], length: 16 * PAGE, file: true, closed: "ERR_MMAP_CLOSED" });
});

each("a transferred view written after close() never reaches files mapped afterwards at the same addresses", { skip: !VIEWS && NO_VIEWS }, (t, rt) => {
  const got = result(child(rt, `
    const size = PAGE;
    const files = Array.from({ length: 16 }, (_, i) => fileOf("b" + i, size, 0x62));
    const m = mm.MMap.open(fileOf("a", size, 0x61));
    const stolen = steal(m.buffer);
    m.close();
    const others = files.map((f) => [f, mm.MMap.open(f)]);
    stolen.fill(0x58);
    for (const [, o] of others) { o.flush(); o.close(); }
    done({ corrupted: others.filter(([f]) => !intact(f, 0x62)).length });
  `));
  assert.equal(got.corrupted, 0, "every file mapped after close() keeps its bytes");
});

each("crypto.randomFill(m.buffer) then close(): the thread pool fills a placeholder, not the file mapped next", { skip: !VIEWS && NO_VIEWS }, (t, rt) => {
  const got = result(child(rt, `
    const size = 32 << 20;
    const m = new mm.MMap(-1, size);
    const next = fileOf("r", 0, 0);
    fs.truncateSync(next, size);
    crypto.randomFill(m.buffer, (err, buf) => {
      o.flush(); o.close();
      done({ err: err?.code ?? null, length: buf.length, file: intact(next, 0) });
    });
    m.close();
    const o = mm.MMap.open(next);
  `));
  assert.deepEqual(got, { err: null, length: 0, file: true });
});

each("fs.read() blocked in the thread pool on a FIFO, close(), a new map at the same address: the pipe's bytes never reach its file", { skip: (!VIEWS && NO_VIEWS) || (WINDOWS && NO_FIFO) }, (t, rt) => {
  const got = result(child(rt, `
    const fifo = ${JSON.stringify(dir)} + "/fifo-" + process.pid;
    execFileSync("mkfifo", [fifo]);
    const fd = fs.openSync(fifo, fs.constants.O_RDWR); // read-write: opening does not block
    const m = mm.MMap.open(fileOf("a", PAGE, 0x61));
    const next = fileOf("b", PAGE, 0x62);
    fs.read(fd, m.buffer, 0, 16, null, (err, n) => {
      o.flush(); o.close(); fs.closeSync(fd);
      done({ err: err?.code ?? null, n, file: intact(next, 0x62) });
    });
    m.close();
    const o = mm.MMap.open(next);
    setTimeout(() => fs.writeSync(fd, "PIPE".repeat(4)), 100);
  `));
  assert.deepEqual(got, { err: null, n: 16, file: true });
});

each("a program that wraps Buffer.from never receives memmap's own view: lent to fs.read() on a FIFO across close(), it would have written into a file mapped afterwards", { skip: (!VIEWS && NO_VIEWS) || (WINDOWS && NO_FIFO) }, (t, rt) => {
  // memmap made every view with Buffer.from(arrayBuffer), its own views (never handed out, so
  // unmapped at close() at once) included: a wrapper (instrumentation, a polyfill) got the
  // ArrayBuffer of the view memmap's methods read and write, and Node's thread pool wrote the
  // pipe's bytes into a file mapped afterwards at those addresses (1 file of 16 corrupted).
  const got = result(child(rt, `
    const seen = [];
    const from = Buffer.from;
    Buffer.from = function (value, ...rest) {
      if (value instanceof ArrayBuffer) seen.push(value);
      return from.call(this, value, ...rest);
    };
    const f = fileOf("a", 16 * PAGE, 0x61);
    const m = mm.MMap.open(f);
    for (let i = 0; i < 64; i++) m.get(i); // past the first accesses: memmap makes its own view
    m.read(100); m.readline(); m.find("b"); m.slice(0, 3, 2);
    Buffer.from = from;
    const fifo = ${JSON.stringify(dir)} + "/fifo-from-" + process.pid;
    execFileSync("mkfifo", [fifo]);
    const fd = fs.openSync(fifo, fs.constants.O_RDWR);
    const reads = seen.map((ab) => new Promise((r) => fs.read(fd, new Uint8Array(ab), 0, PAGE, null, () => r())));
    m.close();
    const others = Array.from({ length: 16 }, (_, i) => { const g = fileOf("o" + i, 16 * PAGE, 0x6f); return [g, mm.MMap.open(g)]; });
    fs.writeSync(fd, Buffer.alloc(PAGE * reads.length, 0x58));
    await Promise.all(reads);
    for (const [, o] of others) { o.flush(); o.close(); }
    fs.closeSync(fd);
    done({ seen: seen.length, file: intact(f, 0x61), corrupted: others.filter(([g]) => !intact(g, 0x6f)).length });
  `));
  assert.deepEqual(got, { seen: 0, file: true, corrupted: 0 });
});

each("a map never closed whose buffer was transferred: reclaiming it lets go of the file and descriptor, the view reads zeros, later maps stay intact", { skip: (!VIEWS && NO_VIEWS) || (WINDOWS && NO_PROC) }, (t, rt) => {
  const got = result(child(rt, `
    const size = 16 << 20;
    const f = fileOf("a", size, 0x61);
    const stolen = (() => steal(mm.MMap.open(f).buffer))();
    const before = stolen[0];
    // Maps never closed: past the reclaiming threshold memmap collects garbage and releases
    // what nobody can reach (no --expose-gc: it obtains V8's gc itself).
    for (let i = 0; i < 20000; i++) new mm.MMap(-1, PAGE).get(0);
    const after = stolen[0], fds = fdsOn(f);
    const next = [];
    for (let i = 0; i < 4; i++) { const g = fileOf("c" + i, size, 0x63); next.push([g, mm.MMap.open(g)]); }
    stolen.fill(0x58);
    for (const [, o] of next) { o.flush(); o.close(); }
    done({ before, after, fds, corrupted: next.filter(([g]) => !intact(g, 0x63)).length });
  `));
  assert.deepEqual(got, { before: 0x61, after: 0, fds: 0, corrupted: 0 });
});

each("when someone transfers the buffer a map handed out, every method keeps working and the next buffer is a new one", { skip: !VIEWS && NO_VIEWS }, (t, rt) => {
  // With MEMMAP_MAX_VIEW below the map's length the map is cut into segments: the views taken
  // are segment views, and \`buffer\` is refused (ERR_OUT_OF_RANGE), as for any map that large.
  const body = `
    const segmented = process.env.MEMMAP_MAX_VIEW !== undefined;
    const m = new mm.MMap(-1, 4 * PAGE);
    m.write("hello\\nworld\\n");
    const taken = [steal(segmented ? m.subarray(0, PAGE) : m.buffer), steal(m.subarray(0, 8))];
    const out = {
      get: m.get(0), set: (m.set(1, 0x45), m.get(1)), writeByte: (m.seek(12), m.writeByte(0x21), m.get(12)),
      write: (m.seek(13), m.write("!?")), slice: m.slice(0, 6).toString(), read: (m.seek(0), m.read(5).toString()),
      readline: (m.seek(0), m.readline().toString()), find: m.find("world"), setSlice: (m.setSlice(0, 2, "HE"), m.slice(0, 2).toString()),
      move: (m.move(100, 0, 5), m.slice(100, 105).toString()), search: m.search(/w(or)ld/, 0, 100)?.index ?? null,
      iter: [...m].slice(0, 2), buffer: segmented ? code(() => m.buffer) : m.buffer.length, sub: m.subarray(0, 5).toString(),
      seenByStolen: taken[0][1],
    };
    steal(m.subarray(PAGE, PAGE + 8)); // a second transfer, of a view of the new buffer (or segment)
    out.subAgain = m.subarray(PAGE, PAGE + 4).length;
    m.close();
    done(out);
  `;
  const expected = {
    get: 0x68, set: 0x45, writeByte: 0x21, write: 2, slice: "hEllo\n", read: "hEllo", readline: "hEllo\n", find: 6, setSlice: "HE",
    move: "HEllo", search: 6, iter: [0x48, 0x45], buffer: 4 * PAGE, sub: "HEllo", seenByStolen: 0x45, subAgain: 4,
  };
  assert.deepEqual(result(child(rt, body)), expected);
  assert.deepEqual(result(child(rt, body, { env: { MEMMAP_MAX_VIEW: String(2 * PAGE) } })), { ...expected, buffer: "ERR_OUT_OF_RANGE" });
});

// A worker's end calls the finalizer of every ArrayBuffer made there, whether or not its memory
// lives on in another thread (a transfer() then a postMessage transfer list): memmap must keep the
// range reserved then, never unmap it under the thread that has the memory now.
for (const [ending, how] of [
  ["terminate", "terminated"],
  ["natural", "ending by itself"],
]) {
  for (const closed of [false, true]) {
    each(`a view moved to the main thread outlives the worker that mapped it (${how}, map ${closed ? "closed" : "never closed"} there): zeros, writes reaching nothing, no crash, other files intact`, { skip: !VIEWS && NO_VIEWS }, (t, rt) => {
      const got = result(child(rt, `
        import { Worker } from "node:worker_threads";
        const f = fileOf("w", 16 * PAGE, 0x61);
        const w = new Worker(\`
          const { parentPort } = require("node:worker_threads");
          import(${JSON.stringify(index)}).then(({ MMap }) => {
            const m = MMap.open(${"${JSON.stringify(f)}"});
            const moved = m.buffer.buffer.transfer();
            ${closed ? "m.close();" : "globalThis.keep = m;"}
            parentPort.postMessage(moved, [moved]);
            ${ending === "terminate" ? "setInterval(() => {}, 1000);" : ""}
          });\`, { eval: true });
        const exited = new Promise((r) => w.once("exit", r));
        const u = new Uint8Array(await new Promise((r) => w.once("message", r)));
        // A worker ending by itself may be gone before the message is read: its bytes then already read zeros.
        const during = ${ending === "terminate" ? "u[0]" : "null"};
        ${ending === "terminate" ? "await w.terminate();" : "await exited;"}
        await turns();
        const after = [u[0], u[16 * PAGE - 1]];
        const others = Array.from({ length: 8 }, (_, i) => { const g = fileOf("o" + i, 16 * PAGE, 0x6f); return [g, mm.MMap.open(g)]; });
        u.fill(0x58);
        for (const [, o] of others) { o.flush(); o.close(); }
        done({ during, after, kept: u[5], file: intact(f, 0x61), corrupted: others.filter(([g]) => !intact(g, 0x6f)).length });
      `));
      const during = ending === "terminate" ? (closed ? 0 : 0x61) : null;
      assert.deepEqual(got, { during, after: [0, 0], kept: 0x58, file: true, corrupted: 0 });
    });
  }
}

// Deno frees an external ArrayBuffer's memory, and calls memmap's finalizer for it, on whichever
// thread lets go of the memory last, and at any time, with the environment that made it, even once
// that environment has ended: a view moved to the main thread (transfer() then a transfer list)
// and collected there runs the worker's finalizer on the main thread, and a worker's end leaves
// such a view alive without calling it. Before, the main thread's collection made memmap's
// finalizer call Node-API on the worker's environment from the main thread (Deno panicked:
// "attempt to use Handle in an Isolate that is not its host"), and a worker's end unmapped the
// range under the main thread's view (SIGSEGV at its first read).
const DENO = (() => {
  if (WINDOWS || !fs.existsSync(cacheDir)) return null;
  const prefix = `@deno+${process.platform}-${process.arch}-glibc@`;
  const dirs = fs.readdirSync(cacheDir).filter((d) => d.startsWith(prefix) && fs.existsSync(path.join(cacheDir, d, ".complete")));
  const bins = dirs.map((d) => path.join(cacheDir, d, "deno")).filter((f) => fs.existsSync(f));
  return bins.sort().at(-1) ?? null;
})();
const NO_DENO = "Deno is not in the runtimes cache (npm run test:runtimes -- --deno puts it there)";
const deno = { name: "Deno", bin: DENO, args: ["run", "-A", "--v8-flags=--expose-gc"] };

test("Deno: views moved from a worker to the main thread and collected there, the worker alive, then ended: no crash, no stray write", { skip: (!VIEWS && NO_VIEWS) || (DENO === null && NO_DENO) }, () => {
  const r = child(deno, `
    import { Worker } from "node:worker_threads";
    const f = fileOf("d", 16 * PAGE, 0x61);
    const w = new Worker(\`
      const { parentPort } = require("node:worker_threads");
      import(${JSON.stringify(index)}).then(({ MMap }) => {
        parentPort.on("message", (what) => {
          for (let i = 0; i < 40; i++) {
            const m = MMap.open(${"${JSON.stringify(f)}"});
            const moved = m.buffer.buffer.transfer();
            parentPort.postMessage(moved, [moved]);
            if (what === "keep") globalThis["m" + i] = m; else if (i % 2) m.close();
          }
          for (let i = 0; i < 500; i++) { const m = MMap.open(${"${JSON.stringify(f)}"}); m.buffer[0]; m.close(); }
          parentPort.postMessage("done");
        });
        parentPort.postMessage("ready");
      });\`, { eval: true });
    const messages = [];
    let wake = null;
    w.on("message", (x) => { messages.push(x); wake?.(); });
    const next = async () => { while (messages.length === 0) await new Promise((r) => (wake = r)); return messages.shift(); };
    await next();
    // Round 1: every moved view dropped and collected here while the worker lives and makes maps.
    w.postMessage("drop");
    const collector = setInterval(() => globalThis.gc(), 1);
    for (let x = await next(); x !== "done"; x = await next()) {}
    clearInterval(collector);
    await turns(8);
    // Round 2: moved views kept here, the worker then ended (its maps never closed).
    w.postMessage("keep");
    const kept = [];
    for (let x = await next(); x !== "done"; x = await next()) kept.push(new Uint8Array(x));
    const during = kept[0][0];
    const exited = new Promise((r) => w.once("exit", r));
    await w.terminate();
    await exited;
    await turns(8);
    const after = kept.map((u) => u[0] + u[16 * PAGE - 1]).reduce((a, b) => a + b, 0);
    const others = Array.from({ length: 8 }, (_, i) => { const g = fileOf("do" + i, 16 * PAGE, 0x6f); return [g, mm.MMap.open(g)]; });
    for (const u of kept) u.fill(0x58);
    for (const [, o] of others) { o.flush(); o.close(); }
    kept.length = 0;
    await turns(8);
    done({ during, after, file: intact(f, 0x61), corrupted: others.filter(([g]) => !intact(g, 0x6f)).length });
  `, { env: { DENO_DIR: path.join(dir, "deno-dir"), NO_COLOR: "1" } });
  assert.deepEqual(result(r), { during: 0x61, after: 0, file: true, corrupted: 0 });
});

// ---------------------------------------------------------------- resizes under escaped views

for (const portable of [false, true]) {
  const how = portable ? " (MEMMAP_NO_MREMAP=1: always mapped anew)" : "";
  const env = portable ? { MEMMAP_NO_MREMAP: "1" } : {};
  each(`a resize that moves the mapping: a view transferred before reads zeros where the map was, its writes reach nothing${how}`, { skip: !VIEWS && NO_VIEWS }, (t, rt) => {
    const got = result(child(rt, `
      const f = fileOf("a", 4 * PAGE, 0x61);
      const m = mm.MMap.open(f);
      const stolen = steal(m.buffer);
      // Windows maps a resized file anew, always (and has no /proc).
      const windows = process.platform === "win32", start = windows ? "" : startOf(f);
      // A second map right after this one's pages makes growing in place impossible where mremap
      // would try it (mappings are placed downwards: the next one lands just below, so map two).
      const wall = new mm.MMap(-1, PAGE);
      m.resize(1024 * PAGE);
      const moved = windows || startOf(f) !== start;
      const old = [stolen[0], stolen[4 * PAGE - 1]];
      stolen.fill(0x58);
      m.flush();
      const file = fs.readFileSync(f);
      done({ moved, old, length: stolen.length, map: m.slice(0, 4 * PAGE).every((b) => b === 0x61), file: file.subarray(0, 4 * PAGE).every((b) => b === 0x61) && file.length === 1024 * PAGE });
      wall.close(); m.close();
    `, { env }));
    t.diagnostic(`the mapping moved: ${got.moved}`);
    if (portable || WINDOWS) assert.equal(got.moved, true, "the portable path (and Windows) always maps anew");
    assert.equal(got.length, 4 * PAGE);
    if (got.moved) {
      assert.deepEqual(got.old, [0, 0], "where the map was: zeros");
      assert.deepEqual([got.map, got.file], [true, true], "the view's writes reached neither the map nor the file");
    } else {
      assert.deepEqual(got.old, [0x61, 0x61], "grown in place: the view still shows the map, whose range it is");
    }
  });

  each(`a shrinking resize: a view transferred before reads zeros past the new end, the map where it still is${how}`, { skip: !VIEWS && NO_VIEWS }, (t, rt) => {
    const got = result(child(rt, `
      const f = fileOf("a", 4 * PAGE, 0x61);
      const m = mm.MMap.open(f);
      const stolen = steal(m.buffer);
      m.resize(PAGE + 10);
      const seen = [stolen[0], stolen[PAGE + 9], stolen[2 * PAGE], stolen[4 * PAGE - 1]];
      stolen[3 * PAGE] = 0x58;
      m.set(0, 0x62);
      const head = stolen[0];
      m.resize(4 * PAGE); // grows again: the shrunk tail is reserved for the stolen view, so it moves
      done({ seen, head, tail: stolen[3 * PAGE], map: m.slice(0, 2).toString("latin1"), grown: m.slice(PAGE + 10).every((b) => b === 0) });
      m.close();
    `, { env }));
    // Windows maps a resized file anew, always: the whole old range is left, and reads zeros.
    const kept = WINDOWS ? 0 : 0x61;
    assert.deepEqual(got, { seen: [kept, kept, 0, 0], head: WINDOWS ? 0 : 0x62, tail: 0x58, map: "ba", grown: true });
  });

  each(`fs.read() blocked on a FIFO across a moving resize lands nowhere: the map keeps its bytes${how}`, { skip: (!VIEWS && NO_VIEWS) || (WINDOWS && NO_FIFO) }, (t, rt) => {
    const got = result(child(rt, `
      const fifo = ${JSON.stringify(dir)} + "/fifo-" + process.pid;
      execFileSync("mkfifo", [fifo]);
      const fd = fs.openSync(fifo, fs.constants.O_RDWR);
      const m = new mm.MMap(-1, PAGE, { flags: mm.MAP_PRIVATE });
      m.write("untouched");
      const view = m.buffer;
      fs.read(fd, view, 0, 16, null, (err, n) => {
        fs.closeSync(fd);
        done({ err: err?.code ?? null, n, detached: view.length, map: m.slice(0, 9).toString() });
        m.close();
      });
      const wall = new mm.MMap(-1, PAGE);
      m.resize(1024 * PAGE);
      setTimeout(() => fs.writeSync(fd, "PIPE".repeat(4)), 100);
    `, { env }));
    assert.deepEqual(got, { err: null, n: 16, detached: 0, map: "untouched" });
  });
}

each("a file map's headroom is the file past its end: a view transferred before a growth into it still shows the map and writes to the file; a shrink under it reads zeros past the new end", { skip: (!VIEWS && NO_VIEWS) || (WINDOWS && "Windows keeps no headroom") || (process.platform !== "linux" && "headroom exists where mremap does: Linux") }, (t, rt) => {
  const got = result(child(rt, `
    const f = fileOf("a", 4 * PAGE, 0x61);
    const m = mm.MMap.open(f);
    m.resize(8 * PAGE); // a move: the file mapped on past its end after the map (24 pages)
    const start = startOf(f);
    const stolen = steal(m.buffer);
    m.resize(16 * PAGE); // into the headroom: the ftruncate alone, nothing moves
    const inPlace = startOf(f) === start;
    stolen[1] = 0x62; // the map's own range: reaches the map and the file
    m.flush();
    const wrote = [m.get(1), fs.readFileSync(f)[1]];
    m.resize(2 * PAGE); // a shrink under the view: its tail retired, zeros
    const seen = [stolen[0], stolen[2 * PAGE - 1], stolen[2 * PAGE], stolen[8 * PAGE - 1]];
    stolen[3 * PAGE] = 0x58; // lands in the retired range, reaches nothing
    m.resize(64 * PAGE);
    done({ inPlace, wrote, seen, size: fs.statSync(f).size, head: m.slice(0, 2).toString("latin1"), grown: m.slice(2 * PAGE).every((b) => b === 0) });
    m.close();
  `));
  assert.deepEqual(got, { inPlace: true, wrote: [0x62, 0x62], seen: [0x61, 0x61, 0, 0], size: 64 * PAGE, head: "ab", grown: true });
});

// ---------------------------------------------------------------- what it costs

each("each closed map whose view escaped costs at most one mapping and no memory for reads; all of it goes with the views", { skip: (!VIEWS && NO_VIEWS) || (WINDOWS && NO_PROC) }, async (t, rt) => {
  const got = result(child(rt, `
    const N = 200, size = 64 * 1024;
    const files = Array.from({ length: N }, (_, i) => fileOf("m" + i, size, 0x61));
    await turns();
    const maps0 = maps(), vm0 = status("VmSize"), rss0 = status("RssAnon");
    let kept = [];
    for (let i = 0; i < N; i++) {
      const m = mm.MMap.open(files[i]);
      kept.push(steal(m.buffer));
      m.close();
    }
    let sum = 0;
    for (const v of kept) for (let i = 0; i < v.length; i += PAGE) sum += v[i];
    const held = { maps: maps() - maps0, vmKiB: status("VmSize") - vm0, rssKiB: status("RssAnon") - rss0, sum };
    kept = null;
    await turns(8);
    done({ held, after: { maps: maps() - maps0, vmKiB: status("VmSize") - vm0 } });
  `, { flags: ["--expose-gc"] }));
  t.diagnostic(`200 closed maps of 64 KiB with escaped views: ${JSON.stringify(got)}`);
  assert.equal(got.held.sum, 0, "every escaped view reads zeros");
  assert.ok(got.held.maps <= 200 + 16, `mappings while held: +${got.held.maps}`);
  // Reading every page of the 200 maps (12.8 MiB) takes none of it (the shared zero page); the
  // bound leaves room for the process's own allocations (ASan's are many).
  assert.ok(got.held.rssKiB < (200 * 64) / 2, `anonymous memory for reads: +${got.held.rssKiB} KiB`);
  assert.ok(got.after.maps <= 16, `mappings after the views went: +${got.after.maps}`);
  assert.ok(got.after.vmKiB < 200 * 64 / 4, `virtual size after the views went: +${got.after.vmKiB} KiB`);
});

each("70,000 × (map, take its buffer, close) in one synchronous loop, no view kept: every range is let go of (no finalizer runs meanwhile)", { skip: (!VIEWS && NO_VIEWS) || (WINDOWS && NO_PROC) }, (t, rt) => {
  const got = result(child(rt, `
    const N = 70000, size = 64 * 1024;
    const maps0 = maps(), vm0 = status("VmSize");
    let peak = 0;
    for (let i = 0; i < N; i++) {
      const m = new mm.MMap(-1, size);
      m.buffer[i % size] = 1;
      m.close();
      if (i % 5000 === 0) peak = Math.max(peak, maps() - maps0);
    }
    done({ peak, maps: maps() - maps0, vmMiB: (status("VmSize") - vm0) >> 10 });
  `));
  t.diagnostic(JSON.stringify(got));
  // Never let go, the ranges would take 70,000 × 64 KiB = 4.3 GiB of address space.
  assert.ok(got.vmMiB < 1024, `virtual size grew by ${got.vmMiB} MiB`);
  assert.ok(got.peak < 10000, `mappings: +${got.peak} at the most`);
});

each("20,000 maps never closed, each with a subarray taken and dropped: their files go at once, their addresses when the event loop turns", { skip: (!VIEWS && NO_VIEWS) || (WINDOWS && NO_PROC) }, async (t, rt) => {
  const got = result(child(rt, `
    const f = fileOf("a", PAGE, 0x61);
    await turns();
    const maps0 = maps(), vm0 = status("VmSize");
    (() => { for (let i = 0; i < 20000; i++) if (mm.MMap.open(f).subarray(0, 4)[0] !== 0x61) throw new Error("bad byte"); })();
    const loop = { fds: fdsOn(f), vmMiB: (status("VmSize") - vm0) >> 10 };
    await turns(8);
    done({ loop, maps: maps() - maps0, fds: fdsOn(f), vmMiB: (status("VmSize") - vm0) >> 10 });
  `, { flags: ["--expose-gc"], shell: "ulimit -n 1024;" }));
  t.diagnostic(JSON.stringify(got));
  assert.ok(got.loop.fds < 1024 && got.fds === 0, `descriptors: ${got.loop.fds} in the loop, ${got.fds} after`);
  // Kept, the 20,000 ranges would take 78 MiB of address space (neighbouring placeholders merge:
  // the mappings alone would not tell); the bound on mappings leaves room for ASan's own.
  assert.ok(got.vmMiB < 40, `virtual size after: +${got.vmMiB} MiB`);
  assert.ok(got.maps < 256, `mappings after: +${got.maps}`);
});
