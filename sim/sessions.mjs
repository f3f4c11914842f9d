// The server-side session model: instances, their lifecycle timers, QR rotation, pairing, and the
// lifecycle fault switches (hangStarting, flapping, staleStatus, resendStarting). Independent of the
// Rust client on purpose: tests of one against the other must mean something.
import { qrDataUrl } from "./qr-image.mjs";

export const DEFAULT_TIMINGS = Object.freeze({
  startingMs: 3000, // STARTING → WORKING / SCAN_QR_CODE
  firstQrMs: 60000, // lifetime of the first QR
  nextQrMs: 20000, // lifetime of each later QR
  qrCount: 6, // QRs before FAILED
  restartStopMs: 500, // how long restart shows STOPPED
  resendStartingMs: 2000, // resendStarting fault: STARTING re-sent this often
  flapEveryMs: 15000, // flapping fault: a WORKING session blips this often...
  flapDownMs: 2000, // ...to STARTING for this long
  rateWindowMs: 5000, // start rate limit window...
  rateMaxStarts: 3, // ...and how many starts per instance it allows
});

export const RUNNING = new Set(["STARTING", "SCAN_QR_CODE", "WORKING", "FAILED"]);
const SEEDABLE = new Set(["STOPPED", "STARTING", "SCAN_QR_CODE", "WORKING", "FAILED"]);

/** A refusal the HTTP layer turns into a flavour-specific error response. */
export class SimError extends Error {
  /** kind: not_found | wrong_status | rate_limited | quota | conflict | bad_request | exists | only_default */
  constructor(kind, message, extra = {}) {
    super(message);
    this.kind = kind;
    Object.assign(this, extra);
  }
}

const UPPER_HEX = "0123456789ABCDEF";
const CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTVWXYZ0123456789";

export class Sessions {
  /**
   * @param {{clock, random, faults, timings, flavor, maxInstances, onEvent: (instance) => void}} deps
   * onEvent is called with the instance whenever a session.status event is due.
   */
  constructor({ clock, random, faults, timings, flavor, maxInstances, onEvent }) {
    this.clock = clock;
    this.random = random;
    this.faults = faults;
    this.timings = timings;
    this.flavor = flavor;
    this.maxInstances = maxInstances;
    this.onEvent = onEvent;
    this.instances = new Map();
  }

  reset(random) {
    for (const instance of this.instances.values()) this.#clearTimers(instance);
    this.instances.clear();
    this.random = random;
  }

  get(id) {
    const instance = typeof id === "string" ? this.instances.get(id) : undefined;
    if (!instance) throw new SimError("not_found", `Instance '${id}' not found`, { instanceId: id });
    return instance;
  }

  /** The status the API and webhooks report (the staleStatus fault hides WORKING). */
  reportedStatus(instance) {
    return instance.stale ? "SCAN_QR_CODE" : instance.status;
  }

  /** `me` as the API shows it: only once the phone is linked and the engine is WORKING. */
  me(instance) {
    return instance.status === "WORKING" ? instance.me : null;
  }

  qrDataUrl(instance) {
    if (!instance.qr) return null;
    instance.qr.dataUrl ??= qrDataUrl(instance.qr.value);
    return instance.qr.dataUrl;
  }

  // ---- operations (API) ----

  /** API create: counts against the quota. WAHA passes a name; Wawp generates ids. */
  create({ name, start = false, webhooks = [], metadata = null } = {}) {
    if (this.instances.size >= this.maxInstances) {
      throw new SimError("quota", `Instance limit reached (${this.maxInstances})`);
    }
    if (name !== undefined && this.instances.has(name)) {
      // devlikeapro/waha src/api/sessions.controller.ts (create)
      throw new SimError("exists", `Session '${name}' already exists. Use PUT to update it.`, { instanceId: name });
    }
    const instance = this.#newInstance({ id: name, webhooks, metadata });
    if (start) this.start(instance.id);
    return instance;
  }

  /** Control API: seed an instance (no quota), optionally paired and in a given status. */
  seed({ instance_id: id, paired = false, jid, status = "STOPPED" } = {}) {
    if (id !== undefined && (typeof id !== "string" || id === "")) {
      throw new SimError("bad_request", "instance_id must be a non-empty string");
    }
    if (id !== undefined && this.instances.has(id)) throw new SimError("exists", `Instance '${id}' already exists`);
    if (!SEEDABLE.has(status)) throw new SimError("bad_request", `status must be one of ${[...SEEDABLE].join(", ")}`);
    if (jid !== undefined && !isUserJid(jid)) throw new SimError("bad_request", "jid must look like <number>@c.us");
    const instance = this.#newInstance({ id });
    if (paired || jid !== undefined || status === "WORKING") this.#pair(instance, jid);
    if (status !== "STOPPED") this.#enter(instance, status);
    return instance;
  }

