// Argument coercion and re-entrancy: hostile JavaScript values (negative zero, getters that
// close or resize the map, views of the map itself, buffers that shrink or detach, look-alike
// objects) given to every public method. A success equals CPython 3.13's result; a failure is a
// coded error that changes nothing.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { MMap } from "../dist/index.js";
import { tmpfile } from "./helpers.mjs";

test("-0 given for an integer never comes back as -0: find/rfind of an empty needle, offset, the memmap:new event (CPython has no -0: 0)", () => {
  const m = new MMap(-1, 16);
  m.write("0123456789abcdef");
  // CPython 3.13: m.find(b"", 0) == 0, m.rfind(b"", 0, 0) == 0.
  assert.ok(Object.is(m.find("", -0), 0));
  assert.ok(Object.is(m.find(Buffer.alloc(0), -0, -0), 0));
  assert.ok(Object.is(m.rfind("", -0, -0), 0));
  assert.ok(Object.is(m.rfind("", 0, -0), 0));
  assert.deepEqual([m.find("", -0), m.rfind("", -0, -0)], [0, 0]);
  const a = new MMap(-1, 16, { offset: -0 });
  assert.ok(Object.is(a.offset, 0));
  m.close();
  a.close();
  const file = tmpfile("hello");
  const events = [];
  const onNew = (e) => events.push({ ...e });
  subscribe("memmap:new", onNew);
  try {
    const fd = fs.openSync(file, "r+");
    try {
      const f = new MMap(fd, -0, { offset: -0 });
      assert.ok(Object.is(f.offset, 0));
      assert.equal(f.length, 5);
      f.close();
    } finally {
      fs.closeSync(fd);
    }
    const g = MMap.open(file, { offset: -0, length: -0 });
    assert.ok(Object.is(g.offset, 0));
    g.close();
  } finally {
    unsubscribe("memmap:new", onNew);
  }
  assert.equal(events.length, 2);
  for (const e of events) {
    assert.ok(Object.is(e.offset, 0) && Object.is(e.length, 0), `event ${JSON.stringify(e)} has no -0`);
  }
});
