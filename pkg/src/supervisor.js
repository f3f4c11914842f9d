// SessionSupervisor: the lifecycle machine driven by a WawpClient and real timers. The machine
// decides everything (when to start, restart, release, retry, resolve or reject a send); this file
// performs its actions: HTTP calls through the client, ONE timer at the machine's next deadline,
// running a released send's task and reporting its outcome (`send_result`), settling sends as
// the machine says, and forwarding every action to `onEvent`. What a UI needs of all that is
// kept in a SessionStore (`subscribe` / `getSnapshot`, see store.js).

import { LifecycleMachine, decodeStatus } from "./bindings.js";
import { WawpError } from "./error.js";
import { SessionStore } from "./store.js";

/** setTimeout's ceiling (2^31-1 ms); a later deadline is re-armed when this fires. */
const MAX_TIMER_MS = 2_147_483_647;
/** Lifecycle calls an automatic (not user-triggered) action may spend the retry budget on. */
const BUDGETED_OPS = new Set(["start", "restart"]);
const USER_EVENTS = new Set(["user_retry", "user_start", "user_stop", "user_logout"]);

export class SessionSupervisor {
  #client;
  #machine;
  #onEvent;
  #budget;
  #closed = false;
  #timer;
  #timerAt;
  /** Events waiting for `handle`: a handle never runs while another one is draining. */
  #queue = [];
  #draining = false;
  /** id → {task, resolve, reject} of sends the machine holds or released, plus the last run's
   *  outcome ({ok, value} or {ok, raw, error}). */
  #sends = new Map();
  #nextSendId = 1;
  /** op → the settled-promise of the call in flight for it. */
  #inFlight = new Map();
  /** The machine's state at its last `persist` (a `toJSON()` text): what a rebuild restores. */
  #persisted;
  /** What the UI sees (store.js). */
  #store = new SessionStore({ connection: "local" });
  /** A QR image read in flight, and whether another one was asked for meanwhile. */
  #qrFetch;
  #qrAgain = false;

  /** @param {import("./supervisor.d.ts").SupervisorOptions} opts */
  constructor(opts) {
    if (opts === null || typeof opts !== "object") {
      throw new WawpError("invalid_option", "SessionSupervisor needs an options object");
    }
    const { client, onEvent, budget, ...machineOptions } = opts;
    if (!client || typeof client.info !== "function") {
      throw new WawpError("invalid_option", "SessionSupervisor needs a client (a WawpClient)");
    }
    if (onEvent !== undefined && typeof onEvent !== "function") {
      throw new WawpError("invalid_option", "onEvent must be a function");
    }
    if (budget !== undefined && (budget === null || typeof budget.trySpend !== "function")) {
      throw new WawpError("invalid_option", "budget must be a RetryBudget");
    }
    this.#client = client;
    this.#onEvent = onEvent;
    this.#budget = budget;
    this.#machine = new LifecycleMachine(machineOptions);
    this.#persisted = this.#machine.toJSON();
    /** `subscribe(listener) → unsubscribe` and `getSnapshot()`: see store.js. Bound functions. */
    this.subscribe = this.#store.subscribe;
    this.getSnapshot = this.#store.getSnapshot;
  }

  get status() {
    return this.#withMachine((machine) => machine.status);
  }

  get queuedSends() {
    return this.#withMachine((machine) => machine.queuedSends);
  }

  snapshot() {
    return this.#withMachine((machine) => machine.snapshot());
  }

  /**
   * A webhook body (text or object, one event or an array), a parsed `WebhookEvent`, or a
   * StatusReport. Events that carry no session status (e.g. `message`) are ignored; a body
   * with no status at all throws `invalid_payload`.
   */
  observe(input) {
    this.#assertOpen();
    const inputs = statusInputs(input);
    const reports = inputs.map((item) => decodeStatus(item)); // throws here, before anything was handled
    for (const item of inputs) this.#enqueue({ type: "status", input: item });
    // Every SCAN_QR_CODE may carry a new code (WhatsApp rotates it): read the image again.
    if (reports.some((report) => report.status === "SCAN_QR_CODE") && this.#store.getSnapshot().uiAction === "scan_qr") {
      this.#refreshQr();
    }
  }

