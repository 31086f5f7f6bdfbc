// A newcomer's first hour: what people coming from Python or from Node's fs try first, and get
// wrong. Each mistake gives the right result or a coded error that says what to do; none gives a
// silently wrong result.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MMap, ACCESS_READ, ALLOCATIONGRANULARITY, MADV_WILLNEED, MAP_SHARED, PAGESIZE, PROT_READ } from "../dist/index.js";
import { tmpfile, throwsCode, runNode, python, runPython } from "./helpers.mjs";

test("Buffer.from(m) copies the map's bytes (Python's bytes(m)), not `length` zeros; String(m) and m + '' copy nothing", () => {
  const p = tmpfile("Hello Python!\n");
  const m = MMap.open(p);
  try {
    const copy = Buffer.from(m);
    assert.equal(copy.toString(), "Hello Python!\n");
    copy[0] = 0x4a;
    assert.equal(m.get(0), 0x48, "a copy, not a view");
    assert.equal(m.valueOf().toString(), "Hello Python!\n");
    assert.equal(String(m), "[object Object]");
    assert.equal(`${m}`, "[object Object]");
    assert.equal(m + "", "[object Object]");
    assert.ok(Number.isNaN(+m));
    const head = MMap.open(p, { access: ACCESS_READ, length: 5 });
    assert.equal(Buffer.from(head).toString(), "Hello");
    head.close();
  } finally {
    m.close();
  }
  throwsCode(() => Buffer.from(m), Error, "ERR_MMAP_CLOSED");
  assert.equal(fs.readFileSync(p, "utf8"), "Hello Python!\n");
});

test("an empty file says how to give it a size: MMap.open(path, { create: true }) names options.size, new MMap(fd, 0) ftruncate", async () => {
  const missing = `${tmpfile("x")}-new`;
  assert.throws(
    () => MMap.open(missing, { create: true }),
    (e) => e instanceof RangeError && e.code === "ERR_INVALID_ARG_VALUE" && /empty file.*options\.size/.test(e.message),
  );
  assert.equal(fs.existsSync(missing), false, "the file it created is removed again");
  await assert.rejects(MMap.openAsync(missing, { create: true }), (e) => e.code === "ERR_INVALID_ARG_VALUE" && /options\.size/.test(e.message));
  const m = MMap.open(missing, { create: true, size: 5 }); // what the message says to do
  assert.equal(m.length, 5);
  m.close();
  const fd = fs.openSync(tmpfile(""), "r+");
  try {
    assert.throws(() => new MMap(fd, 0), (e) => e.code === "ERR_INVALID_ARG_VALUE" && /empty file.*ftruncateSync/.test(e.message));
  } finally {
    fs.closeSync(fd);
  }
});

test("a descriptor opened for reading only (fs.openSync's default): EACCES says to open with 'r+' or map with ACCESS_READ", () => {
  const p = tmpfile("Hello Python!\n");
  const ro = fs.openSync(p); // "r"
  try {
    assert.throws(
      () => new MMap(ro, 0),
      (e) =>
        Object.getPrototypeOf(e) === Error.prototype &&
        e.code === "EACCES" &&
        e.syscall === "mmap" &&
        /^EACCES: permission denied, mmap \(.*'r\+'.*access: ACCESS_READ.*\)$/.test(e.message),
    );
    // what the message says works
    const m = new MMap(ro, 0, { access: ACCESS_READ });
    assert.equal(m.readline().toString(), "Hello Python!\n");
    m.close();
  } finally {
    fs.closeSync(ro);
  }
  const rw = fs.openSync(p, "r+");
  const m = new MMap(rw, 0);
  fs.closeSync(rw);
  assert.equal(m.length, 14);
  m.close();
});

