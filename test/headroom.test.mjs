// Headroom (native/posix.c): a map that grows keeps address space right after itself, so that its
// next growths happen in place instead of moving the whole mapping; shrinking turns the pages let
// go into headroom. Anonymous memory's headroom is a reservation (PROT_NONE, no commit); a shared
// file map's is the file itself mapped on past its end, the same kernel mapping (a growth into it
// is the ftruncate alone). What users can see must not change: contents, zeros where a map grows
// again, the file's size, errors (EFAULT where CPython's resize meets a split map); and the
// headroom goes with the map. Read from /proc/self/maps: Linux (the only system with mremap, where
// headroom exists).
import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { MMap, MAP_PRIVATE, MADV_RANDOM } from "../dist/index.js";
import { ASAN, tmpfile } from "./helpers.mjs";

const LINUX = process.platform === "linux";
const NO_MREMAP = process.env.MEMMAP_NO_MREMAP === "1";
/** Whether a limit on address space (ulimit -v) applies: memmap then reserves no headroom. */
const AS_LIMITED = LINUX && !/^Max address space\s+unlimited/m.test(fs.readFileSync("/proc/self/limits", "utf8"));
const skip =
  (!LINUX && "headroom exists where mremap does: Linux") ||
  (NO_MREMAP && "MEMMAP_NO_MREMAP=1: the portable path keeps no headroom") ||
  (AS_LIMITED && "a limit on address space (ulimit -v): memmap reserves no headroom");
const PAGE = 4096;

/** The lines of /proc/self/maps as { start, end, perms, name }. */
function mappings() {
  return fs
    .readFileSync("/proc/self/maps", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [range, perms, , , , name = ""] = l.split(/\s+/);
      const [start, end] = range.split("-").map((h) => BigInt("0x" + h));
      return { start, end, perms, name };
    });
}

/** The mapping of `file` (one line: the kernel keeps a grown map one mapping), and what follows it. */
function around(file) {
  const all = mappings();
  const i = all.findIndex((m) => m.name === file);
  assert.ok(i >= 0, `${file} is mapped`);
  assert.equal(all.filter((m) => m.name === file).length, 1, "one kernel mapping");
  return { map: all[i], next: all[i + 1] };
}

test("a file map doubling from 4 KiB to 64 MiB moves at most every third step, keeps every byte, and the file follows", { skip }, () => {
  const file = tmpfile(Buffer.alloc(PAGE, 1));
  const fd = fs.openSync(file, "r+");
  const m = new MMap(fd, PAGE);
  fs.closeSync(fd);
  const starts = new Set();
  let size = PAGE;
  let roomy = 0;
  m.set(0, 7);
  while (size < 64 << 20) {
    size *= 2;
    m.resize(size);
    m.set(size - 1, size % 251); // the last byte of each size, written through the map
    const { map } = around(file);
    starts.add(map.start);
    // The file's one kernel mapping: the map, then its headroom (the file mapped on past its end;
    // none once a growth took the last of it).
    assert.ok(map.end - map.start >= BigInt(size), "the mapping holds the map");
    assert.equal(map.perms, "rw-s");
    if (map.end - map.start > BigInt(size)) roomy++;
    assert.equal(fs.fstatSync(m.fd).size, size, "the file is the map's size, not the headroom's");
  }
  // 14 growths: a move maps three times the new size more (room for two more doublings), so at
  // most 5 distinct addresses, and headroom left after 2 of every 3 growths.
  assert.ok(starts.size <= 5, `${starts.size} addresses for 14 growths`);
  assert.ok(roomy >= 9, `headroom after ${roomy} of 14 growths`);
  assert.equal(m.get(0), 7);
  for (let s = 2 * PAGE; s <= size; s *= 2) assert.equal(m.get(s - 1), s % 251, `byte ${s - 1}`);
  assert.equal(m.get(PAGE), 0, "growth reads zeros");
  assert.equal(fs.statSync(file).size, size);
  m.flush();
  const back = fs.readFileSync(file);
  for (let s = 2 * PAGE; s <= size; s *= 2) assert.equal(back[s - 1], s % 251);
  m.close();
});

