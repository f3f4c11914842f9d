// `npm run bench`: runs every benchmark section in order on this machine and writes BENCHMARKS.md
// (and bench/results.json with the raw figures). Nothing in BENCHMARKS.md is written by hand.
// Usage: node bench/run.mjs                         every section; writes both files
//        node bench/run.mjs <section ...>           a subset; the report goes to stdout only
//        node bench/run.mjs --update <section ...>  a subset, rewritten in place in BENCHMARKS.md
//                                                   (and merged into bench/results.json)
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import os from "node:os";
import { execFileSync } from "node:child_process";
import { ROOT } from "./lib/package.mjs";
import { table } from "./lib/stats.mjs";
import { scaleTargets } from "./scale.mjs";
import { budgetRows, BUDGET_HEADER } from "./baseline.mjs";
import { mergeReport } from "./lib/report.mjs";

const SECTIONS = [
  ["weight", "1. Weight", () => import("./weight.mjs")],
  ["coldstart", "2. Cold start", () => import("./coldstart.mjs")],
  ["per-event", "3. Per-event cost", () => import("./per-event.mjs")],
  ["fleet", "4. Fleet behaviour (1,000 instances × 24 h, simulated time)", () => import("./fleet.mjs")],
  ["contention", "5. Contention: the AWS \"Exponential Backoff and Jitter\" experiment with our Backoff", () => import("./contention.mjs")],
  ["edge", "6. Edge throughput (webhooks through the worker in workerd)", () => import("./edge-throughput.mjs")],
  ["start-on-send", "7. Start-on-send under contention (simulator)", () => import("./start-on-send.mjs")],
  ["scale", "8. Scale: the fleet in one local workerd", () => import("./scale.mjs")],
  ["baseline", "9. Issue 13's budgets: this tree against 44db905, built and measured in the same run", () => import("./baseline.mjs")],
];

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
const update = process.argv[2] === "--update";
const wanted = process.argv.slice(update ? 3 : 2);
const unknown = wanted.filter((id) => !SECTIONS.some(([s]) => s === id));
if (unknown.length || (update && wanted.length === 0)) {
  process.stderr.write(`usage: node bench/run.mjs [--update] [section ...]; sections: ${SECTIONS.map(([id]) => id).join(" ")}` +
    `${unknown.length ? ` (unknown: ${unknown.join(", ")})` : ""}\n`);
  process.exit(2);
}
const selected = wanted.length ? SECTIONS.filter(([id]) => wanted.includes(id)) : SECTIONS;
const started = Date.now();
const parts = {};
const results = {};
let failures = 0;

const git = (args) => {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
};
function commit() {
  return `${git(["rev-parse", "--short", "HEAD"])}${git(["status", "--porcelain", "--", "src", "pkg", "bench", "sim", "edge"]) ? " (with uncommitted changes)" : ""}`;
}
for (const [id, title, load] of selected) {
  const t0 = Date.now();
  const loadAtStart = os.loadavg().map((x) => x.toFixed(2)).join(" / ");
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
  parts[id] = `## ${title}\n\n${body}\n\n_Section time: ${secs} s; measured ${new Date(t0).toISOString()} at commit ${commit()}, load average at start ${loadAtStart}._\n`;
}

/** The issues' targets, checked against the figures in `results` (no figure is typed in here). */
function targets(results) {
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
  if (results.scale) lines.push(...scaleTargets(results.scale));
  const budgets = budgetRows(results.baseline);
  return [
    ...(budgets.length ? [`## Summary against the budgets of issue 13 (section 9)\n\n${table(BUDGET_HEADER, budgets)}\n`] : []),
    ...(lines.length ? [`## Summary against the targets of issue 7\n\n${table(["Target", "This run", "Verdict"], lines)}\n`] : []),
  ].join("\n");
}

const rustc = (() => {
  try {
    return execFileSync("rustc", ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return "rustc unknown";
  }
})();
const fullRun = `Run: ${new Date(started).toISOString()}, ${((Date.now() - started) / 1000).toFixed(0)} s in total, commit ${commit()}.`;
const header = (runLine) => [
  "# Benchmarks",
  "",
  "Generated by `npm run bench` (`bench/run.mjs`); every number below comes from that command or from `node bench/run.mjs --update <section …>`, nothing is edited by hand.",
  runLine,
  `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}, ` +
    `load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(" / ")} (the machine is shared, so timings are noisy; compare the ratios).`,
  `Node ${process.version}, ${rustc}.`,
  "Figures are `median (min–max)` over the stated repetitions; ratios are between medians of the same run.",
  "",
].join("\n");
const REPORT = join(ROOT, "BENCHMARKS.md");
const RESULTS = join(ROOT, "bench", "results.json");
const ordered = (ps) => SECTIONS.filter(([id]) => ps[id]).map(([id]) => ps[id]);
if (update) {
  // Only the chosen sections change; the others, and the full run's line, stay as they were.
  const stored = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, "utf8")) : {};
  const merged = { ...stored, ...results };
  const previous = existsSync(REPORT) ? readFileSync(REPORT, "utf8") : "";
  const { sections, runLine, dropped } = mergeReport(previous, SECTIONS, parts);
  for (const title of dropped) log(`dropped "${title}" from BENCHMARKS.md: not a section of bench/run.mjs (the file is generated)`);
  const refreshed = `Refreshed since with \`--update\`: the sections whose footer names a later time (last: ${selected.map(([id]) => id).join(", ")}, ${new Date(started).toISOString()}).`;
  writeFileSync(REPORT, `${header(`${runLine ?? "Full run: none yet."}\n${refreshed}`)}\n${targets(merged)}\n${sections.join("\n")}`);
  writeFileSync(RESULTS, `${JSON.stringify(merged, null, 2)}\n`);
  log(`updated ${selected.map(([id]) => id).join(", ")} in BENCHMARKS.md and bench/results.json`);
} else if (wanted.length) {
  process.stdout.write(`${header(fullRun)}\n${targets(results)}\n${ordered(parts).join("\n")}`);
} else {
  writeFileSync(REPORT, `${header(fullRun)}\n${targets(results)}\n${ordered(parts).join("\n")}`);
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote BENCHMARKS.md and bench/results.json in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
process.exitCode = failures ? 1 : 0;
