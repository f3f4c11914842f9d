// `scripts/demo.mjs`, the README's main command (after setup + build), as a user runs it: a child
// process that prints the URL, serves a working dashboard and stops cleanly on SIGTERM. Once with
// the built-in simulator, once in "real API" mode pointed at a separately started simulator.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { startSimulator } from "../../sim/server.mjs";
import { backendFromEnv } from "../../www/stack.mjs";
import { eventually } from "./browser.mjs";

const DEMO = path.resolve(fileURLToPath(import.meta.url), "../../../scripts/demo.mjs");
const CREDENTIAL_VARS = ["WAWP_ACCESS_TOKEN", "WAWP_INSTANCE_ID", "WAWP_BASE_URL", "WAHA_URL", "WAHA_API_KEY", "WAHA_SESSION"];

/** Starts the demo on a free port; resolves once it printed its "ready" line. */
function runDemo(extraEnv) {
  const env = { ...process.env, DEMO_PORT: "0", DEMO_SPEED: "20", ...extraEnv };
  for (const name of CREDENTIAL_VARS) if (!(name in extraEnv)) delete env[name];
  const child = spawn(process.execPath, [DEMO], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo not ready after 30 s:\n${output}`)), 30_000);
    child.stdout.on("data", () => {
      if (output.includes("Ctrl-C stops everything")) {
        clearTimeout(timer);
        resolve();
      }
    });
    exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`demo exited early:\n${output}`));
    });
  });
  return { child, ready, exited, output: () => output };
}

async function stopDemo(demo) {
  if (demo.child.exitCode === null) demo.child.kill("SIGTERM");
  const result = await demo.exited;
  assert.equal(result.code, 0, `clean exit after SIGTERM:\n${demo.output()}`);
  assert.match(demo.output(), /SIGTERM: stopping/);
}

const getJson = async (url, init) => {
  const res = await fetch(url, init);
  assert.ok(res.ok, `${init?.method ?? "GET"} ${url} → ${res.status}`);
  return res.json();
};

/** What the page does: an instance token from the demo's backend, then /api with it. */
async function pageToken(url, instanceId) {
  const { token } = await getJson(`${url}/backend/instances/${encodeURIComponent(instanceId)}/token`, { method: "POST" });
  return { authorization: `Bearer ${token}` };
}

test("backend choice: simulator by default, Wawp with a token, WAHA with URL + key; secrets never described", () => {
  assert.equal(backendFromEnv({}).mode, "simulator");
  const wawp = backendFromEnv({ WAWP_ACCESS_TOKEN: "tok-secret-1", WAWP_INSTANCE_ID: "ABC123" });
  assert.deepEqual([wawp.mode, wawp.instanceId, wawp.edgeEnv.WAWP_BASE_URL, wawp.edgeEnv.TIMING_SCALE],
    ["real", "ABC123", "https://api.wawp.net", "1"]);
  const waha = backendFromEnv({ WAHA_URL: "http://127.0.0.1:3000", WAHA_API_KEY: "key-secret-2" });
  assert.deepEqual([waha.mode, waha.instanceId, waha.edgeEnv.WAWP_FLAVOR, waha.edgeEnv.WAHA_SESSION],
    ["real", "default", "waha", "default"]);
  assert.equal(backendFromEnv({ WAHA_URL: "http://127.0.0.1:3000" }).mode, "simulator", "a URL without a key is not enough");
  assert.doesNotMatch(wawp.describe + waha.describe, /secret/);
});

test("npm run demo (simulator): prints the URL, the linked instance warm-boots to Connected, SIGTERM stops it", async () => {
  const demo = runDemo({});
  try {
    await demo.ready;
    const url = /dashboard → (http:\/\/127\.0\.0\.1:\d+)\//.exec(demo.output())?.[1];
    assert.ok(url, demo.output());
    const instanceId = /\?instance=([A-Za-z0-9_.-]+)/.exec(demo.output())?.[1];
    assert.ok(instanceId, "the pre-linked instance is printed");
    assert.match(await (await fetch(`${url}/`)).text(), /<title>WhatsApp session/);
    assert.deepEqual(await getJson(`${url}/config.json`), { mode: "simulator", backend: "edge", timingScale: 20 });
    const refused = await fetch(`${url}/api/instances/${instanceId}/warm-boot`, { method: "POST" });
    assert.equal(refused.status, 401, "the edge worker is not open: the proxy adds no credential");
    await refused.arrayBuffer();
    const headers = await pageToken(url, instanceId);
    const booted = await getJson(`${url}/api/instances/${instanceId}/warm-boot`, { method: "POST", headers });
    assert.ok(["STARTING", "WORKING"].includes(booted.status), `warm boot started the STOPPED session: ${booted.status}`);
    await eventually(async () => (await getJson(`${url}/api/instances/${instanceId}`, { headers })).status === "WORKING",
      { what: "the pre-linked instance to connect without a QR" });
  } finally {
    await stopDemo(demo);
  }
});

test("with WAWP_ACCESS_TOKEN the demo drives that API (no simulator of its own, real timings)", async () => {
  // Stands in for api.wawp.net: the demo must treat it as an external API.
  const api = await startSimulator({ port: 0, speed: 20, seed: 7, token: "external-token", flavor: "wawp" });
  const demo = runDemo({ WAWP_ACCESS_TOKEN: "external-token", WAWP_BASE_URL: api.url, WAWP_INSTANCE_ID: "" });
  try {
    await demo.ready;
    assert.doesNotMatch(demo.output(), /external-token/, "the token is never printed");
    const url = /dashboard → (http:\/\/127\.0\.0\.1:\d+)\//.exec(demo.output())?.[1];
    assert.match(demo.output(), new RegExp(`backend: Wawp API at ${api.url.replaceAll(".", "\\.")}`));
    assert.deepEqual(await getJson(`${url}/config.json`), { mode: "real", backend: "edge", timingScale: 1 });
    for (const file of ["/", "/app.js", "/config.json"]) {
      assert.doesNotMatch(await (await fetch(url + file)).text(), /external-token/, `${file} never carries the token`);
    }
    const simProxy = await fetch(`${url}/sim/faults`);
    assert.equal(simProxy.status, 404, "no simulator controls in real mode");
    await simProxy.arrayBuffer();
    const created = await getJson(`${url}/backend/instances`, { method: "POST" });
    assert.equal(typeof created.token, "string");
    const booted = await getJson(`${url}/api/instances/${created.instanceId}/warm-boot`, {
      method: "POST",
      headers: { authorization: `Bearer ${created.token}` },
    });
    assert.equal(booted.instanceId, created.instanceId);
    const calls = await getJson(`${api.url}/__sim/log`);
    const ops = calls.requests.filter((r) => r.instanceId === created.instanceId).map((r) => r.op);
    assert.ok(ops.includes("create") && ops.includes("info") && ops.includes("start"), `the external API was driven: ${ops}`);
  } finally {
    try {
      await stopDemo(demo);
    } finally {
      await api.close();
    }
  }
});
