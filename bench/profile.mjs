// Summarises a V8 .cpuprofile (from `node --cpu-prof`): where the time went, by function.
//
//   node bench/profile.mjs FILE.cpuprofile [top]
//
// Self time is what a function spent in its own code; total time includes its callees
// (counted once per sample even when recursive). bench/run.mjs --profile uses summarize().
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

function keyOf(frame) {
  const name = frame.functionName || "(anonymous)";
  if (!frame.url) return name;
  const file = path.basename(frame.url.replace(/^file:\/\//, ""));
  return `${name} ${file}:${frame.lineNumber + 1}`;
}

/** [{ key, self, total }] in ms, sorted by self time, and the profile's sampled time in ms. */
export function summarize(profile) {
  const byId = new Map();
  const parent = new Map();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map();
  const total = new Map();
  let sampled = 0;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the time after it (next delta).
    const dt = (i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0) / 1000;
    if (dt <= 0) continue;
    sampled += dt;
    const node = byId.get(samples[i]);
    const k = keyOf(node.callFrame);
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set();
    for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
      const key = keyOf(byId.get(id).callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + dt);
    }
  }
  const rows = [...self.keys()].map((key) => ({ key, self: self.get(key), total: total.get(key) ?? 0 }));
  rows.sort((a, b) => b.self - a.self);
  const byTotal = [...total.entries()]
    .map(([key, t]) => ({ key, self: self.get(key) ?? 0, total: t }))
    .filter((r) => r.key !== "(root)")
    .sort((a, b) => b.total - a.total);
  return { rows, byTotal, sampled };
}

/** Text of the summary: the top functions by self time, then by total time. */
export function formatSummary(profile, top = 12) {
  const { rows, byTotal, sampled } = summarize(profile);
  const pct = (ms) => `${((100 * ms) / sampled).toFixed(1).padStart(5)}%`;
  const lines = [`sampled ${sampled.toFixed(0)} ms`, "  self   total  function"];
  for (const r of rows.slice(0, top)) lines.push(`${pct(r.self)} ${pct(r.total)}  ${r.key}`);
  lines.push("  by total time:");
  for (const r of byTotal.slice(0, top)) lines.push(`${pct(r.self)} ${pct(r.total)}  ${r.key}`);
  return lines.join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node bench/profile.mjs FILE.cpuprofile [top]");
    process.exit(2);
  }
  console.log(formatSummary(JSON.parse(fs.readFileSync(file, "utf8")), Number(process.argv[3] ?? 12)));
}
