// Item 5: the AWS "Exponential Backoff and Jitter" OCC experiment with our Backoff (Rust, simulated
// time: bench/fleet/src/contention.rs), compared with the upstream simulator's table.
import { buildRustBench, runRustBench } from "./lib/cargo.mjs";
import { summarize, fmt, fmtStat, table } from "./lib/stats.mjs";

const RUNS = 100;
const CLIENTS = Array.from({ length: 19 }, (_, i) => (i + 1) * 10);

// Reference data, not a measurement of ours: the upstream simulator (aws-samples/aws-arch-backoff-simulator
// src/backoff_simulator.py) re-run under Python 3, seed 42, 100 runs, as published in
// docs/reference/anchors.md B.2. Mean completion time (ms) / mean calls.
const PUBLISHED = {
  10: { no_backoff: [376, 50.4], none: [3677, 51.5], equal: [706, 42.4], full: [475, 39.1], decorrelated: [430, 37.4] },
  50: { no_backoff: [1142, 689], none: [36626, 628], equal: [4214, 347], full: [2866, 332], decorrelated: [2228, 375] },
  100: { no_backoff: [2024, 2425], none: [63514, 1852], equal: [6605, 813], full: [4941, 797], decorrelated: [4699, 1000] },
  150: { no_backoff: [2880, 5150], none: [85343, 3540], equal: [8405, 1325], full: [6343, 1319], decorrelated: [6558, 1767] },
  190: { no_backoff: [3536, 8009], none: [101237, 5172], equal: [9431, 1761], full: [7491, 1770], decorrelated: [7893, 2425] },
};
const STRATEGIES = [["no_backoff", "No backoff (simulator calibration)"], ["none", "Exponential, no jitter"],
  ["equal", "Equal jitter"], ["full", "Full jitter"], ["decorrelated", "Decorrelated"]];

export async function run({ log }) {
  buildRustBench();
  const t0 = Date.now();
  const rows = runRustBench("contention", [String(RUNS), CLIENTS.join(",")]);
  log(`contention: ${rows.length} configurations × ${RUNS} runs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const at = (clients, s) => rows.find((r) => r.clients === clients && r.strategy === s);

  const full = CLIENTS.map((c) => [String(c), ...STRATEGIES.map(([s]) => {
    const r = at(c, s);
    return r ? `${fmt(r.meanTimeMs, 0)} / ${fmt(r.meanCalls, 1)}` : "n/a";
  })]);

  const ratioRows = [];
  const ratios = [];
  for (const c of Object.keys(PUBLISHED).map(Number)) {
    const cells = [String(c)];
    for (const [s] of STRATEGIES) {
      const r = at(c, s);
      const [pt, pc] = PUBLISHED[c][s];
      if (!r) {
        cells.push("n/a");
        continue;
      }
      const rt = r.meanTimeMs / pt;
      const rc = r.meanCalls / pc;
      ratios.push(rt, rc);
      cells.push(`${rt.toFixed(2)} / ${rc.toFixed(2)}`);
    }
    ratioRows.push(cells);
  }
  const dev = ratios.map((x) => Math.abs(x - 1) * 100);
  const spread = [100, 190].flatMap((c) => ["none", "full", "decorrelated"].map((s) => {
    const r = at(c, s);
    return r ? [`${c} clients, ${s}`, fmtStat(summarize(r.timesMs), 0), fmtStat(summarize(r.calls), 0)] : null;
  })).filter(Boolean);
  const f100 = at(100, "full");
  const n100 = at(100, "none");
  const md = [
    `OCC on one row, network delay |N(10 ms, 2 ms)| per message, base 5 ms, cap 2000 ms, ${RUNS} runs per cell, clients ${CLIENTS[0]}…${CLIENTS.at(-1)} step 10; ` +
      "delays from our `Backoff::next` (see bench/fleet/src/contention.rs for the base mapping). Cells: mean completion time ms / mean write calls.",
    "",
    table(["Clients", ...STRATEGIES.map(([, label]) => label)], full),
    "",
    "**Against the published table** (anchors.md B.2, upstream simulator re-run): ratio ours ÷ theirs, time / calls (1.00 = identical).",
    "",
    table(["Clients", ...STRATEGIES.map(([, label]) => label)], ratioRows),
    "",
    `Over these ${ratios.length} figures the deviation from the published means is median ${fmt(summarize(dev).median, 1)} %, max ${fmt(summarize(dev).max, 1)} %.` +
      (f100 && n100 ? ` At 100 clients full jitter makes ${fmt(f100.meanCalls, 0)} calls vs ${fmt(n100.meanCalls, 0)} without jitter (${((1 - f100.meanCalls / n100.meanCalls) * 100).toFixed(0)} % fewer; the post: "more than half").` : ""),
    "",
    "Spread over the runs (median (min–max)):",
    "",
    table(["Cell", "completion time ms", "write calls"], spread),
  ];
  return { markdown: md.join("\n"), data: rows.map(({ timesMs, calls, ...rest }) => rest) };
}
