// WawpClient: the I/O half of the HTTP client. The Rust core decides which request each
// operation is (`buildRequest`), what a response means (`classifyResponse`), whether a failed
// answer calls for one more request (`followUp`) and whether a failed call may be sent again
// (`mayRetry`); this file only adds credentials, runs fetch with a timeout, sleeps between
// attempts and makes sure no token ever leaves in an error.
// Runtime surface: fetch, AbortController, setTimeout, URL — browsers, workers, Node, workerd.

import {
  Backoff,
  __buildRequest as buildRequest,
  __classifyResponse as classifyResponse,
  __followUp as followUp,
  __mayRetry as mayRetry,
} from "./bindings.js";
import { WawpError } from "./error.js";

const DEFAULT_BASE_URL = "https://api.wawp.net";
const DEFAULT_TIMEOUT_MS = 15_000;
const FLAVORS = ["wawp", "waha"];
const REDACTED = "[redacted]";
/** Rotated-away tokens kept for redaction; rotation is rare, the cap only bounds a pathological caller. */
const MAX_REMEMBERED_TOKENS = 64;
/** Error codes of a request that never left this machine (undici puts them on `cause.code`). */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EAI_NONAME"]);
/** Transport errors of requests that certainly never reached the server (safe to resend). */
const certainlyNotSent = new WeakSet();

/**
 * The public method name → the core's operation name. One place, so the two vocabularies
 * (API.md method names, core op names) meet only here.
 */
const OPS = Object.freeze({
  create: "create",
  start: "start",
  stop: "stop",
  restart: "restart",
  logout: "logout",
  delete: "delete",
  info: "info",
  me: "me",
  qr: "qr",
  qrImage: "qrImage",
  requestCode: "requestCode",
  sendText: "sendText",
});

export class WawpClient {
  #token;
  /** Every token this client has held, current included: all are redacted from errors. */
  #tokens = new Set();
  #instanceId;
  #session;
  #flavor;
  #baseUrl;
  #timeoutMs;
  #retry;
  #fetch;
  /** op → the method a follow-up told this client to keep (Wawp `info` → POST). */
  #methods = new Map();

