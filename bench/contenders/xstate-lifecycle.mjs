// The same session lifecycle written faithfully with XState v5: one state per status, the STARTING
// and FAILED watchdogs as `after` delays, single-flight lifecycle calls and the send queue in
// context. Effects go to `emit(action)` in the same shapes as our machine's actions; the host
// performs the calls (see xstate-stack.mjs, which retries them with p-retry).
import { setup, assign, enqueueActions, createActor } from "xstate";
import { decodeStatusJs, uiActionFor } from "./decode.mjs";

const STATUSES = ["UNKNOWN", "STOPPED", "STARTING", "SCAN_QR_CODE", "WORKING", "FAILED", "LOGOUT", "DELETED",
  "PASSKEY_REQUIRED", "PASSKEY_CONFIRMATION_REQUIRED"];
const QR_LIKE = ["SCAN_QR_CODE", "LOGOUT", "PASSKEY_REQUIRED", "PASSKEY_CONFIRMATION_REQUIRED"];
const SEEN_IDS_KEPT = 64;

export function createXStateLifecycleMachine(opts = {}) {
  const maxAutoRestarts = opts.maxAutoRestarts ?? 5;
  const maxQueuedSends = opts.maxQueuedSends ?? 1000;
  const emit = opts.emit ?? (() => {});

  const requestCall = (op) => assign(({ context }) => {
    if (context.pendingOp !== null) return {}; // single flight: join the call in flight
    emit({ type: "call", op });
    return { pendingOp: op };
  });
  const enqueueSend = assign(({ context, event }) => {
    if (context.queue.length >= maxQueuedSends) {
      emit({ type: "reject_send", id: event.id, code: "queue_full" });
      return {};
    }
    return { queue: [...context.queue, event.id] };
  });
  const rejectSend = (code) => ({ event }) => emit({ type: "reject_send", id: event.id, code });
  const rejectQueue = (code) => assign(({ context }) => {
    for (const id of context.queue) emit({ type: "reject_send", id, code });
    return { queue: [] };
  });

  const stateFor = (status) => {
    const enter = [assign({ status }), () => emit({ type: "ui", uiAction: uiActionFor(status), status }),
      () => emit({ type: "persist" })];
    const node = { entry: enter, on: {} };
    if (status === "WORKING") {
      node.entry.push(assign(({ context }) => {
        for (const id of context.queue) emit({ type: "release_send", id });
        return { queue: [], autoRestarts: 0 };
      }));
      node.on.send = { actions: ({ event }) => emit({ type: "release_send", id: event.id }) };
    } else if (status === "STOPPED") {
      node.entry.push(enqueueActions(({ context, enqueue }) => {
        if (context.queue.length > 0) enqueue(requestCall("start"));
      }));
      node.on.send = { actions: [enqueueSend, requestCall("start")] };
    } else if (status === "STARTING") {
      node.after = { startingTimeout: { actions: requestCall("restart") } };
      node.on.send = { actions: enqueueSend };
    } else if (status === "FAILED") {
      node.entry.push(() => emit({ type: "notify_admin", reason: "failed" }));
      node.entry.push(enqueueActions(({ context }) => {
        if (context.prev !== "SCAN_QR_CODE" && context.autoRestarts >= maxAutoRestarts) {
          emit({ type: "notify_admin", reason: "restart_budget_exhausted" });
        }
      }));
      node.after = {
        failedRestartDelay: {
          // the QR expired unscanned: wait for the user; otherwise restart within the budget
          guard: ({ context }) => context.prev !== "SCAN_QR_CODE" && context.autoRestarts < maxAutoRestarts,
          actions: [assign(({ context }) => ({ autoRestarts: context.autoRestarts + 1 })), requestCall("restart")],
        },
      };
      node.on.send = { actions: enqueueSend };
    } else if (status === "DELETED") {
      node.entry.push(rejectQueue("not_found"), () => emit({ type: "notify_admin", reason: "deleted" }));
      node.on.send = { actions: rejectSend("not_found") };
    } else if (QR_LIKE.includes(status)) {
      node.entry.push(rejectQueue("needs_qr"), ({ context }) => {
        if (context.prev === "WORKING" || status === "LOGOUT") emit({ type: "clear_identity" });
      });
      node.on.send = { actions: rejectSend("needs_qr") };
    } else {
      node.on.send = { actions: enqueueSend };
    }
    return node;
  };

  const isIgnored = ({ context, event }) => {
    const r = event.report;
    if (r.eventId !== undefined && context.seenIds.includes(r.eventId)) return true;
    return r.atMs !== undefined && r.atMs < context.lastAtMs;
  };
  const remember = assign(({ context, event }) => {
    const r = event.report;
    const seenIds = r.eventId === undefined ? context.seenIds : [...context.seenIds, r.eventId].slice(-SEEN_IDS_KEPT);
    return { seenIds, lastAtMs: r.atMs === undefined ? context.lastAtMs : r.atMs };
  });
  const recordPrev = assign(({ context }) => ({ prev: context.status }));

  return setup({
    delays: {
      startingTimeout: opts.startingTimeoutMs ?? 60_000,
      failedRestartDelay: opts.failedRestartDelayMs ?? 30_000,
    },
  }).createMachine({
    id: "session",
    initial: "UNKNOWN",
    context: { status: "UNKNOWN", prev: null, queue: [], pendingOp: null, lastAtMs: -Infinity, seenIds: [],
      autoRestarts: 0 },
    on: {
      status: [
        { guard: isIgnored },
        // a repeated status changes nothing and emits nothing (and does not reset a watchdog)
        { guard: ({ context, event }) => event.report.status === context.status, actions: remember },
        ...STATUSES.map((s) => ({ guard: ({ event }) => event.report.status === s, target: `.${s}`,
          actions: [remember, recordPrev] })),
      ],
      result: { actions: assign(({ context, event }) => (event.op === context.pendingOp ? { pendingOp: null } : {})) },
      user_retry: { actions: [assign({ autoRestarts: 0 }), requestCall("restart")] },
    },
    states: Object.fromEntries(STATUSES.map((s) => [s, stateFor(s)])),
  });
}

/** An actor plus the same sans-IO surface as the other contenders; `clock` is an XState clock. */
export function createXStateLifecycle(opts = {}) {
  const actions = [];
  const machine = createXStateLifecycleMachine({ ...opts, emit: (a) => actions.push(a) });
  const actor = createActor(machine, opts.clock ? { clock: opts.clock } : {});
  actor.start();
  actions.length = 0; // the initial UNKNOWN entry is not an observation; the other contenders emit nothing here
  return {
    actor,
    handle(event, now) {
      if (event.type === "status") {
        actor.send({ type: "status", report: decodeStatusJs(event.input) });
      } else {
        actor.send(event);
      }
    },
    pollAction() {
      return actions.shift();
    },
    get status() {
      return actor.getSnapshot().context.status;
    },
    get queuedSends() {
      return actor.getSnapshot().context.queue.length;
    },
    stop: () => actor.stop(),
  };
}
