// The wasm bindings as the rest of the package uses them: the wasm-bindgen glue, plus
// initialisation (sync for Node and workerd, async for browsers), registration of the WawpError
// class with the Rust side, and recovery from a trapped instance.
//
// Recovery (workers-rs style): a `WebAssembly.RuntimeError` out of any call means the instance
// may be poisoned (with panic = "abort" every panic and allocation failure is a trap). The glue
// is built with `--experimental-reset-state-function`, so `__wbg_reset_state()` swaps in a fresh
// instance of the same module; objects made by the old instance then throw "Invalid stale
// object" instead of touching the new memory. The failed call still throws its RuntimeError.

import glueInit, {
  initSync as glueInitSync,
  __wbg_reset_state as resetState,
  __setErrorClass as setErrorClass,
  __setPromiseGate as setPromiseGate,
  Backoff as GlueBackoff,
  LifecycleMachine as GlueLifecycleMachine,
  RetryBudget as GlueRetryBudget,
  SessionDriver as GlueSessionDriver,
  WawpClient as GlueWawpClient,
  decodeStatus as glueDecodeStatus,
  uiActionFor as glueUiActionFor,
  normalizeJid as glueNormalizeJid,
  compareIdentity as glueCompareIdentity,
  parseRetryAfter as glueParseRetryAfter,
  stability as glueStability,
  __parseWebhookBody as glueParseWebhookBody,
  __actionTemplate as glueActionTemplate,
  __decodeStatusUtf8 as glueDecodeStatusUtf8,
  __uiActionIndex as glueUiActionIndex,
  __uiActionName as glueUiActionName,
} from "../dist/wasm/wawp_session.js";
import { WawpError } from "./error.js";

let ready = false;
/** The pending or settled async initialisation, so concurrent `init()` calls share one. */
let initializing;
/** Traps recovered from since load (for diagnostics and tests). */
let recoveries = 0;

function afterInit() {
  setErrorClass(WawpError);
  setPromiseGate(gate);
  ready = true;
}

/** Instantiates synchronously from a `WebAssembly.Module` or the wasm bytes (Node, workerd). */
export function initSync(module) {
  if (!ready) {
    glueInitSync({ module });
    afterInit();
  }
}

/**
 * Instantiates asynchronously (browsers): `input` is a URL, a `Response`, bytes or a
 * `WebAssembly.Module`. Idempotent; concurrent calls share one instantiation.
 */
export function initAsync(input) {
  if (ready) return Promise.resolve();
  initializing ??= glueInit({ module_or_path: input }).then(afterInit, (error) => {
    initializing = undefined;
    throw error;
  });
  return initializing;
}

export function isReady() {
  return ready;
}

/** How many trapped instances were replaced since the package was loaded. */
export function recoveryCount() {
  return recoveries;
}

function notReady() {
  return new WawpError("closed", "wawp-session is not initialised: call `await init()` first");
}

/**
 * Texts cross as UTF-8 bytes on the hot paths: encoded into a reused buffer, then one copy into
 * the wasm memory, where the glue's string transfer goes character by character.
 */
const encoder = new TextEncoder();
/** Grows up to this size (bodies past it are encoded into a fresh array, not kept). */
const SCRATCH_MAX = 64 * 1024;
let scratch = new Uint8Array(1024);
function utf8(text) {
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  const worst = text.length * 3;
  if (worst > SCRATCH_MAX) return encoder.encode(text);
  if (worst > scratch.length) scratch = new Uint8Array(SCRATCH_MAX);
  const { written } = encoder.encodeInto(text, scratch);
  return scratch.subarray(0, written);
}
function jsonOrUndefined(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined; // a cycle or a BigInt
  }
}

/** Action objects by template index (see `fastMachinePaths`); tied to the current instance. */
let actionTemplates = [];
/** `__pollActionIndex`: the action is parked for `__takeAction`. */
const PARKED_ACTION = -2;

function recover(error) {
  if (error instanceof WebAssembly.RuntimeError) {
    resetState();
    actionTemplates = [];
    setErrorClass(WawpError);
    setPromiseGate(gate);
    for (const abandon of inFlight) abandon();
    inFlight.clear();
    recoveries += 1;
  }
}

