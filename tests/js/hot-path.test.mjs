// The machine's hot path in pkg/src/bindings.js (status text straight to the decoder, text-free
// actions as template indexes) against the glue's general path (event → JSON text → Rust,
// action → JSON text → JSON.parse): the same seeded stream through both must give the same
// action trace, status and snapshot. The general path is a second, unpatched instance of the
// glue module (another module URL), so both run the same built wasm.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { pkg } from "./helpers.mjs";

const wasmUrl = new URL("../../pkg/dist/wasm/wawp_session_bg.wasm", import.meta.url);
const general = await import(new URL("../../pkg/dist/wasm/wawp_session.js?general-path", import.meta.url).href);
general.initSync({ module: new WebAssembly.Module(readFileSync(wasmUrl)) });

const ME = "11111111111@c.us";
const OTHER = "22222222222@c.us";
const STATUSES = ["STARTING", "SCAN_QR_CODE", "WORKING", "WORKING", "FAILED", "STOPPED", "LOGOUT", "working ", "READY"];
const OPS = ["start", "restart", "stop", "logout", "info", "me"];

function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Webhook bodies of both shapes, bare names, sends, call results and user events, seeded. */
function eventStream(count, seed) {
  const rand = rng(seed);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const events = [];
  let t = Date.UTC(2026, 10, 24);
  for (let i = 0; i < count; i++) {
    t += Math.floor(rand() * 40_000);
    const status = pick(STATUSES);
    const r = rand();
    let event;
    if (r < 0.35) {
      const me = status.startsWith("WORKING") ? { id: rand() < 0.8 ? ME : OTHER, pushName: "Tëst \"q\"" } : null;
      event = { type: "status", input: JSON.stringify({ id: `evt_${i}`, timestamp: t, event: "session.status", session: "default", me, payload: { status, statuses: [{ status: "STARTING", timestamp: t - 4000 }, { status, timestamp: t }] } }) };
    } else if (r < 0.5) {
      event = { type: "status", input: JSON.stringify({ instance_id: "3EB0", status, ts: Math.floor(t / 1000), qr: "2@x\\y\n" }) };
    } else if (r < 0.58) {
      event = { type: "status", input: status };
    } else if (r < 0.7) {
      event = { type: "send", id: `msg-${i}-é` };
    } else if (r < 0.9) {
      event = rand() < 0.7
        ? { type: "result", op: pick(OPS), ok: true }
        : { type: "result", op: pick(OPS), ok: false, error: pick(["server", "rate_limited", "unauthorized", "not_found"]), retryAfterMs: 1000 };
    } else {
      event = { type: pick(["user_retry", "user_start", "warm_boot", "user_stop"]) };
    }
    events.push({ event, t });
  }
  return events;
}

/** Runs the stream as a host does: fire due timers, handle, drain; returns everything observed. */
function trace(machine, events) {
  const out = [];
  const drain = () => {
    for (let a = machine.pollAction(); a !== undefined; a = machine.pollAction()) out.push(JSON.stringify(a));
  };
  for (const { event, t } of events) {
    for (let due = machine.pollTimeout(); due !== undefined && due <= t; due = machine.pollTimeout()) {
      machine.handle({ type: "timeout" }, t);
      drain();
    }
    machine.handle(event, t);
    drain();
    out.push(`status=${machine.status} queued=${machine.queuedSends}`);
  }
  out.push(JSON.stringify(machine.snapshot()));
  return out;
}

for (const [name, options] of [["default options (seeded: the package seeds unseeded machines randomly)", { seed: 7 }], ["expected account, no debounce", { expectedJid: ME, debounceMs: 0, seed: 7 }]]) {
  test(`hot path and general path give the same trace (${name})`, () => {
    const events = eventStream(4000, name.length);
    const fast = trace(new pkg.LifecycleMachine(options), events);
    const slow = trace(new general.LifecycleMachine(options), events);
    assert.ok(fast.some((line) => line.includes('"release_send"')), "the stream exercises parked (text-carrying) actions");
    assert.ok(fast.some((line) => line.includes('"type":"call"')), "the stream exercises template actions");
    assert.equal(fast.length, slow.length);
    const firstDiff = fast.findIndex((line, i) => line !== slow[i]);
    assert.equal(firstDiff, -1, `first difference: ${fast[firstDiff]} vs ${slow[firstDiff]}`);
  });
}

