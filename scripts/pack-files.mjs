#!/usr/bin/env node
// The files the npm package carries that the repository does not track, made from the checkout:
// by `prepack` (before `npm pack` and `npm publish`) into this checkout, and by the packaging test
// into its unpacked copy of a tarball (--out=DIR). The prebuilt addons are scripts/prebuild.mjs's.
//
//   node scripts/pack-files.mjs [--out=DIR] [--only=gyp|docs]
//
// - native/memmap.gyp: binding.gyp, under a name npm does not act on. npm treats a binding.gyp at
//   a package's root as an install script (`node-gyp rebuild`): it lists and warns about it, and
//   runs it on installs from a lockfile even with "gypfile": false, which the lockfile does not
//   record. `npx memmap build` (bin/memmap.mjs) builds from this copy.
// - docs/api/: the API reference, generated from the TSDoc by TypeDoc (typedoc.json).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const out = path.resolve(arg("out") ?? root);
const only = arg("only");

if (only === undefined || only === "gyp") {
  const gyp = fs.readFileSync(path.join(root, "binding.gyp"), "utf8");
  const header =
    "# memmap's binding.gyp (paths relative to the package's root), shipped under another name:\n" +
    "# `npx memmap build` builds with it in a private directory (see bin/memmap.mjs).\n";
  fs.writeFileSync(path.join(out, "native", "memmap.gyp"), header + gyp);
}

if (only === undefined || only === "docs") {
  const typedoc = path.join(path.dirname(createRequire(import.meta.url).resolve("typedoc/package.json")), "bin", "typedoc");
  const r = spawnSync(process.execPath, [typedoc, "--out", path.join(out, "docs", "api")], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
