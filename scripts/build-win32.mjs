#!/usr/bin/env node
// Cross-builds the Windows addon on Linux: prebuilds/win32-x64/memmap.napi.node.
//
//   node scripts/build-win32.mjs [--out=DIR]    (DIR/prebuilds/win32-x64/memmap.napi.node; default: this checkout)
//   npm run prebuild builds it too (target win32-x64, scripts/prebuild.mjs), and checks its imports.
//
// Needs Debian's mingw-w64: apt-get install gcc-mingw-w64-x86-64-win32 binutils-mingw-w64-x86-64
// (scripts/test-windows.sh installs them). The Node-API headers and the list of node.exe's
// Node-API exports come from the node-api-headers npm package (a dev dependency); the addon
// links against an import library of node.exe made here with dlltool from that list, plus the
// libuv functions win32.c imports (uv_get_osfhandle and the others below). No header or library
// is downloaded from elsewhere.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const require_ = createRequire(import.meta.url);
const PREFIX = "x86_64-w64-mingw32-";
/** The libuv functions native/win32.c takes from node.exe. */
const UV_IMPORTS = ["uv_get_osfhandle", "uv_open_osfhandle", "uv_default_loop", "uv_fs_close", "uv_fs_req_cleanup"];
const SOURCES = ["binding.c", "region.c", "reclaim.c", "copy.c", "async.c", "loss.c", "residency.c", "tags.c", "win32.c", "win32-system.c", "fault-win32.c", "guard.c", "search.c", "text.c"];
/** The Windows sources of wait/waitAsync/notify (native/wait.c's rooms). */
SOURCES.push("wait.c", "wait-win32.c");

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ["ignore", 2, 2] });
  if (r.error) throw new Error(`${cmd}: ${r.error.message} (Debian: apt-get install gcc-mingw-w64-x86-64-win32)`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed with status ${r.status}`);
}

/** The import library of node.exe: every Node-API export the headers package lists, and libuv's. */
function importLibrary(headers, work) {
  const names = new Set(UV_IMPORTS);
  for (const def of ["node_api.def", "js_native_api.def"]) {
    for (const line of fs.readFileSync(path.join(headers, "def", def), "utf8").split(/\r?\n/)) {
      const name = line.trim();
      if (/^[a-z_][a-z0-9_]*$/.test(name)) names.add(name);
    }
  }
  const defFile = path.join(work, "node.def");
  fs.writeFileSync(defFile, `LIBRARY node.exe\nEXPORTS\n${[...names].sort().join("\n")}\n`);
  const lib = path.join(work, "libnode.a");
  run(`${PREFIX}dlltool`, ["-d", defFile, "-l", lib, "-m", "i386:x86-64"]);
  return lib;
}

/** Builds `<out>/prebuilds/win32-x64/memmap.napi.node` from `<source>/native`; returns its path. */
export function buildWin32({ out = root, source = root } = {}) {
  const headers = path.dirname(require_.resolve("node-api-headers/package.json"));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "memmap-win32-"));
  try {
    const lib = importLibrary(headers, work);
    const dest = path.join(out, "prebuilds", "win32-x64", "memmap.napi.node");
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    run(`${PREFIX}gcc`, [
      "-shared",
      "-std=c11",
      "-O2",
      "-Wall",
      "-Wextra",
      "-Wno-unused-parameter",
      "-DNAPI_VERSION=8",
      "-D_WIN32_WINNT=0x0602",
      `-I${path.join(headers, "include")}`,
      ...SOURCES.map((s) => path.join(source, "native", s)),
      lib,
      "-static-libgcc",
      "-s",
      "-o",
      dest,
    ]);
    return dest;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The DLLs a built addon imports (objdump -p): KERNEL32.dll, msvcrt.dll and node.exe are expected. */
export function importsOf(file) {
  const r = spawnSync(`${PREFIX}objdump`, ["-p", file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${PREFIX}objdump -p ${file} failed`);
  return [...r.stdout.matchAll(/DLL Name: (\S+)/g)].map((m) => m[1]);
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outArg = process.argv.find((a) => a.startsWith("--out="));
  const file = buildWin32({ out: outArg ? path.resolve(outArg.slice(6)) : root });
  console.log(`built ${path.relative(root, file)} (imports ${importsOf(file).join(", ")})`);
}
