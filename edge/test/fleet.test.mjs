#!/usr/bin/env node
// Fleet operations in real workerd against the simulator (60×): the instance registry
// (`GET /instances` paging, filters, search, sort), the bulk retry, `GET /metrics` read by a real
// Prometheus text parser, admin-only access, and no upstream orphan when an adopt fails.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { startEdge } from "../dev.mjs";
import {
  ADMIN_TOKEN,
  call,
  edgeEnv,
  signedStatusEvent,
  startSim,
  startStack,
  waitFor,
  closeAll,
} from "../test-harness.mjs";

let sim;
let edge;
const created = [];

before(async () => {
  ({ sim, edge } = await startStack({
    // No automatic restart: a FAILED instance stays FAILED until the bulk retry.
    env: { CREATE_RATE_PER_HOUR: "1000", MAX_AUTO_RESTARTS: "0" },
  }));
  for (let i = 0; i < 5; i++) {
    const response = await call(edge.url, "POST", "/instances/create", {});
    assert.equal(response.status, 201, JSON.stringify(response.body));
    created.push(response.body);
  }
});

after(async () => {
  await closeAll(edge, sim);
});

async function list(query = "") {
  const response = await call(edge.url, "GET", `/instances${query}`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

async function metrics() {
  const response = await fetch(`${edge.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(await response.text());
  return Object.fromEntries(families.map((family) => [family.name, family]));
}

function sample(family, labels = {}) {
  const found = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return found ? Number(found.value) : 0;
}

test("every create is one registry row with the ids the API gave; pages, filters and search work", async () => {
  const all = await list();
  assert.equal(all.total, 5);
  assert.deepEqual(all.counts, { STOPPED: 5 });
  const simList = (await call(sim.url, "GET", "/__sim/instances")).body;
  for (const c of created) {
    const row = all.instances.find((r) => r.instanceId === c.instanceId);
    assert.ok(row, `${c.instanceId} is listed`);
    const upstream = simList.find((s) => s.instance_id === c.instanceId);
    assert.equal(row.serverName, upstream.server_name);
    assert.equal(row.sessionName, upstream.session_name);
    assert.equal(row.status, "STOPPED");
    assert.equal(row.uiAction, "start");
    assert.equal(row.openNotification, null);
  }

  // Keyset paging: 2 + 2 + 1, no row twice, none missing, in id order.
  const seen = [];
  let cursor = null;
  let pages = 0;
  do {
    const page = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    assert.ok(page.instances.length <= 2);
    seen.push(...page.instances.map((r) => r.instanceId));
    cursor = page.nextCursor;
    pages += 1;
  } while (cursor && pages < 10);
  assert.equal(pages, 3);
  assert.deepEqual(seen, created.map((c) => c.instanceId).sort());

  const descending = await list("?sort=id&order=desc");
  assert.deepEqual(descending.instances.map((r) => r.instanceId), [...seen].reverse());

  const byName = await list(`?q=${encodeURIComponent(created[2].sessionName)}`);
  assert.deepEqual(byName.instances.map((r) => r.instanceId), [created[2].instanceId]);
  const byId = await list(`?q=${created[3].instanceId.slice(2, 9)}`);
  assert.ok(byId.instances.some((r) => r.instanceId === created[3].instanceId));
  assert.equal((await list("?status=WORKING")).total, 0);

  for (const bad of ["?limit=0", "?limit=501", "?sort=nope", "?status=bad;status", "?cursor=xyz"]) {
    assert.equal((await call(edge.url, "GET", `/instances${bad}`)).status, 400, bad);
  }
});

test("a status change and its notification reach the row; the bulk retry restarts every FAILED instance once a minute", async () => {
  const [a, b] = created;
  for (const c of [a, b]) await call(sim.url, "POST", `/__sim/instances/${c.instanceId}/fail`);
  const failed = await waitFor("both rows FAILED", async () => {
    const page = await list("?status=FAILED");
    return page.total === 2 ? page : false;
  });
  for (const row of failed.instances) {
    assert.equal(row.uiAction, "troubleshoot");
    assert.ok(row.sinceMs > 0);
    assert.ok(row.openNotification, "FAILED raised a notification");
  }
  assert.equal(failed.counts.FAILED, 2);

  const retried = await call(edge.url, "POST", "/instances/retry-failed", {});
  assert.equal(retried.status, 200, JSON.stringify(retried.body));
  assert.deepEqual({ ...retried.body }, { retried: 2, errors: [], remaining: 0 });
  await waitFor("no row FAILED", async () => (await list("?status=FAILED")).total === 0);
  const restarts = (await call(sim.url, "GET", "/__sim/log")).body.requests.filter(
    (r) => r.op === "restart" && [a.instanceId, b.instanceId].includes(r.instanceId),
  );
  assert.equal(restarts.length, 2, "one restart call per FAILED instance");

  const again = await call(edge.url, "POST", "/instances/retry-failed", {});
  assert.equal(again.status, 429);
  assert.ok(Number(again.headers.get("retry-after")) >= 1);
});

test("/metrics parses as Prometheus text: instances by status, restarts, notifications, refused webhooks, alarm lag", async () => {
  // A forged webhook is refused and counted.
  const forged = signedStatusEvent({ instanceId: created[4].instanceId, sessionName: created[4].sessionName, status: "WORKING", id: "evt_forged", timestamp: Date.now(), secret: "wrong-secret-000000" });
  const refused = await fetch(`${edge.url}/webhook`, { method: "POST", headers: forged.headers, body: forged.body });
  assert.equal(refused.status, 401);

  const m = await waitFor("counters flushed", async () => {
    const parsed = await metrics();
    const ok = sample(parsed.wawp_webhook_verification_failures_total, { code: "bad_signature" }) >= 1 &&
      sample(parsed.wawp_instance_restarts_total) >= 2 && Number(parsed.wawp_alarm_lag_seconds?.metrics[0]?.count) >= 1;
    return ok ? parsed : false;
  });
  assert.equal(m.wawp_instances.type, "GAUGE");
  const byStatus = Object.fromEntries(m.wawp_instances.metrics.map((s) => [s.labels.status, Number(s.value)]));
  const page = await list();
  assert.deepEqual(byStatus, page.counts, "the gauge agrees with the registry");
  assert.equal(Object.values(byStatus).reduce((x, y) => x + y, 0), 5);
  assert.equal(m.wawp_instance_restarts_total.type, "COUNTER");
  assert.ok(sample(m.wawp_admin_notifications_total, { reason: "failed" }) >= 2);
  assert.ok(sample(m.wawp_webhook_events_total) >= 2, "the FAILED webhooks were handled by the instances");
  assert.equal(m.wawp_alarm_lag_seconds.type, "HISTOGRAM");
  const histogram = m.wawp_alarm_lag_seconds.metrics[0];
  assert.ok(Number(histogram.count) >= 1, "alarms fired (reconciliation, FAILED handling) and their lag was observed");
  assert.equal(Number(histogram.buckets["+Inf"]), Number(histogram.count));
  assert.ok(Number(histogram.sum) >= 0);
  assert.ok("wawp_sends_total" in m);
});

test("the fleet routes are admin only", async () => {
  const minted = await call(edge.url, "POST", `/instances/${created[0].instanceId}/tokens`, {});
  const instanceToken = { authorization: `Bearer ${minted.body.token}` };
  for (const [method, path] of [["GET", "/instances"], ["POST", "/instances/retry-failed"], ["GET", "/metrics"]]) {
    assert.equal((await call(edge.url, method, path, undefined, { authorization: null })).status, 401, `${method} ${path} without a token`);
    assert.equal((await call(edge.url, method, path, undefined, instanceToken)).status, 403, `${method} ${path} with an instance token`);
  }
  // Never in the URL: the admin token as a query parameter is no credential.
  assert.equal((await call(edge.url, "GET", `/metrics?access_token=${ADMIN_TOKEN}`, undefined, { authorization: null })).status, 401);
});

test("delete removes the row", async () => {
  const gone = created[4].instanceId;
  assert.equal((await call(edge.url, "DELETE", `/instances/${gone}`)).status, 200);
  await waitFor("the row to go", async () => !(await list()).instances.some((r) => r.instanceId === gone));
});

test("a failed adopt leaves no orphan: retried once, then the new upstream instance is deleted", async () => {
  for (const [fault, expectCreated] of [["always", false], ["once", true]]) {
    const faultSim = await startSim();
    const faultEdge = await startEdge({ env: edgeEnv(faultSim, { TEST_ADOPT_FAULT: fault }) });
    try {
      const attempts = [];
      for (let i = 0; i < 3; i++) attempts.push(await call(faultEdge.url, "POST", "/instances/create", {}));
      const upstream = (await call(faultSim.url, "GET", "/__sim/instances")).body;
      const rows = (await call(faultEdge.url, "GET", "/instances")).body;
      const creates = (await call(faultSim.url, "GET", "/__sim/log")).body.requests.filter((r) => r.op === "create");
      assert.equal(creates.length, 3, `${fault}: three upstream creates`);
      if (expectCreated) {
        assert.deepEqual(attempts.map((a) => a.status), [201, 201, 201], `${fault}: the retried adopt succeeds`);
        assert.equal(upstream.length, 3);
        assert.deepEqual(rows.instances.map((r) => r.instanceId).sort(), upstream.map((u) => u.instance_id).sort());
      } else {
        assert.deepEqual(attempts.map((a) => a.status), [502, 502, 502]);
        assert.match(attempts[0].body.error.message, /deleted upstream/);
        assert.equal(upstream.length, 0, "0 orphans upstream");
        assert.equal(rows.total, 0);
      }
    } finally {
      await faultEdge.close();
      await faultSim.close();
    }
  }
});
