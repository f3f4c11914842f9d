// The WAHA flavour's responses and webhook bodies against the patched WAHA OpenAPI spec, with a small
// JSON-schema subset validator ($ref, type, nullable, required, enum, properties, items, anyOf/oneOf/allOf).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { control, startReceiver, startSim, waitFor, waitStatus, waha } from "./helpers.mjs";

// A copy inside the repository (tests/fixtures/README.md says where it came from and what was patched).
const SPEC_PATH = new URL("../../tests/fixtures/waha-openapi-2026.7.1.patched.json", import.meta.url);
const spec = JSON.parse(readFileSync(SPEC_PATH, "utf8"));

function resolve(schema) {
  let current = schema;
  const seen = new Set();
  while (current && typeof current.$ref === "string") {
    if (seen.has(current.$ref)) throw new Error(`$ref cycle at ${current.$ref}`);
    seen.add(current.$ref);
    if (!current.$ref.startsWith("#/")) throw new Error(`external $ref ${current.$ref}`);
    current = current.$ref.slice(2).split("/").reduce((node, key) => node?.[key.replace(/~1/g, "/").replace(/~0/g, "~")], spec);
    if (current === undefined) throw new Error(`unresolved $ref ${[...seen].at(-1)}`);
  }
  return current;
}

function typeOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (Number.isInteger(value)) return "integer";
  return typeof value;
}

/** Returns a list of problems ("path: message"); empty when `value` matches `schema`. */
export function validate(value, schema, path = "$") {
  const s = resolve(schema);
  if (s === true || s === undefined || Object.keys(s).length === 0) return [];
  if (value === null && s.nullable === true) return [];
  const errors = [];
  if (s.allOf) for (const sub of s.allOf) errors.push(...validate(value, sub, path));
  if (s.anyOf && !s.anyOf.some((sub) => validate(value, sub, path).length === 0)) {
    errors.push(`${path}: matches none of anyOf`);
  }
  if (s.oneOf) {
    const matches = s.oneOf.filter((sub) => validate(value, sub, path).length === 0).length;
    if (matches !== 1) errors.push(`${path}: matches ${matches} of oneOf (exactly 1 required)`);
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    const actual = typeOf(value);
    const ok = types.some((t) => t === actual || (t === "number" && actual === "integer"));
    if (!ok) return [...errors, `${path}: expected ${types.join("|")}, got ${actual}`];
  }
  if (s.enum && !s.enum.some((e) => e === value)) errors.push(`${path}: ${JSON.stringify(value)} not in enum`);
  if (typeOf(value) === "object") {
    for (const key of s.required ?? []) if (!Object.hasOwn(value, key)) errors.push(`${path}: missing required '${key}'`);
    for (const [key, sub] of Object.entries(s.properties ?? {})) {
      if (Object.hasOwn(value, key)) errors.push(...validate(value[key], sub, `${path}.${key}`));
    }
    if (s.additionalProperties === false) {
      for (const key of Object.keys(value)) if (!Object.hasOwn(s.properties ?? {}, key)) errors.push(`${path}: unexpected '${key}'`);
    }
  }
  if (typeOf(value) === "array" && s.items) value.forEach((item, i) => errors.push(...validate(item, s.items, `${path}[${i}]`)));
  return errors;
}

/** The documented success response of an operation: {status, schema}. */
function documented(method, path) {
  const operation = spec.paths[path]?.[method.toLowerCase()];
  assert.ok(operation, `${method} ${path} is in the spec`);
  const [status, response] = Object.entries(operation.responses).find(([code]) => code.startsWith("2"));
  return { status: Number(status), schema: response.content?.["application/json"]?.schema };
}

function assertConforms(res, method, specPath, what = `${method} ${specPath}`) {
  const { status, schema } = documented(method, specPath);
  assert.equal(res.status, status, `${what}: documented status ${status}`);
  if (schema) assert.deepEqual(validate(res.json, schema), [], `${what}: ${JSON.stringify(res.json)}`);
}

test("the validator rejects what it should (so the checks below can fail)", () => {
  const dto = { $ref: "#/components/schemas/SessionDTO" };
  assert.deepEqual(validate({ name: "a", status: "WORKING" }, dto), []);
  assert.ok(validate({ name: "a" }, dto).some((e) => e.includes("missing required 'status'")));
  assert.ok(validate({ name: "a", status: "DELETED" }, dto).some((e) => e.includes("not in enum")));
  assert.ok(validate({ name: 1, status: "WORKING" }, dto).some((e) => e.includes("expected string")));
  assert.ok(validate(null, { $ref: "#/components/schemas/MeInfo" }).length > 0);
  assert.deepEqual(validate(null, { type: "object", nullable: true }), []);
  const info = { $ref: "#/components/schemas/SessionInfo" };
  const base = { name: "a", status: "STOPPED", presence: {}, timestamps: { activity: null } };
  assert.deepEqual(validate(base, info), []);
  assert.ok(validate({ ...base, me: { id: "1@c.us" } }, info).some((e) => e.includes("anyOf")));
  assert.ok(validate({ ...base, timestamps: {} }, info).some((e) => e.includes("activity")));
  assert.ok(validate({ value: "x", mimetype: "a", data: "b" }, documented("GET", "/api/{session}/auth/qr").schema).length > 0);
});

