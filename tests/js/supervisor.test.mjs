// SessionSupervisor + WawpClient against the simulator over real HTTP on 127.0.0.1 (fast sim
// clock, scaled machine timings). Status webhooks come from the simulator, signed, through a
// loopback receiver that runs parseWebhooks + observe, as an application would.

import { test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { ErrorCollector, pkg, startLocalServer, startSim, waitFor } from "./helpers.mjs";

const { WawpClient, SessionSupervisor, WawpError, parseWebhooks, RetryBudget } = pkg;
const errors = new ErrorCollector();

const SIM_TOKEN = "sim-SENTINEL-token-8c2e";
const STALE_TOKEN = "stale-SENTINEL-token-1b9d";
const HMAC_KEY = "whsec-SENTINEL-hook-77aa";
const JID = "201012345678@c.us";
const OTHER_JID = "201098765432@c.us";
const FAST_RETRY = { baseMs: 20, capMs: 200, maxAttempts: 6, seed: 3 };
/** Machine timings scaled for tests (the sim runs 60x). */
const MACHINE = { startingTimeoutMs: 1000, failedRestartDelayMs: 500, reconcileShortMs: 300, debounceMs: 0, sendTimeoutMs: 8000 };

let sim;
let receiver;
/** instance id and session name → the supervisor the receiver delivers that instance's events to. */
const routes = new Map();
const cleanups = [];

before(async () => {
  sim = await startSim({ speed: 60, seed: 11, token: SIM_TOKEN, timings: { startingMs: 3000, restartStopMs: 500 } });
  receiver = await startLocalServer(async (req, body, res) => {
    res.writeHead(200).end();
    try {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      for (const event of await parseWebhooks(body, headers, { secret: HMAC_KEY })) {
        routes.get(event.report?.instanceId ?? event.report?.session)?.observe(event);
      }
    } catch (err) {
      errors.record(err); // a closed supervisor or a bad delivery; the leak check covers it
    }
  });
});

after(async () => {
  await receiver?.close();
  await sim?.close();
});

beforeEach(async () => {
  await sim.reset();
  await sim.control("POST", "/webhooks", { url: `${receiver.url}/hook`, shape: "waha", hmacKey: HMAC_KEY });
});

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  routes.clear();
});

/** A supervisor on a fresh sim instance; every event is timestamped into `events`. */
async function setup({ instance = {}, machine = {}, token = SIM_TOKEN, clientOpts = {} } = {}) {
  const created = await sim.instance({ paired: true, jid: JID, status: "STOPPED", ...instance });
  const exchanges = [];
  const client = new WawpClient({
    accessToken: token,
    instanceId: created.instance_id,
    baseUrl: sim.url,
    retry: FAST_RETRY,
    timeoutMs: 3000,
    // Records every exchange with real timestamps (the sim's own clock runs 60x).
    fetch: async (url, init) => {
      const sentAt = Date.now();
      const response = await fetch(url, init);
      exchanges.push({ path: new URL(url).pathname, status: response.status, retryAfter: response.headers.get("retry-after"), sentAt });
      return response;
    },
    ...clientOpts,
  });
  const events = [];
  const supervisor = new SessionSupervisor({ client, ...MACHINE, ...machine, onEvent: (e) => events.push({ ...e, atMs: Date.now() }) });
  routes.set(created.instance_id, supervisor);
  if (created.session_name) routes.set(created.session_name, supervisor);
  cleanups.push(() => supervisor.close());
  return { id: created.instance_id, client, supervisor, events, exchanges };
}

const requestsOf = async (id, op) => (await sim.log()).requests.filter((r) => r.instanceId === id && r.op === op);
const deliveriesOf = async (id) => (await sim.log()).deliveries.filter((d) => d.instanceId === id);
const firstEvent = (events, match) => events.find((e) => Object.entries(match).every(([k, v]) => e[k] === v));

