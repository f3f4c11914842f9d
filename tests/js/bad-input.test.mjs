// The JS side of the bad-input catalogue (docs/bad-input.md), against the BUILT package
// (pkg/src/entry-node.js; `npm run build` first). Test names match the Rust side
// (tests/bad_input.rs) row by row; rows that only exist in JS (signatures, bytes, JS values,
// WawpClient options) have their own names. Every error is a WawpError with the documented code.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { ErrorCollector, pkg, startLocalServer } from "./helpers.mjs";

const { decodeStatus, parseWebhook, parseWebhooks, verifyWebhook, LifecycleMachine, Backoff, WawpClient, SessionSupervisor, parseRetryAfter, WawpError } = pkg;
const errors = new ErrorCollector();
const NOW = 1_741_249_702_485;
const TOKEN = "tok-SENTINEL-bad-input";
const SECRET = "whsec-SENTINEL-bad-input";

const wahaEvent = (id, status, timestamp) => ({ id, timestamp, event: "session.status", session: "default", payload: { status } });
const sign = (body, key = SECRET) => ({ "X-Webhook-Hmac": createHmac("sha512", key).update(body).digest("hex") });

/** Asserts that `fn` throws a WawpError with `code`, synchronously. */
function throwsCode(fn, code, label) {
  const error = errors.thrown(fn);
  assert.ok(error instanceof WawpError, `${label ?? ""}: not a WawpError: ${error}`);
  assert.equal(error.code, code, `${label ?? ""}: ${error.message}`);
  return error;
}

/** Asserts that `promise` rejects with a WawpError with `code`. */
async function rejectsCode(promise, code, label) {
  const error = await errors.rejection(promise);
  assert.ok(error instanceof WawpError, `${label ?? ""}: not a WawpError: ${error}`);
  assert.equal(error.code, code, `${label ?? ""}: ${error.message}`);
  return error;
}

function drain(machine) {
  const actions = [];
  for (let a = machine.pollAction(); a !== undefined; a = machine.pollAction()) actions.push(a);
  return actions;
}

/** A loopback server answering every request with `status` and `body`. */
async function serverAnswering(status, body, contentType = "text/html") {
  return startLocalServer((req, _body, res) => {
    res.writeHead(status, { "Content-Type": contentType });
    res.end(body);
  });
}

// ---- not JSON ---------------------------------------------------------------------------------

test("not_json_status_text_is_invalid_payload", () => {
  for (const text of ["{not json", "[1,", '{"status":}', "{'status':'WORKING'}", '{"status":"WORKING"} trailing']) {
    throwsCode(() => decodeStatus(text), "invalid_payload", text);
  }
});

test("not_json_webhook_body_is_invalid_payload", async () => {
  for (const body of ["<html><body>502 Bad Gateway</body></html>", "status=WORKING", "", "   "]) {
    await rejectsCode(parseWebhooks(body, {}, { nowMs: NOW }), "invalid_payload", JSON.stringify(body));
  }
});

test("not_json_snapshot_and_event_are_invalid_payload", () => {
  throwsCode(() => LifecycleMachine.fromJSON("not a snapshot"), "invalid_payload");
  throwsCode(() => new LifecycleMachine().handle("status", NOW), "invalid_payload");
});

test("not_json_success_body_is_invalid_payload", async () => {
  const server = await serverAnswering(200, "<html>maintenance</html>");
  try {
    const client = new WawpClient({ accessToken: TOKEN, instanceId: "inst1", baseUrl: server.url, retry: false });
    await rejectsCode(client.info(), "invalid_payload");
  } finally {
    await server.close();
  }
});

// ---- wrong types ------------------------------------------------------------------------------

test("wrong_types_in_status_payloads_are_invalid_payload", () => {
  for (const input of [{ status: 42 }, { status: null }, { status: ["WORKING"] }, 42, true, [1, 2], '{"status":42}']) {
    throwsCode(() => decodeStatus(input), "invalid_payload", JSON.stringify(input));
  }
  // JS values JSON cannot carry: a cycle, a BigInt, a function.
  const cyclic = { status: "WORKING" };
  cyclic.self = cyclic;
  throwsCode(() => decodeStatus(cyclic), "invalid_payload", "cycle");
  throwsCode(() => decodeStatus({ status: 10n }), "invalid_payload", "BigInt");
  throwsCode(() => decodeStatus(() => "WORKING"), "invalid_payload", "function");
});

