// The edge supervisor's front door: routes HTTP to one Durable Object per Wawp instance
// (`idFromName(instanceId)`), verifies and fans out webhooks, provisions instances lazily.
// HTTP contract: docs/CONTRACTS.md §3.

import { mintInstanceToken, parseWebhooks, verifyWebhook } from "wawp-session";
import { ADMIN_ROUTES, INSTANCE_ROUTES, authenticate, authorize, secretEquals, unauthorized } from "./auth.js";
import {
  allowUnsignedWebhooks,
  apiClient,
  bulkRetryPerMinute,
  createRatePerHour,
  instanceTokenKey,
  redact,
  webhookMaxAgeMs,
  webhookPathToken,
  webhookSecret,
} from "./config.js";
import { preflight, withCors } from "./cors.js";
import { MAX_JSON_BODY_BYTES, errorResponse, errorResponseFrom, json, readBodyCapped, readJsonBody, tooLarge } from "./http.js";
import { InstanceSupervisor, PUBLIC_ORIGIN } from "./instance.js";
import { renderMetrics } from "./metrics.js";
import { RateWindow, hitRateWindow, retryAfterHeader } from "./rate-window.js";
import { InstanceRegistry, instanceForSession, listRegistry, recordInRegistry, registrySnapshot } from "./registry.js";
import { RegistryReporter } from "./registry-report.js";
import { SessionNames } from "./session-names.js";

export { InstanceRegistry, InstanceSupervisor, RateWindow, SessionNames };

/** Webhook bodies above this are refused before any parsing (a status event is < 2 KB). */
const MAX_WEBHOOK_BYTES = 256 * 1024;
const INSTANCE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** Instance ids the worker's own routes use; never an instance of ours. */
const RESERVED_IDS = new Set(["create", "retry-failed"]);
/** One bulk retry restarts at most this many FAILED instances, this many at a time. */
const BULK_RETRY_MAX = 1_000;
const BULK_RETRY_CONCURRENCY = 16;
/** A failed adopt is tried again this many times before the new upstream instance is deleted. */
const ADOPT_ATTEMPTS = 2;

/** Worker-side counters (refused webhooks), batched per isolate like the instances' own. */
const workerCounters = new RegistryReporter({}, null);

export default {
  async fetch(request, env, ctx) {
    if (request.method === "OPTIONS") return preflight(request, env);
    let response;
    try {
      response = await route(request, env, ctx);
    } catch (err) {
      response = errorResponseFrom(env, err);
    }
    return withCors(request, env, response);
  },
};

async function route(request, env, ctx) {
  const url = new URL(request.url);
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const method = request.method;
  // Every route: a declared oversized body is refused before anything else is read.
  if (Number(request.headers.get("content-length")) > MAX_JSON_BODY_BYTES) return tooLarge();
  if (path === "/" || path === "/health") return json({ ok: true });
  if (method === "POST" && (path === "/webhook" || path.startsWith("/webhook/"))) {
    return receiveWebhook(request, env, ctx, path === "/webhook" ? null : path.slice("/webhook/".length));
  }
  if (ADMIN_ROUTES.includes(`${method} ${path}`)) {
    // Authentication first: without a valid token nothing about the routes or ids is revealed.
    const caller = await authenticate(request, env, `${method} ${path}`);
    if (caller instanceof Response) return caller;
    return (await authorize(env, caller, null, null)) ?? (await fleetRoute(request, env, `${method} ${path}`, url));
  }
  if (path !== "/instances" && !path.startsWith("/instances/")) return notFound(env, method, path);
  const match = /^\/instances\/([^/]+)(\/.*)?$/.exec(path);
  const subPath = match?.[2] ?? "/";
  const key = `${method} ${subPath}`;
  const caller = await authenticate(request, env, key);
  if (caller instanceof Response) return caller;
  if (!match || RESERVED_IDS.has(match[1])) return notFound(env, method, path);
  let instanceId;
  try {
    instanceId = decodeURIComponent(match[1]);
  } catch {
    instanceId = "";
  }
  if (!INSTANCE_ID.test(instanceId)) return errorResponse("bad_request", "invalid instance id");
  if (key === "POST /tokens") {
    return (await authorize(env, caller, instanceId, null)) ?? (await mintToken(request, env, instanceId));
  }
  // The allowlist: anything else (the Durable Object's internal routes among them) is no route.
  const scope = Object.hasOwn(INSTANCE_ROUTES, key) ? INSTANCE_ROUTES[key] : undefined;
  if (scope === undefined) return notFound(env, method, path);
  return (await authorize(env, caller, instanceId, scope)) ?? (await forwardToInstance(env, instanceId, subPath, request));
}

/** The admin routes that are not about one instance. */
async function fleetRoute(request, env, key, url) {
  switch (key) {
    case "POST /instances/create":
      return createInstance(request, env);
    case "GET /instances":
      return listRegistry(env, url.search);
    case "POST /instances/retry-failed":
      return retryFailed(env);
    case "GET /metrics":
      return new Response(renderMetrics(await registrySnapshot(env)), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" },
      });
    default:
      return notFound(env, request.method, url.pathname);
  }
}

