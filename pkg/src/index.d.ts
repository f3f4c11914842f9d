// Public types of wawp-session: the wasm bindings' generated declarations (their string-literal
// unions are written in src/wasm/typescript.rs) plus the JS drivers' declarations. The `__` helpers and the
// glue's raw `InitOutput` are deliberately not re-exported.

export {
  Backoff,
  LifecycleMachine,
  RetryBudget,
  SessionDriver,
  compareIdentity,
  decodeStatus,
  normalizeJid,
  parseRetryAfter,
  stability,
  uiActionFor,
} from "../dist/wasm/wawp_session.js";
export type {
  Action,
  AdminReason,
  BackoffOptions,
  DriverEffect,
  DriverEvent,
  DriverOptions,
  ErrorCode,
  Flavor,
  IdentityVerdict,
  MachineEvent,
  MachineOp,
  MachineOptions,
  MachineSnapshot,
  Me,
  RestartKind,
  Pause,
  SessionStatus,
  SessionView,
  StabilityMetrics,
  StabilityRestart,
  StatusHistoryEntry,
  StatusInput,
  StatusReport,
  StoredSend,
  StoredSendState,
  UiAction,
  WebhookEvent,
} from "../dist/wasm/wawp_session.js";
export { WawpError, type WawpErrorDetails } from "./error.js";
export * from "./client.js";
export * from "./edge-session.js";
export * from "./labels.js";
export type { MessageState, SessionConnection, SessionLastError, SessionMessage, SessionNotification, SessionSnapshot, SessionSource } from "./store.js";
export * from "./supervisor.js";
export * from "./webhook.js";
export * from "./instance-token.js";

/** Where `init()` may load the wasm from. */
export type InitInput = URL | string | Request | Response | BufferSource | WebAssembly.Module;

/**
 * Instantiates the wasm. Required once in browsers before any other call; in Node and workerd
 * the package is ready at import and this resolves at once. Idempotent.
 */
export declare function init(input?: InitInput | Promise<Response>): Promise<void>;
