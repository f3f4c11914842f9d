// WawpClient lives in the wasm (src/wasm/client/): request building, fetch with a timeout,
// retries with backoff, follow-ups and token redaction are Rust. This module only gives it the
// package's usual import path and the bindings' guard (init check, trap recovery).

export { WawpClient } from "./bindings.js";
