// The React example app (examples/react/) built by Vite for production and served by `vite preview`
// with its operator backend (examples/react/operator.mjs), on the real stack: simulator → edge worker
// in workerd → the app in Debian's Chromium. The test plays the operator's backend: it creates the
// instance and, when the edge has an admin token, mints the instance token the page gets.
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { build, preview } from "vite";
import { startStack } from "../../www/stack.mjs";
import { exampleSession, operatorBackend } from "../../examples/react/operator.mjs";
import { eventually, launchBrowser, openPage, screenshot } from "./browser.mjs";

const CONFIG = fileURLToPath(new URL("../../examples/react/vite.config.js", import.meta.url));
const SPEED = 20;
const SIM_TIMINGS = { startingMs: 16_000, firstQrMs: 40_000, nextQrMs: 20_000, qrCount: 12, restartStopMs: 500 };
const JID = "15551234567@c.us";

let stack;
let outDir;
let server;
let browser;
let page;
let problems;
/** The instance the backend gave the page. */
let instanceId;

const visible = (selector) => page.waitForSelector(selector, { state: "visible", timeout: 15_000 });
const status = () => page.getAttribute("#status", "data-status");
const simLog = () => stack.sim.get("/log");

before(async () => {
  stack = await startStack({ env: {}, speed: SPEED, simulator: { timings: SIM_TIMINGS } });
  outDir = await mkdtemp(path.join(os.tmpdir(), "wawp-react-example-"));
  await build({ configFile: CONFIG, logLevel: "warn", build: { outDir, emptyOutDir: true } });
  const backend = exampleSession({ edgeUrl: stack.edgeUrl, adminToken: stack.adminToken, expectedJid: JID });
  const session = async () => {
    const answer = await backend();
    instanceId = answer.instanceId;
    return answer;
  };
  server = await preview({
    configFile: CONFIG,
    logLevel: "warn",
    build: { outDir },
    preview: { host: "127.0.0.1", port: 0, strictPort: false },
    plugins: [operatorBackend({ edgeUrl: stack.edgeUrl, session })],
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await stack?.close();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

test("the production build emits the package's wasm as an asset", async () => {
  const assets = await readdir(path.join(outDir, "assets"));
  assert.ok(assets.some((name) => name.endsWith(".wasm")), `no .wasm asset: ${assets}`);
});

test("STOPPED → Power On → QR → simulated scan → Connected, live over the event stream", async () => {
  ({ page, problems } = await openPage(browser, server.resolvedUrls.local[0]));
  await visible("#power-on");
  assert.equal(await status(), "STOPPED");
  assert.equal(await page.textContent("#status"), "Stopped");
  await page.waitForSelector('#connection:text("live")', { timeout: 15_000 });
  await screenshot(page, "react-01-stopped");

  await page.click("#power-on");
  await visible("#connecting");
  const qr = await visible("#qr");
  assert.match(await qr.getAttribute("src"), /^data:image\/png;base64,/);
  assert.equal(await page.textContent("#status"), "Waiting for scan");
  await screenshot(page, "react-02-qr");

  assert.ok(instanceId, "the backend handed out an instance");
  await stack.sim.post(`/instances/${encodeURIComponent(instanceId)}/scan`, { jid: JID });
  await visible("#connected");
  assert.equal(await status(), "WORKING");
  await eventually(async () => (await page.textContent("#account")) === JID, { what: "the account" });
  await page.waitForSelector('#identity[data-verdict="match"]');
  await screenshot(page, "react-03-connected");
});

test("a message sent while STOPPED starts the session and is delivered exactly once", async () => {
  await page.click("#power-off");
  await visible("#power-on");
  const text = `react example start-on-send ${Date.now()}`;
  await page.fill("#text", text);
  await page.click('#send button[type="submit"]');
  const item = `#messages li:has-text("${text}")`;
  await visible(item);
  await page.waitForSelector(`${item}[data-state="sent"]`, { timeout: 20_000 });
  await visible("#connected");
  assert.equal(await status(), "WORKING");
  await screenshot(page, "react-04-sent-after-start");

  const delivered = async () => (await simLog()).deliveries.filter((d) => d.text === text);
  assert.equal((await delivered()).length, 1);
  await new Promise((resolve) => setTimeout(resolve, 1500)); // a late duplicate would show up here
  assert.equal((await delivered()).length, 1, "delivered exactly once");
  assert.equal((await delivered())[0].instanceId, instanceId);
  assert.deepEqual(problems, [], "no page errors");
});
