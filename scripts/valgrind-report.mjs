// Reads the memcheck logs of a scripts/test-valgrind.sh run (one file per process,
// --log-file=DIR/vg.%p.log) and prints every error, memmap's first.
//
// An error is memmap's when a frame of any of its stacks (where it happened, and for
// heap errors where the block was allocated or freed) lies in memmap.node or in one of
// the native/*.c sources. Exit code: 0 when the logs hold no error, 1 otherwise;
// stdout ends with one line "memmap=N other=M processes=P".
import fs from "node:fs";
import path from "node:path";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node scripts/valgrind-report.mjs LOGDIR");
  process.exit(2);
}

// With --fullpath-after= (test-valgrind.sh) a frame of memmap's C code reads "(/…/native/binding.c:260)"; libuv has a linux.c too, hence the directory.
const ours = /memmap\.node|\bnative\/[\w-]+\.c:/;
// Blocks of a log that are summaries, not errors.
const summary = /^(HEAP SUMMARY|LEAK SUMMARY|ERROR SUMMARY|For lists of detected|For counts of detected|Memcheck, a memory error detector|Copyright|Using Valgrind|Command:|Parent PID|All heap blocks were freed|Use --track-origins|To see them, rerun|Reachable blocks|Rerun with)/;

const errors = [];
let processes = 0;
let reported = 0;
for (const name of fs.readdirSync(dir).filter((n) => /^vg\.\d+\.log$/.test(n)).sort()) {
  const text = fs.readFileSync(path.join(dir, name), "utf8");
  // A fork that exec'd an untraced program leaves a log with no summary.
  if (!text.includes("ERROR SUMMARY:")) continue;
  processes++;
  const lines = text
    .split("\n")
    .map((l) => l.replace(/^==\d+== ?/, ""))
    .filter((l) => !l.startsWith("Warning: ")); // "set address range perms: large range", etc.
  const command = (lines.find((l) => l.startsWith("Command:")) ?? "").slice(9);
  for (const m of text.matchAll(/ERROR SUMMARY: \d+ errors from (\d+) contexts/g)) reported += Number(m[1]);
  // A block: consecutive non-empty lines. An error block has a stack ("at 0x").
  let block = [];
  const flush = () => {
    if (block.length > 1 && !summary.test(block[0]) && block.some((l) => /^\s+at 0x/.test(l))) {
      const fatal = block[0].startsWith("Process terminating with default action");
      errors.push({ file: name, command, kind: block[0], text: block.join("\n"), mine: ours.test(block.join("\n")), fatal });
    }
    block = [];
  };
  for (const l of lines) {
    if (l.trim() === "") flush();
    else block.push(l);
  }
  flush();
}

// A process killed by a fatal signal is not a memcheck error: the tests that provoke one
// (test/faults.test.mjs) assert it. It is shown, but does not count.
const real = errors.filter((e) => !e.fatal);
const mine = real.filter((e) => e.mine);
const other = real.filter((e) => !e.mine);
const show = (title, list) => {
  if (list.length === 0) return;
  console.log(`\n===== ${title}: ${list.length} =====`);
  for (const e of list) console.log(`\n--- ${e.file}: ${e.command}\n${e.text}`);
};
show("errors in memmap's code", mine);
show("errors elsewhere (Node, V8, libc)", other);
show("processes ended by a fatal signal (not counted)", errors.filter((e) => e.fatal));
if (reported !== real.length) console.log(`\nnote: the ERROR SUMMARY lines count ${reported} error contexts, the blocks above ${real.length}`);
console.log(`memmap=${mine.length} other=${other.length} processes=${processes}`);
process.exit(real.length > 0 || reported > 0 ? 1 : 0);
