#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! One or more tests per rule of the lifecycle machine (issue #2, item 4) and the stability
//! metrics. Each test drives the machine like a host would: handle, drain, look at the deadline.

mod values;
use values::ToValue;
use wawp_session::payload::Fields;

use serde_json::Value;
use wawp_session::machine::{AdminReason, Maintenance, Pause};
use wawp_session::metrics::stability;
use wawp_session::payload;
use wawp_session::{
    Action, CallResult, ErrorCode, Event, IdentityVerdict, LifecycleMachine, MachineOptions, Op,
    SessionStatus, StatusReport, UiAction,
};

const T0: f64 = 1_741_249_702_485.0; // a Thursday, 08:28 UTC
const EXPECTED: &str = "201012345678@c.us";

struct Host {
    m: LifecycleMachine,
    now: f64,
}

impl Host {
    fn new(opts: MachineOptions) -> Host {
        Host {
            m: LifecycleMachine::new(opts),
            now: T0,
        }
    }

    fn default() -> Host {
        Host::new(MachineOptions::default())
    }

    fn expecting() -> Host {
        Host::new(MachineOptions {
            expected_jid: Some(EXPECTED.into()),
            ..MachineOptions::default()
        })
    }

    fn drain(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.m.poll_action()).collect()
    }

    fn step(&mut self, event: Event) -> Vec<Action> {
        self.m.handle(event, self.now);
        self.drain()
    }

    fn status(&mut self, s: SessionStatus) -> Vec<Action> {
        self.step(Event::Status(Box::new(StatusReport::from_status(s))))
    }

    fn webhook(&mut self, s: SessionStatus, at_ms: Option<f64>, id: Option<&str>) -> Vec<Action> {
        let mut r = StatusReport::from_status(s);
        r.at_ms = at_ms;
        r.event_id = id.map(str::to_string);
        self.step(Event::Status(Box::new(r)))
    }

    fn send(&mut self, id: &str) -> Vec<Action> {
        self.step(Event::Send {
            id: id.into(),
            timeout_ms: None,
        })
    }

    fn ok(&mut self, op: Op, body: Option<&str>) -> Vec<Action> {
        self.step(Event::Result(CallResult {
            op,
            ok: true,
            error: None,
            http_status: Some(200),
            retry_after_ms: None,
            body: body.map(|b| payload::parse(b).unwrap()),
        }))
    }

    fn err(
        &mut self,
        op: Op,
        code: ErrorCode,
        http: u16,
        retry_after_ms: Option<f64>,
    ) -> Vec<Action> {
        self.step(Event::Result(CallResult {
            op,
            ok: false,
            error: Some(code),
            http_status: Some(http),
            retry_after_ms,
            body: None,
        }))
    }

    /// Advance to `at` and deliver the timer event.
    fn at(&mut self, at: f64) -> Vec<Action> {
        self.now = at;
        self.step(Event::Timeout)
    }

    /// Fire the machine's own next deadline.
    fn next_deadline(&mut self) -> Vec<Action> {
        let at = self.m.poll_timeout().expect("a deadline");
        self.at(at.max(self.now))
    }

    /// Run the machine's timers (answering nothing) until `until`.
    fn run_until(&mut self, until: f64) -> Vec<Action> {
        let mut all = Vec::new();
        for _ in 0..10_000 {
            match self.m.poll_timeout() {
                Some(at) if at <= until => all.extend(self.at(at.max(self.now))),
                _ => break,
            }
        }
        self.now = self.now.max(until);
        all
    }

    fn working(&mut self) {
        self.status(SessionStatus::Working);
        if self.m.options().expected_jid.is_some() {
            self.ok(Op::Me, Some(r#"{"id":"201012345678@c.us","pushName":"x"}"#));
        }
    }
}

fn call(op: Op) -> Action {
    Action::Call { op }
}
fn calls(actions: &[Action]) -> Vec<Op> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Call { op } => Some(*op),
            _ => None,
        })
        .collect()
}
fn ui(actions: &[Action]) -> Vec<UiAction> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Ui { ui_action, .. } => Some(*ui_action),
            _ => None,
        })
        .collect()
}
fn released(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::ReleaseSend { id } => Some(id.clone()),
            _ => None,
        })
        .collect()
}
fn rejected(actions: &[Action]) -> Vec<(String, ErrorCode)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::RejectSend { id, code } => Some((id.clone(), *code)),
            _ => None,
        })
        .collect()
}
fn notified(actions: &[Action]) -> Vec<&'static str> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::NotifyAdmin { reason } => Some(reason.as_str()),
            _ => None,
        })
        .collect()
}

// ---- warm boot -----------------------------------------------------------------------------