/**
 * The client's calls are async in the wasm: a trap replaces the instance under them. Every JS
 * promise the wasm awaits goes through `gate`, which never settles once the instance it was made
 * for is gone (the old instance's closures must not run: the glue refuses them with an unhandled
 * rejection), and every pending call is rejected at the reset instead of hanging.
 */
const NEVER = new Promise(() => {});
function gate(value) {
  const epoch = recoveries;
  return Promise.resolve(value).then(
    (v) => (epoch === recoveries ? v : NEVER),
    (e) => (epoch === recoveries ? Promise.reject(e) : NEVER),
  );
}
/** Rejecters of the client calls in flight, called when a trap replaces the instance. */
const inFlight = new Set();
function settleOnReset(promise, op) {
  return new Promise((resolve, reject) => {
    const abandon = () =>
      reject(new WawpError("network", `${op}: the wasm instance was replaced during the call; the request may have been delivered`, { op }));
    inFlight.add(abandon);
    promise.then(resolve, reject).finally(() => inFlight.delete(abandon));
  });
}

/** Wraps one glue function: refuse before init, recover after a trap. */
function guard(fn) {
  return function guarded(...args) {
    if (!ready) throw notReady();
    try {
      return fn.apply(this, args);
    } catch (error) {
      recover(error);
      throw error;
    }
  };
}

/**
 * Guards every method, static method and accessor of a glue class in place (so instances made
 * anywhere share the guard), and its constructor through a Proxy.
 */
/**
 * Jitter must differ between processes and isolates: the core has no entropy of its own (it is
 * sans-IO), so options without a `seed` get one from `Math.random()` here. An explicit `seed`
 * keeps runs deterministic.
 */
function withRandomSeed(args) {
  const [opts, ...rest] = args;
  if (opts !== undefined && opts !== null && (typeof opts !== "object" || Array.isArray(opts))) return args;
  if (opts && Object.hasOwn(opts, "seed")) return args;
  return [{ ...opts, seed: Math.floor(Math.random() * 2 ** 53) }, ...rest];
}

function guardClass(cls, { randomSeed = false, async = false } = {}) {
  const patch = (target) => {
    for (const [name, desc] of Object.entries(Object.getOwnPropertyDescriptors(target))) {
      if (name === "constructor" || name === "prototype" || name === "length" || name === "name") continue;
      if (name === "__wrap" || name === "__unwrap") continue; // glue-internal, not calls into wasm
      if (typeof desc.value === "function") {
        const guarded = guard(desc.value);
        desc.value = async
          ? function settled(...args) {
              const result = guarded.apply(this, args);
              return result instanceof Promise ? settleOnReset(result, name) : result;
            }
          : guarded;
      }
      if (typeof desc.get === "function") desc.get = guard(desc.get);
      if (typeof desc.set === "function") desc.set = guard(desc.set);
      Object.defineProperty(target, name, desc);
    }
  };
  patch(cls.prototype);
  patch(cls);
  return new Proxy(cls, {
    construct(target, args, newTarget) {
      if (!ready) throw notReady();
      try {
        return Reflect.construct(target, randomSeed ? withRandomSeed(args) : args, newTarget);
      } catch (error) {
        recover(error);
        throw error;
      }
    },
  });
}

/**
 * The machine's and the driver's hot path without JSON text where it can be avoided (same
 * results as the glue's own `handle` / `pollAction`, which stay the general path):
 * - a status event goes straight to the decoder as UTF-8 bytes (its text, or an object's JSON)
 *   instead of being stringified into an event, parsed, and for a text parsed again; a timeout
 *   needs no JSON at all;
 * - (machine) an action made only of fixed names (`call`, `ui`, `persist`, ...) crosses as the
 *   index of a template object kept here (copied per call: callers own what they get); the rest
 *   as objects.
 */
