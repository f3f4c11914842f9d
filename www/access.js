// The page's credential for the edge worker: an instance token from the operator's backend (here
// www/serve.mjs's /backend routes), never the admin token nor the API's token. Held in memory
// only, for one instance at a time; fetched again shortly before it expires, or once when the
// worker answers 401. The token travels as `Authorization: Bearer` and, for the event stream only
// (EventSource cannot set headers), as `?access_token=`.

const REFRESH_MARGIN_MS = 60_000;
const INSTANCE_PATH = /^\/api\/instances\/([^/?]+)/;

/** @type {{instanceId: string, token: string, expiresAt: number} | null} */
let current = null;

async function backend(path, body) {
  const res = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const error = new Error(data?.error?.message ?? `HTTP ${res.status}`);
    Object.assign(error, { status: res.status, code: data?.error?.code ?? `http_${res.status}` });
    throw error;
  }
  return data;
}

/** Creates an instance through the backend; its answer carries the page's first token. */
export async function createInstance(body) {
  const created = await backend("/backend/instances", body);
  current = { instanceId: created.instanceId, token: created.token, expiresAt: created.expiresAt };
  return created;
}

async function tokenFor(instanceId, { fresh = false } = {}) {
  if (!fresh && current?.instanceId === instanceId && current.expiresAt - REFRESH_MARGIN_MS > Date.now()) {
    return current.token;
  }
  const minted = await backend(`/backend/instances/${encodeURIComponent(instanceId)}/token`);
  current = { instanceId, token: minted.token, expiresAt: minted.expiresAt };
  return current.token;
}

/** `fetch` for /api paths: an instance's routes get its token (renewed once on a 401). */
export async function authorizedFetch(path, init) {
  const match = INSTANCE_PATH.exec(path);
  if (!match) return fetch(path, init);
  const instanceId = decodeURIComponent(match[1]);
  const attempt = async (fresh) =>
    fetch(path, { ...init, headers: { ...init.headers, authorization: `Bearer ${await tokenFor(instanceId, { fresh })}` } });
  const res = await attempt(false);
  return res.status === 401 ? attempt(true) : res;
}

/** The event stream's URL with the current token of its instance (call after an authorized fetch). */
export function withAccessToken(path) {
  const match = INSTANCE_PATH.exec(path);
  if (!match || current?.instanceId !== decodeURIComponent(match[1])) return path;
  return `${path}${path.includes("?") ? "&" : "?"}access_token=${encodeURIComponent(current.token)}`;
}
