// Item 6: webhook events per second through the edge worker in real workerd (Miniflare) on
// loopback: HMAC-SHA512 verification over the raw body, parse, routing to the instance's Durable
// Object and a machine step there. autocannon 8 generates the load: bounded in time and
// connections, every request a fresh signed WAHA `session.status` event (unique id, rising
// timestamp; 80 % WORKING, 20 % STARTING) for one of 10 instances.
import { createHmac } from "node:crypto";
import autocannon from "autocannon";
import { ROOT } from "./lib/package.mjs";
import { rng, summarize, fmtStat, table } from "./lib/stats.mjs";

const RUNS = 3;
const DURATION_S = 10;
const WARMUP_S = 2;
const CONNECTIONS = 10;
const INSTANCES = 10;
const TOKEN = "bench-token";
const SECRET = "bench-webhook-secret";
/** The worker runs secured as deployed (docs/security.md): creates and reads carry the admin token. */
const ADMIN_TOKEN = "bench-admin-token-6a1e93d0";
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function post(base, path, body) {
  const res = await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json", ...ADMIN }, body: JSON.stringify(body ?? {}) });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function eventFactory(instances) {
  const rand = rng(11);
  let seq = 0;
  let timestamp = Date.now();
  return () => {
    seq += 1;
    timestamp += 1;
    const target = instances[seq % instances.length];
    const body = JSON.stringify({
      id: `evt_bench_${seq}`, timestamp, event: "session.status", session: target.sessionName, instance_id: target.instanceId,
      me: null, payload: { name: target.sessionName, status: rand() < 0.8 ? "WORKING" : "STARTING", statuses: [] },
      engine: "WEBJS",
    });
    return {
      method: "POST",
      path: "/webhook",
      body,
      headers: {
        "content-type": "application/json",
        "x-webhook-hmac": createHmac("sha512", SECRET).update(body).digest("hex"),
        "x-webhook-hmac-algorithm": "sha512",
      },
    };
  };
}

function load(url, seconds, next) {
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url, connections: CONNECTIONS, duration: seconds, timeout: 10,
      requests: [{ setupRequest: (req) => ({ ...req, ...next() }) }],
    }, (err, result) => (err ? reject(err) : resolve(result)));
    instance.on("error", reject);
  });
}

export async function run({ log }) {
  const { startSimulator } = await import(`${ROOT}/sim/server.mjs`);
  const { startEdge } = await import(`${ROOT}/edge/dev.mjs`);
  const sim = await startSimulator({ port: 0, speed: 60, seed: 5, token: TOKEN, flavor: "wawp" });
  let edge;
  try {
    edge = await startEdge({ port: 0, env: { WAWP_BASE_URL: sim.url, WAWP_ACCESS_TOKEN: TOKEN, WEBHOOK_SECRET: SECRET, ADMIN_TOKEN, TIMING_SCALE: 60 } });
    const instances = [];
    for (let i = 0; i < INSTANCES; i++) instances.push(await post(edge.url, "/instances/create"));
    const next = eventFactory(instances);
    await load(edge.url, WARMUP_S, next);
    const runs = [];
    for (let r = 0; r < RUNS; r++) {
      const res = await load(edge.url, DURATION_S, next);
      const errors = res.errors + res.timeouts + res.non2xx;
      runs.push({ rps: res.requests.average, total: res.requests.total, p50: res.latency.p50, p99: res.latency.p99, max: res.latency.max, errors,
        non2xx: res.non2xx, status2xx: res["2xx"] });
      log(`edge run ${r + 1}: ${res.requests.average} events/s, p50 ${res.latency.p50} ms, p99 ${res.latency.p99} ms, errors ${errors}`);
    }
    // the worker really routed the events: the instances' machines saw the statuses
    const seen = await fetch(`${edge.url}/instances/${instances[0].instanceId}`, { headers: ADMIN }).then((r) => r.json());
    const s = (k) => summarize(runs.map((x) => x[k]));
    const totalErrors = runs.reduce((a, x) => a + x.errors, 0);
    const md = [
      `${RUNS} runs of ${DURATION_S} s (after a ${WARMUP_S} s warm-up), ${CONNECTIONS} connections, autocannon 8.0.0 in the same Node process as Miniflare's control, ` +
        `workerd and the simulator (speed 60×) on the same 2 shared cores; ${INSTANCES} instances created through the edge. Each request: one signed WAHA event → 202.`,
      "",
      table(["Metric", "median (min–max) over runs"], [
        ["webhook events / s", fmtStat(s("rps"), 0)],
        ["latency p50 ms", fmtStat(s("p50"), 1)],
        ["latency p99 ms", fmtStat(s("p99"), 1)],
        ["latency max ms", fmtStat(s("max"), 0)],
        ["events per run", fmtStat(s("total"), 0)],
        ["errors + timeouts + non-2xx per run", fmtStat(s("errors"), 0)],
      ]),
      "",
      `Errors over all runs: **${totalErrors}** (required: 0). After the load, instance ${instances[0].instanceId} reports status ${seen.status ?? "n/a"} ` +
        "(the events reached its Durable Object).",
    ];
    if (totalErrors > 0) log(`edge: ${totalErrors} errors`);
    return { markdown: md.join("\n"), data: { runs, errors: totalErrors } };
  } finally {
    await edge?.close();
    await sim.close();
  }
}
