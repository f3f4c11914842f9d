import type { WebhookEvent } from "../dist/wasm/wawp_session.js";

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;
export type WebhookBody = string | Uint8Array | ArrayBuffer;

/**
 * How `X-Wawp-Signature` is checked: "hmac-sha256" (hex HMAC-SHA256 of the raw body, what Wawp's
 * Python SDK verifies), "secret" (the header carries the secret itself, as Wawp's docs can be
 * read), or "either" (default: Wawp's public sources do not settle which form it sends).
 */
export type WawpSignatureMode = "hmac-sha256" | "secret" | "either";

export interface VerifyWebhookOptions {
  /** Default "either". Every mode compares in constant time. */
  wawpSignature?: WawpSignatureMode;
}

export interface ParseWebhookOptions extends VerifyWebhookOptions {
  /** Verify the signature headers with this secret; a mismatch is `bad_signature`. */
  secret?: string;
  /** Events older than this (by their own timestamp) are `stale_event`. */
  maxAgeMs?: number;
  /** Default `Date.now()`. */
  nowMs?: number;
  /** Raw body size cap, default 262144 (256 KiB): `payload_too_large`. */
  maxBytes?: number;
}

/**
 * Over the exact raw bytes (WebCrypto), constant-time compares: WAHA `X-Webhook-Hmac`
 * (+ `X-Webhook-Hmac-Algorithm`, sha512 default; WAHA Core before 2024.11.5 signs nothing) and
 * Wawp `X-Wawp-Signature` as `opts.wawpSignature` says. Every header present must match; no
 * signature header → false.
 */
export declare function verifyWebhook(rawBody: WebhookBody, headers: WebhookHeaders, secret: string, opts?: VerifyWebhookOptions): Promise<boolean>;
/** One event. Errors: bad_signature, stale_event, payload_too_large, invalid_payload. */
export declare function parseWebhook(rawBody: WebhookBody, headers?: WebhookHeaders, opts?: ParseWebhookOptions): Promise<WebhookEvent>;
/** One event or a JSON array of events (one signature covers the whole body). */
export declare function parseWebhooks(rawBody: WebhookBody, headers?: WebhookHeaders, opts?: ParseWebhookOptions): Promise<WebhookEvent[]>;
