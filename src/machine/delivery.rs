//! Delivery: what happens to a released send once its host reports the outcome (`send_result`).
//! The one place that decides delivered, handed back, retried later or given up — hosts only
//! perform the request the machine released and report what came back.
//!
//! - ok → `resolve_send`.
//! - HTTP 422 (`conflict`: the session was not in the expected state): the WORKING the machine
//!   believed was stale. Certainly not delivered: re-read the status and hold the send until a fresh
//!   status confirms WORKING (`hold_send`).
//! - 429 (`rate_limited`), 503 (the API is unavailable: it did not take the request), or `network`
//!   / `timeout` the host knows never left (`maybeDelivered: false`): certainly not delivered,
//!   retried after a seeded backoff (never sooner than Retry-After) while the send has attempts left
//!   (`maxSendAttempts`) and its deadline allows.
//! - Anything else is given up (`reject_send` with the outcome's code). That includes every outcome
//!   that may follow a delivery — a `timeout` / `network` error after the request left, any other
//!   5xx (a 500 / 502 / 504 can come after the engine sent it), or a host that lost the request
//!   (`closed`): a duplicate message is worse than a missed one, so such a send is never sent
//!   again; the caller learns it may or may not have gone out.

use std::collections::VecDeque;

use super::calls::backoff_delay;
use super::options::MAX_DURATION_MS;
use super::{Action, LifecycleMachine, Op, QueuedSend};
use crate::backoff::Jitter;
use crate::error::ErrorCode;
use crate::http;
use crate::status::SessionStatus;

/// The host's report on a send the machine released (`{type:"send_result", ...}`).
#[derive(Debug, Clone, PartialEq)]
pub struct SendOutcome {
    pub id: String,
    pub ok: bool,
    pub error: Option<ErrorCode>,
    pub http_status: Option<u16>,
    pub retry_after_ms: Option<f64>,
    /// Could the request have reached the API? `None`: as the error implies (a `network` or
    /// `timeout` error may have; hosts that know the request never left say `false`).
    pub maybe_delivered: Option<bool>,
}

impl SendOutcome {
    /// The API refused the send because the session was not in the expected state (HTTP 422).
    pub fn refused(id: String) -> SendOutcome {
        SendOutcome {
            id,
            ok: false,
            error: Some(ErrorCode::Conflict),
            http_status: Some(422),
            retry_after_ms: None,
            maybe_delivered: Some(false),
        }
    }

    /// The error code of a failed send: the given one, else from the HTTP status, else `network`.
    pub fn code(&self) -> ErrorCode {
        self.error.unwrap_or_else(|| {
            self.http_status
                .map_or(ErrorCode::Network, ErrorCode::from_http_status)
        })
    }
}

enum Verdict {
    Delivered,
    /// Stale WORKING: wait for a fresh status.
    HandBack,
    /// Certainly not delivered: again after this many ms.
    RetryIn(f64),
    GiveUp(ErrorCode),
}

impl LifecycleMachine {
    /// Sends released and not reported yet (`attempts` counts this release; the deadline is kept
    /// for a hand-back or retry). A host restored in a new process (the old requests died with
    /// the old one) reports each as `{ok:false, error:"closed"}`.
    pub fn sending(&self) -> &VecDeque<QueuedSend> {
        &self.sending
    }

    /// Releases one send: it is in flight until its `send_result`.
    pub(super) fn release(&mut self, send: QueuedSend) {
        self.dirty = true;
        self.actions.push_back(Action::ReleaseSend {
            id: send.id.clone(),
        });
        self.sending.push_back(QueuedSend {
            attempts: send.attempts.saturating_add(1),
            retry_at_ms: None,
            ..send
        });
    }

    pub(super) fn on_send_result(&mut self, outcome: SendOutcome, now: f64) {
        let Some(pos) = self.sending.iter().position(|s| s.id == outcome.id) else {
            return; // not in flight (a repeated report): the send already resolved once
        };
        let Some(send) = self.sending.remove(pos) else {
            return;
        };
        self.dirty = true;
        let id = send.id.clone();
        match self.verdict(&outcome, &send) {
            Verdict::Delivered => self.actions.push_back(Action::ResolveSend { id }),
            Verdict::GiveUp(code) => self.actions.push_back(Action::RejectSend { id, code }),
            Verdict::HandBack => {
                self.recheck_status = true;
                self.start_if_stopped = true;
                self.hold(send, None, now);
                self.request_info(now);
            }
            Verdict::RetryIn(delay) if now + delay < send.deadline_ms => {
                self.hold(send, Some(now + delay), now);
            }
            // The retry would come after the caller's deadline: give up now with the reason.
            Verdict::RetryIn(_) => self.actions.push_back(Action::RejectSend {
                id,
                code: outcome.code(),
            }),
        }
    }

    fn verdict(&self, outcome: &SendOutcome, send: &QueuedSend) -> Verdict {
        if outcome.ok {
            return Verdict::Delivered;
        }
        let code = outcome.code();
        let left = send.attempts < self.opts.max_send_attempts;
        // The same rule as the client's own retry (`http::may_retry`): one rule, not two.
        let maybe_delivered = outcome.maybe_delivered != Some(false);
        if !left || !http::send_not_delivered(code, outcome.http_status, maybe_delivered) {
            return Verdict::GiveUp(code);
        }
        match code {
            ErrorCode::Conflict => Verdict::HandBack,
            _ => Verdict::RetryIn(self.send_retry_delay(outcome, send)),
        }
    }

    /// Seeded exponential backoff with full jitter, per message (the id is mixed into the seed,
    /// so sends refused together do not retry in lockstep), never below Retry-After.
    fn send_retry_delay(&self, outcome: &SendOutcome, send: &QueuedSend) -> f64 {
        let id_hash = send.id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        backoff_delay(
            self.opts.send_retry_base_ms,
            self.opts.send_retry_cap_ms,
            Jitter::Full,
            self.seed() ^ id_hash,
            send.attempts.saturating_sub(1),
        )
        .max(outcome.retry_after_ms.unwrap_or(0.0))
        .max(self.opts.send_retry_base_ms / 4.0)
        .min(MAX_DURATION_MS)
    }

    /// Back into the queue (at its head: it was first), released again at `retry_at_ms` or, for
    /// a hand-back, once a fresh status confirms WORKING.
    fn hold(&mut self, send: QueuedSend, retry_at_ms: Option<f64>, now: f64) {
        self.actions.push_back(Action::HoldSend {
            id: send.id.clone(),
            attempts: send.attempts,
        });
        self.queue.push_front(QueuedSend {
            retry_at_ms,
            ..send
        });
        if self.status == SessionStatus::Stopped {
            self.demand(Op::Start, now); // it stopped while the send was out: start-on-send again
        }
    }
}