test("drainActions matches pollAction, and every action object is the caller's own", () => {
  const events = eventStream(600, 5);
  const polled = trace(new pkg.LifecycleMachine({ seed: 7 }), events).filter((l) => l.startsWith("{\"type\""));
  const machine = new pkg.LifecycleMachine({ seed: 7 });
  const drained = [];
  for (const { event, t } of events) {
    for (let due = machine.pollTimeout(); due !== undefined && due <= t; due = machine.pollTimeout()) {
      machine.handle({ type: "timeout" }, t);
      for (const a of machine.drainActions()) drained.push(JSON.stringify(a));
    }
    machine.handle(event, t);
    for (const a of machine.drainActions()) drained.push(JSON.stringify(a));
  }
  assert.deepEqual(drained, polled);

  const m = new pkg.LifecycleMachine({ seed: 7 });
  m.handle({ type: "status", input: "STOPPED" }, 1000);
  m.handle({ type: "user_start" }, 1000);
  const first = m.drainActions();
  const call = first.find((a) => a.type === "call");
  assert.ok(call, JSON.stringify(first));
  call.op = "mutated";
  m.handle({ type: "result", op: "start", ok: false, error: "server" }, 2000);
  m.handle({ type: "user_retry" }, 3000);
  for (const a of m.drainActions()) assert.notEqual(a.op, "mutated");
});

test("a status event with a non-string input still takes the general path and its errors", () => {
  const m = new pkg.LifecycleMachine({ seed: 7 });
  assert.throws(() => m.handle({ type: "status", input: "{broken" }, 1), { code: "invalid_payload" });
  assert.throws(() => m.handle({ type: "status", input: "  " }, 1), { code: "invalid_payload" });
  assert.throws(() => m.handle({ type: "status" }, 1), { code: "invalid_payload" });
  m.handle({ type: "status", input: { status: "WORKING" } }, 2);
  assert.equal(m.status, "WORKING");
});

test("uiActionFor (index + memo) agrees with the decoded report for every status and odd input", () => {
  const names = ["STOPPED", "STARTING", "SCAN_QR_CODE", "WORKING", "FAILED", "LOGOUT", "DISCONNECTED", "DELETED",
    "PASSKEY_REQUIRED", "PASSKEY_CONFIRMATION_REQUIRED", "working", " Failed ", "READY", "é", "x".repeat(5000)];
  const seen = new Set();
  for (let round = 0; round < 2; round++) {
    for (const name of names) {
      const expected = pkg.decodeStatus(name).uiAction;
      assert.equal(pkg.uiActionFor(name), expected, name.slice(0, 20));
      seen.add(expected);
    }
  }
  for (let i = 0; i < 100; i++) assert.equal(pkg.uiActionFor(`UNSEEN_${i}`), "inspect"); // past the memo's bound
  assert.equal(seen.size, 8, [...seen].join());
  assert.equal(pkg.uiActionFor(""), "inspect");
  assert.throws(() => pkg.uiActionFor(7), { code: "invalid_option" });
});

test("object inputs (reports, info answers, arrays) take the fast path with the general path's results", () => {
  const events = eventStream(3000, 9).map(({ event, t }) =>
    event.type === "status" && event.input.startsWith("{") ? { event: { type: "status", input: JSON.parse(event.input) }, t } : { event, t });
  assert.ok(events.some(({ event }) => typeof event.input === "object"));
  const fast = trace(new pkg.LifecycleMachine({ seed: 7 }), events);
  const slow = trace(new general.LifecycleMachine({ seed: 7 }), events);
  const firstDiff = fast.findIndex((line, i) => line !== slow[i]);
  assert.equal(firstDiff, -1, `first difference: ${fast[firstDiff]} vs ${slow[firstDiff]}`);

  const report = pkg.decodeStatus('{"status":"WORKING","me":{"id":"1@c.us"},"timestamp":5}');
  const a = new pkg.LifecycleMachine({ seed: 7 });
  const b = new general.LifecycleMachine({ seed: 7 });
  for (const input of [report, [{ status: "STARTING" }, { status: "FAILED" }], { status: "STOPPED", environment: { x: 1 } }]) {
    a.handle({ type: "status", input }, 10);
    b.handle({ type: "status", input }, 10);
    assert.deepEqual(a.drainActions(), b.drainActions());
    assert.equal(a.status, b.status);
  }
  const cyclic = { status: "WORKING" };
  cyclic.self = cyclic;
  for (const input of [cyclic, { status: 1n }, {}, null, 5, true, []]) {
    let expected;
    try { b.handle({ type: "status", input }, 11); } catch (e) { expected = e; }
    assert.ok(expected, `the general path refuses ${typeof input}`);
    assert.throws(() => a.handle({ type: "status", input }, 11), (e) => e.code === expected.code && e instanceof pkg.WawpError);
  }
});
