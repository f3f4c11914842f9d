import assert from "node:assert/strict";
import { test } from "node:test";
import { control, request, startReceiver, startSim, statusOf, waitFor, waitStatus, wawp } from "./helpers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("hangStarting keeps STARTING until a restart after the switch is off", async () => {
  const sim = await startSim();
  try {
    await control(sim, "/faults", { hangStarting: true });
    const { instance_id: id } = await control(sim, "/instances", { paired: true });
    await wawp(sim, "/v2/session/start", id);
    await waitFor("hung", async () => (await control(sim, `/instances/${id}`)).hung);
    await sleep(100); // 10 × the 30 ms STARTING duration
    assert.equal(await statusOf(sim, id), "STARTING");
    await control(sim, "/faults", { hangStarting: false });
    await sleep(50);
    assert.equal(await statusOf(sim, id), "STARTING", "only a restart gets it out");
    await wawp(sim, "/v2/session/restart", id);
    await waitStatus(sim, id, "WORKING");
  } finally {
    await sim.close();
  }
});

test("resendStarting re-sends STARTING every 2 s while STARTING", async () => {
  const receiver = await startReceiver();
  const sim = await startSim({ webhooks: [{ url: receiver.url }] });
  try {
    await control(sim, "/faults", { hangStarting: true, resendStarting: true });
    const { instance_id: id } = await control(sim, "/instances", {});
    await wawp(sim, "/v2/session/start", id);
    await waitFor("repeated STARTING", () => receiver.received.length >= 4);
    const events = receiver.received.map((r) => r.json);
    assert.ok(events.every((e) => e.payload.status === "STARTING"));
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, "each re-send is a new event");
    const gaps = events.slice(1).map((e, i) => e.timestamp - events[i].timestamp);
    assert.ok(gaps.every((g) => g >= 19), `2 s apart at speed 100 = 20 ms: ${gaps}`);
    await wawp(sim, "/v2/session/stop", id);
    await waitFor("STOPPED event", () => receiver.received.some((r) => r.json.payload.status === "STOPPED"));
    await sleep(80);
    const afterStop = receiver.received.map((r) => r.json.payload.status);
    assert.deepEqual(afterStop.slice(afterStop.indexOf("STOPPED")), ["STOPPED"], "no re-sends after STARTING ends");
  } finally {
    await sim.close();
    await receiver.close();
  }
});

test("flapping makes WORKING sessions blip to STARTING and back", async () => {
  const receiver = await startReceiver();
  const sim = await startSim({ webhooks: [{ url: receiver.url }], timings: { flapEveryMs: 3000, flapDownMs: 1000 } });
  try {
    const { instance_id: id } = await control(sim, "/instances", { status: "WORKING" });
    await control(sim, "/faults", { flapping: true });
    await waitFor("two blips", () => receiver.received.length >= 4, { timeoutMs: 3000 });
    await control(sim, "/faults", { flapping: false });
    const statuses = receiver.received.map((r) => r.json.payload.status);
    assert.deepEqual(statuses.slice(0, 4), ["WORKING", "STARTING", "WORKING", "STARTING"]);
    await waitStatus(sim, id, "WORKING");
    await sleep(50); // the WORKING that ends a blip in progress may still be on its way
    const count = receiver.received.length;
    await sleep(150); // > 3 × the 30 ms flap period
    assert.equal(receiver.received.length, count, "no more blips once switched off");
  } finally {
    await sim.close();
    await receiver.close();
  }
});

test("staleStatus: after a scan, info and webhooks keep saying SCAN_QR_CODE although me is set", async () => {
  const receiver = await startReceiver();
  const sim = await startSim({ webhooks: [{ url: receiver.url }] });
  try {
    await control(sim, "/faults", { staleStatus: true });
    const { instance_id: id } = await control(sim, "/instances", { status: "SCAN_QR_CODE" });
    await control(sim, `/instances/${id}/scan`, { jid: "15557654321@c.us" });
    const info = await wawp(sim, "/v2/session/info", id);
    assert.equal(info.json.status, "SCAN_QR_CODE");
    assert.equal(info.json.me.id, "15557654321@c.us");
    assert.equal((await wawp(sim, "/v2/session/me", id)).json.id, "15557654321@c.us");
    await waitFor("stale event", () => receiver.received.some((r) => r.json.me));
    const stale = receiver.received.find((r) => r.json.me).json;
    assert.equal(stale.payload.status, "SCAN_QR_CODE");
    assert.equal((await wawp(sim, "/v2/send/text", id, { body: { chatId: "1@c.us", message: "x" } })).status, 422);
    await sleep(700); // QR no longer rotates to FAILED: the phone is linked
    assert.equal((await control(sim, `/instances/${id}`)).reportedStatus, "SCAN_QR_CODE");
    await wawp(sim, "/v2/session/restart", id);
    await waitStatus(sim, id, "WORKING");
    assert.equal((await wawp(sim, "/v2/session/info", id)).json.status, "WORKING");
  } finally {
    await sim.close();
    await receiver.close();
  }
});

