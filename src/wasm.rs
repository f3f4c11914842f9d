//! The wasm-bindgen surface: the JS contract of `../shared/API.md` plus the `__`-prefixed helpers
//! the JS drivers (`pkg/src/client.js`, `supervisor.js`, `webhook.js`) need.
//!
//! Thin by design: convert JS ↔ core types and call the core. Objects cross as JSON text
//! (`JSON.stringify` → [`json::parse`], [`Value::to_json`] → `JSON.parse`): no serde in the wasm,
//! and one parse per crossing is cheaper than a `Reflect::get` per field (anchors E.4).
//! Errors are real JS `WawpError` instances, built with the class the entry registers.

use std::cell::RefCell;

// A small free-list allocator instead of dlmalloc: the heap holds a few short-lived strings per
// call, and dlmalloc's bins cost ~3 KB gzip of the package's 60 KB budget (LockedAllocator: no `unsafe` needed).
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

// The few JS built-ins the surface needs, imported directly: js-sys would bring its futures
// machinery into the element table (~5 KB of the wasm) for nothing.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = JSON, js_name = stringify, catch)]
    fn json_stringify(value: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = JSON, js_name = parse, catch)]
    fn json_parse(text: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = Reflect, js_name = get, catch)]
    fn reflect_get(target: &JsValue, key: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = Reflect, js_name = set, catch)]
    fn reflect_set(target: &JsValue, key: &JsValue, value: &JsValue) -> Result<bool, JsValue>;
    #[wasm_bindgen(js_namespace = Reflect, js_name = ownKeys, catch)]
    fn reflect_own_keys(target: &JsValue) -> Result<Vec<JsValue>, JsValue>;
    #[wasm_bindgen(js_namespace = Reflect, js_name = construct, catch)]
    fn reflect_construct(target: &JsValue, args: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = Array, js_name = of)]
    fn array_of3(a: &JsValue, b: &JsValue, c: &JsValue) -> JsValue;
    /// `Object()`: a fresh plain object.
    #[wasm_bindgen(js_name = Object)]
    fn new_object() -> JsValue;
    /// `Error(message)`: a fresh `Error` (callable without `new`).
    #[wasm_bindgen(js_name = Error)]
    fn new_error(message: &str) -> JsValue;
}

use wasm_bindgen::prelude::*;

use crate::backoff::{Backoff, BackoffOptions};
use crate::budget::RetryBudget;
use crate::error::{ErrorCode, WawpError};
use crate::http::{self, ClientOp, Flavor, RequestArgs};
use crate::identity;
use crate::json::{self, Value};
use crate::machine::{self, Event, MachineOptions};
use crate::metrics;
use crate::retry_after;
use crate::status::{self, SessionStatus};
use crate::webhook::{self, WebhookEvent, WebhookLimits};

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
  /** Delays handed out before `next()` returns undefined (default 10). */
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
  /** A queued send not released within this is rejected with `send_timeout`. */
  sendTimeoutMs?: number;
  /** Optional weekly maintenance restart (weekday 0 = Sunday, hour UTC): once per window, only
   *  while WORKING with nothing queued. */
  maintenance?: { weekday: number; hourUtc: number };
  /** No status observed for this long while STARTING / SCAN_QR_CODE → `info` (default 15000). */
  reconcileShortMs?: number;
  /** ... and while WORKING or otherwise settled (default 300000). */
  reconcileLongMs?: number;
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
  /** A released send the API refused with 422 (session not in the expected state): certainly not
   *  delivered; it waits again until a fresh status confirms WORKING. */
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
  | { type: "clear_identity" }
  | { type: "identity"; verdict: IdentityVerdict; me?: string }
  | { type: "notify_admin"; reason: AdminReason }
  | { type: "persist" };

/** The machine's state for dashboards and logs (never contains credentials). */
export type MachineSnapshot = Record<string, unknown> & { status: SessionStatus };

export interface StatusHistoryEntry { atMs: number; status: SessionStatus }

export interface StabilityMetrics {
  observedMs: number;
  workingMs: number;
  startingMs: number;
  uptimeRatio: number;
  restarts: number;
  failures: number;
  meanTimeToRecoverMs: number | null;
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

// ---------------------------------------------------------------------------------------------
// Errors

thread_local! {
    /// The JS `WawpError` class, registered once per instance by the entry.
    static ERROR_CLASS: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// Registers the JS `WawpError` class (`new WawpError(code, message, details)`); until then,
/// errors are plain `Error`s with the same properties.
#[wasm_bindgen(js_name = __setErrorClass)]
pub fn set_error_class(class: JsValue) {
    ERROR_CLASS.with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = Some(class);
        }
    });
}

