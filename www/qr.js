// The QR panel: the session reads the image on every SCAN_QR_CODE; this shows it with the
// WhatsApp schedule's countdown and asks again when a code should have rotated but no event said
// so (a lost webhook).
import { sessionMs } from "./dom.js";
import { $, state } from "./state.js";

const FIRST_QR_LIFETIME_MS = 60000; // WhatsApp's schedule: the first QR lives 60 s, the next ones 20 s
const NEXT_QR_LIFETIME_MS = 20000;

const qr = { shown: /** @type {string|null} */ (null), shownAtMs: 0, lifetimeMs: 0, count: 0 };

/** A new scan_qr episode starts counting codes from one again. */
export function resetQrCount() {
  qr.count = 0;
}

export function renderQr(snapshot) {
  const img = /** @type {HTMLImageElement} */ ($("qr-image"));
  if (snapshot.uiAction !== "scan_qr" || !snapshot.qr) {
    if (snapshot.uiAction !== "scan_qr") qr.count = 0;
    qr.shown = null;
    img.hidden = true;
    $("qr-placeholder").hidden = false;
    return;
  }
  if (snapshot.qr !== qr.shown) {
    qr.shown = snapshot.qr;
    img.src = snapshot.qr;
    qr.count += 1;
    qr.shownAtMs = Date.now();
    qr.lifetimeMs = (qr.count === 1 ? FIRST_QR_LIFETIME_MS : NEXT_QR_LIFETIME_MS) / (state.config.timingScale || 1);
    img.dataset.serial = String(qr.count);
  }
  img.hidden = false;
  $("qr-placeholder").hidden = true;
}

/** The countdown; at zero, one more read (and, if the code did not change, another one shortly). */
export function tickQr(snapshot, now) {
  if (snapshot.uiAction !== "scan_qr" || !qr.shownAtMs) return;
  const left = Math.max(0, qr.shownAtMs + qr.lifetimeMs - now);
  $("qr-countdown").textContent = left > 0 ? `New code in ${Math.ceil(sessionMs(left) / 1000)} s` : "Refreshing code…";
  $("qr-meter-fill").style.width = `${(left / qr.lifetimeMs) * 100}%`;
  if (left === 0) {
    qr.shownAtMs = now;
    qr.lifetimeMs = Math.max(1000, NEXT_QR_LIFETIME_MS / 4 / (state.config.timingScale || 1));
    state.session?.refreshQr();
  }
}
