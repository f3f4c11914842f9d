//! The TypeScript types of the surface (a custom section of the generated `.d.ts`).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A session status; any value this version does not know decodes to "UNKNOWN". */
export type SessionStatus = "STOPPED" | "STARTING" | "SCAN_QR_CODE" | "WORKING" | "FAILED"
  | "LOGOUT" | "DELETED" | "PASSKEY_REQUIRED" | "PASSKEY_CONFIRMATION_REQUIRED" | "UNKNOWN";

/** What a UI should show for a status. */
export type UiAction = "start" | "connecting" | "scan_qr" | "connected" | "troubleshoot"
  | "provision" | "passkey" | "inspect";

/** The stable `code` of every `WawpError`. */
export type ErrorCode = "invalid_payload" | "bad_signature" | "stale_event" | "payload_too_large"
  | "bad_request" | "unauthorized" | "forbidden" | "not_found" | "conflict" | "rate_limited"
  | "server" | "network" | "timeout" | "needs_qr" | "send_timeout" | "queue_full"
  | "identity_mismatch" | "closed" | "invalid_option";

export type IdentityVerdict = "match" | "mismatch" | "unverifiable";

/** The WhatsApp account of a session (`/me`, or `me` in a webhook). */
export interface Me { id: string; pushName?: string; lid?: string }

/** One decoded status, whatever shape it came in. */
export interface StatusReport {
  status: SessionStatus;
  /** The status text as received (e.g. an unknown future value). */
  rawStatus: string;
  uiAction: UiAction;
  /** true only for WORKING. */
  canSend: boolean;
  /** STARTING | SCAN_QR_CODE | WORKING | PASSKEY_*. */
  isRunning: boolean;
  instanceId?: string;
  session?: string;
  serverName?: string;
  qr?: string;
  me?: Me | null;
  /** When the status was observed (epoch ms), if the input said. */
  atMs?: number;
  eventId?: string;
}

/** Anything `decodeStatus` accepts: a status name, JSON text, an info response or a webhook body. */
export type StatusInput = string | StatusReport | Record<string, unknown> | Array<Record<string, unknown>>;

export interface BackoffOptions {
  /** First delay before jitter, ms (default 1000). */
  baseMs?: number;
  /** Largest delay, ms (default 60000). */
  capMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  jitter?: "full" | "equal" | "decorrelated" | "none";
  /** Delays handed out before `next()` returns undefined (default 20). */
  maxAttempts?: number;
  /** Stop once the delays handed out add up to this many ms. */
  maxElapsedMs?: number;
  /** Makes the jitter deterministic. */
  seed?: number;
}

export interface MachineOptions {
  /** The account this instance must be paired with; a different `/me` is `identity_mismatch`. */
  expectedJid?: string;
  /** STARTING longer than this → restart (default 60000). */
  startingTimeoutMs?: number;
  /** FAILED → automatic restart after this delay (default 30000). */
  failedRestartDelayMs?: number;
  /** Consecutive automatic restarts before giving up and telling the admin. */
  maxAutoRestarts?: number;
  /** STARTING blips shorter than this are not shown. */
  debounceMs?: number;
  maxQueuedSends?: number;
  /** A queued send not released within this is rejected with `send_timeout`; a send handed back
   *  or retried keeps this deadline. */
  sendTimeoutMs?: number;
  /** Releases of one send at most: each 422 hand-back or 429 / 503 retry uses one (default 20). */
  maxSendAttempts?: number;
  /** Backoff of a rate-limited send: first delay and cap in ms, full jitter from `seed`, never
   *  below Retry-After (defaults 1000 and 30000). */
  sendRetryBaseMs?: number;
  sendRetryCapMs?: number;
  /** Optional weekly maintenance restart (weekday 0 = Sunday, hour UTC): once per window, only
   *  while WORKING with nothing queued. */
  maintenance?: { weekday: number; hourUtc: number };
  /** No status observed for this long while STARTING / SCAN_QR_CODE → `info` (default 15000). */
  reconcileShortMs?: number;
  /** ... and while WORKING or otherwise settled (default 300000). */
  reconcileLongMs?: number;
  /** Reconciliation and STARTING-watchdog deadlines come up to this fraction of their interval
   *  late, drawn from `seed`, so a fleet does not call in lockstep (default 0.1; 0 = exact). */
  deadlineJitter?: number;
  /** Retry budget of automatic restarts (token bucket): capacity and refill per second. */
  retryBudgetCapacity?: number;
  retryBudgetRefillPerSec?: number;
  /** Seeds the jitter of the machine's own backoff (deterministic runs). */
  seed?: number;
}

