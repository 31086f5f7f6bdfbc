// Recipe: follow a file that grows (docs/guide.md) — a log being written, read as it grows.
//
//   node examples/follow-file.mjs
//
// A map has the length it was made with; a file that grows past it needs a new map. The reader
// keeps the byte position it has read up to, asks the open map how large the file is now
// (size(), one fstat), and maps the file again when it grew: the new map starts at the page that
// holds the position (offset: a multiple of ALLOCATIONGRANULARITY), so its cost does not grow
// with the file. Lines are read with readline() until the last complete one.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MMap, ACCESS_READ, ALLOCATIONGRANULARITY } from "memmap";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-follow-"));
const file = path.join(dir, "app.log");

/** Reads the complete lines of `file` from byte `pos` on, as they come. */
class Follower {
  constructor(file) {
    this.file = file;
    this.pos = 0; // bytes read so far (complete lines only)
    this.map = null;
  }

  /** The new complete lines since the last call. */
  poll() {
    const size = this.map === null ? fs.statSync(this.file).size : this.map.size();
    if (size === this.pos) return [];
    if (this.map === null || this.map.offset + this.map.length < size) {
      // Map again from the page that holds the position, to the file's end now.
      this.map?.close();
      const offset = Math.floor(this.pos / ALLOCATIONGRANULARITY) * ALLOCATIONGRANULARITY;
      this.map = MMap.open(this.file, { access: ACCESS_READ, offset });
    }
    const m = this.map;
    m.seek(this.pos - m.offset);
    const lines = [];
    for (;;) {
      const line = m.readline();
      if (line.length === 0 || line[line.length - 1] !== 0x0a) break; // nothing, or a line still being written
      lines.push(line.toString("utf8", 0, line.length - 1));
      this.pos += line.length;
    }
    return lines;
  }

  close() {
    this.map?.close();
  }
}

try {
  fs.writeFileSync(file, "started\n");
  const follower = new Follower(file);
  const seen = [];
  for (let i = 1; i <= 5; i++) {
    // The writer: another process in real life; here the same one, between polls. A line may
    // arrive in two writes: the follower waits for its newline.
    fs.appendFileSync(file, `event ${i}: `);
    seen.push(...follower.poll());
    fs.appendFileSync(file, `${"x".repeat(i * 3000)}\n`);
    await sleep(5);
    seen.push(...follower.poll());
  }
  follower.close();
  for (const line of seen) console.log(line.length > 40 ? `${line.slice(0, 8)} (${line.length} characters)` : line);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
