// The stability card: uptime, restarts, failures, MTTR from the edge's audit trail, a status band
// over time and the timeline, with each restart's kind as the package's stability() reports it
// (watchdog, recovery, other): the page shows it and decides nothing.
import { stability, statusLabel } from "/pkg/src/entry-web.js";
import { api, instancePath } from "./api.js";
import { el, formatClock, formatDuration, sessionMs, svg } from "./dom.js";
import { $, state } from "./state.js";

const STABILITY_REFRESH_MS = 5000;
const CHART_COLORS = {
  STOPPED: "var(--c-stopped)", STARTING: "var(--c-starting)", SCAN_QR_CODE: "var(--c-scan)",
  WORKING: "var(--c-working)", FAILED: "var(--c-failed)", LOGOUT: "var(--c-scan)", DELETED: "var(--c-stopped)",
};
let stabilityTimer = 0;


export function scheduleStabilityRefresh(delayMs) {
  clearTimeout(stabilityTimer);
  stabilityTimer = setTimeout(refreshStability, delayMs);
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
  renderTimeline(timeline, Array.isArray(stats.restartEvents) ? stats.restartEvents : []);
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
    tip.textContent = `${statusLabel(entry.status)} for ${formatDuration(sessionMs(end - entry.atMs))}`;
    rect.append(tip);
    chart.append(rect);
  });
  // The connected share is the package's uptime ratio over this timeline (one rule, in the core).
  const { uptimeRatio } = stability(timeline, now);
  title.textContent = `Status over time: connected ${Math.round(uptimeRatio * 100)}% of the last ${formatDuration(sessionMs(span))}`;
  container.replaceChildren(chart,
    el("div", { class: "band-axis", "aria-hidden": "true" }, el("span", { text: formatClock(start) }), el("span", { text: "now" })));
  const seen = [...new Set(timeline.map((e) => e.status))];
  $("chart-legend").replaceChildren(
    ...seen.map((s) => el("span", { class: "legend-item" },
      el("span", { class: "swatch", style: `background:${CHART_COLORS[s] ?? "var(--c-unknown)"}` }),
      statusLabel(s))),
  );
}

/** `restartEvents`: stability()'s restarts, each naming the timeline entry that began it. */
function renderTimeline(timeline, restartEvents) {
  const now = Date.now();
  const restartOf = new Map(restartEvents.map((r) => [r.historyIndex, r.kind]));
  const rows = timeline.map((entry, i) => ({ ...entry, until: i + 1 < timeline.length ? timeline[i + 1].atMs : null, restart: restartOf.get(i) }));
  const tagText = { watchdog: "watchdog restart", recovery: "recovery restart", other: "restart" };
  $("timeline").replaceChildren(
    ...rows.slice(-12).reverse().map((row) =>
      el("li", { class: "timeline-row", "data-status": row.status, "data-restart": row.restart },
        el("time", { datetime: new Date(row.atMs).toISOString(), text: formatClock(row.atMs) }),
        el("span", { class: "badge badge-small", "data-status": row.status, text: statusLabel(row.status) }),
        el("span", { class: "muted small", text: row.until ? `for ${formatDuration(sessionMs(row.until - row.atMs))}` : `now · ${formatDuration(sessionMs(now - row.atMs))}` }),
        row.restart ? el("span", { class: "tag", text: tagText[row.restart] }) : "")),
  );
  // While the session is (still) starting, say how often the watchdog already had to step in.
  let watchdogRestarts = 0;
  for (let i = rows.length - 1; i >= 0 && ["STARTING", "STOPPED"].includes(rows[i].status); i -= 1) {
    if (rows[i].restart === "watchdog") watchdogRestarts += 1;
  }
  const note = $("watchdog-restarts");
  const show = state.snapshot?.status === "STARTING" && watchdogRestarts > 0;
  note.hidden = !show;
  note.textContent = show
    ? `The watchdog restarted a start that hung for over ${formatDuration(sessionMs(state.snapshot.startingTimeoutMs ?? 0))} ` +
      `(${watchdogRestarts} restart${watchdogRestarts === 1 ? "" : "s"} so far).`
    : "";
}

export function stopStabilityRefresh() {
  clearTimeout(stabilityTimer);
}
