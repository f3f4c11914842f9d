// Secrets never leave: whole scenarios run with sentinel credentials (access token, a stale
// token, a WAHA API key, a webhook secret) and FAIL if any sentinel — raw, percent-encoded or
// form-encoded — appears in an error (message, stack, cause chain, any own property), in console
// output (console.* captured for the whole file), in a supervisor event, in a snapshot or in a
// machine's toJSON. The servers are hostile: they echo the request URL and headers (where the
// credentials travel) into every error body. Against the BUILT package (`npm run build` first).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { closedPort, pkg, startLocalServer, startSim, waitFor } from "./helpers.mjs";

const { WawpClient, SessionSupervisor, LifecycleMachine, WawpError, parseWebhook, parseWebhooks, verifyWebhook, decodeStatus } = pkg;

// Base64-ish characters on purpose: '+', '/' and '=' encode differently in a URL.
const TOKEN = "tok+SENTINEL/a1b2c3==";
const STALE_TOKEN = "stale-SENTINEL-token-9f8e";
const API_KEY = "waha-SENTINEL-key-4d5c";
const WEBHOOK_SECRET = "whsec-SENTINEL-hook-0a1b";
const SENTINELS = [TOKEN, STALE_TOKEN, API_KEY, WEBHOOK_SECRET];
/** Every spelling of every sentinel that could end up in text. */
const NEEDLES = [...new Set(SENTINELS.flatMap((s) => [s, encodeURIComponent(s), new URLSearchParams({ s }).toString().slice(2)]))];
/** The distinctive core of the sentinels, to catch a partial or re-encoded leak too. */
const CORE = "SENTINEL";

/** Everything the scenarios produced: errors, events, snapshots, JSON texts. */
const observed = [];
const consoleLines = [];
const originalConsole = {};

before(() => {
  for (const level of ["log", "info", "warn", "error", "debug", "trace"]) {
    originalConsole[level] = console[level];
    console[level] = (...args) => {
      consoleLines.push(args.map((a) => (a instanceof Error ? `${a.stack}` : typeof a === "string" ? a : safeJson(a))).join(" "));
    };
  }
});

after(() => {
  Object.assign(console, originalConsole);
});

