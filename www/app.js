// The dashboard: one WhatsApp session as the edge worker reports it (docs/CONTRACTS.md §3), with,
// per status, the action the vendor's lifecycle guide recommends. No framework: static panels in
// index.html, filled from the package's session store (connectEdgeSession). One concept per
// module: api.js (requests, the instance token), live.js (the session and its updates),
// render.js (panels), qr.js, messages.js, stability.js, simulator.js, dom.js (helpers).
import { init } from "/pkg/src/entry-web.js";
import { api, createInstance } from "./api.js";
import { announce, confirmAction, el, formatDuration, showError, withBusy } from "./dom.js";
import { closeSession, openSession } from "./live.js";
import { sendMessage } from "./messages.js";
import { renderNoInstance, renderTick } from "./render.js";
import { refreshSimulatorFaults, wireSimulator } from "./simulator.js";
import { $, state } from "./state.js";

const STORAGE_KEY = "wawp-session.instanceId";

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

// ---------- actions ----------

/** A session action (start, stop, retry, logout); the session renders its answer. */
async function act(name, button) {
  await withBusy(button, async () => {
    if (state.session) await state.session[name]();
  });
}

async function provision(button) {
  const digits = /** @type {HTMLInputElement} */ ($("expected-phone")).value.replace(/\D/g, "");
  await withBusy(button, async () => {
    // The expected account turns on the identity check (`/me` after every connect).
    const created = await createInstance(digits ? { expectedJid: `${digits}@c.us` } : {});
    rememberInstanceId(created.instanceId);
    if (digits) /** @type {HTMLInputElement} */ ($("sim-jid")).value = `${digits}@c.us`;
    announce("Instance created. Starting the session…");
    await openInstance();
  });
}

async function openInstance() {
  const session = openSession(state.instanceId);
  try {
    // Warm boot: one info call; a STOPPED session starts in the background right away, so the
    // QR code is usually ready by the time the user looks for it.
    await session.warmBoot();
  } catch (err) {
    if (err?.code === "not_found" && err.httpStatus === 404) return forgetInstance("That instance does not exist any more.");
    showError(err);
  }
  refreshSimulatorFaults();
}

function forgetInstance(text) {
  closeSession();
  rememberInstanceId(null);
  renderNoInstance(text);
}

// ---------- start ----------

function wire() {
  $("provision-form").addEventListener("submit", (e) => {
    e.preventDefault();
    provision($("connect"));
  });
  $("power-on").addEventListener("click", (e) => act("start", e.currentTarget));
  $("retry").addEventListener("click", (e) => act("retry", e.currentTarget));
  $("relink").addEventListener("click", (e) => act("logout", e.currentTarget));
  $("power-off").addEventListener("click", (e) => act("stop", e.currentTarget));
  $("logout").addEventListener("click", async (e) => {
    const button = e.currentTarget;
    if (await confirmAction("Log out of WhatsApp?", "This device is unlinked from the phone. You will need to scan a new QR code.", "Log out")) {
      await act("logout", button);
    }
  });
  $("delete").addEventListener("click", async (e) => {
    const button = e.currentTarget;
    if (!(await confirmAction("Delete this instance?", "The session and its saved login are removed for good. Messages waiting to be sent are dropped.", "Delete"))) return;
    await withBusy(button, async () => {
      await state.session?.deleteInstance();
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
      const code = await state.session.requestPairingCode(phoneNumber);
      result.replaceChildren("Enter this code on your phone: ", el("strong", { class: "pairing-code", text: code }));
    } catch (err) {
      result.textContent = `Could not get a code: ${err.message}`;
    }
  });
  $("send-form").addEventListener("submit", sendMessage);
  wireSimulator();
  setInterval(renderTick, 250);
}

/** Direct mode: the package's browser build stands in for the edge worker, in this page. */
async function connectDirect() {
  const { createDirectBackend } = await import("./direct.js");
  state.direct = await createDirectBackend({
    apiBase: state.config.apiBase,
    token: state.config.token,
    timingScale: state.config.timingScale,
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
  try {
    await init(); // the package's wasm: the session store decodes statuses with it
    if (state.config.backend === "direct") await connectDirect();
  } catch (err) {
    showError(new Error(`The wawp-session package could not be loaded: ${err?.message ?? err}`));
    return;
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
