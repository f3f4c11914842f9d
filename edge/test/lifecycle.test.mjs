#!/usr/bin/env node
// The edge supervisor in real workerd (Miniflare) against the simulator on loopback, at 60x:
// the STARTING watchdog and FAILED auto-heal run on Durable Object alarms, webhooks are verified
// and de-duplicated, logout leads to a QR, delete destroys everything.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  ADMIN_TOKEN,
  TOKEN,
  WEBHOOK_SECRET,
  call,
  createWorkingInstance,
  instance,
  readEvents,
  seedInstance,
  seenBodies,
  signedStatusEvent,
  simInstance,
  simRequests,
  sleep,
  startReceiver,
  startStack,
  waitFor,
  waitForStatus,
  closeAll,
} from "../test-harness.mjs";

let sim;
let edge;
let admin;
/** The instance the tests after the watchdog share (WORKING between tests). */
let id;

before(async () => {
  admin = await startReceiver();
  ({ sim, edge } = await startStack({ env: { ADMIN_WEBHOOK_URL: admin.url } }));
});

after(async () => {
  await closeAll(edge, sim, admin);
});

async function timeline(instanceId) {
  return (await call(edge.url, "GET", `/instances/${instanceId}/stability`)).body.timeline;
}

test("STARTING watchdog: a hung start is restarted by the alarm after startingTimeoutMs", async () => {
  id = await seedInstance(sim, { jid: "15550004444@c.us" });
  await call(sim.url, "POST", "/__sim/faults", { hangStarting: true });
  const started = await call(edge.url, "POST", `/instances/${id}/start`);
  assert.equal(started.status, 200);
  const starting = await waitForStatus(edge, id, "STARTING");
  assert.equal(starting.uiAction, "connecting");
  assert.equal(starting.startingTimeoutMs, 1000, "60 s watchdog divided by TIMING_SCALE 60");
  assert.ok(starting.nextDeadlineMs > Date.now() - 1000, "an alarm deadline is armed while STARTING");

  const restart = await waitFor("the watchdog's restart", () => simRequests(sim, id, "restart").then((r) => r[0]));
  const [start] = await simRequests(sim, id, "start");
  assert.equal((await simRequests(sim, id, "start")).length, 1, "one start");
  assert.ok(restart.t - start.t >= 900, `restart ${restart.t - start.t} ms after start, not before the watchdog`);

  await call(sim.url, "POST", "/__sim/faults", { hangStarting: false });
  const working = await waitForStatus(edge, id, "WORKING");
  assert.equal(working.uiAction, "connected");
  const statuses = (await timeline(id)).map((entry) => entry.status);
  assert.deepEqual(statuses.slice(0, 1), ["STARTING"]);
  assert.equal(statuses.at(-1), "WORKING");
});

test("FAILED auto-heal: restart after failedRestartDelayMs, the admin told once", async () => {
  const restartsBefore = (await simRequests(sim, id, "restart")).length;
  const failedAt = Date.now();
  await call(sim.url, "POST", `/__sim/instances/${id}/fail`);
  const failed = await waitForStatus(edge, id, "FAILED");
  assert.equal(failed.uiAction, "troubleshoot");
  await waitForStatus(edge, id, "WORKING");

  const restarts = (await simRequests(sim, id, "restart")).slice(restartsBefore);
  assert.equal(restarts.length, 1, "exactly one automatic restart");
  assert.ok(restarts[0].t - failedAt >= 450, "the restart waited failedRestartDelayMs (500 ms at 60x)");

  const view = await instance(edge, id);
  assert.deepEqual(view.notifications.map((n) => n.reason), ["failed"]);
  const told = await waitFor("the admin webhook", () => admin.received.filter((n) => n?.instanceId === id));
  assert.equal(told.length, 1);
  assert.equal(told[0].reason, "failed");

  const stability = (await call(edge.url, "GET", `/instances/${id}/stability`)).body;
  assert.ok(stability.failures >= 1);
  assert.ok(stability.machineRestarts >= 2, `watchdog + auto-heal restarts, got ${stability.machineRestarts}`);
  assert.deepEqual(
    stability.timeline.slice(-4).map((entry) => entry.status),
    ["FAILED", "STOPPED", "STARTING", "WORKING"],
    "the audit trail holds the whole episode",
  );
  assert.equal(typeof stability.meanTimeToRecoverMs, "number");
  assert.ok(stability.uptimeRatio > 0 && stability.uptimeRatio < 1);
});

