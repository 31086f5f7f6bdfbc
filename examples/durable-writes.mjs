// Recipe: make writes durable (docs/guide.md).
//
//   node examples/durable-writes.mjs
//
// Writes to a map reach the page cache at once, and the file on disk when the kernel writes the
// pages back. flush() (msync) waits until they are on disk; flushAsync() does the same off the
// event loop. A flush also reports, once, an I/O error a write through a view met since the last
// one (a full disk under a sparse file: ENOSPC), as fsync reports a failed writeback.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MMap, PAGESIZE } from "memmap";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-durable-"));
const file = path.join(dir, "journal.bin");
const RECORD = 64;
try {
  // A file of 16 pages, created and sized in one call.
  const m = MMap.open(file, { create: true, size: 16 * PAGESIZE });
  try {
    // Append records one after another with write() (the position moves on).
    for (let i = 0; i < 100; i++) m.write(`record ${String(i).padStart(3, "0")}`.padEnd(RECORD, "."));
    // Durable up to here: flush the pages written. An offset must be a multiple of PAGESIZE.
    const end = m.tell();
    m.flush(0, Math.ceil(end / PAGESIZE) * PAGESIZE);
    console.log(`flushed ${end / RECORD} records (${end} bytes)`);

    // The same off the event loop: the promise settles once the pages are on disk.
    m.write("one more".padEnd(RECORD, "."));
    await m.flushAsync();
    console.log("flushAsync: the whole map is on disk");

    // What is on disk is what the map holds.
    const onDisk = fs.readFileSync(file);
    console.log(`the file agrees: ${onDisk.subarray(0, m.tell()).equals(m.slice(0, m.tell()))}`);
    console.log(`record 42 on disk: ${onDisk.subarray(42 * RECORD, 42 * RECORD + 10).toString()}`);
  } finally {
    m.close(); // close() does not flush: the kernel still writes the pages back, later
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
