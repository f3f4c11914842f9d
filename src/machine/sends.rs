//! Start-on-send: the queue of sends waiting for WORKING, released or rejected exactly once.

use super::{Action, LifecycleMachine, Op};
use crate::error::ErrorCode;
use crate::identity::IdentityVerdict;
use crate::status::SessionStatus;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedSend {
    pub id: String,
    pub deadline_ms: f64,
    /// Releases so far (0 until a retry or a hand-back brings it back).
    #[serde(skip_serializing_if = "is_zero")]
    pub attempts: u32,
    /// A retried send waits for this time (then clears it) besides WORKING.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<f64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl LifecycleMachine {
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

    pub(super) fn on_send(&mut self, id: String, timeout_ms: Option<f64>, now: f64) {
        if self.queue.iter().any(|s| s.id == id) || self.sending.iter().any(|s| s.id == id) {
            return; // already waiting or out: it still resolves exactly once
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
                let deadline_ms = now + self.send_timeout(timeout_ms);
                self.release(QueuedSend {
                    id,
                    deadline_ms,
                    attempts: 0,
                    retry_at_ms: None,
                });
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
        self.queue.push_back(QueuedSend {
            id,
            deadline_ms: now + self.send_timeout(timeout_ms),
            attempts: 0,
            retry_at_ms: None,
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

    fn send_timeout(&self, timeout_ms: Option<f64>) -> f64 {
        timeout_ms
            .filter(|t| t.is_finite() && *t > 0.0)
            .unwrap_or(self.opts.send_timeout_ms)
    }

    /// Releases every queued send not waiting for a retry time, in order.
    pub(super) fn release_queue(&mut self) {
        if !self.can_release() {
            return;
        }
        let mut i = 0;
        while let Some(send) = self.queue.get(i) {
            if send.retry_at_ms.is_some() {
                i += 1; // waits for its retry time
            } else if let Some(send) = self.queue.remove(i) {
                self.release(send);
            }
        }
    }

    pub(super) fn reject_queue(&mut self, code: ErrorCode) {
        while let Some(send) = self.queue.pop_front() {
            self.dirty = true;
            self.actions
                .push_back(Action::RejectSend { id: send.id, code });
        }
    }
}
