// Faults inside memmap's own mappings are contained (docs/safety.md); all others are not ours.
// Every case runs in a child process and asserts how it ended.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { runNode, tmpdir } from "./helpers.mjs";

const dir = tmpdir("memmap-faults-");
const index = new URL("../dist/index.js", import.meta.url).href;

function child(body, env = {}) {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(file, `import fs from "node:fs";\nimport * as mm from ${JSON.stringify(index)};\n${body}\n`);
  return runNode([file], { env: { ...process.env, ...env } });
}

test("a file truncated under a live map: views and methods read zeros, the process survives", () => {
  const f = path.join(dir, "shrink.bin");
  const r = child(`
    fs.writeFileSync(${JSON.stringify(f)}, Buffer.alloc(4 * 4096, 7));
    const m = mm.MMap.open(${JSON.stringify(f)});
    const view = m.buffer;
    fs.truncateSync(${JSON.stringify(f)}, 4096);
    const out = { head: m.get(4095), lost: m.get(3 * 4096), view: view[2 * 4096] };
    view[2 * 4096 + 1] = 9;              // a write past the end stays in memory
    out.written = m.get(2 * 4096 + 1);
    out.find = m.find(Buffer.from([7, 7]), 4000);
    out.read = [...m.slice(4094, 4098)];
    m.close();
    out.file = fs.statSync(${JSON.stringify(f)}).size;
    console.log(JSON.stringify(out));
  `);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { head: 7, lost: 0, view: 0, written: 9, find: 4000, read: [7, 7, 0, 0], file: 4096 });
});

test("a file truncated by another process under a live map", () => {
  const f = path.join(dir, "shrink2.bin");
  const r = child(`
    import { execFileSync } from "node:child_process";
    fs.writeFileSync(${JSON.stringify(f)}, Buffer.alloc(3 * 4096, 1));
    const m = new mm.MMap(fs.openSync(${JSON.stringify(f)}, "r"), 0, { access: mm.ACCESS_READ });
    execFileSync("truncate", ["-s", "0", ${JSON.stringify(f)}]);
    let sum = 0;
    for (const b of m) sum += b;
    console.log(sum, m.readline().length);
  `);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "0 12288");
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
  test(`a ${sig} that is not memmap's still ends the process`, () => {
    const r = child(`new mm.MMap(-1, 4096); process.kill(process.pid, "${sig}"); setTimeout(() => console.log("survived"), 200);`);
    assert.equal(r.signal, sig);
    assert.equal(r.stdout, "");
  });
}

test("MEMMAP_NO_FAULT_HANDLER=1 leaves the signals alone", () => {
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
