// The addon's own contract, below src/: a handle is a value only the addon made (a Node-API
// external with its type tag). A plain object, a number, null, or an external made by another
// module (a second copy of the addon, loaded from another path) is refused by every function
// that takes a handle, with what a bad handle has always given: -EBADF, or -1 (fd)
// and 0 (busy, live, waitCancel: none of its waits) for the queries. The calls run in a child process
// (test/fixtures/foreign-handles.mjs), whose end is asserted: without the check they would
// read foreign memory as a mapping.
import { test, describe } from "node:test";
import fs from "node:fs";
import { createRequire } from "node:module";
import assert from "node:assert/strict";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { runNode, tmpfd, tmpfile } from "./helpers.mjs";

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
  "fstat", "dup", "close", "truncate", "memfd", "map", "reclaim", "reclaimDue", "reclaimState", "mirrorFaults", "ensureFaultHandler", "waitPending",
  "tagOpen", "tagUnlink", "tagSize", "tagLock",
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

test("map never takes over a value that is not a closed handle of its own (a new handle every time)", () => {
  const fresh = "new handle";
  assert.deepEqual(report.mapReuse, { object: fresh, number: fresh, null: fresh, foreign: fresh, foreignClosed: fresh });
});

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

// fstat, map and fd take their doubles as a Float64Array or as its ArrayBuffer (src/mapping.ts
// passes the buffer: the addon reads it for a fraction of a typed array's cost, twice a map).
// Both forms must carry the same values both ways, and anything else must be refused.
test("fstat, map and fd read and write their doubles through a Float64Array or its ArrayBuffer alike; anything else is refused", () => {
  const require = createRequire(import.meta.url);
  const addon = require(require("node-gyp-build").resolve(fileURLToPath(new URL("..", import.meta.url))));
  const EINVAL = -os.constants.errno.EINVAL;
  const { PROT_READ, PROT_WRITE, MAP_SHARED } = addon.constants;
  const { fd: fdA } = tmpfd(Buffer.alloc(3000, 1));
  const { fd: fdB } = tmpfd(Buffer.alloc(5000, 2));
  const detached = new ArrayBuffer(32);
  structuredClone(detached, { transfer: [detached] });
  assert.equal(detached.byteLength, 0);
  for (const make of [(n) => new Float64Array(n), (n) => new ArrayBuffer(8 * n)]) {
    const out = make(2);
    assert.equal(addon.fstat(fdA, out), 0);
    assert.deepEqual([...new Float64Array(out instanceof ArrayBuffer ? out : out.buffer)], [3000, 1]);
    // The identity map() reads from a 4-element fstat: the right file's keeps the descriptor
    // trusted; another file's makes fd() refuse it (-EBADF), so the words were read (Windows
    // too: its fstat reads the identity in the same call since it tells directories apart).
    for (const [statFd, expectSame] of [[fdA, true], [fdB, false]]) {
      const stat = make(4);
      assert.equal(addon.fstat(statFd, stat), 0);
      const own = addon.dup(fdA);
      const h = addon.map(fdA, 3000, PROT_READ | PROT_WRITE, MAP_SHARED, 0, own, undefined, stat);
      assert.equal(typeof h, "object");
      try {
        const size = make(1);
        const fd = addon.fd(h, size);
        if (expectSame) {
          assert.equal(fd, own);
          assert.equal(new Float64Array(size instanceof ArrayBuffer ? size : size.buffer)[0], 3000);
        } else {
          assert.equal(fd, -os.constants.errno.EBADF);
        }
      } finally {
        assert.equal(addon.unmap(h), 0);
      }
    }
  }
  // Too short, detached, shared, or not doubles at all: refused, and nothing is written.
  for (const bad of [new ArrayBuffer(8), new Float64Array(1), detached, new SharedArrayBuffer(16), new Uint8Array(16), new BigUint64Array(2), {}, null]) {
    assert.equal(addon.fstat(fdA, bad), EINVAL, String(bad?.constructor?.name));
  }
  const short = new ArrayBuffer(8);
  assert.equal(addon.fstat(fdA, short), EINVAL);
  assert.deepEqual([...new Uint8Array(short)], new Array(8).fill(0));
});