  /** @param {import("./client.d.ts").WawpClientOptions} opts */
  constructor(opts) {
    if (opts === null || typeof opts !== "object") {
      throw new WawpError("invalid_option", "WawpClient needs an options object");
    }
    const flavor = opts.flavor ?? "wawp";
    if (!FLAVORS.includes(flavor)) {
      throw new WawpError("invalid_option", `flavor must be "wawp" or "waha"`);
    }
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (typeof timeoutMs !== "number" || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      throw new WawpError("invalid_option", "timeoutMs must be a positive number");
    }
    const fetchFn = opts.fetch ?? globalThis.fetch;
    if (typeof fetchFn !== "function") {
      throw new WawpError("invalid_option", "no fetch: pass opts.fetch");
    }
    if (opts.retry !== false && opts.retry !== undefined && (opts.retry === null || typeof opts.retry !== "object")) {
      throw new WawpError("invalid_option", "retry must be backoff options or false");
    }
    const baseUrl = String(opts.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    try {
      new URL(baseUrl);
    } catch {
      throw new WawpError("invalid_option", "baseUrl is not an absolute URL");
    }
    if (opts.retry) {
      // Validate the backoff options now, not on the first failure.
      freeWasm(new Backoff(opts.retry));
    }
    this.#flavor = flavor;
    this.#timeoutMs = timeoutMs;
    this.#fetch = fetchFn;
    this.#retry = opts.retry === false ? false : (opts.retry ?? {});
    this.#baseUrl = baseUrl;
    this.#instanceId = optionalString(opts.instanceId, "instanceId");
    this.#session = optionalString(opts.session, "session");
    this.setAccessToken(opts.accessToken);
  }

  /** The instance this client talks to (adopted from `create()` when none was given). */
  get instanceId() {
    return this.#instanceId;
  }

  get flavor() {
    return this.#flavor;
  }

  /** Rotation without a new client; the old token stays on the redaction list. */
  setAccessToken(token) {
    if (typeof token !== "string" || token.length === 0) {
      throw new WawpError("invalid_option", "accessToken must be a non-empty string");
    }
    this.#token = token;
    this.#tokens.delete(token);
    this.#tokens.add(token);
    while (this.#tokens.size > MAX_REMEMBERED_TOKENS) {
      const oldest = this.#tokens.values().next().value;
      this.#tokens.delete(oldest);
    }
  }

  async create() {
    const result = await this.#call(OPS.create, {});
    if (this.#instanceId === undefined && result && typeof result.instanceId === "string") {
      this.#instanceId = result.instanceId;
    }
    return result;
  }

  start() {
    return this.#call(OPS.start, {});
  }

  stop() {
    return this.#call(OPS.stop, {});
  }

  restart() {
    return this.#call(OPS.restart, {});
  }

  logout() {
    return this.#call(OPS.logout, {});
  }

  delete() {
    return this.#call(OPS.delete, {});
  }

  info() {
    return this.#call(OPS.info, {});
  }

  me() {
    return this.#call(OPS.me, {});
  }

  qr() {
    return this.#call(OPS.qr, {});
  }

  qrImage() {
    return this.#call(OPS.qrImage, {});
  }

  requestCode(phoneNumber) {
    return this.#call(OPS.requestCode, { phoneNumber });
  }

  sendText(chatId, text) {
    return this.#call(OPS.sendText, { chatId, text });
  }

  /** One operation: build (core) → attempts with backoff → result, or a redacted WawpError. */
  async #call(op, extraArgs) {
    let backoff;
    try {
      const args = { instanceId: this.#instanceId, session: this.#session, ...extraArgs };
      for (;;) {
        let error;
        try {
          return await this.#exchange(op, args);
        } catch (err) {
          error = asWawpError(err, op);
        }
        const maybeDelivered = !certainlyNotSent.has(error);
        if (this.#retry === false || !mayRetry(op, error.code, maybeDelivered)) throw error;
        backoff ??= new Backoff(this.#retry);
        const delayMs = backoff.next(error.retryAfterMs);
        if (delayMs === undefined) throw error;
        await sleep(delayMs);
      }
    } catch (err) {
      throw this.#redact(asWawpError(err, op));
    } finally {
      freeWasm(backoff);
    }
  }

  /** The core's request for `op`, with the method a follow-up told this client to keep. */
  #request(op, args) {
    const spec = buildRequest(this.#flavor, op, args);
    const method = this.#methods.get(op);
    if (method !== undefined) spec.method = method;
    return spec;
  }

  /**
   * One attempt of an operation: its request and, when the core says the failed answer calls
   * for it, the one follow-up request (whose answer is final).
   */
  async #exchange(op, args) {
    const spec = this.#request(op, args);
    const answer = await this.#fetchAnswer(op, spec);
    try {
      return classifyResponse(op, answer.status, answer.retryAfter, answer.body, Date.now());
    } catch (err) {
      const next = followUp(this.#flavor, op, spec.method, answer.status, answer.body);
      if (next === undefined) throw err;
      if (next.method !== undefined) this.#methods.set(next.op, next.method);
      const again = await this.#fetchAnswer(op, this.#request(next.op, args));
      return classifyResponse(next.answerAs, again.status, again.retryAfter, again.body, Date.now());
    }
  }

  /**
   * One HTTP exchange → `{status, retryAfter, body}`. A transport failure that certainly never
   * reached the server is marked in `certainlyNotSent`, so the retry decision may resend even
   * non-idempotent calls.
   */
  async #fetchAnswer(op, spec) {
    const url = new URL(this.#baseUrl + spec.path);
    for (const [name, value] of spec.query ?? []) url.searchParams.append(name, value);
    const headers = { Accept: "application/json" };
    let body;
    if (typeof spec.body === "string") body = spec.body;
    else if (spec.body !== undefined && spec.body !== null) body = JSON.stringify(spec.body);
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (spec.auth === "header") headers["X-Api-Key"] = this.#token;
    else url.searchParams.set("access_token", this.#token);

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
    let status;
    let retryAfter;
    let bodyText;
    const fetchFn = this.#fetch; // a plain call: a bound-to-nothing `fetch` must not see `this`
    try {
      const response = await fetchFn(url.toString(), {
        method: spec.method,
        headers,
        body,
        signal: controller.signal,
      });
      status = response.status;
      retryAfter = response.headers.get("retry-after");
      bodyText = await bodyOf(response);
    } catch (err) {
      if (controller.signal.aborted) {
        throw new WawpError("timeout", `${op}: no complete response within ${this.#timeoutMs} ms`, { op });
      }
      const notSent = transportCodes(err).find((code) => NOT_SENT_CODES.has(code));
      if (notSent === undefined) {
        throw new WawpError("network", `${op}: network error, the request may have been delivered`, { op });
      }
      const error = new WawpError("network", `${op}: request not sent (${notSent})`, { op });
      certainlyNotSent.add(error);
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return { status, retryAfter, body: bodyText };
  }

  /** Removes every token this client ever held from every string property of the error. */
  #redact(error) {
    const secrets = [];
    for (const token of this.#tokens) {
      secrets.push(token);
      const encoded = encodeURIComponent(token);
      if (encoded !== token) secrets.push(encoded);
    }
    for (const key of Object.getOwnPropertyNames(error)) {
      const value = error[key];
      if (typeof value !== "string") continue;
      let clean = value;
      for (const secret of secrets) clean = clean.split(secret).join(REDACTED);
      if (clean !== value) error[key] = clean; // plain assignment keeps message/stack non-enumerable
    }
    return error;
  }
}

function optionalString(value, name) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value.length === 0) {
    throw new WawpError("invalid_option", `${name} must be a non-empty string`);
  }
  return value;
}

/** Anything thrown becomes a WawpError; a foreign error keeps only its message. */
function asWawpError(err, op) {
  if (err instanceof WawpError) {
    if (err.op === undefined) err.op = op;
    return err;
  }
  if (err && typeof err === "object" && typeof err.code === "string" && typeof err.message === "string") {
    // A wasm-built error whose class was not registered: same shape, rebuilt as WawpError.
    return new WawpError(err.code, err.message, {
      httpStatus: err.httpStatus,
      retryAfterMs: err.retryAfterMs,
      op: err.op ?? op,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new WawpError("network", `${op}: ${message}`, { op });
}

/** `code`s on a fetch failure and its causes (undici: TypeError → cause → AggregateError.errors). */
function transportCodes(err) {
  const codes = [];
  const seen = new Set();
  const visit = (e, depth) => {
    if (!e || typeof e !== "object" || seen.has(e) || depth > 4) return;
    seen.add(e);
    if (typeof e.code === "string") codes.push(e.code);
    visit(e.cause, depth + 1);
    if (Array.isArray(e.errors)) for (const inner of e.errors) visit(inner, depth + 1);
  };
  visit(err, 0);
  return codes;
}

/**
 * The body as text for the core. Image bytes (WAHA's QR as `image/png`, from a proxy or an
 * injected fetch that ignored `Accept`) cannot cross as text, so they cross in WAHA's own JSON
 * form of the same answer, `{mimetype, data: base64}`.
 */
async function bodyOf(response) {
  const type = (response.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (!type.startsWith("image/")) return response.text();
  const bytes = new Uint8Array(await response.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return JSON.stringify({ mimetype: type, data: btoa(binary) });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function freeWasm(object) {
  if (object && typeof object.free === "function") object.free();
}
