// session.status webhook delivery: the two body shapes, signing, retries with exponential backoff,
// and the delivery faults (drop, duplicate, delay, reorder).
import { createHmac } from "node:crypto";

export const WAHA_VERSION = "2026.7.1";
const ENVIRONMENT = Object.freeze({
  version: WAHA_VERSION,
  engine: "WEBJS",
  tier: "PLUS",
  browser: "/usr/bin/chromium",
  platform: "linux/x64",
  worker: { id: "sim-worker" },
});

export const DEFAULT_DELIVERY = Object.freeze({
  retryBaseMs: 2000, // first retry delay; doubles per attempt (model time)
  maxAttempts: 5, // attempts per delivery, the first included
  timeoutMs: 10000, // per attempt (model time, but never under 2 s real)
  reorderHoldMs: 1000, // webhookReorder: how long an event waits for a successor to swap with
});

const SHAPES = new Set(["waha", "wawp"]);

/** Checks a receiver spec from options or the control API; returns the normalized receiver. */
export function receiverSpec({ url, shape = "waha", hmacKey } = {}) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError("webhook url must be an absolute http(s) URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TypeError("webhook url must be an absolute http(s) URL");
  }
  if (!SHAPES.has(shape)) throw new TypeError('webhook shape must be "waha" or "wawp"');
  if (hmacKey !== undefined && hmacKey !== null && (typeof hmacKey !== "string" || hmacKey === "")) {
    throw new TypeError("hmacKey must be a non-empty string");
  }
  return { url: parsed.href, shape, hmacKey: hmacKey ?? null };
}

/**
 * Signature headers over the exact body bytes: WAHA = hex HMAC-SHA512 in X-Webhook-Hmac (+ algorithm
 * header); Wawp = hex HMAC-SHA256 in X-Wawp-Signature.
 */
export function signatureHeaders(shape, key, body) {
  if (shape === "waha") {
    return {
      "x-webhook-hmac": createHmac("sha512", key).update(body).digest("hex"),
      "x-webhook-hmac-algorithm": "sha512",
    };
  }
  return { "x-wawp-signature": createHmac("sha256", key).update(body).digest("hex") };
}

export class WebhookDispatcher {
  /**
   * `environment` overrides fields of the WAHA `environment` block (version, tier); `signs: false`
   * models WAHA Core before 2024.11.5, which sends no HMAC headers even when a key is configured.
   */
  constructor({ clock, random, faults, log, flavor, delivery = DEFAULT_DELIVERY, environment = {}, signs = true }) {
    this.environment = { ...ENVIRONMENT, ...environment };
    this.signs = signs;
    this.clock = clock;
    this.random = random;
    this.faults = faults;
    this.log = log;
    this.flavor = flavor;
    this.delivery = delivery;
    this.receivers = [];
    this.inFlight = new Set();
    this.closed = false;
  }

  add(spec) {
    const receiver = { ...receiverSpec(spec), instanceId: spec.instanceId ?? null, chain: Promise.resolve(), held: null };
    this.receivers.push(receiver);
    return receiver;
  }

  /** Removes the receivers (global, or of one instance); their pending retries are cancelled. */
  clear(instanceId = null) {
    const keep = [];
    for (const receiver of this.receivers) {
      if (instanceId === null || receiver.instanceId === instanceId) {
        receiver.removed = true;
        if (receiver.held) this.clock.cancel(receiver.held.timer);
      } else {
        keep.push(receiver);
      }
    }
    this.receivers = keep;
  }

  /** Receivers without their keys (secrets never leave the simulator). */
  describe() {
    return this.receivers.map((r) => ({ url: r.url, shape: r.shape, signed: r.hmacKey !== null, instanceId: r.instanceId }));
  }

  /**
   * Emits one session.status event for `view` = {instanceId, sessionName, status, me, statuses, qrDataUrl}.
   * The view is a snapshot: later changes of the instance do not alter queued deliveries.
   */
  publish(view) {
    if (this.closed) return;
    const now = Date.now();
    const eventId = `evt_${this.random.ulid(now)}`;
    const bodies = {
      waha: JSON.stringify(this.#wahaBody(view, eventId, now)),
      wawp: JSON.stringify(this.#wawpBody(view, now)),
    };
    for (const receiver of this.receivers) {
      if (receiver.instanceId !== null && receiver.instanceId !== view.instanceId) continue;
      const event = { eventId, instanceId: view.instanceId, sessionStatus: view.status, body: bodies[receiver.shape] };
      this.#route(receiver, event);
    }
  }

  async close() {
    this.closed = true;
    for (const controller of this.inFlight) controller.abort();
    await Promise.allSettled(this.receivers.map((r) => r.chain));
  }

  #wahaBody(view, eventId, now) {
    const body = {
      id: eventId,
      timestamp: now,
      event: "session.status",
      session: view.sessionName,
      metadata: view.metadata ?? {},
      me: view.me,
      payload: { name: view.sessionName, status: view.status, statuses: view.statuses, data: null },
      engine: this.environment.engine,
      environment: this.environment,
    };
    if (this.flavor === "wawp") body.instance_id = view.instanceId; // lets receivers route by instance
    return body;
  }

  #wawpBody(view, now) {
    const body = { instance_id: view.instanceId, status: view.status };
    if (view.qrDataUrl) body.qr = view.qrDataUrl;
    body.ts = Math.floor(now / 1000);
    return body;
  }

