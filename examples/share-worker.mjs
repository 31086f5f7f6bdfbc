// The fork example of Python's mmap documentation, with a worker thread.
//
//   node examples/share-worker.mjs
//
// The main thread makes a *shareable* anonymous map and passes its descriptor (`m.fd`)
// to a worker in `workerData`; the worker maps that descriptor and sees the very same
// memory. It reads what the main thread wrote, then writes a reply, which the main
// thread reads once the worker has exited.
//
// Windows has no such descriptor-backed memory: there the map is named (`tagname`), and the
// worker maps the same name.
//
// The same script plays both roles.
import { once } from "node:events";
import { inspect } from "node:util";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { MMap } from "memmap";

const LENGTH = 13;
const WINDOWS = process.platform === "win32";
const show = (bytes) => inspect(bytes.toString("latin1"));

if (!isMainThread) {
  // In the worker: map the descriptor the main thread handed over (on Windows: the tag name).
  const mm = WINDOWS ? new MMap(-1, LENGTH, { tagname: workerData.tagname }) : new MMap(workerData.fd, LENGTH);
  mm.seek(0);
  parentPort.postMessage(`worker read: ${show(mm.readline())}`); // 'Hello world!\x00'
  mm.seek(0);
  mm.write("Hello main!\n");
  mm.close();
} else {
  const tagname = `memmap-share-worker-${process.pid}`;
  const mm = WINDOWS ? new MMap(-1, LENGTH, { tagname }) : new MMap(-1, LENGTH, { shareable: true });
  try {
    mm.write("Hello world!");

    const worker = new Worker(new URL(import.meta.url), { workerData: WINDOWS ? { tagname } : { fd: mm.fd } });
    worker.on("message", (line) => console.log(line));
    const [code] = await once(worker, "exit");
    if (code !== 0) throw new Error(`the worker failed: exit code ${code}`);

    // The worker has exited; what it wrote is in the main thread's map.
    mm.seek(0);
    console.log(`main read: ${show(mm.readline())}`); // 'Hello main!\n'
  } finally {
    mm.close();
  }
}
