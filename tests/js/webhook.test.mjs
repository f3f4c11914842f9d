// verifyWebhook / parseWebhook(s): WAHA's documented HMAC vector, Wawp's scheme, header
// spellings, and the order of checks (size → UTF-8 → signature → parser).

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { ErrorCollector, pkg } from "./helpers.mjs";

const { verifyWebhook, parseWebhook, parseWebhooks, WawpError } = pkg;
const errors = new ErrorCollector();

const WAHA_BODY = '{"event":"message","session":"default","engine":"WEBJS"}';
const WAHA_KEY = "my-secret-key";
const WAHA_DIGEST =
  "208f8a55dde9e05519e898b10b89bf0d0b3b0fdf11fdbf09b6b90476301b98d8097c462b2b17a6ce93b6b47a136cf2e78a33a63f6752c2c1631777076153fa89";
const SECRET = "whsec-SENTINEL-5e1f0c";

const hmac = (algorithm, key, body) => createHmac(algorithm, key).update(body).digest("hex");
const statusEvent = (status, timestamp, id = `evt_${status.toLowerCase()}`) =>
  ({ id, timestamp, event: "session.status", session: "default", payload: { name: "default", status } });

test("WAHA's documented vector verifies (algorithm header, default sha512, Headers object)", async () => {
  assert.equal(await verifyWebhook(WAHA_BODY, { "X-Webhook-Hmac": WAHA_DIGEST, "X-Webhook-Hmac-Algorithm": "sha512" }, WAHA_KEY), true);
  assert.equal(await verifyWebhook(WAHA_BODY, { "x-webhook-hmac": WAHA_DIGEST }, WAHA_KEY), true, "sha512 when the algorithm header is absent");
  assert.equal(await verifyWebhook(WAHA_BODY, new Headers({ "X-WEBHOOK-HMAC": WAHA_DIGEST }), WAHA_KEY), true);
  assert.equal(await verifyWebhook(new TextEncoder().encode(WAHA_BODY), { "X-Webhook-Hmac": WAHA_DIGEST }, WAHA_KEY), true, "raw bytes");
});

test("a wrong key, a changed byte, a truncated or missing signature all fail", async () => {
  assert.equal(await verifyWebhook(WAHA_BODY, { "X-Webhook-Hmac": WAHA_DIGEST }, "my-secret-kez"), false);
  assert.equal(await verifyWebhook(WAHA_BODY.replace("WEBJS", "WEBJs"), { "X-Webhook-Hmac": WAHA_DIGEST }, WAHA_KEY), false);
  assert.equal(await verifyWebhook(`${WAHA_BODY} `, { "X-Webhook-Hmac": WAHA_DIGEST }, WAHA_KEY), false, "trailing space is a different body");
  assert.equal(await verifyWebhook(WAHA_BODY, { "X-Webhook-Hmac": WAHA_DIGEST.slice(0, -2) }, WAHA_KEY), false);
  assert.equal(await verifyWebhook(WAHA_BODY, { "X-Webhook-Hmac": `${WAHA_DIGEST}00` }, WAHA_KEY), false);
  assert.equal(await verifyWebhook(WAHA_BODY, { "Content-Type": "application/json" }, WAHA_KEY), false);
  assert.equal(await verifyWebhook(WAHA_BODY, {}, WAHA_KEY), false);
  assert.equal(await verifyWebhook(WAHA_BODY, { "X-Webhook-Hmac": WAHA_DIGEST, "X-Webhook-Hmac-Algorithm": "md5" }, WAHA_KEY), false);
});

test("the algorithm header is read case-insensitively in its usual spellings", async () => {
  const spellings = { sha1: ["sha1", "SHA-1", "HmacSHA1"], sha256: ["sha256", "SHA-256", "sha_256"], sha384: ["SHA384", "sha-384"], sha512: ["SHA512", "hmac-sha512"] };
  for (const [algorithm, names] of Object.entries(spellings)) {
    const digest = hmac(algorithm, WAHA_KEY, WAHA_BODY);
    for (const name of names) {
      assert.equal(await verifyWebhook(WAHA_BODY, { "X-Webhook-Hmac": digest, "X-Webhook-Hmac-Algorithm": name }, WAHA_KEY), true, name);
    }
    if (algorithm !== "sha512") {
      assert.equal(await verifyWebhook(WAHA_BODY, { "X-Webhook-Hmac": digest }, WAHA_KEY), false, `${algorithm} digest under the sha512 default`);
    }
  }
});

