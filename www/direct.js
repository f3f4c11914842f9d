// Direct mode: no edge worker. The npm package itself (its browser build, served under /pkg/)
// runs the session in this page: a WawpClient against the API (through the dashboard's same-origin
// /upstream/ proxy) and a SessionSupervisor with real timers. It answers the same requests, with
// the same JSON shapes, as the edge worker's HTTP API (docs/CONTRACTS.md §3), event stream
// included, through a `fetch` of its own: the page's connectEdgeSession reads both alike. Nothing survives a reload, and there are no webhooks: the page reads `info`
// periodically instead. Only offered with the simulator, whose token is not a secret.
import { SessionSupervisor, WawpClient, init, stability, uiActionFor } from "/pkg/src/entry-web.js";

/** Model-time defaults of the edge worker (edge/src/config.js), divided by the speed-up alike. */
const SCALED_TIMINGS = { startingTimeoutMs: 60_000, failedRestartDelayMs: 30_000, debounceMs: 10_000 };
/** How often `info` is read when no webhook can reach the page (model time). */
const INFO_POLL_MS = 5_000;
const MIN_POLL_MS = 250;

export class DirectError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * @param {{ apiBase: string, token: string, timingScale: number }} opts
 * @returns {Promise<{ fetch: typeof fetch, close: () => void }>}
 */
