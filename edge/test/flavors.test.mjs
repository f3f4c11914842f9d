#!/usr/bin/env node
// The other two ways the edge is wired: Wawp with the older `{instance_id, status, qr, ts}` webhooks
// from a sender that cannot sign (delivered to the secret path `/webhook/<WEBHOOK_PATH_TOKEN>`), and a self-hosted WAHA (`/api/sessions/...`,
// X-Api-Key, WAHA envelopes that name only the session).

import assert from "node:assert/strict";
import { test } from "node:test";
import { startEdge } from "../dev.mjs";
import { TOKEN, call, edgeEnv, instance, simLog, startSim, waitFor, waitForStatus } from "../test-harness.mjs";

async function journey(sim, edge, jid) {
  const created = await call(edge.url, "POST", "/instances/create", {});
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.instanceId;
  assert.equal((await instance(edge, id)).status, "STOPPED");

  // Start-on-send from STOPPED on an unpaired instance: the start leads to the QR, which the
  // message cannot wait for (a human has to scan), so it is refused with needs_qr.
  const early = await call(edge.url, "POST", `/instances/${id}/send`, { chatId: "15550008888@c.us", text: "too early" });
  assert.equal(early.status, 202);
  await waitForStatus(edge, id, "SCAN_QR_CODE");
  const [refused] = await waitFor("the early message refused", async () => {
    const rows = (await call(edge.url, "GET", `/instances/${id}/messages`)).body;
    return rows[0]?.state === "rejected" ? rows : false;
  });
  assert.equal(refused.code, "needs_qr");

  await call(sim.url, "POST", `/__sim/instances/${id}/scan`, { jid });
  await waitForStatus(edge, id, "WORKING");
  const sent = await call(edge.url, "POST", `/instances/${id}/send`, { chatId: "15550008888@c.us", text: `hello ${jid}` });
  assert.equal(sent.status, 202);
  assert.equal(sent.body.state, "sent");
  const deliveries = (await simLog(sim)).deliveries.filter((d) => d.instanceId === id);
  assert.deepEqual(deliveries.map((d) => d.text), [`hello ${jid}`]);
  assert.equal(deliveries[0].messageId, sent.body.messageId);

  await call(edge.url, "POST", `/instances/${id}/logout`);
  const loggedOut = await waitForStatus(edge, id, "SCAN_QR_CODE");
  assert.equal(loggedOut.uiAction, "scan_qr");
  return id;
}

test("Wawp with legacy-shape unsigned webhooks to the secret webhook path", async (t) => {
  const pathToken = "edge-test-webhook-path-9c41e7";
  const sim = await startSim();
  t.after(() => sim.close());
  const edge = await startEdge({ port: 0, env: edgeEnv(sim, { WEBHOOK_SECRET: undefined, WEBHOOK_PATH_TOKEN: pathToken }) });
  t.after(() => edge.close());
  await call(sim.url, "POST", "/__sim/webhooks", { url: `${edge.url}/webhook/${pathToken}`, shape: "wawp" });
  const id = await journey(sim, edge, "15550001212@c.us");
  const hooks = (await simLog(sim)).webhooks.filter((w) => w.instanceId === id);
  assert.ok(hooks.length >= 4 && hooks.every((w) => w.status === 202), "every webhook accepted");
});

test("self-hosted WAHA: API key, session paths, envelopes routed by session name", async (t) => {
  const sim = await startSim({ flavor: "waha" });
  t.after(() => sim.close());
  const edge = await startEdge({ port: 0, env: edgeEnv(sim, { WAWP_FLAVOR: "waha" }) });
  t.after(() => edge.close());
  await call(sim.url, "POST", "/__sim/webhooks", {
    url: `${edge.url}/webhook`,
    shape: "waha",
    hmacKey: edgeEnv(sim).WEBHOOK_SECRET,
  });
  const id = await journey(sim, edge, "15550001313@c.us");
  const { requests } = await simLog(sim);
  assert.ok(requests.some((r) => r.op === "send" && r.httpStatus >= 200 && r.httpStatus < 300));
  assert.ok(!JSON.stringify(requests).includes(TOKEN), "the key travels in a header, never in a logged URL");
  assert.equal((await instance(edge, id)).known, true);
});