fn set_prop(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh plain object or Error cannot fail; ignore the Result.
    let _ = reflect_set(target, &JsValue::from_str(key), value);
}

/// The JS error for a core error: a `WawpError` instance when the class is registered.
fn js_error(error: WawpError) -> JsValue {
    let details = new_object();
    if let Some(status) = error.http_status {
        set_prop(&details, "httpStatus", &JsValue::from(status));
    }
    if let Some(ms) = error.retry_after_ms {
        set_prop(&details, "retryAfterMs", &JsValue::from(ms));
    }
    if let Some(op) = &error.op {
        set_prop(&details, "op", &JsValue::from_str(op));
    }
    let code = JsValue::from_str(error.code.as_str());
    let message = JsValue::from_str(&error.message);
    let class = ERROR_CLASS.with(|slot| slot.try_borrow().ok().and_then(|c| c.clone()));
    if let Some(class) = class {
        if let Ok(instance) = reflect_construct(&class, &array_of3(&code, &message, &details)) {
            return instance;
        }
    }
    let fallback = new_error(&error.message);
    set_prop(&fallback, "name", &JsValue::from_str("WawpError"));
    set_prop(&fallback, "code", &code);
    for key in ["httpStatus", "retryAfterMs", "op"] {
        if let Ok(value) = reflect_get(&details, &JsValue::from_str(key)) {
            if !value.is_undefined() {
                set_prop(&fallback, key, &value);
            }
        }
    }
    fallback
}

type JsResult<T> = Result<T, JsValue>;

fn invalid_option(message: &str) -> JsValue {
    js_error(WawpError::invalid_option(message))
}

// ---------------------------------------------------------------------------------------------
// Crossing the boundary

/// A JS value as a core JSON value: strings are taken as they are (a string, not JSON text),
/// anything else goes through `JSON.stringify`. `undefined` becomes `null`.
fn value_from_js(input: &JsValue) -> Result<Value, WawpError> {
    if let Some(text) = input.as_string() {
        return Ok(Value::String(text));
    }
    if input.is_undefined() || input.is_null() {
        return Ok(Value::Null);
    }
    json::parse(&stringify(input)?)
}

fn stringify(input: &JsValue) -> Result<String, WawpError> {
    json_stringify(input)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| {
            WawpError::invalid_payload("the value cannot be converted to JSON (cycle or BigInt)")
        })
}

fn value_to_js(value: &Value) -> JsValue {
    // Our own writer's output is always valid JSON; `null` covers the impossible failure.
    json_parse(&value.to_json()).unwrap_or(JsValue::NULL)
}

/// An options object: `undefined` / `null` mean "all defaults", anything else must be an object.
fn options_from_js(input: &JsValue) -> Result<Value, WawpError> {
    reject_non_finite(input, "options", 0)?;
    match value_from_js(input)? {
        Value::Null => Ok(Value::Object(Vec::new())),
        v @ Value::Object(_) => Ok(v),
        _ => Err(WawpError::invalid_option("options must be an object")),
    }
}

/// `JSON.stringify` writes `NaN` and `±Infinity` as `null`, which options read as "the default":
/// a hostile `{baseMs: NaN}` would pass silently. Options are small, so walk them (bounded depth).
fn reject_non_finite(input: &JsValue, path: &str, depth: usize) -> Result<(), WawpError> {
    if let Some(n) = input.as_f64() {
        return if n.is_finite() {
            Ok(())
        } else {
            Err(WawpError::invalid_option(format!(
                "{path} must be a finite number"
            )))
        };
    }
    if depth >= 4 || !input.is_object() || input.is_function() {
        return Ok(());
    }
    // `Reflect` reports a throwing getter or proxy trap as an `Err` instead of unwinding through
    // the wasm; `JSON.stringify` meets the same value next and reports it.
    let Ok(keys) = reflect_own_keys(input) else {
        return Ok(());
    };
    for key in &keys {
        let Some(name) = key.as_string() else {
            continue;
        };
        if let Ok(value) = reflect_get(input, key) {
            reject_non_finite(&value, &name, depth + 1)?;
        }
    }
    Ok(())
}