  /** Reads `info`; the machine starts a STOPPED session in the background. */
  async warmBoot() {
    const entry = this.#enqueue({ type: "warm_boot" });
    await entry.handled;
    const call = entry.calls.get("info") ?? this.#inFlight.get("info") ?? this.#perform({ type: "call", op: "info" }, entry);
    const outcome = await call;
    if (!outcome.ok) throw outcome.error;
    return decodeStatus(outcome.body);
  }

  /** The UI's Retry button: restart now. Resolves when the restart (if any) answered. */
  retry() {
    return this.#userCall({ type: "user_retry" }, ["restart", "start"]);
  }

  /** The UI's Power On button. */
  start() {
    return this.#userCall({ type: "user_start" }, ["start", "restart"]);
  }

  stop() {
    return this.#userCall({ type: "user_stop" }, ["stop"]);
  }

  logout() {
    return this.#userCall({ type: "user_logout" }, ["logout"]);
  }

  /**
   * Runs `task` once the session can send: starts a stopped session (one start for any number
   * of callers), queues while it comes up, rejects with the machine's code (send_timeout,
   * queue_full, needs_qr, identity_mismatch, closed, ...).
   */
  sendWhenReady(task, opts = {}) {
    if (typeof task !== "function") {
      return Promise.reject(new WawpError("invalid_option", "sendWhenReady needs a function"));
    }
    if (this.#closed) return Promise.reject(closedError());
    const id = `send-${this.#nextSendId++}`;
    // What the snapshot lists for this send besides its state (e.g. {chatId, text}).
    const shown = opts?.message && typeof opts.message === "object" ? { chatId: opts.message.chatId, text: opts.message.text } : {};
    this.#store.message(id, { ...shown, state: "queued", createdMs: Date.now() });
    const settled = (fields) => this.#store.message(id, { ...fields, doneMs: Date.now() });
    return new Promise((settleOk, settleError) => {
      const resolve = (value) => {
        settled({ state: "sent" });
        settleOk(value);
      };
      const reject = (err) => {
        settled({ state: "rejected", code: typeof err?.code === "string" ? err.code : "server" });
        settleError(err);
      };
      this.#sends.set(id, { task, resolve, reject });
      const event = { type: "send", id };
      if (opts?.timeoutMs !== undefined) event.timeoutMs = opts.timeoutMs;
      const entry = this.#enqueue(event);
      entry.handled.catch((err) => {
        if (this.#sends.delete(id)) reject(err);
      });
    });
  }

  /** Stops the timer and rejects everything pending with `closed`. Idempotent. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = undefined;
    const sends = [...this.#sends.values()];
    this.#sends.clear();
    for (const send of sends) send.reject(closedError());
    for (const entry of this.#queue) entry.reject(closedError());
    this.#queue = [];
    this.#store.update({ connection: "closed", pendingOp: null, nextDeadlineMs: null });
  }

  /** Reads the QR image (clients with `qrImage`) into the snapshot; one read at a time. */
  #refreshQr() {
    if (typeof this.#client.qrImage !== "function" || this.#closed) return;
    if (this.#qrFetch) {
      this.#qrAgain = true;
      return;
    }
    this.#qrFetch = Promise.resolve()
      .then(() => this.#client.qrImage())
      .then(
        (answer) => {
          if (this.#store.getSnapshot().uiAction === "scan_qr" && typeof answer?.qr === "string") this.#store.update({ qr: answer.qr });
        },
        (err) => this.#noteError("qrImage", asWawpError(err, "qrImage")),
      )
      .finally(() => {
        this.#qrFetch = undefined;
        if (this.#qrAgain) {
          this.#qrAgain = false;
          this.#refreshQr();
        }
      });
  }

  #noteError(op, error) {
    this.#store.update({ lastError: { code: error.code, message: error.message, op, atMs: Date.now() } });
  }

  /** The store's view of one machine action or call result. */
  #track(event) {
    const store = this.#store;
    switch (event.type) {
      case "ui": {
        const entering = event.uiAction === "scan_qr" && store.getSnapshot().uiAction !== "scan_qr";
        store.update({ status: event.status, statusSinceMs: Date.now(), ...(event.uiAction === "scan_qr" ? {} : { qr: null }) });
        if (entering) this.#refreshQr();
        break;
      }
      case "identity": {
        const me = store.getSnapshot().me;
        const fields = { identity: event.verdict };
        if (event.me && me?.id !== event.me) fields.me = { id: event.me };
        store.update(fields);
        break;
      }
      case "clear_identity":
        store.update({ identity: null, me: null });
        break;
      case "notify_admin":
        store.update({ notification: { reason: event.reason, atMs: Date.now() } });
        break;
      case "call":
        store.update({ pendingOp: event.op });
        break;
      case "release_send":
        if (this.#sends.has(event.id)) store.message(event.id, { state: "sending" });
        break;
      default:
        break;
    }
  }

  async #userCall(event, ops) {
    const entry = this.#enqueue(event);
    await entry.handled;
    // The call this event issued, else the one in flight it joined.
    const call = ops.map((op) => entry.calls.get(op)).find(Boolean) ?? ops.map((op) => this.#inFlight.get(op)).find(Boolean);
    if (!call) return;
    const outcome = await call;
    if (!outcome.ok) throw outcome.error;
  }

  #assertOpen() {
    if (this.#closed) throw closedError();
  }

  /**
   * Queues an event; drains the queue unless a drain is running further up the stack (an
   * `onEvent` handler calling back in). `entry.handled` settles once the machine took it.
   */
  #enqueue(event) {
    const entry = { event, calls: new Map() };
    entry.handled = new Promise((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    entry.handled.catch(() => {}); // callers that do not await must not cause unhandled rejections
    if (this.#closed) {
      entry.reject(closedError());
      return entry;
    }
    this.#queue.push(entry);
    if (!this.#draining) this.#drain();
    return entry;
  }

  #drain() {
    this.#draining = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const entry = this.#queue.shift();
        let actions;
        try {
          actions = this.#step(entry.event);
        } catch (err) {
          entry.reject(asWawpError(err));
          continue;
        }
        for (const action of actions) this.#perform(action, entry);
        entry.resolve();
      }
    } finally {
      this.#draining = false;
    }
    this.#armTimer();
    if (!this.#closed) this.#store.update({ queueLength: this.#withMachine((machine) => machine.queuedSends) });
  }

  /**
   * handle + drain (one boundary crossing for all pending actions). If the wasm instance trapped
   * since the machine was made (the package then swaps in a fresh instance and old objects throw
   * "Invalid stale object"), the machine is rebuilt from its last persisted state and the event
   * applied again: calls in flight still answer the new machine, nothing queued is lost.
   */
  #step(event) {
    return this.#withMachine((machine) => {
      machine.handle(event, Date.now());
      return machine.drainActions();
    });
  }

