// One Durable Object per Wawp instance: the single owner of that instance's lifecycle.
//
// It holds the package's sans-IO `LifecycleMachine` and does its I/O: `call` actions become
// `WawpClient` requests whose answers go back in as `result` events, the machine's next deadline is
// the object's one alarm, and every durable change lands in the object's SQLite storage (the
// machine itself, queued messages, the audit trail, admin notifications).
//
// Concurrency: `#step` (handle one event, drain every action, write storage, re-arm the alarm) is
// synchronous, so no two step loops can interleave inside this single-threaded object and all of a
// step's SQL writes commit together. Concurrent requests therefore never double-start: the machine
// sees them one after the other and keeps its single lifecycle call in flight.

import { DurableObject } from "cloudflare:workers";
import { LifecycleMachine, decodeStatus, stability, uiActionFor } from "wawp-session";
import { adoptFault, apiClient, machineOptions, sendRatePerMinute } from "./config.js";
import { describeError, errorResponse, errorResponseFrom, json, readJsonBody } from "./http.js";
import { retryAfterHeader, windowVerdict } from "./rate-window.js";
import { RegistryReporter } from "./registry-report.js";

/**
 * Each table is created when first written: an instance that never sends nor notifies keeps only
 * `meta` and `audit`. Every table and index is at least one page of the object's SQLite page cache,
 * and one workerd process caps the SQLite memory of all its objects together (BENCHMARKS.md
 * "Scale"), so fewer pages per idle instance means more instances per process.
 */
const TABLES = {
  meta: [`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`],
  audit: [
    `CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at_ms REAL NOT NULL,
     status TEXT NOT NULL, raw TEXT, source TEXT NOT NULL)`,
  ],
  messages: [
    `CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, chat_id TEXT NOT NULL, text TEXT NOT NULL,
     state TEXT NOT NULL, code TEXT, message_id TEXT, attempts INTEGER NOT NULL DEFAULT 0,
     timeout_ms REAL, created_ms REAL NOT NULL, done_ms REAL)`,
    `CREATE INDEX IF NOT EXISTS messages_created ON messages (created_ms)`,
  ],
  notifications: [
    `CREATE TABLE IF NOT EXISTS notifications (reason TEXT NOT NULL, episode INTEGER NOT NULL,
     at_ms REAL NOT NULL, PRIMARY KEY (reason, episode))`,
  ],
};

/** Message states: queued → sending → sent | rejected; sending → queued when the machine holds a
 *  send again (hold_send: a 422 hand-back or a 429 retry). */
const MESSAGE_STATES = ["queued", "sending", "sent", "rejected"];
/** How long an HTTP request waits for the calls it caused before answering with the current view. */
const RESPONSE_WAIT_MS = 5_000;
/** An alarm waits longer: nobody is waiting for it, and its I/O should finish inside it. */
const ALARM_WAIT_MS = 30_000;
const SSE_HEARTBEAT_MS = 15_000;
const MESSAGE_ID = /^[A-Za-z0-9_.:-]{1,100}$/;
const MAX_TEXT_CHARS = 65_536;

/**
 * The two channels into this object, both opened only by the worker's code (a Durable Object is
 * reachable from nowhere else). A caller's request goes to `fetch`, as PUBLIC_ORIGIN plus a
 * sub-path from the worker's allowlist; `fetch` routes those sub-paths and nothing else. The
 * worker's own calls (adopt at create, reports of verified webhooks) are RPC methods, which only a
 * holder of the INSTANCES binding can call: no URL, header or body of a request names them.
 */
export const PUBLIC_ORIGIN = "https://public.instance";
const SEND_WINDOW_MS = 60_000;

const USER_EVENTS = {
  "/warm-boot": "warm_boot",
  "/start": "user_start",
  "/retry": "user_retry",
  "/stop": "user_stop",
  "/logout": "user_logout",
};

function emptyInstance() {
  return {
    instanceId: null,
    serverName: null,
    sessionName: null,
    report: null,
    uiAction: null,
    identity: null,
    me: null,
    lastError: null,
    startingTimeoutMs: null,
    expectedJid: null,
    /** The machine's restart count already added to the registry's restarts counter. */
    reportedRestarts: 0,
    /** Calls handed to the API and not answered yet; answered with a `network` error after a restart. */
    inflightCalls: [],
  };
}

