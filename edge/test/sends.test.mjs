#!/usr/bin/env node
// Start-on-send through the edge in real workerd: concurrent sends on a STOPPED instance start it
// once and are each delivered once; a send made while STARTING survives a workerd process restart
// (same persistence directory) and is delivered exactly once afterwards; delete wipes the disk.
// What happens to a send the API did not take is the machine's delivery policy, not the worker's:
// a 429 is retried on the machine's alarm, a 422 (stale WORKING) is handed back until a fresh
// status, and a send that may have been delivered (timeout after it left) is never sent again.

import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { WawpClient } from "../../pkg/src/entry-node.js";
import { startEdge } from "../dev.mjs";
import {
  TOKEN,
  WEBHOOK_SECRET,
  call,
  edgeEnv,
  instance,
  seedInstance,
  simInstance,
  simLog,
  simRequests,
  sleep,
  startStack,
  waitFor,
  waitForStatus,
} from "../test-harness.mjs";

async function filesUnder(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
  assert.ok(files.some((f) => f.endsWith(".sqlite")), "the Durable Object storage is on disk");
  return files;
}

async function messages(edge, id) {
  return (await call(edge.url, "GET", `/instances/${id}/messages`)).body;
}

test("30 concurrent sends on a STOPPED instance: one start, 30 deliveries, no duplicates", async (t) => {
  const { sim, edge } = await startStack();
  t.after(() => sim.close());
  t.after(() => edge.close());
  const id = await seedInstance(sim);
  const stopped = await call(edge.url, "POST", `/instances/${id}/stop`);
  assert.equal(stopped.body.status, "STOPPED");

  const texts = Array.from({ length: 30 }, (_, i) => `concurrent message ${i}`);
  const answers = await Promise.all(
    texts.map((text, i) => call(edge.url, "POST", `/instances/${id}/send`, { chatId: `1555000${1000 + i}@c.us`, text })),
  );
  for (const answer of answers) {
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    assert.ok(["queued", "sending", "sent"].includes(answer.body.state));
  }
  assert.equal(new Set(answers.map((a) => a.body.id)).size, 30);

  const rows = await waitFor("every message sent", async () => {
    const all = await messages(edge, id);
    return all.length === 30 && all.every((m) => m.state === "sent") ? all : false;
  });
  assert.equal((await simRequests(sim, id, "start")).length, 1, "exactly one start");
  assert.equal((await simRequests(sim, id, "restart")).length, 0);

  await sleep(300); // anything late would show up now
  const deliveries = (await simLog(sim)).deliveries.filter((d) => d.instanceId === id);
  assert.equal(deliveries.length, 30, "30 deliveries");
  assert.deepEqual(deliveries.map((d) => d.text).sort(), [...texts].sort(), "each text exactly once");
  const delivered = new Map(deliveries.map((d) => [d.text, d.messageId]));
  for (const row of rows) assert.equal(row.messageId, delivered.get(row.text), "stored message id = API's");
  assert.equal((await instance(edge, id)).queueLength, 0);

  // A retried POST with the same id is answered from storage, not sent again.
  const first = await call(edge.url, "POST", `/instances/${id}/send`, { id: "client-key-1", chatId: "1@c.us", text: "once" });
  const again = await call(edge.url, "POST", `/instances/${id}/send`, { id: "client-key-1", chatId: "1@c.us", text: "once" });
  assert.equal(first.body.state, "sent");
  assert.deepEqual(again.body, first.body);
  const onceDeliveries = (await simLog(sim)).deliveries.filter((d) => d.text === "once");
  assert.equal(onceDeliveries.length, 1);
});

