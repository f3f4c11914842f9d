// www/serve.mjs on its own: static files and MIME types, path confinement, the /api and /sim
// proxies (prefix rewriting, bodies, status codes) and unbuffered Server-Sent Events.
// The upstream here is a plain loopback server that records what reached it: the subject under
// test is the proxy, not the edge worker (dashboard.test.mjs runs the real one).
import assert from "node:assert/strict";
import { mkdir, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startDashboard } from "../../www/serve.mjs";

const PKG_PROBE_DIR = path.resolve(fileURLToPath(import.meta.url), "../../../pkg/dist/e2e-serve-probe");

let upstream;
let upstreamUrl;
const seen = [];
let releaseSecondEvent;

function rawGet(baseUrl, rawPath) {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(baseUrl);
    http.get({ hostname, port, path: rawPath }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    }).on("error", reject);
  });
}

before(async () => {
  upstream = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    seen.push({ method: req.method, url: req.url, body, contentType: req.headers["content-type"] ?? null, authorization: req.headers.authorization ?? null });
    // The edge's admin routes, as the demo's operator backend calls them.
    if (req.method === "POST" && req.url === "/instances/create") {
      res.writeHead(201, { "content-type": "application/json" });
      return res.end(JSON.stringify({ instanceId: "inst-1", serverName: "srv", sessionName: "sess" }));
    }
    if (req.method === "POST" && req.url?.endsWith("/tokens")) {
      res.writeHead(201, { "content-type": "application/json" });
      return res.end(JSON.stringify({ token: `token-of-${req.url.split("/")[2]}`, expiresAt: 1_900_000_000_000, scopes: JSON.parse(body).scopes }));
    }
    if (req.url?.endsWith("/events")) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"n":1}\n\n');
      // The second event is held back until the test has seen the first one through the proxy.
      releaseSecondEvent = () => res.end('data: {"n":2}\n\n');
      return;
    }
    res.writeHead(req.url?.startsWith("/missing") ? 404 : 200, { "content-type": "application/json", "x-upstream": "yes" });
    res.end(JSON.stringify({ path: req.url }));
  });
  await new Promise((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;
  await mkdir(PKG_PROBE_DIR, { recursive: true });
  await writeFile(path.join(PKG_PROBE_DIR, "probe.wasm"), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
});

after(async () => {
  await rm(PKG_PROBE_DIR, { recursive: true, force: true });
  await new Promise((resolve) => {
    upstream.close(resolve);
    upstream.closeAllConnections();
  });
});

test("serves the page with the right MIME types and keeps reads inside www/ and pkg/", async () => {
  const dash = await startDashboard({ port: 0, edgeUrl: upstreamUrl });
  try {
    assert.match(dash.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const types = {};
    for (const file of ["/", "/app.js", "/style.css", "/favicon.svg", "/pkg/dist/e2e-serve-probe/probe.wasm"]) {
      const res = await fetch(dash.url + file);
      assert.equal(res.status, 200, file);
      types[file] = res.headers.get("content-type");
      await res.arrayBuffer();
    }
    assert.deepEqual(types, {
      "/": "text/html; charset=utf-8",
      "/app.js": "text/javascript; charset=utf-8",
      "/style.css": "text/css; charset=utf-8",
      "/favicon.svg": "image/svg+xml",
      "/pkg/dist/e2e-serve-probe/probe.wasm": "application/wasm",
    });
    // Raw paths: fetch() would normalise the dot segments away before they reach the server.
    // Cargo.toml exists only at the repository root, outside both served folders.
    for (const escape of ["/../Cargo.toml", "/..%2fCargo.toml", "/%2e%2e/%2e%2e/Cargo.toml",
      "/pkg/../../Cargo.toml", "/pkg/..%2f..%2fCargo.toml", "/serve.mjs", "/stack.mjs"]) {
      const { status, body } = await rawGet(dash.url, escape);
      assert.ok(status === 404 || status === 400, `${escape} → ${status}`);
      assert.doesNotMatch(body, /\[package\]|startDashboard/, escape);
    }
    const config = await (await fetch(`${dash.url}/config.json`)).json();
    assert.deepEqual(config, { mode: "real", backend: "edge", timingScale: 1 });
    const sim = await fetch(`${dash.url}/sim/faults`);
    assert.equal(sim.status, 404, "no simulator proxy in real mode");
    await sim.arrayBuffer();
  } finally {
    await dash.close();
  }
});

test("proxies /api/* and /sim/* with prefixes rewritten, bodies and statuses intact", async () => {
  const dash = await startDashboard({ port: 0, edgeUrl: upstreamUrl, simUrl: upstreamUrl, timingScale: 10 });
  try {
    seen.length = 0;
    const created = await fetch(`${dash.url}/api/instances/create?x=1`, {
      method: "POST", headers: { "content-type": "application/json" }, body: '{"a":1}',
    });
    assert.equal(created.status, 200);
    assert.equal(created.headers.get("x-upstream"), "yes");
    assert.deepEqual(await created.json(), { path: "/instances/create?x=1" });
    const missing = await fetch(`${dash.url}/api/missing`);
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
    const fault = await fetch(`${dash.url}/sim/faults`, { method: "POST", body: '{"hangStarting":true}' });
    assert.deepEqual(await fault.json(), { path: "/__sim/faults" });
    assert.deepEqual(seen.map(({ method, url, body }) => ({ method, url, body })), [
      { method: "POST", url: "/instances/create?x=1", body: '{"a":1}' },
      { method: "GET", url: "/missing", body: "" },
      { method: "POST", url: "/__sim/faults", body: '{"hangStarting":true}' },
    ]);
    assert.deepEqual(await (await fetch(`${dash.url}/config.json`)).json(), { mode: "simulator", backend: "edge", timingScale: 10 });
    const upstream = await fetch(`${dash.url}/upstream/v2/session/info`);
    assert.equal(upstream.status, 404, "the API itself is not exposed when an edge worker runs");
    await upstream.arrayBuffer();
  } finally {
    await dash.close();
  }
});

test("the operator backend: the admin token goes to the edge only; the page gets instance tokens; /api adds nothing", async () => {
  const adminToken = "serve-test-admin-token-2c9f81";
  const dash = await startDashboard({ port: 0, edgeUrl: upstreamUrl, adminToken });
  try {
    seen.length = 0;
    const created = await fetch(`${dash.url}/backend/instances`, { method: "POST", body: '{"expectedJid":"1555@c.us"}' });
    assert.equal(created.status, 201);
    const createdText = await created.text();
    assert.deepEqual(JSON.parse(createdText), {
      instanceId: "inst-1", serverName: "srv", sessionName: "sess", token: "token-of-inst-1", expiresAt: 1_900_000_000_000,
      scopes: ["view", "send", "link", "control"],
    });
    const minted = await fetch(`${dash.url}/backend/instances/other%2Did/token`, { method: "POST" });
    assert.equal(minted.status, 201);
    const mintedText = await minted.text();
    await fetch(`${dash.url}/api/instances/inst-1`, { headers: { authorization: "Bearer token-of-inst-1" } }).then((r) => r.arrayBuffer());
    await fetch(`${dash.url}/api/instances/inst-1`).then((r) => r.arrayBuffer());
    assert.deepEqual(seen.map(({ method, url, body, authorization }) => ({ method, url, body, authorization })), [
      { method: "POST", url: "/instances/create", body: '{"expectedJid":"1555@c.us"}', authorization: `Bearer ${adminToken}` },
      { method: "POST", url: "/instances/inst-1/tokens", body: '{"scopes":["view","send","link","control"]}', authorization: `Bearer ${adminToken}` },
      { method: "POST", url: "/instances/other-id/tokens", body: '{"scopes":["view","send","link","control"]}', authorization: `Bearer ${adminToken}` },
      { method: "GET", url: "/instances/inst-1", body: "", authorization: "Bearer token-of-inst-1" },
      { method: "GET", url: "/instances/inst-1", body: "", authorization: null },
    ]);
    for (const text of [createdText, mintedText, await (await fetch(`${dash.url}/config.json`)).text()]) {
      assert.ok(!text.includes(adminToken));
    }
    const wrong = await fetch(`${dash.url}/backend/instances/x/token`, { method: "GET" });
    assert.equal(wrong.status, 405);
    await wrong.arrayBuffer();
  } finally {
    await dash.close();
  }
  const withoutBackend = await startDashboard({ port: 0, edgeUrl: upstreamUrl });
  try {
    const none = await fetch(`${withoutBackend.url}/backend/instances`, { method: "POST" });
    assert.equal(none.status, 404);
    await none.arrayBuffer();
  } finally {
    await withoutBackend.close();
  }
});

test("streams Server-Sent Events through without buffering", async () => {
  const dash = await startDashboard({ port: 0, edgeUrl: upstreamUrl });
  try {
    const res = await fetch(`${dash.url}/api/instances/x/events`);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = "";
    // The upstream has sent only the first event; it must arrive while the stream is still open.
    while (!text.includes('{"n":1}')) {
      const { value, done } = await reader.read();
      assert.equal(done, false, "the stream ended before the first event arrived");
      text += decoder.decode(value, { stream: true });
    }
    assert.doesNotMatch(text, /"n":2/);
    releaseSecondEvent();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    assert.equal(text, 'data: {"n":1}\n\ndata: {"n":2}\n\n');
  } finally {
    await dash.close();
  }
});

test("answers 502 with a JSON error when the edge worker is down", async () => {
  const dead = http.createServer();
  await new Promise((resolve) => dead.listen(0, "127.0.0.1", resolve));
  const deadUrl = `http://127.0.0.1:${dead.address().port}`;
  await new Promise((resolve) => dead.close(resolve));
  const dash = await startDashboard({ port: 0, edgeUrl: deadUrl });
  try {
    const res = await fetch(`${dash.url}/api/instances/x`);
    assert.equal(res.status, 502);
    assert.equal((await res.json()).error.code, "upstream_unreachable");
  } finally {
    await dash.close();
  }
});
