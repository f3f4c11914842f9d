// Every WAHA-flavour operation of the built client against Prism (npm @stoplight/prism-cli,
// pinned) serving WAHA's published OpenAPI spec (tests/fixtures/, patched as its README says).
// Prism validates each request against the spec: it must report zero request violations.
// Prism's example answers are not always schema-valid (sendText's WAMessage example is not), so
// the answers are checked only for what the client makes of them, never trusted blindly.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { pkg } from "../js/helpers.mjs";

const { WawpClient } = pkg;
const repo = fileURLToPath(new URL("../../", import.meta.url));
const SPEC = fileURLToPath(new URL("../fixtures/waha-openapi-2026.7.1.patched.json", import.meta.url));
const API_KEY = "prism-key-PEERS";
const STATUSES = ["STOPPED", "STARTING", "SCAN_QR_CODE", "WORKING", "FAILED"];

let prism;
let output = "";
/** Every answer Prism gave: {method, url, status, contentType, violations}. */
const answers = [];

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

before(async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ["node_modules/.bin/prism", "mock", "--errors", "-h", "127.0.0.1", "-p", String(port), SPEC], {
    cwd: repo,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  prism = { url: `http://127.0.0.1:${port}`, close: () => (child.exitCode === null ? (child.kill("SIGTERM"), exited) : exited) };
  const deadline = Date.now() + 60_000;
  while (!output.includes("Prism is listening")) {
    if (child.exitCode !== null) assert.fail(`Prism exited: ${output.slice(-2000)}`);
    if (Date.now() > deadline) assert.fail(`Prism did not start within 60 s: ${output.slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

after(() => prism?.close());

/** fetch that records what Prism answered, including its `sl-violations` header. */
async function recordingFetch(url, init) {
  const response = await fetch(url, init);
  const header = response.headers.get("sl-violations");
  answers.push({
    method: init.method,
    url: String(url),
    status: response.status,
    contentType: response.headers.get("content-type"),
    violations: header ? JSON.parse(header) : [],
  });
  return response;
}

const requestViolationLines = () => output.split("\n").filter((line) => line.includes("Request did not pass the validation rules"));
const client = (opts = {}) =>
  new WawpClient({ accessToken: API_KEY, flavor: "waha", baseUrl: prism.url, retry: false, fetch: recordingFetch, ...opts });

async function outcome(promise) {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

test("every WAHA operation is a request the spec accepts, and valid answers mean what they should", async () => {
  for (const session of [undefined, "sales-01"]) {
    const c = client({ session });
    const name = session ?? "default";
    const results = {};
    for (const [op, args] of [
      ["create", []],
      ["start", []],
      ["stop", []],
      ["restart", []],
      ["logout", []],
      ["info", []],
      ["me", []],
      ["qr", []],
      ["qrImage", []],
      ["requestCode", ["+1 213 213-2130"]],
      ["sendText", ["12132132130", "hello from the client ✓"]],
      ["delete", []],
    ]) {
      results[op] = await outcome(c[op](...args));
    }
    // The request side: Prism found nothing to object to, in its log and in its answers.
    assert.deepEqual(requestViolationLines(), [], `Prism request violations (session ${name})`);
    for (const answer of answers) {
      assert.deepEqual(answer.violations.filter((v) => v.location[0] === "request"), [], `${answer.method} ${answer.url}`);
      assert.ok(![400, 401, 404, 405, 415, 422].includes(answer.status), `${answer.method} ${answer.url} → ${answer.status} ${answer.contentType}`);
    }
    assert.ok(answers.every((a) => a.url.startsWith(prism.url) && !a.url.includes(API_KEY)), "the key travels in X-Api-Key, never in the URL");

    // What the client makes of the answers.
    assert.equal(results.create.value?.instanceId, "default", "create: Prism's SessionDTO example names `default`");
    for (const op of ["start", "stop", "restart", "logout"]) {
      assert.ok(STATUSES.includes(results[op].value?.status), `${op}: ${JSON.stringify(results[op])}`);
    }
    assert.ok(STATUSES.includes(results.info.value?.status), "info");
    assert.match(results.me.value?.id ?? "", /@c\.us$/, "me");
    assert.equal(results.delete.value, null, "delete: 200 with an empty body");
    assert.match(results.qrImage.value?.qr ?? "", /^data:[^;,]+;base64,/, "qrImage");
    // Prism's placeholders are not a QR value, and an empty 201 holds no pairing code: the client
    // says so instead of inventing one.
    assert.equal(results.qr.error?.code, "invalid_payload", "qr");
    assert.equal(results.requestCode.error?.code, "invalid_payload", "requestCode");
    // Prism's own WAMessage example breaks the schema, so with --errors it answers 500: the
    // client reports a server error, never a success.
    const sendAnswer = answers.find((a) => a.url.endsWith("/api/sendText"));
    assert.ok(sendAnswer.violations.every((v) => v.location[0] === "response"), JSON.stringify(sendAnswer.violations));
    if (sendAnswer.status >= 500) assert.equal(results.sendText.error?.code, "server", "sendText");
    else assert.ok(results.sendText.value?.id, "sendText");
    answers.length = 0;
  }
});

test("the check can fail: a request that breaks the spec is reported by Prism", async () => {
  const before = requestViolationLines().length;
  const response = await fetch(`${prism.url}/api/sendText`, {
    method: "POST",
    headers: { "x-api-key": API_KEY, "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ session: "default", chatId: 12132132130, text: "hi" }),
  });
  assert.equal(response.status, 422);
  const unauthenticated = await fetch(`${prism.url}/api/sessions/default`);
  assert.equal(unauthenticated.status, 401);
  for (let i = 0; i < 100 && requestViolationLines().length < before + 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(requestViolationLines().length, before + 2);
});
