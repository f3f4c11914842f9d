// Renders the session's snapshot: the panel its uiAction names (the package's decoder decides
// which), the badge, the account, notifications, and what changes with the clock (watchdog bar,
// QR countdown, pending work).
import { identityText, notificationText, statusLabel } from "/pkg/src/entry-web.js";
import { announce, el, formatClock, formatDuration, phoneOf, sessionMs } from "./dom.js";
import { renderMessages } from "./messages.js";
import { renderQr, resetQrCount, tickQr } from "./qr.js";
import { renderSimulatorControls } from "./simulator.js";
import { scheduleStabilityRefresh } from "./stability.js";
import { $, state } from "./state.js";

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

function setBadge(status) {
  const badge = $("status-badge");
  badge.dataset.status = status;
  badge.textContent = status === "NONE" ? "Not connected" : statusLabel(status);
}

export function renderNoInstance(text) {
  state.snapshot = null;
  $("link-chip").hidden = true;
  setBadge("NONE");
  $("provision-text").textContent = text;
  $("connect").textContent = "Connect WhatsApp";
  showPanel("provision");
  for (const id of ["session-actions", "send-card", "stability-card", "sim-card"]) $(id).hidden = true;
  $("pending").hidden = true;
  renderMessages(null);
}

export function setLink(kind) {
  const chip = $("link-chip");
  chip.hidden = false;
  chip.dataset.link = kind;
  chip.textContent = { live: "live", polling: "polling", offline: "offline", connecting: "connecting", direct: "package in page" }[kind] ?? kind;
}

/** One snapshot of the session (called on every change). */
export function renderSnapshot(snapshot) {
  const previous = state.snapshot;
  state.snapshot = snapshot;
  const { status, uiAction } = snapshot;
  setBadge(status);
  setLink(state.direct ? "direct" : snapshot.connection);
  document.body.dataset.status = status;
  $("instance-line").textContent = `Instance ${state.instanceId}`;
  if (status !== previous?.status) {
    announce(`Session status: ${statusLabel(status)}`);
    scheduleStabilityRefresh(200);
  }
  if (snapshot.messages !== previous?.messages || status !== previous?.status) renderMessages(snapshot);

  showPanel(uiAction);
  if (uiAction === "provision") {
    $("provision-text").textContent = "This instance was deleted. Create a new one to link WhatsApp again.";
    $("connect").textContent = "Create instance";
  }
  if (uiAction === "scan_qr") {
    $("scan-heading").textContent =
      status === "LOGOUT" ? "Logged out — scan again to relink" : "Scan with WhatsApp on your phone";
    if (status !== previous?.status) resetQrCount();
  }
  renderQr(snapshot);
  if (uiAction === "connected") renderAccount(snapshot);
  if (uiAction === "inspect") $("inspect-status").textContent = snapshot.rawStatus;

  renderNotifications(snapshot);
  // Power off while the session runs or is stuck (FAILED, LOGOUT); log out once it is or was linked.
  const linkingOrLinked = ["connected", "scan_qr", "troubleshoot"].includes(uiAction);
  $("session-actions").hidden = status === "DELETED";
  $("power-off").hidden = !(snapshot.isRunning || linkingOrLinked);
  $("logout").hidden = !linkingOrLinked;
  $("send-card").hidden = status === "DELETED";
  $("stability-card").hidden = status === "DELETED";
  $("sim-card").hidden = state.config.mode !== "simulator" || status === "DELETED";
  renderSimulatorControls();
  renderTick();
}

function renderAccount(snapshot) {
  const me = snapshot.me;
  const name = me?.pushName || "WhatsApp account";
  $("account-name").textContent = name;
  $("account-number").textContent = me?.id ? phoneOf(me.id) : "Number not reported yet";
  $("account-avatar").textContent = (name.trim()[0] ?? "?").toUpperCase();
  const identity = $("identity");
  identity.dataset.verdict = snapshot.identity ?? "none";
  identity.textContent = identityText(snapshot.identity) ?? "Identity not checked yet";
}

function renderNotifications(snapshot) {
  const box = $("alerts");
  for (const node of box.querySelectorAll(".alert-admin, .alert-lasterror")) node.remove();
  const latest = snapshot.notification;
  // Old notifications stay in the timeline; only show one while it is still relevant.
  if (latest && (snapshot.status === "FAILED" || latest.atMs >= (snapshot.statusSinceMs ?? 0))) {
    box.prepend(
      el("div", { class: "alert alert-admin", role: "status" },
        el("strong", { text: "Administrator notified · " }), `${notificationText(latest.reason)} `,
        el("span", { class: "muted small", text: `(${formatClock(latest.atMs)})` })),
    );
  }
  const lastError = snapshot.lastError;
  // Not once connected (it is over), nor for a deleted instance (uiAction "provision").
  if (lastError && !snapshot.canSend && snapshot.uiAction !== "provision" && Date.now() - lastError.atMs < 60000) {
    box.append(
      el("div", { class: "alert alert-lasterror", role: "status" },
        el("strong", { text: "Last error · " }), `${lastError.message} (${lastError.code})`),
    );
  }
}

/** Everything that changes with the clock: elapsed time, watchdog bar, QR countdown, deadlines. */
export function renderTick() {
  const snapshot = state.snapshot;
  if (!snapshot) return;
  const now = Date.now();
  if (snapshot.status === "STARTING") {
    const elapsed = Math.max(0, now - (snapshot.statusSinceMs ?? now));
    const limit = snapshot.startingTimeoutMs || 60000 / (state.config.timingScale || 1);
    const percent = Math.min(100, (elapsed / limit) * 100);
    $("connecting-elapsed").textContent = `${formatDuration(sessionMs(elapsed))} elapsed`;
    $("watchdog-fill").style.width = `${percent}%`;
    $("watchdog-bar").setAttribute("aria-valuenow", String(Math.round(percent)));
    $("watchdog-bar").dataset.late = String(percent >= 75);
    $("watchdog-text").textContent =
      `Watchdog: restarts the session after ${formatDuration(sessionMs(limit))} in STARTING ` +
      `(${formatDuration(sessionMs(Math.max(0, limit - elapsed)))} left).`;
  }
  tickQr(snapshot, now);
  const pending = $("pending");
  const parts = [];
  // Background reads (info, me) are routine; only lifecycle calls are worth telling the user about.
  if (snapshot.pendingOp && !["info", "me"].includes(snapshot.pendingOp)) parts.push(`In progress: ${snapshot.pendingOp}`);
  if (snapshot.status === "FAILED" && snapshot.nextDeadlineMs > now) {
    parts.push(`next automatic step in ${formatDuration(sessionMs(snapshot.nextDeadlineMs - now))}`);
  }
  if (snapshot.queueLength) parts.push(`${snapshot.queueLength} message(s) waiting`);
  pending.textContent = parts.join(" · ");
  pending.hidden = parts.length === 0;
}
