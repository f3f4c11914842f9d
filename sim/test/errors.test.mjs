import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { MAX_BODY_BYTES } from "../server.mjs";
import { control, request, startSim, TOKEN, waha, wawp } from "./helpers.mjs";

test("401: wrong or missing access token (Wawp) / API key (WAHA); the token is never echoed or logged", async () => {
  const sim = await startSim({ token: "s3cret-token" });
  const wahaSim = await startSim({ flavor: "waha", token: TOKEN });
  try {
    const { instance_id: id } = await control(sim, "/instances", {});
    const wrong = await request(sim, `/v2/session/info?instance_id=${id}&access_token=other-token`);
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.json, { code: "invalid_access_token", message: "Invalid or missing access token" });
    assert.equal((await request(sim, `/v2/session/info?instance_id=${id}`)).status, 401);
    assert.equal((await request(sim, "/v2/session/create", { method: "POST" })).status, 401);
    const ok = await request(sim, `/v2/session/info?instance_id=${id}&access_token=s3cret-token`);
    assert.equal(ok.status, 200);
    const log = JSON.stringify(await control(sim, "/log"));
    assert.ok(!log.includes("s3cret-token") && !log.includes("other-token"), "credentials redacted in the log");
    assert.ok(log.includes("access_token=REDACTED"));

    const noKey = await request(wahaSim, "/api/sessions");
    assert.equal(noKey.status, 401);
    assert.deepEqual(noKey.json, { message: "Unauthorized", statusCode: 401 });
    assert.equal((await request(wahaSim, "/api/sessions", { headers: { "x-api-key": "nope" } })).status, 401);
  } finally {
    await sim.close();
    await wahaSim.close();
  }
});

test("400 for a missing instance_id: JSON, or XML / plain text on request (?format=) or by fault", async () => {
  const sim = await startSim();
  try {
    const json = await wawp(sim, "/v2/session/start", null);
    assert.equal(json.status, 400);
    assert.deepEqual(json.json, { code: "missing_parameter", message: "Missing required parameter: instance_id" });

    const xml = await wawp(sim, "/v2/session/start", null, { query: { format: "xml" } });
    assert.equal(xml.status, 400);
    assert.match(xml.headers.get("content-type"), /^application\/xml/);
    assert.equal(xml.json, undefined, "not JSON");
    assert.match(xml.text, /^<\?xml[^>]*>\s*<error><code>missing_parameter<\/code><message>[^<]+<\/message><\/error>/);

    const text = await wawp(sim, "/v2/session/start", null, { query: { format: "text" } });
    assert.match(text.headers.get("content-type"), /^text\/plain/);
    assert.equal(text.text, "Bad Request: Missing required parameter: instance_id\n");

    await control(sim, "/faults", { errorFormat: "xml" });
    const byFault = await wawp(sim, "/v2/session/stop", null);
    assert.equal(byFault.status, 400);
    assert.match(byFault.text, /^<\?xml/);
    // Only 400s change format; a 404 stays JSON.
    assert.equal((await wawp(sim, "/v2/session/stop", "NOPE")).json.code, "invalid_instance");
    await control(sim, "/faults", { errorFormat: null });
    assert.equal((await wawp(sim, "/v2/session/stop", null)).json.code, "missing_parameter");
  } finally {
    await sim.close();
  }
});

