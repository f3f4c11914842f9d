// Wawp v2 / WAHA session API simulator with fault injection. Zero dependencies (node:http, node:crypto,
// node:zlib). See sim/README.md for the API, the control API under /__sim/ and the fault switches.
import { createServer } from "node:http";
import { Clock } from "./clock.mjs";
import { SimLog, redactedPath } from "./log.mjs";
import { Random, defaultSeed } from "./random.mjs";
import { DEFAULT_TIMINGS, SimError, Sessions, RUNNING } from "./sessions.mjs";
import { DEFAULT_DELIVERY, WAHA_VERSION, WebhookDispatcher, receiverSpec } from "./webhooks.mjs";

export const MAX_BODY_BYTES = 1024 * 1024;
const DRAIN_LIMIT_BYTES = 16 * MAX_BODY_BYTES; // past this an oversized upload is cut off

export const DEFAULT_FAULTS = Object.freeze({
  hangStarting: false,
  flapping: false,
  staleStatus: false,
  burst429: null,
  rate5xx: 0,
  latencyMs: 0,
  webhookDrop: 0,
  webhookDuplicate: 0,
  webhookDelayMs: 0,
  webhookReorder: false,
  resendStarting: false,
  errorFormat: null,
  infoGetRefused: null,
  errorsAs200: false,
});

/** WAHA Core signs webhooks from this release on; earlier Core releases send no X-Webhook-Hmac. */
export const WAHA_CORE_HMAC_SINCE = "2024.11.5";
const WAHA_TIERS = new Set(["plus", "core"]);

/** "2024.10.8" < "2024.11.5": WAHA versions are year.month.patch. */
export function versionBefore(version, than) {
  const parts = (v) => String(v).split(".").map((n) => Number.parseInt(n, 10) || 0);
  const [a, b] = [parts(version), parts(than)];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  }
  return false;
}

const REASON = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  413: "Payload Too Large",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
};

/** Validates and applies a partial fault update; throws TypeError on a bad value or unknown switch. */
export function mergeFaults(current, update) {
  if (update === null || typeof update !== "object" || Array.isArray(update)) {
    throw new TypeError("faults must be a JSON object");
  }
  const next = { ...current };
  const probability = (v) => typeof v === "number" && v >= 0 && v <= 1;
  const duration = (v) => typeof v === "number" && Number.isFinite(v) && v >= 0;
  for (const [key, value] of Object.entries(update)) {
    switch (key) {
      case "hangStarting":
      case "flapping":
      case "staleStatus":
      case "webhookReorder":
      case "resendStarting":
      case "errorsAs200":
        if (typeof value !== "boolean") throw new TypeError(`${key} must be a boolean`);
        break;
      case "rate5xx":
      case "webhookDrop":
      case "webhookDuplicate":
        if (!probability(value)) throw new TypeError(`${key} must be a number between 0 and 1`);
        break;
      case "latencyMs":
      case "webhookDelayMs":
        if (!duration(value)) throw new TypeError(`${key} must be a non-negative number of ms`);
        break;
      case "burst429":
        if (value !== null) {
          const okCount = Number.isInteger(value?.count) && value.count >= 0;
          const okRetry = value?.retryAfterS === undefined || value.retryAfterS === null || duration(value.retryAfterS);
          if (!okCount || !okRetry) throw new TypeError("burst429 must be {count: n, retryAfterS: number|null} or null");
          next[key] = value.count === 0 ? null : { count: value.count, retryAfterS: value.retryAfterS ?? null };
          continue;
        }
        break;
      case "infoGetRefused":
        if (value !== null && value !== 405 && value !== 404) throw new TypeError("infoGetRefused must be 405, 404 or null");
        break;
      case "errorFormat":
        if (value !== null && value !== "xml" && value !== "text" && value !== "json") {
          throw new TypeError('errorFormat must be "xml", "text", "json" or null');
        }
        next[key] = value === "json" ? null : value;
        continue;
      default:
        throw new TypeError(`unknown fault switch '${key}'`);
    }
    next[key] = value;
  }
  return next;
}

