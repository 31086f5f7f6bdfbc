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

/**
 * Adds to a row: ratio (CPython time / each implementation's time), and for memmap the
 * target's verdict: met (boolean), targetText, detail, and need (the speed-up over CPython
 * the target asks for, drawn on the chart).
 */
export function evaluate(row, target) {
  const py = row.perOp.python;
  row.ratio = {};
  for (const impl of IMPLS) {
    const t = row.perOp[impl];
    row.ratio[impl] = py != null && t != null && t > 0 ? py / t : null;
  }
  row.met = null;
  row.targetText = "";
  row.detail = "";
  row.need = null;
  const mm = row.perOp.memmap;
  if (target === undefined || mm == null || py == null) return row;
  const vsPy = py / mm;
  if (target.kind === "cpython") {
    row.targetText = target.min === 1 ? "≥ CPython" : `≥ ${target.min}×` + (target.aim ? ` (aim ${target.aim}×)` : "");
    row.need = target.min;
    row.met = vsPy >= target.min;
    if (!row.met && target.min > 1) row.detail = `${fmtRatio(vsPy)} < ${target.min}×`;
    else if (target.aim) row.detail = vsPy >= target.aim ? "aim reached" : `aim ${target.aim}× not reached`;
  } else {
    const ref = row.perOp[target.ref];
    const name = IMPL_NAMES[target.ref];
    row.targetText = `≤ ${name} + ${Math.round(target.tol * 100)}%`;
    if (ref == null) {
      row.detail = `no ${name} figure`;
      return row;
    }
    const rel = mm / ref;
    row.need = py / ref / (1 + target.tol);
    row.met = rel <= 1 + target.tol;
    row.detail = `memmap takes ${rel.toFixed(2)}× the ${name} time`;
  }
  // Never slower than CPython; a deficit under NOISE is reported but not held against memmap.
  if (vsPy < 1 - NOISE) {
    row.met = false;
    row.detail = (row.detail ? row.detail + "; " : "") + "slower than CPython";
  } else if (vsPy < 1) {
    row.detail = (row.detail ? row.detail + "; " : "") + `within ${Math.round(NOISE * 100)}% of CPython (noise)`;
  }
  return row;
}

const mark = (met) => (met === null ? "" : met ? "yes" : "NO");

function pad(s, n, right = false) {
  s = String(s);
  const len = [...s].length;
  return len >= n ? s : right ? " ".repeat(n - len) + s : s + " ".repeat(n - len);
}

/** The table for the terminal. */
export function textTable(rows) {
  const head = ["#", "workload", "CPython", "memmap", "fs", "C", "memmap×", "fs×", "C×", "target", "met"];
  const body = rows.map((r) => [
    String(r.group),
    r.title,
    fmtTime(r.perOp.python),
    fmtTime(r.perOp.memmap),
    fmtTime(r.perOp.fs),
    fmtTime(r.perOp.c),
    fmtRatio(r.ratio.memmap),
    fmtRatio(r.ratio.fs),
    fmtRatio(r.ratio.c),
    r.targetText,
    mark(r.met),
  ]);
  const widths = head.map((h, i) => Math.max([...h].length, ...body.map((b) => [...b[i]].length)));
  const line = (cells) => cells.map((c, i) => pad(c, widths[i], i >= 2 && i <= 8)).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** The Markdown table: per-operation medians and speed-ups over CPython. */
export function markdownTable(rows) {
  const out = [
    "| # | Workload | CPython | memmap | Node fs | C | memmap vs CPython | fs vs CPython | C vs CPython | Target (memmap) | Met |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|",
  ];
  for (const r of rows) {
    const met = r.met === null ? "" : r.met ? "✅" : `❌ ${r.detail}`;
    out.push(
      `| ${r.group} | ${r.title} | ${fmtTime(r.perOp.python)} | ${fmtTime(r.perOp.memmap)} | ${fmtTime(r.perOp.fs)} | ${fmtTime(r.perOp.c)} | **${fmtRatio(r.ratio.memmap)}** | ${fmtRatio(r.ratio.fs)} | ${fmtRatio(r.ratio.c)} | ${r.targetText} | ${met} |`,
    );
  }
  return out.join("\n");
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
  const labelW = 360;
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