/// A string argument. wasm-bindgen's `&str` parameters trust their caller: from plain JS a
/// number or object there corrupts the allocator, and the trap makes every object of the
/// instance stale. So string parameters arrive as `JsValue` and are checked here.
fn string_arg(value: &JsValue, name: &str) -> JsResult<String> {
    value
        .as_string()
        .ok_or_else(|| invalid_option(&format!("{name} must be a string")))
}

/// A string argument that may be `null` / `undefined`.
fn optional_string_arg(value: &JsValue, name: &str) -> JsResult<Option<String>> {
    if value.is_null() || value.is_undefined() {
        Ok(None)
    } else {
        string_arg(value, name).map(Some)
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// `decodeStatus(input)`: a status name, JSON text, an info response or a webhook body.
#[wasm_bindgen(js_name = decodeStatus, unchecked_return_type = "StatusReport")]
pub fn decode_status(
    #[wasm_bindgen(unchecked_param_type = "StatusInput")] input: JsValue,
) -> JsResult<JsValue> {
    let report = match input.as_string() {
        Some(text) => status::decode_status_text(&text),
        None => value_from_js(&input).and_then(|v| status::decode_status_value(&v)),
    }
    .map_err(js_error)?;
    Ok(value_to_js(&report.to_value()))
}

/// `decodeStatus` of a text as UTF-8 bytes (see `__handleStatusUtf8`).
fn decode_utf8(utf8: &[u8]) -> Result<status::StatusReport, WawpError> {
    let text = core::str::from_utf8(utf8)
        .map_err(|_| WawpError::invalid_payload("the status text is not valid UTF-8"))?;
    status::decode_status_text(text)
}

/// `decodeStatus(text)` for `bindings.js`, with the text as UTF-8 bytes.
#[wasm_bindgen(js_name = __decodeStatusUtf8, unchecked_return_type = "StatusReport")]
pub fn decode_status_utf8(utf8: &[u8]) -> JsResult<JsValue> {
    let report = decode_utf8(utf8).map_err(js_error)?;
    Ok(value_to_js(&report.to_value()))
}

/// `uiActionFor(status)`: the UI action for a status name (unknown names → "inspect").
#[wasm_bindgen(js_name = uiActionFor, unchecked_return_type = "UiAction")]
pub fn ui_action_for(
    #[wasm_bindgen(unchecked_param_type = "SessionStatus | string")] status: JsValue,
) -> JsResult<String> {
    let status = string_arg(&status, "status")?;
    Ok(status::ui_action_for(&status).as_str().to_string())
}

/// `uiActionFor` for `bindings.js`: the status name as UTF-8 bytes in, the action's index in
/// `UiAction::ALL` out (`__uiActionName` gives its name once; no string crosses per call).
#[wasm_bindgen(js_name = __uiActionIndex)]
pub fn ui_action_index(utf8: &[u8]) -> u32 {
    let action =
        core::str::from_utf8(utf8).map_or(status::UiAction::Inspect, status::ui_action_for);
    status::UiAction::ALL
        .iter()
        .position(|a| *a == action)
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or(u32::MAX)
}

/// The name of the UI action at `index` of `__uiActionIndex`.
#[wasm_bindgen(js_name = __uiActionName)]
pub fn ui_action_name(index: u32) -> Option<String> {
    let index = usize::try_from(index).ok()?;
    status::UiAction::ALL
        .get(index)
        .map(|a| a.as_str().to_string())
}

/// `normalizeJid(jid)`: drops `:device`, maps `@s.whatsapp.net` to `@c.us`.
#[wasm_bindgen(js_name = normalizeJid)]
pub fn normalize_jid(
    #[wasm_bindgen(unchecked_param_type = "string")] jid: JsValue,
) -> JsResult<String> {
    Ok(identity::normalize_jid(&string_arg(&jid, "jid")?))
}

/// `compareIdentity(expected, me)`: `@lid` ids and a null `me` are "unverifiable".
#[wasm_bindgen(js_name = compareIdentity, unchecked_return_type = "IdentityVerdict")]
pub fn compare_identity(
    #[wasm_bindgen(unchecked_param_type = "string")] expected: JsValue,
    #[wasm_bindgen(unchecked_param_type = "{ id: string } | string | null")] me: JsValue,
) -> JsResult<String> {
    let expected = string_arg(&expected, "expected")?;
    let id = me.as_string().or_else(|| {
        if me.is_object() {
            reflect_get(&me, &JsValue::from_str("id"))
                .ok()
                .and_then(|id| id.as_string())
        } else {
            None
        }
    });
    Ok(identity::compare_identity(&expected, id.as_deref())
        .as_str()
        .to_string())
}

/// `parseRetryAfter(value, nowMs)`: seconds or an HTTP-date, as a delay in ms.
#[wasm_bindgen(js_name = parseRetryAfter)]
pub fn parse_retry_after(
    #[wasm_bindgen(unchecked_param_type = "string | null")] value: JsValue,
    now_ms: f64,
) -> JsResult<Option<f64>> {
    let value = optional_string_arg(&value, "value")?;
    Ok(value.and_then(|v| retry_after::parse_retry_after(&v, now_ms)))
}

// ---------------------------------------------------------------------------------------------
// Backoff and retry budget

/// Exponential backoff with jitter, a cap and a Retry-After floor.
#[wasm_bindgen(js_name = Backoff)]
pub struct JsBackoff {
    inner: Backoff,
}

#[wasm_bindgen(js_class = Backoff)]
impl JsBackoff {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "BackoffOptions")] opts: JsValue,
    ) -> JsResult<JsBackoff> {
        let opts = options_from_js(&opts)
            .and_then(|v| BackoffOptions::from_value(&v))
            .and_then(Backoff::new)
            .map_err(js_error)?;
        Ok(JsBackoff { inner: opts })
    }

    /// The next delay in ms, never below `retryAfterMs`; `undefined` once exhausted.
    pub fn next(&mut self, retry_after_ms: Option<f64>) -> Option<f64> {
        self.inner.next(retry_after_ms)
    }

    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// Delays handed out since the last reset.
    #[wasm_bindgen(getter)]
    pub fn attempts(&self) -> u32 {
        self.inner.attempts()
    }
}

