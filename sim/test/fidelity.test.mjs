// Behaviours of the real APIs that the simulator reproduces, each from a source outside this
// project (sim/README.md lists them): WAHA Core's single pre-created `default` session, its
// 422 bodies, the empty-body `me`, unsigned webhooks before 2024.11.5; Wawp's `message` field,
// a POST-only `info` deployment, and legacy 200s carrying an error.
import assert from "node:assert/strict";
import { test } from "node:test";
import { control, request, startReceiver, startSim, waha, waitFor, wawp } from "./helpers.mjs";

test("WAHA Core: `default` exists (STOPPED) at boot and after reset; create of it is 422 already exists", async () => {
  const sim = await startSim({ flavor: "waha", wahaTier: "core", wahaVersion: "2024.10.8" });
  try {
    const info = await waha(sim, "/api/sessions/default");
    assert.equal(info.status, 200);
    assert.equal(info.json.status, "STOPPED");
    const created = await waha(sim, "/api/sessions", { method: "POST", body: { name: "default", start: false } });
    assert.equal(created.status, 422);
    assert.equal(created.text, `{"statusCode":422,"message":"Session 'default' already exists. Use PUT to update it.","error":"Unprocessable Entity"}`);
    await control(sim, "/reset", {});
    assert.equal((await waha(sim, "/api/sessions/default")).json.status, "STOPPED");
    // Deleted, it can be created again.
    assert.equal((await waha(sim, "/api/sessions/default", { method: "DELETE" })).status, 200);
    assert.equal((await waha(sim, "/api/sessions", { method: "POST", body: { name: "default", start: false } })).status, 201);
    assert.deepEqual((await control(sim, "/info")).wahaTier, "core");
  } finally {
    await sim.close();
  }
});

test("WAHA Core: any other session name is 422 OnlyDefaultSessionIsAllowed", async () => {
  const sim = await startSim({ flavor: "waha", wahaTier: "core" });
  try {
    for (const [path, method, body] of [
      ["/api/sessions", "POST", { name: "sales" }],
      ["/api/sessions/sales", "GET"],
      ["/api/sessions/sales/start", "POST"],
      ["/api/sales/auth/qr?format=raw", "GET"],
      ["/api/sendText", "POST", { session: "sales", chatId: "1@c.us", text: "x" }],
    ]) {
      const res = await waha(sim, path, { method, body });
      assert.equal(res.status, 422, `${method} ${path}`);
      assert.match(res.json.message, /^WAHA Core support only 'default' session\. You tried to access 'sales' session \(base64: c2FsZXM=\)\./);
      assert.equal(res.json.error, "Unprocessable Entity");
    }
    // WAHA Plus (the default tier) has no such limit and no pre-created session.
    const plus = await startSim({ flavor: "waha" });
    try {
      assert.equal((await waha(plus, "/api/sessions/default")).status, 404);
      assert.equal((await waha(plus, "/api/sessions", { method: "POST", body: { name: "sales", start: false } })).status, 201);
    } finally {
      await plus.close();
    }
  } finally {
    await sim.close();
  }
});

test("WAHA `me` of a session that is not WORKING is a 200 with an empty body (NestJS null)", async () => {
  const sim = await startSim({ flavor: "waha", wahaTier: "core" });
  try {
    await waha(sim, "/api/sessions/default/start", { method: "POST" });
    const me = await waha(sim, "/api/sessions/default/me");
    assert.equal(me.status, 200);
    assert.equal(me.raw.length, 0);
    assert.equal(me.headers.get("content-length"), "0");
    assert.equal(me.headers.get("content-type"), null);
  } finally {
    await sim.close();
  }
});

