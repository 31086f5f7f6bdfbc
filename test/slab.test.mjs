// The copies slice(), read(), readline() (and lines() in the copying mode) return are carved out of
// one shared 64 KiB slab (src/memory/base.ts), as Node's Buffer pool is. A user who detaches one
// copy's `.buffer` (structuredClone or postMessage with it in the transfer list,
// ArrayBuffer.prototype.transfer()) must never break a later copy, in any map: the slab is marked
// untransferable where the runtime has the mark, and a detached slab is replaced by a new one.
//
// Each case runs in a child process, on this Node (with --harmony-rab-gsab-transfer on Node 20, for
// transfer()) and on every other Node >= 22 in the runtimes cache (never fetched here), in both
// memory modes: what honours the untransferable mark differs by version (docs/safety.md, "Copies").
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { cacheDir } from "../scripts/test-runtimes-lib.mjs";
import { tmpdir, WINDOWS } from "./helpers.mjs";

const dir = tmpdir("memmap-slab-");
const index = new URL("../dist/index.js", import.meta.url).href;

/** A Node binary, its major version, and the flags it needs for ArrayBuffer.prototype.transfer. */
function runtime(bin, version) {
  const major = Number(version.split(".")[0]);
  return { name: `Node ${version}`, major, bin, args: major < 21 ? ["--harmony-rab-gsab-transfer"] : [] };
}

/** This Node, and the newest of each other major >= 22 unpacked in the runtimes cache. */
const RUNTIMES = (() => {
  const list = [runtime(process.execPath, process.versions.node)];
  if (WINDOWS || !fs.existsSync(cacheDir)) return list;
  const prefix = `node-${process.platform}-${process.arch}@`;
  const newest = new Map();
  for (const d of fs.readdirSync(cacheDir)) {
    if (!d.startsWith(prefix) || !fs.existsSync(path.join(cacheDir, d, ".complete"))) continue;
    const v = d.slice(prefix.length);
    const major = v.split(".")[0];
    if (Number(major) < 22 || major === process.versions.node.split(".")[0]) continue;
    const had = newest.get(major);
    if (had === undefined || had.localeCompare(v, "en", { numeric: true }) < 0) newest.set(major, v);
  }
  for (const v of newest.values()) {
    const bin = path.join(cacheDir, `${prefix}${v}`, "bin", "node");
    if (fs.existsSync(bin)) list.push(runtime(bin, v));
  }
  return list;
})();

