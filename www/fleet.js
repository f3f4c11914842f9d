// The fleet page: every instance the edge's registry lists, one page (100 rows) at a time, with
// status filters, search, sort, a bulk retry and live updates (the current page is fetched again
// every few seconds while the tab is visible). It talks only to the operator's backend
// (`/backend/fleet`, here www/serve.mjs): the admin token never reaches this page. Status and the
// recommended action come as the package decoded them in the edge (`status`, `uiAction`); a click
// on an instance opens the single-instance page (`/?instance=<id>`).

const PAGE_SIZE = 100;
const REFRESH_MS = 2_000;

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const state = {
  status: "",
  q: "",
  sort: "id",
  order: "asc",
  /** Cursors of the pages before the current one (keyset paging goes forward only). */
  previous: /** @type {(string|null)[]} */ ([]),
  cursor: /** @type {string|null} */ (null),
  nextCursor: /** @type {string|null} */ (null),
  counts: /** @type {Record<string, number>} */ ({}),
  loading: 0,
  timer: 0,
  /** Bumped on every query change, so an answer to an older query is dropped. */
  generation: 0,
};

async function backend(method, path) {
  const res = await fetch(path, { method, headers: { accept: "application/json" } });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const error = new Error(data?.error?.message ?? `HTTP ${res.status}`);
    Object.assign(error, { status: res.status });
    throw error;
  }
  return data;
}

function query() {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE), sort: state.sort, order: state.order });
  if (state.status) params.set("status", state.status);
  if (state.q) params.set("q", state.q);
  if (state.cursor) params.set("cursor", state.cursor);
  return `/backend/fleet?${params}`;
}

async function load() {
  const generation = state.generation;
  clearTimeout(state.timer);
  try {
    const page = await backend("GET", query());
    if (generation !== state.generation) return;
    render(page);
    $("live-chip").textContent = `updated ${new Date(page.atMs ?? Date.now()).toLocaleTimeString()}`;
    $("live-chip").dataset.state = "live";
  } catch (err) {
    if (generation !== state.generation) return;
    $("live-chip").textContent = "offline";
    $("live-chip").dataset.state = "offline";
    $("fleet-result").textContent = `Could not load the instances: ${err.message}`;
  } finally {
    if (generation === state.generation) schedule();
  }
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = window.setTimeout(() => {
    if (document.visibilityState === "visible") load();
    else schedule();
  }, REFRESH_MS);
}

/** A new query (filter, search, sort): back to the first page. */
function restart() {
  state.generation += 1;
  state.previous = [];
  state.cursor = null;
  load();
}

function render(page) {
  state.nextCursor = page.nextCursor;
  state.counts = page.counts ?? {};
  const all = Object.values(state.counts).reduce((a, b) => a + b, 0);
  $("fleet-summary").textContent = `${all.toLocaleString("en-US")} instance${all === 1 ? "" : "s"} in the registry`;
  renderFilters(all);
  const failed = state.counts.FAILED ?? 0;
  const retry = /** @type {HTMLButtonElement} */ ($("retry-failed"));
  retry.disabled = failed === 0;
  retry.textContent = failed ? `Retry failed (${failed.toLocaleString("en-US")})` : "Retry failed";

  const body = $("fleet-rows");
  const now = Date.now();
  body.replaceChildren(...page.instances.map((row) => renderRow(row, now)));
  const first = state.previous.length * PAGE_SIZE;
  $("page-info").textContent = page.total
    ? `${(first + 1).toLocaleString("en-US")}–${(first + page.instances.length).toLocaleString("en-US")} of ${page.total.toLocaleString("en-US")}`
    : "No instance matches";
  /** @type {HTMLButtonElement} */ ($("page-prev")).disabled = state.previous.length === 0;
  /** @type {HTMLButtonElement} */ ($("page-next")).disabled = !page.nextCursor;
}

function renderFilters(all) {
  const box = $("status-filters");
  const chips = [["", `All (${all.toLocaleString("en-US")})`]];
  for (const [status, n] of Object.entries(state.counts).sort()) chips.push([status, `${status} (${n.toLocaleString("en-US")})`]);
  // Keep a filter that has no rows any more visible, so it can be switched off.
  if (state.status && !(state.status in state.counts)) chips.push([state.status, `${state.status} (0)`]);
  box.replaceChildren(
    ...chips.map(([status, label]) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn fleet-filter";
      button.dataset.status = status || "ALL";
      button.setAttribute("aria-pressed", String(state.status === status));
      button.textContent = label;
      button.addEventListener("click", () => {
        state.status = status;
        restart();
      });
      return button;
    }),
  );
}

