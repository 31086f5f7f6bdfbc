// The shipped types, as a strict TypeScript project importing "memmap" sees them.
import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

test("test/types/usage.ts type-checks against the published declarations", () => {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const project = fileURLToPath(new URL("./types/tsconfig.json", import.meta.url));
  const r = spawnSync(process.execPath, [tsc, "-p", project], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

// The declarations say that every Buffer, view and array a map hands out is backed by an
// ArrayBuffer (Buffer<ArrayBuffer>, Float32Array<ArrayBuffer> …, as fs.readFileSync's Buffer):
// what the runtime gives, in both memory modes (the copying mode has no views to give).
test("what the types declare ArrayBuffer-backed is: read, slice, readline, valueOf, lines, residency; buffer, subarray, view", async () => {
  const { MMap } = await import("../dist/index.js");
  const { VIEWS } = await import("./helpers.mjs");
  const m = new MMap(-1, 4 * 4096);
  try {
    m.write("one\ntwo\n");
    m.seek(0);
    const given = { read: m.read(3), slice: m.slice(0, 4), readline: m.readline(), valueOf: m.valueOf(), residency: m.residency() };
    for (const [i, line] of [...m.lines(0, 8)].entries()) given[`lines[${i}]`] = line;
    if (VIEWS) Object.assign(given, { buffer: m.buffer, subarray: m.subarray(0, 4), Float32Array: m.view(Float32Array), DataView: m.view(DataView, 8), BigInt64Array: m.view(BigInt64Array, 8, 2) });
    assert.equal(Object.keys(given).length, VIEWS ? 12 : 7);
    for (const [name, value] of Object.entries(given)) {
      assert.equal(Object.prototype.toString.call(value.buffer), "[object ArrayBuffer]", name);
    }
  } finally {
    m.close();
  }
});
