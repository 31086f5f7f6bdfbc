// Recipe: grep a big log (docs/guide.md).
//
//   node examples/grep-log.mjs [lines]
//
// Writes a log of `lines` lines (200,000 by default), one in 1,000 an error with a code, then
// searches it in place, without reading it into memory: find() for a literal (memchr and a
// vector filter in C), search()/matchAll() for a regular expression (the bytes read as Latin-1:
// offsets are byte offsets), and lines() for a line-by-line filter with zero-copy views.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MMap, ACCESS_READ } from "memmap";

const count = Number(process.argv[2] ?? 200_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-grep-"));
const file = path.join(dir, "app.log");
try {
  const out = fs.openSync(file, "w");
  let batch = "";
  for (let i = 0; i < count; i++) {
    batch += i % 1000 === 999 ? `2026-12-06T10:00:00Z ERROR code=${i % 7000} request ${i} failed\n` : `2026-12-06T10:00:00Z INFO request ${i} ok\n`;
    if (batch.length > 1 << 16) (fs.writeSync(out, batch), (batch = ""));
  }
  fs.writeSync(out, batch);
  fs.closeSync(out);

  const m = MMap.open(file, { access: ACCESS_READ });
  try {
    // 1. A literal: count its occurrences with find(), from each match on.
    let errors = 0;
    for (let at = m.find("ERROR", 0); at >= 0; at = m.find("ERROR", at + 5)) errors++;
    console.log(`ERROR lines: ${errors}`);

    // 2. A regular expression: the first match, its groups, and where it is.
    const first = m.search(/ERROR code=(?<code>\d+) request (\d+)/);
    console.log(`first error: code ${first?.groups?.code} in request ${first?.[2]} at byte ${first?.index}`);

    // 3. Every match, lazily; each is a small fresh string, not a slice of the map.
    const codes = new Set();
    for (const match of m.matchAll(/code=(\d+)/g)) codes.add(match[1]);
    console.log(`distinct codes: ${codes.size}`);

    // 4. Line by line, without copying: each line is a view of the map (valid until close()).
    let failed = 0;
    for (const line of m.lines()) if (line.includes("failed")) failed++;
    console.log(`lines that say "failed": ${failed}`);
  } finally {
    m.close();
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