function cell(...children) {
  const td = document.createElement("td");
  td.append(...children);
  return td;
}

function renderRow(row, now) {
  const tr = document.createElement("tr");
  tr.dataset.instance = row.instanceId;
  tr.dataset.status = row.status;
  const link = document.createElement("a");
  link.href = `/?instance=${encodeURIComponent(row.instanceId)}`;
  link.textContent = row.instanceId;
  const name = document.createElement("div");
  name.className = "muted small";
  name.textContent = row.sessionName ?? "";
  const badge = document.createElement("span");
  badge.className = "badge badge-small";
  badge.dataset.status = row.status;
  badge.textContent = row.status;
  const action = document.createElement("div");
  action.className = "muted small";
  action.textContent = row.uiAction ? `action: ${row.uiAction}` : "";
  const since = document.createElement("time");
  if (row.sinceMs) {
    since.dateTime = new Date(row.sinceMs).toISOString();
    since.title = new Date(row.sinceMs).toLocaleString();
    since.textContent = `${age(now - row.sinceMs)} ago`;
  } else since.textContent = "—";
  const notification = row.openNotification ? row.openNotification.reason.replace(/_/g, " ") : "—";
  tr.append(
    cell(link, name),
    cell(badge, action),
    cell(row.serverName ?? "—"),
    cell(since),
    cell(row.uptimeRatio24h === null ? "—" : `${(row.uptimeRatio24h * 100).toFixed(1)} %`),
    cell(String(row.restarts24h ?? 0)),
    cell(notification),
  );
  if (row.openNotification) tr.lastElementChild?.classList.add("fleet-alert");
  return tr;
}

function age(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d`;
}

async function retryFailed() {
  const failed = state.counts.FAILED ?? 0;
  const dialog = /** @type {HTMLDialogElement} */ ($("retry-dialog"));
  $("retry-text").textContent =
    `This restarts ${failed.toLocaleString("en-US")} FAILED instance${failed === 1 ? "" : "s"} with their saved logins. ` +
    "It spends API quota, so it can run once a minute.";
  dialog.returnValue = "";
  dialog.showModal();
  const answer = await new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true }));
  if (answer !== "confirm") return;
  const button = /** @type {HTMLButtonElement} */ ($("retry-failed"));
  button.setAttribute("aria-busy", "true");
  try {
    const result = await backend("POST", "/backend/fleet/retry-failed");
    const errors = result.errors?.length ?? 0;
    $("fleet-result").textContent = `Retried ${result.retried.toLocaleString("en-US")} instance(s)` +
      `${errors ? `; ${errors} could not be retried` : ""}${result.remaining ? `; ${result.remaining} left for the next run` : ""}.`;
  } catch (err) {
    $("fleet-result").textContent = `Bulk retry refused: ${err.message}`;
  } finally {
    button.removeAttribute("aria-busy");
    load();
  }
}

function debounce(fn, ms) {
  let timer = 0;
  return () => {
    clearTimeout(timer);
    timer = window.setTimeout(fn, ms);
  };
}

function wire() {
  $("fleet-search").addEventListener(
    "input",
    debounce(() => {
      state.q = /** @type {HTMLInputElement} */ ($("fleet-search")).value.trim();
      restart();
    }, 250),
  );
  $("fleet-form").addEventListener("submit", (event) => event.preventDefault());
  $("fleet-sort").addEventListener("change", (event) => {
    state.sort = /** @type {HTMLSelectElement} */ (event.target).value;
    restart();
  });
  $("fleet-order").addEventListener("change", (event) => {
    state.order = /** @type {HTMLSelectElement} */ (event.target).value;
    restart();
  });
  $("page-next").addEventListener("click", () => {
    if (!state.nextCursor) return;
    state.generation += 1;
    state.previous.push(state.cursor);
    state.cursor = state.nextCursor;
    load();
  });
  $("page-prev").addEventListener("click", () => {
    if (state.previous.length === 0) return;
    state.generation += 1;
    state.cursor = state.previous.pop() ?? null;
    load();
  });
  $("retry-failed").addEventListener("click", retryFailed);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") load();
  });
}

wire();
load();
