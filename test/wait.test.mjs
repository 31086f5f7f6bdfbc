// SPEC §8: wait / waitAsync / notify on an Int32 of a map, across threads and processes, and the
// examples built on them (a cross-process mutex, a ring buffer). Every test runs in both modes
// (views, and MEMMAP_NO_EXTERNAL_BUFFERS=1): values are written with setSlice, not through views,
// except in the examples, which use Atomics on views (skipped in the copying mode).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { pbkdf2 } from "node:crypto";
import { promisify } from "node:util";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { MMap, ACCESS_COPY, ACCESS_READ } from "../dist/index.js";
import { native } from "../dist/binding.js";
import { rejectsCode, runNode, throwsCode, tmpfile, VIEWS, WINDOWS } from "./helpers.mjs";
import { cacheDir } from "../scripts/test-runtimes-lib.mjs";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const PEER = path.join(root, "test", "fixtures", "wait-peer.mjs");
const DIST = new URL("../dist/index.js", import.meta.url).href;
const LENGTH = 4096;

/** Stores the int32 v at byte `index`, without a view (both modes). */
function store(m, index, v) {
  m.setSlice(index, index + 4, Buffer.from(Int32Array.of(v).buffer));
}

/** A new file of LENGTH zero bytes, mapped read-write. */
function fileMap() {
  const p = tmpfile(Buffer.alloc(LENGTH));
  return { path: p, map: MMap.open(p) };
}

/**
 * Anonymous memory another process or thread can map: a memfd (`shareable`) handed over as a
 * descriptor, or on Windows (which has none) a named section.
 */
