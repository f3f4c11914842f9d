// The dashboard: renders one WhatsApp session as the edge worker reports it (docs/CONTRACTS.md §3)
// and offers, per status, the action the vendor's lifecycle guide recommends. No framework: the
// page is a handful of static panels in index.html that this file shows, hides and fills.

// Edge mode: every /api call carries the instance token the operator's backend minted (access.js).
import { authorizedFetch, createInstance, withAccessToken } from "./access.js";

const POLL_INTERVAL_MS = 3000;
const STABILITY_REFRESH_MS = 5000;
const SSE_RETRY_AFTER_POLLING_MS = 30000;
const FIRST_QR_LIFETIME_MS = 60000; // WhatsApp's schedule: the first QR lives 60 s, the next ones 20 s
const NEXT_QR_LIFETIME_MS = 20000;
const STORAGE_KEY = "wawp-session.instanceId";

const STATUS_LABELS = {
  NONE: "Not connected",
  STOPPED: "Stopped",
  STARTING: "Starting",
  SCAN_QR_CODE: "Waiting for scan",
  WORKING: "Connected",
  FAILED: "Failed",
  LOGOUT: "Logged out",
  DELETED: "Deleted",
  PASSKEY_REQUIRED: "Passkey needed",
  PASSKEY_CONFIRMATION_REQUIRED: "Confirm passkey",
  UNKNOWN: "Unknown",
};

const NOTIFICATION_TEXT = {
  failed: "The session failed; automatic recovery is running.",
  restart_budget_exhausted: "Automatic restarts gave up after repeated failures; a person needs to look at it.",
  identity_mismatch: "A different WhatsApp account than expected is linked.",
  unauthorized: "The API rejected the access token.",
  deleted: "The instance was deleted.",
};

const IDENTITY_TEXT = {
  match: "Identity verified: this is the expected account",
  mismatch: "Identity mismatch: a different account is linked",
  unverifiable: "Identity could not be verified (hidden number)",
};

const MESSAGE_STATE_TEXT = {
  queued: "Queued", starting: "Waiting for session", sending: "Sending", sent: "Sent", rejected: "Rejected",
};

const REJECTION_TEXT = {
  needs_qr: "link the phone first (scan the QR code)",
  send_timeout: "the session was not ready in time",
  queue_full: "too many messages waiting",
  identity_mismatch: "a different account is linked",
  not_found: "the instance was deleted",
  closed: "interrupted by a restart; may or may not have been delivered",
  unauthorized: "the API rejected the credentials",
};

const CHART_COLORS = {
  STOPPED: "var(--c-stopped)", STARTING: "var(--c-starting)", SCAN_QR_CODE: "var(--c-scan)",
  WORKING: "var(--c-working)", FAILED: "var(--c-failed)", LOGOUT: "var(--c-scan)", DELETED: "var(--c-stopped)",
};

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const state = {
  config: { mode: "real", timingScale: 1 },
  instanceId: /** @type {string|null} */ (null),
  instance: /** @type {any} */ (null),
  messages: new Map(),
  eventSource: /** @type {EventSource|null} */ (null),
  pollTimer: 0,
  stabilityTimer: 0,
  tickTimer: 0,
  qr: { shownAtMs: 0, lifetimeMs: 0, count: 0, fetching: false, refetchQueued: false },
  lastStatus: "",
  faults: { hangStarting: false, burst429: false },
  /** Direct mode's in-page backend (www/direct.js); null when the edge worker answers /api. */
  direct: /** @type {any} */ (null),
};

// ---------- small helpers ----------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** HTTP status the edge worker would answer for an error code (edge/src/http.js). */
const STATUS_FOR_CODE = {
  bad_request: 400, invalid_payload: 400, invalid_option: 400, not_found: 404, conflict: 409, needs_qr: 409,
  identity_mismatch: 409, rate_limited: 429, queue_full: 429, timeout: 504, send_timeout: 504,
};

async function api(method, path, body) {
  if (state.direct && path.startsWith("/api/")) {
    // Direct mode: the package in this page answers the worker's routes itself.
    try {
      return await state.direct.handle(method, path.slice("/api".length), body);
    } catch (err) {
      const code = typeof err?.code === "string" ? err.code : "server";
      throw new ApiError(err?.status ?? STATUS_FOR_CODE[code] ?? 502, code, String(err?.message ?? err));
    }
  }
  const init = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await authorizedFetch(path, init);
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = data?.error ?? {};
    throw new ApiError(res.status, err.code ?? `http_${res.status}`, err.message ?? `HTTP ${res.status}`);
  }
  return data;
}

