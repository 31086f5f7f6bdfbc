// A Proxy given where memmap takes a value (a number, bytes, a RegExp, a view type, a descriptor, a
// path, a name) is refused with the argument's coded error, and no trap runs: not while the
// argument is checked, and not while the error message describes it (src/errors.ts describe()).
// A trap that throws cannot replace memmap's error with its own, and a trap that closes the map
// cannot change anything during the failing call: the map stays open, at the same position, with
// the same contents. Options objects are read as Node reads them (traps and getters do run: the
// last tests), and a value whose constructor's name is a getter is described without calling it.
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { MMap, MADV_NORMAL } from "../dist/index.js";
import { throwsCode, tmpfile } from "./helpers.mjs";

const TRAPS = [
  "get",
  "set",
  "has",
  "deleteProperty",
  "ownKeys",
  "getOwnPropertyDescriptor",
  "defineProperty",
  "getPrototypeOf",
  "setPrototypeOf",
  "isExtensible",
  "preventExtensions",
  "apply",
  "construct",
];

/** A Proxy over `target` whose every trap calls `onTrap` (which may throw) and then does the default. */
function proxyOf(target, onTrap) {
  const handler = {};
  for (const trap of TRAPS) {
    handler[trap] = (...args) => {
      onTrap(trap);
      return Reflect[trap](...args);
    };
  }
  return new Proxy(target, handler);
}

const CONTENT = Buffer.from("0123456789abcdef\n".repeat(256));
const POS = 17;

/** A map of a fresh file at position POS, and what its state is. */
function freshMap() {
  const m = MMap.open(tmpfile(CONTENT));
  m.seek(POS);
  return m;
}

/** Every place that takes a value, with the Proxy `p` there; the code each must give. */
function calls(p) {
  const T = "ERR_INVALID_ARG_TYPE";
  return [
    ["get(p)", (m) => m.get(p), T],
    ["set(p, 1)", (m) => m.set(p, 1), T],
    ["set(0, p)", (m) => m.set(0, p), T],
    ["slice(p)", (m) => m.slice(p), T],
    ["slice(0, p)", (m) => m.slice(0, p), T],
    ["slice(0, 4, p)", (m) => m.slice(0, 4, p), T],
    ["setSlice(p, 1, 'x')", (m) => m.setSlice(p, 1, "x"), T],
    ["setSlice(0, 1, p)", (m) => m.setSlice(0, 1, p), T],
    ["setSlice(0, 1, 'x', p)", (m) => m.setSlice(0, 1, "x", p), T],
    ["subarray(p)", (m) => m.subarray(p), T],
    ["subarray(0, p)", (m) => m.subarray(0, p), T],
    ["seek(p)", (m) => m.seek(p), T],
    ["seek(0, p)", (m) => m.seek(0, p), T],
    ["read(p)", (m) => m.read(p), T],
    ["writeByte(p)", (m) => m.writeByte(p), T],
    ["write(p)", (m) => m.write(p), T],
    ["find(p)", (m) => m.find(p), T],
    ["find('a', p)", (m) => m.find("a", p), T],
    ["rfind('a', 0, p)", (m) => m.rfind("a", 0, p), T],
    ["search(p)", (m) => m.search(p), T],
    ["search(/a/, p)", (m) => m.search(/a/, p), T],
    ["matchAll(p)", (m) => m.matchAll(p), T],
    ["move(p, 0, 1)", (m) => m.move(p, 0, 1), T],
    ["move(0, p, 1)", (m) => m.move(0, p, 1), T],
    ["move(0, 0, p)", (m) => m.move(0, 0, p), T],
    ["flush(p)", (m) => m.flush(p), T],
    ["flush(0, p)", (m) => m.flush(0, p), T],
    // Windows has no madvise (its MADV_* constants are undefined): the first row alone holds there.
    ["madvise(p)", (m) => m.madvise(p), T],
    ...(MADV_NORMAL === undefined
      ? []
      : [
          ["madvise(MADV_NORMAL, p)", (m) => m.madvise(MADV_NORMAL, p), T],
          ["madvise(MADV_NORMAL, 0, p)", (m) => m.madvise(MADV_NORMAL, 0, p), T],
        ]),
    ["resize(p)", (m) => m.resize(p), T],
    ["lines(p)", (m) => m.lines(p), T],
    ["lines(0, p)", (m) => m.lines(0, p), T],
    ["view(p)", (m) => m.view(p), T],
    ["view(Uint8Array, p)", (m) => m.view(Uint8Array, p), T],
    ["view(Uint8Array, 0, p)", (m) => m.view(Uint8Array, 0, p), T],
    ["wait(p, 0, 0)", (m) => m.wait(p, 0, 0), T],
    ["wait(0, p, 0)", (m) => m.wait(0, p, 0), T],
    ["wait(0, 0, p)", (m) => m.wait(0, 0, p), T],
    ["notify(p)", (m) => m.notify(p), T],
    ["notify(0, p)", (m) => m.notify(0, p), T],
    ["residency(p)", (m) => m.residency(p), T],
    ["lock(p)", (m) => m.lock(p), T],
    ["lock(0, p)", (m) => m.lock(0, p), T],
    ["unlock(p)", (m) => m.unlock(p), T],
    ["new MMap(p, 0)", () => new MMap(p, 0), T],
    ["new MMap(-1, p)", () => new MMap(-1, p), T],
    ["MMap.open(p)", () => MMap.open(p), T],
    ["MMap.unlinkTag(p)", () => MMap.unlinkTag(p), T],
  ];
}