test("wrong_types_in_webhook_events_are_invalid_payload", async () => {
  for (const body of ['{"event":5,"payload":{"status":"WORKING"}}', "[1,2]", '"session.status"', '{"event":"session.status","payload":{"status":7}}']) {
    await rejectsCode(parseWebhooks(body, {}, { nowMs: NOW }), "invalid_payload", body);
  }
  // The raw body itself must be text or bytes.
  for (const body of [42, { event: "session.status" }, null]) {
    await rejectsCode(parseWebhooks(body, {}, { nowMs: NOW }), "invalid_payload", String(body));
  }
});

test("wrong_types_in_machine_events_are_invalid_payload", () => {
  const machine = new LifecycleMachine();
  for (const event of [
    { type: 5 },
    { type: "send", id: 7 },
    { type: "send", id: "m1", timeoutMs: "soon" },
    { type: "result", op: "start", ok: "yes" },
    { type: "result", op: "launch", ok: true },
    { type: "status", input: 42 },
    { type: "send", id: 10n },
    null,
  ]) {
    throwsCode(() => machine.handle(event, NOW), "invalid_payload", String(event && event.type));
  }
  assert.equal(machine.queuedSends, 0);
});

// ---- missing fields ---------------------------------------------------------------------------

test("missing_status_field_is_invalid_payload", () => {
  for (const input of [{}, { payload: {} }, { event: "session.status", payload: { statuses: [] } }, { instance_id: "abc", ts: 1741249702 }, "", "   "]) {
    throwsCode(() => decodeStatus(input), "invalid_payload", JSON.stringify(input));
  }
});

test("missing_event_fields_are_invalid_payload", async () => {
  await rejectsCode(parseWebhooks('{"session":"default"}', {}, { nowMs: NOW }), "invalid_payload");
  const machine = new LifecycleMachine();
  for (const event of [{}, { type: "send" }, { type: "status" }, { type: "result", ok: true }]) {
    throwsCode(() => machine.handle(event, NOW), "invalid_payload", JSON.stringify(event));
  }
});

test("missing_required_request_argument_is_an_error_before_any_request", async () => {
  let calls = 0;
  const fetch = async () => {
    calls += 1;
    return new Response("{}");
  };
  const client = new WawpClient({ accessToken: TOKEN, fetch });
  await rejectsCode(client.info(), "invalid_option");
  const withInstance = new WawpClient({ accessToken: TOKEN, instanceId: "inst1", fetch });
  await rejectsCode(withInstance.sendText(undefined, "hi"), "invalid_option");
  assert.equal(calls, 0, "a request left with a missing argument");
});

// ---- unknown statuses: UNKNOWN, never an error ------------------------------------------------

test("unknown_status_decodes_to_unknown_with_raw_status", async () => {
  for (const [input, raw] of [
    ["HIBERNATING", "HIBERNATING"],
    [{ status: "HIBERNATING" }, "HIBERNATING"],
    [wahaEvent("evt_1", "QUANTUM", NOW), "QUANTUM"],
    [{ instance_id: "abc", status: "working_v2", ts: 1741249702 }, "working_v2"],
  ]) {
    const report = decodeStatus(input);
    assert.equal(report.status, "UNKNOWN");
    assert.equal(report.rawStatus, raw);
    assert.equal(report.uiAction, "inspect");
    assert.equal(report.canSend, false);
  }
  const event = await parseWebhook(JSON.stringify(wahaEvent("evt_2", "QUANTUM", NOW)), {}, { nowMs: NOW });
  assert.equal(event.report.status, "UNKNOWN");
});

test("unknown_status_in_the_machine_is_not_an_error_and_releases_nothing", () => {
  const machine = new LifecycleMachine();
  machine.handle({ type: "send", id: "m1" }, NOW);
  drain(machine);
  machine.handle({ type: "status", input: "HIBERNATING" }, NOW + 1);
  const actions = drain(machine);
  assert.ok(!actions.some((a) => a.type === "release_send" || a.type === "reject_send"), JSON.stringify(actions));
  assert.equal(machine.queuedSends, 1);
});

