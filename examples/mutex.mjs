// A mutex that two processes share: one Int32 of a shared map, taken and released with
// JavaScript's Atomics, and slept on with wait()/notify() when it is taken (the three-state
// futex mutex of Ulrich Drepper's "Futexes Are Tricky").
//
//   node examples/mutex.mjs [--worker] [--count N]
//
// This process and a second one (with --worker: a worker thread) each add 1 to a counter in the
// map N/2 times (N = 1,000,000 by default), reading and writing it with plain, non-atomic
// accesses while they hold the lock. Without mutual exclusion, increments would be lost; with it
// the counter ends at N exactly. A contender that finds the lock taken sleeps in wait() until the
// holder's unlock() notifies it: it does not spin.
//
// The map is shareable anonymous memory (its descriptor `m.fd` is handed to the child through
// stdio, or to the worker in workerData); Windows has no such descriptor, so there the map is
// named (`tagname`) and the other side maps the same name. Atomics work on a view of the map as
// on a SharedArrayBuffer: they are the processor's atomic instructions on the shared memory.
//
// The same script plays both roles; the child runs with --child.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { MMap } from "memmap";

const LOCK = 0; // byte offsets of the Int32 words
const COUNTER = 4;
const READY = 8; // how many sides are ready to start
const LENGTH = 64;
const WINDOWS = process.platform === "win32";

/** A mutex on the Int32 at byte `index` of a map: 0 free, 1 taken, 2 taken with sleepers. */
class Mutex {
  constructor(map, index) {
    this.map = map;
    this.index = index;
    this.word = new Int32Array(map.buffer.buffer, map.buffer.byteOffset, LENGTH / 4);
    this.at = index / 4;
    this.sleeps = 0;
  }

  lock() {
    const w = this.word;
    let c = Atomics.compareExchange(w, this.at, 0, 1);
    if (c === 0) return; // it was free: taken without a system call
    if (c !== 2) c = Atomics.exchange(w, this.at, 2);
    while (c !== 0) {
      this.sleeps++;
      this.map.wait(this.index, 2); // sleeps while it says "taken, with sleepers"
      c = Atomics.exchange(w, this.at, 2);
    }
  }

  unlock() {
    const w = this.word;
    if (Atomics.sub(w, this.at, 1) !== 1) {
      // There may be sleepers: free it, and wake one.
      Atomics.store(w, this.at, 0);
      this.map.notify(this.index, 1);
    }
  }
}

/** This side is ready: counted in READY, and the other side woken. */
function ready(map) {
  Atomics.add(new Int32Array(map.buffer.buffer, map.buffer.byteOffset, LENGTH / 4), READY / 4, 1);
  map.notify(READY);
}

/**
 * Adds 1 to the counter `times` times under the lock; returns how often this side slept. `started`:
 * both sides are ready already; else this one says so and waits for the other (the child and the
 * worker: the parent is there).
 */
function work(map, times, started = false) {
  const mutex = new Mutex(map, LOCK);
  const words = mutex.word;
  // Start together: each side says it is ready, then waits for the other.
  if (!started) {
    ready(map);
    for (let r; (r = Atomics.load(words, READY / 4)) < 2; ) map.wait(READY, r);
  }
  for (let i = 0; i < times; i++) {
    mutex.lock();
    words[COUNTER / 4] = words[COUNTER / 4] + 1; // not atomic: the lock makes it safe
    mutex.unlock();
  }
  return mutex.sleeps;
}

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};

if (!isMainThread) {
  const map = WINDOWS ? new MMap(-1, LENGTH, { tagname: workerData.tagname }) : new MMap(workerData.fd, LENGTH);
  parentPort.postMessage(work(map, workerData.times));
  map.close();
} else if (process.argv[2] === "--child") {
  const map = WINDOWS ? new MMap(-1, LENGTH, { tagname: process.argv[4] }) : new MMap(3, LENGTH);
  console.log(work(map, Number(process.argv[3])));
  map.close();
} else {
  const count = arg("--count", 1_000_000);
  const useWorker = process.argv.includes("--worker");
  const tagname = `memmap-mutex-${process.pid}`;
  const map = WINDOWS ? new MMap(-1, LENGTH, { tagname }) : new MMap(-1, LENGTH, { shareable: true });
  try {
    const theirs = count >> 1;
    const mine = count - theirs;
    let other;
    let ended = null; // how the other side ended, once it has
    if (useWorker) {
      const worker = new Worker(new URL(import.meta.url), { workerData: { fd: map.fd, tagname, times: theirs } });
      other = once(worker, "message").then(([sleeps]) => sleeps);
      worker.on("error", (err) => {
        throw err;
      });
      worker.on("exit", (code) => (ended = `exit code ${code}`));
    } else {
      const script = fileURLToPath(import.meta.url);
      const child = spawn(process.execPath, [script, "--child", String(theirs), ...(WINDOWS ? [tagname] : [])], {
        stdio: ["ignore", "pipe", "inherit", ...(WINDOWS ? [] : [map.fd])],
      });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (s) => (out += s));
      other = once(child, "close").then(([code, signal]) => {
        if (code !== 0) throw new Error(`the child failed: exit code ${code}, signal ${signal}`);
        return Number(out);
      });
      child.on("exit", (code, signal) => (ended = signal ?? `exit code ${code}`));
    }
    other.catch(() => {}); // handled: awaited below, once this side is done (or reported earlier)
    // Wait for the other side without blocking the event loop, a second at a time: one that
    // died before it was ready would never wake a blocking wait, and its exit is an event of this
    // loop. (Once both work, a side that dies holding the lock leaves it taken for good: this
    // three-state mutex is not robust, as no plain futex mutex is.)
    const words = new Int32Array(map.buffer.buffer, map.buffer.byteOffset, LENGTH / 4);
    ready(map);
    for (let r; (r = Atomics.load(words, READY / 4)) < 2; ) {
      if (ended !== null) throw new Error(`the ${useWorker ? "worker" : "child process"} ended (${ended}) before it was ready`);
      await map.waitAsync(READY, r, 1000);
    }
    // This side works on this thread (blocking it, as a worker would be): the other side runs
    // on its own, and its result arrives once this loop is done.
    const started = performance.now();
    const mySleeps = work(map, mine, true);
    const theirSleeps = await other;
    const ms = performance.now() - started;
    const counter = new Int32Array(map.buffer.buffer, map.buffer.byteOffset, LENGTH / 4)[COUNTER / 4];
    console.log(`counter: ${counter} (expected ${count})`);
    console.log(`sleeps in wait(): ${mySleeps} here, ${theirSleeps} in the ${useWorker ? "worker" : "child process"}`);
    console.log(`${Math.round(count / (ms / 1000))} lock/unlock pairs per second`);
    if (counter !== count) process.exitCode = 1;
  } finally {
    map.close();
  }
}
