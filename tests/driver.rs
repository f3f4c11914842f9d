//! The session driver's own rules (src/driver/): what the view shows after each event, the shared
//! budget gate, `restored()`, `read_qr`, which observed items carry a status, and the stored form
//! (including bare machine snapshots stored before the driver existed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::json;
use wawp_session::driver::{
    DriverEffect, DriverEvent, DriverOnly, SessionDriver, StoredSend, status_reports,
    status_reports_text,
};
use wawp_session::machine::{Action, AdminReason, Op};
use wawp_session::{
    ErrorCode, LifecycleMachine, MachineOptions, RetryBudget, SessionStatus, UiAction,
};

const T0: f64 = 1_764_000_000_000.0;

fn options(extra: serde_json::Value) -> MachineOptions {
    let mut base =
        json!({"seed": 7, "debounceMs": 0, "reconcileShortMs": 15000, "deadlineJitter": 0});
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    MachineOptions::from_value(&base).unwrap()
}

fn event(v: serde_json::Value) -> DriverEvent {
    DriverEvent::from_value(&v).unwrap()
}

fn drain(driver: &mut SessionDriver) -> Vec<DriverEffect> {
    std::iter::from_fn(|| driver.poll_effect()).collect()
}

fn calls(effects: &[DriverEffect]) -> Vec<Op> {
    effects
        .iter()
        .filter_map(|e| match e {
            DriverEffect::Action(Action::Call { op }) => Some(*op),
            _ => None,
        })
        .collect()
}

fn has(effects: &[DriverEffect], kind: DriverOnly) -> bool {
    effects.contains(&DriverEffect::Driver(kind))
}

/// A driver that saw WORKING through `info`.
fn working(extra: serde_json::Value) -> SessionDriver {
    let mut d = SessionDriver::new(options(extra));
    d.handle(event(json!({"type": "warm_boot"})), T0);
    assert_eq!(calls(&drain(&mut d)), [Op::Info]);
    d.handle(
        event(json!({"type": "result", "op": "info", "ok": true, "body": {"status": "WORKING"}})),
        T0 + 10.0,
    );
    drain(&mut d);
    d
}

#[test]
fn an_info_answer_fills_the_view_and_clears_the_pending_read() {
    let mut d = SessionDriver::new(options(json!({})));
    d.handle(event(json!({"type": "warm_boot"})), T0);
    let effects = drain(&mut d);
    assert_eq!(calls(&effects), [Op::Info]);
    assert!(
        has(&effects, DriverOnly::View),
        "a call in flight changes the view"
    );
    let view = d.view();
    assert_eq!(
        (view.pending_op, view.in_flight.clone()),
        (Some(Op::Info), vec![Op::Info])
    );
    assert_eq!(view.status_since_ms, None, "nothing observed yet");

    let body = json!({"name": "s1", "status": "WORKING", "server_name": "eu-3",
        "me": {"id": "201012345678@c.us", "pushName": "Shop"}});
    d.handle(
        event(json!({"type": "result", "op": "info", "ok": true, "body": body})),
        T0 + 50.0,
    );
    let effects = drain(&mut d);
    assert!(has(&effects, DriverOnly::View));
    let view = d.view();
    assert_eq!(view.status, SessionStatus::Working);
    assert_eq!(view.ui_action, UiAction::Connected);
    assert_eq!(view.status_since_ms, Some(T0 + 50.0));
    assert_eq!(view.server_name.as_deref(), Some("eu-3"));
    let me = view.me.unwrap();
    assert_eq!(
        (me.id.as_str(), me.push_name.as_deref()),
        ("201012345678@c.us", Some("Shop"))
    );
    assert_eq!(view.report.unwrap().session.as_deref(), Some("s1"));
    assert_eq!((view.pending_op, view.in_flight.len()), (None, 0));
    assert!(view.last_error.is_none());
}