// ---- huge bodies ------------------------------------------------------------------------------

test("huge_webhook_body_is_payload_too_large_before_parsing", async () => {
  // Broken JSON past the cap: the size wins, so nothing parsed it.
  const body = "{" + "x".repeat(2000);
  await rejectsCode(parseWebhooks(body, {}, { nowMs: NOW, maxBytes: 1024 }), "payload_too_large");
  await rejectsCode(parseWebhooks(new TextEncoder().encode(body), {}, { nowMs: NOW, maxBytes: 1024 }), "payload_too_large");
  // Before the signature too: an unsigned huge body is too large, not a bad signature.
  await rejectsCode(parseWebhooks(body, {}, { nowMs: NOW, maxBytes: 1024, secret: SECRET }), "payload_too_large");
  // The default cap is 256 KiB of bytes (multi-byte characters count as bytes).
  await rejectsCode(parseWebhooks("é".repeat(128 * 1024 + 1), {}, { nowMs: NOW }), "payload_too_large");
  const exactly = JSON.stringify(wahaEvent("evt_1", "WORKING", NOW));
  assert.equal((await parseWebhooks(exactly, {}, { nowMs: NOW, maxBytes: exactly.length })).length, 1);
  await rejectsCode(parseWebhooks(exactly, {}, { nowMs: NOW, maxBytes: exactly.length - 1 }), "payload_too_large");
});

test("huge_json_text_is_payload_too_large", () => {
  const huge = `{"status":"WORKING","pad":"${"x".repeat(1 << 20)}"}`;
  throwsCode(() => decodeStatus(huge), "payload_too_large");
  throwsCode(() => LifecycleMachine.fromJSON(huge), "payload_too_large");
});

test("huge_error_body_is_classified_by_status_in_linear_time", async () => {
  const server = await serverAnswering(502, "<p>".repeat(400_000) + `access_token=${TOKEN}`);
  try {
    const client = new WawpClient({ accessToken: TOKEN, instanceId: "inst1", baseUrl: server.url, retry: false });
    const started = performance.now();
    const error = await rejectsCode(client.start(), "server");
    assert.ok(performance.now() - started < 5000);
    assert.equal(error.httpStatus, 502);
    assert.ok(error.message.length < 2000, `the message is an excerpt: ${error.message.length} chars`);
  } finally {
    await server.close();
  }
});

// ---- deep nesting -----------------------------------------------------------------------------

test("deep_nesting_is_invalid_payload_without_stack_overflow", async () => {
  const deep = "[".repeat(100_000);
  throwsCode(() => decodeStatus(deep), "invalid_payload");
  throwsCode(() => decodeStatus('{"a":'.repeat(100_000)), "invalid_payload");
  await rejectsCode(parseWebhooks(deep, {}, { nowMs: NOW }), "invalid_payload");
  throwsCode(() => LifecycleMachine.fromJSON('{"a":'.repeat(100_000)), "invalid_payload");
  // A deep JS object (not text) is refused the same way.
  let nested = { status: "WORKING" };
  for (let i = 0; i < 1000; i++) nested = { payload: nested };
  throwsCode(() => decodeStatus(nested), "invalid_payload");
  // The module still works afterwards.
  assert.equal(decodeStatus("WORKING").status, "WORKING");
});

// ---- non-UTF-8 --------------------------------------------------------------------------------

test("non_utf8_bytes_after_lossy_decoding_are_invalid_payload_or_unknown", async () => {
  const bytes = Uint8Array.from([0x7b, 0x22, 0x73, 0xff, 0xfe, 0x22, 0x3a, 0x80, 0x7d]);
  // Webhook bytes are decoded strictly: invalid UTF-8 is invalid_payload, before any parsing.
  await rejectsCode(parseWebhooks(bytes, {}, { nowMs: NOW }), "invalid_payload");
  const event = new TextEncoder().encode(JSON.stringify(wahaEvent("evt_1", "WORKING", NOW)));
  const truncatedUtf8 = Uint8Array.from([...event.slice(0, -1), 0xc3]);
  await rejectsCode(parseWebhooks(truncatedUtf8, {}, { nowMs: NOW }), "invalid_payload");
  // Text that a lossy decoder already turned into U+FFFD: malformed JSON or an unknown status.
  throwsCode(() => decodeStatus(new TextDecoder().decode(bytes)), "invalid_payload");
  assert.equal(decodeStatus(new TextDecoder().decode(Uint8Array.from([0x57, 0x4f, 0x52, 0xff, 0x4b]))).status, "UNKNOWN");
});