/**
 * `POST /instances/retry-failed`: the "Troubleshoot / Retry" of every FAILED instance in the
 * registry (each instance's machine decides what a retry does), at most BULK_RETRY_MAX per call
 * and BULK_RETRY_PER_MINUTE calls a minute: a fleet-wide restart spends API quota.
 */
async function retryFailed(env) {
  const quota = await hitRateWindow(env, "retry-failed", bulkRetryPerMinute(env), MINUTE_MS);
  if (!quota.allowed) return rateLimited("a bulk retry ran moments ago; retry later", quota.retryAfterMs);
  const ids = [];
  let cursor = null;
  let total = 0;
  do {
    const search = `?status=FAILED&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const page = await (await listRegistry(env, search)).json();
    total = page.total;
    for (const row of page.instances) ids.push(row.instanceId);
    cursor = page.nextCursor;
  } while (cursor && ids.length < BULK_RETRY_MAX);
  const chosen = ids.slice(0, BULK_RETRY_MAX);
  const errors = [];
  let next = 0;
  const worker = async () => {
    while (next < chosen.length) {
      const instanceId = chosen[next++];
      try {
        const response = await instanceStub(env, instanceId).fetch(
          new Request(`${PUBLIC_ORIGIN}/retry`, { method: "POST", headers: { "x-instance-id": instanceId } }),
        );
        await response.body?.cancel();
        if (!response.ok) errors.push({ instanceId, httpStatus: response.status });
      } catch {
        errors.push({ instanceId, httpStatus: 500 });
      }
    }
  };
  await Promise.all(Array.from({ length: BULK_RETRY_CONCURRENCY }, worker));
  return json({ retried: chosen.length - errors.length, errors, remaining: Math.max(0, total - chosen.length) });
}

function rateLimited(message, retryAfterMs) {
  return json({ error: { code: "rate_limited", message } }, 429, { "retry-after": retryAfterHeader(retryAfterMs) });
}

function notFound(env, method, path) {
  return errorResponse("not_found", `no route for ${method} ${redact(env, path)}`);
}

function instanceStub(env, instanceId) {
  return env.INSTANCES.get(env.INSTANCES.idFromName(instanceId));
}

/** The Durable Object sees `PUBLIC_ORIGIN/<sub-path>`, the instance id and the body; no query and
 *  none of the caller's headers (its token stays here). */
async function forwardToInstance(env, instanceId, subPath, request) {
  const headers = new Headers({ "x-instance-id": instanceId });
  const init = { method: request.method, headers };
  if (request.method !== "GET" && request.method !== "HEAD") {
    const body = await readBodyCapped(request, MAX_JSON_BODY_BYTES);
    if (body === null) return tooLarge();
    headers.set("content-type", "application/json");
    init.body = body;
  }
  return instanceStub(env, instanceId).fetch(new Request(`${PUBLIC_ORIGIN}${subPath}`, init));
}

/** `POST /instances/{id}/tokens` (admin): an instance token for the operator's signed-in user. */
async function mintToken(request, env, instanceId) {
  const body = await readJsonBody(request);
  if (body === null) return errorResponse("bad_request", "the body must be a JSON object");
  const { scopes, ttlSeconds } = body;
  const minted = await mintInstanceToken({ ...instanceTokenKey(env), instanceId, scopes, ttlSeconds });
  return json(minted, 201);
}

async function createInstance(request, env) {
  const body = await readJsonBody(request);
  if (body === null) return errorResponse("bad_request", "the body must be a JSON object");
  // Every create spends the operator's API quota: a cap per hour across all callers.
  const quota = await hitRateWindow(env, "create", createRatePerHour(env), HOUR_MS);
  if (!quota.allowed) return rateLimited("too many instances created this hour", quota.retryAfterMs);
  const created = await apiClient(env).create();
  const instanceId = created.instanceId;
  if (typeof instanceId !== "string" || !INSTANCE_ID.test(instanceId)) {
    return errorResponse("server", "the API returned no usable instance id");
  }
  const sessionName = created.sessionName ?? created.session_name ?? created.name ?? null;
  const serverName = created.serverName ?? created.server_name ?? null;
  // The create answer's status (STOPPED) is the machine's first observation.
  const initialStatus = typeof created.status === "string" ? created.status : null;
  const adopt = { instanceId, serverName, sessionName, initialStatus, expectedJid: body.expectedJid ?? null };
  // Adopting is idempotent (an adopted object keeps its machine), so a failure is tried again;
  // if it still fails, the instance just created upstream is deleted: nothing may exist upstream
  // that this edge does not know (an orphan keeps spending the operator's quota).
  let failure = null;
  for (let attempt = 0; attempt < ADOPT_ATTEMPTS; attempt++) {
    failure = await adoptInstance(env, instanceId, adopt);
    if (failure === null) return json({ instanceId, serverName, sessionName }, 201);
  }
  const cleanup = await deleteUpstream(env, instanceId, sessionName);
  return errorResponse(
    "server",
    cleanup === null
      ? `the edge could not take over the new instance (${failure}); it was deleted upstream`
      : `the edge could not take over the new instance (${failure}) nor delete it upstream (${cleanup})`,
  );
}

/** null when the instance's Durable Object adopted it, else why not (its RPC method `adopt`). */
async function adoptInstance(env, instanceId, adopt) {
  try {
    await instanceStub(env, instanceId).adopt(instanceId, adopt);
    return null;
  } catch (err) {
    return redact(env, err instanceof Error ? err.message : String(err));
  }
}

/** Deletes an instance upstream that no object adopted; null when it is gone. When even that
 *  fails, its id goes into the registry with the error, so the operator sees it and can delete it. */
async function deleteUpstream(env, instanceId, sessionName) {
  let reason = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await apiClient(env, { instanceId, sessionName }).delete();
      return null;
    } catch (err) {
      if (err?.code === "not_found") return null;
      reason = redact(env, err?.message ?? String(err));
    }
  }
  const now = Date.now();
  await recordInRegistry(env, {
    row: {
      instanceId, sessionName, status: "UNKNOWN", atMs: now, version: now,
      lastError: { code: "server", message: `orphan: adopt and upstream delete failed (${reason})`, op: "create", atMs: now },
    },
  }).catch(() => {});
  return reason;
}

/** Signature headers the package verifies (WAHA, Wawp). */
const SIGNATURE_HEADERS = ["x-webhook-hmac", "x-wawp-signature"];

/**
 * Why a webhook may not be trusted (a 401 Response), or null when it may: signed with
 * WEBHOOK_SECRET; or sent to `/webhook/<WEBHOOK_PATH_TOKEN>` (then a signature, if present, must
 * still verify); or neither configured and ALLOW_UNSIGNED_WEBHOOKS = "true".
 */
async function webhookRefusal(raw, request, env, pathToken) {
  const secret = webhookSecret(env);
  const signed = SIGNATURE_HEADERS.some((name) => request.headers.has(name));
  if (pathToken !== null) {
    const expected = webhookPathToken(env);
    if (expected === null || !(await secretEquals(pathToken, expected))) return unauthorized("unknown webhook path");
    if (!(secret && signed)) return null;
  }
  if (secret) {
    return (await verifyWebhook(raw, request.headers, secret))
      ? null
      : errorResponse("bad_signature", "webhook signature missing or invalid");
  }
  if (allowUnsignedWebhooks(env) && !webhookPathToken(env)) return null;
  return unauthorized("webhooks are refused: set WEBHOOK_SECRET or WEBHOOK_PATH_TOKEN (docs/security.md)");
}

async function receiveWebhook(request, env, ctx, pathToken) {
  const raw = await readBodyCapped(request, MAX_WEBHOOK_BYTES);
  if (raw === null) return countRefusal(env, ctx, errorResponse("payload_too_large", "webhook body too large"));
  // The signature is checked over the raw bytes before anything reads them.
  const refusal = await webhookRefusal(raw, request, env, pathToken);
  if (refusal) return countRefusal(env, ctx, refusal);
  let events;
  try {
    // The body's one parse (in the wasm, from the raw bytes, so that its strict UTF-8 check sees
    // exactly what was signed). Its decoded reports are what the Durable Objects get: the event
    // ids and timestamps the machine deduplicates and orders by are fields of each report.
    events = await parseWebhooks(raw, request.headers, {
      maxBytes: MAX_WEBHOOK_BYTES,
      maxAgeMs: webhookMaxAgeMs(env),
    });
  } catch (err) {
    return countRefusal(env, ctx, errorResponseFrom(env, err));
  }
  // The package decides which events carry a session status: only those have a report.
  const reports = events.map((event) => event.report).filter(Boolean);
  ctx.waitUntil(deliverReports(env, reports));
  return json({ accepted: reports.length, ignored: events.length - reports.length }, 202);
}

/** Counts a refused webhook (`wawp_webhook_verification_failures_total{code}`) and returns the refusal. */
async function countRefusal(env, ctx, response) {
  const { error } = await response.clone().json();
  workerCounters.ctx = ctx;
  workerCounters.env = env;
  workerCounters.count("wawp_webhook_verification_failures_total", { code: error?.code ?? "unknown" });
  return response;
}

/**
 * Hands the decoded reports to their instances' Durable Objects through RPC (structured clone: no
 * JSON text, no second parse), one call per instance with its reports in body order.
 */
async function deliverReports(env, reports) {
  const byInstance = new Map();
  for (const report of reports) {
    let instanceId = report.instanceId ?? null;
    if (!instanceId && report.session) instanceId = (await instanceForSession(env, report.session)) ?? report.session;
    if (!instanceId || !INSTANCE_ID.test(instanceId)) continue;
    if (!byInstance.has(instanceId)) byInstance.set(instanceId, []);
    byInstance.get(instanceId).push(report);
  }
  await Promise.allSettled([...byInstance].map(([instanceId, batch]) => instanceStub(env, instanceId).receiveReports(batch)));
}
