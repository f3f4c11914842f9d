// Session name → instance id, one tiny Durable Object per session name. WAHA-shaped webhooks
// name the session (`session`), not the Wawp `instance_id`; the mapping is written at create time
// (and whenever an instance learns its session name) and removed on delete.

export class SessionNames {
  constructor(ctx) {
    this.storage = ctx.storage;
  }

  async fetch(request) {
    if (request.method === "PUT") {
      const { instanceId } = await request.json();
      await this.storage.put("instanceId", String(instanceId));
      return new Response(null, { status: 204 });
    }
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

function stub(env, sessionName) {
  return env.SESSION_NAMES.get(env.SESSION_NAMES.idFromName(sessionName));
}

export async function rememberSessionName(env, sessionName, instanceId) {
  await stub(env, sessionName).fetch(
    new Request("https://names/", { method: "PUT", body: JSON.stringify({ instanceId }) }),
  );
}

export async function forgetSessionName(env, sessionName) {
  await stub(env, sessionName).fetch(new Request("https://names/", { method: "DELETE" }));
}

export async function instanceForSession(env, sessionName) {
  const response = await stub(env, sessionName).fetch(new Request("https://names/"));
  if (!response.ok) return null;
  const { instanceId } = await response.json();
  return instanceId ?? null;
}
