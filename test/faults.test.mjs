// Faults inside memmap's own mappings are contained (docs/safety.md); all others are not ours.
// Every case runs in a child process and asserts how it ended.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { runNode, tmpdir, WINDOWS } from "./helpers.mjs";

const dir = tmpdir("memmap-faults-");
const index = new URL("../dist/index.js", import.meta.url).href;

function child(body, env = {}) {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(file, `import fs from "node:fs";\nimport * as mm from ${JSON.stringify(index)};\n${body}\n`);
  return runNode([file], { env: { ...process.env, ...env } });
}

test("a file truncated under a live map: methods throw ERR_MMAP_TRUNCATED naming the lost range, views read zeros", { skip: WINDOWS && "Windows refuses to truncate a mapped file (test/windows.test.mjs)" }, () => {
  const f = path.join(dir, "shrink.bin");
  const r = child(`
    fs.writeFileSync(${JSON.stringify(f)}, Buffer.alloc(4 * 4096, 7));
    const m = mm.MMap.open(${JSON.stringify(f)});
    const view = m.buffer;
    fs.truncateSync(${JSON.stringify(f)}, 4096 + 100);
    const err = (fn) => { try { fn(); return "no error"; } catch (e) { return [e.constructor.name, e.code, e.goneStart, e.goneEnd]; } };
    const out = {};
    out.head = m.get(4095);                       // still in the file
    out.firstTouch = err(() => m.get(3 * 4096));  // the first touch faults: contained, then reported
    out.view = view[2 * 4096];                    // raw views read zeros
    view[2 * 4096 + 1] = 9;                       // and writes stay in memory
    out.known = err(() => m.get(2 * 4096 + 1));   // a known loss is reported before touching
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
    view: 0,
    known: gone,
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
    length: 4 * 4096,
    file: 4096 + 100,
  });
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

test("writes through views of read-only maps (ACCESS_READ, PROT_READ, anonymous) never reach the file", () => {
  const f = path.join(dir, "ro.bin");
  const r = child(`
    fs.writeFileSync(${JSON.stringify(f)}, "abcdefgh".repeat(2048));
    const a = mm.MMap.open(${JSON.stringify(f)}, { access: mm.ACCESS_READ });
    const b = new mm.MMap(fs.openSync(${JSON.stringify(f)}, "r"), 0, { prot: mm.PROT_READ });
    const c = new mm.MMap(-1, 8192, { prot: mm.PROT_READ });
    for (const m of [a, b, c]) { const v = m.buffer; v[1] = 90; v[5000] = 91; v.fill(92, 8000, 8100); }
    const out = [a, b, c].map((m) => [m.get(1), m.get(5000), m.get(8050), m.get(2)]);
    for (const m of [a, b, c]) m.close();
    out.push(fs.readFileSync(${JSON.stringify(f)}, "latin1") === "abcdefgh".repeat(2048));
    console.log(JSON.stringify(out));
  `);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [[90, 91, 92, 99], [90, 91, 92, 99], [90, 91, 92, 0], true]);
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

for (const sig of ["SIGSEGV", "SIGBUS"]) {
  test(`a ${sig} that is not memmap's still ends the process`, { skip: WINDOWS && "POSIX signals (Windows: the vectored handler passes on what is not memmap's, see the WebAssembly test)" }, () => {
    const r = child(`new mm.MMap(-1, 4096); process.kill(process.pid, "${sig}"); setTimeout(() => console.log("survived"), 200);`);
    assert.equal(r.signal, sig);
    assert.equal(r.stdout, "");
  });
}

test("MEMMAP_NO_FAULT_HANDLER=1 leaves the signals alone", { skip: WINDOWS && "POSIX signals" }, () => {
  const f = path.join(dir, "nohandler.bin");
  const r = child(
    `fs.writeFileSync(${JSON.stringify(f)}, "x".repeat(4096));
     const m = mm.MMap.open(${JSON.stringify(f)}, { access: mm.ACCESS_READ });
     m.buffer[0] = 1;
     console.log("survived");`,
    { MEMMAP_NO_FAULT_HANDLER: "1" },
  );
  assert.equal(r.signal, "SIGSEGV");
  assert.equal(r.stdout, "");
});