test("burst429: the next N API requests get 429, with or without Retry-After", async () => {
  const sim = await startSim();
  try {
    const { instance_id: id } = await control(sim, "/instances", {});
    await control(sim, "/faults", { burst429: { count: 2, retryAfterS: 7 } });
    for (let i = 0; i < 2; i++) {
      const res = await wawp(sim, "/v2/session/info", id);
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("retry-after"), "7");
      assert.equal(res.json.code, "rate_limited");
    }
    assert.equal((await wawp(sim, "/v2/session/info", id)).status, 200);
    assert.equal((await control(sim, "/faults")).burst429, null);
    await control(sim, "/faults", { burst429: { count: 1, retryAfterS: null } });
    const bare = await wawp(sim, "/v2/session/info", id);
    assert.equal(bare.status, 429);
    assert.equal(bare.headers.get("retry-after"), null);
    const outcomes = (await control(sim, "/log")).requests.map((r) => r.outcome);
    assert.deepEqual(outcomes, ["injected_429", "injected_429", "ok", "injected_429"]);
  } finally {
    await sim.close();
  }
});

test("start more than 3 times in 5 s for one instance → 429 with a truthful Retry-After", async () => {
  const sim = await startSim({ speed: 1, timings: { startingMs: 60000 } });
  try {
    const { instance_id: id } = await control(sim, "/instances", {});
    const other = (await control(sim, "/instances", {})).instance_id;
    for (let i = 0; i < 3; i++) assert.equal((await wawp(sim, "/v2/session/start", id)).status, 200);
    const limited = await wawp(sim, "/v2/session/start", id);
    assert.equal(limited.status, 429);
    const retryAfter = Number(limited.headers.get("retry-after"));
    assert.ok(retryAfter >= 4 && retryAfter <= 5, `Retry-After ${retryAfter}`);
    assert.equal((await wawp(sim, "/v2/session/start", other)).status, 200, "per instance");
    assert.equal((await wawp(sim, "/v2/session/info", id)).status, 200, "only start is limited");
  } finally {
    await sim.close();
  }
});

test("start rate window scales with speed", async () => {
  const sim = await startSim({ speed: 100 });
  try {
    const { instance_id: id } = await control(sim, "/instances", {});
    for (let i = 0; i < 3; i++) await wawp(sim, "/v2/session/start", id);
    assert.equal((await wawp(sim, "/v2/session/start", id)).status, 429);
    await sleep(60); // 5 s / 100
    assert.equal((await wawp(sim, "/v2/session/start", id)).status, 200);
  } finally {
    await sim.close();
  }
});

test("rate5xx: probability of 500, reproducible with the seed", async () => {
  const statuses = async (seed) => {
    const sim = await startSim({ seed });
    try {
      const { instance_id: id } = await control(sim, "/instances", {});
      await control(sim, "/faults", { rate5xx: 0.5 });
      const out = [];
      for (let i = 0; i < 40; i++) out.push((await wawp(sim, "/v2/session/info", id)).status);
      return out;
    } finally {
      await sim.close();
    }
  };
  const a = await statuses(11);
  assert.deepEqual(await statuses(11), a);
  const failures = a.filter((s) => s === 500).length;
  assert.ok(failures >= 8 && failures <= 32, `${failures} of 40`);
  assert.ok(a.every((s) => s === 200 || s === 500));
  const sim = await startSim();
  try {
    await control(sim, "/faults", { rate5xx: 1 });
    const res = await wawp(sim, "/v2/session/create");
    assert.equal(res.status, 500);
    assert.equal(res.json.code, "wawp_upstream_error");
  } finally {
    await sim.close();
  }
});

