import type { WebhookEvent } from "../dist/wasm/wawp_session.js";

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;
export type WebhookBody = string | Uint8Array | ArrayBuffer;

export interface ParseWebhookOptions {
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
 * HMAC over the exact raw bytes (WebCrypto), constant-time compare: WAHA `X-Webhook-Hmac`
 * (+ `X-Webhook-Hmac-Algorithm`, sha512 default) and Wawp `X-Wawp-Signature` (HMAC-SHA256,
 * optional `sha256=`). No signature header → false.
 */
export declare function verifyWebhook(rawBody: WebhookBody, headers: WebhookHeaders, secret: string): Promise<boolean>;
/** One event. Errors: bad_signature, stale_event, payload_too_large, invalid_payload. */
export declare function parseWebhook(rawBody: WebhookBody, headers?: WebhookHeaders, opts?: ParseWebhookOptions): Promise<WebhookEvent>;
/** One event or a JSON array of events (one signature covers the whole body). */
export declare function parseWebhooks(rawBody: WebhookBody, headers?: WebhookHeaders, opts?: ParseWebhookOptions): Promise<WebhookEvent[]>;
