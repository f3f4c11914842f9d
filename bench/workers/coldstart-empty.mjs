// Baseline: a worker that imports nothing (workerd process start + Miniflare setup).
export default {
  async fetch(request) {
    const body = await request.text();
    return Response.json({ status: body.length > 0 ? "ok" : "empty", decodeMs: 0 });
  },
};