test("habits from Python and fs: positional flags/prot/access, a flag string or an access name in the options' place, a missing length; each error names the object to pass", async () => {
  const p = tmpfile("0123456789");
  const fd = fs.openSync(p, "r+");
  const typeError = (re) => (e) => Object.getPrototypeOf(e) === TypeError.prototype && e.code === "ERR_INVALID_ARG_TYPE" && re.test(e.message);
  const objectWanted = typeError(/^The "options" argument must be of type object, such as \{ access: ACCESS_READ \}.*Received type (number|string)/);
  const accessNames = typeError(/^The "options.access" argument must be of type number: ACCESS_DEFAULT, ACCESS_READ, ACCESS_WRITE or ACCESS_COPY.*Received type string \('read'\)/);
  try {
    assert.throws(() => new MMap(fd, 0, ACCESS_READ), objectWanted); // mmap(fileno, 0, access=...) written positionally
    assert.throws(() => new MMap(fd, 0, MAP_SHARED, PROT_READ), objectWanted); // mmap(fileno, 0, flags, prot)
    assert.throws(() => new MMap(fd, 0, "r"), objectWanted);
    assert.throws(() => new MMap(-1, 13, "my-tag"), typeError(/tagname are its properties/)); // mmap(-1, 13, "my-tag") on Windows
    assert.throws(() => MMap.open(p, "r"), objectWanted);
    await assert.rejects(MMap.openAsync(p, "r"), objectWanted);
    assert.throws(() => new MMap(fd), typeError(/^The "length" argument must be of type number \(0 maps the whole file\). Received undefined$/));
    assert.throws(() => new MMap(-1), typeError(/^The "length" argument must be of type number \(the size of the memory, in bytes\). Received undefined$/));
    assert.throws(() => new MMap(fd, 0, { access: "read" }), accessNames);
    assert.throws(() => MMap.open(p, { access: "read" }), accessNames);
    // other wrong types keep Node's plain message
    assert.throws(() => new MMap(fd, 0, true), typeError(/^The "options" argument must be of type object. Received type boolean/));
    assert.throws(() => new MMap(fd, 0, { access: true }), typeError(/^The "options.access" argument must be of type number. Received type boolean/));
  } finally {
    fs.closeSync(fd);
  }
});

test("the memmap command: --help and --version; no command, a mistyped one or extra arguments say which, then the usage (exit 2), and build nothing", () => {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
  const bin = path.join(root, "bin", "memmap.mjs");
  const run = (...args) => runNode([bin, ...args], { cwd: root });
  const help = run("--help");
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: npx memmap build/);
  const version = run("--version");
  assert.equal(version.status, 0);
  assert.equal(version.stdout.trim(), JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).version);
  for (const [args, said] of [
    [[], "memmap: no command given"],
    [["bild"], "memmap: unknown command 'bild'"],
    [["build", "--release"], "memmap: build takes no arguments; got: --release"],
  ]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, "");
    const lines = r.stderr.split("\n");
    assert.equal(lines[0], said);
    assert.match(lines[1], /^usage: npx memmap build/);
    assert.doesNotMatch(r.stderr, /node-gyp rebuild/);
  }
});

test("the examples import memmap by its name: copied into a project that depends on memmap, they run unchanged", (t) => {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
  const dir = path.join(os.tmpdir(), `memmap-first-use-${process.pid}`);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, "node_modules"), { recursive: true });
  try {
    fs.symlinkSync(root, path.join(dir, "node_modules", "memmap"), "junction");
  } catch (err) {
    // Wine has no junctions (ENOTSUP); Windows itself makes them without privileges.
    if (process.platform === "win32") return t.skip(`no junction here: ${err.code}`);
    throw err;
  }
  for (const name of fs.readdirSync(path.join(root, "examples")).filter((f) => f.endsWith(".mjs"))) {
    const text = fs.readFileSync(path.join(root, "examples", name), "utf8");
    const specifiers = [...text.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]).filter((s) => !s.startsWith("node:"));
    assert.deepEqual(specifiers, ["memmap"], `${name} imports memmap by name only`);
    fs.writeFileSync(path.join(dir, name), text);
  }
  const r = runNode([path.join(dir, "hello.mjs")], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "'Hello Python!\\n'\n'Hello'\n'Hello  world!\\n'\n");
});

test("EINVAL that is an argument's fault names it: an offset off ALLOCATIONGRANULARITY, an anonymous map of length 0, flush and madvise off PAGESIZE", { skip: process.platform === "win32" && "POSIX alignment rules (msync, madvise)" }, () => {
  const einval = (re) => (e) => Object.getPrototypeOf(e) === Error.prototype && e.code === "EINVAL" && re.test(e.message);
  const p = tmpfile(Buffer.alloc(2 * PAGESIZE, 1));
  assert.throws(
    () => MMap.open(p, { offset: 3 }),
    einval(new RegExp(`^EINVAL: invalid argument, mmap '.*' \\(options\\.offset must be a multiple of ALLOCATIONGRANULARITY \\(${ALLOCATIONGRANULARITY}\\); it is 3\\)$`)),
  );
  assert.throws(() => new MMap(-1, 0), einval(/^EINVAL: invalid argument, mmap \(an anonymous map needs a length of at least 1\)$/));
  const m = MMap.open(p);
  try {
    assert.throws(() => m.flush(8, 8), einval(new RegExp(`, msync \\(the offset must be a multiple of PAGESIZE \\(${PAGESIZE}\\); it is 8\\)$`)));
    assert.throws(() => m.madvise(MADV_WILLNEED, 1), einval(/, madvise \(start must be a multiple of PAGESIZE .*; it is 1\)$/));
    m.flush(PAGESIZE, 8); // what the message says works
  } finally {
    m.close();
  }
});

