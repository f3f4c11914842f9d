// connectEdgeSession: the browser (or any fetch-capable runtime) side of the edge worker's HTTP API
// (docs/CONTRACTS.md §3), exposed as the same store as SessionSupervisor (store.js).
//
// Live updates come from the worker's Server-Sent Events, read with `fetch` rather than
// `EventSource`: only `fetch` can send the `Authorization` header (no token in a URL, where proxies
// log it) and see a 401 to ask for a fresh token. When the stream fails it is reopened with the
// package's Backoff, and until it is back the instance is polled. Every SCAN_QR_CODE view reads the
// QR image again (WhatsApp rotates the code).

import { Backoff } from "./bindings.js";
import { WawpError } from "./error.js";
import { SessionStore } from "./store.js";

const DEFAULT_POLL_MS = 3_000;
/** Stream reconnection: quick at first, then at most every 30 s (jittered, so a fleet of tabs
 *  coming back after an outage does not reconnect in step). */
const DEFAULT_RECONNECT = { baseMs: 500, capMs: 30_000, jitter: "full", maxAttempts: 1_000_000 };

/**
 * @param {import("./edge-session.d.ts").EdgeSessionOptions} opts
 * @returns {EdgeSession}
 */
export function connectEdgeSession(opts) {
  return new EdgeSession(opts);
}

export class EdgeSession {
  #base;
  #instanceId;
  #tokenSource;
  /** The token in use (a promise while it is being asked for). */
  #token;
  #fetch;
  #pollMs;
  #transport;
  #backoff;
  #store = new SessionStore({ connection: "connecting" });
  #closed = false;
  #streamAbort;
  #pollTimer;
  #reconnectTimer;
  #qrFetch;
  #qrAgain = false;
  #nextId = 1;
  /** Counts applied instance views: a read answered after another view was applied is older news. */
  #views = 0;

  /** @param {import("./edge-session.d.ts").EdgeSessionOptions} opts */
  constructor(opts) {
    if (opts === null || typeof opts !== "object") throw new WawpError("invalid_option", "connectEdgeSession needs an options object");
    const { baseUrl, instanceId, token, fetch: fetchImpl, pollIntervalMs, transport = "auto", reconnect } = opts;
    if (typeof baseUrl !== "string" || !baseUrl) throw new WawpError("invalid_option", "baseUrl is required");
    if (typeof instanceId !== "string" || !instanceId) throw new WawpError("invalid_option", "instanceId is required");
    if (token !== undefined && typeof token !== "string" && typeof token !== "function") {
      throw new WawpError("invalid_option", "token must be a string or a function returning one");
    }
    if (!["auto", "sse", "polling"].includes(transport)) throw new WawpError("invalid_option", 'transport must be "auto", "sse" or "polling"');
    // A relative base ("/api") is relative to the page.
    this.#base = new URL(baseUrl.replace(/\/*$/, "/"), globalThis.location?.href).href;
    this.#instanceId = instanceId;
    this.#tokenSource = token;
    this.#fetch = fetchImpl ?? ((...args) => globalThis.fetch(...args));
    this.#pollMs = pollIntervalMs ?? DEFAULT_POLL_MS;
    this.#transport = transport;
    this.#backoff = new Backoff({ ...DEFAULT_RECONNECT, ...reconnect });
    /** `subscribe(listener) → unsubscribe` and `getSnapshot()`: see store.js. Bound functions. */
    this.subscribe = this.#store.subscribe;
    this.getSnapshot = this.#store.getSnapshot;
    this.refresh();
    if (transport === "polling") this.#startPolling();
    else this.#openStream();
  }

  get instanceId() {
    return this.#instanceId;
  }

  // ------------------------------------------------------------------ actions

  /** Power On. */
  start() {
    return this.#command("/start");
  }

  stop() {
    return this.#command("/stop");
  }

  /** The Troubleshoot panel's Retry (restart). */
  retry() {
    return this.#command("/retry");
  }

