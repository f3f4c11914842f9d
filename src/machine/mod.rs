//! The sans-IO session machine, one per instance: `handle(event, now_ms)`, then drain
//! `poll_action()`, then arm a timer at `poll_timeout()`. Rules: issue #2 and
//! `docs/reference/session-lifecycle.txt`.
//!
//! Time only enters as `now_ms`. Every deadline is absolute local time; when the clock goes
//! backwards every stored local time shifts with it (durations keep their length), a jump
//! forward fires everything that fell due, once.
//!
//! One concept per file: `options` (what a host configures), `events` in and `actions` out,
//! `timers` (the clock and every deadline), `calls` (lifecycle calls: single flight, retries),
//! `reads` (`info` / `me`), `statuses` (what an observed status sets in motion), `restarts`
//! (automatic restarts and pauses), `sends` (start-on-send queue), `delivery` (a released send's
//! outcome: delivered, handed back, retried or given up), `identity`, `maintenance`
//! (the weekly window) and `persistence` (snapshots). This file holds the state and `handle`.

mod actions;
mod calls;
mod delivery;
mod events;
mod identity;
mod maintenance;
mod options;
mod persistence;
mod reads;
mod restarts;
mod sends;
mod statuses;
mod timers;

pub use actions::{Action, AdminReason};
pub use calls::{CallResult, Op};
pub use delivery::SendOutcome;
pub use events::Event;
pub use identity::IdentityState;
pub use maintenance::Maintenance;
pub use options::MachineOptions;
pub use restarts::Pause;
pub use sends::QueuedSend;

use std::collections::VecDeque;

use crate::budget::RetryBudget;
use crate::error::ErrorCode;
use crate::status::SessionStatus;
use options::SEED_MASK;

/// Serialized as the stored form (`persistence.rs`), read back through its checks.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(try_from = "serde_json::Value")]
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
    /// Released sends whose outcome the host has not reported yet.
    sending: VecDeque<QueuedSend>,
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
            sending: VecDeque::new(),
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
        let retry_due = self.fire_due(now);
        match event {
            Event::Status(report) => self.on_webhook(&report, now),
            Event::WarmBoot => {
                self.rearm_automation();
                self.start_if_stopped = true;
                self.request_info(now);
            }
            Event::Send { id, timeout_ms } => self.on_send(id, timeout_ms, now),
            Event::SendRefused { id, .. } => self.on_send_result(SendOutcome::refused(id), now),
            Event::SendResult(outcome) => self.on_send_result(outcome, now),
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
        if retry_due {
            self.release_queue();
        }
        if self.dirty {
            self.dirty = false;
            self.actions.push_back(Action::Persist);
        }
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
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

    /// Sends waiting to be released, oldest first.
    pub fn queue(&self) -> &VecDeque<QueuedSend> {
        &self.queue
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

    /// Local time the current status began (0 before any status was observed).
    pub fn since_ms(&self) -> f64 {
        self.since_ms
    }

    /// The status the UI was last told about (`ui` actions), if any.
    pub fn ui_status(&self) -> Option<SessionStatus> {
        self.ui_status
    }

    /// Every restart issued (automatic, user, maintenance).
    pub fn restarts(&self) -> u32 {
        self.restarts
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

    fn seed(&self) -> u64 {
        self.seed.unwrap_or(0)
    }
}
