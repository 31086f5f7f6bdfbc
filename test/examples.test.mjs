// The scripts in examples/ run and print exactly what they promise; where the example
// comes from Python's documentation, the lines are checked against CPython running it.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { python, runPython, runNode, tmpdir } from "./helpers.mjs";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const example = (name) => path.join(root, "examples", name);

/** Runs an example with a private TMPDIR (so leftovers show) and a short time limit. */
function run(name, env = {}) {
  const tmp = tmpdir("memmap-example-tmp-");
  const r = runNode([example(name)], { cwd: root, timeout: 20_000, env: { ...process.env, TMPDIR: tmp, ...env } });
  const left = fs.readdirSync(tmp);
  return { ...r, left };
}

function assertOk(r) {
  assert.equal(r.signal, null, `killed by ${r.signal}; stderr: ${r.stderr}`);
  assert.equal(r.status, 0, `stderr: ${r.stderr}`);
  assert.equal(r.stderr, "");
}

/** Python prints bytes as b'...'; the examples print the same text as a JS string '...'. */
const asJs = (pythonLine) => {
  assert.match(pythonLine, /^b'/);
  return pythonLine.slice(1);
};

test("hello.mjs prints the three lines of the documentation example", () => {
  const r = run("hello.mjs");
  assertOk(r);
  assert.equal(r.stdout, "'Hello Python!\\n'\n'Hello'\n'Hello  world!\\n'\n");
  assert.deepEqual(r.left, [], "the temporary directory is removed");
});

test("hello.mjs writes hello.txt in MEMMAP_EXAMPLE_DIR and leaves the edited file there", () => {
  const dir = tmpdir();
  const r = run("hello.mjs", { MEMMAP_EXAMPLE_DIR: dir });
  assertOk(r);
  assert.equal(r.stdout.split("\n").length, 4);
  assert.deepEqual(fs.readdirSync(dir), ["hello.txt"]);
  assert.equal(fs.readFileSync(path.join(dir, "hello.txt"), "latin1"), "Hello  world!\n");
  assert.deepEqual(r.left, []);
});

test("hello.mjs prints what CPython prints for the same example", (t) => {
  if (python === null) return t.skip("python3 3.13 is missing");
  const dir = tmpdir();
  const lines = runPython(
    `
import json, mmap, os
os.chdir(${JSON.stringify(dir)})
with open("hello.txt", "wb") as f:
    f.write(b"Hello Python!\\n")
out = []
with open("hello.txt", "r+b") as f:
    mm = mmap.mmap(f.fileno(), 0)
    out.append(repr(mm.readline()))
    out.append(repr(mm[:5]))
    mm[6:] = b" world!\\n"
    mm.seek(0)
    out.append(repr(mm.readline()))
    mm.close()
with open("hello.txt", "rb") as f:
    out.append(f.read().decode("latin1"))
print(json.dumps(out))
`,
  );
  const pyFile = lines.pop();
  const jsDir = tmpdir();
  const r = run("hello.mjs", { MEMMAP_EXAMPLE_DIR: jsDir });
  assertOk(r);
  assert.deepEqual(r.stdout.split("\n").slice(0, -1), lines.map(asJs));
  assert.equal(fs.readFileSync(path.join(jsDir, "hello.txt"), "latin1"), pyFile);
});

/** The fork example in CPython: what the child's readline() returns, as Python prints it. */
function pythonForkLine() {
  return runPython(`
import json, mmap, os
mm = mmap.mmap(-1, 13)
mm.write(b"Hello world!")
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    mm.seek(0)
    os.write(w, repr(mm.readline()).encode())
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
mm.close()
print(json.dumps(b"".join(chunks).decode()))
`);
}

test("share-child.mjs: the child reads the parent's text, the parent reads the child's reply", () => {
  const r = run("share-child.mjs");
  assertOk(r);
  assert.equal(r.stdout, "child read: 'Hello world!\\x00'\nparent read: 'Hello parent!'\n");
  assert.deepEqual(r.left, []);
});

test("share-worker.mjs: the worker reads the main thread's text, the main thread reads the reply", () => {
  const r = run("share-worker.mjs");
  assertOk(r);
  assert.equal(r.stdout, "worker read: 'Hello world!\\x00'\nmain read: 'Hello main!\\n'\n");
  assert.deepEqual(r.left, []);
});

test("the sharing examples read what the child of CPython's fork example reads", (t) => {
  if (python === null) return t.skip("python3 3.13 is missing");
  const expected = asJs(pythonForkLine());
  const child = run("share-child.mjs");
  assertOk(child);
  assert.equal(child.stdout.split("\n")[0], `child read: ${expected}`);
  const worker = run("share-worker.mjs");
  assertOk(worker);
  assert.equal(worker.stdout.split("\n")[0], `worker read: ${expected}`);
});
