// CORS for the origins in ALLOWED_ORIGINS only (none by default): browsers elsewhere cannot read
// the worker's answers, and a preflight from anywhere else is refused.

import { allowedOrigins } from "./config.js";
import { errorResponse } from "./http.js";

const ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS";
const ALLOWED_HEADERS = "authorization, content-type";
const PREFLIGHT_MAX_AGE_S = "600";

function allowedOrigin(request, env) {
  const origin = request.headers.get("origin");
  return origin !== null && allowedOrigins(env).includes(origin) ? origin : null;
}

/** The answer to an OPTIONS request: 204 with the CORS grant, or 403 for any other origin. */
export function preflight(request, env) {
  const origin = allowedOrigin(request, env);
  if (origin === null) return errorResponse("forbidden", "origin not allowed", 403, {});
  return new Response(null, {
    status: 204,
    headers: {
      "access-control-allow-origin": origin,
      "access-control-allow-methods": ALLOWED_METHODS,
      "access-control-allow-headers": ALLOWED_HEADERS,
      "access-control-max-age": PREFLIGHT_MAX_AGE_S,
      vary: "Origin",
    },
  });
}

/** `response` with the CORS grant when the request came from an allowed origin. */
export function withCors(request, env, response) {
  const origin = allowedOrigin(request, env);
  if (origin === null) return response;
  const granted = new Response(response.body, response); // a Durable Object's headers are immutable
  granted.headers.set("access-control-allow-origin", origin);
  granted.headers.set("access-control-expose-headers", "retry-after");
  granted.headers.append("vary", "Origin");
  return granted;
}