function safeJson(value) {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Every string reachable from `value`: own properties (enumerable or not), stack, cause chains. */
function strings(value, out = [], seen = new Set(), depth = 0) {
  if (value === null || value === undefined || depth > 8) return out;
  if (typeof value === "string") {
    out.push(value);
    return out;
  }
  if (typeof value !== "object" && typeof value !== "function") {
    out.push(String(value));
    return out;
  }
  if (seen.has(value)) return out;
  seen.add(value);
  if (value instanceof Error) out.push(String(value), String(value.stack), safeJson(value));
  if (typeof value === "object") out.push(safeJson(value));
  for (const key of Object.getOwnPropertyNames(value)) {
    let child;
    try {
      child = value[key];
    } catch {
      continue;
    }
    if (typeof child !== "function") strings(child, out, seen, depth + 1);
  }
  if (value instanceof Error && value.cause !== undefined) strings(value.cause, out, seen, depth + 1);
  if (Array.isArray(value.errors)) strings(value.errors, out, seen, depth + 1);
  return out;
}

function assertClean(label, value) {
  for (const text of strings(value)) {
    for (const needle of NEEDLES) assert.ok(!text.includes(needle), `${label}: a credential leaked: …${text.slice(Math.max(0, text.indexOf(needle) - 60), text.indexOf(needle) + 60)}…`);
    assert.ok(!text.includes(CORE), `${label}: a credential fragment leaked: ${text.slice(0, 300)}`);
  }
}

/** Awaits a rejection, checks it is a WawpError with `code`, records it. */
async function rejection(label, promise, code) {
  try {
    await promise;
  } catch (err) {
    observed.push([label, err]);
    assert.ok(err instanceof WawpError, `${label}: ${err}`);
    if (code) assert.equal(err.code, code, `${label}: ${err.message}`);
    return err;
  }
  assert.fail(`${label}: expected a rejection`);
}

/** A server that echoes the request (URL with the token, every header) in its answer. */
async function echoServer(status, kind, extraHeaders = {}) {
  return startLocalServer((req, body, res) => {
    const echo = { url: req.url, headers: req.headers, body };
    const text = {
      json: JSON.stringify({ error: "bad", message: `request ${req.url} rejected`, echo }),
      html: `<html><body><h1>Error</h1><pre>${req.url}\n${JSON.stringify(req.headers)}</pre></body></html>`,
      xml: `<?xml version="1.0"?><error><url>${req.url}</url><key>${req.headers["x-api-key"] ?? ""}</key></error>`,
      text: `failed: ${req.url} x-api-key=${req.headers["x-api-key"] ?? ""} access_token=${new URL(req.url, "http://x").searchParams.get("access_token")}`,
    }[kind];
    res.writeHead(status, { "Content-Type": kind === "json" ? "application/json" : `text/${kind}`, ...extraHeaders });
    res.end(text);
  });
}

test("client errors of every kind carry no credential (both flavours, hostile echoing servers)", async () => {
  const statuses = [400, 401, 403, 404, 409, 410, 413, 422, 429, 500, 502, 503];
  for (const flavor of ["wawp", "waha"]) {
    const secret = flavor === "wawp" ? TOKEN : API_KEY;
    for (const status of statuses) {
      for (const kind of ["json", "html", "xml", "text"]) {
        const server = await echoServer(status, kind, status === 429 ? { "Retry-After": "1" } : {});
        try {
          const client = new WawpClient({ accessToken: secret, instanceId: "inst-1", session: "default", flavor, baseUrl: server.url, retry: false });
          const err = await rejection(`${flavor} ${status} ${kind}`, client.sendText("15550001111@c.us", "hi"));
          assert.equal(err.httpStatus, status);
          assert.ok(server.requests.length === 1);
          // The credential really travelled (so its absence from the error means something).
          const request = server.requests[0];
          const carried = flavor === "wawp" ? request.url.searchParams.get("access_token") : request.headers["x-api-key"];
          assert.equal(carried, secret);
        } finally {
          await server.close();
        }
      }
    }
  }
  // 200 with an unreadable body, retries exhausted, a rotated-away token, a timeout, a refused connection.
  const garbage = await echoServer(200, "html");
  const rotating = new WawpClient({ accessToken: STALE_TOKEN, instanceId: "inst-1", baseUrl: garbage.url, retry: { baseMs: 1, capMs: 2, maxAttempts: 2, seed: 1 } });
  rotating.setAccessToken(TOKEN);
  await rejection("200 garbage", rotating.info(), "invalid_payload");
  await garbage.close();
  const flaky = await echoServer(503, "text");
  const retrying = new WawpClient({ accessToken: TOKEN, instanceId: "inst-1", baseUrl: flaky.url, retry: { baseMs: 1, capMs: 2, maxAttempts: 2, seed: 1 } });
  await rejection("503 after retries", retrying.info(), "server");
  assert.equal(flaky.requests.length, 3);
  await flaky.close();
  const hanging = await startLocalServer(() => {}); // never answers
  const slow = new WawpClient({ accessToken: TOKEN, instanceId: "inst-1", baseUrl: hanging.url, timeoutMs: 100, retry: false });
  await rejection("timeout", slow.me(), "timeout");
  await hanging.close();
  const refused = new WawpClient({ accessToken: TOKEN, instanceId: "inst-1", baseUrl: `http://127.0.0.1:${await closedPort()}`, retry: false });
  await rejection("refused", refused.start(), "network");
  // An injected fetch that throws with the full URL (credential included) in its message and cause.
  const leakyFetch = async (url) => {
    throw new TypeError(`fetch failed for ${url}`, { cause: new Error(`connect to ${url}`) });
  };
  const injected = new WawpClient({ accessToken: TOKEN, instanceId: "inst-1", fetch: leakyFetch, retry: false });
  await rejection("throwing fetch", injected.info(), "network");
  // A fetch whose response body read fails mid-way.
  const brokenBody = async () => ({ status: 200, headers: new Headers(), text: async () => { throw new Error(`stream reset; token=${TOKEN}`); } });
  await rejection("body read failure", new WawpClient({ accessToken: TOKEN, instanceId: "inst-1", fetch: brokenBody, retry: false }).info());
  // Option errors thrown while a credential is in the options.
  for (const opts of [{ accessToken: TOKEN, timeoutMs: NaN }, { accessToken: TOKEN, flavor: "x" }, { accessToken: TOKEN, retry: { baseMs: -1 } }]) {
    try {
      new WawpClient(opts);
      assert.fail("expected invalid_option");
    } catch (err) {
      observed.push(["options", err]);
      assert.equal(err.code, "invalid_option");
    }
  }
  for (const [label, err] of observed) assertClean(label, err);
});

test("supervisor runs with faults: events, results, snapshots, toJSON and errors carry no credential", async () => {
  const sim = await startSim({ speed: 60, seed: 5, token: TOKEN, timings: { startingMs: 3000, restartStopMs: 500 } });
  const receiver = await startLocalServer(async (req, body, res) => {
    res.writeHead(200).end();
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    try {
      for (const event of await parseWebhooks(body, headers, { secret: WEBHOOK_SECRET })) {
        observed.push(["webhook event", event]);
        supervisors.get(event.report?.instanceId)?.observe(event);
      }
    } catch (err) {
      observed.push(["webhook error", err]);
    }
  });
  const supervisors = new Map();
  const events = [];
  try {
    await sim.control("POST", "/webhooks", { url: `${receiver.url}/hook`, shape: "waha", hmacKey: WEBHOOK_SECRET });
    await sim.faults({ burst429: { count: 2, retryAfterS: 0.05 }, rate5xx: 0.2, latencyMs: 5 });
    const machine = { startingTimeoutMs: 1500, failedRestartDelayMs: 300, reconcileShortMs: 300, debounceMs: 0, sendTimeoutMs: 10_000, expectedJid: "201012345678@c.us" };
    const retry = { baseMs: 10, capMs: 100, maxAttempts: 8, seed: 2 };
    const good = await sim.instance({ paired: true, jid: "201012345678@c.us", status: "STOPPED" });
    const client = new WawpClient({ accessToken: TOKEN, instanceId: good.instance_id, baseUrl: sim.url, retry });
    const supervisor = new SessionSupervisor({ client, ...machine, onEvent: (e) => events.push(e) });
    supervisors.set(good.instance_id, supervisor);
    await supervisor.warmBoot().catch((err) => observed.push(["warmBoot", err]));
    const sent = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => supervisor.sendWhenReady(() => client.sendText("15550001111@c.us", `m${i}`))),
    );
    for (const outcome of sent) observed.push(["send", outcome.status === "fulfilled" ? outcome.value : outcome.reason]);
    assert.ok(sent.some((s) => s.status === "fulfilled"), JSON.stringify(sent.map((s) => s.reason?.code)));
    observed.push(["snapshot", supervisor.snapshot()]);
    // Unlink → FAILED → auto-heal, then a wrong token: 401, the admin told, everything paused.
    await sim.control("POST", `/instances/${good.instance_id}/fail`);
    await waitFor(() => events.some((e) => e.type === "notify_admin" && e.reason === "failed"), { timeoutMs: 10_000, what: "the admin told about FAILED" });
    const wrong = await sim.instance({ paired: true, jid: "201012345678@c.us", status: "STOPPED" });
    const staleClient = new WawpClient({ accessToken: STALE_TOKEN, instanceId: wrong.instance_id, baseUrl: sim.url, retry: false });
    const paused = new SessionSupervisor({ client: staleClient, ...machine, onEvent: (e) => events.push(e) });
    supervisors.set(wrong.instance_id, paused);
    await rejection("warmBoot with a stale token", paused.warmBoot(), "unauthorized");
    await rejection("send while unauthorized", paused.sendWhenReady(() => staleClient.sendText("1@c.us", "x"), { timeoutMs: 500 }));
    observed.push(["paused snapshot", paused.snapshot()]);
    supervisor.close();
    paused.close();
    await rejection("closed", supervisor.sendWhenReady(async () => 1), "closed");
    assert.ok(events.some((e) => e.type === "result" && e.ok === false), "the faults produced failed results");
    assert.ok(events.some((e) => e.type === "notify_admin" && e.reason === "unauthorized"));
    for (const [label, value] of observed) assertClean(label, value);
    assertClean("supervisor events", events);
  } finally {
    for (const s of supervisors.values()) s.close();
    await receiver.close();
    await sim.close();
  }
});