test("close() gives the headroom back with the mapping (a file map's: the file mapped past its end)", { skip }, () => {
  const file = tmpfile(Buffer.alloc(PAGE));
  const m = MMap.open(file, { length: PAGE });
  m.resize(4 * PAGE);
  const { map } = around(file);
  assert.equal(map.end - map.start, BigInt(4 * PAGE + 3 * 4 * PAGE), "the map, then three times its size");
  const range = [map.start, map.end];
  m.close();
  assert.equal(mappings().some((x) => x.name === file), false);
  assert.deepEqual(
    mappings().filter((x) => x.start < range[1] && x.end > range[0] && x.name === ""),
    [],
    "nothing left in its place",
  );
});

test("anonymous memory: the headroom is a reservation right after the map, given back by close()", { skip }, () => {
  const m = new MMap(-1, PAGE, { flags: MAP_PRIVATE });
  const before = new Set(mappings().map((x) => `${x.start}-${x.end}`));
  m.resize(4 * PAGE);
  m.set(4 * PAGE - 1, 1);
  // The kernel merges neighbouring anonymous mappings of the same flags into one line of
  // /proc/self/maps (V8's heap pages below the map, its reservations above the headroom: seen once
  // in CI). MADV_RANDOM gives the map a flag of its own, so its line is the map's alone; the
  // headroom's line may still run on into a neighbouring reservation, so it is checked from its start.
  m.madvise(MADV_RANDOM);
  const fresh = mappings().filter((x) => !before.has(`${x.start}-${x.end}`));
  const map = fresh.find((x) => x.perms === "rw-p" && x.end - x.start === BigInt(4 * PAGE));
  assert.ok(map, "the grown map");
  const room = mappings().find((x) => x.start === map.end);
  assert.equal(room?.perms, "---p", "inaccessible headroom after it");
  assert.ok(room.end - room.start >= BigInt(3 * 4 * PAGE), "three times its size");
  m.close();
  assert.equal(
    mappings().some((x) => x.start <= map.end && x.end > map.end && x.perms === "---p"),
    false,
    "the reservation is gone",
  );
});

test("anonymous private maps: grow, shrink into the headroom, grow again: kept bytes stay, regrown pages read zeros", { skip }, () => {
  const m = new MMap(-1, PAGE, { flags: MAP_PRIVATE });
  m.write(Buffer.from("head"));
  m.resize(16 * PAGE);
  m.setSlice(15 * PAGE, 16 * PAGE, Buffer.alloc(PAGE, 0xee));
  m.setSlice(4 * PAGE, 5 * PAGE, Buffer.alloc(PAGE, 0x55));
  m.resize(3 * PAGE + 10); // pages 4.. go back to the headroom: their bytes are gone
  assert.equal(m.length, 3 * PAGE + 10);
  m.resize(16 * PAGE); // in place, into the headroom
  assert.equal(m.slice(0, 4).toString(), "head");
  assert.deepEqual(m.slice(4 * PAGE, 5 * PAGE), Buffer.alloc(PAGE), "a page let go and taken again reads zeros");
  assert.deepEqual(m.slice(15 * PAGE, 16 * PAGE), Buffer.alloc(PAGE));
  m.setSlice(15 * PAGE, 16 * PAGE, Buffer.alloc(PAGE, 0x11));
  assert.equal(m.get(16 * PAGE - 1), 0x11);
  m.close();
});

