import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:net";
import { test } from "node:test";
import { signatureHeaders } from "../webhooks.mjs";
import { control, startReceiver, startSim, waitFor, waitStatus, wawp } from "./helpers.mjs";

const hmacHex = (algorithm, key, raw) => createHmac(algorithm, key).update(raw).digest("hex");
const sameHex = (a, b) => a.length === b.length && timingSafeEqual(Buffer.from(a, "hex"), Buffer.from(b, "hex"));

test("WAHA's documented HMAC test vector", () => {
  const body = '{"event":"message","session":"default","engine":"WEBJS"}';
  const expected =
    "208f8a55dde9e05519e898b10b89bf0d0b3b0fdf11fdbf09b6b90476301b98d8097c462b2b17a6ce93b6b47a136cf2e78a33a63f6752c2c1631777076153fa89";
  assert.equal(hmacHex("sha512", "my-secret-key", body), expected); // node:crypto, independently
  assert.deepEqual(signatureHeaders("waha", "my-secret-key", body), { "x-webhook-hmac": expected, "x-webhook-hmac-algorithm": "sha512" });
});

test("WAHA envelope: evt_ ULID ids, ms timestamps, last 3 statuses, HMAC-SHA512 over the raw body", async () => {
  const receiver = await startReceiver();
  const sim = await startSim({ webhooks: [{ url: receiver.url, shape: "waha", hmacKey: "whsec-test" }] });
  try {
    const { instance_id: id, session_name } = await control(sim, "/instances", { paired: true, jid: "15551234567@c.us" });
    const before = Date.now();
    await wawp(sim, "/v2/session/start", id);
    await waitFor("two events", () => receiver.received.length >= 2);
    for (const { headers, raw, json } of receiver.received) {
      assert.equal(headers["x-webhook-hmac-algorithm"], "sha512");
      assert.ok(sameHex(headers["x-webhook-hmac"], hmacHex("sha512", "whsec-test", raw)), "signature over the exact bytes");
      assert.ok(!sameHex(headers["x-webhook-hmac"], hmacHex("sha512", "wrong-key", raw)));
      assert.match(headers["x-webhook-request-id"], /^req_[0-9a-z]{26}$/);
      assert.ok(Math.abs(Number(headers["x-webhook-timestamp"]) - Date.now()) < 5000, "timestamp header in ms");
      assert.match(json.id, /^evt_[0-9a-hjkmnp-tv-z]{26}$/);
      assert.ok(json.timestamp >= before - 1 && json.timestamp <= Date.now(), "timestamp in ms");
      assert.equal(json.event, "session.status");
      assert.equal(json.session, session_name);
      assert.equal(json.instance_id, id, "Wawp flavour adds instance_id for routing");
      assert.equal(json.payload.name, session_name);
      assert.equal(json.engine, "WEBJS");
      assert.equal(json.environment.engine, "WEBJS");
      assert.ok(json.payload.statuses.length <= 3);
      assert.equal(json.payload.statuses.at(-1).status, json.payload.status);
    }
    const [starting, working] = receiver.received.map((r) => r.json);
    assert.equal(starting.payload.status, "STARTING");
    assert.equal(starting.me, null);
    assert.equal(working.payload.status, "WORKING");
    assert.deepEqual(working.me, { id: "15551234567@c.us", pushName: "Sim User", jid: working.me.jid });
    assert.notEqual(starting.id, working.id);
    assert.deepEqual(working.payload.statuses.map((s) => s.status), ["STOPPED", "STARTING", "WORKING"]);
    // Secrets never leave the simulator.
    assert.ok(!JSON.stringify(await control(sim, "/webhooks")).includes("whsec-test"));
    assert.ok(!JSON.stringify(await control(sim, "/log")).includes("whsec-test"));
  } finally {
    await sim.close();
    await receiver.close();
  }
});

test("Wawp shape: {instance_id, status, qr, ts (s)}, X-Wawp-Signature = HMAC-SHA256", async () => {
  const receiver = await startReceiver();
  const sim = await startSim({ webhooks: [{ url: receiver.url, shape: "wawp", hmacKey: "wawp-secret" }] });
  try {
    const { instance_id: id } = await control(sim, "/instances", {});
    await wawp(sim, "/v2/session/start", id);
    await waitFor("SCAN_QR_CODE event", () => receiver.received.find((r) => r.json.status === "SCAN_QR_CODE"));
    for (const { headers, raw, json } of receiver.received) {
      assert.ok(sameHex(headers["x-wawp-signature"], hmacHex("sha256", "wawp-secret", raw)));
      assert.equal(headers["x-webhook-hmac"], undefined);
      assert.equal(json.instance_id, id);
      assert.ok(Number.isInteger(json.ts) && Math.abs(json.ts - Date.now() / 1000) < 5, "ts in seconds");
      assert.equal(json.event, undefined);
    }
    const scan = receiver.received.find((r) => r.json.status === "SCAN_QR_CODE").json;
    assert.match(scan.qr, /^data:image\/png;base64,iVBORw0KGgo/);
    assert.equal(receiver.received[0].json.qr, undefined, "no qr outside SCAN_QR_CODE");
  } finally {
    await sim.close();
    await receiver.close();
  }
});

