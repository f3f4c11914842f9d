// Admin notifications (the machine's `notify_admin`): one SQLite row per (reason, audit episode),
// so a repeated action within one episode notifies once, and a POST of each new one to
// ADMIN_WEBHOOK_URL as `{type, reason, instanceId, serverName, status, lastError, atMs}`.

export class AdminNotifications {
  /** @param {import("./instance-db.js").InstanceDb} db */
  constructor(db, ctx, env) {
    this.db = db;
    this.ctx = ctx;
    this.env = env;
  }

  /** Stores the notification; true when it is new for this episode (then it was also POSTed). */
  add({ reason, episode, atMs, instanceId, serverName, status, lastError }) {
    const cursor = this.db.write(
      "notifications",
      "INSERT OR IGNORE INTO notifications (reason, episode, at_ms) VALUES (?, ?, ?)",
      reason,
      episode,
      atMs,
    );
    if (cursor.rowsWritten === 0) return false;
    const url = this.env.ADMIN_WEBHOOK_URL;
    if (url) {
      const body = JSON.stringify({ type: "wawp_session.admin_notification", reason, instanceId, serverName, status, lastError, atMs });
      this.ctx.waitUntil(
        fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body }).then(
          (response) => response.body?.cancel(),
          () => {},
        ),
      );
    }
    return true;
  }

  list() {
    return this.db
      .rows("notifications", "SELECT reason, at_ms FROM notifications ORDER BY at_ms, rowid")
      .map((row) => ({ reason: row.reason, atMs: row.at_ms }));
  }
}