test("Wawp's X-Wawp-Signature: HMAC-SHA256 hex, optional sha256= prefix", async () => {
  const digest = hmac("sha256", SECRET, WAHA_BODY);
  assert.equal(await verifyWebhook(WAHA_BODY, { "X-Wawp-Signature": digest }, SECRET), true);
  assert.equal(await verifyWebhook(WAHA_BODY, { "x-wawp-signature": `sha256=${digest}` }, SECRET), true);
  assert.equal(await verifyWebhook(WAHA_BODY, { "X-Wawp-Signature": hmac("sha512", SECRET, WAHA_BODY) }, SECRET), false);
  assert.equal(await verifyWebhook(WAHA_BODY, { "X-Wawp-Signature": digest }, "other"), false);
  // Both headers present: both must hold.
  assert.equal(await verifyWebhook(WAHA_BODY, { "X-Wawp-Signature": digest, "X-Webhook-Hmac": hmac("sha512", SECRET, WAHA_BODY) }, SECRET), true);
  assert.equal(await verifyWebhook(WAHA_BODY, { "X-Wawp-Signature": digest, "X-Webhook-Hmac": WAHA_DIGEST }, SECRET), false);
});

test("wawpSignature modes: hmac-sha256, secret (the header carries the secret), either (default)", async () => {
  const digest = hmac("sha256", SECRET, WAHA_BODY);
  const verify = (value, mode) =>
    verifyWebhook(WAHA_BODY, { "X-Wawp-Signature": value }, SECRET, mode === undefined ? undefined : { wawpSignature: mode });
  const table = [
    // header value, hmac-sha256, secret, either
    [digest, true, false, true],
    [`sha256=${digest}`, true, false, true],
    [SECRET, false, true, true],
    [` ${SECRET} `, false, true, true],
    [`${SECRET}x`, false, false, false],
    [SECRET.slice(0, -1), false, false, false],
    [SECRET.toUpperCase(), false, false, false],
    [hmac("sha256", "other", WAHA_BODY), false, false, false],
    ["", false, false, false],
  ];
  for (const [value, asHmac, asSecret, asEither] of table) {
    assert.equal(await verify(value, "hmac-sha256"), asHmac, `hmac-sha256: ${value}`);
    assert.equal(await verify(value, "secret"), asSecret, `secret: ${value}`);
    assert.equal(await verify(value, "either"), asEither, `either: ${value}`);
    assert.equal(await verify(value), asEither, `default (either): ${value}`);
  }
  // The option reaches verification through parseWebhooks as well.
  const body = JSON.stringify(statusEvent("WORKING", Date.now()));
  const [event] = await parseWebhooks(body, { "X-Wawp-Signature": SECRET }, { secret: SECRET, wawpSignature: "secret" });
  assert.equal(event.report.status, "WORKING");
  const pinned = await errors.rejection(parseWebhook(body, { "X-Wawp-Signature": SECRET }, { secret: SECRET, wawpSignature: "hmac-sha256" }));
  assert.equal(pinned.code, "bad_signature");
  // WAHA's header is unaffected by the Wawp mode.
  assert.equal(await verifyWebhook(WAHA_BODY, { "X-Webhook-Hmac": WAHA_DIGEST }, WAHA_KEY, { wawpSignature: "secret" }), true);
  assert.equal(await verifyWebhook(WAHA_BODY, { "X-Webhook-Hmac": WAHA_KEY }, WAHA_KEY, { wawpSignature: "either" }), false);
  const unsigned = await errors.rejection(parseWebhooks(body, {}, { wawpSignature: "sha256" }));
  assert.equal(unsigned.code, "invalid_option", "checked without a secret too");
  for (const bad of ["sha256", "SECRET", "", 1]) {
    const err = await errors.rejection(verifyWebhook(WAHA_BODY, { "X-Wawp-Signature": digest }, SECRET, { wawpSignature: bad }));
    assert.equal(err.code, "invalid_option", String(bad));
  }
});

test("either mode always computes both forms (no early exit on the first match)", async () => {
  const subtle = globalThis.crypto.subtle;
  const counts = { sign: 0, digest: 0 };
  const original = { sign: subtle.sign, digest: subtle.digest };
  subtle.sign = function (...args) {
    counts.sign++;
    return original.sign.apply(this, args);
  };
  subtle.digest = function (...args) {
    counts.digest++;
    return original.digest.apply(this, args);
  };
  try {
    const digest = hmac("sha256", SECRET, WAHA_BODY);
    for (const [value, mode, sign, hashes] of [
      [digest, "either", 1, 2],
      [SECRET, "either", 1, 2],
      ["wrong", "either", 1, 2],
      [digest, "hmac-sha256", 1, 0],
      [SECRET, "secret", 0, 2],
    ]) {
      counts.sign = counts.digest = 0;
      await verifyWebhook(WAHA_BODY, { "X-Wawp-Signature": value }, SECRET, { wawpSignature: mode });
      assert.deepEqual(counts, { sign, digest: hashes }, `${mode} with ${value === SECRET ? "the secret" : value}`);
    }
  } finally {
    subtle.sign = original.sign;
    subtle.digest = original.digest;
  }
});

