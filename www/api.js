// The dashboard's requests that are not a session's (configuration, provisioning, stability,
// the simulator's controls), and the two places that deal with the operator's backend:
// `createInstance` and `instanceToken`.
import { WawpError } from "/pkg/src/entry-web.js";
import { createInstance as createThroughBackend, tokenFor } from "./access.js";
import { state } from "./state.js";

/**
 * The token the page sends to the edge for `instanceId`: an instance token from the operator's
 * backend (access.js), `fresh` when the session asks again after a 401. Direct mode's in-page
 * backend asks for none.
 * @param {string} instanceId
 * @param {{fresh?: boolean}} [opts]
 * @returns {Promise<string|undefined>}
 */
export async function instanceToken(instanceId, { fresh = false } = {}) {
  if (state.direct) return undefined;
  return tokenFor(instanceId, { fresh });
}

/** `fetch` for the page: in direct mode the in-page backend answers the edge worker's routes. */
export function pageFetch(url, init) {
  const target = new URL(String(url), location.href);
  const toEdge = target.origin === location.origin && target.pathname.startsWith("/api/");
  return state.direct && toEdge ? state.direct.fetch(target.href, init) : fetch(url, init);
}

/** A JSON request; errors are WawpErrors with the answer's code and HTTP status. */
export async function api(method, path, body) {
  const init = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const instance = /^\/api\/instances\/([^/]+)/.exec(path);
  if (instance && instance[1] !== "create") {
    const token = await instanceToken(decodeURIComponent(instance[1]));
    if (token) init.headers.authorization = `Bearer ${token}`;
  }
  const res = await pageFetch(path, init);
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = data?.error ?? {};
    throw new WawpError(err.code ?? "server", err.message ?? `HTTP ${res.status}`, { httpStatus: res.status });
  }
  return data;
}

/** Creates an instance (lazy provisioning) through the operator's backend, which also hands out
 * its first token; in direct mode the in-page backend answers. */
export function createInstance(body) {
  return state.direct ? api("POST", "/api/instances/create", body) : createThroughBackend(body);
}

export const instancePath = (suffix = "") => `/api/instances/${encodeURIComponent(state.instanceId ?? "")}${suffix}`;
