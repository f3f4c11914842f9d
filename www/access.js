// The page's credential for the edge worker: an instance token from the operator's backend (here
// www/serve.mjs's /backend routes), never the admin token nor the API's token. Held in memory
// only, for one instance at a time; fetched again shortly before it expires, or when the session
// asks again after a 401. It travels as `Authorization: Bearer` (the session reads its event
// stream with fetch, so no token goes into a URL).

const REFRESH_MARGIN_MS = 60_000;

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

/** The instance's token: the cached one while it is fresh, else (or with `fresh`) a new one. */
export async function tokenFor(instanceId, { fresh = false } = {}) {
  if (!fresh && current?.instanceId === instanceId && current.expiresAt - REFRESH_MARGIN_MS > Date.now()) {
    return current.token;
  }
  const minted = await backend(`/backend/instances/${encodeURIComponent(instanceId)}/token`);
  current = { instanceId, token: minted.token, expiresAt: minted.expiresAt };
  return current.token;
}
