// The edge supervisor's front door: routes HTTP to one Durable Object per Wawp instance
// (`idFromName(instanceId)`), verifies and fans out webhooks, provisions instances lazily.
// HTTP contract: docs/CONTRACTS.md §3.

import { parseWebhooks, verifyWebhook } from "wawp-session";
import { apiClient, webhookMaxAgeMs } from "./config.js";
import { errorResponse, errorResponseFrom, json, readJsonBody } from "./http.js";
import { InstanceSupervisor } from "./instance.js";
import { SessionNames, instanceForSession, rememberSessionName } from "./session-names.js";

export { InstanceSupervisor, SessionNames };

/** Webhook bodies above this are refused before any parsing (a status event is < 2 KB). */
const MAX_WEBHOOK_BYTES = 256 * 1024;
const INSTANCE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const path = url.pathname.replace(/\/+$/, "") || "/";
    try {
      if (path === "/webhook" && request.method === "POST") return await receiveWebhook(request, env, ctx);
      if (path === "/instances/create" && request.method === "POST") return await createInstance(request, env);
      if (path === "/" || path === "/health") return json({ ok: true, service: "wawp-session edge supervisor" });
      const match = /^\/instances\/([^/]+)(\/.*)?$/.exec(path);
      if (match) {
        const instanceId = decodeURIComponent(match[1]);
        if (!INSTANCE_ID.test(instanceId)) return errorResponse("bad_request", "invalid instance id");
        return await forwardToInstance(env, instanceId, `${match[2] ?? "/"}${url.search}`, request);
      }
      return errorResponse("not_found", `no route for ${request.method} ${path}`);
    } catch (err) {
      return errorResponseFrom(env, err);
    }
  },
};

function instanceStub(env, instanceId) {
  return env.INSTANCES.get(env.INSTANCES.idFromName(instanceId));
}

/** The Durable Object sees `https://instance/<sub-path>` and the instance id in a header. */
function forwardToInstance(env, instanceId, subPath, request) {
  const headers = new Headers(request.headers);
  headers.set("x-instance-id", instanceId);
  const init = { method: request.method, headers };
  if (request.method !== "GET" && request.method !== "HEAD") init.body = request.body;
  return instanceStub(env, instanceId).fetch(new Request(`https://instance${subPath}`, init));
}

async function createInstance(request, env) {
  const body = await readJsonBody(request);
  if (body === null) return errorResponse("bad_request", "the body must be a JSON object");
  const created = await apiClient(env).create();
  const instanceId = created.instanceId;
  if (typeof instanceId !== "string" || !INSTANCE_ID.test(instanceId)) {
    return errorResponse("server", "the API returned no usable instance id");
  }
  const sessionName = created.sessionName ?? created.session_name ?? created.name ?? null;
  const serverName = created.serverName ?? created.server_name ?? null;
  // The create answer's status (STOPPED) is the machine's first observation.
  const initialStatus = typeof created.status === "string" ? created.status : null;
  const adopt = { instanceId, serverName, sessionName, initialStatus, expectedJid: body.expectedJid ?? null };
  const response = await instanceStub(env, instanceId).fetch(
    new Request("https://instance/adopt", {
      method: "POST",
      headers: { "x-instance-id": instanceId, "content-type": "application/json" },
      body: JSON.stringify(adopt),
    }),
  );
  if (!response.ok) return response;
  if (sessionName) await rememberSessionName(env, sessionName, instanceId);
  return json({ instanceId, serverName, sessionName }, 201);
}

async function receiveWebhook(request, env, ctx) {
  const declared = Number(request.headers.get("content-length"));
  if (declared > MAX_WEBHOOK_BYTES) return errorResponse("payload_too_large", "webhook body too large");
  const raw = new Uint8Array(await request.arrayBuffer());
  if (raw.byteLength > MAX_WEBHOOK_BYTES) return errorResponse("payload_too_large", "webhook body too large");
  if (env.WEBHOOK_SECRET && !(await verifyWebhook(raw, request.headers, env.WEBHOOK_SECRET))) {
    return errorResponse("bad_signature", "webhook signature missing or invalid");
  }
  let events;
  let items;
  try {
    // The raw bytes, so that the package's strict UTF-8 check sees exactly what was signed.
    events = await parseWebhooks(raw, request.headers, {
      maxBytes: MAX_WEBHOOK_BYTES,
      maxAgeMs: webhookMaxAgeMs(env),
    });
    const parsed = JSON.parse(new TextDecoder().decode(raw));
    items = Array.isArray(parsed) ? parsed : [parsed];
  } catch (err) {
    return errorResponseFrom(env, err);
  }
  const statusEvents = [];
  events.forEach((event, index) => {
    if (event.event !== "session.status" || !event.report) return;
    // The machine gets the event exactly as sent (ids and timestamps intact) when the body's
    // elements line up with the parsed events; otherwise the decoded report.
    const input = items.length === events.length ? items[index] : event.report;
    statusEvents.push({ report: event.report, input });
  });
  ctx.waitUntil(Promise.allSettled(statusEvents.map((event) => deliverStatusEvent(env, event))));
  return json({ accepted: statusEvents.length, ignored: events.length - statusEvents.length }, 202);
}

async function deliverStatusEvent(env, { report, input }) {
  let instanceId = report.instanceId ?? null;
  if (!instanceId && report.session) instanceId = (await instanceForSession(env, report.session)) ?? report.session;
  if (!instanceId || !INSTANCE_ID.test(instanceId)) return;
  await instanceStub(env, instanceId).fetch(
    new Request("https://instance/webhook", {
      method: "POST",
      headers: { "x-instance-id": instanceId, "content-type": "application/json" },
      body: JSON.stringify({ input }),
    }),
  );
}