test("logout leads to the QR (and a pairing code), scanning again leads back to WORKING", async () => {
  const loggedOut = await call(edge.url, "POST", `/instances/${id}/logout`);
  assert.equal(loggedOut.status, 200);
  const view = await waitForStatus(edge, id, "SCAN_QR_CODE");
  assert.equal(view.uiAction, "scan_qr");
  assert.equal(view.identity, null);
  assert.equal(view.me, null);

  const qr = await call(edge.url, "GET", `/instances/${id}/qr`);
  assert.equal(qr.status, 200);
  assert.match(qr.body.qr, /^data:image\/png;base64,[A-Za-z0-9+/=]{100,}$/);
  const code = await call(edge.url, "POST", `/instances/${id}/pairing-code`, { phoneNumber: "+1 555 000 4444" });
  assert.equal(code.status, 200);
  assert.match(code.body.code, /^[A-Z0-9]{4}-?[A-Z0-9]{4}$/);

  const rejected = await call(edge.url, "POST", `/instances/${id}/send`, { chatId: "1@c.us", text: "while unpaired" });
  assert.equal(rejected.status, 409);
  assert.equal(rejected.body.error.code, "needs_qr");
  assert.equal(rejected.body.state, "rejected");

  await call(sim.url, "POST", `/__sim/instances/${id}/scan`, { jid: "15550004444@c.us" });
  await waitForStatus(edge, id, "WORKING");
});

