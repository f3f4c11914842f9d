// The built package's SessionDriver as a JS host drives it: effects out, events in, one timer at
// pollTimeout, view(), a shared RetryBudget, toJSON/fromJSON (also of a bare machine snapshot) and
// restored() in a "new process".

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ErrorCollector, pkg } from "./helpers.mjs";

const { SessionDriver, LifecycleMachine, RetryBudget, WawpError } = pkg;
const errors = new ErrorCollector();
const T0 = 1_764_000_000_000;
const OPTS = { seed: 7, debounceMs: 0, deadlineJitter: 0, failedRestartDelayMs: 1000 };

const types = (effects) => effects.map((e) => e.type);
const calls = (effects) => effects.filter((e) => e.type === "call").map((e) => e.op);

function working(opts = {}) {
  const driver = new SessionDriver({ ...OPTS, ...opts });
  driver.handle({ type: "warm_boot" }, T0);
  assert.deepEqual(calls(driver.drainEffects()), ["info"]);
  driver.handle({ type: "result", op: "info", ok: true, body: { status: "WORKING", server_name: "eu-1" } }, T0 + 5);
  driver.drainEffects();
  return driver;
}

test("a warm boot: call info, then the view shows what info said", () => {
  const driver = new SessionDriver(OPTS);
  driver.handle({ type: "warm_boot" }, T0);
  const first = [];
  for (let effect = driver.pollEffect(); effect !== undefined; effect = driver.pollEffect()) first.push(effect);
  assert.deepEqual(calls(first), ["info"]);
  assert.ok(types(first).includes("view"));
  assert.equal(driver.view().pendingOp, "info");
  driver.handle(
    { type: "result", op: "info", ok: true, body: { status: "WORKING", serverName: "eu-2", me: { id: "1@c.us", pushName: "Shop" } } },
    T0 + 10,
  );
  const effects = driver.drainEffects();
  assert.ok(effects.some((e) => e.type === "ui" && e.status === "WORKING" && e.uiAction === "connected"));
  const view = driver.view();
  assert.equal(view.status, "WORKING");
  assert.equal(view.uiAction, "connected");
  assert.equal(view.serverName, "eu-2");
  assert.deepEqual(view.me, { id: "1@c.us", pushName: "Shop" });
  assert.equal(view.report.status, "WORKING");
  assert.equal(view.pendingOp, null);
  assert.deepEqual(view.inFlight, []);
  assert.equal(view.statusSinceMs, T0 + 10);
  assert.equal(driver.status, "WORKING");
  assert.equal(typeof driver.pollTimeout(), "number");
});

test("a failed call with the client's message is the view's lastError", () => {
  const driver = new SessionDriver(OPTS);
  driver.handle({ type: "warm_boot" }, T0);
  driver.drainEffects();
  driver.handle({ type: "result", op: "info", ok: false, error: "server", httpStatus: 503, message: "info failed: HTTP 503" }, T0 + 1);
  assert.deepEqual(driver.view().lastError, { code: "server", message: "info failed: HTTP 503", op: "info", atMs: T0 + 1 });
  assert.ok(types(driver.drainEffects()).includes("view"));
  driver.noteError("qrImage", "network", "no answer", T0 + 2);
  assert.equal(driver.view().lastError.op, "qrImage");
  assert.deepEqual(types(driver.drainEffects()), ["view"]);
  assert.equal(errors.thrown(() => driver.noteError("qrImage", "nope", undefined, T0)).code, "invalid_option");
});

test("a shared RetryBudget: the second automatic restart is answered rate_limited without a call", () => {
  const budget = new RetryBudget(1, 0);
  const a = working({ budget });
  const b = working({ budget });
  for (const driver of [a, b]) {
    driver.handle({ type: "status", input: "FAILED" }, T0 + 100);
    driver.drainEffects();
  }
  a.handle({ type: "timeout" }, T0 + 2000);
  assert.deepEqual(calls(a.drainEffects()), ["restart"]);
  b.handle({ type: "timeout" }, T0 + 2000);
  const effects = b.drainEffects();
  assert.deepEqual(calls(effects), []);
  assert.ok(effects.some((e) => e.type === "result" && e.op === "restart" && e.ok === false && e.error === "rate_limited"));
  assert.equal(budget.tokens, 0, "the JS budget object is the one the drivers spent");
  assert.equal(errors.thrown(() => new SessionDriver({ budget: { trySpend() {} } })).code, "invalid_option");
});

