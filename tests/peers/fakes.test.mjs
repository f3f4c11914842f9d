// The built client against stand-alone fake servers (tests/peers/fake-server.mjs, nothing from
// sim/) that answer byte for byte what the outside sources show:
// - WAHA 2024.10.8 (Core) on loopback and its source (devlikeapro/waha src/api/sessions.controller.ts,
//   src/core/manager.core.ts): 422 "Session 'default' already exists. Use PUT to update it.",
//   `me` of a session that is not WORKING = 200 with an empty body (NestJS's null), the QR as
//   image/png bytes when the request does not ask for JSON;
// - Wawp: `message` is the send field (api.wawp.net docs, wawp-sdk-python messaging.py,
//   n8n-nodes-wawp); legacy 200 {"status":"error"} / {"success":false} bodies; a 405 for GET
//   /v2/session/info where only POST is routed (the body of that 405 is INFERRED).

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import jsQR from "jsqr";
import pngjs from "pngjs";
import QRCode from "qrcode";
import { ErrorCollector, pkg } from "../js/helpers.mjs";
import { json, startFake } from "./fake-server.mjs";

const { WawpClient, verifyWebhook } = pkg;
const TOKEN = "fake-token-PEERS-41d7";
const INSTANCE = "3EB0BCB2E3D4";
const errors = new ErrorCollector();
const fakes = [];
after(() => Promise.all(fakes.map((f) => f.close())));

async function fake(routes) {
  const f = await startFake(routes);
  fakes.push(f);
  return f;
}

const wawp = (f, opts = {}) => new WawpClient({ accessToken: TOKEN, instanceId: INSTANCE, baseUrl: f.url, retry: false, ...opts });
const waha = (f, opts = {}) => new WawpClient({ accessToken: TOKEN, flavor: "waha", baseUrl: f.url, retry: false, ...opts });

const ALREADY_EXISTS = `{"message":"Session 'default' already exists. Use PUT to update it.","error":"Unprocessable Entity","statusCode":422}`;
const DEFAULT_STOPPED = `{"name":"default","status":"STOPPED","config":null,"me":null,"presence":null,"timestamps":{"activity":null},"engine":{}}`;
const EMPTY_200 = { status: 200, headers: { "x-powered-by": "Express" }, body: "" };

test("1. Wawp sendText: exactly {chatId, message}; WAHA sendText: exactly {session, chatId, text}", async () => {
  const f = await fake({
    "POST /v2/send/text": (req) => {
      const body = JSON.parse(req.body);
      if (typeof body.message !== "string") return json(400, `{"code":"missing_parameter","message":"Missing required parameter: message"}`);
      return json(200, `{"id":"true_201012345678@c.us_3EB0C431C6DE7A7E1E7B","status":"sent"}`);
    },
    "POST /api/sendText": json(201, `{"id":"true_201012345678@c.us_3EB0C431C6DE7A7E1E7C","fromMe":true,"body":"hi"}`),
  });
  assert.equal((await wawp(f).sendText("+20 101 234 5678", "hello ✓")).id, "true_201012345678@c.us_3EB0C431C6DE7A7E1E7B");
  assert.equal(f.requests[0].body, `{"chatId":"201012345678@c.us","message":"hello ✓"}`);
  assert.equal(f.requests[0].query.get("instance_id"), INSTANCE);
  assert.equal((await waha(f).sendText("201012345678@c.us", "hi")).id, "true_201012345678@c.us_3EB0C431C6DE7A7E1E7C");
  assert.equal(f.requests[1].body, `{"session":"default","chatId":"201012345678@c.us","text":"hi"}`);
});

test("2. WAHA Core: create answered 422 already exists → the session is read and returned; empty-body me is null", async () => {
  const f = await fake({
    "POST /api/sessions": json(422, ALREADY_EXISTS),
    "GET /api/sessions/default": json(200, DEFAULT_STOPPED),
    "GET /api/sessions/default/me": EMPTY_200,
  });
  const client = waha(f);
  assert.deepEqual(await client.create(), { instanceId: "default", sessionName: "default", status: "STOPPED" });
  assert.deepEqual(f.requests.map((r) => `${r.method} ${r.path}`), ["POST /api/sessions", "GET /api/sessions/default"]);
  assert.equal(f.requests[0].body, `{"name":"default","start":false}`);
  assert.equal(f.requests[1].headers["x-api-key"], TOKEN);
  assert.equal(await client.me(), null);
  // A different 422 on create (WAHA Core's only-default refusal) is an error, with no second request.
  const g = await fake({
    "POST /api/sessions": json(422, `{"message":"WAHA Core support only 'default' session. You tried to access 'sales' session (base64: c2FsZXM=). If you want to run more then one WhatsApp account - please get WAHA PLUS version. Check this out: https://waha.devlike.pro/docs/how-to/plus-version/","error":"Unprocessable Entity","statusCode":422}`),
  });
  const refused = await errors.rejection(waha(g, { session: "sales" }).create());
  assert.equal(refused.code, "conflict");
  assert.equal(g.requests.length, 1);
});

