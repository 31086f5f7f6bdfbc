// Turns the measurements of bench/run.mjs into verdicts, a text table, Markdown and an SVG
// chart (plain SVG text, no dependencies).

export const IMPLS = ["python", "memmap", "fs", "c"];
/** A speed-up this close below 1× counts as "as fast as CPython": the run-to-run noise. */
export const NOISE = 0.05;
export const IMPL_NAMES = { python: "CPython", memmap: "memmap", fs: "Node fs", c: "C" };

/** ns -> "57.2 ns", "6.10 µs", "312 ms", "1.24 s". */
export function fmtTime(ns) {
  if (ns == null || !Number.isFinite(ns)) return "—";
  const pick = (v, unit) => `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${unit}`;
  if (ns < 1e3) return pick(ns, "ns");
  if (ns < 1e6) return pick(ns / 1e3, "µs");
  if (ns < 1e9) return pick(ns / 1e6, "ms");
  return pick(ns / 1e9, "s");
}

export function fmtRatio(r) {
  if (r == null || !Number.isFinite(r)) return "—";
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A workload's targets as a list (a workload may name one or several). */
export function targetsOf(w) {
  return w.target === undefined ? [] : Array.isArray(w.target) ? w.target : [w.target];
}

/** How much slower than `factor` × the other row a "linear" target still accepts (noise). */
export const LINEAR_SLACK = 0.3;

/**
 * Judges memmap against one target; returns { met, text, detail, need } (need: the speed-up
 * over CPython the target asks for, drawn on the chart), or null without the figures.
 */
function judge(row, target, rowById) {
  const py = row.perOp.python;
  const mm = row.perOp.memmap;
  if (target.kind === "cpython") {
    const vsPy = py / mm;
    const met = vsPy >= target.min;
    let detail = "";
    if (!met && target.min > 1) detail = `${fmtRatio(vsPy)} < ${target.min}×`;
    else if (target.aim) detail = vsPy >= target.aim ? "aim reached" : `aim ${target.aim}× not reached`;
    const text = target.min === 1 ? "≥ CPython" : `≥ ${target.min}×` + (target.aim ? ` (aim ${target.aim}×)` : "");
    return { met, text, detail, need: target.min };
  }
  if (target.kind === "near") {
    const ref = row.perOp[target.ref];
    const name = IMPL_NAMES[target.ref];
    const speed = Math.round(100 / (1 + target.tol));
    const text = speed === 90 ? `≥ 90% of ${name}'s speed` : `≤ ${name} + ${Math.round(target.tol * 100)}%`;
    if (ref == null) return { met: null, text, detail: `no ${name} figure`, need: null };
    const rel = mm / ref;
    const met = rel <= 1 + target.tol;
    const detail = speed === 90 ? `${Math.round(100 / rel)}% of ${name}'s speed` : `memmap takes ${rel.toFixed(2)}× the ${name} time`;
    return { met, text, detail, need: py / ref / (1 + target.tol) };
  }
  if (target.kind === "linear") {
    const other = rowById(target.of);
    const text = `≤ ${target.factor}× ${target.of} (linear)`;
    const base = other?.perOp.memmap;
    if (base == null) return { met: null, text, detail: `no ${target.of} figure`, need: null };
    if (row.partial?.memmap || other.partial?.memmap) {
      // an extrapolation assumes the cost per byte stays what it was: it cannot show linearity
      return { met: null, text, detail: "linearity not judged: extrapolated", need: null };
    }
    const rel = mm / base;
    const pyRel = py != null && other.perOp.python != null ? py / other.perOp.python : null;
    const met = rel <= target.factor * (1 + LINEAR_SLACK);
    const detail = `${rel.toFixed(2)}× the ${target.of} time (linear: ${target.factor}×${pyRel === null ? "" : `; CPython ${pyRel.toFixed(2)}×`})`;
    return { met, text, detail, need: null };
  }
  throw new Error(`unknown target kind ${target.kind}`);
}

/**
 * Adds to a row: ratio (CPython time / each implementation's time), spread (the lowest and
 * highest memmap/CPython ratio of the rounds), and memmap's verdict against every target:
 * met (true only when all are met), targetText, detail, need.
 */
export function evaluate(row, targets, rowById = () => undefined) {
  const py = row.perOp.python;
  row.ratio = {};
  for (const impl of IMPLS) {
    const t = row.perOp[impl];
    row.ratio[impl] = py != null && t != null && t > 0 ? py / t : null;
  }
  const rp = row.rounds?.python ?? [];
  const rm = row.rounds?.memmap ?? [];
  const per = rm.map((t, i) => (rp[i] ?? rp[0]) / t).filter((x) => Number.isFinite(x));
  row.spread = per.length > 1 ? [Math.min(...per), Math.max(...per)] : null;
  row.met = null;
  row.targetText = "";
  row.detail = "";
  row.need = null;
  const mm = row.perOp.memmap;
  if (targets.length === 0) return row;
  const verdicts = targets.map((t) => ({ t, v: mm == null || py == null ? null : judge(row, t, rowById) }));
  row.targetText = verdicts
    .map(({ t, v }) => v?.text ?? (t.kind === "cpython" ? (t.min === 1 ? "≥ CPython" : `≥ ${t.min}×`) : t.kind))
    .join(" and ");
  if (row.na?.memmap) {
    row.detail = `n/a (${row.na.memmap})`;
    return row;
  }
  if (mm == null || py == null) return row;
  const known = verdicts.map(({ v }) => v).filter((v) => v !== null && v.met !== null);
  row.met = known.length ? known.every((v) => v.met) : null;
  row.detail = verdicts.map(({ v }) => v?.detail).filter(Boolean).join("; ");
  const needs = verdicts.map(({ v }) => v?.need).filter((x) => x != null);
  row.need = needs.length ? Math.max(...needs) : null;
  // Never slower than CPython; a deficit under NOISE is reported but not held against memmap.
  const vsPy = py / mm;
  if (vsPy < 1 - NOISE) {
    row.met = false;
    row.detail = (row.detail ? row.detail + "; " : "") + "slower than CPython";
  } else if (vsPy < 1) {
    row.detail = (row.detail ? row.detail + "; " : "") + `within ${Math.round(NOISE * 100)}% of CPython (noise)`;
  }
  return row;
}

/**
 * How noisy the run was: the share of the timed wall-clock time the processes were on a CPU
 * (other processes took the rest), and how far the memmap/CPython ratio moved between
 * rounds, over the rows that have more than one. { text, median, max, maxId, cpuShare }.
 */
export function noiseSummary(rows) {
  const moves = rows
    .filter((r) => r.spread)
    .map((r) => ({ id: r.id, move: r.spread[1] / r.spread[0] - 1 }))
    .sort((a, b) => a.move - b.move);
  const shares = rows.flatMap((r) => Object.values(r.cpuShare ?? {}));
  const pct = (x) => `${Math.round(x * 100)}%`;
  const parts = [];
  if (shares.length) {
    parts.push(
      `the processes were on a CPU for ${pct(median(shares))} of the wall-clock time they were timed (median; ${pct(Math.min(...shares))} at the least, 100% on a quiet machine)`,
    );
  }
  if (moves.length === 0) parts.push("one round only: no measure of the spread between rounds");
  const med = moves.length ? median(moves.map((m) => m.move)) : null;
  const max = moves.length ? moves[moves.length - 1] : null;
  if (max) parts.push(`between the rounds, a row's memmap/CPython ratio moved by ${pct(med)} (median over ${moves.length} rows), at most ${pct(max.move)} (${max.id})`);
  return { text: parts.join("; "), median: med, max: max?.move ?? null, maxId: max?.id ?? null, cpuShare: shares.length ? median(shares) : null };
}

const mark = (met) => (met === null ? "" : met ? "yes" : "NO");

function pad(s, n, right = false) {
  s = String(s);
  const len = [...s].length;
  return len >= n ? s : right ? " ".repeat(n - len) + s : s + " ".repeat(n - len);
}

/** A time cell: "—", "n/a (…)", or the time, marked ~ when extrapolated. */
function timeCell(r, impl) {
  if (r.na?.[impl]) return `n/a (${r.na[impl]})`;
  return (r.partial?.[impl] ? "~" : "") + fmtTime(r.perOp[impl]);
}

function ratioCell(r, impl) {
  if (r.na?.[impl]) return "n/a";
  return (r.partial?.[impl] || (r.partial?.python && r.ratio[impl] != null && impl !== "python") ? "~" : "") + fmtRatio(r.ratio[impl]);
}

const spreadCell = (r) => (r.spread ? `${fmtRatio(r.spread[0])}–${fmtRatio(r.spread[1])}` : "");

/** The table for the terminal. */
export function textTable(rows) {
  const head = ["#", "workload", "CPython", "memmap", "fs", "C", "memmap×", "spread", "fs×", "C×", "target", "met"];
  const body = rows.map((r) => [
    String(r.group),
    r.title,
    timeCell(r, "python"),
    timeCell(r, "memmap"),
    timeCell(r, "fs"),
    timeCell(r, "c"),
    ratioCell(r, "memmap"),
    spreadCell(r),
    ratioCell(r, "fs"),
    ratioCell(r, "c"),
    r.targetText,
    mark(r.met),
  ]);
  const widths = head.map((h, i) => Math.max([...h].length, ...body.map((b) => [...b[i]].length)));
  const line = (cells) => cells.map((c, i) => pad(c, widths[i], i >= 2 && i <= 9)).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** The Markdown table: per-operation medians and speed-ups over CPython. */
export function markdownTable(rows) {
  const out = [
    "| # | Workload | CPython | memmap | Node fs | C | memmap vs CPython | spread | fs vs CPython | C vs CPython | Target (memmap) | Met |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
  ];
  for (const r of rows) {
    const met = r.met === null ? (r.na?.memmap ? "n/a" : "") : r.met ? `✅ ${r.detail}` : `❌ ${r.detail}`;
    out.push(
      `| ${r.group} | ${r.title.replace(/\|/g, "\\|")} | ${timeCell(r, "python")} | ${timeCell(r, "memmap")} | ${timeCell(r, "fs")} | ${timeCell(r, "c")} | **${ratioCell(r, "memmap")}** | ${spreadCell(r)} | ${ratioCell(r, "fs")} | ${ratioCell(r, "c")} | ${r.targetText} | ${met} |`,
    );
  }
  return out.join("\n");
}

/** The floors, as text or Markdown. */
export function floorsTable(floors, form) {
  const fmt = (f) => (f.na ? `n/a (${f.na})` : fmtTime(f.value));
  if (form === "markdown") {
    if (floors.length === 0) return "(not measured: a run of a subset of the workloads)";
    return ["| Floor | Measured |", "|---|--:|", ...floors.map((f) => `| ${f.what} | ${fmt(f)} |`)].join("\n");
  }
  const w = Math.max(...floors.map((f) => f.what.length));
  return floors.map((f) => `  ${pad(f.what, w)}  ${fmt(f)}`).join("\n");
}

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Horizontal bars of the speed-up over CPython (log scale), memmap, fs and C per workload. */
export function svgChart(rows, subtitle) {
  const bars = [
    ["memmap", "#1f77b4"],
    ["fs", "#9e9e9e"],
    ["c", "#ff7f0e"],
  ];
  const values = rows.flatMap((r) => bars.map(([k]) => r.ratio[k]).concat(r.need ?? [])).filter((v) => v != null && v > 0);
  const lo = Math.max(1e-2, 10 ** Math.floor(Math.log10(Math.min(0.5, ...values))));
  const hi = Math.min(1e4, 10 ** Math.ceil(Math.log10(Math.max(2, ...values))));
  // wide enough for the longest label (about 6 px a character at 11 px sans-serif)
  const labelW = Math.max(360, 12 + Math.ceil(6.1 * Math.max(...rows.map((r) => `${r.group}. ${r.title}`.length))));
  const plotW = 520;
  const left = labelW + 10;
  const barH = 7;
  const rowH = bars.length * (barH + 1) + 10;
  const top = 64;
  const height = top + rows.length * rowH + 40;
  const width = left + plotW + 70;
  const x = (v) => left + ((Math.log10(Math.min(hi, Math.max(lo, v))) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotW;
  const o = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  o.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  o.push(`<text x="10" y="18" font-size="14" font-weight="bold">Speed-up over CPython 3.13 mmap (log scale; higher is faster)</text>`);
  o.push(`<text x="10" y="34" fill="#555">${esc(subtitle)}</text>`);
  let lx = left;
  for (const [k, color] of bars) {
    const name = k === "c" ? "C (raw mapped memory)" : k === "fs" ? "Node fs" : "memmap";
    o.push(`<rect x="${lx}" y="42" width="12" height="8" fill="${color}"/><text x="${lx + 16}" y="50">${esc(name)}</text>`);
    lx += 40 + name.length * 7;
  }
  o.push(`<line x1="${lx}" y1="40" x2="${lx}" y2="52" stroke="#d62728" stroke-width="2"/><text x="${lx + 6}" y="50">memmap target</text>`);
  rows.forEach((r, i) => {
    if (i % 2 === 0) o.push(`<rect x="0" y="${top + i * rowH - 4}" width="${width}" height="${rowH}" fill="#f6f8fa"/>`);
  });
  // decade grid
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    const gx = x(d);
    const one = Math.abs(d - 1) < 1e-9;
    o.push(`<line x1="${gx.toFixed(1)}" y1="${top - 6}" x2="${gx.toFixed(1)}" y2="${top + rows.length * rowH}" stroke="${one ? "#000" : "#ddd"}" stroke-width="${one ? 1.2 : 1}"/>`);
    const label = d >= 1 ? `${Math.round(d)}×` : `${+d.toPrecision(1)}×`;
    o.push(`<text x="${gx.toFixed(1)}" y="${top + rows.length * rowH + 14}" text-anchor="middle" fill="#555">${label}</text>`);
  }
  o.push(`<text x="${x(1).toFixed(1)}" y="${top + rows.length * rowH + 28}" text-anchor="middle" fill="#000">CPython = 1×</text>`);
  rows.forEach((r, i) => {
    const y0 = top + i * rowH;
    o.push(`<text x="${labelW}" y="${y0 + rowH / 2}" text-anchor="end">${esc(`${r.group}. ${r.title}`)}</text>`);
    bars.forEach(([k, color], j) => {
      const v = r.ratio[k];
      if (v == null || !(v > 0)) return;
      const y = y0 + j * (barH + 1);
      const x0 = x(lo);
      const x1 = x(v);
      o.push(`<rect x="${x0.toFixed(1)}" y="${y}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${barH}" fill="${color}"/>`);
      const clipped = v > hi || v < lo ? " (clipped)" : "";
      o.push(`<text x="${(x1 + 3).toFixed(1)}" y="${y + barH - 0.5}" font-size="9" fill="#333">${esc(fmtRatio(v) + clipped)}</text>`);
    });
    if (r.need != null && r.need > 0) {
      const tx = x(r.need);
      o.push(`<line x1="${tx.toFixed(1)}" y1="${y0 - 2}" x2="${tx.toFixed(1)}" y2="${y0 + barH + 1}" stroke="#d62728" stroke-width="2"/>`);
    }
  });
  o.push("</svg>");
  return o.join("\n") + "\n";
}
