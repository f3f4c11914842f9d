// Section 8: the fleet in one local workerd (Miniflare) against the simulator on loopback.
// Cases: 100 / 1,000 / 10,000 instances at production timing (TIMING_SCALE 1, simulator speed 1)
// and 1,000 at 60×. Per case: creates through `POST /instances/create` (16 at a time), an idle
// window counting the API calls the fleet makes by itself, webhook fan-in with autocannon (signed
// WAHA events to random instances), the time until `GET /instances` shows a change, workerd's
// memory, and upstream orphans (simulator instances the registry does not list). Bounded: every
// phase has a fixed duration or count. `SCALE_CASES=100,1000` picks a subset (n, or n@speed).
import { execFileSync } from "node:child_process";
import os from "node:os";
import { createHmac } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import autocannon from "autocannon";
import { ROOT } from "./lib/package.mjs";
import { fmt, percentile, rng, table } from "./lib/stats.mjs";

const ALL_CASES = [
  { n: 100, speed: 1 },
  { n: 1000, speed: 1 },
  { n: 10000, speed: 1 },
  { n: 1000, speed: 60 },
];
const CREATE_CONCURRENCY = 16;
const IDLE_WINDOW_MS = 30_000;
/** A fixed number of events (not a duration): the run ends when every one is answered, so none is
 *  in flight when the handled events are counted. */
const FANIN_EVENTS = 5_000;
const FANIN_CONNECTIONS = 20;
const CHANGE_PROBES = 20;
const TOKEN = "bench-token";
const SECRET = "bench-webhook-secret";
const ADMIN_TOKEN = "bench-admin-token-6a1e93d0";
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

function cases() {
  const wanted = process.env.SCALE_CASES;
  if (!wanted) return ALL_CASES;
  return wanted.split(",").map((item) => {
    const [n, speed = "1"] = item.split("@");
    return { n: Number(n), speed: Number(speed) };
  });
}

function commitOf() {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

/** Resident memory (bytes) of the workerd processes this Node process started. */
function workerdRss() {
  let total = 0;
  const walk = (pid) => {
    let children = [];
    try {
      children = execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(pid)], { encoding: "utf8" })
        .split("\n").map((l) => l.trim()).filter(Boolean).map((l) => l.split(/\s+/));
    } catch {
      children = [];
    }
    for (const [child, comm] of children) {
      if (comm === "workerd") {
        const status = readFileSync(`/proc/${child}/status`, "utf8");
        total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
      }
      walk(child);
    }
  };
  walk(process.pid);
  return total;
}

/** One admin call; a read that fails at the connection is tried twice more (workerd under memory
 *  pressure drops a connection now and then), a create never is (it would create twice). */
async function admin(base, method, path, body) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await adminOnce(base, method, path, body);
    } catch (err) {
      if (method !== "GET" || attempt >= 2) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function adminOnce(base, method, path, body) {
  const t0 = performance.now();
  const res = await fetch(`${base}${path}`, {
    method, headers: { "content-type": "application/json", ...ADMIN }, body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const data = await res.json().catch(() => null);
  return { status: res.status, data, ms: performance.now() - t0 };
}

function signed(instance, status, id, timestamp) {
  const body = JSON.stringify({
    id, timestamp, event: "session.status", session: instance.sessionName, instance_id: instance.instanceId,
    me: null, payload: { name: instance.sessionName, status, statuses: [] }, engine: "WEBJS",
  });
  return {
    body,
    headers: {
      "content-type": "application/json",
      "x-webhook-hmac": createHmac("sha512", SECRET).update(body).digest("hex"),
      "x-webhook-hmac-algorithm": "sha512",
    },
  };
}

async function createAll(base, n) {
  const latencies = [];
  const created = [];
  const errorKinds = {};
  let errors = 0;
  const failed = (kind) => {
    errors += 1;
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  };
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < n) {
      next += 1;
      try {
        const r = await admin(base, "POST", "/instances/create", {});
        latencies.push(r.ms);
        if (r.status === 201) created.push(r.data);
        else failed(`HTTP ${r.status} ${r.data?.error?.message ?? ""}`.trim().slice(0, 160));
      } catch (err) {
        failed(String(err?.name ?? err));
      }
    }
  };
  await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, worker));
  return { created, errors, errorKinds, latencies, seconds: (performance.now() - t0) / 1000 };
}

