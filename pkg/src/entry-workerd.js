// Cloudflare workerd entry (`exports` condition "workerd"): the .wasm is imported as a compiled
// `WebAssembly.Module` (wrangler's default rule; miniflare: a CompiledWasm module rule) and
// instantiated synchronously at import, since workerd forbids compiling wasm from bytes.

import wasmModule from "../dist/wasm/wawp_session_bg.wasm";
import { initSync } from "./bindings.js";

initSync(wasmModule);

export * from "./core.js";

/** Already initialised at import; kept so browser and server code can share one call. */
export async function init() {}