test("memmap taken into a bundle (its modules outside its package): the load error says to keep it external, not to build an addon", (t) => {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
  const app = path.join(os.tmpdir(), `memmap-bundled-${process.pid}`);
  t.after(() => fs.rmSync(app, { recursive: true, force: true }));
  // a bundler's output: memmap's code in the app's own directory, beside no package of memmap's
  fs.cpSync(path.join(root, "dist"), path.join(app, "out"), { recursive: true, filter: (f) => !f.endsWith(".map") });
  fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", type: "module" }));
  const probe = `try { await import(${JSON.stringify(pathToFileURL(path.join(app, "out", "index.js")).href)}); console.log("loaded"); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
  const r = runNode(["--input-type=module", "-e", probe], { cwd: app, env: { ...process.env, MEMMAP_PREBUILD: "" } });
  assert.equal(r.status, 0, r.stderr);
  const err = JSON.parse(r.stdout);
  assert.equal(err.code, "ERR_MMAP_UNSUPPORTED_PLATFORM");
  assert.match(err.message, /a bundler took it into a bundle/);
  assert.match(err.message, /--external:memmap/);
  assert.doesNotMatch(err.message, /memmap build|build:native/);
});

test("a path to the constructor, a descriptor or FileHandle to MMap.open: the TypeError names the other one", async () => {
  const p = tmpfile("0123456789");
  const typeError = (re) => (e) => Object.getPrototypeOf(e) === TypeError.prototype && e.code === "ERR_INVALID_ARG_TYPE" && re.test(e.message);
  const toOpen = typeError(/^The "fd" argument must be of type number or an instance of FileHandle \(MMap\.open\(path\) maps a file by its path\)\. Received/);
  assert.throws(() => new MMap(p, 0), toOpen);
  assert.throws(() => new MMap(pathToFileURL(p), 0), toOpen);
  assert.throws(() => new MMap(Buffer.from(p), 0), toOpen);
  const toConstructor = typeError(/^The "path" argument must be of type string or an instance of Buffer or URL \(new MMap\(fd, 0\) maps a descriptor or a FileHandle\)\. Received/);
  const fd = fs.openSync(p, "r+");
  const fh = await fs.promises.open(p, "r+");
  try {
    assert.throws(() => MMap.open(fd), toConstructor);
    assert.throws(() => MMap.open(fh), toConstructor);
    await assert.rejects(MMap.openAsync(fh), toConstructor);
    // anything else keeps the plain message
    assert.throws(() => new MMap({}, 0), typeError(/FileHandle\. Received an object|FileHandle\. Received an instance of Object/));
    assert.throws(() => MMap.open({}), typeError(/or URL\. Received/));
  } finally {
    fs.closeSync(fd);
    await fh.close();
  }
});

test("`memmap build` in a checkout (no native/memmap.gyp, a binding.gyp) names `npm run build:native` instead of failing with ENOENT", (t) => {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
  const checkout = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-checkout-"));
  t.after(() => fs.rmSync(checkout, { recursive: true, force: true }));
  for (const f of ["bin/memmap.mjs", "binding.gyp", "package.json", "native/mm.h"]) {
    fs.mkdirSync(path.dirname(path.join(checkout, f)), { recursive: true });
    fs.copyFileSync(path.join(root, f), path.join(checkout, f));
  }
  const r = runNode([path.join(checkout, "bin", "memmap.mjs"), "build"], { cwd: checkout });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^memmap build: .* is a checkout of memmap: build its addon with `npm run build:native` there\.\n$/);
  fs.rmSync(path.join(checkout, "binding.gyp"));
  const incomplete = runNode([path.join(checkout, "bin", "memmap.mjs"), "build"], { cwd: checkout });
  assert.equal(incomplete.status, 1, incomplete.stderr);
  assert.match(incomplete.stderr, /memmap\.gyp is missing: this copy of memmap is incomplete; reinstall it/);
  assert.equal(fs.existsSync(path.join(checkout, "build")), false, "nothing built");
});

test("a directory mapped read-only (MMap.open's default 'r+' says EISDIR), a pipe: the kernel's EINVAL or ENODEV, as CPython's, says what it is", { skip: process.platform === "win32" && "a descriptor of a directory: POSIX" }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-dir-"));
  const fd = fs.openSync(dir, "r");
  try {
    const isDir = (code, named) => (e) =>
      Object.getPrototypeOf(e) === Error.prototype &&
      e.code === code &&
      e.syscall === "mmap" &&
      new RegExp(`^${code}: .*, mmap${named ? " '.*'" : ""} \\(.*is a directory, which cannot be mapped: map a file\\b.*\\)$`).test(e.message);
    assert.throws(() => MMap.open(dir), (e) => e.code === "EISDIR"); // the open itself
    assert.throws(() => MMap.open(dir, { access: ACCESS_READ }), isDir("EINVAL", true));
    await assert.rejects(MMap.openAsync(dir, { access: ACCESS_READ }), isDir("EINVAL", true));
    assert.throws(() => MMap.open(dir, { access: ACCESS_READ, length: 10 }), isDir("ENODEV", true));
    assert.throws(() => new MMap(fd, 0, { access: ACCESS_READ }), isDir("EINVAL", false));
    assert.throws(() => new MMap(fd, 10, { access: ACCESS_READ, trackfd: false }), isDir("ENODEV", false));
    // what CPython says (the same errno), where it runs
    if (python !== null) {
      const errnos = runPython(
        `import json, mmap, os\nfd = os.open(${JSON.stringify(dir)}, os.O_RDONLY)\nout = []\nfor n in (0, 10):\n  try: mmap.mmap(fd, n, access=mmap.ACCESS_READ)\n  except OSError as e: out.append(e.errno)\nprint(json.dumps(out))`,
      );
      assert.deepEqual(errnos, [os.constants.errno.EINVAL, os.constants.errno.ENODEV]);
    }
    // a pipe (the shell's `|`) and a socket (Node hands a child's piped stdin over as one)
    const entry = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "dist", "index.js")).href;
    const probe = path.join(dir, "probe.mjs");
    fs.writeFileSync(
      probe,
      `const { MMap, ACCESS_READ } = await import(${JSON.stringify(entry)});
for (const n of [0, 10]) try { new MMap(0, n, { access: ACCESS_READ }); console.log("mapped"); } catch (e) { console.log(e.code, e.message); }`,
    );
    const ofStdin = (r, kind) => {
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assert.equal(lines.length, 2, r.stdout);
      assert.match(lines[0], new RegExp(`^EINVAL EINVAL: invalid argument, mmap \\(descriptor 0 is a ${kind}, which cannot be mapped: map a regular file.*\\)$`));
      assert.match(lines[1], new RegExp(`^ENODEV ENODEV: no such device, mmap \\(descriptor 0 is a ${kind}, which cannot be mapped: .*\\)$`));
    };
    ofStdin(spawnSync("sh", ["-c", 'echo input | "$0" "$1"', process.execPath, probe], { encoding: "utf8" }), "pipe");
    ofStdin(runNode([probe], { input: "input\n" }), "socket");
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true });
  }
});

test("a process that refuses native addons (--no-addons, a Worker's execArgv, --permission without --allow-addons): the load error says so and names the flag, not a build", async () => {
  const entry = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "dist", "index.js")).href;
  const probe = `import(${JSON.stringify(entry)}).then(() => console.log("loaded"), (e) => console.log(JSON.stringify({ code: e.code, cause: e.cause?.code, message: e.message })));`;
  const refused = (r, flag) => {
    assert.equal(r.status, 0, r.stderr);
    const e = JSON.parse(r.stdout.trim().split("\n").pop());
    assert.equal(e.code, "ERR_MMAP_UNSUPPORTED_PLATFORM");
    assert.equal(e.cause, "ERR_DLOPEN_DISABLED");
    assert.match(e.message, /^memmap cannot load its native addon: this process does not allow native addons/);
    assert.ok(e.message.includes(flag), e.message);
    assert.doesNotMatch(e.message, /build/);
  };
  refused(runNode(["--no-addons", "-e", probe]), "--no-addons");
  const worker = `const { Worker } = require("node:worker_threads"); new Worker(${JSON.stringify(probe)}, { eval: true, execArgv: ["--no-addons"] });`;
  refused(runNode(["-e", worker]), "--no-addons");
  // the permission model: --experimental-permission on Node 20, --permission from 22.13 on
  const permission = ["--permission", "--experimental-permission"].find((f) => process.allowedNodeEnvironmentFlags.has(f));
  if (permission !== undefined) {
    refused(runNode([permission, "--allow-fs-read=*", "--no-warnings", "-e", probe]), "--allow-addons");
    const allowed = runNode([permission, "--allow-fs-read=*", "--allow-addons", "--no-warnings", "-e", probe]);
    assert.equal(allowed.stdout.trim(), "loaded", allowed.stdout + allowed.stderr); // what the message says works
  }
});

test("MMap.open of a file this process may read but not write (the default access maps it writable): the open's error says to map it with ACCESS_READ", { skip: process.platform !== "linux" && "ETXTBSY and runuser: Linux" }, async () => {
  // ETXTBSY: Node's own executable, running, refuses every open for writing, root's too.
  const hinted = (code) => (e) =>
    Object.getPrototypeOf(e) === Error.prototype &&
    e.code === code &&
    e.syscall === "open" &&
    e.path === process.execPath &&
    e.message.startsWith(`${code}: `) &&
    e.message.includes(`open '${process.execPath}' (`) &&
    /\(MMap\.open opens the file for reading and writing, as the map's access .*: map it read-only with \{ access: ACCESS_READ \}/.test(e.message) &&
    e.stack.startsWith(`Error: ${e.message}`);
  assert.throws(() => MMap.open(process.execPath), hinted("ETXTBSY"));
  await assert.rejects(MMap.openAsync(process.execPath, { length: 4096 }), hinted("ETXTBSY"));
  const m = MMap.open(process.execPath, { access: ACCESS_READ, length: 4 }); // what the message says works
  try {
    assert.deepEqual([...m.slice(0, 4)], [0x7f, 0x45, 0x4c, 0x46]); // ELF
  } finally {
    m.close();
  }
  // No hint where reading is refused too, or where nothing exists to read.
  assert.throws(() => MMap.open(path.join(os.tmpdir(), "memmap-no-such-dir", "f")), (e) => e.code === "ENOENT" && !e.message.includes("ACCESS_READ"));
  // EACCES: a file only its owner may write, as another user (root reads and writes every file),
  // where that user may run this Node and read memmap (not so for a Node under /root, as
  // test:runtimes installs them).
  const entryPath = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "dist", "index.js");
  const asNobody = (...args) => spawnSync("runuser", ["-u", "nobody", "--", ...args], { encoding: "utf8" });
  if (process.getuid?.() === 0 && asNobody(process.execPath, "-e", `require("fs").accessSync(${JSON.stringify(entryPath)})`).status === 0) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-perm-"));
    try {
      fs.chmodSync(dir, 0o755);
      const file = path.join(dir, "f");
      fs.writeFileSync(file, "data", { mode: 0o644 });
      const secret = path.join(dir, "secret");
      fs.writeFileSync(secret, "data", { mode: 0o600 });
      const entry = pathToFileURL(entryPath).href;
      const probe = `const { MMap, ACCESS_READ } = await import(${JSON.stringify(entry)});
const out = [];
for (const [p, o] of [[${JSON.stringify(file)}, undefined], [${JSON.stringify(secret)}, undefined], [${JSON.stringify(file)}, { access: ACCESS_READ }]]) {
  try { out.push(MMap.open(p, o).read().toString()); } catch (e) { out.push(e.code + " " + e.message); }
}
console.log(JSON.stringify(out));`;
      const r = spawnSync("runuser", ["-u", "nobody", "--", process.execPath, "--input-type=module", "-e", probe], { encoding: "utf8", cwd: dir });
      assert.equal(r.status, 0, r.stderr);
      const [writable, unreadable, readOnly] = JSON.parse(r.stdout);
      assert.match(writable, /^EACCES EACCES: permission denied, open '.*' \(MMap\.open opens the file for reading and writing, .*\{ access: ACCESS_READ \}/);
      assert.match(unreadable, /^EACCES EACCES: permission denied, open '[^']*'$/);
      assert.equal(readOnly, "data");
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  }
});