function optionNumber(value, name, fallback) {
  if (value === undefined || value === null) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be a positive number`);
  return n;
}

function checkedDurations(values, group) {
  for (const [name, value] of Object.entries(values)) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`${group}.${name} must be a non-negative number`);
    }
  }
  return values;
}

/**
 * Starts the simulator on 127.0.0.1.
 * opts: {port=0, speed=1, seed, token="sim-token", flavor="wawp"|"waha", timings, webhooks, maxInstances=50,
 *        delivery: {retryBaseMs, maxAttempts, timeoutMs, reorderHoldMs}, maxLogEntries, onRequest(entry)}
 * Returns {url, close(), state}.
 */
export async function startSimulator(opts = {}) {
  const flavor = opts.flavor ?? "wawp";
  if (flavor !== "wawp" && flavor !== "waha") throw new RangeError('flavor must be "wawp" or "waha"');
  const wahaTier = opts.wahaTier ?? "plus";
  if (!WAHA_TIERS.has(wahaTier)) throw new RangeError('wahaTier must be "plus" or "core"');
  const wahaVersion = String(opts.wahaVersion ?? WAHA_VERSION);
  if (!/^\d{4}\.\d{1,2}\.\d{1,3}$/.test(wahaVersion)) throw new RangeError("wahaVersion must look like 2024.10.8");
  const core = flavor === "waha" && wahaTier === "core";
  const speed = optionNumber(opts.speed, "speed", 1);
  const seed = opts.seed ?? defaultSeed();
  const token = String(opts.token ?? "sim-token");
  const timings = checkedDurations({ ...DEFAULT_TIMINGS, ...(opts.timings ?? {}) }, "timings");
  if (!Number.isInteger(timings.qrCount) || timings.qrCount < 1) throw new RangeError("timings.qrCount must be an integer >= 1");
  const delivery = checkedDurations({ ...DEFAULT_DELIVERY, ...(opts.delivery ?? {}) }, "delivery");
  if (!Number.isInteger(delivery.maxAttempts) || delivery.maxAttempts < 1) {
    throw new RangeError("delivery.maxAttempts must be an integer >= 1");
  }
  const maxInstances = optionNumber(opts.maxInstances, "maxInstances", 50);
  const initialWebhooks = (opts.webhooks ?? []).map((w) => receiverSpec(w));

  const clock = new Clock(speed);
  const log = new SimLog(opts.maxLogEntries ?? 20000);
  const state = { flavor, wahaTier, wahaVersion, speed, seed, timings, faults: { ...DEFAULT_FAULTS }, log, closed: false };
  const streams = () => ({
    ids: new Random(seed, "ids"),
    faults: new Random(seed, "faults"),
    events: new Random(seed, "events"),
  });
  let random = streams();

  const dispatcher = new WebhookDispatcher({
    clock,
    random: random.events,
    faults: state.faults,
    log,
    flavor,
    delivery,
    environment: { version: wahaVersion, tier: wahaTier.toUpperCase() },
    signs: !(core && versionBefore(wahaVersion, WAHA_CORE_HMAC_SINCE)),
  });
  const sessions = new Sessions({
    clock,
    random: random.ids,
    faults: state.faults,
    timings,
    flavor,
    maxInstances,
    onEvent: (instance) =>
      dispatcher.publish({
        instanceId: instance.id,
        sessionName: instance.sessionName,
        status: sessions.reportedStatus(instance),
        me: sessions.me(instance),
        statuses: instance.history.map((h) => ({ ...h })),
        metadata: instance.metadata,
        qrDataUrl: sessions.reportedStatus(instance) === "SCAN_QR_CODE" ? sessions.qrDataUrl(instance) : null,
      }),
  });
  for (const spec of initialWebhooks) dispatcher.add(spec);
  Object.assign(state, { sessions, dispatcher, instances: sessions.instances });
  // WAHA Core has exactly one session, `default`, existing (STOPPED) from boot
  // (devlikeapro/waha src/core/manager.core.ts: `this.session = DefaultSessionStatus.STOPPED`).
  const bootCore = () => core && sessions.create({ name: CORE_SESSION });
  bootCore();

  /** Fault switches are one shared object: mutate in place so every component sees the change. */
  const setFaults = (next) => {
    for (const key of Object.keys(state.faults)) delete state.faults[key];
    Object.assign(state.faults, next);
  };

  const reset = () => {
    random = streams();
    sessions.reset(random.ids);
    dispatcher.clear();
    dispatcher.random = random.events;
    clock.clearAll();
    setFaults({ ...DEFAULT_FAULTS });
    log.clear();
    bootCore();
  };

  const api = flavor === "wawp" ? wawpApi : wahaApi;
  const deps = { state, sessions, dispatcher, clock, log, token, flavor, core, random: () => random, setFaults, reset };

  const server = createServer((req, res) => {
    handleRequest(req, res, deps, api).catch((err) => {
      // Last resort: a bug in the simulator must not take it down.
      console.error("[sim] request failed:", err);
      if (!res.headersSent) sendJson(res, 500, { error: { code: "internal_error", message: "simulator error" } });
      else res.destroy();
    });
  });
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    else socket.destroy();
  });
  server.keepAliveTimeout = 5000;
  deps.onRequest = typeof opts.onRequest === "function" ? opts.onRequest : null;

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address();

  let closing = null;
  const close = () => {
    closing ??= (async () => {
      state.closed = true;
      sessions.reset(random.ids);
      clock.clearAll();
      await dispatcher.close();
      clock.clearAll(); // retries scheduled while the last attempts settled
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    })();
    return closing;
  };

  return { url: `http://127.0.0.1:${port}`, close, state };
}

