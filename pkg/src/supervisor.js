// SessionSupervisor: a SessionDriver (the machine plus every decision around it, in the wasm)
// driven by a WawpClient and real timers. This file decides nothing: it performs the driver's
// effects (`call`s through the client, released sends' tasks reported as `send_result`, sends
// settled as told, a QR image read on `read_qr`), keeps ONE timer at `pollTimeout()`, forwards
// every machine action and each finished call's `{type:"result"}` to `onEvent`, and copies
// `view()` into a SessionStore (`subscribe` / `getSnapshot`, see store.js).

import { SessionDriver, decodeStatus } from "./bindings.js";
import { WawpError } from "./error.js";
import { SessionStore } from "./store.js";

/** setTimeout's ceiling (2^31-1 ms); a later deadline is re-armed when this fires. */
const MAX_TIMER_MS = 2_147_483_647;

export class SessionSupervisor {
  #client;
  #driver;
  #budget;
  #onEvent;
  #closed = false;
  #timer;
  #timerAt;
  /** Events waiting for the driver: one drain at a time (onEvent handlers may call back in). */
  #queue = [];
  #draining = false;
  #viewChanged = true;
  /** id → {task, resolve, reject} of sends, plus the last run's outcome ({ok, value} | {ok, raw, error}). */
  #sends = new Map();
  #nextSendId = 1;
  /** op → the outcome promise of the call in flight for it. */
  #calls = new Map();
  /** The driver's state at its last `persist`: what a rebuild after a wasm trap restores. */
  #persisted;
  #store = new SessionStore({ connection: "local" });
  /** The last QR image read; one read at a time, and whether another was asked for meanwhile. */
  #qr = null;
  #qrFetch;
  #qrAgain = false;

  /** @param {import("./supervisor.d.ts").SupervisorOptions} opts */
  constructor(opts) {
    if (opts === null || typeof opts !== "object") throw new WawpError("invalid_option", "SessionSupervisor needs an options object");
    const { client, onEvent, budget, ...machineOptions } = opts;
    if (!client || typeof client.info !== "function") throw new WawpError("invalid_option", "SessionSupervisor needs a client (a WawpClient)");
    if (onEvent !== undefined && typeof onEvent !== "function") throw new WawpError("invalid_option", "onEvent must be a function");
    this.#client = client;
    this.#onEvent = onEvent;
    this.#budget = budget;
    this.#driver = new SessionDriver(budget === undefined ? machineOptions : { ...machineOptions, budget });
    this.#persisted = this.#driver.toJSON();
    /** `subscribe(listener) → unsubscribe` and `getSnapshot()`: see store.js. Bound functions. */
    this.subscribe = this.#store.subscribe;
    this.getSnapshot = this.#store.getSnapshot;
  }