/** The same for the promise-returning methods. */
function asyncCalls(p) {
  return [
    ["waitAsync(p, 0)", (m) => m.waitAsync(p, 0)],
    ["prefetch(p)", (m) => m.prefetch(p)],
    ["flushAsync(p)", (m) => m.flushAsync(p)],
    ["MMap.openAsync(p)", () => MMap.openAsync(p)],
  ];
}

for (const [targetName, target] of [
  ["an object", () => ({})],
  ["a function", () => function f() {}],
]) {
  test(`a Proxy over ${targetName} whose every trap throws: the argument's coded error, no trap run, the map unchanged`, async () => {
    const trapped = [];
    const p = proxyOf(target(), (trap) => {
      trapped.push(trap);
      throw new Error(`trap ${trap} ran`);
    });
    const m = freshMap();
    try {
      for (const [label, call, code] of calls(p)) {
        assert.throws(() => call(m), (e) => {
          assert.equal(e.constructor, TypeError, `${label}: ${e.message}`);
          assert.equal(e.code, code, `${label}: ${e.message}`);
          assert.match(e.message, /Received a Proxy$/, label);
          return true;
        });
        assert.deepEqual(trapped, [], `${label}: no trap ran`);
      }
      for (const [label, call] of asyncCalls(p)) {
        await assert.rejects(Promise.resolve().then(() => call(m)), (e) => {
          assert.equal(e.constructor, TypeError, `${label}: ${e.message}`);
          assert.equal(e.code, "ERR_INVALID_ARG_TYPE", label);
          return true;
        });
        assert.deepEqual(trapped, [], `${label}: no trap ran`);
      }
      assert.equal(m.closed, false);
      assert.equal(m.tell(), POS);
      assert.ok(m.slice().equals(CONTENT), "contents unchanged");
    } finally {
      m.close();
    }
  });

  test(`a Proxy over ${targetName} whose traps would close the map: no trap runs, the map stays open and unchanged`, async () => {
    let m = freshMap();
    let ran = 0;
    const p = proxyOf(target(), () => {
      ran++;
      m.close();
    });
    try {
      for (const [label, call, code] of calls(p)) {
        throwsCode(() => call(m), TypeError, code);
        assert.equal(ran, 0, `${label}: no trap ran`);
        assert.equal(m.closed, false, `${label}: the map is open`);
        assert.equal(m.tell(), POS, `${label}: same position`);
        assert.equal(m.length, CONTENT.length, `${label}: same length`);
      }
      for (const [label, call] of asyncCalls(p)) {
        await assert.rejects(Promise.resolve().then(() => call(m)), { code: "ERR_INVALID_ARG_TYPE" }, label);
        assert.equal(m.closed, false, `${label}: the map is open`);
      }
      assert.ok(m.slice().equals(CONTENT), "contents unchanged");
      assert.equal(ran, 0);
    } finally {
      m.close();
    }
  });
}