test("latencyMs delays API responses (scaled by speed) but not the control API", async () => {
  const sim = await startSim({ speed: 10 });
  try {
    const { instance_id: id } = await control(sim, "/instances", {});
    await control(sim, "/faults", { latencyMs: 1500 });
    const t0 = Date.now();
    assert.equal((await wawp(sim, "/v2/session/info", id)).status, 200);
    assert.ok(Date.now() - t0 >= 140, `took ${Date.now() - t0} ms`);
    const t1 = Date.now();
    await control(sim, "/faults");
    assert.ok(Date.now() - t1 < 100);
  } finally {
    await sim.close();
  }
});

test("webhookDrop drops deliveries (logged as dropped)", async () => {
  const receiver = await startReceiver();
  const sim = await startSim({ webhooks: [{ url: receiver.url }] });
  try {
    await control(sim, "/faults", { webhookDrop: 1 });
    const { instance_id: id } = await control(sim, "/instances", {});
    await control(sim, `/instances/${id}/fail`, {});
    await sleep(50);
    assert.equal(receiver.received.length, 0);
    const log = (await control(sim, "/log")).webhooks;
    assert.deepEqual(log.map((w) => [w.outcome, w.sessionStatus]), [["dropped", "FAILED"]]);
  } finally {
    await sim.close();
    await receiver.close();
  }
});

test("webhookDuplicate delivers the same event twice", async () => {
  const receiver = await startReceiver();
  const sim = await startSim({ webhooks: [{ url: receiver.url }] });
  try {
    await control(sim, "/faults", { webhookDuplicate: 1 });
    const { instance_id: id } = await control(sim, "/instances", {});
    await control(sim, `/instances/${id}/fail`, {});
    await waitFor("two copies", () => receiver.received.length === 2);
    const [a, b] = receiver.received;
    assert.equal(a.json.id, b.json.id);
    assert.deepEqual(a.raw, b.raw);
    assert.notEqual(a.headers["x-webhook-request-id"], b.headers["x-webhook-request-id"]);
    const log = (await control(sim, "/log")).webhooks;
    assert.deepEqual(log.map((w) => w.duplicate), [false, true]);
  } finally {
    await sim.close();
    await receiver.close();
  }
});

test("webhookDelayMs delays deliveries (scaled)", async () => {
  const receiver = await startReceiver();
  const sim = await startSim({ speed: 10, webhooks: [{ url: receiver.url }] });
  try {
    await control(sim, "/faults", { webhookDelayMs: 2000 });
    const { instance_id: id } = await control(sim, "/instances", {});
    const t0 = Date.now();
    await control(sim, `/instances/${id}/fail`, {});
    await waitFor("delivery", () => receiver.received.length === 1);
    assert.ok(receiver.received[0].at - t0 >= 190, `after ${receiver.received[0].at - t0} ms`);
  } finally {
    await sim.close();
    await receiver.close();
  }
});

test("webhookReorder swaps consecutive events", async () => {
  const receiver = await startReceiver();
  // A 300 ms hold (30 s model time at speed 100) so the second event surely arrives in time.
  const sim = await startSim({ webhooks: [{ url: receiver.url }], delivery: { reorderHoldMs: 30000 } });
  try {
    const { instance_id: id } = await control(sim, "/instances", { paired: true });
    await control(sim, "/faults", { webhookReorder: true, hangStarting: true });
    await wawp(sim, "/v2/session/start", id); // STARTING (held)
    await wawp(sim, "/v2/session/stop", id); // STOPPED overtakes it
    await waitFor("both", () => receiver.received.length === 2);
    assert.deepEqual(receiver.received.map((r) => r.json.payload.status), ["STOPPED", "STARTING"]);
    const [late, early] = receiver.received.map((r) => r.json.timestamp);
    assert.ok(early <= late);
    // A lone event is not held forever.
    await control(sim, `/instances/${id}/fail`, {});
    await waitFor("flush", () => receiver.received.length === 3);
  } finally {
    await sim.close();
    await receiver.close();
  }
});

test("fault switches are validated; unknown switches rejected", async () => {
  const sim = await startSim();
  try {
    for (const bad of [{ rate5xx: 2 }, { flapping: "yes" }, { nope: true }, { burst429: { count: -1 } }, { latencyMs: -5 }]) {
      const res = await request(sim, "/__sim/faults", { method: "POST", body: bad });
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(res.json.error.code, "bad_request");
    }
    const merged = await control(sim, "/faults", { latencyMs: 5 });
    const again = await control(sim, "/faults", { webhookDrop: 0.25 });
    assert.equal(merged.latencyMs, 5);
    assert.equal(again.latencyMs, 5, "merges, does not replace");
    assert.equal(again.webhookDrop, 0.25);
  } finally {
    await sim.close();
  }
});
