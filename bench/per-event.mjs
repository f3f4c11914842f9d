// Item 3: decode a webhook body + step the machine, ns per event. Every contender gets the same
// seeded webhook stream, the same host loop (fire due timers, handle, drain, answer each call with
// an ok result), warm-up passes, then measured passes; each contender runs in fresh Node processes,
// interleaved round-robin so that machine noise hits all of them alike.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { summarize, fmtStat, ratio, table, errorLine } from "./lib/stats.mjs";
import { buildRustBench, CRATE } from "./lib/cargo.mjs";

const SELF = fileURLToPath(import.meta.url);
export const EVENTS = 10_000;
export const WARMUP_PASSES = 2;
export const PASSES = 4;
const ROUNDS = 3;

function drain(machine, now) {
  let count = 0;
  let action;
  while ((action = machine.pollAction()) !== undefined && action !== null) {
    count += 1;
    if (action.type === "call") machine.handle({ type: "result", op: action.op, ok: true }, now);
  }
  return count;
}

function pass(create, bodies, times) {
  const machine = create();
  let actions = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < bodies.length; i++) {
    const now = times[i];
    machine.advance(now);
    actions += drain(machine, now);
    machine.handle({ type: "status", input: bodies[i] }, now);
    actions += drain(machine, now);
  }
  const nsPerEvent = ((performance.now() - t0) * 1e6) / bodies.length;
  // The process's CPU time too: unlike wall time it does not count waiting for a core that the
  // shared machine's other jobs hold (bench/baseline.mjs judges issue 13's budget on it).
  const cpu = process.cpuUsage(cpu0);
  return { nsPerEvent, cpuNsPerEvent: ((cpu.user + cpu.system) * 1e3) / bodies.length, actions };
}

/** Where the wasm path's time goes: each piece over the same stream, ns per event. */
async function breakdownChild() {
  const { loadPackage } = await import("./lib/package.mjs");
  const { webhookStream } = await import("./lib/workload.mjs");
  const pkg = await loadPackage("node");
  const { bodies, times } = webhookStream(EVENTS);
  const reports = bodies.map((b) => pkg.decodeStatus(b));
  const time = (fn) => {
    const t0 = performance.now();
    fn();
    return ((performance.now() - t0) * 1e6) / bodies.length;
  };
  const pieces = {
    "JSON.parse of the body (JS baseline)": () => bodies.forEach((b) => JSON.parse(b)),
    "decodeStatus(body)": () => bodies.forEach((b) => pkg.decodeStatus(b)),
    "machine.handle(status with an already decoded StatusReport) + drainActions()": () => {
      const m = new pkg.LifecycleMachine({});
      reports.forEach((r, i) => {
        m.handle({ type: "status", input: r }, times[i]);
        m.drainActions();
      });
    },
    "machine.pollTimeout()": () => {
      const m = new pkg.LifecycleMachine({});
      bodies.forEach(() => m.pollTimeout());
    },
  };
  const out = {};
  for (const [name, fn] of Object.entries(pieces)) {
    for (let i = 0; i < WARMUP_PASSES; i++) time(fn);
    out[name] = Array.from({ length: PASSES }, () => time(fn));
  }
  process.stdout.write(JSON.stringify(out));
}

/** One process's passes; `package <pkg dir>` measures another tree's build (bench/baseline.mjs). */
async function child(name, pkgDir) {
  const { CONTENDERS, packageContender } = await import("./lib/contenders.mjs");
  const { webhookStream } = await import("./lib/workload.mjs");
  const create = name === "package" ? await packageContender(pkgDir) : await CONTENDERS[name]();
  const { bodies, times } = webhookStream(EVENTS);
  for (let i = 0; i < WARMUP_PASSES; i++) pass(create, bodies, times);
  const results = [];
  for (let i = 0; i < PASSES; i++) results.push(pass(create, bodies, times));
  process.stdout.write(JSON.stringify(results));
}

/**
 * The two JS contenders implement the same rules: over the benchmark stream with sends mixed in
 * (every 7th event) their full action traces must be identical. Returns the trace length.
 */
async function crossCheckJsContenders() {
  const { CONTENDERS } = await import("./lib/contenders.mjs");
  const { webhookStream } = await import("./lib/workload.mjs");
  const { bodies, times } = webhookStream(EVENTS);
  const traces = [];
  for (const name of ["xstate-v5", "js-switch"]) {
    const machine = (await CONTENDERS[name]())();
    const trace = [];
    const drainInto = (now) => {
      let a;
      while ((a = machine.pollAction()) !== undefined && a !== null) {
        trace.push(JSON.stringify(a));
        if (a.type === "call") machine.handle({ type: "result", op: a.op, ok: true }, now);
      }
    };
    for (let i = 0; i < bodies.length; i++) {
      machine.advance(times[i]);
      drainInto(times[i]);
      machine.handle(i % 7 === 3 ? { type: "send", id: `s${i}` } : { type: "status", input: bodies[i] }, times[i]);
      drainInto(times[i]);
    }
    traces.push(trace);
  }
  const [a, b] = traces;
  const firstDiff = a.findIndex((x, i) => x !== b[i]);
  if (a.length !== b.length || firstDiff >= 0) {
    throw new Error(`xstate-v5 and js-switch disagree at action ${firstDiff}: ${a[firstDiff]} vs ${b[firstDiff]}`);
  }
  return a.length;
}

const NATIVE = "wawp-session core, native Rust (reference: no wasm, no JS)";

