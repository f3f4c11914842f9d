import type {
  Action,
  ErrorCode,
  MachineOp,
  MachineOptions,
  MachineSnapshot,
  RetryBudget,
  SessionStatus,
  StatusInput,
  StatusReport,
  WebhookEvent,
} from "../dist/wasm/wawp_session.js";
import type { WawpClient } from "./client.js";
import type { SessionSnapshot, SessionSource } from "./store.js";

/** Every machine action as it is, plus one `result` per finished call. */
export type SupervisorEvent =
  | Action
  | { type: "result"; op: MachineOp; ok: true }
  | { type: "result"; op: MachineOp; ok: false; error: ErrorCode };

export interface SupervisorOptions extends MachineOptions {
  /**
   * Any object with WawpClient's lifecycle methods (start, restart, stop, logout, info, me); with
   * `qrImage` too, the snapshot's `qr` is read on every observed SCAN_QR_CODE.
   */
  client: Pick<WawpClient, "start" | "restart" | "stop" | "logout" | "info" | "me"> & Partial<Pick<WawpClient, "qrImage">>;
  onEvent?: (event: SupervisorEvent) => void;
  /** Shared by many supervisors: automatic starts/restarts spend one token each. */
  budget?: RetryBudget;
}

export interface SendOptions {
  /** Overrides `sendTimeoutMs` for this send. */
  timeoutMs?: number;
  /** What the snapshot's `messages` show for this send besides its state. */
  message?: { chatId?: string; text?: string };
}

export declare class SessionSupervisor implements SessionSource {
  constructor(opts: SupervisorOptions);
  /** Calls `listener` after every change of the snapshot; returns the unsubscribe function. Bound. */
  subscribe(listener: () => void): () => void;
  /** The current frozen snapshot; the same object until something changed. Bound. */
  getSnapshot(): SessionSnapshot;
  readonly status: SessionStatus;
  /** Sends waiting for WORKING. */
  readonly queuedSends: number;
  snapshot(): MachineSnapshot;
  /** A webhook body (text/object, one event or an array), a parsed WebhookEvent, or a StatusReport. */
  observe(input: StatusInput | WebhookEvent | WebhookEvent[]): void;
  /** Reads info; a STOPPED session is started in the background. */
  warmBoot(): Promise<StatusReport>;
  /** Start-on-send: resolves with the task's result once WORKING, or rejects with a WawpError code.
   *  The task runs once per release; the machine decides whether a failure runs it again (422 stale
   *  WORKING, 429 with Retry-After: `maxSendAttempts`) or is final (anything that may have delivered
   *  it: a timeout, a 5xx). Give it a client with `retry: false`, or the client's retries add up. */
  sendWhenReady<T>(task: () => Promise<T> | T, opts?: SendOptions): Promise<T>;
  /** The UI's Retry button (restart). */
  retry(): Promise<void>;
  /** Power On. */
  start(): Promise<void>;
  stop(): Promise<void>;
  logout(): Promise<void>;
  /** Clears the timer; everything pending rejects with `closed`. */
  close(): void;
}