test("machine toJSON / snapshot / actions never keep a credential fed to it in a body", () => {
  const machine = new LifecycleMachine({ expectedJid: "201012345678@c.us" });
  const actions = [];
  const drain = () => {
    for (let a = machine.pollAction(); a !== undefined; a = machine.pollAction()) actions.push(a);
  };
  const now = 1_741_249_702_485;
  machine.handle({ type: "warm_boot" }, now);
  drain();
  // Hostile bodies that carry credentials next to the fields the machine reads.
  machine.handle({ type: "result", op: "info", ok: true, body: { status: "WORKING", access_token: TOKEN, apiKey: API_KEY, me: { id: "201012345678@c.us", pushName: `x ${TOKEN}` } } }, now + 1);
  drain();
  machine.handle({ type: "status", input: { event: "session.status", id: "evt_1", timestamp: now + 2, session: "default", payload: { status: "FAILED", access_token: TOKEN }, hmac: WEBHOOK_SECRET } }, now + 2);
  drain();
  machine.handle({ type: "result", op: "restart", ok: false, error: "unauthorized", httpStatus: 401, body: { message: `token ${TOKEN} revoked` } }, now + 3);
  drain();
  assertClean("machine toJSON", machine.toJSON());
  assertClean("machine snapshot", machine.snapshot());
  assertClean("restored toJSON", LifecycleMachine.fromJSON(machine.toJSON()).toJSON());
  // pushName is user data the machine may keep; check that the check itself would see it.
  assertClean("actions", actions.map((a) => ({ ...a, me: undefined })));
});

