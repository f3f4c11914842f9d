// One Durable Object per Wawp instance: the single owner of that instance's lifecycle.
//
// It holds the package's sans-IO `SessionDriver` (the lifecycle machine plus every decision around
// it: what a call's answer means, what the view shows, what a restart lost) and only does the I/O:
// `call` effects become requests of a client that never retries and released sends one `sendText`
// each, both reported back as events; message rows move as the send actions say; status changes
// go to the audit trail and `notify_admin` to the notifications; the driver's next deadline is the
// object's one alarm; the driver's stored form is one `meta` row; the view goes to SSE streams and
// the registry.
//
// Concurrency: `#step` (handle one event, drain every effect, write storage, re-arm the alarm) is
// synchronous, so no two step loops can interleave inside this single-threaded object and all of a
// step's SQL writes commit together. Concurrent requests therefore never double-start: the driver
// sees them one after the other and keeps its single lifecycle call in flight.

import { DurableObject } from "cloudflare:workers";
import { SessionDriver, decodeStatus, stability } from "wawp-session";
import { AdminNotifications } from "./admin-notifications.js";
import { AuditTrail } from "./audit-trail.js";
import { adoptFault, apiClient, machineOptions, timingScale } from "./config.js";
import { EventStreams } from "./event-streams.js";
import { performCall, performSend } from "./api-calls.js";
import { describeError, errorResponse, errorResponseFrom, json } from "./http.js";
import { InstanceDb } from "./instance-db.js";
import { routeRequest } from "./instance-routes.js";
import { MessageStore } from "./message-store.js";
import { RegistryReporter, instanceRow } from "./registry-report.js";
import { settle } from "./wait.js";

/**
 * The two channels into this object, both opened only by the worker's code (a Durable Object is
 * reachable from nowhere else). A caller's request goes to `fetch`, as PUBLIC_ORIGIN plus a
 * sub-path from the worker's allowlist; `fetch` routes those sub-paths and nothing else. The
 * worker's own calls (adopt at create, reports of verified webhooks) are RPC methods, which only a
 * holder of the INSTANCES binding can call: no URL, header or body of a request names them.
 * Everything else here is private (`#`), so RPC reaches nothing but `adopt` and `receiveReports`.
 */
export const PUBLIC_ORIGIN = "https://public.instance";
/** An alarm waits longer than a request: nobody is waiting for it, and its I/O should finish inside it. */
const ALARM_WAIT_MS = 30_000;
/** How the send actions move a message row. */
const MESSAGE_MOVES = { reject_send: "rejected", resolve_send: "sent", hold_send: "queued" };
/** `meta` keys: the driver's stored form (a bare machine snapshot in objects stored before the
 *  driver, which `SessionDriver.fromJSON` reads too) and the instance's identity. */
const DRIVER_KEY = "machine";
const INSTANCE_KEY = "instance";

function emptyInstance() {
  return {
    instanceId: null,
    serverName: null,
    sessionName: null,
    startingTimeoutMs: null,
    expectedJid: null,
    /** The driver's restart count already added to the registry's restarts counter. */
    reportedRestarts: 0,
  };
}

export class InstanceSupervisor extends DurableObject {
  #db;
  #messages;
  #audit;
  #notifications;
  #streams = new EventStreams();
  #registry;
  /** Bumped on delete so that answers to calls made before it are dropped. */
  #generation = 0;
  #driver = null;
  #instance = emptyInstance();
  #alarmAt = null;
  /** @type {import("./instance-routes.js").InstanceHost} */
  #host;