test("a send made while STARTING survives a workerd restart and is delivered exactly once", async (t) => {
  const persistDir = await mkdtemp(join(tmpdir(), "wawp-edge-"));
  const { sim, edge } = await startStack({ persistDir });
  let current = edge;
  t.after(() => sim.close());
  t.after(() => current.close().catch(() => {})); // may be closed already when a restart failed
  t.after(() => rm(persistDir, { recursive: true, force: true }));
  /** A new workerd process on the same storage; its address changes, so the webhooks follow it. */
  const restartEdge = async (whileDown = async () => {}) => {
    await current.close();
    await whileDown();
    current = await startEdge({ port: 0, persistDir, env: edgeEnv(sim) });
    await call(sim.url, "DELETE", "/__sim/webhooks");
    await call(sim.url, "POST", "/__sim/webhooks", { url: `${current.url}/webhook`, shape: "waha", hmacKey: WEBHOOK_SECRET });
  };
  const id = await seedInstance(sim);
  await call(sim.url, "POST", "/__sim/faults", { hangStarting: true });

  const text = "survives the restart";
  const sent = await call(edge.url, "POST", `/instances/${id}/send`, { chatId: "15550007777@c.us", text });
  assert.equal(sent.status, 202);
  assert.equal(sent.body.state, "queued");
  const starting = await waitForStatus(edge, id, "STARTING");
  assert.equal(starting.queueLength, 1);
  assert.equal((await simRequests(sim, id, "start")).length, 1);
  await waitFor("the simulator's start to hang", async () => (await simInstance(sim, id)).hung);

  // The workerd process goes away while the session hangs in STARTING with the message queued;
  // only a restart of the session can get it out of there now.
  await restartEdge(async () => {
    assert.equal((await simLog(sim)).deliveries.filter((d) => d.text === text).length, 0);
    await call(sim.url, "POST", "/__sim/faults", { hangStarting: false });
  });

  // Nothing calls the edge now: the persisted alarm alone wakes the Durable Object, which restores
  // the machine (queue, deadlines) from storage, restarts the hung start and delivers.
  await waitFor("a delivery, with the edge left alone", async () =>
    (await simLog(sim)).deliveries.some((d) => d.text === text),
  );
  const restored = await instance(current, id);
  assert.equal(restored.known, true, "state restored from disk");
  const [row] = await waitFor("the message delivered after the restart", async () => {
    const all = await messages(current, id);
    return all.length === 1 && all[0].state === "sent" ? all : false;
  });
  assert.equal(row.text, text);
  await sleep(500);
  const deliveries = (await simLog(sim)).deliveries.filter((d) => d.text === text);
  assert.equal(deliveries.length, 1, "delivered exactly once");
  assert.equal(deliveries[0].messageId, row.messageId);
  assert.ok((await simRequests(sim, id, "restart")).length >= 1, "the watchdog restarted the hung start");

  // Secrets live only in the environment: not one byte of them in the stored state.
  for (const file of await filesUnder(persistDir)) {
    const bytes = await readFile(file);
    assert.equal(bytes.indexOf(TOKEN), -1, `access token stored in ${file}`);
    assert.equal(bytes.indexOf(WEBHOOK_SECRET), -1, `webhook secret stored in ${file}`);
  }

  // Delete destroys the stored state on disk too: after another process restart nothing is left.
  assert.equal((await call(current.url, "DELETE", `/instances/${id}`)).status, 200);
  await restartEdge();
  const gone = await instance(current, id);
  assert.equal(gone.known, false);
  assert.deepEqual(await messages(current, id), []);
  assert.deepEqual((await call(current.url, "GET", `/instances/${id}/stability`)).body.timeline, []);
});

/** An instance WORKING in the simulator and in the edge's machine (no expected JID). */
async function workingInstance(sim, edge) {
  const id = await seedInstance(sim, { status: "WORKING" });
  await call(edge.url, "POST", `/instances/${id}/warm-boot`);
  await waitForStatus(edge, id, "WORKING");
  return id;
}

/** The stack's send requests (an injected 429 is answered before the simulator reads the instance
 *  id, so these are matched by path; each test has its own simulator). */
