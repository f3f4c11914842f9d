// The session store both sources share (SessionSupervisor in this process, connectEdgeSession for
// an edge worker): `subscribe(listener) → unsubscribe` and `getSnapshot()`, the contract of React's
// `useSyncExternalStore`, which Svelte stores and Vue refs wrap in a line. A snapshot is frozen and
// is replaced only when a value in it changed, so "did anything change?" is `prev !== next`.

import { decodeStatus } from "./bindings.js";

/** Message states only move forward: a slow list read must not undo a newer event. */
const MESSAGE_STATE_RANK = { queued: 0, sending: 1, sent: 2, rejected: 2 };
/** Finished messages past this many are dropped from the snapshot, oldest first. */
const MAX_MESSAGES = 200;

const EMPTY = Object.freeze([]);

/** What every snapshot starts from: nothing known yet. */
function initialFields() {
  return {
    status: "UNKNOWN",
    rawStatus: "UNKNOWN",
    qr: null,
    me: null,
    identity: null,
    notification: null,
    lastError: null,
    pendingOp: null,
    queueLength: 0,
    statusSinceMs: null,
    nextDeadlineMs: null,
    startingTimeoutMs: null,
    connection: "connecting",
    connectionError: null,
    messages: EMPTY,
  };
}

/** Status → the fields the decoder derives from it (uiAction, canSend, isRunning), per status. */
const derivedByStatus = new Map();
function derived(rawStatus) {
  let fields = derivedByStatus.get(rawStatus);
  if (!fields) {
    const report = decodeStatus(rawStatus);
    fields = { status: report.status, uiAction: report.uiAction, canSend: report.canSend, isRunning: report.isRunning };
    if (derivedByStatus.size < 64) derivedByStatus.set(rawStatus, fields);
  }
  return fields;
}

function sameValue(a, b) {
  if (Object.is(a, b)) return true;
  // Small records (me, notification, lastError) arrive as fresh objects from JSON: compare them
  // field by field so an identical re-read keeps the snapshot.
  if (!a || !b || typeof a !== "object" || typeof b !== "object" || Array.isArray(a) || Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && sameValue(a[key], b[key]));
}

export class SessionStore {
  #snapshot;
  #listeners = new Set();
  /** id → message (frozen); insertion order is creation order. */
  #messages = new Map();

  constructor(fields = {}) {
    const start = { ...initialFields(), ...fields };
    this.#snapshot = Object.freeze({ ...start, ...derived(start.rawStatus ?? start.status) });
    // Bound, so they can be handed over as they are: useSyncExternalStore(s.subscribe, s.getSnapshot).
    this.subscribe = this.subscribe.bind(this);
    this.getSnapshot = this.getSnapshot.bind(this);
  }

  getSnapshot() {
    return this.#snapshot;
  }

  /** Calls `listener()` after every change; returns the function that stops it (idempotent). */
  subscribe(listener) {
    if (typeof listener !== "function") throw new TypeError("subscribe needs a function");
    // A wrapper per call: the same function subscribed twice is two subscriptions.
    const entry = () => listener();
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /**
   * Applies changed fields. `status` (or `rawStatus`) also sets uiAction / canSend / isRunning
   * from the package's decoder. Returns whether the snapshot changed.
   */
  update(fields) {
    const current = this.#snapshot;
    const next = { ...fields };
    if (typeof next.status === "string" || typeof next.rawStatus === "string") {
      const raw = next.rawStatus ?? next.status;
      next.rawStatus = raw;
      Object.assign(next, derived(raw));
    }
    const changed = Object.keys(next).filter((key) => !sameValue(current[key], next[key]));
    if (changed.length === 0) return false;
    const replaced = { ...current };
    for (const key of changed) replaced[key] = next[key];
    this.#publish(replaced);
    return true;
  }

  /**
   * Adds or moves one message. States only move forward (queued → sending → sent | rejected);
   * an older state for a known message changes nothing.
   */
  message(id, fields) {
    const known = this.#messages.get(id);
    if (known && fields.state !== undefined && MESSAGE_STATE_RANK[fields.state] < MESSAGE_STATE_RANK[known.state]) {
      return false;
    }
    const merged = { ...known, ...definedFields(fields), id };
    merged.state ??= "queued";
    if (known && sameValue(known, merged)) return false;
    this.#messages.set(id, Object.freeze(merged));
    this.#trimMessages();
    this.#publish({ ...this.#snapshot, messages: Object.freeze([...this.#messages.values()]) });
    return true;
  }

  /** Replaces what is known about messages with a full list (a fresh read), keeping newer states. */
  messages(list) {
    let changed = false;
    const listed = new Set();
    for (const item of list) {
      if (!item || typeof item.id !== "string") continue;
      listed.add(item.id);
      const known = this.#messages.get(item.id);
      const forward = !known || MESSAGE_STATE_RANK[item.state] >= MESSAGE_STATE_RANK[known.state];
      const merged = Object.freeze(forward ? { ...known, ...definedFields(item) } : { ...item, ...known });
      if (known && sameValue(known, merged)) continue;
      this.#messages.set(item.id, merged);
      changed = true;
    }
    if (!changed) return false;
    this.#trimMessages();
    this.#publish({ ...this.#snapshot, messages: Object.freeze([...this.#messages.values()]) });
    return true;
  }

  getMessage(id) {
    return this.#messages.get(id);
  }

  /** Stops every listener (the source closed). */
  clear() {
    this.#listeners.clear();
  }

  #trimMessages() {
    let excess = this.#messages.size - MAX_MESSAGES;
    for (const [id, message] of this.#messages) {
      if (excess <= 0) break;
      if (message.state === "sent" || message.state === "rejected") {
        this.#messages.delete(id);
        excess -= 1;
      }
    }
  }

  #publish(fields) {
    this.#snapshot = Object.freeze(fields);
    // A copy: a listener may unsubscribe itself or others while we iterate.
    for (const listener of [...this.#listeners]) {
      if (!this.#listeners.has(listener)) continue; // unsubscribed by an earlier listener
      try {
        listener();
      } catch (error) {
        // One failing listener must neither stop the others nor the session that notified it.
        globalThis.reportError?.(error);
      }
    }
  }
}

function definedFields(fields) {
  const out = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out;
}
