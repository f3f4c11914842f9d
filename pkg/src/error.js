// The one error class of the package. Rust builds instances of it through the constructor the
// entry registers (`__setErrorClass`), so `instanceof WawpError` holds for errors from wasm and
// from the JS drivers alike. Messages never carry the access token or API key.

export class WawpError extends Error {
  /**
   * @param {import("./index.js").ErrorCode} code
   * @param {string} message
   * @param {{ httpStatus?: number, retryAfterMs?: number, op?: string, cause?: unknown }} [details]
   */
  constructor(code, message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "WawpError";
    this.code = code;
    if (details.httpStatus !== undefined) this.httpStatus = details.httpStatus;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.op !== undefined) this.op = details.op;
  }
}