  #route(receiver, event) {
    const faults = this.faults;
    if (this.random.chance(faults.webhookDrop)) {
      this.#record(receiver, event, { attempt: 0, status: null, outcome: "dropped" });
      return;
    }
    const copies = this.random.chance(faults.webhookDuplicate) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      const delivery = { ...event, duplicate: copy > 0 };
      if (faults.webhookDelayMs > 0) {
        this.clock.schedule(faults.webhookDelayMs, () => this.#enqueue(receiver, delivery));
      } else {
        this.#enqueue(receiver, delivery);
      }
    }
  }

  /** Per receiver, first attempts go out one at a time in order, except when reordering is on. */
  #enqueue(receiver, delivery) {
    if (this.closed || receiver.removed) return;
    const held = receiver.held;
    if (this.faults.webhookReorder) {
      if (held) {
        receiver.held = null;
        this.clock.cancel(held.timer);
        this.#send(receiver, delivery, 1);
        this.#send(receiver, held.delivery, 1);
      } else {
        const timer = this.clock.schedule(this.delivery.reorderHoldMs, () => {
          if (receiver.held?.delivery !== delivery) return;
          receiver.held = null;
          this.#send(receiver, delivery, 1);
        });
        receiver.held = { delivery, timer };
      }
      return;
    }
    if (held) {
      receiver.held = null;
      this.clock.cancel(held.timer);
      this.#send(receiver, held.delivery, 1);
    }
    this.#send(receiver, delivery, 1);
  }

  #send(receiver, delivery, attempt) {
    receiver.chain = receiver.chain.then(() => this.#attempt(receiver, delivery, attempt));
  }

  #headers(receiver, body, now) {
    const headers = {
      "content-type": "application/json",
      "user-agent": `WAHA/${this.environment.version} (wawp-session simulator)`,
      "x-webhook-request-id": `req_${this.random.ulid(now)}`,
      "x-webhook-timestamp": String(now),
    };
    if (receiver.hmacKey !== null && this.signs) Object.assign(headers, signatureHeaders(receiver.shape, receiver.hmacKey, body));
    return headers;
  }

  async #attempt(receiver, delivery, attempt) {
    if (this.closed || receiver.removed) return;
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timeout = setTimeout(() => controller.abort(), Math.max(2000, this.clock.real(this.delivery.timeoutMs)));
    let status = null;
    let failure = null;
    const headers = this.#headers(receiver, delivery.body, Date.now());
    try {
      const response = await fetch(receiver.url, { method: "POST", headers, body: delivery.body, signal: controller.signal });
      status = response.status;
      await response.arrayBuffer().catch(() => undefined);
    } catch (err) {
      failure = err;
    } finally {
      clearTimeout(timeout);
      this.inFlight.delete(controller);
    }
    if (this.closed) return;
    const ok = status !== null && status >= 200 && status < 300;
    const last = attempt >= this.delivery.maxAttempts;
    const outcome = ok ? "delivered" : last ? "gave_up" : failure ? "error_retrying" : "failed_retrying";
    this.#record(receiver, delivery, { attempt, status, outcome, requestId: headers["x-webhook-request-id"] });
    if (!ok && !last && !receiver.removed) {
      const delay = this.delivery.retryBaseMs * 2 ** (attempt - 1);
      this.clock.schedule(delay, () => this.#send(receiver, delivery, attempt + 1));
    }
  }

  #record(receiver, delivery, { attempt, status, outcome, requestId = null }) {
    this.log.webhook({
      url: receiver.url,
      status,
      eventId: delivery.eventId,
      sessionStatus: delivery.sessionStatus,
      instanceId: delivery.instanceId,
      attempt,
      outcome,
      requestId,
      duplicate: Boolean(delivery.duplicate),
    });
  }
}