  start(id) {
    const instance = this.get(id);
    this.#checkStartRate(instance);
    // Both APIs: starting a running session changes nothing (WAHA src/api/sessions.controller.ts
    // `start` checks isRunning first; only the deprecated POST /api/sessions/start answered 422).
    if (instance.status === "STOPPED") this.#enter(instance, "STARTING");
    return instance;
  }

  /** Stop keeps the pairing: the next start goes straight to WORKING. */
  stop(id) {
    const instance = this.get(id);
    if (instance.status !== "STOPPED") this.#enter(instance, "STOPPED");
    return instance;
  }

  restart(id) {
    const instance = this.get(id);
    if (instance.status === "STOPPED") {
      this.#enter(instance, "STARTING");
    } else {
      this.#enter(instance, "STOPPED");
      this.#after(instance, this.timings.restartStopMs, () => this.#enter(instance, "STARTING"));
    }
    return instance;
  }

  /** Logout forgets the pairing; a running session shows a fresh QR, a stopped one stays stopped. */
  logout(id) {
    const instance = this.get(id);
    this.#unpair(instance);
    if (instance.status !== "STOPPED") this.#enter(instance, "SCAN_QR_CODE", { force: true });
    return instance;
  }

  delete(id) {
    const instance = this.get(id);
    if (instance.status !== "STOPPED") this.#enter(instance, "STOPPED");
    this.#clearTimers(instance);
    this.instances.delete(instance.id);
    return instance;
  }

  qrValue(id) {
    const instance = this.get(id);
    this.#requireScanning(instance, "Can get QR code");
    return instance.qr.value;
  }

  requestCode(id) {
    const instance = this.get(id);
    this.#requireScanning(instance, "Can request code");
    instance.pairingCode = `${this.random.pick(CODE_ALPHABET, 4)}-${this.random.pick(CODE_ALPHABET, 4)}`;
    return instance.pairingCode;
  }

  /** Checks that a message may be sent now and returns a message id. */
  send(id, chatId) {
    const instance = this.get(id);
    const status = this.reportedStatus(instance);
    if (status !== "WORKING") {
      throw new SimError(
        "wrong_status",
        `Session status is not as expected. Try again later or restart the session. Current status: ${status}, expected: WORKING`,
        { code: "session_not_working" },
      );
    }
    return `true_${chatId}_${this.random.pick(UPPER_HEX, 20)}`;
  }

  // ---- operations (the phone, via the control API) ----

  /** The phone scans the QR (or enters the pairing code). */
  scan(id, jid) {
    const instance = this.get(id);
    if (jid !== undefined && !isUserJid(jid)) throw new SimError("bad_request", "jid must look like <number>@c.us");
    if (instance.status !== "SCAN_QR_CODE" || instance.stale) {
      throw new SimError("conflict", `Nothing to scan: status is ${this.reportedStatus(instance)}`);
    }
    this.#pair(instance, jid);
    if (this.faults.staleStatus) {
      // Linked and working inside, but the reported status stays SCAN_QR_CODE (waha#1234).
      this.#clearTimers(instance);
      instance.status = "WORKING";
      instance.stale = true;
      this.onEvent(instance);
    } else {
      this.#enter(instance, "WORKING");
    }
    return instance;
  }

  /** The user removes the linked device on the phone: WORKING → FAILED, pairing gone. */
  unlink(id) {
    const instance = this.get(id);
    if (instance.status !== "WORKING") {
      throw new SimError("conflict", `Only a WORKING session can be unlinked: status is ${instance.status}`);
    }
    this.#unpair(instance);
    this.#enter(instance, "FAILED");
    return instance;
  }

  fail(id) {
    const instance = this.get(id);
    if (instance.status !== "FAILED") this.#enter(instance, "FAILED");
    return instance;
  }

  /** Re-arms the periodic fault checks after POST /__sim/faults (flapping needs a WORKING timer). */
  faultsChanged() {
    for (const instance of this.instances.values()) {
      if (instance.status === "WORKING" && !instance.stale && !instance.flapTimer) this.#armFlap(instance);
    }
  }

  // ---- internals ----

