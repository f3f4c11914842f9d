import type { ErrorCode } from "../dist/wasm/wawp_session.js";

export interface WawpErrorDetails {
  /** The HTTP status of the response that caused the error. */
  httpStatus?: number;
  /** How long the server asked to wait (Retry-After), ms. */
  retryAfterMs?: number;
  /** The operation that failed, e.g. "start" or "sendText". */
  op?: string;
  cause?: unknown;
}

/** Every error of the package. Messages and properties never contain the access token or API key. */
export declare class WawpError extends Error {
  constructor(code: ErrorCode, message: string, details?: WawpErrorDetails);
  readonly name: "WawpError";
  code: ErrorCode;
  httpStatus?: number;
  retryAfterMs?: number;
  op?: string;
}
