// Section 9: issue 13's budgets, this tree against the 44db905 release built in the same run
// (bench/lib/baseline-build.mjs) and measured the same way: weight per entry (weight.mjs's
// bundling), decode + step per event (per-event.mjs's child and host loop), cold start (coldstart.mjs's
// Node child and Miniflare start). Samples alternate between the trees so that machine noise hits
// both alike. The machine is shared, so its load changes within a run: a ratio is taken within each
// back-to-back pair (one sample of each tree), and a verdict reads the median of those ratios.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PKG, ROOT } from "./lib/package.mjs";
import { summarize, fmtStat, ratio, table, errorLine } from "./lib/stats.mjs";
import { BaselineUnavailable, BASELINE_COMMIT, baselineTree } from "./lib/baseline-build.mjs";
import { twiggyTop } from "./lib/twiggy.mjs";
import { packageWeight } from "./weight.mjs";
import { EVENTS, PASSES, WARMUP_PASSES } from "./per-event.mjs";
import { bundleWorker, nodeColdStart, workerdColdStart } from "./coldstart.mjs";

const PER_EVENT = fileURLToPath(new URL("./per-event.mjs", import.meta.url));
const PER_EVENT_ROUNDS = 12;
const NODE_SAMPLES = 40;
const WORKERD_SAMPLES = 11;

/** Issue 13's budgets. */
export const BUDGETS = { weightBytes: 80 * 1024, perEventRatio: 1.1, perEventAimNs: 3000, coldStartRatio: 1.1 };

const CURRENT = "this tree";
const BASE = BASELINE_COMMIT;

/** Alternates the trees' order each round (A B, B A, …): neither always runs first. */
function alternate(trees, round) {
  return round % 2 ? [...trees].reverse() : trees;
}

function perEventPasses(pkgDir) {
  const r = spawnSync(process.execPath, [PER_EVENT, "child", "package", pkgDir], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`per-event ${pkgDir}: ${r.error?.message ?? errorLine(r.stderr)}`);
  return JSON.parse(r.stdout);
}

/** The worker both trees run in workerd: the package's workerd entry, one decode per request. */
function workerSource(root) {
  const entry = join(root, "pkg", "src", "entry-workerd.js");
  return {
    resolveDir: root,
    contents: `import { decodeStatus } from ${JSON.stringify(entry)};\n` +
      "export default { async fetch(request) { return Response.json({ status: decodeStatus(await request.text()).status }); } };\n",
  };
}

async function measure(trees, log) {
  const perEvent = Object.fromEntries(trees.map((t) => [t.name, { passes: [], actions: null }]));
  const perEventRatios = [];
  for (let round = 0; round < PER_EVENT_ROUNDS; round++) {
    const medians = {};
    for (const t of alternate(trees, round)) {
      const passes = perEventPasses(t.pkg);
      perEvent[t.name].passes.push(...passes.map((p) => p.nsPerEvent));
      perEvent[t.name].actions = passes[0]?.actions ?? null;
      medians[t.name] = summarize(passes.map((p) => p.nsPerEvent)).median;
    }
    if (medians[CURRENT] && medians[BASE]) perEventRatios.push(medians[CURRENT] / medians[BASE]);
    log(`baseline per-event round ${round + 1}: ${trees.map((t) => `${t.name} ${Math.round(medians[t.name])} ns`).join(", ")}`);
  }
  const node = Object.fromEntries(trees.map((t) => [t.name, []]));
  for (let i = 0; i < NODE_SAMPLES; i++) {
    for (const t of alternate(trees, i)) node[t.name].push(nodeColdStart("package", t.pkg));
  }
  log(`baseline coldstart node: ${NODE_SAMPLES} processes per tree`);
  const bundles = {};
  for (const t of trees) bundles[t.name] = await bundleWorker(workerSource(t.root));
  const workerd = Object.fromEntries(trees.map((t) => [t.name, []]));
  for (let i = 0; i < WORKERD_SAMPLES; i++) {
    for (const t of alternate(trees, i)) workerd[t.name].push(await workerdColdStart(bundles[t.name], t.name));
  }
  log(`baseline coldstart workerd: ${WORKERD_SAMPLES} Miniflare starts per tree`);
  const weight = {};
  for (const t of trees) weight[t.name] = await packageWeight(t.pkg, t.root);
  const paired = (samples, metric) => (samples[BASE] ? samples[CURRENT].map((s, i) => metric(s) / metric(samples[BASE][i])) : []);
  const ratios = { perEventNs: perEventRatios, nodeFirstDecodedMs: paired(node, firstDecoded), workerdFirstDecodedMs: paired(workerd, (s) => s.totalMs) };
  return { perEvent, ratios, node, workerd, weight };
}

