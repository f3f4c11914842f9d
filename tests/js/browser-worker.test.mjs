// The JS drivers in a real browser Web Worker (headless Chromium): the package's web entry with
// `init()`, WawpClient over Chromium's fetch against a same-origin scripted API, the browser's
// bare "Failed to fetch" TypeError treated as "maybe delivered" (sendText not retried, info
// retried), and verifyWebhook on Chromium's WebCrypto with WAHA's documented vector.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { extname, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { closedPort, startLocalServer } from "./helpers.mjs";

const PKG_ROOT = fileURLToPath(new URL("../../pkg/", import.meta.url));
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
const TOKEN = "browser-SENTINEL-token";
const closers = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

const WORKER = (deadPort) => `
import { init, WawpClient, WawpError, verifyWebhook, parseWebhooks } from "/pkg/src/entry-web.js";
const out = { scope: typeof window === "undefined" ? "worker" : "window" };
try {
  await init();
  const base = self.location.origin + "/api";
  const client = new WawpClient({ accessToken: ${JSON.stringify(TOKEN)}, instanceId: "3EB0BCB2E3D4", baseUrl: base,
    retry: { baseMs: 10, capMs: 20, maxAttempts: 2, seed: 1 } });
  out.info = (await client.info()).status;
  try { await client.sendText("1@c.us", "x"); } catch (e) { out.send5xx = [e instanceof WawpError, e.code]; }

  let calls = 0;
  const countingFetch = (url, init) => { calls++; return fetch(url, init); };
  const dead = new WawpClient({ accessToken: ${JSON.stringify(TOKEN)}, instanceId: "X", baseUrl: "http://127.0.0.1:${deadPort}",
    retry: { baseMs: 10, capMs: 20, maxAttempts: 2, seed: 1 }, fetch: countingFetch });
  try { await dead.sendText("1@c.us", "x"); } catch (e) { out.deadSend = [e.code, calls, String(e.message).includes(${JSON.stringify(TOKEN)})]; }
  calls = 0;
  try { await dead.info(); } catch (e) { out.deadInfo = [e.code, calls]; }

  const body = '{"event":"message","session":"default","engine":"WEBJS"}';
  const digest = "208f8a55dde9e05519e898b10b89bf0d0b3b0fdf11fdbf09b6b90476301b98d8097c462b2b17a6ce93b6b47a136cf2e78a33a63f6752c2c1631777076153fa89";
  out.vector = await verifyWebhook(body, new Headers({ "X-Webhook-Hmac": digest }), "my-secret-key");
  out.wrong = await verifyWebhook(body + " ", { "x-webhook-hmac": digest }, "my-secret-key");
  const events = await parseWebhooks('[{"event":"session.status","session":"s","payload":{"status":"WORKING"}}]');
  out.parsed = events[0].report.status;
} catch (e) {
  out.error = String(e && e.stack || e);
}
postMessage(out);
`;

test("WawpClient and webhooks in a Chromium Web Worker", { timeout: 60_000 }, async () => {
  const deadPort = await closedPort();
  const site = await startLocalServer(async (req, body, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/") return res.writeHead(200, { "Content-Type": "text/html" }).end("<!doctype html><title>w</title>");
    if (path === "/worker.js") return res.writeHead(200, { "Content-Type": "text/javascript" }).end(WORKER(deadPort));
    if (path === "/api/v2/session/info") return res.writeHead(200, { "Content-Type": "application/json" }).end('{"status":"WORKING"}');
    // A 502: the send may have gone out (a 503 says it was not taken, and is retried).
    if (path === "/api/v2/send/text") return res.writeHead(502, { "Content-Type": "text/html" }).end("<h1>bad gateway</h1>");
    if (path.startsWith("/pkg/")) {
      const file = normalize(PKG_ROOT + path.slice("/pkg/".length));
      if (!file.startsWith(PKG_ROOT)) return res.writeHead(403).end();
      try {
        return res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" }).end(await readFile(file));
      } catch {
        return res.writeHead(404).end();
      }
    }
    res.writeHead(404).end();
  });
  closers.push(site.close);
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-quic"],
  });
  closers.push(() => browser.close());
  const page = await browser.newPage();
  await page.goto(site.url);
  const out = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const worker = new Worker("/worker.js", { type: "module" });
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => resolve({ error: e.message });
      }),
  );
  assert.equal(out.error, undefined, out.error);
  assert.equal(out.scope, "worker");
  assert.equal(out.info, "WORKING");
  assert.deepEqual(out.send5xx, [true, "server"]);
  assert.deepEqual(out.deadSend, ["network", 1, false], "a browser TypeError may have delivered: sendText not retried");
  assert.deepEqual(out.deadInfo, ["network", 3], "an idempotent call retries it");
  assert.equal(out.vector, true);
  assert.equal(out.wrong, false);
  assert.equal(out.parsed, "WORKING");
  const sends = site.requests.filter((r) => r.url.pathname === "/api/v2/send/text");
  assert.equal(sends.length, 1, "the 5xx send was not repeated");
  assert.equal(sends[0].url.searchParams.get("access_token"), TOKEN);
});