test("an object with a Proxy on its prototype chain is described, and refused as bytes, a RegExp or a path, without running a trap", () => {
  const trapped = [];
  const p = proxyOf({}, (trap) => {
    trapped.push(trap);
    throw new Error(`trap ${trap} ran`);
  });
  const child = Object.create(p);
  const m = freshMap();
  try {
    for (const call of [() => m.get(child), () => m.write(child), () => m.search(child), () => m.find(child), () => MMap.open(child)]) {
      throwsCode(call, TypeError, "ERR_INVALID_ARG_TYPE");
    }
    assert.deepEqual(trapped, []);
    assert.throws(() => m.get(child), { message: /Received an object$/ });
  } finally {
    m.close();
  }
});

test("describing a value never calls a getter: a constructor or name behind a getter, or one that throws", () => {
  let calls = 0;
  class Named {
    static get name() {
      calls++;
      throw new Error("name getter ran");
    }
  }
  const withCtorGetter = Object.create(
    Object.defineProperty({}, "constructor", {
      get() {
        calls++;
        throw new Error("constructor getter ran");
      },
    }),
  );
  const fn = Object.defineProperty(() => {}, "name", {
    get() {
      calls++;
      return "x";
    },
  });
  const m = freshMap();
  try {
    assert.throws(() => m.get(new Named()), { code: "ERR_INVALID_ARG_TYPE", message: /Received an object$/ });
    assert.throws(() => m.get(withCtorGetter), { code: "ERR_INVALID_ARG_TYPE", message: /Received an object$/ });
    assert.throws(() => m.get(fn), { code: "ERR_INVALID_ARG_TYPE", message: /Received function <anonymous>$/ });
    assert.throws(() => m.seek(0, Named), { code: "ERR_INVALID_ARG_TYPE", message: /Received function <anonymous>$/ });
    assert.equal(calls, 0);
    // Plain values are described as before.
    assert.throws(() => m.get(new Map()), { message: /Received an instance of Map$/ });
    assert.throws(() => m.get(function named() {}), { message: /Received function named$/ });
    assert.throws(() => m.get(Object.create(null)), { message: /Received an object$/ });
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    throwsCode(() => m.write(revoked.proxy), TypeError, "ERR_INVALID_ARG_TYPE");
    throwsCode(() => m.flush(0, undefined, revoked.proxy), TypeError, "ERR_INVALID_ARG_TYPE");
    assert.equal(m.tell(), POS);
  } finally {
    m.close();
  }
});

test("options objects are read as Node reads them: a Proxy's traps run, what they throw is thrown, a close they make is seen", () => {
  const m = freshMap();
  try {
    const thrown = new Error("options trap");
    const throwing = new Proxy({}, { get: () => { throw thrown; } });
    assert.throws(() => m.flush(0, undefined, throwing), (e) => e === thrown);
    assert.throws(() => new MMap(-1, 4096, throwing), (e) => e === thrown);
    assert.equal(m.closed, false);
    assert.equal(m.tell(), POS);
    const closing = new Proxy({}, { get: () => (m.close(), undefined) });
    throwsCode(() => m.flush(0, undefined, closing), Error, "ERR_MMAP_CLOSED");
    assert.equal(m.closed, true);
  } finally {
    m.close();
  }
  // A plain Proxy over a real options object works.
  const a = new MMap(-1, 4096, new Proxy({ access: 2 }, {}));
  assert.equal(a.access, 2);
  a.close();
});

test("a file's contents are unchanged by the refused writes", () => {
  const f = tmpfile(CONTENT);
  const m = MMap.open(f);
  const p = proxyOf({}, () => m.close());
  try {
    for (const call of [() => m.write(p), () => m.setSlice(0, 1, p), () => m.set(0, p), () => m.writeByte(p)]) {
      throwsCode(call, TypeError, "ERR_INVALID_ARG_TYPE");
    }
    assert.equal(m.closed, false);
  } finally {
    m.close();
  }
  assert.ok(fs.readFileSync(f).equals(CONTENT));
});