async function sendRequests(sim) {
  return (await simLog(sim)).requests.filter((r) => r.path.startsWith("/v2/send/text"));
}

test("a 429 on a send: the machine retries it on its alarm after Retry-After, one request per attempt", async (t) => {
  const { sim, edge } = await startStack();
  t.after(() => sim.close());
  t.after(() => edge.close());
  const id = await workingInstance(sim, edge);
  // The send meets a 429 (Retry-After 1 s): the client does not retry, the machine does.
  await call(sim.url, "POST", "/__sim/faults", { burst429: { count: 1, retryAfterS: 1 } });
  const text = "after a 429";
  const sent = await call(edge.url, "POST", `/instances/${id}/send`, { chatId: "15550003333@c.us", text });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  assert.equal(sent.body.state, "queued", "held by the machine for its retry time");
  const [row] = await waitFor("the message sent", async () => {
    const all = await messages(edge, id);
    return all[0]?.state === "sent" ? all : false;
  });
  const requests = await sendRequests(sim);
  assert.deepEqual(requests.map((r) => r.httpStatus), [429, 200]);
  assert.ok(requests[1].t - requests[0].t >= 990, `retried ${requests[1].t - requests[0].t} ms later, Retry-After 1 s`);
  const deliveries = (await simLog(sim)).deliveries.filter((d) => d.text === text);
  assert.equal(deliveries.length, 1);
  assert.equal(row.messageId, deliveries[0].messageId);
});

test("a 422 (the edge's WORKING was stale): handed back, the machine re-reads, starts, and sends once", async (t) => {
  const { sim, edge } = await startStack();
  t.after(() => sim.close());
  t.after(() => edge.close());
  const id = await workingInstance(sim, edge);
  // The session stops behind the edge's back: the webhook saying so is lost.
  await call(sim.url, "POST", "/__sim/faults", { webhookDrop: 1 });
  await new WawpClient({ accessToken: TOKEN, baseUrl: sim.url, instanceId: id, retry: false }).stop();
  assert.equal((await instance(edge, id)).status, "WORKING", "the edge still believes WORKING");
  await call(sim.url, "POST", "/__sim/faults", { webhookDrop: 0 });
  const text = "after a stale WORKING";
  await call(edge.url, "POST", `/instances/${id}/send`, { chatId: "15550003334@c.us", text });
  await waitFor("the message sent", async () => (await messages(edge, id))[0]?.state === "sent");
  assert.deepEqual((await sendRequests(sim)).map((r) => r.httpStatus), [422, 200]);
  assert.ok((await simRequests(sim, id, "start")).length >= 1, "the re-read found it stopped and started it");
  assert.equal((await simLog(sim)).deliveries.filter((d) => d.text === text).length, 1);
});

test("a send that timed out after it left may have been delivered: rejected with timeout, never sent again", async (t) => {
  const { sim, edge } = await startStack({ env: { API_TIMEOUT_MS: "300" } });
  t.after(() => sim.close());
  t.after(() => edge.close());
  const id = await workingInstance(sim, edge);
  await call(sim.url, "POST", "/__sim/faults", { latencyMs: 60 * 1000 }); // 1 s at 60x: past the client's 300 ms
  const text = "maybe delivered";
  const sent = await call(edge.url, "POST", `/instances/${id}/send`, { chatId: "15550003335@c.us", text });
  await call(sim.url, "POST", "/__sim/faults", { latencyMs: 0 });
  assert.equal(sent.body.error?.code, "timeout", JSON.stringify(sent.body));
  assert.match(sent.body.error.message, /may or may not have been delivered/);
  await sleep(1500); // the slow request lands meanwhile; nothing may follow it
  assert.equal((await sendRequests(sim)).length, 1, "one request: never sent again");
  const [row] = await messages(edge, id);
  assert.equal(row.state, "rejected");
  assert.equal(row.code, "timeout");
});