test("WAHA flavour: no instance_id in the envelope; per-session config.webhooks are delivered too", async () => {
  const global = await startReceiver();
  const perSession = await startReceiver();
  const sim = await startSim({ flavor: "waha", webhooks: [{ url: global.url, shape: "waha" }] });
  try {
    const res = await fetch(`${sim.url}/api/sessions`, {
      method: "POST",
      headers: { "x-api-key": "sim-token", "content-type": "application/json" },
      body: JSON.stringify({ name: "hooked", config: { webhooks: [{ url: perSession.url, events: ["session.status"], hmac: { key: "k1" } }] } }),
    });
    assert.equal(res.status, 201);
    const body = await res.json();
    assert.equal(body.config.webhooks[0].hmac.key, "REDACTED");
    await waitFor("both receivers", () => global.received.length >= 2 && perSession.received.length >= 2);
    assert.equal(global.received[0].json.instance_id, undefined);
    assert.equal(global.received[0].json.session, "hooked");
    const { headers, raw } = perSession.received[0];
    assert.ok(sameHex(headers["x-webhook-hmac"], hmacHex("sha512", "k1", raw)));
  } finally {
    await sim.close();
    await global.close();
    await perSession.close();
  }
});

test("non-2xx deliveries are retried with exponential backoff (2 s base, scaled), then delivered", async () => {
  const receiver = await startReceiver((n) => (n < 3 ? 503 : 200));
  const sim = await startSim({ speed: 100, webhooks: [{ url: receiver.url }] });
  try {
    const { instance_id: id } = await control(sim, "/instances", {});
    await control(sim, `/instances/${id}/fail`, {});
    await waitFor("delivery", () => receiver.received.length >= 4, { timeoutMs: 5000 });
    const times = receiver.received.map((r) => r.at);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    // 2 s, 4 s, 8 s at speed 100 → 20, 40, 80 ms
    assert.ok(gaps[0] >= 18 && gaps[1] >= 38 && gaps[2] >= 78, `gaps ${gaps}`);
    const eventIds = new Set(receiver.received.map((r) => r.json.id));
    assert.equal(eventIds.size, 1, "retries carry the same event id");
    const requestIds = new Set(receiver.received.map((r) => r.headers["x-webhook-request-id"]));
    assert.equal(requestIds.size, 4, "each attempt has its own request id");
    const log = (await control(sim, "/log")).webhooks;
    assert.deepEqual(
      log.map((w) => [w.attempt, w.status, w.outcome]),
      [[1, 503, "failed_retrying"], [2, 503, "failed_retrying"], [3, 503, "failed_retrying"], [4, 200, "delivered"]],
    );
  } finally {
    await sim.close();
    await receiver.close();
  }
});

test("connection errors are retried a bounded number of times, then given up", async () => {
  // A port that refuses connections: bind, note the port, close.
  const probe = createServer();
  await new Promise((r) => probe.listen(0, "127.0.0.1", r));
  const { port } = probe.address();
  await new Promise((r) => probe.close(r));
  const sim = await startSim({ speed: 1000, webhooks: [{ url: `http://127.0.0.1:${port}/gone` }], delivery: { maxAttempts: 3 } });
  try {
    const { instance_id: id } = await control(sim, "/instances", {});
    await control(sim, `/instances/${id}/fail`, {});
    const log = await waitFor("give up", async () => {
      const hooks = (await control(sim, "/log")).webhooks;
      return hooks.some((w) => w.outcome === "gave_up") && hooks;
    });
    assert.deepEqual(log.map((w) => [w.attempt, w.status, w.outcome]), [[1, null, "error_retrying"], [2, null, "error_retrying"], [3, null, "gave_up"]]);
  } finally {
    await sim.close();
  }
});

test("close() cancels pending webhook retries", async () => {
  const receiver = await startReceiver(() => 500);
  const sim = await startSim({ speed: 10, webhooks: [{ url: receiver.url }] });
  const { instance_id: id } = await control(sim, "/instances", {});
  await control(sim, `/instances/${id}/fail`, {});
  await waitFor("first attempt", () => receiver.received.length === 1);
  await sim.close(); // the retry was due in 200 ms
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(receiver.received.length, 1);
  await receiver.close();
});

test("receivers added through the control API; bad specs rejected", async () => {
  const receiver = await startReceiver();
  const sim = await startSim();
  try {
    const bad = await fetch(`${sim.url}/__sim/webhooks`, { method: "POST", body: JSON.stringify({ url: "ftp://x", shape: "waha" }) });
    assert.equal(bad.status, 400);
    const badShape = await fetch(`${sim.url}/__sim/webhooks`, { method: "POST", body: JSON.stringify({ url: receiver.url, shape: "xml" }) });
    assert.equal(badShape.status, 400);
    const added = await control(sim, "/webhooks", { url: receiver.url, shape: "wawp", hmacKey: "s" });
    assert.deepEqual(added, [{ url: receiver.url, shape: "wawp", signed: true, instanceId: null }]);
    const { instance_id: id } = await control(sim, "/instances", { paired: true });
    await wawp(sim, "/v2/session/start", id);
    await waitStatus(sim, id, "WORKING");
    await waitFor("events", () => receiver.received.length === 2);
    await control(sim, "/webhooks", undefined, "DELETE");
    await wawp(sim, "/v2/session/stop", id);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(receiver.received.length, 2);
  } finally {
    await sim.close();
    await receiver.close();
  }
});