test("an empty secret is an invalid option, not a silent pass", async () => {
  const err = await errors.rejection(verifyWebhook(WAHA_BODY, { "X-Webhook-Hmac": WAHA_DIGEST }, ""));
  assert.ok(err instanceof WawpError);
  assert.equal(err.code, "invalid_option");
});

test("parseWebhooks: the size cap comes before anything else", async () => {
  const big = JSON.stringify({ ...statusEvent("WORKING", Date.now()), pad: "x".repeat(300 * 1024) });
  const tooLarge = await errors.rejection(parseWebhooks(big, {}, { secret: SECRET }));
  assert.equal(tooLarge.code, "payload_too_large", "checked before the (missing) signature");
  const bytes = new TextEncoder().encode(JSON.stringify(statusEvent("WORKING", Date.now())));
  const capped = await errors.rejection(parseWebhooks(bytes, {}, { maxBytes: bytes.length - 1 }));
  assert.equal(capped.code, "payload_too_large");
  // Multi-byte text: the cap counts bytes, not characters.
  const arabic = JSON.stringify({ ...statusEvent("WORKING", Date.now()), note: "ش".repeat(100) });
  const utf8Length = new TextEncoder().encode(arabic).length;
  assert.ok(arabic.length < utf8Length);
  const byBytes = await errors.rejection(parseWebhooks(arabic, {}, { maxBytes: arabic.length + 10 }));
  assert.equal(byBytes.code, "payload_too_large");
});

test("parseWebhooks: broken UTF-8 is invalid_payload, checked before the signature", async () => {
  const bad = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]); // {"a":"\xc3("}
  const err = await errors.rejection(parseWebhooks(bad, {}, { secret: SECRET }));
  assert.equal(err.code, "invalid_payload");
});

test("parseWebhooks: a secret turns a missing or wrong signature into bad_signature", async () => {
  const body = JSON.stringify(statusEvent("WORKING", Date.now()));
  const missing = await errors.rejection(parseWebhooks(body, {}, { secret: SECRET }));
  assert.equal(missing.code, "bad_signature");
  const wrong = await errors.rejection(parseWebhooks(body, { "X-Webhook-Hmac": hmac("sha512", "nope", body) }, { secret: SECRET }));
  assert.equal(wrong.code, "bad_signature");
  const events = await parseWebhooks(body, { "X-Webhook-Hmac": hmac("sha512", SECRET, body) }, { secret: SECRET });
  assert.equal(events.length, 1);
  assert.equal(events[0].report.status, "WORKING");
});

test("parseWebhooks: both documented shapes, arrays under one signature, non-status events", async () => {
  const now = Date.now();
  const body = JSON.stringify([
    statusEvent("STARTING", now - 2000, "evt_a"),
    { instance_id: "3EB0BCB2E3D4", status: "SCAN_QR_CODE", qr: "2@abc", ts: Math.floor(now / 1000) },
    { event: "message", session: "default", payload: { body: "hi" } },
  ]);
  const events = await parseWebhooks(body, { "x-wawp-signature": hmac("sha256", SECRET, body) }, { secret: SECRET, nowMs: now });
  assert.equal(events.length, 3);
  assert.equal(events[0].event, "session.status");
  assert.equal(events[0].report.status, "STARTING");
  assert.equal(events[0].eventId, "evt_a");
  assert.equal(events[0].atMs, now - 2000);
  assert.equal(events[1].report.status, "SCAN_QR_CODE");
  assert.equal(events[1].report.instanceId, "3EB0BCB2E3D4");
  assert.equal(events[2].event, "message");
  assert.equal(events[2].report, null);

  const one = await parseWebhook(JSON.stringify(statusEvent("WORKING", now)), undefined, { nowMs: now });
  assert.equal(one.report.status, "WORKING");
  assert.equal(one.report.uiAction, "connected");
  const several = await errors.rejection(parseWebhook(body, undefined, { nowMs: now }));
  assert.equal(several.code, "invalid_payload");
});

test("parseWebhooks: stale events are rejected by their own timestamp", async () => {
  const now = Date.now();
  const body = JSON.stringify(statusEvent("WORKING", now - 10 * 60_000));
  const err = await errors.rejection(parseWebhook(body, {}, { maxAgeMs: 5 * 60_000, nowMs: now }));
  assert.equal(err.code, "stale_event");
  const fresh = await parseWebhook(body, {}, { maxAgeMs: 15 * 60_000, nowMs: now });
  assert.equal(fresh.report.status, "WORKING");
});

test("no error of this file carries the webhook secret", () => {
  errors.assertNoSecrets([SECRET]);
});
