// The webhook stream every per-event contender decodes and steps through: a seeded mix of both
// documented body shapes (WAHA envelope ~75 %, older Wawp shape ~25 %) over realistic session
// episodes (STARTING re-sent every 2 s, QR refreshes, WORKING with `me`, FAILED, STOPPED), with
// duplicated (same id) and reordered (older timestamp) deliveries, as webhooks really arrive.
import { rng } from "./stats.mjs";

const T0 = Date.UTC(2026, 10, 24, 0, 0, 0);

function wahaBody(status, atMs, id, me) {
  const statuses = [{ status: "STARTING", timestamp: atMs - 4000 }, { status, timestamp: atMs }];
  return JSON.stringify({
    id, timestamp: atMs, event: "session.status", session: "default", metadata: { "user.id": "123" },
    me: me ?? null, payload: { status, statuses }, engine: "WEBJS",
    environment: { version: "2026.7.1", engine: "WEBJS", tier: "PLUS", browser: "/usr/bin/google-chrome-stable" },
  });
}

function wawpBody(status, atMs, instanceId) {
  const body = { instance_id: instanceId, status, ts: Math.floor(atMs / 1000) };
  if (status === "SCAN_QR_CODE") body.qr = `2@${"x".repeat(120)}`;
  return JSON.stringify(body);
}

/** `count` webhook bodies with the simulated receive time of each (ms, non-decreasing). */
export function webhookStream(count, seed = 7) {
  const rand = rng(seed);
  const bodies = [];
  const times = [];
  let t = T0;
  let seq = 0;
  const me = { id: "11111111111@c.us", pushName: "Bench" };
  const push = (status) => {
    t += 1000 * (1 + Math.floor(rand() * 3)); // whole seconds: the Wawp shape carries seconds
    seq += 1;
    const id = `evt_${seed}_${seq}`;
    const body = rand() < 0.75 ? wahaBody(status, t, id, status === "WORKING" ? me : null) : wawpBody(status, t, "3EB0BCB2E3D4");
    bodies.push(body);
    times.push(t);
    if (rand() < 0.02) { bodies.push(body); times.push(t + 50); } // duplicate delivery
    if (rand() < 0.01) { bodies.push(wahaBody("STARTING", t - 60_000, `${id}_old`, null)); times.push(t + 80); } // reordered
  };
  while (bodies.length < count) {
    const r = rand();
    for (let i = 0, n = 1 + Math.floor(rand() * 3); i < n; i++) push("STARTING");
    if (r < 0.25) for (let i = 0, n = 1 + Math.floor(rand() * 4); i < n; i++) push("SCAN_QR_CODE");
    push("WORKING");
    t += 1000 * Math.floor(rand() * 600);
    push(r < 0.5 ? "FAILED" : r < 0.8 ? "STARTING" : r < 0.9 ? "STOPPED" : "LOGOUT");
  }
  return { bodies: bodies.slice(0, count), times: times.slice(0, count) };
}
