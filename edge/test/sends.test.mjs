#!/usr/bin/env node
// Start-on-send through the edge in real workerd: concurrent sends on a STOPPED instance start it
// once and are each delivered once; a send made while STARTING survives a workerd process restart
// (same persistence directory) and is delivered exactly once afterwards; delete wipes the disk.

import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
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
