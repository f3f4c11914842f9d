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
import { wasmBreakdown } from "./lib/wasm-breakdown.mjs";
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

/**
 * The timed measures: `samples(m, tree)` lists one figure per sample (a per-event pass, a cold
 * process, a Miniflare start); `pairs` says what a back-to-back pair is (a round of one process
 * per tree, or one sample of each). CPU time is the process's own (user + system): on the shared
 * machine wall time also counts waiting for a core the other jobs hold, CPU time does not, and
 * on a quiet machine the two agree for this single-threaded work. workerd runs in its own
 * process, so its cold start is wall time only.
 */
const TIMED = [
  { key: "perEventCpuNs", unit: "ns", digits: 0, pairs: "rounds", samples: (m, t) => m.perEvent[t].flat().map((p) => p.cpuNsPerEvent) },
  { key: "perEventNs", unit: "ns", digits: 0, pairs: "rounds", samples: (m, t) => m.perEvent[t].flat().map((p) => p.nsPerEvent) },
  { key: "nodeFirstDecodedCpuMs", unit: "ms", digits: 2, samples: (m, t) => m.node[t].map((s) => s.firstDecodedCpuMs) },
  { key: "nodeFirstDecodedMs", unit: "ms", digits: 2, samples: (m, t) => m.node[t].map((s) => s.importMs + s.firstDecodeMs) },
  { key: "workerdFirstDecodedMs", unit: "ms", digits: 0, samples: (m, t) => m.workerd[t].map((s) => s.totalMs) },
];

/** The per-event passes of one round's process, for the round pairing. */
const roundMedian = (passes, field) => summarize(passes.map((p) => p[field])).median;