// dup(fd, out): a file's map duplicates the caller's descriptor and fstats the duplicate in one
// call (src/mapping.ts dupAndResolve); out[4] tells whether that fstat was made and how it went.
test("dup(fd, out) also fstats the duplicate: out[0..3] as fstat fills them, out[4] its result; a failed dup writes nothing", () => {
  const require = createRequire(import.meta.url);
  const addon = require(require("node-gyp-build").resolve(fileURLToPath(new URL("..", import.meta.url))));
  const { PROT_READ, PROT_WRITE, MAP_SHARED } = addon.constants;
  const { fd } = tmpfd(Buffer.alloc(4321, 7));
  const out = new ArrayBuffer(40);
  const d = new Float64Array(out);
  d.fill(1);
  const own = addon.dup(fd, out);
  assert.ok(own >= 0 && own !== fd, String(own));
  assert.deepEqual([d[0], d[1], d[4]], [4321, 1, 0]);
  // The identity words are the ones fstat gives: map() trusts the descriptor with them.
  const ref = new ArrayBuffer(32);
  assert.equal(addon.fstat(own, ref), 0);
  assert.deepEqual(new Uint8Array(out, 0, 32), new Uint8Array(ref));
  const h = addon.map(fd, 4321, PROT_READ | PROT_WRITE, MAP_SHARED, 0, own, undefined, out);
  assert.equal(typeof h, "object");
  try {
    assert.equal(addon.fd(h, new ArrayBuffer(8)), own);
  } finally {
    assert.equal(addon.unmap(h), 0);
  }
  // A descriptor that is not open: -EBADF, and the array is left as it was.
  d.fill(1);
  assert.equal(addon.dup(1 << 29, out), -os.constants.errno.EBADF);
  assert.deepEqual([...d], [1, 1, 1, 1, 1]);
  // Without an array, or with one too short for the result: the duplicate alone, nothing written.
  for (const arg of [undefined, new ArrayBuffer(32)]) {
    const before = arg === undefined ? null : new Uint8Array(arg).slice();
    const again = addon.dup(fd, arg);
    assert.ok(again >= 0, String(again));
    assert.equal(addon.close(again), 0);
    if (before !== null) assert.deepEqual(new Uint8Array(arg), before);
  }
});

