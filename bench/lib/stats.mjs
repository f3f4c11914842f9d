// Summaries of repeated measurements: every figure in BENCHMARKS.md is min / median / max.
export function summarize(samples) {
  const xs = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return { n: 0, min: NaN, median: NaN, max: NaN };
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  return { n: xs.length, min: xs[0], median, max: xs[xs.length - 1] };
}

export function percentile(samples, p) {
  const xs = [...samples].sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  return xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))];
}

export function fmt(x, digits = 1) {
  if (!Number.isFinite(x)) return "n/a";
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString("en-US");
  return x.toFixed(digits);
}

/** "median (min–max)" */
export function fmtStat(s, digits = 1) {
  if (!s || s.n === 0) return "n/a";
  if (s.n === 1) return fmt(s.median, digits);
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}

export function ratio(a, b, digits = 2) {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(digits)}×` : "n/a";
}

export function table(header, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  const align = header.map((h, i) => (i === 0 ? "---" : "---:"));
  return [line(header), line(align), ...rows.map(line)].join("\n");
}

/** Seeded PRNG (mulberry32) so every contender sees the same inputs. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The telling line of a child process's stderr (the error, not Node's version footer). */
export function errorLine(stderr) {
  const lines = String(stderr ?? "").split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /\b\w*Error\b|error:/i.test(l)) ?? lines.at(-1) ?? "failed";
}
