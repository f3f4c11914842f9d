// Direct mode in Chromium: no edge worker; the page loads the package's browser build (wasm
// included) from /pkg/ and its SessionSupervisor drives the simulator through /upstream/.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startStack } from "../../www/stack.mjs";
import { launchBrowser, openPage, screenshot } from "./browser.mjs";

const SPEED = 20;
const SIM_TIMINGS = { startingMs: 16_000, firstQrMs: 40_000, nextQrMs: 20_000, qrCount: 12, restartStopMs: 500 };

let stack;
let browser;
let page;
let problems;

const visible = (selector) => page.waitForSelector(selector, { state: "visible", timeout: 15_000 });

before(async () => {
  stack = await startStack({ env: {}, speed: SPEED, direct: true, simulator: { timings: SIM_TIMINGS } });
  browser = await launchBrowser();
  ({ page, problems } = await openPage(browser, stack.url));
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

test("refuses direct mode with real credentials: the token would reach the browser", async () => {
  await assert.rejects(startStack({ env: { WAWP_ACCESS_TOKEN: "t0k3n-value" }, direct: true }), /simulator only/);
});

test("the package in the page links, connects, sends on start and recovers, with no edge worker", async () => {
  assert.equal(stack.edgeUrl, null);
  const status = await fetch(`${stack.url}/api/instances/x`);
  assert.equal(status.status, 404, "no worker behind /api");
  await status.arrayBuffer();

  await page.fill("#expected-phone", "15551234567");
  await page.click("#connect");
  await visible("#qr-image");
  assert.equal(await page.textContent("#link-chip"), "package in page");
  const instanceId = new URL(page.url()).searchParams.get("instance");
  await page.click("#sim-scan");
  await visible("#panel-connected");
  await page.waitForSelector('#identity[data-verdict="match"]');
  assert.equal(await page.textContent("#account-number"), "+15551234567");

  await page.click("#power-off");
  await visible("#power-on");
  const text = `direct start-on-send ${Date.now()}`;
  await page.fill("#send-text", text);
  await page.click("#send-button");
  await page.waitForSelector(`#messages li:has-text("${text}")[data-state="sent"]`, { timeout: 15_000 });
  await visible("#panel-connected");
  const deliveries = (await stack.sim.get("/log")).deliveries.filter((d) => d.text === text);
  assert.equal(deliveries.length, 1, "delivered exactly once");
  assert.equal(deliveries[0].instanceId, instanceId);

  await page.click("#sim-fail");
  await visible("#retry");
  await page.click("#retry").catch(() => {}); // the supervisor's own delayed restart may come first
  await visible("#panel-connected");
  await page.waitForSelector("#timeline [data-status='FAILED']");
  await screenshot(page, "20-direct-mode");
  assert.deepEqual(problems.filter((p) => p.startsWith("pageerror")), []);
});
