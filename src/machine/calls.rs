//! Lifecycle calls (start, restart, stop, logout): single flight, joining, retries with backoff.

use super::{Action, AdminReason, LifecycleMachine, Pause};
use crate::backoff::{Backoff, BackoffOptions, Jitter};
use crate::error::ErrorCode;
use crate::status::{SessionStatus, decode_status_value};
use serde_json::Value;

/// A lifecycle or read call the host performs over HTTP and answers with `Event::Result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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
    pub(super) fn brings_up(self) -> bool {
        matches!(self, Op::Start | Op::Restart)
    }

    pub(super) fn joins(self, demand: Op) -> bool {
        self == demand || (self.brings_up() && demand.brings_up())
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
    pub fn error_code(&self) -> ErrorCode {
        self.error.unwrap_or_else(|| {
            self.http_status
                .map_or(ErrorCode::Network, ErrorCode::from_http_status)
        })
    }

    /// Success, or WAHA's 422 "already started" on start: the engine is running.
    pub(super) fn succeeded(&self) -> bool {
        self.ok
            || (self.op == Op::Start
                && self.error_code() == ErrorCode::Conflict
                && self.http_status.is_none_or(|s| s == 422))
    }
}

/// Lifecycle call retries (429 / 5xx / network): exponential from 1 s to 1 min, full jitter.
pub(super) const CALL_RETRY_BASE_MS: f64 = 1_000.0;
pub(super) const CALL_RETRY_CAP_MS: f64 = 60_000.0;

/// The `attempt`-th delay (from 0) of a seeded backoff. Replaying from the seed keeps the
/// persisted state to (seed, attempt count) and makes every delay reproducible.
pub(super) fn backoff_delay(
    base_ms: f64,
    cap_ms: f64,
    jitter: Jitter,
    seed: u64,
    attempt: u32,
) -> f64 {
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

impl LifecycleMachine {
    /// Lifecycle demand: joins the call in flight (or waiting for its retry), else is issued.
    pub(super) fn demand(&mut self, op: Op, now: f64) {
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

    pub(super) fn issue(&mut self, op: Op, now: f64) {
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

    pub(super) fn on_result(&mut self, result: CallResult, now: f64) {
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

    pub(super) fn on_lifecycle_success(&mut self, result: &CallResult, now: f64) {
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

    pub(super) fn on_lifecycle_error(&mut self, result: &CallResult, now: f64) {
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

    pub(super) fn pause_unauthorized(&mut self) {
        self.call_retry = None;
        self.read_retry = None;
        self.deferred_op = None;
        self.auto_restart_at_ms = None;
        self.dirty = true;
        if self.paused != Some(Pause::Unauthorized) && self.paused != Some(Pause::Deleted) {
            self.paused = Some(Pause::Unauthorized);
            self.actions.push_back(Action::NotifyAdmin {
                reason: AdminReason::Unauthorized,
            });
        }
    }
}
