#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
//! The boundary types through serde, as a Rust user (or a native host) reads and writes them:
//! JS names, tagged actions, unknown statuses as UNKNOWN, the validating readers' errors.

use serde_json::json;
use wawp_session::machine::Maintenance;
use wawp_session::webhook::{WebhookEvent, WebhookLimits, parse_webhooks};
use wawp_session::{
    Action, Event, LifecycleMachine, MachineOptions, Op, SessionStatus, StatusReport, UiAction,
};

#[test]
fn actions_serialize_with_their_js_names_and_type_tag() {
    let ui = Action::Ui {
        ui_action: UiAction::ScanQr,
        status: SessionStatus::ScanQrCode,
    };
    assert_eq!(
        serde_json::to_value(&ui).unwrap(),
        json!({"type": "ui", "uiAction": "scan_qr", "status": "SCAN_QR_CODE"})
    );
    assert_eq!(
        serde_json::to_value(Action::Call { op: Op::Restart }).unwrap(),
        json!({"type": "call", "op": "restart"})
    );
    assert_eq!(
        serde_json::to_value(Action::ClearIdentity).unwrap(),
        json!({"type": "clear_identity"})
    );
}

#[test]
fn statuses_deserialize_leniently_and_unknown_ones_as_unknown() {
    let s: SessionStatus = serde_json::from_str(r#""disconnected""#).unwrap();
    assert_eq!(s, SessionStatus::Logout);
    let s: SessionStatus = serde_json::from_str(r#""HIBERNATING""#).unwrap();
    assert_eq!(s, SessionStatus::Unknown);
    let r: StatusReport = serde_json::from_str(r#"{"status":"HIBERNATING"}"#).unwrap();
    assert_eq!(
        (r.status, r.raw_status.as_str()),
        (SessionStatus::Unknown, "HIBERNATING")
    );
    let report = serde_json::to_value(&r).unwrap();
    assert_eq!(report["uiAction"], "inspect");
    assert_eq!(report["canSend"], false);
    assert!(report["me"].is_null());
    let again: StatusReport = serde_json::from_value(report).unwrap();
    assert_eq!(again.raw_status, "HIBERNATING");
}

#[test]
fn options_and_events_read_through_their_checks() {
    let o: MachineOptions =
        serde_json::from_str(r#"{"maxQueuedSends":3,"maintenance":{"weekday":0,"hourUtc":3}}"#)
            .unwrap();
    assert_eq!(o.max_queued_sends, 3);
    assert_eq!(
        o.maintenance,
        Some(Maintenance {
            weekday: 0,
            hour_utc: 3
        })
    );
    let back: MachineOptions = serde_json::from_value(serde_json::to_value(&o).unwrap()).unwrap();
    assert_eq!(back, o);
    let err = serde_json::from_str::<MachineOptions>(r#"{"maxQueuedSends":-1}"#).unwrap_err();
    assert!(err.to_string().contains("maxQueuedSends"), "{err}");
    let e: Event = serde_json::from_str(r#"{"type":"send","id":"m-1"}"#).unwrap();
    assert_eq!(
        e,
        Event::Send {
            id: "m-1".into(),
            timeout_ms: None
        }
    );
    assert!(serde_json::from_str::<Event>(r#"{"type":"teleport"}"#).is_err());
}

#[test]
fn webhook_events_round_trip_through_serde() {
    let limits = WebhookLimits {
        now_ms: 1_700_000_000_000.0,
        ..WebhookLimits::default()
    };
    let events = parse_webhooks(
        r#"[{"event":"session.status","session":"s","payload":{"status":"WORKING"},"timestamp":1700000000000,"id":"e1"},{"event":"message","session":"s","id":"e2"}]"#,
        &limits,
    )
    .unwrap();
    let text = serde_json::to_string(&events).unwrap();
    let back: Vec<WebhookEvent> = serde_json::from_str(&text).unwrap();
    // The JS report has no `event` of its own (the WebhookEvent carries it): all else survives.
    let mut expected = events.clone();
    for e in &mut expected {
        if let Some(r) = &mut e.report {
            r.event = None;
        }
    }
    assert_eq!(back, expected);
    assert_eq!(
        serde_json::to_value(&events[1]).unwrap()["report"],
        json!(null)
    );
}

#[test]
fn a_machine_round_trips_through_serde() {
    let stored = include_str!("fixtures/machine-snapshot-v1.json");
    let m: LifecycleMachine = serde_json::from_str(stored).unwrap();
    let text = serde_json::to_string(&m).unwrap();
    let again: LifecycleMachine = serde_json::from_str(&text).unwrap();
    assert_eq!(again, m);
    let snapshot = serde_json::to_value(m.snapshot()).unwrap();
    assert_eq!(snapshot["status"], "STARTING");
    assert_eq!(snapshot["queue"][0]["id"], "msg-1");
}
