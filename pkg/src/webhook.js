// Webhook verification and parsing. HMAC runs on WebCrypto (`crypto.subtle`, present in
// browsers, Node >= 18 and workerd), so no SHA-2 is compiled into the wasm; the core parses the
// verified body (one event or an array, stale window).
// Why WebCrypto (tests/js/bench-verify.mjs): HMAC-SHA256/512 compiled in would add ~13.7 KB raw /
// ~6 KB gzip of wasm; it verifies a small body in ~5-14 µs against WebCrypto's ~13-27 µs in workerd
// and ~120-175 µs in Node (thread-pool hops), and is slower than WebCrypto on 16 KiB bodies.
// Webhooks arrive at human rates, so the bytes matter more than the microseconds.

import { __parseWebhookBody as parseWebhookBody } from "./bindings.js";
import { WawpError } from "./error.js";

const DEFAULT_MAX_BYTES = 256 * 1024;
const WAHA_SIGNATURE = "x-webhook-hmac";
const WAHA_ALGORITHM = "x-webhook-hmac-algorithm";
const WAWP_SIGNATURE = "x-wawp-signature";
/** Normalised algorithm spelling → WebCrypto hash name. */
const HASHES = new Map([
  ["sha1", "SHA-1"],
  ["sha256", "SHA-256"],
  ["sha384", "SHA-384"],
  ["sha512", "SHA-512"],
]);

const encoder = new TextEncoder();

/**
 * How `X-Wawp-Signature` is read. Wawp's docs say only that the `hmac` secret is "added to the
 * X-Wawp-Signature header for basic verification" (the header may carry the secret itself);
 * Wawp's Python SDK verifies a hex HMAC-SHA256 of the body. Nothing public settles which one
 * Wawp sends, so the default accepts either: it is never weaker than the form actually in use
 * (a sender that signs never puts the secret on the wire, so accepting the bare secret gives an
 * attacker nothing new), and a receiver works whichever form its Wawp account uses. Pin
 * "hmac-sha256" once you know Wawp signs: only then is the body's integrity guaranteed.
 */
const WAWP_MODES = new Set(["hmac-sha256", "secret", "either"]);
const DEFAULT_WAWP_MODE = "either";

/**
 * True when a signature header is present and every signature header present matches, over the
 * exact raw bytes: WAHA `X-Webhook-Hmac` (hash from `X-Webhook-Hmac-Algorithm`, sha512 when
 * absent) and Wawp `X-Wawp-Signature` as `opts.wawpSignature` says ("hmac-sha256": hex
 * HMAC-SHA256, optional `sha256=` prefix; "secret": the secret itself; "either", the default).
 * Every comparison is constant-time, and in "either" both forms are always computed.
 */
export async function verifyWebhook(rawBody, headers, secret, opts = {}) {
  if (typeof secret !== "string" || secret.length === 0) {
    throw new WawpError("invalid_option", "the webhook secret must be a non-empty string");
  }
  const mode = wawpMode(opts);
  const bytes = toBytes(rawBody);
  let present = false;
  let ok = true;
  const wahaSignature = headerValue(headers, WAHA_SIGNATURE);
  if (wahaSignature !== undefined) {
    present = true;
    const hash = HASHES.get(normaliseAlgorithm(headerValue(headers, WAHA_ALGORITHM) ?? "sha512"));
    if (hash === undefined) return false;
    ok = constantTimeEqual(await hmacHex(hash, secret, bytes), wahaSignature.trim().toLowerCase()) && ok;
  }
  const wawpSignature = headerValue(headers, WAWP_SIGNATURE);
  if (wawpSignature !== undefined) {
    present = true;
    let match = false;
    if (mode !== "secret") {
      const given = wawpSignature.trim().replace(/^sha256=/i, "").toLowerCase();
      match = constantTimeEqual(await hmacHex("SHA-256", secret, bytes), given);
    }
    if (mode !== "hmac-sha256") match = (await sameSecret(wawpSignature.trim(), secret)) || match;
    ok = match && ok;
  }
  return present && ok;
}

function wawpMode(opts) {
  const mode = opts?.wawpSignature ?? DEFAULT_WAWP_MODE;
  if (!WAWP_MODES.has(mode)) {
    throw new WawpError("invalid_option", 'wawpSignature must be "hmac-sha256", "secret" or "either"');
  }
  return mode;
}

