// `GET /metrics`: the fleet in the Prometheus text exposition format (version 0.0.4, which
// OpenMetrics scrapers also read). Every metric is declared once below with its help text; the
// names follow the Prometheus conventions (a `wawp_` namespace, base units — seconds —, `_total`
// on counters) and are documented in edge/README.md. Counters are kept by the registry (the
// instance objects and the worker send increments in batches, `CounterBatch`).

/** Counter and histogram names with their HELP text and label names. */
export const METRICS = {
  wawp_instances: { type: "gauge", help: "Instances in the registry by their current status.", labels: ["status"] },
  wawp_instance_restarts_total: { type: "counter", help: "Restarts the lifecycle machines issued (watchdog, auto-heal, retries).", labels: [] },
  wawp_admin_notifications_total: { type: "counter", help: "Administrator notifications raised, by reason (once per episode).", labels: ["reason"] },
  wawp_sends_total: { type: "counter", help: "Messages settled, by outcome: sent, or the rejection code.", labels: ["outcome"] },
  wawp_webhook_verification_failures_total: { type: "counter", help: "Webhook requests refused before reaching an instance, by error code.", labels: ["code"] },
  wawp_webhook_events_total: { type: "counter", help: "Verified session.status events handled by an instance.", labels: [] },
  wawp_alarm_lag_seconds: { type: "histogram", help: "How late a Durable Object alarm fired after its deadline.", labels: [] },
};

/** Upper bounds of the alarm-lag histogram (seconds). */
export const ALARM_LAG_BUCKETS_S = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];

/** Counter increments gathered in memory and sent to the registry together. */
export class CounterBatch {
  constructor() {
    this.entries = new Map();
  }

  add(name, labels = {}, value = 1) {
    const key = `${name}\u0000${JSON.stringify(labels)}`;
    const entry = this.entries.get(key);
    if (entry) entry.value += value;
    else this.entries.set(key, { name, labels, value });
  }

  observeAlarmLag(lagMs) {
    const seconds = Math.max(0, lagMs) / 1000;
    for (const le of ALARM_LAG_BUCKETS_S) if (seconds <= le) this.add("wawp_alarm_lag_seconds_bucket", { le: String(le) });
    this.add("wawp_alarm_lag_seconds_bucket", { le: "+Inf" });
    this.add("wawp_alarm_lag_seconds_sum", {}, seconds);
    this.add("wawp_alarm_lag_seconds_count");
  }

  get size() {
    return this.entries.size;
  }

  /** Every entry, emptying the batch (give them back with `merge` when sending failed). */
  drain() {
    const list = [...this.entries.values()];
    this.entries.clear();
    return list;
  }

  merge(list) {
    for (const { name, labels, value } of list) this.add(name, labels, value);
  }
}

/** The exposition text of a registry snapshot (`{statusCounts, counters}`). */
export function renderMetrics({ statusCounts, counters }) {
  const lines = [];
  const byName = new Map();
  for (const counter of counters) {
    const family = familyOf(counter.name);
    if (!family) continue;
    if (!byName.has(family)) byName.set(family, []);
    byName.get(family).push(counter);
  }
  for (const [name, meta] of Object.entries(METRICS)) {
    lines.push(`# HELP ${name} ${meta.help}`, `# TYPE ${name} ${meta.type}`);
    if (name === "wawp_instances") {
      for (const [status, n] of Object.entries(statusCounts ?? {})) lines.push(`${name}${labelText({ status })} ${n}`);
      continue;
    }
    const samples = byName.get(name) ?? [];
    if (meta.type === "histogram") {
      lines.push(...histogramLines(name, samples));
      continue;
    }
    // A counter nobody has touched yet is still exposed (0) when it has no labels, so that rates work.
    if (samples.length === 0 && meta.labels.length === 0) lines.push(`${name} 0`);
    for (const sample of samples) lines.push(`${sample.name}${labelText(sample.labels)} ${formatValue(sample.value)}`);
  }
  return `${lines.join("\n")}\n`;
}

function histogramLines(name, samples) {
  const value = (suffix, labels = {}) =>
    samples.find((s) => s.name === `${name}${suffix}` && JSON.stringify(s.labels) === JSON.stringify(labels))?.value ?? 0;
  const lines = [];
  for (const le of [...ALARM_LAG_BUCKETS_S.map(String), "+Inf"]) {
    lines.push(`${name}_bucket${labelText({ le })} ${formatValue(value("_bucket", { le }))}`);
  }
  lines.push(`${name}_sum ${formatValue(value("_sum"))}`, `${name}_count ${formatValue(value("_count"))}`);
  return lines;
}

function familyOf(sampleName) {
  if (Object.hasOwn(METRICS, sampleName)) return sampleName;
  const base = sampleName.replace(/_(bucket|sum|count)$/, "");
  return Object.hasOwn(METRICS, base) && METRICS[base].type === "histogram" ? base : null;
}

function labelText(labels) {
  const pairs = Object.entries(labels ?? {});
  if (pairs.length === 0) return "";
  const escape = (v) => String(v).replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
  return `{${pairs.map(([k, v]) => `${k}="${escape(v)}"`).join(",")}}`;
}

function formatValue(value) {
  return Number.isFinite(value) ? String(Math.round(value * 1e6) / 1e6) : "0";
}
