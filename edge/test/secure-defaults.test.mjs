#!/usr/bin/env node
// Secure by default, in real workerd: with no ADMIN_TOKEN nobody gets in; with neither
// WEBHOOK_SECRET nor WEBHOOK_PATH_TOKEN webhooks are refused unless ALLOW_UNSIGNED_WEBHOOKS is
// "true"; the secret path accepts unsigned events, refuses a bad signature; TOKEN_SIGNING_KEY
// decouples instance tokens from the admin token (rotation, docs/security.md).

import assert from "node:assert/strict";
import { test } from "node:test";
import { mintInstanceToken } from "../../pkg/src/entry-node.js";
import { startEdge } from "../dev.mjs";
import {
  ADMIN_TOKEN,
  WEBHOOK_SECRET,
  call,
  edgeEnv,
  instance,
  seedInstance,
  signedStatusEvent,
  startSim,
  waitForStatus,
} from "../test-harness.mjs";

async function withEdge(t, env) {
  const sim = await startSim();
  t.after(() => sim.close());
  const edge = await startEdge({ port: 0, env: edgeEnv(sim, env) });
  t.after(() => edge.close());
  return { sim, edge };
}

/** An adopted, WORKING instance (warm boot of a paired one). */
async function workingInstance(sim, edge, jid) {
  const id = await seedInstance(sim, { jid });
  assert.equal((await call(edge.url, "POST", `/instances/${id}/warm-boot`)).status, 200);
  await waitForStatus(edge, id, "WORKING");
  return id;
}

function unsignedFailed(id, n) {
  const { body } = signedStatusEvent({ instanceId: id, status: "FAILED", id: `evt_unsigned_${n}`, timestamp: Date.now() });
  return body;
}

test("without ADMIN_TOKEN (or with a short one) every /instances route is 401", async (t) => {
  const { edge } = await withEdge(t, { ADMIN_TOKEN: undefined });
  for (const [method, path] of [["POST", "/instances/create"], ["GET", "/instances/abc"], ["POST", "/instances/abc/tokens"]]) {
    const answer = await call(edge.url, method, path, method === "POST" ? {} : undefined);
    assert.equal(answer.status, 401, `${method} ${path}`);
  }
  // A token minted with the admin token of some other deployment is worth nothing here.
  const foreign = await mintInstanceToken({ adminToken: ADMIN_TOKEN, instanceId: "abc" });
  const answer = await call(edge.url, "GET", "/instances/abc", undefined, { authorization: `Bearer ${foreign.token}` });
  assert.equal(answer.status, 401);
  // An admin token too short to be safe counts as unset.
  const { edge: weak } = await withEdge(t, { ADMIN_TOKEN: "short-admin" });
  assert.equal((await call(weak.url, "GET", "/instances/abc", undefined, { authorization: "Bearer short-admin" })).status, 401);
});

test("neither WEBHOOK_SECRET nor WEBHOOK_PATH_TOKEN: webhooks are refused, unless ALLOW_UNSIGNED_WEBHOOKS", async (t) => {
  const { sim, edge } = await withEdge(t, { WEBHOOK_SECRET: undefined });
  const id = await workingInstance(sim, edge, "15550005050@c.us");
  const refused = await call(edge.url, "POST", "/webhook", unsignedFailed(id, 1));
  assert.equal(refused.status, 401);
  assert.equal(refused.body.error.code, "unauthorized");
  assert.equal((await call(edge.url, "POST", "/webhook/anything-at-all-here", unsignedFailed(id, 2))).status, 401);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal((await instance(edge, id)).status, "WORKING");

  const { sim: sim2, edge: open } = await withEdge(t, { WEBHOOK_SECRET: undefined, ALLOW_UNSIGNED_WEBHOOKS: "true" });
  const id2 = await workingInstance(sim2, open, "15550005151@c.us");
  assert.equal((await call(open.url, "POST", "/webhook", unsignedFailed(id2, 3))).status, 202);
  await waitForStatus(open, id2, "FAILED");
});

test("the secret path: unsigned events accepted, a wrong path or a bad signature refused", async (t) => {
  const pathToken = "edge-test-path-token-0b7e35aa";
  const { sim, edge } = await withEdge(t, { WEBHOOK_PATH_TOKEN: pathToken });
  const id = await workingInstance(sim, edge, "15550005252@c.us");
  assert.equal((await call(edge.url, "POST", `/webhook/${pathToken}x`, unsignedFailed(id, 4))).status, 401);
  assert.equal((await call(edge.url, "POST", "/webhook", unsignedFailed(id, 5))).status, 401, "WEBHOOK_SECRET still guards /webhook");
  const badlySigned = signedStatusEvent({ instanceId: id, status: "FAILED", id: "evt_bad_6", timestamp: Date.now(), secret: "nope" });
  assert.equal((await call(edge.url, "POST", `/webhook/${pathToken}`, badlySigned.body, badlySigned.headers)).status, 401);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal((await instance(edge, id)).status, "WORKING");
  const signed = signedStatusEvent({ instanceId: id, status: "FAILED", id: "evt_good_7", timestamp: Date.now(), secret: WEBHOOK_SECRET });
  assert.equal((await call(edge.url, "POST", `/webhook/${pathToken}`, signed.body, signed.headers)).status, 202);
  await waitForStatus(edge, id, "FAILED");
  await waitForStatus(edge, id, "WORKING");
  assert.equal((await call(edge.url, "POST", `/webhook/${pathToken}`, unsignedFailed(id, 8))).status, 202);
  await waitForStatus(edge, id, "FAILED");
});

test("TOKEN_SIGNING_KEY: tokens survive an ADMIN_TOKEN rotation; tokens of the derived key do not verify", async (t) => {
  const signingKey = "edge-test-signing-key-93d1f0c2";
  const sim = await startSim();
  t.after(() => sim.close());
  const id = await seedInstance(sim, { jid: "15550005353@c.us" });
  const first = await startEdge({ port: 0, env: edgeEnv(sim, { TOKEN_SIGNING_KEY: signingKey }) });
  const minted = await call(first.url, "POST", `/instances/${id}/tokens`, { scopes: ["view"] });
  await first.close();
  const rotated = "edge-test-admin-token-rotated-77";
  const edge = await startEdge({ port: 0, env: edgeEnv(sim, { TOKEN_SIGNING_KEY: signingKey, ADMIN_TOKEN: rotated }) });
  t.after(() => edge.close());
  const auth = (token) => ({ authorization: `Bearer ${token}` });
  assert.equal((await call(edge.url, "GET", `/instances/${id}`, undefined, auth(minted.body.token))).status, 200);
  assert.equal((await call(edge.url, "GET", `/instances/${id}`, undefined, auth(ADMIN_TOKEN))).status, 401, "the old admin token is dead");
  assert.equal((await call(edge.url, "GET", `/instances/${id}`, undefined, auth(rotated))).status, 200);
  const backendMinted = await mintInstanceToken({ signingKey, instanceId: id, scopes: ["view"] });
  assert.equal((await call(edge.url, "GET", `/instances/${id}`, undefined, auth(backendMinted.token))).status, 200);
  const derived = await mintInstanceToken({ adminToken: rotated, instanceId: id, scopes: ["view"] });
  assert.equal((await call(edge.url, "GET", `/instances/${id}`, undefined, auth(derived.token))).status, 401);
});
