// The JavaScript stack a team would otherwise assemble: the XState lifecycle actor driven by real
// timers, lifecycle calls over fetch retried with p-retry (exponential, randomized, Retry-After
// honoured), and webhook bodies decoded in JS. Bundled by bench/weight.mjs as the size contender.
import { createActor } from "xstate";
import pRetry, { AbortError } from "p-retry";
import { createXStateLifecycleMachine } from "./xstate-lifecycle.mjs";
import { decodeStatusJs } from "./decode.mjs";

export { decodeStatusJs };

export function createXStateSupervisor({ baseUrl = "https://api.wawp.net", accessToken, instanceId, onEvent,
  fetch: fetchImpl = globalThis.fetch, retries = 5, ...machineOpts }) {
  let actor;
  const callApi = async (op) => {
    const url = new URL(`/v2/session/${op}`, baseUrl);
    url.searchParams.set("instance_id", instanceId);
    url.searchParams.set("access_token", accessToken);
    const res = await fetchImpl(url, { method: "POST", headers: { "content-type": "application/json" } });
    if (res.status === 429 || res.status >= 500) {
      const err = new Error(`${op} failed with HTTP ${res.status}`);
      err.retryAfterMs = Number(res.headers.get("retry-after")) * 1000 || 0;
      throw err;
    }
    if (!res.ok && res.status !== 422) throw new AbortError(`${op} failed with HTTP ${res.status}`);
    return res.status === 422 ? null : res.json();
  };
  const perform = (action) => {
    onEvent?.(action);
    if (action.type !== "call") return;
    pRetry(() => callApi(action.op), {
      retries, factor: 2, minTimeout: 1000, maxTimeout: 60_000, randomize: true,
      onFailedAttempt: ({ error }) => error.retryAfterMs && new Promise((r) => setTimeout(r, error.retryAfterMs)),
    }).then(
      (body) => {
        actor.send({ type: "result", op: action.op, ok: true, body });
        if (action.op === "info" && body) actor.send({ type: "status", report: decodeStatusJs(body) });
      },
      () => actor.send({ type: "result", op: action.op, ok: false }),
    );
  };
  actor = createActor(createXStateLifecycleMachine({ ...machineOpts, emit: (a) => queueMicrotask(() => perform(a)) }));
  actor.start();
  return {
    observe: (body) => actor.send({ type: "status", report: decodeStatusJs(body) }),
    send: (id) => actor.send({ type: "send", id }),
    retry: () => actor.send({ type: "user_retry" }),
    get status() {
      return actor.getSnapshot().context.status;
    },
    close: () => actor.stop(),
  };
}
