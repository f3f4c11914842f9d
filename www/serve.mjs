// The dashboard's own tiny HTTP server (zero dependencies): static files from www/, the package's
// build under /pkg/, and proxies so the page talks to one origin only:
//   /api/*       -> the edge worker (prefix stripped; SSE streamed through unbuffered). The page's
//                   own Authorization header (its instance token) passes through; nothing is added.
//   /backend/*   -> the operator's backend, played by this server (edge mode): it holds the edge's
//                   ADMIN_TOKEN and hands the page instance tokens only (docs/security.md); it
//                   also stands in for the operator's admin console for the fleet page:
//                   GET /backend/fleet?… -> GET /instances?…, POST /backend/fleet/retry-failed,
//                   GET /backend/metrics (docs/dashboard.md)
//   /sim/*       -> the simulator's control API /__sim/* (only in simulator mode)
//   /upstream/*  -> the simulator's session API (direct mode only: no edge worker, the package
//                   runs in the page; see www/direct.js)
// Always listens on 127.0.0.1.
import http from "node:http";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const WWW_DIR = path.dirname(fileURLToPath(import.meta.url));
const PKG_DIR = path.resolve(WWW_DIR, "..", "pkg");

const MIME_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
  ".map": "application/json; charset=utf-8",
  ".d.ts": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

// Hop-by-hop headers never cross a proxy (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer",
  "proxy-authenticate", "proxy-authorization", "host",
]);

function mimeTypeOf(filePath) {
  if (filePath.endsWith(".d.ts")) return MIME_TYPES[".d.ts"];
  return MIME_TYPES[path.extname(filePath).toLowerCase()] ?? "application/octet-stream";
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": MIME_TYPES[".json"], "cache-control": "no-store" });
  res.end(text);
}

function sendError(res, status, code, message) {
  sendJson(res, status, { error: { code, message } });
}

/** Resolves a URL path inside `root`, or null when it would escape it. */
function resolveInside(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0")) return null;
  const full = path.resolve(root, "." + path.posix.normalize("/" + decoded));
  return full === root || full.startsWith(root + path.sep) ? full : null;
}

async function serveFile(req, res, root, urlPath) {
  let filePath = resolveInside(root, urlPath);
  if (!filePath) return sendError(res, 400, "bad_request", "bad path");
  let info = await stat(filePath).catch(() => null);
  if (info?.isDirectory()) {
    filePath = path.join(filePath, "index.html");
    info = await stat(filePath).catch(() => null);
  }
  if (!info?.isFile()) return sendError(res, 404, "not_found", "no such file");
  res.writeHead(200, {
    "content-type": mimeTypeOf(filePath),
    "content-length": info.size,
    // The page is tiny and changes while developing; never serve a stale app.js.
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  });
  if (req.method === "HEAD") return res.end();
  createReadStream(filePath).pipe(res);
}

/** Streams one request to `targetUrl` and the answer back, chunk by chunk (SSE-safe). */
function proxy(req, res, targetUrl, openStreams) {
  const headers = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!HOP_BY_HOP.has(name)) headers[name] = value;
  }
  const upstreamReq = http.request(targetUrl, { method: req.method, headers }, (upstreamRes) => {
    const outHeaders = {};
    for (const [name, value] of Object.entries(upstreamRes.headers)) {
      if (!HOP_BY_HOP.has(name)) outHeaders[name] = value;
    }
    const isEventStream = String(upstreamRes.headers["content-type"] ?? "").startsWith("text/event-stream");
    if (isEventStream) {
      outHeaders["cache-control"] = "no-store";
      outHeaders["x-accel-buffering"] = "no";
      res.socket?.setNoDelay(true);
      openStreams.add(res);
      res.on("close", () => openStreams.delete(res));
    }
    res.writeHead(upstreamRes.statusCode ?? 502, outHeaders);
    if (isEventStream) res.flushHeaders();
    upstreamRes.pipe(res);
  });
  upstreamReq.on("error", (err) => {
    if (!res.headersSent) sendError(res, 502, "upstream_unreachable", `upstream unreachable (${err.code ?? "error"})`);
    else res.destroy();
  });
  // A browser that closes an EventSource must close the upstream stream too.
  res.on("close", () => upstreamReq.destroy());
  req.pipe(upstreamReq);
}

/** Bodies of the demo backend's routes are tiny (`{expectedJid}`). */
const MAX_BACKEND_BODY_BYTES = 16 * 1024;

async function readSmallJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BACKEND_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text.trim()) return {};
  try {
    const body = JSON.parse(text);
    return body && typeof body === "object" && !Array.isArray(body) ? body : null;
  } catch {
    return null;
  }
}

/**
 * The demo's stand-in for an operator's backend. A real one would first check that its signed-in
 * user owns the instance; the demo has no users (and listens on 127.0.0.1 only), so it mints for
 * whoever asks. The admin token goes to the edge worker and nowhere else.
 */
