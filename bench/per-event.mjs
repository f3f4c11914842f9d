// Item 3: decode a webhook body + step the machine, ns per event. Every contender gets the same
// seeded webhook stream, the same host loop (fire due timers, handle, drain, answer each call with
// an ok result), warm-up passes, then measured passes; each contender runs in fresh Node processes,
// interleaved round-robin so that machine noise hits all of them alike.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { summarize, fmtStat, ratio, table, errorLine } from "./lib/stats.mjs";

const SELF = fileURLToPath(import.meta.url);
const EVENTS = 10_000;
const WARMUP_PASSES = 2;
const PASSES = 4;
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
  const t0 = performance.now();
  for (let i = 0; i < bodies.length; i++) {
    const now = times[i];
    machine.advance(now);
    actions += drain(machine, now);
    machine.handle({ type: "status", input: bodies[i] }, now);
    actions += drain(machine, now);
  }
  return { nsPerEvent: ((performance.now() - t0) * 1e6) / bodies.length, actions };
}

async function child(name) {
  const { CONTENDERS } = await import("./lib/contenders.mjs");
  const { webhookStream } = await import("./lib/workload.mjs");
  const create = await CONTENDERS[name]();
  const { bodies, times } = webhookStream(EVENTS);
  for (let i = 0; i < WARMUP_PASSES; i++) pass(create, bodies, times);
  const results = [];
  for (let i = 0; i < PASSES; i++) results.push(pass(create, bodies, times));
  process.stdout.write(JSON.stringify(results));
}

export async function run({ log }) {
  const names = ["wawp-session", "wawp-session drainActions", "xstate-v5", "js-switch"];
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  const actions = {};
  const errors = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) {
      if (errors[name]) continue;
      const r = spawnSync(process.execPath, [SELF, "child", name], { encoding: "utf8", timeout: 120_000 });
      if (r.status !== 0) {
        errors[name] = r.error?.message ?? errorLine(r.stderr);
        log(`per-event ${name}: ${errors[name]}`);
        continue;
      }
      for (const p of JSON.parse(r.stdout)) {
        samples[name].push(p.nsPerEvent);
        actions[name] = p.actions;
      }
      log(`per-event ${name} round ${round + 1}: ${fmtStat(summarize(samples[name]), 0)} ns/event`);
    }
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
      "(medians of this run). The action counts of xstate-v5 and js-switch must be equal (same rules); ours follows the full rule set of issue 2 (debounce, reconciliation), so its count may differ.",
  ];
  return { markdown: md.join("\n"), data: { stats, actions, errors, events: EVENTS } };
}

if (process.argv[2] === "child") await child(process.argv[3]);