  constructor(ctx, env) {
    super(ctx, env);
    this.#db = new InstanceDb(ctx.storage.sql);
    this.#messages = new MessageStore(this.#db);
    this.#audit = new AuditTrail(this.#db, timingScale(env));
    this.#notifications = new AdminNotifications(this.#db, ctx, env);
    this.#registry = new RegistryReporter(ctx, env);
    this.#host = this.#makeHost();
    ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = (await ctx.storage.getAlarm()) ?? null;
      this.#restore();
    });
  }

  // ---------------------------------------------------------------- entry points

  /** Callers' requests, forwarded by the worker (see PUBLIC_ORIGIN). */
  async fetch(request) {
    const url = new URL(request.url);
    const path = url.pathname.replace(/\/+$/, "") || "/";
    try {
      if (url.origin !== PUBLIC_ORIGIN) return errorResponse("not_found", "no such route");
      return await routeRequest(this.#host, request, path, request.headers.get("x-instance-id"));
    } catch (err) {
      return errorResponseFrom(this.env, err);
    }
  }

  /** RPC: adopts the instance at create (idempotent: an adopted object keeps its driver). */
  async adopt(instanceId, { serverName = null, sessionName = null, expectedJid = null, initialStatus = null } = {}) {
    if (adoptFault(this.env, this)) throw new Error("adopt failed (TEST_ADOPT_FAULT)");
    const fresh = !this.#driver;
    this.#adopt({ instanceId, serverName, sessionName, expectedJid });
    if (fresh && typeof initialStatus === "string") {
      await settle(this.#step({ type: "status", input: decodeStatus(initialStatus) }, "call"));
    }
    // The create answers once the registry lists the instance: then WAHA-shaped webhooks (which
    // name the session) can be routed, and the fleet view shows it.
    await this.#registry.flushNow();
  }

  /**
   * RPC: status reports the worker decoded from one verified webhook body, in body order. They
   * arrive as the wasm's `StatusReport` objects (structured clone), so nothing here parses or
   * decodes them again. Events for instances this edge never adopted are not ours to supervise.
   *
   * The report enters the driver as `{type: "status", input: report}`: the package sends an
   * object into the wasm as its JSON text (`JSON.stringify`, ~175 B for a webhook's report), read
   * by serde_json there. Measured against handing the object itself to serde-wasm-bindgen's
   * Deserializer (a scratch export, 10,000 reports of bench/lib/workload.mjs, decode + step, Node
   * 20, interleaved, median of 9 passes, 3 runs): 8.3-9.7 µs as text vs 9.9-11.4 µs as a value
   * (1.2x slower), and the Deserializer adds 17.9 KB gzip to a wasm at its weight limit. So text.
   */
  async receiveReports(reports) {
    if (!this.#driver || !Array.isArray(reports)) return;
    const steps = [];
    for (const report of reports) {
      this.#registry.count("wawp_webhook_events_total");
      steps.push(this.#step({ type: "status", input: report }, "webhook"));
    }
    await Promise.allSettled(steps.map((step) => settle(step)));
  }

  async alarm() {
    if (this.#alarmAt !== null) this.#registry.observeAlarmLag(Date.now() - this.#alarmAt);
    this.#alarmAt = null; // a fired alarm is gone; #step re-arms the next one
    if (!this.#driver) return;
    // Awaited so the calls and deliveries this alarm starts finish inside the alarm handler.
    await settle(this.#step({ type: "timeout" }, "timer"), ALARM_WAIT_MS);
  }

  // ---------------------------------------------------------------- the step loop

  /** Handles one event; see `#drain`. */
  #step(event, source) {
    const nowMs = Date.now();
    this.#driver.handle(event, nowMs);
    return this.#drain(nowMs, event, source);
  }

  /**
   * Performs every effect the driver asks for, writes storage, re-arms the alarm, broadcasts the
   * view. Synchronous on purpose (see the file comment). Returns the promises of the I/O it
   * started: `calls` and `deliveries` (message id → promise).
   */
  #drain(nowMs, event, source) {
    const driver = this.#driver;
    const calls = [];
    const releases = [];
    const notices = [];
    let save = false;
    let changed = false;
    for (const effect of driver.drainEffects()) {
      const { type } = effect;
      if (type === "call") calls.push(effect.op);
      else if (type === "release_send") releases.push(effect.id);
      else if (Object.hasOwn(MESSAGE_MOVES, type)) this.#moveMessage(effect.id, MESSAGE_MOVES[type], nowMs, effect.code);
      else if (type === "notify_admin") notices.push(effect.reason);
      else if (type === "persist") save = true;
      else if (type === "view") changed = true;
      // ui, identity, clear_identity: in the view already; read_qr: `/qr` reads the image on
      // demand; a `result` the driver answered itself needs nothing from us.
    }
    // Written after the drain, so the stored driver never holds actions already taken.
    if (save || changed) this.#db.writeMeta(DRIVER_KEY, driver.toJSON());
    const status = driver.status;
    const raw = event?.type === "status" ? (event.input?.rawStatus ?? status) : status;
    if (this.#audit.record({ atMs: nowMs, status, raw, source })) changed = true;
    for (const reason of notices) this.#notify(reason, nowMs);
    for (const id of releases) this.#moveMessage(id, "sending", nowMs);
    // An event the driver ignored (a duplicate webhook) changes no row: skip the registry work.
    if (changed || save) this.#syncRegistry(nowMs);
    this.#saveInstance();
    this.#syncAlarm();
    if (changed) this.#streams.sendView(this.#view());
    return {
      calls: calls.map((op) => this.#performCall(op)),
      deliveries: new Map(releases.map((id) => [id, this.#deliver(id)])),
    };
  }

  /** Moves a message row as the driver says (final states are never left) and tells the streams. */
  #moveMessage(id, state, nowMs, code = null) {
    if (!this.#messages.move(id, state, { code, nowMs })) return;
    this.#streams.sendMessage(this.#messages.get(id));
    if (state === "sent" || state === "rejected") {
      this.#registry.count("wawp_sends_total", { outcome: state === "sent" ? "sent" : (code ?? "rejected") });
    }
  }

  #notify(reason, nowMs) {
    const view = this.#driver.view();
    const added = this.#notifications.add({
      reason,
      episode: this.#audit.lastSeq(),
      atMs: nowMs,
      instanceId: this.#instance.instanceId,
      serverName: view.serverName ?? this.#instance.serverName,
      status: view.status,
      lastError: view.lastError,
    });
    if (added) this.#registry.count("wawp_admin_notifications_total", { reason });
  }

  #syncAlarm() {
    const deadline = this.#driver.pollTimeout();
    // Alarms are whole milliseconds: rounded down, a fractional deadline would fire before it is
    // due, find nothing to do and leave the driver without a timer.
    const next = typeof deadline === "number" && Number.isFinite(deadline) ? Math.ceil(deadline) : null;
    if (next === this.#alarmAt) return;
    this.#alarmAt = next;
    const done = next === null ? this.ctx.storage.deleteAlarm() : this.ctx.storage.setAlarm(next);
    done.catch(() => {});
  }

  // ---------------------------------------------------------------- I/O

  #client({ forMachine = false } = {}) {
    const { instanceId, sessionName } = this.#instance;
    return apiClient(this.env, { instanceId, sessionName, forMachine });
  }

  async #performCall(op) {
    const generation = this.#generation;
    const outcome = await performCall(this.env, this.#client({ forMachine: true }), op);
    if (generation !== this.#generation) return; // deleted meanwhile
    await this.#stepThrough({ type: "result", op, ...outcome }, op === "info" || op === "me" ? "poll" : "call");
  }

  /** Performs a released send once and reports the outcome; the driver resolves, holds or rejects it. */
  async #deliver(id) {
    const generation = this.#generation;
    const content = this.#messages.content(id);
    if (!content) return;
    const outcome = await performSend(this.env, this.#client({ forMachine: true }), content);
    if (generation !== this.#generation) return;
    if (outcome.messageId) this.#messages.setMessageId(id, outcome.messageId);
    await this.#stepThrough({ type: "send_result", id, ...outcome }, "call");
  }

  /** A step whose I/O this caller waits for (an answer, an outcome: what they start comes next). */
  async #stepThrough(event, source) {
    const next = this.#step(event, source);
    await Promise.allSettled([...next.calls, ...next.deliveries.values()]);
  }

  // ---------------------------------------------------------------- state

  /** Adopts the instance (first use): stores its identity and a fresh driver. */
  #adopt({ instanceId, serverName, sessionName, expectedJid }) {
    if (!this.#driver) {
      const opts = machineOptions(this.env, { expectedJid });
      this.#driver = new SessionDriver(opts);
      this.#instance.startingTimeoutMs = opts.startingTimeoutMs;
      this.#instance.expectedJid = expectedJid ?? null;
      this.#db.writeMeta(DRIVER_KEY, this.#driver.toJSON());
    }
    this.#instance.instanceId ??= instanceId;
    if (serverName) this.#instance.serverName = serverName;
    // The session name goes into the registry row, which is also the session name → instance id
    // mapping for WAHA-shaped webhooks.
    if (sessionName) this.#instance.sessionName = sessionName;
    this.#syncRegistry(Date.now());
    this.#saveInstance();
  }

  #saveInstance() {
    if (this.#driver) this.#db.writeMeta(INSTANCE_KEY, JSON.stringify(this.#instance));
  }

  /** After a workerd restart: the driver answers what the lost process had in flight
   *  (`restored`) and says what becomes of message rows it does not hold (`reconcileSends`). */
  #restore() {
    this.#db.discover();
    const instanceJson = this.#db.readMeta(INSTANCE_KEY);
    const driverJson = this.#db.readMeta(DRIVER_KEY);
    if (!instanceJson || !driverJson) return;
    this.#instance = { ...emptyInstance(), ...pick(JSON.parse(instanceJson), emptyInstance()) };
    this.#audit.restore();
    const nowMs = Date.now();
    try {
      this.#driver = SessionDriver.fromJSON(driverJson);
      this.#driver.restored(nowMs);
    } catch (err) {
      // Unreadable stored state must not brick the object: a fresh driver learns the status again
      // with `info`, and the messages are handed to it below.
      this.#driver = new SessionDriver(machineOptions(this.env, { expectedJid: this.#instance.expectedJid }));
      const { code, message } = describeError(this.env, err);
      this.#driver.noteError("restore", code, `stored state unreadable: ${message}`, nowMs);
    }
    this.#drain(nowMs, null, "call");
    // Rows the driver does not hold: the driver decides (a row on the wire is given up `closed`,
    // a queued one becomes a send); this object moves the rows as told.
    const stored = [
      ...this.#messages.inState("sending").map(({ id }) => ({ id, state: "sending" })),
      ...this.#messages.inState("queued").map(({ id, timeoutMs }) => ({ id, state: "queued", timeoutMs })),
    ];
    if (stored.length === 0) return;
    this.#driver.reconcileSends(stored, nowMs);
    this.#drain(nowMs, null, "call");
  }

  /** Keeps this instance's registry row current and adds the driver's new restarts to the
   *  fleet's counter (edge/src/registry.js). */
  #syncRegistry(nowMs) {
    const { instanceId, sessionName, reportedRestarts } = this.#instance;
    if (!instanceId || !this.#driver) return;
    const view = this.#driver.view();
    if (view.restarts > reportedRestarts) this.#registry.count("wawp_instance_restarts_total", {}, view.restarts - reportedRestarts);
    this.#instance.reportedRestarts = view.restarts;
    const ids = { instanceId, sessionName, serverName: view.serverName ?? this.#instance.serverName };
    const { digest, build } = instanceRow({ ...view, ...ids }, () => this.#audit.lastDay(nowMs), nowMs);
    this.#registry.update(digest, build);
  }

  /** The instance as `GET /instances/{id}` shows it: the driver's view plus what this object keeps. */
  #view() {
    const view = this.#driver ? this.#driver.view() : emptyView();
    return {
      instanceId: this.#instance.instanceId,
      sessionName: this.#instance.sessionName,
      known: this.#driver !== null,
      ...view,
      serverName: view.serverName ?? this.#instance.serverName,
      notifications: this.#notifications.list(),
      startingTimeoutMs: this.#instance.startingTimeoutMs,
    };
  }

  #stability() {
    const timeline = this.#audit.timeline();
    // The driver's own counters next to the audit-derived metrics: a restart seen through
    // webhooks passes through STOPPED, which the timeline alone may not count as a restart.
    const view = this.#driver ? this.#driver.view() : emptyView();
    return { ...stability(timeline, Date.now(), this.#audit.timingScale), machineRestarts: view.restarts, machineAutoRestarts: view.autoRestarts, timeline };
  }

  /** Complete data destruction: the API's instance, then every byte of local state. */
  async #delete(instanceId) {
    try {
      // Also for an instance this edge never adopted: the caller asked for the API's data to go.
      const { sessionName } = this.#instance;
      await apiClient(this.env, { instanceId: this.#instance.instanceId ?? instanceId, sessionName }).delete();
    } catch (err) {
      if (err?.code !== "not_found") return errorResponseFrom(this.env, err);
    }
    this.#generation += 1;
    this.#streams.closeAll();
    await this.ctx.storage.deleteAlarm();
    const removedId = this.#instance.instanceId ?? instanceId;
    await this.ctx.storage.deleteAll();
    this.#driver?.free(); // wasm memory is not garbage-collected
    this.#driver = null;
    this.#instance = emptyInstance();
    this.#alarmAt = null;
    this.#db.discover();
    this.#audit.restore();
    this.#registry.remove(removedId);
    return json({ deleted: true });
  }

  /** What the public routes may do (instance-routes.js). */
  #makeHost() {
    const self = this;
    return {
      env: this.env,
      messages: this.#messages,
      get known() {
        return Boolean(self.#instance.instanceId || self.#driver);
      },
      view: () => this.#view(),
      stability: () => this.#stability(),
      openStream: () => this.#streams.open(this.#view()),
      adopt: (instanceId) => this.#adopt({ instanceId }),
      userEvent: async (instanceId, type) => {
        this.#adopt({ instanceId });
        await settle(this.#step({ type }, "call"));
      },
      // The message is stored before the driver hears of it, in one transaction with the step:
      // storage never holds a send the driver refused, nor the driver one storage lacks.
      queueSend: ({ id, chatId, text, timeoutMs }) =>
        this.ctx.storage.transactionSync(() => {
          this.#messages.insert({ id, chatId, text, timeoutMs, nowMs: Date.now() });
          return this.#step(sendEvent(id, timeoutMs), "call").deliveries.get(id);
        }),
      client: () => this.#client(),
      delete: (instanceId) => this.#delete(instanceId),
    };
  }
}

// ------------------------------------------------------------------ helpers

function sendEvent(id, timeoutMs) {
  return typeof timeoutMs === "number" ? { type: "send", id, timeoutMs } : { type: "send", id };
}

/** The keys of `shape` present in `stored` (an old record may carry fields the driver now keeps). */
function pick(stored, shape) {
  return Object.fromEntries(Object.keys(shape).filter((key) => Object.hasOwn(stored, key)).map((key) => [key, stored[key]]));
}

let defaultView = null;
/** The view of an instance never adopted: a new driver's, asked of the package once. */
function emptyView() {
  if (defaultView === null) {
    const driver = new SessionDriver();
    defaultView = driver.view();
    driver.free();
  }
  return defaultView;
}
