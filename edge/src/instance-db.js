// The SQLite database of one instance's Durable Object: its tables, created when first written,
// and the `meta` key-value rows (the stored driver, the instance's identity).

/**
 * Each table is created when first written: an instance that never sends nor notifies keeps only
 * `meta` and `audit`. Every table and index is at least one page of the object's SQLite page cache,
 * and one workerd process caps the SQLite memory of all its objects together (BENCHMARKS.md
 * "Scale"), so fewer pages per idle instance means more instances per process.
 */
const TABLES = {
  meta: [`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`],
  audit: [
    `CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at_ms REAL NOT NULL,
     status TEXT NOT NULL, raw TEXT, source TEXT NOT NULL)`,
  ],
  messages: [
    `CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, chat_id TEXT NOT NULL, text TEXT NOT NULL,
     state TEXT NOT NULL, code TEXT, message_id TEXT, attempts INTEGER NOT NULL DEFAULT 0,
     timeout_ms REAL, created_ms REAL NOT NULL, done_ms REAL)`,
    `CREATE INDEX IF NOT EXISTS messages_created ON messages (created_ms)`,
  ],
  notifications: [
    `CREATE TABLE IF NOT EXISTS notifications (reason TEXT NOT NULL, episode INTEGER NOT NULL,
     at_ms REAL NOT NULL, PRIMARY KEY (reason, episode))`,
  ],
};

export class InstanceDb {
  /** @param {SqlStorage} sql the object's `ctx.storage.sql` */
  constructor(sql) {
    this.sql = sql;
    /** The tables that exist in this database. */
    this.tables = new Set();
    /** The last text written per meta key: storage writes are billed, so unchanged ones are skipped. */
    this.written = new Map();
  }

  /** Reads which tables exist (after a restart, or after `deleteAll`). */
  discover() {
    const names = this.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray();
    this.tables = new Set(names.map((row) => row.name).filter((name) => Object.hasOwn(TABLES, name)));
    this.written.clear();
  }

  ensure(name) {
    if (this.tables.has(name)) return;
    for (const statement of TABLES[name]) this.sql.exec(statement);
    this.tables.add(name);
  }

  /** Rows of a query on `table`; none while that table does not exist yet. */
  rows(table, query, ...bindings) {
    return this.tables.has(table) ? this.sql.exec(query, ...bindings).toArray() : [];
  }

  /** A write to `table`, creating it first; the cursor (for `rowsWritten`). */
  write(table, query, ...bindings) {
    this.ensure(table);
    return this.sql.exec(query, ...bindings);
  }

  readMeta(key) {
    const [row] = this.rows("meta", "SELECT value FROM meta WHERE key = ?", key);
    if (row) this.written.set(key, row.value);
    return row ? row.value : null;
  }

  /** Writes a meta row when its text changed. */
  writeMeta(key, value) {
    if (this.written.get(key) === value) return;
    this.write("meta", "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
    this.written.set(key, value);
  }
}
