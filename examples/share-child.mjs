// The fork example of Python's mmap documentation, in memmap.
//
//   node examples/share-child.mjs
//
// Python forks, and the child inherits the anonymous map. Node has no fork(), so the
// parent makes a *shareable* anonymous map (backed by a descriptor, `m.fd`) and hands
// that descriptor to a child Node process through `stdio`: it is fd 3 in the child,
// which maps it and so sees the very same memory. Then the other direction: the child
// writes a reply into the map, and the parent reads it once the child has exited.
//
// Windows has no such descriptor-backed memory: there the map is named (`tagname`), and the
// child maps the same name.
//
// The same script plays both roles; the child runs with the argument --child.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import { MMap } from "memmap";

const LENGTH = 13;
const WINDOWS = process.platform === "win32";
const show = (bytes) => inspect(bytes.toString("latin1"));

if (process.argv[2] === "--child") {
  // In the child process: the map arrives as descriptor 3 (on Windows: by its tag name).
  const mm = WINDOWS ? new MMap(-1, LENGTH, { tagname: process.argv[3] }) : new MMap(3, LENGTH);
  mm.seek(0);
  console.log(`child read: ${show(mm.readline())}`); // 'Hello world!\x00', as Python's b'Hello world!\x00'
  mm.seek(0);
  mm.write("Hello parent!");
  mm.close();
} else {
  const tagname = `memmap-share-child-${process.pid}`;
  const mm = WINDOWS ? new MMap(-1, LENGTH, { tagname }) : new MMap(-1, LENGTH, { shareable: true });
  try {
    mm.write("Hello world!");

    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--child", ...(WINDOWS ? [tagname] : [])], {
      stdio: ["ignore", "pipe", "inherit", ...(WINDOWS ? [] : [mm.fd])],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (s) => (out += s));
    const [code, signal] = await once(child, "close");
    process.stdout.write(out);
    if (code !== 0) throw new Error(`the child failed: exit code ${code}, signal ${signal}`);

    // The child has exited; what it wrote is in the parent's map.
    mm.seek(0);
    console.log(`parent read: ${show(mm.readline())}`); // 'Hello parent!'
  } finally {
    mm.close();
  }
}
