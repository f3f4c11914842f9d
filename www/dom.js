// Small DOM and formatting helpers of the dashboard: element builders, durations in session time,
// alerts, busy buttons, the confirm dialog.
import { $, state } from "./state.js";

export function el(tag, attrs = {}, ...children) {
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

export function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

/** Durations on the page are in session time: wall time × the simulator's speed-up. */
export function sessionMs(wallMs) {
  return wallMs * (state.config.timingScale || 1);
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 90) return `${Math.round(s)} s`;
  const m = s / 60;
  if (m < 90) return `${Math.floor(m)}m ${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${(m / 60).toFixed(1)} h`;
}

export function formatClock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
}

export function phoneOf(jid) {
  const user = String(jid ?? "").split("@")[0].split(":")[0];
  return /^\d+$/.test(user) ? `+${user}` : user || "—";
}

export function announce(text) {
  $("status-live").textContent = text;
}

export function showError(err, where = "alerts") {
  const message = typeof err?.code === "string" ? `${err.message} (${err.code})` : String(err?.message ?? err);
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

/**
 * Runs a button's action with the button disabled meanwhile, so double clicks do nothing;
 * `afterwards` runs once it is enabled again (e.g. controls that depend on the status).
 */
export async function withBusy(button, action, afterwards = () => {}) {
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
    afterwards();
  }
}

export function confirmAction(title, text, confirmLabel) {
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