async function measure(trees, log) {
  const perEvent = Object.fromEntries(trees.map((t) => [t.name, []])); // per tree: one array of passes per round
  for (let round = 0; round < PER_EVENT_ROUNDS; round++) {
    for (const t of alternate(trees, round)) perEvent[t.name].push(perEventPasses(t.pkg));
    log(`baseline per-event round ${round + 1}: ${trees.map((t) => `${t.name} ${Math.round(roundMedian(perEvent[t.name][round], "nsPerEvent"))} ns ` +
      `(CPU ${Math.round(roundMedian(perEvent[t.name][round], "cpuNsPerEvent"))})`).join(", ")}`);
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
  return { perEvent, node, workerd, weight };
}

/** Per tree: each timed measure's summary; per measure: the summary of its pairs' ratios. */
function summaries(m) {
  const stats = {};
  for (const name of Object.keys(m.perEvent)) {
    stats[name] = Object.fromEntries(TIMED.map((x) => [x.key, summarize(x.samples(m, name))]));
    Object.assign(stats[name], {
      actions: m.perEvent[name][0]?.[0]?.actions ?? null,
      nodeStatus: m.node[name][0]?.status ?? null,
      workerdStatus: m.workerd[name][0]?.status ?? null,
    });
  }
  const ratios = {};
  if (m.perEvent[BASE]) {
    for (const x of TIMED) {
      const field = x.key === "perEventCpuNs" ? "cpuNsPerEvent" : "nsPerEvent";
      const list = x.pairs === "rounds"
        ? m.perEvent[CURRENT].map((passes, r) => roundMedian(passes, field) / roundMedian(m.perEvent[BASE][r], field))
        : ((cur, base) => cur.map((c, i) => c / base[i]))(x.samples(m, CURRENT), x.samples(m, BASE));
      ratios[x.key] = summarize(list);
    }
  }
  return { stats, ratios };
}

const bytes = (n) => `${n.toLocaleString("en-US")} B`;
const verdict = (ok) => (ok === null ? "not measured" : ok ? "met" : "**not met**");

/** One timed measure as table cells: both trees' `median (min–max)` and the pairs' ratio. */
function timed(data, key) {
  const x = TIMED.find((t) => t.key === key);
  const cur = data.stats?.[CURRENT]?.[key];
  const base = data.stats?.[BASE]?.[key];
  const ratios = data.ratios?.[key];
  const r = Number.isFinite(ratios?.median) ? ratios.median : null;
  return { c: cur?.median, r, rText: r === null ? "n/a" : `${r.toFixed(2)}× (${ratios.min.toFixed(2)}–${ratios.max.toFixed(2)})`,
    cText: cur ? `${fmtStat(cur, x.digits)} ${x.unit}` : "n/a", bText: base ? `${fmtStat(base, x.digits)} ${x.unit}` : data.notMeasured ? "not measured (section 9 says why)" : "n/a" };
}

/** `[budget, this tree, 44db905, ratio, verdict]` rows from a run's data (also the summary at the top). */
export function budgetRows(data) {
  if (!data?.weight) return [];
  const why = data.notMeasured ? "not measured (section 9 says why)" : "n/a";
  const rows = [];
  for (const [entry, e] of Object.entries(data.weight[CURRENT]?.entries ?? {})) {
    const b = data.weight[BASE]?.entries?.[entry];
    rows.push([`Weight of ${entry}, wasm + JS (bundled, minified, gzip) ≤ 80 KB (${bytes(BUDGETS.weightBytes)})`,
      e.total ? bytes(e.total.gzip) : `failed: ${e.error}`, b?.total ? bytes(b.total.gzip) : why,
      e.total && b?.total ? ratio(e.total.gzip, b.total.gzip) : "n/a", verdict(e.total ? e.total.gzip <= BUDGETS.weightBytes : false)]);
  }
  const pe = timed(data, "perEventCpuNs");
  rows.push([`Per event, decode + step (Node, CPU time) ≤ ${BUDGETS.perEventRatio.toFixed(2)}× 44db905`, pe.cText, pe.bText, pe.rText,
    verdict(pe.r === null ? null : pe.r <= BUDGETS.perEventRatio)]);
  rows.push([`Per event: aim ≤ ${(BUDGETS.perEventAimNs / 1000).toFixed(0)} µs (CPU time)`, pe.cText, pe.bText, "", verdict(Number.isFinite(pe.c) ? pe.c <= BUDGETS.perEventAimNs : null)]);
  for (const [key, label] of [["nodeFirstDecodedCpuMs", "Cold start, Node: import to first decoded status (CPU time)"],
    ["workerdFirstDecodedMs", "Cold start, workerd: new Miniflare to first decoded response (wall)"]]) {
    const p = timed(data, key);
    rows.push([`${label} ≤ ${BUDGETS.coldStartRatio.toFixed(2)}× 44db905`, p.cText, p.bText, p.rText,
      verdict(p.r === null ? null : p.r <= BUDGETS.coldStartRatio)]);
  }
  return rows;
}

export const BUDGET_HEADER = ["Budget (issue 13)", "this tree", `${BASE} (same run)`, "ratio (paired)", "verdict"];

/** The weight budget's miss (worst entry against 80 KB and against 44db905) and where the bytes came from. */
function whyWeight(data, base, breakdown) {
  const worst = (tree) => Object.entries(data.weight[tree]?.entries ?? {}).filter(([, e]) => e.total)
    .sort(([, x], [, y]) => y.total.gzip - x.total.gzip)[0];
  const cur = worst(CURRENT);
  if (!cur) return [];
  const [entry, e] = cur;
  const out = [`**Why the weight budget is missed.** The worst entry, ${entry}, weighs ${bytes(e.total.gzip)} gzip: ` +
    `${bytes(e.total.gzip - BUDGETS.weightBytes)} (${(100 * (e.total.gzip / BUDGETS.weightBytes - 1)).toFixed(0)} %) over the 80 KB budget, of which the wasm is ${bytes(data.weight[CURRENT].wasm.gzip)} and the JS ${bytes(e.js.gzip)}.`];
  const b = worst(BASE);
  if (b) {
    out[0] += ` 44db905's worst entry (${b[0]}) weighed ${bytes(b[1].total.gzip)} (wasm ${bytes(data.weight[BASE].wasm.gzip)}, JS ${bytes(b[1].js.gzip)}): ` +
      `this tree adds ${bytes(e.total.gzip - b[1].total.gzip)} gzip, ${bytes(data.weight[CURRENT].wasm.gzip - data.weight[BASE].wasm.gzip)} of it in the wasm.`;
  }
  if (breakdown.note) return [...out, "", `_Breakdown by crate: ${breakdown.note}_`];
  const news = breakdown.groups.filter((g) => g.base === 0);
  const newBytes = news.reduce((s, g) => s + g.current, 0);
  const grown = breakdown.totals.current - breakdown.totals.base;
  out.push("", `Where the wasm's bytes came from since 44db905, grouped by the crate or module each \`twiggy top\` row's name starts with ` +
    `(shallow bytes before compression; ${bytes(breakdown.totals.base)} → ${bytes(breakdown.totals.current)}, +${bytes(grown)}). ` +
    `Both modules were made the same way: each tree's cargo release wasm (44db905's from its cached build above, its code untouched) ` +
    `through \`scripts/named-wasm.sh\` (wasm-bindgen with the package's flags but the names kept, then wasm-opt with this tree's \`scripts/wasm-opt-flags.sh\` and -g), ` +
    `so the comparison is of code, not of optimizer settings (44db905 shipped with plain -Oz). ` +
    `Groups absent at 44db905 (${news.map((g) => g.group.replace(/ \(.*$/, "")).join(", ")}) add ${bytes(newBytes)}, ` +
    `${(100 * newBytes / grown).toFixed(0)} % of the growth: the design card's serde at every boundary and the HTTP client on gloo-net, ` +
    "plus the code they monomorphize into (Rust std rows: collections and drops of the new types; wasm-bindgen shims: the client's and driver's exports).", "",
    table(["Group", `${BASE} (bytes)`, "this tree (bytes)", "change"], breakdown.groups.map((g) => [g.group, g.base.toLocaleString("en-US"),
      g.current.toLocaleString("en-US"), `${g.change >= 0 ? "+" : ""}${g.change.toLocaleString("en-US")}`])),
    "", `The ${breakdown.growth.length} items that grew most (rows summed by name without the hash, like \`twiggy diff\` but pairing rebuilt functions; a function moved to another module counts as new):`, "",
    table(["Item", `${BASE} (bytes)`, "this tree (bytes)", "change"], breakdown.growth.map((g) => [g.item.replace(/\|/g, "\\|"),
      g.base.toLocaleString("en-US"), g.current.toLocaleString("en-US"), `+${g.change.toLocaleString("en-US")}`])));
  return out;
}

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
  const { stats, ratios } = summaries(m);
  const top = twiggyTop(20);
  const breakdown = base ? wasmBreakdown(base.dir) : { note: `no baseline: ${notMeasured}` };
  const data = { baseline: base && { commit: base.commit, cached: base.cached }, notMeasured, stats, ratios,
    weight: m.weight, raw: { perEvent: m.perEvent, node: m.node, workerd: m.workerd }, twiggyTop: top.rows ?? top.note, breakdown };
  const wall = [["perEventNs", "Per event, decode + step (Node)"], ["nodeFirstDecodedMs", "Cold start, Node: import to first decoded status"]]
    .map(([key, label]) => {
      const p = timed(data, key);
      return [label, p.cText, p.bText, p.rText];
    });
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
    "The same samples in wall-clock time (what also counts the waits for a core on this shared machine):",
    "",
    table(["Measure (wall clock)", "this tree", `${BASE} (same run)`, "ratio (paired)"], wall),
    "",
    `- Per event: ${PER_EVENT_ROUNDS} rounds, each one fresh Node process per tree in alternating order, ${WARMUP_PASSES} warm-up then ${PASSES} measured passes over the same ${EVENTS.toLocaleString("en-US")} seeded webhook bodies (section 3's stream and host loop: fire due timers, \`handle\` the body text, drain with \`pollAction\`, answer calls with ok), n = ${PER_EVENT_ROUNDS * PASSES} passes per tree, ns per event median (min–max); a round's ratio is that of its two processes' medians.`,
    `- Cold start, Node: ${NODE_SAMPLES} fresh processes per tree, alternating; from before the dynamic import of the tree's \`node\` export (this tree: \`pkg/dist/entry-node.js\`, bundled; 44db905: \`pkg/src/entry-node.js\`; it reads and instantiates the wasm) to the first \`decodeStatus\` result (section 2's child).`,
    `- Cold start, workerd: ${WORKERD_SAMPLES} new Miniflare instances per tree, alternating, each running a worker that imports the tree's \`pkg/src/entry-workerd.js\` (initSync at import); \`new Miniflare\` to the first response carrying the decoded status.`,
    "- Ratios: one per back-to-back pair (a round, or a sample of each tree), median (min–max) over the pairs; the verdict reads that median. Weights are exact, their ratio a plain one.",
    "- CPU time: the Node process's own user + system time (`process.cpuUsage()`) over the same span as the wall time. The verdicts read it because wall time on this shared 2-core machine also counts the waits for a core that the other jobs hold; on a quiet machine the two agree for this single-threaded work. workerd runs in a process of its own, so its cold start is judged on wall time.",
    `- Weight: each \`pkg/src/entry-*.js\` bundled with esbuild (minified, ESM) plus the tree's wasm, gzip -9 (section 1's method).`,
    ...checks.map((c) => `- Check: ${c}.`),
    "",
    ...whyWeight(data, base, breakdown),
    "",
    "Where this tree's wasm bytes go: `twiggy top` (first 20 rows, shallow bytes before compression) of the same module with its names kept (`target/wawp_session_named.wasm`, written by scripts/build.sh).",
    "",
    top.rows ? table(["Item", "bytes"], top.rows) : `_${top.note}_`,
  ];
  return { markdown: md.join("\n"), data };
}