test("observe: webhook bodies, WebhookEvents and names; other events skipped; garbage handles nothing", () => {
  const driver = new SessionDriver(OPTS);
  driver.observe({ event: "message", session: "a", payload: { body: "hi" } }, T0);
  assert.deepEqual(driver.drainEffects(), []);
  driver.observe(JSON.stringify([{ event: "message", payload: {} }, { event: "session.status", session: "a", payload: { status: "SCAN_QR_CODE", qr: "q1" } }]), T0 + 1);
  const effects = driver.drainEffects();
  assert.ok(types(effects).includes("read_qr"), "entering scan_qr asks for a QR image");
  assert.equal(driver.view().report.qr, "q1");
  driver.observe({ event: "session.status", report: pkg.decodeStatus({ status: "SCAN_QR_CODE", qr: "q2" }) }, T0 + 2);
  assert.ok(types(driver.drainEffects()).includes("read_qr"), "a rotated QR asks again");
  assert.equal(errors.thrown(() => driver.observe("{not json", T0 + 3)).code, "invalid_payload");
  assert.equal(errors.thrown(() => driver.observe([{ status: "WORKING" }, { name: "no status" }], T0 + 3)).code, "invalid_payload");
  assert.equal(driver.status, "SCAN_QR_CODE", "an input with one bad item handles none of it");
});

test("toJSON / fromJSON keep machine, view and in-flight calls; restored() answers what a restart lost", () => {
  const driver = working();
  driver.handle({ type: "send", id: "m1" }, T0 + 20);
  assert.ok(driver.drainEffects().some((e) => e.type === "release_send" && e.id === "m1"));
  driver.handle({ type: "user_stop" }, T0 + 30);
  assert.deepEqual(calls(driver.drainEffects()), ["stop"]);
  const stored = driver.toJSON();
  assert.equal(JSON.parse(stored).driver, 1);
  driver.free();

  const again = SessionDriver.fromJSON(stored);
  assert.deepEqual(again.view().inFlight, ["stop"]);
  assert.equal(again.view().serverName, "eu-1");
  again.restored(T0 + 60_000);
  const effects = again.drainEffects();
  assert.ok(effects.some((e) => e.type === "reject_send" && e.id === "m1" && e.code === "closed"));
  assert.deepEqual(again.view().inFlight, []);
  assert.equal(again.view().lastError, null);
});

test("fromJSON reads a bare LifecycleMachine snapshot (what Durable Objects stored before the driver)", () => {
  const fixture = readFileSync(new URL("../fixtures/machine-snapshot-v1.json", import.meta.url), "utf8");
  const driver = SessionDriver.fromJSON(fixture);
  assert.equal(driver.status, "STARTING");
  assert.equal(driver.queuedSends, 2);
  assert.equal(driver.view().report, null);
  const machine = new LifecycleMachine({ seed: 1 });
  machine.handle({ type: "warm_boot" }, T0);
  machine.drainActions();
  const loaded = SessionDriver.fromJSON(machine.toJSON());
  assert.deepEqual(loaded.view().inFlight, ["info"]);
  assert.equal(errors.thrown(() => SessionDriver.fromJSON('{"driver":9}')).code, "invalid_payload");
  assert.equal(errors.thrown(() => SessionDriver.fromJSON(5)).code, "invalid_option");
});

test("bad events are typed errors and change nothing", () => {
  const driver = new SessionDriver(OPTS);
  assert.equal(errors.thrown(() => driver.handle({ type: "nope" }, T0)).code, "invalid_payload");
  assert.equal(errors.thrown(() => driver.handle({ type: "result", op: "info", ok: false, message: 5 }, T0)).code, "invalid_payload");
  assert.equal(errors.thrown(() => new SessionDriver({ startingTimeoutMs: -1 })).code, "invalid_option");
  assert.deepEqual(driver.drainEffects(), []);
  assert.ok(errors.errors.every((e) => e instanceof WawpError));
});

test("reconcileSends: the host's stored rows the driver does not hold are given up (on the wire) or queued", () => {
  const driver = working();
  driver.handle({ type: "send", id: "held" }, T0 + 10);
  assert.ok(driver.drainEffects().some((e) => e.type === "release_send" && e.id === "held"));
  driver.reconcileSends(
    [
      { id: "held", state: "sending" },
      { id: "lost", state: "sending" },
      { id: "waiting", state: "queued", timeoutMs: null },
    ],
    T0 + 20,
  );
  const effects = driver.drainEffects();
  assert.ok(effects.some((e) => e.type === "reject_send" && e.id === "lost" && e.code === "closed"));
  assert.ok(effects.some((e) => e.type === "release_send" && e.id === "waiting"));
  assert.ok(!effects.some((e) => e.id === "held"), "the driver's own send is left alone");
  for (const bad of [{}, [{ id: "x", state: "sent" }], [{ state: "queued" }]]) {
    assert.throws(() => driver.reconcileSends(bad, T0 + 30), (err) => err instanceof WawpError && err.code === "invalid_payload");
  }
});