// ---------------------------------------------------------------------------------------------
// Request plumbing

async function handleRequest(req, res, deps, api) {
  let url;
  try {
    url = new URL(req.url ?? "/", "http://127.0.0.1");
  } catch {
    req.resume();
    sendJson(res, 400, { error: { code: "bad_request", message: "unparseable request target" } });
    return;
  }
  const receivedMs = Date.now();
  const body = await readBody(req);
  if (url.pathname === "/__sim" || url.pathname.startsWith("/__sim/")) {
    await controlApi(req, res, url, body, deps);
    return;
  }
  const ctx = { req, res, url, body, op: "other", instanceId: null, httpStatus: 0, outcome: "ok", deps };
  try {
    await api(ctx);
  } catch (err) {
    if (err instanceof SimError) replyError(ctx, err);
    else throw err;
  } finally {
    const entry = deps.log.request({
      t: receivedMs,
      method: req.method,
      path: redactedPath(url),
      op: ctx.op,
      instanceId: ctx.instanceId,
      httpStatus: ctx.httpStatus,
      outcome: ctx.outcome,
      durationMs: Date.now() - receivedMs,
    });
    deps.onRequest?.(entry);
  }
}

/** Reads at most MAX_BODY_BYTES; a larger body is drained (up to a limit) and flagged. */
function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        chunks.length = 0;
        if (size > DRAIN_LIMIT_BYTES) req.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    const done = () => resolve({ raw: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), tooLarge });
    req.on("end", done);
    req.on("error", done);
    req.on("close", done);
  });
}

