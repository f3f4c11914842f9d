// The six fidelity fixes of issue 11, end to end: the built package against the simulator, which
// answers as the real APIs do (sim/README.md names the source of each behaviour). The same six
// are checked against stand-alone fakes in tests/peers/fakes.test.mjs.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import jsQR from "jsqr";
import pngjs from "pngjs";
import { ErrorCollector, pkg, startLocalServer, startSim, waitFor } from "./helpers.mjs";

const { WawpClient, WawpError, verifyWebhook } = pkg;
const TOKEN = "sim-token-FIDELITY-9c1e";
const errors = new ErrorCollector();
const closers = [];
after(() => Promise.all(closers.map((close) => close())));

async function sim(opts) {
  const s = await startSim({ token: TOKEN, ...opts });
  closers.push(() => s.close());
  return s;
}

const wawp = (s, instanceId, opts = {}) => new WawpClient({ accessToken: TOKEN, instanceId, baseUrl: s.url, retry: false, ...opts });
const waha = (s, opts = {}) => new WawpClient({ accessToken: TOKEN, flavor: "waha", baseUrl: s.url, retry: false, ...opts });

test("1. Wawp sendText reaches a simulator that takes only `message`", async () => {
  const s = await sim();
  const { instance_id: id } = await s.instance({ status: "WORKING" });
  const sent = await wawp(s, id).sendText("201012345678", "hello ✓");
  assert.match(sent.id, /^true_201012345678@c\.us_/);
  const { deliveries } = await s.log();
  assert.deepEqual(deliveries.map((d) => [d.chatId, d.text]), [["201012345678@c.us", "hello ✓"]]);
});

test("2. WAHA Core: create of the pre-created `default` adopts it (read, returned)", async () => {
  const s = await sim({ flavor: "waha", wahaTier: "core", wahaVersion: "2024.10.8" });
  const client = waha(s);
  const created = await client.create();
  assert.deepEqual(created, { instanceId: "default", sessionName: "default", status: "STOPPED" });
  const { requests } = await s.log();
  assert.deepEqual(requests.map((r) => [r.method, r.path, r.httpStatus]), [
    ["POST", "/api/sessions", 422],
    ["GET", "/api/sessions/default", 200],
  ]);
  // And the session is usable: start works on it.
  assert.equal((await client.start()).status, "STARTING");
  // Another name on Core is refused as WAHA refuses it (no follow-up for that 422).
  const other = await errors.rejection(waha(s, { session: "sales" }).create());
  assert.equal(other.code, "conflict");
  assert.match(other.message, /only 'default' session/);
});

test("3. webhooks: Wawp HMAC-SHA256 deliveries verify in hmac-sha256 and either mode, not as a bare secret", async () => {
  const received = [];
  const receiver = await startLocalServer((req, body, res) => {
    received.push({ headers: req.headers, body });
    res.writeHead(200).end();
  });
  closers.push(() => receiver.close());
  const s = await sim();
  await s.control("POST", "/webhooks", { url: `${receiver.url}/hook`, shape: "wawp", hmacKey: "whsec-FIDELITY" });
  const { instance_id: id } = await s.instance({});
  await s.control("POST", `/instances/${id}/fail`, {});
  const [delivery] = await waitFor(() => (received.length > 0 ? received : null), { what: "a Wawp delivery" });
  assert.ok(delivery.headers["x-wawp-signature"]);
  assert.equal(await verifyWebhook(delivery.body, delivery.headers, "whsec-FIDELITY"), true);
  assert.equal(await verifyWebhook(delivery.body, delivery.headers, "whsec-FIDELITY", { wawpSignature: "hmac-sha256" }), true);
  assert.equal(await verifyWebhook(delivery.body, delivery.headers, "whsec-FIDELITY", { wawpSignature: "secret" }), false);
});

test("3. webhooks: WAHA Core before 2024.11.5 signs nothing, so a verifier with a secret refuses it", async () => {
  const received = [];
  const receiver = await startLocalServer((req, body, res) => {
    received.push({ headers: req.headers, body });
    res.writeHead(200).end();
  });
  closers.push(() => receiver.close());
  const s = await sim({ flavor: "waha", wahaTier: "core", wahaVersion: "2024.10.8" });
  const client = waha(s);
  await client.delete();
  const hook = { url: `${receiver.url}/hook`, events: ["session.status"], hmac: { key: "whsec-core" } };
  const res = await fetch(`${s.url}/api/sessions`, {
    method: "POST",
    headers: { "x-api-key": TOKEN, "content-type": "application/json" },
    body: JSON.stringify({ name: "default", start: true, config: { webhooks: [hook] } }),
  });
  assert.equal(res.status, 201);
  const [delivery] = await waitFor(() => (received.length > 0 ? received : null), { what: "a WAHA delivery" });
  assert.equal(delivery.headers["x-webhook-hmac"], undefined);
  assert.equal(await verifyWebhook(delivery.body, delivery.headers, "whsec-core"), false);
});

test("4. Wawp info: 405 on GET → the same call repeated once as POST, and POST kept for that client", async () => {
  for (const refusal of [405, 404]) {
    const s = await sim();
    const { instance_id: id } = await s.instance({});
    await s.faults({ infoGetRefused: refusal });
    const client = wawp(s, id);
    assert.equal((await client.info()).status, "STOPPED");
    assert.equal((await client.info()).status, "STOPPED");
    const { requests } = await s.log();
    assert.deepEqual(requests.map((r) => [r.method, r.httpStatus]), [["GET", refusal], ["POST", 200], ["POST", 200]], `refusal ${refusal}`);
    // A fresh client starts from GET again (the choice is per client), and a real 404 stays an error.
    const unknown = await errors.rejection(wawp(s, "NO-SUCH-ID").me());
    assert.equal(unknown.code, "not_found");
  }
});

test("5. Wawp failures answered as 200 {status:\"error\"} are errors with a code, never a success", async () => {
  const s = await sim();
  const { instance_id: id } = await s.instance({});
  await s.faults({ errorsAs200: true });
  const send = await errors.rejection(wawp(s, id).sendText("201012345678@c.us", "x"));
  assert.ok(send instanceof WawpError);
  assert.deepEqual([send.code, send.httpStatus], ["conflict", 200]);
  assert.match(send.message, /Session status is not as expected/);
  const info = await errors.rejection(wawp(s, id, { accessToken: "wrong-token" }).info());
  assert.deepEqual([info.code, info.httpStatus], ["unauthorized", 200]);
  assert.equal((await s.log()).deliveries.length, 0);
});

test("6. WAHA QR image answered as image/png bytes (Accept dropped on the way) still gives a data URL", async () => {
  const s = await sim({ flavor: "waha", timings: { firstQrMs: 3_600_000 } });
  await s.instance({ instance_id: "default", status: "SCAN_QR_CODE" });
  const stripAccept = (url, init) => {
    const headers = { ...init.headers };
    delete headers.Accept;
    return fetch(url, { ...init, headers });
  };
  const client = waha(s, { fetch: stripAccept });
  const { qr } = await client.qrImage();
  assert.match(qr, /^data:image\/png;base64,/);
  const image = pngjs.PNG.sync.read(Buffer.from(qr.slice(qr.indexOf(",") + 1), "base64"));
  const decoded = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
  assert.equal(decoded?.data, (await client.qr()).value);
  const [request] = (await s.log()).requests.filter((r) => r.op === "qr-image");
  assert.equal(request.httpStatus, 200);
});

test("no error of this file carries the token", () => {
  errors.assertNoSecrets([TOKEN]);
});
