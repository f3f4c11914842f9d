// Cold start in workerd, the way users ship it: the package's workerd entry (initSync at import).
import { decodeStatus } from "../../pkg/src/entry-workerd.js";

export default {
  async fetch(request) {
    const body = await request.text();
    const t0 = performance.now();
    const report = decodeStatus(body);
    return Response.json({ status: report.status, decodeMs: performance.now() - t0 });
  },
};