test("50 concurrent sendWhenReady on a STOPPED paired instance: one start, every task once", async () => {
  const { id, client, supervisor, events } = await setup();
  const runs = new Map();
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      supervisor.sendWhenReady(async () => {
        runs.set(i, (runs.get(i) ?? 0) + 1);
        return client.sendText("201011111111@c.us", `message ${i}`);
      }),
    ),
  );
  assert.equal(supervisor.status, "WORKING");
  assert.equal(runs.size, 50);
  assert.ok([...runs.values()].every((n) => n === 1), "every task ran exactly once");
  assert.equal(new Set(results.map((r) => r.id)).size, 50, "50 distinct message ids");
  assert.equal((await requestsOf(id, "start")).length, 1, "exactly one start request");
  const deliveries = await deliveriesOf(id);
  assert.equal(deliveries.length, 50);
  assert.equal(new Set(deliveries.map((d) => d.text)).size, 50);
  assert.equal(events.filter((e) => e.type === "call" && e.op === "start").length, 1);
  assert.ok(firstEvent(events, { type: "ui", uiAction: "connected" }));
  assert.ok(firstEvent(events, { type: "result", op: "start", ok: true }));
});

test("a stale WORKING: the API refuses the send (422), the machine re-reads, starts, and sends once", async () => {
  // The session really is STOPPED, but a (stale) webhook told the supervisor WORKING.
  const { id, client, supervisor, events } = await setup({ clientOpts: { retry: false } });
  supervisor.observe("WORKING");
  let runs = 0;
  const result = await supervisor.sendWhenReady(async () => {
    runs += 1;
    return client.sendText("201011111111@c.us", "after a stale WORKING");
  });
  assert.ok(result.id, "delivered with a message id");
  assert.equal(runs, 2, "refused once with 422, then run again after the fresh status");
  assert.equal((await deliveriesOf(id)).length, 1, "delivered exactly once");
  assert.equal((await requestsOf(id, "start")).length, 1, "the re-read found STOPPED and started it");
  assert.ok(firstEvent(events, { type: "call", op: "info" }), "the machine re-read the status");
  assert.equal(supervisor.status, "WORKING");
});

test("the machine decides a failed send: a 429 runs the task again after Retry-After, a timeout never", async () => {
  const { id, client, supervisor, events } = await setup({ instance: { status: "WORKING" }, clientOpts: { retry: false } });
  supervisor.observe("WORKING");
  await sim.faults({ burst429: { count: 1, retryAfterS: 1 } });
  const runs = [];
  const result = await supervisor.sendWhenReady(() => {
    runs.push(Date.now());
    return client.sendText("201011111111@c.us", "after a 429");
  });
  assert.ok(result.id, "delivered with a message id");
  assert.equal(runs.length, 2, "run again once, by the machine (the client does not retry)");
  assert.ok(runs[1] - runs[0] >= 1000, `run again ${runs[1] - runs[0]} ms later, Retry-After 1 s`);
  assert.ok(firstEvent(events, { type: "hold_send", attempts: 1 }));
  assert.equal((await deliveriesOf(id)).length, 1);
  // A timeout after the request left may have delivered it: given up, never run again.
  let timedOut = 0;
  const gaveUp = await errors.rejection(
    supervisor.sendWhenReady(async () => {
      timedOut += 1;
      throw new WawpError("timeout", "sendText: no complete response", { op: "sendText" });
    }),
  );
  assert.equal(gaveUp.code, "timeout");
  assert.equal(gaveUp.message, "sendText: no complete response", "the task's own error");
  assert.equal(timedOut, 1);
});

test("429 with Retry-After on start: the retry waits at least Retry-After", async () => {
  const { supervisor, exchanges } = await setup();
  await sim.faults({ burst429: { count: 1, retryAfterS: 1 } });
  await supervisor.sendWhenReady(async () => "sent");
  const limited = exchanges.findIndex((x) => x.status === 429);
  assert.ok(limited >= 0, "the sim answered 429 once");
  const retryAfterMs = Number(exchanges[limited].retryAfter) * 1000;
  assert.ok(retryAfterMs >= 1000, `Retry-After header: ${exchanges[limited].retryAfter}`);
  const retry = exchanges[limited + 1];
  assert.equal(retry.path, exchanges[limited].path, "the same call was repeated");
  assert.ok(retry.sentAt - exchanges[limited].sentAt >= retryAfterMs, `retried after ${retry.sentAt - exchanges[limited].sentAt} ms`);
  assert.equal(supervisor.status, "WORKING");
});