// The child: for each means of detaching, a fresh map (its first accesses are single native calls,
// later ones copy from memmap's own view: both carve the slab), copies taken, one copy's buffer
// detached, then every copying method checked against the file's bytes, many times (short lines
// take the word copy, long ones subarray + set), and the other copies of the same slab compared.
const CHILD = `
import fs from "node:fs";
import { MMap } from ${JSON.stringify(index)};
const file = process.argv[2];
const data = fs.readFileSync(file);
const lineList = [];
for (let a = 0; a < data.length; ) { const nl = data.indexOf(10, a); const b = nl < 0 ? data.length : nl + 1; lineList.push(data.subarray(a, b)); a = b; }
const means = {
  structuredClone: (ab) => structuredClone(ab, { transfer: [ab] }),
  postMessage: (ab) => { const { port1, port2 } = new MessageChannel(); try { port1.postMessage(ab, [ab]); } finally { port1.close(); port2.close(); } },
};
if (typeof ArrayBuffer.prototype.transfer === "function") means.transfer = (ab) => ab.transfer();
const out = { marked: typeof (await import("node:worker_threads")).markAsUntransferable === "function" };
for (const [name, detach] of Object.entries(means)) {
  const m = MMap.open(file);
  try {
    const first = m.slice(0, 5);
    const kept = [m.slice(5, 40), (m.seek(0), m.readline()), (m.seek(100), m.read(30))];
    const want = [data.subarray(5, 40), lineList[0], data.subarray(100, 130)];
    const sameSlab = kept.every((k) => k.buffer === first.buffer);
    let outcome = "ok";
    try { detach(first.buffer); } catch (e) { outcome = e.name; }
    const detached = first.length === 0;
    const errors = [];
    const expect = (what, got, bytes) => { if (!(got instanceof Buffer) || !got.equals(bytes)) errors.push(what + ": " + (got instanceof Buffer ? got.toString("latin1").slice(0, 20) : String(got))); };
    for (let round = 0; round < 3; round++) {
      try {
        for (let i = 0; i < 40; i++) expect("slice", m.slice(i * 7, i * 7 + 3 + i), data.subarray(i * 7, i * 7 + 3 + i));
        m.seek(0);
        for (const line of lineList) expect("readline", m.readline(), line);
        m.seek(10);
        expect("read", m.read(2000), data.subarray(10, 2010));
        let k = 0;
        for (const line of m.lines()) expect("lines", Buffer.from(line), lineList[k++]);
        if (k !== lineList.length) errors.push("lines: " + k + " lines");
      } catch (e) {
        errors.push((e.code ?? e.constructor.name) + ": " + e.message);
      }
      if (round === 0) try { detach(m.slice(0, 3).buffer); } catch {} // a second detach, of a newer slab
    }
    const siblings = kept.every((k, i) => k.equals(want[i]));
    out[name] = { outcome, detached, sameSlab, errors, siblings };
  } finally {
    m.close();
  }
}
console.log(JSON.stringify(out));
`;

function dataFile() {
  const f = path.join(dir, "lines.txt");
  if (!fs.existsSync(f)) {
    const lines = [];
    for (let i = 0; i < 300; i++) lines.push(`line ${i} `.padEnd([3, 20, 90, 130, 700, 4200][i % 6], String.fromCharCode(97 + (i % 26))));
    fs.writeFileSync(f, lines.join("\n") + "\nlast line without newline");
  }
  return f;
}

for (const rt of RUNTIMES) {
  for (const mode of ["views", "copying"]) {
    test(`detaching a copy's buffer never breaks later copies; the other copies stay where the mark is honoured (${rt.name}, ${mode})`, () => {
      const script = path.join(dir, "child.mjs");
      fs.writeFileSync(script, CHILD);
      const env = { ...process.env, MEMMAP_NO_EXTERNAL_BUFFERS: mode === "copying" ? "1" : "0" };
      const r = spawnSync(rt.bin, [...rt.args, script, dataFile()], { encoding: "utf8", timeout: 120_000, env });
      assert.equal(r.signal, null, r.stderr);
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split("\n").at(-1));
      assert.equal(out.marked, true, "node:worker_threads has markAsUntransferable");
      const names = ["structuredClone", "postMessage", "transfer"];
      assert.deepEqual(Object.keys(out).filter((k) => k !== "marked"), names, "every means ran (transfer() with the flag on Node 20)");
      for (const name of names) {
        const c = out[name];
        assert.equal(c.sameSlab, true, `${name}: the copies share one slab`);
        assert.deepEqual(c.errors, [], `${name}: later copies are the file's bytes`);
        // Node 20 copies a buffer marked untransferable instead of transferring it; later Nodes
        // refuse (DataCloneError); transfer() honours the mark from Node 24 on.
        const honoured = name !== "transfer" || rt.major >= 24;
        if (honoured) {
          assert.equal(c.detached, false, `${name}: the slab stays attached`);
          assert.equal(c.siblings, true, `${name}: the other copies keep their bytes`);
          assert.equal(c.outcome, rt.major < 22 ? "ok" : name === "transfer" ? "TypeError" : "DataCloneError", `${name}: outcome`);
        } else {
          assert.equal(c.detached, true, `${name}: transfer() detaches on Node ${rt.major} (the mark is not honoured)`);
        }
      }
    });
  }
}
