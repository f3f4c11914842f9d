//! Observed statuses (webhooks, `info`, call answers) and what each one sets in motion.

use super::{Action, AdminReason, LifecycleMachine, Op, Pause};
use crate::error::ErrorCode;
use crate::status::{SessionStatus, StatusReport};

/// Recently applied webhook ids kept for de-duplication.
pub(super) const SEEN_EVENT_IDS: usize = 128;

impl LifecycleMachine {
    pub(super) fn on_webhook(&mut self, report: &StatusReport, now: f64) {
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
    pub(super) fn observe(&mut self, new: SessionStatus, now: f64) {
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

    pub(super) fn emit_ui(&mut self) {
        if self.ui_status != Some(self.status) {
            self.ui_status = Some(self.status);
            self.dirty = true;
            self.actions.push_back(Action::Ui {
                ui_action: self.status.ui_action(),
                status: self.status,
            });
        }
    }

    pub(super) fn on_working(&mut self) {
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

    pub(super) fn on_failed(&mut self, old: SessionStatus, now: f64) {
        if !self.failed_notified {
            self.failed_notified = true;
            self.failures = self.failures.saturating_add(1);
            self.actions.push_back(Action::NotifyAdmin {
                reason: AdminReason::Failed,
            });
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

    pub(super) fn on_deleted(&mut self) {
        self.reject_queue(ErrorCode::NotFound);
        self.call_retry = None;
        self.read_retry = None;
        self.deferred_op = None;
        self.auto_restart_at_ms = None;
        self.start_if_stopped = false;
        self.paused = Some(Pause::Deleted);
        self.actions.push_back(Action::NotifyAdmin {
            reason: AdminReason::Deleted,
        });
    }
}
