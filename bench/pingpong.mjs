#!/usr/bin/env node
// Cross-process ping-pong: round trips per second between two processes, through memmap's
// wait/notify on a word of a shared map, beside a pipe between the same two processes, and
// CPython's closest equivalents (multiprocessing semaphores, an os.pipe pair).
//
//   node bench/pingpong.mjs [--rounds=N] [--reps=N] [--quick] [--markdown] [--json=FILE]
//
// A round trip: this process hands the turn to the other, which hands it back; each side sleeps
// while it does not have the turn (no spinning), so every round trip is two wake-ups and two
// sleeps of the system. Each figure is the median of --reps timed runs (default 3) of --rounds
// round trips (default 100,000; --quick: 20,000), after one untimed run of a tenth of them.
// The rows:
//   memmap wait/notify       both sides block in m.wait(); the turn is a word of a shareable map
//   memmap waitAsync/notify  the same, this side awaiting m.waitAsync() (its event loop stays free)
//   pipe, blocking           a FIFO each way, fs.readSync/fs.writeSync of one byte (POSIX only)
//   pipe, stream events      the child's stdin/stdout: this side answers in a 'data' listener
//   CPython semaphores       multiprocessing.Semaphore pair, a forked multiprocessing.Process
//   CPython os.pipe          an os.pipe each way, os.read/os.write of one byte, after os.fork()
// The CPython rows need PYENV_VERSION=3.13.0 python3 (skipped otherwise).
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MMap } from "../dist/index.js";

const script = fileURLToPath(import.meta.url);
const WINDOWS = process.platform === "win32";
const LENGTH = 64;
const TURN = 0; // the Int32 holding the turn: odd, the other side's; even, this side's
const READY = 1;

const words = (map) => new Int32Array(map.buffer.buffer, map.buffer.byteOffset, LENGTH / 4);

/** Waits (blocking) until the word at `i` holds `want`. */
function waitFor(map, w, i, want) {
  for (let v; (v = Atomics.load(w, i)) !== want; ) map.wait(4 * i, v);
}

// ------------------------------------------------------------------ the other process

function child(mode, rounds, args) {
  if (mode === "wait") {
    const map = WINDOWS ? new MMap(-1, LENGTH, { tagname: args[0] }) : new MMap(3, LENGTH);
    const w = words(map);
    Atomics.store(w, READY, 1);
    map.notify(4 * READY);
    for (let i = 0; i < rounds; i++) {
      waitFor(map, w, TURN, 2 * i + 1);
      Atomics.store(w, TURN, 2 * i + 2);
      map.notify(4 * TURN);
    }
    map.close();
  } else {
    // A pipe: read one byte, write it back. fifo: two FIFOs by name; stream: stdin and stdout.
    const [input, output] = mode === "fifo" ? [fs.openSync(args[0], "r"), fs.openSync(args[1], "w")] : [0, 1];
    const byte = Buffer.alloc(1);
    for (let i = 0; i < rounds; i++) {
      while (fs.readSync(input, byte, 0, 1, null) !== 1);
      fs.writeSync(output, byte);
    }
  }
}

// ------------------------------------------------------------------ this process

/** Starts this script as the child; resolves when it exits cleanly. */
function startChild(mode, rounds, args, extraFds = []) {
  const c = spawn(process.execPath, [script, "--child", mode, String(rounds), ...args], {
    stdio: ["pipe", "pipe", "inherit", ...extraFds],
  });
  const done = once(c, "exit").then(([code, signal]) => {
    if (code !== 0) throw new Error(`the ${mode} child failed: exit code ${code}, signal ${signal}`);
  });
  return { c, done };
}

/** Round trips through wait/notify; `async`: this side awaits waitAsync. Returns seconds. */
async function viaWait(rounds, async) {
  const tagname = `memmap-pingpong-${process.pid}`;
  const map = WINDOWS ? new MMap(-1, LENGTH, { tagname }) : new MMap(-1, LENGTH, { shareable: true });
  try {
    const w = words(map);
    const { done } = startChild("wait", rounds, WINDOWS ? [tagname] : [], WINDOWS ? [] : [map.fd]);
    for (let v; (v = Atomics.load(w, READY)) !== 1; ) await map.waitAsync(4 * READY, v);
    const started = performance.now();
    for (let i = 0; i < rounds; i++) {
      Atomics.store(w, TURN, 2 * i + 1);
      map.notify(4 * TURN);
      const want = 2 * i + 2;
      if (async) for (let v; (v = Atomics.load(w, TURN)) !== want; ) await map.waitAsync(4 * TURN, v);
      else waitFor(map, w, TURN, want);
    }
    const seconds = (performance.now() - started) / 1000;
    await done;
    return seconds;
  } finally {
    map.close();
  }
}

