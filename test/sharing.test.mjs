// SPEC §6: the reference's fork example, with a child process and with a worker thread,
// plus m.fd, shareable anonymous maps, anonymous resize and size(), and two maps of one file.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { open as openHandle } from "node:fs/promises";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { Worker } from "node:worker_threads";
import { MMap, ACCESS_COPY, MAP_PRIVATE, PAGESIZE } from "../dist/index.js";
import { python, runPython, throwsCode, tmpfd, tmpfile, openFds, withMap, WINDOWS, more } from "./helpers.mjs";

const DIST = new URL("../dist/index.js", import.meta.url).href;
const token = (n = 16) => randomBytes(n / 2).toString("hex");
const text = (buf) => buf.toString("latin1");
const fdIsOpen = (fd) => fs.existsSync(`/proc/self/fd/${fd}`);


// ------------------------------------------------------------------ child processes

/**
 * Starts `node` on an ESM `source` that imports { MMap } as `MMap`, with `fd` as its
 * descriptor 3. Returns { next(): Promise<line|undefined>, send(line), finish() }: finish()
 * waits for the exit (killing the child if it is still running) and returns { code, signal, stderr }.
 */
function startChild(source, fd) {
  const child = spawn(process.execPath, ["--input-type=module", "-e", `import { MMap } from ${JSON.stringify(DIST)};\n${source}`], {
    stdio: ["pipe", "pipe", "pipe", fd],
    timeout: 15_000,
  });
  const closed = once(child, "close");
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (s) => (stderr += s));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async next() {
      const r = await lines.next();
      return r.done ? undefined : JSON.parse(r.value);
    },
    send(value) {
      child.stdin.write(`${JSON.stringify(value)}\n`);
    },
    async finish() {
      if (child.exitCode === null && child.signalCode === null) child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      try {
        const [code, signal] = await closed;
        return { code, signal, stderr };
      } finally {
        clearTimeout(timer);
      }
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/** Runs `body(child)` and always reaps the child; asserts it exited cleanly. */
async function withChild(source, fd, body) {
  const child = startChild(source, fd);
  let ok = false;
  try {
    await body(child);
    ok = true;
  } finally {
    if (!ok) child.kill();
    const r = await child.finish();
    if (ok) {
      assert.equal(r.signal, null, `child killed by ${r.signal}: ${r.stderr}`);
      assert.equal(r.code, 0, `child failed: ${r.stderr}`);
    }
  }
}

/** The child side of the fork example: read what the parent wrote, then write a reply. */
const CHILD_FORK = `
const m = new MMap(3, 13);
m.seek(0);
const line = m.readline().toString("latin1");
m.seek(0);
m.write("Hello parent!");
m.close();
console.log(JSON.stringify(line));
`;

/** CPython's fork example, extended: the child also writes `reply`, the parent reads it after waitpid. */
function pythonFork(reply) {
  return runPython(`
import json, mmap, os
mm = mmap.mmap(-1, 13)
mm.write(b"Hello world!")
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    mm.seek(0)
    line = mm.readline()
    mm.seek(0)
    mm.write(${JSON.stringify(reply)}.encode())
    os.write(w, json.dumps(line.decode("latin1")).encode())
    os._exit(0)
os.close(w)
chunks = []
while True:
    b = os.read(r, 4096)
    if not b:
        break
    chunks.append(b)
os.close(r)
os.waitpid(pid, 0)
mm.seek(0)
print(json.dumps({"child": json.loads(b"".join(chunks)), "parent": mm.readline().decode("latin1")}))
mm.close()
`);
}

test("fork example with a child process: same reads as CPython's fork", async (t) => {
  if (python === null) return t.skip("python3 3.13 is missing");
  const expected = pythonFork("Hello parent!"); // the reply CHILD_FORK writes
  const m = new MMap(-1, 13, { shareable: true });
  try {
    m.write("Hello world!");
    let childLine;
    await withChild(CHILD_FORK, m.fd, async (c) => {
      childLine = await c.next();
    });
    m.seek(0);
    assert.deepEqual({ child: childLine, parent: text(m.readline()) }, expected);
  } finally {
    m.close();
  }
});

/** Child side of the protocol: report what it sees, wait for "go", report again, write a reply. */
const CHILD_PROTOCOL = `
import { createInterface } from "node:readline";
const m = new MMap(3, 64);
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
console.log(JSON.stringify({ fd: m.fd, length: m.length, size: m.size(), first: m.slice(0, 16).toString("latin1") }));
const go = JSON.parse((await input.next()).value);
const second = m.slice(16, 32).toString("latin1");
m.setSlice(32, 32 + go.reply.length, go.reply);
console.log(JSON.stringify({ second }));
await input.next(); // end of input: the parent has read the reply
m.close();
`;

test("child process: parent → child before and after the child mapped, child → parent while alive and after exit", { skip: WINDOWS && "memfd-backed shareable maps are POSIX: Windows shares anonymous memory by tagname (test/windows.test.mjs)" }, async () => {
  const a = token();
  const b = token();
  const c = token();
  const m = new MMap(-1, 64, { shareable: true });
  try {
    m.write(a);
    await withChild(CHILD_PROTOCOL, m.fd, async (child) => {
      const hello = await child.next();
      assert.equal(hello.first, a, "the child sees what the parent wrote before it started");
      assert.equal(hello.length, 64);
      assert.equal(hello.size, 64);
      assert.ok(hello.fd >= 0 && hello.fd !== 3, "the child's map holds its own duplicate of fd 3");
      // The child has mapped the memory; this write must reach it.
      m.setSlice(16, 32, b);
      child.send({ reply: c });
      const after = await child.next();
      assert.equal(after.second, b, "the child sees a write the parent made after it mapped");
      assert.equal(text(m.slice(32, 48)), c, "the parent sees the child's write while it runs");
    });
    assert.equal(text(m.slice(32, 48)), c, "and after it exited");
    assert.equal(text(m.slice(0, 32)), a + b);
    assert.equal(text(m.slice(48)), "\0".repeat(16));
  } finally {
    m.close();
  }
});

test("child process: the child's map outlives the parent's (the memory lives as long as one map does)", { skip: WINDOWS && "memfd-backed shareable maps are POSIX: Windows shares anonymous memory by tagname (test/windows.test.mjs)" }, async () => {
  const m = new MMap(-1, 64, { shareable: true });
  const a = token();
  const c = token();
  m.write(a);
  let closedEarly = false;
  try {
    await withChild(CHILD_PROTOCOL, m.fd, async (child) => {
      assert.equal((await child.next()).first, a);
      m.close(); // the descriptor went to the child at spawn; its map does not need ours
      closedEarly = true;
      child.send({ reply: c });
      assert.equal((await child.next()).second, "\0".repeat(16));
    });
  } finally {
    m.close();
  }
  assert.ok(closedEarly);
});

// ------------------------------------------------------------------ worker threads

/**
 * Starts a worker running `source` (inside an async function, with MMap, workerData and
 * `post(value)` in scope, and `next()` resolving to the next message from the main thread).
 * Returns { worker, next(), exited }. The caller must end it with finishWorker().
 */
function startWorker(source, workerData) {
  const code = `
const { parentPort, workerData } = require("node:worker_threads");
const queue = [], waiting = [];
parentPort.on("message", (v) => (waiting.length ? waiting.shift()(v) : queue.push(v)));
const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r)));
const post = (v) => parentPort.postMessage(v);
(async () => {
  const { MMap } = await import(${JSON.stringify(DIST)});
  ${source}
})().then(() => parentPort.close(), (e) => { post({ error: String(e && e.stack || e), code: e && e.code }); process.exit(1); });
`;
  const worker = new Worker(code, { eval: true, workerData });
  const exited = once(worker, "exit");
  const queue = [];
  const waiting = [];
  let failure = null;
  const deliver = (v) => (waiting.length ? waiting.shift()(v) : queue.push(v));
  worker.on("message", deliver);
  worker.on("error", (e) => {
    failure = e;
    deliver({ error: String(e) });
  });
  exited.then(() => deliver({ error: "the worker exited" }));
  return {
    worker,
    async next() {
      const v = queue.length ? queue.shift() : await new Promise((r) => waiting.push(r));
      if (v && v.error) throw new Error(`worker: ${v.error}`);
      return v;
    },
    send(v) {
      worker.postMessage(v);
    },
    async finish() {
      const timer = setTimeout(() => worker.terminate(), 5_000);
      try {
        const [code] = await exited;
        return { code, failure };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

async function withWorker(source, workerData, body) {
  const w = startWorker(source, workerData);
  let ok = false;
  try {
    await body(w);
    ok = true;
  } finally {
    if (!ok) await w.worker.terminate();
    const r = await w.finish();
    if (ok) {
      assert.equal(r.failure, null);
      assert.equal(r.code, 0);
    }
  }
}

const WORKER_FORK = `
const m = new MMap(workerData.fd, 13);
m.seek(0);
const line = m.readline().toString("latin1");
m.seek(0);
m.write(workerData.reply);
m.close();
post(line);
`;

test("fork example with a worker thread: same reads as CPython's fork", async (t) => {
  if (python === null) return t.skip("python3 3.13 is missing");
  const reply = "Hello parent!";
  const expected = pythonFork(reply);
  const m = new MMap(-1, 13, { shareable: true });
  try {
    m.write("Hello world!");
    let line;
    await withWorker(WORKER_FORK, { fd: m.fd, reply }, async (w) => {
      line = await w.next();
    });
    m.seek(0);
    assert.deepEqual({ child: line, parent: text(m.readline()) }, expected);
  } finally {
    m.close();
  }
});

const WORKER_PROTOCOL = `
const m = new MMap(workerData.fd, workerData.length);
post({ fd: m.fd, length: m.length, size: m.size(), first: m.slice(0, 16).toString("latin1") });
const go = await next();
const second = m.slice(16, 32).toString("latin1");
m.setSlice(32, 32 + go.reply.length, go.reply);
post({ second, last: m.get(-1) });
await next();
m.close();
`;

test("worker thread: main → worker before and after the worker mapped, worker → main while alive and after exit", { skip: WINDOWS && "memfd-backed shareable maps are POSIX: Windows shares anonymous memory by tagname (test/windows.test.mjs)" }, async () => {
  const a = token();
  const b = token();
  const c = token();
  const m = new MMap(-1, 64, { shareable: true });
  try {
    m.write(a);
    await withWorker(WORKER_PROTOCOL, { fd: m.fd, length: 64 }, async (w) => {
      const hello = await w.next();
      assert.equal(hello.first, a);
      assert.equal(hello.length, 64);
      assert.equal(hello.size, 64);
      assert.ok(hello.fd >= 0 && hello.fd !== m.fd, "the worker's map holds its own duplicate");
      m.setSlice(16, 32, b);
      m.set(63, 0x5a);
      w.send({ reply: c });
      const after = await w.next();
      assert.equal(after.second, b);
      assert.equal(after.last, 0x5a);
      assert.equal(text(m.slice(32, 48)), c);
      w.send("done");
    });
    assert.equal(text(m.slice(0, 48)), a + b + c);
  } finally {
    m.close();
  }
});

test("worker thread: a grown shareable map is shared at its new length", { skip: WINDOWS && "memfd-backed shareable maps are POSIX: Windows shares anonymous memory by tagname (test/windows.test.mjs)" }, async () => {
  const m = new MMap(-1, 16, { shareable: true });
  try {
    m.write("start");
    const n = 2 * PAGESIZE + 64;
    m.resize(n);
    const tail = token();
    m.setSlice(n - 16, n, tail);
    await withWorker(
      `const m = new MMap(workerData.fd, 0);
       post({ length: m.length, head: m.slice(0, 5).toString("latin1"), tail: m.slice(-16).toString("latin1") });
       m.setSlice(0, 5, "moved");
       m.close();`,
      { fd: m.fd },
      async (w) => {
        assert.deepEqual(await w.next(), { length: n, head: "start", tail });
      },
    );
    assert.equal(text(m.slice(0, 5)), "moved");
  } finally {
    m.close();
  }
});

// ------------------------------------------------------------------ m.fd and shareable

test("m.fd: -1 for plain anonymous maps, a memfd for shareable ones, a duplicate for files", { skip: WINDOWS && "memfd-backed shareable maps are POSIX: Windows shares anonymous memory by tagname (test/windows.test.mjs)" }, async () => {
  withMap([-1, 13], (m) => assert.equal(m.fd, -1));
  withMap([-1, 13, { flags: MAP_PRIVATE }], (m) => assert.equal(m.fd, -1));
  withMap([-1, 13, { shareable: false }], (m) => assert.equal(m.fd, -1));
  withMap([-1, 13, { shareable: undefined }], (m) => assert.equal(m.fd, -1));
  withMap([-1, 13, { shareable: true }], (m) => {
    assert.ok(Number.isInteger(m.fd) && m.fd >= 0);
    assert.ok(fdIsOpen(m.fd));
    assert.match(fs.readlinkSync(`/proc/self/fd/${m.fd}`), /memfd:/);
    assert.equal(fs.fstatSync(m.fd).size, 13);
    assert.equal(m.fd, m.fd, "stable");
  });
  const { path, fd } = tmpfd("0123456789");
  withMap([fd, 0], (m) => {
    assert.ok(m.fd >= 0);
    assert.notEqual(m.fd, fd);
    assert.equal(fs.fstatSync(m.fd).ino, fs.statSync(path).ino);
  });
  withMap([fd, 0, { trackfd: false }], (m) => assert.equal(m.fd, -1));
  const fh = await openHandle(path, "r+");
  try {
    withMap([fh, 0], (m) => {
      assert.ok(m.fd >= 0);
      assert.notEqual(m.fd, fh.fd);
    });
  } finally {
    await fh.close();
  }
});

test("shareable with a file descriptor is RangeError ERR_INVALID_ARG_VALUE, and leaks nothing", async () => {
  const { fd } = tmpfd("0123456789");
  const before = openFds();
  throwsCode(() => new MMap(fd, 0, { shareable: true }), RangeError, "ERR_INVALID_ARG_VALUE");
  throwsCode(() => new MMap(fd, 4, { shareable: true, flags: MAP_PRIVATE }), RangeError, "ERR_INVALID_ARG_VALUE");
  const fh = await openHandle(tmpfile("abc"), "r+");
  try {
    const inner = openFds();
    throwsCode(() => new MMap(fh, 0, { shareable: true }), RangeError, "ERR_INVALID_ARG_VALUE");
    assert.equal(openFds(), inner);
  } finally {
    await fh.close();
  }
  assert.equal(openFds(), before);
});

test("a shareable map the file size limit refuses: EFBIG names ftruncate (the call that failed), not memfd_create, and leaks no descriptor", { skip: process.platform !== "linux" && "ulimit -f and /proc/self/fd" }, () => {
  // Before: the memfd was made and sized in one call of the addon, and its error always said
  // memfd_create, though memfd_create had worked and ftruncate refused the size (RLIMIT_FSIZE).
  const r = spawnSync("bash", ["-c", 'ulimit -f 100 && exec "$0" --input-type=module -e "$1"', process.execPath, `
    import { MMap } from ${JSON.stringify(DIST)};
    import fs from "node:fs";
    const fds = fs.readdirSync("/proc/self/fd").length;
    const out = [];
    try { new MMap(-1, 1 << 20, { shareable: true }); out.push("mapped"); } catch (e) { out.push(e.code, e.syscall); }
    const m = new MMap(-1, 4096, { shareable: true });
    out.push(fs.fstatSync(m.fd).size);
    m.close();
    out.push(fs.readdirSync("/proc/self/fd").length - fds);
    console.log(JSON.stringify(out));`], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.stderr, "");
  assert.deepEqual(JSON.parse(r.stdout), ["EFBIG", "ftruncate", 4096, 0]);
});

test("shareable must be a boolean: TypeError ERR_INVALID_ARG_TYPE", () => {
  for (const v of [1, "yes", null, {}]) {
    throwsCode(() => new MMap(-1, 13, { shareable: v }), TypeError, "ERR_INVALID_ARG_TYPE");
  }
});

test("two maps of one shareable memfd in the same process see each other's writes", { skip: WINDOWS && "memfd-backed shareable maps are POSIX: Windows shares anonymous memory by tagname (test/windows.test.mjs)" }, () => {
  withMap([-1, 32, { shareable: true }], (m) => {
    withMap([m.fd, 32], (n) => {
      m.write("from m");
      assert.equal(text(n.slice(0, 6)), "from m");
      n.setSlice(16, 22, "from n");
      assert.equal(text(m.slice(16, 22)), "from n");
    });
  });
});

// ------------------------------------------------------------------ anonymous resize and size()

test("a shareable map grows with resize(): data kept, zero tail, the memfd follows", { skip: WINDOWS && "memfd-backed shareable maps are POSIX: Windows shares anonymous memory by tagname (test/windows.test.mjs)" }, () => {
  withMap([-1, 13, { shareable: true }], (m) => {
    m.write("Hello world!");
    const fd = m.fd;
    const n = 3 * PAGESIZE + 5;
    m.resize(n);
    assert.equal(m.length, n);
    assert.equal(m.size(), n);
    assert.equal(m.tell(), 12, "the position is unchanged");
    assert.equal(m.fd, fd);
    assert.equal(fs.fstatSync(fd).size, n);
    assert.equal(text(m.slice(0, 12)), "Hello world!");
    assert.ok(m.slice(12).every((x) => x === 0));
    m.set(n - 1, 7);
    assert.equal(m.get(-1), 7);
  });
});

test("a shareable map with an offset: its memfd holds offset + length bytes, so every byte of the map is there (as a new tag with an offset)", { skip: WINDOWS && "memfd-backed shareable maps are POSIX: Windows shares anonymous memory by tagname (test/windows.test.mjs)" }, () => {
  // Before: the memfd was sized to the length alone and mapped from the offset, wholly past its
  // end: the first access of a map just made threw ERR_MMAP_TRUNCATED ("the file shrank under
  // the map"), and a child mapping m.fd found none of the bytes.
  withMap([-1, 100, { shareable: true, offset: PAGESIZE }], (m) => {
    assert.equal(m.length, 100);
    assert.equal(fs.fstatSync(m.fd).size, PAGESIZE + 100);
    m.set(5, 1);
    m.setSlice(90, 100, "0123456789");
    assert.equal(m.get(5), 1);
    assert.equal(text(m.slice(90)), "0123456789");
    withMap([m.fd, 100, { offset: PAGESIZE }], (other) => assert.equal(text(other.slice(90)), "0123456789"));
    m.resize(200);
    assert.equal(fs.fstatSync(m.fd).size, PAGESIZE + 200);
    assert.equal(m.get(5), 1);
    m.set(199, 2);
    assert.equal(m.get(199), 2);
  });
});

test("a shareable map shrinks with resize()", { skip: WINDOWS && "memfd-backed shareable maps are POSIX: Windows shares anonymous memory by tagname (test/windows.test.mjs)" }, () => {
  withMap([-1, 2 * PAGESIZE, { shareable: true }], (m) => {
    m.write("abcdefgh");
    m.resize(5);
    assert.equal(m.length, 5);
    assert.equal(m.size(), 5);
    assert.equal(fs.fstatSync(m.fd).size, 5);
    assert.equal(text(m.slice()), "abcde");
  });
});

test("a plain shared anonymous map cannot grow: TypeError ERR_MMAP_NOT_RESIZABLE, nothing changes", { skip: WINDOWS && "Windows grows an anonymous map by copying it into a new section (test/windows.test.mjs)" }, () => {
  withMap([-1, 13], (m) => {
    m.write("Hello world!");
    throwsCode(() => m.resize(14), TypeError, "ERR_MMAP_NOT_RESIZABLE");
    throwsCode(() => m.resize(PAGESIZE * 4), TypeError, "ERR_MMAP_NOT_RESIZABLE");
    assert.equal(m.length, 13);
    assert.equal(m.tell(), 12);
    assert.equal(text(m.slice()), "Hello world!\0");
    // The same length and shrinking are fine.
    m.resize(13);
    assert.equal(m.length, 13);
    m.resize(5);
    assert.equal(m.length, 5);
    assert.equal(m.size(), 5);
    assert.equal(text(m.slice()), "Hello");
    throwsCode(() => m.resize(6), TypeError, "ERR_MMAP_NOT_RESIZABLE");
  });
});

test("a MAP_PRIVATE anonymous map grows keeping its data, with a zero tail (as CPython)", (t) => {
  const grown = 2 * PAGESIZE + 7;
  const check = (m) => {
    m.write("Hello world!");
    m.resize(grown);
    assert.equal(m.length, grown);
    assert.equal(m.size(), grown);
    assert.equal(m.tell(), 12);
    const bytes = m.slice();
    assert.equal(text(bytes.subarray(0, 12)), "Hello world!");
    assert.ok(bytes.subarray(12).every((x) => x === 0));
    m.set(-1, 1);
    m.resize(6);
    assert.equal(text(m.slice()), "Hello ");
    return bytes;
  };
  const ours = withMap([-1, 13, { flags: MAP_PRIVATE }], check);
  if (python === null) return t.skip("python3 3.13 is missing: compared with itself only");
  const theirs = runPython(`
import json, mmap
m = mmap.mmap(-1, 13, flags=mmap.MAP_PRIVATE)
m.write(b"Hello world!")
m.resize(${grown})
print(json.dumps({"len": len(m), "pos": m.tell(), "data": m[:].decode("latin1")}))
m.close()
`);
  assert.deepEqual({ len: ours.length, pos: 12, data: text(ours) }, theirs);
});

test("size() of an anonymous map is its length", { skip: WINDOWS && "memfd-backed shareable maps are POSIX: Windows shares anonymous memory by tagname (test/windows.test.mjs)" }, () => {
  withMap([-1, 13], (m) => assert.equal(m.size(), 13));
  withMap([-1, PAGESIZE + 1, { flags: MAP_PRIVATE }], (m) => assert.equal(m.size(), PAGESIZE + 1));
  withMap([-1, 100, { shareable: true }], (m) => {
    assert.equal(m.size(), 100);
    m.resize(40);
    assert.equal(m.size(), 40);
  });
});

// ------------------------------------------------------------------ close

test("after close(), m.fd is -1 and the descriptor is closed", { skip: WINDOWS && "memfd-backed shareable maps are POSIX: Windows shares anonymous memory by tagname (test/windows.test.mjs)" }, () => {
  const before = openFds();
  const s = new MMap(-1, 13, { shareable: true });
  const memfd = s.fd;
  assert.ok(fdIsOpen(memfd));
  assert.equal(openFds(), more(before, +1));
  s.close();
  assert.equal(s.fd, -1);
  assert.equal(fdIsOpen(memfd), false);
  s.close();
  assert.equal(s.fd, -1);

  const { fd } = tmpfd("some bytes");
  const base = openFds();
  const f = new MMap(fd, 0);
  const dup = f.fd;
  assert.ok(fdIsOpen(dup));
  f.close();
  assert.equal(f.fd, -1);
  assert.equal(fdIsOpen(dup), false);
  assert.ok(fdIsOpen(fd), "the caller's descriptor stays open");
  assert.equal(openFds(), base);
  assert.equal(openFds(), more(before, +1));

  const p = new MMap(-1, 13);
  p.close();
  assert.equal(p.fd, -1);
});

// ------------------------------------------------------------------ two maps of one file

test("two MAP_SHARED maps of one file see each other's writes, and so does the file", () => {
  const { path, fd } = tmpfd("x".repeat(64));
  withMap([fd, 0], (a) => {
    withMap([fd, 0], (b) => {
      a.setSlice(0, 5, "first");
      assert.equal(text(b.slice(0, 5)), "first");
      b.write("BBBB");
      assert.equal(text(a.slice(0, 5)), "BBBBt");
      b.set(63, 0x21);
      assert.equal(a.get(63), 0x21);
      assert.equal(fs.readFileSync(path, "latin1"), `BBBBt${"x".repeat(58)}!`);
    });
  });
});

test("writes to an ACCESS_COPY map reach neither another map of the file nor the file", () => {
  const content = "y".repeat(32);
  const { path, fd } = tmpfd(content);
  withMap([fd, 0], (shared) => {
    withMap([fd, 0, { access: ACCESS_COPY }], (copy) => {
      copy.setSlice(0, 4, "COPY");
      copy.flush();
      assert.equal(text(copy.slice(0, 4)), "COPY");
      assert.equal(text(shared.slice()), content);
      assert.equal(fs.readFileSync(path, "latin1"), content);
      shared.setSlice(0, 4, "SHRD");
      assert.equal(text(copy.slice(0, 4)), "COPY", "the copied page stays private");
    });
  });
  assert.equal(fs.readFileSync(path, "latin1"), `SHRD${"y".repeat(28)}`);
});

// Node closes, when a worker ends, every descriptor that fs.openSync opened in it and fs.closeSync
// did not (trackUnmanagedFds, on by default), by its number. MMap.open used to hand the map the
// descriptor it opened with fs.openSync; the map closed it natively, so the worker's end closed
// that number again, by then another thread's: the main thread's writes meant for its own file
// went to the next file it opened (or failed with EBADF). A worker's MMap.open now maps a
// duplicate and closes what fs.openSync opened through fs.closeSync.
for (const closed of [true, false]) {
  test(`a worker's MMap.open (the map ${closed ? "closed" : "never closed"} there) never leaves the worker's end a descriptor number to close that another thread reuses`, { skip: WINDOWS && "POSIX descriptor numbers" }, () => {
    const dir = fs.mkdtempSync("/tmp/memmap-unmanaged-");
    const f = `${dir}/w`, g = `${dir}/g`, h = `${dir}/h`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", `
      import fs from "node:fs";
      import { Worker } from "node:worker_threads";
      fs.writeFileSync(${JSON.stringify(f)}, "abc"); fs.writeFileSync(${JSON.stringify(g)}, ""); fs.writeFileSync(${JSON.stringify(h)}, "");
      const w = new Worker(\`const { parentPort } = require("node:worker_threads");
        import(${JSON.stringify(DIST)}).then(({ MMap }) => {
          const fs = require("node:fs");
          const probe = fs.openSync(${JSON.stringify(f)}, "r"); fs.closeSync(probe); // the number MMap.open gets
          const m = MMap.open(${JSON.stringify(f)});
          ${closed ? "m.close();" : "globalThis.keep = m; m.get(0);"}
          parentPort.postMessage(probe);
        });\`, { eval: true, execArgv: [] });
      const exited = new Promise((resolve) => w.once("exit", resolve));
      const number = await new Promise((resolve) => w.once("message", resolve));
      // The main thread opens g until it holds the number the worker's MMap.open had.
      const held = [];
      let fd = fs.openSync(${JSON.stringify(g)}, "r+");
      while (fd < number) { held.push(fd); fd = fs.openSync(${JSON.stringify(g)}, "r+"); }
      await exited;
      await new Promise((resolve) => setTimeout(resolve, 100));
      const opened = [];
      let fdh = fs.openSync(${JSON.stringify(h)}, "r+");
      while (fdh < fd) { opened.push(fdh); fdh = fs.openSync(${JSON.stringify(h)}, "r+"); }
      let wrote;
      try { fs.writeSync(fd, "meant for g"); wrote = "ok"; } catch (e) { wrote = e.code; }
      console.log(JSON.stringify({ same: fd === number, wrote, g: fs.readFileSync(${JSON.stringify(g)}, "utf8"), h: fs.readFileSync(${JSON.stringify(h)}, "utf8") }));
    `], { encoding: "utf8", timeout: 30_000 });
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1)), { same: true, wrote: "ok", g: "meant for g", h: "" });
  });
}

test("workers terminated while they make maps leak no descriptor: a memfd, a file's duplicate or a tag's object made for a map not made yet is closed with the worker", { skip: process.platform !== "linux" && "memfd and /proc/self/fd" }, () => {
  // A descriptor the addon made (memfd_create for shareable, dup for a file, shm_open for a tag)
  // is held by JavaScript until map() takes it; a worker terminated between the two calls leaked
  // it for the life of the process (24-27 memfds in 60 terminations before).
  const dir = fs.mkdtempSync("/tmp/memmap-terminate-");
  const file = `${dir}/f`;
  fs.writeFileSync(file, Buffer.alloc(4096, 1));
  const tag = `memmap-terminate-${process.pid}`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", `
    import fs from "node:fs";
    import { Worker } from "node:worker_threads";
    const count = (pred) => fs.readdirSync("/proc/self/fd").filter((d) => { try { return pred(fs.readlinkSync("/proc/self/fd/" + d)); } catch { return false; } }).length;
    const kinds = {
      memfd: ["new MMap(-1, 4096, { shareable: true }).close();", (l) => l.startsWith("/memfd:")],
      dup: ["new MMap(fd, 0).close();", (l) => l === ${JSON.stringify(file)}],
      tag: ["new MMap(-1, 4096, { tagname: '${tag}' }).close();", (l) => l.includes(${JSON.stringify(tag)})],
    };
    const out = {};
    for (const [kind, [body, pred]] of Object.entries(kinds)) {
      const before = count(pred);
      for (let round = 0; round < 40; round++) {
        const w = new Worker(\`const { parentPort } = require("node:worker_threads");
          const fs = require("node:fs");
          import(${JSON.stringify(DIST)}).then(({ MMap }) => {
            const fd = fs.openSync(${JSON.stringify(file)}, "r+");
            parentPort.postMessage("ready");
            for (;;) { \${body} }
          });\`, { eval: true, execArgv: [] });
        await new Promise((resolve) => w.once("message", resolve));
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
        await w.terminate();
      }
      out[kind] = count(pred) - before;
    }
    console.log(JSON.stringify(out));
  `], { encoding: "utf8", timeout: 120_000 });
  fs.rmSync(dir, { recursive: true, force: true });
  try { MMap.unlinkTag(tag); } catch { /* gone already */ }
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1)), { memfd: 0, dup: 0, tag: 0 });
});