#[test]
fn warm_boot_asks_info_and_starts_a_stopped_session() {
    let mut h = Host::default();
    assert_eq!(calls(&h.step(Event::WarmBoot)), vec![Op::Info]);
    let a = h.ok(
        Op::Info,
        Some(r#"{"name":"wawp-1","status":"STOPPED","me":null}"#),
    );
    assert_eq!(calls(&a), vec![Op::Start]);
    assert_eq!(ui(&a), vec![UiAction::Start]);
    assert_eq!(h.m.pending_op(), Some(Op::Start));
}

#[test]
fn warm_boot_leaves_a_running_session_alone() {
    let mut h = Host::default();
    h.step(Event::WarmBoot);
    let a = h.ok(Op::Info, Some(r#"{"status":"WORKING"}"#));
    assert!(calls(&a).is_empty());
    assert_eq!(ui(&a), vec![UiAction::Connected]);
}

#[test]
fn warm_boot_retries_a_failed_info_later_not_at_once() {
    let mut h = Host::default();
    h.step(Event::WarmBoot);
    let a = h.err(Op::Info, ErrorCode::Server, 503, None);
    assert!(calls(&a).is_empty());
    let at = h.m.poll_timeout().unwrap();
    assert!(at > h.now);
    assert_eq!(calls(&h.at(at)), vec![Op::Info]);
    assert_eq!(
        calls(&h.ok(Op::Info, Some(r#"{"status":"STOPPED"}"#))),
        vec![Op::Start]
    );
}

#[test]
fn user_start_stop_logout_issue_their_calls() {
    let mut h = Host::default();
    h.status(SessionStatus::Stopped);
    assert_eq!(calls(&h.step(Event::UserStart)), vec![Op::Start]);
    h.ok(Op::Start, Some(r#"{"status":"STARTING"}"#));
    h.working();
    assert_eq!(calls(&h.step(Event::UserLogout)), vec![Op::Logout]);
    let a = h.ok(Op::Logout, Some(r#"{"status":"SCAN_QR_CODE"}"#));
    assert!(a.contains(&Action::ClearIdentity));
    assert_eq!(ui(&a), vec![UiAction::ScanQr]);
    assert_eq!(calls(&h.step(Event::UserStop)), vec![Op::Stop]);
}

// ---- sends ---------------------------------------------------------------------------------

#[test]
fn send_while_working_is_released_at_once() {
    let mut h = Host::default();
    h.working();
    assert_eq!(released(&h.send("a")), vec!["a"]);
    assert_eq!(h.m.queued_sends(), 0);
}

#[test]
fn send_while_stopped_queues_and_starts() {
    let mut h = Host::default();
    h.status(SessionStatus::Stopped);
    let a = h.send("a");
    assert_eq!(calls(&a), vec![Op::Start]);
    assert!(released(&a).is_empty());
    assert_eq!(h.m.queued_sends(), 1);
}

#[test]
fn send_while_starting_or_failed_queues_without_a_call() {
    for s in [SessionStatus::Starting, SessionStatus::Failed] {
        let mut h = Host::default();
        h.status(s);
        let a = h.send("a");
        assert!(calls(&a).is_empty(), "{s:?}");
        assert!(rejected(&a).is_empty());
        assert_eq!(h.m.queued_sends(), 1);
    }
}

#[test]
fn send_while_user_action_needed_is_rejected_needs_qr() {
    for s in [
        SessionStatus::ScanQrCode,
        SessionStatus::Logout,
        SessionStatus::PasskeyRequired,
        SessionStatus::PasskeyConfirmationRequired,
    ] {
        let mut h = Host::default();
        h.status(s);
        assert_eq!(
            rejected(&h.send("a")),
            vec![("a".into(), ErrorCode::NeedsQr)],
            "{s:?}"
        );
    }
}

#[test]
fn send_while_deleted_is_not_found() {
    let mut h = Host::default();
    h.status(SessionStatus::Deleted);
    assert_eq!(
        rejected(&h.send("a")),
        vec![("a".into(), ErrorCode::NotFound)]
    );
}

#[test]
fn send_in_unknown_state_asks_info_and_starts_if_stopped() {
    let mut h = Host::default();
    assert_eq!(calls(&h.send("a")), vec![Op::Info]);
    let a = h.ok(Op::Info, Some(r#"{"status":"STOPPED"}"#));
    assert_eq!(calls(&a), vec![Op::Start]);
}

#[test]
fn queue_is_bounded() {
    let mut h = Host::new(MachineOptions {
        max_queued_sends: 2,
        ..MachineOptions::default()
    });
    h.status(SessionStatus::Starting);
    h.send("a");
    h.send("b");
    assert_eq!(
        rejected(&h.send("c")),
        vec![("c".into(), ErrorCode::QueueFull)]
    );
    assert_eq!(h.m.queued_sends(), 2);
}

#[test]
fn queued_sends_time_out_with_their_own_or_the_default_deadline() {
    let mut h = Host::default();
    h.status(SessionStatus::Starting);
    h.send("default");
    h.step(Event::Send {
        id: "short".into(),
        timeout_ms: Some(5_000.0),
    });
    assert_eq!(h.m.poll_timeout(), Some(T0 + 5_000.0));
    assert_eq!(
        rejected(&h.at(T0 + 5_000.0)),
        vec![("short".into(), ErrorCode::SendTimeout)]
    );
    let a = h.run_until(T0 + 120_000.0);
    assert_eq!(
        rejected(&a),
        vec![("default".into(), ErrorCode::SendTimeout)]
    );
    assert_eq!(h.m.queued_sends(), 0);
}

#[test]
fn queue_is_released_in_fifo_order_on_working() {
    let mut h = Host::default();
    h.status(SessionStatus::Starting);
    for id in ["1", "2", "3"] {
        h.send(id);
    }
    assert_eq!(
        released(&h.status(SessionStatus::Working)),
        vec!["1", "2", "3"]
    );
}

#[test]
fn a_duplicate_send_id_still_resolves_once() {
    let mut h = Host::default();
    h.status(SessionStatus::Starting);
    h.send("a");
    assert!(
        h.send("a")
            .iter()
            .all(|a| !matches!(a, Action::RejectSend { .. }))
    );
    assert_eq!(released(&h.status(SessionStatus::Working)), vec!["a"]);
}

#[test]
fn user_stop_rejects_queued_sends_as_closed() {
    let mut h = Host::default();
    h.status(SessionStatus::Starting);
    h.send("a");
    let a = h.step(Event::UserStop);
    assert_eq!(rejected(&a), vec![("a".into(), ErrorCode::Closed)]);
    assert_eq!(calls(&a), vec![Op::Stop]);
}

// ---- identity ------------------------------------------------------------------------------

#[test]
fn working_with_expected_jid_asks_me_and_releases_after_a_match() {
    let mut h = Host::expecting();
    h.status(SessionStatus::Starting);
    h.send("a");
    let a = h.status(SessionStatus::Working);
    assert_eq!(calls(&a), vec![Op::Me]);
    assert!(released(&a).is_empty(), "released before me confirmed");
    // A send arriving while me is in flight waits too.
    assert!(released(&h.send("b")).is_empty());
    let a = h.ok(
        Op::Me,
        Some(r#"{"id":"201012345678:7@s.whatsapp.net","pushName":"Biz"}"#),
    );
    assert!(a.contains(&Action::Identity {
        verdict: IdentityVerdict::Match,
        me: Some(EXPECTED.into())
    }));
    assert_eq!(released(&a), vec!["a", "b"]);
}

#[test]
fn identity_mismatch_rejects_every_queued_send_and_notifies() {
    let mut h = Host::expecting();
    h.status(SessionStatus::Starting);
    h.send("a");
    h.send("b");
    h.status(SessionStatus::Working);
    let a = h.ok(Op::Me, Some(r#"{"id":"15550000000@c.us"}"#));
    assert_eq!(
        rejected(&a),
        vec![
            ("a".into(), ErrorCode::IdentityMismatch),
            ("b".into(), ErrorCode::IdentityMismatch)
        ]
    );
    assert_eq!(notified(&a), vec!["identity_mismatch"]);
    assert!(released(&a).is_empty());
    assert_eq!(
        rejected(&h.send("c")),
        vec![("c".into(), ErrorCode::IdentityMismatch)]
    );
}

#[test]
fn unverifiable_identity_releases_and_reports_the_verdict() {
    for body in [r#"{"id":"123123@lid"}"#, "null"] {
        let mut h = Host::expecting();
        h.status(SessionStatus::Starting);
        h.send("a");
        h.status(SessionStatus::Working);
        let a = h.ok(Op::Me, Some(body));
        assert!(
            a.iter().any(|x| matches!(
                x,
                Action::Identity {
                    verdict: IdentityVerdict::Unverifiable,
                    ..
                }
            )),
            "{body}: {a:?}"
        );
        assert_eq!(released(&a), vec!["a"]);
        // A null `me` means "not authenticated": the WORKING status is checked again at once.
        assert_eq!(
            calls(&a).contains(&Op::Info),
            body == "null",
            "{body}: {a:?}"
        );
    }
}

#[test]
fn losing_pairing_clears_identity_and_shows_the_qr() {
    let mut h = Host::expecting();
    h.working();
    let a = h.status(SessionStatus::ScanQrCode);
    assert!(a.contains(&Action::ClearIdentity));
    assert_eq!(ui(&a), vec![UiAction::ScanQr]);
    assert!(h.m.identity().is_none());

    let mut h = Host::expecting();
    h.working();
    let a = h.status(SessionStatus::Logout);
    assert!(a.contains(&Action::ClearIdentity));
    assert_eq!(ui(&a), vec![UiAction::ScanQr]);
    // Paired again: me is asked again before anything is released.
    h.status(SessionStatus::Starting);
    h.send("x");
    assert_eq!(calls(&h.status(SessionStatus::Working)), vec![Op::Me]);
}

// ---- single flight -------------------------------------------------------------------------

#[test]
fn at_most_one_lifecycle_call_and_new_demand_joins_it() {
    let mut h = Host::default();
    h.status(SessionStatus::Stopped);
    assert_eq!(calls(&h.send("a")), vec![Op::Start]);
    assert!(calls(&h.send("b")).is_empty());
    assert!(calls(&h.step(Event::UserStart)).is_empty());
    assert!(
        calls(&h.step(Event::UserRetry)).is_empty(),
        "restart joins the start"
    );
    // A different kind of demand waits for the answer.
    assert!(calls(&h.step(Event::UserStop)).is_empty());
    assert_eq!(calls(&h.ok(Op::Start, None)), vec![Op::Stop]);
    assert_eq!(h.m.pending_op(), Some(Op::Stop));
}

#[test]
fn already_started_422_counts_as_success() {
    let mut h = Host::default();
    h.status(SessionStatus::Stopped);
    h.send("a");
    let a = h.err(Op::Start, ErrorCode::Conflict, 422, None);
    assert!(calls(&a).is_empty());
    assert_eq!(h.m.pending_op(), None);
    // No retry is scheduled: the next deadline is reconciliation, not a second start.
    let a = h.next_deadline();
    assert_eq!(calls(&a), vec![Op::Info]);
}

#[test]
fn stray_results_are_ignored() {
    let mut h = Host::default();
    h.status(SessionStatus::Working);
    assert!(
        h.ok(Op::Restart, Some(r#"{"status":"STOPPED"}"#))
            .is_empty()
    );
    assert!(h.ok(Op::Me, None).is_empty());
    assert_eq!(h.m.status(), SessionStatus::Working);
}

// ---- STARTING watchdog ---------------------------------------------------------------------

#[test]
fn starting_watchdog_restarts_after_the_timeout_and_repeats_do_not_reset_it() {
    let mut h = Host::new(MachineOptions {
        reconcile_short_ms: 1e9,
        deadline_jitter: 0.0,
        ..MachineOptions::default()
    });
    assert_eq!(
        ui(&h.status(SessionStatus::Starting)),
        vec![UiAction::Connecting]
    );
    h.now = T0 + 30_000.0;
    assert!(
        h.status(SessionStatus::Starting).is_empty(),
        "repeat emitted something"
    );
    assert_eq!(h.m.poll_timeout(), Some(T0 + 60_000.0));
    assert!(calls(&h.at(T0 + 59_999.0)).is_empty());
    let a = h.at(T0 + 60_000.0);
    assert_eq!(calls(&a), vec![Op::Restart]);
    assert_eq!(h.m.auto_restarts(), 1);
    // The clock starts again from the restart.
    h.ok(Op::Restart, Some(r#"{"status":"STARTING"}"#));
    assert_eq!(h.m.poll_timeout(), Some(T0 + 120_000.0));
}

// ---- auto-heal -----------------------------------------------------------------------------

#[test]
fn failed_notifies_once_and_restarts_after_the_delay() {
    let mut h = Host::default();
    h.working();
    let a = h.status(SessionStatus::Failed);
    assert_eq!(notified(&a), vec!["failed"]);
    assert_eq!(ui(&a), vec![UiAction::Troubleshoot]);
    assert_eq!(h.m.poll_timeout(), Some(T0 + 30_000.0));
    assert_eq!(calls(&h.at(T0 + 30_000.0)), vec![Op::Restart]);
    // The restart fails again: the same episode, no second notification.
    h.ok(Op::Restart, Some(r#"{"status":"STARTING"}"#));
    h.now += 5_000.0;
    assert!(notified(&h.status(SessionStatus::Failed)).is_empty());
}

#[test]
fn consecutive_automatic_restarts_back_off_and_stop_at_the_cap() {
    let mut h = Host::new(MachineOptions {
        max_auto_restarts: 3,
        ..MachineOptions::default()
    });
    h.working();
    let mut delays = Vec::new();
    for _ in 0..3 {
        h.status(SessionStatus::Failed);
        let before = h.now;
        let at = h.m.poll_timeout().unwrap();
        delays.push(at - before);
        assert_eq!(calls(&h.at(at)), vec![Op::Restart]);
        h.ok(Op::Restart, Some(r#"{"status":"STARTING"}"#));
        h.now += 1_000.0;
    }
    assert!(delays.iter().all(|d| *d >= 30_000.0), "{delays:?}");
    assert!(delays[2] > delays[0], "no backoff: {delays:?}");
    assert_eq!(h.m.auto_restarts(), 3);
    let a = h.status(SessionStatus::Failed);
    assert_eq!(notified(&a), vec!["restart_budget_exhausted"]);
    assert_eq!(h.m.paused(), Some(Pause::RestartBudgetExhausted));
    let a = h.run_until(h.now + 6.0 * 3_600_000.0);
    assert!(
        !calls(&a).contains(&Op::Restart),
        "restarted past the cap: {a:?}"
    );
    // The user's Retry re-arms automation and restarts now.
    let a = h.step(Event::UserRetry);
    assert_eq!(calls(&a), vec![Op::Restart]);
    assert_eq!(h.m.paused(), None);
    assert_eq!(h.m.auto_restarts(), 0);
}

#[test]
fn working_rearms_automatic_restarts() {
    let mut h = Host::new(MachineOptions {
        max_auto_restarts: 1,
        ..MachineOptions::default()
    });
    h.working();
    h.status(SessionStatus::Failed);
    h.next_deadline();
    h.ok(Op::Restart, None);
    h.status(SessionStatus::Working);
    assert_eq!(h.m.auto_restarts(), 0);
    let a = h.status(SessionStatus::Failed);
    assert_eq!(notified(&a), vec!["failed"], "a new episode after WORKING");
    assert_eq!(calls(&h.next_deadline()), vec![Op::Restart]);
}

#[test]
fn failed_after_an_unscanned_qr_waits_for_the_user() {
    let mut h = Host::default();
    h.status(SessionStatus::ScanQrCode);
    let a = h.status(SessionStatus::Failed);
    assert_eq!(notified(&a), vec!["failed"]);
    let a = h.run_until(T0 + 3_600_000.0);
    assert!(!calls(&a).contains(&Op::Restart), "{a:?}");
    assert_eq!(calls(&h.step(Event::UserRetry)), vec![Op::Restart]);
}

#[test]
fn the_retry_budget_spaces_automatic_restarts() {
    let mut h = Host::new(MachineOptions {
        retry_budget_capacity: 1.0,
        retry_budget_refill_per_sec: 0.001, // one token per 1000 s
        max_auto_restarts: 10,
        ..MachineOptions::default()
    });
    h.working();
    h.status(SessionStatus::Failed);
    assert_eq!(calls(&h.next_deadline()), vec![Op::Restart]);
    h.ok(Op::Restart, None);
    h.now += 1000.0;
    h.status(SessionStatus::Starting);
    h.status(SessionStatus::Failed);
    let first_try = h.m.poll_timeout().unwrap();
    assert!(
        calls(&h.at(first_try)).is_empty(),
        "spent a token it did not have"
    );
    let later = h.m.poll_timeout().unwrap();
    assert!(later >= first_try + 900_000.0, "{}", later - first_try);
}

// ---- call errors ---------------------------------------------------------------------------

#[test]
fn rate_limited_lifecycle_call_waits_for_retry_after() {
    let mut h = Host::default();
    h.status(SessionStatus::Stopped);
    h.send("a");
    let a = h.err(Op::Start, ErrorCode::RateLimited, 429, Some(20_000.0));
    assert!(calls(&a).is_empty(), "retried immediately");
    let early = h.run_until(T0 + 19_999.0);
    assert!(!calls(&early).contains(&Op::Start), "{early:?}");
    assert_eq!(calls(&h.at(T0 + 20_000.0)), vec![Op::Start]);
}

#[test]
fn server_and_network_errors_retry_with_growing_backoff_never_immediately() {
    let mut h = Host::new(MachineOptions {
        seed: Some(7),
        ..MachineOptions::default()
    });
    h.status(SessionStatus::Stopped);
    h.send("a");
    let mut delays = Vec::new();
    for code in [
        ErrorCode::Server,
        ErrorCode::Network,
        ErrorCode::Timeout,
        ErrorCode::Server,
    ] {
        let a = h.err(Op::Start, code, 503, None);
        assert!(calls(&a).is_empty());
        let at = h.m.poll_timeout().unwrap();
        assert!(at > h.now);
        delays.push(at - h.now);
        assert_eq!(calls(&h.at(at)), vec![Op::Start]);
    }
    assert!(delays.iter().all(|d| *d >= 250.0), "{delays:?}");
    // Demand during the wait joins the scheduled retry.
    h.err(Op::Start, ErrorCode::Server, 500, None);
    assert!(calls(&h.step(Event::UserStart)).is_empty());
}

#[test]
fn unauthorized_pauses_automation_and_notifies() {
    let mut h = Host::default();
    h.working();
    h.status(SessionStatus::Failed);
    h.next_deadline();
    let a = h.err(Op::Restart, ErrorCode::Unauthorized, 401, None);
    assert_eq!(notified(&a), vec!["unauthorized"]);
    assert_eq!(h.m.paused(), Some(Pause::Unauthorized));
    let a = h.run_until(h.now + 24.0 * 3_600_000.0);
    assert!(calls(&a).is_empty(), "{a:?}");
    assert_eq!(calls(&h.step(Event::UserRetry)), vec![Op::Restart]);
}

#[test]
fn not_found_means_deleted() {
    let mut h = Host::default();
    h.status(SessionStatus::Stopped);
    h.send("a");
    let a = h.err(Op::Start, ErrorCode::NotFound, 404, None);
    assert_eq!(h.m.status(), SessionStatus::Deleted);
    assert_eq!(notified(&a), vec!["deleted"]);
    assert_eq!(rejected(&a), vec![("a".into(), ErrorCode::NotFound)]);
    assert_eq!(ui(&a), vec![UiAction::Provision]);
    assert_eq!(
        h.m.poll_timeout(),
        None,
        "no automation on a deleted instance"
    );
}

// ---- webhooks ------------------------------------------------------------------------------

#[test]
fn older_or_duplicate_webhooks_are_ignored() {
    let mut h = Host::default();
    h.webhook(SessionStatus::Working, Some(T0 - 1_000.0), Some("evt_2"));
    assert!(
        h.webhook(SessionStatus::Starting, Some(T0 - 2_000.0), Some("evt_1"))
            .is_empty()
    );
    assert_eq!(h.m.status(), SessionStatus::Working);
    h.webhook(SessionStatus::Failed, Some(T0), Some("evt_3"));
    assert!(
        h.webhook(SessionStatus::Working, Some(T0 + 5.0), Some("evt_3"))
            .is_empty()
    );
    assert_eq!(h.m.status(), SessionStatus::Failed);
}

#[test]
fn repeated_identical_status_emits_nothing() {
    let mut h = Host::default();
    assert!(
        h.status(SessionStatus::ScanQrCode)
            .contains(&Action::Persist)
    );
    h.now += 5_000.0;
    assert!(h.status(SessionStatus::ScanQrCode).is_empty());
}

#[test]
fn short_starting_blips_after_working_do_not_flip_the_ui() {
    let mut h = Host::default();
    h.working();
    let a = h.status(SessionStatus::Starting);
    assert!(ui(&a).is_empty(), "{a:?}");
    h.now += 3_000.0;
    assert!(ui(&h.status(SessionStatus::Working)).is_empty());

    // A longer one shows up when the debounce expires, and only then.
    let start = h.now;
    assert!(ui(&h.status(SessionStatus::Starting)).is_empty());
    assert_eq!(h.m.poll_timeout(), Some(start + 10_000.0));
    assert_eq!(ui(&h.at(start + 10_000.0)), vec![UiAction::Connecting]);
    h.now += 1_000.0;
    assert_eq!(
        ui(&h.status(SessionStatus::Working)),
        vec![UiAction::Connected]
    );
}

// ---- reconciliation ------------------------------------------------------------------------

#[test]
fn silence_while_starting_or_scanning_reconciles_soon() {
    for s in [SessionStatus::Starting, SessionStatus::ScanQrCode] {
        let mut h = Host::new(MachineOptions {
            starting_timeout_ms: 1e9,
            deadline_jitter: 0.0,
            ..MachineOptions::default()
        });
        h.status(s);
        assert_eq!(h.m.poll_timeout(), Some(T0 + 15_000.0), "{s:?}");
        assert_eq!(calls(&h.at(T0 + 15_000.0)), vec![Op::Info]);
        let a = h.ok(Op::Info, Some(r#"{"status":"WORKING"}"#));
        assert_eq!(h.m.status(), SessionStatus::Working);
        assert_eq!(ui(&a), vec![UiAction::Connected]);
    }
}

#[test]
fn silence_while_working_reconciles_after_minutes() {
    let exact = || MachineOptions {
        deadline_jitter: 0.0,
        ..MachineOptions::default()
    };
    let mut h = Host::new(exact());
    h.working();
    assert_eq!(h.m.poll_timeout(), Some(T0 + 300_000.0));
    assert_eq!(calls(&h.at(T0 + 300_000.0)), vec![Op::Info]);
    // A webhook in the meantime pushes reconciliation back.
    let mut h = Host::new(exact());
    h.working();
    h.now = T0 + 200_000.0;
    h.status(SessionStatus::Working);
    assert_eq!(h.m.poll_timeout(), Some(T0 + 500_000.0));
}

// ---- maintenance ---------------------------------------------------------------------------

#[test]
fn weekly_maintenance_restarts_once_per_window_when_idle() {
    // T0 is Thursday (4) 08:28 UTC; the window is Thursday 10:00-11:00 UTC.
    let mut h = Host::new(MachineOptions {
        maintenance: Some(Maintenance {
            weekday: 4,
            hour_utc: 10,
        }),
        reconcile_long_ms: 1e9,
        ..MachineOptions::default()
    });
    h.working();
    let window = (T0 / 3_600_000.0).floor() * 3_600_000.0 + 2.0 * 3_600_000.0;
    assert_eq!(h.m.poll_timeout(), Some(window));
    assert_eq!(calls(&h.at(window)), vec![Op::Restart]);
    h.ok(Op::Restart, Some(r#"{"status":"STARTING"}"#));
    h.now += 10_000.0;
    h.status(SessionStatus::Working);
    assert_eq!(h.m.poll_timeout(), Some(window + 7.0 * 24.0 * 3_600_000.0));

    // Not with queued sends or outside WORKING.
    let mut h = Host::new(MachineOptions {
        maintenance: Some(Maintenance {
            weekday: 4,
            hour_utc: 8,
        }),
        ..MachineOptions::default()
    });
    h.status(SessionStatus::Starting);
    h.send("a");
    assert!(!calls(&h.at(T0 + 1_000.0)).contains(&Op::Restart));
}

// ---- persistence ---------------------------------------------------------------------------

#[test]
fn persist_follows_every_durable_change() {
    let mut h = Host::default();
    assert_eq!(
        h.status(SessionStatus::Starting).last(),
        Some(&Action::Persist)
    );
    assert_eq!(h.send("a").last(), Some(&Action::Persist));
    assert_eq!(
        h.status(SessionStatus::Working).last(),
        Some(&Action::Persist)
    );
}

#[test]
fn to_json_from_json_round_trips_exactly() {
    let mut h = Host::new(MachineOptions {
        expected_jid: Some(EXPECTED.into()),
        maintenance: Some(Maintenance {
            weekday: 1,
            hour_utc: 3,
        }),
        seed: Some(99),
        ..MachineOptions::default()
    });
    h.webhook(SessionStatus::Starting, Some(T0), Some("evt_a"));
    h.send("a");
    h.step(Event::Send {
        id: "b\"quoted\"".into(),
        timeout_ms: Some(12_345.5),
    });
    h.status(SessionStatus::Working);
    h.ok(Op::Me, Some(r#"{"id":"201012345678@c.us"}"#));
    h.status(SessionStatus::Failed);
    h.send("c");
    let text = h.m.to_json();
    let back = LifecycleMachine::from_json(&text).unwrap();
    assert_eq!(back, h.m);
    assert_eq!(back.to_json(), text);
    assert_eq!(back.poll_timeout(), h.m.poll_timeout());

    // The restored machine behaves the same from here on.
    let mut twin = Host {
        m: back,
        now: h.now,
    };
    for host in [&mut h, &mut twin] {
        host.now += 60_000.0;
    }
    assert_eq!(h.step(Event::Timeout), twin.step(Event::Timeout));
    assert_eq!(h.m, twin.m);
}

#[test]
fn bad_snapshots_are_invalid_payload() {
    for text in [
        "",
        "{",
        "[]",
        "{}",
        r#"{"v":1}"#,
        r#"{"v":2,"status":"WORKING"}"#,
    ] {
        let err = LifecycleMachine::from_json(text).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidPayload, "{text}");
    }
    let good = Host::default().m.to_json();
    let broken = good.replace("\"queue\":[]", "\"queue\":[{\"id\":1}]");
    assert_eq!(
        LifecycleMachine::from_json(&broken).unwrap_err().code,
        ErrorCode::InvalidPayload
    );
}

#[test]
fn snapshot_has_the_js_shape() {
    let mut h = Host::default();
    h.status(SessionStatus::Stopped);
    h.send("a");
    let s = h.m.snapshot().to_value();
    assert_eq!(s.str_field("status"), Some("STOPPED"));
    assert_eq!(s.num_field("sinceMs"), Some(T0));
    assert_eq!(s.str_field("pendingOp"), Some("start"));
    let queue = s.get("queue").and_then(Value::as_array).unwrap();
    assert_eq!(queue[0].str_field("id"), Some("a"));
    assert_eq!(queue[0].num_field("deadlineMs"), Some(T0 + 120_000.0));
    assert!(s.get("identity").unwrap().is_null());
    assert_eq!(s.num_field("restarts"), Some(0.0));
    assert!(s.num_field("nextDeadlineMs").is_some());
}

#[test]
fn restores_a_snapshot_written_before_serde() {
    // Written by the hand-written JSON writer (tests/fixtures/README.md): what edges have stored.
    let stored = include_str!("fixtures/machine-snapshot-v1.json").trim();
    let m = LifecycleMachine::from_json(stored).unwrap();
    let s = m.snapshot().to_value();
    assert_eq!(s.str_field("status"), Some("STARTING"));
    assert_eq!(s.num_field("sinceMs"), Some(1_764_000_001_500.25));
    let queue = s.get("queue").and_then(Value::as_array).unwrap();
    assert_eq!(queue.len(), 2);
    assert_eq!(queue[1].str_field("id"), Some("msg-2"));
    assert_eq!(queue[1].num_field("deadlineMs"), Some(1_764_000_045_210.5));
    assert_eq!(s.str_field("retryOp"), Some("start"));
    // Written again and read back: the same machine, field for field.
    let again = LifecycleMachine::from_json(&m.to_json()).unwrap();
    assert_eq!(again, m);
    // The stored text and the new text hold the same values (serde_json writes 60000 as
    // 60000.0 natively; the wasm writes with JSON.stringify, byte for byte the stored text),
    // plus what the delivery policy added since: its options (defaults) and no released send.
    let mut written = payload::parse(&m.to_json()).unwrap();
    let added = written.as_object_mut().unwrap();
    assert_eq!(added.remove("sending"), Some(serde_json::json!([])));
    let options = added.get_mut("options").unwrap().as_object_mut().unwrap();
    assert_eq!(
        options.remove("maxSendAttempts"),
        Some(serde_json::json!(20))
    );
    assert!(options.remove("sendRetryBaseMs").is_some());
    assert!(options.remove("sendRetryCapMs").is_some());
    assert!(options.remove("deadlineJitter").is_some());
    let numbers = |v: &Value| v.to_string().replace(".0,", ",").replace(".0}", "}");
    assert_eq!(numbers(&written), numbers(&payload::parse(stored).unwrap()));
}

// ---- deadline jitter (no herds) ------------------------------------------------------------

/// The reconciliation deadline of a WORKING machine with this seed, and its watchdog deadline
/// once STARTING (reconcile pushed out of the way).
fn deadlines(seed: u64) -> (f64, f64) {
    let mut h = Host::new(MachineOptions {
        seed: Some(seed),
        ..MachineOptions::default()
    });
    h.working();
    let reconcile = h.m.poll_timeout().unwrap() - T0;
    let mut h = Host::new(MachineOptions {
        seed: Some(seed),
        reconcile_short_ms: 1e9,
        ..MachineOptions::default()
    });
    h.status(SessionStatus::Starting);
    (reconcile, h.m.poll_timeout().unwrap() - T0)
}

#[test]
fn a_fleet_spreads_reconciliation_and_watchdog_deadlines_over_a_tenth_of_the_interval() {
    let all: Vec<(f64, f64)> = (1..=1000).map(deadlines).collect();
    for &(reconcile, watchdog) in &all {
        assert!((300_000.0..=330_000.0).contains(&reconcile), "{reconcile}");
        assert!((60_000.0..=66_000.0).contains(&watchdog), "{watchdog}");
        // Whole milliseconds: hosts arm timers in ms (a Durable Object alarm drops a fraction).
        assert_eq!((reconcile.fract(), watchdog.fract()), (0.0, 0.0));
    }
    // 1,000 machines that saw the same event at the same moment: spread, not in lockstep.
    let mut seconds: Vec<u64> = all.iter().map(|(r, _)| (*r / 1000.0) as u64).collect();
    seconds.sort_unstable();
    seconds.dedup();
    assert!(
        seconds.len() >= 29,
        "reconciliations fall in {} distinct seconds",
        seconds.len()
    );
    let mean = all.iter().map(|(_, w)| w - 60_000.0).sum::<f64>() / all.len() as f64;
    assert!(
        (2_700.0..3_300.0).contains(&mean),
        "mean watchdog lateness {mean}"
    );
    // The same seed, the same deadlines: a restored machine keeps them.
    assert_eq!(deadlines(7), deadlines(7));
    let mut h = Host::new(MachineOptions {
        seed: Some(7),
        ..MachineOptions::default()
    });
    h.working();
    let restored = LifecycleMachine::from_json(&h.m.to_json()).unwrap();
    assert_eq!(restored.poll_timeout(), h.m.poll_timeout());
}

#[test]
fn deadline_jitter_is_an_option_from_zero_to_one() {
    for bad in ["-0.1", "1.5", "\"x\""] {
        let v = payload::parse(&format!(r#"{{"deadlineJitter":{bad}}}"#)).unwrap();
        let err = MachineOptions::from_value(&v).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidOption, "{bad}");
    }
    let opts = MachineOptions::from_value(&serde_json::json!({"deadlineJitter": 0})).unwrap();
    assert_eq!(opts.deadline_jitter, 0.0);
}

// ---- time ----------------------------------------------------------------------------------

#[test]
fn a_clock_going_backwards_keeps_durations() {
    let mut h = Host::new(MachineOptions {
        deadline_jitter: 0.0,
        ..MachineOptions::default()
    });
    h.status(SessionStatus::Starting);
    h.send("a");
    h.now = T0 - 3_600_000.0; // the host clock jumps back an hour
    h.step(Event::Timeout);
    assert_eq!(h.m.poll_timeout(), Some(T0 - 3_600_000.0 + 15_000.0));
    let a = h.run_until(T0 - 3_600_000.0 + 120_000.0);
    assert!(rejected(&a).contains(&("a".into(), ErrorCode::SendTimeout)));
}

#[test]
fn a_huge_jump_forward_fires_each_deadline_once() {
    let mut h = Host::default();
    h.status(SessionStatus::Starting);
    h.send("a");
    let a = h.at(T0 + 30.0 * 24.0 * 3_600_000.0);
    assert_eq!(rejected(&a), vec![("a".into(), ErrorCode::SendTimeout)]);
    // The watchdog restart and the overdue reconciliation, each once.
    assert_eq!(calls(&a), vec![Op::Restart, Op::Info], "{a:?}");
    assert!(h.m.poll_timeout().is_none_or(|t| t > h.now));
    let a = h.step(Event::Timeout);
    assert!(a.is_empty(), "{a:?}");
    h.ok(Op::Info, Some(r#"{"status":"STARTING"}"#));
    // Non-finite times are ignored rather than poisoning the deadlines.
    h.m.handle(Event::Timeout, f64::NAN);
    assert!(h.m.poll_timeout().unwrap().is_finite());
}

// ---- JS shapes -----------------------------------------------------------------------------

#[test]
fn options_from_js_values() {
    let v = payload::parse(
        r#"{"expectedJid":"+20 101 234 5678","startingTimeoutMs":45000,"maxAutoRestarts":2,
            "maintenance":{"weekday":0,"hourUtc":3},"sendTimeoutMs":1000,"client":{},"onEvent":null}"#,
    )
    .unwrap();
    let o = MachineOptions::from_value(&v).unwrap();
    assert_eq!(o.starting_timeout_ms, 45_000.0);
    assert_eq!(o.max_auto_restarts, 2);
    assert_eq!(
        o.maintenance,
        Some(Maintenance {
            weekday: 0,
            hour_utc: 3
        })
    );
    assert_eq!(o.failed_restart_delay_ms, 30_000.0);
    assert_eq!(
        MachineOptions::from_value(&Value::Null).unwrap(),
        MachineOptions::default()
    );
    assert_eq!(MachineOptions::from_value(&o.to_value()).unwrap(), o);
    for bad in [
        r#"{"startingTimeoutMs":-1}"#,
        r#"{"startingTimeoutMs":"60"}"#,
        r#"{"sendTimeoutMs":0}"#,
        r#"{"maxAutoRestarts":1.5}"#,
        r#"{"maxQueuedSends":1e12}"#,
        r#"{"debounceMs":1e300}"#,
        r#"{"maintenance":{"weekday":7,"hourUtc":1}}"#,
        r#"{"maintenance":{"weekday":1}}"#,
        r#"{"maintenance":"sunday"}"#,
        r#"{"expectedJid":""}"#,
        r#"{"expectedJid":5}"#,
        r#"{"seed":-3}"#,
        r#"[]"#,
    ] {
        let err = MachineOptions::from_value(&payload::parse(bad).unwrap()).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidOption, "{bad}");
    }
}

#[test]
fn events_from_js_values() {
    let e = Event::from_json(r#"{"type":"status","input":"working"}"#).unwrap();
    assert!(matches!(e, Event::Status(r) if r.status == SessionStatus::Working));
    let e = Event::from_json(
        r#"{"type":"status","input":{"event":"session.status","id":"evt_1","timestamp":5,"payload":{"status":"FAILED"}}}"#,
    )
    .unwrap();
    assert!(
        matches!(e, Event::Status(r) if r.event_id.as_deref() == Some("evt_1") && r.at_ms == Some(5.0))
    );
    assert_eq!(
        Event::from_json(r#"{"type":"send","id":"m1","timeoutMs":500}"#).unwrap(),
        Event::Send {
            id: "m1".into(),
            timeout_ms: Some(500.0)
        }
    );
    let e = Event::from_json(
        r#"{"type":"result","op":"start","ok":false,"error":"rate_limited","httpStatus":429,"retryAfterMs":3000,"body":{"x":1}}"#,
    )
    .unwrap();
    assert_eq!(
        e,
        Event::Result(CallResult {
            op: Op::Start,
            ok: false,
            error: Some(ErrorCode::RateLimited),
            http_status: Some(429),
            retry_after_ms: Some(3000.0),
            body: Some(payload::parse(r#"{"x":1}"#).unwrap()),
        })
    );
    for (text, event) in [
        (r#"{"type":"warm_boot"}"#, Event::WarmBoot),
        (r#"{"type":"user_retry"}"#, Event::UserRetry),
        (r#"{"type":"user_start"}"#, Event::UserStart),
        (r#"{"type":"user_stop"}"#, Event::UserStop),
        (r#"{"type":"user_logout"}"#, Event::UserLogout),
        (r#"{"type":"timeout"}"#, Event::Timeout),
    ] {
        assert_eq!(Event::from_json(text).unwrap(), event);
    }
    for bad in [
        "null",
        r#"{"type":"nope"}"#,
        r#"{"type":"status"}"#,
        r#"{"type":"status","input":{"name":"x"}}"#,
        r#"{"type":"send"}"#,
        r#"{"type":"send","id":"a","timeoutMs":-5}"#,
        r#"{"type":"result","op":"fly","ok":true}"#,
        r#"{"type":"result","op":"start"}"#,
        r#"{"type":"result","op":"start","ok":false,"error":"boom"}"#,
        r#"{"type":"result","op":"start","ok":false,"httpStatus":1000}"#,
    ] {
        assert_eq!(
            Event::from_json(bad).unwrap_err().code,
            ErrorCode::InvalidPayload,
            "{bad}"
        );
    }
}

#[test]
fn actions_to_js_values() {
    let cases = [
        (call(Op::Restart), r#"{"type":"call","op":"restart"}"#),
        (
            Action::Ui {
                ui_action: UiAction::ScanQr,
                status: SessionStatus::ScanQrCode,
            },
            r#"{"type":"ui","uiAction":"scan_qr","status":"SCAN_QR_CODE"}"#,
        ),
        (
            Action::ReleaseSend { id: "a".into() },
            r#"{"type":"release_send","id":"a"}"#,
        ),
        (
            Action::RejectSend {
                id: "a".into(),
                code: ErrorCode::QueueFull,
            },
            r#"{"type":"reject_send","id":"a","code":"queue_full"}"#,
        ),
        (Action::ClearIdentity, r#"{"type":"clear_identity"}"#),
        (
            Action::Identity {
                verdict: IdentityVerdict::Match,
                me: Some("1@c.us".into()),
            },
            r#"{"type":"identity","verdict":"match","me":"1@c.us"}"#,
        ),
        (
            Action::NotifyAdmin {
                reason: AdminReason::Failed,
            },
            r#"{"type":"notify_admin","reason":"failed"}"#,
        ),
        (Action::Persist, r#"{"type":"persist"}"#),
    ];
    for (action, text) in cases {
        assert_eq!(action.to_json(), text);
        assert_eq!(serde_json::from_str::<Action>(text).unwrap(), action);
    }
}

// ---- stability metrics ---------------------------------------------------------------------

#[test]
fn stability_from_a_history() {
    use SessionStatus::*;
    let s = 1_000.0;
    let history = [
        (0.0, Stopped),
        (10.0 * s, Starting),
        (20.0 * s, Working),
        (100.0 * s, Starting), // restart from WORKING
        (110.0 * s, Working),  // recovered after 10 s
        (200.0 * s, Failed),
        (200.5 * s, Failed), // repeat: same episode
        (230.0 * s, Starting),
        (240.0 * s, Working), // recovered after 40 s
    ];
    let m = stability(&history, 300.0 * s);
    assert_eq!(m.observed_ms, 300.0 * s);
    assert_eq!(m.working_ms, (80.0 + 90.0 + 60.0) * s);
    assert_eq!(m.starting_ms, 30.0 * s);
    assert!((m.uptime_ratio - 230.0 / 300.0).abs() < 1e-12);
    assert_eq!(m.restarts, 2);
    assert_eq!(m.failures, 1);
    assert_eq!(m.mean_time_to_recover_ms, Some(25.0 * s));
    assert!(m.time_in_status_ms.contains(&(Failed, 30.0 * s)));
    let v = m.to_value();
    assert_eq!(v.num_field("restarts"), Some(2.0));
    assert_eq!(v.num_field("meanTimeToRecoverMs"), Some(25.0 * s));
    assert_eq!(
        v.get("timeInStatusMs").unwrap().num_field("STOPPED"),
        Some(10.0 * s)
    );
}

#[test]
fn stability_counts_a_restart_that_passes_through_a_brief_stop_but_not_a_real_stop() {
    use SessionStatus::*;
    let s = 1_000.0;
    let history = [
        (0.0, Working),
        (100.0 * s, Failed),
        (130.0 * s, Stopped),  // restart call: stop ...
        (130.5 * s, Starting), // ... and start again: a restart
        (140.0 * s, Working),
        (200.0 * s, Stopped),  // the user powers off
        (500.0 * s, Starting), // and on again five minutes later: a boot, not a restart
        (510.0 * s, Working),
    ];
    let m = stability(&history, 600.0 * s);
    assert_eq!(m.restarts, 1);
    assert_eq!(m.failures, 1);
}

#[test]
fn stability_edge_cases() {
    let empty = stability(&[], 5.0);
    assert_eq!(empty.observed_ms, 0.0);
    assert_eq!(empty.uptime_ratio, 0.0);
    assert_eq!(empty.mean_time_to_recover_ms, None);
    // Unsorted input, a NaN entry, an ongoing outage.
    let m = stability(
        &[
            (50.0, SessionStatus::Failed),
            (f64::NAN, SessionStatus::Working),
            (0.0, SessionStatus::Working),
        ],
        100.0,
    );
    assert_eq!(m.working_ms, 50.0);
    assert_eq!(m.failures, 1);
    assert_eq!(m.mean_time_to_recover_ms, None);
    assert_eq!(m.uptime_ratio, 0.5);
    // now before the last entry adds nothing negative.
    let m = stability(&[(0.0, SessionStatus::Working)], -10.0);
    assert_eq!((m.observed_ms, m.working_ms), (0.0, 0.0));
}

#[test]
fn a_session_stuck_in_starting_is_restarted_at_most_the_cap_times() {
    let mut h = Host::new(MachineOptions {
        max_auto_restarts: 2,
        reconcile_short_ms: 1e9,
        ..MachineOptions::default()
    });
    h.status(SessionStatus::Starting);
    let mut restarts = 0;
    let mut notes = Vec::new();
    for _ in 0..20 {
        let Some(at) = h.m.poll_timeout() else { break };
        let a = h.at(at);
        notes.extend(notified(&a));
        if calls(&a).contains(&Op::Restart) {
            restarts += 1;
            h.ok(Op::Restart, Some(r#"{"status":"STARTING"}"#));
        }
    }
    assert_eq!(restarts, 2);
    assert_eq!(notes, vec!["restart_budget_exhausted"]);
    assert_eq!(h.m.poll_timeout(), None);
}

#[test]
fn identity_is_checked_again_on_every_return_to_working() {
    // A lost SCAN_QR_CODE webhook could hide a re-pair with another phone: FAILED → WORKING
    // asks `me` again, and nothing is released before the answer.
    let mut h = Host::expecting();
    h.working();
    h.status(SessionStatus::Failed);
    h.send("a");
    let a = h.status(SessionStatus::Working);
    assert_eq!(calls(&a), vec![Op::Me]);
    assert!(released(&a).is_empty());
    assert!(released(&h.send("b")).is_empty());
    let a = h.ok(Op::Me, Some(r#"{"id":"15550000000@c.us"}"#));
    assert_eq!(
        rejected(&a),
        vec![
            ("a".into(), ErrorCode::IdentityMismatch),
            ("b".into(), ErrorCode::IdentityMismatch)
        ]
    );
}

#[test]
fn a_different_phone_in_an_info_answer_is_a_mismatch() {
    let mut h = Host::expecting();
    h.working();
    let at = h.m.poll_timeout().unwrap();
    assert_eq!(calls(&h.at(at)), vec![Op::Info]);
    let a = h.ok(
        Op::Info,
        Some(r#"{"status":"WORKING","me":{"id":"15550000000@c.us"}}"#),
    );
    assert_eq!(notified(&a), vec!["identity_mismatch"]);
    assert_eq!(
        rejected(&h.send("x")),
        vec![("x".into(), ErrorCode::IdentityMismatch)]
    );
    // The same phone in info changes nothing.
    let mut h = Host::expecting();
    h.working();
    let at = h.m.poll_timeout().unwrap();
    h.at(at);
    assert!(
        h.ok(
            Op::Info,
            Some(r#"{"status":"WORKING","me":{"id":"201012345678@c.us"}}"#)
        )
        .is_empty()
    );
}

// ---- a send refused by the API (stale WORKING) -------------------------------------------------

fn refused(h: &mut Host, id: &str) -> Vec<Action> {
    h.step(Event::SendRefused {
        id: id.into(),
        timeout_ms: None,
    })
}

#[test]
fn a_refused_send_waits_for_a_fresh_status_and_goes_out_when_it_confirms_working() {
    let mut h = Host::default();
    h.working();
    assert_eq!(released(&h.send("m1")), ["m1"]);
    // The API answered 422 "status is not as expected": re-read the status, hold the send.
    let actions = refused(&mut h, "m1");
    assert_eq!(calls(&actions), [Op::Info]);
    assert!(released(&actions).is_empty());
    assert_eq!(h.m.queued_sends(), 1);
    // A new send meanwhile waits too: the believed WORKING is not trusted any more.
    assert!(released(&h.send("m2")).is_empty());
    // The fresh answer confirms WORKING (a repeat): both go out, in order.
    let actions = h.ok(Op::Info, Some(r#"{"status":"WORKING"}"#));
    assert_eq!(released(&actions), ["m1", "m2"]);
    assert!(ui(&actions).is_empty(), "a repeated status emits no ui");
}

#[test]
fn a_refused_send_on_a_session_that_really_stopped_starts_it_and_goes_out_after_working() {
    let mut h = Host::default();
    h.working();
    h.send("m1");
    refused(&mut h, "m1");
    let actions = h.ok(Op::Info, Some(r#"{"status":"STOPPED"}"#));
    assert_eq!(
        calls(&actions),
        [Op::Start],
        "start-on-send for the refused message"
    );
    h.ok(Op::Start, Some(r#"{"status":"STARTING"}"#));
    assert!(released(&h.status(SessionStatus::Starting)).is_empty());
    assert_eq!(released(&h.status(SessionStatus::Working)), ["m1"]);
}

#[test]
fn a_pending_recheck_survives_to_json_and_old_snapshots_without_it_restore() {
    let mut h = Host::default();
    h.working();
    h.send("m1");
    refused(&mut h, "m1");
    let json = h.m.to_json();
    assert!(json.contains("\"recheckStatus\":true"));
    let restored = LifecycleMachine::from_json(&json).unwrap();
    assert_eq!(restored.to_json(), json);
    assert!(!restored.can_release());
    let old = json.replace(",\"recheckStatus\":true", "");
    assert!(LifecycleMachine::from_json(&old).is_ok());
}

#[test]
fn send_refused_parses_from_its_js_shape() {
    let e = Event::from_json(r#"{"type":"send_refused","id":"m1","timeoutMs":5000}"#).unwrap();
    assert_eq!(
        e,
        Event::SendRefused {
            id: "m1".into(),
            timeout_ms: Some(5000.0)
        }
    );
}

// ---- a released send's outcome (delivery) --------------------------------------------------------

fn outcome(id: &str, ok: bool, error: Option<ErrorCode>, http: Option<u16>) -> Event {
    Event::SendResult(wawp_session::SendOutcome {
        id: id.into(),
        ok,
        error,
        http_status: http,
        retry_after_ms: None,
        maybe_delivered: None,
    })
}

fn resolved(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::ResolveSend { id } => Some(id.clone()),
            _ => None,
        })
        .collect()
}

fn held(actions: &[Action]) -> Vec<(String, u32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::HoldSend { id, attempts } => Some((id.clone(), *attempts)),
            _ => None,
        })
        .collect()
}

/// A rate-limited answer (429) with an optional Retry-After.
fn limited(h: &mut Host, id: &str, retry_after_ms: Option<f64>) -> Vec<Action> {
    h.step(Event::SendResult(wawp_session::SendOutcome {
        id: id.into(),
        ok: false,
        error: Some(ErrorCode::RateLimited),
        http_status: Some(429),
        retry_after_ms,
        maybe_delivered: Some(false),
    }))
}

#[test]
fn a_delivered_send_resolves_once_and_a_repeated_report_changes_nothing() {
    let mut h = Host::default();
    h.working();
    assert_eq!(released(&h.send("m1")), ["m1"]);
    assert_eq!(h.m.sending().len(), 1);
    // The same id asked again while it is out: still one send.
    assert!(h.send("m1").is_empty());
    let a = h.step(outcome("m1", true, None, Some(201)));
    assert_eq!(resolved(&a), ["m1"]);
    assert!(a.contains(&Action::Persist));
    assert!(h.m.sending().is_empty());
    assert!(h.step(outcome("m1", true, None, Some(201))).is_empty());
    assert!(
        h.step(outcome("never-released", true, None, None))
            .is_empty()
    );
}

#[test]
fn a_422_send_result_hands_the_send_back_like_send_refused() {
    let mut h = Host::default();
    h.working();
    h.send("m1");
    let a = h.step(outcome("m1", false, Some(ErrorCode::Conflict), Some(422)));
    assert_eq!(held(&a), [("m1".to_string(), 1)]);
    assert_eq!(calls(&a), [Op::Info]);
    assert!(resolved(&a).is_empty() && rejected(&a).is_empty());
    assert!(!h.m.can_release());
    let a = h.ok(Op::Info, Some(r#"{"status":"WORKING"}"#));
    assert_eq!(released(&a), ["m1"]);
    assert_eq!(h.m.sending()[0].attempts, 2);
}

#[test]
fn a_429_waits_for_retry_after_and_the_seeded_backoff_then_goes_out_again() {
    let mut h = Host::new(MachineOptions {
        seed: Some(7),
        ..MachineOptions::default()
    });
    h.working();
    h.send("m1");
    let a = limited(&mut h, "m1", Some(5_000.0));
    assert_eq!(held(&a), [("m1".to_string(), 1)]);
    assert!(
        calls(&a).is_empty(),
        "a 429 is no reason to doubt the status"
    );
    let retry_at = h.m.poll_timeout().unwrap();
    assert!(retry_at >= T0 + 5_000.0, "never sooner than Retry-After");
    // A new send meanwhile goes out at once: only m1 waits.
    assert_eq!(released(&h.send("m2")), ["m2"]);
    assert!(released(&h.at(retry_at - 1.0)).is_empty());
    assert_eq!(released(&h.at(retry_at)), ["m1"]);
    // The same seed gives the same delay.
    let mut again = Host::new(MachineOptions {
        seed: Some(7),
        ..MachineOptions::default()
    });
    again.working();
    again.send("m1");
    limited(&mut again, "m1", None);
    let mut other = Host::new(MachineOptions {
        seed: Some(7),
        ..MachineOptions::default()
    });
    other.working();
    other.send("m1");
    limited(&mut other, "m1", None);
    assert_eq!(again.m.poll_timeout(), other.m.poll_timeout());
    assert!(again.m.poll_timeout().unwrap() >= T0 + 250.0);
}

#[test]
fn the_attempt_budget_gives_a_send_up_with_the_last_reason() {
    let mut h = Host::new(MachineOptions {
        max_send_attempts: 2,
        ..MachineOptions::default()
    });
    h.working();
    h.send("m1");
    limited(&mut h, "m1", None);
    assert_eq!(released(&h.next_deadline()), ["m1"]);
    let a = limited(&mut h, "m1", None);
    assert_eq!(rejected(&a), [("m1".to_string(), ErrorCode::RateLimited)]);
    assert!(held(&a).is_empty());
    assert_eq!(h.m.queued_sends(), 0);
    // A 422 on the last attempt is given up as conflict.
    h.send("m2");
    h.step(outcome("m2", false, Some(ErrorCode::Conflict), Some(422)));
    h.ok(Op::Info, Some(r#"{"status":"WORKING"}"#));
    let a = h.step(outcome("m2", false, Some(ErrorCode::Conflict), Some(422)));
    assert_eq!(rejected(&a), [("m2".to_string(), ErrorCode::Conflict)]);
}

#[test]
fn a_retry_that_would_land_after_the_deadline_is_given_up_now() {
    let mut h = Host::default();
    h.working();
    h.step(Event::Send {
        id: "m1".into(),
        timeout_ms: Some(10_000.0),
    });
    let a = limited(&mut h, "m1", Some(60_000.0));
    assert_eq!(rejected(&a), [("m1".to_string(), ErrorCode::RateLimited)]);
}

#[test]
fn a_send_that_may_have_been_delivered_is_never_sent_again() {
    // Timeout or network error after the request left, a 5xx, a host that lost the request: a
    // duplicate is worse than a miss, so each is given up with its own code.
    for (code, http) in [
        (ErrorCode::Timeout, None),
        (ErrorCode::Network, None),
        (ErrorCode::Server, Some(502)),
        (ErrorCode::Closed, None),
        (ErrorCode::BadRequest, Some(400)),
    ] {
        let mut h = Host::default();
        h.working();
        h.send("m1");
        let a = h.step(outcome("m1", false, Some(code), http));
        assert_eq!(rejected(&a), [("m1".to_string(), code)], "{code:?}");
        assert!(held(&a).is_empty());
        assert!(released(&h.run_until(T0 + 3_600_000.0)).is_empty());
    }
    // A 503 (the API did not take it) is retried like a 429.
    let mut h = Host::default();
    h.working();
    h.send("m1");
    let a = h.step(outcome("m1", false, Some(ErrorCode::Server), Some(503)));
    assert_eq!(held(&a), [("m1".to_string(), 1)]);
    assert_eq!(released(&h.next_deadline()), ["m1"]);
    // The host knows the request never left (connection refused): retried.
    let mut h = Host::default();
    h.working();
    h.send("m1");
    let a = h.step(Event::SendResult(wawp_session::SendOutcome {
        id: "m1".into(),
        ok: false,
        error: Some(ErrorCode::Network),
        http_status: None,
        retry_after_ms: None,
        maybe_delivered: Some(false),
    }));
    assert_eq!(held(&a), [("m1".to_string(), 1)]);
    assert_eq!(released(&h.next_deadline()), ["m1"]);
}

#[test]
fn sends_out_and_waiting_for_a_retry_survive_to_json_and_a_new_host_reports_the_lost_one() {
    let mut h = Host::default();
    h.working();
    h.send("m1");
    h.send("m2");
    limited(&mut h, "m1", Some(2_000.0));
    let json = h.m.to_json();
    assert!(json.contains(r#""sending":[{"id":"m2","#), "{json}");
    assert!(json.contains(r#""attempts":1,"retryAtMs":"#), "{json}");
    let mut restored = LifecycleMachine::from_json(&json).unwrap();
    assert_eq!(restored.to_json(), json);
    assert_eq!(restored.sending()[0].id, "m2");
    // The new process answers the request that died with the old one.
    restored.handle(outcome("m2", false, Some(ErrorCode::Closed), None), h.now);
    let a: Vec<_> = std::iter::from_fn(|| restored.poll_action()).collect();
    assert_eq!(rejected(&a), [("m2".to_string(), ErrorCode::Closed)]);
    // The retry time came along.
    let at = restored.poll_timeout().unwrap();
    restored.handle(Event::Timeout, at);
    let a: Vec<_> = std::iter::from_fn(|| restored.poll_action()).collect();
    assert_eq!(released(&a), ["m1"]);
    // A snapshot from before sends were tracked still restores.
    let old = json
        .split(r#","sending":["#)
        .next()
        .map(|head| {
            format!(
                "{head}{}",
                &json[json.find(r#"],"identity""#).unwrap() + 1..]
            )
        })
        .unwrap();
    assert!(!old.contains("sending"));
    assert!(
        LifecycleMachine::from_json(&old)
            .unwrap()
            .sending()
            .is_empty()
    );
}

#[test]
fn send_result_parses_from_its_js_shape_and_refuses_bad_fields() {
    let e = Event::from_json(
        r#"{"type":"send_result","id":"m1","ok":false,"error":"rate_limited","httpStatus":429,"retryAfterMs":1500,"maybeDelivered":false}"#,
    )
    .unwrap();
    assert_eq!(
        e,
        Event::SendResult(wawp_session::SendOutcome {
            id: "m1".into(),
            ok: false,
            error: Some(ErrorCode::RateLimited),
            http_status: Some(429),
            retry_after_ms: Some(1500.0),
            maybe_delivered: Some(false),
        })
    );
    for bad in [
        r#"{"type":"send_result","ok":true}"#,
        r#"{"type":"send_result","id":"m1"}"#,
        r#"{"type":"send_result","id":"m1","ok":false,"maybeDelivered":"no"}"#,
        r#"{"type":"send_result","id":"m1","ok":false,"error":"nope"}"#,
    ] {
        assert_eq!(
            Event::from_json(bad).unwrap_err().code,
            ErrorCode::InvalidPayload,
            "{bad}"
        );
    }
    assert_eq!(
        Action::HoldSend {
            id: "m1".into(),
            attempts: 2
        }
        .to_json(),
        r#"{"type":"hold_send","id":"m1","attempts":2}"#
    );
    assert_eq!(
        Action::ResolveSend { id: "m1".into() }.to_json(),
        r#"{"type":"resolve_send","id":"m1"}"#
    );
}
