// Legacy: session name → instance id, one tiny Durable Object per session name. Since the instance
// registry (registry.js) carries the session name in each row and answers that lookup, nothing
// writes or reads these objects any more; the class stays exported so that deployments whose
// migrations created it keep a valid configuration (deleting a Durable Object class needs a
// `deleted_classes` migration, which would also drop any mapping still stored).

export class SessionNames {
  constructor(ctx) {
    this.storage = ctx.storage;
  }

  async fetch(request) {
    if (request.method === "DELETE") {
      await this.storage.deleteAll();
      return new Response(null, { status: 204 });
    }
    const instanceId = await this.storage.get("instanceId");
    return instanceId === undefined
      ? new Response(null, { status: 404 })
      : Response.json({ instanceId });
  }
}
