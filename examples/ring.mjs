// A single-producer, single-consumer ring buffer in a shared map, between two processes (or,
// with --worker, a worker thread): messages pass through the memory, and each side sleeps in
// wait() / waitAsync() when it has nothing to do, instead of spinning.
//
//   node examples/ring.mjs [--worker] [--count N] [--idle MS]
//
// This process produces N messages (1,000,000 by default), each [sequence number, value]; the
// consumer checks that they arrive in order, none lost or twice, and that the checksum of the
// values matches the producer's. With --idle MS the producer stops for MS milliseconds halfway:
// the consumer sleeps in wait() meanwhile, and reports how much CPU time it used while asleep
// (near zero: a sleeping thread costs nothing; a spinning one would use the whole period).
//
// The ring: two free-running Int32 counters, `head` (messages written) and `tail` (messages
// read), two "sleeping" flags, and SLOTS slots of two Int32 each. A side that finds nothing to
// do raises its flag, looks once more, and sleeps on the counter the other side moves; the
// other side, after moving it, notifies only when the flag is up. Both look with Atomics
// (sequentially consistent), so one of the two always sees the other: no wake-up is lost, and
// no system call is made while both are busy. The producer waits with waitAsync() (its event
// loop stays free), the consumer with wait() (it has nothing else to do).
//
// The map is shareable anonymous memory (the child gets its descriptor through stdio, the worker
// in workerData); on Windows it is named (`tagname`). The same script plays both roles.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { MMap } from "memmap";

const SLOTS = 4096; // a power of two
const HEAD = 0; // Int32 indices; the byte offset of word k is 4 * k
const TAIL = 1;
const CONSUMER_SLEEPS = 2;
const PRODUCER_SLEEPS = 3;
const FIRST_SLOT = 4;
const LENGTH = 4 * (FIRST_SLOT + 2 * SLOTS);
const WINDOWS = process.platform === "win32";

/** The value of message `seq`: a scramble of it, so that a misplaced message changes the checksum. */
const valueOf = (seq) => Math.imul(seq ^ 0x5bd1e995, 0x9e3779b1);

function words(map) {
  return new Int32Array(map.buffer.buffer, map.buffer.byteOffset, LENGTH / 4);
}

/** Produces `count` messages, pausing `idle` ms halfway; resolves the checksum of the values. */
async function produce(map, count, idle) {
  const w = words(map);
  let head = 0;
  let sum = 0;
  for (let seq = 0; seq < count; seq++) {
    if (seq === count >> 1 && idle > 0) await sleep(idle); // the consumer sleeps meanwhile
    // Full: sleep until the consumer has read half of the ring.
    while (head - Atomics.load(w, TAIL) >= SLOTS) {
      Atomics.store(w, PRODUCER_SLEEPS, 1);
      const tail = Atomics.load(w, TAIL);
      if (head - tail >= SLOTS) await map.waitAsync(4 * TAIL, tail);
      Atomics.store(w, PRODUCER_SLEEPS, 0);
    }
    const at = FIRST_SLOT + 2 * (head & (SLOTS - 1));
    const value = valueOf(seq);
    w[at] = seq;
    w[at + 1] = value;
    sum = (sum + value) | 0;
    head = (head + 1) | 0;
    Atomics.store(w, HEAD, head); // publishes the slot
    if (Atomics.load(w, CONSUMER_SLEEPS) !== 0) map.notify(4 * HEAD);
  }
  return sum >>> 0;
}

/** Consumes `count` messages; returns what it saw. Blocks its thread while the ring is empty. */
function consume(map, count) {
  const w = words(map);
  let tail = 0;
  let sum = 0;
  let inOrder = true;
  let sleeps = 0;
  let longest = { ms: 0, cpuMs: 0 };
  for (let seq = 0; seq < count; ) {
    const head = Atomics.load(w, HEAD);
    if (head === tail) {
      // Empty: raise the flag, look once more, sleep until the producer moves `head`.
      Atomics.store(w, CONSUMER_SLEEPS, 1);
      if (Atomics.load(w, HEAD) === tail) {
        const cpu = process.cpuUsage();
        const started = performance.now();
        map.wait(4 * HEAD, tail);
        const ms = performance.now() - started;
        const used = process.cpuUsage(cpu);
        sleeps++;
        if (ms > longest.ms) longest = { ms, cpuMs: (used.user + used.system) / 1000 };
      }
      Atomics.store(w, CONSUMER_SLEEPS, 0);
      continue;
    }
    for (; tail !== head; tail = (tail + 1) | 0, seq++) {
      const at = FIRST_SLOT + 2 * (tail & (SLOTS - 1));
      if (w[at] !== seq) inOrder = false;
      sum = (sum + w[at + 1]) | 0;
    }
    Atomics.store(w, TAIL, tail); // frees the slots
    if (Atomics.load(w, PRODUCER_SLEEPS) !== 0 && head - tail <= SLOTS / 2) map.notify(4 * TAIL);
  }
  return { count, inOrder, checksum: sum >>> 0, sleeps, longest };
}

function report(r) {
  const hex = (n) => `0x${n.toString(16).padStart(8, "0")}`;
  return [
    `consumer: ${r.count} messages ${r.inOrder ? "in order, none lost or repeated" : "OUT OF ORDER"}, checksum ${hex(r.checksum)}`,
    `consumer: slept ${r.sleeps} times; longest sleep ${Math.round(r.longest.ms)} ms, using ${r.longest.cpuMs.toFixed(2)} ms of CPU`,
  ].join("\n");
}

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};

if (!isMainThread) {
  const map = WINDOWS ? new MMap(-1, LENGTH, { tagname: workerData.tagname }) : new MMap(workerData.fd, LENGTH);
  parentPort.postMessage(report(consume(map, workerData.count)));
  map.close();
} else if (process.argv[2] === "--child") {
  const map = WINDOWS ? new MMap(-1, LENGTH, { tagname: process.argv[4] }) : new MMap(3, LENGTH);
  console.log(report(consume(map, Number(process.argv[3]))));
  map.close();
} else {
  const count = arg("--count", 1_000_000);
  const idle = arg("--idle", 0);
  const useWorker = process.argv.includes("--worker");
  const tagname = `memmap-ring-${process.pid}`;
  const map = WINDOWS ? new MMap(-1, LENGTH, { tagname }) : new MMap(-1, LENGTH, { shareable: true });
  try {
    let consumer;
    if (useWorker) {
      const worker = new Worker(new URL(import.meta.url), { workerData: { fd: map.fd, tagname, count } });
      consumer = once(worker, "message").then(([text]) => text);
    } else {
      const script = fileURLToPath(import.meta.url);
      const child = spawn(process.execPath, [script, "--child", String(count), ...(WINDOWS ? [tagname] : [])], {
        stdio: ["ignore", "pipe", "inherit", ...(WINDOWS ? [] : [map.fd])],
      });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (s) => (out += s));
      consumer = once(child, "close").then(([code, signal]) => {
        if (code !== 0) throw new Error(`the consumer failed: exit code ${code}, signal ${signal}`);
        return out.trimEnd();
      });
    }
    const started = performance.now();
    const checksum = await produce(map, count, idle);
    console.log(`producer: ${count} messages, checksum 0x${checksum.toString(16).padStart(8, "0")}`);
    console.log(await consumer);
    const seconds = (performance.now() - started - idle) / 1000;
    console.log(`${Math.round(count / seconds)} messages per second (${useWorker ? "worker" : "child process"})`);
  } finally {
    map.close();
  }
}
