#!/usr/bin/env node
// Every route of the edge × every kind of caller, in real workerd: no token, a wrong one, an
// expired one, a tampered one, another instance's token, a token with each single scope, the
// admin token. The expected table is written out here on purpose (not read from edge/src): it
// is the contract of docs/security.md, and the worker must match it.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { mintInstanceToken } from "../../pkg/src/entry-node.js";
import { ADMIN_TOKEN, call, readEvents, seedInstance, startStack, closeAll } from "../test-harness.mjs";

/** [method, path suffix after /instances/{id} (or an absolute path), the scope it needs (null = admin only), body] */
const ROUTES = [
  ["GET", "", "view"],
  ["GET", "/events", "view"],
  ["GET", "/messages", "view"],
  ["GET", "/stability", "view"],
  ["GET", "/qr", "link"],
  ["POST", "/pairing-code", "link", { phoneNumber: "15550003131" }],
  ["POST", "/send", "send", { chatId: "15550003232@c.us", text: "matrix" }],
  ["POST", "/warm-boot", "control"],
  ["POST", "/start", "control"],
  ["POST", "/stop", "control"],
  ["POST", "/retry", "control"],
  ["POST", "/logout", "control"],
  ["POST", "/tokens", null, { scopes: ["view"] }],
  ["POST", "ABS:/instances/create", null, {}],
  ["DELETE", "", "control"],
];
/** Paths that exist on the Durable Object or nowhere: never forwarded, whoever asks. */
const NOT_ROUTES = [
  ["POST", "/webhook", { input: "WORKING" }],
  ["POST", "/adopt", { expectedJid: "1@c.us" }],
  ["GET", "/adopt"],
  ["PUT", ""],
  ["GET", "/nothing-here"],
];
const SCOPES = ["view", "send", "link", "control"];

let sim;
let edge;
let id;
let other;
const credentials = {};

/** Status and error code of one request; an event stream is cancelled once its status is known. */
async function probe(method, path, authorization, body) {
  const headers = authorization ? { authorization } : {};
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(edge.url + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  if (String(response.headers.get("content-type")).startsWith("text/event-stream")) {
    await response.body.cancel();
    return { status: response.status, code: null };
  }
  const text = await response.text();
  let code = null;
  try {
    code = JSON.parse(text)?.error?.code ?? null;
  } catch {
    code = null;
  }
  return { status: response.status, code };
}

async function mintOnEdge(instanceId, scopes) {
  const minted = await call(edge.url, "POST", `/instances/${instanceId}/tokens`, { scopes });
  assert.equal(minted.status, 201, JSON.stringify(minted.body));
  assert.ok(minted.body.expiresAt > Date.now() + 3_500_000 && minted.body.expiresAt <= Date.now() + 3_600_000, "1 h by default");
  return minted.body.token;
}

before(async () => {
  ({ sim, edge } = await startStack());
  id = await seedInstance(sim, { jid: "15550003030@c.us" });
  other = await seedInstance(sim, { jid: "15550003131@c.us" });
  const valid = await mintOnEdge(id, SCOPES);
  const [header, payload, signature] = valid.split(".");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  const forgedPayload = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 86_400 })).toString("base64url");
  const expired = await mintInstanceToken({
    adminToken: ADMIN_TOKEN, // the package derives the same key as the worker: minted without a round trip
    instanceId: id,
    ttlSeconds: 60,
    nowMs: Date.now() - 2 * 3_600_000,
  });
  Object.assign(credentials, {
    none: null,
    wrong: "Bearer not-the-admin-token-nor-an-instance-token",
    expired: `Bearer ${expired.token}`,
    tampered: `Bearer ${header}.${forgedPayload}.${signature}`,
    otherInstance: `Bearer ${await mintOnEdge(other, SCOPES)}`,
    admin: `Bearer ${ADMIN_TOKEN}`,
  });
  for (const scope of SCOPES) credentials[scope] = `Bearer ${await mintOnEdge(id, [scope])}`;
});

after(async () => {
  await closeAll(edge, sim);
});

function expected(credential, scope) {
  if (["none", "wrong", "expired", "tampered"].includes(credential)) return 401;
  if (credential === "admin") return "allowed";
  if (credential === "otherInstance") return 403;
  return credential === scope ? "allowed" : 403;
}

