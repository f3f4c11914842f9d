// The instance's messages (SQLite rows): stored before the driver hears of them, moved as its
// actions say. States: queued → sending → sent | rejected; sending → queued when the machine holds
// a send again (hold_send: a 422 hand-back or a 429 retry). `sent` and `rejected` are final and
// never left again, which is what keeps a message's outcome single across restarts.

const MESSAGE_STATES = ["queued", "sending", "sent", "rejected"];

export class MessageStore {
  /** @param {import("./instance-db.js").InstanceDb} db */
  constructor(db) {
    this.db = db;
  }

  insert({ id, chatId, text, timeoutMs, nowMs }) {
    this.db.write(
      "messages",
      "INSERT INTO messages (id, chat_id, text, state, timeout_ms, created_ms) VALUES (?, ?, ?, 'queued', ?, ?)",
      id,
      chatId,
      text,
      timeoutMs ?? null,
      nowMs,
    );
  }

  /** One message as the API shows it; null when there is none. */
  get(id) {
    const [row] = this.db.rows("messages", "SELECT * FROM messages WHERE id = ?", id);
    return row ? messageView(row) : null;
  }

  list() {
    return this.db.rows("messages", "SELECT * FROM messages ORDER BY created_ms, rowid").map(messageView);
  }

  /** What a delivery sends; null when the row is gone. */
  content(id) {
    const [row] = this.db.rows("messages", "SELECT chat_id, text FROM messages WHERE id = ?", id);
    return row ? { chatId: row.chat_id, text: row.text } : null;
  }

  setMessageId(id, messageId) {
    this.db.write("messages", "UPDATE messages SET message_id = ? WHERE id = ?", messageId, id);
  }

  /** Moves a row unless it is final; true when it moved. */
  move(id, state, { code = null, nowMs } = {}) {
    if (!this.db.tables.has("messages")) return false;
    const final = state === "sent" || state === "rejected";
    const cursor = this.db.sql.exec(
      `UPDATE messages SET state = ?, code = ?, done_ms = ?
        WHERE id = ? AND state NOT IN ('sent', 'rejected')`,
      state,
      code,
      final ? nowMs : null,
      id,
    );
    return cursor.rowsWritten > 0;
  }

  /** Rows in `state`, oldest first: `{id, timeoutMs}`. */
  inState(state) {
    return this.db
      .rows("messages", "SELECT id, timeout_ms FROM messages WHERE state = ? ORDER BY rowid", state)
      .map((row) => ({ id: row.id, timeoutMs: row.timeout_ms }));
  }

  /** Creation times of the messages created after `sinceMs` (the send rate window). */
  createdSince(sinceMs) {
    return this.db
      .rows("messages", "SELECT created_ms FROM messages WHERE created_ms > ? ORDER BY created_ms", sinceMs)
      .map((row) => row.created_ms);
  }
}

function messageView(row) {
  const view = {
    id: row.id,
    chatId: row.chat_id,
    text: row.text,
    state: MESSAGE_STATES.includes(row.state) ? row.state : "queued",
    createdMs: row.created_ms,
  };
  if (row.code) view.code = row.code;
  if (row.message_id) view.messageId = row.message_id;
  if (row.done_ms !== null && row.done_ms !== undefined) view.doneMs = row.done_ms;
  return view;
}

/** The error message of a rejected send's answer. */
export function rejectionMessage(code) {
  switch (code) {
    case "needs_qr":
      return "the session is not paired: scan the QR code (or use a pairing code) first";
    case "not_found":
      return "the instance was deleted";
    case "queue_full":
      return "too many messages are waiting for this instance";
    case "send_timeout":
      return "the session did not become ready in time";
    case "identity_mismatch":
      return "the linked WhatsApp account is not the expected one";
    case "closed":
      return "the edge restarted while this message was being sent; it may or may not have been delivered";
    case "timeout":
    case "network":
    case "server":
      return "the API did not confirm this message; it may or may not have been delivered, and is not sent again";
    default:
      return `the message was rejected (${code})`;
  }
}
