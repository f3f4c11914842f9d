// The instance's Server-Sent Events streams (`GET /instances/{id}/events`): the view on open and
// on every change, `event: message` on every message move, a comment line now and then.

const SSE_HEARTBEAT_MS = 15_000;
/** A reader this far behind (queued chunks) stopped reading: dropped instead of buffered for. */
const MAX_BACKLOG = 64;
const encoder = new TextEncoder();

export class EventStreams {
  constructor() {
    this.writers = new Set();
    this.heartbeat = null;
  }

  get size() {
    return this.writers.size;
  }

  /** A new stream that starts with `view`. */
  open(view) {
    const { readable, writable } = new TransformStream();
    const writer = writable.getWriter();
    this.writers.add(writer);
    this.#write(writer, `retry: 1000\ndata: ${JSON.stringify(view)}\n\n`);
    // A comment line now and then keeps proxies from closing a quiet stream; it also finds
    // readers that went away (their write fails). Runs only while someone listens.
    this.heartbeat ??= setInterval(() => {
      this.#broadcast(": ping\n\n");
      if (this.writers.size === 0) {
        clearInterval(this.heartbeat);
        this.heartbeat = null;
      }
    }, SSE_HEARTBEAT_MS);
    return new Response(readable, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store" },
    });
  }

  sendView(view) {
    if (this.writers.size) this.#broadcast(`data: ${JSON.stringify(view)}\n\n`);
  }

  /** `{type: "message", id, state, code?, messageId?}` of a moved message. */
  sendMessage(message) {
    if (!this.writers.size || !message) return;
    const update = { type: "message", id: message.id, state: message.state };
    if (message.code) update.code = message.code;
    if (message.messageId) update.messageId = message.messageId;
    this.#broadcast(`event: message\ndata: ${JSON.stringify(update)}\n\n`);
  }

  closeAll() {
    for (const writer of this.writers) writer.close().catch(() => {});
    this.writers.clear();
  }

  #write(writer, text) {
    writer.write(encoder.encode(text)).catch(() => this.writers.delete(writer));
  }

  #broadcast(text) {
    for (const writer of this.writers) {
      if (writer.desiredSize !== null && writer.desiredSize < -MAX_BACKLOG) {
        this.writers.delete(writer);
        writer.abort().catch(() => {});
        continue;
      }
      this.#write(writer, text);
    }
  }
}
