// Item 2: cold start. Node: fresh `node` processes that import the package's node entry (which
// instantiates the wasm) and decode a first status; the XState contender imports XState and
// steps a fresh actor with the same body. workerd: a new Miniflare per sample, timed from
// `new Miniflare` to ready and to the first decode response, plus the in-worker instantiate and
// decode times from performance.now() (workerd only advances its clock on I/O, so these may read 0).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import { build } from "esbuild";
import { ENTRIES, ROOT, entryFile } from "./lib/package.mjs";
import { summarize, fmtStat, ratio, table, errorLine } from "./lib/stats.mjs";
import { webhookStream } from "./lib/workload.mjs";

const SELF = fileURLToPath(import.meta.url);
const NODE_SAMPLES = 15;
const WORKERD_SAMPLES = 5;
const BODY = webhookStream(1).bodies[0];

/** One fresh process; kind `package` with a pkg dir imports another tree's build (bench/baseline.mjs). */
async function nodeChild(kind, pkgDir) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const out = {};
  if (kind === "wawp-session" || kind === "package") {
    const pkg = await import(kind === "package" ? pathToFileURL(entryFile("node", pkgDir)).href : pathToFileURL(ENTRIES.node).href);
    const t1 = performance.now();
    const report = pkg.decodeStatus(BODY);
    const t2 = performance.now();
    const cpu = process.cpuUsage(cpu0); // import + first decode, in CPU time (see per-event.mjs)
    out.firstDecodedCpuMs = (cpu.user + cpu.system) / 1000;
    const machine = new pkg.LifecycleMachine({});
    machine.handle({ type: "status", input: BODY }, Date.now());
    machine.drainActions();
    const t3 = performance.now();
    Object.assign(out, { importMs: t1 - t0, firstDecodeMs: t2 - t1, firstStepMs: t3 - t2, status: report.status });
  } else if (kind === "xstate-v5") {
    const { createXStateLifecycle } = await import("./contenders/xstate-lifecycle.mjs");
    const { decodeStatusJs } = await import("./contenders/decode.mjs");
    const t1 = performance.now();
    const report = decodeStatusJs(BODY);
    const t2 = performance.now();
    const machine = createXStateLifecycle();
    machine.handle({ type: "status", input: BODY }, Date.now());
    while (machine.pollAction()) { /* drain */ }
    const t3 = performance.now();
    machine.stop(); // its real-clock watchdog would keep the process alive
    Object.assign(out, { importMs: t1 - t0, firstDecodeMs: t2 - t1, firstStepMs: t3 - t2, status: report.status });
  } else {
    Object.assign(out, { importMs: 0, firstDecodeMs: 0, firstStepMs: 0, status: "none" });
  }
  process.stdout.write(JSON.stringify(out));
}