/// A token bucket shared by automatic restarts and retries, so faults cannot become a storm.
#[wasm_bindgen(js_name = RetryBudget)]
pub struct JsRetryBudget {
    inner: RetryBudget,
}

#[wasm_bindgen(js_class = RetryBudget)]
impl JsRetryBudget {
    /// A full bucket of `capacity` tokens refilled at `refillPerSec`; each recorded success
    /// deposits `successDeposit` (default 0).
    #[wasm_bindgen(constructor)]
    pub fn new(
        capacity: f64,
        refill_per_sec: f64,
        success_deposit: Option<f64>,
    ) -> JsResult<JsRetryBudget> {
        let inner =
            RetryBudget::with_options(capacity, refill_per_sec, success_deposit.unwrap_or(0.0))
                .map_err(js_error)?;
        Ok(JsRetryBudget { inner })
    }

    /// Takes `cost` tokens if the bucket holds them at `nowMs`.
    #[wasm_bindgen(js_name = trySpend)]
    pub fn try_spend(&mut self, cost: f64, now_ms: f64) -> bool {
        self.inner.try_spend(cost, now_ms)
    }

    #[wasm_bindgen(js_name = recordSuccess)]
    pub fn record_success(&mut self, now_ms: f64) {
        self.inner.record_success(now_ms);
    }

    /// Tokens available at `nowMs`.
    pub fn available(&self, now_ms: f64) -> f64 {
        self.inner.available(now_ms)
    }

    /// How long until `cost` tokens are available; `undefined` if never (cost above capacity).
    #[wasm_bindgen(js_name = waitMs)]
    pub fn wait_ms(&self, cost: f64, now_ms: f64) -> Option<f64> {
        self.inner.wait_ms(cost, now_ms)
    }

    #[wasm_bindgen(getter)]
    pub fn tokens(&self) -> f64 {
        self.inner.tokens
    }

    #[wasm_bindgen(getter)]
    pub fn capacity(&self) -> f64 {
        self.inner.capacity
    }
}

// ---------------------------------------------------------------------------------------------
// The lifecycle machine

/// The sans-IO session machine: `handle`, drain `pollAction`, arm a timer at `pollTimeout`.
#[wasm_bindgen(js_name = LifecycleMachine)]
pub struct JsLifecycleMachine {
    inner: machine::LifecycleMachine,
    /// An action taken by `__pollActionIndex` that carries free text, until `__takeAction`.
    parked: Option<machine::Action>,
}