test("lone_surrogate_escapes_become_replacement_characters", () => {
  assert.equal(decodeStatus('{"status":"\\ud800"}').rawStatus, "\ufffd");
  // A lone surrogate in a JS string crosses into the wasm as U+FFFD too.
  assert.equal(decodeStatus("WORK\ud800ING").status, "UNKNOWN");
  assert.equal(decodeStatus({ status: "\udc00" }).rawStatus, "\ufffd");
  throwsCode(() => decodeStatus('{"status":"\\u12"}'), "invalid_payload");
});

// ---- bad or missing signatures (HMAC is WebCrypto in JS: no Rust row) -------------------------

test("bad_or_missing_signature_is_bad_signature", async () => {
  const body = JSON.stringify(wahaEvent("evt_1", "WORKING", NOW));
  const good = sign(body)["X-Webhook-Hmac"];
  assert.equal((await parseWebhook(body, sign(body), { secret: SECRET, nowMs: NOW })).report.status, "WORKING");
  const cases = {
    "no header": {},
    "empty header": { "X-Webhook-Hmac": "" },
    "wrong key": sign(body, "another-secret"),
    "other body": sign(body + " "),
    "last hex digit changed": { "X-Webhook-Hmac": good.slice(0, -1) + (good.endsWith("0") ? "1" : "0") },
    truncated: { "X-Webhook-Hmac": good.slice(0, 64) },
    "one extra digit": { "X-Webhook-Hmac": good + "0" },
    "not hex": { "X-Webhook-Hmac": "z".repeat(good.length) },
    "unknown algorithm": { ...sign(body), "X-Webhook-Hmac-Algorithm": "md5" },
    "algorithm mismatch": { ...sign(body), "X-Webhook-Hmac-Algorithm": "sha256" },
    "good WAHA + bad Wawp": { ...sign(body), "X-Wawp-Signature": "sha256=" + "0".repeat(64) },
    "Wawp scheme, wrong key": { "X-Wawp-Signature": createHmac("sha256", "nope").update(body).digest("hex") },
  };
  for (const [label, headers] of Object.entries(cases)) {
    await rejectsCode(parseWebhook(body, headers, { secret: SECRET, nowMs: NOW }), "bad_signature", label);
    assert.equal(await verifyWebhook(body, headers, SECRET), false, label);
  }
  // An empty or missing secret is a programming error, not a failed check.
  for (const secret of ["", 42, null]) {
    await rejectsCode(verifyWebhook(body, sign(body), secret), "invalid_option", String(secret));
  }
});

// ---- stale or replayed events -----------------------------------------------------------------

test("stale_webhook_is_stale_event", async () => {
  const opts = { nowMs: NOW, maxAgeMs: 300_000 };
  await rejectsCode(parseWebhook(JSON.stringify(wahaEvent("evt_old", "WORKING", NOW - 301_000)), {}, opts), "stale_event");
  await rejectsCode(parseWebhook(JSON.stringify(wahaEvent("evt_future", "WORKING", NOW + 301_000)), {}, opts), "stale_event");
  const recent = wahaEvent("evt_recent", "WORKING", NOW - 299_000);
  assert.equal((await parseWebhook(JSON.stringify(recent), {}, opts)).eventId, "evt_recent");
  const legacy = { instance_id: "abc", status: "WORKING", ts: Math.floor(NOW / 1000) - 3600 };
  await rejectsCode(parseWebhook(JSON.stringify(legacy), {}, opts), "stale_event");
  const array = JSON.stringify([recent, wahaEvent("evt_old", "WORKING", NOW - 301_000)]);
  await rejectsCode(parseWebhooks(array, {}, opts), "stale_event");
  // Signed and stale: the signature passes, the age still fails.
  const signedOld = JSON.stringify(wahaEvent("evt_old2", "WORKING", NOW - 3_600_000));
  await rejectsCode(parseWebhook(signedOld, sign(signedOld), { ...opts, secret: SECRET }), "stale_event");
});

