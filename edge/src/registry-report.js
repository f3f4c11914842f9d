// How an instance's Durable Object (and the worker) keep the registry current without slowing
// their own work: a changed row is sent within ROW_FLUSH_MS (a burst of changes is one write), counter increments at most once a second, one
// request in flight at a time (so the registry sees an instance's rows in order), and a failed
// send is retried with what changed since merged in. Nothing here ever throws into the caller.

import { CounterBatch } from "./metrics.js";
import { recordInRegistry } from "./registry.js";

/** A changed row waits this long, so that a burst of changes (restart → STOPPED → STARTING → ...)
 *  costs the single registry object one write; the create path sends at once (`flushNow`). */
const ROW_FLUSH_MS = 200;
/** Counter-only batches wait this long for company. */
const COUNT_FLUSH_MS = 1_000;
const RETRY_MS = [1_000, 5_000, 30_000];

export class RegistryReporter {
  /** @param {{waitUntil?: (p: Promise<unknown>) => void}} ctx where background work is registered */
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
    this.counts = new CounterBatch();
    this.row = null;
    this.rowDigest = null;
    this.sentDigest = null;
    this.removal = null;
    this.timer = null;
    this.dueAt = Infinity;
    this.inFlight = null;
    this.release = null;
    this.failures = 0;
    this.version = 0;
  }


  /** Sends what is queued now and waits for it (the create answers once its row is listed). */
  async flushNow() {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
      this.dueAt = Infinity;
      this.release?.();
    }
    while (this.inFlight) await this.inFlight;
    await this.#flush();
  }

  /** Queues the row when its digest differs from the last one sent; `build` makes it lazily. The
   *  row gets a version that only grows (the registry keeps the newest row per instance). */
  update(digest, build) {
    if (digest === this.sentDigest && this.row === null) return;
    if (digest === this.rowDigest && this.row !== null) return;
    this.row = build();
    this.version = Math.max(this.row.atMs ?? Date.now(), this.version + 0.001);
    this.row.version = this.version;
    this.rowDigest = digest;
    this.#schedule(ROW_FLUSH_MS);
  }

  count(name, labels, value = 1) {
    this.counts.add(name, labels, value);
    this.#schedule(COUNT_FLUSH_MS);
  }

  observeAlarmLag(lagMs) {
    this.counts.observeAlarmLag(lagMs);
    this.#schedule(COUNT_FLUSH_MS);
  }

  /** The instance is gone: its row goes, and nothing queued for it is sent after that. */
  remove(instanceId) {
    this.row = null;
    this.rowDigest = null;
    this.sentDigest = null;
    this.removal = instanceId;
    this.#schedule(0);
  }

  #schedule(delayMs) {
    const due = Date.now() + delayMs;
    if (this.timer !== null && this.dueAt <= due) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.release?.();
    this.dueAt = due;
    const done = new Promise((resolve) => {
      this.release = resolve;
    });
    const release = this.release;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.dueAt = Infinity;
      this.#flush().finally(release);
    }, delayMs);
    this.ctx.waitUntil?.(done);
  }

  async #flush() {
    if (this.inFlight) return; // the running flush re-schedules when it ends
    if (this.row === null && this.removal === null && this.counts.size === 0) return;
    let finished;
    this.inFlight = new Promise((resolve) => {
      finished = resolve;
    });
    const row = this.row;
    const digest = this.rowDigest;
    const removal = this.removal;
    const counts = this.counts.drain();
    this.row = null;
    this.removal = null;
    const record = {};
    if (row) record.row = row;
    if (removal) record.remove = removal;
    if (counts.length) record.counts = counts;
    let retryMs = null;
    try {
      await recordInRegistry(this.env, record);
      this.failures = 0;
      if (row) this.sentDigest = digest;
    } catch {
      // Give everything back; a newer row queued meanwhile wins over the one that failed.
      this.counts.merge(counts);
      if (row && this.row === null) this.row = row;
      if (removal && this.removal === null) this.removal = removal;
      retryMs = RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)];
      this.failures += 1;
    } finally {
      this.inFlight = null;
      finished();
    }
    if (retryMs !== null) this.#schedule(retryMs);
    else if (this.row !== null || this.removal !== null) this.#schedule(ROW_FLUSH_MS);
    else if (this.counts.size) this.#schedule(COUNT_FLUSH_MS);
  }
}

/**
 * An instance's registry row (edge/src/registry.js) from its driver's view plus its ids, with
 * `digest`: what the fleet view shows, so that an unchanged row is not sent again. `lastDay` (the
 * audit trail's 24 h figures) is read only when the row is built.
 */
export function instanceRow(view, lastDay, nowMs) {
  const { instanceId, sessionName, serverName, status, uiAction, statusSinceMs: sinceMs, lastError, notification: openNotification } = view;
  return {
    digest: JSON.stringify([status, sinceMs, uiAction, openNotification, serverName, sessionName, lastError?.code, lastError?.atMs]),
    build: () => {
      const day = lastDay();
      return {
        instanceId, sessionName, serverName, status, uiAction, sinceMs, lastError, openNotification,
        restarts24h: day.restarts,
        workingMs24h: day.workingMs,
        observedMs24h: day.observedMs,
        atMs: nowMs,
      };
    },
  };
}
