//! Automatic restarts (watchdog, auto-heal after FAILED), their cap and why automation pauses.

use super::calls::backoff_delay;
use super::{Action, AdminReason, LifecycleMachine, Op};
use crate::backoff::Jitter;
use crate::status::SessionStatus;

/// Why automation (automatic restarts, retries, reconciliation) is holding still.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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

    pub(super) fn parse(s: &str) -> Option<Pause> {
        [
            Pause::RestartBudgetExhausted,
            Pause::Unauthorized,
            Pause::Deleted,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// Consecutive automatic restarts back off from `failed_restart_delay_ms` up to this.
pub(super) const RESTART_BACKOFF_CAP_MS: f64 = 15.0 * 60_000.0;

impl LifecycleMachine {
    pub(super) fn automatic_restart(&mut self, now: f64) {
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

    pub(super) fn give_up_restarting(&mut self) {
        if self.paused != Some(Pause::RestartBudgetExhausted) {
            self.paused = Some(Pause::RestartBudgetExhausted);
            self.auto_restart_at_ms = None;
            self.dirty = true;
            self.actions.push_back(Action::NotifyAdmin {
                reason: AdminReason::RestartBudgetExhausted,
            });
        }
    }

    /// FAILED: restart after `failed_restart_delay_ms`, backing off for consecutive ones.
    pub(super) fn schedule_auto_heal(&mut self, now: f64) {
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
    pub(super) fn rearm_automation(&mut self) {
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
}