export class InstanceSupervisor extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.ctx = ctx;
    this.env = env;
    this.sql = ctx.storage.sql;
    this.streams = new Set();
    /** Bumped on delete so that answers to calls made before it are dropped. */
    this.generation = 0;
    this.registry = new RegistryReporter(ctx, env);
    this.registryVersion = 0;
    this.#resetMemory();
    ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = (await ctx.storage.getAlarm()) ?? null;
      this.#restore();
    });
  }

  #resetMemory() {
    this.machine?.free?.(); // wasm memory is not garbage-collected
    this.machine = null;
    this.instance = emptyInstance();
    this.savedInstance = null;
    this.lastAuditedStatus = null;
    this.alarmAt = null;
    /** The tables that exist in this object's database. */
    this.tables = new Set();
  }

  // ---------------------------------------------------------------- storage

  #ensureTable(name) {
    if (this.tables.has(name)) return;
    for (const statement of TABLES[name]) this.sql.exec(statement);
    this.tables.add(name);
  }

  #ensureSchema() {
    this.#ensureTable("meta");
    this.#ensureTable("audit");
  }

  /** Rows of a query on `table`; none while that table does not exist yet. */
  #rows(table, query, ...bindings) {
    return this.tables.has(table) ? this.sql.exec(query, ...bindings).toArray() : [];
  }

  #readMeta(key) {
    const [row] = this.#rows("meta", "SELECT value FROM meta WHERE key = ?", key);
    return row ? row.value : null;
  }

  #writeMeta(key, value) {
    this.#ensureSchema();
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
  }

  /** Writes the instance record only when it changed: storage writes are billed. */
  #saveInstance() {
    const text = JSON.stringify(this.instance);
    if (text === this.savedInstance) return;
    this.#writeMeta("instance", text);
    this.savedInstance = text;
  }

  #saveMachine() {
    this.#writeMeta("machine", this.machine.toJSON());
  }

  #restore() {
    const names = this.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray();
    this.tables = new Set(names.map((row) => row.name).filter((name) => Object.hasOwn(TABLES, name)));
    const instanceJson = this.#readMeta("instance");
    const machineJson = this.#readMeta("machine");
    if (!instanceJson || !machineJson) return;
    this.instance = { ...emptyInstance(), ...JSON.parse(instanceJson) };
    this.savedInstance = instanceJson;
    try {
      this.machine = LifecycleMachine.fromJSON(machineJson);
    } catch (err) {
      // Unreadable machine state must not brick the object: start a fresh machine (it learns the
      // status again with `info`) and keep the messages, which are handed to it below.
      this.machine = new LifecycleMachine(machineOptions(this.env, { expectedJid: this.instance.expectedJid }));
      const { code, message } = describeError(this.env, err);
      this.instance.lastError = { code, message: `stored machine state unreadable: ${message}`, op: "restore", atMs: Date.now() };
    }
    const [last] = this.#rows("audit", "SELECT status FROM audit ORDER BY seq DESC LIMIT 1");
    this.lastAuditedStatus = last ? last.status : null;
    this.#recoverAfterRestart();
  }

  /** A workerd restart loses in-flight HTTP: calls get a `network` answer and sends on the wire a
   *  `closed` one (the machine decides what follows), and queued rows the machine does not hold
   *  are handed to it again. */
  #recoverAfterRestart() {
    const lostCalls = this.instance.inflightCalls;
    this.instance.inflightCalls = [];
    const { queue = [], sending = [] } = this.machine.snapshot();
    const out = new Set(sending.map((send) => send.id));
    for (const row of this.#rows("messages", "SELECT id FROM messages WHERE state = 'sending'")) {
      if (out.has(row.id)) this.#step({ type: "send_result", id: row.id, ok: false, error: "closed" }, "call");
      else this.#settleMessage(row.id, "rejected", { code: "closed" }); // stored before the machine tracked sends
    }
    this.#saveInstance();
    for (const op of lostCalls) this.#step({ type: "result", op, ok: false, error: "network" }, "call");
    const held = new Set(queue.map((send) => send.id));
    for (const row of this.#rows("messages", "SELECT id, timeout_ms FROM messages WHERE state = 'queued' ORDER BY rowid")) {
      if (!held.has(row.id)) this.#step(sendEvent(row.id, row.timeout_ms), "call");
    }
  }

  // ---------------------------------------------------------------- the step loop

  /** Adopts the instance (first use): stores its identity and a fresh machine. */
  #adopt({ instanceId, serverName, sessionName, expectedJid }) {
    this.#ensureSchema();
    if (!this.machine) {
      const opts = machineOptions(this.env, { expectedJid });
      this.machine = new LifecycleMachine(opts);
      this.instance.startingTimeoutMs = opts.startingTimeoutMs;
      this.instance.expectedJid = expectedJid ?? null;
      this.#saveMachine();
    }
    this.instance.instanceId ??= instanceId;
    if (serverName) this.instance.serverName = serverName;
    // The session name goes into the registry row, which is also the session name → instance id
    // mapping for WAHA-shaped webhooks.
    if (sessionName) this.instance.sessionName = sessionName;
    this.#syncRegistry(Date.now());
    this.#saveInstance();
  }

  /**
   * Handles one event and drains every action. Synchronous on purpose (see the file comment).
   * Returns the promises of the I/O it started: `calls` and `deliveries` (message id → promise).
   */
  #step(event, source) {
    const machine = this.machine;
    const nowMs = Date.now();
    machine.handle(event, nowMs);
    const calls = [];
    const releases = [];
    const notices = [];
    let persist = false;
    let changed = false;
    for (let action = machine.pollAction(); action !== undefined; action = machine.pollAction()) {
      switch (action.type) {
        case "persist":
          persist = true;
          break;
        case "ui":
          this.instance.uiAction = action.uiAction;
          changed = true;
          break;
        case "call":
          calls.push(action.op);
          break;
        case "release_send":
          releases.push(action.id);
          break;
        case "reject_send":
          this.#settleMessage(action.id, "rejected", { code: action.code });
          break;
        case "resolve_send":
          this.#settleMessage(action.id, "sent");
          break;
        case "hold_send":
          this.#settleMessage(action.id, "queued");
          break;
        case "identity":
          this.instance.identity = action.me ? { verdict: action.verdict, me: action.me } : { verdict: action.verdict };
          changed = true;
          break;
        case "clear_identity":
          this.instance.identity = null;
          this.instance.me = null;
          changed = true;
          break;
        case "notify_admin":
          notices.push(action.reason);
          break;
        default:
          break;
      }
    }
    // Written after the drain, so the stored machine never holds actions already taken.
    if (persist) this.#saveMachine();
    if (event.type === "status" && this.#acceptReport(event.input)) changed = true;
    if (this.#auditStatus(nowMs, event, source)) changed = true;
    for (const reason of notices) this.#notifyAdmin(reason, nowMs);
    if (notices.length) changed = true;
    for (const id of releases) this.#settleMessage(id, "sending");
    if (calls.length) {
      this.instance.inflightCalls.push(...calls);
      changed = true;
    }
    // An event the machine ignored (a duplicate webhook) changes no row: skip the registry work.
    if (changed || persist) this.#syncRegistry(nowMs);
    this.#saveInstance();
    this.#syncAlarm();
    if (changed) this.#broadcastInstance();
    return {
      calls: calls.map((op) => this.#performCall(op)),
      deliveries: new Map(releases.map((id) => [id, this.#deliver(id)])),
    };
  }

  /** Keeps an observed report (QR, `me`, ids) when the machine agrees with its status: a stale or
   *  replayed event that the machine ignored must not show up in the instance view either.
   *  Status events here always carry a decoded `StatusReport` (see `receiveReports`, `adopt`). */
  #acceptReport(report) {
    if (report.status !== this.machine.status) return false;
    this.instance.report = report;
    if (report.me && typeof report.me.id === "string") {
      this.instance.me = { id: report.me.id, ...(report.me.pushName ? { pushName: report.me.pushName } : {}) };
    }
    return true;
  }

  /** Appends to the audit trail when the machine's status changed. */
  #auditStatus(nowMs, event, source) {
    const status = this.machine.status;
    if (status === this.lastAuditedStatus) return false;
    if (status === "UNKNOWN" && this.lastAuditedStatus === null) return false; // nothing observed yet
    const raw = event.type === "status" ? event.input.rawStatus : status;
    this.sql.exec("INSERT INTO audit (at_ms, status, raw, source) VALUES (?, ?, ?, ?)", nowMs, status, raw, source);
    this.lastAuditedStatus = status;
    return true;
  }

  /**
   * Keeps this instance's registry row current (edge/src/registry.js): queued when what the fleet
   * view shows changed, and the machine's new restarts added to the fleet's counter.
   */
  #syncRegistry(nowMs) {
    const { instanceId } = this.instance;
    if (!instanceId || !this.machine) return;
    const snapshot = this.machine.snapshot() ?? {};
    const restarts = snapshot.restarts ?? 0;
    if (restarts > this.instance.reportedRestarts) {
      this.registry.count("wawp_instance_restarts_total", {}, restarts - this.instance.reportedRestarts);
    }
    this.instance.reportedRestarts = restarts;
    const status = this.machine.status;
    const [audited] = snapshot.sinceMs ? [] : this.#rows("audit", "SELECT at_ms FROM audit ORDER BY seq DESC LIMIT 1");
    const sinceMs = snapshot.sinceMs || audited?.at_ms || null; // as view() reports it
    const uiAction = this.instance.uiAction ?? uiActionFor(status);
    const [latest] = this.#rows("notifications", "SELECT reason, at_ms FROM notifications ORDER BY at_ms DESC, rowid DESC LIMIT 1");
    // A notification stays open until the instance is WORKING again after it.
    const open = latest && !(status === "WORKING" && (sinceMs ?? 0) >= latest.at_ms) ? { reason: latest.reason, atMs: latest.at_ms } : null;
    const { serverName, sessionName, lastError } = this.instance;
    const digest = JSON.stringify([status, sinceMs, uiAction, open, serverName, sessionName, lastError?.code, lastError?.atMs]);
    this.registry.update(digest, () => {
      const day = this.#lastDay(nowMs);
      this.registryVersion = Math.max(nowMs, this.registryVersion + 0.001);
      return {
        instanceId, sessionName, serverName, status, uiAction, sinceMs,
        lastError: lastError ? { code: lastError.code, message: lastError.message, op: lastError.op, atMs: lastError.atMs } : null,
        openNotification: open,
        restarts24h: day.restarts,
        workingMs24h: day.workingMs,
        observedMs24h: day.observedMs,
        atMs: nowMs,
        version: this.registryVersion,
      };
    });
  }

  /** Restarts and time WORKING over the last 24 h, from the audit trail (the package's rule). */
  #lastDay(nowMs) {
    const from = nowMs - 86_400_000;
    const [before] = this.#rows("audit", "SELECT status FROM audit WHERE at_ms < ? ORDER BY seq DESC LIMIT 1", from);
    const timeline = this.#rows("audit", "SELECT at_ms, status FROM audit WHERE at_ms >= ? ORDER BY seq", from).map((row) => ({
      atMs: row.at_ms,
      status: row.status,
    }));
    if (before) timeline.unshift({ atMs: from, status: before.status });
    if (timeline.length === 0) return { restarts: 0, workingMs: 0, observedMs: 0 };
    const metrics = stability(timeline, nowMs);
    return { restarts: metrics.restarts ?? 0, workingMs: metrics.workingMs ?? 0, observedMs: metrics.observedMs ?? 0 };
  }

  #syncAlarm() {
    const deadline = this.machine.pollTimeout();
    // Alarms are whole milliseconds: rounded down, a fractional deadline would fire before it is
    // due, find nothing to do and leave the machine without a timer.
    const next = typeof deadline === "number" && Number.isFinite(deadline) ? Math.ceil(deadline) : null;
    if (next === this.alarmAt) return;
    this.alarmAt = next;
    const done = next === null ? this.ctx.storage.deleteAlarm() : this.ctx.storage.setAlarm(next);
    done.catch(() => {});
  }

  async alarm() {
    if (this.alarmAt !== null) this.registry.observeAlarmLag(Date.now() - this.alarmAt);
    this.alarmAt = null; // a fired alarm is gone; #step re-arms the next one
    if (!this.machine) return;
    // Awaited so the calls and deliveries this alarm starts finish inside the alarm handler.
    await settle(this.#step({ type: "timeout" }, "timer"), ALARM_WAIT_MS);
  }

  // ---------------------------------------------------------------- I/O

  #client({ forMachine = false } = {}) {
    const { instanceId, sessionName } = this.instance;
    return apiClient(this.env, { instanceId, sessionName, forMachine });
  }

  async #performCall(op) {
    const outcome = await this.#attempt(op, (client) => invokeOp(client, op));
    if (!outcome) return;
    const { body, ...fields } = outcome;
    if (fields.ok) this.#learnFromBody(op, body);
    const pending = this.instance.inflightCalls;
    const index = pending.indexOf(op);
    if (index >= 0) pending.splice(index, 1);
    const result = { type: "result", op, ...fields, ...(fields.ok && { body: body ?? null }) };
    await this.#stepThrough(result, op === "info" || op === "me" ? "poll" : "call");
  }

  /** One request for the machine, with a client that never retries (the machine decides that):
   *  `{ok: true, body}` or a failure's event fields (kept as the last error); `null` when the
   *  instance was deleted meanwhile. */
  async #attempt(op, request) {
    const generation = this.generation;
    const answer = await Promise.resolve(this.#client({ forMachine: true }))
      .then(request)
      .then((body) => ({ ok: true, body }), (err) => ({ ok: false, err }));
    if (generation !== this.generation || !this.machine) return null;
    if (answer.ok) return answer;
    const { code, message } = describeError(this.env, answer.err);
    this.instance.lastError = { code, message, op, atMs: Date.now() };
    const { httpStatus, retryAfterMs } = answer.err ?? {};
    return { ok: false, error: code, ...(typeof httpStatus === "number" && { httpStatus }), ...(typeof retryAfterMs === "number" && { retryAfterMs }) };
  }

  /** `info` and `me` answers refresh the report, the linked account and the server name. */
  #learnFromBody(op, body) {
    if (!body || typeof body !== "object") {
      if (op === "me") this.instance.me = null;
      return;
    }
    if (op === "me") {
      this.instance.me = { id: body.id, ...(body.pushName ? { pushName: body.pushName } : {}) };
      return;
    }
    if (op !== "info") return;
    try {
      this.instance.report = decodeStatus(body);
    } catch {
      return;
    }
    const serverName = body.server_name ?? body.serverName;
    if (typeof serverName === "string") this.instance.serverName = serverName;
    if (body.me && typeof body.me === "object" && typeof body.me.id === "string") {
      this.instance.me = { id: body.me.id, ...(body.me.pushName ? { pushName: body.me.pushName } : {}) };
    }
  }

  /** Performs a released send once and reports the outcome; the machine resolves, holds or rejects it. */
  async #deliver(id) {
    const [row] = this.#rows("messages", "SELECT chat_id, text FROM messages WHERE id = ?", id);
    if (!row) return;
    const outcome = await this.#attempt("send", (client) => client.sendText(row.chat_id, row.text));
    if (!outcome) return;
    const { body, ...fields } = outcome;
    if (typeof body?.id === "string") this.sql.exec("UPDATE messages SET message_id = ? WHERE id = ?", body.id, id);
    await this.#stepThrough({ type: "send_result", id, ...fields }, "call");
  }

  /** A step whose I/O this caller waits for (an answer, an outcome: what they start comes next). */
  async #stepThrough(event, source) {
    const next = this.#step(event, source);
    await Promise.allSettled([...next.calls, ...next.deliveries.values()]);
  }

  /** Moves a message row as the machine says; `sent` and `rejected` are final and never left
   *  again, which is what keeps a message's outcome single across restarts. */
  #settleMessage(id, state, { code = null } = {}) {
    const final = state === "sent" || state === "rejected";
    if (!this.tables.has("messages")) return;
    const cursor = this.sql.exec(
      `UPDATE messages SET state = ?, code = ?, done_ms = ?
        WHERE id = ? AND state NOT IN ('sent', 'rejected')`,
      state,
      code,
      final ? Date.now() : null,
      id,
    );
    if (cursor.rowsWritten > 0) this.#broadcastMessage(id);
    if (cursor.rowsWritten > 0 && final) this.registry.count("wawp_sends_total", { outcome: state === "sent" ? "sent" : (code ?? "rejected") });
  }

  #notifyAdmin(reason, nowMs) {
    const [episode] = this.#rows("audit", "SELECT COALESCE(MAX(seq), 0) AS seq FROM audit");
    this.#ensureTable("notifications");
    const cursor = this.sql.exec(
      "INSERT OR IGNORE INTO notifications (reason, episode, at_ms) VALUES (?, ?, ?)",
      reason,
      episode?.seq ?? 0,
      nowMs,
    );
    if (cursor.rowsWritten > 0) this.registry.count("wawp_admin_notifications_total", { reason });
    const url = this.env.ADMIN_WEBHOOK_URL;
    if (cursor.rowsWritten === 0 || !url) return;
    const body = JSON.stringify({
      type: "wawp_session.admin_notification",
      reason,
      instanceId: this.instance.instanceId,
      serverName: this.instance.serverName,
      status: this.machine.status,
      lastError: this.instance.lastError,
      atMs: nowMs,
    });
    this.ctx.waitUntil(
      fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body }).then(
        (response) => response.body?.cancel(),
        () => {},
      ),
    );
  }

  // ---------------------------------------------------------------- views and streams

  view() {
    const known = this.machine !== null;
    const status = known ? this.machine.status : "UNKNOWN";
    const snapshot = known ? this.machine.snapshot() : {};
    const [audited] = this.#rows("audit", "SELECT at_ms FROM audit ORDER BY seq DESC LIMIT 1");
    const pending = this.instance.inflightCalls;
    const lifecycleOp = pending.find((op) => op !== "info" && op !== "me");
    const deadline = known ? this.machine.pollTimeout() : undefined;
    return {
      instanceId: this.instance.instanceId,
      serverName: this.instance.serverName,
      sessionName: this.instance.sessionName,
      known,
      report: this.instance.report,
      status,
      uiAction: this.instance.uiAction ?? uiActionFor(status),
      statusSinceMs: snapshot.sinceMs || (audited ? audited.at_ms : null),
      identity: this.instance.identity,
      me: this.instance.me,
      queueLength: known ? this.machine.queuedSends : 0,
      lastError: this.instance.lastError,
      notifications: this.#rows("notifications", "SELECT reason, at_ms FROM notifications ORDER BY at_ms, rowid").map((row) => ({
        reason: row.reason,
        atMs: row.at_ms,
      })),
      pendingOp: snapshot.pendingOp ?? lifecycleOp ?? pending[0] ?? null,
      restarts: snapshot.restarts ?? 0,
      autoRestarts: snapshot.autoRestarts ?? 0,
      paused: snapshot.paused ?? null,
      nextDeadlineMs: typeof deadline === "number" ? deadline : null,
      startingTimeoutMs: this.instance.startingTimeoutMs,
    };
  }

  #messages() {
    return this.#rows("messages", "SELECT * FROM messages ORDER BY created_ms, rowid").map(messageView);
  }

  #message(id) {
    const [row] = this.#rows("messages", "SELECT * FROM messages WHERE id = ?", id);
    return row ? messageView(row) : null;
  }

  #openStream() {
    const { readable, writable } = new TransformStream();
    const writer = writable.getWriter();
    this.streams.add(writer);
    this.#write(writer, `retry: 1000\ndata: ${JSON.stringify(this.view())}\n\n`);
    // A comment line now and then keeps proxies from closing a quiet stream; it also finds
    // readers that went away (their write fails). Runs only while someone listens.
    this.heartbeat ??= setInterval(() => {
      this.#broadcast(": ping\n\n");
      if (this.streams.size === 0) {
        clearInterval(this.heartbeat);
        this.heartbeat = null;
      }
    }, SSE_HEARTBEAT_MS);
    return new Response(readable, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store" },
    });
  }

  #write(writer, text) {
    writer.write(new TextEncoder().encode(text)).catch(() => this.streams.delete(writer));
  }

  #broadcast(text) {
    for (const writer of this.streams) {
      // A reader that stopped reading is dropped instead of buffering for it forever.
      if (writer.desiredSize !== null && writer.desiredSize < -64) {
        this.streams.delete(writer);
        writer.abort().catch(() => {});
        continue;
      }
      this.#write(writer, text);
    }
  }

  #broadcastInstance() {
    if (this.streams.size) this.#broadcast(`data: ${JSON.stringify(this.view())}\n\n`);
  }

  #broadcastMessage(id) {
    if (!this.streams.size) return;
    const message = this.#message(id);
    if (!message) return;
    const update = { type: "message", id, state: message.state };
    if (message.code) update.code = message.code;
    if (message.messageId) update.messageId = message.messageId;
    this.#broadcast(`event: message\ndata: ${JSON.stringify(update)}\n\n`);
  }

  // ---------------------------------------------------------------- HTTP

  /** Callers' requests, forwarded by the worker (see PUBLIC_ORIGIN). */
  async fetch(request) {
    const url = new URL(request.url);
    const path = url.pathname.replace(/\/+$/, "") || "/";
    try {
      if (url.origin !== PUBLIC_ORIGIN) return errorResponse("not_found", "no such route");
      return await this.#route(request, path, request.headers.get("x-instance-id"));
    } catch (err) {
      return errorResponseFrom(this.env, err);
    }
  }

  // ---------------------------------------------------------------- RPC (the worker's own calls)

  /** Adopts the instance at create (idempotent: an adopted object keeps its machine). */
  async adopt(instanceId, { serverName = null, sessionName = null, expectedJid = null, initialStatus = null } = {}) {
    if (adoptFault(this.env, this)) throw new Error("adopt failed (TEST_ADOPT_FAULT)");
    const fresh = !this.machine;
    this.#adopt({ instanceId, serverName, sessionName, expectedJid });
    if (fresh && typeof initialStatus === "string") {
      // The create answer's status, decoded once: the machine and the view get the same report.
      await settle(this.#step({ type: "status", input: decodeStatus(initialStatus) }, "call"));
    }
    // The create answers once the registry lists the instance: then WAHA-shaped webhooks (which
    // name the session) can be routed, and the fleet view shows it.
    await this.registry.flushNow();
  }

  /**
   * Status reports the worker decoded from one verified webhook body, in body order. They arrive
   * as the wasm's `StatusReport` objects (structured clone), so nothing here parses or decodes
   * them again. Events for instances this edge never adopted are not ours to supervise.
   *
   * The report enters the machine as `{type: "status", input: report}`: the package sends an
   * object into the wasm as its JSON text (`JSON.stringify`, ~175 B for a webhook's report), read
   * by serde_json there. Measured against handing the object itself to serde-wasm-bindgen's
   * Deserializer (a scratch export, 10,000 reports of bench/lib/workload.mjs, decode + step, Node
   * 20, interleaved, median of 9 passes, 3 runs): 8.3-9.7 µs as text vs 9.9-11.4 µs as a value
   * (1.2x slower), and the Deserializer adds 17.9 KB gzip to a wasm at its weight limit. So text.
   */
  async receiveReports(reports) {
    if (!this.machine || !Array.isArray(reports)) return;
    const steps = [];
    for (const report of reports) {
      this.registry.count("wawp_webhook_events_total");
      steps.push(this.#step({ type: "status", input: report }, "webhook"));
    }
    await Promise.allSettled(steps.map((step) => settle(step)));
  }

  async #route(request, path, instanceId) {
    const method = request.method;
    if (method === "GET" && path === "/") return json(this.view());
    if (method === "GET" && path === "/events") return this.#openStream();
    if (method === "GET" && path === "/messages") return json(this.#messages());
    if (method === "GET" && path === "/stability") return json(this.#stability());
    if (method === "DELETE" && path === "/") return this.#delete(instanceId);
    if (method === "GET" && path === "/qr") return this.#qr();
    if (method === "POST" && path === "/pairing-code") return this.#pairingCode(request);
    if (method === "POST" && path === "/send") return this.#send(request, instanceId);
    if (method === "POST" && USER_EVENTS[path]) {
      this.#adopt({ instanceId });
      await settle(this.#step({ type: USER_EVENTS[path] }, "call"));
      return json(this.view());
    }
    return errorResponse("not_found", `no route for ${method} /instances/{id}${path === "/" ? "" : path}`);
  }

  async #send(request, instanceId) {
    const body = await readJsonBody(request);
    if (!body) return errorResponse("bad_request", "the body must be a JSON object");
    const { chatId, text, timeoutMs } = body;
    if (typeof chatId !== "string" || !chatId.trim()) return errorResponse("bad_request", "chatId is required");
    if (typeof text !== "string" || !text.length) return errorResponse("bad_request", "text is required");
    if (text.length > MAX_TEXT_CHARS) return errorResponse("payload_too_large", "text is too long");
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      return errorResponse("bad_request", "timeoutMs must be a positive number");
    }
    // A caller-chosen id makes a retried POST idempotent.
    if (body.id !== undefined && !(typeof body.id === "string" && MESSAGE_ID.test(body.id))) {
      return errorResponse("bad_request", "id must be 1-100 characters of [A-Za-z0-9_.:-]");
    }
    this.#adopt({ instanceId });
    const id = body.id ?? crypto.randomUUID();
    let delivery;
    if (!this.#message(id)) {
      // A retried id is answered above without counting; a new message counts against the rate.
      const refusal = this.#sendRateRefusal();
      if (refusal) return refusal;
      // The message is stored before the machine hears of it, in one transaction with the step:
      // storage never holds a send the machine refused, nor the machine one storage lacks.
      this.#ensureTable("messages");
      delivery = this.ctx.storage.transactionSync(() => {
        this.sql.exec(
          "INSERT INTO messages (id, chat_id, text, state, timeout_ms, created_ms) VALUES (?, ?, ?, 'queued', ?, ?)",
          id,
          chatId,
          text,
          timeoutMs ?? null,
          Date.now(),
        );
        return this.#step(sendEvent(id, timeoutMs), "call").deliveries.get(id);
      });
    }
    if (delivery) await withDeadline(delivery, RESPONSE_WAIT_MS);
    const message = this.#message(id);
    if (message.state === "rejected") {
      return errorResponse(message.code, rejectionMessage(message.code), undefined, {
        id,
        state: message.state,
      });
    }
    const answer = { id, state: message.state };
    if (message.messageId) answer.messageId = message.messageId;
    return json(answer, 202);
  }

  /** A 429 when this instance already took SEND_RATE_PER_MINUTE new messages in the last minute
   *  (counted from its own message rows, so the limit survives restarts at no extra storage). */
  #sendRateRefusal() {
    const nowMs = Date.now();
    const hits = this.#rows("messages", "SELECT created_ms FROM messages WHERE created_ms > ? ORDER BY created_ms", nowMs - SEND_WINDOW_MS)
      .map((row) => row.created_ms);
    const verdict = windowVerdict(hits, sendRatePerMinute(this.env), SEND_WINDOW_MS, nowMs);
    if (verdict.allowed) return null;
    return json(
      { error: { code: "rate_limited", message: "too many messages for this instance; retry later" } },
      429,
      { "retry-after": retryAfterHeader(verdict.retryAfterMs) },
    );
  }

  #stability() {
    const timeline = this.#rows("audit", "SELECT at_ms, status FROM audit ORDER BY seq").map((row) => ({
      atMs: row.at_ms,
      status: row.status,
    }));
    // The machine's own counters next to the audit-derived metrics: a restart seen through
    // webhooks passes through STOPPED, which the timeline alone may not count as a restart.
    const snapshot = this.machine ? this.machine.snapshot() : {};
    return {
      ...stability(timeline, Date.now()),
      machineRestarts: snapshot.restarts ?? 0,
      machineAutoRestarts: snapshot.autoRestarts ?? 0,
      timeline,
    };
  }

  async #qr() {
    if (!this.instance.instanceId && !this.machine) return errorResponse("not_found", "unknown instance");
    const image = await this.#client().qrImage();
    const qr = typeof image === "string" ? image : (image?.qr ?? image?.data ?? null);
    if (typeof qr !== "string") return errorResponse("server", "the API returned no QR image");
    const answer = { qr };
    if (typeof this.instance.report?.qr === "string") answer.value = this.instance.report.qr;
    return json(answer);
  }

  async #pairingCode(request) {
    const body = await readJsonBody(request);
    const phoneNumber = body?.phoneNumber;
    if (typeof phoneNumber !== "string" || !/\d/.test(phoneNumber)) {
      return errorResponse("bad_request", "phoneNumber is required");
    }
    const { code } = await this.#client().requestCode(phoneNumber);
    return json({ code });
  }

  /** Complete data destruction: the API's instance, then every byte of local state. */
  async #delete(instanceId) {
    const { sessionName: knownSession } = this.instance;
    try {
      // Also for an instance this edge never adopted: the caller asked for the API's data to go.
      await apiClient(this.env, { instanceId: this.instance.instanceId ?? instanceId, sessionName: knownSession }).delete();
    } catch (err) {
      if (err?.code !== "not_found") return errorResponseFrom(this.env, err);
    }
    this.generation += 1;
    for (const writer of this.streams) writer.close().catch(() => {});
    this.streams.clear();
    await this.ctx.storage.deleteAlarm();
    const removedId = this.instance.instanceId ?? instanceId;
    await this.ctx.storage.deleteAll();
    this.#resetMemory();
    this.registry.remove(removedId);
    return json({ deleted: true });
  }
}