test("a webhook with a bad or missing signature is refused with 401 and changes nothing", async () => {
  const before = { view: await instance(edge, id), timeline: await timeline(id) };
  const forged = signedStatusEvent({
    instanceId: id,
    status: "FAILED",
    id: "evt_forged_1",
    timestamp: Date.now(),
    secret: "not-the-secret",
  });
  const refused = await call(edge.url, "POST", "/webhook", forged.body, forged.headers);
  assert.equal(refused.status, 401);
  assert.equal(refused.body.error.code, "bad_signature");
  const unsigned = await call(edge.url, "POST", "/webhook", forged.body);
  assert.equal(unsigned.status, 401);
  // Correctly signed garbage is a 400, never a 5xx.
  const { createHmac } = await import("node:crypto");
  for (const garbage of ['{"event":"session.status",', "[1,2,3]", "null"]) {
    const sign = createHmac("sha512", WEBHOOK_SECRET).update(garbage).digest("hex");
    const answer = await call(edge.url, "POST", "/webhook", garbage, { "x-webhook-hmac": sign });
    assert.equal(answer.status, 400, `${garbage} → ${answer.status} ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.error.code, "invalid_payload");
  }

  await sleep(800); // longer than the auto-heal delay: a forged FAILED would have restarted by now
  const after = { view: await instance(edge, id), timeline: await timeline(id) };
  assert.equal(after.view.status, "WORKING");
  assert.deepEqual(after.timeline, before.timeline);
  assert.deepEqual(after.view.notifications, before.view.notifications);
});

test("replayed and reordered webhooks are ignored", async () => {
  const applied = signedStatusEvent({ instanceId: id, status: "FAILED", id: "evt_edge_replay_1", timestamp: Date.now() });
  assert.equal((await call(edge.url, "POST", "/webhook", applied.body, applied.headers)).status, 202);
  await waitForStatus(edge, id, "FAILED");
  await waitForStatus(edge, id, "WORKING"); // auto-healed: the simulator's newer events
  const before = {
    timeline: await timeline(id),
    restarts: (await simRequests(sim, id, "restart")).length,
    starts: (await simRequests(sim, id, "start")).length,
  };

  const replay = await call(edge.url, "POST", "/webhook", applied.body, applied.headers);
  assert.equal(replay.status, 202);
  const older = signedStatusEvent({
    instanceId: id,
    status: "STOPPED",
    id: "evt_edge_reordered_1",
    timestamp: JSON.parse(applied.body).timestamp - 5_000,
  });
  assert.equal((await call(edge.url, "POST", "/webhook", older.body, older.headers)).status, 202);
  // One event carrying both, as an array: same verdict.
  const batch = `[${applied.body},${older.body}]`;
  const batchHeaders = signedStatusEvent({ instanceId: id, status: "X", id: "x", timestamp: 0 }).headers;
  batchHeaders["x-webhook-hmac"] = (await import("node:crypto"))
    .createHmac("sha512", WEBHOOK_SECRET)
    .update(batch)
    .digest("hex");
  assert.equal((await call(edge.url, "POST", "/webhook", batch, batchHeaders)).status, 202);

  await sleep(800);
  const view = await instance(edge, id);
  assert.equal(view.status, "WORKING");
  assert.deepEqual(await timeline(id), before.timeline);
  assert.equal((await simRequests(sim, id, "restart")).length, before.restarts, "no restart from a replay");
  assert.equal((await simRequests(sim, id, "start")).length, before.starts, "no start from an old STOPPED");
});

test("a signed webhook replayed after the replay window is refused as stale", async () => {
  const before = { timeline: await timeline(id), view: await instance(edge, id) };
  const captured = signedStatusEvent({
    instanceId: id,
    status: "FAILED",
    id: "evt_edge_captured_1",
    timestamp: Date.now() - 60 * 60_000, // an hour old: outside the 15 min window
  });
  const response = await call(edge.url, "POST", "/webhook", captured.body, captured.headers);
  assert.equal(response.status, 400);
  assert.equal(response.body.error.code, "stale_event");
  await sleep(300);
  assert.deepEqual(await timeline(id), before.timeline);
  assert.equal((await instance(edge, id)).status, before.view.status);
});

test("the events stream carries instance objects and message updates", async () => {
  let sent;
  const events = await readEvents(
    `${edge.url}/instances/${id}/events`,
    (seen) => seen.some((e) => e.type === "message" && e.data.state === "sent"),
    {
      onOpen: async () => {
        sent = await call(edge.url, "POST", `/instances/${id}/send`, { chatId: "15550009999@c.us", text: "over sse" });
      },
    },
  );
  assert.equal(events[0].type, "instance");
  assert.equal(events[0].data.instanceId, id);
  assert.equal(events[0].data.status, "WORKING");
  assert.equal(sent.status, 202);
  const update = events.find((e) => e.type === "message" && e.data.state === "sent");
  assert.equal(update.data.id, sent.body.id);
  assert.equal(update.data.type, "message");
});

test("delete destroys the instance at the API and every byte of local state", async () => {
  const deleted = await call(edge.url, "DELETE", `/instances/${id}`);
  assert.equal(deleted.status, 200);
  assert.deepEqual(deleted.body, { deleted: true });
  assert.equal((await call(sim.url, "GET", `/__sim/instances/${id}`)).status, 404);

  const view = await instance(edge, id);
  assert.equal(view.known, false);
  assert.equal(view.status, "UNKNOWN");
  assert.equal(view.report, null);
  assert.deepEqual(view.notifications, []);
  assert.deepEqual((await call(edge.url, "GET", `/instances/${id}/messages`)).body, []);
  assert.deepEqual(await timeline(id), []);

  // A late webhook for it does not bring the instance back.
  const late = signedStatusEvent({ instanceId: id, status: "WORKING", id: "evt_late_1", timestamp: Date.now() });
  assert.equal((await call(edge.url, "POST", "/webhook", late.body, late.headers)).status, 202);
  await sleep(200);
  assert.equal((await instance(edge, id)).known, false);
});

test("lazy provisioning: create stores instance_id and server_name; the simulator agrees", async () => {
  const created = await call(edge.url, "POST", "/instances/create", {});
  assert.equal(created.status, 201);
  const { instanceId, serverName, sessionName } = created.body;
  const fromSim = await simInstance(sim, instanceId);
  assert.equal(fromSim.server_name, serverName);
  assert.equal(fromSim.session_name, sessionName);
  const view = await instance(edge, instanceId);
  assert.equal(view.known, true);
  assert.equal(view.serverName, serverName);
  assert.equal(view.status, "STOPPED");
  assert.equal(view.uiAction, "start");
  assert.equal((await simRequests(sim, instanceId, "start")).length, 0, "create does not start");

  // A WAHA-shaped event names only the session: routed through the mapping stored at create.
  const bySession = signedStatusEvent({ sessionName, status: "STARTING", id: "evt_by_session_1", timestamp: Date.now() });
  assert.ok(!JSON.parse(bySession.body).instance_id);
  assert.equal((await call(edge.url, "POST", "/webhook", bySession.body, bySession.headers)).status, 202);
  await waitForStatus(edge, instanceId, "STARTING");

  const other = await createWorkingInstance(sim, edge);
  assert.equal((await instance(edge, other)).status, "WORKING");
});

test("identity check: the wrong phone scanned → mismatch verdict, admin told, sends refused", async () => {
  const created = await call(edge.url, "POST", "/instances/create", { expectedJid: "15550005555@c.us" });
  const mismatchId = created.body.instanceId;
  await call(edge.url, "POST", `/instances/${mismatchId}/start`);
  await waitForStatus(edge, mismatchId, "SCAN_QR_CODE");
  await call(sim.url, "POST", `/__sim/instances/${mismatchId}/scan`, { jid: "15550006666@c.us" });
  const view = await waitFor("the identity verdict", async () => {
    const v = await instance(edge, mismatchId);
    return v.identity?.verdict === "mismatch" ? v : false;
  });
  assert.equal(view.status, "WORKING");
  assert.ok(view.notifications.some((n) => n.reason === "identity_mismatch"));
  const refused = await call(edge.url, "POST", `/instances/${mismatchId}/send`, { chatId: "1@c.us", text: "to whom?" });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, "identity_mismatch");
  const told = await waitFor("the admin webhook", () =>
    admin.received.find((n) => n?.instanceId === mismatchId && n.reason === "identity_mismatch"),
  );
  assert.equal(told.status, "WORKING");
});

test("warm boot starts a STOPPED instance in the background; Retry restarts; Stop stops", async () => {
  const warmId = await seedInstance(sim, { jid: "15550007070@c.us" });
  const booted = await call(edge.url, "POST", `/instances/${warmId}/warm-boot`);
  assert.equal(booted.status, 200);
  await waitForStatus(edge, warmId, "WORKING");
  const ops = (await simRequests(sim, warmId)).map((r) => r.op);
  assert.deepEqual(ops.slice(0, 2), ["info", "start"], "info first, then one start");
  assert.equal(ops.filter((op) => op === "start").length, 1);

  const retried = await call(edge.url, "POST", `/instances/${warmId}/retry`);
  assert.equal(retried.status, 200);
  await waitFor("the Retry button's restart", async () => (await simRequests(sim, warmId, "restart")).length === 1);
  await waitForStatus(edge, warmId, "WORKING");

  const stopped = await call(edge.url, "POST", `/instances/${warmId}/stop`);
  assert.equal(stopped.body.status, "STOPPED");
  assert.equal(stopped.body.uiAction, "start");
  assert.equal((await simInstance(sim, warmId)).status, "STOPPED");
});

test("no response or admin notification ever carried the access token or the webhook secret", () => {
  const everything = [...seenBodies, ...admin.received.map((n) => JSON.stringify(n))].join("\n");
  assert.ok(seenBodies.length > 30);
  assert.ok(!everything.includes(TOKEN), "access token leaked");
  assert.ok(!everything.includes(WEBHOOK_SECRET), "webhook secret leaked");
  assert.ok(!everything.includes(ADMIN_TOKEN), "admin token leaked");
});