test("webhook verification: full-length comparison, replay window, size cap before parsing, secret never echoed", async () => {
  const body = JSON.stringify({ id: "evt_9", timestamp: Date.now(), event: "session.status", session: "default", payload: { status: "WORKING" } });
  const digest = createHmac("sha512", WEBHOOK_SECRET).update(body).digest("hex");
  const flip = (hex, i) => hex.slice(0, i) + (hex[i] === "0" ? "1" : "0") + hex.slice(i + 1);
  assert.equal(await verifyWebhook(body, { "X-Webhook-Hmac": digest }, WEBHOOK_SECRET), true);
  // Every position counts (first, middle, last), and no prefix or extension passes.
  for (const i of [0, 1, 64, digest.length - 2, digest.length - 1]) {
    assert.equal(await verifyWebhook(body, { "X-Webhook-Hmac": flip(digest, i) }, WEBHOOK_SECRET), false, `digit ${i}`);
  }
  for (const given of [digest.slice(0, -1), digest.slice(0, 32), digest + "0", "", digest.toUpperCase().slice(1)]) {
    assert.equal(await verifyWebhook(body, { "X-Webhook-Hmac": given }, WEBHOOK_SECRET), false, given.length);
  }
  // Replay window: an old event is refused even with a valid signature; a duplicate id is
  // accepted by the parser and ignored by the machine (replayed_event_id_is_ignored_by_the_machine).
  const old = JSON.stringify({ id: "evt_old", timestamp: Date.now() - 10 * 60_000, event: "session.status", session: "default", payload: { status: "WORKING" } });
  const oldSig = { "X-Webhook-Hmac": createHmac("sha512", WEBHOOK_SECRET).update(old).digest("hex") };
  await rejection("stale", parseWebhook(old, oldSig, { secret: WEBHOOK_SECRET, maxAgeMs: 5 * 60_000 }), "stale_event");
  // Size cap before parsing and before the HMAC: a huge body is refused with no work done on it.
  const huge = "[" + `${body},`.repeat(4000) + `${body}]`;
  const hugeSig = { "X-Webhook-Hmac": createHmac("sha512", WEBHOOK_SECRET).update(huge).digest("hex") };
  await rejection("huge", parseWebhooks(huge, hugeSig, { secret: WEBHOOK_SECRET, maxBytes: 64 * 1024 }), "payload_too_large");
  await rejection("bad signature", parseWebhook(body, { "X-Webhook-Hmac": flip(digest, 5) }, { secret: WEBHOOK_SECRET }), "bad_signature");
  await rejection("no signature", parseWebhook(body, {}, { secret: WEBHOOK_SECRET }), "bad_signature");
  const ok = await parseWebhook(body, { "X-Webhook-Hmac": digest }, { secret: WEBHOOK_SECRET, maxAgeMs: 60_000 });
  observed.push(["parsed", ok]);
  assertClean("parsed webhook", ok);
  for (const [label, value] of observed) assertClean(label, value);
  // decodeStatus of a body holding a secret keeps only what it reads.
  assertClean("decoded report", decodeStatus({ status: "WORKING", access_token: TOKEN, hmac: WEBHOOK_SECRET }));
});

test("nothing was printed with a credential (console.* captured for the whole file)", () => {
  for (const line of consoleLines) {
    for (const needle of NEEDLES) assert.ok(!line.includes(needle), `console leaked a credential: ${line.slice(0, 200)}`);
  }
  // The check sees console output at all (it is not vacuous).
  console.warn("probe line");
  assert.ok(consoleLines.includes("probe line"));
});
