//! The session driver: the sans-IO `LifecycleMachine` plus every decision a host used to make
//! around it, so a host only performs I/O, arms one timer, stores bytes and shows the view.
//!
//! `handle(event, now_ms)`, then drain `poll_effect()`, then arm a timer at `poll_timeout()`.
//! Besides the machine's own rules the driver decides
//! - which automatic calls spend the shared retry budget, answering refused ones itself
//!   (`budget_gate`);
//! - what the UI shows (`view`): the accepted report, the account, the server name, the last
//!   error, the open notification, the call in flight, ... and when it changed (`view` effect);
//! - when a QR image is worth reading (`read_qr` effect);
//! - which observed webhook items carry a status at all (`observe`);
//! - which calls and sends a new process must answer after loading it (`in_flight`, `restored`),
//!   and what becomes of sends the host stored that the driver does not hold (`stored_sends`);
//! - what is stored (`persistence`: machine + view + in-flight calls in one JSON text).

mod budget_gate;
mod effects;
mod events;
mod in_flight;
mod observe;
mod persistence;
mod stored_sends;
mod view;

pub use budget_gate::SharedBudget;
pub use effects::{DriverEffect, DriverOnly};
pub use events::DriverEvent;
pub use observe::{status_reports, status_reports_text};
pub use stored_sends::{StoredSend, StoredSendState};
pub use view::{LastError, Learned, Notification, SessionView, ViewIdentity, ViewMe};

use std::collections::VecDeque;

use crate::error::ErrorCode;
use crate::machine::{
    Action, CallResult, Event, LifecycleMachine, MachineOptions, Op, SendOutcome,
};
use crate::status::{SessionStatus, StatusReport, UiAction};
use crate::webhook::is_status_event;
use in_flight::InFlight;

/// Rounds of "a refused call answered, the machine asks again" within one event at most (the
/// machine schedules a retry after a failed call, so one round is the norm).
const MAX_GATE_ROUNDS: usize = 4;

#[derive(Debug, Clone)]
pub struct SessionDriver {
    machine: LifecycleMachine,
    learned: Learned,
    in_flight: InFlight,
    budget: Option<SharedBudget>,
    effects: VecDeque<DriverEffect>,
}

impl SessionDriver {
    pub fn new(opts: MachineOptions) -> SessionDriver {
        SessionDriver::assemble(
            LifecycleMachine::new(opts),
            Learned::default(),
            InFlight::default(),
        )
    }

    fn assemble(machine: LifecycleMachine, learned: Learned, in_flight: InFlight) -> SessionDriver {
        SessionDriver {
            machine,
            learned,
            in_flight,
            budget: None,
            effects: VecDeque::new(),
        }
    }

    /// Shares `budget` with other drivers: automatic starts and restarts spend one token each.
    pub fn set_budget(&mut self, budget: Option<SharedBudget>) {
        self.budget = budget;
    }

    pub fn handle(&mut self, event: DriverEvent, now_ms: f64) {
        self.step(event, true, now_ms);
    }

    /// Every status in an observed input (see `observe`), handled in order. Nothing is handled
    /// when any item cannot be decoded.
    pub fn observe(&mut self, reports: Vec<StatusReport>, now_ms: f64) {
        for report in reports {
            self.step(Event::Status(Box::new(report)).into(), true, now_ms);
        }
    }

    /// A new process loaded this driver from storage: every call it had in flight is answered
    /// `network`, every send on the wire `closed` (the machine decides what follows). These
    /// answers are the host's loss, not the API's: they do not become `lastError`.
    pub fn restored(&mut self, now_ms: f64) {
        let sends: Vec<String> = self
            .machine
            .sending()
            .iter()
            .map(|s| s.id.clone())
            .collect();
        for id in sends {
            let outcome = SendOutcome {
                id,
                ok: false,
                error: Some(ErrorCode::Closed),
                http_status: None,
                retry_after_ms: None,
                maybe_delivered: None,
            };
            self.step(Event::SendResult(outcome).into(), false, now_ms);
        }
        for op in self.in_flight.take() {
            self.step(
                Event::Result(failed(op, ErrorCode::Network, None)).into(),
                false,
                now_ms,
            );
        }
    }

    /// A failure of the host's own I/O outside the machine (e.g. reading the QR image).
    pub fn note_error(&mut self, op: &str, code: ErrorCode, message: Option<String>, now_ms: f64) {
        self.learned.note_error(op, code, message, now_ms);
        self.effects
            .push_back(DriverEffect::Driver(DriverOnly::View));
    }

    pub fn poll_effect(&mut self) -> Option<DriverEffect> {
        self.effects.pop_front()
    }

    /// Absolute ms of the next deadline; handle `{type:"timeout"}` when it passes.
    pub fn poll_timeout(&self) -> Option<f64> {
        self.machine.poll_timeout()
    }

    pub fn view(&self) -> SessionView {
        view::build(&self.machine, &self.learned, self.in_flight.ops())
    }