  /** Runs `use(machine)`, rebuilding the machine once if it belonged to a trapped instance. */
  #withMachine(use) {
    try {
      return use(this.#machine);
    } catch (err) {
      if (err instanceof WawpError) throw err;
      this.#machine = LifecycleMachine.fromJSON(this.#persisted);
      return use(this.#machine);
    }
  }

  /** One machine action. Returns the outcome promise for `call`s. */
  #perform(action, entry) {
    this.#emit(action);
    switch (action.type) {
      case "call":
        return this.#startCall(action.op, entry);
      case "release_send": {
        const send = this.#sends.get(action.id);
        if (send) this.#runTask(action.id, send);
        return undefined;
      }
      case "resolve_send":
      case "reject_send": {
        const send = this.#sends.get(action.id);
        if (!send) return undefined;
        this.#sends.delete(action.id);
        if (action.type === "resolve_send") send.resolve(send.value);
        // The task's own error when it is what the machine gave up on (as the task threw it).
        else send.reject(send.error?.code === action.code ? send.raw : new WawpError(action.code, `send rejected: ${action.code}`));
        return undefined;
      }
      case "persist":
        this.#persisted = this.#machine.toJSON();
        return undefined;
      default:
        // ui, identity, clear_identity, notify_admin: for the host, via onEvent.
        return undefined;
    }
  }

