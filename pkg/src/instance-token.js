// Instance tokens: short-lived credentials bound to one instance and a set of scopes, so that a
// browser can talk to the edge worker for its own instance without ever holding the operator's
// admin token or the API's access token. The format is a compact JWT (HS256) so any JWT library
// can read it; signing and verification run on WebCrypto (`crypto.subtle.verify` compares the MAC
// in constant time). The edge worker and an operator's backend share this one implementation:
// the backend mints with the same key the worker verifies with, without a round trip.

import { WawpError } from "./error.js";

/** What an instance token may allow, in the edge's route → scope table (docs/security.md). */
export const INSTANCE_TOKEN_SCOPES = Object.freeze(["view", "send", "link", "control"]);
export const INSTANCE_TOKEN_DEFAULT_TTL_SECONDS = 3600;
export const INSTANCE_TOKEN_MAX_TTL_SECONDS = 86_400;

/** Keys shorter than this are refused: a guessable key makes every token forgeable. */
const MIN_SECRET_CHARS = 16;
/** Tolerated clock difference between the minting backend and the verifying worker. */
const CLOCK_SKEW_SECONDS = 60;
const MAX_TOKEN_CHARS = 2048;
const AUDIENCE = "wawp-session:instance";
/** Domain separation: the signing key derived from ADMIN_TOKEN is never the admin token itself. */
const DERIVATION_LABEL = "wawp-session instance-token signing key v1";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const HEADER = base64UrlEncode(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
/** Imported keys by secret (a worker verifies with the same one or two keys all day). */
const keyCache = new Map();
const KEY_CACHE_LIMIT = 8;

/**
 * Mints a token for `instanceId`.
 * @param {{instanceId: string, scopes?: string[], ttlSeconds?: number, nowMs?: number,
 *          signingKey?: string, adminToken?: string}} options
 * @returns {Promise<{token: string, expiresAt: number}>}
 */
export async function mintInstanceToken(options) {
  const { instanceId, scopes = INSTANCE_TOKEN_SCOPES, ttlSeconds = INSTANCE_TOKEN_DEFAULT_TTL_SECONDS } = options ?? {};
  if (typeof instanceId !== "string" || instanceId.length === 0 || instanceId.length > 256) {
    throw new WawpError("invalid_option", "instanceId must be a non-empty string");
  }
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => INSTANCE_TOKEN_SCOPES.includes(s))) {
    throw new WawpError("invalid_option", `scopes must be a non-empty list of ${INSTANCE_TOKEN_SCOPES.join(", ")}`);
  }
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > INSTANCE_TOKEN_MAX_TTL_SECONDS) {
    throw new WawpError("invalid_option", `ttlSeconds must be an integer from 1 to ${INSTANCE_TOKEN_MAX_TTL_SECONDS}`);
  }
  const key = await hmacKey(options);
  const iat = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const claims = {
    aud: AUDIENCE,
    sub: instanceId,
    scope: INSTANCE_TOKEN_SCOPES.filter((s) => scopes.includes(s)).join(" "),
    iat,
    exp: iat + ttlSeconds,
  };
  const signed = `${HEADER}.${base64UrlEncode(encoder.encode(JSON.stringify(claims)))}`;
  const mac = new Uint8Array(await subtle().sign("HMAC", key, encoder.encode(signed)));
  return { token: `${signed}.${base64UrlEncode(mac)}`, expiresAt: claims.exp * 1000 };
}

/**
 * Verifies a token: signature, audience, lifetime; then, when asked, that it is bound to
 * `instanceId` and carries `scope`. A bad, tampered or expired token is `unauthorized`; a valid
 * one for another instance or without the scope is `forbidden`.
 * @param {string} token
 * @param {{signingKey?: string, adminToken?: string, nowMs?: number, instanceId?: string, scope?: string}} options
 * @returns {Promise<{instanceId: string, scopes: string[], issuedAt: number, expiresAt: number}>}
 */
