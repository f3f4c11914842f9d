// Test-only worker entry (see parse-probe.js): the probe first, then the worker unchanged, plus
// `GET /__probe/parses` → {marker: {json, wasm}}.
import { probeCounts } from "./parse-probe.js";
import worker from "../src/worker.js";

export * from "../src/worker.js";

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__probe/parses") {
      return new Response(JSON.stringify(probeCounts()), { headers: { "content-type": "application/json" } });
    }
    return worker.fetch(request, env, ctx);
  },
};
