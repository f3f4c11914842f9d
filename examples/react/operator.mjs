// The operator's backend for the example, as a Vite plugin (dev server and `vite preview` alike):
// `POST /backend/session` answers `{baseUrl, instanceId, token}` from `session()`, and `/edge/*` is
// proxied to the edge worker (SSE streamed through) so the page talks to one origin. `session()`
// is where a real backend checks its user, picks their instance and mints an instance token with
// the admin token it keeps to itself.

/**
 * @param {{ edgeUrl: string, session: () => Promise<{ instanceId: string, token?: string }> }} opts
 * @returns {import("vite").Plugin}
 */
export function operatorBackend({ edgeUrl, session }) {
  const proxy = { "/edge": { target: edgeUrl, changeOrigin: true, rewrite: (p) => p.replace(/^\/edge/, "") } };
  const answer = (server) => {
    server.middlewares.use("/backend/session", async (req, res) => {
      if (req.method !== "POST") {
        res.writeHead(405).end();
        return;
      }
      try {
        const { instanceId, token } = await session();
        res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
        res.end(JSON.stringify({ baseUrl: "/edge", instanceId, token }));
      } catch (err) {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "server", message: String(err?.message ?? err) } }));
      }
    });
  };
  return {
    name: "wawp-example-operator-backend",
    config: () => ({ server: { proxy }, preview: { proxy } }),
    configureServer: answer,
    configurePreviewServer: answer,
  };
}

/**
 * The backend's side of the edge for the example and its test: one instance, created on first
 * use (with the user's number, when known, the edge checks that this account gets linked); an
 * instance token minted per call with the operator's admin token (never given to the page).
 * @param {{ edgeUrl: string, adminToken: string, expectedJid?: string }} edge
 */
export function exampleSession({ edgeUrl, adminToken, expectedJid }) {
  let instance;
  const post = async (path, body) => {
    const headers = { "content-type": "application/json", authorization: `Bearer ${adminToken}` };
    const res = await fetch(`${edgeUrl}${path}`, { method: "POST", headers, body: JSON.stringify(body ?? {}) });
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new Error(`POST ${path} answered ${res.status}: ${data?.error?.message ?? ""}`);
    return data;
  };
  return async () => {
    instance ??= post("/instances/create", expectedJid ? { expectedJid } : {}).catch((err) => {
      instance = undefined;
      throw err;
    });
    const { instanceId } = await instance;
    const { token } = await post(`/instances/${encodeURIComponent(instanceId)}/tokens`, { ttlSeconds: 600 });
    return { instanceId, token };
  };
}
