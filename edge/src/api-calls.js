// The Durable Object's API requests for its driver: one attempt each, with a client that never
// retries (the driver decides about retries), and the outcome as the fields of the event that
// reports it (`result` / `send_result`): `{ok: true, body}` or `{ok: false, error, message,
// httpStatus?, retryAfterMs?}`, the message redacted.

import { describeError } from "./http.js";

/** A `call` effect's request. */
export function performCall(env, client, op) {
  return attempt(env, () => invokeOp(client, op));
}

/** A released send's one request; `messageId` is the API's id of the delivered message. */
export async function performSend(env, client, { chatId, text }) {
  const { body, ...outcome } = await attempt(env, () => client.sendText(chatId, text));
  if (typeof body?.id === "string") outcome.messageId = body.id;
  return outcome;
}

async function attempt(env, request) {
  try {
    return { ok: true, body: (await request()) ?? null };
  } catch (err) {
    const { code, message } = describeError(env, err);
    const { httpStatus, retryAfterMs } = err ?? {};
    return {
      ok: false,
      error: code,
      message,
      ...(typeof httpStatus === "number" && { httpStatus }),
      ...(typeof retryAfterMs === "number" && { retryAfterMs }),
    };
  }
}

function invokeOp(client, op) {
  switch (op) {
    case "start":
      return client.start();
    case "restart":
      return client.restart();
    case "stop":
      return client.stop();
    case "logout":
      return client.logout();
    case "info":
      return client.info();
    case "me":
      return client.me();
    default:
      return Promise.reject(Object.assign(new Error(`unknown op ${op}`), { code: "invalid_option" }));
  }
}