export async function verifyInstanceToken(token, options) {
  const key = await hmacKey(options ?? {});
  const refuse = (why) => new WawpError("unauthorized", `instance token ${why}`);
  if (typeof token !== "string" || token.length > MAX_TOKEN_CHARS) throw refuse("malformed");
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== HEADER) throw refuse("malformed");
  const mac = base64UrlDecode(parts[2]);
  if (!mac || !(await subtle().verify("HMAC", key, mac, encoder.encode(`${parts[0]}.${parts[1]}`)))) {
    throw refuse("signature invalid");
  }
  const claims = decodeClaims(parts[1]);
  if (!claims) throw refuse("malformed");
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (claims.iat > now + CLOCK_SKEW_SECONDS || claims.exp - claims.iat > INSTANCE_TOKEN_MAX_TTL_SECONDS) {
    throw refuse("lifetime invalid");
  }
  if (claims.exp <= now) throw refuse("expired");
  const scopes = claims.scope.split(" ");
  if (options.instanceId !== undefined && claims.sub !== options.instanceId) {
    throw new WawpError("forbidden", "the token belongs to another instance");
  }
  if (options.scope !== undefined && !scopes.includes(options.scope)) {
    throw new WawpError("forbidden", `the token lacks the "${options.scope}" scope`);
  }
  return { instanceId: claims.sub, scopes, issuedAt: claims.iat * 1000, expiresAt: claims.exp * 1000 };
}

/** The claims when they are exactly what `mintInstanceToken` writes; null otherwise. */
function decodeClaims(segment) {
  const bytes = base64UrlDecode(segment);
  if (!bytes) return null;
  let claims;
  try {
    claims = JSON.parse(decoder.decode(bytes));
  } catch {
    return null;
  }
  if (!claims || typeof claims !== "object" || claims.aud !== AUDIENCE) return null;
  if (typeof claims.sub !== "string" || !claims.sub || typeof claims.scope !== "string") return null;
  if (!Number.isInteger(claims.iat) || !Number.isInteger(claims.exp)) return null;
  const scopes = claims.scope.split(" ");
  if (!scopes.every((s) => INSTANCE_TOKEN_SCOPES.includes(s))) return null;
  return claims;
}

/** `signingKey` when given, else a key derived from `adminToken` (HMAC-SHA256 over a fixed label). */
async function hmacKey({ signingKey, adminToken }) {
  const secret = signingKey ?? adminToken;
  const kind = signingKey !== undefined ? "signingKey" : "adminToken";
  if (typeof secret !== "string" || secret.length < MIN_SECRET_CHARS) {
    throw new WawpError("invalid_option", `a signingKey or adminToken of at least ${MIN_SECRET_CHARS} characters is required`);
  }
  const cacheKey = `${kind}:${secret}`;
  let key = keyCache.get(cacheKey);
  if (!key) {
    key = importKey(kind, secret);
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value);
    keyCache.set(cacheKey, key);
    key.catch(() => keyCache.delete(cacheKey));
  }
  return key;
}

async function importKey(kind, secret) {
  const hmac = { name: "HMAC", hash: "SHA-256" };
  let raw = encoder.encode(secret);
  if (kind === "adminToken") {
    const parent = await subtle().importKey("raw", raw, hmac, false, ["sign"]);
    raw = new Uint8Array(await subtle().sign("HMAC", parent, encoder.encode(DERIVATION_LABEL)));
  }
  return subtle().importKey("raw", raw, hmac, false, ["sign", "verify"]);
}

function subtle() {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new WawpError("invalid_option", "WebCrypto (crypto.subtle) is not available in this runtime");
  return s;
}

function base64UrlEncode(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Strict: the canonical unpadded base64url text of some bytes, else null (so no two texts,
 *  e.g. differing only in unused trailing bits, verify as the same token). */
function base64UrlDecode(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return base64UrlEncode(bytes) === text ? bytes : null;
}