/// What `__pollActionIndex` returns when no action is pending.
const NO_ACTION: i32 = -1;
/// What `__pollActionIndex` returns when the action is parked for `__takeAction`.
const PARKED_ACTION: i32 = -2;
/// Distinct text-free actions are few (ops, statuses, verdicts, reasons); past this many the
/// table stops growing and actions cross as objects.
const MAX_ACTION_TEMPLATES: usize = 128;

thread_local! {
    /// Every text-free action seen, by index: `bindings.js` keeps the matching objects, so such
    /// an action crosses as a number instead of JSON text (a TextDecoder call and a `JSON.parse`
    /// each). Per instance: a reset instance starts empty, and so does the JS side.
    static ACTION_TEMPLATES: RefCell<Vec<machine::Action>> = const { RefCell::new(Vec::new()) };
}

/// Actions whose fields are all from small fixed sets. Exhaustive on purpose: a new action
/// variant must decide whether it may be shared as a template.
fn is_text_free(action: &machine::Action) -> bool {
    use machine::Action;
    match action {
        Action::Call { .. }
        | Action::Ui { .. }
        | Action::ClearIdentity
        | Action::NotifyAdmin { .. }
        | Action::Persist => true,
        Action::Identity { me, .. } => me.is_none(),
        Action::ReleaseSend { .. } | Action::RejectSend { .. } => false,
    }
}

/// The template index of a text-free action (registering it on first sight), if the table has room.
fn action_template_index(action: machine::Action) -> Result<i32, machine::Action> {
    ACTION_TEMPLATES.with(|cell| {
        let Ok(mut templates) = cell.try_borrow_mut() else {
            return Err(action);
        };
        let index = match templates.iter().position(|t| *t == action) {
            Some(index) => index,
            None if templates.len() < MAX_ACTION_TEMPLATES => {
                templates.push(action);
                templates.len() - 1
            }
            None => return Err(action),
        };
        // The table is bounded far below i32::MAX.
        Ok(i32::try_from(index).unwrap_or(NO_ACTION))
    })
}

/// `__actionTemplate(index)`: the JSON text of a template `__pollActionIndex` returned.
#[wasm_bindgen(js_name = __actionTemplate)]
pub fn action_template(index: u32) -> Option<String> {
    ACTION_TEMPLATES.with(|cell| {
        let templates = cell.try_borrow().ok()?;
        templates
            .get(usize::try_from(index).ok()?)
            .map(machine::Action::to_json)
    })
}