test("400 for malformed JSON and for missing request fields, in both flavours", async () => {
  const sim = await startSim();
  const wahaSim = await startSim({ flavor: "waha" });
  try {
    const { instance_id: id } = await control(sim, "/instances", { status: "WORKING" });
    const malformed = await request(sim, `/v2/send/text?access_token=${TOKEN}&instance_id=${id}`, { method: "POST", body: '{"chatId": ' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.code, "invalid_json");
    const notObject = await request(sim, `/v2/send/text?access_token=${TOKEN}&instance_id=${id}`, { method: "POST", body: "[1,2]" });
    assert.equal(notObject.status, 400);
    const missing = await wawp(sim, "/v2/send/text", id, { body: { chatId: "1@c.us" } });
    assert.equal(missing.status, 400);
    assert.equal(missing.json.code, "missing_parameter");
    // Wawp's field is `message`; WAHA's `text` is refused like any missing parameter.
    const viaText = await wawp(sim, "/v2/send/text", id, { body: { chatId: "1@c.us", text: "waha's name" } });
    assert.equal(viaText.status, 400);
    assert.deepEqual(viaText.json, { code: "missing_parameter", message: "Missing required parameter: message" });
    const viaMessage = await wawp(sim, "/v2/send/text", id, { body: { chatId: "1@c.us", message: "hello" } });
    assert.equal(viaMessage.status, 200);
    assert.equal((await control(sim, "/log")).deliveries.at(-1).text, "hello");
    const noPhone = await control(sim, "/instances", { status: "SCAN_QR_CODE" });
    assert.equal((await wawp(sim, "/v2/auth/request-code", noPhone.instance_id)).status, 400);

    const wahaBad = await request(wahaSim, "/api/sessions", { method: "POST", body: "{nope", headers: { "x-api-key": TOKEN } });
    assert.equal(wahaBad.status, 400);
    assert.deepEqual(Object.keys(wahaBad.json).sort(), ["error", "message", "statusCode"]);
    assert.equal(wahaBad.json.error, "Bad Request");
    assert.equal((await waha(wahaSim, "/api/sessions", { method: "POST", body: { name: "bad name!" } })).status, 400);
    assert.equal((await waha(wahaSim, "/api/sendText", { method: "POST", body: { session: "x" } })).status, 400);
  } finally {
    await sim.close();
    await wahaSim.close();
  }
});

test("403 when create exceeds maxInstances; deleting frees quota", async () => {
  const sim = await startSim({ maxInstances: 2 });
  try {
    const a = await wawp(sim, "/v2/session/create");
    await wawp(sim, "/v2/session/create");
    const over = await wawp(sim, "/v2/session/create");
    assert.equal(over.status, 403);
    assert.equal(over.json.code, "quota_exceeded");
    await wawp(sim, "/v2/session/delete", a.json.instance_id, { method: "DELETE" });
    assert.equal((await wawp(sim, "/v2/session/create")).status, 200);
  } finally {
    await sim.close();
  }
  const wahaSim = await startSim({ flavor: "waha", maxInstances: 1 });
  try {
    await waha(wahaSim, "/api/sessions", { method: "POST", body: { name: "one", start: false } });
    const over = await waha(wahaSim, "/api/sessions", { method: "POST", body: { name: "two" } });
    assert.equal(over.status, 403);
    assert.equal(over.json.error, "Forbidden");
  } finally {
    await wahaSim.close();
  }
});

test("404 for unknown instances and unknown paths, always JSON", async () => {
  const sim = await startSim();
  const wahaSim = await startSim({ flavor: "waha" });
  try {
    const unknown = await wawp(sim, "/v2/session/info", "000000000000");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.code, "invalid_instance");
    for (const [method, path] of [["GET", "/"], ["GET", "/v2/nothing"], ["PUT", "/v2/session/start"], ["GET", "/api/sessions"], ["POST", "/v2/session/delete"]]) {
      const res = await request(sim, path, { method });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.json.code, "not_found");
    }
    const wahaPath = await waha(wahaSim, "/v2/session/info");
    assert.equal(wahaPath.status, 404);
    assert.deepEqual(wahaPath.json, { statusCode: 404, message: "Cannot GET /v2/session/info", error: "Not Found" });
    assert.equal((await request(sim, "/__sim/nothing")).json.error.code, "not_found");
    assert.equal((await control(sim, "/instances/NOPE")).error.code, "not_found");
  } finally {
    await sim.close();
    await wahaSim.close();
  }
});

test("413 for bodies over 1 MiB; the server keeps serving", async () => {
  const sim = await startSim();
  try {
    const big = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
    const res = await request(sim, `/v2/session/create?access_token=${TOKEN}`, { method: "POST", body: big });
    assert.equal(res.status, 413);
    assert.equal(res.json.code, "payload_too_large");
    const exact = Buffer.concat([Buffer.from("{}"), Buffer.alloc(MAX_BODY_BYTES - 2, 0x20)]);
    assert.equal((await request(sim, `/v2/session/create?access_token=${TOKEN}`, { method: "POST", body: exact })).status, 200);
    assert.equal((await request(sim, "/__sim/faults", { method: "POST", body: big })).status, 413);
  } finally {
    await sim.close();
  }
});

