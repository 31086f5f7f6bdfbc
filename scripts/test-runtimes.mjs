#!/usr/bin/env node
// npm run test:runtimes — the test suite on Node 20, 22, 24 and 26, and the smoke test of the main
// API (test/fixtures/smoke.mjs) on Bun and Deno, every runtime taken from the npm registry and
// cached outside the repository (see scripts/test-runtimes-lib.mjs).
//
//   npm run test:runtimes                          everything
//   npm run test:runtimes -- --node=22,26          some Node majors only
//   npm run test:runtimes -- --node= --bun         Bun only (an empty list skips Node)
//   npm run test:runtimes -- --files=test/search.test.mjs,test/flush.test.mjs
//
// Node: the same addon build (Node-API 8) is loaded by every version. Bun and Deno: the smoke test's
// checks that fail are compared with KNOWN below, which docs/runtimes.md explains; the command
// fails on any difference (a new failure, or a known one that now passes: update the docs).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fetchBun, fetchDeno, fetchNode, smokeReport } from "./test-runtimes-lib.mjs";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Smoke checks known to fail, per runtime (docs/runtimes.md says why). */
export const KNOWN = {
  bun: [],
  deno: [],
};

const argv = process.argv.slice(2);
const opt = Object.fromEntries(
  argv.map((a) => {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}`);
    return [m[1], m[2] ?? true];
  }),
);
const explicit = ["node", "bun", "deno"].some((k) => k in opt);
const majors = typeof opt.node === "string" ? opt.node.split(",").filter(Boolean) : explicit && !opt.node ? [] : ["20", "22", "24", "26"];
const wantBun = explicit ? "bun" in opt : true;
const wantDeno = explicit ? "deno" in opt : true;
const files =
  typeof opt.files === "string"
    ? opt.files.split(",")
    : fs
        .readdirSync(path.join(root, "test"))
        .filter((f) => f.endsWith(".test.mjs"))
        .sort()
        .map((f) => path.join("test", f));

const rows = [];
function row(runtime, what, ok, detail) {
  rows.push({ runtime, what, ok, detail });
  console.log(`${ok ? "PASS" : "FAIL"}  ${runtime.padEnd(16)} ${what}  ${detail}`);
}

function runAsync(cmd, args, options) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(cmd, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeout ?? 20 * 60_000);
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

// dist/ once, with this checkout's TypeScript
const tsc = spawnSync(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(root, "tsconfig.json")], { stdio: "inherit" });
if (tsc.status !== 0) process.exit(1);

for (const major of majors) {
  let node;
  try {
    node = fetchNode(major);
  } catch (err) {
    row(`node ${major}`, "fetch", false, err.message);
    continue;
  }
  // the Node under test is also the `node` on PATH (npm and anything spawning `node` by name)
  const env = { ...process.env, PATH: `${path.dirname(node.bin)}${path.delimiter}${process.env.PATH}` };
  console.log(`… node ${node.version}: ${files.length} test files`);
  const r = await runAsync(node.bin, ["--expose-gc", "--test", "--test-concurrency=2", "--test-reporter=tap", ...files], { cwd: root, env });
  const count = (k) => Number(new RegExp(`^# ${k} (\\d+)`, "m").exec(r.stdout)?.[1] ?? NaN);
  const failed = [...r.stdout.matchAll(/^\s*not ok \d+ - (.*)$/gm)].map((m) => m[1]);
  row(
    `node ${node.version}`,
    "test suite",
    r.status === 0,
    `${count("pass")} pass, ${count("fail")} fail, ${count("skipped")} skipped, ${Math.round(r.ms / 1000)} s` +
      (failed.length ? `\n      not ok: ${failed.join("\n      not ok: ")}` : ""),
  );
  // The failures' own reports (TAP's YAML blocks), so that a failure seen once can be read
  if (r.status !== 0) {
    const log = path.join(os.tmpdir(), `memmap-runtimes-node-${node.version}.tap`);
    fs.writeFileSync(log, r.stdout + (r.stderr ? `\n# stderr\n${r.stderr}` : ""));
    console.log(`      the whole TAP output: ${log}`);
  }
}

/** Runs the smoke test; compares failing checks with the known ones. */
async function smoke(name, fetch, args) {
  let rt;
  try {
    rt = fetch();
  } catch (err) {
    row(name, "fetch", false, err.message);
    return;
  }
  const r = await runAsync(rt.bin, [...args, path.join(root, "test", "fixtures", "smoke.mjs")], { cwd: root, timeout: 120_000 });
  const rep = smokeReport(r.stdout);
  if (rep === null) {
    row(`${name} ${rt.version}`, "smoke test", false, `no report (exit ${r.status ?? r.signal}): ${r.stderr.slice(-600)}`);
    return;
  }
  const failing = rep.checks.filter((c) => !c.ok);
  const known = KNOWN[name];
  const unexpected = failing.filter((c) => !known.includes(c.name));
  const fixed = known.filter((k) => !failing.some((c) => c.name === k));
  const passed = rep.checks.length - failing.length;
  row(
    `${name} ${rt.version}`,
    "smoke test",
    unexpected.length === 0 && fixed.length === 0,
    `${passed}/${rep.checks.length} checks pass` +
      failing.map((c) => `\n      ${known.includes(c.name) ? "known" : "NEW"} failure: ${c.name}: ${c.error}`).join("") +
      fixed.map((k) => `\n      now passes (update KNOWN and docs/runtimes.md): ${k}`).join(""),
  );
}

if (wantBun) await smoke("bun", () => fetchBun(), []);
if (wantDeno) await smoke("deno", () => fetchDeno(), ["run", "--allow-all"]);

const bad = rows.filter((r) => !r.ok);
console.log(`\n${rows.length - bad.length}/${rows.length} runtime checks as expected`);
process.exitCode = bad.length === 0 ? 0 : 1;
