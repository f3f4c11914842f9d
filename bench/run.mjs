// `npm run bench`: runs every benchmark section in order on this machine and writes BENCHMARKS.md
// (and bench/results.json with the raw figures). Nothing in BENCHMARKS.md is written by hand.
// Usage: node bench/run.mjs [section ...]   (default: all; a subset writes the report to stdout only)
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import os from "node:os";
import { execFileSync } from "node:child_process";
import { ROOT } from "./lib/package.mjs";
import { table } from "./lib/stats.mjs";

const SECTIONS = [
  ["weight", "1. Weight", () => import("./weight.mjs")],
  ["coldstart", "2. Cold start", () => import("./coldstart.mjs")],
  ["per-event", "3. Per-event cost", () => import("./per-event.mjs")],
  ["fleet", "4. Fleet behaviour (1,000 instances × 24 h, simulated time)", () => import("./fleet.mjs")],
  ["contention", "5. Contention: the AWS \"Exponential Backoff and Jitter\" experiment with our Backoff", () => import("./contention.mjs")],
  ["edge", "6. Edge throughput (webhooks through the worker in workerd)", () => import("./edge-throughput.mjs")],
  ["start-on-send", "7. Start-on-send under contention (simulator)", () => import("./start-on-send.mjs")],
  ["scale", "8. Scale: the fleet in one local workerd", () => import("./scale.mjs")],
];

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
const wanted = process.argv.slice(2);
const selected = wanted.length ? SECTIONS.filter(([id]) => wanted.includes(id)) : SECTIONS;
const started = Date.now();
const parts = [];
const results = {};
let failures = 0;

for (const [id, title, load] of selected) {
  const t0 = Date.now();
  log(`${title} ...`);
  let body;
  try {
    const { run } = await load();
    const r = await run({ log });
    results[id] = r.data;
    body = r.markdown;
  } catch (e) {
    failures += 1;
    body = `**Not measured in this run**: ${String(e?.message ?? e).split("\n")[0]}`;
    results[id] = { error: String(e?.stack ?? e) };
    log(`${id} failed: ${e?.stack ?? e}`);
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  log(`${title}: ${secs}s`);
  parts.push(`## ${title}\n\n${body}\n\n_Section time: ${secs} s._\n`);
}

/** The targets, checked against this run's figures (no figure is typed in here). */
function targets() {
  const lines = [];
  const w = results.weight;
  if (w?.xstateStack && w?.wasm) {
    for (const [entry, js] of Object.entries(w.entries ?? {})) {
      const total = js.gzip + w.wasm.gzip;
      lines.push([`wasm + glue of ${entry} lighter than XState v5 + p-retry (gzip)`, `${total.toLocaleString("en-US")} B vs ${w.xstateStack.gzip.toLocaleString("en-US")} B (stack) / ${w.xstateLibs.gzip.toLocaleString("en-US")} B (libraries alone)`,
        total < w.xstateLibs.gzip ? "met" : "**not met**"]);
    }
  }
  const pe = results["per-event"]?.stats;
  if (pe?.["wawp-session"]) {
    for (const name of ["wawp-session", "wawp-session drainActions"]) {
      const ns = pe[name]?.median;
      if (Number.isFinite(ns)) lines.push([`${name}: decode + step ≤ 1.6 µs per event (Node 20)`, `${(ns / 1000).toFixed(2)} µs (XState v5 ${(pe["xstate-v5"].median / 1000).toFixed(2)} µs, js-switch ${(pe["js-switch"].median / 1000).toFixed(2)} µs)`, ns <= 1600 ? "met" : "**not met**"]);
    }
  }
  const edge = results.edge;
  if (edge?.runs) lines.push(["edge throughput with zero errors", `${edge.errors} errors over ${edge.runs.length} runs`, edge.errors === 0 ? "met" : "**not met**"]);
  lines.push(...scaleTargets(results.scale));
  if (lines.length === 0) return "";
  return `## Summary against the targets of issue 7\n\n${table(["Target", "This run", "Verdict"], lines)}\n`;
}

/** Issue 14's targets against the scale section's rows. */
function scaleTargets(rows) {
  if (!Array.isArray(rows)) return [];
  const lines = [];
  const big = rows.find((r) => r.n === 10000 && r.speed === 1);
  if (big) {
    const ok = !big.failed && big.registered === 10000 && big.createErrors === 0 && big.orphans === 0;
    lines.push(["10,000 instances registered in one workerd, 0 errors, 0 orphans",
      big.failed ? `failed: ${big.failed}` : `${big.registered} registered, ${big.createErrors} errors, ${big.orphans} orphans`, ok ? "met" : "**not met**"]);
    if (Number.isFinite(big.pageRenderMs)) {
      lines.push(["fleet page first render < 1 s with 10,000 rows", `${Math.round(big.pageRenderMs)} ms`, big.pageRenderMs < 1000 ? "met" : "**not met**"]);
    }
  }
  for (const r of rows.filter((x) => !x.failed && Number.isFinite(x.fanInRps))) {
    const ok = r.fanInRps >= 1000 && r.fanInP99 < 100 && r.lost === 0 && r.fanInErrors === 0;
    lines.push([`webhook fan-in ≥ 1,000 events/s, p99 < 100 ms, 0 lost (${r.n.toLocaleString("en-US")} @ ${r.speed}×)`,
      `${Math.round(r.fanInRps)} events/s, p99 ${r.fanInP99} ms, ${r.lost} lost, ${r.fanInErrors} errors`, ok ? "met" : "**not met**"]);
  }
  return lines;
}

const git = (args) => {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
};
const rustc = (() => {
  try {
    return execFileSync("rustc", ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return "rustc unknown";
  }
})();
const header = [
  "# Benchmarks",
  "",
  "Generated by `npm run bench` (`bench/run.mjs`); every number below comes from that command, nothing is edited by hand.",
  `Run: ${new Date(started).toISOString()}, ${((Date.now() - started) / 1000).toFixed(0)} s in total, commit ${git(["rev-parse", "--short", "HEAD"])}` +
    `${git(["status", "--porcelain", "--", "src", "pkg", "bench", "sim", "edge"]) ? " (with uncommitted changes)" : ""}.`,
  `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}, ` +
    `load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(" / ")} (the machine is shared, so timings are noisy; compare the ratios).`,
  `Node ${process.version}, ${rustc}.`,
  "Figures are `median (min–max)` over the stated repetitions; ratios are between medians of the same run.",
  "",
].join("\n");
const report = `${header}\n${targets()}\n${parts.join("\n")}`;
if (wanted.length) {
  process.stdout.write(report);
} else {
  writeFileSync(join(ROOT, "BENCHMARKS.md"), report);
  writeFileSync(join(ROOT, "bench", "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote BENCHMARKS.md and bench/results.json in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
process.exitCode = failures ? 1 : 0;