test("replayed_event_id_is_ignored_by_the_machine", () => {
  const machine = new LifecycleMachine();
  const failed = wahaEvent("evt_1", "FAILED", NOW);
  machine.handle({ type: "status", input: failed }, NOW);
  assert.ok(drain(machine).length > 0);
  const snapshot = machine.toJSON();
  machine.handle({ type: "status", input: failed }, NOW + 10);
  assert.deepEqual(drain(machine), [], "a replayed event id produced actions");
  assert.equal(machine.status, "FAILED");
  const restored = LifecycleMachine.fromJSON(snapshot);
  restored.handle({ type: "status", input: failed }, NOW + 20);
  assert.ok(!drain(restored).some((a) => a.type === "ui"));
});

test("reordered_older_event_is_ignored_by_the_machine", () => {
  const machine = new LifecycleMachine();
  machine.handle({ type: "status", input: wahaEvent("evt_2", "WORKING", NOW) }, NOW);
  drain(machine);
  machine.handle({ type: "status", input: wahaEvent("evt_1", "STARTING", NOW - 5000) }, NOW + 1);
  assert.ok(!drain(machine).some((a) => a.type === "ui"));
  assert.equal(machine.status, "WORKING");
});

// ---- hostile option values --------------------------------------------------------------------

test("hostile_backoff_options_are_invalid_option", () => {
  for (const opts of [
    { baseMs: NaN },
    { baseMs: -1 },
    { capMs: Infinity },
    { baseMs: -Infinity },
    { baseMs: 10_000, capMs: 100 },
    { baseMs: 1e308 },
    { factor: 0.5 },
    { factor: NaN },
    { maxElapsedMs: -Infinity },
    { baseMs: "1000" },
    { jitter: "chaotic" },
    { maxAttempts: -1 },
    { maxAttempts: 1.5 },
    { maxAttempts: 1e300 },
    { maxAttempts: NaN },
    { seed: "x" },
    { seed: NaN },
    42,
    "fast",
  ]) {
    throwsCode(() => new Backoff(opts), "invalid_option", JSON.stringify(opts) ?? String(opts));
  }
});

test("hostile_retry_after_values_on_backoff_are_ignored", () => {
  for (const hint of [NaN, Infinity, -Infinity, -5000]) {
    const delay = new Backoff({ seed: 7 }).next(hint);
    assert.ok(Number.isFinite(delay) && delay >= 0 && delay <= 60_000, `${hint} → ${delay}`);
  }
});

test("hostile_machine_options_are_invalid_option", () => {
  const hostile = [
    { startingTimeoutMs: -1 },
    { startingTimeoutMs: 0 },
    { startingTimeoutMs: 1e300 },
    { startingTimeoutMs: "60000" },
    { startingTimeoutMs: NaN },
    { sendTimeoutMs: Infinity },
    { debounceMs: -Infinity },
    { maxQueuedSends: -3 },
    { maxQueuedSends: 2.5 },
    { maxQueuedSends: NaN },
    { maxAutoRestarts: "many" },
    { expectedJid: "" },
    { expectedJid: 42 },
    { maintenance: { weekday: 7, hourUtc: 3 } },
    { maintenance: { weekday: NaN, hourUtc: 3 } },
    { maintenance: "sunday" },
    [],
    "defaults",
  ];
  for (const opts of hostile) {
    throwsCode(() => new LifecycleMachine(opts), "invalid_option", JSON.stringify(opts));
  }
  // The supervisor hands the same options to its machine.
  const client = new WawpClient({ accessToken: TOKEN, instanceId: "inst1", fetch: async () => new Response("{}") });
  for (const opts of [{ startingTimeoutMs: NaN }, { maxQueuedSends: -1 }]) {
    throwsCode(() => new SessionSupervisor({ client, ...opts }), "invalid_option", JSON.stringify(opts));
  }
});

