// `npm run demo`: the simulator, the edge worker (real workerd) and the dashboard on 127.0.0.1,
// then the URL. With WAWP_ACCESS_TOKEN (+ WAWP_INSTANCE_ID, WAWP_BASE_URL) or WAHA_URL +
// WAHA_API_KEY set, the simulator is skipped and the worker drives the real API at real speed.
// Runs until Ctrl-C. The worker runs secured (docs/security.md): a fresh ADMIN_TOKEN that only the
// dashboard's server holds, signed webhooks; the page works with instance tokens.
//
//   DEMO_PORT   dashboard port (default 8080)
//   DEMO_SPEED  simulator speed-up (default 10: the 60 s STARTING watchdog fires after 6 s and a
//               QR code rotates every 2 s, slow enough to watch and fast enough to see it all)
//   DEMO_BACKEND=direct  no edge worker: the package runs in the page (simulator only)
import { startStack } from "../www/stack.mjs";

const DEFAULT_PORT = 8080;
const DEFAULT_SPEED = 10;
const PAIRED_DEMO_JID = "15551234567@c.us";

function positiveNumber(value, fallback) {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

async function main() {
  const port = Number.isInteger(Number(process.env.DEMO_PORT)) && process.env.DEMO_PORT !== ""
    ? Number(process.env.DEMO_PORT)
    : DEFAULT_PORT;
  const speed = positiveNumber(process.env.DEMO_SPEED, DEFAULT_SPEED);
  let stack = null;
  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the dashboard, the edge worker and the simulator…`);
    // A stuck shutdown must not keep the terminal hostage.
    setTimeout(() => process.exit(1), 10_000).unref();
    await stack?.close();
    process.exit(0);
  };
  const handlers = { SIGINT: () => stop("SIGINT"), SIGTERM: () => stop("SIGTERM") };
  for (const [signal, handler] of Object.entries(handlers)) process.on(signal, handler);
  const startedAt = Date.now();
  stack = await startStack({ env: process.env, speed, dashboardPort: port, direct: process.env.DEMO_BACKEND === "direct" });
  // Miniflare adds its own SIGINT/SIGTERM hook that exits at once; the demo closes everything
  // itself (which disposes Miniflare too), so only our handlers stay. Its exit hook remains.
  for (const [signal, handler] of Object.entries(handlers)) {
    for (const listener of process.listeners(signal)) if (listener !== handler) process.removeListener(signal, listener);
  }

  const lines = [`wawp-session demo: dashboard → ${stack.url}/`, `  backend: ${stack.describe}`];
  if (stack.backend === "direct") lines.push("  no edge worker: the wawp-session package runs in the page");
  if (stack.mode === "simulator") {
    // A phone that was linked earlier and a server that was switched off since: opening it shows
    // the warm boot (STOPPED → started in the background → Connected, no QR needed).
    const paired = await stack.sim.post("/instances", { paired: true, jid: PAIRED_DEMO_JID, status: "STOPPED" });
    lines.push(
      `  speed: ${stack.speed}× (the 60 s watchdog fires after ${(60 / stack.speed).toFixed(1)} s)`,
      `  fresh start (Connect WhatsApp → QR → "Simulate phone scan"): ${stack.url}/`,
      `  an already linked, switched-off instance (warm boot):        ${stack.url}/?instance=${encodeURIComponent(paired.instance_id)}`,
    );
  } else {
    if (stack.instanceId) lines.push(`  your instance: ${stack.url}/?instance=${encodeURIComponent(stack.instanceId)}`);
    // The API cannot call back into this machine unless it is exposed; the worker then polls.
    lines.push(`  status webhooks are received at ${stack.url}/api/webhook (expose it and sign them with WEBHOOK_SECRET for instant updates)`);
  }
  lines.push(`  ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s — Ctrl-C stops everything`);
  console.log(lines.join("\n"));
}

main().catch((err) => {
  const hint = err?.code === "EADDRINUSE" ? " (choose another port with DEMO_PORT=<port>, or 0 for any free one)" : "";
  console.error(`demo failed to start: ${err?.message ?? err}${hint}`);
  process.exit(1);
});