// native.map(..., reuse): src/mapping.ts hands the addon the handles of closed maps, to take over
// for new maps instead of making a new external and finalizer. The addon must take one only when
// nothing but the handle counts on its region: a live map, a view, a string, a job or a file
// descriptor still using it would otherwise see another map's memory.
describe("map() takes over a closed map's handle only when nothing else counts on it", () => {
  const require = createRequire(import.meta.url);
  const addon = require(require("node-gyp-build").resolve(fileURLToPath(new URL("..", import.meta.url))));
  const { PROT_READ, PROT_WRITE, MAP_SHARED, MAP_ANONYMOUS, MS_SYNC, PAGESIZE } = addon.constants;
  const anon = (length, reuse) => addon.map(-1, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, 0, -1, undefined, undefined, reuse);
  const fill = (h, length, byte) => {
    for (let i = 0; i < length; i += 512) assert.equal(addon.setByte(h, i, byte), 0);
  };
  const holds = (h, length, byte) => {
    for (let i = 0; i < length; i += 512) if (addon.getByte(h, i) !== byte) return false;
    return true;
  };

  test("a closed map's handle is taken over: same handle, the new length and memory, fresh zeros", () => {
    const h = anon(PAGESIZE);
    fill(h, PAGESIZE, 7);
    assert.equal(addon.unmap(h), 0);
    assert.equal(addon.live(h), 0);
    const g = anon(4 * PAGESIZE, h);
    assert.equal(g, h, "the handle was taken over");
    assert.equal(addon.live(g), 1);
    assert.ok(holds(g, 4 * PAGESIZE, 0), "a new anonymous map reads zeros");
    assert.equal(addon.getByte(g, 4 * PAGESIZE - 1), 0);
    assert.equal(addon.getByte(g, 4 * PAGESIZE), -os.constants.errno.ERANGE, "the new length bounds it");
    assert.equal(addon.unmap(g), 0);
  });

  test("a live map's handle is never taken: both maps keep their own memory", () => {
    const h = anon(PAGESIZE);
    fill(h, PAGESIZE, 9);
    const g = anon(PAGESIZE, h);
    assert.notEqual(g, h);
    assert.equal(typeof g, "object");
    fill(g, PAGESIZE, 3);
    assert.ok(holds(h, PAGESIZE, 9) && holds(g, PAGESIZE, 3));
    assert.equal(addon.unmap(g), 0);
    assert.ok(holds(h, PAGESIZE, 9));
    assert.equal(addon.unmap(h), 0);
  });

  test("a handle whose view or string may still be in use is not taken", () => {
    const h = anon(PAGESIZE);
    fill(h, PAGESIZE, 0x41);
    // null where the runtime (or MEMMAP_NO_EXTERNAL_BUFFERS / _STRINGS) refuses them
    const view = addon.view(h, 0, PAGESIZE, true);
    const text = addon.text(h, 0, 16);
    assert.equal(addon.unmap(h) >= 0, true);
    if (view !== null) assert.equal(view.byteLength, 0, "close detached the view");
    const g = anon(PAGESIZE, h);
    if (view !== null || typeof text === "string") assert.notEqual(g, h, "the view (not yet collected) or the string still counts on the region");
    else assert.equal(g, h, "without either, nothing else counts on it");
    fill(g, PAGESIZE, 0x42);
    // The string's range was retired (the address rule: zeros now), never given to the new map.
    if (typeof text === "string") assert.match(text, /^(A{16}|\0{16})$/);
    assert.equal(addon.unmap(g), 0);
  });

  test("a handle whose own (not exposed) view is not yet collected is not taken", () => {
    const h = anon(PAGESIZE);
    const view = addon.view(h, 0, PAGESIZE, false); // memmap's own kind: no range held, only counted
    assert.equal(addon.unmap(h), 0, "nothing keeps the range: released at once");
    const g = anon(PAGESIZE, h);
    if (view !== null) {
      assert.equal(view.byteLength, 0);
      assert.notEqual(g, h, "the view still names the region");
    } else {
      assert.equal(g, h);
    }
    assert.equal(addon.unmap(g), 0);
  });

  test("a handle whose job is still running is not taken; nor afterwards, while its promise holds it", async () => {
    const h = anon(PAGESIZE);
    const job = addon.syncAsync(h, 0, PAGESIZE, MS_SYNC);
    assert.equal(addon.unmap(h), 1, "the release waits for the job");
    const g = anon(PAGESIZE, h);
    assert.notEqual(g, h);
    assert.equal(await job, 0);
    assert.equal(addon.unmap(g), 0);
  });

  test("a file map's handle, once closed, is taken by the next map, whose descriptor it then owns", () => {
    const file = tmpfile();
    fs.writeFileSync(file, Buffer.alloc(PAGESIZE, 0x61));
    const fd = fs.openSync(file, "r+");
    try {
      const own = addon.dup(fd);
      const h = addon.map(fd, PAGESIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0, own);
      assert.equal(addon.fd(h), own);
      assert.equal(addon.unmap(h), 0);
      assert.equal(addon.fd(h), -1);
      const own2 = addon.dup(fd);
      const g = addon.map(fd, PAGESIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0, own2, undefined, undefined, h);
      assert.equal(g, h);
      assert.equal(addon.fd(g), own2);
      assert.equal(addon.getByte(g, 0), 0x61);
      assert.equal(addon.setByte(g, 1, 0x62), 0);
      assert.equal(addon.unmap(g), 0);
      assert.equal(fs.readFileSync(file)[1], 0x62);
    } finally {
      fs.closeSync(fd);
    }
  });

  test("a value that is not a closed handle of this addon is never taken (a new handle is made)", () => {
    for (const reuse of [{ __memmapHandle: true }, 42, null, undefined, "handle"]) {
      const g = anon(PAGESIZE, reuse);
      assert.equal(typeof g, "object");
      assert.notEqual(g, reuse);
      assert.equal(addon.live(g), 1);
      assert.equal(addon.unmap(g), 0);
    }
  });

  test("a failed map leaves the closed handle closed, and takeable", () => {
    const h = anon(PAGESIZE);
    assert.equal(addon.unmap(h), 0);
    const bad = addon.map(999999, PAGESIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0, -1, undefined, undefined, h); // no such descriptor
    assert.equal(typeof bad, "number");
    assert.ok(bad < 0);
    assert.equal(addon.live(h), 0);
    const g = anon(PAGESIZE, h);
    assert.equal(g, h);
    assert.equal(addon.unmap(g), 0);
  });
});
