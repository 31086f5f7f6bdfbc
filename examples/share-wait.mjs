// Recipe: share memory between unrelated processes by name, and wait instead of polling
// (docs/guide.md).
//
//   node examples/share-wait.mjs
//
// The parent makes named shared memory (`tagname`: POSIX shared memory on Linux and macOS, a
// named section on Windows) and starts a child that knows only the name. The child maps the same
// memory, sleeps in wait() until the parent's notify(), reads the message, answers, and notifies
// back. Nobody spins: a waiter sleeps in the kernel (futex, os_sync_wait_on_address,
// WaitOnAddress). Afterwards the name is removed (MMap.unlinkTag), so nothing is left behind.
//
// Layout of the 4 KiB map: an Int32 "turn" at byte 0 (0: nobody, 1: the parent wrote, 2: the
// child answered), the message's length at byte 4, the message from byte 8.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { MMap } from "memmap";

const TURN = 0;
const LENGTH = 4;
const TEXT = 8;

function put(m, text) {
  const bytes = Buffer.from(text);
  m.setSlice(TEXT, TEXT + bytes.length, bytes);
  m.view(Int32Array, LENGTH, 1)[0] = bytes.length;
}
function take(m) {
  const n = m.view(Int32Array, LENGTH, 1)[0];
  return m.slice(TEXT, TEXT + n).toString();
}

if (process.argv[2] === "--child") {
  // The child: it maps the tag the parent made (length 0: all of an existing tag).
  const m = new MMap(-1, 0, { tagname: process.argv[3] });
  const turn = m.view(Int32Array, TURN, 1);
  while (Atomics.load(turn, 0) !== 1) m.wait(TURN, Atomics.load(turn, 0)); // sleeps until notified
  const question = take(m);
  put(m, `the child read "${question}"`);
  Atomics.store(turn, 0, 2);
  m.notify(TURN);
  m.close();
} else {
  const tag = `memmap-guide-${process.pid}`;
  const m = new MMap(-1, 4096, { tagname: tag }); // a new tag: 4096 bytes of zeros
  try {
    const turn = m.view(Int32Array, TURN, 1);
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--child", tag], { stdio: "inherit" });
    const exited = once(child, "exit"); // listened to now: the child may end before the parent gets there
    put(m, "hello from the parent");
    Atomics.store(turn, 0, 1);
    m.notify(TURN); // wakes the child if it already sleeps; if not, it will see turn 1 and not sleep
    // Wait without blocking the event loop (the child's exit is an event of this loop), a second
    // at a time: a child that died never answers, and nobody would wake this wait.
    while (Atomics.load(turn, 0) !== 2) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the child ended (${child.signalCode ?? `exit code ${child.exitCode}`}) without answering`);
      }
      await m.waitAsync(TURN, 1, 1000);
    }
    console.log(`the parent read: ${take(m)}`);
    await exited;
  } finally {
    m.close();
    // The name outlives every map of it until it is removed (POSIX); Windows removes it with the last map.
    const removed = MMap.unlinkTag(tag);
    console.log(`name removed: ${removed || process.platform === "win32"}`);
  }
}