test("STARTING watchdog: a hung start is restarted after startingTimeoutMs", async () => {
  const { id, supervisor, events } = await setup();
  await sim.faults({ hangStarting: true });
  await supervisor.start();
  const starting = await waitFor(() => firstEvent(events, { type: "ui", status: "STARTING" }), { what: "STARTING" });
  const restart = await waitFor(() => firstEvent(events, { type: "call", op: "restart" }), { what: "the watchdog restart" });
  const waited = restart.atMs - starting.atMs;
  assert.ok(waited >= MACHINE.startingTimeoutMs - 50, `restarted after ${waited} ms in STARTING`);
  assert.ok(waited < MACHINE.startingTimeoutMs + 1500, `restarted only after ${waited} ms`);
  await sim.faults({ hangStarting: false });
  await waitFor(() => supervisor.status === "WORKING", { what: "WORKING after the fault cleared" });
  assert.ok((await requestsOf(id, "restart")).length >= 1);
});

test("FAILED auto-heal: restart after failedRestartDelayMs, the admin told once", async () => {
  const { id, supervisor, events } = await setup({ instance: { status: "WORKING" } });
  const report = await supervisor.warmBoot();
  assert.equal(report.status, "WORKING");
  await sim.control("POST", `/instances/${id}/fail`);
  const failed = await waitFor(() => firstEvent(events, { type: "ui", status: "FAILED" }), { what: "FAILED" });
  assert.ok(firstEvent(events, { type: "notify_admin", reason: "failed" }));
  const restart = await waitFor(() => firstEvent(events, { type: "call", op: "restart" }), { what: "auto-heal restart" });
  assert.ok(restart.atMs - failed.atMs >= MACHINE.failedRestartDelayMs - 50, `healed after ${restart.atMs - failed.atMs} ms`);
  await waitFor(() => supervisor.status === "WORKING", { what: "WORKING again" });
  assert.equal((await requestsOf(id, "restart")).length, 1);
});

test("logout: SCAN_QR_CODE, scan_qr shown, identity cleared, later sends need the QR", async () => {
  const { id, supervisor, events } = await setup({ instance: { status: "WORKING" }, machine: { expectedJid: JID } });
  await supervisor.warmBoot();
  await waitFor(() => firstEvent(events, { type: "identity", verdict: "match" }), { what: "identity match" });
  await supervisor.logout();
  await waitFor(() => firstEvent(events, { type: "ui", uiAction: "scan_qr" }), { what: "scan_qr" });
  assert.ok(firstEvent(events, { type: "clear_identity" }));
  assert.equal((await requestsOf(id, "logout")).length, 1);
  const err = await errors.rejection(supervisor.sendWhenReady(async () => assert.fail("must not run")));
  assert.equal(err.code, "needs_qr");
});

test("identity mismatch: queued sends rejected, the admin told, nothing delivered", async () => {
  const { id, supervisor, events } = await setup({ instance: { jid: OTHER_JID }, machine: { expectedJid: JID } });
  const sends = Array.from({ length: 3 }, () => errors.rejection(supervisor.sendWhenReady(async () => assert.fail("must not run"))));
  for (const err of await Promise.all(sends)) {
    assert.ok(err instanceof WawpError);
    assert.equal(err.code, "identity_mismatch");
  }
  assert.ok(firstEvent(events, { type: "identity", verdict: "mismatch" }));
  assert.ok(firstEvent(events, { type: "notify_admin", reason: "identity_mismatch" }));
  const later = await errors.rejection(supervisor.sendWhenReady(async () => assert.fail("must not run")));
  assert.equal(later.code, "identity_mismatch");
  assert.equal((await deliveriesOf(id)).length, 0);
});

test("token rotation: 401 pauses and tells the admin; setAccessToken + warmBoot recovers", async () => {
  const { client, supervisor, events } = await setup({ token: STALE_TOKEN, instance: { status: "WORKING" } });
  const unauthorized = await errors.rejection(supervisor.warmBoot());
  assert.equal(unauthorized.code, "unauthorized");
  assert.equal(unauthorized.httpStatus, 401);
  assert.ok(firstEvent(events, { type: "notify_admin", reason: "unauthorized" }));
  assert.ok(firstEvent(events, { type: "result", op: "info", ok: false, error: "unauthorized" }));
  client.setAccessToken(SIM_TOKEN);
  const report = await supervisor.warmBoot();
  assert.equal(report.status, "WORKING");
  assert.equal(await supervisor.sendWhenReady(async () => "delivered"), "delivered");
});

