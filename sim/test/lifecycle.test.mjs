import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import jsQR from "jsqr";
import { control, dataUrlPng, decodePng, startReceiver, startSim, waitFor, waitStatus, waha, wawp } from "./helpers.mjs";

let receiver;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver.close());
// Seeded simulators reuse instance ids, so each test starts with an empty receiver.
beforeEach(() => {
  receiver.received.length = 0;
});

/** Statuses the receiver saw for an instance, in arrival order. */
const seen = (id) => receiver.received.filter((r) => r.json.instance_id === id).map((r) => r.json.payload?.status ?? r.json.status);

test("Wawp: create → start → SCAN_QR_CODE → scan → WORKING, then send", async () => {
  // A long first QR: this test inspects the QR and must not race its rotation.
  const sim = await startSim({ webhooks: [{ url: receiver.url, shape: "waha" }], timings: { firstQrMs: 3600000 } });
  try {
    const created = await wawp(sim, "/v2/session/create");
    assert.equal(created.status, 200);
    const { instance_id: id, session_name, server_name, status } = created.json;
    assert.match(id, /^[0-9A-F]{12}$/);
    assert.match(session_name, /^wawp-\d{8}$/);
    assert.ok(server_name);
    assert.equal(status, "STOPPED");

    const started = await wawp(sim, "/v2/session/start", id);
    assert.equal(started.json.status, "STARTING");
    assert.equal(started.json.instance_id, id);
    await waitStatus(sim, id, "SCAN_QR_CODE");

    const info = await wawp(sim, "/v2/session/info", id, { method: "GET" });
    assert.equal(info.json.status, "SCAN_QR_CODE");
    assert.equal(info.json.me, null);
    assert.match(info.json.qr, /^data:image\/png;base64,/);
    assert.equal((await wawp(sim, "/v2/session/me", id, { method: "GET" })).json, null);

    const raw = await wawp(sim, "/v2/auth/qr", id, { body: { format: "raw" } });
    assert.equal(raw.status, 200);
    assert.match(raw.json.value, /^2@/);
    const inner = JSON.parse(Buffer.from(raw.json.data, "base64").toString("utf8"));
    assert.equal(inner.value, raw.json.value);
    assert.ok(inner.expiry > Date.now() / 1000 - 1);

    // The QR image is a real QR code of the raw value.
    const image = await wawp(sim, "/v2/auth/qr-image", id, { method: "GET" });
    const png = decodePng(dataUrlPng(image.json.qr));
    assert.equal(jsQR(png.data, png.width, png.height)?.data, raw.json.value);

    const code = await wawp(sim, "/v2/auth/request-code", id, { body: { phone_number: "+20 114 520 2826" } });
    assert.equal(code.status, 200);
    assert.match(code.json.code, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);

    await control(sim, `/instances/${id}/scan`, { jid: "201145202826@c.us" });
    const working = await wawp(sim, "/v2/session/info", id);
    assert.equal(working.json.status, "WORKING");
    assert.equal(working.json.me.id, "201145202826@c.us");
    assert.equal(working.json.qr, undefined);
    assert.equal((await wawp(sim, "/v2/session/me", id, { method: "GET" })).json.id, "201145202826@c.us");

    const sent = await wawp(sim, "/v2/send/text", id, { body: { chatId: "15550001111@c.us", message: "hello" } });
    assert.equal(sent.status, 200);
    assert.equal(sent.json.status, "sent");
    const log = await control(sim, "/log");
    assert.deepEqual(
      log.deliveries.map((d) => [d.instanceId, d.chatId, d.text, d.messageId]),
      [[id, "15550001111@c.us", "hello", sent.json.id]],
    );
    await waitFor("webhooks", () => seen(id).length >= 3);
    assert.deepEqual(seen(id), ["STARTING", "SCAN_QR_CODE", "WORKING"]);
  } finally {
    await sim.close();
  }
});