const instancePath = (suffix = "") => `/api/instances/${encodeURIComponent(state.instanceId ?? "")}${suffix}`;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

/** Durations on the page are in session time: wall time × the simulator's speed-up. */
function sessionMs(wallMs) {
  return wallMs * (state.config.timingScale || 1);
}

function formatDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 90) return `${Math.round(s)} s`;
  const m = s / 60;
  if (m < 90) return `${Math.floor(m)}m ${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${(m / 60).toFixed(1)} h`;
}

function formatClock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
}

function phoneOf(jid) {
  const user = String(jid ?? "").split("@")[0].split(":")[0];
  return /^\d+$/.test(user) ? `+${user}` : user || "—";
}

function announce(text) {
  $("status-live").textContent = text;
}

function showError(err, where = "alerts") {
  const message = err instanceof ApiError ? `${err.message} (${err.code})` : String(err?.message ?? err);
  if (where === "send") {
    $("send-error").textContent = message;
    $("send-error").hidden = false;
    return;
  }
  addAlert("error", message, 8000);
}

function addAlert(kind, text, ttlMs) {
  const alert = el("div", { class: `alert alert-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  $("alerts").append(alert);
  if (ttlMs) setTimeout(() => alert.remove(), ttlMs);
}

/** Runs a button's action with the button disabled meanwhile, so double clicks do nothing. */
async function withBusy(button, action) {
  if (button.getAttribute("aria-busy") === "true") return;
  button.setAttribute("aria-busy", "true");
  button.disabled = true;
  try {
    await action();
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    renderSimulatorControls();
  }
}

function confirmAction(title, text, confirmLabel) {
  const dialog = /** @type {HTMLDialogElement} */ ($("confirm-dialog"));
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = confirmLabel;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
  });
}

// ---------- instance id (lazy provisioning) ----------

function readInstanceId() {
  const fromUrl = new URLSearchParams(location.search).get("instance");
  if (fromUrl) return fromUrl;
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function rememberInstanceId(id) {
  state.instanceId = id;
  try {
    if (id) localStorage.setItem(STORAGE_KEY, id);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // private mode: the URL still carries the id
  }
  const url = new URL(location.href);
  if (id) url.searchParams.set("instance", id);
  else url.searchParams.delete("instance");
  history.replaceState(null, "", url);
  $("instance-line").textContent = id ? `Instance ${id}` : "No instance yet";
}

// ---------- rendering ----------

const PANELS = ["provision", "start", "connecting", "scan_qr", "connected", "troubleshoot", "passkey", "inspect"];

function showPanel(name) {
  const active = /** @type {HTMLElement|null} */ (document.activeElement);
  let focusWasInHiddenPanel = false;
  for (const panel of PANELS) {
    const node = /** @type {HTMLElement} */ (document.querySelector(`[data-panel="${panel}"]`));
    const hide = panel !== name;
    if (hide && !node.hidden && active && node.contains(active)) focusWasInHiddenPanel = true;
    node.hidden = hide;
  }
  // Keyboard users keep their place: when the control they used disappears, focus moves to the new
  // panel's main control instead of falling back to <body>.
  if (focusWasInHiddenPanel) {
    const next = document.querySelector(`[data-panel="${name}"] button, [data-panel="${name}"] summary`);
    if (next instanceof HTMLElement) next.focus();
  }
}

function renderNoInstance(text) {
  state.instance = null;
  $("link-chip").hidden = true;
  state.lastStatus = "";
  setBadge("NONE");
  $("provision-text").textContent = text;
  $("connect").textContent = "Connect WhatsApp";
  showPanel("provision");
  for (const id of ["session-actions", "send-card", "stability-card", "sim-card"]) $(id).hidden = true;
  $("pending").hidden = true;
}

function setBadge(status) {
  const badge = $("status-badge");
  badge.dataset.status = status;
  badge.textContent = STATUS_LABELS[status] ?? status;
}

function renderInstance(instance) {
  const previous = state.lastStatus;
  // Queued sends move with the session, not with their own events: re-read them when the queue changes.
  if (state.instance && instance.queueLength !== state.instance.queueLength) refreshMessages();
  state.instance = instance;
  const status = instance.status ?? "UNKNOWN";
  const uiAction = instance.uiAction ?? "inspect";
  setBadge(status);
  document.body.dataset.status = status;
  $("instance-line").textContent = `Instance ${instance.instanceId ?? state.instanceId}`;
  if (status !== previous) {
    state.lastStatus = status;
    announce(`Session status: ${STATUS_LABELS[status] ?? status}`);
    scheduleStabilityRefresh(200);
    renderMessages();
  }

  showPanel(uiAction);
  if (uiAction === "provision") {
    $("provision-text").textContent = "This instance was deleted. Create a new one to link WhatsApp again.";
    $("connect").textContent = "Create instance";
  }
  if (uiAction === "scan_qr") {
    $("scan-heading").textContent =
      status === "LOGOUT" ? "Logged out — scan again to relink" : "Scan with WhatsApp on your phone";
    if (status !== previous) state.qr.count = 0;
    refreshQr();
  } else {
    state.qr.count = 0;
    $("qr-image").hidden = true;
    $("qr-placeholder").hidden = false;
  }
  if (uiAction === "connected") renderAccount(instance);
  if (uiAction === "inspect") $("inspect-status").textContent = instance.report?.rawStatus ?? status;

  renderNotifications(instance);
  const running = ["STARTING", "SCAN_QR_CODE", "WORKING", "FAILED", "LOGOUT"].includes(status);
  $("session-actions").hidden = status === "DELETED";
  $("power-off").hidden = !running;
  $("logout").hidden = !["WORKING", "SCAN_QR_CODE", "FAILED", "LOGOUT"].includes(status);
  $("send-card").hidden = status === "DELETED";
  $("stability-card").hidden = status === "DELETED";
  $("sim-card").hidden = state.config.mode !== "simulator" || status === "DELETED";
  renderSimulatorControls();
  renderTick();
}

function renderAccount(instance) {
  // `me` is the account object; the identity verdict may carry just its id.
  const verdictMe = instance.identity?.me;
  const me = instance.me ?? (typeof verdictMe === "string" ? { id: verdictMe } : verdictMe) ?? null;
  const name = me?.pushName || "WhatsApp account";
  $("account-name").textContent = name;
  $("account-number").textContent = me?.id ? phoneOf(me.id) : "Number not reported yet";
  $("account-avatar").textContent = (name.trim()[0] ?? "?").toUpperCase();
  const verdict = instance.identity?.verdict ?? "none";
  const identity = $("identity");
  identity.dataset.verdict = verdict;
  identity.textContent = IDENTITY_TEXT[verdict] ?? "Identity not checked yet";
}

function renderNotifications(instance) {
  const box = $("alerts");
  for (const node of box.querySelectorAll(".alert-admin, .alert-lasterror")) node.remove();
  const notes = Array.isArray(instance.notifications) ? instance.notifications : [];
  const latest = notes.at(-1);
  // Old notifications stay in the timeline; only show one while it is still relevant.
  if (latest && (instance.status === "FAILED" || latest.atMs >= (instance.statusSinceMs ?? 0))) {
    const text = NOTIFICATION_TEXT[latest.reason] ?? latest.reason;
    box.prepend(
      el("div", { class: "alert alert-admin", role: "status" },
        el("strong", { text: "Administrator notified · " }), `${text} `,
        el("span", { class: "muted small", text: `(${formatClock(latest.atMs)})` })),
    );
  }
  const lastError = instance.lastError;
  if (lastError && !["WORKING", "DELETED"].includes(instance.status) && Date.now() - lastError.atMs < 60000) {
    box.append(
      el("div", { class: "alert alert-lasterror", role: "status" },
        el("strong", { text: "Last error · " }), `${lastError.message} (${lastError.code})`),
    );
  }
}

/** Everything that changes with the clock: elapsed time, watchdog bar, QR countdown, deadlines. */
function renderTick() {
  const instance = state.instance;
  if (!instance) return;
  const now = Date.now();
  if (instance.status === "STARTING") {
    const elapsed = Math.max(0, now - (instance.statusSinceMs ?? now));
    const limit = instance.startingTimeoutMs || 60000 / (state.config.timingScale || 1);
    const percent = Math.min(100, (elapsed / limit) * 100);
    $("connecting-elapsed").textContent = `${formatDuration(sessionMs(elapsed))} elapsed`;
    $("watchdog-fill").style.width = `${percent}%`;
    $("watchdog-bar").setAttribute("aria-valuenow", String(Math.round(percent)));
    $("watchdog-bar").dataset.late = String(percent >= 75);
    $("watchdog-text").textContent =
      `Watchdog: restarts the session after ${formatDuration(sessionMs(limit))} in STARTING ` +
      `(${formatDuration(sessionMs(Math.max(0, limit - elapsed)))} left).`;
  }
  if (instance.uiAction === "scan_qr" && state.qr.shownAtMs) {
    const left = Math.max(0, state.qr.shownAtMs + state.qr.lifetimeMs - now);
    $("qr-countdown").textContent = left > 0 ? `New code in ${Math.ceil(sessionMs(left) / 1000)} s` : "Refreshing code…";
    $("qr-meter-fill").style.width = `${(left / state.qr.lifetimeMs) * 100}%`;
    // The QR rotates on the server even when a webhook is lost; fetch the next one on schedule.
    if (left === 0) refreshQr();
  }
  const pending = $("pending");
  const parts = [];
  // Background reads (info, me) are routine; only lifecycle calls are worth telling the user about.
  if (instance.pendingOp && !["info", "me"].includes(instance.pendingOp)) parts.push(`In progress: ${instance.pendingOp}`);
  if (instance.status === "FAILED" && instance.nextDeadlineMs > now) {
    parts.push(`next automatic step in ${formatDuration(sessionMs(instance.nextDeadlineMs - now))}`);
  }
  if (instance.queueLength) parts.push(`${instance.queueLength} message(s) waiting`);
  pending.textContent = parts.join(" · ");
  pending.hidden = parts.length === 0;
}

// ---------- QR ----------

async function refreshQr() {
  if (state.qr.fetching) {
    state.qr.refetchQueued = true;
    return;
  }
  state.qr.fetching = true;
  try {
    const { qr } = await api("GET", instancePath("/qr"));
    if (state.instance?.uiAction !== "scan_qr") return;
    const img = /** @type {HTMLImageElement} */ ($("qr-image"));
    if (qr && img.src !== qr) {
      img.src = qr;
      state.qr.count += 1;
      state.qr.shownAtMs = Date.now();
      const lifetime = state.qr.count === 1 ? FIRST_QR_LIFETIME_MS : NEXT_QR_LIFETIME_MS;
      state.qr.lifetimeMs = lifetime / (state.config.timingScale || 1);
      img.dataset.serial = String(state.qr.count);
    } else if (qr) {
      // Same code as before: check again shortly rather than hammering the API.
      state.qr.shownAtMs = Date.now();
      state.qr.lifetimeMs = Math.max(1000, NEXT_QR_LIFETIME_MS / 4 / (state.config.timingScale || 1));
    }
    img.hidden = !qr;
    $("qr-placeholder").hidden = Boolean(qr);
  } catch (err) {
    // 409/422 while the status is still catching up is normal; the next status event refetches.
    state.qr.shownAtMs = Date.now();
    state.qr.lifetimeMs = 1000;
    if (!(err instanceof ApiError) || err.status >= 500) showError(err);
  } finally {
    state.qr.fetching = false;
    if (state.qr.refetchQueued) {
      state.qr.refetchQueued = false;
      refreshQr();
    }
  }
}

// ---------- live updates: SSE, polling as the fallback ----------

function setLink(kind) {
  const chip = $("link-chip");
  chip.dataset.link = kind;
  chip.textContent = { live: "live", polling: "polling", offline: "offline", direct: "package in page" }[kind];
}

function stopUpdates() {
  state.eventSource?.close();
  state.eventSource = null;
  clearInterval(state.pollTimer);
  state.pollTimer = 0;
}

function startUpdates() {
  stopUpdates();
  $("link-chip").hidden = false;
  if (state.direct) {
    // Updates come from the supervisor running in this page (see connectDirect).
    setLink("direct");
    return;
  }
  if (!state.instanceId || typeof EventSource === "undefined") return startPolling();
  const source = new EventSource(withAccessToken(instancePath("/events")));
  state.eventSource = source;
  let opened = false;
  let failures = 0;
  source.onopen = () => {
    opened = true;
    failures = 0;
    setLink("live");
    // Whatever changed while the stream was down: one fresh read.
    refreshInstance();
    refreshMessages();
  };
  source.onmessage = (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (data?.type === "message") return applyMessageUpdate(data);
    // Every SCAN_QR_CODE event may carry a new code: renderInstance fetches it again.
    if (data && typeof data === "object" && "status" in data) renderInstance(data);
  };
  source.onerror = () => {
    failures += 1;
    setLink("offline");
    // The browser reconnects by itself; give up on SSE only if it never worked or keeps failing.
    if (!opened || failures >= 3 || source.readyState === EventSource.CLOSED) {
      source.close();
      startPolling();
      setTimeout(() => {
        if (state.pollTimer && state.instanceId) startUpdates();
      }, SSE_RETRY_AFTER_POLLING_MS);
    }
  };
}

function startPolling() {
  stopUpdates();
  setLink("polling");
  state.pollTimer = setInterval(() => {
    refreshInstance();
    refreshMessages();
  }, POLL_INTERVAL_MS);
}

async function refreshInstance() {
  if (!state.instanceId) return;
  try {
    renderInstance(await api("GET", instancePath()));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return forgetInstance("This instance no longer exists.");
    if (state.pollTimer) setLink("offline");
  }
}

// ---------- messages ----------

/** Message states only move forward; a slow list read must not undo a newer stream event. */
const MESSAGE_STATE_RANK = { queued: 0, starting: 0, sending: 1, sent: 2, rejected: 2 };
const isNewer = (next, current) => (MESSAGE_STATE_RANK[next] ?? 0) >= (MESSAGE_STATE_RANK[current] ?? 0);

async function refreshMessages() {
  if (!state.instanceId) return;
  try {
    const list = await api("GET", instancePath("/messages"));
    if (!Array.isArray(list)) return;
    const merged = new Map();
    for (const message of list) {
      const known = state.messages.get(message.id);
      merged.set(message.id, known && !isNewer(message.state, known.state) ? { ...message, ...known } : message);
    }
    // Ours and not answered yet: the edge may not have stored it when this list was read.
    for (const [id, message] of state.messages) if (message.posting && !merged.has(id)) merged.set(id, message);
    state.messages = merged;
    renderMessages();
  } catch {
    // the next event or poll tries again
  }
}

function applyMessageUpdate(update) {
  const known = state.messages.get(update.id);
  if (known) {
    if (!isNewer(update.state, known.state)) return;
    Object.assign(known, { state: update.state, code: update.code ?? known.code });
    if (update.messageId) known.messageId = update.messageId;
    if (update.state === "sent" || update.state === "rejected") known.doneMs ??= Date.now();
    renderMessages();
  } else {
    refreshMessages();
  }
}

function renderMessages() {
  const list = $("messages");
  const items = [...state.messages.values()].sort((a, b) => (b.createdMs ?? 0) - (a.createdMs ?? 0)).slice(0, 20);
  list.replaceChildren(
    ...items.map((m) => {
      // The edge keeps a message "queued" until the session can take it; while that session is
      // booting, say so (start-on-send) instead of a bare "queued".
      const shown = m.state === "queued" && ["STOPPED", "STARTING"].includes(state.instance?.status) ? "starting" : m.state;
      const took = m.state === "sent" && m.doneMs && m.createdMs ? ` in ${formatDuration(sessionMs(m.doneMs - m.createdMs))}` : "";
      const reason = m.state === "rejected" && m.code ? `: ${REJECTION_TEXT[m.code] ?? m.code.replaceAll("_", " ")}` : "";
      return el("li", { class: "message", "data-id": m.id, "data-state": shown },
        el("div", { class: "message-body" },
          el("span", { class: "message-text", text: m.text ?? "" }),
          el("span", { class: "muted small", text: `to ${phoneOf(m.chatId)} · ${m.createdMs ? formatClock(m.createdMs) : ""}` })),
        el("span", { class: `pill pill-${shown}`, text: `${MESSAGE_STATE_TEXT[shown] ?? shown}${took}${reason}` }));
    }),
  );
  $("messages-empty").hidden = items.length > 0;
}

// ---------- stability ----------

function scheduleStabilityRefresh(delayMs) {
  clearTimeout(state.stabilityTimer);
  state.stabilityTimer = setTimeout(refreshStability, delayMs);
}

async function refreshStability() {
  if (!state.instanceId) return;
  try {
    renderStability(await api("GET", instancePath("/stability")));
  } catch {
    // shown again on the next refresh
  } finally {
    scheduleStabilityRefresh(STABILITY_REFRESH_MS);
  }
}

function renderStability(stats) {
  const percent = typeof stats.uptimeRatio === "number" ? `${(stats.uptimeRatio * 100).toFixed(1)}%` : "—";
  $("m-uptime").textContent = percent;
  // The supervisor's own count of restart calls (watchdog, recovery, Retry) when the edge reports it.
  $("m-restarts").textContent = String(stats.machineRestarts ?? stats.restarts ?? 0);
  $("m-failures").textContent = String(stats.failures ?? 0);
  $("m-mttr").textContent = stats.meanTimeToRecoverMs == null ? "—" : formatDuration(sessionMs(stats.meanTimeToRecoverMs));
  $("m-starting").textContent = formatDuration(sessionMs(stats.startingMs ?? 0));
  const timeline = Array.isArray(stats.timeline) ? stats.timeline : [];
  renderChart(timeline);
  renderTimeline(timeline);
}

/** A status band over time: one coloured segment per status period (inline SVG, no library). */
function renderChart(timeline) {
  const container = $("chart");
  const width = 1000;
  const height = 40;
  const band = { y: 4, h: 32 };
  const now = Date.now();
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "band", preserveAspectRatio: "none" });
  const title = svg("title");
  chart.append(title);
  if (timeline.length === 0) {
    title.textContent = "No status history yet";
    container.replaceChildren(chart);
    return;
  }
  const start = timeline[0].atMs;
  const span = Math.max(1, now - start);
  const x = (t) => ((t - start) / span) * width;
  chart.append(svg("rect", { x: 0, y: band.y, width, height: band.h, rx: 6, class: "band-bg" }));
  timeline.forEach((entry, i) => {
    const end = i + 1 < timeline.length ? timeline[i + 1].atMs : now;
    const rect = svg("rect", {
      x: x(entry.atMs).toFixed(2), y: band.y, width: Math.max(1.5, x(end) - x(entry.atMs)).toFixed(2), height: band.h,
      fill: CHART_COLORS[entry.status] ?? "var(--c-unknown)",
    });
    const tip = svg("title");
    tip.textContent = `${STATUS_LABELS[entry.status] ?? entry.status} for ${formatDuration(sessionMs(end - entry.atMs))}`;
    rect.append(tip);
    chart.append(rect);
  });
  const workingShare = timeline.reduce((sum, entry, i) => {
    const end = i + 1 < timeline.length ? timeline[i + 1].atMs : now;
    return entry.status === "WORKING" ? sum + (end - entry.atMs) : sum;
  }, 0);
  title.textContent = `Status over time: connected ${Math.round((workingShare / span) * 100)}% of the last ${formatDuration(sessionMs(span))}`;
  container.replaceChildren(chart,
    el("div", { class: "band-axis", "aria-hidden": "true" }, el("span", { text: formatClock(start) }), el("span", { text: "now" })));
  const seen = [...new Set(timeline.map((e) => e.status))];
  $("chart-legend").replaceChildren(
    ...seen.map((s) => el("span", { class: "legend-item" },
      el("span", { class: "swatch", style: `background:${CHART_COLORS[s] ?? "var(--c-unknown)"}` }),
      STATUS_LABELS[s] ?? s)),
  );
}

/** A restart is stop + start: a STOPPED this short between two running states was not a user's
 *  Power off. Model time, so the rule is the same at every simulator speed. */
const RESTART_STOP_MAX_MS = 3000;

/**
 * Labels the STARTING rows that began with a restart: "watchdog" when the previous start hung,
 * "recovery" when a FAILED session was restarted.
 */
function classifyRestarts(rows) {
  rows.forEach((row, i) => {
    const stop = rows[i - 1];
    const before = rows[i - 2];
    if (row.status !== "STARTING" || stop?.status !== "STOPPED" || !before) return;
    if (sessionMs(row.atMs - stop.atMs) > RESTART_STOP_MAX_MS) return;
    if (before.status === "STARTING") row.restart = "watchdog";
    else if (before.status === "FAILED") row.restart = "recovery";
  });
}

function renderTimeline(timeline) {
  const now = Date.now();
  const rows = timeline.map((entry, i) => ({ ...entry, until: i + 1 < timeline.length ? timeline[i + 1].atMs : null }));
  classifyRestarts(rows);
  const tagText = { watchdog: "watchdog restart", recovery: "auto recovery" };
  $("timeline").replaceChildren(
    ...rows.slice(-12).reverse().map((row) =>
      el("li", { class: "timeline-row", "data-status": row.status, "data-restart": row.restart },
        el("time", { datetime: new Date(row.atMs).toISOString(), text: formatClock(row.atMs) }),
        el("span", { class: "badge badge-small", "data-status": row.status, text: STATUS_LABELS[row.status] ?? row.status }),
        el("span", { class: "muted small", text: row.until ? `for ${formatDuration(sessionMs(row.until - row.atMs))}` : `now · ${formatDuration(sessionMs(now - row.atMs))}` }),
        row.restart ? el("span", { class: "tag", text: tagText[row.restart] }) : "")),
  );
  // While the session is (still) starting, say how often the watchdog already had to step in.
  let watchdogRestarts = 0;
  for (let i = rows.length - 1; i >= 0 && ["STARTING", "STOPPED"].includes(rows[i].status); i -= 1) {
    if (rows[i].restart === "watchdog") watchdogRestarts += 1;
  }
  const note = $("watchdog-restarts");
  const show = state.instance?.status === "STARTING" && watchdogRestarts > 0;
  note.hidden = !show;
  note.textContent = show
    ? `The watchdog restarted a start that hung for over ${formatDuration(sessionMs(state.instance.startingTimeoutMs ?? 0))} ` +
      `(${watchdogRestarts} restart${watchdogRestarts === 1 ? "" : "s"} so far).`
    : "";
}

// ---------- actions ----------

async function act(path, button) {
  await withBusy(button, async () => renderInstance(await api("POST", instancePath(path))));
}

async function provision(button) {
  const digits = /** @type {HTMLInputElement} */ ($("expected-phone")).value.replace(/\D/g, "");
  await withBusy(button, async () => {
    // The expected account turns on the identity check (`/me` after every connect).
    const body = digits ? { expectedJid: `${digits}@c.us` } : {};
    const created = state.direct ? await api("POST", "/api/instances/create", body) : await createInstance(body);
    rememberInstanceId(created.instanceId);
    if (digits) /** @type {HTMLInputElement} */ ($("sim-jid")).value = `${digits}@c.us`;
    announce("Instance created. Starting the session…");
    await openInstance();
  });
}

async function openInstance() {
  try {
    // Warm boot: one info call; a STOPPED session starts in the background right away, so the
    // QR code is usually ready by the time the user looks for it.
    renderInstance(await api("POST", instancePath("/warm-boot")));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return forgetInstance("That instance does not exist any more.");
    showError(err);
    await refreshInstance();
  }
  startUpdates();
  refreshMessages();
  refreshSimulatorFaults();
}

function forgetInstance(text) {
  stopUpdates();
  setLink("offline");
  rememberInstanceId(null);
  state.messages.clear();
  renderMessages();
  renderNoInstance(text);
}

function newMessageId() {
  return typeof crypto.randomUUID === "function"
    ? crypto.randomUUID()
    : `m-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

async function sendMessage(event) {
  event.preventDefault();
  const chatId = /** @type {HTMLInputElement} */ ($("send-chat")).value.trim();
  const textInput = /** @type {HTMLInputElement} */ ($("send-text"));
  const text = textInput.value.trim();
  $("send-error").hidden = true;
  if (!chatId || !text) {
    showError(new Error(!chatId ? "Enter a chat id, e.g. 15557654321@c.us" : "Write a message first"), "send");
    (!chatId ? $("send-chat") : textInput).focus();
    return;
  }
  // The id is ours, so the message is listed at once (the edge may hold the request while the
  // session starts) and a retried POST can never send it twice.
  const id = newMessageId();
  state.messages.set(id, { id, chatId, text, state: "queued", createdMs: Date.now(), posting: true });
  renderMessages();
  textInput.value = "";
  try {
    const accepted = await api("POST", instancePath("/send"), { id, chatId, text });
    applyMessageUpdate({ id, state: accepted.state, messageId: accepted.messageId });
  } catch (err) {
    const known = state.messages.get(id);
    // A 4xx is the edge's final word, shown on the message itself; anything else may still have
    // gone out, so it is reported and the list is read again.
    if (known && err instanceof ApiError && err.status < 500) Object.assign(known, { state: "rejected", code: err.code });
    else showError(err, "send");
    renderMessages();
  } finally {
    const known = state.messages.get(id);
    if (known) delete known.posting;
    refreshMessages();
  }
}

// ---------- simulator controls (simulator mode only) ----------

async function simulator(method, path, body, button, doneText) {
  await withBusy(button, async () => {
    await api(method, `/sim${path}`, body);
    $("sim-result").textContent = doneText;
  });
}

async function refreshSimulatorFaults() {
  if (state.config.mode !== "simulator") return;
  try {
    const faults = await api("GET", "/sim/faults");
    state.faults.hangStarting = Boolean(faults?.hangStarting);
    state.faults.burst429 = Boolean(faults?.burst429);
    $("sim-hang").setAttribute("aria-pressed", String(state.faults.hangStarting));
    $("sim-429").setAttribute("aria-pressed", String(state.faults.burst429));
  } catch {
    // the toggles keep their last known state
  }
}

/** The phone can only do what a real phone could do in the current status. */
function renderSimulatorControls() {
  const status = state.instance?.status;
  const enabled = {
    "sim-scan": status === "SCAN_QR_CODE" || status === "LOGOUT",
    "sim-unlink": status === "WORKING",
    "sim-fail": ["STARTING", "SCAN_QR_CODE", "WORKING"].includes(status ?? ""),
  };
  for (const [id, on] of Object.entries(enabled)) {
    const button = /** @type {HTMLButtonElement} */ ($(id));
    if (button.getAttribute("aria-busy") !== "true") button.disabled = !on;
  }
}

function wireSimulator() {
  const simInstance = () => `/instances/${encodeURIComponent(state.instanceId ?? "")}`;
  $("sim-scan").addEventListener("click", (e) => {
    const jid = /** @type {HTMLInputElement} */ ($("sim-jid")).value.trim() || "15551234567@c.us";
    simulator("POST", `${simInstance()}/scan`, { jid }, e.currentTarget, `Scanned by ${phoneOf(jid)}.`);
  });
  $("sim-unlink").addEventListener("click", (e) =>
    simulator("POST", `${simInstance()}/unlink`, {}, e.currentTarget, "The phone unlinked this device."));
  $("sim-fail").addEventListener("click", (e) =>
    simulator("POST", `${simInstance()}/fail`, {}, e.currentTarget, "The server reports FAILED."));
  $("sim-hang").addEventListener("click", (e) => {
    const on = !state.faults.hangStarting;
    simulator("POST", "/faults", { hangStarting: on }, e.currentTarget,
      on ? "Starts now hang in STARTING until you switch this off." : "Starts complete normally again.")
      .then(refreshSimulatorFaults);
  });
  $("sim-429").addEventListener("click", (e) => {
    const on = !state.faults.burst429;
    simulator("POST", "/faults", { burst429: on ? { count: 3, retryAfterS: 1 } : null }, e.currentTarget,
      on ? "The next 3 API calls answer 429 Too Many Requests." : "Rate limiting is off.")
      .then(refreshSimulatorFaults);
  });
}

// ---------- start ----------

function wire() {
  $("provision-form").addEventListener("submit", (e) => {
    e.preventDefault();
    provision($("connect"));
  });
  $("power-on").addEventListener("click", (e) => act("/start", e.currentTarget));
  $("retry").addEventListener("click", (e) => act("/retry", e.currentTarget));
  $("relink").addEventListener("click", (e) => act("/logout", e.currentTarget));
  $("power-off").addEventListener("click", (e) => act("/stop", e.currentTarget));
  $("logout").addEventListener("click", async (e) => {
    const button = e.currentTarget;
    if (await confirmAction("Log out of WhatsApp?", "This device is unlinked from the phone. You will need to scan a new QR code.", "Log out")) {
      await act("/logout", button);
    }
  });
  $("delete").addEventListener("click", async (e) => {
    const button = e.currentTarget;
    if (!(await confirmAction("Delete this instance?", "The session and its saved login are removed for good. Messages waiting to be sent are dropped.", "Delete"))) return;
    await withBusy(button, async () => {
      await api("DELETE", instancePath());
      forgetInstance("The instance was deleted. Create a new one to link WhatsApp again.");
      $("connect").textContent = "Create instance";
      $("connect").focus();
    });
  });
  $("pairing-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($("pairing-phone"));
    const phoneNumber = input.value.replace(/[^\d]/g, "");
    const result = $("pairing-result");
    if (phoneNumber.length < 6) {
      result.textContent = "Enter the full number with its country code.";
      input.focus();
      return;
    }
    try {
      const { code } = await api("POST", instancePath("/pairing-code"), { phoneNumber });
      result.replaceChildren("Enter this code on your phone: ", el("strong", { class: "pairing-code", text: code }));
    } catch (err) {
      result.textContent = `Could not get a code: ${err.message}`;
    }
  });
  $("send-form").addEventListener("submit", sendMessage);
  wireSimulator();
  state.tickTimer = setInterval(renderTick, 250);
}

/** Direct mode: load the package's browser build and let it stand in for the edge worker. */
async function connectDirect() {
  const { createDirectBackend } = await import("./direct.js");
  state.direct = await createDirectBackend({
    apiBase: state.config.apiBase,
    token: state.config.token,
    timingScale: state.config.timingScale,
    onInstance: (view) => {
      if (view.instanceId === state.instanceId) renderInstance(view);
    },
    onMessage: applyMessageUpdate,
  });
  $("footer-mode").textContent = "No edge worker: the wawp-session package runs in this page (nothing is kept on reload).";
}

async function main() {
  wire();
  try {
    state.config = await api("GET", "/config.json");
  } catch {
    state.config = { mode: "real", backend: "edge", timingScale: 1 };
  }
  if (state.config.backend === "direct") {
    try {
      await connectDirect();
    } catch (err) {
      showError(new Error(`The wawp-session package could not be loaded: ${err?.message ?? err}`));
      return;
    }
  }
  if (state.config.mode === "simulator") {
    const chip = $("mode-chip");
    chip.hidden = false;
    chip.textContent = `simulator ${state.config.timingScale}×`;
    $("sim-speed").textContent =
      `The simulated phone and server run ${state.config.timingScale}× faster than real time, and so do the ` +
      `supervisor's timers: all durations on this page are in session time (the 60 s watchdog takes ` +
      `${formatDuration(60000 / state.config.timingScale)} of wall time).`;
  }
  const id = readInstanceId();
  if (!id) {
    renderNoInstance("Link a WhatsApp account to start sending messages. It takes about a minute.");
    return;
  }
  rememberInstanceId(id);
  await openInstance();
}

main();
