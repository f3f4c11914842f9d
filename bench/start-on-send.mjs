// Item 7: start-on-send under contention, against the real simulator over loopback HTTP.
// N concurrent senders on a STOPPED (paired) instance. wawp-session: N × supervisor.sendWhenReady
// (one machine, single flight, status from the webhooks the simulator posts to a local
// receiver). Naive: each sender calls start() itself, then sends with p-retry (exponential, no
// jitter) until the send is accepted: the guide's "start if a user sends while STOPPED" written
// plainly. Counted from the simulator's request log: start calls, 429s, deliveries.
import { createServer } from "node:http";
import { performance } from "node:perf_hooks";
import pRetry from "p-retry";
import { loadPackage, ROOT } from "./lib/package.mjs";
import { summarize, fmtStat, table } from "./lib/stats.mjs";

const SENDERS = [1, 10, 100];
const REPEATS = 3;
const SPEED = 5; // simulator model time runs 5× faster than real time; times below are model time
const TOKEN = "bench-token";

async function receiver(onBody) {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      res.writeHead(200).end();
      try {
        onBody(Buffer.concat(chunks).toString("utf8"));
      } catch {
        // a body the supervisor refuses is not this benchmark's concern
      }
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/hook`, close: () => new Promise((r) => server.close(r)) };
}

async function simJson(sim, path, body) {
  const res = await fetch(`${sim.url}${path}`, body === undefined ? {} : {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`simulator ${path}: HTTP ${res.status}`);
  return res.json();
}

async function trial(pkg, startSimulator, contender, senders, seed) {
  let supervisor;
  const hook = await receiver((body) => supervisor?.observe(body));
  const sim = await startSimulator({ port: 0, speed: SPEED, seed, token: TOKEN, flavor: "wawp",
    webhooks: contender === "wawp-session" ? [{ url: hook.url, shape: "waha" }] : [] });
  try {
    const instance = await simJson(sim, "/__sim/instances", { paired: true, jid: "15550001111@c.us", status: "STOPPED" });
    const instanceId = instance.instance_id ?? instance.instanceId;
    const client = new pkg.WawpClient({ accessToken: TOKEN, instanceId, baseUrl: sim.url, retry: false, timeoutMs: 10_000 });
    const deliveredAt = [];
    const t0 = performance.now();
    const send = (i) => client.sendText("15551234567@c.us", `message ${i}`).then((r) => {
      deliveredAt.push(performance.now() - t0);
      return r;
    });
    let results;
    if (contender === "wawp-session") {
      supervisor = new pkg.SessionSupervisor({ client, sendTimeoutMs: 60_000 });
      supervisor.observe("STOPPED"); // the last status this app saw: the session is stopped
      results = await Promise.allSettled(Array.from({ length: senders }, (_, i) => supervisor.sendWhenReady(() => send(i))));
    } else {
      results = await Promise.allSettled(Array.from({ length: senders }, async (_, i) => {
        await client.start().catch(() => {});
        return pRetry(() => send(i), { retries: 10, factor: 2, minTimeout: 100, maxTimeout: 5000, randomize: false });
      }));
    }
    const log = await simJson(sim, "/__sim/log");
    const requests = log.requests.filter((r) => r.instanceId === instanceId || r.instanceId === undefined);
    const starts = requests.filter((r) => r.op === "start" || r.op === "restart");
    return {
      senders,
      startRequests: starts.length,
      got429: requests.filter((r) => r.httpStatus === 429).length,
      requests: requests.length,
      delivered: log.deliveries.length,
      failed: results.filter((r) => r.status === "rejected").length,
      firstDeliveryMs: deliveredAt.length ? Math.min(...deliveredAt) * SPEED : NaN,
      lastDeliveryMs: deliveredAt.length ? Math.max(...deliveredAt) * SPEED : NaN,
    };
  } finally {
    supervisor?.close();
    await sim.close();
    await hook.close();
  }
}

export async function run({ log }) {
  const pkg = await loadPackage("node");
  const { startSimulator } = await import(`${ROOT}/sim/server.mjs`);
  const contenders = ["wawp-session", "naive (start per sender + p-retry)"];
  const trials = {};
  for (const senders of SENDERS) {
    for (const contender of contenders) {
      const key = `${contender}|${senders}`;
      trials[key] = [];
      for (let r = 0; r < REPEATS; r++) {
        const t = await trial(pkg, startSimulator, contender, senders, 100 + r);
        trials[key].push(t);
        log(`start-on-send ${contender} × ${senders}: ${t.startRequests} starts, ${t.got429} × 429, first delivery ${t.firstDeliveryMs.toFixed(0)} ms, ${t.delivered}/${senders} delivered`);
      }
    }
  }
  const s = (xs, k) => summarize(xs.map((x) => x[k]));
  const rows = [];
  for (const senders of SENDERS) {
    for (const contender of contenders) {
      const xs = trials[`${contender}|${senders}`];
      rows.push([`${contender}, ${senders} sender${senders > 1 ? "s" : ""}`, fmtStat(s(xs, "startRequests"), 0), fmtStat(s(xs, "got429"), 0),
        fmtStat(s(xs, "requests"), 0), `${fmtStat(s(xs, "delivered"), 0)} / ${senders}`, fmtStat(s(xs, "failed"), 0),
        fmtStat(s(xs, "firstDeliveryMs"), 0), fmtStat(s(xs, "lastDeliveryMs"), 0)]);
    }
  }
  const md = [
    `The simulator (sim/server.mjs, real HTTP on 127.0.0.1, speed ${SPEED}×, its default timings: STARTING lasts 3 s; more than 3 starts per instance in 5 s → 429 with Retry-After) ` +
      `with one paired STOPPED instance; ${REPEATS} trials per cell (seeds 100…), median (min–max). Times are simulator model time (real time × ${SPEED}) from the moment the senders fire.`,
    "",
    table(["Contender", "start requests", "429s", "API requests in total", "delivered", "senders failed", "first delivery ms", "last delivery ms"], rows),
  ];
  return { markdown: md.join("\n"), data: trials };
}