test("credentials in the JSON body work like the query string", async () => {
  const sim = await startSim();
  try {
    const created = await (await fetch(`${sim.url}/v2/session/create`, { method: "POST", body: JSON.stringify({ access_token: "sim-token" }) })).json();
    const res = await fetch(`${sim.url}/v2/session/info`, {
      method: "POST",
      body: JSON.stringify({ access_token: "sim-token", instance_id: created.instance_id }),
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).status, "STOPPED");
  } finally {
    await sim.close();
  }
});

test("paired instance: start → WORKING; stop keeps pairing; restart → STOPPED then STARTING → WORKING", async () => {
  const sim = await startSim({ webhooks: [{ url: receiver.url, shape: "waha" }] });
  try {
    const seeded = await control(sim, "/instances", { paired: true, jid: "15551234567@c.us" });
    const id = seeded.instance_id;
    assert.equal(seeded.status, "STOPPED");
    await wawp(sim, "/v2/session/start", id);
    await waitStatus(sim, id, "WORKING");
    await wawp(sim, "/v2/session/stop", id);
    assert.equal(await (await control(sim, `/instances/${id}`)).paired, true);
    await wawp(sim, "/v2/session/start", id);
    await waitStatus(sim, id, "WORKING");
    const restarted = await wawp(sim, "/v2/session/restart", id);
    assert.equal(restarted.json.status, "STOPPED");
    await waitStatus(sim, id, "WORKING");
    await waitFor("webhooks", () => seen(id).length >= 8);
    assert.deepEqual(seen(id), ["STARTING", "WORKING", "STOPPED", "STARTING", "WORKING", "STOPPED", "STARTING", "WORKING"]);
    const last = receiver.received.filter((r) => r.json.instance_id === id).at(-1).json;
    assert.equal(last.me.id, "15551234567@c.us");
    assert.deepEqual(last.payload.statuses.map((s) => s.status), ["STOPPED", "STARTING", "WORKING"]);
  } finally {
    await sim.close();
  }
});

test("logout forgets the pairing (→ SCAN_QR_CODE); delete → DELETED then 404", async () => {
  const sim = await startSim();
  try {
    const { instance_id: id } = await control(sim, "/instances", { status: "WORKING", jid: "15551234567@c.us" });
    const out = await wawp(sim, "/v2/session/logout", id, { method: "GET" });
    assert.deepEqual(Object.keys(out.json).sort(), ["instance_id", "name", "status"]);
    assert.equal(out.json.status, "SCAN_QR_CODE");
    const view = await control(sim, `/instances/${id}`);
    assert.equal(view.paired, false);
    assert.equal(view.me, null);
    await wawp(sim, "/v2/session/stop", id);
    await wawp(sim, "/v2/session/start", id);
    await waitStatus(sim, id, "SCAN_QR_CODE"); // no pairing: back to the QR
    const deleted = await wawp(sim, "/v2/session/delete", id, { method: "DELETE" });
    assert.equal(deleted.json.status, "DELETED");
    for (const op of ["info", "start", "stop", "me"]) {
      const res = await wawp(sim, `/v2/session/${op}`, id, { method: op === "me" ? "GET" : "POST" });
      assert.equal(res.status, 404, op);
      assert.equal(res.json.code, "invalid_instance");
    }
  } finally {
    await sim.close();
  }
});

