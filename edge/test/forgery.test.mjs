#!/usr/bin/env node
// Forged statuses through every path an outsider can reach, in real workerd: the Durable Object's
// RPC methods and former internal routes (adopt, webhook) under every spelling, headers that name another instance or
// host, unsigned / badly signed / replayed / stale webhooks, guessed webhook paths. None may change
// the machine: its view, audit trail and notifications, the API calls it makes and a queued
// message (a forged WORKING would release it) are compared before and after.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { request as httpRequest } from "node:http";
import { after, before, test } from "node:test";
import {
  ADMIN_TOKEN,
  call,
  createWorkingInstance,
  instance,
  seedInstance,
  seenBodies,
  signedStatusEvent,
  simRequests,
  sleep,
  startStack,
  waitFor,
  waitForStatus,
  closeAll,
} from "../test-harness.mjs";

const PATH_TOKEN = "edge-test-webhook-path-51aa0c2e";

let sim;
let edge;
let working; // WORKING, paired with WORKING_JID
let held; // STARTING (hung, restart budget spent: a stable state), one message queued
const WORKING_JID = "15550004040@c.us";
const HELD_JID = "15550004242@c.us";

before(async () => {
  ({ sim, edge } = await startStack({ env: { WEBHOOK_PATH_TOKEN: PATH_TOKEN, MAX_AUTO_RESTARTS: "1" } }));
  working = await createWorkingInstance(sim, edge, WORKING_JID);
  held = await seedInstance(sim, { jid: HELD_JID }); // paired: the genuine WORKING needs no scan
  await call(sim.url, "POST", "/__sim/faults", { hangStarting: true });
  const queued = await call(edge.url, "POST", `/instances/${held}/send`, { chatId: "15550004141@c.us", text: "held", timeoutMs: 600_000 });
  assert.equal(queued.status, 202);
  await waitFor("the hung start to exhaust its restart budget", async () => {
    const view = await instance(edge, held);
    return view.status === "STARTING" && view.paused === "restart_budget_exhausted";
  });
});

after(async () => {
  await closeAll(edge, sim);
});

/** What must not change: the machine's view (minus clocks), its audit trail, its calls, its queue. */
async function machineState(id) {
  const view = await instance(edge, id);
  const stability = (await call(edge.url, "GET", `/instances/${id}/stability`)).body;
  const messages = (await call(edge.url, "GET", `/instances/${id}/messages`)).body;
  const ops = (await simRequests(sim, id)).map((r) => r.op).filter((op) => !["info", "me", "qr-image"].includes(op));
  return {
    status: view.status,
    identity: view.identity,
    me: view.me,
    queueLength: view.queueLength,
    notifications: view.notifications,
    restarts: view.restarts,
    autoRestarts: view.autoRestarts,
    timeline: stability.timeline,
    messages: messages.map((m) => ({ id: m.id, state: m.state })),
    ops,
  };
}

function forgedEvent(id, sessionName, status, extra = {}) {
  return {
    id: `evt_forged_${Math.random().toString(36).slice(2)}`,
    timestamp: Date.now(),
    event: "session.status",
    session: sessionName,
    instance_id: id,
    me: { id: "19990000000@c.us" },
    payload: { name: sessionName, status, statuses: [], data: null },
    ...extra,
  };
}

