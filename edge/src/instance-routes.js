// The public routes of one instance's Durable Object (`/instances/{id}/...` after the worker's
// allowlist and access check, docs/CONTRACTS.md §3): request checks and answers. What they change
// goes through the object's `host` (see `InstanceSupervisor`), which owns the driver and storage.

import { sendRatePerMinute } from "./config.js";
import { errorResponse, json, readJsonBody } from "./http.js";
import { rejectionMessage } from "./message-store.js";
import { retryAfterHeader, windowVerdict } from "./rate-window.js";
import { RESPONSE_WAIT_MS, withDeadline } from "./wait.js";

const USER_EVENTS = {
  "/warm-boot": "warm_boot",
  "/start": "user_start",
  "/retry": "user_retry",
  "/stop": "user_stop",
  "/logout": "user_logout",
};
const MESSAGE_ID = /^[A-Za-z0-9_.:-]{1,100}$/;
const MAX_TEXT_CHARS = 65_536;
const SEND_WINDOW_MS = 60_000;

/**
 * @typedef {object} InstanceHost what the routes may do to the object
 * @property {Record<string, string>} env
 * @property {() => object} view
 * @property {boolean} known the instance was adopted (or is being)
 * @property {import("./message-store.js").MessageStore} messages
 * @property {() => object} stability
 * @property {() => Response} openStream
 * @property {(instanceId: string) => void} adopt
 * @property {(instanceId: string, type: string) => Promise<void>} userEvent
 * @property {(message: {id: string, chatId: string, text: string, timeoutMs?: number}) => Promise<void>|undefined} queueSend
 * @property {() => object} client an API client for this instance (retrying: a person waits)
 * @property {(instanceId: string) => Promise<Response>} delete
 */

/** @param {InstanceHost} host */
export async function routeRequest(host, request, path, instanceId) {
  const method = request.method;
  if (method === "GET" && path === "/") return json(host.view());
  if (method === "GET" && path === "/events") return host.openStream();
  if (method === "GET" && path === "/messages") return json(host.messages.list());
  if (method === "GET" && path === "/stability") return json(host.stability());
  if (method === "DELETE" && path === "/") return host.delete(instanceId);
  if (method === "GET" && path === "/qr") return qr(host);
  if (method === "POST" && path === "/pairing-code") return pairingCode(host, request);
  if (method === "POST" && path === "/send") return send(host, request, instanceId);
  if (method === "POST" && Object.hasOwn(USER_EVENTS, path)) {
    await host.userEvent(instanceId, USER_EVENTS[path]);
    return json(host.view());
  }
  return errorResponse("not_found", `no route for ${method} /instances/{id}${path === "/" ? "" : path}`);
}

async function send(host, request, instanceId) {
  const body = await readJsonBody(request);
  if (!body) return errorResponse("bad_request", "the body must be a JSON object");
  const { chatId, text, timeoutMs } = body;
  if (typeof chatId !== "string" || !chatId.trim()) return errorResponse("bad_request", "chatId is required");
  if (typeof text !== "string" || !text.length) return errorResponse("bad_request", "text is required");
  if (text.length > MAX_TEXT_CHARS) return errorResponse("payload_too_large", "text is too long");
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    return errorResponse("bad_request", "timeoutMs must be a positive number");
  }
  // A caller-chosen id makes a retried POST idempotent.
  if (body.id !== undefined && !(typeof body.id === "string" && MESSAGE_ID.test(body.id))) {
    return errorResponse("bad_request", "id must be 1-100 characters of [A-Za-z0-9_.:-]");
  }
  host.adopt(instanceId);
  const id = body.id ?? crypto.randomUUID();
  let delivery;
  if (!host.messages.get(id)) {
    // A retried id is answered below without counting; a new message counts against the rate.
    const refusal = sendRateRefusal(host);
    if (refusal) return refusal;
    delivery = host.queueSend({ id, chatId, text, timeoutMs });
  }
  if (delivery) await withDeadline(delivery, RESPONSE_WAIT_MS);
  const message = host.messages.get(id);
  if (message.state === "rejected") {
    return errorResponse(message.code, rejectionMessage(message.code), undefined, { id, state: message.state });
  }
  const answer = { id, state: message.state };
  if (message.messageId) answer.messageId = message.messageId;
  return json(answer, 202);
}

/** A 429 when this instance already took SEND_RATE_PER_MINUTE new messages in the last minute
 *  (counted from its own message rows, so the limit survives restarts at no extra storage). */
function sendRateRefusal(host) {
  const nowMs = Date.now();
  const hits = host.messages.createdSince(nowMs - SEND_WINDOW_MS);
  const verdict = windowVerdict(hits, sendRatePerMinute(host.env), SEND_WINDOW_MS, nowMs);
  if (verdict.allowed) return null;
  return json(
    { error: { code: "rate_limited", message: "too many messages for this instance; retry later" } },
    429,
    { "retry-after": retryAfterHeader(verdict.retryAfterMs) },
  );
}

async function qr(host) {
  if (!host.known) return errorResponse("not_found", "unknown instance");
  const image = await host.client().qrImage();
  const qr = typeof image === "string" ? image : (image?.qr ?? image?.data ?? null);
  if (typeof qr !== "string") return errorResponse("server", "the API returned no QR image");
  const answer = { qr };
  const value = host.view().report?.qr;
  if (typeof value === "string") answer.value = value;
  return json(answer);
}

async function pairingCode(host, request) {
  const body = await readJsonBody(request);
  const phoneNumber = body?.phoneNumber;
  if (typeof phoneNumber !== "string" || !/\d/.test(phoneNumber)) {
    return errorResponse("bad_request", "phoneNumber is required");
  }
  const { code } = await host.client().requestCode(phoneNumber);
  return json({ code });
}