/** Node cold start: from before the import to the first decoded status. */
const firstDecoded = (s) => s.importMs + s.firstDecodeMs;

/** One summary per tree and measure, from the raw samples. */
function summaries(m) {
  const out = {};
  for (const name of Object.keys(m.perEvent)) {
    out[name] = {
      perEventNs: summarize(m.perEvent[name].passes),
      actions: m.perEvent[name].actions,
      nodeFirstDecodedMs: summarize(m.node[name].map(firstDecoded)),
      nodeImportMs: summarize(m.node[name].map((s) => s.importMs)),
      nodeStatus: m.node[name][0]?.status ?? null,
      workerdFirstDecodedMs: summarize(m.workerd[name].map((s) => s.totalMs)),
      workerdStatus: m.workerd[name][0]?.status ?? null,
    };
  }
  return out;
}

const bytes = (n) => `${n.toLocaleString("en-US")} B`;
const verdict = (ok) => (ok === null ? "not measured" : ok ? "met" : "**not met**");

/** `[budget, this tree, 44db905, ratio, verdict]` rows from a run's data (also the summary at the top). */
export function budgetRows(data) {
  if (!data?.weight) return [];
  const cur = data.stats?.[CURRENT];
  const base = data.stats?.[BASE];
  const why = data.notMeasured ? "not measured (section 9 says why)" : "n/a";
  const rows = [];
  for (const [entry, e] of Object.entries(data.weight[CURRENT]?.entries ?? {})) {
    const b = data.weight[BASE]?.entries?.[entry];
    rows.push([`Weight of ${entry}, wasm + JS (bundled, minified, gzip) ≤ 80 KB (${bytes(BUDGETS.weightBytes)})`,
      e.total ? bytes(e.total.gzip) : `failed: ${e.error}`, b?.total ? bytes(b.total.gzip) : why,
      e.total && b?.total ? ratio(e.total.gzip, b.total.gzip) : "n/a", verdict(e.total ? e.total.gzip <= BUDGETS.weightBytes : false)]);
  }
  // The ratio: median (min–max) of the back-to-back pairs' ratios.
  const pair = (key, digits, unit) => {
    const ratios = data.ratios?.[key];
    const r = Number.isFinite(ratios?.median) ? ratios.median : null;
    return { c: cur?.[key]?.median, r, rText: r === null ? "n/a" : `${r.toFixed(2)}× (${ratios.min.toFixed(2)}–${ratios.max.toFixed(2)})`,
      cText: cur ? `${fmtStat(cur[key], digits)} ${unit}` : "n/a", bText: base ? `${fmtStat(base[key], digits)} ${unit}` : why };
  };
  const pe = pair("perEventNs", 0, "ns");
  rows.push([`Per event, decode + step (Node) ≤ ${BUDGETS.perEventRatio.toFixed(2)}× 44db905`, pe.cText, pe.bText, pe.rText,
    verdict(pe.r === null ? null : pe.r <= BUDGETS.perEventRatio)]);
  rows.push([`Per event: aim ≤ ${(BUDGETS.perEventAimNs / 1000).toFixed(0)} µs`, pe.cText, pe.bText, "", verdict(Number.isFinite(pe.c) ? pe.c <= BUDGETS.perEventAimNs : null)]);
  for (const [key, label] of [["nodeFirstDecodedMs", "Cold start, Node: import to first decoded status"], ["workerdFirstDecodedMs", "Cold start, workerd: new Miniflare to first decoded response"]]) {
    const p = pair(key, key === "nodeFirstDecodedMs" ? 2 : 0, "ms");
    rows.push([`${label} ≤ ${BUDGETS.coldStartRatio.toFixed(2)}× 44db905`, p.cText, p.bText, p.rText,
      verdict(p.r === null ? null : p.r <= BUDGETS.coldStartRatio)]);
  }
  return rows;
}

