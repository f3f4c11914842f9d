// Starts the whole product on loopback: simulator → edge worker (real workerd) → dashboard.
// Used by `scripts/demo.mjs` (the README's main command) and by the end-to-end tests, so both run
// exactly the same wiring. With real credentials in `env` the simulator is skipped and the edge
// worker talks to the real Wawp API or a self-hosted WAHA.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startEdge } from "../edge/dev.mjs";
import { startSimulator } from "../sim/server.mjs";
import { startDashboard } from "./serve.mjs";

export const SIM_TOKEN = "sim-token";

/**
 * Which backend the environment asks for. Secrets stay inside the returned `edgeEnv`; `describe`
 * is safe to print.
 * @param {Record<string, string|undefined>} env
 */
export function backendFromEnv(env) {
  if (env.WAWP_ACCESS_TOKEN) {
    const baseUrl = env.WAWP_BASE_URL || "https://api.wawp.net";
    return {
      mode: "real",
      instanceId: env.WAWP_INSTANCE_ID || null,
      describe: `Wawp API at ${baseUrl}`,
      edgeEnv: { WAWP_BASE_URL: baseUrl, WAWP_ACCESS_TOKEN: env.WAWP_ACCESS_TOKEN, WAWP_FLAVOR: "wawp", TIMING_SCALE: "1" },
    };
  }
  if (env.WAHA_URL && env.WAHA_API_KEY) {
    const session = env.WAHA_SESSION || "default";
    return {
      mode: "real",
      instanceId: session,
      describe: `WAHA at ${env.WAHA_URL} (session "${session}")`,
      edgeEnv: {
        WAWP_BASE_URL: env.WAHA_URL, WAWP_ACCESS_TOKEN: env.WAHA_API_KEY, WAWP_FLAVOR: "waha",
        WAHA_SESSION: session, TIMING_SCALE: "1",
      },
    };
  }
  return { mode: "simulator", instanceId: null, describe: "the built-in simulator", edgeEnv: {} };
}

function randomSecret() {
  return randomBytes(24).toString("base64url");
}

async function postJson(url, body) {
  const res = await fetch(url, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body ?? {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${new URL(url).pathname} answered ${res.status}: ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : null;
}

/**
 * @param {{
 *   env?: Record<string, string|undefined>,  // process.env by default; decides simulator vs real
 *   speed?: number,                          // simulator speed-up = the edge's TIMING_SCALE
 *   dashboardPort?: number,                  // 0 = any free port
 *   simulator?: object,                      // extra startSimulator options (timings, seed, ...)
 *   edgeEnv?: Record<string, string>,        // extra edge worker env (e.g. MAX_AUTO_RESTARTS)
 *   persistDir?: string,                     // edge state; a fresh temporary folder by default
 *   direct?: boolean,                        // no edge worker: the package runs in the page (simulator only)
 * }} [opts]
 */
export async function startStack(opts = {}) {
  const backend = backendFromEnv(opts.env ?? process.env);
  if (opts.direct && backend.mode !== "simulator") {
    throw new Error("direct mode runs against the simulator only (a real token would be handed to the browser)");
  }
  const speed = backend.mode === "simulator" ? (opts.speed ?? 10) : 1;
  const ownsPersistDir = !opts.persistDir;
  const persistDir = opts.persistDir ?? (await mkdtemp(path.join(os.tmpdir(), "wawp-edge-")));
  const started = [];
  const close = async () => {
    // Reverse start order: the page's streams end before the worker, the worker before the API.
    for (const part of started.reverse()) await part.close().catch(() => {});
    started.length = 0;
    if (ownsPersistDir) await rm(persistDir, { recursive: true, force: true });
  };
  try {
    let sim = null;
    // Fresh secrets each run: the worker is secured exactly as a deployment must be
    // (docs/security.md); the dashboard server holds the admin token, the page never sees it.
    const adminToken = randomSecret();
    // In real mode the API signs with the operator's own WEBHOOK_SECRET, if one is set.
    const webhookSecret = (backend.mode === "real" && (opts.env ?? process.env).WEBHOOK_SECRET) || randomSecret();
    let edgeEnv = { ...backend.edgeEnv, ADMIN_TOKEN: adminToken, WEBHOOK_SECRET: webhookSecret };
    if (backend.mode === "simulator") {
      sim = await startSimulator({ port: 0, speed, seed: 1, token: SIM_TOKEN, flavor: "wawp", ...opts.simulator });
      started.push(sim);
      edgeEnv = { ...edgeEnv, WAWP_BASE_URL: sim.url, WAWP_ACCESS_TOKEN: SIM_TOKEN, WAWP_FLAVOR: "wawp", TIMING_SCALE: String(speed) };
    }
    const edge = opts.direct ? null : await startEdge({ port: 0, persistDir, env: { ...edgeEnv, ...opts.edgeEnv } });
    if (edge) started.push(edge);
    if (sim && edge) {
      // Status changes reach the worker the way production does it: signed webhooks, not polling.
      await postJson(`${sim.url}/__sim/webhooks`, { url: `${edge.url}/webhook`, shape: "wawp", hmacKey: webhookSecret });
    }
    const dashboard = await startDashboard({
      port: opts.dashboardPort ?? 0, edgeUrl: edge?.url, adminToken: edge ? adminToken : undefined, simUrl: sim?.url, timingScale: speed,
      simToken: edge ? undefined : SIM_TOKEN,
    });
    started.push(dashboard);
    return {
      mode: backend.mode, describe: backend.describe, instanceId: backend.instanceId, speed,
      backend: edge ? "edge" : "direct",
      url: dashboard.url, simUrl: sim?.url ?? null, edgeUrl: edge?.url ?? null, close,
      /** The edge's ADMIN_TOKEN (tests may play the operator's backend with it); null in direct mode. */
      adminToken: edge ? adminToken : null,
      /** Simulator control API (tests and demo seeding); null in real mode. */
      sim: sim && {
        post: (p, body) => postJson(`${sim.url}/__sim${p}`, body),
        get: async (p) => (await fetch(`${sim.url}/__sim${p}`)).json(),
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}