/** One event; a body holding an array of several is `invalid_payload` (use `parseWebhooks`). */
export async function parseWebhook(rawBody, headers, opts) {
  const events = await parseWebhooks(rawBody, headers, opts);
  if (events.length !== 1) {
    throw new WawpError("invalid_payload", `expected one webhook event, got ${events.length}`);
  }
  return events[0];
}

/**
 * Size cap on the raw bytes first, then strict UTF-8, then the signature (when a secret is
 * given), then the core's parser (one event or an array; stale events rejected).
 */
export async function parseWebhooks(rawBody, headers, opts = {}) {
  wawpMode(opts); // a bad option is refused even when no secret is given
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (typeof maxBytes !== "number" || !(maxBytes > 0)) {
    throw new WawpError("invalid_option", "maxBytes must be a positive number");
  }
  // UTF-8 never needs fewer bytes than UTF-16 code units: reject a huge string before encoding it.
  if (typeof rawBody === "string" && rawBody.length > maxBytes) throw tooLarge(maxBytes);
  const bytes = toBytes(rawBody);
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new WawpError("invalid_payload", "webhook body is not valid UTF-8");
  }
  if (opts.secret !== undefined && !(await verifyWebhook(bytes, headers ?? {}, opts.secret, opts))) {
    throw new WawpError("bad_signature", "webhook signature missing or wrong");
  }
  const limits = { maxBytes, nowMs: opts.nowMs ?? Date.now() };
  if (opts.maxAgeMs !== undefined) limits.maxAgeMs = opts.maxAgeMs;
  return parseWebhookBody(text, limits);
}

function tooLarge(maxBytes) {
  return new WawpError("payload_too_large", `webhook body exceeds ${maxBytes} bytes`);
}

function toBytes(rawBody) {
  if (typeof rawBody === "string") return encoder.encode(rawBody);
  if (rawBody instanceof Uint8Array) return rawBody;
  if (rawBody instanceof ArrayBuffer) return new Uint8Array(rawBody);
  if (ArrayBuffer.isView(rawBody)) return new Uint8Array(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  throw new WawpError("invalid_payload", "webhook body must be a string or bytes");
}

/** A header from `Headers` or a plain record, name case-insensitive; undefined when absent. */
function headerValue(headers, name) {
  if (!headers) return undefined;
  if (typeof headers.get === "function") return headers.get(name) ?? undefined;
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() !== name) continue;
    const value = headers[key];
    if (Array.isArray(value)) return value.length > 0 ? String(value[0]) : undefined;
    return value === undefined || value === null ? undefined : String(value);
  }
  return undefined;
}

/** "SHA-512", "sha_512", "HmacSHA256", "hmac-sha1" → "sha512", "sha512", "sha256", "sha1". */
function normaliseAlgorithm(value) {
  return value.toLowerCase().replace(/[^a-z0-9]/g, "").replace(/^hmac/, "");
}

function subtle() {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    // Node 18 exposes WebCrypto globally only with --experimental-global-webcrypto.
    throw new WawpError("invalid_option", "WebCrypto (crypto.subtle) is not available in this runtime");
  }
  return subtle;
}

async function hmacHex(hash, secret, bytes) {
  const key = await subtle().importKey("raw", encoder.encode(secret), { name: "HMAC", hash }, false, ["sign"]);
  return hex(new Uint8Array(await subtle().sign("HMAC", key, bytes)));
}

function hex(bytes) {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/**
 * The header equals the secret: both are hashed first, so the compare neither exits early nor
 * reveals the secret's length.
 */
async function sameSecret(given, secret) {
  const digest = async (text) => hex(new Uint8Array(await subtle().digest("SHA-256", encoder.encode(text))));
  return constantTimeEqual(await digest(secret), await digest(given));
}

/** Compares two hex strings without an early exit on the first differing character. */
function constantTimeEqual(expected, given) {
  if (expected.length !== given.length) return false;
  let difference = 0;
  for (let i = 0; i < expected.length; i++) difference |= expected.charCodeAt(i) ^ given.charCodeAt(i);
  return difference === 0;
}