export const BUDGET_HEADER = ["Budget (issue 13)", "this tree", `${BASE} (same run)`, "ratio (paired)", "verdict"];

export async function run({ log }) {
  const trees = [{ name: CURRENT, root: ROOT, pkg: PKG }];
  let notMeasured = null;
  let base = null;
  try {
    base = baselineTree({ log });
    trees.push({ name: BASE, root: base.dir, pkg: join(base.dir, "pkg") });
  } catch (e) {
    if (!(e instanceof BaselineUnavailable)) throw e;
    notMeasured = e.message;
    log(`baseline: not measured: ${notMeasured}`);
  }
  const m = await measure(trees, log);
  const stats = summaries(m);
  const top = twiggyTop(20);
  const data = { baseline: base && { commit: base.commit, cached: base.cached }, notMeasured, stats,
    ratios: Object.fromEntries(Object.entries(m.ratios).map(([k, xs]) => [k, summarize(xs)])),
    weight: m.weight, raw: { perEvent: m.perEvent, node: m.node, workerd: m.workerd }, twiggyTop: top.rows ?? top.note };
  const checks = [];
  if (base) {
    const same = (key) => stats[CURRENT][key] === stats[BASE][key];
    checks.push(`both trees decoded the first body to the same status in Node (${stats[CURRENT].nodeStatus}: ${same("nodeStatus") ? "same" : "**differs**"}) and in workerd (${stats[CURRENT].workerdStatus}: ${same("workerdStatus") ? "same" : "**differs**"})`);
    checks.push(`actions emitted per pass: ${stats[CURRENT].actions} here, ${stats[BASE].actions} at ${BASE} (the delivery policy, reconciliation and deadline jitter changed since, so they may differ)`);
  }
  const md = [
    notMeasured
      ? `**${BASE} not measured in this run**: ${notMeasured}. This tree's figures are below; the ratios need the baseline.`
      : `${BASE} (${base.commit}) was ${base.cached ? "taken from the cache" : "built in this run"} at \`${base.dir}\` with its own \`scripts/build.sh\` (its own cargo target dir, this checkout's node_modules: same esbuild and binaryen pins). Both trees measured in this run with the same code:`,
    "",
    table(BUDGET_HEADER, budgetRows(data)),
    "",
    `- Per event: ${PER_EVENT_ROUNDS} rounds, each one fresh Node process per tree in alternating order, ${WARMUP_PASSES} warm-up then ${PASSES} measured passes over the same ${EVENTS.toLocaleString("en-US")} seeded webhook bodies (section 3's stream and host loop: fire due timers, \`handle\` the body text, drain with \`pollAction\`, answer calls with ok), n = ${PER_EVENT_ROUNDS * PASSES} passes per tree, ns per event median (min–max); a round's ratio is that of its two processes' medians.`,
    `- Cold start, Node: ${NODE_SAMPLES} fresh processes per tree, alternating; from before the dynamic import of \`pkg/src/entry-node.js\` (reads and instantiates the wasm) to the first \`decodeStatus\` result (section 2's child).`,
    `- Cold start, workerd: ${WORKERD_SAMPLES} new Miniflare instances per tree, alternating, each running a worker that imports the tree's \`pkg/src/entry-workerd.js\` (initSync at import); \`new Miniflare\` to the first response carrying the decoded status.`,
    "- Ratios: one per back-to-back pair (a round, or a sample of each tree), median (min–max) over the pairs; the verdict reads that median. Weights are exact, their ratio a plain one.",
    `- Weight: each \`pkg/src/entry-*.js\` bundled with esbuild (minified, ESM) plus the tree's wasm, gzip -9 (section 1's method).`,
    ...checks.map((c) => `- Check: ${c}.`),
    "",
    "Where this tree's wasm bytes go: `twiggy top` (first 20 rows, shallow bytes before compression) of the same module with its names kept (`target/wawp_session_named.wasm`, written by scripts/build.sh).",
    "",
    top.rows ? table(["Item", "bytes"], top.rows) : `_${top.note}_`,
  ];
  return { markdown: md.join("\n"), data };
}
