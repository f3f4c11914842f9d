#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Status decoding of every real payload shape: `shared/reference/wawp-api.md` §2 (Wawp v2
//! responses), §3 (both webhook shapes), §5 (WAHA session objects and events) and API.md.

mod values;
use values::ToValue;
use wawp_session::payload::Fields;

use wawp_session::payload;
use wawp_session::{
    ErrorCode, SessionStatus, StatusReport, UiAction, decode_status_text, decode_status_value,
    ui_action_for,
};

fn decode(text: &str) -> StatusReport {
    decode_status_text(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn every_status_name_any_case_with_the_api_ui_table() {
    let table = [
        ("STOPPED", SessionStatus::Stopped, UiAction::Start),
        ("STARTING", SessionStatus::Starting, UiAction::Connecting),
        ("SCAN_QR_CODE", SessionStatus::ScanQrCode, UiAction::ScanQr),
        ("WORKING", SessionStatus::Working, UiAction::Connected),
        ("FAILED", SessionStatus::Failed, UiAction::Troubleshoot),
        ("LOGOUT", SessionStatus::Logout, UiAction::ScanQr),
        ("DISCONNECTED", SessionStatus::Logout, UiAction::ScanQr),
        ("DELETED", SessionStatus::Deleted, UiAction::Provision),
        (
            "PASSKEY_REQUIRED",
            SessionStatus::PasskeyRequired,
            UiAction::Passkey,
        ),
        (
            "PASSKEY_CONFIRMATION_REQUIRED",
            SessionStatus::PasskeyConfirmationRequired,
            UiAction::Passkey,
        ),
    ];
    for (name, status, action) in table {
        for input in [
            name.to_string(),
            name.to_ascii_lowercase(),
            format!("  {name}\n"),
        ] {
            let r = decode(&input);
            assert_eq!((r.status, r.ui_action()), (status, action), "{input:?}");
            assert_eq!(r.raw_status, input.trim());
        }
        assert_eq!(ui_action_for(name), action);
    }
    for (status, can_send, running) in [
        (SessionStatus::Stopped, false, false),
        (SessionStatus::Starting, false, true),
        (SessionStatus::ScanQrCode, false, true),
        (SessionStatus::Working, true, true),
        (SessionStatus::Failed, false, false),
        (SessionStatus::Logout, false, false),
        (SessionStatus::Deleted, false, false),
        (SessionStatus::PasskeyRequired, false, true),
        (SessionStatus::PasskeyConfirmationRequired, false, true),
        (SessionStatus::Unknown, false, false),
    ] {
        assert_eq!(
            (status.can_send(), status.is_running()),
            (can_send, running),
            "{status:?}"
        );
    }
}

#[test]
fn unknown_values_keep_their_raw_status_and_never_fail() {
    // Legacy v1 statuses from the WordPress plugin, and anything new.
    for raw in [
        "READY",
        "PAUSED",
        "OFFLINE",
        "ready",
        "SOME_FUTURE_STATUS",
        "🙂",
    ] {
        let r = decode(raw);
        assert_eq!(
            (r.status, r.raw_status.as_str(), r.ui_action()),
            (SessionStatus::Unknown, raw, UiAction::Inspect)
        );
    }
    assert_eq!(ui_action_for("nonsense"), UiAction::Inspect);
    let r = decode(r#"{"name":"x","status":"READY"}"#);
    assert_eq!(
        (r.status, r.raw_status.as_str()),
        (SessionStatus::Unknown, "READY")
    );
}

#[test]
fn wawp_v2_responses() {
    // §2.3 stop
    let r = decode(
        r#"{"name":"wawp-84729105","status":"STOPPED","config":{"webhooks":{},"proxy":null}}"#,
    );
    assert_eq!(
        (r.status, r.session.as_deref(), r.me.as_ref()),
        (SessionStatus::Stopped, Some("wawp-84729105"), None)
    );
    // §2.5 logout
    let r =
        decode(r#"{"name":"wawp-84729105","status":"SCAN_QR_CODE","instance_id":"3EB0BCB2E3D4"}"#);
    assert_eq!(
        (r.status, r.instance_id.as_deref()),
        (SessionStatus::ScanQrCode, Some("3EB0BCB2E3D4"))
    );
    // §2.6 delete
    let r = decode(r#"{"name":"wawp-84729105","status":"DELETED","instance_id":"3EB0BCB2E3D4"}"#);
    assert_eq!(
        (r.status, r.ui_action()),
        (SessionStatus::Deleted, UiAction::Provision)
    );
    // §2.7 info, WORKING with me
    let r = decode(
        r#"{"name":"wawp-84729105","status":"WORKING","config":{"webhooks":{},"proxy":null},"me":{"id":"201012345678@c.us","pushName":"John Doe"}}"#,
    );
    let me = r.me.as_ref().unwrap();
    assert_eq!(
        (r.status, me.id.as_str(), me.push_name.as_deref()),
        (
            SessionStatus::Working,
            "201012345678@c.us",
            Some("John Doe")
        )
    );
    assert!(r.status.can_send());
    // §2.7 info while SCAN_QR_CODE carries a qr; server_name when present.
    let r = decode(
        r#"{"name":"wawp-1","status":"SCAN_QR_CODE","qr":"data:image/png;base64,AAA","server_name":"node-7","me":null}"#,
    );
    assert_eq!(
        (r.qr.as_deref(), r.server_name.as_deref(), r.me.as_ref()),
        (Some("data:image/png;base64,AAA"), Some("node-7"), None)
    );
    // §2.1 create (inferred shape)
    let r = decode(
        r#"{"instance_id":"3EB0BCB2E3D4","session_name":"wawp-84729105","server_name":"node-1","status":"STOPPED"}"#,
    );
    assert_eq!(
        (r.status, r.session.as_deref(), r.instance_id.as_deref()),
        (
            SessionStatus::Stopped,
            Some("wawp-84729105"),
            Some("3EB0BCB2E3D4")
        )
    );
}

#[test]
fn webhook_shape_a_waha_envelope() {
    // §3.2 shape A, as on Wawp's page and in WAHA's OpenAPI example.
    let r = decode(
        r#"{"id":"evt_01aaaaaaaaaaaaaaaaaaaaaaaa","timestamp":1634567890123,"session":"default",
 "metadata":{"user.id":"123","user.email":"email@example.com"},
 "engine":"WEBJS","event":"session.status",
 "payload":{"name":"default","status":"STOPPED"},
 "me":{"id":"11111111111@c.us","lid":"123123@lid","pushName":"Wawp Instance"}}"#,
    );
    assert_eq!(r.status, SessionStatus::Stopped);
    assert_eq!(r.session.as_deref(), Some("default"));
    assert_eq!(
        r.event_id.as_deref(),
        Some("evt_01aaaaaaaaaaaaaaaaaaaaaaaa")
    );
    assert_eq!(r.event.as_deref(), Some("session.status"));
    assert_eq!(r.at_ms, Some(1_634_567_890_123.0));
    let me = r.me.unwrap();
    assert_eq!(
        (me.id.as_str(), me.lid.as_deref(), me.push_name.as_deref()),
        (
            "11111111111@c.us",
            Some("123123@lid"),
            Some("Wawp Instance")
        )
    );
}

#[test]
fn webhook_shape_b_legacy_seconds() {
    let r = decode(
        r#"{"instance_id":"123456789","status":"SCAN_QR_CODE","qr":"data:image/png;base64,iVBORw0KGgoAAA...","ts":1722170400}"#,
    );
    assert_eq!(r.status, SessionStatus::ScanQrCode);
    assert_eq!(r.at_ms, Some(1_722_170_400_000.0));
    assert_eq!(r.instance_id.as_deref(), Some("123456789"));
    assert_eq!(r.event, None);
    // A `ts` already in milliseconds is left alone.
    assert_eq!(
        decode(r#"{"status":"WORKING","ts":1722170400123}"#).at_ms,
        Some(1_722_170_400_123.0)
    );
}

#[test]
fn waha_event_with_history_and_environment() {
    // §5.3
    let r = decode(
        r#"{"id":"evt_1111111111111111111111111111","timestamp":1741249702485,"event":"session.status",
 "session":"default","metadata":{"user.id":"123"},
 "me":{"id":"71111111111@c.us","pushName":"~"},
 "payload":{"name":"default","status":"WORKING",
            "statuses":[{"status":"STOPPED","timestamp":1700000001000},
                        {"status":"STARTING","timestamp":1700000002000},
                        {"status":"WORKING","timestamp":1700000003000}],
            "data":null},
 "environment":{"version":"2023.10.12","engine":"WEBJS","tier":"CORE"},
 "engine":"WEBJS"}"#,
    );
    assert_eq!(
        (r.status, r.at_ms, r.me.unwrap().id.as_str()),
        (
            SessionStatus::Working,
            Some(1_741_249_702_485.0),
            "71111111111@c.us"
        )
    );
    // Only a history: the newest entry by timestamp counts, whatever the order.
    let r = decode(
        r#"{"event":"session.status","session":"s","payload":{"name":"s","statuses":[
            {"status":"WORKING","timestamp":3},{"status":"STOPPED","timestamp":1},{"status":"STARTING","timestamp":2}]}}"#,
    );
    assert_eq!((r.status, r.at_ms), (SessionStatus::Working, Some(3.0)));
    // Older builds: no id, no timestamp, no statuses, me null.
    let r = decode(
        r#"{"event":"session.status","session":"s1","me":null,"payload":{"name":"s1","status":"SCAN_QR_CODE"},"engine":"NOWEB","environment":{"version":"2024.1.1"}}"#,
    );
    assert_eq!(
        (r.status, r.event_id.as_deref(), r.at_ms, r.me),
        (SessionStatus::ScanQrCode, None, None, None)
    );
    // GOWS passkey statuses carry payload.data.
    let r = decode(
        r#"{"event":"session.status","session":"g","payload":{"name":"g","status":"PASSKEY_REQUIRED","data":{"code":"12"}}}"#,
    );
    assert_eq!(r.ui_action(), UiAction::Passkey);
}

#[test]
fn waha_session_objects() {
    // §5.2 SessionInfo (webhooks as an array, engine as an object)
    let r = decode(
        r#"{"name":"default","status":"WORKING",
 "config":{"proxy":null,"debug":false,
   "webhooks":[{"url":"https://webhook.site/x","events":["message","session.status"],
                "hmac":null,"retries":null,"customHeaders":null}]},
 "me":{"id":"79111111@c.us","pushName":"WAHA"},
 "engine":{"engine":"NOWEB"}, "presence":"online", "timestamps":{"activity":null}}"#,
    );
    assert_eq!(
        (r.status, r.session.as_deref(), r.me.unwrap().id.as_str()),
        (SessionStatus::Working, Some("default"), "79111111@c.us")
    );
    // Create response: STARTING, me null.
    let r = decode(r#"{"name":"default","status":"STARTING","config":{},"me":null}"#);
    assert_eq!((r.status, r.me), (SessionStatus::Starting, None));
    // `me` as a bare id string.
    let r = decode(r#"{"status":"WORKING","me":"1@c.us"}"#);
    assert_eq!(r.me.unwrap().id, "1@c.us");
}

#[test]
fn arrays_and_parsed_values() {
    let r = decode(
        r#"[{"event":"session.status","payload":{"status":"STARTING"}},{"event":"message","payload":{}},{"instance_id":"1","status":"WORKING"}]"#,
    );
    assert_eq!(r.status, SessionStatus::Working);
    let v = payload::parse(r#"{"status":"FAILED"}"#).unwrap();
    assert_eq!(
        decode_status_value(&v).unwrap().status,
        SessionStatus::Failed
    );
    assert_eq!(
        decode_status_value(&serde_json::Value::String("working".into()))
            .unwrap()
            .status,
        SessionStatus::Working
    );
}

#[test]
fn no_status_anywhere_is_invalid_payload() {
    for bad in [
        "",
        "   ",
        "{}",
        r#"{"name":"x","config":{}}"#,
        r#"{"status":""}"#,
        r#"{"status":null}"#,
        r#"{"status":42}"#,
        r#"{"event":"session.status","payload":{}}"#,
        r#"[]"#,
        r#"[{"event":"message"}]"#,
        "{broken",
        "[1,2",
    ] {
        assert_eq!(
            decode_status_text(bad).unwrap_err().code,
            ErrorCode::InvalidPayload,
            "{bad:?}"
        );
    }
    for bad in [
        serde_json::Value::Null,
        serde_json::json!(1.0),
        serde_json::Value::Bool(true),
    ] {
        assert_eq!(
            decode_status_value(&bad).unwrap_err().code,
            ErrorCode::InvalidPayload
        );
    }
}

#[test]
fn reports_decode_back_to_themselves_including_unknown_raw_status() {
    for input in [
        r#"{"instance_id":"A","status":"WORKING","ts":1,"me":{"id":"1@c.us","pushName":"P","lid":"9@lid"},"server_name":"n","qr":"q"}"#,
        r#"{"id":"evt_x","timestamp":5,"event":"session.status","session":"s","payload":{"status":"READY"}}"#,
        "PASSKEY_REQUIRED",
    ] {
        let r = decode(input);
        let v = r.to_value();
        assert_eq!(v.str_field("uiAction"), Some(r.ui_action().as_str()));
        assert_eq!(
            v.get("canSend").and_then(serde_json::Value::as_bool),
            Some(r.status.can_send())
        );
        let again = decode(&r.to_json());
        assert_eq!(
            (
                again.status,
                &again.raw_status,
                &again.instance_id,
                &again.session,
                &again.server_name,
                &again.qr,
                &again.me,
                again.at_ms,
                &again.event_id
            ),
            (
                r.status,
                &r.raw_status,
                &r.instance_id,
                &r.session,
                &r.server_name,
                &r.qr,
                &r.me,
                r.at_ms,
                &r.event_id
            ),
            "{input}"
        );
    }
}