/** The same stream for the native binary: one "time<TAB>body" per line. */
async function nativeInput() {
  const { webhookStream } = await import("./lib/workload.mjs");
  const { bodies, times } = webhookStream(EVENTS);
  const dir = mkdtempSync(join(tmpdir(), "wawp-bench-"));
  writeFileSync(join(dir, "events.tsv"), bodies.map((b, i) => `${times[i]}\t${b}`).join("\n"));
  return { dir, file: join(dir, "events.tsv") };
}

export async function run({ log }) {
  const names = ["wawp-session", "wawp-session drainActions", "xstate-v5", "js-switch", NATIVE];
  const checkedActions = await crossCheckJsContenders();
  log(`per-event: xstate-v5 and js-switch produce identical traces (${checkedActions} actions)`);
  buildRustBench();
  const native = await nativeInput();
  try {
    const result = measure(names, native.file, log);
    result.markdown += `\n\nFaithfulness check: over the same stream with a send every 7th event, xstate-v5 and js-switch emitted identical action traces (${checkedActions} actions).`;
    return result;
  } finally {
    rmSync(native.dir, { recursive: true, force: true });
  }
}

function measure(names, nativeFile, log) {
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  const actions = {};
  const errors = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) {
      if (errors[name]) continue;
      const r = name === NATIVE
        ? spawnSync(join(CRATE, "target", "release", "per_event"), [nativeFile, String(WARMUP_PASSES), String(PASSES)], { encoding: "utf8", timeout: 120_000 })
        : spawnSync(process.execPath, [SELF, "child", name], { encoding: "utf8", timeout: 120_000 });
      if (r.status !== 0) {
        errors[name] = r.error?.message ?? errorLine(r.stderr);
        log(`per-event ${name}: ${errors[name]}`);
        continue;
      }
      const out = JSON.parse(r.stdout);
      const passes = Array.isArray(out) ? out : out.nsPerEvent.map((nsPerEvent) => ({ nsPerEvent, actions: out.actions }));
      for (const p of passes) {
        samples[name].push(p.nsPerEvent);
        actions[name] = p.actions;
      }
      log(`per-event ${name} round ${round + 1}: ${fmtStat(summarize(samples[name]), 0)} ns/event`);
    }
  }
  const breakdown = {};
  for (let round = 0; round < ROUNDS; round++) {
    const r = spawnSync(process.execPath, [SELF, "breakdown"], { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) {
      log(`per-event breakdown: ${r.error?.message ?? errorLine(r.stderr)}`);
      break;
    }
    for (const [piece, xs] of Object.entries(JSON.parse(r.stdout))) (breakdown[piece] ??= []).push(...xs);
  }
  const stats = Object.fromEntries(names.map((n) => [n, summarize(samples[n])]));
  const ours = stats["wawp-session"].median;
  const rows = names.map((n) => [n, errors[n] ? `failed: ${errors[n]}` : fmtStat(stats[n], 0),
    errors[n] ? "n/a" : fmtStat({ n: 1, median: stats[n].median / 1000 }, 2), String(actions[n] ?? "n/a"),
    ratio(stats[n].median, ours)]);
  const md = [
    `${EVENTS.toLocaleString("en-US")} webhook bodies (seeded; WAHA envelope and Wawp shapes, ~330 B each, with duplicates and reordered deliveries), ` +
      `${WARMUP_PASSES} warm-up passes then ${PASSES} measured passes per process, ${ROUNDS} fresh processes per contender interleaved ` +
      `(n = ${PASSES * ROUNDS} passes). Each event: fire due timers, decode + step, drain actions, answer calls with ok.`,
    "",
    table(["Contender", "ns/event median (min–max)", "µs/event", "actions emitted per pass", "time vs wawp-session"], rows),
    "",
    `XState v5 / wawp-session: **${ratio(stats["xstate-v5"].median, ours)}**; js-switch / wawp-session: ${ratio(stats["js-switch"].median, ours)}; ` +
      `XState v5 / wawp-session drainActions (the batch path: every pending action in one boundary crossing): ${ratio(stats["xstate-v5"].median, stats["wawp-session drainActions"].median)} ` +
      "(medians of this run). The action counts of xstate-v5 and js-switch must be equal (same rules); ours follows the full rule set of issue 2 (debounce, reconciliation), so its count may differ from theirs, " +
      `but must equal the native core's (same machine, same events): ` +
      `${actions["wawp-session"] === actions[NATIVE] && actions["xstate-v5"] === actions["js-switch"] ? "both checks hold in this run" : "**a check failed in this run**"}. Wasm path / native core: ${ratio(ours, stats[NATIVE].median)}, what crossing into wasm and back costs per event.`,
  ];
  const pieces = Object.entries(breakdown);
  if (pieces.length) {
    md.push("", `Where the wasm path's time goes (same stream, ${ROUNDS} processes × ${PASSES} passes, ns per event):`, "",
      table(["Piece", "ns/event median (min–max)"], pieces.map(([piece, xs]) => [piece, fmtStat(summarize(xs), 0)])));
  }
  return { markdown: md.join("\n"), data: { stats, actions, errors, events: EVENTS, breakdown: Object.fromEntries(pieces.map(([k, xs]) => [k, summarize(xs)])) } };
}

if (process.argv[2] === "child") await child(process.argv[3], process.argv[4]);
if (process.argv[2] === "breakdown") await breakdownChild();
