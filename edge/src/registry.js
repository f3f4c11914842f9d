// The instance registry: one row per instance this edge supervises, for fleet views and metrics
// (`GET /instances`, `POST /instances/retry-failed`, `GET /metrics`), plus the fleet's counters.
//
// Why one Durable Object with SQLite rather than D1 or shards: a row changes only when an
// instance's status, error or notification changes (coalesced over 200 ms per instance) and
// counters arrive batched once a second, so the registry takes one small upsert per change. Measured
// (BENCHMARKS.md, section 8): 10,000 instances registered in one workerd with 0 errors, a change
// visible in `GET /instances` after ~0.25 s at the median, the first page of 10,000 rows served in
// ~0.35 s to the fleet page. One object keeps listing, keyset paging and counts single SQL queries
// with no fan-out; D1 would add a database binding, its own migrations and a network hop per write
// (D1 itself was not benchmarked here). `REGISTRY_NAME` is the one place to shard from if a fleet
// outgrows it. The instance Durable Objects remain the source of truth: a lost report only delays a
// row (the next change rewrites it whole).

import { json, errorResponse, readJsonBody } from "./http.js";

export const REGISTRY_NAME = "registry";
const REGISTRY_ORIGIN = "https://registry.internal";
const DAY_MS = 86_400_000;
export const MAX_PAGE = 500;
const DEFAULT_PAGE = 100;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS instances (instance_id TEXT PRIMARY KEY, session_name TEXT, server_name TEXT,
     status TEXT NOT NULL, ui_action TEXT, since_ms REAL, last_error TEXT, open_notification TEXT,
     notification_ms REAL, restarts_24h INTEGER NOT NULL DEFAULT 0, working_ms_24h REAL NOT NULL DEFAULT 0,
     observed_ms_24h REAL NOT NULL DEFAULT 0, created_ms REAL NOT NULL, updated_ms REAL NOT NULL,
     version REAL NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS instances_status ON instances (status, instance_id)`,
  `CREATE INDEX IF NOT EXISTS instances_session ON instances (session_name)`,
  `CREATE TABLE IF NOT EXISTS counters (name TEXT NOT NULL, labels TEXT NOT NULL, value REAL NOT NULL,
     PRIMARY KEY (name, labels))`,
];

/** Sort keys of `GET /instances?sort=` → SQL expression (keyset paging on (expression, id)). */
const SORTS = {
  id: "instance_id",
  status: "status",
  since: "COALESCE(since_ms, 0)",
  restarts: "restarts_24h",
};

const STATUS_FILTER = /^[A-Z_]{1,40}$/;

export class InstanceRegistry {
  constructor(ctx) {
    this.sql = ctx.storage.sql;
    for (const statement of SCHEMA) this.sql.exec(statement);
  }

  async fetch(request) {
    const url = new URL(request.url);
    try {
      if (request.method === "POST" && url.pathname === "/record") {
        const body = await readJsonBody(request);
        if (!body) return errorResponse("bad_request", "the body must be a JSON object");
        this.#record(body);
        return new Response(null, { status: 204 });
      }
      if (request.method === "GET" && url.pathname === "/list") return this.#list(url.searchParams);
      if (request.method === "GET" && url.pathname === "/snapshot") return json(this.#snapshot());
      if (request.method === "GET" && url.pathname === "/by-session") {
        const [row] = this.sql
          .exec("SELECT instance_id FROM instances WHERE session_name = ? LIMIT 1", url.searchParams.get("name") ?? "")
          .toArray();
        return row ? json({ instanceId: row.instance_id }) : errorResponse("not_found", "no instance with that session name");
      }
      return errorResponse("not_found", "no such registry route");
    } catch (err) {
      if (err?.code === "bad_request") return errorResponse("bad_request", err.message);
      throw err;
    }
  }

  /** `{row?, remove?, counts?}`: one instance's new row (ignored when older than the stored one),
   *  its removal, and counter increments `[{name, labels, value}]`. One transaction. */
  #record({ row, remove, counts }) {
    if (typeof remove === "string") this.sql.exec("DELETE FROM instances WHERE instance_id = ?", remove);
    if (row && typeof row.instanceId === "string") this.#upsert(row);
    for (const { name, labels, value } of Array.isArray(counts) ? counts : []) {
      if (typeof name !== "string" || !Number.isFinite(value)) continue;
      this.sql.exec(
        `INSERT INTO counters (name, labels, value) VALUES (?, ?, ?)
           ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value`,
        name,
        JSON.stringify(labels ?? {}),
        value,
      );
    }
  }

  #upsert(row) {
    const now = Date.now();
    const text = (value) => (value === undefined || value === null ? null : String(value));
    const number = (value) => (Number.isFinite(value) ? value : null);
    this.sql.exec(
      `INSERT INTO instances (instance_id, session_name, server_name, status, ui_action, since_ms, last_error,
         open_notification, notification_ms, restarts_24h, working_ms_24h, observed_ms_24h, created_ms, updated_ms, version)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (instance_id) DO UPDATE SET session_name = excluded.session_name, server_name = excluded.server_name,
         status = excluded.status, ui_action = excluded.ui_action, since_ms = excluded.since_ms,
         last_error = excluded.last_error, open_notification = excluded.open_notification,
         notification_ms = excluded.notification_ms, restarts_24h = excluded.restarts_24h,
         working_ms_24h = excluded.working_ms_24h, observed_ms_24h = excluded.observed_ms_24h,
         updated_ms = excluded.updated_ms, version = excluded.version
       WHERE excluded.version >= instances.version`,
      row.instanceId,
      text(row.sessionName),
      text(row.serverName),
      text(row.status) ?? "UNKNOWN",
      text(row.uiAction),
      number(row.sinceMs),
      row.lastError ? JSON.stringify(row.lastError) : null,
      text(row.openNotification?.reason),
      number(row.openNotification?.atMs),
      Number.isInteger(row.restarts24h) ? row.restarts24h : 0,
      number(row.workingMs24h) ?? 0,
      number(row.observedMs24h) ?? 0,
      now,
      number(row.atMs) ?? now,
      number(row.version) ?? now,
    );
  }

  /** One page: `{instances, nextCursor, total, counts}`; `counts` is per status over all rows. */
  #list(params) {
    const sortName = params.get("sort") ?? "id";
    const sort = Object.hasOwn(SORTS, sortName) ? SORTS[sortName] : null;
    if (!sort) throw badRequest(`sort must be one of ${Object.keys(SORTS).join(", ")}`);
    const descending = params.get("order") === "desc";
    const limitText = params.get("limit");
    const limit = limitText === null ? DEFAULT_PAGE : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw badRequest(`limit must be 1-${MAX_PAGE}`);
    const where = [];
    const bindings = [];
    const status = params.get("status");
    if (status) {
      if (!STATUS_FILTER.test(status)) throw badRequest("status must be a status name such as FAILED");
      where.push("status = ?");
      bindings.push(status);
    }
    const q = (params.get("q") ?? "").trim().slice(0, 100);
    if (q) {
      const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push("(instance_id LIKE ? ESCAPE '\\' OR session_name LIKE ? ESCAPE '\\' OR server_name LIKE ? ESCAPE '\\')");
      bindings.push(pattern, pattern, pattern);
    }
    const filter = where.length ? `WHERE ${where.join(" AND ")}` : "";
    const [{ total }] = this.sql.exec(`SELECT COUNT(*) AS total FROM instances ${filter}`, ...bindings).toArray();
    const cursor = decodeCursor(params.get("cursor"), sortName);
    if (cursor) {
      where.push(`(${sort}, instance_id) ${descending ? "<" : ">"} (?, ?)`);
      bindings.push(cursor.key, cursor.id);
    }
    const direction = descending ? "DESC" : "ASC";
    const rows = this.sql
      .exec(
        `SELECT *, ${sort} AS sort_key FROM instances ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
          ORDER BY ${sort} ${direction}, instance_id ${direction} LIMIT ?`,
        ...bindings,
        limit + 1,
      )
      .toArray();
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const now = Date.now();
    return json({
      instances: page.map((row) => rowView(row, now)),
      nextCursor: more && last ? encodeCursor(sortName, last.sort_key, last.instance_id) : null,
      total,
      counts: this.#statusCounts(),
      atMs: now,
    });
  }

  #statusCounts() {
    const counts = {};
    for (const row of this.sql.exec("SELECT status, COUNT(*) AS n FROM instances GROUP BY status").toArray()) {
      counts[row.status] = row.n;
    }
    return counts;
  }

  /** What `GET /metrics` renders: instances per status and every counter. */
  #snapshot() {
    const counters = this.sql
      .exec("SELECT name, labels, value FROM counters ORDER BY name, labels")
      .toArray()
      .map((row) => ({ name: row.name, labels: JSON.parse(row.labels), value: row.value }));
    return { statusCounts: this.#statusCounts(), counters };
  }
}

function badRequest(message) {
  return Object.assign(new Error(message), { code: "bad_request" });
}

/** The cursor names its sort, so a cursor from another sort order is refused, not misread. */
function encodeCursor(sort, key, id) {
  return btoa(JSON.stringify([sort, key, id])).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

function decodeCursor(text, sort) {
  if (!text) return null;
  let parsed;
  try {
    parsed = JSON.parse(atob(text.replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    throw badRequest("invalid cursor");
  }
  if (!Array.isArray(parsed) || parsed[0] !== sort || typeof parsed[2] !== "string") throw badRequest("invalid cursor");
  return { key: parsed[1], id: parsed[2] };
}

/**
 * A row as the API shows it. Uptime is the share of the last 24 h spent WORKING: the instance
 * reports it whenever its row changes, and the time since then is added here (an unchanged row
 * has stayed in its status the whole while), so a quiet WORKING instance does not look idle.
 */
function rowView(row, now) {
  const elapsed = Math.max(0, now - row.updated_ms);
  let working = row.working_ms_24h + (row.status === "WORKING" ? elapsed : 0);
  let observed = row.observed_ms_24h + elapsed;
  if (observed > DAY_MS) {
    working *= DAY_MS / observed;
    observed = DAY_MS;
  }
  let lastError = null;
  try {
    lastError = row.last_error ? JSON.parse(row.last_error) : null;
  } catch {
    lastError = null;
  }
  return {
    instanceId: row.instance_id,
    sessionName: row.session_name,
    serverName: row.server_name,
    status: row.status,
    uiAction: row.ui_action,
    sinceMs: row.since_ms,
    lastError,
    openNotification: row.open_notification ? { reason: row.open_notification, atMs: row.notification_ms } : null,
    uptimeRatio24h: observed > 0 ? Math.min(1, working / observed) : null,
    restarts24h: row.restarts_24h,
    createdMs: row.created_ms,
    updatedMs: row.updated_ms,
  };
}

function registryStub(env) {
  return env.REGISTRY.get(env.REGISTRY.idFromName(REGISTRY_NAME));
}

/** Sends one record (`{row?, remove?, counts?}`); throws when the registry did not take it. */
export async function recordInRegistry(env, record) {
  const response = await registryStub(env).fetch(
    new Request(`${REGISTRY_ORIGIN}/record`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(record),
    }),
  );
  if (!response.ok) throw new Error(`registry refused the record: HTTP ${response.status}`);
}

/** `GET /instances` of the worker: the query is passed on as it came. */
export function listRegistry(env, search) {
  return registryStub(env).fetch(new Request(`${REGISTRY_ORIGIN}/list${search}`));
}

/**
 * The instance a session name belongs to (WAHA-shaped webhooks name the session, not the Wawp
 * instance id), or null. The registry row carries the mapping, so a create makes no second object
 * for it; the lookup runs only for events without an `instance_id` whose session name is not an
 * instance id itself.
 */
export async function instanceForSession(env, sessionName) {
  const response = await registryStub(env).fetch(
    new Request(`${REGISTRY_ORIGIN}/by-session?name=${encodeURIComponent(sessionName)}`),
  );
  if (!response.ok) {
    await response.body?.cancel();
    return null;
  }
  return (await response.json()).instanceId ?? null;
}

export async function registrySnapshot(env) {
  const response = await registryStub(env).fetch(new Request(`${REGISTRY_ORIGIN}/snapshot`));
  return response.json();
}