function fastHandle(proto) {
  const general = proto.handle;
  const { __handleStatusUtf8: handleStatusUtf8, __handleTimeout: handleTimeout } = proto;
  proto.handle = function handle(event, nowMs) {
    if (event === null || typeof event !== "object") return general.call(this, event, nowMs);
    if (event.type === "timeout") return handleTimeout.call(this, nowMs);
    if (event.type === "status") {
      const { input } = event;
      if (typeof input === "string") return handleStatusUtf8.call(this, utf8(input), nowMs);
      // An object (a StatusReport, an info response, an array of them) as its JSON text, which
      // the decoder reads as JSON; what JSON cannot express takes the general path and its error.
      if (input !== null && typeof input === "object") {
        const text = jsonOrUndefined(input);
        if (text !== undefined) return handleStatusUtf8.call(this, utf8(text), nowMs);
      }
    }
    return general.call(this, event, nowMs);
  };
}

function fastMachinePaths(proto) {
  fastHandle(proto);
  const { __pollActionIndex: pollActionIndex, __takeAction: takeAction } = proto;
  const actionTemplate = guard(glueActionTemplate);
  Object.assign(proto, {
    pollAction() {
      const index = pollActionIndex.call(this);
      if (index >= 0) return { ...(actionTemplates[index] ??= actionTemplate(index)) };
      return index === PARKED_ACTION ? takeAction.call(this) : undefined;
    },
    drainActions() {
      const actions = [];
      for (let action = this.pollAction(); action !== undefined; action = this.pollAction()) actions.push(action);
      return actions;
    },
  });
}

export const Backoff = guardClass(GlueBackoff, { randomSeed: true });
export const LifecycleMachine = guardClass(GlueLifecycleMachine, { randomSeed: true });
fastMachinePaths(GlueLifecycleMachine.prototype);
export const RetryBudget = guardClass(GlueRetryBudget);
const GuardedSessionDriver = guardClass(GlueSessionDriver, { randomSeed: true });
fastHandle(GlueSessionDriver.prototype);
/**
 * `new SessionDriver({...MachineOptions, budget?})`: the shared `RetryBudget` is not an option
 * value (it is a wasm object many drivers hold), so it is taken out here and given to `setBudget`.
 */
export const SessionDriver = new Proxy(GuardedSessionDriver, {
  construct(target, [opts, ...rest], newTarget) {
    let options = opts;
    let budget;
    if (opts !== null && typeof opts === "object" && Object.hasOwn(opts, "budget")) {
      ({ budget, ...options } = opts);
      if (budget !== undefined && !(budget instanceof GlueRetryBudget)) {
        throw new WawpError("invalid_option", "budget must be a RetryBudget");
      }
    }
    const driver = Reflect.construct(target, [options, ...rest], newTarget);
    if (budget !== undefined) driver.setBudget(budget);
    return driver;
  },
});
/** The HTTP client (src/wasm/client/): fetch, timeouts, retries and redaction all in the wasm. */
export const WawpClient = guardClass(GlueWawpClient, { async: true });
const decodeStatusUtf8 = guard(glueDecodeStatusUtf8);
const decodeStatusValue = guard(glueDecodeStatus);
export function decodeStatus(input) {
  return typeof input === "string" ? decodeStatusUtf8(utf8(input)) : decodeStatusValue(input);
}
const uiActionChecked = guard(glueUiActionFor);
const uiActionIndex = guard(glueUiActionIndex);
const uiActionName = guard(glueUiActionName);
/** UI action names by index, asked of the wasm once each (they are the same in every instance). */
const uiActionNames = [];
/** Answers for the status names seen (a pure function of the text); bounded against odd inputs. */
const uiActionMemo = new Map();
const UI_ACTION_MEMO_MAX = 64;
export function uiActionFor(status) {
  if (typeof status !== "string") return uiActionChecked(status); // throws the typed error
  const known = uiActionMemo.get(status);
  if (known !== undefined) return known;
  const index = uiActionIndex(utf8(status));
  const action = (uiActionNames[index] ??= uiActionName(index));
  if (uiActionMemo.size < UI_ACTION_MEMO_MAX) uiActionMemo.set(status, action);
  return action;
}
export const normalizeJid = guard(glueNormalizeJid);
export const compareIdentity = guard(glueCompareIdentity);
export const parseRetryAfter = guard(glueParseRetryAfter);
export const stability = guard(glueStability);
export const __parseWebhookBody = guard(glueParseWebhookBody);