test("a shared RetryBudget spaces automatic restarts across supervisors", async () => {
  const budget = new RetryBudget(1, 1); // one token, refilled at one per second
  const a = await setup({ instance: { status: "WORKING" }, machine: { budget } });
  const b = await setup({ instance: { status: "WORKING" }, machine: { budget } });
  await Promise.all([a.supervisor.warmBoot(), b.supervisor.warmBoot()]);
  await Promise.all([a.id, b.id].map((id) => sim.control("POST", `/instances/${id}/fail`)));
  const healed = ({ events }) => firstEvent(events, { type: "result", op: "restart", ok: true });
  await waitFor(() => healed(a) && healed(b), { timeoutMs: 8000, what: "both restarted" });
  await waitFor(() => a.supervisor.status === "WORKING" && b.supervisor.status === "WORKING", { what: "both WORKING" });
  const refused = [...a.events, ...b.events].filter((e) => e.type === "result" && e.op === "restart" && !e.ok);
  assert.ok(refused.length >= 1, "one of the two restarts waited for the budget");
  assert.ok(refused.every((e) => e.error === "rate_limited"));
  const restarts = [...a.exchanges, ...b.exchanges].filter((x) => x.path.endsWith("/restart")).map((x) => x.sentAt).sort((x, y) => x - y);
  assert.equal(restarts.length, 2, "each instance restarted once over HTTP");
  assert.ok(restarts[1] - restarts[0] >= 900, `second restart ${restarts[1] - restarts[0]} ms after the first (budget refill 1/s)`);
});

test("observe: non-status events ignored, garbage rejected, repeats silent", async () => {
  const { supervisor, events } = await setup();
  supervisor.observe({ event: "message", session: "default", payload: { body: "hi" } });
  assert.equal(events.length, 0);
  const err = errors.thrown(() => supervisor.observe("{not json"));
  assert.equal(err.code, "invalid_payload");
  supervisor.observe("STOPPED");
  const after = events.length;
  supervisor.observe({ name: "x", status: "STOPPED" });
  assert.equal(events.length, after, "a repeated status emits nothing");
  assert.equal(supervisor.status, "STOPPED");
  // A StatusReport, and a JSON array body mixing shapes and event kinds.
  supervisor.observe(pkg.decodeStatus("SCAN_QR_CODE"));
  assert.equal(supervisor.status, "SCAN_QR_CODE");
  supervisor.observe(JSON.stringify([{ event: "message", payload: {} }, { event: "session.status", session: "x", payload: { status: "FAILED" } }]));
  assert.equal(supervisor.status, "FAILED");
});

test("send timeout and close(): pending sends reject with send_timeout / closed", async () => {
  const { supervisor } = await setup({ instance: { paired: false } });
  await sim.faults({ hangStarting: true });
  const timedOut = await errors.rejection(supervisor.sendWhenReady(async () => "x", { timeoutMs: 300 }));
  assert.equal(timedOut.code, "send_timeout");
  const pending = errors.rejection(supervisor.sendWhenReady(async () => "x"));
  supervisor.close();
  assert.equal((await pending).code, "closed");
  assert.equal((await errors.rejection(supervisor.sendWhenReady(async () => "x"))).code, "closed");
  assert.equal((await errors.rejection(supervisor.warmBoot())).code, "closed");
});

test("WAHA flavour end to end: X-Api-Key, /api/sessions paths, one start for 10 sends", async () => {
  const waha = await startSim({ speed: 60, seed: 5, token: SIM_TOKEN, flavor: "waha" });
  try {
    const created = await waha.instance({ instance_id: "default", paired: true, jid: JID, status: "STOPPED" });
    const session = created.session_name ?? created.instance_id;
    const client = new WawpClient({ accessToken: SIM_TOKEN, flavor: "waha", session, baseUrl: waha.url, retry: FAST_RETRY });
    const supervisor = new SessionSupervisor({ client, ...MACHINE, reconcileShortMs: 100 });
    cleanups.push(() => supervisor.close());
    const ids = await Promise.all(
      Array.from({ length: 10 }, (_, i) => supervisor.sendWhenReady(() => client.sendText("201011111111@c.us", `waha ${i}`))),
    );
    assert.equal(ids.length, 10);
    const log = await waha.log();
    assert.equal(log.requests.filter((r) => r.op === "start").length, 1);
    assert.equal(log.deliveries.length, 10);
    const stale = new WawpClient({ accessToken: STALE_TOKEN, flavor: "waha", session, baseUrl: waha.url, retry: false });
    assert.equal((await errors.rejection(stale.info())).code, "unauthorized");
  } finally {
    await waha.close();
  }
});

test("no error produced in this file contains a token or the webhook key", () => {
  errors.assertNoSecrets([SIM_TOKEN, STALE_TOKEN, HMAC_KEY]);
});
