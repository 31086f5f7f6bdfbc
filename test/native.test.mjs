// The addon's own contract, below src/: a handle is a value only the addon made (a Node-API
// external with its type tag). A plain object, a number, null, or an external made by another
// module (a second copy of the addon, loaded from another path) is refused by every function
// that takes a handle, with what a bad handle has always given: -EBADF, or -1 (fd)
// and 0 (busy, live, waitCancel: none of its waits) for the queries. The calls run in a child process
// (test/fixtures/foreign-handles.mjs), whose end is asserted: without the check they would
// read foreign memory as a mapping.
import { test } from "node:test";
import assert from "node:assert/strict";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { runNode } from "./helpers.mjs";

const FIXTURE = fileURLToPath(new URL("./fixtures/foreign-handles.mjs", import.meta.url));
const EBADF = -os.constants.errno.EBADF;

/** What each function that takes a handle returns for a value that is not one. */
const REFUSED = {
  view: EBADF,
  unmap: EBADF,
  remap: EBADF,
  sync: EBADF,
  syncAsync: EBADF,
  advise: EBADF,
  find: EBADF,
  lineEnds: EBADF,
  move: EBADF,
  read: EBADF,
  write: EBADF,
  getByte: EBADF,
  setByte: EBADF,
  loss: EBADF,
  residency: EBADF,
  prefetch: EBADF,
  lock: EBADF,
  fd: -1,
  busy: 0,
  live: 0,
  text: EBADF,
  wait: EBADF,
  waitAsync: EBADF,
  notify: EBADF,
  waitCancel: 0,
};
/** The functions that take no handle. */
const NO_HANDLE = [
  "fstat", "dup", "close", "truncate", "memfd", "map", "reclaim", "mirrorFaults", "ensureFaultHandler", "waitPending",
  "tagOpen", "tagUnlink", "tagSize",
];

const child = runNode([FIXTURE]);
const report = (() => {
  try {
    return JSON.parse(child.stdout.trim().split("\n").at(-1) ?? "");
  } catch {
    return null;
  }
})();

test("the calls with foreign handles end normally (no crash, exit 0)", () => {
  assert.equal(child.signal, null, child.stderr);
  assert.equal(child.status, 0, child.stderr);
  assert.ok(report, `no report on stdout: ${child.stdout}\n${child.stderr}`);
});

test("every function of the addon that takes a handle is checked here", () => {
  assert.deepEqual([...report.functions].sort(), [...Object.keys(REFUSED), ...NO_HANDLE].sort());
});

for (const [name, expected] of Object.entries(REFUSED)) {
  test(`${name} refuses a plain object, a number, null and another module's external (${expected})`, () => {
    assert.deepEqual(report.results[name], { object: expected, number: expected, null: expected, foreign: expected });
  });
}

test("the addon's own handles still work, and the foreign map is left intact", () => {
  assert.equal(report.ownWorks, true);
  assert.equal(report.foreignIntact, true);
});

test("residency and the tag functions refuse what would make C read or write out of bounds (-EINVAL)", async () => {
  const { createRequire } = await import("node:module");
  const require = createRequire(import.meta.url);
  const addon = require(require("node-gyp-build").resolve(fileURLToPath(new URL("..", import.meta.url))));
  const EINVAL = -os.constants.errno.EINVAL;
  const { PROT_READ, PROT_WRITE, MAP_SHARED, MAP_ANONYMOUS, PAGESIZE } = addon.constants;
  const h = addon.map(-1, 4 * PAGESIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, 0, -1);
  try {
    // One byte per page: an array too short for the range, or not a Uint8Array, or a start off a page.
    assert.equal(addon.residency(h, 0, 4 * PAGESIZE, new Uint8Array(3)), EINVAL);
    assert.equal(addon.residency(h, 0, PAGESIZE, new Uint16Array(1)), EINVAL);
    assert.equal(addon.residency(h, 1, PAGESIZE, new Uint8Array(2)), EINVAL);
    assert.equal(addon.residency(h, 0, 4 * PAGESIZE, new Uint8Array(4)), 0);
    // lineEnds: only a Uint32Array takes the offsets (C writes 32-bit elements, as many as it holds),
    // a range inside the map, shorter than 2^32 bytes.
    assert.equal(addon.lineEnds(h, 0, PAGESIZE, new Uint8Array(16)), EINVAL);
    assert.equal(addon.lineEnds(h, 0, PAGESIZE, new Float64Array(4)), EINVAL);
    assert.equal(addon.lineEnds(h, 0, PAGESIZE, null), EINVAL);
    assert.equal(addon.lineEnds(h, 0, 5 * PAGESIZE, new Uint32Array(4)), -os.constants.errno.ERANGE);
    assert.equal(addon.lineEnds(h, 0, 2 ** 32, new Uint32Array(4)), EINVAL);
    assert.equal(addon.setByte(h, 5, 10), 0);
    assert.equal(addon.setByte(h, 9, 10), 0);
    const ends = new Uint32Array(1);
    assert.equal(addon.lineEnds(h, 0, PAGESIZE, ends), 1); // stops when full
    assert.deepEqual([...ends], [6]);
    assert.equal(addon.lineEnds(h, 0, PAGESIZE, new Uint32Array(0)), 0);
    // A tag without its final NUL (C would read past it), or not bytes at all.
    for (const bad of [Uint8Array.of(0x61), new Uint8Array(0), "a\0", null]) {
      assert.equal(addon.tagOpen(bad, false, false), EINVAL);
      assert.equal(addon.tagUnlink(bad), EINVAL);
      assert.equal(addon.tagSize(bad), EINVAL);
    }
  } finally {
    addon.unmap(h);
  }
});
