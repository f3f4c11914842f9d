// Node entry (`exports` condition "node"): the wasm is read and instantiated synchronously at
// import, so `import * as w from "wawp-session"` is ready to use. `init()` exists for code
// shared with browsers and resolves at once.

import { readFileSync } from "node:fs";
import { initSync } from "./bindings.js";

initSync(new WebAssembly.Module(readFileSync(new URL("../dist/wasm/wawp_session_bg.wasm", import.meta.url))));

export * from "./core.js";

/** Already initialised at import; kept so browser and server code can share one call. */
export async function init() {}
