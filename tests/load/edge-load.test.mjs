// Load with faults: the edge worker in real workerd (startEdge) and the simulator on 127.0.0.1,
// under bounded load (a fixed request budget AND a hard time limit, LOAD_SECONDS, default 60)
// while the simulator injects 429 bursts, a 5xx rate, latency and webhook chaos (drop, duplicate,
// delay, reorder) and a recorder replays captured signed webhooks into the worker. Sends go to
// several instances, some while STOPPED / STARTING / FAILED. At the end:
//   - zero lost sends: every send the worker accepted (202) ends `sent` or `rejected` with a code,
//     every refused one carries an error code;
//   - zero duplicate deliveries: every text at most once in the simulator's delivery log, and each
//     `sent` message delivered exactly once under the message id the worker stored;
//   - zero double starts: no two lifecycle calls (start / restart) for one instance overlapping in
//     the simulator's request log (received time .. answered time);
// and it prints p50 / p99 of the worker's HTTP answer latency. Auth is on as in production: every
// call of the load carries its instance's token (minted by the worker; verified on every request);
// the send rate limit is raised out of the way (abuse-limits.test.mjs tests it).

import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { startSimulator } from "../../sim/server.mjs";
import { startEdge } from "../../edge/dev.mjs";

const LOAD_SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
/** The request budget: the load stops at whichever comes first, this or LOAD_SECONDS. */
const MAX_SENDS = Math.max(20, Math.round(LOAD_SECONDS * 12));
const MAX_READS = Math.max(20, Math.round(LOAD_SECONDS * 12));
const CONCURRENCY = 6;
const INSTANCES = 6;
const SPEED = 60;
const TOKEN = "load-test-token-3e9b";
const WEBHOOK_SECRET = "load-test-webhook-secret-a71c";
const ADMIN_TOKEN = "load-test-admin-token-0d5f2b77";
/** Instance id → its instance token (all scopes); the admin token for anything else. */
const instanceTokens = new Map();
/** Settling after the load (faults off) is bounded too. */
const SETTLE_MS = 45_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every answer of the worker: [ms, status] (for percentiles and the error-code check). */
const latencies = [];

/** The credential a caller of `path` would hold: the instance's own token, else the admin token. */
function authFor(path) {
  const id = /^\/instances\/([^/]+)/.exec(path)?.[1];
  if (id === undefined) return {};
  return { authorization: `Bearer ${instanceTokens.get(id) ?? ADMIN_TOKEN}` };
}

async function call(base, method, path, body, headers = {}) {
  const started = performance.now();
  const withAuth = { ...authFor(path), ...headers };
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? withAuth : { "content-type": "application/json", ...withAuth },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, ms: performance.now() - started };
}

/** A call to the worker, timed. */
async function edgeCall(edge, method, path, body, headers) {
  const answer = await call(edge.url, method, path, body, headers);
  latencies.push(answer.ms);
  return answer;
}