#[test]
fn a_failed_call_is_the_last_error_with_the_clients_message() {
    let mut d = SessionDriver::new(options(json!({})));
    d.handle(event(json!({"type": "warm_boot"})), T0);
    drain(&mut d);
    d.handle(
        event(json!({"type": "result", "op": "info", "ok": false, "error": "server", "httpStatus": 503,
            "message": "info failed: HTTP 503"})),
        T0 + 5.0,
    );
    assert!(has(&drain(&mut d), DriverOnly::View));
    let error = d.view().last_error.unwrap();
    assert_eq!(
        (
            error.code,
            error.op.as_str(),
            error.message.as_str(),
            error.at_ms
        ),
        (ErrorCode::Server, "info", "info failed: HTTP 503", T0 + 5.0)
    );
    // Without a message the view still says what failed.
    d.handle(event(json!({"type": "timeout"})), T0 + 120_000.0);
    drain(&mut d);
    d.handle(
        event(json!({"type": "result", "op": "info", "ok": false, "httpStatus": 429})),
        T0 + 120_010.0,
    );
    let error = d.view().last_error.unwrap();
    assert_eq!(
        (error.code, error.message.as_str()),
        (ErrorCode::RateLimited, "info failed (rate_limited)")
    );
    // A message that is not a string is refused like any malformed event.
    let bad = DriverEvent::from_value(
        &json!({"type": "result", "op": "info", "ok": false, "message": 5}),
    );
    assert_eq!(bad.unwrap_err().code, ErrorCode::InvalidPayload);
}

#[test]
fn a_lifecycle_call_is_the_pending_op_before_a_read() {
    let mut d = working(json!({}));
    d.handle(event(json!({"type": "user_stop"})), T0 + 100.0);
    assert_eq!(calls(&drain(&mut d)), [Op::Stop]);
    assert_eq!(d.view().pending_op, Some(Op::Stop));
    d.handle(
        event(json!({"type": "result", "op": "stop", "ok": true, "body": {"status": "STOPPED"}})),
        T0 + 200.0,
    );
    drain(&mut d);
    assert_eq!(d.view().pending_op, d.view().in_flight.first().copied());
}

#[test]
fn me_answers_identity_verdicts_and_a_logout_move_the_account() {
    let mut d = SessionDriver::new(options(json!({"expectedJid": "201012345678@c.us"})));
    d.handle(event(json!({"type": "status", "input": "WORKING"})), T0);
    assert_eq!(calls(&drain(&mut d)), [Op::Me]);
    d.handle(
        event(json!({"type": "result", "op": "me", "ok": true,
        "body": {"id": "201012345678@c.us", "pushName": "Shop"}})),
        T0 + 10.0,
    );
    let effects = drain(&mut d);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, DriverEffect::Action(Action::Identity { .. })))
    );
    let view = d.view();
    assert_eq!(view.me.as_ref().unwrap().push_name.as_deref(), Some("Shop"));
    assert_eq!(
        view.identity.unwrap().me.as_deref(),
        Some("201012345678@c.us")
    );
    d.handle(
        event(json!({"type": "status", "input": "LOGOUT"})),
        T0 + 20.0,
    );
    drain(&mut d);
    let view = d.view();
    assert!(
        view.me.is_none() && view.identity.is_none(),
        "a logout clears the account"
    );
}

#[test]
fn a_report_shows_only_when_the_machine_accepted_it() {
    let mut d = SessionDriver::new(options(json!({})));
    let fresh = json!({"event": "session.status", "timestamp": T0, "session": "a",
        "payload": {"status": "SCAN_QR_CODE", "qr": "code-2"}});
    d.handle(event(json!({"type": "status", "input": fresh})), T0);
    drain(&mut d);
    assert_eq!(d.view().report.unwrap().qr.as_deref(), Some("code-2"));
    let again = SessionDriver::from_json(&d.to_json()).unwrap();
    assert_eq!(
        again.view(),
        d.view(),
        "a webhook's report survives the stored form"
    );
    // An older event (reordered delivery) is ignored by the machine, and by the view.
    let stale = json!({"event": "session.status", "timestamp": T0 - 5000.0, "session": "a",
        "payload": {"status": "WORKING"}});
    d.handle(event(json!({"type": "status", "input": stale})), T0 + 1.0);
    let effects = drain(&mut d);
    assert_eq!(d.status(), SessionStatus::ScanQrCode);
    assert_eq!(d.view().report.unwrap().status, SessionStatus::ScanQrCode);
    assert!(
        !has(&effects, DriverOnly::View),
        "nothing the UI shows changed"
    );
}

