// The message list and the send form. Messages and their states come from the session's
// snapshot; a send is listed at once (the edge may hold the request while the session starts).
import { messageStateLabel, rejectionText } from "/pkg/src/entry-web.js";
import { el, formatClock, formatDuration, phoneOf, sessionMs, showError } from "./dom.js";
import { $, state } from "./state.js";

export function renderMessages(snapshot) {
  const items = [...(snapshot?.messages ?? [])].sort((a, b) => (b.createdMs ?? 0) - (a.createdMs ?? 0)).slice(0, 20);
  $("messages").replaceChildren(
    ...items.map((m) => {
      // The edge keeps a message "queued" until the session can take it; while that session is
      // booting, say so (start-on-send) instead of a bare "queued".
      const shown = m.state === "queued" && ["start", "connecting"].includes(snapshot.uiAction) ? "starting" : m.state;
      const took = m.state === "sent" && m.doneMs && m.createdMs ? ` in ${formatDuration(sessionMs(m.doneMs - m.createdMs))}` : "";
      const reason = m.state === "rejected" && m.code ? `: ${rejectionText(m.code)}` : "";
      return el("li", { class: "message", "data-id": m.id, "data-state": shown },
        el("div", { class: "message-body" },
          el("span", { class: "message-text", text: m.text ?? "" }),
          el("span", { class: "muted small", text: `to ${phoneOf(m.chatId)} · ${m.createdMs ? formatClock(m.createdMs) : ""}` })),
        el("span", { class: `pill pill-${shown}`, text: `${messageStateLabel(shown)}${took}${reason}` }));
    }),
  );
  $("messages-empty").hidden = items.length > 0;
}

export async function sendMessage(event) {
  event.preventDefault();
  const chatId = /** @type {HTMLInputElement} */ ($("send-chat")).value.trim();
  const textInput = /** @type {HTMLInputElement} */ ($("send-text"));
  const text = textInput.value.trim();
  $("send-error").hidden = true;
  if (!chatId || !text) {
    showError(new Error(!chatId ? "Enter a chat id, e.g. 15557654321@c.us" : "Write a message first"), "send");
    (!chatId ? $("send-chat") : textInput).focus();
    return;
  }
  if (!state.session) return;
  textInput.value = "";
  try {
    await state.session.send({ chatId, text });
  } catch (err) {
    // A 4xx is the edge's final word, shown on the message itself; anything else may still have
    // gone out, so it is reported (the session reads the list again).
    if (!(err?.httpStatus >= 400 && err.httpStatus < 500)) showError(err, "send");
  }
}