async function registryIds(base) {
  const ids = new Set();
  let cursor = null;
  let total = 0;
  do {
    const r = await admin(base, "GET", `/instances?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (r.status !== 200) throw new Error(`GET /instances: HTTP ${r.status}`);
    for (const row of r.data.instances) ids.add(row.instanceId);
    total = r.data.total;
    cursor = r.data.nextCursor;
  } while (cursor);
  return { ids, total };
}

async function eventsHandled(base) {
  const text = await fetch(`${base}/metrics`, { headers: ADMIN }).then((res) => res.text(), () => "");
  return Number(/^wawp_webhook_events_total (\S+)$/m.exec(text)?.[1] ?? NaN);
}

/** Wall-clock cap of one fan-in (a saturated workerd answers slowly): the run is stopped then. */
const FANIN_MAX_MS = 60_000;

/** autocannon's result plus `accepted` (202 answers, counted here). */
function fanIn(base, instances, amount) {
  const rand = rng(17);
  let seq = 0;
  let accepted = 0;
  let timestamp = Date.now();
  return new Promise((resolve, reject) => {
    const run = autocannon({
      url: base, connections: FANIN_CONNECTIONS, amount, timeout: 10,
      requests: [{
        setupRequest: (req) => {
          seq += 1;
          timestamp += 1;
          const target = instances[Math.floor(rand() * instances.length)];
          const { body, headers } = signed(target, rand() < 0.8 ? "WORKING" : "STARTING", `evt_scale_${seq}`, timestamp);
          return { ...req, method: "POST", path: "/webhook", body, headers };
        },
        onResponse: (status) => {
          if (status === 202) accepted += 1;
        },
      }],
    }, (err, result) => {
      clearTimeout(cap);
      if (err) reject(err);
      else resolve({ ...result, accepted });
    });
    const cap = setTimeout(() => run.stop(), FANIN_MAX_MS);
    run.on("error", reject);
  });
}

async function waitStable(read, { everyMs = 1000, maxMs = 30_000 } = {}) {
  let last = await read();
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, everyMs));
    const now = await read();
    if (now === last) return now;
    last = now;
  }
  return last;
}

/** Time from a signed FAILED event until the registry lists the instance as FAILED. */
async function changeLatencies(base, instances) {
  const out = [];
  for (let i = 0; i < Math.min(CHANGE_PROBES, instances.length); i++) {
    const target = instances[i];
    const { body, headers } = signed(target, "FAILED", `evt_probe_${i}_${Date.now()}`, Date.now());
    const t0 = performance.now();
    try {
      const res = await fetch(`${base}/webhook`, { method: "POST", headers, body });
      await res.arrayBuffer();
    } catch {
      out.push(NaN);
      continue;
    }
    const deadline = t0 + 10_000;
    for (;;) {
      const r = await admin(base, "GET", `/instances?q=${encodeURIComponent(target.instanceId)}&limit=1`).catch(() => null);
      if (r?.data?.instances?.[0]?.status === "FAILED") {
        out.push(performance.now() - t0);
        break;
      }
      if (performance.now() > deadline) {
        out.push(NaN);
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  return out;
}

/** Wall time from navigation until the fleet page shows its first rows (Chromium, loopback). */
async function pageFirstRender(edgeUrl) {
  const { startDashboard } = await import(`${ROOT}/www/serve.mjs`);
  const { launchBrowser } = await import(`${ROOT}/tests/e2e/browser.mjs`);
  const dashboard = await startDashboard({ port: 0, edgeUrl, adminToken: ADMIN_TOKEN });
  const browser = await launchBrowser();
  try {
    const samples = [];
    for (let i = 0; i < 3; i++) {
      const page = await browser.newPage();
      const t0 = performance.now();
      await page.goto(`${dashboard.url}/fleet.html`);
      await page.waitForSelector("#fleet-rows tr", { timeout: 30_000 });
      samples.push(performance.now() - t0);
      await page.close();
    }
    return samples;
  } finally {
    await browser.close();
    await dashboard.close();
  }
}

async function runCase({ n, speed }, log) {
  const { startSimulator } = await import(`${ROOT}/sim/server.mjs`);
  const { startEdge } = await import(`${ROOT}/edge/dev.mjs`);
  const calls = { t: [], count: 0 };
  let counting = false;
  const sim = await startSimulator({
    port: 0, speed, seed: 9, token: TOKEN, flavor: "wawp", maxInstances: n + 100,
    onRequest: () => {
      if (counting) calls.count += 1;
    },
  });
  let edge;
  try {
    edge = await startEdge({
      port: 0,
      env: { WAWP_BASE_URL: sim.url, WAWP_ACCESS_TOKEN: TOKEN, WEBHOOK_SECRET: SECRET, ADMIN_TOKEN, TIMING_SCALE: speed, CREATE_RATE_PER_HOUR: n * 2 },
    });
    const rssBefore = workerdRss();
    const creates = await createAll(edge.url, n);
    log(`scale ${n}@${speed}×: ${creates.created.length} created, ${creates.errors} errors in ${creates.seconds.toFixed(1)} s ${JSON.stringify(creates.errorKinds)}`);
    const rssAfter = workerdRss();

    counting = true;
    const idleStart = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
    counting = false;
    const idleHoursModel = ((performance.now() - idleStart) * speed) / 3_600_000;
    const callsPerInstanceHour = calls.count / Math.max(1, creates.created.length) / idleHoursModel;

    const handledBefore = await eventsHandled(edge.url);
    const fan = creates.created.length ? await fanIn(edge.url, creates.created, FANIN_EVENTS) : null;
    const handledAfter = await waitStable(() => eventsHandled(edge.url));
    // Answered 202 (accepted), yet never handled by an instance.
    const lost = fan ? fan.accepted - (handledAfter - handledBefore) : 0;
    if (fan) log(`scale ${n}@${speed}×: fan-in ${fan.requests.average} events/s p99 ${fan.latency.p99} ms, lost ${lost}`);

    const change = await changeLatencies(edge.url, creates.created);
    const render = speed === 1 ? await pageFirstRender(edge.url) : [];
    const registry = await registryIds(edge.url);
    const upstream = await (await fetch(`${sim.url}/__sim/instances`)).json();
    const orphans = upstream.filter((u) => !registry.ids.has(u.instance_id)).length;
    const rssEnd = workerdRss();
    return {
      n, speed,
      created: creates.created.length,
      createErrors: creates.errors,
      createErrorKinds: creates.errorKinds,
      createRate: creates.created.length / creates.seconds,
      createP50: percentile(creates.latencies, 50),
      createP99: percentile(creates.latencies, 99),
      registered: registry.total,
      orphans,
      upstream: upstream.length,
      fanInRps: fan?.requests.average ?? NaN,
      fanInP50: fan?.latency.p50 ?? NaN,
      fanInP99: fan?.latency.p99 ?? NaN,
      fanInErrors: fan ? fan.errors + fan.timeouts + fan.non2xx : NaN,
      fanInErrorKinds: fan ? { errors: fan.errors, timeouts: fan.timeouts, non2xx: fan.non2xx, accepted: fan.accepted } : null,
      lost,
      changeP50: percentile(change.filter(Number.isFinite), 50),
      changeMax: Math.max(...change.map((x) => (Number.isFinite(x) ? x : Infinity))),
      memPerInstanceKb: (rssAfter - rssBefore) / Math.max(1, creates.created.length) / 1024,
      rssMb: rssEnd / 2 ** 20,
      callsPerInstanceHour,
      pageRenderMs: render.length ? percentile(render, 50) : NaN,
    };
  } finally {
    await edge?.close();
    await sim.close();
  }
}

export async function run({ log }) {
  const started = { atIso: new Date().toISOString(), loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))), commit: commitOf() };
  const rows = [];
  for (const c of cases()) {
    try {
      rows.push(await runCase(c, log));
    } catch (err) {
      log(`scale ${c.n}@${c.speed}× failed: ${err?.stack ?? err}`);
      rows.push({ ...c, failed: String(err?.message ?? err).split("\n")[0] });
    }
  }
  // A subset run (`node bench/run.mjs scale`) prints only markdown; SCALE_ROWS_OUT keeps the rows.
  rows.forEach((row) => Object.assign(row, { run: started }));
  if (process.env.SCALE_ROWS_OUT) writeFileSync(process.env.SCALE_ROWS_OUT, `${JSON.stringify(rows, null, 2)}\n`);
  return { markdown: render(rows), data: rows };
}

/** Issue 14's targets against the rows: `[target, this run, verdict]`. */
export function scaleTargets(rows) {
  if (!Array.isArray(rows)) return [];
  const lines = [];
  const big = rows.find((r) => r.n === 10000 && r.speed === 1);
  if (big) {
    const ok = !big.failed && big.registered === 10000 && big.createErrors === 0 && big.orphans === 0;
    lines.push(["10,000 instances registered in one workerd, 0 errors, 0 orphans",
      big.failed ? `failed: ${big.failed}` : `${big.registered.toLocaleString("en-US")} registered, ${big.createErrors} errors, ${big.orphans} orphans`, ok ? "met" : "**not met**"]);
    if (Number.isFinite(big.pageRenderMs)) {
      lines.push(["fleet page first render < 1 s with 10,000 rows", `${Math.round(big.pageRenderMs)} ms`, big.pageRenderMs < 1000 ? "met" : "**not met**"]);
    }
  }
  for (const r of rows.filter((x) => !x.failed && Number.isFinite(x.fanInRps))) {
    const ok = r.fanInRps >= 1000 && r.fanInP99 < 100 && r.lost === 0 && r.fanInErrors === 0;
    lines.push([`webhook fan-in ≥ 1,000 events/s, p99 < 100 ms, 0 lost (${r.n.toLocaleString("en-US")} @ ${r.speed}×)`,
      `${Math.round(r.fanInRps)} events/s, p99 ${r.fanInP99} ms, ${r.lost} lost, ${r.fanInErrors} errors`, ok ? "met" : "**not met**"]);
  }
  for (const r of rows.filter((x) => !x.failed)) {
    lines.push([`0 upstream orphans (${r.n.toLocaleString("en-US")} @ ${r.speed}×)`, String(r.orphans), r.orphans === 0 ? "met" : "**not met**"]);
  }
  return lines;
}

/** The section's markdown from its rows (also used to re-render saved rows: `node bench/scale.mjs rows.json`). */
export function render(rows) {
  const cell = (r, f) => (r.failed ? "—" : f(r));
  const run = rows[0]?.run;
  const md = [
    ...(run ? [`Measured ${run.atIso} at commit ${run.commit}; load average at start ${run.loadAverage.join(" / ")} (2 cores shared with other engineers' builds and tests).`, ""] : []),
    `One workerd (Miniflare) and the simulator on loopback, on the 2 shared cores (other engineers' builds and tests ran at the same time, so rates are lower bounds). ` +
      `Creates ${CREATE_CONCURRENCY} at a time through \`POST /instances/create\` (admin token); API calls counted by the simulator over a ${IDLE_WINDOW_MS / 1000} s idle window ` +
      `(in model time: real time × speed); fan-in: autocannon, ${FANIN_CONNECTIONS} connections, ${FANIN_EVENTS.toLocaleString("en-US")} requests, each request one signed WAHA event (80 % WORKING, 20 % STARTING) for a random instance; ` +
      `lost = events answered 202 minus \`wawp_webhook_events_total\` handled by the instances (errors = connection errors, timeouts and non-202 answers; a negative lost = requests the client gave up on that the edge still handled); change = a signed FAILED event until \`GET /instances\` shows it (${CHANGE_PROBES} probes); ` +
      "memory = workerd RSS growth over the creates / instances; orphans = simulator instances the registry does not list. " +
      "API calls per instance-hour are counted in model time over the idle window: at 1× that window ends before the first 5-minute reconciliation of the new instances, so it reads about 0; the 60× row (30 model minutes) is the steady state. " +
      "Fleet page: Chromium (playwright-core), navigation until the first page of rows is in the DOM, through www/serve.mjs's /backend/fleet.",
    "",
    table(
      ["Instances @ speed", "created / errors", "creates/s", "create p50 / p99 ms", "registered", "orphans", "fan-in events/s", "fan-in p50 / p99 ms", "fan-in errors / lost",
        "registry shows a change p50 / max ms", "workerd KiB per instance (RSS at end MiB)", "API calls per instance-hour (idle)", "fleet page first render ms (median of 3)"],
      rows.map((r) => [
        `${r.n.toLocaleString("en-US")} @ ${r.speed}×`,
        r.failed ? `**failed**: ${r.failed}` : `${r.created.toLocaleString("en-US")} / ${r.createErrors}`,
        cell(r, (x) => fmt(x.createRate, 0)),
        cell(r, (x) => `${fmt(x.createP50, 0)} / ${fmt(x.createP99, 0)}`),
        cell(r, (x) => x.registered.toLocaleString("en-US")),
        cell(r, (x) => String(x.orphans)),
        cell(r, (x) => fmt(x.fanInRps, 0)),
        cell(r, (x) => `${fmt(x.fanInP50, 0)} / ${fmt(x.fanInP99, 0)}`),
        cell(r, (x) => `${x.fanInErrors} / ${x.lost}`),
        cell(r, (x) => `${fmt(x.changeP50, 0)} / ${fmt(x.changeMax, 0)}`),
        cell(r, (x) => `${fmt(x.memPerInstanceKb, 1)} (${fmt(x.rssMb, 0)})`),
        cell(r, (x) => fmt(x.callsPerInstanceHour, 1)),
        cell(r, (x) => fmt(x.pageRenderMs, 0)),
      ]),
    ),
    "",
    "Targets of issue 14 (benchmarks, not timed tests):",
    "",
    table(["Target", "This run", "Verdict"], scaleTargets(rows)),
    "",
    ...errorNotes(rows),
    "Reading: every create is one Durable Object (the session-name mapping lives in the registry row), and a create whose adopt fails is retried, " +
      "then deleted upstream, so a failing workerd leaves no orphan. The ceiling of one local workerd is SQLite memory: workerd caps all SQLite " +
      "connections of the process together (`sqlite3_hard_heap_limit64`, 512 MiB in this workerd; cloudflare/workerd#6570 raises it behind an autogate), " +
      "and each live instance object holds its own database; past the cap, statements fail with `SQLITE_NOMEM` (a create then answers 502 and is cleaned up; " +
      "an event hit by it is lost, which the instance's reconciliation `info` repairs within 5 minutes). Instance tables are created when first written, " +
      "so an idle instance holds fewer pages and 10,000 creates fit; a fan-in that wakes thousands of objects at once can still reach the cap (the lost column). " +
      "On Cloudflare the objects are spread over many machines, so this is a limit of the local single-process setup, not of the design. " +
      "Fan-in: all objects of one worker share one isolate thread in local workerd, so webhooks, the instances' own timers and the registry compete for one core; " +
      "at 60× the 1,000 machines' reconciliation polls and watchdog restarts (each STARTING event arms a 1 s watchdog) use most of it. " +
      "The registry is one object (edge/src/registry.js says why): a change reaches `GET /instances` within the column \"registry shows a change\" " +
      "(rows are coalesced over 200 ms).",
  ];
  return md.join("\n");
}

function errorNotes(rows) {
  const notes = rows
    .filter((r) => r.createErrorKinds && Object.keys(r.createErrorKinds).length)
    .map((r) => `- ${r.n.toLocaleString("en-US")} @ ${r.speed}× create errors: ${Object.entries(r.createErrorKinds).map(([k, v]) => `${v} × ${k}`).join("; ")}`);
  return notes.length ? [...notes, ""] : [];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${render(JSON.parse(readFileSync(process.argv[2], "utf8")))}\n`);
}
