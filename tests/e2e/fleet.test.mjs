// The fleet page end to end with 1,000 instances: simulator → edge worker (workerd) → registry →
// www/serve.mjs's /backend/fleet → Debian's Chromium. Paging, filter, search, sort, live updates,
// the bulk retry behind a confirmation, and the click into the single-instance page. The page
// never holds the admin token.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { startStack } from "../../www/stack.mjs";
import { accessibilityProblems, eventually, launchBrowser, openPage, screenshot } from "./browser.mjs";

const INSTANCES = 1000;
const CREATE_CONCURRENCY = 16;

let stack;
let browser;
let page;
let pageProblems;
/** @type {{instanceId: string, sessionName: string}[]} */
const created = [];
const pageRequests = [];

async function createOnEdge() {
  const res = await fetch(`${stack.edgeUrl}/instances/create`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
    body: "{}",
  });
  assert.equal(res.status, 201);
  return res.json();
}

before(async () => {
  stack = await startStack({
    env: {},
    speed: 10,
    simulator: { maxInstances: INSTANCES + 10 },
    // FAILED stays FAILED (no auto-heal) until the bulk retry; creates are not the limit here.
    edgeEnv: { CREATE_RATE_PER_HOUR: String(INSTANCES * 2), MAX_AUTO_RESTARTS: "0" },
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: CREATE_CONCURRENCY }, async () => {
      while (next < INSTANCES) {
        next += 1;
        created.push(await createOnEdge());
      }
    }),
  );
  browser = await launchBrowser();
  ({ page, problems: pageProblems } = await openPage(browser, `${stack.url}/fleet.html`));
  page.on("request", (request) => pageRequests.push({ url: request.url(), headers: request.headers() }));
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

const rows = () => page.$$eval("#fleet-rows tr", (trs) => trs.map((tr) => tr.dataset.instance));
const info = () => page.textContent("#page-info");
const chip = (status) => page.textContent(`#status-filters [data-status="${status}"]`).catch(() => null);

test("1,000 instances, one page of 100 at a time", async () => {
  await page.waitForSelector("#fleet-rows tr");
  await eventually(async () => (await info()) === "1–100 of 1,000", { what: "the first page" });
  assert.equal((await rows()).length, 100, "paged: 100 rows in the DOM, not 1,000");
  assert.equal(await chip("ALL"), "All (1,000)");
  assert.equal(await chip("STOPPED"), "STOPPED (1,000)");
  const sorted = created.map((c) => c.instanceId).sort();
  assert.deepEqual(await rows(), sorted.slice(0, 100), "sorted by id");
  const first = await page.$eval("#fleet-rows tr", (tr) => ({
    badge: tr.querySelector(".badge")?.textContent,
    status: tr.querySelector(".badge")?.getAttribute("data-status"),
    action: tr.querySelectorAll("td")[1].textContent,
    server: tr.querySelectorAll("td")[2].textContent,
    since: tr.querySelector("time")?.textContent,
  }));
  assert.equal(first.status, "STOPPED");
  assert.match(first.action, /action: start/);
  assert.match(first.server, /\S/);
  assert.match(first.since, /ago$/);
  await screenshot(page, "fleet-01-first-page");
  assert.deepEqual(await accessibilityProblems(page), []);

  await page.click("#page-next");
  await eventually(async () => (await info()) === "101–200 of 1,000", { what: "the second page" });
  assert.deepEqual(await rows(), sorted.slice(100, 200));
  await page.click("#page-prev");
  await eventually(async () => (await info()) === "1–100 of 1,000", { what: "back to the first page" });
});

test("search by id or session name, sort descending", async () => {
  const target = created[437];
  await page.fill("#fleet-search", target.instanceId);
  await eventually(async () => JSON.stringify(await rows()) === JSON.stringify([target.instanceId]), { what: "search by id" });
  await page.fill("#fleet-search", target.sessionName);
  await eventually(async () => JSON.stringify(await rows()) === JSON.stringify([target.instanceId]), { what: "search by session name" });
  await page.fill("#fleet-search", "");
  await page.selectOption("#fleet-order", "desc");
  const descending = created.map((c) => c.instanceId).sort().reverse();
  await eventually(async () => (await rows())[0] === descending[0], { what: "descending order" });
  assert.deepEqual(await rows(), descending.slice(0, 100));
  await page.selectOption("#fleet-order", "asc");
});

test("live: FAILED instances show up without a reload; the status filter lists them with their notification", async () => {
  const failing = created.slice(0, 3).map((c) => c.instanceId);
  for (const id of failing) await stack.sim.post(`/instances/${id}/fail`);
  await eventually(async () => (await chip("FAILED")) === "FAILED (3)", { timeoutMs: 15_000, what: "the FAILED chip" });
  await page.click('#status-filters [data-status="FAILED"]');
  await eventually(async () => (await rows()).length === 3, { what: "the FAILED filter" });
  assert.deepEqual((await rows()).sort(), [...failing].sort());
  const cells = await page.$$eval("#fleet-rows tr", (trs) =>
    trs.map((tr) => ({ status: tr.dataset.status, notification: tr.lastElementChild?.textContent })),
  );
  // MAX_AUTO_RESTARTS=0: the machine reports the failure and, at once, that it will not restart.
  for (const c of cells) {
    assert.equal(c.status, "FAILED");
    assert.match(c.notification, /^(failed|restart budget exhausted)$/);
  }
  assert.equal(await page.textContent("#retry-failed"), "Retry failed (3)");
  await screenshot(page, "fleet-02-failed");
});

test("bulk retry asks first; confirmed, it restarts every FAILED instance", async () => {
  const restarts = async () => (await stack.sim.get("/log")).requests.filter((r) => r.op === "restart").length;
  const before = await restarts();
  await page.click("#retry-failed");
  await page.waitForSelector("#retry-dialog[open]");
  assert.match(await page.textContent("#retry-text"), /restarts 3 FAILED instances/);
  await screenshot(page, "fleet-03-confirm");
  await page.click('#retry-dialog button[value="cancel"]');
  await page.waitForSelector("#retry-dialog:not([open])", { state: "attached" });
  assert.equal(await restarts(), before, "cancel restarts nothing");

  await page.click("#retry-failed");
  await page.waitForSelector("#retry-dialog[open]");
  await page.click("#retry-confirm");
  await eventually(async () => /Retried 3 instance/.test(await page.textContent("#fleet-result")), { what: "the retry result" });
  assert.equal(await restarts(), before + 3);
  await eventually(async () => (await chip("FAILED")) === "FAILED (0)", { timeoutMs: 15_000, what: "no FAILED left" });
});

test("a click opens the single-instance page; the page never saw the admin token", async () => {
  await page.click('#status-filters [data-status="ALL"]');
  await eventually(async () => (await info()) === "1–100 of 1,000", { what: "all instances again" });
  const target = (await rows())[5];
  await page.click(`#fleet-rows tr[data-instance="${target}"] a`);
  await page.waitForURL((url) => url.pathname === "/" && url.searchParams.get("instance") === target);
  await eventually(async () => (await page.textContent("#instance-line")) === `Instance ${target}`, { what: "the instance page" });
  await eventually(async () => (await page.getAttribute("#status-badge", "data-status")) !== "NONE", { what: "its status" });
  for (const request of pageRequests) {
    assert.ok(!request.url.includes(stack.adminToken), `admin token in ${request.url}`);
    for (const value of Object.values(request.headers)) assert.ok(!value.includes(stack.adminToken), `admin token in a header of ${request.url}`);
  }
  assert.ok(pageRequests.some((r) => new URL(r.url).pathname === "/backend/fleet"), "the page read the fleet through the backend");
  assert.deepEqual(pageProblems, []);
});

test("the demo backend's /backend/metrics passes the edge's Prometheus text through", async () => {
  const res = await fetch(`${stack.url}/backend/metrics`);
  assert.equal(res.status, 200);
  const families = parsePrometheusTextFormat(await res.text());
  const instances = families.find((f) => f.name === "wawp_instances");
  const total = instances.metrics.reduce((sum, m) => sum + Number(m.value), 0);
  assert.equal(total, INSTANCES);
  const restarts = families.find((f) => f.name === "wawp_instance_restarts_total");
  assert.ok(Number(restarts.metrics[0].value) >= 3, "the bulk retry's restarts are counted");
  // The demo backend only proxies: without it the edge refuses the same call.
  assert.equal((await fetch(`${stack.edgeUrl}/metrics`)).status, 401);
});