  logout() {
    return this.#command("/logout");
  }

  /** Reads `info`; a STOPPED session is started in the background. */
  warmBoot() {
    return this.#command("/warm-boot");
  }

  /**
   * Queues a text message (start-on-send: a STOPPED session is started for it). The message is in
   * the snapshot at once as "queued"; the promise settles with the edge's answer, or rejects with
   * a WawpError (a 4xx also marks the message rejected: that is the edge's final word).
   */
  async send({ chatId, text, id, timeoutMs }) {
    this.#assertOpen();
    const messageId = id ?? newMessageId(this.#nextId++);
    this.#store.message(messageId, { chatId, text, state: "queued", createdMs: Date.now() });
    const body = { id: messageId, chatId, text };
    if (timeoutMs !== undefined) body.timeoutMs = timeoutMs;
    try {
      const answer = await this.#request("POST", "/send", body);
      this.#store.message(messageId, doneFields({ state: answer.state, messageId: answer.messageId }));
      return { id: messageId, state: answer.state, ...(answer.messageId ? { messageId: answer.messageId } : {}) };
    } catch (err) {
      if (err instanceof WawpError && err.httpStatus >= 400 && err.httpStatus < 500 && err.code !== "unauthorized") {
        this.#store.message(messageId, doneFields({ state: "rejected", code: err.code }));
      }
      throw err;
    } finally {
      this.#refreshMessages();
    }
  }

  /** An 8-character code to type on the phone instead of scanning. */
  async requestPairingCode(phoneNumber) {
    const { code } = await this.#request("POST", "/pairing-code", { phoneNumber });
    return code;
  }

  /** Reads the QR image again (also done on every SCAN_QR_CODE view). */
  refreshQr() {
    if (this.#closed) return;
    if (this.#qrFetch) {
      this.#qrAgain = true;
      return;
    }
    this.#qrFetch = this.#request("GET", "/qr")
      .then(
        ({ qr }) => {
          if (this.#store.getSnapshot().uiAction === "scan_qr" && typeof qr === "string") this.#store.update({ qr });
        },
        // 409/422 while the status catches up is normal: the next SCAN_QR_CODE view reads again.
        (err) => this.#noteError("qr", err),
      )
      .finally(() => {
        this.#qrFetch = undefined;
        if (this.#qrAgain) {
          this.#qrAgain = false;
          this.refreshQr();
        }
      });
  }

  /** One fresh read of the instance and its messages. */
  async refresh() {
    await Promise.all([this.#refreshInstance(), this.#refreshMessages()]);
  }

  /** Deletes the instance on the edge (and the API); the session closes. */
  async deleteInstance() {
    const answer = await this.#request("DELETE", "");
    this.close();
    return answer;
  }

  /** Stops the stream, polling and timers. Idempotent. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#streamAbort?.abort();
    clearInterval(this.#pollTimer);
    clearTimeout(this.#reconnectTimer);
    this.#backoff.free?.();
    this.#store.update({ connection: "closed" });
  }

  // ------------------------------------------------------------------ state

  #assertOpen() {
    if (this.#closed) throw new WawpError("closed", "the edge session was closed");
  }

  async #command(path) {
    this.#assertOpen();
    this.#applyView(await this.#request("POST", path));
  }

  /** One instance object of the edge (GET /instances/{id}, a command's answer, an SSE `data:`). */
  #applyView(view) {
    if (!view || typeof view !== "object" || typeof view.status !== "string" || this.#closed) return;
    const before = this.#store.getSnapshot();
    // Views cross on different connections (the stream, a command's answer, a poll): one whose
    // status began before the one shown is older news.
    if (typeof view.statusSinceMs === "number" && typeof before.statusSinceMs === "number" && view.statusSinceMs < before.statusSinceMs) return;
    this.#views += 1;
    const notes = Array.isArray(view.notifications) ? view.notifications : [];
    const verdictMe = view.identity?.me;
    this.#store.update({
      // The machine's status; the last report's raw text only when it says the same (an unknown
      // future status shows as UNKNOWN with its text; the machine may have moved on since it).
      status: view.report?.status === view.status && typeof view.report.rawStatus === "string" ? view.report.rawStatus : view.status,
      me: view.me ?? (typeof verdictMe === "string" ? { id: verdictMe } : (verdictMe ?? null)),
      identity: view.identity?.verdict ?? null,
      notification: notes.at(-1) ?? null,
      lastError: view.lastError ?? null,
      pendingOp: view.pendingOp ?? null,
      queueLength: view.queueLength ?? 0,
      statusSinceMs: view.statusSinceMs ?? null,
      nextDeadlineMs: view.nextDeadlineMs ?? null,
      startingTimeoutMs: view.startingTimeoutMs ?? null,
    });
    const after = this.#store.getSnapshot();
    if (after.uiAction !== "scan_qr") {
      this.#store.update({ qr: null });
    } else if (after.status === "SCAN_QR_CODE" || before.uiAction !== "scan_qr") {
      this.refreshQr();
    }
    // Queued sends move with the session, not with their own events: re-read them when it moves.
    if (before.queueLength !== after.queueLength) this.#refreshMessages();
  }

  /** A problem of the link to the edge (not the session's: that is the edge's `lastError`). */
  #noteError(op, err) {
    const code = err instanceof WawpError ? err.code : "network";
    this.#store.update({ connectionError: { code, message: String(err?.message ?? err), op, atMs: Date.now() } });
  }

  async #refreshInstance() {
    const seen = this.#views;
    try {
      const view = await this.#request("GET", "");
      // A stream event or a command's answer applied meanwhile may be newer than this read.
      if (this.#views === seen) this.#applyView(view);
      this.#store.update({ connectionError: null });
    } catch (err) {
      if (this.#closed) return;
      if (err instanceof WawpError && err.code === "not_found") this.#store.update({ status: "DELETED" });
      this.#noteError("refresh", err);
    }
  }

  async #refreshMessages() {
    try {
      const list = await this.#request("GET", "/messages");
      if (Array.isArray(list) && !this.#closed) this.#store.messages(list);
    } catch {
      // the next event or poll reads them again
    }
  }

  // ------------------------------------------------------------------ HTTP

  #url(path) {
    return new URL(`instances/${encodeURIComponent(this.#instanceId)}${path}`, this.#base).href;
  }

  /** The token to send: asked of the token function once, and again after a 401. */
  #currentToken(renew = false) {
    if (typeof this.#tokenSource !== "function") return Promise.resolve(this.#tokenSource);
    if (renew || this.#token === undefined) {
      this.#token = Promise.resolve()
        .then(() => this.#tokenSource())
        .catch((err) => {
          this.#token = undefined;
          throw new WawpError("unauthorized", `the token function failed: ${err?.message ?? err}`);
        });
    }
    return this.#token;
  }

  /** A fetch with the token; a 401 asks for a fresh token and tries once more. */
  async #authorizedFetch(path, init = {}) {
    let token = await this.#currentToken();
    for (let attempt = 0; ; attempt += 1) {
      const headers = { ...init.headers };
      if (token) headers.authorization = `Bearer ${token}`;
      let response;
      try {
        response = await this.#fetch(this.#url(path), { ...init, headers });
      } catch (err) {
        if (err?.name === "AbortError") throw err;
        throw new WawpError("network", `edge unreachable: ${err?.message ?? err}`, { cause: err });
      }
      if (response.status !== 401 || attempt > 0 || typeof this.#tokenSource !== "function") return response;
      await response.body?.cancel().catch(() => {});
      // Concurrent 401s share one renewal: a request whose token was already replaced uses the new one.
      const current = await this.#currentToken();
      token = current !== token ? current : await this.#currentToken(true);
    }
  }

  async #request(method, path, body) {
    const init = { method, headers: { accept: "application/json" } };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await this.#authorizedFetch(path, init);
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) throw errorFrom(response.status, data, method, path);
    return data;
  }

  // ------------------------------------------------------------------ live updates

  #startPolling() {
    if (this.#pollTimer !== undefined || this.#closed) return;
    this.#store.update({ connection: "polling" });
    this.#pollTimer = setInterval(() => this.refresh(), this.#pollMs);
  }

  #stopPolling() {
    clearInterval(this.#pollTimer);
    this.#pollTimer = undefined;
  }

  async #openStream() {
    if (this.#closed) return;
    const abort = new AbortController();
    this.#streamAbort = abort;
    let opened = false;
    try {
      const response = await this.#authorizedFetch("/events", { headers: { accept: "text/event-stream" }, signal: abort.signal });
      const type = response.headers.get("content-type") ?? "";
      if (!response.ok || !type.startsWith("text/event-stream") || !response.body) {
        await response.body?.cancel().catch(() => {});
        throw errorFrom(response.status, null, "GET", "/events");
      }
      opened = true;
      this.#backoff.reset();
      this.#stopPolling();
      this.#store.update({ connection: "live", connectionError: null });
      // Whatever changed while the stream was down: one fresh read of the messages (the stream's
      // first event is the instance itself).
      this.#refreshMessages();
      await readEvents(response.body, (event) => this.#onStreamEvent(event));
    } catch (err) {
      if (this.#closed || abort.signal.aborted) return;
      if (!opened) this.#noteError("events", err);
    }
    if (this.#closed) return;
    this.#reconnect();
  }

  /** The stream ended or could not open: poll meanwhile (unless SSE only) and reopen later. */
  #reconnect() {
    if (this.#transport === "auto") this.#startPolling();
    else this.#store.update({ connection: "offline" });
    const delay = this.#backoff.next() ?? DEFAULT_RECONNECT.capMs;
    this.#reconnectTimer = setTimeout(() => this.#openStream(), delay);
  }

  #onStreamEvent({ event, data }) {
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    if (event === "message" && parsed?.type === "message" && typeof parsed.id === "string") {
      const fields = { state: parsed.state, code: parsed.code, messageId: parsed.messageId };
      if (this.#store.getMessage(parsed.id)) this.#store.message(parsed.id, parsed.state === "sent" || parsed.state === "rejected" ? doneFields(fields) : fields);
      else this.#refreshMessages(); // sent from elsewhere: read it with its text
      return;
    }
    this.#applyView(parsed);
  }
}

/**
 * Reads a `text/event-stream` body (the WHATWG format: `event:` / `data:` lines, a blank line ends
 * an event, `:` lines are comments) and calls `onEvent({event, data})` per event.
 */
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = "message";
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let newline;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
      if (line === "") {
        if (data.length) onEvent({ event, data: data.join("\n") });
        event = "message";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") data.push(value);
      else if (field === "event") event = value || "message";
    }
  }
}

/** The edge answers `{error: {code, message}}`; anything else (a proxy's page) by its HTTP status. */
function errorFrom(status, data, method, path) {
  const fallback = status === 401 ? "unauthorized" : status === 403 ? "forbidden" : status === 404 ? "not_found" : "server";
  const code = typeof data?.error?.code === "string" ? data.error.code : fallback;
  const message = typeof data?.error?.message === "string" ? data.error.message : `${method} ${path || "/"} answered HTTP ${status}`;
  return new WawpError(code, message, { httpStatus: status, op: `${method} ${path || "/"}` });
}

function doneFields(fields) {
  return fields.state === "sent" || fields.state === "rejected" ? { ...fields, doneMs: Date.now() } : fields;
}

function newMessageId(counter) {
  return typeof globalThis.crypto?.randomUUID === "function" ? globalThis.crypto.randomUUID() : `m-${Date.now().toString(36)}-${counter}`;
}
