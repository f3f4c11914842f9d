// Everything the worker reads from its environment, in one place. Secrets (access token, API key,
// webhook secret) are only ever read here and handed to the package; `redact` scrubs them from any
// text that could reach a response, a log line or storage.

import { WawpClient } from "wawp-session";

/** The machine's timing defaults (ms) that `TIMING_SCALE` divides, so tests and the demo can run
 *  against a `--speed N` simulator with the same ratios as production. */
const SCALED_TIMINGS = {
  startingTimeoutMs: 60_000,
  failedRestartDelayMs: 30_000,
  debounceMs: 10_000,
  reconcileShortMs: 15_000,
  reconcileLongMs: 300_000,
};

export function timingScale(env) {
  const scale = Number(env.TIMING_SCALE ?? 1);
  return Number.isFinite(scale) && scale > 0 ? scale : 1;
}

/** Replay window for signed webhooks: an event dated more than this far from now (by its own
 *  timestamp) is refused as `stale_event`, so a captured delivery cannot be replayed later. Wide
 *  enough for the senders' own retries (WAHA: 15 × 2 s; exponential ≈ minutes). Real time, never
 *  scaled: the simulator dates its events with the wall clock. */
export function webhookMaxAgeMs(env) {
  const ms = Number(env.WEBHOOK_MAX_AGE_MS ?? 15 * 60_000);
  return Number.isFinite(ms) && ms > 0 ? ms : 15 * 60_000;
}

/** Machine options for a new instance; `expectedJid` comes from the create request. */
export function machineOptions(env, { expectedJid } = {}) {
  const scale = timingScale(env);
  const opts = {};
  for (const [name, ms] of Object.entries(SCALED_TIMINGS)) opts[name] = Math.max(1, Math.round(ms / scale));
  const maxAutoRestarts = Number(env.MAX_AUTO_RESTARTS);
  if (Number.isInteger(maxAutoRestarts) && maxAutoRestarts >= 0) opts.maxAutoRestarts = maxAutoRestarts;
  if (expectedJid) opts.expectedJid = String(expectedJid);
  const weekday = integerIn(env.MAINTENANCE_WEEKDAY, 0, 6);
  const hourUtc = integerIn(env.MAINTENANCE_HOUR_UTC, 0, 23);
  if (weekday !== null && hourUtc !== null) opts.maintenance = { weekday, hourUtc };
  return opts;
}

function integerIn(value, min, max) {
  if (value === undefined || value === null || value === "") return null;
  const n = Number(value);
  return Number.isInteger(n) && n >= min && n <= max ? n : null;
}

export function flavor(env) {
  return env.WAWP_FLAVOR === "waha" ? "waha" : "wawp";
}

/** Retries of the requests the worker makes outside the machine (QR image, pairing code, create,
 *  delete): idempotent ones only, as the client's `mayRetry` allows. */
const DIRECT_RETRY = { baseMs: 250, capMs: 4000, maxAttempts: 3 };

/**
 * A client for one instance (or, without `instanceId`, for `create`). With `forMachine` (the
 * machine's calls and every send), it never retries: the lifecycle machine owns those retries
 * (backoff + Retry-After through the alarm, a send's attempt budget), so a Durable Object never
 * sleeps inside a request and a message is never sent on a decision made outside the machine.
 */
export function apiClient(env, { instanceId, sessionName, forMachine = false } = {}) {
  const opts = {
    accessToken: String(env.WAWP_ACCESS_TOKEN ?? ""),
    baseUrl: env.WAWP_BASE_URL || undefined,
    flavor: flavor(env),
    timeoutMs: Number(env.API_TIMEOUT_MS) > 0 ? Number(env.API_TIMEOUT_MS) : undefined,
    retry: forMachine ? false : DIRECT_RETRY,
  };
  if (instanceId) opts.instanceId = instanceId;
  const session = sessionName || env.WAHA_SESSION || (opts.flavor === "waha" ? instanceId : undefined);
  if (session) opts.session = session;
  return new WawpClient(opts);
}

function secrets(env) {
  return [env.WAWP_ACCESS_TOKEN, env.WEBHOOK_SECRET, env.ADMIN_TOKEN, env.TOKEN_SIGNING_KEY, env.WEBHOOK_PATH_TOKEN]
    .filter((s) => typeof s === "string" && s.length >= 4);
}

// ---------------------------------------------------------------- access control (docs/security.md)

/** Shorter secrets count as unset: a guessable admin token or path token protects nothing. */
const MIN_SECRET_CHARS = 16;

function secret(value) {
  return typeof value === "string" && value.length >= MIN_SECRET_CHARS ? value : null;
}

/** The admin bearer token; null = nobody is admin (every /instances route answers 401). */
export function adminToken(env) {
  return secret(env.ADMIN_TOKEN);
}

/** The key instance tokens are signed with, as `mintInstanceToken` / `verifyInstanceToken` take
 *  it: TOKEN_SIGNING_KEY, else derived from ADMIN_TOKEN (the package decides how); null = none. */
export function instanceTokenKey(env) {
  const signingKey = secret(env.TOKEN_SIGNING_KEY);
  if (signingKey) return { signingKey };
  const admin = adminToken(env);
  return admin ? { adminToken: admin } : null;
}

export function webhookSecret(env) {
  return typeof env.WEBHOOK_SECRET === "string" && env.WEBHOOK_SECRET !== "" ? env.WEBHOOK_SECRET : null;
}

/** The secret path segment of `POST /webhook/<token>`, for senders that cannot sign. */
export function webhookPathToken(env) {
  return secret(env.WEBHOOK_PATH_TOKEN);
}

/** Unverified webhooks only when the operator said so explicitly. */
export function allowUnsignedWebhooks(env) {
  return env.ALLOW_UNSIGNED_WEBHOOKS === "true";
}

export function sendRatePerMinute(env) {
  return positiveInteger(env.SEND_RATE_PER_MINUTE, 60);
}

export function createRatePerHour(env) {
  return positiveInteger(env.CREATE_RATE_PER_HOUR, 30);
}

/** `POST /instances/retry-failed` calls per minute (each may restart hundreds of instances). */
export function bulkRetryPerMinute(env) {
  return positiveInteger(env.BULK_RETRY_PER_MINUTE, 1);
}

/**
 * Test-only fault: makes an instance object's adopt fail, so the tests can show that a failed
 * adopt leaves no upstream instance behind. "once" fails the first adopt an object sees, "always"
 * every one; unset in every deployment (wrangler.toml does not name it).
 */
export function adoptFault(env, object) {
  if (env.TEST_ADOPT_FAULT === "always") return true;
  if (env.TEST_ADOPT_FAULT !== "once" || object.adoptFaultSpent) return false;
  object.adoptFaultSpent = true;
  return true;
}

/** Browser origins allowed to call the worker (CORS); none by default. */
export function allowedOrigins(env) {
  return String(env.ALLOWED_ORIGINS ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter((origin) => origin !== "");
}

function positiveInteger(value, fallback) {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** Removes every configured secret from `text` (defence in depth: the package already promises
 *  token-free errors, this worker promises it again for everything it writes anywhere). */
export function redact(env, text) {
  let out = String(text ?? "");
  for (const secret of secrets(env)) out = out.split(secret).join("[redacted]");
  return out;
}
