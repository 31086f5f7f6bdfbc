// Values a correct program passes that are not the plain Buffer of this realm: bytes of another
// realm (vm) or of a worker, views of resizable and growable buffers, other typed arrays, and a map
// itself where Python takes any buffer (an mmap is one: `dst.write(src)`, `m.find(other)`,
// `m[a:b] = other`). Each is compared with what CPython 3.13 does with the equivalent, where one exists.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { runInNewContext } from "node:vm";
import { MMap, ACCESS_READ, PAGESIZE } from "../dist/index.js";
import { python, runNode, runPython, throwsCode, tmpfile, WINDOWS } from "./helpers.mjs";

const NO_PYTHON = "CPython 3.13 (PYENV_VERSION=3.13.0 python3) is not available";

test("a map is bytes-like where bytes are taken, as an mmap is in CPython: write, setSlice (steps too), find, rfind, the same map included; a closed one is ERR_MMAP_CLOSED (found by a pass on realms: ERR_INVALID_ARG_TYPE before)", { skip: python === null && NO_PYTHON }, () => {
  const py = runPython(String.raw`
import json, mmap
out = {}
a = mmap.mmap(-1, 8); b = mmap.mmap(-1, 4); b.write(b"wxyz")
out["write"] = [a.write(b), a.tell(), a[:].hex()]
a[4:8] = b; out["setSlice"] = a[:].hex()
a[0:8:2] = b; out["stepped"] = a[:].hex()
out["find"] = [a.find(b, 0), a.rfind(b, 0)]
a[0:8] = a; out["self"] = a[:].hex()
out["findSelf"] = a.find(a, 0)
c = mmap.mmap(-1, 4); c.close()
errs = []
for f in (lambda: a.write(c), lambda: a.find(c), lambda: a.__setitem__(slice(0, 4), c)):
    try: f(); errs.append(None)
    except ValueError as e: errs.append(str(e))
out["closed"] = errs
out["pos"] = a.tell()
print(json.dumps(out))
`);
  const a = new MMap(-1, 8);
  const b = new MMap(-1, 4);
  const c = new MMap(-1, 4);
  try {
    b.write("wxyz");
    const got = {};
    got.write = [a.write(b), a.tell(), a.slice().toString("hex")];
    a.setSlice(4, 8, b);
    got.setSlice = a.slice().toString("hex");
    a.setSlice(0, 8, b, 2);
    got.stepped = a.slice().toString("hex");
    got.find = [a.find(b, 0), a.rfind(b, 0)];
    a.setSlice(0, 8, a);
    got.self = a.slice().toString("hex");
    got.findSelf = a.find(a, 0);
    c.close();
    const before = a.slice();
    for (const f of [() => a.write(c), () => a.find(c), () => a.setSlice(0, 4, c)]) throwsCode(f, Error, "ERR_MMAP_CLOSED");
    got.closed = py.closed; // CPython: "mmap closed or invalid", here ERR_MMAP_CLOSED (above)
    got.pos = a.tell();
    assert.deepEqual(got, py);
    assert.deepEqual(a.slice(), before, "a failed call changed nothing");
    // The source's own position does not move: it is read as a buffer, not as a file.
    assert.equal(b.tell(), 4);
    // A read-only map is a source like any other; a read-only destination is refused as before.
    const p = tmpfile("abcd");
    const ro = MMap.open(p, { access: ACCESS_READ });
    try {
      a.seek(0);
      assert.equal(a.write(ro), 4);
      assert.equal(a.slice(0, 4).toString(), "abcd");
      throwsCode(() => ro.write(b), TypeError, "ERR_MMAP_READ_ONLY");
      assert.equal(fs.readFileSync(p, "latin1"), "abcd");
    } finally {
      ro.close();
    }
    // Not a map: an object that inherits from one, a proxy of one.
    for (const fake of [Object.create(b), new Proxy(b, {})]) throwsCode(() => a.write(fake), TypeError, "ERR_INVALID_ARG_TYPE");
  } finally {
    a.close();
    b.close();
  }
});

test("a map given as bytes whose file lost them is ERR_MMAP_TRUNCATED, in a child process; the destination is unchanged", { skip: WINDOWS && "Windows refuses to truncate a mapped file" }, () => {
  const p = tmpfile(Buffer.alloc(2 * PAGESIZE, 0x61));
  const script = `
    import fs from "node:fs";
    import { MMap } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
    const src = MMap.open(process.argv[1]);
    const dst = new MMap(-1, src.length);
    fs.truncateSync(process.argv[1], 100);
    const out = [];
    for (const f of [() => dst.write(src), () => dst.setSlice(0, dst.length, src), () => dst.find(src, 0)]) {
      try { f(); out.push("no error"); } catch (e) { out.push(e.code); }
    }
    out.push(dst.tell(), dst.slice().every((b) => b === 0));
    console.log(JSON.stringify(out));
  `;
  const r = runNode(["--input-type=module", "-e", script, p]);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), ["ERR_MMAP_TRUNCATED", "ERR_MMAP_TRUNCATED", "ERR_MMAP_TRUNCATED", 0, true]);
});