/** Parses a JSON object body; empty → {}; anything else → null (malformed). */
function parseJsonObject(raw) {
  if (raw.length === 0 || raw.toString("utf8").trim() === "") return {};
  try {
    const value = JSON.parse(raw.toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function sendJson(res, status, body, headers = {}) {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function reply(ctx, status, body, headers = {}) {
  ctx.httpStatus = status;
  sendJson(ctx.res, status, body, headers);
}

function xmlEscape(s) {
  return String(s).replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * An error in the flavour's shape. `code` is the Wawp legacy-style code (also the log outcome).
 * 400s come as XML or plain text when the request asks (?format=xml|text) or the errorFormat fault is set.
 */
function replyFailure(ctx, status, code, message, headers = {}) {
  ctx.httpStatus = status;
  ctx.outcome = code;
  const { res } = ctx;
  if (status === 400) {
    const asked = ctx.url.searchParams.get("format");
    const format = asked === "xml" || asked === "text" ? asked : ctx.deps.state.faults.errorFormat;
    if (format === "xml") {
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<error><code>${xmlEscape(code)}</code><message>${xmlEscape(message)}</message></error>\n`;
      res.writeHead(400, { "content-type": "application/xml; charset=utf-8", "content-length": Buffer.byteLength(xml), ...headers });
      res.end(xml);
      return;
    }
    if (format === "text") {
      const text = `Bad Request: ${message}\n`;
      res.writeHead(400, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
      res.end(text);
      return;
    }
  }
  if (ctx.deps.flavor === "wawp" && ctx.deps.state.faults.errorsAs200 && status >= 400 && status < 500 && status !== 429 && status !== 413) {
    // Wawp's legacy endpoints answer some failures as 200 {"status":"error", ...} (wawp-api.md §8).
    sendJson(res, 200, { status: "error", code, message }, headers);
    return;
  }
  if (ctx.deps.flavor === "waha") {
    const body = status === 401 ? { message: "Unauthorized", statusCode: 401 } : { statusCode: status, message, error: REASON[status] ?? "Error" };
    sendJson(res, status, body, headers);
  } else {
    sendJson(res, status, { code, message }, headers);
  }
}

const ERROR_STATUS = {
  not_found: [404, "invalid_instance"],
  only_default: [422, "only_default"],
  wrong_status: [422, "invalid_status"],
  rate_limited: [429, "rate_limited"],
  quota: [403, "quota_exceeded"],
  exists: [422, "already_exists"],
  conflict: [409, "conflict"],
  bad_request: [400, "bad_request"],
};

function replyError(ctx, err) {
  const [status, code] = ERROR_STATUS[err.kind] ?? [500, "internal_error"];
  let message = err.message;
  if (err.kind === "not_found" && ctx.deps.flavor === "waha") {
    message = `We didn't find a session with name '${err.instanceId}'.\nPlease start it first by using POST /api/sessions/${err.instanceId}/start request`;
  }
  const headers = {};
  if (err.kind === "rate_limited") headers["retry-after"] = String(Math.ceil(err.retryAfterMs / 1000));
  replyFailure(ctx, status, err.code ?? code, message, headers);
}

/**
 * What every API request goes through before its handler: latency, oversized and malformed bodies,
 * injected 429 bursts and 5xx. Returns the parsed body, or null when a response was already sent.
 */
async function gate(ctx) {
  const { state, clock, random } = ctx.deps;
  if (state.faults.latencyMs > 0) await clock.sleep(state.faults.latencyMs);
  if (ctx.body.tooLarge) {
    replyFailure(ctx, 413, "payload_too_large", `Request body exceeds ${MAX_BODY_BYTES} bytes`, { connection: "close" });
    return null;
  }
  const burst = state.faults.burst429;
  if (burst && burst.count > 0) {
    burst.count -= 1;
    if (burst.count === 0) state.faults.burst429 = null;
    const headers = burst.retryAfterS === null ? {} : { "retry-after": String(burst.retryAfterS) };
    replyFailure(ctx, 429, "rate_limited", "Too many requests (simulated burst)", headers);
    ctx.outcome = "injected_429";
    return null;
  }
  if (random().faults.chance(state.faults.rate5xx)) {
    replyFailure(ctx, 500, "wawp_upstream_error", "Upstream engine error (simulated)");
    ctx.outcome = "injected_500";
    return null;
  }
  const json = parseJsonObject(ctx.body.raw);
  if (json === null) {
    replyFailure(ctx, 400, "invalid_json", "Request body is not a JSON object");
    return null;
  }
  return json;
}

// ---------------------------------------------------------------------------------------------
// Wawp v2

const WAWP_ROUTES = {
  "/v2/session/create": { op: "create", methods: ["POST"] },
  "/v2/session/start": { op: "start", methods: ["GET", "POST"] },
  "/v2/session/stop": { op: "stop", methods: ["GET", "POST"] },
  "/v2/session/restart": { op: "restart", methods: ["GET", "POST"] },
  "/v2/session/logout": { op: "logout", methods: ["GET", "POST"] },
  "/v2/session/delete": { op: "delete", methods: ["DELETE"] },
  "/v2/session/info": { op: "info", methods: ["GET", "POST"] },
  "/v2/session/me": { op: "me", methods: ["GET", "POST"] },
  "/v2/auth/qr": { op: "qr", methods: ["GET", "POST"] },
  "/v2/auth/qr-image": { op: "qr-image", methods: ["GET", "POST"] },
  "/v2/auth/request-code": { op: "request-code", methods: ["GET", "POST"] },
  "/v2/send/text": { op: "send", methods: ["POST"] },
};

function stringParam(ctx, json, name) {
  const fromQuery = ctx.url.searchParams.get(name);
  if (fromQuery !== null && fromQuery !== "") return fromQuery;
  const fromBody = json[name];
  return typeof fromBody === "string" && fromBody !== "" ? fromBody : typeof fromBody === "number" ? String(fromBody) : null;
}

async function wawpApi(ctx) {
  const route = Object.hasOwn(WAWP_ROUTES, ctx.url.pathname) ? WAWP_ROUTES[ctx.url.pathname] : null;
  if (!route || !route.methods.includes(ctx.req.method)) {
    replyFailure(ctx, 404, "not_found", `No route for ${ctx.req.method} ${ctx.url.pathname}`);
    return;
  }
  ctx.op = route.op;
  const refusal = ctx.deps.state.faults.infoGetRefused;
  if (route.op === "info" && ctx.req.method === "GET" && refusal !== null) {
    // A deployment that takes only POST /v2/session/info (Wawp's current docs): 405, or a
    // router's HTML 404 page.
    refuseMethod(ctx, refusal);
    return;
  }
  const json = await gate(ctx);
  if (json === null) return;
  const { sessions } = ctx.deps;
  const token = stringParam(ctx, json, "access_token") ?? ctx.req.headers["access-token"] ?? null;
  ctx.instanceId = stringParam(ctx, json, "instance_id");
  if (token !== ctx.deps.token) {
    replyFailure(ctx, 401, "invalid_access_token", "Invalid or missing access token");
    return;
  }
  if (route.op === "create") {
    const instance = sessions.create();
    ctx.instanceId = instance.id;
    reply(ctx, 200, {
      instance_id: instance.id,
      name: instance.sessionName,
      session_name: instance.sessionName,
      server_name: instance.serverName,
      status: instance.status,
    });
    return;
  }
  if (ctx.instanceId === null) {
    replyFailure(ctx, 400, "missing_parameter", "Missing required parameter: instance_id");
    return;
  }
  const id = ctx.instanceId;
  const session = (instance, extra = {}) => ({
    name: instance.sessionName,
    status: sessions.reportedStatus(instance),
    config: { webhooks: {}, proxy: null },
    me: sessions.me(instance),
    instance_id: instance.id,
    session_name: instance.sessionName,
    server_name: instance.serverName,
    ...extra,
  });
  switch (route.op) {
    case "start":
      reply(ctx, 200, session(sessions.start(id)));
      return;
    case "stop":
      reply(ctx, 200, session(sessions.stop(id)));
      return;
    case "restart":
      reply(ctx, 200, session(sessions.restart(id)));
      return;
    case "logout": {
      const instance = sessions.logout(id);
      reply(ctx, 200, { name: instance.sessionName, status: sessions.reportedStatus(instance), instance_id: instance.id });
      return;
    }
    case "delete": {
      const instance = sessions.delete(id);
      reply(ctx, 200, { name: instance.sessionName, status: "DELETED", instance_id: instance.id });
      return;
    }
    case "info": {
      const instance = sessions.get(id);
      const scanning = sessions.reportedStatus(instance) === "SCAN_QR_CODE";
      const qr = scanning ? sessions.qrDataUrl(instance) : null;
      reply(ctx, 200, session(instance, qr ? { qr } : {}));
      return;
    }
    case "me":
      reply(ctx, 200, sessions.me(sessions.get(id)));
      return;
    case "qr": {
      const value = sessions.qrValue(id);
      const expiry = Math.floor(sessions.get(id).qr.expiresAtMs / 1000);
      const data = Buffer.from(JSON.stringify({ value, expiry })).toString("base64");
      reply(ctx, 200, { value, mimetype: "application/json", data });
      return;
    }
    case "qr-image": {
      sessions.qrValue(id);
      reply(ctx, 200, { qr: sessions.qrDataUrl(sessions.get(id)) });
      return;
    }
    case "request-code": {
      const phone = (stringParam(ctx, json, "phone_number") ?? "").replace(/\D/g, "");
      sessions.get(id);
      if (phone === "") {
        replyFailure(ctx, 400, "missing_parameter", "Missing required parameter: phone_number");
        return;
      }
      reply(ctx, 200, { code: sessions.requestCode(id) });
      return;
    }
    case "send": {
      // "Required params: instance_id, access_token, chatId, message" (Wawp docs, send text);
      // `text` is WAHA's name and is not accepted here.
      const chatId = stringParam(ctx, json, "chatId");
      const text = stringParam(ctx, json, "message");
      sessions.get(id);
      if (!chatId || text === null) {
        replyFailure(ctx, 400, "missing_parameter", `Missing required parameter: ${chatId ? "message" : "chatId"}`);
        return;
      }
      const messageId = sessions.send(id, chatId);
      ctx.deps.log.delivery({ instanceId: id, chatId, text, messageId });
      reply(ctx, 200, { id: messageId, status: "sent" });
      return;
    }
    default:
      replyFailure(ctx, 404, "not_found", `No route for ${ctx.req.method} ${ctx.url.pathname}`);
  }
}

// ---------------------------------------------------------------------------------------------
// WAHA

function refuseMethod(ctx, status) {
  ctx.httpStatus = status;
  ctx.outcome = status === 405 ? "method_not_allowed" : "not_found";
  const text = status === 405 ? "" : `<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>Cannot ${ctx.req.method} ${ctx.url.pathname}</p></body></html>\n`;
  const headers = { "content-length": Buffer.byteLength(text) };
  if (status === 405) headers.allow = "POST";
  else headers["content-type"] = "text/html; charset=utf-8";
  ctx.res.writeHead(status, headers);
  ctx.res.end(text);
}

function segment(value) {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

function wahaRoute(method, path) {
  let m;
  if (path === "/api/sessions" || path === "/api/sessions/") {
    if (method === "GET") return { op: "info", handler: "list" };
    if (method === "POST") return { op: "create", handler: "create" };
    return null;
  }
  if ((m = /^\/api\/sessions\/([^/]+)$/.exec(path))) {
    if (method === "GET") return { op: "info", handler: "info", session: m[1] };
    if (method === "DELETE") return { op: "delete", handler: "delete", session: m[1] };
    return null;
  }
  if ((m = /^\/api\/sessions\/([^/]+)\/(start|stop|restart|logout)$/.exec(path))) {
    return method === "POST" ? { op: m[2], handler: m[2], session: m[1] } : null;
  }
  if ((m = /^\/api\/sessions\/([^/]+)\/me$/.exec(path))) {
    return method === "GET" ? { op: "me", handler: "me", session: m[1] } : null;
  }
  if ((m = /^\/api\/([^/]+)\/auth\/qr$/.exec(path))) {
    return method === "GET" ? { op: "qr", handler: "qr", session: m[1] } : null;
  }
  if ((m = /^\/api\/([^/]+)\/auth\/request-code$/.exec(path))) {
    return method === "POST" ? { op: "request-code", handler: "request-code", session: m[1] } : null;
  }
  if (path === "/api/sendText" && method === "POST") return { op: "send", handler: "send" };
  return null;
}

async function wahaApi(ctx) {
  const route = wahaRoute(ctx.req.method, ctx.url.pathname);
  if (!route) {
    replyFailure(ctx, 404, "not_found", `Cannot ${ctx.req.method} ${ctx.url.pathname}`);
    return;
  }
  ctx.op = route.op;
  if (route.handler === "qr" && (ctx.url.searchParams.get("format") ?? "image") !== "raw") ctx.op = "qr-image";
  const sessionName = route.session === undefined ? null : segment(route.session);
  if (route.session !== undefined && sessionName === null) {
    replyFailure(ctx, 400, "bad_request", "Malformed session name in path");
    return;
  }
  ctx.instanceId = sessionName;
  const json = await gate(ctx);
  if (json === null) return;
  if (ctx.req.headers["x-api-key"] !== ctx.deps.token) {
    replyFailure(ctx, 401, "unauthorized", "Unauthorized");
    return;
  }
  if (ctx.deps.core) {
    const named = route.handler === "create" ? (json.name ?? "") : route.handler === "send" ? (json.session ?? CORE_SESSION) : sessionName;
    if (named !== null && named !== CORE_SESSION) throw onlyDefault(String(named));
  }
  const { sessions } = ctx.deps;
  const dto = (instance) => ({ name: instance.sessionName, status: sessions.reportedStatus(instance), config: wahaConfig(instance) });
  switch (route.handler) {
    case "list": {
      const all = ctx.url.searchParams.get("all") === "true";
      const list = [...sessions.instances.values()].filter((i) => all || RUNNING.has(i.status));
      reply(ctx, 200, list.map((i) => wahaSessionInfo(sessions, i)));
      return;
    }
    case "create": {
      const problem = validateWahaCreate(json);
      if (problem) {
        replyFailure(ctx, 400, "bad_request", problem);
        return;
      }
      const hooks = json.config?.webhooks ?? [];
      const instance = sessions.create({
        name: json.name,
        start: json.start !== false,
        metadata: json.config?.metadata ?? null,
        webhooks: hooks.map((h) => ({ url: h.url, events: h.events, hmac: h.hmac ? { key: h.hmac.key } : null })),
      });
      ctx.instanceId = instance.id;
      for (const hook of hooks) {
        if (Array.isArray(hook.events) && (hook.events.includes("session.status") || hook.events.includes("*"))) {
          ctx.deps.dispatcher.add({ url: hook.url, shape: "waha", hmacKey: hook.hmac?.key, instanceId: instance.id });
        }
      }
      reply(ctx, 201, dto(instance));
      return;
    }
    case "info":
      reply(ctx, 200, wahaSessionInfo(sessions, sessions.get(sessionName)));
      return;
    case "delete":
      if (sessions.instances.has(sessionName)) {
        sessions.delete(sessionName);
        ctx.deps.dispatcher.clear(sessionName);
      }
      ctx.httpStatus = 200;
      ctx.res.writeHead(200, { "content-length": 0 });
      ctx.res.end();
      return;
    case "start":
    case "stop":
    case "restart":
    case "logout":
      reply(ctx, 201, dto(sessions[route.handler](sessionName)));
      return;
    case "me": {
      const me = sessions.me(sessions.get(sessionName));
      if (me !== null) {
        reply(ctx, 200, me);
        return;
      }
      // NestJS sends a handler's null as a 200 with an empty body (seen on WAHA 2024.10.8).
      ctx.httpStatus = 200;
      ctx.res.writeHead(200, { "content-length": 0 });
      ctx.res.end();
      return;
    }
    case "qr": {
      const value = sessions.qrValue(sessionName);
      if (ctx.op === "qr") {
        reply(ctx, 200, { value });
        return;
      }
      const png = Buffer.from(sessions.qrDataUrl(sessions.get(sessionName)).split(",")[1], "base64");
      if ((ctx.req.headers.accept ?? "").includes("application/json")) {
        reply(ctx, 200, { mimetype: "image/png", data: png.toString("base64") });
        return;
      }
      ctx.httpStatus = 200;
      ctx.res.writeHead(200, { "content-type": "image/png", "content-length": png.length, "cache-control": "no-store" });
      ctx.res.end(png);
      return;
    }
    case "request-code": {
      sessions.get(sessionName);
      const phone = typeof json.phoneNumber === "string" ? json.phoneNumber.replace(/\D/g, "") : "";
      if (phone === "") {
        replyFailure(ctx, 400, "bad_request", "phoneNumber must be a string of digits");
        return;
      }
      reply(ctx, 201, { code: sessions.requestCode(sessionName) });
      return;
    }
    case "send": {
      const session = typeof json.session === "string" && json.session !== "" ? json.session : "default";
      ctx.instanceId = session;
      if (typeof json.chatId !== "string" || json.chatId === "" || typeof json.text !== "string") {
        replyFailure(ctx, 400, "bad_request", "chatId and text must be strings");
        return;
      }
      const instance = sessions.get(session);
      const messageId = sessions.send(session, json.chatId);
      ctx.deps.log.delivery({ instanceId: session, chatId: json.chatId, text: json.text, messageId });
      reply(ctx, 201, {
        id: messageId,
        timestamp: Math.floor(Date.now() / 1000),
        from: instance.me?.id ?? "",
        fromMe: true,
        source: "api",
        to: json.chatId,
        participant: "",
        body: json.text,
        hasMedia: false,
        mediaUrl: "",
        ack: 1,
        ackName: "SERVER",
      });
      return;
    }
    default:
      replyFailure(ctx, 404, "not_found", `Cannot ${ctx.req.method} ${ctx.url.pathname}`);
  }
}

const CORE_SESSION = "default";

/** devlikeapro/waha src/core/manager.core.ts, OnlyDefaultSessionIsAllowed. */
function onlyDefault(name) {
  const encoded = Buffer.from(name, "utf-8").toString("base64");
  return new SimError(
    "only_default",
    `WAHA Core support only 'default' session. You tried to access '${name}' session (base64: ${encoded}). ` +
      "If you want to run more then one WhatsApp account - please get WAHA PLUS version. Check this out: https://waha.devlike.pro/docs/how-to/plus-version/",
  );
}

function wahaConfig(instance) {
  const config = {
    debug: false,
    webhooks: instance.webhooks.map((h) => ({
      url: h.url,
      events: h.events,
      ...(h.hmac ? { hmac: { key: "REDACTED" } } : {}), // the key itself never leaves the simulator
    })),
  };
  if (instance.metadata) config.metadata = instance.metadata;
  return config;
}

function wahaSessionInfo(sessions, instance) {
  return {
    name: instance.sessionName,
    status: sessions.reportedStatus(instance),
    config: wahaConfig(instance),
    me: sessions.me(instance),
    presence: {},
    timestamps: { activity: instance.lastActivityMs },
    engine: { engine: "WEBJS" },
  };
}

function validateWahaCreate(json) {
  if (json.name !== undefined && (typeof json.name !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(json.name))) {
    return "name must be 1-64 characters of letters, digits, '_', '.', '-'";
  }
  if (json.start !== undefined && typeof json.start !== "boolean") return "start must be a boolean";
  const config = json.config;
  if (config === undefined || config === null) return null;
  if (typeof config !== "object" || Array.isArray(config)) return "config must be an object";
  if (config.webhooks !== undefined) {
    if (!Array.isArray(config.webhooks)) return "config.webhooks must be an array";
    for (const hook of config.webhooks) {
      if (hook === null || typeof hook !== "object" || !Array.isArray(hook.events)) return "each webhook needs url and events[]";
      try {
        receiverSpec({ url: hook.url, hmacKey: hook.hmac?.key });
      } catch (err) {
        return err.message;
      }
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Control API (/__sim/...): no token, no faults, not in the request log.

function instanceView(sessions, instance) {
  return {
    instance_id: instance.id,
    session_name: instance.sessionName,
    server_name: instance.serverName,
    status: instance.status,
    reportedStatus: sessions.reportedStatus(instance),
    paired: instance.paired,
    jid: instance.me?.id ?? null,
    me: instance.me,
    qr: instance.qr?.value ?? null,
    qrIndex: instance.qr?.index ?? null,
    pairingCode: instance.pairingCode,
    hung: instance.hung,
    statuses: instance.history,
  };
}

async function controlApi(req, res, url, body, deps) {
  const { sessions, dispatcher, state } = deps;
  const fail = (status, code, message) => sendJson(res, status, { error: { code, message } });
  if (body.tooLarge) return fail(413, "payload_too_large", `Request body exceeds ${MAX_BODY_BYTES} bytes`);
  const json = parseJsonObject(body.raw);
  if (json === null) return fail(400, "invalid_json", "Request body is not a JSON object");
  const path = url.pathname.replace(/\/+$/, "");
  const method = req.method;
  try {
    let m;
    if (path === "/__sim/instances" && method === "POST") {
      return sendJson(res, 201, instanceView(sessions, sessions.seed(json)));
    }
    if (path === "/__sim/instances" && method === "GET") {
      return sendJson(res, 200, [...sessions.instances.values()].map((i) => instanceView(sessions, i)));
    }
    if ((m = /^\/__sim\/instances\/([^/]+)$/.exec(path)) && method === "GET") {
      return sendJson(res, 200, instanceView(sessions, sessions.get(segment(m[1]))));
    }
    if ((m = /^\/__sim\/instances\/([^/]+)\/(scan|unlink|fail)$/.exec(path)) && method === "POST") {
      const id = segment(m[1]);
      const instance = m[2] === "scan" ? sessions.scan(id, json.jid) : sessions[m[2]](id);
      return sendJson(res, 200, instanceView(sessions, instance));
    }
    if (path === "/__sim/faults" && method === "GET") return sendJson(res, 200, state.faults);
    if (path === "/__sim/faults" && method === "POST") {
      deps.setFaults(mergeFaults(state.faults, json));
      sessions.faultsChanged();
      return sendJson(res, 200, state.faults);
    }
    if (path === "/__sim/webhooks" && method === "GET") return sendJson(res, 200, dispatcher.describe());
    if (path === "/__sim/webhooks" && method === "POST") {
      dispatcher.add(json);
      return sendJson(res, 201, dispatcher.describe());
    }
    if (path === "/__sim/webhooks" && method === "DELETE") {
      dispatcher.clear();
      return sendJson(res, 200, dispatcher.describe());
    }
    if (path === "/__sim/log" && method === "GET") {
      const since = Number(url.searchParams.get("since") ?? 0);
      return sendJson(res, 200, deps.log.snapshot(Number.isFinite(since) ? since : 0));
    }
    if (path === "/__sim/reset" && method === "POST") {
      deps.reset();
      return sendJson(res, 200, { reset: true });
    }
    if (path === "/__sim/info" && method === "GET") {
      const { flavor, wahaTier, wahaVersion, speed, seed, timings } = state;
      return sendJson(res, 200, { flavor, wahaTier, wahaVersion, speed, seed, timings });
    }
    return fail(404, "not_found", `No control route for ${method} ${url.pathname}`);
  } catch (err) {
    if (err instanceof SimError) {
      const status = { not_found: 404, conflict: 409, exists: 409, bad_request: 400 }[err.kind] ?? 422;
      return fail(status, err.kind, err.message);
    }
    if (err instanceof TypeError || err instanceof RangeError) return fail(400, "bad_request", err.message);
    throw err;
  }
}