/** Records every webhook the simulator delivers to it (body + signature headers), for replays. */
async function startRecorder() {
  const recorded = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const headers = {};
      for (const name of ["content-type", "x-webhook-hmac", "x-webhook-hmac-algorithm", "x-wawp-signature"]) {
        if (req.headers[name] !== undefined) headers[name] = String(req.headers[name]);
      }
      recorded.push({ body: Buffer.concat(chunks).toString("utf8"), headers });
      res.writeHead(200).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    recorded,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

test(`edge under ${LOAD_SECONDS} s of bounded load with API and webhook faults: nothing lost, duplicated or started twice`, { timeout: (LOAD_SECONDS + 150) * 1000 }, async () => {
  const sim = await startSimulator({ port: 0, speed: SPEED, seed: 17, token: TOKEN, flavor: "wawp", maxLogEntries: 500_000, maxInstances: 50 });
  const recorder = await startRecorder();
  let edge;
  try {
    edge = await startEdge({
      port: 0,
      env: {
        WAWP_BASE_URL: sim.url, WAWP_ACCESS_TOKEN: TOKEN, WAWP_FLAVOR: "wawp", WEBHOOK_SECRET, TIMING_SCALE: String(SPEED),
        ADMIN_TOKEN, SEND_RATE_PER_MINUTE: "100000",
      },
    });
    await call(sim.url, "POST", "/__sim/webhooks", { url: `${edge.url}/webhook`, shape: "waha", hmacKey: WEBHOOK_SECRET });
    await call(sim.url, "POST", "/__sim/webhooks", { url: recorder.url, shape: "waha", hmacKey: WEBHOOK_SECRET });

    // Paired instances: half start WORKING (warm boot), half stay STOPPED until a send starts them.
    const ids = [];
    for (let i = 0; i < INSTANCES; i++) {
      const jid = `1555000${2000 + i}@c.us`;
      const created = await call(sim.url, "POST", "/__sim/instances", { paired: true, jid, status: "STOPPED" });
      ids.push(created.body.instance_id);
      const minted = await call(edge.url, "POST", `/instances/${created.body.instance_id}/tokens`, {});
      assert.equal(minted.status, 201);
      instanceTokens.set(created.body.instance_id, minted.body.token);
      const boot = await edgeCall(edge, "POST", `/instances/${created.body.instance_id}/${i % 2 === 0 ? "warm-boot" : "stop"}`);
      assert.ok(boot.status < 300, JSON.stringify(boot.body));
    }

    await call(sim.url, "POST", "/__sim/faults", {
      burst429: { count: 4, retryAfterS: 1 },
      rate5xx: 0.08,
      latencyMs: 30,
      webhookDrop: 0.15,
      webhookDuplicate: 0.2,
      webhookDelayMs: 300,
      webhookReorder: true,
    });

    const deadline = Date.now() + LOAD_SECONDS * 1000;
    let failed = false;
    const running = () => !failed && Date.now() < deadline;
    /** A loop that fails stops every other loop at once (nothing keeps running after the test). */
    const guarded = (loop) => loop().catch((err) => {
      failed = true;
      throw err;
    });
    const answeredStates = {};
    const accepted = new Map(); // message id → {instanceId, text}
    const refused = []; // {status, code}
    let sends = 0;
    let reads = 0;
    let replays = 0;
    let disruptions = 0;

    // Disruptions: stop an instance through the worker (so the next sends find it STOPPED and
    // start it), fail one in the simulator (auto-heal), and fresh 429 bursts.
    const disrupt = async () => {
      let round = 0;
      while (running()) {
        await sleep(Math.min(4000, LOAD_SECONDS * 100));
        if (!running()) break;
        const id = ids[round % ids.length];
        if (round % 3 === 0) await edgeCall(edge, "POST", `/instances/${id}/stop`);
        else if (round % 3 === 1) await call(sim.url, "POST", `/__sim/instances/${id}/fail`).catch(() => {});
        else await call(sim.url, "POST", "/__sim/faults", { burst429: { count: 4, retryAfterS: 1 } });
        disruptions += 1;
        round += 1;
      }
    };

    // Replays: captured, correctly signed webhooks sent again (duplicates, old statuses).
    const replay = async () => {
      while (running()) {
        await sleep(500);
        for (let k = 0; k < 3 && recorder.recorded.length > 0 && running(); k++) {
          const { body, headers } = recorder.recorded[Math.floor(Math.random() * recorder.recorded.length)];
          const answer = await edgeCall(edge, "POST", "/webhook", body, headers);
          assert.ok(answer.status === 202 || answer.body?.error?.code, `webhook replay → ${answer.status}`);
          replays += 1;
        }
      }
    };

    const worker = async (w) => {
      while (running() && (sends < MAX_SENDS || reads < MAX_READS)) {
        const id = ids[(sends + reads + w) % ids.length];
        if (sends < MAX_SENDS && (reads >= MAX_READS || (sends + reads) % 2 === 0)) {
          const n = sends++;
          const text = `load ${n} via ${w}`;
          const answer = await edgeCall(edge, "POST", `/instances/${id}/send`, { chatId: `1666${String(n).padStart(6, "0")}@c.us`, text });
          if (answer.status === 202) {
            accepted.set(answer.body.id, { instanceId: id, text });
            answeredStates[answer.body.state] = (answeredStates[answer.body.state] ?? 0) + 1;
          }
          else {
            assert.ok(typeof answer.body?.error?.code === "string", `refused send without a code: ${answer.status} ${JSON.stringify(answer.body)}`);
            refused.push({ status: answer.status, code: answer.body.error.code });
          }
        } else {
          reads += 1;
          const answer = await edgeCall(edge, "GET", reads % 2 ? `/instances/${id}` : `/instances/${id}/messages`);
          assert.equal(answer.status, 200);
        }
        await sleep(20);
      }
    };

    const loadStarted = Date.now();
    await Promise.all([guarded(disrupt), guarded(replay), ...Array.from({ length: CONCURRENCY }, (_, w) => guarded(() => worker(w)))]);
    const loadMs = Date.now() - loadStarted;

    // Faults off; every accepted send must reach a final state within the settle budget.
    await call(sim.url, "POST", "/__sim/faults", { burst429: null, rate5xx: 0, latencyMs: 0, webhookDrop: 0, webhookDuplicate: 0, webhookDelayMs: 0, webhookReorder: false });
    const settleDeadline = Date.now() + SETTLE_MS;
    let rows = new Map();
    for (;;) {
      rows = new Map();
      for (const id of ids) {
        const listed = await call(edge.url, "GET", `/instances/${id}/messages`);
        for (const row of listed.body) rows.set(row.id, row);
      }
      const open = [...accepted.keys()].filter((id) => !["sent", "rejected"].includes(rows.get(id)?.state));
      if (open.length === 0) break;
      if (Date.now() > settleDeadline) assert.fail(`${open.length} accepted sends never settled: ${JSON.stringify(open.slice(0, 5).map((id) => rows.get(id)))}`);
      await sleep(250);
    }
    await sleep(500); // a late duplicate delivery would show up now

    // Zero lost sends.
    let sent = 0;
    const rejectedCodes = {};
    for (const [id, { text }] of accepted) {
      const row = rows.get(id);
      assert.ok(row, `accepted send ${id} (${text}) is missing from the worker`);
      assert.equal(row.text, text);
      if (row.state === "sent") sent += 1;
      else {
        assert.ok(typeof row.code === "string" && row.code.length > 0, `rejected without a code: ${JSON.stringify(row)}`);
        rejectedCodes[row.code] = (rejectedCodes[row.code] ?? 0) + 1;
      }
    }
    for (const { code } of refused) rejectedCodes[`refused:${code}`] = (rejectedCodes[`refused:${code}`] ?? 0) + 1;

    // Zero duplicate deliveries; each `sent` row delivered exactly once, under its message id.
    const log = (await call(sim.url, "GET", "/__sim/log")).body;
    const deliveriesByText = new Map();
    for (const d of log.deliveries) deliveriesByText.set(d.text, [...(deliveriesByText.get(d.text) ?? []), d]);
    const duplicates = [...deliveriesByText.values()].filter((list) => list.length > 1);
    assert.deepEqual(duplicates, [], "a message was delivered more than once");
    let rejectedButDelivered = 0;
    for (const [id, { text }] of accepted) {
      const row = rows.get(id);
      const delivered = deliveriesByText.get(text) ?? [];
      if (row.state === "sent") {
        assert.equal(delivered.length, 1, `sent but not delivered: ${text}`);
        assert.equal(row.messageId, delivered[0].messageId, `stored message id differs for ${text}`);
      } else if (delivered.length > 0) {
        rejectedButDelivered += 1;
      }
    }
    // Only a send whose answer was lost (maybe delivered) may end rejected after all.
    for (const [id] of accepted) {
      const row = rows.get(id);
      if (row.state === "rejected" && (deliveriesByText.get(row.text) ?? []).length > 0) {
        assert.ok(["network", "timeout", "server"].includes(row.code), `rejected with ${row.code} although delivered: ${row.text}`);
      }
    }

    // Zero double starts: lifecycle calls of one instance never overlap in the simulator.
    const lifecycle = log.requests.filter((r) => r.op === "start" || r.op === "restart");
    let doubleStarts = 0;
    for (const id of ids) {
      const calls = lifecycle.filter((r) => r.instanceId === id).sort((a, b) => a.t - b.t);
      for (let i = 1; i < calls.length; i++) {
        const previousEnd = calls[i - 1].t + (calls[i - 1].durationMs ?? 0);
        if (calls[i].t < previousEnd) doubleStarts += 1;
      }
    }
    assert.equal(doubleStarts, 0, "two lifecycle calls of one instance overlapped");

    // The faults really happened.
    const statuses = log.requests.map((r) => r.httpStatus);
    const count429 = statuses.filter((s) => s === 429).length;
    const count5xx = statuses.filter((s) => s >= 500).length;
    const webhookOutcomes = {};
    for (const w of log.webhooks) webhookOutcomes[w.outcome] = (webhookOutcomes[w.outcome] ?? 0) + 1;
    assert.ok(count429 > 0 && count5xx > 0, `429s ${count429}, 5xx ${count5xx}`);
    assert.ok(accepted.size > 0 && sent > 0);

    const sorted = [...latencies].sort((a, b) => a - b);
    const p = (q) => percentile(sorted, q).toFixed(1);
    console.log(
      `edge load: ${(loadMs / 1000).toFixed(1)} s, ${sends} sends (accepted ${accepted.size}, sent ${sent}, ` +
        `refused ${refused.length}), rejected by code ${JSON.stringify(rejectedCodes)}, ${reads} reads, ${replays} webhook replays, ` +
        `${disruptions} disruptions; API ${log.requests.length} requests (${count429} × 429, ${count5xx} × 5xx, ` +
        `${lifecycle.length} start/restart), accepted while not yet sent ${JSON.stringify(answeredStates)}; webhooks ${JSON.stringify(webhookOutcomes)}; ` +
        `lost 0, duplicate deliveries 0, double starts 0, rejected-but-delivered ${rejectedButDelivered}; ` +
        `worker latency over ${sorted.length} answers: p50 ${p(50)} ms, p99 ${p(99)} ms, max ${sorted.at(-1).toFixed(1)} ms`,
    );
  } finally {
    await edge?.close();
    await recorder.close();
    await sim.close();
  }
});
