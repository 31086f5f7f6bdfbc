// Recipe: know what is in memory, and bring a range in before it is needed (docs/guide.md).
//
//   node examples/prefetch.mjs
//
// residency() says, page by page, whether a range is in memory (mincore); prefetch() reads a
// range in off the event loop (MADV_POPULATE_READ, else MADV_WILLNEED and a read of each page)
// and resolves when it is there, so that a latency-sensitive loop does not take the page faults
// itself; lock() keeps a range in memory (mlock), within RLIMIT_MEMLOCK.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MMap, ACCESS_READ, PAGESIZE } from "memmap";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-prefetch-"));
const file = path.join(dir, "table.bin");
try {
  fs.writeFileSync(file, Buffer.alloc(256 * PAGESIZE, 7));
  const m = MMap.open(file, { access: ACCESS_READ });
  try {
    const first = 64 * PAGESIZE;
    await m.prefetch(0, first); // the first 64 pages, read in on the thread pool
    const resident = m.residency(0, first);
    console.log(`pages in the range: ${resident.length}`);
    console.log(`all of them in memory after prefetch: ${resident.every((r) => r === 1)}`);
    try {
      m.lock(0, PAGESIZE); // one page that must never wait for the disk
      console.log("locked one page");
      m.unlock(0, PAGESIZE);
    } catch (err) {
      // Over RLIMIT_MEMLOCK (ulimit -l) the system says ENOMEM or EPERM: an fs-style error.
      console.log(`locked one page (or the system refused: ${err.code})`);
    }
  } finally {
    m.close();
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
