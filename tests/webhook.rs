#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Webhook bodies: both documented shapes, arrays, non-status events, size cap and the stale
//! window. (The HMAC check, with WAHA's documented test vector, is JS/WebCrypto: not here.)

mod values;
use values::ToValue;
use wawp_session::payload::Fields;

use wawp_session::ErrorCode;
use wawp_session::SessionStatus;
use wawp_session::webhook::{WebhookLimits, parse_webhooks};

/// WAHA's documented envelope (`WAHAWebhookSessionStatus`), also Wawp's current example.
const WAHA_ENVELOPE: &str = r#"{"id":"evt_01aaaaaaaaaaaaaaaaaaaaaaaa","timestamp":1634567890123,"session":"default",
 "metadata":{"user.id":"123","user.email":"email@example.com"},
 "engine":"WEBJS","event":"session.status",
 "payload":{"name":"default","status":"STOPPED"},
 "me":{"id":"11111111111@c.us","lid":"123123@lid","pushName":"Wawp Instance"}}"#;

/// The older Wawp shape: no `event`, `ts` in seconds.
const LEGACY: &str = r#"{"instance_id":"123456789","status":"SCAN_QR_CODE","qr":"data:image/png;base64,iVBORw0KGgoAAA...","ts":1722170400}"#;

const MESSAGE_EVENT: &str = r#"{"id":"evt_02","timestamp":1634567890500,"event":"message","session":"default","payload":{"id":"m1","body":"hi"}}"#;

fn limits(now_ms: f64, max_age_ms: Option<f64>) -> WebhookLimits {
    WebhookLimits {
        max_bytes: 64 * 1024,
        max_age_ms,
        now_ms,
    }
}

#[test]
fn waha_envelope_is_a_session_status_with_report() {
    let events = parse_webhooks(WAHA_ENVELOPE, &limits(0.0, None)).unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.event, "session.status");
    assert_eq!(
        e.event_id.as_deref(),
        Some("evt_01aaaaaaaaaaaaaaaaaaaaaaaa")
    );
    assert_eq!(e.at_ms, Some(1_634_567_890_123.0));
    assert_eq!(e.session.as_deref(), Some("default"));
    let report = e.report.as_ref().unwrap();
    assert_eq!(report.status, SessionStatus::Stopped);
    assert_eq!(
        report.me.as_ref().unwrap().lid.as_deref(),
        Some("123123@lid")
    );
    let v = e.to_value();
    assert_eq!(v.str_field("event"), Some("session.status"));
    assert_eq!(
        v.str_field("eventId"),
        Some("evt_01aaaaaaaaaaaaaaaaaaaaaaaa")
    );
    assert_eq!(v.num_field("atMs"), Some(1_634_567_890_123.0));
    assert_eq!(
        v.get("report").unwrap().str_field("status"),
        Some("STOPPED")
    );
    assert_eq!(
        v.get("report").unwrap().str_field("uiAction"),
        Some("start")
    );
}

#[test]
fn legacy_shape_counts_as_session_status_with_seconds_converted() {
    let events = parse_webhooks(LEGACY, &limits(0.0, None)).unwrap();
    let e = &events[0];
    assert_eq!(e.event, "session.status");
    assert_eq!(e.at_ms, Some(1_722_170_400_000.0));
    assert_eq!(e.instance_id.as_deref(), Some("123456789"));
    let report = e.report.as_ref().unwrap();
    assert_eq!(report.status, SessionStatus::ScanQrCode);
    assert!(report.qr.as_deref().unwrap().starts_with("data:image/png"));
    assert_eq!(e.event_id, None);
}

#[test]
fn other_events_pass_through_without_report() {
    let events = parse_webhooks(MESSAGE_EVENT, &limits(0.0, None)).unwrap();
    let e = &events[0];
    assert_eq!(
        (e.event.as_str(), e.report.is_none(), e.event_id.as_deref()),
        ("message", true, Some("evt_02"))
    );
    assert_eq!(e.at_ms, Some(1_634_567_890_500.0));
    assert!(e.to_value().get("report").unwrap().is_null());
}

