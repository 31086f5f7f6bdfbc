// Nothing lost: data written to an ACCESS_WRITE map and flushed survives the writer being
// killed with SIGKILL right after flush() returns.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { tmpdir } from "./helpers.mjs";

const dir = tmpdir("memmap-durability-");
const index = new URL("../dist/index.js", import.meta.url).href;

/** Starts a writer that maps `file`, writes `data` at `at`, flushes the way `how` says, prints "flushed", then spins. */
function killAfterFlush(file, data, at, how) {
  const script = path.join(dir, `writer-${how}.mjs`);
  fs.writeFileSync(
    script,
    `import { MMap, ACCESS_WRITE, PAGESIZE } from ${JSON.stringify(index)};
     const m = MMap.open(process.argv[2], { access: ACCESS_WRITE });
     const data = Buffer.from(process.argv[3], "hex");
     const at = Number(process.argv[4]);
     m.seek(at);
     m.write(data);
     const start = Math.floor(at / PAGESIZE) * PAGESIZE;
     if (process.argv[5] === "sync") m.flush();
     else if (process.argv[5] === "range") m.flush(start, at + data.length - start);
     else await m.flushAsync();
     process.stdout.write("flushed\\n");
     for (;;) {}  // never closes, never exits by itself
    `,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, file, data.toString("hex"), String(at), how], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("flushed")) child.kill("SIGKILL");
    });
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve({ code, signal, out, err }));
    setTimeout(() => child.kill("SIGKILL"), 30_000).unref();
  });
}

for (const how of ["sync", "range", "async"]) {
  test(`ACCESS_WRITE data flushed with ${how === "async" ? "flushAsync()" : how === "range" ? "flush(offset, size)" : "flush()"} survives SIGKILL`, async () => {
    const file = path.join(dir, `data-${how}.bin`);
    const size = 64 * 1024;
    const before = randomBytes(size);
    fs.writeFileSync(file, before);
    const data = randomBytes(10_000);
    const at = 12_345;
    const r = await killAfterFlush(file, data, at, how);
    assert.equal(r.signal, "SIGKILL", r.err);
    assert.equal(r.out, "flushed\n");
    const after = fs.readFileSync(file);
    assert.equal(after.length, size);
    const expected = Buffer.from(before);
    data.copy(expected, at);
    assert.ok(after.equals(expected), "the file holds exactly the flushed data");
  });
}
