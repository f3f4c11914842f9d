//! The sans-IO session machine, one per instance: `handle(event, now_ms)`, then drain
//! `poll_action()`, then arm a timer at `poll_timeout()`. Rules: issue #2 and
//! `../shared/seed/session-lifecycle.txt`.
//!
//! Time only enters as `now_ms`. Every deadline is absolute local time; when the clock goes
//! backwards every stored local time shifts with it (durations keep their length), a jump
//! forward fires everything that fell due, once.

use std::collections::VecDeque;

use crate::backoff::{Backoff, BackoffOptions, Jitter};
use crate::budget::RetryBudget;
use crate::error::{ErrorCode, Result, WawpError};
use crate::identity::{IdentityVerdict, compare_identity, normalize_jid};
use crate::json::{self, ObjectWriter, Value};
use crate::status::{SessionStatus, StatusReport, UiAction, decode_status_value};

/// A lifecycle or read call the host performs over HTTP and answers with `Event::Result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Start,
    Restart,
    Stop,
    Logout,
    Info,
    Me,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Start => "start",
            Op::Restart => "restart",
            Op::Stop => "stop",
            Op::Logout => "logout",
            Op::Info => "info",
            Op::Me => "me",
        }
    }

    pub fn parse(s: &str) -> Option<Op> {
        [
            Op::Start,
            Op::Restart,
            Op::Stop,
            Op::Logout,
            Op::Info,
            Op::Me,
        ]
        .into_iter()
        .find(|op| op.as_str() == s)
    }

    /// start, restart, stop and logout change the session: at most one is in flight.
    pub fn is_lifecycle(self) -> bool {
        matches!(self, Op::Start | Op::Restart | Op::Stop | Op::Logout)
    }

    /// Start and restart both bring the engine up, so a demand for one joins the other.
    fn brings_up(self) -> bool {
        matches!(self, Op::Start | Op::Restart)
    }

    fn joins(self, demand: Op) -> bool {
        self == demand || (self.brings_up() && demand.brings_up())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Maintenance {
    /// 0 = Sunday .. 6 = Saturday (UTC), as `Date.prototype.getUTCDay`.
    pub weekday: u8,
    pub hour_utc: u8,
}

const HOUR_MS: f64 = 3_600_000.0;
const DAY_MS: f64 = 24.0 * HOUR_MS;
/// Longest accepted duration option: one year.
const MAX_DURATION_MS: f64 = 365.0 * DAY_MS;
/// Seeds are kept to 53 bits so they survive a JSON number exactly.
const SEED_MASK: u64 = (1 << 53) - 1;

impl Maintenance {
    /// Start of the window that contains `now_ms`, if `now_ms` is inside one.
    fn window_containing(self, now_ms: f64) -> Option<f64> {
        let day = (now_ms / DAY_MS).floor();
        // 1970-01-01 was a Thursday (4).
        let weekday = (day + 4.0).rem_euclid(7.0);
        let hour = ((now_ms - day * DAY_MS) / HOUR_MS).floor();
        (weekday == f64::from(self.weekday) && hour == f64::from(self.hour_utc))
            .then_some(day * DAY_MS + hour * HOUR_MS)
    }

    /// Start of the first window strictly after `now_ms`.
    fn next_window_after(self, now_ms: f64) -> f64 {
        let day = (now_ms / DAY_MS).floor();
        let weekday = (day + 4.0).rem_euclid(7.0);
        let days_ahead = (f64::from(self.weekday) - weekday).rem_euclid(7.0);
        let candidate = (day + days_ahead) * DAY_MS + f64::from(self.hour_utc) * HOUR_MS;
        if candidate > now_ms {
            candidate
        } else {
            candidate + 7.0 * DAY_MS
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MachineOptions {
    pub expected_jid: Option<String>,
    pub starting_timeout_ms: f64,
    pub failed_restart_delay_ms: f64,
    pub max_auto_restarts: u32,
    pub debounce_ms: f64,
    pub max_queued_sends: usize,
    pub send_timeout_ms: f64,
    pub maintenance: Option<Maintenance>,
    /// Reconciliation `info` when nothing was observed for this long while STARTING / SCAN_QR_CODE.
    pub reconcile_short_ms: f64,
    /// ... and while WORKING (or otherwise settled).
    pub reconcile_long_ms: f64,
    /// Jitter seed (JS `seed`). `None`: derived from the first `now_ms` the machine sees, so
    /// machines started at different moments do not retry in lockstep.
    pub seed: Option<u64>,
    /// Token bucket spent by automatic restarts and lifecycle retries (JS `retryBudgetCapacity`).
    pub retry_budget_capacity: f64,
    /// Refill rate of that bucket (JS `retryBudgetRefillPerSec`).
    pub retry_budget_refill_per_sec: f64,
}

impl Default for MachineOptions {
    fn default() -> Self {
        MachineOptions {
            expected_jid: None,
            starting_timeout_ms: 60_000.0,
            failed_restart_delay_ms: 30_000.0,
            max_auto_restarts: 5,
            debounce_ms: 10_000.0,
            max_queued_sends: 1000,
            send_timeout_ms: 120_000.0,
            maintenance: None,
            reconcile_short_ms: 15_000.0,
            reconcile_long_ms: 300_000.0,
            seed: None,
            retry_budget_capacity: 20.0,
            retry_budget_refill_per_sec: 1.0 / 60.0,
        }
    }
}

fn option_error(name: &str, what: &str) -> WawpError {
    WawpError::invalid_option(format!("{name} must be {what}"))
}

/// A present, non-null option field.
fn present<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|f| !f.is_null())
}

fn duration_option(v: &Value, key: &str, default: f64, allow_zero: bool) -> Result<f64> {
    let Some(field) = present(v, key) else {
        return Ok(default);
    };
    match field.as_f64() {
        Some(n)
            if n.is_finite() && n <= MAX_DURATION_MS && (n > 0.0 || (allow_zero && n == 0.0)) =>
        {
            Ok(n)
        }
        _ => Err(option_error(
            key,
            if allow_zero {
                "a number of ms between 0 and one year"
            } else {
                "a number of ms above 0 and at most one year"
            },
        )),
    }
}

fn whole_option(v: &Value, key: &str, default: f64, min: f64, max: f64) -> Result<f64> {
    let Some(field) = present(v, key) else {
        return Ok(default);
    };
    match field.as_f64() {
        Some(n) if n.is_finite() && n.fract() == 0.0 && n >= min && n <= max => Ok(n),
        _ => Err(option_error(
            key,
            &format!("a whole number between {} and {}", min as i64, max as i64),
        )),
    }
}

impl MachineOptions {
    /// The JS options object (camelCase); hostile values → `invalid_option`. Unknown keys are
    /// ignored (the supervisor passes its own options in the same object).
    pub fn from_value(v: &Value) -> Result<MachineOptions> {
        if v.is_null() {
            return Ok(MachineOptions::default());
        }
        if !v.is_object() {
            return Err(WawpError::invalid_option(
                "machine options must be an object",
            ));
        }
        let d = MachineOptions::default();
        let expected_jid = match present(v, "expectedJid") {
            None => None,
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 256 => {
                Some(s.trim().to_string())
            }
            Some(_) => {
                return Err(option_error(
                    "expectedJid",
                    "a non-empty JID or phone number string",
                ));
            }
        };
        let maintenance = match present(v, "maintenance") {
            None => None,
            Some(m) if m.is_object() => {
                let field = |key: &str, max: f64| -> Result<u8> {
                    match m.get(key).and_then(Value::as_f64) {
                        Some(n) if n.fract() == 0.0 && (0.0..=max).contains(&n) => Ok(n as u8),
                        _ => Err(option_error(
                            &format!("maintenance.{key}"),
                            &format!("a whole number between 0 and {}", max as i64),
                        )),
                    }
                };
                Some(Maintenance {
                    weekday: field("weekday", 6.0)?,
                    hour_utc: field("hourUtc", 23.0)?,
                })
            }
            Some(_) => {
                return Err(option_error(
                    "maintenance",
                    "an object {weekday: 0..6, hourUtc: 0..23}",
                ));
            }
        };
        let seed = match present(v, "seed") {
            None => None,
            Some(_) => Some(whole_option(v, "seed", 0.0, 0.0, SEED_MASK as f64)? as u64),
        };
        let opts = MachineOptions {
            expected_jid,
            starting_timeout_ms: duration_option(
                v,
                "startingTimeoutMs",
                d.starting_timeout_ms,
                false,
            )?,
            failed_restart_delay_ms: duration_option(
                v,
                "failedRestartDelayMs",
                d.failed_restart_delay_ms,
                true,
            )?,
            max_auto_restarts: whole_option(
                v,
                "maxAutoRestarts",
                f64::from(d.max_auto_restarts),
                0.0,
                1000.0,
            )? as u32,
            debounce_ms: duration_option(v, "debounceMs", d.debounce_ms, true)?,
            max_queued_sends: whole_option(
                v,
                "maxQueuedSends",
                d.max_queued_sends as f64,
                0.0,
                100_000.0,
            )? as usize,
            send_timeout_ms: duration_option(v, "sendTimeoutMs", d.send_timeout_ms, false)?,
            maintenance,
            reconcile_short_ms: duration_option(
                v,
                "reconcileShortMs",
                d.reconcile_short_ms,
                false,
            )?,
            reconcile_long_ms: duration_option(v, "reconcileLongMs", d.reconcile_long_ms, false)?,
            seed,
            retry_budget_capacity: whole_option(
                v,
                "retryBudgetCapacity",
                d.retry_budget_capacity,
                1.0,
                1_000_000.0,
            )?,
            retry_budget_refill_per_sec: match present(v, "retryBudgetRefillPerSec") {
                None => d.retry_budget_refill_per_sec,
                Some(f) => match f.as_f64() {
                    Some(n) if n.is_finite() && n > 0.0 && n <= 1_000_000.0 => n,
                    _ => {
                        return Err(option_error(
                            "retryBudgetRefillPerSec",
                            "a number of tokens per second above 0",
                        ));
                    }
                },
            },
        };
        Ok(opts)
    }

    /// The camelCase object `from_value` reads (used by `to_json`).
    pub fn to_value(&self) -> Value {
        ObjectWriter::new()
            .opt_str("expectedJid", self.expected_jid.as_deref())
            .num("startingTimeoutMs", self.starting_timeout_ms)
            .num("failedRestartDelayMs", self.failed_restart_delay_ms)
            .num("maxAutoRestarts", f64::from(self.max_auto_restarts))
            .num("debounceMs", self.debounce_ms)
            .num("maxQueuedSends", self.max_queued_sends as f64)
            .num("sendTimeoutMs", self.send_timeout_ms)
            .field(
                "maintenance",
                self.maintenance.map_or(Value::Null, |m| {
                    ObjectWriter::new()
                        .num("weekday", f64::from(m.weekday))
                        .num("hourUtc", f64::from(m.hour_utc))
                        .build()
                }),
            )
            .num("reconcileShortMs", self.reconcile_short_ms)
            .num("reconcileLongMs", self.reconcile_long_ms)
            .opt_num("seed", self.seed.map(|s| (s & SEED_MASK) as f64))
            .num("retryBudgetCapacity", self.retry_budget_capacity)
            .num("retryBudgetRefillPerSec", self.retry_budget_refill_per_sec)
            .build()
    }
}

/// The answer to a `call` action.
#[derive(Debug, Clone, PartialEq)]
pub struct CallResult {
    pub op: Op,
    pub ok: bool,
    pub error: Option<ErrorCode>,
    pub http_status: Option<u16>,
    pub retry_after_ms: Option<f64>,
    /// The parsed response body (`info` object, `me` object or null, ...).
    pub body: Option<Value>,
}

impl CallResult {
    /// The error code of a failed call: the given one, else derived from the HTTP status,
    /// else a network error (no response at all).
    fn error_code(&self) -> ErrorCode {
        self.error.unwrap_or_else(|| {
            self.http_status
                .map_or(ErrorCode::Network, ErrorCode::from_http_status)
        })
    }

    /// Success, or WAHA's 422 "already started" on start: the engine is running.
    fn succeeded(&self) -> bool {
        self.ok
            || (self.op == Op::Start
                && self.error_code() == ErrorCode::Conflict
                && self.http_status.is_none_or(|s| s == 422))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Status(Box<StatusReport>),
    WarmBoot,
    Send {
        id: String,
        timeout_ms: Option<f64>,
    },
    /// The API refused a released send because the session was not in the expected state (HTTP
    /// 422 "status is not as expected"): it certainly was not delivered, and the WORKING the
    /// machine believed was stale. The send is queued again until a fresh status says WORKING.
    SendRefused {
        id: String,
        timeout_ms: Option<f64>,
    },
    Result(CallResult),
    /// The UI's Retry button: restart now, re-arming automation.
    UserRetry,
    /// The UI's Power On button.
    UserStart,
    UserStop,
    UserLogout,
    Timeout,
}

impl Event {
    /// The JS `MachineEvent` shape: `{type:"status", input}`, `{type:"send", id}`, ...
    pub fn from_value(v: &Value) -> Result<Event> {
        let kind = v
            .str_field("type")
            .ok_or_else(|| WawpError::invalid_payload("an event needs a string type"))?;
        match kind {
            "status" => {
                let input = present(v, "input")
                    .ok_or_else(|| WawpError::invalid_payload("a status event needs input"))?;
                Ok(Event::Status(Box::new(decode_status_value(input)?)))
            }
            "warm_boot" => Ok(Event::WarmBoot),
            "send" | "send_refused" => {
                let id = v
                    .str_field("id")
                    .ok_or_else(|| WawpError::invalid_payload("a send event needs a string id"))?;
                let timeout_ms = match present(v, "timeoutMs") {
                    None => None,
                    Some(t) => match t.as_f64() {
                        Some(n) if n.is_finite() && n > 0.0 && n <= MAX_DURATION_MS => Some(n),
                        _ => {
                            return Err(WawpError::invalid_payload(
                                "timeoutMs must be a number of ms above 0",
                            ));
                        }
                    },
                };
                let id = id.to_string();
                Ok(if kind == "send" {
                    Event::Send { id, timeout_ms }
                } else {
                    Event::SendRefused { id, timeout_ms }
                })
            }
            "result" => Ok(Event::Result(result_from_value(v)?)),
            "user_retry" => Ok(Event::UserRetry),
            "user_start" => Ok(Event::UserStart),
            "user_stop" => Ok(Event::UserStop),
            "user_logout" => Ok(Event::UserLogout),
            "timeout" => Ok(Event::Timeout),
            _ => Err(WawpError::invalid_payload("unknown event type")),
        }
    }

    pub fn from_json(text: &str) -> Result<Event> {
        Event::from_value(&json::parse(text)?)
    }
}

fn result_from_value(v: &Value) -> Result<CallResult> {
    let op = v
        .str_field("op")
        .and_then(Op::parse)
        .ok_or_else(|| WawpError::invalid_payload("a result needs a known op"))?;
    let ok = v
        .get("ok")
        .and_then(Value::as_bool)
        .ok_or_else(|| WawpError::invalid_payload("a result needs a boolean ok"))?;
    let error = match present(v, "error") {
        None => None,
        Some(e) => Some(
            e.as_str()
                .and_then(ErrorCode::parse)
                .ok_or_else(|| WawpError::invalid_payload("error must be an ErrorCode"))?,
        ),
    };
    let http_status = match present(v, "httpStatus") {
        None => None,
        Some(s) => match s.as_f64() {
            Some(n) if n.fract() == 0.0 && (100.0..=599.0).contains(&n) => Some(n as u16),
            _ => {
                return Err(WawpError::invalid_payload(
                    "httpStatus must be an HTTP status code",
                ));
            }
        },
    };
    let retry_after_ms = match present(v, "retryAfterMs") {
        None => None,
        Some(r) => match r.as_f64() {
            Some(n) if n.is_finite() && n >= 0.0 => Some(n.min(MAX_DURATION_MS)),
            _ => {
                return Err(WawpError::invalid_payload(
                    "retryAfterMs must be a number of ms >= 0",
                ));
            }
        },
    };
    Ok(CallResult {
        op,
        ok,
        error,
        http_status,
        retry_after_ms,
        body: v.get("body").cloned(),
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Call {
        op: Op,
    },
    Ui {
        ui_action: UiAction,
        status: SessionStatus,
    },
    ReleaseSend {
        id: String,
    },
    RejectSend {
        id: String,
        code: ErrorCode,
    },
    ClearIdentity,
    Identity {
        verdict: IdentityVerdict,
        me: Option<String>,
    },
    /// reason: "failed" | "restart_budget_exhausted" | "identity_mismatch" | "unauthorized" | "deleted"
    NotifyAdmin {
        reason: &'static str,
    },
    Persist,
}

impl Action {
    /// The JS `Action` shape: `{type:"call", op}`, `{type:"ui", uiAction, status}`, ...
    pub fn to_value(&self) -> Value {
        let typed = |t: &str| ObjectWriter::new().str("type", t);
        match self {
            Action::Call { op } => typed("call").str("op", op.as_str()).build(),
            Action::Ui { ui_action, status } => typed("ui")
                .str("uiAction", ui_action.as_str())
                .str("status", status.as_str())
                .build(),
            Action::ReleaseSend { id } => typed("release_send").str("id", id).build(),
            Action::RejectSend { id, code } => typed("reject_send")
                .str("id", id)
                .str("code", code.as_str())
                .build(),
            Action::ClearIdentity => typed("clear_identity").build(),
            Action::Identity { verdict, me } => typed("identity")
                .str("verdict", verdict.as_str())
                .opt_str("me", me.as_deref())
                .build(),
            Action::NotifyAdmin { reason } => typed("notify_admin").str("reason", reason).build(),
            Action::Persist => typed("persist").build(),
        }
    }

    pub fn to_json(&self) -> String {
        self.to_value().to_json()
    }
}

/// Why automation (automatic restarts, retries, reconciliation) is holding still.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// `max_auto_restarts` consecutive automatic restarts did not bring WORKING back.
    RestartBudgetExhausted,
    /// A call answered 401: nothing automatic until a user action or warm boot.
    Unauthorized,
    /// The instance is gone (404 / DELETED).
    Deleted,
}

impl Pause {
    pub fn as_str(self) -> &'static str {
        match self {
            Pause::RestartBudgetExhausted => "restart_budget_exhausted",
            Pause::Unauthorized => "unauthorized",
            Pause::Deleted => "deleted",
        }
    }

    fn parse(s: &str) -> Option<Pause> {
        [
            Pause::RestartBudgetExhausted,
            Pause::Unauthorized,
            Pause::Deleted,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueuedSend {
    pub id: String,
    pub deadline_ms: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdentityState {
    pub verdict: IdentityVerdict,
    pub me: Option<String>,
}

/// Recently applied webhook ids kept for de-duplication.
const SEEN_EVENT_IDS: usize = 128;
/// Lifecycle call retries (429 / 5xx / network): exponential from 1 s to 1 min, full jitter.
const CALL_RETRY_BASE_MS: f64 = 1_000.0;
const CALL_RETRY_CAP_MS: f64 = 60_000.0;
/// Consecutive automatic restarts back off from `failed_restart_delay_ms` up to this.
const RESTART_BACKOFF_CAP_MS: f64 = 15.0 * 60_000.0;

/// The `attempt`-th delay (from 0) of a seeded backoff. Replaying from the seed keeps the
/// persisted state to (seed, attempt count) and makes every delay reproducible.
fn backoff_delay(base_ms: f64, cap_ms: f64, jitter: Jitter, seed: u64, attempt: u32) -> f64 {
    let attempt = attempt.min(30);
    let cap_ms = cap_ms.max(base_ms);
    let fallback = (base_ms * 2f64.powi(attempt as i32)).min(cap_ms);
    let opts = BackoffOptions {
        base_ms,
        cap_ms,
        factor: 2.0,
        jitter,
        max_attempts: attempt + 1,
        max_elapsed_ms: None,
        seed: Some(seed),
    };
    let Ok(mut backoff) = Backoff::new(opts) else {
        return fallback;
    };
    let mut delay = None;
    for _ in 0..=attempt {
        delay = backoff.next(None);
    }
    delay
        .filter(|d| d.is_finite() && *d >= 0.0)
        .unwrap_or(fallback)
}

#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleMachine {
    opts: MachineOptions,
    status: SessionStatus,
    /// Local time the current status began.
    since_ms: f64,
    /// The status the UI was last told about.
    ui_status: Option<SessionStatus>,
    /// When the current STARTING stretch began (the watchdog clock; repeats do not reset it).
    starting_since_ms: Option<f64>,
    /// A STARTING blip after WORKING: the UI hears of it only if it is still STARTING then.
    debounce_until_ms: Option<f64>,
    /// Newest webhook timestamp applied (the sender's clock).
    last_event_at_ms: Option<f64>,
    seen_event_ids: VecDeque<String>,
    /// Local time a status was last observed (webhook or `info`).
    last_observed_ms: Option<f64>,
    /// Local time the last `info` was requested.
    last_info_ms: Option<f64>,
    /// A lifecycle call succeeded and its status change has not been seen yet: reconcile soon.
    expect_change: bool,
    /// The API refused a released send (the believed WORKING was stale): nothing is released until
    /// a fresh status is observed.
    recheck_status: bool,
    /// The unanswered lifecycle call (single flight).
    pending_op: Option<Op>,
    /// Lifecycle demand that arrived while another call was in flight and could not join it.
    deferred_op: Option<Op>,
    /// A failed lifecycle call waiting for its retry time.
    call_retry: Option<(Op, f64)>,
    call_failures: u32,
    info_in_flight: bool,
    me_in_flight: bool,
    /// A failed `info` / `me` waiting for its retry time.
    read_retry: Option<(Op, f64)>,
    read_failures: u32,
    /// warm_boot (or a send in UNKNOWN) asked: start when `info` says STOPPED.
    start_if_stopped: bool,
    auto_restart_at_ms: Option<f64>,
    /// Consecutive automatic restarts since the last WORKING / user action / warm boot.
    auto_restarts: u32,
    /// Every restart issued (automatic, user, maintenance).
    restarts: u32,
    /// FAILED episodes.
    failures: u32,
    failed_notified: bool,
    paused: Option<Pause>,
    queue: VecDeque<QueuedSend>,
    identity: Option<IdentityState>,
    /// `me` answered during the current WORKING stretch. Every entry into WORKING asks again:
    /// a webhook lost during an unlink and re-pair must not hide a different phone.
    identity_verified: bool,
    /// Start of the last maintenance window used.
    maintenance_done_ms: Option<f64>,
    seed: Option<u64>,
    budget: RetryBudget,
    last_now_ms: Option<f64>,
    actions: VecDeque<Action>,
    dirty: bool,
}

impl LifecycleMachine {
    pub fn new(opts: MachineOptions) -> LifecycleMachine {
        let budget = RetryBudget::new(opts.retry_budget_capacity, opts.retry_budget_refill_per_sec);
        LifecycleMachine {
            seed: opts.seed.map(|s| s & SEED_MASK),
            opts,
            status: SessionStatus::Unknown,
            since_ms: 0.0,
            ui_status: None,
            starting_since_ms: None,
            debounce_until_ms: None,
            last_event_at_ms: None,
            seen_event_ids: VecDeque::new(),
            last_observed_ms: None,
            last_info_ms: None,
            expect_change: false,
            recheck_status: false,
            pending_op: None,
            deferred_op: None,
            call_retry: None,
            call_failures: 0,
            info_in_flight: false,
            me_in_flight: false,
            read_retry: None,
            read_failures: 0,
            start_if_stopped: false,
            auto_restart_at_ms: None,
            auto_restarts: 0,
            restarts: 0,
            failures: 0,
            failed_notified: false,
            paused: None,
            queue: VecDeque::new(),
            identity: None,
            identity_verified: false,
            maintenance_done_ms: None,
            budget,
            last_now_ms: None,
            actions: VecDeque::new(),
            dirty: false,
        }
    }

    pub fn handle(&mut self, event: Event, now_ms: f64) {
        let now = self.advance_clock(now_ms);
        // Deadlines that passed before this event are honoured first (a late host timer).
        self.fire_due(now);
        match event {
            Event::Status(report) => self.on_webhook(&report, now),
            Event::WarmBoot => {
                self.rearm_automation();
                self.start_if_stopped = true;
                self.request_info(now);
            }
            Event::Send { id, timeout_ms } => self.on_send(id, timeout_ms, now),
            Event::SendRefused { id, timeout_ms } => {
                self.recheck_status = true;
                self.dirty = true;
                self.start_if_stopped = true;
                self.request_info(now);
                self.on_send(id, timeout_ms, now);
            }
            Event::Result(result) => self.on_result(result, now),
            Event::UserRetry => {
                self.rearm_automation();
                self.auto_restart_at_ms = None;
                self.demand(Op::Restart, now);
            }
            Event::UserStart => {
                self.rearm_automation();
                self.demand(Op::Start, now);
            }
            Event::UserStop => {
                self.start_if_stopped = false;
                self.auto_restart_at_ms = None;
                self.reject_queue(ErrorCode::Closed);
                self.demand(Op::Stop, now);
            }
            Event::UserLogout => self.demand(Op::Logout, now),
            Event::Timeout => {}
        }
        if self.dirty {
            self.dirty = false;
            self.actions.push_back(Action::Persist);
        }
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Absolute ms of the earliest deadline.
    pub fn poll_timeout(&self) -> Option<f64> {
        [
            self.queue.iter().map(|s| s.deadline_ms).reduce(f64::min),
            self.call_retry.map(|(_, at)| at),
            self.read_retry.map(|(_, at)| at),
            self.auto_restart_at_ms,
            self.watchdog_deadline(),
            self.debounce_until_ms,
            self.reconcile_deadline(),
            self.maintenance_deadline(),
        ]
        .into_iter()
        .flatten()
        .reduce(f64::min)
    }

    pub fn status(&self) -> SessionStatus {
        self.status
    }

    pub fn options(&self) -> &MachineOptions {
        &self.opts
    }

    pub fn queued_sends(&self) -> usize {
        self.queue.len()
    }

    /// The unanswered lifecycle call, if any.
    pub fn pending_op(&self) -> Option<Op> {
        self.pending_op
    }

    /// Every call issued and not answered yet. A host that restores a snapshot in a new
    /// process (the old requests died with the old one) answers each of these with a
    /// `network` error result before anything else, so single flight does not wait forever.
    pub fn in_flight_ops(&self) -> Vec<Op> {
        let reads = [(self.info_in_flight, Op::Info), (self.me_in_flight, Op::Me)];
        self.pending_op
            .into_iter()
            .chain(reads.into_iter().filter(|(on, _)| *on).map(|(_, op)| op))
            .collect()
    }

    /// Consecutive automatic restarts since the last WORKING / user action / warm boot.
    pub fn auto_restarts(&self) -> u32 {
        self.auto_restarts
    }

    pub fn identity(&self) -> Option<&IdentityState> {
        self.identity.as_ref()
    }

    pub fn paused(&self) -> Option<Pause> {
        self.paused
    }

    /// May a send be released right now (WORKING, and the identity confirmed when expected)?
    pub fn can_release(&self) -> bool {
        self.status == SessionStatus::Working
            && !self.recheck_status
            && (self.opts.expected_jid.is_none()
                || self.identity_verified
                    && self.identity.as_ref().is_some_and(|i| {
                        matches!(
                            i.verdict,
                            IdentityVerdict::Match | IdentityVerdict::Unverifiable
                        )
                    }))
    }

    // ---- clock ----------------------------------------------------------------------------

    fn advance_clock(&mut self, now_ms: f64) -> f64 {
        let last = self.last_now_ms;
        let now = if now_ms.is_finite() {
            now_ms
        } else {
            last.unwrap_or(0.0)
        };
        if self.seed.is_none() {
            self.seed = Some(now.to_bits().wrapping_mul(0x9E37_79B9_7F4A_7C15) & SEED_MASK);
        }
        if let Some(last) = last.filter(|last| now < *last) {
            self.shift_local_times(now - last);
        }
        self.last_now_ms = Some(now);
        now
    }

    /// The clock went backwards by `-delta`: move every local instant with it.
    fn shift_local_times(&mut self, delta: f64) {
        let shift = |t: &mut f64| *t += delta;
        shift(&mut self.since_ms);
        for t in [
            &mut self.starting_since_ms,
            &mut self.debounce_until_ms,
            &mut self.last_observed_ms,
            &mut self.last_info_ms,
            &mut self.auto_restart_at_ms,
            &mut self.budget.last_ms,
        ]
        .into_iter()
        .flatten()
        {
            shift(t);
        }
        for (_, at) in [&mut self.call_retry, &mut self.read_retry]
            .into_iter()
            .flatten()
        {
            shift(at);
        }
        for send in &mut self.queue {
            shift(&mut send.deadline_ms);
        }
        self.dirty = true;
    }

    fn seed(&self) -> u64 {
        self.seed.unwrap_or(0)
    }

    // ---- deadlines ------------------------------------------------------------------------

    fn lifecycle_busy(&self) -> bool {
        self.pending_op.is_some() || self.call_retry.is_some()
    }

    fn watchdog_deadline(&self) -> Option<f64> {
        if self.status != SessionStatus::Starting
            || self.paused.is_some()
            || self.lifecycle_busy()
            || self.auto_restart_at_ms.is_some()
        {
            return None;
        }
        self.starting_since_ms
            .map(|since| since + self.opts.starting_timeout_ms)
    }

    fn reconcile_deadline(&self) -> Option<f64> {
        if matches!(self.paused, Some(Pause::Unauthorized | Pause::Deleted))
            || self.info_in_flight
            || self.read_retry.is_some_and(|(op, _)| op == Op::Info)
        {
            return None;
        }
        let base = match (self.last_observed_ms, self.last_info_ms) {
            (Some(a), Some(b)) => a.max(b),
            (a, b) => a.or(b)?,
        };
        // After giving up (restart cap) there is nothing to hurry for until someone acts.
        let short = self.paused.is_none()
            && (self.expect_change
                || !self.queue.is_empty()
                || matches!(
                    self.status,
                    SessionStatus::Starting | SessionStatus::ScanQrCode | SessionStatus::Unknown
                ));
        Some(
            base + if short {
                self.opts.reconcile_short_ms
            } else {
                self.opts.reconcile_long_ms
            },
        )
    }

    fn maintenance_deadline(&self) -> Option<f64> {
        let window = self.opts.maintenance?;
        let now = self.last_now_ms?;
        if self.status != SessionStatus::Working
            || !self.queue.is_empty()
            || self.lifecycle_busy()
            || self.paused.is_some()
        {
            return None;
        }
        match window.window_containing(now) {
            Some(start) if self.maintenance_done_ms != Some(start) => Some(start),
            _ => Some(window.next_window_after(now)),
        }
    }

    fn fire_due(&mut self, now: f64) {
        let due = |t: Option<f64>| t.is_some_and(|t| t <= now);

        // Sends past their deadline.
        let (expired, kept): (Vec<_>, Vec<_>) = self
            .queue
            .drain(..)
            .partition(|send| send.deadline_ms <= now);
        self.queue = kept.into();
        for send in expired {
            self.dirty = true;
            self.actions.push_back(Action::RejectSend {
                id: send.id,
                code: ErrorCode::SendTimeout,
            });
        }

        if let Some((op, at)) = self.call_retry
            && at <= now
        {
            self.call_retry = None;
            self.dirty = true;
            if self.budget.try_spend(1.0, now) {
                self.issue(op, now);
            } else {
                self.call_retry = Some((op, now + self.budget_wait_ms(now)));
            }
        }

        if let Some((op, at)) = self.read_retry
            && at <= now
        {
            self.read_retry = None;
            match op {
                Op::Me => self.request_me(),
                _ => self.request_info(now),
            }
        }

        if due(self.debounce_until_ms) {
            self.debounce_until_ms = None;
            self.emit_ui();
        }

        if due(self.auto_restart_at_ms) {
            self.auto_restart_at_ms = None;
            self.dirty = true;
            if matches!(self.status, SessionStatus::Failed | SessionStatus::Starting) {
                self.automatic_restart(now);
            }
        }

        if due(self.watchdog_deadline()) {
            self.automatic_restart(now);
        }

        if due(self.reconcile_deadline()) {
            self.request_info(now);
        }

        if due(self.maintenance_deadline())
            && let Some(start) = self.opts.maintenance.and_then(|m| m.window_containing(now))
        {
            self.maintenance_done_ms = Some(start);
            self.dirty = true;
            self.demand(Op::Restart, now);
        }
    }

    /// How long until the retry budget holds a token again (at least a second).
    fn budget_wait_ms(&self, now: f64) -> f64 {
        self.budget
            .wait_ms(1.0, now)
            .unwrap_or(MAX_DURATION_MS)
            .clamp(1000.0, MAX_DURATION_MS)
    }

    // ---- lifecycle calls ------------------------------------------------------------------

    /// Lifecycle demand: joins the call in flight (or waiting for its retry), else is issued.
    fn demand(&mut self, op: Op, now: f64) {
        if let Some(pending) = self.pending_op {
            if !pending.joins(op) {
                self.deferred_op = Some(op);
                self.dirty = true;
            }
            return;
        }
        if let Some((waiting, at)) = self.call_retry {
            // Never sooner than the retry time a 429 / 5xx asked for.
            if !waiting.joins(op) {
                self.call_retry = Some((op, at));
                self.dirty = true;
            }
            return;
        }
        self.issue(op, now);
    }

    fn issue(&mut self, op: Op, now: f64) {
        self.pending_op = Some(op);
        self.dirty = true;
        if op == Op::Restart {
            self.restarts = self.restarts.saturating_add(1);
            if self.status == SessionStatus::Starting {
                // A restart re-enters STARTING: the watchdog measures from here.
                self.starting_since_ms = Some(now);
            }
        }
        self.actions.push_back(Action::Call { op });
    }

    fn automatic_restart(&mut self, now: f64) {
        if self.paused.is_some() {
            return;
        }
        if self.lifecycle_busy() {
            // The call in flight will move the session; look again later.
            self.auto_restart_at_ms = Some(now + self.opts.failed_restart_delay_ms.max(1000.0));
            self.dirty = true;
            return;
        }
        if self.auto_restarts >= self.opts.max_auto_restarts {
            self.give_up_restarting();
            return;
        }
        if !self.budget.try_spend(1.0, now) {
            self.auto_restart_at_ms = Some(now + self.budget_wait_ms(now));
            self.dirty = true;
            return;
        }
        self.auto_restarts += 1;
        self.issue(Op::Restart, now);
    }

    fn give_up_restarting(&mut self) {
        if self.paused != Some(Pause::RestartBudgetExhausted) {
            self.paused = Some(Pause::RestartBudgetExhausted);
            self.auto_restart_at_ms = None;
            self.dirty = true;
            self.actions.push_back(Action::NotifyAdmin {
                reason: "restart_budget_exhausted",
            });
        }
    }

    /// FAILED: restart after `failed_restart_delay_ms`, backing off for consecutive ones.
    fn schedule_auto_heal(&mut self, now: f64) {
        if self.paused.is_some() {
            return;
        }
        if self.auto_restarts >= self.opts.max_auto_restarts {
            self.give_up_restarting();
            return;
        }
        let base = self.opts.failed_restart_delay_ms;
        let delay = match self.auto_restarts {
            0 => base,
            n => base.max(backoff_delay(
                base.max(1000.0),
                RESTART_BACKOFF_CAP_MS,
                Jitter::Equal,
                self.seed() ^ 0x5245_5354,
                n - 1,
            )),
        };
        self.auto_restart_at_ms = Some(now + delay);
        self.dirty = true;
    }

    /// User action or warm boot: automation may try again.
    fn rearm_automation(&mut self) {
        if matches!(
            self.paused,
            Some(Pause::RestartBudgetExhausted | Pause::Unauthorized)
        ) || (self.paused == Some(Pause::Deleted) && self.status != SessionStatus::Deleted)
        {
            self.paused = None;
        }
        self.auto_restarts = 0;
        self.failed_notified = false;
        self.dirty = true;
    }

    fn on_result(&mut self, result: CallResult, now: f64) {
        match result.op {
            Op::Info => self.on_info_result(result, now),
            Op::Me => self.on_me_result(result, now),
            op => {
                if self.pending_op != Some(op) {
                    return; // not asked for (a duplicate answer): ignored
                }
                self.pending_op = None;
                self.dirty = true;
                if result.succeeded() {
                    self.on_lifecycle_success(&result, now);
                } else {
                    self.on_lifecycle_error(&result, now);
                }
            }
        }
    }

    fn on_lifecycle_success(&mut self, result: &CallResult, now: f64) {
        self.call_failures = 0;
        if self.paused == Some(Pause::Unauthorized) {
            self.paused = None;
        }
        if result.op == Op::Logout {
            self.clear_identity();
        }
        match result
            .body
            .as_ref()
            .filter(|_| result.ok)
            .and_then(|b| decode_status_value(b).ok())
        {
            Some(report) => self.observe(report.status, now),
            // No status in the answer: look at the real one soon.
            None => self.expect_change = true,
        }
        if let Some(next) = self.deferred_op.take() {
            self.demand(next, now);
        }
    }

    fn on_lifecycle_error(&mut self, result: &CallResult, now: f64) {
        let code = result.error_code();
        match code {
            ErrorCode::NotFound => self.observe(SessionStatus::Deleted, now),
            ErrorCode::Unauthorized => self.pause_unauthorized(),
            code if code.is_transient() => {
                let op = self.deferred_op.take().unwrap_or(result.op);
                let delay = backoff_delay(
                    CALL_RETRY_BASE_MS,
                    CALL_RETRY_CAP_MS,
                    Jitter::Full,
                    self.seed() ^ 0x4341_4c4c,
                    self.call_failures,
                )
                .max(result.retry_after_ms.unwrap_or(0.0))
                // "never immediately", even when the jitter draws 0.
                .max(CALL_RETRY_BASE_MS / 4.0);
                self.call_failures = self.call_failures.saturating_add(1);
                self.call_retry = Some((op, now + delay));
            }
            _ => {
                // 400 / 403 / 409 / 422 other than "already started": not repeatable as is;
                // look at the real status soon instead.
                self.expect_change = true;
                if let Some(next) = self.deferred_op.take() {
                    self.demand(next, now);
                }
            }
        }
    }

    fn pause_unauthorized(&mut self) {
        self.call_retry = None;
        self.read_retry = None;
        self.deferred_op = None;
        self.auto_restart_at_ms = None;
        self.dirty = true;
        if self.paused != Some(Pause::Unauthorized) && self.paused != Some(Pause::Deleted) {
            self.paused = Some(Pause::Unauthorized);
            self.actions.push_back(Action::NotifyAdmin {
                reason: "unauthorized",
            });
        }
    }

    fn read_retry_delay(&mut self, result: &CallResult) -> f64 {
        let delay = backoff_delay(
            CALL_RETRY_BASE_MS,
            CALL_RETRY_CAP_MS,
            Jitter::Full,
            self.seed() ^ 0x5245_4144,
            self.read_failures,
        )
        .max(result.retry_after_ms.unwrap_or(0.0))
        .max(CALL_RETRY_BASE_MS / 4.0);
        self.read_failures = self.read_failures.saturating_add(1);
        delay
    }

    fn request_info(&mut self, now: f64) {
        if self.info_in_flight {
            return;
        }
        if self.read_retry.is_some_and(|(op, _)| op == Op::Info) {
            self.read_retry = None;
        }
        self.info_in_flight = true;
        self.last_info_ms = Some(now);
        self.actions.push_back(Action::Call { op: Op::Info });
    }

    fn request_me(&mut self) {
        if self.me_in_flight || self.opts.expected_jid.is_none() {
            return;
        }
        if self.read_retry.is_some_and(|(op, _)| op == Op::Me) {
            self.read_retry = None;
        }
        self.me_in_flight = true;
        self.actions.push_back(Action::Call { op: Op::Me });
    }

    fn on_info_result(&mut self, result: CallResult, now: f64) {
        if !self.info_in_flight {
            return;
        }
        self.info_in_flight = false;
        let report = result
            .ok
            .then(|| {
                result
                    .body
                    .as_ref()
                    .and_then(|b| decode_status_value(b).ok())
            })
            .flatten();
        match report {
            Some(report) => {
                self.read_failures = 0;
                self.observe(report.status, now);
                // `info` carries `me` too: a different phone shows up even when every
                // webhook of the re-pair was lost and the session never looked down.
                if let Some(expected) = self.opts.expected_jid.clone()
                    && self.status == SessionStatus::Working
                    && let Some(me) = report.me.as_ref()
                    && compare_identity(&expected, Some(&me.id)) == IdentityVerdict::Mismatch
                {
                    self.apply_identity(IdentityVerdict::Mismatch, Some(me.id.clone()));
                }
                if std::mem::take(&mut self.start_if_stopped)
                    && self.status == SessionStatus::Stopped
                {
                    self.demand(Op::Start, now);
                }
            }
            None if result.ok => {} // a 2xx without a status: the next reconciliation asks again
            None => match result.error_code() {
                ErrorCode::NotFound => self.observe(SessionStatus::Deleted, now),
                ErrorCode::Unauthorized => self.pause_unauthorized(),
                code if code.is_transient() && self.start_if_stopped => {
                    // warm boot needs the answer; plain reconciliation just waits its turn.
                    let delay = self.read_retry_delay(&result);
                    self.read_retry = Some((Op::Info, now + delay));
                }
                _ => {}
            },
        }
    }

    fn on_me_result(&mut self, result: CallResult, now: f64) {
        if !self.me_in_flight {
            return;
        }
        self.me_in_flight = false;
        let Some(expected) = self.opts.expected_jid.clone() else {
            return;
        };
        if !result.ok {
            match result.error_code() {
                ErrorCode::NotFound => self.observe(SessionStatus::Deleted, now),
                ErrorCode::Unauthorized => self.pause_unauthorized(),
                _ if self.status == SessionStatus::Working => {
                    let delay = self.read_retry_delay(&result);
                    self.read_retry = Some((Op::Me, now + delay));
                }
                _ => {}
            }
            return;
        }
        self.read_failures = 0;
        let me = result.body.as_ref().and_then(me_id);
        let verdict = compare_identity(&expected, me.as_deref());
        let no_account = me.is_none();
        self.apply_identity(verdict, me);
        if no_account {
            // `me` is null only when the session is not authenticated: the WORKING we
            // believe in is probably stale (a lost webhook), so ask for the real status now.
            self.request_info(now);
        }
    }

    /// A verdict on the paired account (from `me`, or a mismatch seen in `info`).
    fn apply_identity(&mut self, verdict: IdentityVerdict, me: Option<String>) {
        let was_mismatch = self.identity_verified
            && self
                .identity
                .as_ref()
                .is_some_and(|i| i.verdict == IdentityVerdict::Mismatch);
        let me = me.as_deref().map(normalize_jid);
        self.identity_verified = self.status == SessionStatus::Working;
        self.identity = Some(IdentityState {
            verdict,
            me: me.clone(),
        });
        self.dirty = true;
        self.actions.push_back(Action::Identity { verdict, me });
        if verdict == IdentityVerdict::Mismatch {
            self.reject_queue(ErrorCode::IdentityMismatch);
            if !was_mismatch {
                self.actions.push_back(Action::NotifyAdmin {
                    reason: "identity_mismatch",
                });
            }
        } else {
            self.release_queue();
        }
    }

    // ---- statuses -------------------------------------------------------------------------

    fn on_webhook(&mut self, report: &StatusReport, now: f64) {
        if let Some(id) = &report.event_id {
            if self.seen_event_ids.contains(id) {
                return;
            }
            if self.seen_event_ids.len() >= SEEN_EVENT_IDS {
                self.seen_event_ids.pop_front();
            }
            self.seen_event_ids.push_back(id.clone());
        }
        if let Some(at) = report.at_ms.filter(|t| t.is_finite()) {
            if self.last_event_at_ms.is_some_and(|last| at < last) {
                return; // older than what is already applied
            }
            self.last_event_at_ms = Some(at);
        }
        self.observe(report.status, now);
    }

    /// A status seen now (webhook, `info` or a lifecycle response body).
    fn observe(&mut self, new: SessionStatus, now: f64) {
        self.last_observed_ms = Some(now);
        self.expect_change = false;
        let rechecked = std::mem::take(&mut self.recheck_status);
        if rechecked {
            self.dirty = true;
        }
        if new == self.status {
            if rechecked && new == SessionStatus::Working {
                self.release_queue(); // the fresh status confirms WORKING: what waited goes out
            }
            return; // a repeat: no UI, no persist, the watchdog clock keeps running
        }
        let old = self.status;
        self.status = new;
        self.since_ms = now;
        self.dirty = true;
        if old == SessionStatus::Starting {
            self.starting_since_ms = None;
            self.debounce_until_ms = None;
        }
        if old == SessionStatus::Working {
            self.identity_verified = false;
        }
        if new != SessionStatus::Failed {
            self.auto_restart_at_ms = None;
        }
        match new {
            SessionStatus::Starting => {
                self.starting_since_ms = Some(now);
                if old == SessionStatus::Working && self.opts.debounce_ms > 0.0 {
                    self.debounce_until_ms = Some(now + self.opts.debounce_ms);
                }
            }
            SessionStatus::Working => self.on_working(),
            SessionStatus::Failed => self.on_failed(old, now),
            SessionStatus::ScanQrCode
            | SessionStatus::Logout
            | SessionStatus::PasskeyRequired
            | SessionStatus::PasskeyConfirmationRequired => {
                if old == SessionStatus::Working || new == SessionStatus::Logout {
                    self.clear_identity();
                }
                self.reject_queue(ErrorCode::NeedsQr);
            }
            SessionStatus::Stopped => {
                if !self.queue.is_empty() {
                    self.demand(Op::Start, now);
                }
            }
            SessionStatus::Deleted => self.on_deleted(),
            SessionStatus::Unknown => {}
        }
        if self.debounce_until_ms.is_none() {
            self.emit_ui();
        }
    }

    fn emit_ui(&mut self) {
        if self.ui_status != Some(self.status) {
            self.ui_status = Some(self.status);
            self.dirty = true;
            self.actions.push_back(Action::Ui {
                ui_action: self.status.ui_action(),
                status: self.status,
            });
        }
    }

    fn on_working(&mut self) {
        self.auto_restarts = 0;
        self.failed_notified = false;
        if self.paused == Some(Pause::RestartBudgetExhausted) {
            self.paused = None;
        }
        if self.opts.expected_jid.is_some() {
            self.request_me();
        } else {
            self.release_queue();
        }
    }

    fn on_failed(&mut self, old: SessionStatus, now: f64) {
        if !self.failed_notified {
            self.failed_notified = true;
            self.failures = self.failures.saturating_add(1);
            self.actions
                .push_back(Action::NotifyAdmin { reason: "failed" });
        }
        // The QR (or passkey) expired unscanned: only the user can make progress.
        let waiting_for_user = matches!(
            old,
            SessionStatus::ScanQrCode
                | SessionStatus::PasskeyRequired
                | SessionStatus::PasskeyConfirmationRequired
        );
        if !waiting_for_user {
            self.schedule_auto_heal(now);
        }
    }

    fn on_deleted(&mut self) {
        self.reject_queue(ErrorCode::NotFound);
        self.call_retry = None;
        self.read_retry = None;
        self.deferred_op = None;
        self.auto_restart_at_ms = None;
        self.start_if_stopped = false;
        self.paused = Some(Pause::Deleted);
        self.actions
            .push_back(Action::NotifyAdmin { reason: "deleted" });
    }

    fn clear_identity(&mut self) {
        self.identity = None;
        self.identity_verified = false;
        self.dirty = true;
        self.actions.push_back(Action::ClearIdentity);
    }

    // ---- sends ----------------------------------------------------------------------------

    fn on_send(&mut self, id: String, timeout_ms: Option<f64>, now: f64) {
        if self.queue.iter().any(|s| s.id == id) {
            return; // already waiting: it still resolves exactly once
        }
        let reject = |code| Action::RejectSend {
            id: id.clone(),
            code,
        };
        let mismatch = self.identity_verified
            && self
                .identity
                .as_ref()
                .is_some_and(|i| i.verdict == IdentityVerdict::Mismatch);
        match self.status {
            SessionStatus::Working if self.can_release() => {
                self.actions.push_back(Action::ReleaseSend { id });
                return;
            }
            SessionStatus::Working if mismatch => {
                self.actions.push_back(reject(ErrorCode::IdentityMismatch));
                return;
            }
            s if s.needs_user() => {
                self.actions.push_back(reject(ErrorCode::NeedsQr));
                return;
            }
            SessionStatus::Deleted => {
                self.actions.push_back(reject(ErrorCode::NotFound));
                return;
            }
            _ => {}
        }
        if self.queue.len() >= self.opts.max_queued_sends {
            self.actions.push_back(reject(ErrorCode::QueueFull));
            return;
        }
        let timeout = timeout_ms
            .filter(|t| t.is_finite() && *t > 0.0)
            .unwrap_or(self.opts.send_timeout_ms);
        self.queue.push_back(QueuedSend {
            id,
            deadline_ms: now + timeout,
        });
        self.dirty = true;
        match self.status {
            SessionStatus::Stopped => self.demand(Op::Start, now),
            SessionStatus::Unknown => {
                self.start_if_stopped = true;
                self.request_info(now);
            }
            _ => {}
        }
    }

    fn release_queue(&mut self) {
        if !self.can_release() {
            return;
        }
        while let Some(send) = self.queue.pop_front() {
            self.dirty = true;
            self.actions.push_back(Action::ReleaseSend { id: send.id });
        }
    }

    fn reject_queue(&mut self, code: ErrorCode) {
        while let Some(send) = self.queue.pop_front() {
            self.dirty = true;
            self.actions
                .push_back(Action::RejectSend { id: send.id, code });
        }
    }

    // ---- snapshots ------------------------------------------------------------------------

    /// The queued sends as `[{id, deadlineMs}]` (snapshot and persisted state alike).
    fn queue_value(&self) -> Value {
        Value::Array(
            self.queue
                .iter()
                .map(|s| {
                    ObjectWriter::new()
                        .str("id", &s.id)
                        .num("deadlineMs", s.deadline_ms)
                        .build()
                })
                .collect(),
        )
    }

    /// status, since, pending op, queue, identity, restarts (the JS `snapshot()`).
    pub fn snapshot(&self) -> Value {
        ObjectWriter::new()
            .str("status", self.status.as_str())
            .str("uiAction", self.status.ui_action().as_str())
            .num("sinceMs", self.since_ms)
            .field("pendingOp", op_value(self.pending_op))
            .field(
                "inFlight",
                Value::Array(
                    self.in_flight_ops()
                        .into_iter()
                        .map(|op| op_value(Some(op)))
                        .collect(),
                ),
            )
            .field("queue", self.queue_value())
            .field("identity", identity_value(self.identity.as_ref()))
            .num("restarts", f64::from(self.restarts))
            .num("autoRestarts", f64::from(self.auto_restarts))
            .num("failures", f64::from(self.failures))
            .field(
                "paused",
                self.paused
                    .map_or(Value::Null, |p| Value::String(p.as_str().to_string())),
            )
            .field("retryOp", op_value(self.call_retry.map(|(op, _)| op)))
            .field(
                "nextDeadlineMs",
                self.poll_timeout().map_or(Value::Null, Value::Number),
            )
            .field(
                "startingSinceMs",
                self.starting_since_ms.map_or(Value::Null, Value::Number),
            )
            .build()
    }

    pub fn to_json(&self) -> String {
        let num = |n: Option<f64>| n.map_or(Value::Null, Value::Number);
        let timed = |t: Option<(Op, f64)>| {
            t.map_or(Value::Null, |(op, at)| {
                ObjectWriter::new()
                    .str("op", op.as_str())
                    .num("atMs", at)
                    .build()
            })
        };
        ObjectWriter::new()
            .num("v", 1.0)
            .field("options", self.opts.to_value())
            .str("status", self.status.as_str())
            .num("sinceMs", self.since_ms)
            .field(
                "uiStatus",
                self.ui_status
                    .map_or(Value::Null, |s| Value::String(s.as_str().to_string())),
            )
            .field("startingSinceMs", num(self.starting_since_ms))
            .field("debounceUntilMs", num(self.debounce_until_ms))
            .field("lastEventAtMs", num(self.last_event_at_ms))
            .field(
                "seenEventIds",
                Value::Array(
                    self.seen_event_ids
                        .iter()
                        .map(|id| Value::String(id.clone()))
                        .collect(),
                ),
            )
            .field("lastObservedMs", num(self.last_observed_ms))
            .field("lastInfoMs", num(self.last_info_ms))
            .bool("expectChange", self.expect_change)
            .bool("recheckStatus", self.recheck_status)
            .field("pendingOp", op_value(self.pending_op))
            .field("deferredOp", op_value(self.deferred_op))
            .field("callRetry", timed(self.call_retry))
            .num("callFailures", f64::from(self.call_failures))
            .bool("infoInFlight", self.info_in_flight)
            .bool("meInFlight", self.me_in_flight)
            .field("readRetry", timed(self.read_retry))
            .num("readFailures", f64::from(self.read_failures))
            .bool("startIfStopped", self.start_if_stopped)
            .field("autoRestartAtMs", num(self.auto_restart_at_ms))
            .num("autoRestarts", f64::from(self.auto_restarts))
            .num("restarts", f64::from(self.restarts))
            .num("failures", f64::from(self.failures))
            .bool("failedNotified", self.failed_notified)
            .field(
                "paused",
                self.paused
                    .map_or(Value::Null, |p| Value::String(p.as_str().to_string())),
            )
            .field("queue", self.queue_value())
            .field("identity", identity_value(self.identity.as_ref()))
            .bool("identityVerified", self.identity_verified)
            .field("maintenanceDoneMs", num(self.maintenance_done_ms))
            .field("seed", num(self.seed.map(|s| (s & SEED_MASK) as f64)))
            .field("budget", self.budget.to_value())
            .field("lastNowMs", num(self.last_now_ms))
            .build()
            .to_json()
    }

    pub fn from_json(text: &str) -> Result<LifecycleMachine> {
        let v = json::parse(text)?;
        if !v.is_object() {
            return Err(bad("a machine snapshot must be an object"));
        }
        if v.num_field("v") != Some(1.0) {
            return Err(bad("unknown snapshot version"));
        }
        let opts = MachineOptions::from_value(v.get("options").unwrap_or(&Value::Null))
            .map_err(|e| bad(&format!("options: {}", e.message)))?;
        let status = status_field(&v, "status")?.ok_or_else(|| bad("status missing"))?;
        let budget = RetryBudget::from_value(v.get("budget").unwrap_or(&Value::Null))
            .map_err(|e| bad(&e.message))?;
        let queue = match v.get("queue") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    Ok(QueuedSend {
                        id: item
                            .get("id")
                            .and_then(Value::as_str)
                            .ok_or_else(|| bad("queue entry without id"))?
                            .to_string(),
                        deadline_ms: req_num(item, "deadlineMs")?,
                    })
                })
                .collect::<Result<VecDeque<_>>>()?,
            _ => return Err(bad("queue missing")),
        };
        if queue.len() > opts.max_queued_sends.max(1) * 2 + 100_000 {
            return Err(bad("queue too long"));
        }
        let seen_event_ids = match v.get("seenEventIds") {
            Some(Value::Array(items)) if items.len() <= SEEN_EVENT_IDS => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad("seenEventIds must hold strings"))
                })
                .collect::<Result<VecDeque<_>>>()?,
            _ => return Err(bad("seenEventIds missing or too long")),
        };
        let identity = match v.get("identity") {
            None | Some(Value::Null) => None,
            Some(i) => Some(IdentityState {
                verdict: match i.str_field("verdict") {
                    Some("match") => IdentityVerdict::Match,
                    Some("mismatch") => IdentityVerdict::Mismatch,
                    Some("unverifiable") => IdentityVerdict::Unverifiable,
                    _ => return Err(bad("identity.verdict")),
                },
                me: match i.get("me") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(_) => return Err(bad("identity.me")),
                },
            }),
        };
        let identity_known = identity.is_some();
        let paused = match v.get("paused") {
            None | Some(Value::Null) => None,
            Some(p) => Some(
                p.as_str()
                    .and_then(Pause::parse)
                    .ok_or_else(|| bad("paused"))?,
            ),
        };
        let seed = match opt_num(&v, "seed")? {
            None => None,
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= SEED_MASK as f64 => Some(n as u64),
            Some(_) => return Err(bad("seed")),
        };
        Ok(LifecycleMachine {
            since_ms: req_num(&v, "sinceMs")?,
            ui_status: status_field(&v, "uiStatus")?,
            starting_since_ms: opt_num(&v, "startingSinceMs")?,
            debounce_until_ms: opt_num(&v, "debounceUntilMs")?,
            last_event_at_ms: opt_num(&v, "lastEventAtMs")?,
            seen_event_ids,
            last_observed_ms: opt_num(&v, "lastObservedMs")?,
            last_info_ms: opt_num(&v, "lastInfoMs")?,
            expect_change: req_bool(&v, "expectChange")?,
            // Added later: absent in older snapshots, where no refusal was pending.
            recheck_status: match v.get("recheckStatus") {
                None | Some(Value::Null) => false,
                Some(_) => req_bool(&v, "recheckStatus")?,
            },
            pending_op: op_field(&v, "pendingOp")?,
            deferred_op: op_field(&v, "deferredOp")?,
            call_retry: timed_field(&v, "callRetry")?,
            call_failures: count_field(&v, "callFailures")?,
            info_in_flight: req_bool(&v, "infoInFlight")?,
            me_in_flight: req_bool(&v, "meInFlight")?,
            read_retry: timed_field(&v, "readRetry")?,
            read_failures: count_field(&v, "readFailures")?,
            start_if_stopped: req_bool(&v, "startIfStopped")?,
            auto_restart_at_ms: opt_num(&v, "autoRestartAtMs")?,
            auto_restarts: count_field(&v, "autoRestarts")?,
            restarts: count_field(&v, "restarts")?,
            failures: count_field(&v, "failures")?,
            failed_notified: req_bool(&v, "failedNotified")?,
            paused,
            queue,
            identity,
            // Added after v1 snapshots were stored: absent, a stored identity counts as verified
            // (what the machine that wrote the snapshot assumed), so old snapshots still restore.
            identity_verified: match v.get("identityVerified") {
                None | Some(Value::Null) => identity_known,
                Some(_) => req_bool(&v, "identityVerified")?,
            },
            maintenance_done_ms: opt_num(&v, "maintenanceDoneMs")?,
            seed,
            budget,
            last_now_ms: opt_num(&v, "lastNowMs")?,
            status,
            opts,
            actions: VecDeque::new(),
            dirty: false,
        })
    }
}