function sharedAnon() {
  if (WINDOWS) {
    const tagname = `memmap-wait-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
    return { map: new MMap(-1, LENGTH, { tagname }), spec: { tagname, length: LENGTH }, fd: undefined };
  }
  const map = new MMap(-1, LENGTH, { shareable: true });
  return { map, spec: { fd: 3, length: LENGTH }, fd: map.fd };
}

/** Notifies `index` every 2 ms until one call wakes `want` waiters (or `ms` pass); that call's count. */
async function notifyUntil(m, index, want = 1, ms = 10_000) {
  const started = performance.now();
  for (;;) {
    const woken = m.notify(index);
    if (woken >= want || performance.now() - started > ms) return woken;
    await sleep(2);
  }
}

/** test/fixtures/wait-peer.mjs in a child process, mapping `spec` (with `fd` as its descriptor 3). */
async function peer(spec, fd) {
  const child = spawn(process.execPath, [PEER, JSON.stringify(spec)], {
    stdio: ["pipe", "pipe", "pipe", ...(fd === undefined ? [] : [fd])],
  });
  const closed = once(child, "close");
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (s) => (stderr += s));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error(`the peer ended: ${stderr}`);
    return JSON.parse(r.value);
  };
  assert.deepEqual(await next(), { ready: true });
  return {
    next,
    send: (cmd) => child.stdin.write(`${JSON.stringify(cmd)}\n`),
    async finish() {
      child.stdin.end(`${JSON.stringify({ op: "exit" })}\n`);
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const [code, signal] = await closed;
      clearTimeout(timer);
      assert.deepEqual({ code, signal, stderr }, { code: 0, signal: null, stderr: "" });
    },
  };
}

// ------------------------------------------------------------------ arguments

test("wait/waitAsync/notify validate their arguments: class and code, nothing changed", async () => {
  const m = new MMap(-1, 16);
  try {
    for (const call of [(...a) => m.wait(...a), (...a) => m.notify(...a)]) {
      throwsCode(() => call("0", 0), TypeError, "ERR_INVALID_ARG_TYPE");
      throwsCode(() => call(undefined, 0), TypeError, "ERR_INVALID_ARG_TYPE");
      throwsCode(() => call(1.5, 0), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => call(-4, 0), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => call(2, 0), RangeError, "ERR_INVALID_ARG_VALUE");
      throwsCode(() => call(16, 0), RangeError, "ERR_OUT_OF_RANGE");
      throwsCode(() => call(2 ** 60, 0), RangeError, "ERR_OUT_OF_RANGE");
    }
    throwsCode(() => m.wait(0, "0"), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => m.wait(0, 0n), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => m.wait(0, 0.5), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.wait(0, 2 ** 31), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.wait(0, -(2 ** 31) - 1), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.wait(0, 0, "10"), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => m.wait(0, 0, null), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => m.wait(0, 0, NaN), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.wait(0, 0, -1), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.wait(0, 0, -Infinity), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.notify(0, "1"), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => m.notify(0, -1), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.notify(0, 1.5), RangeError, "ERR_OUT_OF_RANGE");
    throwsCode(() => m.notify(0, NaN), RangeError, "ERR_OUT_OF_RANGE");
    // The promise twin rejects (never throws) with the same errors.
    await rejectsCode(m.waitAsync("0", 0), TypeError, "ERR_INVALID_ARG_TYPE");
    await rejectsCode(m.waitAsync(6, 0), RangeError, "ERR_INVALID_ARG_VALUE");
    await rejectsCode(m.waitAsync(12 + 4, 0), RangeError, "ERR_OUT_OF_RANGE");
    await rejectsCode(m.waitAsync(0, 2 ** 32), RangeError, "ERR_OUT_OF_RANGE");
    await rejectsCode(m.waitAsync(0, 0, NaN), RangeError, "ERR_OUT_OF_RANGE");
    assert.deepEqual([...m.slice(0, 16)], Array(16).fill(0));
    assert.equal(m.tell(), 0);
    // The last Int32 of the map is in range; a map shorter than 4 bytes has none.
    assert.equal(m.wait(12, 1), "not-equal");
    const tiny = new MMap(-1, 3);
    throwsCode(() => tiny.wait(0, 0, 0), RangeError, "ERR_OUT_OF_RANGE");
    tiny.close();
  } finally {
    m.close();
  }
  throwsCode(() => m.wait(0, 0, 0), Error, "ERR_MMAP_CLOSED");
  throwsCode(() => m.notify(0), Error, "ERR_MMAP_CLOSED");
  await rejectsCode(m.waitAsync(0, 0, 0), Error, "ERR_MMAP_CLOSED");
  // Arguments are checked before the map's state, as elsewhere.
  throwsCode(() => m.wait(1, 0), RangeError, "ERR_INVALID_ARG_VALUE");
});

// ------------------------------------------------------------------ one thread

test("wait returns not-equal at once, and times out as Atomics.wait does", () => {
  const m = new MMap(-1, 64);
  try {
    store(m, 8, -7);
    assert.equal(m.wait(8, -7 + 1), "not-equal");
    assert.equal(m.wait(8, -7, 0), "timed-out");
    assert.equal(m.wait(8, -7, 0.25), "timed-out");
    let started = performance.now();
    assert.equal(m.wait(8, -7, 30), "timed-out");
    assert.ok(performance.now() - started >= 29, "slept its timeout");
    started = performance.now();
    assert.equal(m.wait(8, -7, 2.5), "timed-out");
    assert.ok(performance.now() - started >= 2, "a fractional timeout is kept");
    assert.equal(m.notify(8), 0, "nobody waits");
    assert.equal(m.notify(8, 0), 0);
  } finally {
    m.close();
  }
});

test("waitAsync settles on notify, on timeout, and with not-equal; the event loop runs meanwhile", async () => {
  const m = new MMap(-1, 64);
  try {
    assert.equal(await m.waitAsync(0, 1), "not-equal");
    assert.equal(await m.waitAsync(0, 0, 20), "timed-out");
    const p = m.waitAsync(4, 0);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    // Until three ticks (or 5 s): a loaded machine ran only two in a fixed 50 ms.
    for (let i = 0; ticks < 3 && i < 100; i++) await sleep(50);
    clearInterval(timer);
    assert.ok(ticks >= 3, `timers ran while waitAsync slept (${ticks})`);
    // No store first: on a loaded machine the waiting thread may not have reached its sleep yet,
    // and would then see the new value and settle "not-equal". notify() is retried until it wakes it.
    assert.equal(await notifyUntil(m, 4), 1);
    assert.equal(await p, "ok");
    assert.equal(native.waitPending(), 0);
  } finally {
    m.close();
  }
});

test("waitAsync compares when it is called, as Atomics.waitAsync: a store right after the call settles \"ok\" (not \"not-equal\"); a word already different settles \"not-equal\" with no thread", async () => {
  for (const make of [() => new MMap(-1, 64), () => fileMap().map]) {
    const m = make();
    try {
      // The word holds 0 at the call: the call waits. A store (and notify) that follows it is a
      // wake-up, whether or not the waiting thread has reached its sleep yet (it had not: the
      // call said "not-equal", as if the word had never held 0).
      const results = [];
      for (let i = 0; i < 20; i++) {
        store(m, 0, 0);
        const p = m.waitAsync(0, 0, 10_000);
        store(m, 0, 1);
        m.notify(0);
        results.push(await p);
      }
      assert.deepEqual(results, Array(20).fill("ok"));
      // The word does not hold 5 at the call: "not-equal" at once, whatever is stored after (the
      // call slept its timeout on a 5 stored after it).
      store(m, 8, 0);
      const q = m.waitAsync(8, 5, 10_000);
      assert.equal(native.waitPending(), 0, "no thread for a word that differs");
      store(m, 8, 5);
      const started = performance.now();
      assert.equal(await q, "not-equal");
      assert.ok(performance.now() - started < 5000, "settled at once");
    } finally {
      m.close();
    }
  }
});

test("notify wakes as many as it says, and says how many (private anonymous memory)", async () => {
  const m = new MMap(-1, 64);
  try {
    const all = [m.waitAsync(16, 0), m.waitAsync(16, 0), m.waitAsync(16, 0)];
    const other = m.waitAsync(20, 0, 5000);
    await sleep(300); // the three threads are asleep by now
    const two = m.notify(16, 2);
    assert.ok(two <= 2, `notify(16, 2) woke ${two}`);
    let total = two;
    while (total < 3) total += await notifyUntil(m, 16, 1);
    // Windows: a waiter flagged as it goes to sleep counts as woken though the system may also
    // wake another for the same count (native/wait.c, "Notified before asleep": one more may wake).
    if (WINDOWS) assert.ok(total >= 3 && total <= 4, `counted ${total}`);
    else assert.equal(total, 3, "each waiter woken once, and counted once");
    assert.deepEqual(await Promise.all(all), ["ok", "ok", "ok"]);
    assert.equal(m.notify(16), 0);
    assert.equal(await notifyUntil(m, 20), 1, "another word is another queue");
    assert.equal(await other, "ok");
  } finally {
    m.close();
  }
});

test("notify(index, 0) wakes nobody and says 0, as Atomics.notify (the futex woke one for a count of 0)", async () => {
  for (const make of [() => new MMap(-1, 64), () => fileMap().map]) {
    const m = make();
    try {
      const p = m.waitAsync(24, 0, 1500);
      await sleep(300); // asleep by now (if not, notify(24, 0) has even less to wake)
      assert.equal(m.notify(24, 0), 0);
      assert.equal(await p, "timed-out", "the waiter slept on");
      throwsCode(() => m.notify(4096, 0), RangeError, "ERR_OUT_OF_RANGE"); // still checked
    } finally {
      m.close();
    }
    throwsCode(() => m.notify(24, 0), Error, "ERR_MMAP_CLOSED");
  }
});

/** The script of the "notified before asleep" test, run with and without MEMMAP_WAIT_SLICED. */
const NOTIFY_AT_ONCE = `
  import { MMap, ALLOCATIONGRANULARITY as G } from ${JSON.stringify(DIST)};
  import { Worker } from "node:worker_threads";
  import { once } from "node:events";
  import fs from "node:fs";
  const out = {};
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  // notify right after the call, no store: the waiter's thread is not asleep yet
  let m = new MMap(-1, 64);
  out.atOnce = [];
  for (let i = 0; i < 10; i++) {
    const p = m.waitAsync(0, 0, 1000);
    out.atOnce.push([m.notify(0), await p]);
  }
  // asleep for a while: woken and counted once
  let p = m.waitAsync(0, 0, 5000);
  await wait(200);
  out.asleep = [m.notify(0), await p];
  // three waiters, some asleep: notify(2) wakes two, notify() the third
  const three = [m.waitAsync(8, 0, 5000), m.waitAsync(8, 0, 5000)];
  await wait(100);
  three.push(m.waitAsync(8, 0, 5000));
  const settled = [];
  three.forEach((q, i) => q.then((v) => (settled[i] = v)));
  out.two = m.notify(8, 2);
  await wait(300);
  out.settledAfterTwo = settled.filter(Boolean).length;
  out.rest = m.notify(8);
  await Promise.all(three);
  out.settled = settled;
  // count 0 wakes nobody, another word is another queue
  p = m.waitAsync(16, 0, 300);
  out.none = [m.notify(16, 0), m.notify(20), await p];
  // notified, then closed at once: notified first, so "ok"
  p = m.waitAsync(0, 0);
  out.thenClosed = [m.notify(0)];
  m.close();
  out.thenClosed.push(await p.catch((e) => e.code));
  // another map of the same file, at another address and offset
  const file = process.argv[1];
  fs.writeFileSync(file, Buffer.alloc(2 * G));
  const a = MMap.open(file), b = new MMap(fs.openSync(file, "r+"), 0, { offset: G });
  p = a.waitAsync(G + 4, 0, 5000);
  out.otherMap = [b.notify(4), await p];
  a.close();
  b.close();
  // a worker's waitAsync, notified by this thread as soon as the worker has made the call
  const tagname = process.platform === "win32" ? "memmap-notify-at-once-" + process.pid : undefined;
  const shared = tagname ? new MMap(-1, 4096, { tagname }) : new MMap(-1, 4096, { shareable: true });
  const w = new Worker(\`(async () => {
    const { MMap } = await import(\${JSON.stringify(${JSON.stringify(DIST)})});
    const { workerData, parentPort } = await import("node:worker_threads");
    const m = typeof workerData === "string" ? new MMap(-1, 4096, { tagname: workerData }) : new MMap(workerData, 4096);
    const p = m.waitAsync(32, 0, 5000);
    parentPort.postMessage("called");
    parentPort.postMessage(await p);
    m.close();
  })();\`, { eval: true, workerData: tagname ?? shared.fd });
  const [said] = await once(w, "message");
  out.worker = [said, shared.notify(32), (await once(w, "message"))[0]];
  await once(w, "exit");
  shared.close();
  console.log(JSON.stringify(out));
`;

test("a notify right after waitAsync, with no store, wakes it and counts it once (the thread was not asleep yet: the wake-up was lost, and the promise slept out its timeout), from this thread, another map or another thread", () => {
  for (const sliced of ["0", "1"]) {
    const r = runNode(["--input-type=module", "-e", NOTIFY_AT_ONCE, tmpfile(Buffer.alloc(0))], {
      env: { ...process.env, MEMMAP_WAIT_SLICED: sliced },
      timeout: 60_000,
    });
    assert.equal(r.stderr, "", `MEMMAP_WAIT_SLICED=${sliced}`);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.atOnce, Array.from({ length: 10 }, () => [1, "ok"]), `sliced ${sliced}`);
    assert.deepEqual(out.asleep, [1, "ok"]);
    assert.equal(out.two, 2);
    assert.equal(out.settledAfterTwo, 2, "notify(8, 2) woke two");
    assert.equal(out.rest, 1);
    assert.deepEqual(out.settled, ["ok", "ok", "ok"]);
    assert.deepEqual(out.none, [0, 0, "timed-out"]);
    assert.deepEqual(out.thenClosed, [1, "ok"]);
    assert.deepEqual(out.otherMap, [1, "ok"]);
    assert.deepEqual(out.worker, ["called", 1, "ok"]);
  }
});

test("a notify right after waitAsync reaches it through another map of the file when either map has trackfd: false (its map had no file identity, so the notify looked for another word: 0 woken and \"timed-out\")", async () => {
  const { path: p, map: tracked } = fileMap();
  const fd = fs.openSync(p, "r+");
  const untracked = new MMap(fd, LENGTH, { trackfd: false });
  // shareable memory handed over as a descriptor, mapped again without tracking it
  const shared = WINDOWS ? null : new MMap(-1, LENGTH, { shareable: true });
  const sharedUntracked = shared === null ? null : new MMap(shared.fd, LENGTH, { trackfd: false });
  try {
    const pairs = [[untracked, tracked], [tracked, untracked]];
    if (shared !== null) pairs.push([shared, sharedUntracked], [sharedUntracked, shared]);
    for (const [waiter, notifier] of pairs) {
      for (let i = 0; i < 5; i++) {
        const q = waiter.waitAsync(8, 0, 10_000);
        assert.deepEqual([notifier.notify(8), await q], [1, "ok"]);
      }
    }
  } finally {
    untracked.close();
    tracked.close();
    fs.closeSync(fd);
    sharedUntracked?.close();
    shared?.close();
  }
});

test("two maps of one file in one thread: a notify through one wakes a wait through the other", async () => {
  const { path: p, map: a } = fileMap();
  const b = MMap.open(p);
  try {
    const waiting = a.waitAsync(64, 0, 10_000);
    assert.equal(await notifyUntil(b, 64), 1);
    assert.equal(await waiting, "ok");
  } finally {
    a.close();
    b.close();
  }
});

test("many pending waitAsync calls do not hold up libuv's pool (fs, crypto)", async () => {
  const m = new MMap(-1, 64);
  try {
    const pending = Array.from({ length: 12 }, () => m.waitAsync(0, 0));
    await sleep(20);
    const started = performance.now();
    await fs.promises.readFile(fileURLToPath(import.meta.url));
    await promisify(pbkdf2)("secret", "salt", 1000, 32, "sha256");
    assert.ok(performance.now() - started < 5000, "the pool is free");
    assert.equal(native.waitPending(), 12);
    m.close();
    const results = await Promise.allSettled(pending);
    assert.ok(results.every((r) => r.status === "rejected" && r.reason.code === "ERR_MMAP_CLOSED"));
  } finally {
    m.close();
  }
});

test("close() settles pending waitAsync calls with ERR_MMAP_CLOSED at once; resize() is refused meanwhile", async () => {
  const { map: m } = fileMap();
  const p = m.waitAsync(0, 0);
  const q = m.waitAsync(4, 0, 60_000);
  throwsCode(() => m.resize(LENGTH * 2), Error, "ERR_MMAP_BUSY");
  assert.equal(m.length, LENGTH, "the failed resize changed nothing");
  const started = performance.now();
  m.close();
  await rejectsCode(p, Error, "ERR_MMAP_CLOSED");
  await rejectsCode(q, Error, "ERR_MMAP_CLOSED");
  assert.ok(performance.now() - started < 1000);
  // Settled ones are gone from the addon's list once their threads are done.
  for (let i = 0; native.waitPending() > 0 && i < 200; i++) await sleep(5);
  assert.equal(native.waitPending(), 0);
});

test("resize() works again once waitAsync has settled", async () => {
  const { map: m } = fileMap();
  try {
    const p = m.waitAsync(0, 0);
    assert.equal(await notifyUntil(m, 0), 1);
    assert.equal(await p, "ok");
    m.resize(LENGTH * 2);
    assert.equal(m.length, LENGTH * 2);
    assert.equal(await m.waitAsync(LENGTH * 2 - 4, 0, 1), "timed-out");
  } finally {
    m.close();
  }
});

// ------------------------------------------------------------------ threads

/**
 * A worker running `body` with `m`, the memory of sharedAnon() (`data` its spec and fd), and
 * `parentPort` in scope (an async function body: `await` works in it).
 */
function sharedWorker(data, body) {
  const source = `(async () => {
    const { MMap } = await import(${JSON.stringify(DIST)});
    const { workerData, parentPort } = await import("node:worker_threads");
    const m = workerData.tagname ? new MMap(-1, workerData.length, { tagname: workerData.tagname }) : new MMap(workerData.fd, workerData.length);
    ${body}
  })();`;
  const w = new Worker(source, { eval: true, workerData: data });
  // Listened to from the start: a worker that exits right after its last message has both
  // events emitted in one turn, before a listener attached after the message would be.
  w.exited = once(w, "exit");
  w.exited.catch(() => {}); // an error event rejects it: whoever awaits it sees that
  return w;
}

test("a worker sleeping in wait() on shared memory is woken by the main thread", async () => {
  const { map: m, spec, fd } = sharedAnon();
  const w = sharedWorker({ ...spec, fd }, `parentPort.postMessage(m.wait(32, 0, 10000)); m.close();`);
  try {
    const result = once(w, "message");
    assert.equal(await notifyUntil(m, 32), 1);
    assert.deepEqual(await result, ["ok"]);
    await w.exited;
  } finally {
    m.close();
  }
});

test("worker.terminate() ends a worker sleeping in wait() with no timeout, promptly", async () => {
  const { map: m, spec, fd } = sharedAnon();
  const w = sharedWorker({ ...spec, fd }, `parentPort.postMessage("sleeping"); m.wait(0, 0);`);
  try {
    await once(w, "message");
    await sleep(50);
    const started = performance.now();
    await w.terminate();
    assert.ok(performance.now() - started < 2000, "terminate() did not wait for a notify");
  } finally {
    m.close();
  }
});

test("a worker that exits with waitAsync calls pending gives their maps back (nothing crashes)", async () => {
  const { map: m, spec, fd } = sharedAnon();
  try {
    for (const end of ["process.exit(0)", "terminate"]) {
      const w = sharedWorker(
        { ...spec, fd },
        `m.waitAsync(0, 0); m.waitAsync(4, 0, 100000); parentPort.postMessage("pending");
         ${end === "terminate" ? "" : `setTimeout(() => ${end}, 20);`}`,
      );
      await once(w, "message");
      if (end === "terminate") await w.terminate();
      else assert.deepEqual(await w.exited, [0]);
    }
    // The memory is fine and still waitable here.
    assert.equal(m.wait(0, 0, 1), "timed-out");
  } finally {
    m.close();
  }
});

// ------------------------------------------------------------------ processes

test("across processes: a wait in another process wakes on notify (a file mapped MAP_SHARED)", async () => {
  const { path: p, map: m } = fileMap();
  const other = await peer({ path: p, length: LENGTH });
  try {
    other.send({ op: "wait", index: 8, value: 0, timeout: 20_000 });
    assert.equal(await notifyUntil(m, 8), 1, "notify counts the other process's waiter");
    assert.equal((await other.next()).result, "ok");
    // The other direction: this process waits, the other notifies.
    const mine = m.waitAsync(12, 0, 20_000);
    other.send({ op: "notifyUntil", index: 12, want: 1, ms: 10_000 });
    assert.equal((await other.next()).woken, 1);
    assert.equal(await mine, "ok");
    // A value stored by the other process is seen (not-equal).
    other.send({ op: "store", index: 16, value: 42 });
    await other.next();
    assert.equal(m.wait(16, 0), "not-equal");
    assert.equal(m.wait(16, 42, 0), "timed-out");
  } finally {
    await other.finish();
    m.close();
  }
});

test("across processes: shareable anonymous memory (Windows: a tagname)", async () => {
  const { map: m, spec, fd } = sharedAnon();
  const other = await peer(spec, fd);
  try {
    other.send({ op: "waitAsync", index: 0, value: 0, timeout: 20_000 });
    other.send({ op: "wait", index: 4, value: 0, timeout: 20_000 });
    assert.equal(await notifyUntil(m, 4), 1);
    assert.equal((await other.next()).result, "ok");
    assert.equal(await notifyUntil(m, 0), 1);
    assert.equal((await other.next()).result, "ok");
  } finally {
    await other.finish();
    m.close();
  }
});

test("across processes: a read-only map waits on the file's word and is woken by a writer", async () => {
  const { path: p, map: m } = fileMap();
  const other = await peer({ path: p, length: LENGTH, access: ACCESS_READ });
  try {
    other.send({ op: "wait", index: 100, value: 0, timeout: 20_000 });
    assert.equal(await notifyUntil(m, 100), 1);
    assert.equal((await other.next()).result, "ok");
  } finally {
    await other.finish();
    m.close();
  }
});

test("across processes: an ACCESS_COPY map is private, and no other process can wake it", async () => {
  const { path: p, map: m } = fileMap();
  const other = await peer({ path: p, length: LENGTH, access: ACCESS_COPY });
  try {
    other.send({ op: "wait", index: 0, value: 0, timeout: 400 });
    const started = performance.now();
    while (performance.now() - started < 300) {
      assert.equal(m.notify(0), 0, "the copy's waiter is not this file's");
      await sleep(5);
    }
    assert.equal((await other.next()).result, "timed-out");
  } finally {
    await other.finish();
    m.close();
  }
});

// ------------------------------------------------------------------ the process's life

test("a pending waitAsync keeps the process alive until it settles; none pending keeps nothing alive", () => {
  const script = (body) => ["--input-type=module", "-e", `import { MMap } from ${JSON.stringify(DIST)};\n${body}`];
  let r = runNode(script(`const m = new MMap(-1, 64); m.waitAsync(0, 0, 300).then((x) => console.log(x));`), { timeout: 20_000 });
  assert.deepEqual([r.status, r.stdout, r.stderr], [0, "timed-out\n", ""]);
  r = runNode(script(`const m = new MMap(-1, 64); console.log(await m.waitAsync(0, 1)); console.log(await m.waitAsync(0, 0, 1));`), {
    timeout: 20_000,
  });
  assert.deepEqual([r.status, r.stdout, r.stderr], [0, "not-equal\ntimed-out\n", ""], "exits once nothing is pending");
  r = runNode(script(`const m = new MMap(-1, 64); m.waitAsync(0, 0); m.waitAsync(4, 0); setTimeout(() => process.exit(3), 50);`), {
    timeout: 20_000,
  });
  assert.deepEqual([r.status, r.signal, r.stderr], [3, null, ""], "process.exit() with waits pending");
});

// Bun calls a thread-safe function's callback for what was queued after the environment's cleanup
// hooks ran, with an environment: memmap's hook had freed the pending waits by then (and the hub
// and regions they name), and the late callback read them: SIGSEGV in waiter_done (region_idle,
// napi_unref_threadsafe_function) in 3 runs of 3 of this loop on Bun 1.4. Node calls it with no
// environment then; Deno, not at all.
const BUN = (() => {
  if (WINDOWS || !fs.existsSync(cacheDir)) return null;
  const prefix = `@oven+bun-${process.platform}-${process.arch}@`;
  const dirs = fs.readdirSync(cacheDir).filter((d) => d.startsWith(prefix) && fs.existsSync(path.join(cacheDir, d, ".complete")));
  const bins = dirs.map((d) => path.join(cacheDir, d, "bin", "bun")).filter((f) => fs.existsSync(f));
  return bins.sort().at(-1) ?? null;
})();
for (const [name, bin] of [["this Node", process.execPath], ["Bun", BUN]]) {
  test(`${name}: workers terminated while waitAsync calls are pending, their threads just woken or handing results back, never crash the process`, { skip: bin === null && "Bun is not in the runtimes cache (npm run test:runtimes -- --node= --bun puts it there)" }, () => {
    const file = path.join(path.dirname(tmpfile()), `terminated-waits-${Math.random().toString(36).slice(2)}.mjs`);
    fs.writeFileSync(file, `
      import { Worker } from "node:worker_threads";
      for (let i = 0; i < 16; i++) {
        const w = new Worker(\`
          const { parentPort } = require("node:worker_threads");
          import(${JSON.stringify(DIST)}).then(async ({ MMap }) => {
            parentPort.postMessage("up");
            for (let k = 0; ; k++) {
              const m = new MMap(-1, 4096);
              m.waitAsync(0, 0, k % 2 ? 1 : Infinity).catch(() => {});
              await new Promise((resolve) => setImmediate(resolve));
              if (k % 3) m.close();
            }
          });\`, { eval: true });
        await new Promise((resolve) => w.once("message", resolve));
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
        await w.terminate();
      }
      console.log("ended 16 workers");
    `);
    const run = bin === process.execPath ? runNode([file], { timeout: 60_000 }) : spawnSync(bin, [file], { encoding: "utf8", timeout: 60_000 });
    assert.deepEqual({ signal: run.signal, status: run.status, stdout: run.stdout }, { signal: null, status: 0, stdout: "ended 16 workers\n" }, run.stderr);
  });
}

test("MEMMAP_WAIT_SLICED=1 (how macOS and Windows wait): close settles at once, notify and timeouts work", () => {
  const r = runNode(
    [
      "--input-type=module",
      "-e",
      `import { MMap } from ${JSON.stringify(DIST)};
       const m = new MMap(-1, 64);
       const out = [];
       const p = m.waitAsync(0, 0, 60000);
       setTimeout(() => m.notify(0), 250); // after at least two slices
       out.push(await p);
       out.push(await m.waitAsync(0, 0, 150));
       // a word changed between two slices, without a notify, ends the wait as a wake-up
       const q = m.waitAsync(0, 0, 60000);
       setTimeout(() => m.setSlice(0, 4, Buffer.from([1, 0, 0, 0])), 50);
       out.push(await q);
       const c = m.waitAsync(4, 0);
       const started = performance.now();
       setTimeout(() => m.close(), 10);
       out.push(await c.catch((e) => e.code), performance.now() - started < 100);
       console.log(JSON.stringify(out));`,
    ],
    { env: { ...process.env, MEMMAP_WAIT_SLICED: "1" }, timeout: 20_000 },
  );
  assert.equal(r.stderr, "");
  assert.deepEqual(JSON.parse(r.stdout), ["ok", "timed-out", "ok", "ERR_MMAP_CLOSED", true]);
});

test("a blocking wait() is stopped as Atomics.wait is by vm's timeout and breakOnSigint (the REPL's Ctrl+C), on the main thread and in a worker (found by a pass on realms: it slept on, the process hung and Ctrl+C could not stop it)", () => {
  // Each run in a child: before the fix it never returned (the child is killed after 60 s).
  // \`timeouts(MMap, vm)\`: the same on the main thread and in a worker.
  const timeouts = `(MMap, vm) => {
    const m = new MMap(-1, 64);
    const out = [];
    const ctx = vm.createContext({ m, ia: new Int32Array(new SharedArrayBuffer(4)) });
    for (const code of ["Atomics.wait(ia, 0, 0)", "m.wait(0, 0)", "m.wait(0, 0, 1e9)"]) {
      try {
        vm.runInContext(code, ctx, { timeout: 200 });
        out.push("returned");
      } catch (e) {
        out.push(e.code);
      }
    }
    // The map is as it was, and the next wait works.
    out.push(m.wait(0, 0, 10), m.closed);
    return out;
  }`;
  const main = `
    import vm from "node:vm";
    import { Worker } from "node:worker_threads";
    import { MMap } from ${JSON.stringify(DIST)};
    const out = (${timeouts})(MMap, vm);
    // SIGINT once the script runs (vm's watchdog is installed by then), sent from a worker
    // (POSIX: Windows has no SIGINT to send to a process).
    if (!${WINDOWS}) {
      const m = new MMap(-1, 64);
      const flag = new Int32Array(new SharedArrayBuffer(4));
      new Worker("const { workerData: f } = require('node:worker_threads'); Atomics.wait(f, 0, 0); process.kill(process.pid, 'SIGINT');", { eval: true, execArgv: [], workerData: flag }).unref();
      try {
        vm.runInContext("Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); m.wait(0, 0)", vm.createContext({ m, flag }), { breakOnSigint: true });
        out.push("returned");
      } catch (e) {
        out.push(e.code);
      }
    }
    console.log(JSON.stringify(out));
    const w = new Worker(
      "const { workerData: d, parentPort } = require('node:worker_threads');" +
        "import(d.dist).then(({ MMap }) => parentPort.postMessage((0, eval)(d.timeouts)(MMap, require('node:vm'))));",
      { eval: true, execArgv: [], workerData: { dist: ${JSON.stringify(DIST)}, timeouts: ${JSON.stringify(timeouts)} } },
    );
    w.on("message", (o) => console.log(JSON.stringify(o)));
  `;
  const r = runNode(["--input-type=module", "-e", main], { timeout: 60_000 });
  assert.equal(r.signal, null, "the child ended by itself (no hang)");
  assert.equal(r.status, 0, r.stderr);
  const stopped = ["ERR_SCRIPT_EXECUTION_TIMEOUT", "ERR_SCRIPT_EXECUTION_TIMEOUT", "ERR_SCRIPT_EXECUTION_TIMEOUT", "timed-out", false];
  const interrupted = WINDOWS ? [] : ["ERR_SCRIPT_EXECUTION_INTERRUPTED"];
  assert.deepEqual(r.stdout.trim().split("\n").map((l) => JSON.parse(l)), [[...stopped, ...interrupted], stopped]);
});

test("a map closed or resized by code that runs during a blocking wait() (an inspector's evaluation, as during Atomics.wait): ERR_MMAP_CLOSED, or the word found again where it moved; no crash", () => {
  const script = `
    import { Worker } from "node:worker_threads";
    import { MMap } from ${JSON.stringify(DIST)};
    const out = [];
    for (const expression of [
      // (No map made here: one made before the wait's native call could take over the closed map's
      // handle, which the wait read before it; during the sleep the word's hold prevents that.)
      "__m.close()",
      // (Linux: a shareable anonymous map grows; Windows has no such map.)
      ...(${WINDOWS} ? [] : ["__m.resize(1 << 20); __m.setSlice(0, 4, Buffer.from([5, 0, 0, 0]))"]),
    ]) {
      globalThis.__m = new MMap(-1, 4096, ${WINDOWS} ? {} : { shareable: true });
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const w = new Worker(\`
        const { Session } = require("node:inspector");
        const { workerData } = require("node:worker_threads");
        const s = new Session();
        s.connectToMainThread();
        Atomics.wait(workerData.flag, 0, 0);
        s.post("Runtime.evaluate", { expression: workerData.expression });
      \`, { eval: true, execArgv: [], workerData: { flag, expression } });
      await new Promise((r) => w.once("online", r));
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      try {
        out.push(__m.wait(0, 0, 20_000));
      } catch (e) {
        out.push(e.code);
      }
      out.push(__m.closed ? "closed" : __m.get(0));
      await w.terminate();
    }
    console.log(JSON.stringify(out));
  `;
  const r = runNode(["--input-type=module", "-e", script], { timeout: 60_000 });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.slice(0, 2), ["ERR_MMAP_CLOSED", "closed"]);
  if (WINDOWS) return;
  // The evaluation ran during the wait ("ok": the word changed), or just before it ("not-equal").
  assert.ok(["ok", "not-equal"].includes(out[2]), String(out[2]));
  assert.equal(out[3], 5);
});

test("a notify of this process between two slices of a blocking wait(), with no store, wakes it (it was lost: the wait slept out its timeout)", () => {
  // A blocking wait sleeps in slices and runs JavaScript between them (vm's timeout, an
  // inspector's evaluation); a notify then, from an interrupt of this thread or from another
  // thread, found nobody asleep in the futex. Here an inspector's evaluation notifies from the
  // gap itself: it runs only there.
  const script = `
    import { Worker } from "node:worker_threads";
    import { MMap } from ${JSON.stringify(DIST)};
    const out = [];
    for (let i = 0; i < 3; i++) {
      globalThis.__m = new MMap(-1, 4096);
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const w = new Worker(\`
        const { Session } = require("node:inspector");
        const { workerData } = require("node:worker_threads");
        const s = new Session();
        s.connectToMainThread();
        Atomics.wait(workerData.flag, 0, 0);
        Atomics.wait(workerData.flag, 0, 1, 250); // the main thread is asleep in wait() by then
        s.post("Runtime.evaluate", { expression: "globalThis.__n = __m.notify(0)" });
      \`, { eval: true, execArgv: [], workerData: { flag } });
      await new Promise((r) => w.once("online", r));
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      const started = performance.now();
      const result = __m.wait(0, 0, 4000);
      out.push([globalThis.__n, result, performance.now() - started < 3000]);
      await w.terminate();
      __m.close();
    }
    console.log(JSON.stringify(out));
  `;
  const r = runNode(["--input-type=module", "-e", script], { timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [
    [1, "ok", true],
    [1, "ok", true],
    [1, "ok", true],
  ]);
});

/**
 * A worker calls m.wait(0, value, timeout) over and over for `ms` while this thread calls
 * m.notify(0) over and over: { woken: the sum of notify's counts, results: the worker's results }.
 */
async function notifyRace(value, timeout, ms = 800) {
  const m = sharedAnon();
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const w = new Worker(
    `const { workerData: { handle, ctl }, parentPort } = require("node:worker_threads");
     import(${JSON.stringify(DIST)}).then(({ MMap }) => {
       const m = typeof handle === "string" ? new MMap(-1, ${LENGTH}, { tagname: handle }) : new MMap(handle, ${LENGTH});
       const results = {};
       Atomics.store(ctl, 0, 1);
       const end = Date.now() + ${ms};
       while (Date.now() < end) {
         for (let i = 0; i < 200; i++) { const r = m.wait(0, ${value}, ${timeout}); results[r] = (results[r] ?? 0) + 1; }
       }
       m.close();
       Atomics.store(ctl, 1, 1);
       parentPort.postMessage(results);
     });`,
    { eval: true, workerData: { handle: m.spec.tagname ?? m.fd, ctl } },
  );
  const message = once(w, "message");
  const exit = once(w, "exit"); // listened to now: the worker may be gone before the message is read
  while (Atomics.load(ctl, 0) === 0) await sleep(5);
  let woken = 0;
  while (Atomics.load(ctl, 1) === 0) woken += m.map.notify(0);
  const [results] = await message;
  await exit;
  m.map.close();
  return { woken, results };
}

test("a blocking wait() on a word that does not hold the value is \"not-equal\", whatever notify of this process comes meanwhile (it was registered before its comparison: a notify counted it as woken and it said \"ok\")", async () => {
  const { woken, results } = await notifyRace(5, 1000);
  assert.equal(woken, 0, "nobody ever slept");
  assert.deepEqual(Object.keys(results), ["not-equal"]);
});

test("notify's count is the number of blocking wait()s it woke: a wait that a notify of this process counted says \"ok\", not \"timed-out\" (it was counted after its sleep had ended, and reported its timeout)", { skip: WINDOWS && "not exact on Windows: under Wine notify counted ~15 % more waits of timeout 0 than said \"ok\" (the waiter table's count, with or without the registry): a known limit (docs/python.md)" }, async () => {
  // The gap (between the end of a wait's last sleep and its leaving the registry) is narrow: a
  // few such notifies a second, so this races for 2 s.
  const { woken, results } = await notifyRace(0, 0, 2000);
  assert.ok(results["timed-out"] > 0, "the worker timed out too");
  // Where the sleep cannot watch the cancel word (Windows, macOS), a waiter flagged while asleep
  // is left to the system's count, and may wake as well (native/wait.c, "Notified before asleep":
  // one more than the count, never one fewer): there the waits that said "ok" are at least those
  // counted.
  // Linux: exact but for a rare one (1 of 90,431 once, on Node 26: not explained yet; the defect
  // this test found was 17-54 a run).
  if (process.platform === "linux") assert.ok(Math.abs((results.ok ?? 0) - woken) <= 2, JSON.stringify({ woken, results }));
  else assert.ok((results.ok ?? 0) >= woken, JSON.stringify({ woken, results }));
  assert.deepEqual(Object.keys(results).filter((k) => k !== "ok" && k !== "timed-out"), []);
});

test("a word of a file that shrank: wait, waitAsync and notify throw ERR_MMAP_TRUNCATED, before or during the sleep (no hang, no EFAULT)", { skip: WINDOWS && "POSIX truncation of a mapped file" }, () => {
  // Before: wait(i, 0) slept forever on the zeros put in the lost word's place (and waitAsync's
  // promise never settled); a sliced wait (a worker, MEMMAP_WAIT_SLICED) whose file shrank
  // mid-wait threw EFAULT ("wait") from the next slice's futex.
  const r = runNode(
    [
      "--input-type=module",
      "-e",
      `import { MMap } from ${JSON.stringify(DIST)};
       import fs from "node:fs";
       import { Worker } from "node:worker_threads";
       const p = ${JSON.stringify(tmpfile(Buffer.alloc(2 * LENGTH)))};
       const out = [];
       const code = (f) => { try { return f(); } catch (e) { return e.code; } };
       for (const call of ["wait", "waitAsync", "notify"]) {
         fs.truncateSync(p, ${2 * LENGTH});
         const m = MMap.open(p);
         fs.truncateSync(p, ${LENGTH});
         out.push(call === "waitAsync" ? await m.waitAsync(${LENGTH}, 0).catch((e) => e.code) : code(() => (call === "notify" ? m.notify(${LENGTH}) : m.wait(${LENGTH}, 0))));
         m.close();
       }
       // Shrinks while a worker sleeps in wait() (in slices), and while a waitAsync sleeps.
       fs.truncateSync(p, ${2 * LENGTH});
       const w = new Worker(\`
         const { MMap } = await import(${JSON.stringify(DIST)});
         const { parentPort } = await import("node:worker_threads");
         const m = MMap.open(${JSON.stringify("PATH")});
         parentPort.postMessage("sleeping");
         try { parentPort.postMessage(m.wait(${LENGTH}, 0, 5000)); } catch (e) { parentPort.postMessage(e.code); }
       \`.replace("PATH", p), { eval: true, type: "module" });
       const m = MMap.open(p);
       const a = m.waitAsync(${LENGTH}, 0, 5000).catch((e) => e.code);
       const msgs = [];
       await new Promise((done) => w.on("message", (v) => { msgs.push(v); if (v === "sleeping") setTimeout(() => fs.truncateSync(p, ${LENGTH}), 150); else done(); }));
       out.push(msgs[1], await a);
       m.close();
       console.log(JSON.stringify(out));`,
    ],
    { timeout: 20_000 },
  );
  assert.deepEqual({ signal: r.signal, stderr: r.stderr }, { signal: null, stderr: "" });
  // waitAsync on Linux >= 5.16 sleeps in one futex_waitv, which a truncation does not end: it timed
  // out before; a wait on a file's word now looks at it every second (native/wait.c).
  assert.deepEqual(JSON.parse(r.stdout), Array(5).fill("ERR_MMAP_TRUNCATED"));
});

test("a wait with no timeout on a word whose file shrinks during the sleep ends with ERR_MMAP_TRUNCATED (it slept forever: the main thread blocked, a waitAsync never settled), from any thread", { skip: WINDOWS && "POSIX truncation of a mapped file" }, () => {
  // Another thread shrinks the memory under the sleeper: a worker's resize() of its own map of a
  // memfd under the main thread's wait(); fs.truncateSync of a file under waitAsync, in the main
  // thread and in a worker; the main thread's resize() under a worker's waitAsync.
  const r = runNode(
    [
      "--input-type=module",
      "-e",
      `import { MMap } from ${JSON.stringify(DIST)};
       import fs from "node:fs";
       import { Worker } from "node:worker_threads";
       const W = 2 * ${LENGTH};
       const code = (f) => { try { return f(); } catch (e) { return e.code; } };
       const worker = (src, data) => new Worker(\`const { MMap } = await import(${JSON.stringify(DIST)});
         const { parentPort, workerData } = await import("node:worker_threads");\n\` + src, { eval: true, workerData: data });
       const out = {};
       const shared = new MMap(-1, 3 * ${LENGTH}, { shareable: true });
       // 1. The main thread blocked in wait(); a worker shrinks the memfd under it.
       let t = performance.now();
       const w1 = worker(\`const m = new MMap(workerData.fd, 3 * ${LENGTH}); setTimeout(() => { m.resize(${LENGTH}); m.close(); }, 200);\`, { fd: shared.fd });
       out.mainWait = code(() => shared.wait(W, 0));
       out.mainWaitMs = performance.now() - t;
       await new Promise((done) => w1.on("exit", done));
       shared.close();
       // 2. waitAsync in the main thread; the file truncated by fs.
       const p = ${JSON.stringify(tmpfile(Buffer.alloc(3 * LENGTH)))};
       const m = MMap.open(p);
       setTimeout(() => fs.truncateSync(p, ${LENGTH}), 200);
       t = performance.now();
       out.mainAsync = await m.waitAsync(W, 0).catch((e) => e.code);
       out.mainAsyncMs = performance.now() - t;
       m.close();
       // 3. waitAsync in a worker on a memfd the main thread shrinks with resize().
       const s2 = new MMap(-1, 3 * ${LENGTH}, { shareable: true });
       const w3 = worker(\`const m = new MMap(workerData.fd, 3 * ${LENGTH}); parentPort.postMessage("sleeping");
         parentPort.postMessage(await m.waitAsync(2 * ${LENGTH}, 0).catch((e) => e.code));\`, { fd: s2.fd });
       const msgs = [];
       await new Promise((done) => w3.on("message", (v) => { msgs.push(v); if (v === "sleeping") setTimeout(() => s2.resize(${LENGTH}), 200); else done(); }));
       out.workerAsync = msgs[1];
       s2.close();
       console.log(JSON.stringify(out));`,
    ],
    { timeout: 20_000 },
  );
  assert.deepEqual({ signal: r.signal, status: r.status, stderr: r.stderr }, { signal: null, status: 0, stderr: "" });
  const out = JSON.parse(r.stdout);
  assert.deepEqual(
    { mainWait: out.mainWait, mainAsync: out.mainAsync, workerAsync: out.workerAsync },
    { mainWait: "ERR_MMAP_TRUNCATED", mainAsync: "ERR_MMAP_TRUNCATED", workerAsync: "ERR_MMAP_TRUNCATED" },
  );
  // Noticed at the next look (every second), not at once.
  assert.ok(out.mainWaitMs < 5000 && out.mainAsyncMs < 5000, JSON.stringify(out));
});

test("a waitAsync whose word faulted, then the map closed before the call went on: ERR_MMAP_CLOSED, never a wait on the next map (which took over the handle)", { skip: WINDOWS && "POSIX truncation of a mapped file" }, () => {
  // The addon's first read of the word faults (the file shrank): its promise settles with -EFAULT
  // at once, and the caller's code runs before waitAsync goes on. Before: waitAsync went on with
  // the handle it took before its await, which the next map had taken over: it slept on that
  // map's word until the timeout ("timed-out"), and the new map's resize() threw ERR_MMAP_BUSY.
  const r = runNode(
    [
      "--input-type=module",
      "-e",
      `import { MMap } from ${JSON.stringify(DIST)};
       import fs from "node:fs";
       const p = ${JSON.stringify(tmpfile(Buffer.alloc(2 * LENGTH)))};
       const fd = fs.openSync(p, "r+");
       const m = new MMap(fd, ${2 * LENGTH});
       fs.ftruncateSync(fd, 0);
       const t0 = Date.now();
       const a = m.waitAsync(${LENGTH}, 0, 3000).then((v) => v, (e) => e.code);
       m.close();
       const next = new MMap(-1, ${2 * LENGTH});
       const got = await a;
       let resize = "ok";
       try { next.resize(${LENGTH}); } catch (e) { resize = e.code; }
       console.log(JSON.stringify([got, Date.now() - t0 < 2000, resize]));`,
    ],
    { timeout: 20_000 },
  );
  assert.deepEqual({ signal: r.signal, stderr: r.stderr }, { signal: null, stderr: "" });
  assert.deepEqual(JSON.parse(r.stdout), ["ERR_MMAP_CLOSED", true, "ok"]);
});

test("a waitAsync whose word the map learns is lost while it sleeps (another call touched it): ERR_MMAP_TRUNCATED, not a result read from the zeros", { skip: WINDOWS && "POSIX truncation of a mapped file" }, () => {
  // Before: the sleep ended ("timed-out"; or "not-equal" against the zeros put in the word's
  // place), and since the fault counter had not moved after the other call's check, the result
  // was handed out as if the word were there.
  const r = runNode(
    [
      "--input-type=module",
      "-e",
      `import { MMap } from ${JSON.stringify(DIST)};
       import fs from "node:fs";
       const p = ${JSON.stringify(tmpfile(Buffer.alloc(2 * LENGTH, 3)))};
       const m = MMap.open(p);
       const out = [];
       const w = m.waitAsync(${LENGTH}, 0x03030303, 400).then((v) => v, (e) => e.code);
       setTimeout(() => {
         fs.truncateSync(p, ${LENGTH});
         try { m.get(${LENGTH}); out.push("read"); } catch (e) { out.push(e.code); }
       }, 50);
       out.push(await w);
       m.close();
       console.log(JSON.stringify(out));`,
    ],
    { timeout: 20_000 },
  );
  assert.deepEqual({ signal: r.signal, stderr: r.stderr }, { signal: null, stderr: "" });
  assert.deepEqual(JSON.parse(r.stdout), ["ERR_MMAP_TRUNCATED", "ERR_MMAP_TRUNCATED"]);
});

// ------------------------------------------------------------------ macOS, here

test("native/wait-darwin.c compiles (syntax, against this system's headers: macOS is not here)", (t) => {
  if (WINDOWS) return t.skip("no C compiler under Wine");
  const cc = process.env.CC || "gcc";
  const flags = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-fsyntax-only"];
  const r = spawnSync(cc, [...flags, path.join(root, "native", "wait-darwin.c")], { encoding: "utf8" });
  if (r.error) return t.skip(`${cc} is missing`);
  assert.equal(r.status, 0, r.stderr);
});

// ------------------------------------------------------------------ examples

/** Runs an example; returns its stdout (asserting a clean exit). */
function example(name, args) {
  const r = runNode([path.join(root, "examples", name), ...args], { cwd: root, timeout: 120_000 });
  assert.deepEqual([r.status, r.signal, r.stderr], [0, null, ""], r.stdout);
  return r.stdout;
}

test("examples/mutex.mjs: a child that dies before it starts ends the parent with an error, not an endless wait", (t) => {
  if (!VIEWS) return t.skip("the example uses Atomics on a view, which the copying mode has not");
  // Before: the parent waited for the child's "ready" in a blocking wait() without a timeout on
  // its main thread, where the child's exit could never be seen: it hung for ever.
  const die = "data:text/javascript,if (process.argv[2] === '--child') process.exit(3);";
  const r = runNode([path.join(root, "examples", "mutex.mjs"), "--count", "1000"], {
    cwd: root,
    timeout: 60_000,
    env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${JSON.stringify(die)}` },
  });
  assert.equal(r.signal, null, `killed by ${r.signal}: the parent waited on forever`);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /the child process ended \(exit code 3\) before it was ready/);
});

const MESSAGES = 1_000_000;

for (const where of ["process", "worker"]) {
  const flag = where === "worker" ? ["--worker"] : [];

  test(`examples/mutex.mjs: ${MESSAGES} increments under a mutex shared with a ${where}, none lost`, (t) => {
    if (!VIEWS) return t.skip("the example uses Atomics on a view, which the copying mode has not");
    const out = example("mutex.mjs", [...flag, "--count", String(MESSAGES)]);
    assert.match(out, new RegExp(`^counter: ${MESSAGES} \\(expected ${MESSAGES}\\)$`, "m"));
  });

  test(`examples/ring.mjs: ${MESSAGES} messages through a ring shared with a ${where}; the consumer sleeps when idle`, (t) => {
    if (!VIEWS) return t.skip("the example uses Atomics on a view, which the copying mode has not");
    const out = example("ring.mjs", [...flag, "--count", String(MESSAGES), "--idle", "1000"]);
    const produced = /^producer: (\d+) messages, checksum (0x[0-9a-f]{8})$/m.exec(out);
    const consumed = /^consumer: (\d+) messages in order, none lost or repeated, checksum (0x[0-9a-f]{8})$/m.exec(out);
    assert.ok(produced && consumed, out);
    assert.deepEqual([consumed[1], consumed[2]], [String(MESSAGES), produced[2]], "the same messages, in order");
    // The producer stopped for 1 s: the consumer slept through it, using (almost) no CPU.
    const slept = /longest sleep (\d+) ms, using ([\d.]+) ms of CPU$/m.exec(out);
    assert.ok(slept, out);
    assert.ok(Number(slept[1]) >= 900, `slept through the pause: ${slept[0]}`);
    assert.ok(Number(slept[2]) < 100, `near zero CPU while asleep (a spinning consumer would use ~1000 ms): ${slept[0]}`);
  });
}