test("WAHA Core before 2024.11.5 sends no HMAC headers even with a key; 2024.11.5 on signs", async () => {
  for (const [version, signed] of [["2024.10.8", false], ["2024.11.5", true], ["2025.1.1", true]]) {
    const receiver = await startReceiver();
    const sim = await startSim({ flavor: "waha", wahaTier: "core", wahaVersion: version });
    try {
      const hook = { url: receiver.url, events: ["session.status"], hmac: { key: "s3cret" } };
      await waha(sim, "/api/sessions/default", { method: "DELETE" });
      await waha(sim, "/api/sessions", { method: "POST", body: { name: "default", start: true, config: { webhooks: [hook] } } });
      const [first] = await waitFor("a delivery", () => (receiver.received.length > 0 ? receiver.received : null));
      assert.equal(first.headers["x-webhook-hmac"] !== undefined, signed, version);
      assert.equal(first.json.environment.version, version);
      assert.equal(first.json.environment.tier, "CORE");
    } finally {
      await sim.close();
      await receiver.close();
    }
  }
});

test("Wawp: a POST-only info deployment refuses GET with 405 or a router's HTML 404; POST works", async () => {
  const sim = await startSim();
  try {
    const { instance_id: id } = await control(sim, "/instances", {});
    await control(sim, "/faults", { infoGetRefused: 405 });
    const refused = await wawp(sim, "/v2/session/info", id, { method: "GET" });
    assert.equal(refused.status, 405);
    assert.equal(refused.headers.get("allow"), "POST");
    assert.equal((await wawp(sim, "/v2/session/info", id, { method: "POST" })).json.status, "STOPPED");
    await control(sim, "/faults", { infoGetRefused: 404 });
    const html = await wawp(sim, "/v2/session/info", id, { method: "GET" });
    assert.equal(html.status, 404);
    assert.match(html.headers.get("content-type"), /^text\/html/);
    assert.equal(html.json, undefined);
    await control(sim, "/faults", { infoGetRefused: null });
    assert.equal((await wawp(sim, "/v2/session/info", id, { method: "GET" })).status, 200);
    assert.equal((await request(sim, "/__sim/faults", { method: "POST", body: { infoGetRefused: 500 } })).status, 400);
  } finally {
    await sim.close();
  }
});

test("Wawp errorsAs200: failures come back as 200 {status:\"error\", code, message}", async () => {
  const sim = await startSim();
  try {
    const { instance_id: id } = await control(sim, "/instances", {});
    await control(sim, "/faults", { errorsAs200: true });
    const send = await wawp(sim, "/v2/send/text", id, { body: { chatId: "1@c.us", message: "x" } });
    assert.equal(send.status, 200);
    assert.equal(send.json.status, "error");
    assert.equal(send.json.code, "session_not_working");
    const badToken = await request(sim, `/v2/session/info?access_token=wrong&instance_id=${id}`);
    assert.deepEqual([badToken.status, badToken.json.status, badToken.json.code], [200, "error", "invalid_access_token"]);
    assert.equal((await control(sim, "/log")).deliveries.length, 0);
  } finally {
    await sim.close();
  }
});

test("WAHA: a STARTING that cannot connect is re-sent every ~2 s (model time), without any switch", async () => {
  const receiver = await startReceiver();
  const sim = await startSim({ flavor: "waha", timings: { startingMs: 1000 }, webhooks: [{ url: receiver.url, shape: "waha" }] });
  try {
    await control(sim, "/faults", { hangStarting: true });
    await waha(sim, "/api/sessions", { method: "POST", body: { name: "hung", start: true } });
    const starting = () => receiver.received.filter((r) => r.json.payload.status === "STARTING");
    await waitFor("three STARTING events", () => starting().length >= 3);
    const gaps = starting().slice(1).map((r, i) => r.json.timestamp - starting()[i].json.timestamp);
    for (const gap of gaps.slice(1)) assert.ok(gap >= 15 && gap <= 200, `gap ${gap} ms at speed 100 (2 s model = 20 ms)`);
    assert.ok(starting().every((r) => r.json.session === "hung"));
  } finally {
    await sim.close();
    await receiver.close();
  }
});