// ------------------------------------------------------------------ helpers

function invokeOp(client, op) {
  switch (op) {
    case "start":
      return client.start();
    case "restart":
      return client.restart();
    case "stop":
      return client.stop();
    case "logout":
      return client.logout();
    case "info":
      return client.info();
    case "me":
      return client.me();
    default:
      return Promise.reject(Object.assign(new Error(`unknown op ${op}`), { code: "invalid_option" }));
  }
}

function sendEvent(id, timeoutMs) {
  return typeof timeoutMs === "number" ? { type: "send", id, timeoutMs } : { type: "send", id };
}

function messageView(row) {
  const view = {
    id: row.id,
    chatId: row.chat_id,
    text: row.text,
    state: MESSAGE_STATES.includes(row.state) ? row.state : "queued",
    createdMs: row.created_ms,
  };
  if (row.code) view.code = row.code;
  if (row.message_id) view.messageId = row.message_id;
  if (row.done_ms !== null && row.done_ms !== undefined) view.doneMs = row.done_ms;
  return view;
}

function rejectionMessage(code) {
  switch (code) {
    case "needs_qr":
      return "the session is not paired: scan the QR code (or use a pairing code) first";
    case "not_found":
      return "the instance was deleted";
    case "queue_full":
      return "too many messages are waiting for this instance";
    case "send_timeout":
      return "the session did not become ready in time";
    case "identity_mismatch":
      return "the linked WhatsApp account is not the expected one";
    case "closed":
      return "the edge restarted while this message was being sent; it may or may not have been delivered";
    case "timeout":
    case "network":
    case "server":
      return "the API did not confirm this message; it may or may not have been delivered, and is not sent again";
    default:
      return `the message was rejected (${code})`;
  }
}

/** Waits (bounded) for the I/O a step started, so a response can show its outcome. */
function settle({ calls, deliveries }, ms = RESPONSE_WAIT_MS) {
  return withDeadline(Promise.allSettled([...calls, ...deliveries.values()]), ms);
}

function withDeadline(promise, ms) {
  let timer;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([Promise.resolve(promise).catch(() => {}), deadline]).finally(() => clearTimeout(timer));
}

