// JSON responses and the one mapping from error codes to HTTP statuses.

import { redact } from "./config.js";

/** HTTP status for each `ErrorCode` (API.md). Upstream credential or server trouble is the edge's
 *  problem, not the caller's, so it is a 502 rather than the upstream 401/403/500. */
const HTTP_STATUS_FOR_CODE = {
  invalid_payload: 400,
  bad_request: 400,
  invalid_option: 400,
  stale_event: 400,
  bad_signature: 401,
  not_found: 404,
  conflict: 409,
  needs_qr: 409,
  identity_mismatch: 409,
  payload_too_large: 413,
  rate_limited: 429,
  queue_full: 429,
  unauthorized: 502,
  forbidden: 502,
  server: 502,
  network: 502,
  closed: 503,
  timeout: 504,
  send_timeout: 504,
};

export function httpStatusFor(code) {
  return HTTP_STATUS_FOR_CODE[code] ?? 500;
}

export function json(body, status = 200, headers = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

export function errorResponse(code, message, status = httpStatusFor(code), extra = {}) {
  return json({ ...extra, error: { code, message } }, status);
}

/** `{code, message}` of anything thrown (a `WawpError` or not), secrets removed. */
export function describeError(env, err) {
  const code = typeof err?.code === "string" ? err.code : "server";
  const message = redact(env, err instanceof Error ? err.message : String(err));
  return { code, message };
}

export function errorResponseFrom(env, err) {
  const { code, message } = describeError(env, err);
  return errorResponse(code, message);
}

/** Request bodies of the JSON API are small (a message text is capped at 64 K characters). */
export const MAX_JSON_BODY_BYTES = 512 * 1024;

/**
 * The raw body, read at most `maxBytes` far (a declared or streamed larger body is never buffered
 * whole); null when it is larger.
 */
export async function readBodyCapped(request, maxBytes) {
  if (Number(request.headers.get("content-length")) > maxBytes) return null;
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

export function tooLarge() {
  return errorResponse("payload_too_large", "the request body is too large");
}

/** The body as a JSON object; null when it is not one (or is too large). */
export async function readJsonBody(request) {
  const bytes = await readBodyCapped(request, MAX_JSON_BODY_BYTES);
  if (bytes === null) return null;
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  if (!text.trim()) return {};
  try {
    const body = JSON.parse(text);
    return body && typeof body === "object" && !Array.isArray(body) ? body : null;
  } catch {
    return null;
  }
}