    pub fn machine(&self) -> &LifecycleMachine {
        &self.machine
    }

    pub fn status(&self) -> SessionStatus {
        self.machine.status()
    }

    pub fn queued_sends(&self) -> usize {
        self.machine.queued_sends()
    }

    /// Calls handed to the host and not answered yet.
    pub fn in_flight(&self) -> &[Op] {
        self.in_flight.ops()
    }

    /// One event: learn what it tells, let the machine decide, gate its calls, learn from its
    /// actions, then say whether the view changed and whether a QR is worth reading.
    fn step(&mut self, event: DriverEvent, note_errors: bool, now_ms: f64) {
        let DriverEvent { event, message, .. } = event;
        // A status item of another webhook kind carries no session status.
        if let Event::Status(report) = &event {
            if report
                .event
                .as_deref()
                .is_some_and(|name| !is_status_event(name))
            {
                return;
            }
        }
        let before = view::facts(&self.machine);
        let mut changed = false;
        let mut accepted: Option<StatusReport> = None;
        let mut answered: Option<(Op, Option<serde_json::Value>)> = None;
        match &event {
            Event::Status(report) => accepted = Some((**report).clone()),
            Event::Result(result) => {
                changed |= self.in_flight.answered(result.op);
                if result.ok {
                    answered = Some((result.op, result.body.clone()));
                } else if note_errors {
                    self.learned.note_error(
                        result.op.as_str(),
                        result.error_code(),
                        message,
                        now_ms,
                    );
                    changed = true;
                }
            }
            Event::SendResult(outcome) if !outcome.ok && note_errors => {
                self.learned
                    .note_error("send", outcome.code(), message, now_ms);
                changed = true;
            }
            _ => {}
        }
        let automatic = !budget_gate::user_triggered(&event);
        let qr_observed =
            matches!(&event, Event::Status(r) if r.status == SessionStatus::ScanQrCode);
        let ui_before = view::ui_action(&self.machine);
        self.machine.handle(event, now_ms);
        changed |= self.drain(automatic, now_ms);
        let status = self.machine.status();
        if let Some(report) = accepted {
            changed |= self.learned.accept_report(report, status);
        }
        if let Some((op, body)) = answered {
            let was = self.learned.clone();
            self.learned.learn_from_body(op, body.as_ref(), status);
            changed |= self.learned != was;
        }
        changed |= self.learned.close_notification(&self.machine);
        let ui_now = view::ui_action(&self.machine);
        let entering_qr = ui_now == UiAction::ScanQr && ui_before != UiAction::ScanQr;
        if entering_qr || (qr_observed && ui_now == UiAction::ScanQr) {
            self.effects
                .push_back(DriverEffect::Driver(DriverOnly::ReadQr));
        }
        if changed || view::facts(&self.machine) != before {
            self.effects
                .push_back(DriverEffect::Driver(DriverOnly::View));
        }
    }

    /// Moves the machine's actions to the effects, gating calls on the shared budget. Returns
    /// whether the view changed.
    fn drain(&mut self, automatic: bool, now_ms: f64) -> bool {
        let mut changed = false;
        for round in 0..MAX_GATE_ROUNDS {
            // The last round lets every call out, so no action is ever left in the machine.
            let gated = automatic && round + 1 < MAX_GATE_ROUNDS;
            let mut refused = Vec::new();
            while let Some(action) = self.machine.poll_action() {
                match &action {
                    Action::Call { op } => {
                        if let Err(retry_after_ms) =
                            budget_gate::admit(self.budget.as_ref(), *op, gated, now_ms)
                        {
                            self.effects
                                .push_back(DriverEffect::Driver(DriverOnly::Result {
                                    op: *op,
                                    ok: false,
                                    error: ErrorCode::RateLimited,
                                }));
                            refused.push(failed(*op, ErrorCode::RateLimited, retry_after_ms));
                            continue;
                        }
                        self.in_flight.issued(*op);
                        changed = true;
                    }
                    Action::Identity { verdict, me } => {
                        self.learned.identity(*verdict, me.as_ref());
                        changed = true;
                    }
                    Action::ClearIdentity => {
                        self.learned.clear_identity();
                        changed = true;
                    }
                    Action::NotifyAdmin { reason } => {
                        self.learned.notification = Some(Notification {
                            reason: *reason,
                            at_ms: now_ms,
                        });
                        changed = true;
                    }
                    _ => {}
                }
                self.effects.push_back(action.into());
            }
            if refused.is_empty() {
                break;
            }
            for result in refused {
                self.machine.handle(Event::Result(result), now_ms);
            }
        }
        changed
    }
}

fn failed(op: Op, code: ErrorCode, retry_after_ms: Option<f64>) -> CallResult {
    CallResult {
        op,
        ok: false,
        error: Some(code),
        http_status: None,
        retry_after_ms,
        body: None,
    }
}
