// Micro-benchmark of the wasm hot path against the BUILT package (run `npm run build` first):
// ns per call of decodeStatus, one status event through the machine (handle + drain), uiActionFor,
// and JSON.parse of the same bodies as the JS baseline. Bounded: fixed pass counts, one process.
//   node scripts/microbench.mjs [--events N] [--passes P] [--only SUBSTRING] [--pkg DIR]
// --pkg points at another copy of the package (an experimental build) instead of ./pkg.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import { webhookStream } from "../bench/lib/workload.mjs";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const EVENTS = arg("--events", 10_000);
const PASSES = arg("--passes", 7);
const WARMUP = 2;
const option = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const pkgDir = option("--pkg");
const pkg = await import(
  pkgDir ? pathToFileURL(resolve(pkgDir, "src/entry-node.js")).href : "../pkg/src/entry-node.js"
);

const { bodies, times } = webhookStream(EVENTS);
const reports = bodies.map((b) => pkg.decodeStatus(b));
const statusNames = ["WORKING", "STARTING", "SCAN_QR_CODE", "FAILED", "STOPPED"];

/** Median ns per item of `fn` over the measured passes (after warm-up passes). */
function measure(fn, items) {
  const samples = [];
  for (let p = 0; p < WARMUP + PASSES; p++) {
    const t0 = performance.now();
    fn();
    const ns = ((performance.now() - t0) * 1e6) / items;
    if (p >= WARMUP) samples.push(ns);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[samples.length >> 1], min: samples[0], max: samples[samples.length - 1] };
}

function drain(machine, now) {
  let count = 0;
  let action;
  while ((action = machine.pollAction()) !== undefined) {
    count += 1;
    if (action.type === "call") machine.handle({ type: "result", op: action.op, ok: true }, now);
  }
  return count;
}

/** The bench's per-event loop (bench/per-event.mjs): timers, handle a status, drain. */
function perEventLoop() {
  const machine = new pkg.LifecycleMachine({});
  let actions = 0;
  for (let i = 0; i < bodies.length; i++) {
    const now = times[i];
    let due;
    while ((due = machine.pollTimeout()) !== undefined && due <= now) machine.handle({ type: "timeout" }, now);
    actions += drain(machine, now);
    machine.handle({ type: "status", input: bodies[i] }, now);
    actions += drain(machine, now);
  }
  machine.free();
  return actions;
}

const cases = {
  "JSON.parse(body) (JS baseline)": [() => bodies.forEach((b) => JSON.parse(b)), bodies.length],
  "decodeStatus(body)": [() => bodies.forEach((b) => pkg.decodeStatus(b)), bodies.length],
  "handle({type:'status', input: body}) + drain": [
    () => {
      const m = new pkg.LifecycleMachine({});
      bodies.forEach((b, i) => {
        m.handle({ type: "status", input: b }, times[i]);
        drain(m, times[i]);
      });
      m.free();
    },
    bodies.length,
  ],
  "handle({type:'status', input: report}) + drain": [
    () => {
      const m = new pkg.LifecycleMachine({});
      reports.forEach((r, i) => {
        m.handle({ type: "status", input: r }, times[i]);
        drain(m, times[i]);
      });
      m.free();
    },
    bodies.length,
  ],
  "per-event loop of bench/per-event.mjs": [perEventLoop, bodies.length],
  "uiActionFor(name)": [
    () => {
      for (let i = 0; i < EVENTS; i++) pkg.uiActionFor(statusNames[i % statusNames.length]);
    },
    EVENTS,
  ],
  "pollAction() with nothing pending": [
    () => {
      const m = new pkg.LifecycleMachine({});
      for (let i = 0; i < EVENTS; i++) m.pollAction();
      m.free();
    },
    EVENTS,
  ],
};

const only = option("--only");
console.log(`node ${process.version}, ${EVENTS} events, ${WARMUP} warm-up + ${PASSES} measured passes (median, min-max ns per call)`);
for (const [name, [fn, items]] of Object.entries(cases)) {
  if (only && !name.includes(only)) continue;
  const { median, min, max } = measure(fn, items);
  console.log(`${name.padEnd(48)} ${median.toFixed(0).padStart(7)} ns  (${min.toFixed(0)}-${max.toFixed(0)})`);
}