#[test]
fn read_qr_on_entering_scan_qr_and_on_every_new_qr_while_it_shows() {
    let mut d = SessionDriver::new(options(json!({})));
    d.handle(event(json!({"type": "status", "input": "STARTING"})), T0);
    assert!(!has(&drain(&mut d), DriverOnly::ReadQr));
    d.handle(
        event(json!({"type": "status", "input": "SCAN_QR_CODE"})),
        T0 + 1.0,
    );
    let effects = drain(&mut d);
    assert_eq!(
        effects
            .iter()
            .filter(|e| **e == DriverEffect::Driver(DriverOnly::ReadQr))
            .count(),
        1
    );
    // WhatsApp rotates the code: every SCAN_QR_CODE while it shows asks for a fresh image.
    d.handle(
        event(json!({"type": "status", "input": {"status": "SCAN_QR_CODE", "qr": "next"}})),
        T0 + 2.0,
    );
    assert!(has(&drain(&mut d), DriverOnly::ReadQr));
    d.handle(
        event(json!({"type": "status", "input": "WORKING"})),
        T0 + 3.0,
    );
    assert!(!has(&drain(&mut d), DriverOnly::ReadQr));
}

#[test]
fn notifications_stay_open_until_working_again() {
    let mut d = working(json!({"failedRestartDelayMs": 1000}));
    d.handle(
        event(json!({"type": "status", "input": "FAILED"})),
        T0 + 100.0,
    );
    let effects = drain(&mut d);
    assert!(effects.contains(&DriverEffect::Action(Action::NotifyAdmin {
        reason: AdminReason::Failed
    })));
    let open = d.view().notification.unwrap();
    assert_eq!((open.reason, open.at_ms), (AdminReason::Failed, T0 + 100.0));
    d.handle(
        event(json!({"type": "status", "input": "STARTING"})),
        T0 + 200.0,
    );
    assert!(d.view().notification.is_some());
    d.handle(
        event(json!({"type": "status", "input": "WORKING"})),
        T0 + 300.0,
    );
    assert!(d.view().notification.is_none());
}

fn budget(capacity: f64, refill: f64) -> Rc<RefCell<RetryBudget>> {
    Rc::new(RefCell::new(
        RetryBudget::with_options(capacity, refill, 0.0).unwrap(),
    ))
}

#[test]
fn automatic_restarts_spend_the_shared_budget_and_an_empty_one_answers_rate_limited() {
    let shared = budget(1.0, 0.0);
    let opts = json!({"failedRestartDelayMs": 1000});
    let (mut a, mut b) = (working(opts.clone()), working(opts));
    a.set_budget(Some(shared.clone()));
    b.set_budget(Some(shared.clone()));
    for d in [&mut a, &mut b] {
        d.handle(
            event(json!({"type": "status", "input": "FAILED"})),
            T0 + 100.0,
        );
        drain(d);
    }
    a.handle(event(json!({"type": "timeout"})), T0 + 2000.0);
    assert_eq!(
        calls(&drain(&mut a)),
        [Op::Restart],
        "the first restart takes the token"
    );
    b.handle(event(json!({"type": "timeout"})), T0 + 2000.0);
    let effects = drain(&mut b);
    assert!(
        calls(&effects).is_empty(),
        "no request while the budget is empty"
    );
    assert!(effects.contains(&DriverEffect::Driver(DriverOnly::Result {
        op: Op::Restart,
        ok: false,
        error: ErrorCode::RateLimited,
    })));
    assert!(b.in_flight().is_empty());
    assert!(
        b.poll_timeout().is_some(),
        "the machine backs off and tries again"
    );
    assert_eq!(b.machine().snapshot().retry_op, Some(Op::Restart));
    // A person's Retry never waits for the (still empty) budget.
    let mut c = working(json!({}));
    c.set_budget(Some(shared.clone()));
    c.handle(event(json!({"type": "user_retry"})), T0 + 2100.0);
    assert_eq!(calls(&drain(&mut c)), [Op::Restart]);
    assert_eq!(shared.borrow().tokens, 0.0);
}

#[test]
fn without_a_budget_every_call_goes_out() {
    let mut d = working(json!({"failedRestartDelayMs": 1000}));
    d.handle(
        event(json!({"type": "status", "input": "FAILED"})),
        T0 + 100.0,
    );
    drain(&mut d);
    d.handle(event(json!({"type": "timeout"})), T0 + 2000.0);
    assert_eq!(calls(&drain(&mut d)), [Op::Restart]);
}

