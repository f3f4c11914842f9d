#!/usr/bin/env node
// Issue 13 item 6, in real workerd: a webhook body is parsed once on its way from the worker to
// the machine. The worker runs with the test-only parse probe (edge/test-hooks/parse-probe.js), which
// counts every `JSON.parse` / `.json()` and every call into the package's wasm whose input carries
// a `probe-...` marker. A body marker that only the envelope holds must enter a parser exactly
// once (the worker's parseWebhooks); the event's id, which the decoded report carries on, enters
// the wasm once more (the machine's intake of that report) and never `JSON.parse`.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, test } from "node:test";
import { startEdge } from "../dev.mjs";
import { WEBHOOK_SECRET, call, edgeEnv, instance, startSim, waitFor, closeAll } from "../test-harness.mjs";

let sim;
let edge;
const ids = [];

before(async () => {
  sim = await startSim();
  edge = await startEdge({ env: edgeEnv(sim), testHooks: true });
  for (let i = 0; i < 2; i++) {
    const created = await call(edge.url, "POST", "/instances/create", {});
    assert.equal(created.status, 201);
    ids.push(created.body);
  }
});

after(async () => {
  await closeAll(edge, sim);
});

async function parses() {
  return (await call(edge.url, "GET", "/__test/parses")).body;
}

/** A WAHA `session.status` envelope; `metadata` is a field only the envelope has. */
function envelope({ instanceId, sessionName }, status, eventId, bodyMarker) {
  return {
    id: eventId,
    timestamp: Date.now(),
    event: "session.status",
    session: sessionName,
    instance_id: instanceId,
    metadata: { tag: bodyMarker },
    me: null,
    payload: { name: sessionName, status, statuses: [{ status, timestamp: Date.now() }] },
    engine: "WEBJS",
  };
}

async function postSigned(value) {
  const body = JSON.stringify(value);
  const headers = {
    "content-type": "application/json",
    "x-webhook-hmac": createHmac("sha512", WEBHOOK_SECRET).update(body).digest("hex"),
    "x-webhook-hmac-algorithm": "sha512",
  };
  return call(edge.url, "POST", "/webhook", body, headers);
}

function reached(id, eventId) {
  return waitFor(`${id} to show ${eventId}`, async () => (await instance(edge, id)).report?.eventId === eventId);
}

test("the probe sees parses: a JSON request body that carries a marker is counted", async () => {
  const sent = await call(edge.url, "POST", `/instances/${ids[0].instanceId}/send`, { chatId: "15550001111@c.us", text: "probe-control1", id: "m1" });
  assert.equal(sent.status, 202);
  const counts = (await parses())["probe-control1"];
  assert.ok(counts?.json >= 1, JSON.stringify(counts)); // the worker's and the object's request bodies
});

test("one webhook: the body is parsed once, its report crosses into the machine once, no JSON.parse", async () => {
  const answer = await postSigned(envelope(ids[0], "STOPPED", "evt_probe-one1", "probe-body1"));
  assert.equal(answer.status, 202);
  assert.deepEqual(answer.body, { accepted: 1, ignored: 0 });
  await reached(ids[0].instanceId, "evt_probe-one1");
  const counts = await parses();
  assert.deepEqual(counts["probe-body1"], { json: 0, wasm: 1 }, "the body: the worker's parseWebhooks only");
  assert.deepEqual(counts["probe-one1"], { json: 0, wasm: 2 }, "the event: the body parse, then the machine's intake of the report");
});

test("a batched body for two instances is parsed once too", async () => {
  const body = [
    envelope(ids[0], "STOPPED", "evt_probe-batch1", "probe-body2"),
    envelope(ids[1], "STOPPED", "evt_probe-batch2", "probe-body2"),
  ];
  const answer = await postSigned(body);
  assert.deepEqual(answer.body, { accepted: 2, ignored: 0 });
  await reached(ids[0].instanceId, "evt_probe-batch1");
  await reached(ids[1].instanceId, "evt_probe-batch2");
  const counts = await parses();
  assert.deepEqual(counts["probe-body2"], { json: 0, wasm: 1 });
  assert.deepEqual(counts["probe-batch1"], { json: 0, wasm: 2 });
  assert.deepEqual(counts["probe-batch2"], { json: 0, wasm: 2 });
});
