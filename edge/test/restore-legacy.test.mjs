#!/usr/bin/env node
// An instance object stored by the edge before the SessionDriver (a bare LifecycleMachine snapshot
// in `meta.machine`, the view's fields and in-flight calls in `meta.instance`, message rows the
// machine may not know) restores after a workerd restart: the driver reads the bare snapshot (its
// queue, deadlines and retries), a row that was on the wire unknown to it is rejected `closed`, a
// queued row it does not hold is handed to it, and the session goes on to WORKING and delivers.

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startEdge } from "../dev.mjs";
import { WEBHOOK_SECRET, call, edgeEnv, instance, seedInstance, simInstance, simLog, startSim, waitFor, closeAll } from "../test-harness.mjs";

const FIXTURE = new URL("../../tests/fixtures/machine-snapshot-v1.json", import.meta.url);
/** The fixture machine's expected account, so that the identity check passes. */
const JID = "201012345678@c.us";

let sim;
let edge;
let persistDir;

before(async () => {
  sim = await startSim();
  persistDir = await mkdtemp(join(tmpdir(), "edge-legacy-"));
});

after(async () => {
  await closeAll(edge, sim);
  await rm(persistDir, { recursive: true, force: true });
});

const messages = async (id) => (await call(edge.url, "GET", `/instances/${id}/messages`)).body;
const byId = (rows) => Object.fromEntries(rows.map((m) => [m.id, m]));

test("a pre-driver instance object restores: bare machine snapshot, old instance row, unknown rows", async () => {
  const id = await seedInstance(sim, { jid: JID, status: "STOPPED" });
  const sessionName = (await simInstance(sim, id)).name ?? null;
  const machine = (await readFile(FIXTURE, "utf8")).trim();
  const legacyInstance = {
    instanceId: id, serverName: "legacy-server", sessionName, report: { status: "STARTING", rawStatus: "STARTING" },
    uiAction: "connecting", identity: null, me: null, lastError: null, startingTimeoutMs: 1000,
    expectedJid: JID, reportedRestarts: 0, inflightCalls: [],
  };
  const createdMs = Date.now() - 60_000;
  edge = await startEdge({ persistDir, env: edgeEnv(sim), testHooks: true });
  const written = await call(edge.url, "POST", `/__test/storage/${id}`, {
    meta: { instance: JSON.stringify(legacyInstance), machine },
    messages: [
      { id: "msg-1", chatId: "15550001111@c.us", text: "held one", state: "queued", createdMs },
      { id: "msg-2", chatId: "15550001111@c.us", text: "held two", state: "queued", createdMs },
      { id: "on-the-wire", chatId: "15550001111@c.us", text: "was sending", state: "sending", createdMs },
      { id: "never-handed", chatId: "15550001111@c.us", text: "legacy queued", state: "queued", createdMs },
    ],
    audit: [{ atMs: createdMs, status: "STARTING", source: "webhook" }],
  });
  assert.equal(written.status, 200);
  await edge.close();

  // A new workerd process on the same storage; the simulator's webhooks now point at it.
  edge = await startEdge({ persistDir, env: edgeEnv(sim), testHooks: true });
  await call(sim.url, "POST", "/__sim/webhooks", { url: `${edge.url}/webhook`, shape: "waha", hmacKey: WEBHOOK_SECRET });
  const view = await instance(edge, id);
  assert.equal(view.known, true);
  assert.equal(view.sessionName, sessionName);
  assert.equal(view.startingTimeoutMs, 1000, "the old instance row's fields");
  assert.equal(view.serverName, "legacy-server");
  const first = byId(await messages(id));
  assert.equal(first["on-the-wire"].state, "rejected", "a send on the wire the machine never knew may have gone out");
  assert.equal(first["on-the-wire"].code, "closed");

  // The restored machine's own retry (a `start`, due long ago) runs on the alarm: the session comes
  // up, the held messages' deadlines passed long ago, the one handed to it again is delivered.
  await waitFor("WORKING", async () => (await instance(edge, id)).status === "WORKING");
  const settled = await waitFor("every message final", async () => {
    const rows = byId(await messages(id));
    return Object.values(rows).every((m) => m.state === "sent" || m.state === "rejected") ? rows : false;
  });
  assert.equal(settled["msg-1"].code, "send_timeout");
  assert.equal(settled["msg-2"].code, "send_timeout");
  assert.equal(settled["never-handed"].state, "sent");
  const deliveries = (await simLog(sim)).deliveries.map((d) => d.text);
  assert.deepEqual(deliveries, ["legacy queued"], "delivered once; nothing else sent");
});
