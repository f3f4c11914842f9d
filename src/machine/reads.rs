//! The read calls: `info` (reconciliation, warm boot) and `me` (identity).

use super::calls::{CALL_RETRY_BASE_MS, CALL_RETRY_CAP_MS, backoff_delay};
use super::{Action, CallResult, LifecycleMachine, Op};
use crate::backoff::Jitter;
use crate::error::ErrorCode;
use crate::identity::{IdentityVerdict, compare_identity};
use serde_json::Value;

use crate::payload::Fields;
use crate::status::{SessionStatus, decode_status_value};

impl LifecycleMachine {
    pub(super) fn read_retry_delay(&mut self, result: &CallResult) -> f64 {
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

    pub(super) fn request_info(&mut self, now: f64) {
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

    pub(super) fn request_me(&mut self) {
        if self.me_in_flight || self.opts.expected_jid.is_none() {
            return;
        }
        if self.read_retry.is_some_and(|(op, _)| op == Op::Me) {
            self.read_retry = None;
        }
        self.me_in_flight = true;
        self.actions.push_back(Action::Call { op: Op::Me });
    }

    pub(super) fn on_info_result(&mut self, result: CallResult, now: f64) {
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

    pub(super) fn on_me_result(&mut self, result: CallResult, now: f64) {
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
}

/// The id of a `me` response: `{id, ...}`, a bare string, or null (not authenticated).
pub(super) fn me_id(body: &Value) -> Option<String> {
    match body {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Object(_) => body
            .str_field("id")
            .map(str::to_string)
            .or_else(|| body.get("me").and_then(me_id)),
        _ => None,
    }
}
