// The dashboard end to end, on the real stack: the simulator (fast clock), the edge worker in
// workerd (same TIMING_SCALE), www/serve.mjs and Debian's Chromium. One session is walked through
// its whole lifecycle in order; every state is saved as a screenshot in test-results/e2e/.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { verifyInstanceToken } from "../../pkg/src/entry-node.js";
import { startStack } from "../../www/stack.mjs";
import { accessibilityProblems, eventually, launchBrowser, openPage, screenshot } from "./browser.mjs";

// 20× real time: the 60 s STARTING watchdog fires after 3 s of wall time. The simulator's start
// takes 16 s of model time (0.8 s here) so the page's "Connecting…" state is observable.
const SPEED = 20;
const SIM_TIMINGS = { startingMs: 16_000, firstQrMs: 40_000, nextQrMs: 20_000, qrCount: 12, restartStopMs: 500 };
const SCANNING_JID = "15551234567@c.us";

let stack;
let browser;
let page;
let pageProblems;
let instanceId;
/** Every request the page made: URL and Authorization header. */
const pageRequests = [];

const visible = (selector) => page.waitForSelector(selector, { state: "visible", timeout: 15_000 });
const badge = () => page.textContent("#status-badge");
const simLog = () => stack.sim.get("/log");

before(async () => {
  stack = await startStack({ env: {}, speed: SPEED, simulator: { timings: SIM_TIMINGS } });
  browser = await launchBrowser();
  ({ page, problems: pageProblems } = await openPage(browser, stack.url));
  page.on("request", (request) => pageRequests.push({ url: request.url(), authorization: request.headers().authorization ?? null }));
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

test("a fresh visitor provisions an instance lazily; the warm boot takes it to the QR code", async () => {
  await visible("#connect");
  assert.equal(await page.textContent("#connect"), "Connect WhatsApp");
  assert.equal(await badge(), "Not connected");
  assert.equal(await page.isVisible("#sim-card"), false);
  await screenshot(page, "01-no-instance");
  assert.deepEqual(await accessibilityProblems(page), []);

  await page.fill("#expected-phone", "+1 555 123 4567"); // turns on the identity check
  await page.click("#connect");
  await visible("#panel-connecting");
  assert.equal(await badge(), "Starting");
  await screenshot(page, "02-connecting");

  await visible("#qr-image");
  assert.equal(await badge(), "Waiting for scan");
  instanceId = new URL(page.url()).searchParams.get("instance");
  assert.ok(instanceId, "the instance id is in the URL");
  assert.equal(await page.evaluate(() => localStorage.getItem("wawp-session.instanceId")), instanceId);
  const firstQr = await page.getAttribute("#qr-image", "src");
  assert.match(firstQr, /^data:image\/png;base64,/);
  await screenshot(page, "03-qr");
  assert.deepEqual(await accessibilityProblems(page), []);

  // The alternative to scanning: an 8-character code to type on the phone.
  await page.click(".pairing summary");
  await page.fill("#pairing-phone", "+1 (555) 123-4567");
  await page.keyboard.press("Enter");
  await page.waitForSelector(".pairing-code");
  assert.match(await page.textContent(".pairing-code"), /^[A-Z0-9]{4}-?[A-Z0-9]{4}$/);

  // Nothing can be sent before the account is linked: the message is refused with its reason.
  const early = `before linking ${Date.now()}`;
  await page.fill("#send-text", early);
  await page.click("#send-button");
  await page.waitForSelector(`#messages li:has-text("${early}")[data-state="rejected"]`, { timeout: 15_000 });
  const reason = await page.textContent(`#messages li:has-text("${early}") .pill`);
  assert.match(reason, /^Rejected: link the phone first/, `the reason is shown: ${reason}`);

  // WhatsApp rotates the code; the page must replace it, not keep showing a dead one.
  await eventually(async () => (await page.getAttribute("#qr-image", "src")) !== firstQr, { what: "a rotated QR code" });
  const ops = (await simLog()).requests.filter((r) => r.instanceId === instanceId).map((r) => r.op);
  assert.ok(ops.includes("create") && ops.includes("start"), `create then start reached the API: ${ops}`);
  assert.ok(ops.filter((op) => op === "qr-image").length >= 2, "the QR image was fetched again after rotating");
});

test("Power On works from the keyboard alone: Connecting → QR → simulated scan → Connected", async () => {
  await page.click("#power-off");
  await visible("#power-on");
  assert.equal(await badge(), "Stopped");
  await screenshot(page, "04-stopped");

  await page.evaluate(() => /** @type {HTMLElement} */ (document.activeElement)?.blur());
  let focused = "";
  for (let presses = 0; presses < 20 && focused !== "power-on"; presses += 1) {
    await page.keyboard.press("Tab");
    focused = await page.evaluate(() => document.activeElement?.id ?? "");
  }
  assert.equal(focused, "power-on", "Tab reaches the Power On button");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none", "the focused button shows a focus ring");
  await page.keyboard.press("Enter");

  await visible("#panel-connecting");
  await visible("#qr-image");
  assert.equal(await page.inputValue("#sim-jid"), SCANNING_JID, "the simulator scans with the expected number");
  await page.click("#sim-scan");
  await visible("#panel-connected");
  assert.equal(await badge(), "Connected");
  await eventually(async () => (await page.textContent("#account-number")) === "+15551234567", { what: "the account number" });
  await page.waitForSelector('#identity[data-verdict="match"]');
  assert.match(await page.textContent("#status-live"), /Connected/);
  await screenshot(page, "05-connected");
  assert.deepEqual(await accessibilityProblems(page), []);
});

test("a message sent while STOPPED starts the session and is delivered exactly once", async () => {
  await page.click("#power-off");
  await visible("#power-on");
  const text = `start-on-send ${Date.now()}`;
  await page.fill("#send-text", text);
  await page.click("#send-button");

  const item = `#messages li:has-text("${text}")`;
  await visible(item);
  await page.waitForSelector(`${item}[data-state="sent"]`, { timeout: 15_000 });
  await visible("#panel-connected");
  await screenshot(page, "06-sent-after-start");

  const deliveredOnce = async () => (await simLog()).deliveries.filter((d) => d.text === text);
  assert.equal((await deliveredOnce()).length, 1);
  // Late duplicates (a retried POST, a second drain) would show up here.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const deliveries = await deliveredOnce();
  assert.equal(deliveries.length, 1, "delivered exactly once");
  assert.equal(deliveries[0].instanceId, instanceId);
  const starts = (await simLog()).requests.filter((r) => r.instanceId === instanceId && r.op === "start");
  assert.ok(starts.length >= 3, "the send itself started the session (third start of this instance)");
});

test("FAILED shows Troubleshoot with the administrator notification; Retry brings it back", async () => {
  const before = (await simLog()).requests.length;
  await page.click("#sim-fail");
  await visible("#retry");
  assert.equal(await badge(), "Failed");
  await visible(".alert-admin");
  assert.match(await page.textContent(".alert-admin"), /Administrator notified/);
  await screenshot(page, "07-failed");
  assert.deepEqual(await accessibilityProblems(page), []);
  await page.click("#retry").catch(() => {}); // the machine's own delayed restart may have won the race
  await visible("#panel-connected");
  const recovery = (await simLog()).requests.slice(before).filter((r) => r.instanceId === instanceId);
  assert.ok(recovery.some((r) => r.op === "restart"), "recovery went through restart (the guide's first step)");
  await screenshot(page, "08-recovered");
});

test("a stuck STARTING is restarted by the watchdog and the page shows it", async (t) => {
  t.after(() => stack.sim.post("/faults", { hangStarting: false })); // even when an assertion failed
  await page.click("#sim-hang");
  await page.waitForSelector('#sim-hang[aria-pressed="true"]');
  assert.equal((await stack.sim.get("/faults")).hangStarting, true);
  await page.click("#power-off");
  await visible("#power-on");
  const before = (await simLog()).requests.length;
  await page.click("#power-on");
  await visible("#panel-connecting");
  await screenshot(page, "09-starting-hung");

  await visible("#watchdog-restarts");
  assert.match(await page.textContent("#watchdog-restarts"), /watchdog restarted/i);
  await visible('#timeline [data-restart="watchdog"]');
  const restarts = (await simLog()).requests.slice(before).filter((r) => r.instanceId === instanceId && r.op === "restart");
  assert.ok(restarts.length >= 1, "the watchdog called restart");
  await screenshot(page, "10-watchdog-restarted");

  await page.click("#sim-hang");
  await page.waitForSelector('#sim-hang[aria-pressed="false"]');
  await visible("#panel-connected");
  assert.notEqual(await page.textContent("#m-restarts"), "0");
  await screenshot(page, "11-recovered-after-watchdog");
});

test("readable at phone width (360 px): no sideways scrolling", async () => {
  const narrow = await openPage(browser, `${stack.url}/?instance=${encodeURIComponent(instanceId)}`, { width: 360, height: 780 });
  try {
    await narrow.page.waitForSelector("#panel-connected", { state: "visible", timeout: 15_000 });
    const overflow = await narrow.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    await screenshot(narrow.page, "12-phone-width");
    assert.deepEqual(await accessibilityProblems(narrow.page), []);
    assert.deepEqual(narrow.problems.filter((p) => p.startsWith("pageerror")), []);
  } finally {
    await narrow.page.close();
  }
});

test("when the event stream is unavailable the page falls back to polling and still follows the session", async () => {
  const polling = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  try {
    // Chromium refuses the SSE endpoint, as a proxy that strips event streams would.
    await polling.route(/\/events(\?|$)/, (route) => route.abort("connectionrefused")); // the token rides in the query
    await polling.goto(`${stack.url}/?instance=${encodeURIComponent(instanceId)}`);
    await polling.waitForSelector("#panel-connected", { state: "visible", timeout: 15_000 });
    await polling.waitForSelector('#link-chip[data-link="polling"]', { timeout: 15_000 });
    // A change made elsewhere (the live page) reaches the polling page...
    await page.click("#power-off");
    await polling.waitForSelector("#power-on", { state: "visible", timeout: 15_000 });
    // ...and a change made on the polling page reaches the live one.
    await polling.click("#power-on");
    await polling.waitForSelector("#panel-connected", { state: "visible", timeout: 15_000 });
    await visible("#panel-connected");
  } finally {
    await polling.close();
  }
});

test("Logout and Delete ask for confirmation first", async () => {
  await page.click("#logout");
  await visible("#confirm-dialog");
  await screenshot(page, "13-confirm-logout");
  await page.keyboard.press("Escape");
  assert.equal(await page.isVisible("#confirm-dialog"), false);
  assert.equal(await badge(), "Connected", "cancel keeps the session");

  await page.click("#logout");
  await page.click("#confirm-ok");
  await visible("#qr-image");

  await page.click("#delete");
  await page.click("#confirm-ok");
  await visible("#connect");
  assert.equal(new URL(page.url()).searchParams.get("instance"), null);
  const ops = (await simLog()).requests.filter((r) => r.instanceId === instanceId).map((r) => r.op);
  assert.ok(ops.includes("logout") && ops.includes("delete"), `${ops}`);
  assert.deepEqual(pageProblems.filter((p) => p.startsWith("pageerror")), []);
});

test("a bookmarked instance that no longer exists offers to create a new one", async () => {
  await page.goto(`${stack.url}/?instance=${encodeURIComponent(instanceId)}`);
  await visible("#connect");
  assert.equal(await page.textContent("#connect"), "Create instance");
  assert.equal(await badge(), "Deleted");
  await screenshot(page, "14-deleted");
  await page.click("#connect");
  await visible("#qr-image");
  const fresh = new URL(page.url()).searchParams.get("instance");
  assert.ok(fresh && fresh !== instanceId, "a new instance replaced the deleted one");
});

test("the page worked with instance tokens only: never the admin token, no /api call without a token", async () => {
  const apiCalls = pageRequests.filter((r) => new URL(r.url).pathname.startsWith("/api/instances/"));
  assert.ok(apiCalls.length > 20, `${apiCalls.length} calls`);
  const seen = JSON.stringify(pageRequests) + (await page.content()) +
    JSON.stringify(await page.evaluate(() => ({ ...localStorage, ...sessionStorage })));
  assert.ok(!seen.includes(stack.adminToken), "the admin token reached the page");
  const tokens = new Set();
  for (const call of apiCalls) {
    const url = new URL(call.url);
    const token = call.authorization?.replace(/^Bearer /, "") ?? url.searchParams.get("access_token");
    assert.ok(token, `${url.pathname} went out without a token`);
    if (url.searchParams.has("access_token")) assert.match(url.pathname, /\/events$/, "only the event stream carries its token in the URL");
    tokens.add(`${decodeURIComponent(url.pathname.split("/")[3])} ${token}`);
  }
  for (const entry of tokens) {
    const [id, token] = entry.split(" ");
    // Each one an instance token (minted by the demo's backend) bound to the instance it was used for.
    const claims = await verifyInstanceToken(token, { adminToken: stack.adminToken, instanceId: id });
    assert.deepEqual(claims.scopes, ["view", "send", "link", "control"]);
  }
  const bare = await fetch(`${stack.url}/api/instances/${encodeURIComponent(instanceId)}`);
  assert.equal(bare.status, 401, "the proxy adds no credential of its own");
  await bare.arrayBuffer();
});
