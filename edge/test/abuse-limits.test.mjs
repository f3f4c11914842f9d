#!/usr/bin/env node
// Abuse limits in real workerd: new messages per instance per minute and creates per hour (429 +
// Retry-After), a body size cap on every route (declared or streamed), CORS for ALLOWED_ORIGINS
// only, and no secret in any answer.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  ADMIN_TOKEN,
  TOKEN,
  WEBHOOK_SECRET,
  call,
  seedInstance,
  seenBodies,
  startStack,
  waitForStatus,
  closeAll,
} from "../test-harness.mjs";

const SEND_RATE = 5;
const CREATE_RATE = 2;
const ORIGIN = "https://app.example.com";

let sim;
let edge;

before(async () => {
  ({ sim, edge } = await startStack({
    env: { SEND_RATE_PER_MINUTE: String(SEND_RATE), CREATE_RATE_PER_HOUR: String(CREATE_RATE), ALLOWED_ORIGINS: `${ORIGIN}, https://other.example` },
  }));
});

after(async () => {
  await closeAll(edge, sim);
});

test("SEND_RATE_PER_MINUTE: the sixth new message in a minute is a 429 with Retry-After; retries and other instances are not counted", async () => {
  const id = await seedInstance(sim, { jid: "15550006060@c.us" });
  await call(edge.url, "POST", `/instances/${id}/warm-boot`);
  await waitForStatus(edge, id, "WORKING");
  const send = (n, extra = {}) => call(edge.url, "POST", `/instances/${id}/send`, { chatId: "15550006161@c.us", text: `rate ${n}`, ...extra });
  for (let n = 0; n < SEND_RATE; n++) assert.equal((await send(n, { id: `rate-${n}` })).status, 202);
  const limited = await send(SEND_RATE);
  assert.equal(limited.status, 429);
  assert.equal(limited.body.error.code, "rate_limited");
  const retryAfter = Number(limited.headers.get("retry-after"));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  const retried = await send(0, { id: "rate-0" });
  assert.equal(retried.status, 202, "an idempotent retry of a stored message is not a new message");
  assert.equal(retried.body.state, "sent");
  const messages = (await call(edge.url, "GET", `/instances/${id}/messages`)).body;
  assert.equal(messages.length, SEND_RATE, "the refused message was not stored");
  const deliveries = (await call(sim.url, "GET", "/__sim/log")).body.deliveries.filter((d) => d.instanceId === id);
  assert.equal(deliveries.length, SEND_RATE);

  const other = await seedInstance(sim, { jid: "15550006262@c.us" });
  await call(edge.url, "POST", `/instances/${other}/warm-boot`);
  await waitForStatus(edge, other, "WORKING");
  const elsewhere = await call(edge.url, "POST", `/instances/${other}/send`, { chatId: "15550006161@c.us", text: "other" });
  assert.equal(elsewhere.status, 202, "the limit is per instance");
});

test("CREATE_RATE_PER_HOUR: the third create is a 429 with Retry-After and reaches no API", async () => {
  for (let n = 0; n < CREATE_RATE; n++) assert.equal((await call(edge.url, "POST", "/instances/create", {})).status, 201);
  const createsBefore = (await call(sim.url, "GET", "/__sim/log")).body.requests.filter((r) => r.op === "create").length;
  const limited = await call(edge.url, "POST", "/instances/create", {});
  assert.equal(limited.status, 429);
  assert.equal(limited.body.error.code, "rate_limited");
  const retryAfter = Number(limited.headers.get("retry-after"));
  assert.ok(retryAfter > 3000 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
  const createsAfter = (await call(sim.url, "GET", "/__sim/log")).body.requests.filter((r) => r.op === "create").length;
  assert.equal(createsAfter, createsBefore);
});

test("a body size cap on every route, declared or streamed", async () => {
  const big = "x".repeat(600 * 1024);
  const id = await seedInstance(sim, { jid: "15550006363@c.us" });
  for (const path of ["/", "/health", "/webhook", "/instances/create", `/instances/${id}/send`, `/instances/${id}/tokens`, "/nowhere"]) {
    const answer = await despiteReset(() => call(edge.url, "POST", path, big));
    assert.equal(answer.status, 413, `${path} (declared)`);
  }
  // Streamed without a Content-Length: the worker stops reading at the cap.
  const chunk = new TextEncoder().encode("y".repeat(64 * 1024));
  for (const path of [`/instances/${id}/send`, "/webhook"]) {
    const response = await despiteReset(() => {
      let sent = 0;
      const body = new ReadableStream({
        pull(controller) {
          if (sent >= 16) return controller.close();
          sent += 1;
          controller.enqueue(chunk);
        },
      });
      return fetch(edge.url + path, {
        method: "POST",
        body,
        duplex: "half",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      });
    }).catch((err) => ({ status: `error ${err.message}` }));
    assert.equal(response.status, 413, `${path} (streamed)`);
    await response.body?.cancel();
  }
});

test("CORS: preflight granted to ALLOWED_ORIGINS only; answers carry the grant only for them", async () => {
  const preflight = (origin) =>
    fetch(`${edge.url}/instances/abc/send`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
  const granted = await preflight(ORIGIN);
  assert.equal(granted.status, 204);
  assert.equal(granted.headers.get("access-control-allow-origin"), ORIGIN);
  assert.match(granted.headers.get("access-control-allow-headers"), /authorization/);
  assert.match(granted.headers.get("access-control-allow-methods"), /POST/);
  const refused = await preflight("https://evil.example");
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get("access-control-allow-origin"), null);
  await refused.body?.cancel();

  const read = (origin) => fetch(`${edge.url}/instances/abc`, { headers: { origin, authorization: `Bearer ${ADMIN_TOKEN}` } });
  const allowed = await read("https://other.example");
  assert.equal(allowed.headers.get("access-control-allow-origin"), "https://other.example");
  assert.match(allowed.headers.get("vary"), /Origin/);
  await allowed.body.cancel();
  const other = await read("https://evil.example");
  assert.equal(other.status, 200, "a server-side caller with the token is not a browser: it is answered");
  assert.equal(other.headers.get("access-control-allow-origin"), null, "but no browser elsewhere may read it");
  await other.body.cancel();
  const unauthenticated = await fetch(`${edge.url}/instances/abc`, { headers: { origin: ORIGIN } });
  assert.equal(unauthenticated.status, 401);
  assert.equal(unauthenticated.headers.get("access-control-allow-origin"), ORIGIN, "the page can read why it was refused");
  await unauthenticated.body.cancel();
});

test("no answer carried a secret", () => {
  const everything = seenBodies.join("\n");
  assert.ok(seenBodies.length > 20);
  for (const secret of [ADMIN_TOKEN, WEBHOOK_SECRET, TOKEN]) assert.ok(!everything.includes(secret));
});

/**
 * The worker answers 413 without reading the rest of an oversized body, as it should; on a loaded
 * machine the connection can then be reset while the client is still writing, and the client sees
 * "fetch failed" instead of the 413 already on the wire. A reset is tried again (at most 3 times);
 * any answer, right or wrong, is returned to the assertion.
 */
async function despiteReset(request) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (err) {
      if (attempt >= 3 || err?.name === "TimeoutError") throw err;
    }
  }
}
