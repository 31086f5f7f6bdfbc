// Recipe: read typed data without copying it — numpy.memmap's use (docs/guide.md).
//
//   node examples/typed-data.mjs [count]
//
// Writes `count` float32 weights (4,000,000 by default: 16 MB) to a file, then sums them twice:
// through a Float32Array view of a map of the file (no copy: the array is the page cache's
// memory), and through fs.readFileSync (a copy of the whole file in the heap). Both sums are the
// same; the map also gives a DataView for records with fields of mixed types.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MMap, ACCESS_READ } from "memmap";

const count = Number(process.argv[2] ?? 4_000_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-typed-"));
const file = path.join(dir, "weights.f32");
try {
  // The data: weight i is (i % 1000) / 1000, stored as float32; both sums below add the same
  // float32 values as JavaScript numbers, in the same order.
  const chunk = new Float32Array(1 << 16);
  const fd = fs.openSync(file, "w");
  for (let done = 0; done < count; done += chunk.length) {
    const n = Math.min(chunk.length, count - done);
    for (let i = 0; i < n; i++) chunk[i] = ((done + i) % 1000) / 1000;
    fs.writeSync(fd, chunk, 0, n * 4);
  }
  fs.closeSync(fd);

  // 1. A view of the map: the floats are read where they lie.
  const m = MMap.open(file, { access: ACCESS_READ });
  let viaMap = 0;
  try {
    const weights = m.view(Float32Array); // as many as fit: count
    for (let i = 0; i < weights.length; i++) viaMap += weights[i];
    console.log(`floats in the map: ${weights.length}`);

    // Records: a DataView of the same memory reads fields at any offset, in either byte order.
    const record = m.view(DataView, 8, 8); // bytes 8..16: weights 2 and 3
    console.log(`record fields: ${record.getFloat32(0, true).toFixed(3)} ${record.getFloat32(4, true).toFixed(3)}`);
  } finally {
    m.close(); // every view of the map is detached: weights.length is 0 from here on
  }

  // 2. The same sum over a copy of the file.
  const bytes = fs.readFileSync(file);
  const copy = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  let viaRead = 0;
  for (let i = 0; i < copy.length; i++) viaRead += copy[i];

  console.log(`sum through the map:          ${viaMap.toFixed(3)}`);
  console.log(`sum through readFileSync:     ${viaRead.toFixed(3)}`);
  console.log(`the same: ${viaMap === viaRead}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