test("hostile_clock_values_do_not_break_the_machine", () => {
  const machine = new LifecycleMachine();
  for (const now of [NaN, Infinity, -Infinity]) {
    machine.handle({ type: "warm_boot" }, now);
    drain(machine);
    const deadline = machine.pollTimeout();
    assert.ok(deadline === undefined || Number.isFinite(deadline), String(deadline));
  }
  machine.handle({ type: "send", id: "m1" }, NOW);
  drain(machine);
  assert.ok(Number.isFinite(machine.pollTimeout()));
  assert.equal(LifecycleMachine.fromJSON(machine.toJSON()).toJSON(), machine.toJSON());
});

test("hostile_retry_after_headers_are_ignored", () => {
  for (const value of ["", "-5", "NaN", "Infinity", "1e400", "soon", "Thu, 99 Foo 2025 25:61:61 GMT", "\0", null]) {
    assert.equal(parseRetryAfter(value, NOW), undefined, JSON.stringify(value));
  }
  assert.equal(parseRetryAfter("99999999999999999999", NOW), 3_600_000);
  assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", NaN), undefined);
});

test("hostile_send_queue_is_bounded_with_queue_full", () => {
  const machine = new LifecycleMachine({ maxQueuedSends: 3 });
  const rejected = [];
  for (let i = 0; i < 5; i++) {
    machine.handle({ type: "send", id: `m${i}` }, NOW + i);
    for (const action of drain(machine)) if (action.type === "reject_send") rejected.push([action.id, action.code]);
  }
  assert.equal(machine.queuedSends, 3);
  assert.deepEqual(rejected, [["m3", "queue_full"], ["m4", "queue_full"]]);
});

test("hostile_snapshots_are_invalid_payload", () => {
  const machine = new LifecycleMachine();
  machine.handle({ type: "send", id: "m1" }, NOW);
  const good = machine.toJSON();
  throwsCode(() => LifecycleMachine.fromJSON(good.slice(0, good.length >> 1)), "invalid_payload", "truncated");
  for (const text of ["{}", "[]", "null", '{"v":999}', good.replace('"status":"UNKNOWN"', '"status":42')]) {
    throwsCode(() => LifecycleMachine.fromJSON(text), "invalid_payload", text.slice(0, 40));
  }
});

test("hostile_client_options_are_invalid_option", () => {
  const base = { accessToken: TOKEN, instanceId: "inst1", fetch: async () => new Response("{}") };
  for (const [label, opts] of Object.entries({
    "timeoutMs NaN": { ...base, timeoutMs: NaN },
    "timeoutMs -1": { ...base, timeoutMs: -1 },
    "timeoutMs Infinity": { ...base, timeoutMs: Infinity },
    "timeoutMs string": { ...base, timeoutMs: "5000" },
    "flavor": { ...base, flavor: "twilio" },
    "baseUrl": { ...base, baseUrl: "not a url" },
    "retry NaN": { ...base, retry: { baseMs: NaN } },
    "retry Infinity cap": { ...base, retry: { capMs: Infinity } },
    "retry number": { ...base, retry: 5 },
    "accessToken empty": { ...base, accessToken: "" },
    "accessToken number": { ...base, accessToken: 42 },
    "fetch string": { ...base, fetch: "fetch" },
    "no options": undefined,
    "options string": "token",
  })) {
    const error = throwsCode(() => new WawpClient(opts), "invalid_option", label);
    assert.ok(!String(error.message).includes(TOKEN), label);
  }
  const client = new WawpClient(base);
  for (const token of ["", null, 42]) throwsCode(() => client.setAccessToken(token), "invalid_option", String(token));
});

test("hostile_webhook_options_are_invalid_option", async () => {
  const body = JSON.stringify(wahaEvent("evt_1", "WORKING", NOW));
  for (const opts of [{ maxBytes: NaN }, { maxBytes: -1 }, { maxBytes: "1024" }, { maxAgeMs: NaN }, { maxAgeMs: -1 }]) {
    await rejectsCode(parseWebhooks(body, {}, { nowMs: NOW, ...opts }), "invalid_option", JSON.stringify(opts));
  }
});

after(() => {
  errors.assertNoSecrets([TOKEN, SECRET]);
});
