// The instance's audit trail (SQLite): a row `(atMs, status, raw, source)` per change of the
// machine's status, source `webhook`, `poll`, `call` or `timer`. `/stability` and the registry's
// 24 h figures run the package's `stability()` over it.

import { stability } from "wawp-session";

const DAY_MS = 86_400_000;

export class AuditTrail {
  /**
   * @param {import("./instance-db.js").InstanceDb} db
   * @param {number} timingScale how much faster than real time the sessions run (a sped-up demo):
   *   `stability()` shrinks its restart stop gap by it
   */
  constructor(db, timingScale = 1) {
    this.db = db;
    this.timingScale = timingScale;
    this.lastStatus = null;
  }

  /** After a restart: where the trail left off. */
  restore() {
    const [last] = this.db.rows("audit", "SELECT status FROM audit ORDER BY seq DESC LIMIT 1");
    this.lastStatus = last ? last.status : null;
  }

  /** Appends a row when `status` differs from the last one; true when it did. */
  record({ atMs, status, raw, source }) {
    if (status === this.lastStatus) return false;
    if (status === "UNKNOWN" && this.lastStatus === null) return false; // nothing observed yet
    this.db.write("audit", "INSERT INTO audit (at_ms, status, raw, source) VALUES (?, ?, ?, ?)", atMs, status, raw, source);
    this.lastStatus = status;
    return true;
  }

  /** The sequence number of the last row (0 when none): an episode for deduplicating notifications. */
  lastSeq() {
    const [row] = this.db.rows("audit", "SELECT COALESCE(MAX(seq), 0) AS seq FROM audit");
    return row?.seq ?? 0;
  }

  timeline() {
    return this.db.rows("audit", "SELECT at_ms, status FROM audit ORDER BY seq").map((row) => ({ atMs: row.at_ms, status: row.status }));
  }

  /** Restarts and time WORKING over the last 24 h (the package's rule). */
  lastDay(nowMs) {
    const from = nowMs - DAY_MS;
    const [before] = this.db.rows("audit", "SELECT status FROM audit WHERE at_ms < ? ORDER BY seq DESC LIMIT 1", from);
    const timeline = this.db
      .rows("audit", "SELECT at_ms, status FROM audit WHERE at_ms >= ? ORDER BY seq", from)
      .map((row) => ({ atMs: row.at_ms, status: row.status }));
    if (before) timeline.unshift({ atMs: from, status: before.status });
    if (timeline.length === 0) return { restarts: 0, workingMs: 0, observedMs: 0 };
    const metrics = stability(timeline, nowMs, this.timingScale);
    return { restarts: metrics.restarts ?? 0, workingMs: metrics.workingMs ?? 0, observedMs: metrics.observedMs ?? 0 };
  }
}