/// The id of a `me` response: `{id, ...}`, a bare string, or null (not authenticated).
fn me_id(body: &Value) -> Option<String> {
    match body {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Object(_) => body
            .str_field("id")
            .map(str::to_string)
            .or_else(|| body.get("me").and_then(me_id)),
        _ => None,
    }
}

fn op_value(op: Option<Op>) -> Value {
    op.map_or(Value::Null, |op| Value::String(op.as_str().to_string()))
}

fn identity_value(identity: Option<&IdentityState>) -> Value {
    identity.map_or(Value::Null, |i| {
        ObjectWriter::new()
            .str("verdict", i.verdict.as_str())
            .opt_str("me", i.me.as_deref())
            .build()
    })
}

fn bad(what: &str) -> WawpError {
    WawpError::invalid_payload(format!("machine snapshot: {what}"))
}

fn opt_num(v: &Value, key: &str) -> Result<Option<f64>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_finite() => Ok(Some(*n)),
        Some(_) => Err(bad(key)),
    }
}

fn req_num(v: &Value, key: &str) -> Result<f64> {
    opt_num(v, key)?.ok_or_else(|| bad(key))
}

fn req_bool(v: &Value, key: &str) -> Result<bool> {
    v.get(key).and_then(Value::as_bool).ok_or_else(|| bad(key))
}

fn count_field(v: &Value, key: &str) -> Result<u32> {
    match req_num(v, key)? {
        n if n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX) => Ok(n as u32),
        _ => Err(bad(key)),
    }
}

fn op_field(v: &Value, key: &str) -> Result<Option<Op>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(o) => o
            .as_str()
            .and_then(Op::parse)
            .map(Some)
            .ok_or_else(|| bad(key)),
    }
}

fn status_field(v: &Value, key: &str) -> Result<Option<SessionStatus>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(SessionStatus::parse(s))),
        Some(_) => Err(bad(key)),
    }
}

fn timed_field(v: &Value, key: &str) -> Result<Option<(Op, f64)>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(t) => Ok(Some((
            op_field(t, "op")?.ok_or_else(|| bad(key))?,
            req_num(t, "atMs")?,
        ))),
    }
}