#[wasm_bindgen(js_class = LifecycleMachine)]
impl JsLifecycleMachine {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "MachineOptions")] opts: JsValue,
    ) -> JsResult<JsLifecycleMachine> {
        let opts = options_from_js(&opts)
            .and_then(|v| MachineOptions::from_value(&v))
            .map_err(js_error)?;
        Ok(JsLifecycleMachine {
            inner: machine::LifecycleMachine::new(opts),
            parked: None,
        })
    }

    /// Feeds one event; drain `pollAction()` afterwards.
    pub fn handle(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "MachineEvent")] event: JsValue,
        now_ms: f64,
    ) -> JsResult<()> {
        let event = stringify(&event)
            .and_then(|text| Event::from_json(&text))
            .map_err(js_error)?;
        self.inner.handle(event, now_ms);
        Ok(())
    }

    /// `handle({type: "status", input: text}, nowMs)` with the text as UTF-8 bytes
    /// (`TextEncoder`): no event JSON, no escaped copy of the body inside it, and a byte copy
    /// instead of the glue's per-character string transfer. `bindings.js` routes such events here.
    #[wasm_bindgen(js_name = __handleStatusUtf8)]
    pub fn handle_status_utf8(&mut self, utf8: &[u8], now_ms: f64) -> JsResult<()> {
        let report = decode_utf8(utf8).map_err(js_error)?;
        self.inner.handle(Event::Status(Box::new(report)), now_ms);
        Ok(())
    }

    /// `handle({type: "timeout"}, nowMs)` for `bindings.js`: the host loop's most frequent event
    /// after statuses, without JSON text.
    #[wasm_bindgen(js_name = __handleTimeout)]
    pub fn handle_timeout(&mut self, now_ms: f64) {
        self.inner.handle(Event::Timeout, now_ms);
    }

    /// The next action for the host, or `undefined` when there is none.
    #[wasm_bindgen(js_name = pollAction, unchecked_return_type = "Action | undefined")]
    pub fn poll_action(&mut self) -> JsValue {
        self.parked
            .take()
            .or_else(|| self.inner.poll_action())
            .map_or(JsValue::UNDEFINED, |action| value_to_js(&action.to_value()))
    }

    /// `pollAction` for `bindings.js`, without strings: the index of a text-free action's
    /// template (`__actionTemplate`), `-1` when nothing is pending, or `-2` when the action is
    /// parked for `__takeAction` (it carries an id or a JID).
    #[wasm_bindgen(js_name = __pollActionIndex)]
    pub fn poll_action_index(&mut self) -> i32 {
        let Some(action) = self.parked.take().or_else(|| self.inner.poll_action()) else {
            return NO_ACTION;
        };
        let templated = if is_text_free(&action) {
            action_template_index(action)
        } else {
            Err(action)
        };
        templated.unwrap_or_else(|action| {
            self.parked = Some(action);
            PARKED_ACTION
        })
    }

    /// The action `__pollActionIndex` parked, as an object (`undefined` if none is parked).
    #[wasm_bindgen(js_name = __takeAction, unchecked_return_type = "Action | undefined")]
    pub fn take_action(&mut self) -> JsValue {
        self.parked
            .take()
            .map_or(JsValue::UNDEFINED, |action| value_to_js(&action.to_value()))
    }

    /// Every pending action at once (one boundary crossing instead of one per action).
    #[wasm_bindgen(js_name = drainActions, unchecked_return_type = "Action[]")]
    pub fn drain_actions(&mut self) -> JsValue {
        let mut actions: Vec<Value> = self.parked.take().iter().map(|a| a.to_value()).collect();
        while let Some(action) = self.inner.poll_action() {
            actions.push(action.to_value());
        }
        value_to_js(&Value::Array(actions))
    }

    /// Absolute ms of the next deadline; call `handle({type:"timeout"}, now)` when it passes.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.inner.poll_timeout()
    }

    #[wasm_bindgen(unchecked_return_type = "MachineSnapshot")]
    pub fn snapshot(&self) -> JsValue {
        value_to_js(&self.inner.snapshot())
    }

    /// The machine's state as JSON text, for `LifecycleMachine.fromJSON`.
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }

    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(
        #[wasm_bindgen(unchecked_param_type = "string")] json: JsValue,
    ) -> JsResult<JsLifecycleMachine> {
        let json = string_arg(&json, "json")?;
        let inner = machine::LifecycleMachine::from_json(&json).map_err(js_error)?;
        Ok(JsLifecycleMachine {
            inner,
            parked: None,
        })
    }

    #[wasm_bindgen(getter, unchecked_return_type = "SessionStatus")]
    pub fn status(&self) -> String {
        self.inner.status().as_str().to_string()
    }

    /// Sends waiting for WORKING.
    #[wasm_bindgen(getter, js_name = queuedSends)]
    pub fn queued_sends(&self) -> u32 {
        u32::try_from(self.inner.queued_sends()).unwrap_or(u32::MAX)
    }
}

/// `stability(history, nowMs)`: uptime, restarts, failures and recovery time of a status history.
#[wasm_bindgen(unchecked_return_type = "StabilityMetrics")]
pub fn stability(
    #[wasm_bindgen(unchecked_param_type = "StatusHistoryEntry[]")] history: JsValue,
    now_ms: f64,
) -> JsResult<JsValue> {
    let parsed = value_from_js(&history).map_err(js_error)?;
    let entries = parsed
        .as_array()
        .ok_or_else(|| js_error(WawpError::invalid_payload("history must be an array")))?;
    let mut points = Vec::with_capacity(entries.len());
    for entry in entries {
        match (entry.num_field("atMs"), entry.str_field("status")) {
            (Some(at_ms), Some(status)) => points.push((at_ms, SessionStatus::parse(status))),
            _ => {
                return Err(js_error(WawpError::invalid_payload(
                    "every history entry needs a numeric atMs and a status",
                )));
            }
        }
    }
    Ok(value_to_js(&metrics::stability(&points, now_ms).to_value()))
}

// ---------------------------------------------------------------------------------------------
// Low-level helpers of the JS drivers (not part of the public contract)

