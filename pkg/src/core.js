// The package's public surface, shared by every entry (the entries only differ in how they
// instantiate the wasm). Low-level `__` helpers of the bindings stay internal.

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
} from "./bindings.js";
export { WawpError } from "./error.js";
export * from "./client.js";
export { connectEdgeSession, EdgeSession } from "./edge-session.js";
export * from "./labels.js";
export * from "./supervisor.js";
export * from "./webhook.js";
export * from "./instance-token.js";
