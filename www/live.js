// Live updates: one EdgeSession (the package's connectEdgeSession) per open instance, through the
// dashboard's /api proxy to the edge worker, or the in-page backend in direct mode. The session
// keeps the event stream, the polling fallback and reconnection; every snapshot is rendered.
import { connectEdgeSession } from "/pkg/src/entry-web.js";
import { instanceToken, pageFetch } from "./api.js";
import { renderSnapshot } from "./render.js";
import { state } from "./state.js";

const POLL_INTERVAL_MS = 3000;

let unsubscribe = () => {};

export function openSession(instanceId) {
  closeSession();
  const session = connectEdgeSession({
    baseUrl: "/api",
    instanceId,
    // The session asks once, then again only after a 401: that second ask wants a new token.
    token: ((asked = false) => () => {
      const fresh = asked;
      asked = true;
      return instanceToken(instanceId, { fresh });
    })(),
    pollIntervalMs: POLL_INTERVAL_MS,
    fetch: pageFetch,
  });
  state.session = session;
  unsubscribe = session.subscribe(() => {
    if (state.session === session) renderSnapshot(session.getSnapshot());
  });
  return session;
}

export function closeSession() {
  unsubscribe();
  unsubscribe = () => {};
  state.session?.close();
  state.session = null;
}