test("QR rotates 60 s, then 20 s × 5, then FAILED; a SCAN_QR_CODE event per QR", async () => {
  const sim = await startSim({ speed: 200, webhooks: [{ url: receiver.url, shape: "wawp" }] });
  try {
    const { instance_id: id } = await control(sim, "/instances", {});
    const t0 = Date.now();
    await wawp(sim, "/v2/session/start", id);
    await waitStatus(sim, id, "FAILED", { timeoutMs: 10000 });
    const elapsed = Date.now() - t0;
    // (3 s starting + 60 s + 5 × 20 s) / 200 = 815 ms
    assert.ok(elapsed >= 800, `FAILED after ${elapsed} ms`);
    await waitFor("webhooks", () => seen(id).includes("FAILED"));
    const events = receiver.received.filter((r) => r.json.instance_id === id).map((r) => r.json);
    const qrEvents = events.filter((e) => e.status === "SCAN_QR_CODE");
    assert.equal(qrEvents.length, 6);
    const values = qrEvents.map((e) => {
      const image = decodePng(dataUrlPng(e.qr));
      return jsQR(image.data, image.width, image.height)?.data;
    });
    assert.ok(values.every((v) => typeof v === "string" && v.startsWith("2@")));
    assert.equal(new Set(values).size, 6, "six different QR values");
    const gaps = qrEvents.slice(1).map((e, i) => e.ts - qrEvents[i].ts);
    assert.ok(gaps.every((g) => g <= 1), "ts is in seconds");
    assert.equal(events.at(-1).status, "FAILED");
    assert.equal((await wawp(sim, "/v2/auth/qr", id)).status, 422);
  } finally {
    await sim.close();
  }
});

test("phone unlink: WORKING → FAILED, pairing gone; /fail forces FAILED; restart recovers", async () => {
  const sim = await startSim();
  try {
    const { instance_id: id } = await control(sim, "/instances", { status: "WORKING" });
    const unlinked = await control(sim, `/instances/${id}/unlink`, {});
    assert.equal(unlinked.status, "FAILED");
    assert.equal(unlinked.paired, false);
    assert.equal((await request409(sim, `/__sim/instances/${id}/unlink`)).status, 409);
    const other = await control(sim, "/instances", { status: "WORKING" });
    assert.equal((await control(sim, `/instances/${other.instance_id}/fail`, {})).status, "FAILED");
    await wawp(sim, "/v2/session/restart", other.instance_id);
    await waitStatus(sim, other.instance_id, "WORKING"); // pairing survived the failure
  } finally {
    await sim.close();
  }
});

async function request409(sim, path) {
  return fetch(sim.url + path, { method: "POST" });
}

test("start on a running session is idempotent in both APIs; WAHA create of an existing name is 422", async () => {
  const wawpSim = await startSim();
  const wahaSim = await startSim({ flavor: "waha" });
  try {
    const { instance_id: id } = await control(wawpSim, "/instances", { status: "WORKING" });
    const again = await wawp(wawpSim, "/v2/session/start", id);
    assert.equal(again.status, 200);
    assert.equal(again.json.status, "WORKING");

    const created = await waha(wahaSim, "/api/sessions", { method: "POST", body: { name: "default" } });
    assert.equal(created.status, 201);
    assert.equal(created.json.status, "STARTING");
    // devlikeapro/waha src/api/sessions.controller.ts: start checks isRunning, create checks exists.
    const again2 = await waha(wahaSim, "/api/sessions/default/start", { method: "POST" });
    assert.equal(again2.status, 201);
    assert.equal(again2.json.status, "STARTING");
    const exists = await waha(wahaSim, "/api/sessions", { method: "POST", body: { name: "default" } });
    assert.equal(exists.status, 422);
    assert.equal(exists.text, '{"statusCode":422,"message":"Session \'default\' already exists. Use PUT to update it.","error":"Unprocessable Entity"}');
  } finally {
    await wawpSim.close();
    await wahaSim.close();
  }
});