/** Spawns one cold Node process of `kind` (see nodeChild) and returns its timings plus wall time. */
export function nodeColdStart(kind, pkgDir) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [SELF, "node-child", kind, ...(pkgDir ? [pkgDir] : [])], { encoding: "utf8", timeout: 30_000 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node cold start ${kind}: ${r.error?.message ?? errorLine(r.stderr)}`);
  return { ...JSON.parse(r.stdout), wallMs };
}

function nodeSamples(log) {
  const kinds = ["bare node (baseline)", "wawp-session", "xstate-v5"];
  const samples = Object.fromEntries(kinds.map((k) => [k, []]));
  for (let i = 0; i < NODE_SAMPLES; i++) {
    for (const kind of kinds) samples[kind].push(nodeColdStart(kind));
  }
  log(`coldstart node: ${NODE_SAMPLES} processes per contender`);
  return samples;
}

/** Bundles a worker (a file, or `{ contents, resolveDir }`); `.wasm` imports stay separate CompiledWasm modules. */
export async function bundleWorker(file) {
  const wasm = new Map();
  const result = await build({
    ...(typeof file === "string" ? { entryPoints: [file] } : { stdin: { ...file, loader: "js" } }), bundle: true, write: false, format: "esm", platform: "neutral", target: "es2022",
    conditions: ["workerd", "worker", "browser"], mainFields: ["module", "main"], logLevel: "silent",
    plugins: [{
      name: "wasm-modules",
      setup(b) {
        b.onResolve({ filter: /\.wasm$/ }, (args) => {
          const path = join(args.resolveDir, args.path);
          wasm.set(basename(path), path);
          return { path: `./${basename(path)}`, external: true };
        });
      },
    }],
  });
  return { script: result.outputFiles[0].text, wasm: [...wasm].map(([name, path]) => ({ name, path })) };
}

/**
 * One new Miniflare (a new workerd process) running the bundled worker, timed from `new Miniflare`
 * to ready and to the first POST of the webhook body answered with its decoded status.
 */
export async function workerdColdStart({ script, wasm }, name) {
  const { Miniflare, Log, LogLevel } = await import("miniflare");
  const modules = [{ type: "ESModule", path: "/bench-worker/worker.mjs", contents: script },
    ...wasm.map(({ name: n, path }) => ({ type: "CompiledWasm", path: `/bench-worker/${n}`, contents: readFileSync(path) }))];
  const t0 = performance.now();
  const mf = new Miniflare({ modules, modulesRoot: "/bench-worker", compatibilityDate: "2025-09-01", cf: false,
    host: "127.0.0.1", port: 0, log: new Log(LogLevel.WARN) });
  try {
    await mf.ready;
    const t1 = performance.now();
    const res = await mf.dispatchFetch("http://bench.invalid/decode", { method: "POST", body: BODY });
    const json = await res.json();
    const t2 = performance.now();
    if (res.status !== 200) throw new Error(`${name}: HTTP ${res.status}`);
    return { readyMs: t1 - t0, firstResponseMs: t2 - t1, totalMs: t2 - t0, ...json };
  } finally {
    await mf.dispose();
  }
}

async function workerdSamples(log) {
  const workers = [["empty worker (baseline)", "coldstart-empty.mjs"], ["wawp-session (workerd entry)", "coldstart-ours.mjs"],
    ["wawp-session (initSync timed in the first request)", "coldstart-ours-lazy.mjs"], ["xstate-v5", "coldstart-xstate.mjs"]];
  const bundles = {};
  for (const [name, file] of workers) bundles[name] = await bundleWorker(join(ROOT, "bench", "workers", file));
  const samples = Object.fromEntries(workers.map(([name]) => [name, []]));
  for (let i = 0; i < WORKERD_SAMPLES; i++) {
    for (const [name] of workers) samples[name].push(await workerdColdStart(bundles[name], name));
  }
  log(`coldstart workerd: ${WORKERD_SAMPLES} Miniflare starts per worker`);
  return samples;
}

const stat = (xs, key) => summarize(xs.map((x) => x[key]));

export async function run({ log }) {
  const node = nodeSamples(log);
  const nodeRows = Object.entries(node).map(([kind, xs]) => [kind, fmtStat(stat(xs, "wallMs"), 1), fmtStat(stat(xs, "importMs"), 2),
    fmtStat(stat(xs, "firstDecodeMs"), 3), fmtStat(stat(xs, "firstStepMs"), 3)]);
  const importOurs = stat(node["wawp-session"], "importMs").median;
  const importX = stat(node["xstate-v5"], "importMs").median;
  const wf = await workerdSamples(log);
  const wRows = Object.entries(wf).map(([name, xs]) => [name, fmtStat(stat(xs, "readyMs"), 0), fmtStat(stat(xs, "firstResponseMs"), 1),
    fmtStat(stat(xs, "totalMs"), 0), xs[0]?.instantiateMs === undefined ? "–" : fmtStat(stat(xs, "instantiateMs"), 3),
    fmtStat(stat(xs, "decodeMs"), 3), String(xs[0]?.status ?? "n/a")]);
  const ready = (n) => stat(wf[n], "totalMs").median;
  const md = [
    `**Node** (${process.version}): ${NODE_SAMPLES} fresh \`node\` processes per contender, interleaved. "import" is the dynamic import of the entry ` +
      "(for us: reading and instantiating the wasm), \"first decode\" decodes one WAHA webhook body, \"first step\" creates a machine and steps it with that body (draining its actions). " +
      "Process wall time is spawn to exit as seen by the parent. All in ms.",
    "",
    table(["Contender", "process wall", "import", "first decode", "first machine step"], nodeRows),
    "",
    `Import: wawp-session ${ratio(importOurs, importX)} the XState contender (medians).`,
    "",
    `**workerd** (miniflare 4.20260426.0): ${WORKERD_SAMPLES} new Miniflare instances per worker, interleaved; "ready" is \`new Miniflare\` → \`await mf.ready\` ` +
      "(workerd process start, module compile, top-level evaluation), \"first response\" the first POST that decodes the body. In-worker times come from performance.now(), " +
      "whose resolution in workerd is coarse (whole ms here; on Cloudflare it only advances on I/O), so they are upper bounds at ms granularity and a 0 means below the resolution.",
    "",
    table(["Worker", "ready ms", "first response ms", "total ms", "in-worker initSync ms", "in-worker decode ms", "decoded status"], wRows),
    "",
    `Total to first decoded response: wawp-session ${ratio(ready("wawp-session (workerd entry)"), ready("empty worker (baseline)"))} the empty worker, ` +
      `${ratio(ready("wawp-session (workerd entry)"), ready("xstate-v5"))} the XState worker (medians).`,
  ];
  return { markdown: md.join("\n"), data: { node, workerd: wf } };
}

if (process.argv[2] === "node-child") await nodeChild(process.argv[3], process.argv[4]);
