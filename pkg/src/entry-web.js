// Browser and bundler entry (`exports` conditions "browser" and "default"). Call `await init()`
// once before using the package. The `new URL(..., import.meta.url)` form lets Vite, webpack
// and esbuild-with-loaders emit the .wasm as an asset and rewrite the URL.

import { initAsync } from "./bindings.js";

export * from "./core.js";

/**
 * Instantiates the wasm (streaming when the server sends `application/wasm`). `input` overrides
 * where it comes from: a URL, a `Response`, the bytes or a compiled `WebAssembly.Module`.
 * Idempotent.
 */
export function init(input) {
  return initAsync(input ?? new URL("../dist/wasm/wawp_session_bg.wasm", import.meta.url));
}