  get status() { return this.#withDriver((driver) => driver.status); }
  get queuedSends() { return this.#withDriver((driver) => driver.queuedSends); }
  snapshot() { return this.#withDriver((driver) => driver.snapshot()); }

  /** A webhook body (text or object, one event or an array), a parsed `WebhookEvent`, or a
   *  StatusReport; the driver skips events that carry no status and throws `invalid_payload`
   *  (handling nothing) for an undecodable one. */
  observe(input) {
    if (this.#closed) throw closedError();
    const entry = this.#enqueue({ type: "observe", input });
    if (entry.error) throw entry.error;
  }

  /** Reads `info`; the machine starts a STOPPED session in the background. */
  async warmBoot() {
    const outcome = await this.#callOf({ type: "warm_boot" }, ["info"]);
    if (!outcome) return this.#withDriver((driver) => driver.view().report) ?? decodeStatus(this.status);
    if (!outcome.ok) throw outcome.error;
    return decodeStatus(outcome.body);
  }

  // The UI's buttons; each resolves when the call it caused (if any) answered.
  retry() { return this.#userCall({ type: "user_retry" }, ["restart", "start"]); }
  start() { return this.#userCall({ type: "user_start" }, ["start", "restart"]); }
  stop() { return this.#userCall({ type: "user_stop" }, ["stop"]); }
  logout() { return this.#userCall({ type: "user_logout" }, ["logout"]); }

  /** Runs `task` once the session can send (see supervisor.d.ts); rejects with the driver's code. */
  sendWhenReady(task, opts = {}) {
    if (typeof task !== "function") return Promise.reject(new WawpError("invalid_option", "sendWhenReady needs a function"));
    if (this.#closed) return Promise.reject(closedError());
    const id = `send-${this.#nextSendId++}`;
    const shown = opts?.message && typeof opts.message === "object" ? { chatId: opts.message.chatId, text: opts.message.text } : {};
    this.#store.message(id, { ...shown, state: "queued", createdMs: Date.now() });
    const settled = (fields) => this.#store.message(id, { ...fields, doneMs: Date.now() });
    return new Promise((resolveOk, rejectError) => {
      const resolve = (value) => (settled({ state: "sent" }), resolveOk(value));
      const reject = (err) => (settled({ state: "rejected", code: typeof err?.code === "string" ? err.code : "server" }), rejectError(err));
      this.#sends.set(id, { task, resolve, reject });
      const entry = this.#enqueue(opts?.timeoutMs === undefined ? { type: "send", id } : { type: "send", id, timeoutMs: opts.timeoutMs });
      entry.handled.catch((err) => this.#sends.delete(id) && reject(err));
    });
  }

  /** Stops the timer and rejects everything pending with `closed`. Idempotent. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = this.#timerAt = undefined;
    const sends = [...this.#sends.values()];
    this.#sends.clear();
    for (const send of sends) send.reject(closedError());
    for (const entry of this.#queue) entry.reject(closedError());
    this.#queue = [];
    this.#store.update({ connection: "closed", pendingOp: null, nextDeadlineMs: null });
  }

  async #userCall(event, ops) {
    const outcome = await this.#callOf(event, ops);
    if (outcome && !outcome.ok) throw outcome.error;
  }

  /** Handles `event`, then awaits the call it issued, else the one in flight it joined. */
  async #callOf(event, ops) {
    const entry = this.#enqueue(event);
    await entry.handled;
    return ops.map((op) => entry.calls.get(op)).find(Boolean) ?? ops.map((op) => this.#calls.get(op)).find(Boolean);
  }

  /** Queues an event and drains unless a drain runs further up the stack (an onEvent handler). */
  #enqueue(event) {
    const entry = { event, calls: new Map() };
    entry.handled = new Promise((resolve, reject) => Object.assign(entry, { resolve, reject }));
    entry.handled.catch(() => {}); // callers that do not await must not cause unhandled rejections
    if (this.#closed) entry.reject(closedError());
    else this.#queue.push(entry);
    if (!this.#draining) this.#drain();
    return entry;
  }

  #drain() {
    this.#draining = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const entry = this.#queue.shift();
        let effects;
        try {
          effects = this.#withDriver((driver) => {
            if (entry.event.type === "observe") driver.observe(entry.event.input, Date.now());
            else driver.handle(entry.event, Date.now());
            return driver.drainEffects();
          });
        } catch (err) {
          entry.error = asWawpError(err);
          entry.reject(entry.error);
          continue;
        }
        for (const effect of effects) this.#perform(effect, entry);
        entry.resolve();
      }
    } finally {
      this.#draining = false;
    }
    this.#armTimer();
    this.#showView();
  }

  /** Runs `use(driver)`, rebuilding the driver once if it belonged to a trapped wasm instance. */
  #withDriver(use) {
    try {
      return use(this.#driver);
    } catch (err) {
      if (err instanceof WawpError) throw err;
      this.#driver = SessionDriver.fromJSON(this.#persisted);
      this.#viewChanged = true;
      // A budget made by the trapped instance is stale too: go on without it.
      if (this.#budget !== undefined) this.#try(() => this.#driver.setBudget(this.#budget), () => (this.#budget = undefined));
      return use(this.#driver);
    }
  }

  /** One effect of the driver. */
  #perform(effect, entry) {
    if (effect.type === "view") return void (this.#viewChanged = true);
    if (effect.type === "read_qr") return this.#readQr();
    this.#emit(effect);
    const send = this.#sends.get(effect.id);
    switch (effect.type) {
      case "call":
        return this.#startCall(effect.op, entry);
      case "release_send":
        if (send) this.#store.message(effect.id, { state: "sending" }), this.#runTask(effect.id, send);
        return undefined;
      case "resolve_send":
        if (send) this.#sends.delete(effect.id), send.resolve(send.value);
        return undefined;
      case "reject_send":
        // The task's own error when it is what the driver gave up on (as the task threw it).
        if (send) this.#sends.delete(effect.id), send.reject(send.error?.code === effect.code ? send.raw : new WawpError(effect.code, `send rejected: ${effect.code}`));
        return undefined;
      case "persist":
        this.#persisted = this.#driver.toJSON();
        return undefined;
      default:
        return undefined; // ui, identity, hold_send, notify_admin, a budget-refused result: for onEvent
    }
  }

  /** Runs a released send's task once and reports what came of it. */
  #runTask(id, send) {
    Promise.resolve()
      .then(() => send.task())
      .then(
        (value) => ({ ok: true, value }),
        (raw) => ({ ok: false, raw, error: asWawpError(raw, "sendText") }),
      )
      .then((outcome) => {
        Object.assign(send, outcome);
        this.#enqueue({ type: "send_result", id, ...(outcome.ok ? { ok: true } : failureFields(outcome.error)) });
      });
  }

  /** Makes one client call and answers the driver with its result. */
  #startCall(op, entry) {
    const request = typeof this.#client[op] === "function" ? Promise.resolve().then(() => this.#client[op]()) : Promise.reject(new WawpError("invalid_option", `client has no ${op}()`));
    const outcome = request.then(
      (body) => ({ ok: true, body }),
      (err) => ({ ok: false, error: asWawpError(err, op) }),
    );
    entry.calls.set(op, outcome);
    this.#calls.set(op, outcome);
    outcome.then((result) => {
      if (this.#calls.get(op) === outcome) this.#calls.delete(op);
      if (this.#closed) return;
      this.#emit(result.ok ? { type: "result", op, ok: true } : { type: "result", op, ok: false, error: result.error.code });
      this.#enqueue(result.ok ? { type: "result", op, ok: true, body: result.body ?? null } : { type: "result", op, ...failureFields(result.error) });
    });
    return outcome;
  }

  /** Reads the QR image (clients with `qrImage`); one read at a time, the latest request wins. */
  #readQr() {
    if (typeof this.#client.qrImage !== "function" || this.#closed) return;
    if (this.#qrFetch) return void (this.#qrAgain = true);
    this.#qrFetch = Promise.resolve()
      .then(() => this.#client.qrImage())
      .then(
        (answer) => {
          if (typeof answer?.qr === "string") (this.#qr = answer.qr), (this.#viewChanged = true), this.#showView();
        },
        (err) => {
          const error = asWawpError(err, "qrImage");
          if (!this.#closed) this.#withDriver((driver) => driver.noteError("qrImage", error.code, error.message, Date.now()));
          this.#viewChanged = true;
          this.#showView();
        },
      )
      .finally(() => {
        this.#qrFetch = undefined;
        if (this.#qrAgain) (this.#qrAgain = false), this.#readQr();
      });
  }

  /** Copies the driver's view into the store (only after a `view` effect). */
  #showView() {
    if (this.#closed || !this.#viewChanged) return;
    this.#viewChanged = false;
    const view = this.#withDriver((driver) => driver.view());
    if (view.uiAction !== "scan_qr") this.#qr = null;
    this.#store.update({
      status: view.uiStatus,
      statusSinceMs: view.statusSinceMs,
      qr: this.#qr,
      me: view.me,
      identity: view.identity?.verdict ?? null,
      notification: view.notification,
      lastError: view.lastError,
      pendingOp: view.pendingOp,
      queueLength: view.queueLength,
      nextDeadlineMs: view.nextDeadlineMs,
    });
  }

  /** Exactly one timer, at the driver's next deadline. */
  #armTimer() {
    if (this.#closed) return;
    const deadline = this.#withDriver((driver) => driver.pollTimeout()) ?? undefined;
    if (deadline === this.#timerAt && this.#timer !== undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = deadline;
    if (deadline === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = this.#timerAt = undefined;
      this.#enqueue({ type: "timeout" });
    }, Math.min(Math.max(0, deadline - Date.now()), MAX_TIMER_MS));
  }

  /** A failing listener must not leave the driver half-driven: the effects stand. */
  #emit(event) {
    if (this.#onEvent) this.#try(() => this.#onEvent(event));
  }

  #try(run, failed = () => {}) {
    try {
      run();
    } catch {
      failed();
    }
  }
}

/** A failed call's or send's fields for a `result` / `send_result` event. */
function failureFields({ code, message, httpStatus, retryAfterMs }) {
  return { ok: false, error: code, message, ...(httpStatus !== undefined && { httpStatus }), ...(retryAfterMs !== undefined && { retryAfterMs }) };
}

function asWawpError(err, op) {
  if (err instanceof WawpError) return err;
  if (err && typeof err === "object" && typeof err.code === "string" && typeof err.message === "string") {
    return new WawpError(err.code, err.message, { httpStatus: err.httpStatus, retryAfterMs: err.retryAfterMs, op: err.op ?? op });
  }
  return new WawpError("invalid_payload", err instanceof Error ? err.message : String(err), { op });
}

function closedError() {
  return new WawpError("closed", "the supervisor was closed");
}