fn parse_flavor(flavor: &str) -> Result<Flavor, WawpError> {
    Flavor::parse(flavor)
        .ok_or_else(|| WawpError::invalid_option("flavor must be \"wawp\" or \"waha\""))
}

fn parse_client_op(op: &str) -> Result<ClientOp, WawpError> {
    ClientOp::parse(op).ok_or_else(|| WawpError::invalid_option("unknown client operation"))
}

fn request_args(v: &Value) -> RequestArgs {
    let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    RequestArgs {
        instance_id: text("instanceId"),
        session: text("session"),
        phone_number: text("phoneNumber"),
        chat_id: text("chatId"),
        text: text("text"),
    }
}

/// `__buildRequest(flavor, op, args)` → `{method, path, query, body?, auth}` without credentials.
#[wasm_bindgen(js_name = __buildRequest, unchecked_return_type = "RequestSpec")]
pub fn build_request(
    #[wasm_bindgen(unchecked_param_type = "Flavor")] flavor: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ClientOp")] op: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "RequestArgs")] args: JsValue,
) -> JsResult<JsValue> {
    let flavor = parse_flavor(&string_arg(&flavor, "flavor")?).map_err(js_error)?;
    let op = parse_client_op(&string_arg(&op, "op")?).map_err(js_error)?;
    let args = options_from_js(&args).map_err(js_error)?;
    let spec = http::build_request(flavor, op, &request_args(&args)).map_err(js_error)?;
    Ok(value_to_js(&spec.to_value()))
}

/// `__classifyResponse(op, status, retryAfter, bodyText, nowMs)` → the parsed success body, or
/// throws the `WawpError` the response means.
#[wasm_bindgen(js_name = __classifyResponse, unchecked_return_type = "unknown")]
pub fn classify_response(
    #[wasm_bindgen(unchecked_param_type = "ClientOp")] op: JsValue,
    status: u16,
    #[wasm_bindgen(unchecked_param_type = "string | null")] retry_after: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] body_text: JsValue,
    now_ms: f64,
) -> JsResult<JsValue> {
    let op = parse_client_op(&string_arg(&op, "op")?).map_err(js_error)?;
    let retry_after = optional_string_arg(&retry_after, "retryAfter")?;
    let body_text = string_arg(&body_text, "bodyText")?;
    let value = http::classify_response(op, status, retry_after.as_deref(), &body_text, now_ms)
        .map_err(js_error)?;
    Ok(value_to_js(&value))
}

/// `__mayRetry(op, code, maybeDelivered)`: may this failed call be sent again?
#[wasm_bindgen(js_name = __mayRetry)]
pub fn may_retry(
    #[wasm_bindgen(unchecked_param_type = "ClientOp")] op: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ErrorCode")] code: JsValue,
    maybe_delivered: bool,
) -> JsResult<bool> {
    let op = parse_client_op(&string_arg(&op, "op")?).map_err(js_error)?;
    let code = ErrorCode::parse(&string_arg(&code, "code")?)
        .ok_or_else(|| invalid_option("unknown error code"))?;
    Ok(http::may_retry(op, code, maybe_delivered))
}

/// `__parseWebhookBody(text, limits)`: one event or a JSON array of events, after the signature
/// check (WebCrypto, in JS). Throws `payload_too_large`, `stale_event` or `invalid_payload`.
#[wasm_bindgen(js_name = __parseWebhookBody, unchecked_return_type = "WebhookEvent[]")]
pub fn parse_webhook_body(
    #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    #[wasm_bindgen(unchecked_param_type = "WebhookLimits")] limits: JsValue,
) -> JsResult<JsValue> {
    let text = string_arg(&text, "text")?;
    let limits = options_from_js(&limits).map_err(js_error)?;
    let max_bytes = match limits.num_field("maxBytes") {
        Some(n) if n >= 0.0 => n.min(usize::MAX as f64) as usize,
        Some(_) => return Err(invalid_option("maxBytes must be >= 0")),
        None => json::MAX_BYTES,
    };
    let now_ms = limits
        .num_field("nowMs")
        .ok_or_else(|| invalid_option("nowMs is required"))?;
    let limits = WebhookLimits {
        max_bytes,
        max_age_ms: limits.num_field("maxAgeMs"),
        now_ms,
    };
    let events = webhook::parse_webhooks(&text, &limits).map_err(js_error)?;
    Ok(value_to_js(&Value::Array(
        events.iter().map(WebhookEvent::to_value).collect(),
    )))
}
