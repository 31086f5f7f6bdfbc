// The first example of Python's mmap documentation, in memmap.
//
//   node examples/hello.mjs
//
// hello.txt is written in a fresh temporary directory (removed at the end), or in the
// directory named by MEMMAP_EXAMPLE_DIR (kept, so the result can be looked at).
// Each line printed is what the Python example prints, as a JavaScript string:
// Python's b'Hello Python!\n' is 'Hello Python!\n' here.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { MMap } from "memmap";

const given = process.env.MEMMAP_EXAMPLE_DIR;
const dir = given || fs.mkdtempSync(path.join(os.tmpdir(), "memmap-hello-"));
const file = path.join(dir, "hello.txt");
const show = (bytes) => console.log(inspect(bytes.toString("latin1")));

try {
  // write a simple example file
  fs.writeFileSync(file, "Hello Python!\n");

  const fd = fs.openSync(file, "r+");
  try {
    // memory-map the file, length 0 means the whole file
    const mm = new MMap(fd, 0);
    // read content via the file-like methods
    show(mm.readline()); // 'Hello Python!\n'
    // read content via slices
    show(mm.slice(0, 5)); // 'Hello'
    // update content with a slice assignment; the new content must have the same size
    mm.setSlice(6, mm.length, " world!\n");
    // ... and read again with the file-like methods
    mm.seek(0);
    show(mm.readline()); // 'Hello  world!\n'
    // close the map
    mm.close();
  } finally {
    fs.closeSync(fd);
  }
} finally {
  if (!given) fs.rmSync(dir, { recursive: true, force: true });
}
