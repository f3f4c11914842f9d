// The same session lifecycle as a hand-written JavaScript switch: the cheapest thing a team could
// write. Sans-IO like ours (handle(event, now) → drain pollAction(), pollTimeout()) so that the
// benchmark drives every contender with the same loop. Rules mirror xstate-lifecycle.mjs exactly.
import { decodeStatusJs, uiActionFor } from "./decode.mjs";

const QR_LIKE = new Set(["SCAN_QR_CODE", "LOGOUT", "PASSKEY_REQUIRED", "PASSKEY_CONFIRMATION_REQUIRED"]);
const SEEN_IDS_KEPT = 64;

export function createSwitchLifecycle(opts = {}) {
  const startingTimeoutMs = opts.startingTimeoutMs ?? 60_000;
  const failedRestartDelayMs = opts.failedRestartDelayMs ?? 30_000;
  const maxAutoRestarts = opts.maxAutoRestarts ?? 5;
  const maxQueuedSends = opts.maxQueuedSends ?? 1000;

  let status = "UNKNOWN";
  let pendingOp = null;
  let lastAtMs = -Infinity;
  let autoRestarts = 0;
  let startingDeadline;
  let failedRestartAt;
  const queue = [];
  const seenIds = [];
  const actions = [];

  const call = (op) => {
    if (pendingOp !== null) return; // single flight: new demand joins the call in flight
    pendingOp = op;
    actions.push({ type: "call", op });
  };
  const rejectQueue = (code) => {
    for (const id of queue.splice(0)) actions.push({ type: "reject_send", id, code });
  };

  function enter(next, prev, now) {
    if (prev === "STARTING") startingDeadline = undefined;
    if (prev === "FAILED") failedRestartAt = undefined;
    status = next;
    actions.push({ type: "ui", uiAction: uiActionFor(next), status: next });
    actions.push({ type: "persist" });
    switch (next) {
      case "STARTING":
        startingDeadline = now + startingTimeoutMs;
        break;
      case "WORKING":
        autoRestarts = 0;
        for (const id of queue.splice(0)) actions.push({ type: "release_send", id });
        break;
      case "FAILED":
        actions.push({ type: "notify_admin", reason: "failed" });
        if (prev === "SCAN_QR_CODE") break; // the QR expired unscanned: wait for the user
        if (autoRestarts < maxAutoRestarts) failedRestartAt = now + failedRestartDelayMs;
        else actions.push({ type: "notify_admin", reason: "restart_budget_exhausted" });
        break;
      case "STOPPED":
        if (queue.length > 0) call("start");
        break;
      case "DELETED":
        rejectQueue("not_found");
        actions.push({ type: "notify_admin", reason: "deleted" });
        break;
      default:
        if (QR_LIKE.has(next)) {
          rejectQueue("needs_qr");
          if (prev === "WORKING" || next === "LOGOUT") actions.push({ type: "clear_identity" });
        }
    }
  }

  function onStatus(report, now) {
    if (report.eventId !== undefined) {
      if (seenIds.includes(report.eventId)) return;
      seenIds.push(report.eventId);
      if (seenIds.length > SEEN_IDS_KEPT) seenIds.shift();
    }
    if (report.atMs !== undefined) {
      if (report.atMs < lastAtMs) return; // older than the last applied event: reordered delivery
      lastAtMs = report.atMs;
    }
    if (report.status === status) return; // a repeated status changes nothing and emits nothing
    enter(report.status, status, now);
  }

  function onSend(id) {
    switch (status) {
      case "WORKING":
        actions.push({ type: "release_send", id });
        return;
      case "DELETED":
        actions.push({ type: "reject_send", id, code: "not_found" });
        return;
      case "STOPPED":
      case "STARTING":
      case "FAILED":
      case "UNKNOWN":
        if (queue.length >= maxQueuedSends) {
          actions.push({ type: "reject_send", id, code: "queue_full" });
          return;
        }
        queue.push(id);
        if (status === "STOPPED") call("start");
        return;
      default:
        actions.push({ type: "reject_send", id, code: "needs_qr" });
    }
  }

  function onTimeout(now) {
    if (startingDeadline !== undefined && startingDeadline <= now) {
      startingDeadline = undefined;
      call("restart");
    }
    if (failedRestartAt !== undefined && failedRestartAt <= now) {
      failedRestartAt = undefined;
      autoRestarts += 1;
      call("restart");
    }
  }

  return {
    handle(event, now) {
      switch (event.type) {
        case "status":
          onStatus(typeof event.input === "object" && event.input.status && event.input.uiAction
            ? event.input : decodeStatusJs(event.input), now);
          return;
        case "send":
          onSend(event.id);
          return;
        case "result":
          if (event.op === pendingOp) pendingOp = null;
          return;
        case "user_retry":
          autoRestarts = 0;
          call("restart");
          return;
        case "timeout":
          onTimeout(now);
          return;
      }
    },
    pollAction() {
      return actions.shift();
    },
    pollTimeout() {
      if (startingDeadline === undefined) return failedRestartAt;
      if (failedRestartAt === undefined) return startingDeadline;
      return Math.min(startingDeadline, failedRestartAt);
    },
    get status() {
      return status;
    },
    get queuedSends() {
      return queue.length;
    },
  };
}
