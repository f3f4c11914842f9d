// Cold start in workerd with the instantiation moved into the first request, so that it can be
// timed from inside the worker (the same initSync call the workerd entry makes at import).
import wasmModule from "../../pkg/dist/wasm/wawp_session_bg.wasm";
import { initSync, decodeStatus } from "../../pkg/src/bindings.js";

export default {
  async fetch(request) {
    const body = await request.text();
    const t0 = performance.now();
    const d0 = Date.now();
    initSync(wasmModule);
    const t1 = performance.now();
    const report = decodeStatus(body);
    const t2 = performance.now();
    return Response.json({ status: report.status, instantiateMs: t1 - t0, decodeMs: t2 - t1, dateDeltaMs: Date.now() - d0 });
  },
};