#[test]
fn arrays_hold_several_events_in_order() {
    let body = format!("[{WAHA_ENVELOPE},{MESSAGE_EVENT},{LEGACY}]");
    let events = parse_webhooks(&body, &limits(0.0, None)).unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["session.status", "message", "session.status"]);
    assert!(parse_webhooks("[]", &limits(0.0, None)).unwrap().is_empty());
    // One bad element refuses the body, naming the element.
    let err = parse_webhooks(&format!("[{MESSAGE_EVENT}, 42]"), &limits(0.0, None)).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidPayload);
    assert!(err.message.starts_with("event 1:"), "{}", err.message);
}

#[test]
fn older_waha_builds_without_id_timestamp_or_statuses() {
    let body = r#"{"event":"session.status","session":"s1","me":null,"payload":{"name":"s1","status":"SCAN_QR_CODE"},"engine":"NOWEB","environment":{"version":"2023.10.12"}}"#;
    let e = &parse_webhooks(body, &limits(1e12, Some(1000.0))).unwrap()[0];
    assert_eq!(
        (e.event_id.as_deref(), e.at_ms, e.session.as_deref()),
        (None, None, Some("s1"))
    );
    assert_eq!(e.report.as_ref().unwrap().status, SessionStatus::ScanQrCode);
}

#[test]
fn size_cap_applies_before_parsing() {
    let small = WebhookLimits {
        max_bytes: 100,
        ..limits(0.0, None)
    };
    // Not even valid JSON: the size check comes first.
    let huge = "{".repeat(101);
    assert_eq!(
        parse_webhooks(&huge, &small).unwrap_err().code,
        ErrorCode::PayloadTooLarge
    );
    assert_eq!(
        parse_webhooks(WAHA_ENVELOPE, &small).unwrap_err().code,
        ErrorCode::PayloadTooLarge
    );
    let exact = WebhookLimits {
        max_bytes: LEGACY.len(),
        ..limits(0.0, None)
    };
    assert!(parse_webhooks(LEGACY, &exact).is_ok());
}

#[test]
fn malformed_bodies_are_invalid_payload() {
    for bad in [
        "",
        "not json",
        "{broken",
        "42",
        "\"WORKING\"",
        "null",
        r#"{"session":"default"}"#,
        r#"{"event":42,"payload":{"status":"WORKING"}}"#,
        r#"{"event":"session.status","session":"default","payload":{}}"#,
        r#"[{"event":"session.status"}]"#,
    ] {
        let err = parse_webhooks(bad, &limits(0.0, None)).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidPayload, "{bad}");
    }
}

#[test]
fn stale_and_future_events_are_refused() {
    let at = 1_634_567_890_123.0;
    let window = Some(300_000.0);
    assert!(parse_webhooks(WAHA_ENVELOPE, &limits(at + 299_000.0, window)).is_ok());
    assert!(parse_webhooks(WAHA_ENVELOPE, &limits(at + 300_000.0, window)).is_ok());
    let old = parse_webhooks(WAHA_ENVELOPE, &limits(at + 300_001.0, window)).unwrap_err();
    assert_eq!(old.code, ErrorCode::StaleEvent);
    let future = parse_webhooks(WAHA_ENVELOPE, &limits(at - 3_600_000.0, window)).unwrap_err();
    assert_eq!(future.code, ErrorCode::StaleEvent);
    assert!(future.message.contains("future"), "{}", future.message);
    // The legacy `ts` is seconds: 1722170400 s is judged as 1722170400000 ms.
    assert!(parse_webhooks(LEGACY, &limits(1_722_170_400_000.0 + 1_000.0, window)).is_ok());
    // Non-status events are judged too; one stale event refuses the whole body.
    let body = format!("[{LEGACY},{MESSAGE_EVENT}]");
    assert_eq!(
        parse_webhooks(&body, &limits(1_722_170_400_000.0, window))
            .unwrap_err()
            .code,
        ErrorCode::StaleEvent
    );
    // No window, no check.
    assert!(parse_webhooks(WAHA_ENVELOPE, &limits(at + 1e12, None)).is_ok());
}

#[test]
fn a_negative_or_nan_window_is_an_invalid_option() {
    for bad in [-1.0, f64::NAN] {
        assert_eq!(
            parse_webhooks(LEGACY, &limits(0.0, Some(bad)))
                .unwrap_err()
                .code,
            ErrorCode::InvalidOption
        );
    }
}
