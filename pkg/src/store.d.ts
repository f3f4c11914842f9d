import type { AdminReason, ErrorCode, IdentityVerdict, Me, SessionStatus, UiAction } from "../dist/wasm/wawp_session.js";

/** Where a message is: queued (waiting for WORKING) → sending → sent (the API took it) | rejected. */
export type MessageState = "queued" | "sending" | "sent" | "rejected";

export interface SessionMessage {
  readonly id: string;
  readonly state: MessageState;
  /** Why it was rejected (needs_qr, send_timeout, queue_full, identity_mismatch, closed, ...). */
  readonly code?: ErrorCode;
  /** Edge sessions: what was sent, and the API's message id once sent. */
  readonly chatId?: string;
  readonly text?: string;
  readonly messageId?: string;
  readonly createdMs?: number;
  readonly doneMs?: number;
}

/** How the snapshot is kept up to date. */
export type SessionConnection =
  | "local" // a SessionSupervisor in this process
  | "connecting" // an edge session before its first answer
  | "live" // the edge's event stream is open
  | "polling" // the stream is down or refused: the instance is read periodically
  | "offline" // transport "sse" only: the stream is down and being reopened
  | "closed"; // close() was called

export interface SessionNotification {
  readonly reason: AdminReason;
  readonly atMs: number;
}

export interface SessionLastError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly op?: string;
  readonly atMs: number;
}

/**
 * One immutable (frozen) view of a session. `getSnapshot()` returns the same object until a value
 * in it changes, so `previous !== next` means "something changed".
 */
export interface SessionSnapshot {
  readonly status: SessionStatus;
  /** The status as the API said it (an unknown future value stays visible here). */
  readonly rawStatus: string;
  /** What the UI shows (the package's decoder: STOPPED → start, SCAN_QR_CODE / LOGOUT → scan_qr, ...). */
  readonly uiAction: UiAction;
  /** true only for WORKING. */
  readonly canSend: boolean;
  /** STARTING | SCAN_QR_CODE | WORKING | PASSKEY_*. */
  readonly isRunning: boolean;
  /** The current QR code as an image (`data:image/png;base64,...`) while uiAction is scan_qr; else null. */
  readonly qr: string | null;
  readonly me: Me | null;
  /** The identity check's verdict (with `expectedJid`); null until checked. */
  readonly identity: IdentityVerdict | null;
  readonly messages: readonly SessionMessage[];
  /** Sends waiting for WORKING. */
  readonly queueLength: number;
  /** The last administrator notification. */
  readonly notification: SessionNotification | null;
  readonly lastError: SessionLastError | null;
  /** The lifecycle call in flight (start, restart, stop, logout, info, me). */
  readonly pendingOp: string | null;
  readonly statusSinceMs: number | null;
  /** When the supervisor acts next on its own (watchdog, delayed restart), epoch ms. */
  readonly nextDeadlineMs: number | null;
  /** Edge sessions: the STARTING watchdog's limit, ms. */
  readonly startingTimeoutMs: number | null;
  readonly connection: SessionConnection;
  /** Edge sessions: why the last request or stream to the edge failed (cleared once one succeeds). */
  readonly connectionError: SessionLastError | null;
}

/**
 * The store contract of SessionSupervisor and EdgeSession (React's `useSyncExternalStore`).
 * Both functions are bound: pass them as they are.
 */
export interface SessionSource {
  /** `listener` is called after every change; the returned function stops it. */
  subscribe(listener: () => void): () => void;
  getSnapshot(): SessionSnapshot;
}