export type MachineOp = "start" | "restart" | "stop" | "logout" | "info" | "me";

export type MachineEvent =
  | { type: "status"; input: StatusInput }
  | { type: "warm_boot" }
  | { type: "send"; id: string; timeoutMs?: number }
  /** What became of a released send; the machine decides what follows (resolve_send, hold_send
   *  and a later release_send, or reject_send). `maybeDelivered: false` says a network / timeout
   *  failure certainly never reached the API (only then is it retried). */
  | { type: "send_result"; id: string; ok: boolean; error?: ErrorCode; httpStatus?: number;
      retryAfterMs?: number; maybeDelivered?: boolean }
  /** Older form of `send_result` with a 422 refusal (`timeoutMs` is ignored). */
  | { type: "send_refused"; id: string; timeoutMs?: number }
  | { type: "result"; op: MachineOp; ok: boolean; error?: ErrorCode; httpStatus?: number;
      retryAfterMs?: number; body?: unknown }
  | { type: "user_retry" }
  | { type: "user_start" }
  | { type: "user_stop" }
  | { type: "user_logout" }
  | { type: "timeout" };

export type AdminReason = "failed" | "restart_budget_exhausted" | "identity_mismatch"
  | "unauthorized" | "deleted";

export type Action =
  | { type: "call"; op: MachineOp }
  | { type: "ui"; uiAction: UiAction; status: SessionStatus }
  | { type: "release_send"; id: string }
  | { type: "reject_send"; id: string; code: ErrorCode }
  | { type: "resolve_send"; id: string }
  | { type: "hold_send"; id: string; attempts: number }
  | { type: "clear_identity" }
  | { type: "identity"; verdict: IdentityVerdict; me?: string }
  | { type: "notify_admin"; reason: AdminReason }
  | { type: "persist" };

/** Why automation holds still (`SessionView.paused`). */
export type Pause = "restart_budget_exhausted" | "unauthorized" | "deleted";

/** `new SessionDriver(opts)`: the machine's options, plus a RetryBudget many drivers share
 *  (automatic starts and restarts spend one token each; an empty bucket answers them
 *  `rate_limited` without a request). */
export interface DriverOptions extends MachineOptions { budget?: RetryBudget }

/** What a SessionDriver reads: every MachineEvent, where a failed `result` or `send_result` may
 *  carry the error's text (`message`, redacted by the client) and a delivered `send_result` the
 *  API's message id (`messageId`). */
export type DriverEvent =
  | Exclude<MachineEvent, { type: "result" | "send_result" }>
  | (Extract<MachineEvent, { type: "result" }> & { message?: string })
  | (Extract<MachineEvent, { type: "send_result" }> & { message?: string; messageId?: string });

/** What a SessionDriver asks of its host: every machine Action unchanged, plus */
export type DriverEffect =
  | Action
  /** view() changed: re-render, broadcast, persist the view. */
  | { type: "view" }
  /** The UI shows scan_qr and the QR may be new: read a QR image now. */
  | { type: "read_qr" }
  /** A call answered inside the driver without a request (the shared budget was empty). */
  | { type: "result"; op: MachineOp; ok: false; error: ErrorCode };

/** Where a host's own storage last saw a send. */
export type StoredSendState = "queued" | "sending";

