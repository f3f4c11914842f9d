// Runs the edge worker in real workerd through Miniflare (the npm package; no network, no
// Cloudflare account). `startEdge` is the programmatic entry of docs/CONTRACTS.md §3:
//
//   const edge = await startEdge({ port: 0, persistDir, env: { WAWP_BASE_URL, WAWP_ACCESS_TOKEN, ... } });
//   edge.url; await edge.close();
//
// With a `persistDir`, Durable Object storage (SQLite) and alarms live on disk, so `close()` and a
// new `startEdge()` on the same directory is a workerd process restart that keeps every instance.
// CLI: `node edge/dev.mjs [--port 8787] [--persist <dir>]`, env vars as the worker's vars.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Log, LogLevel, Miniflare } from "miniflare";
import { bundleWorker } from "./bundle.mjs";

/** Names the worker reads from its environment (wrangler.toml documents each). */
export const ENV_NAMES = [
  "WAWP_BASE_URL",
  "WAWP_ACCESS_TOKEN",
  "WAWP_FLAVOR",
  "WAHA_SESSION",
  "WEBHOOK_SECRET",
  "ADMIN_WEBHOOK_URL",
  "TIMING_SCALE",
  "MAX_AUTO_RESTARTS",
  "MAINTENANCE_WEEKDAY",
  "MAINTENANCE_HOUR_UTC",
  "API_TIMEOUT_MS",
  "WEBHOOK_MAX_AGE_MS",
  "ADMIN_TOKEN",
  "TOKEN_SIGNING_KEY",
  "WEBHOOK_PATH_TOKEN",
  "ALLOW_UNSIGNED_WEBHOOKS",
  "SEND_RATE_PER_MINUTE",
  "CREATE_RATE_PER_HOUR",
  "ALLOWED_ORIGINS",
  "BULK_RETRY_PER_MINUTE",
  "TEST_ADOPT_FAULT",
];

/** As wrangler.toml. Durable Object RPC (the worker's calls to `adopt` / `receiveReports`) needs
 *  2024-04-03 or later; no flag. */
const COMPATIBILITY_DATE = "2025-09-01";
/** Module paths inside workerd are virtual; this root only names them. */
const MODULES_ROOT = "/edge-worker";

/**
 * @param {{ port?: number, host?: string, persistDir?: string, env?: Record<string, string|number|undefined>,
 *           verbose?: boolean, testHooks?: boolean }} [options] testHooks: tests only (bundle.mjs)
 * @returns {Promise<{ url: string, port: number, close: () => Promise<void>, miniflare: Miniflare }>}
 */
export async function startEdge({ port = 0, host = "127.0.0.1", persistDir, env = {}, verbose = false, testHooks = false } = {}) {
  const modules = await workerModules({ testHooks });
  const bindings = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value !== null && value !== "") bindings[name] = String(value);
  }
  const miniflare = new Miniflare({
    host,
    port,
    modules,
    modulesRoot: MODULES_ROOT,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings,
    durableObjects: {
      INSTANCES: { className: "InstanceSupervisor", useSQLite: true },
      SESSION_NAMES: { className: "SessionNames", useSQLite: true },
      RATE_WINDOWS: { className: "RateWindow", useSQLite: true },
      REGISTRY: { className: "InstanceRegistry", useSQLite: true },
    },
    durableObjectsPersist: persistDir ?? false,
    cf: false, // no Request.cf download from workers.cloudflare.com
    log: new Log(verbose ? LogLevel.DEBUG : LogLevel.WARN),
  });
  const url = await miniflare.ready;
  const origin = url.origin;
  return {
    url: origin,
    port: Number(url.port),
    miniflare,
    close: () => miniflare.dispose(),
  };
}

/** How long to wait for `npm run build` to finish rewriting pkg/dist when it is caught mid-way. */
const BUILD_SETTLE_MS = 30_000;

/**
 * The worker's modules for workerd: the bundle and its `.wasm` files. `pkg/dist/wasm` is rebuilt
 * in place by `npm run build` (deleted, rewritten, then optimised), so a start that races a build
 * waits until the wasm is complete and unchanged instead of handing workerd half a file.
 */
async function workerModules(options) {
  const deadline = Date.now() + BUILD_SETTLE_MS;
  for (;;) {
    try {
      const { script, wasmModules } = await bundleWorker(options);
      const modules = [{ type: "ESModule", path: join(MODULES_ROOT, "worker.mjs"), contents: script }];
      for (const { name, path } of wasmModules) {
        const bytes = await readFile(path);
        await sleep(200);
        const again = await readFile(path);
        if (!WebAssembly.validate(bytes) || !bytes.equals(again)) throw new Error(`${path} is being rewritten`);
        modules.push({ type: "CompiledWasm", path: join(MODULES_ROOT, name), contents: bytes });
      }
      return modules;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(500);
    }
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main() {
  const args = process.argv.slice(2);
  const option = (name) => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const env = {};
  for (const name of ENV_NAMES) if (process.env[name]) env[name] = process.env[name];
  const edge = await startEdge({
    port: Number(option("--port") ?? 8787),
    persistDir: option("--persist"),
    env,
    verbose: args.includes("--verbose"),
  });
  console.log(edge.url);
  const stop = () => edge.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