  #newInstance({ id, webhooks = [], metadata = null }) {
    const instanceId = id ?? this.#uniqueId();
    const instance = {
      id: instanceId,
      sessionName: this.flavor === "waha" ? instanceId : `wawp-${this.random.pick("0123456789", 8)}`,
      serverName: `sim-node-${1 + this.random.int(3)}`,
      status: "STOPPED",
      stale: false,
      hung: false,
      paired: false,
      me: null,
      qr: null,
      pairingCode: null,
      history: [{ status: "STOPPED", timestamp: Date.now() }],
      startCalls: [],
      timers: new Set(),
      flapTimer: null,
      blip: false,
      webhooks,
      metadata,
      lastActivityMs: null,
    };
    this.instances.set(instanceId, instance);
    return instance;
  }

  #uniqueId() {
    for (;;) {
      const id = this.random.pick(UPPER_HEX, 12);
      if (!this.instances.has(id)) return id;
    }
  }

  #pair(instance, jid) {
    const id = jid ?? `${1555 + this.random.int(8000)}${this.random.pick("0123456789", 7)}@c.us`;
    const number = id.slice(0, id.indexOf("@"));
    instance.paired = true;
    instance.me = { id, pushName: "Sim User", jid: `${number}:${1 + this.random.int(40)}@s.whatsapp.net` };
  }

  #unpair(instance) {
    instance.paired = false;
    instance.me = null;
  }

  #requireScanning(instance, what) {
    const status = this.reportedStatus(instance);
    if (status !== "SCAN_QR_CODE" || !instance.qr) {
      throw new SimError(
        "wrong_status",
        `${what} only in SCAN_QR_CODE status. The current status is '${status}'`,
        { code: "invalid_status" },
      );
    }
  }

  #checkStartRate(instance) {
    const now = Date.now();
    const windowMs = this.clock.real(this.timings.rateWindowMs);
    instance.startCalls = instance.startCalls.filter((t) => t > now - windowMs);
    if (instance.startCalls.length >= this.timings.rateMaxStarts) {
      const retryAfterMs = Math.max(0, instance.startCalls[0] + windowMs - now);
      throw new SimError("rate_limited", "Too many start requests for this instance", { retryAfterMs });
    }
    instance.startCalls.push(now);
  }

  #after(instance, modelMs, fn) {
    const handle = this.clock.schedule(modelMs, () => {
      instance.timers.delete(handle);
      fn();
    });
    instance.timers.add(handle);
    return handle;
  }

  #clearTimers(instance) {
    for (const handle of instance.timers) this.clock.cancel(handle);
    instance.timers.clear();
    instance.flapTimer = null;
  }

  /**
   * Moves to `status`, cancels the timers of the previous status, emits session.status when the
   * reported status changed (or `force`), and arms the timers of the new status.
   */
  #enter(instance, status, { force = false, blip = false } = {}) {
    const before = this.reportedStatus(instance);
    this.#clearTimers(instance);
    instance.status = status;
    instance.stale = false;
    instance.hung = false;
    instance.blip = blip;
    instance.lastActivityMs = Date.now();
    if (status !== "SCAN_QR_CODE") instance.qr = null;
    if (status === "SCAN_QR_CODE") this.#newQr(instance, 0);
    const changed = before !== status;
    if (changed) instance.history.push({ status, timestamp: Date.now() });
    if (instance.history.length > 3) instance.history.splice(0, instance.history.length - 3);
    if (changed || force) this.onEvent(instance);
    if (status === "STARTING") this.#armStarting(instance);
    if (status === "SCAN_QR_CODE") this.#after(instance, this.timings.firstQrMs, () => this.#rotateQr(instance));
    if (status === "WORKING") this.#armFlap(instance);
  }

  #armStarting(instance) {
    const duration = instance.blip ? this.timings.flapDownMs : this.timings.startingMs;
    this.#after(instance, duration, () => {
      if (this.faults.hangStarting) {
        instance.hung = true; // stays STARTING until the next stop / restart
        return;
      }
      this.#enter(instance, instance.paired ? "WORKING" : "SCAN_QR_CODE");
    });
    // WAHA re-sends session.status STARTING every ~2 s while the engine cannot connect (seen on
    // WAHA 2024.10.8): always for a hung WAHA session, and for any STARTING under the switch.
    const resend = () => {
      if (this.faults.resendStarting || (this.flavor === "waha" && instance.hung)) this.onEvent(instance);
      this.#after(instance, this.timings.resendStartingMs, resend);
    };
    this.#after(instance, this.timings.resendStartingMs, resend);
  }

  #armFlap(instance) {
    if (!this.faults.flapping) return;
    const jitter = this.random.next() * 0.4 - 0.2; // ±20 % so many sessions do not blip in lockstep
    instance.flapTimer = this.#after(instance, this.timings.flapEveryMs * (1 + jitter), () => {
      instance.flapTimer = null;
      if (this.faults.flapping && instance.status === "WORKING" && !instance.stale) {
        this.#enter(instance, "STARTING", { blip: true });
      }
    });
  }

  #newQr(instance, index) {
    const part = (n) => this.random.bytes(n).toString("base64");
    const lifetime = index === 0 ? this.timings.firstQrMs : this.timings.nextQrMs;
    instance.qr = {
      index,
      value: `2@${part(32)},${part(32)},${part(32)},${part(16)}`,
      expiresAtMs: Date.now() + this.clock.real(lifetime),
      dataUrl: null,
    };
  }

  #rotateQr(instance) {
    const index = instance.qr ? instance.qr.index + 1 : 1;
    if (index >= this.timings.qrCount) {
      this.#enter(instance, "FAILED");
      return;
    }
    this.#newQr(instance, index);
    this.onEvent(instance); // WAHA re-emits SCAN_QR_CODE for every new QR
    this.#after(instance, this.timings.nextQrMs, () => this.#rotateQr(instance));
  }
}

export function isUserJid(jid) {
  return typeof jid === "string" && /^\d{5,20}@c\.us$/.test(jid);
}
