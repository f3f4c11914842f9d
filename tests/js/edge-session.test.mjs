// connectEdgeSession against the real edge worker in workerd (edge/dev.mjs) and the simulator,
// over real HTTP on 127.0.0.1, with real instance tokens (minted by the edge with its admin token,
// as an operator's backend does): the edge itself answers 401 to a bad one. A small loopback gateway
// sits in front of the edge, as a deployment's proxy would: it passes the page's Authorization
// through, counts requests, and can refuse the event stream or cut it, for the polling fallback
// and reconnection.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, request as httpRequest } from "node:http";
import { pkg } from "./helpers.mjs";
import * as harness from "../../edge/test-harness.mjs";

const { connectEdgeSession, WawpError } = pkg;
const { call, simLog, startStack, waitFor } = harness;
const JID = "15550003333@c.us";
const FAST_RECONNECT = { baseMs: 50, capMs: 300 };

let sim;
let edge;
let gateway;

/** The gateway: request log, switches to refuse or cut `/events`. */
async function startGateway(target) {
  const state = { requests: [], refuseEvents: false, delayReadsMs: 0, streams: new Set() };
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    state.requests.push({ method: req.method, path, auth: req.headers.authorization ?? null });
    if (state.refuseEvents && path.endsWith("/events")) {
      res.writeHead(503).end("event streams are not allowed here");
      return;
    }
    const headers = { ...req.headers };
    delete headers.host;
    const upstream = httpRequest(new URL(req.url, target), { method: req.method, headers }, (answer) => {
      if (state.delayReadsMs && req.method === "GET" && /^\/instances\/[^/]+$/.test(path)) {
        // A slow read: taken from the edge now, delivered late (older than what follows it).
        const chunks = [];
        answer.on("data", (chunk) => chunks.push(chunk));
        answer.on("end", () => setTimeout(() => res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(chunks)), state.delayReadsMs));
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (String(answer.headers["content-type"]).startsWith("text/event-stream")) {
        res.flushHeaders();
        state.streams.add(res);
        res.on("close", () => state.streams.delete(res));
      }
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    state,
    /** Drops every open event stream, as a proxy timeout or a network change would. */
    cutStreams() {
      for (const res of state.streams) res.destroy();
    },
    close: () => new Promise((resolve) => {
      for (const res of state.streams) res.destroy();
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

async function createInstance() {
  const created = await call(edge.url, "POST", "/instances/create", {});
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.instanceId;
}

/** An instance token with every scope, minted by the edge (the operator backend's job). */
async function mintToken(instanceId) {
  const minted = await call(edge.url, "POST", `/instances/${encodeURIComponent(instanceId)}/tokens`, { ttlSeconds: 600 });
  assert.equal(minted.status, 201, JSON.stringify(minted.body));
  return minted.body.token;
}

/** Waits for a snapshot that satisfies `probe` (bounded). */
function until(session, what, probe, timeoutMs = 15_000) {
  return waitFor(what, () => probe(session.getSnapshot()) && session.getSnapshot(), { timeoutMs, intervalMs: 20 });
}

before(async () => {
  ({ sim, edge } = await startStack({ env: { TIMING_SCALE: "60" }, sim: { timings: { startingMs: 3000, firstQrMs: 6000, nextQrMs: 3000 } } }));
  gateway = await startGateway(edge.url);
});

after(async () => {
  await gateway?.close();
  await edge?.close();
  await sim?.close();
});

test("live over SSE: a stale token is renewed on 401; Power On → QR (refetched as it rotates) → scan → Connected; a send while STOPPED is delivered once", async () => {
  const instanceId = await createInstance();
  const validToken = await mintToken(instanceId);
  const tokens = ["expired-token", validToken];
  let asked = 0;
  const session = connectEdgeSession({ baseUrl: gateway.url, instanceId, token: async () => tokens[Math.min(asked++, 1)], reconnect: FAST_RECONNECT });
  try {
    await until(session, "a live stream", (s) => s.connection === "live" && s.status === "STOPPED");
    assert.equal(asked, 2, "the token function was asked again after the 401, once");
    assert.equal(session.getSnapshot().uiAction, "start");
    assert.ok(gateway.state.requests.some((r) => r.path.endsWith("/events") && r.auth === `Bearer ${validToken}`), "the stream carries the token as a header");

    await session.start();
    const qrShown = await until(session, "a QR code", (s) => s.uiAction === "scan_qr" && typeof s.qr === "string");
    assert.match(qrShown.qr, /^data:image\/png;base64,/);
    // WhatsApp rotates the code: the next SCAN_QR_CODE view brings a new image.
    await until(session, "a rotated QR code", (s) => typeof s.qr === "string" && s.qr !== qrShown.qr);
    const qrReads = gateway.state.requests.filter((r) => r.path === `/instances/${instanceId}/qr`).length;
    assert.ok(qrReads >= 2, `the QR image was read again (${qrReads} reads)`);

    await call(sim.url, "POST", `/__sim/instances/${instanceId}/scan`, { jid: JID });
    const connected = await until(session, "Connected", (s) => s.status === "WORKING" && s.me?.id === JID);
    assert.equal(connected.uiAction, "connected");
    assert.equal(connected.qr, null, "no QR once connected");

    await session.stop();
    await until(session, "Stopped", (s) => s.status === "STOPPED");
    const text = `edge-session start-on-send ${Date.now()}`;
    const states = new Set();
    const unsubscribe = session.subscribe(() => {
      for (const m of session.getSnapshot().messages) if (m.text === text) states.add(m.state);
    });
    const answer = await session.send({ chatId: "15557654321@c.us", text });
    assert.ok(["queued", "sent"].includes(answer.state));
    await until(session, "the message sent", (s) => s.messages.some((m) => m.text === text && m.state === "sent"));
    unsubscribe();
    assert.ok(states.has("queued") && states.has("sent"), `states seen: ${[...states]}`);
    const deliveries = (await simLog(sim)).deliveries.filter((d) => d.text === text);
    assert.equal(deliveries.length, 1, "delivered exactly once");
    assert.equal(session.getSnapshot().status, "WORKING", "the send started the session");
  } finally {
    session.close();
  }
  assert.equal(session.getSnapshot().connection, "closed");
  await assert.rejects(session.start(), (err) => err instanceof WawpError && err.code === "closed");
});

test("polling fallback: with the event stream refused the session still follows every change", async () => {
  const instanceId = await createInstance();
  gateway.state.refuseEvents = true;
  const session = connectEdgeSession({ baseUrl: gateway.url, instanceId, token: await mintToken(instanceId), pollIntervalMs: 100, reconnect: FAST_RECONNECT });
  try {
    await until(session, "polling", (s) => s.connection === "polling" && s.status === "STOPPED");
    // A change made elsewhere (another tab, the operator) reaches this session by polling.
    await call(edge.url, "POST", `/instances/${instanceId}/start`);
    await until(session, "the QR by polling", (s) => s.uiAction === "scan_qr" && typeof s.qr === "string");
    assert.equal(session.getSnapshot().connection, "polling");
    const streamTries = gateway.state.requests.filter((r) => r.path === `/instances/${instanceId}/events`).length;
    assert.ok(streamTries >= 2, `the stream was tried again with backoff (${streamTries} tries)`);
    // Once streams are allowed again, the next try goes live and polling stops.
    gateway.state.refuseEvents = false;
    await until(session, "live again", (s) => s.connection === "live");
    const before = gateway.state.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    const polls = gateway.state.requests.slice(before).filter((r) => r.method === "GET" && r.path === `/instances/${instanceId}`);
    assert.equal(polls.length, 0, "no polling while live");
  } finally {
    gateway.state.refuseEvents = false;
    session.close();
  }
});

test("reconnection: a cut stream is reopened with backoff and changes after it arrive live", async () => {
  const instanceId = await createInstance();
  const session = connectEdgeSession({ baseUrl: gateway.url, instanceId, token: await mintToken(instanceId), pollIntervalMs: 5_000, reconnect: FAST_RECONNECT });
  const connections = [];
  const unsubscribe = session.subscribe(() => {
    const { connection } = session.getSnapshot();
    if (connections.at(-1) !== connection) connections.push(connection);
  });
  try {
    await until(session, "live", (s) => s.connection === "live" && s.status === "STOPPED");
    const opened = () => gateway.state.requests.filter((r) => r.path === `/instances/${instanceId}/events`).length;
    const first = opened();
    gateway.cutStreams();
    await until(session, "live after the cut", () => opened() > first && session.getSnapshot().connection === "live");
    assert.ok(connections.includes("polling"), `polled while the stream was down: ${connections}`);
    // The reopened stream delivers: a change made behind the session's back arrives well within
    // the 5 s poll interval, so it came through the stream.
    const startedAt = Date.now();
    await call(edge.url, "POST", `/instances/${instanceId}/start`);
    await until(session, "STARTING or later through the new stream", (s) => s.status !== "STOPPED", 3_000);
    assert.ok(Date.now() - startedAt < 3_000);
    // Repeated cuts: each is followed by a reconnection, never a crash or a stuck state.
    for (let i = 0; i < 3; i += 1) {
      const count = opened();
      gateway.cutStreams();
      await until(session, `reconnection ${i + 2}`, () => opened() > count && session.getSnapshot().connection === "live");
    }
  } finally {
    unsubscribe();
    session.close();
  }
});

test("views arrive out of order: a slow read never takes the session back; the machine's status wins over its last report", async () => {
  const instanceId = await createInstance();
  gateway.state.delayReadsMs = 1_000;
  const session = connectEdgeSession({ baseUrl: gateway.url, instanceId, token: await mintToken(instanceId), reconnect: FAST_RECONNECT });
  const statuses = [];
  const unsubscribe = session.subscribe(() => {
    const { status } = session.getSnapshot();
    if (statuses.at(-1) !== status) statuses.push(status);
  });
  try {
    await until(session, "live", (s) => s.connection === "live" && s.status === "STOPPED");
    await session.start();
    // The machine is STARTING (its start call answered) while the last report it decoded still
    // says STOPPED: the snapshot follows the machine.
    assert.notEqual(session.getSnapshot().status, "STOPPED");
    // The read sent at connect time (STOPPED) lands now, late: it must not undo the start.
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    assert.equal(statuses.indexOf("STOPPED"), statuses.lastIndexOf("STOPPED"), `never back to STOPPED: ${statuses}`);
    assert.notEqual(session.getSnapshot().status, "STOPPED");
  } finally {
    gateway.state.delayReadsMs = 0;
    unsubscribe();
    session.close();
  }
});

test("deleteInstance removes the instance on the edge and the API, and closes the session", async () => {
  const instanceId = await createInstance();
  const session = connectEdgeSession({ baseUrl: gateway.url, instanceId, token: await mintToken(instanceId), reconnect: FAST_RECONNECT });
  try {
    await until(session, "live", (s) => s.connection === "live");
    assert.deepEqual(await session.deleteInstance(), { deleted: true });
    assert.equal(session.getSnapshot().connection, "closed");
    const ops = (await simLog(sim)).requests.filter((r) => r.instanceId === instanceId).map((r) => r.op);
    assert.ok(ops.includes("delete"), `the API instance was deleted: ${ops}`);
  } finally {
    session.close();
  }
});

test("a token that stays invalid surfaces as unauthorized; bad options are refused", async () => {
  const instanceId = await createInstance();
  const session = connectEdgeSession({ baseUrl: gateway.url, instanceId, token: "not-a-token-SENTINEL-5e1", transport: "polling", pollIntervalMs: 100 });
  try {
    await assert.rejects(session.start(), (err) => err instanceof WawpError && err.code === "unauthorized" && err.httpStatus === 401);
    await until(session, "the error in the snapshot", (s) => s.connectionError?.code === "unauthorized");
    assert.ok(!JSON.stringify(session.getSnapshot()).includes("SENTINEL"), "the token is in no snapshot");
  } finally {
    session.close();
  }
  assert.throws(() => connectEdgeSession(/** @type {any} */ ({ baseUrl: gateway.url })), (err) => err.code === "invalid_option");
  assert.throws(() => connectEdgeSession(/** @type {any} */ ({ baseUrl: gateway.url, instanceId, transport: "ws" })), (err) => err.code === "invalid_option");
});