export async function createDirectBackend({ apiBase, token, timingScale }) {
  await init();
  /** Open event streams: {instanceId, controller}. */
  const streams = new Set();
  const encoder = new TextEncoder();
  const publish = (instanceId, text) => {
    for (const stream of streams) if (stream.instanceId === instanceId) stream.controller.enqueue(encoder.encode(text));
  };
  const onInstance = (view) => publish(view.instanceId, `data: ${JSON.stringify(view)}\n\n`);
  const onMessage = (update) => session && publish(session.instanceId, `event: message\ndata: ${JSON.stringify(update)}\n\n`);
  const scale = timingScale > 0 ? timingScale : 1;
  const baseUrl = new URL(apiBase, location.href).href.replace(/\/$/, "");
  // Sends get a client that never retries: whether a failed send goes again is the machine's call.
  const clientFor = (instanceId, retry = { maxAttempts: 3, baseMs: 200 }) => new WawpClient({ accessToken: token, baseUrl, instanceId, retry });
  let session = null;

  function machineOptions(expectedJid) {
    const opts = {};
    for (const [name, ms] of Object.entries(SCALED_TIMINGS)) opts[name] = Math.max(1, Math.round(ms / scale));
    if (expectedJid) opts.expectedJid = expectedJid;
    return opts;
  }

  /** One supervised instance: the package's supervisor plus what the page shows about it. */
  function open(instanceId, expectedJid) {
    session?.close();
    const client = clientFor(instanceId);
    const history = [];
    const messages = new Map();
    const s = {
      instanceId, client, sender: clientFor(instanceId, false), history, messages, notifications: [], identity: null, me: null, lastError: null,
      pending: new Set(), supervisor: null, pollTimer: 0, closed: false,
    };
    const noteStatus = () => {
      const status = s.supervisor.status;
      // Before the first `info` answer the machine knows nothing; that is not a status to chart.
      if (status === "UNKNOWN" && history.length === 0) return;
      if (history.at(-1)?.status !== status) history.push({ atMs: Date.now(), status });
    };
    s.supervisor = new SessionSupervisor({
      client,
      ...machineOptions(expectedJid),
      onEvent: (event) => {
        if (event.type === "call") s.pending.add(event.op);
        if (event.type === "result") {
          s.pending.delete(event.op);
          if (!event.ok) s.lastError = { code: event.error, message: `${event.op} failed (${event.error})`, atMs: Date.now() };
        }
        if (event.type === "identity") s.identity = event.me ? { verdict: event.verdict, me: event.me } : { verdict: event.verdict };
        if (event.type === "clear_identity") {
          s.identity = null;
          s.me = null;
        }
        if (event.type === "notify_admin") s.notifications.push({ reason: event.reason, atMs: Date.now() });
        if (!s.closed && s.supervisor) {
          noteStatus();
          queueMicrotask(() => !s.closed && onInstance(view(s)));
        }
      },
    });
    noteStatus();
    const poll = async () => {
      if (s.closed) return;
      try {
        const info = await client.info();
        if (info?.me?.id) s.me = { id: info.me.id, ...(info.me.pushName ? { pushName: info.me.pushName } : {}) };
        s.supervisor.observe(info);
        noteStatus();
        onInstance(view(s));
      } catch (err) {
        s.lastError = { code: err?.code ?? "network", message: String(err?.message ?? err), atMs: Date.now() };
      } finally {
        if (!s.closed) s.pollTimer = setTimeout(poll, Math.max(MIN_POLL_MS, INFO_POLL_MS / scale));
      }
    };
    s.pollTimer = setTimeout(poll, Math.max(MIN_POLL_MS, INFO_POLL_MS / scale));
    s.close = () => {
      s.closed = true;
      clearTimeout(s.pollTimer);
      s.supervisor.close();
    };
    session = s;
    return s;
  }

  function view(s) {
    const status = s.supervisor.status;
    return {
      instanceId: s.instanceId, status, uiAction: uiActionFor(status),
      statusSinceMs: s.history.at(-1)?.atMs ?? null,
      identity: s.identity, me: s.me, queueLength: s.supervisor.queuedSends, lastError: s.lastError,
      notifications: s.notifications, pendingOp: [...s.pending].find((op) => op !== "info" && op !== "me") ?? null,
      nextDeadlineMs: null, startingTimeoutMs: Math.round(SCALED_TIMINGS.startingTimeoutMs / scale),
    };
  }

  function setMessage(s, id, patch) {
    const message = s.messages.get(id);
    if (!message) return;
    Object.assign(message, patch);
    onMessage({ type: "message", id, state: message.state, ...(message.code ? { code: message.code } : {}) });
  }

  function send(s, body) {
    const { id, chatId, text } = body ?? {};
    if (typeof chatId !== "string" || !chatId || typeof text !== "string" || !text) {
      throw new DirectError(400, "bad_request", "chatId and text are required");
    }
    if (s.messages.has(id)) return { id, state: s.messages.get(id).state };
    s.messages.set(id, { id, chatId, text, state: "queued", createdMs: Date.now() });
    s.supervisor
      .sendWhenReady(() => {
        setMessage(s, id, { state: "sending" });
        return s.sender.sendText(chatId, text);
      })
      .then(
        (sent) => setMessage(s, id, { state: "sent", doneMs: Date.now(), ...(sent?.id ? { messageId: sent.id } : {}) }),
        (err) => setMessage(s, id, { state: "rejected", code: err?.code ?? "server", doneMs: Date.now() }),
      );
    return { id, state: "queued" };
  }

  const USER_ACTIONS = { start: "start", stop: "stop", retry: "retry", logout: "logout" };

  /** The edge worker's routes, answered in the page. */
  async function handle(method, path, body) {
    if (method === "POST" && path === "/instances/create") {
      const created = await clientFor(undefined).create();
      open(created.instanceId, body?.expectedJid);
      return { instanceId: created.instanceId };
    }
    const match = /^\/instances\/([^/]+)(\/[a-z-]+)?$/.exec(path);
    if (!match) throw new DirectError(404, "not_found", `no route for ${method} ${path}`);
    const instanceId = decodeURIComponent(match[1]);
    const s = session?.instanceId === instanceId ? session : open(instanceId);
    const route = match[2] ?? "";
    if (method === "GET" && route === "") return view(s);
    if (method === "POST" && route === "/warm-boot") {
      try {
        await s.supervisor.warmBoot();
      } catch (err) {
        if (err?.code !== "not_found") throw err;
      }
      return view(s);
    }
    if (method === "POST" && USER_ACTIONS[route.slice(1)]) {
      await s.supervisor[USER_ACTIONS[route.slice(1)]]().catch(() => {}); // the machine already knows
      return view(s);
    }
    if (method === "GET" && route === "/qr") {
      const image = await s.client.qrImage();
      return { qr: typeof image === "string" ? image : (image?.qr ?? image?.data ?? null) };
    }
    if (method === "POST" && route === "/pairing-code") return s.client.requestCode(String(body?.phoneNumber ?? ""));
    if (method === "POST" && route === "/send") return send(s, body);
    if (method === "GET" && route === "/messages") return [...s.messages.values()].map((m) => ({ ...m }));
    if (method === "GET" && route === "/stability") return { ...stability(s.history, Date.now(), scale), timeline: s.history };
    if (method === "DELETE" && route === "") {
      await s.client.delete();
      s.close();
      session = null;
      return { deleted: true };
    }
    throw new DirectError(404, "not_found", `no route for ${method} ${path}`);
  }

  /** `GET /instances/{id}/events`: the first view at once, then every change. */
  function eventStream(instanceId, signal) {
    const s = session?.instanceId === instanceId ? session : open(instanceId);
    let entry;
    const body = new ReadableStream({
      start(controller) {
        entry = { instanceId, controller };
        streams.add(entry);
        controller.enqueue(encoder.encode(`data: ${JSON.stringify(view(s))}\n\n`));
        signal?.addEventListener("abort", () => {
          streams.delete(entry);
          closeQuietly(controller);
        });
      },
      cancel() {
        streams.delete(entry);
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  }

  /** The edge worker's HTTP API, answered in the page (`url` is under /api/). */
  async function directFetch(url, init = {}) {
    const path = new URL(String(url), location.href).pathname.slice("/api".length);
    const method = init.method ?? "GET";
    const events = /^\/instances\/([^/]+)\/events$/.exec(path);
    if (method === "GET" && events) return eventStream(decodeURIComponent(events[1]), init.signal);
    const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    try {
      return json(200, await handle(method, path, init.body ? JSON.parse(String(init.body)) : undefined));
    } catch (err) {
      // The HTTP status the API answered (or the route's own), so callers tell 4xx from 5xx.
      const code = typeof err?.code === "string" ? err.code : "server";
      return json(err?.status ?? err?.httpStatus ?? 502, { error: { code, message: String(err?.message ?? err) } });
    }
  }

  return {
    fetch: directFetch,
    close: () => {
      for (const stream of streams) closeQuietly(stream.controller);
      streams.clear();
      session?.close();
    },
  };
}

/** A stream its reader already cancelled refuses to close twice; either way it is over. */
function closeQuietly(controller) {
  try {
    controller.close();
  } catch {
    // already closed or cancelled
  }
}