test("a file map shrunk and grown again reads the file's zeros where the file was cut, and stays where it is", { skip }, () => {
  const file = tmpfile(Buffer.alloc(PAGE, 0x61));
  const m = MMap.open(file, { length: PAGE });
  m.resize(8 * PAGE);
  const at = around(file).map.start;
  m.setSlice(6 * PAGE, 7 * PAGE, Buffer.alloc(PAGE, 0x62));
  m.resize(2 * PAGE);
  assert.equal(fs.statSync(file).size, 2 * PAGE);
  assert.equal(around(file).map.start, at, "the pages let go stay mapped as headroom");
  m.resize(8 * PAGE);
  assert.equal(around(file).map.start, at, "grown again in place");
  assert.equal(fs.statSync(file).size, 8 * PAGE);
  assert.deepEqual(m.slice(6 * PAGE, 7 * PAGE), Buffer.alloc(PAGE));
  assert.equal(m.get(0), 0x61);
  m.close();
  const back = fs.readFileSync(file);
  assert.equal(back.length, 8 * PAGE);
  assert.equal(back[0], 0x61);
  assert.equal(back[6 * PAGE], 0);
});

test("a map locked in RAM reserves no headroom when it grows (the kernel would fault it all in)", { skip }, (t) => {
  const m = new MMap(-1, 2 * PAGE, { flags: MAP_PRIVATE });
  try {
    m.lock();
  } catch (e) {
    m.close();
    t.skip(`mlock refused here (${e.code})`);
    return;
  }
  const before = mappings().length;
  m.resize(64 * PAGE);
  m.set(64 * PAGE - 1, 1);
  const after = mappings();
  assert.ok(after.length <= before + 1, "no reservation next to the grown map");
  assert.ok(!after.some((x) => x.perms === "---p" && x.end - x.start === BigInt(3 * 64 * PAGE)), "no headroom of three times its size");
  m.unlock();
  m.close();
});

/** The kernel mappings that make up [start, start + length) of anonymous memory, read from /proc/self/maps. */
function anonymousPieces(probe) {
  // The map is found by a byte pattern's page: its address is not exposed, so the test looks for
  // the one anonymous rw-p range whose size matches, right before the headroom, when there is one.
  return mappings().filter((x) => x.perms === "rw-p" && x.name === "" && x.end - x.start === BigInt(probe));
}

test("anonymous private maps doubling from 4 KiB to 1 GiB, a byte written each step: every growth works, every byte kept", { skip }, () => {
  const m = new MMap(-1, PAGE, { flags: MAP_PRIVATE });
  let size = PAGE;
  m.set(0, 9);
  while (size < 1 << 30) {
    size *= 2;
    m.resize(size); // moves need the mapping to be one kernel mapping: growths into the headroom keep it so
    m.set(size - 1, size % 251);
  }
  assert.equal(m.get(0), 9);
  for (let s = 2 * PAGE; s <= size; s *= 2) assert.equal(m.get(s - 1), s % 251, `byte ${s - 1}`);
  assert.equal(anonymousPieces(size).length, 1, "one kernel mapping of the map's size");
  m.close();
});

test("a map split into several kernel mappings (part of it locked) refuses to grow with EFAULT as CPython does, headroom or not, and nothing changes", { skip: skip || (ASAN && "AddressSanitizer makes mlock a no-op: nothing splits the mapping (npm run test:asan)") }, (t) => {
  const m = new MMap(-1, 16 * PAGE, { flags: MAP_PRIVATE });
  m.resize(64 * PAGE); // moved, with headroom for two more doublings
  m.setSlice(0, 64 * PAGE, Buffer.alloc(64 * PAGE, 0x5a));
  try {
    m.lock(4 * PAGE, PAGE); // mlock of one page in the middle: three kernel mappings
  } catch (e) {
    m.close();
    t.skip(`mlock refused here (${e.code})`);
    return;
  }
  for (const n of [128 * PAGE, 4096 * PAGE]) {
    // 128 pages fit in the headroom (mremap in place refuses the split range), 4096 do not (a move)
    assert.throws(() => m.resize(n), (e) => e.code === "EFAULT" && e.syscall === "mremap");
    assert.equal(m.length, 64 * PAGE);
    assert.deepEqual(m.slice(0, 64 * PAGE), Buffer.alloc(64 * PAGE, 0x5a));
  }
  m.unlock(4 * PAGE, PAGE);
  m.close();
});