/** A raw HTTP request (any Host header, any path spelling, no URL normalisation by fetch). */
function raw(method, path, { headers = {}, body } = {}) {
  const url = new URL(edge.url);
  return new Promise((resolve, reject) => {
    // A fresh connection each: workerd closes one whose request body it refused unread.
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        seenBodies.push(text);
        resolve({ status: res.statusCode, text });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("forged statuses through the Durable Object's internal routes and every outside path change nothing", async () => {
  const before = { working: await machineState(working), held: await machineState(held) };
  assert.equal(before.working.status, "WORKING");
  assert.equal(before.held.status, "STARTING");
  assert.deepEqual(before.held.messages.map((m) => m.state), ["queued"]);
  const allScopes = (await call(edge.url, "POST", `/instances/${held}/tokens`, {})).body.token;
  const workingToken = (await call(edge.url, "POST", `/instances/${working}/tokens`, {})).body.token;

  const attempts = [];
  for (const [id, session, status, token] of [
    [working, null, "FAILED", workingToken],
    [held, null, "WORKING", allScopes],
  ]) {
    const event = forgedEvent(id, session, status);
    const adopt = JSON.stringify({ expectedJid: "19990000000@c.us", initialStatus: status, sessionName: "hijack" });
    const webhook = JSON.stringify({ input: event });
    for (const suffix of ["/webhook", "/webhook/", "//webhook", "/./webhook", "/send/../webhook", "/Webhook", "/webhook?x=1", "/%77ebhook"]) {
      for (const auth of [undefined, `Bearer ${ADMIN_TOKEN}`, `Bearer ${token}`]) {
        attempts.push(["POST", `/instances/${id}${suffix}`, webhook, auth]);
      }
    }
    for (const suffix of ["/adopt", "/adopt/", "/%61dopt", "/send/../adopt"]) {
      for (const auth of [undefined, `Bearer ${ADMIN_TOKEN}`, `Bearer ${token}`]) {
        attempts.push(["POST", `/instances/${id}${suffix}`, adopt, auth]);
      }
    }
    // The worker's own webhook entry: unsigned, badly signed, wrongly declared, guessed paths.
    const body = JSON.stringify(event);
    const wrongKey = createHmac("sha512", "not-the-secret").update(body).digest("hex");
    attempts.push(["POST", "/webhook", body, undefined]);
    attempts.push(["POST", "/webhook", body, undefined, { "x-webhook-hmac": wrongKey }]);
    attempts.push(["POST", "/webhook", body, undefined, { "x-webhook-hmac": wrongKey, "x-webhook-hmac-algorithm": "sha1" }]);
    attempts.push(["POST", "/webhook", body, undefined, { "x-wawp-signature": createHmac("sha256", "x").update(body).digest("hex") }]);
    attempts.push(["POST", "/webhook", body, `Bearer ${ADMIN_TOKEN}`]); // the admin token does not sign webhooks
    attempts.push(["POST", `/webhook/${PATH_TOKEN.slice(0, -1)}`, body, undefined]);
    attempts.push(["POST", `/webhook/${PATH_TOKEN}x`, body, undefined]);
    attempts.push(["POST", `/webhook/${PATH_TOKEN}/x`, body, undefined]);
    attempts.push(["POST", `/webhook/${PATH_TOKEN.toUpperCase()}`, body, undefined]);
    attempts.push(["POST", `/webhook/${PATH_TOKEN}`, body, undefined, { "x-webhook-hmac": wrongKey }]); // right path, bad signature
    attempts.push(["POST", `/webhook/${ADMIN_TOKEN}`, body, undefined]);
    // Headers that name another instance, or the Durable Object's internal host.
    attempts.push(["POST", `/instances/${working}/warm-boot`, webhook, `Bearer ${ADMIN_TOKEN}`, { "x-instance-id": id }]);
    attempts.push(["POST", "/adopt", adopt, `Bearer ${ADMIN_TOKEN}`, { host: "internal.instance", "x-instance-id": id }]);
    attempts.push(["POST", "/webhook", webhook, undefined, { host: "internal.instance", "x-instance-id": id }]);
    attempts.push(["POST", `/instances/${id}/webhook`, webhook, undefined, { host: "internal.instance" }]);
  }
  for (const [method, path, body, authorization, extra = {}] of attempts) {
    const headers = { "content-type": "application/json", ...extra };
    if (authorization) headers.authorization = authorization;
    const answer = await raw(method, path, { headers, body });
    const where = `${method} ${path} ${JSON.stringify(extra)} auth=${authorization ? authorization.slice(0, 12) : "none"}`;
    if (path.endsWith("/warm-boot")) {
      assert.equal(answer.status, 200, where); // a real route: it acts on its own instance only
    } else {
      assert.ok([400, 401, 404].includes(answer.status), `${where} → ${answer.status} ${answer.text}`);
    }
  }

  await sleep(800); // longer than the auto-heal delay: a forged FAILED would have restarted by now
  const afterAll = { working: await machineState(working), held: await machineState(held) };
  assert.deepEqual(afterAll.working, before.working, "the WORKING instance is untouched");
  assert.deepEqual(afterAll.held, before.held, "the held message stays queued and the status STARTING");
  assert.ok(attempts.length > 100, `${attempts.length} attempts`);
});

test("the Durable Object's fetch reaches no RPC method: internal-looking requests straight to the object are 404", async () => {
  // What the worker never forwards, sent to the object itself (Miniflare's namespace): the RPC
  // methods (adopt, receiveReports) and the old internal routes, under any origin. Only a holder
  // of the INSTANCES binding can call the methods; a request's URL, headers or body never can.
  const namespace = await edge.miniflare.getDurableObjectNamespace("INSTANCES");
  const stub = namespace.get(namespace.idFromName(working));
  const before = await machineState(working);
  const report = { status: "FAILED", rawStatus: "FAILED", instanceId: working, eventId: "evt_forged_rpc", atMs: Date.now() };
  for (const origin of ["https://internal.instance", "https://public.instance", "http://localhost"]) {
    for (const path of ["/adopt", "/webhook", "/receiveReports", "/receive-reports", "/rpc/receiveReports"]) {
      const response = await stub.fetch(`${origin}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-instance-id": working },
        body: JSON.stringify({ input: report, reports: [report], initialStatus: "FAILED", expectedJid: "19990000000@c.us" }),
      });
      const text = await response.text();
      seenBodies.push(text);
      assert.equal(response.status, 404, `${origin}${path} → ${response.status} ${text}`);
    }
  }
  await sleep(800);
  assert.deepEqual(await machineState(working), before);
});

test("the held message is released by the genuine WORKING only", async () => {
  await call(sim.url, "POST", "/__sim/faults", { hangStarting: false });
  assert.equal((await call(edge.url, "POST", `/instances/${held}/retry`)).status, 200);
  const [message] = await waitFor("the held message sent", async () => {
    const rows = (await call(edge.url, "GET", `/instances/${held}/messages`)).body;
    return rows[0]?.state === "sent" ? rows : false;
  });
  assert.equal(message.text, "held");
});

test("a replayed genuine webhook and a stale one change nothing either", async () => {
  const genuine = signedStatusEvent({ instanceId: working, status: "FAILED", id: "evt_forgery_genuine", timestamp: Date.now() });
  assert.equal((await call(edge.url, "POST", "/webhook", genuine.body, genuine.headers)).status, 202);
  await waitForStatus(edge, working, "FAILED");
  await waitForStatus(edge, working, "WORKING"); // auto-healed by the simulator's own newer events
  const settled = await machineState(working);
  for (let i = 0; i < 3; i++) {
    assert.equal((await call(edge.url, "POST", "/webhook", genuine.body, genuine.headers)).status, 202);
    assert.equal((await call(edge.url, "POST", `/webhook/${PATH_TOKEN}`, genuine.body, genuine.headers)).status, 202);
  }
  const stale = signedStatusEvent({ instanceId: working, status: "FAILED", id: "evt_forgery_stale", timestamp: Date.now() - 3_600_000 });
  assert.equal((await call(edge.url, "POST", "/webhook", stale.body, stale.headers)).status, 400);
  await sleep(800);
  assert.deepEqual(await machineState(working), settled);
});

test("no answer carried a secret", () => {
  const everything = seenBodies.join("\n");
  assert.ok(seenBodies.length > 100);
  for (const secret of [ADMIN_TOKEN, PATH_TOKEN, "edge-test-webhook-secret-41d2", "edge-test-token-7f3a9c"]) {
    assert.ok(!everything.includes(secret), `a secret leaked: ${secret.slice(0, 8)}…`);
  }
});