function operatorBackend(edgeBase, adminToken) {
  async function edge(method, path, body) {
    const response = await fetch(new URL(path, edgeBase), {
      method,
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    return { status: response.status, data };
  }
  /** An instance token with every scope for the page (`{token, expiresAt}`). */
  const mint = (instanceId) =>
    edge("POST", `/instances/${encodeURIComponent(instanceId)}/tokens`, { scopes: ["view", "send", "link", "control"] });

  /** The fleet page's reads and its bulk retry: what an operator's admin console would offer its
   *  signed-in operators (a real one checks that role first; the demo has no users). */
  async function fleet(req, res, pathname, search) {
    if (req.method === "GET" && pathname === "/backend/fleet") {
      const listed = await edge("GET", `/instances${search}`);
      return sendJson(res, listed.status, listed.data);
    }
    if (req.method === "POST" && pathname === "/backend/fleet/retry-failed") {
      const retried = await edge("POST", "/instances/retry-failed");
      return sendJson(res, retried.status, retried.data);
    }
    if (req.method === "GET" && pathname === "/backend/metrics") {
      const response = await fetch(new URL("/metrics", edgeBase), {
        headers: { authorization: `Bearer ${adminToken}` },
        signal: AbortSignal.timeout(30_000),
      });
      res.writeHead(response.status, { "content-type": response.headers.get("content-type") ?? "text/plain", "cache-control": "no-store" });
      return res.end(await response.text());
    }
    return sendError(res, 404, "not_found", "no such backend route");
  }

  return async function handle(req, res, pathname, search) {
    if (pathname === "/backend/fleet" || pathname.startsWith("/backend/fleet/") || pathname === "/backend/metrics") {
      return fleet(req, res, pathname, search);
    }
    if (req.method !== "POST") return sendError(res, 405, "method_not_allowed", "POST only");
    const body = await readSmallJson(req);
    if (body === null) return sendError(res, 400, "bad_request", "the body must be a small JSON object");
    if (pathname === "/backend/instances") {
      const created = await edge("POST", "/instances/create", body.expectedJid ? { expectedJid: String(body.expectedJid) } : {});
      if (created.status !== 201) return sendJson(res, created.status, created.data);
      const { instanceId, serverName, sessionName } = created.data;
      const minted = await mint(instanceId);
      if (minted.status !== 201) return sendJson(res, minted.status, minted.data);
      return sendJson(res, 201, { instanceId, serverName, sessionName, ...minted.data });
    }
    const match = /^\/backend\/instances\/([^/]+)\/token$/.exec(pathname);
    if (!match) return sendError(res, 404, "not_found", "no such backend route");
    let instanceId;
    try {
      instanceId = decodeURIComponent(match[1]);
    } catch {
      return sendError(res, 400, "bad_request", "invalid instance id");
    }
    const minted = await mint(instanceId);
    return sendJson(res, minted.status, minted.data);
  };
}

/**
 * Without `edgeUrl` the page runs the package itself against the simulator (direct mode); that
 * needs `simUrl` and the simulator's token, which the page receives (never do this with a real
 * API token: it would be readable by anyone who can open the page).
 * With `edgeUrl`, `adminToken` is the edge's ADMIN_TOKEN: only the /backend routes use it.
 * @param {{port?: number, edgeUrl?: string, adminToken?: string, simUrl?: string, timingScale?: number, simToken?: string}} opts
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
export async function startDashboard({ port = 0, edgeUrl, adminToken, simUrl, timingScale = 1, simToken } = {}) {
  if (!edgeUrl && !(simUrl && simToken)) {
    throw new Error("startDashboard: edgeUrl, or simUrl + simToken for direct mode, is required");
  }
  const edgeBase = edgeUrl ? new URL(edgeUrl) : null;
  const simBase = simUrl ? new URL(simUrl) : null;
  const config = { mode: simBase ? "simulator" : "real", backend: edgeBase ? "edge" : "direct", timingScale: simBase ? timingScale : 1 };
  if (!edgeBase) Object.assign(config, { apiBase: "/upstream", token: simToken });
  const openStreams = new Set();
  const backend = edgeBase && adminToken ? operatorBackend(edgeBase, adminToken) : null;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const { pathname, search } = url;
    if (pathname === "/config.json") return sendJson(res, 200, config);
    if (pathname.startsWith("/api/")) {
      if (!edgeBase) return sendError(res, 404, "not_found", "no edge worker in direct mode");
      return proxy(req, res, new URL(pathname.slice("/api".length) + search, edgeBase), openStreams);
    }
    if (pathname.startsWith("/backend/")) {
      if (!backend) return sendError(res, 404, "not_found", "no operator backend here");
      return backend(req, res, pathname, search).catch(() => {
        if (!res.headersSent) sendError(res, 502, "upstream_unreachable", "the edge worker did not answer");
        else res.destroy();
      });
    }
    if (pathname.startsWith("/upstream/")) {
      if (edgeBase || !simBase) return sendError(res, 404, "not_found", "the API is reached through the edge worker");
      return proxy(req, res, new URL(pathname.slice("/upstream".length) + search, simBase), openStreams);
    }
    if (pathname.startsWith("/sim/")) {
      if (!simBase) return sendError(res, 404, "not_found", "no simulator in real mode");
      return proxy(req, res, new URL("/__sim" + pathname.slice("/sim".length) + search, simBase), openStreams);
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return sendError(res, 405, "method_not_allowed", "static files are read-only");
    }
    const served = pathname.startsWith("/pkg/")
      ? serveFile(req, res, PKG_DIR, pathname.slice("/pkg".length))
      : pathname.endsWith(".mjs") // www/*.mjs are this server's own Node modules, not page assets
        ? sendError(res, 404, "not_found", "no such file")
        : serveFile(req, res, WWW_DIR, pathname);
    Promise.resolve(served).catch(() => {
      if (!res.headersSent) sendError(res, 500, "internal", "could not read the file");
      else res.destroy();
    });
  });

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : port}`;

  async function close() {
    for (const res of openStreams) res.destroy();
    await new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
  return { url, close };
}