test("3. signatures as the senders send them: WAHA Core 2024.10.8 none, WAHA sha512, Wawp HMAC or the bare secret", async () => {
  const body = `{"event":"session.status","session":"default","me":null,"payload":{"name":"default","status":"STARTING"},"engine":"WEBJS","environment":{"version":"2024.10.8","engine":"WEBJS","tier":"CORE","browser":"/usr/bin/google-chrome-stable"}}`;
  const secret = "whsec-PEERS";
  const coreHeaders = { "content-type": "application/json", "user-agent": "WAHA/2024.10.8" };
  assert.equal(await verifyWebhook(body, coreHeaders, secret), false, "nothing to verify: Core before 2024.11.5 signs nothing");
  const sha512 = createHmac("sha512", secret).update(body).digest("hex");
  assert.equal(await verifyWebhook(body, { ...coreHeaders, "x-webhook-hmac": sha512, "x-webhook-hmac-algorithm": "sha512" }, secret), true);
  const sha256 = createHmac("sha256", secret).update(body).digest("hex");
  for (const [header, mode, expected] of [
    [sha256, undefined, true],
    [secret, undefined, true],
    [sha256, "hmac-sha256", true],
    [secret, "hmac-sha256", false],
    [secret, "secret", true],
    [sha256, "secret", false],
  ]) {
    assert.equal(await verifyWebhook(body, { "x-wawp-signature": header }, secret, mode && { wawpSignature: mode }), expected, `${mode ?? "default"} ${header === secret ? "secret" : "hmac"}`);
  }
});

test("4. Wawp info: 405 (or a router's HTML 404) for GET → repeated once as POST, POST kept; a JSON 404 is final", async () => {
  for (const refusal of [
    { status: 405, headers: { allow: "POST", "content-type": "application/json" }, body: `{"message":"The GET method is not supported for route v2/session/info. Supported methods: POST."}` },
    undefined, // the fake's Express-style HTML 404 for an unrouted GET
  ]) {
    const routes = { "POST /v2/session/info": json(200, `{"name":"wawp-84729105","status":"WORKING","config":{"webhooks":{},"proxy":null},"me":{"id":"201012345678@c.us","pushName":"John Doe"}}`) };
    if (refusal) routes["GET /v2/session/info"] = refusal;
    const f = await fake(routes);
    const client = wawp(f);
    assert.equal((await client.info()).status, "WORKING");
    assert.equal((await client.info()).me.id, "201012345678@c.us");
    assert.deepEqual(f.requests.map((r) => r.method), ["GET", "POST", "POST"]);
    assert.ok(f.requests.every((r) => r.query.get("access_token") === TOKEN && r.query.get("instance_id") === INSTANCE));
  }
  const f = await fake({ "GET /v2/session/info": json(404, `{"code":"invalid_instance","message":"Instance not found"}`) });
  const gone = await errors.rejection(wawp(f).info());
  assert.equal(gone.code, "not_found");
  assert.equal(f.requests.length, 1);
});

test("5. a 200 with {status:\"error\"} or {success:false} is an error with a code, never a success", async () => {
  const f = await fake({
    "POST /v2/send/text": json(200, `{"status":"error","message":"Instance ID Invalidated"}`),
    "POST /v2/session/start": json(200, `{"success":false,"code":"invalid_access_token","message":"Invalid access token"}`),
  });
  const send = await errors.rejection(wawp(f).sendText("201012345678@c.us", "x"));
  assert.deepEqual([send.code, send.httpStatus, send.op], ["bad_request", 200, "sendText"]);
  assert.match(send.message, /Instance ID Invalidated/);
  const start = await errors.rejection(wawp(f).start());
  assert.deepEqual([start.code, start.httpStatus], ["unauthorized", 200]);
});

test("6. WAHA QR answered as image/png bytes gives a data:image/png;base64 URL of those bytes", async () => {
  const value = "2@FAKE-QR-VALUE,abc,def";
  const png = await QRCode.toBuffer(value, { type: "png" });
  const f = await fake({ "GET /api/default/auth/qr": { status: 200, headers: { "content-type": "image/png" }, body: png } });
  const { qr } = await waha(f).qrImage();
  assert.equal(qr, `data:image/png;base64,${png.toString("base64")}`);
  const image = pngjs.PNG.sync.read(Buffer.from(qr.slice(qr.indexOf(",") + 1), "base64"));
  assert.equal(jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data, value);
  assert.equal(f.requests[0].query.get("format"), "image");
  // The same bytes asked for as a raw value are not a QR value (an image is not text).
  const raw = await errors.rejection(waha(f).qr());
  assert.equal(raw.code, "invalid_payload");
});

test("no error of this file carries the token", () => {
  errors.assertNoSecrets([TOKEN]);
});
