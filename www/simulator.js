// The simulated phone and fault switches (simulator mode only): scan, unlink, fail, a hung start,
// a burst of 429s. Each button is enabled only when a real phone could do that in this status.
import { api } from "./api.js";
import { phoneOf, withBusy } from "./dom.js";
import { $, state } from "./state.js";

const faults = { hangStarting: false, burst429: false };

async function simulator(method, path, body, button, doneText) {
  await withBusy(button, async () => {
    await api(method, `/sim${path}`, body);
    $("sim-result").textContent = doneText;
  }, renderSimulatorControls);
}

export async function refreshSimulatorFaults() {
  if (state.config.mode !== "simulator") return;
  try {
    const answer = await api("GET", "/sim/faults");
    faults.hangStarting = Boolean(answer?.hangStarting);
    faults.burst429 = Boolean(answer?.burst429);
    $("sim-hang").setAttribute("aria-pressed", String(faults.hangStarting));
    $("sim-429").setAttribute("aria-pressed", String(faults.burst429));
  } catch {
    // the toggles keep their last known state
  }
}

/** The phone can only do what a real phone could do in the current status. */
export function renderSimulatorControls() {
  const status = state.snapshot?.status;
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

export function wireSimulator() {
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
    const on = !faults.hangStarting;
    simulator("POST", "/faults", { hangStarting: on }, e.currentTarget,
      on ? "Starts now hang in STARTING until you switch this off." : "Starts complete normally again.")
      .then(refreshSimulatorFaults);
  });
  $("sim-429").addEventListener("click", (e) => {
    const on = !faults.burst429;
    simulator("POST", "/faults", { burst429: on ? { count: 3, retryAfterS: 1 } : null }, e.currentTarget,
      on ? "The next 3 API calls answer 429 Too Many Requests." : "Rate limiting is off.")
      .then(refreshSimulatorFaults);
  });
}
