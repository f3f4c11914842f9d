// Shared by the edge tests: the simulator and the edge worker (real workerd) on 127.0.0.1, small
// HTTP helpers, bounded polling, and a loopback receiver for admin notifications.

import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { startSimulator } from "../sim/server.mjs";
import { startEdge } from "./dev.mjs";

export const SPEED = 60;
export const TOKEN = "edge-test-token-7f3a9c";
export const WEBHOOK_SECRET = "edge-test-webhook-secret-41d2";
export const ADMIN_TOKEN = "edge-test-admin-token-5be07d1c";
/** Wall-clock budgets of the waits below; every loop is bounded by one of these. */
export const WAIT_MS = 15_000;

export async function startSim(options = {}) {
  return startSimulator({ port: 0, speed: SPEED, seed: 7, token: TOKEN, flavor: "wawp", ...options });
}

export function edgeEnv(sim, extra = {}) {
  return {
    WAWP_BASE_URL: sim.url,
    WAWP_ACCESS_TOKEN: TOKEN,
    WAWP_FLAVOR: "wawp",
    WEBHOOK_SECRET,
    ADMIN_TOKEN,
    TIMING_SCALE: String(SPEED),
    ...extra,
  };
}

/** Simulator + edge, the simulator's signed WAHA-shaped webhooks pointed at the edge. */
export async function startStack({ env = {}, persistDir, port = 0, sim: simOptions } = {}) {
  const sim = await startSim(simOptions);
  let edge;
  try {
    edge = await startEdge({ port, persistDir, env: edgeEnv(sim, env) });
    await call(sim.url, "POST", "/__sim/webhooks", { url: `${edge.url}/webhook`, shape: "waha", hmacKey: WEBHOOK_SECRET });
  } catch (err) {
    // Nothing may keep the test process alive after a failed start.
    await edge?.close();
    await sim.close();
    throw err;
  }
  return { sim, edge };
}

/** How long `closeAll` waits for one part of a stack to close. */
const CLOSE_WAIT_MS = 15_000;

/**
 * Closes every part of a test stack (edge, simulator, receivers) in order, each at most
 * CLOSE_WAIT_MS, and goes on when one fails or never settles, saying so on stderr. Twice in clean
 * CI runs a test file passed every test and then hung in its `after` hook: neither servers nor
 * timers were left but the simulator's and a receiver's listening sockets, so a close had stopped
 * the hook before they were closed. Teardown must not be able to keep a test process alive.
 */
export async function closeAll(...parts) {
  for (const part of parts) {
    if (!part) continue;
    let timer;
    const bound = new Promise((resolve) => {
      timer = setTimeout(() => resolve("timed out"), CLOSE_WAIT_MS);
    });
    try {
      const outcome = await Promise.race([Promise.resolve(part.close()).then(() => "closed"), bound]);
      if (outcome !== "closed") process.stderr.write(`[harness] a close did not settle in ${CLOSE_WAIT_MS} ms\n`);
    } catch (err) {
      process.stderr.write(`[harness] a close failed: ${err?.stack ?? err}\n`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Every response body the tests saw, for the secrets check. */
export const seenBodies = [];

/** Headers of a call: the admin token on the edge's /instances routes unless the caller passes its
 *  own `authorization` (null = none at all); the simulator's paths never get it. */
function callHeaders(path, body, headers) {
  const out = body === undefined ? { ...headers } : { "content-type": "application/json", ...headers };
  if (!("authorization" in out) && path.startsWith("/instances")) out.authorization = `Bearer ${ADMIN_TOKEN}`;
  if (out.authorization === null) delete out.authorization;
  return out;
}

export async function call(base, method, path, body, headers = {}) {
  const response = await fetch(base + path, {
    signal: AbortSignal.timeout(WAIT_MS), // a hung server fails the test instead of hanging it
    method,
    headers: callHeaders(path, body, headers),
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  seenBodies.push(text);
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** Polls `probe` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor(what, probe, { timeoutMs = WAIT_MS, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function instance(edge, id) {
  return (await call(edge.url, "GET", `/instances/${id}`)).body;
}

export function waitForStatus(edge, id, status, options) {
  return waitFor(`instance ${id} to be ${status}`, async () => {
    const view = await instance(edge, id);
    return view.status === status ? view : false;
  }, options);
}

export async function simLog(sim) {
  return (await call(sim.url, "GET", "/__sim/log")).body;
}

export async function simRequests(sim, instanceId, op) {
  const { requests } = await simLog(sim);
  return requests.filter((r) => r.instanceId === instanceId && (op === undefined || r.op === op));
}

export async function simInstance(sim, id) {
  return (await call(sim.url, "GET", `/__sim/instances/${id}`)).body;
}

/** A paired instance in the simulator, not yet known to the edge. */
export async function seedInstance(sim, { status = "STOPPED", jid = "15550001111@c.us" } = {}) {
  const { body } = await call(sim.url, "POST", "/__sim/instances", { paired: true, jid, status });
  return body.instance_id;
}

/** Creates through the edge (lazy provisioning), pairs through the QR flow and waits for WORKING. */
export async function createWorkingInstance(sim, edge, jid = "15550002222@c.us") {
  const created = await call(edge.url, "POST", "/instances/create", {});
  if (created.status !== 201) throw new Error(`create failed: ${JSON.stringify(created.body)}`);
  const id = created.body.instanceId;
  await call(edge.url, "POST", `/instances/${id}/start`);
  await waitForStatus(edge, id, "SCAN_QR_CODE");
  await call(sim.url, "POST", `/__sim/instances/${id}/scan`, { jid });
  await waitForStatus(edge, id, "WORKING");
  return id;
}

/** A `session.status` webhook in the WAHA envelope, signed like the simulator signs it. */
export function signedStatusEvent({ instanceId, sessionName, status, id, timestamp, secret = WEBHOOK_SECRET }) {
  const body = JSON.stringify({
    id,
    timestamp,
    event: "session.status",
    session: sessionName,
    instance_id: instanceId,
    me: null,
    payload: { name: sessionName, status, statuses: [], data: null },
  });
  const headers = {
    "content-type": "application/json",
    "x-webhook-hmac": createHmac("sha512", secret).update(body).digest("hex"),
    "x-webhook-hmac-algorithm": "sha512",
  };
  return { body, headers };
}

/** A loopback HTTP receiver that records every POSTed JSON body (the admin webhook). */
export async function startReceiver() {
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      try {
        received.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        received.push(null);
      }
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/admin`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Reads Server-Sent Events until `until(events)` holds or `timeoutMs` passes; then disconnects. */
export async function readEvents(
  url,
  until,
  { timeoutMs = WAIT_MS, onOpen, headers = { authorization: `Bearer ${ADMIN_TOKEN}` } } = {},
) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events = [];
  try {
    const response = await fetch(url, { signal: controller.signal, headers });
    if (!response.ok) throw new Error(`events: HTTP ${response.status} ${await response.text()}`);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let opened = false;
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const type = /^event: (.*)$/m.exec(block)?.[1] ?? "instance";
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data !== undefined) events.push({ type, data: JSON.parse(data) });
      }
      if (!opened && events.length > 0) {
        opened = true;
        await onOpen?.();
      }
    }
    return events;
  } catch (err) {
    if (controller.signal.aborted) return events;
    throw err;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