/** A send in a host's own storage (`SessionDriver.reconcileSends`). */
export interface StoredSend { id: string; state: StoredSendState; timeoutMs?: number | null }

/** What a UI shows of one session (`SessionDriver.view()`). */
export interface SessionView {
  /** The machine's status. */
  status: SessionStatus;
  /** The status the UI was last told about (a STARTING blip after WORKING only once it outlasts
   *  the debounce), else `status`. */
  uiStatus: SessionStatus;
  /** What the UI shows: uiStatus's action. */
  uiAction: UiAction;
  statusSinceMs: number | null;
  /** The last StatusReport the machine accepted (its status is the machine's). */
  report: StatusReport | null;
  me: { id: string; pushName?: string } | null;
  serverName: string | null;
  identity: { verdict: IdentityVerdict; me?: string } | null;
  /** The last failed call or send (`op`: a MachineOp, "send", or what a host noted). */
  lastError: { code: ErrorCode; message: string; op: string; atMs: number } | null;
  /** The lifecycle call in flight, else a read in flight. */
  pendingOp: MachineOp | null;
  inFlight: MachineOp[];
  /** The last admin notification, open until the status is WORKING again after it. */
  notification: { reason: AdminReason; atMs: number } | null;
  queueLength: number;
  nextDeadlineMs: number | null;
  restarts: number;
  autoRestarts: number;
  paused: Pause | null;
}

/** The machine's state for dashboards and logs (never contains credentials). */
export type MachineSnapshot = Record<string, unknown> & { status: SessionStatus };

export interface StatusHistoryEntry { atMs: number; status: SessionStatus }

/** What a restart restarted: a start that hung (the watchdog), a FAILED session, or another. */
export type RestartKind = "watchdog" | "recovery" | "other";

/** One restart: the history entry (`historyIndex`, in the order given) that entered STARTING. */
export interface StabilityRestart { atMs: number; historyIndex: number; kind: RestartKind }

export interface StabilityMetrics {
  observedMs: number;
  workingMs: number;
  startingMs: number;
  uptimeRatio: number;
  restarts: number;
  /** Each restart counted in `restarts`, in time order. */
  restartEvents: StabilityRestart[];
  failures: number;
  meanTimeToRecoverMs: number | null;
  timeInStatusMs: Partial<Record<SessionStatus, number>>;
}

/** Operations of `WawpClient` understood by `__buildRequest` / `__classifyResponse`. */
export type ClientOp = "create" | "start" | "stop" | "restart" | "logout" | "delete" | "info"
  | "me" | "qr" | "qrImage" | "requestCode" | "sendText";

export type Flavor = "wawp" | "waha";

export interface RequestArgs {
  instanceId?: string; session?: string; phoneNumber?: string; chatId?: string; text?: string;
}

/** A request without credentials: the JS client adds `access_token` (query) or `X-Api-Key` (header). */
export interface RequestSpec {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Percent-encoded. */
  path: string;
  /** Raw pairs; the client appends credentials and encodes. */
  query: Array<[string, string]>;
  /** `path` plus the encoded query, without credentials. */
  pathAndQuery: string;
  /** JSON text. */
  body?: string;
  auth: "query" | "header";
  /** Lower-case names: `accept`, and `content-type` when there is a body. */
  headers: Record<string, string>;
}

/** A second request an answer calls for (`__followUp`): send `op` (with `method`, kept for `op`
 * from then on, when given) and classify its answer as `answerAs`. */
export interface FollowUp { op: ClientOp; method?: "POST"; answerAs: ClientOp }

export interface WebhookLimits { maxBytes?: number; maxAgeMs?: number; nowMs: number }

export interface WebhookEvent {
  /** "session.status" for status events of both shapes; other WAHA event names as sent. */
  event: string;
  /** null for events that carry no session status. */
  report: StatusReport | null;
  eventId?: string;
  atMs?: number;
  /** Which session / instance the event is about, when the body says (for routing). */
  session?: string;
  instanceId?: string;
}
"#;
