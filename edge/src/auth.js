// Who may call which route (docs/security.md): the admin token may do everything; an instance
// token (package `verifyInstanceToken`) only its own instance's routes that its scopes allow.
// The table below is also the allowlist of what the worker forwards to a Durable Object: a
// sub-path that is not in it never reaches one. `ADMIN_ROUTES` are the worker's own and admin only.

import { verifyInstanceToken } from "wawp-session";
import { adminToken, instanceTokenKey } from "./config.js";
import { errorResponse } from "./http.js";

/** "METHOD /sub-path" of /instances/{id}... → the scope an instance token needs. */
export const INSTANCE_ROUTES = Object.freeze({
  "GET /": "view",
  "GET /events": "view",
  "GET /messages": "view",
  "GET /stability": "view",
  "GET /qr": "link",
  "POST /pairing-code": "link",
  "POST /send": "send",
  "POST /warm-boot": "control",
  "POST /start": "control",
  "POST /stop": "control",
  "POST /retry": "control",
  "POST /logout": "control",
  "DELETE /": "control",
});

/** The worker's own routes, for the admin token only: they span instances or make new ones, so
 *  an instance token never opens them (403). `{id}` stands for any instance id. */
export const ADMIN_ROUTES = Object.freeze([
  "POST /instances/create",
  "POST /instances/{id}/tokens",
  "GET /instances",
  "POST /instances/retry-failed",
  "GET /metrics",
]);

/** Only the events stream may carry its token in the URL (EventSource cannot set headers). */
const QUERY_TOKEN_ROUTE = "GET /events";

/**
 * The caller behind a request: `{admin: true}`, `{admin: false, token}` (an instance token still to
 * be checked against the route) or a 401 Response. The admin token is only accepted in the
 * Authorization header: URLs end up in logs.
 */
export async function authenticate(request, env, route) {
  const header = request.headers.get("authorization") ?? "";
  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1] ?? null;
  let token = bearer;
  if (token === null && !header && route === QUERY_TOKEN_ROUTE) {
    token = new URL(request.url).searchParams.get("access_token");
    if (token !== null) return { admin: false, token };
  }
  if (token === null) return unauthorized("a bearer token is required");
  const admin = adminToken(env);
  if (admin !== null && (await secretEquals(token, admin))) return { admin: true };
  return { admin: false, token };
}

/**
 * Checks an authenticated caller against a route: null when allowed, else the 401/403 Response.
 * @param {{admin: boolean, token?: string}} caller
 * @param {string|null} instanceId the instance of the route (null for create)
 * @param {string|null} scope the scope the route needs; null = admin only
 */
export async function authorize(env, caller, instanceId, scope) {
  if (caller.admin) return null;
  const key = instanceTokenKey(env);
  if (!key) return unauthorized("no instance tokens are accepted: the worker has no signing key");
  try {
    await verifyInstanceToken(caller.token, { ...key, instanceId: instanceId ?? undefined, scope: scope ?? undefined });
  } catch (err) {
    if (err?.code === "forbidden") return forbidden(err.message);
    return unauthorized(err?.code === "unauthorized" ? err.message : "invalid token");
  }
  return scope === null ? forbidden("this route needs the admin token") : null;
}

export function unauthorized(message) {
  return errorResponse("unauthorized", message, 401, {});
}

function forbidden(message) {
  return errorResponse("forbidden", message, 403, {});
}

/** Equality of two secrets in time independent of where they differ and of their lengths
 *  (compares SHA-256 digests). */
export async function secretEquals(given, expected) {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all(
    [given, expected].map(async (text) => new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)))),
  );
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}