#[test]
fn restored_answers_lost_calls_network_and_lost_sends_closed() {
    let mut d = working(json!({}));
    d.handle(event(json!({"type": "send", "id": "m1"})), T0 + 20.0);
    let effects = drain(&mut d);
    assert!(effects.contains(&DriverEffect::Action(Action::ReleaseSend {
        id: "m1".into()
    })));
    d.handle(event(json!({"type": "user_stop"})), T0 + 30.0);
    drain(&mut d);
    assert_eq!(d.in_flight(), [Op::Stop]);

    let mut again = SessionDriver::from_json(&d.to_json()).unwrap();
    assert_eq!(again.view(), d.view(), "the view survives the round trip");
    again.restored(T0 + 60_000.0);
    let effects = drain(&mut again);
    assert!(effects.contains(&DriverEffect::Action(Action::RejectSend {
        id: "m1".into(),
        code: ErrorCode::Closed
    })));
    assert!(again.in_flight().is_empty());
    assert!(again.machine().sending().is_empty());
    assert_eq!(
        again.machine().pending_op(),
        None,
        "single flight no longer waits for the lost stop"
    );
    assert!(
        again.view().last_error.is_none(),
        "the host's loss is not an API error"
    );
}

fn stored(v: serde_json::Value) -> Vec<StoredSend> {
    StoredSend::list_from_json(&v.to_string()).unwrap()
}

#[test]
fn stored_sends_the_driver_does_not_hold_are_given_up_or_queued_and_held_ones_are_left() {
    let mut d = working(json!({}));
    d.handle(event(json!({"type": "send", "id": "held"})), T0 + 20.0);
    drain(&mut d);
    assert_eq!(d.machine().sending().len(), 1);

    d.reconcile_sends(
        stored(json!([
            {"id": "held", "state": "sending"},
            {"id": "on-the-wire", "state": "sending"},
            {"id": "waiting", "state": "queued", "timeoutMs": 5000},
            {"id": "also-held", "state": "queued"}
        ]))
        .into_iter()
        .filter(|s| s.id != "also-held")
        .collect(),
        T0 + 30.0,
    );
    let effects = drain(&mut d);
    assert!(
        effects.contains(&DriverEffect::Action(Action::RejectSend {
            id: "on-the-wire".into(),
            code: ErrorCode::Closed
        })),
        "a send on the wire the driver never held may have been delivered: given up, not resent"
    );
    assert!(
        effects.contains(&DriverEffect::Action(Action::ReleaseSend {
            id: "waiting".into()
        })),
        "a queued one is a new send for the machine (WORKING: released)"
    );
    assert!(
        !effects.iter().any(|e| matches!(e,
            DriverEffect::Action(Action::RejectSend { id, .. } | Action::ReleaseSend { id }) if id == "held")),
        "the driver's own send is left alone"
    );
}

#[test]
fn a_queued_stored_send_waits_for_the_session_like_any_send() {
    let mut d = SessionDriver::new(options(json!({})));
    d.reconcile_sends(
        stored(json!([{"id": "m1", "state": "queued", "timeoutMs": null}])),
        T0,
    );
    let effects = drain(&mut d);
    assert_eq!(d.queued_sends(), 1, "held until the session can send");
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, DriverEffect::Action(Action::ReleaseSend { .. })))
    );
    for bad in [
        json!({"id": "x", "state": "queued"}),
        json!([{"id": "x", "state": "sent"}]),
        json!([{"state": "queued"}]),
        json!([{"id": "x", "state": "queued", "timeoutMs": -1}]),
        json!([{"id": "x", "state": "queued", "timeoutMs": "soon"}]),
    ] {
        let err = StoredSend::list_from_json(&bad.to_string()).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidPayload, "{bad}");
    }
}

#[test]
fn a_bare_machine_snapshot_still_loads() {
    let text = include_str!("fixtures/machine-snapshot-v1.json");
    let d = SessionDriver::from_json(text).unwrap();
    assert_eq!(d.machine(), &LifecycleMachine::from_json(text).unwrap());
    let view = d.view();
    assert_eq!(
        (view.status, view.queue_length),
        (SessionStatus::Starting, 2)
    );
    assert!(view.report.is_none() && view.me.is_none());
    // A bare snapshot with a call in flight: the driver knows it must be answered after a restart.
    let mut machine = LifecycleMachine::new(options(json!({})));
    machine.handle(wawp_session::Event::WarmBoot, T0);
    let mut d = SessionDriver::from_json(&machine.to_json()).unwrap();
    assert_eq!(d.in_flight(), [Op::Info]);
    d.restored(T0 + 1.0);
    assert!(d.in_flight().is_empty());
    assert_eq!(d.machine().in_flight_ops(), []);
}