/** A 16-page file of 0x5a mapped and grown to 64 pages (moved, with the file mapped on as headroom). */
function grownFileMap() {
  const file = tmpfile(Buffer.alloc(16 * PAGE, 0x5a));
  const m = MMap.open(file, { length: 16 * PAGE });
  m.resize(64 * PAGE);
  m.setSlice(16 * PAGE, 64 * PAGE, Buffer.alloc(48 * PAGE, 0x5a));
  return { file, m };
}

for (const how of ["madvise", "lock"]) {
  const noLock = how === "lock" && ASAN && "AddressSanitizer makes mlock a no-op: nothing splits the mapping (npm run test:asan)";
  test(`a file map that ${how === "lock" ? "an mlock" : "an madvise"} of part of it split refuses to grow with EFAULT as CPython does (into its headroom or moving), and nothing changes`, { skip: skip || noLock }, (t) => {
    const { file, m } = grownFileMap();
    try {
      if (how === "lock") m.lock(4 * PAGE, PAGE);
      else m.madvise(MADV_RANDOM, 4 * PAGE, PAGE);
    } catch (e) {
      m.close();
      t.skip(`${how} refused here (${e.code})`);
      return;
    }
    assert.ok(mappings().filter((x) => x.name === file).length >= 3, "the kernel split the mapping");
    for (const n of [128 * PAGE, 4096 * PAGE]) {
      // 128 pages fit in the headroom the map had, 4096 do not (a move): CPython fails both
      assert.throws(() => m.resize(n), (e) => e.code === "EFAULT" && e.syscall === "mremap");
      assert.equal(m.length, 64 * PAGE);
      assert.equal(fs.statSync(file).size, 64 * PAGE, "the file's size put back");
      assert.deepEqual(m.slice(0, 64 * PAGE), Buffer.alloc(64 * PAGE, 0x5a));
    }
    if (how === "lock") m.unlock(4 * PAGE, PAGE);
    m.close();
  });

  test(`a file map ${how === "lock" ? "locked" : "advised"} whole still grows, in place and moving, and stays one kernel mapping`, { skip }, (t) => {
    const { file, m } = grownFileMap();
    try {
      if (how === "lock") m.lock();
      else m.madvise(MADV_RANDOM);
    } catch (e) {
      m.close();
      t.skip(`${how} refused here (${e.code})`);
      return;
    }
    for (const n of [128 * PAGE, 256 * PAGE, 4096 * PAGE]) {
      m.resize(n);
      m.set(n - 1, 0x33);
      assert.equal(fs.statSync(file).size, n);
      const { map } = around(file); // asserts one kernel mapping
      assert.ok(map.end - map.start >= BigInt(n));
    }
    assert.deepEqual(m.slice(0, 64 * PAGE), Buffer.alloc(64 * PAGE, 0x5a));
    assert.equal(m.get(128 * PAGE - 1), 0x33);
    assert.equal(m.get(4096 * PAGE - 1), 0x33);
    if (how === "lock") m.unlock();
    m.close();
  });
}

test("a private file map's headroom is a reservation, not the file (a writable private mapping would charge commit for it)", { skip }, () => {
  const file = tmpfile(Buffer.alloc(PAGE, 0x41));
  const fd = fs.openSync(file, "r+");
  const m = new MMap(fd, PAGE, { flags: MAP_PRIVATE });
  fs.closeSync(fd);
  m.resize(4 * PAGE);
  m.set(0, 0x42);
  const { map, next } = around(file);
  assert.equal(map.end - map.start, BigInt(4 * PAGE), "the mapping is the map's size");
  assert.equal(next?.start, map.end);
  assert.equal(next.perms, "---p");
  assert.equal(fs.readFileSync(file)[0], 0x41, "private: the file keeps its byte");
  m.close();
});