test("WAHA flavour lifecycle: QR as PNG, raw and JSON; pairing code; sendText; delete → 404", async () => {
  const sim = await startSim({ flavor: "waha", timings: { firstQrMs: 3600000 } });
  try {
    await waha(sim, "/api/sessions", { method: "POST", body: { name: "s1", start: false } });
    assert.equal((await waha(sim, "/api/sessions/s1")).json.status, "STOPPED");
    assert.deepEqual((await waha(sim, "/api/sessions")).json, [], "STOPPED sessions only with all=true");
    assert.equal((await waha(sim, "/api/sessions?all=true")).json.length, 1);
    await waha(sim, "/api/sessions/s1/start", { method: "POST" });
    await waitStatus(sim, "s1", "SCAN_QR_CODE");
    const raw = await waha(sim, "/api/s1/auth/qr?format=raw");
    const png = await waha(sim, "/api/s1/auth/qr");
    assert.equal(png.headers.get("content-type"), "image/png");
    const image = decodePng(png.raw);
    assert.equal(jsQR(image.data, image.width, image.height).data, raw.json.value);
    const b64 = await waha(sim, "/api/s1/auth/qr?format=image", { headers: { accept: "application/json" } });
    assert.equal(b64.json.mimetype, "image/png");
    assert.deepEqual(Buffer.from(b64.json.data, "base64"), png.raw);
    const code = await waha(sim, "/api/s1/auth/request-code", { method: "POST", body: { phoneNumber: "12132132130" } });
    assert.equal(code.status, 201);
    assert.match(code.json.code, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    assert.equal((await waha(sim, "/api/sendText", { method: "POST", body: { session: "s1", chatId: "1@c.us", text: "x" } })).status, 422);
    await control(sim, "/instances/s1/scan", { jid: "12132132130@c.us" });
    const sent = await waha(sim, "/api/sendText", { method: "POST", body: { session: "s1", chatId: "15550001111@c.us", text: "hi" } });
    assert.equal(sent.status, 201);
    assert.equal(sent.json.from, "12132132130@c.us");
    assert.equal(sent.json.body, "hi");
    assert.equal((await waha(sim, "/api/sessions/s1/me")).json.id, "12132132130@c.us");
    const deleted = await waha(sim, "/api/sessions/s1", { method: "DELETE" });
    assert.equal(deleted.status, 200);
    assert.equal(deleted.text, "");
    const gone = await waha(sim, "/api/sessions/s1");
    assert.equal(gone.status, 404);
    assert.equal(gone.json.error, "Not Found");
    assert.match(gone.json.message, /We didn't find a session with name 's1'/);
  } finally {
    await sim.close();
  }
});

test("the same seed gives the same ids, QR values and pairing codes", async () => {
  const run = async () => {
    const sim = await startSim({ seed: 42, timings: { firstQrMs: 3600000 } });
    try {
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await wawp(sim, "/v2/session/create")).json.instance_id);
      const { instance_id: id } = await control(sim, "/instances", { status: "SCAN_QR_CODE" });
      const qr = (await wawp(sim, "/v2/auth/qr", id)).json.value;
      const code = (await wawp(sim, "/v2/auth/request-code", id, { query: { phone_number: "123456" } })).json.code;
      return { ids, qr, code };
    } finally {
      await sim.close();
    }
  };
  const [a, b] = [await run(), await run()];
  assert.deepEqual(a, b);
  const other = await startSim({ seed: 43 });
  try {
    assert.notEqual((await wawp(other, "/v2/session/create")).json.instance_id, a.ids[0]);
  } finally {
    await other.close();
  }
});

test("reset empties instances, faults, log and webhooks", async () => {
  const sim = await startSim({ webhooks: [{ url: receiver.url }] });
  try {
    await wawp(sim, "/v2/session/create");
    await control(sim, "/faults", { flapping: true });
    assert.equal((await control(sim, "/webhooks")).length, 1);
    await control(sim, "/reset", {});
    assert.deepEqual(await control(sim, "/instances"), []);
    assert.equal((await control(sim, "/faults")).flapping, false);
    assert.deepEqual(await control(sim, "/log"), { requests: [], deliveries: [], webhooks: [] });
    assert.deepEqual(await control(sim, "/webhooks"), []);
  } finally {
    await sim.close();
  }
});
