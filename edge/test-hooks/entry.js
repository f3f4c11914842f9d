// Test-only worker entry (startEdge({testHooks: true}); never deployed): the parse probe first
// (it must wrap the wasm before the package instantiates it), then the worker unchanged, plus
// - `GET /__test/parses` → {marker: {json, wasm}} (parse-probe.js);
// - `POST /__test/storage/<instanceId>` {meta, messages, audit}: rows written as they are into that
//   instance object's SQLite, for tests of layouts older code stored (the object restores them
//   after the next process restart).
import { probeCounts } from "./parse-probe.js";
import worker, { InstanceSupervisor as Supervisor } from "../src/worker.js";
import { InstanceDb } from "../src/instance-db.js";

export * from "../src/worker.js";

export class InstanceSupervisor extends Supervisor {
  /** Test hook (RPC from this entry's fetch only). */
  writeRows({ meta = {}, messages = [], audit = [] }) {
    const db = new InstanceDb(this.ctx.storage.sql);
    for (const [key, value] of Object.entries(meta)) db.writeMeta(key, value);
    for (const m of messages) {
      db.write(
        "messages",
        "INSERT INTO messages (id, chat_id, text, state, timeout_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
        m.id, m.chatId, m.text, m.state, m.timeoutMs ?? null, m.createdMs,
      );
    }
    for (const a of audit) db.write("audit", "INSERT INTO audit (at_ms, status, raw, source) VALUES (?, ?, ?, ?)", a.atMs, a.status, a.status, a.source);
  }
}

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === "/__test/parses") return Response.json(probeCounts());
    const storage = /^\/__test\/storage\/([A-Za-z0-9_.-]+)$/.exec(pathname);
    if (storage && request.method === "POST") {
      await env.INSTANCES.get(env.INSTANCES.idFromName(storage[1])).writeRows(await request.json());
      return Response.json({ written: true });
    }
    return worker.fetch(request, env, ctx);
  },
};