test("422: send unless WORKING, QR and pairing code unless SCAN_QR_CODE", async () => {
  const sim = await startSim();
  try {
    const { instance_id: id } = await control(sim, "/instances", {});
    const send = await wawp(sim, "/v2/send/text", id, { body: { chatId: "1@c.us", message: "x" } });
    assert.equal(send.status, 422);
    assert.equal(send.json.code, "session_not_working");
    assert.match(send.json.message, /^Session status is not as expected/);
    for (const path of ["/v2/auth/qr", "/v2/auth/qr-image"]) {
      const res = await wawp(sim, path, id);
      assert.equal(res.status, 422);
      assert.match(res.json.message, /only in SCAN_QR_CODE status. The current status is 'STOPPED'/);
    }
    assert.equal((await wawp(sim, "/v2/auth/request-code", id, { query: { phone_number: "123" } })).status, 422);
    const log = await control(sim, "/log");
    assert.deepEqual(log.deliveries, [], "refused sends are not delivered");
  } finally {
    await sim.close();
  }
});

test("request log: op, instance, status and outcome of every API request, nothing for the control API", async () => {
  const sim = await startSim();
  try {
    const { instance_id: id } = await control(sim, "/instances", {});
    await wawp(sim, "/v2/session/start", id, { method: "GET" });
    await wawp(sim, "/v2/session/info", "NOPE");
    await request(sim, "/v2/unknown");
    const { requests } = await control(sim, "/log");
    assert.deepEqual(
      requests.map((r) => [r.method, r.op, r.instanceId, r.httpStatus, r.outcome]),
      [["GET", "start", id, 200, "ok"], ["POST", "info", "NOPE", 404, "invalid_instance"], ["GET", "other", null, 404, "not_found"]],
    );
    assert.ok(requests.every((r) => r.seq > 0 && r.t > 0));
    const since = requests[1].seq;
    assert.equal((await control(sim, `/log?since=${since}`)).requests.length, 1);
  } finally {
    await sim.close();
  }
});

test("garbage on the socket gets a 400 and does not crash the server", async () => {
  const sim = await startSim();
  try {
    const { port } = new URL(sim.url);
    const answer = await new Promise((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () => socket.write("NOT HTTP AT ALL\r\n\r\n"));
      let data = "";
      socket.on("data", (d) => (data += d));
      socket.on("end", () => resolve(data));
      socket.on("error", reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400/);
    const badEscape = await request(sim, "/__sim/instances/%E0%A4%A");
    assert.equal(badEscape.status, 404);
    const wahaSim = await startSim({ flavor: "waha" });
    try {
      assert.equal((await waha(wahaSim, "/api/sessions/%E0%A4%A")).status, 400);
    } finally {
      await wahaSim.close();
    }
    assert.equal((await wawp(sim, "/v2/session/create")).status, 200, "still serving");
  } finally {
    await sim.close();
  }
});

test("startSimulator rejects bad options instead of starting half-configured", async () => {
  const { startSimulator } = await import("../server.mjs");
  const bad = [
    [{ speed: 0 }, /speed must be a positive number/],
    [{ flavor: "soap" }, /flavor must be/],
    [{ timings: { startingMs: -1 } }, /timings.startingMs/],
    [{ timings: { qrCount: 0 } }, /qrCount/],
    [{ delivery: { maxAttempts: 0 } }, /maxAttempts/],
    [{ webhooks: [{ url: "not a url" }] }, /webhook url/],
    [{ webhooks: [{ url: "http://127.0.0.1:1/", shape: "soap" }] }, /webhook shape/],
  ];
  for (const [opts, message] of bad) await assert.rejects(startSimulator({ port: 0, ...opts }), message, JSON.stringify(opts));
});
