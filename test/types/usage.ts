// Type-checked by test/types.test.mjs (tsc --noEmit, strict): the public API as a TypeScript user sees it.
import fs from "node:fs";
import { channel } from "node:diagnostics_channel";
import {
  MMap,
  ACCESS_READ,
  ACCESS_WRITE,
  MAP_PRIVATE,
  PAGESIZE,
  MADV_WILLNEED,
  MS_ASYNC,
  constants,
  type MMapMatch,
  type MMapOptions,
  type NewMapEvent,
  type MMapError,
  type SystemError,
  type Access,
  type TruncatedError,
  type IOError,
} from "memmap";

// The first example of Python's documentation, with a descriptor and `using` (the README's
// first example is checked as it stands by test/packaging.test.mjs).
fs.writeFileSync("hello.txt", "Hello Python!\n");
const fd = fs.openSync("hello.txt", "r+");
{
  using mm = new MMap(fd, 0);
  const line: Buffer = mm.readline();
  const hello: string = mm.slice(0, 5).toString();
  mm.setSlice(6, mm.length, " world!\n");
  const pos: number = mm.seek(0);
  void [line, hello, pos];
}
fs.closeSync(fd);

const options: MMapOptions = { access: ACCESS_WRITE, offset: 0, trackfd: undefined };
const anon = new MMap(-1, PAGESIZE, { flags: MAP_PRIVATE, shareable: false });
const n: number = anon.write(new Uint8Array([1, 2, 3]));
const b: number = anon.get(-1);
anon.set(0, 255);
const view: Buffer = anon.subarray(0, 16);
const all: Buffer = anon.buffer;
const found: number = anon.find("abc", 0) + anon.rfind(Buffer.from("x"));
const m: MMapMatch | null = anon.search(/a(?<x>b)/, 0, 10);
if (m !== null) {
  const text: string = m[0];
  const span: [number, number] = [m.index, m.end];
  const group: string | undefined = m.groups?.x;
  void [text, span, group];
}
for (const match of anon.matchAll(/a/g)) void match.index;
for (const byte of anon) void (byte satisfies number);
anon.madvise(MADV_WILLNEED ?? 3, 0, null);
anon.flush(0, undefined, { flags: MS_ASYNC });
const p: Promise<void> = anon.flushAsync();
const access: Access = anon.access;
const size: number = anon.size();
anon.resize(2 * PAGESIZE);
anon.move(0, 1, 2);
const rb: number = anon.readByte();
anon.writeByte(7);
const r: Buffer = anon.read(null);
const closed: boolean = anon.closed;
anon[Symbol.dispose]();
void [options, n, b, view, all, found, p, access, size, rb, r, closed, constants.MAP_SHARED, ACCESS_READ];

const opened: Promise<MMap> = MMap.openAsync("hello.txt", { access: ACCESS_READ, create: false, size: 14 });
void opened;
// A map is bytes-like, as an mmap is in Python.
const selfFound: number = anon.find(anon);
void selfFound;
// A path as node:fs takes it: any Uint8Array too (what a Buffer becomes in a worker).
const byBytes: Promise<MMap> = MMap.openAsync(new TextEncoder().encode("hello.txt"), { access: ACCESS_READ });
void byBytes;

channel("memmap:new").subscribe((message) => {
  const e = message as NewMapEvent;
  void [e.fd, e.length, e.access, e.offset];
});

try {
  MMap.open("missing", { length: 0 });
} catch (err) {
  const e = err as MMapError | SystemError;
  if ("syscall" in e) void [e.errno, e.syscall];
  void e.code;
}

// The errors' own properties, as docs/safety.md and docs/guide.md use them ("flush(0, err.goneStart)").
try {
  anon.flush();
} catch (err) {
  const e = err as TruncatedError | IOError;
  if ("goneStart" in e) {
    const lost: [number, number, "ERR_MMAP_TRUNCATED"] = [e.goneStart, e.goneEnd, e.code];
    anon.flush(0, lost[0]);
  } else if ("ioStart" in e) {
    const io: [number, number, number, number, string, number] = [e.start, e.end, e.ioStart, e.ioEnd, e.syscall, e.errno];
    void io;
  }
}

// @ts-expect-error: indices are numbers
anon.get("0");
// @ts-expect-error: the access must be one of the four modes
new MMap(-1, 1, { access: 7 });

// SPEC §8: typed views (the element type follows the constructor), residency, prefetch, lock, named memory.
const weights: Float32Array = anon.view(Float32Array);
const records: DataView = anon.view(DataView, 0, 16);
const big: BigInt64Array = anon.view(BigInt64Array, 8, 1);
const pages: Uint8Array = anon.residency(0, null);
const fetched: Promise<void> = anon.prefetch();
anon.lock();
anon.unlock(0, PAGESIZE);
const named = new MMap(-1, 64, { tagname: "memmap-types" });
const removed: boolean = MMap.unlinkTag("memmap-types");
void [weights, records, big, pages, fetched, named, removed];
// What a map hands out is backed by an ArrayBuffer, never a SharedArrayBuffer (test/types.test.mjs
// checks it at run time): with TypeScript >= 5.7 it goes where ArrayBuffer-backed bytes are wanted
// (a BufferSource, a BlobPart, an ArrayBuffer), as fs.readFileSync's Buffer does.
const backing: ArrayBuffer[] = [
  anon.read().buffer,
  anon.slice(0, 4).buffer,
  anon.readline().buffer,
  anon.valueOf().buffer,
  anon.buffer.buffer,
  anon.subarray(0, 4).buffer,
  anon.view(Float32Array).buffer,
  anon.view(DataView).buffer,
  anon.view(BigUint64Array, 8).buffer,
  anon.residency().buffer,
];
for (const line of anon.lines()) backing.push(line.buffer);
const asRead: Buffer<ArrayBuffer> = anon.read();
const asView: Float64Array<ArrayBuffer> = anon.view(Float64Array);
void [backing, asRead, asView];
// lines(): an iterator of Buffers, bounds numbers.
for (const line of anon.lines()) {
  const b: Buffer = line;
  void b;
}
const someLines: IterableIterator<Buffer> = anon.lines(0, -1);
void someLines;
// @ts-expect-error: bounds are numbers
anon.lines("0");
// @ts-expect-error: a view's Type is a TypedArray constructor or DataView
anon.view(Array);
// @ts-expect-error: a tag is a string
new MMap(-1, 1, { tagname: 7 });