/** Round trips through two FIFOs, blocking reads and writes on both sides. */
async function viaFifo(rounds) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-pingpong-"));
  try {
    const [toChild, toParent] = [path.join(dir, "a"), path.join(dir, "b")];
    for (const f of [toChild, toParent]) {
      const r = spawnSync("mkfifo", [f]);
      if (r.status !== 0) throw new Error("mkfifo failed");
    }
    const { done } = startChild("fifo", rounds, [toChild, toParent]);
    const output = fs.openSync(toChild, "w"); // each open waits for the other side's
    const input = fs.openSync(toParent, "r");
    const byte = Buffer.alloc(1);
    const started = performance.now();
    for (let i = 0; i < rounds; i++) {
      fs.writeSync(output, byte);
      while (fs.readSync(input, byte, 0, 1, null) !== 1);
    }
    const seconds = (performance.now() - started) / 1000;
    fs.closeSync(output);
    fs.closeSync(input);
    await done;
    return seconds;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Round trips through the child's stdin and stdout, as Node programs usually talk to a child. */
async function viaStream(rounds) {
  const { c, done } = startChild("stream", rounds, []);
  const byte = Buffer.alloc(1);
  const started = performance.now();
  await new Promise((resolve) => {
    let left = rounds;
    c.stdout.on("data", (chunk) => {
      left -= chunk.length;
      if (left > 0) c.stdin.write(byte);
      else resolve();
    });
    c.stdin.write(byte);
  });
  const seconds = (performance.now() - started) / 1000;
  c.stdin.end();
  await done;
  return seconds;
}

const PYTHON = String.raw`
import multiprocessing as mp, os, sys, time

def sem_child(a, b, n):
    for _ in range(n):
        a.acquire()
        b.release()

def semaphores(n):
    a, b = mp.Semaphore(0), mp.Semaphore(0)
    p = mp.Process(target=sem_child, args=(a, b, n))
    p.start()
    t = time.perf_counter()
    for _ in range(n):
        a.release()
        b.acquire()
    t = time.perf_counter() - t
    p.join()
    return t

def pipes(n):
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:
        for _ in range(n):
            os.write(w2, os.read(r1, 1))
        os._exit(0)
    t = time.perf_counter()
    for _ in range(n):
        os.write(w1, b"x")
        os.read(r2, 1)
    t = time.perf_counter() - t
    os.waitpid(pid, 0)
    return t

kind, n = sys.argv[1], int(sys.argv[2])
print({"semaphores": semaphores, "pipe": pipes}[kind](n))
`;

/** A CPython row, or null when CPython 3.13 is not there. */
function viaPython(kind) {
  return (rounds) => {
    const r = spawnSync("python3", ["-c", PYTHON, kind, String(rounds)], {
      env: { ...process.env, PYENV_VERSION: "3.13.0" },
      encoding: "utf8",
    });
    if (r.status !== 0) return null;
    return Number(r.stdout.trim());
  };
}

function pythonVersion() {
  const r = spawnSync("python3", ["-c", "import sys; print(sys.version.split()[0])"], {
    env: { ...process.env, PYENV_VERSION: "3.13.0" },
    encoding: "utf8",
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Runs every row; returns [{ name, perSecond, usPerRound } | { name, skipped }]. */
export async function pingpong({ rounds = 100_000, reps = 3 } = {}) {
  const py = pythonVersion();
  const havePython = py !== null && py.startsWith("3.13") && !WINDOWS;
  const rows = [
    ["memmap wait/notify", (n) => viaWait(n, false)],
    ["memmap waitAsync/notify", (n) => viaWait(n, true)],
    ["pipe, blocking (FIFO)", WINDOWS ? null : viaFifo],
    ["pipe, stream events (child stdio)", viaStream],
    ["CPython multiprocessing.Semaphore", havePython ? viaPython("semaphores") : null],
    ["CPython os.pipe", havePython ? viaPython("pipe") : null],
  ];
  const out = [];
  for (const [name, run] of rows) {
    if (run === null) {
      out.push({ name, skipped: WINDOWS ? "not on Windows" : "needs CPython 3.13 (PYENV_VERSION=3.13.0 python3)" });
      continue;
    }
    await run(Math.max(1, Math.round(rounds / 10))); // warm-up
    const times = [];
    for (let i = 0; i < reps; i++) times.push(await run(rounds));
    const seconds = median(times);
    out.push({ name, perSecond: Math.round(rounds / seconds), usPerRound: (seconds / rounds) * 1e6 });
  }
  return out;
}

/** The rows as a Markdown table (the one `npm run bench` puts in docs/benchmarks.md). */
export function markdown(rows) {
  const lines = ["| between two processes | round trips/s | µs per round trip |", "|---|---:|---:|"];
  for (const r of rows) {
    if (r.skipped) lines.push(`| ${r.name} | — | skipped: ${r.skipped} |`);
    else lines.push(`| ${r.name} | ${r.perSecond.toLocaleString("en-US")} | ${r.usPerRound.toFixed(1)} |`);
  }
  return lines.join("\n");
}

if (process.argv[2] === "--child") {
  child(process.argv[3], Number(process.argv[4]), process.argv.slice(5));
} else if (process.argv[1] === script) {
  const opt = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  const quick = process.argv.includes("--quick");
  const rounds = Number(opt("rounds") ?? (quick ? 20_000 : 100_000));
  const reps = Number(opt("reps") ?? 3);
  const rows = await pingpong({ rounds, reps });
  if (process.argv.includes("--markdown")) console.log(markdown(rows));
  else {
    for (const r of rows) {
      if (r.skipped) console.log(`${r.name.padEnd(36)} skipped: ${r.skipped}`);
      else console.log(`${r.name.padEnd(36)} ${String(r.perSecond).padStart(9)} round trips/s  ${r.usPerRound.toFixed(1).padStart(7)} µs`);
    }
  }
  const json = opt("json");
  if (json) fs.writeFileSync(json, JSON.stringify({ rounds, reps, rows }, null, 2));
}
