// The XState contender in workerd: the lifecycle actor created and stepped with the first status.
import { createXStateLifecycle } from "../contenders/xstate-lifecycle.mjs";

export default {
  async fetch(request) {
    const body = await request.text();
    const t0 = performance.now();
    const machine = createXStateLifecycle();
    machine.handle({ type: "status", input: body }, Date.now());
    machine.stop();
    return Response.json({ status: machine.status, decodeMs: performance.now() - t0 });
  },
};