test("every route × every caller: 401 without a valid token, 403 for another instance or a missing scope", async () => {
  const table = [];
  // Destructive routes last, so the instance is still there for the others.
  for (const [method, suffix, scope, body] of ROUTES) {
    for (const credential of ["none", "wrong", "expired", "tampered", "otherInstance", ...SCOPES, "admin"]) {
      const path = suffix.startsWith("ABS:") ? suffix.slice(4) : `/instances/${id}${suffix}`;
      const { status, code } = await probe(method, path, credentials[credential], body);
      const want = expected(credential, scope);
      table.push(`${method} ${path} ${credential} → ${status}`);
      const where = `${method} ${suffix || "/"} with ${credential}`;
      if (want === "allowed") {
        assert.ok(status !== 401 && status !== 403, `${where} must pass authorization, got ${status} ${code}`);
        assert.ok(status < 500 || code !== null, `${where}: ${status}`);
      } else {
        assert.equal(status, want, `${where}`);
        assert.equal(code, want === 401 ? "unauthorized" : "forbidden", `${where}`);
      }
    }
  }
  assert.equal(table.length, ROUTES.length * 10);
});

test("internal and unknown sub-paths are never forwarded: 401 without a token, 404 with any valid one", async () => {
  for (const [method, suffix, body] of NOT_ROUTES) {
    const path = `/instances/${other}${suffix}`;
    assert.equal((await probe(method, path, null, body)).status, 401, `${method} ${path} without a token`);
    for (const credential of ["admin", "otherInstance", "control"]) {
      const { status, code } = await probe(method, path, credentials[credential], body);
      assert.equal(status, 404, `${method} ${path} with ${credential}`);
      assert.equal(code, "not_found");
    }
  }
});

test("/ and /health are open and say nothing", async () => {
  for (const path of ["/", "/health"]) {
    const answer = await call(edge.url, "GET", path);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { ok: true });
  }
});

test("the events stream takes an instance token as ?access_token= (and only it, and only there)", async () => {
  const viewToken = credentials.view.slice("Bearer ".length);
  const events = await readEvents(
    `${edge.url}/instances/${other}/events?access_token=${encodeURIComponent(await mintOnEdge(other, ["view"]))}`,
    (seen) => seen.length > 0,
    { headers: {} },
  );
  assert.equal(events[0].type, "instance");
  assert.equal(events[0].data.status, "UNKNOWN", "never adopted: the stream opened on its own instance");
  // Another instance's token, the admin token in a URL, a tampered token, a token on another route.
  const refusals = [
    [`/instances/${other}/events?access_token=${viewToken}`, 403],
    [`/instances/${id}/events?access_token=${encodeURIComponent(ADMIN_TOKEN)}`, 401],
    [`/instances/${id}/events?access_token=${viewToken.slice(0, -2)}xx`, 401],
    [`/instances/${id}?access_token=${viewToken}`, 401],
    [`/instances/${id}/messages?access_token=${viewToken}`, 401],
  ];
  for (const [path, status] of refusals) assert.equal((await probe("GET", path, null)).status, status, path);
});

test("tokens: scopes and lifetime are checked when minted; a token is refused once expired", async () => {
  for (const body of [{ ttlSeconds: 86_401 }, { ttlSeconds: 0 }, { ttlSeconds: 1.5 }, { scopes: ["admin"] }, { scopes: [] }]) {
    const refused = await call(edge.url, "POST", `/instances/${id}/tokens`, body);
    assert.equal(refused.status, 400, JSON.stringify(body));
  }
  const day = await call(edge.url, "POST", `/instances/${id}/tokens`, { ttlSeconds: 86_400, scopes: ["view"] });
  assert.equal(day.status, 201);
  assert.ok(Math.abs(day.body.expiresAt - (Date.now() + 86_400_000)) < 5_000);

  const short = await call(edge.url, "POST", `/instances/${id}/tokens`, { ttlSeconds: 1, scopes: ["view"] });
  const auth = { authorization: `Bearer ${short.body.token}` };
  assert.equal((await call(edge.url, "GET", `/instances/${id}`, undefined, auth)).status, 200);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, short.body.expiresAt - Date.now()) + 50));
  const late = await call(edge.url, "GET", `/instances/${id}`, undefined, auth);
  assert.equal(late.status, 401);
  assert.equal(late.body.error.code, "unauthorized");
});

test("a malformed Authorization header or instance id never gets past authentication", async () => {
  for (const authorization of ["Basic YWRtaW46YWRtaW4=", `Bearer`, `bearer  ${ADMIN_TOKEN.slice(1)}`, `Bearer ${ADMIN_TOKEN} extra`, `Token ${ADMIN_TOKEN}`]) {
    assert.equal((await probe("GET", `/instances/${id}`, authorization)).status, 401, authorization);
  }
  assert.equal((await probe("GET", "/instances", null)).status, 401);
  assert.equal((await probe("GET", "/instances/%E0%A4%A/x", null)).status, 401);
  assert.equal((await probe("GET", "/instances/%E0%A4%A", credentials.admin)).status, 400);
  assert.equal((await probe("GET", "/instances/a%2Fb", credentials.admin)).status, 400);
});