#[test]
fn malformed_stored_drivers_are_invalid_payload() {
    let good: serde_json::Value = serde_json::from_str(&working(json!({})).to_json()).unwrap();
    assert_eq!(good["driver"], 1);
    for broken in [
        json!({"driver": 2, "machine": good["machine"]}),
        json!({"driver": 1}),
        json!({"driver": 1, "machine": good["machine"], "inFlight": ["fly"]}),
        json!({"driver": 1, "machine": good["machine"], "inFlight": "info"}),
        json!({"driver": 1, "machine": good["machine"], "view": {"lastError": {"code": "nope", "op": "x", "atMs": 1}}}),
        json!({"driver": 1, "machine": good["machine"], "view": {"me": {"pushName": "no id"}}}),
        json!([]),
    ] {
        let err = SessionDriver::from_value(&broken).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidPayload, "{broken}");
    }
}

#[test]
fn observed_inputs_carry_statuses_only_in_status_events() {
    let body = json!([
        {"event": "message", "session": "a", "payload": {"status": "WORKING"}},
        {"event": "session.status", "session": "a", "payload": {"status": "FAILED"}},
        {"event": "session.status", "report": null},
        {"event": "session.status", "report": {"status": "STARTING", "rawStatus": "STARTING"}},
        "WORKING",
    ]);
    let statuses: Vec<SessionStatus> = status_reports(&body)
        .unwrap()
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses,
        [
            SessionStatus::Failed,
            SessionStatus::Starting,
            SessionStatus::Working
        ]
    );
    assert!(
        status_reports_text(r#"{"event":"engine.event","payload":{}}"#)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        status_reports_text("{not json").unwrap_err().code,
        ErrorCode::InvalidPayload
    );
    assert_eq!(
        status_reports(&json!([{"name": "x"}])).unwrap_err().code,
        ErrorCode::InvalidPayload
    );

    let mut d = SessionDriver::new(options(json!({})));
    d.observe(status_reports(&body).unwrap(), T0);
    assert_eq!(d.status(), SessionStatus::Working);
    drain(&mut d);
    // A non-status envelope handed to `handle` as a status event is skipped too.
    d.handle(
        event(json!({"type": "status", "input": {"event": "presence.update", "status": "FAILED"}})),
        T0 + 1.0,
    );
    assert_eq!(d.status(), SessionStatus::Working);
    assert!(drain(&mut d).iter().all(|e| !matches!(
        e,
        DriverEffect::Action(Action::Ui {
            status: SessionStatus::Failed,
            ..
        })
    )));
}

#[test]
fn effects_serialize_as_the_js_shapes() {
    let text = |e: DriverEffect| serde_json::to_string(&e).unwrap();
    assert_eq!(
        text(DriverEffect::Driver(DriverOnly::View)),
        r#"{"type":"view"}"#
    );
    assert_eq!(
        text(DriverEffect::Driver(DriverOnly::ReadQr)),
        r#"{"type":"read_qr"}"#
    );
    assert_eq!(
        text(DriverEffect::Driver(DriverOnly::Result {
            op: Op::Start,
            ok: false,
            error: ErrorCode::RateLimited
        })),
        r#"{"type":"result","op":"start","ok":false,"error":"rate_limited"}"#
    );
    assert_eq!(
        text(DriverEffect::Action(Action::Call { op: Op::Info })),
        r#"{"type":"call","op":"info"}"#
    );
    let view = serde_json::to_value(working(json!({})).view()).unwrap();
    let keys: Vec<&str> = view
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "status",
        "uiAction",
        "statusSinceMs",
        "report",
        "me",
        "serverName",
        "identity",
        "lastError",
        "pendingOp",
        "inFlight",
        "notification",
        "queueLength",
        "nextDeadlineMs",
        "restarts",
        "autoRestarts",
        "paused",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
}

/// The stored form as written by this version: later versions must keep reading it.
#[test]
fn a_stored_driver_v1_loads_with_its_view_and_calls() {
    let text = include_str!("fixtures/driver-snapshot-v1.json");
    let mut d = SessionDriver::from_json(text).unwrap();
    let view = d.view();
    assert_eq!(view.server_name.as_deref(), Some("eu-1"));
    assert_eq!(view.me.unwrap().push_name.as_deref(), Some("Shop"));
    assert_eq!(view.last_error.unwrap().message, "info failed: HTTP 503");
    assert_eq!(view.notification.unwrap().reason, AdminReason::Failed);
    assert_eq!(view.report.unwrap().qr.as_deref(), Some("q"));
    assert_eq!(d.in_flight(), [Op::Info, Op::Start]);
    d.restored(T0 + 10_000.0);
    assert!(d.in_flight().is_empty());
}
