//! Time: the local clock (backwards jumps shift every stored instant) and every deadline.

use super::options::{MAX_DURATION_MS, SEED_MASK};
use super::{Action, LifecycleMachine, Op, Pause};
use crate::backoff::Rng;
use crate::error::ErrorCode;
use crate::status::SessionStatus;

impl LifecycleMachine {
    /// Absolute ms of the earliest deadline.
    pub fn poll_timeout(&self) -> Option<f64> {
        [
            self.queue.iter().map(|s| s.deadline_ms).reduce(f64::min),
            self.queue
                .iter()
                .filter_map(|s| s.retry_at_ms)
                .reduce(f64::min),
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

    pub(super) fn advance_clock(&mut self, now_ms: f64) -> f64 {
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
    pub(super) fn shift_local_times(&mut self, delta: f64) {
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
            if let Some(at) = &mut send.retry_at_ms {
                shift(at);
            }
        }
        for send in &mut self.sending {
            shift(&mut send.deadline_ms);
        }
        self.dirty = true;
    }

    pub(super) fn lifecycle_busy(&self) -> bool {
        self.pending_op.is_some() || self.call_retry.is_some()
    }

    pub(super) fn watchdog_deadline(&self) -> Option<f64> {
        if self.status != SessionStatus::Starting
            || self.paused.is_some()
            || self.lifecycle_busy()
            || self.auto_restart_at_ms.is_some()
        {
            return None;
        }
        self.starting_since_ms
            .map(|since| since + self.spread(since, self.opts.starting_timeout_ms, 0x5741_5443))
    }

    /// `interval` stretched by a fraction in `[0, deadlineJitter)` drawn from the machine's seed and the
    /// moment the interval starts: thousands of instances that saw the same event at the same
    /// time (a webhook burst, a deploy) spread their reconciliations and watchdog restarts instead
    /// of calling the API in lockstep. A pure function of persisted state, so a restored machine
    /// keeps the same deadline; never shorter than `interval` (the guide's thresholds are minimums).
    fn spread(&self, start_ms: f64, interval: f64, salt: u64) -> f64 {
        let mut rng = Rng::new(self.seed() ^ salt ^ start_ms.to_bits());
        // Whole milliseconds: hosts arm timers in ms (a Durable Object alarm drops the fraction
        // and would fire before the deadline, find nothing due and never be re-armed).
        (interval * (1.0 + self.opts.deadline_jitter * rng.next_f64())).ceil()
    }

    pub(super) fn reconcile_deadline(&self) -> Option<f64> {
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
        let interval = if short {
            self.opts.reconcile_short_ms
        } else {
            self.opts.reconcile_long_ms
        };
        Some(base + self.spread(base, interval, 0x5245_434f))
    }

    pub(super) fn maintenance_deadline(&self) -> Option<f64> {
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

    /// Fires every deadline that passed; true when a send's retry time came.
    pub(super) fn fire_due(&mut self, now: f64) -> bool {
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
        // Sends whose retry time came wait only for WORKING now; `handle` releases them after
        // the event, so a status in the same event is taken into account first.
        let mut retry_due = false;
        for send in &mut self.queue {
            if send.retry_at_ms.is_some_and(|at| at <= now) {
                send.retry_at_ms = None;
                retry_due = true;
            }
        }
        self.dirty |= retry_due;

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
        retry_due
    }

    /// How long until the retry budget holds a token again (at least a second).
    pub(super) fn budget_wait_ms(&self, now: f64) -> f64 {
        self.budget
            .wait_ms(1.0, now)
            .unwrap_or(MAX_DURATION_MS)
            .clamp(1000.0, MAX_DURATION_MS)
    }
}