test("WAHA flavour: session endpoint responses match the spec in every status", async () => {
  const sim = await startSim({ flavor: "waha", timings: { firstQrMs: 600000 } });
  try {
    const created = await waha(sim, "/api/sessions", { method: "POST", body: { name: "oas", start: false, config: { metadata: { "user.id": "1" } } } });
    assertConforms(created, "POST", "/api/sessions");
    assertConforms(await waha(sim, "/api/sessions/oas"), "GET", "/api/sessions/{session}", "info STOPPED");
    assertConforms(await waha(sim, "/api/sessions/oas/start", { method: "POST" }), "POST", "/api/sessions/{session}/start");
    assertConforms(await waha(sim, "/api/sessions/oas"), "GET", "/api/sessions/{session}", "info STARTING");
    await waitStatus(sim, "oas", "SCAN_QR_CODE");
    assertConforms(await waha(sim, "/api/sessions/oas"), "GET", "/api/sessions/{session}", "info SCAN_QR_CODE");
    assertConforms(await waha(sim, "/api/oas/auth/qr?format=raw"), "GET", "/api/{session}/auth/qr", "qr raw");
    assertConforms(await waha(sim, "/api/oas/auth/qr", { headers: { accept: "application/json" } }), "GET", "/api/{session}/auth/qr", "qr json");
    const code = await waha(sim, "/api/oas/auth/request-code", { method: "POST", body: { phoneNumber: "12132132130" } });
    assert.equal(code.status, documented("POST", "/api/{session}/auth/request-code").status);
    await control(sim, "/instances/oas/scan", { jid: "12132132130@c.us" });
    const info = await waha(sim, "/api/sessions/oas");
    assertConforms(info, "GET", "/api/sessions/{session}", "info WORKING");
    assert.equal(info.json.me.id, "12132132130@c.us");
    assertConforms(await waha(sim, "/api/sessions/oas/me"), "GET", "/api/sessions/{session}/me");
    assertConforms(await waha(sim, "/api/sessions?all=true"), "GET", "/api/sessions");
    const sent = await waha(sim, "/api/sendText", { method: "POST", body: { session: "oas", chatId: "15550001111@c.us", text: "hi" } });
    assertConforms(sent, "POST", "/api/sendText");
    assertConforms(await waha(sim, "/api/sessions/oas/restart", { method: "POST" }), "POST", "/api/sessions/{session}/restart");
    await waitStatus(sim, "oas", "WORKING");
    await control(sim, "/instances/oas/fail", {});
    assertConforms(await waha(sim, "/api/sessions/oas"), "GET", "/api/sessions/{session}", "info FAILED");
    assertConforms(await waha(sim, "/api/sessions/oas/logout", { method: "POST" }), "POST", "/api/sessions/{session}/logout");
    assertConforms(await waha(sim, "/api/sessions/oas/stop", { method: "POST" }), "POST", "/api/sessions/{session}/stop");
    const deleted = await waha(sim, "/api/sessions/oas", { method: "DELETE" });
    assert.equal(deleted.status, documented("DELETE", "/api/sessions/{session}").status);
  } finally {
    await sim.close();
  }
});

test("session.status webhook bodies match WAHAWebhookSessionStatus (both flavours)", async () => {
  const schema = { $ref: "#/components/schemas/WAHAWebhookSessionStatus" };
  for (const flavor of ["waha", "wawp"]) {
    const receiver = await startReceiver();
    const sim = await startSim({ flavor, webhooks: [{ url: receiver.url, shape: "waha" }] });
    try {
      const { instance_id: id } = await control(sim, "/instances", {});
      await control(sim, `/instances/${id}/fail`, {});
      const paired = await control(sim, "/instances", { status: "SCAN_QR_CODE" });
      await control(sim, `/instances/${paired.instance_id}/scan`, { jid: "15550009999@c.us" });
      await waitFor("events", () => receiver.received.length >= 3); // FAILED, SCAN_QR_CODE, WORKING
      for (const { json } of receiver.received) assert.deepEqual(validate(json, schema), [], `${flavor}: ${JSON.stringify(json)}`);
      assert.ok(receiver.received.some((r) => r.json.me?.id === "15550009999@c.us"));
    } finally {
      await sim.close();
      await receiver.close();
    }
  }
});
