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

/** Every machine action as it is, plus one `result` per finished call. */
export type SupervisorEvent =
  | Action
  | { type: "result"; op: MachineOp; ok: true }
  | { type: "result"; op: MachineOp; ok: false; error: ErrorCode };

export interface SupervisorOptions extends MachineOptions {
  /** Any object with WawpClient's lifecycle methods (start, restart, stop, logout, info, me). */
  client: Pick<WawpClient, "start" | "restart" | "stop" | "logout" | "info" | "me">;
  onEvent?: (event: SupervisorEvent) => void;
  /** Shared by many supervisors: automatic starts/restarts spend one token each. */
  budget?: RetryBudget;
}

export interface SendOptions {
  /** Overrides `sendTimeoutMs` for this send. */
  timeoutMs?: number;
}

export declare class SessionSupervisor {
  constructor(opts: SupervisorOptions);
  readonly status: SessionStatus;
  /** Sends waiting for WORKING. */
  readonly queuedSends: number;
  snapshot(): MachineSnapshot;
  /** A webhook body (text/object, one event or an array), a parsed WebhookEvent, or a StatusReport. */
  observe(input: StatusInput | WebhookEvent | WebhookEvent[]): void;
  /** Reads info; a STOPPED session is started in the background. */
  warmBoot(): Promise<StatusReport>;
  /** Start-on-send: resolves with the task's result once WORKING, or rejects with a WawpError code. */
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