  /** Runs a released send's task once and reports what came of it; the machine decides the rest. */
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

  /** Runs a client call and answers the machine with its result. */
  #startCall(op, entry) {
    if (this.#closed) return Promise.resolve({ ok: false, error: closedError() });
    if (typeof this.#client[op] !== "function") {
      const outcome = Promise.resolve({ ok: false, error: new WawpError("invalid_option", `client has no ${op}()`) });
      entry.calls.set(op, outcome);
      return outcome;
    }
    const automatic = !USER_EVENTS.has(entry.event.type);
    let request;
    if (automatic && this.#budget && BUDGETED_OPS.has(op) && !this.#budget.trySpend(1, Date.now())) {
      // The shared budget is empty: answer as a rate limit without touching the network, so
      // the machine backs off like for a real 429.
      request = Promise.reject(new WawpError("rate_limited", `${op}: retry budget exhausted`, { op }));
    } else {
      request = Promise.resolve().then(() => this.#client[op]());
    }
    const outcome = request.then(
      (body) => ({ ok: true, body }),
      (err) => ({ ok: false, error: asWawpError(err, op) }),
    );
    entry.calls.set(op, outcome);
    this.#inFlight.set(op, outcome);
    outcome.then((result) => {
      if (this.#inFlight.get(op) === outcome) this.#inFlight.delete(op);
      if (this.#closed) return;
      this.#trackResult(op, result);
      this.#emit(
        result.ok ? { type: "result", op, ok: true } : { type: "result", op, ok: false, error: result.error.code },
      );
      this.#enqueue(result.ok ? { type: "result", op, ok: true, body: result.body ?? null } : { type: "result", op, ...failureFields(result.error) });
    });
    return outcome;
  }

  #trackResult(op, result) {
    const fields = {};
    if (this.#store.getSnapshot().pendingOp === op) fields.pendingOp = null;
    if (result.ok && op === "me" && typeof result.body?.id === "string") {
      fields.me = result.body.pushName === undefined ? { id: result.body.id } : { id: result.body.id, pushName: result.body.pushName };
    }
    this.#store.update(fields);
    if (!result.ok) this.#noteError(op, result.error);
  }

  /** Exactly one timer, at the machine's earliest deadline. */
  #armTimer() {
    if (this.#closed) return;
    const at = this.#withMachine((machine) => machine.pollTimeout());
    const deadline = at === undefined || at === null ? undefined : at;
    if (deadline === this.#timerAt && this.#timer !== undefined) return;
    this.#store.update({ nextDeadlineMs: deadline ?? null });
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = deadline;
    if (deadline === undefined) return;
    const delay = Math.min(Math.max(0, deadline - Date.now()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = undefined;
      this.#enqueue({ type: "timeout" });
    }, delay);
  }

  #emit(event) {
    this.#track(event);
    if (!this.#onEvent) return;
    try {
      this.#onEvent(event);
    } catch {
      // A failing listener must not leave the machine half-driven; the actions stand.
    }
  }
}

/** Splits an observed input into the things `decodeStatus` reads, dropping non-status events. */
function statusInputs(input) {
  let value = input;
  if (typeof value === "string" && value.trimStart().startsWith("[")) {
    try {
      value = JSON.parse(value);
    } catch {
      throw new WawpError("invalid_payload", "observed body is not valid JSON");
    }
  }
  const items = Array.isArray(value) ? value : [value];
  const inputs = [];
  for (const item of items) {
    if (item && typeof item === "object" && "report" in item && typeof item.event === "string") {
      // A parsed WebhookEvent: its report, when it is a status event at all.
      if (item.report) inputs.push(item.report);
      continue;
    }
    if (item && typeof item === "object" && typeof item.event === "string" && item.event !== "session.status") {
      continue; // message, engine.event, ...: no session status in them
    }
    inputs.push(item);
  }
  return inputs;
}

/** A failed call's fields for a `result` / `send_result` event. */
function failureFields({ code, httpStatus, retryAfterMs }) {
  return { ok: false, error: code, ...(httpStatus !== undefined && { httpStatus }), ...(retryAfterMs !== undefined && { retryAfterMs }) };
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
