//! Binding tests shared by `wasm_node.rs` (Node) and `wasm_browser.rs` (headless Chromium):
//! the exported functions called as JS would, with JS values in and JS values out.

use js_sys::{Function, JSON, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;
use wawp_session::wasm as w;

mod client;

fn js(text: &str) -> JsValue {
    JSON::parse(text).unwrap()
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap()
}

fn get_str(v: &JsValue, key: &str) -> String {
    get(v, key)
        .as_string()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

/// A `WawpError`-shaped class like `pkg/src/error.js`, built in JS.
fn error_class() -> Function {
    Function::new_no_args(
        "return class WawpError extends Error {
           constructor(code, message, details = {}) {
             super(message); this.name = 'WawpError'; this.code = code;
             if (details.httpStatus !== undefined) this.httpStatus = details.httpStatus;
             if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
             if (details.op !== undefined) this.op = details.op;
           } }",
    )
    .call0(&JsValue::UNDEFINED)
    .unwrap()
    .into()
}

fn is_instance(value: &JsValue, class: &Function) -> bool {
    let proto = Reflect::get(class, &JsValue::from_str("prototype")).unwrap();
    let mut current = Reflect::get_prototype_of(value).map(JsValue::from).ok();
    while let Some(p) = current.filter(|p| !p.is_null()) {
        if p == proto {
            return true;
        }
        current = Reflect::get_prototype_of(&p).map(JsValue::from).ok();
    }
    false
}

#[wasm_bindgen_test]
fn decodes_a_bare_status_and_a_waha_envelope() {
    let r = w::decode_status(JsValue::from_str("WORKING")).unwrap();
    assert_eq!(get_str(&r, "status"), "WORKING");
    assert_eq!(get_str(&r, "uiAction"), "connected");
    assert_eq!(get(&r, "canSend"), JsValue::TRUE);

    let envelope = js(r#"{"event":"session.status","session":"default",
        "payload":{"status":"SCAN_QR_CODE"},"timestamp":1700000000000,"id":"evt_1"}"#);
    let r = w::decode_status(envelope).unwrap();
    assert_eq!(get_str(&r, "status"), "SCAN_QR_CODE");
    assert_eq!(get_str(&r, "uiAction"), "scan_qr");
    assert_eq!(get_str(&r, "session"), "default");
    assert_eq!(get(&r, "atMs").as_f64(), Some(1_700_000_000_000.0));
    assert_eq!(get(&r, "canSend"), JsValue::FALSE);
}

#[wasm_bindgen_test]
fn unknown_statuses_decode_to_unknown_with_the_raw_text() {
    let r = w::decode_status(JsValue::from_str("HIBERNATING")).unwrap();
    assert_eq!(get_str(&r, "status"), "UNKNOWN");
    assert_eq!(get_str(&r, "rawStatus"), "HIBERNATING");
    assert_eq!(get_str(&r, "uiAction"), "inspect");
    assert_eq!(w::ui_action_for("stopped".into()).unwrap(), "start");
}

#[wasm_bindgen_test]
fn fractional_numbers_round_trip_exactly() {
    // JS values cross as JSON.stringify text read by serde_json (float_roundtrip) and leave
    // through serde-wasm-bindgen as numbers: a fraction must survive both ways unchanged.
    let envelope = js(r#"{"status":"WORKING","timestamp":1700000000123.25}"#);
    let r = w::decode_status(envelope).unwrap();
    assert_eq!(get(&r, "atMs").as_f64(), Some(1_700_000_000_123.25));
    let metrics = w::stability(
        js(r#"[{"atMs":0,"status":"STARTING"},{"atMs":1000,"status":"WORKING"}]"#),
        3000.0,
        None,
    )
    .unwrap();
    let ratio = get(&metrics, "uptimeRatio").as_f64().unwrap();
    assert!((ratio - 2.0 / 3.0).abs() < 1e-12, "uptimeRatio {ratio}");
}

#[wasm_bindgen_test]
fn errors_are_instances_of_the_registered_class_with_a_code() {
    let class = error_class();
    w::set_error_class(class.clone().into());
    let error = w::decode_status(JsValue::from_str("{broken")).unwrap_err();
    assert!(is_instance(&error, &class), "not a WawpError instance");
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(get_str(&error, "code"), "invalid_payload");
    assert_eq!(get_str(&error, "name"), "WawpError");
}

#[wasm_bindgen_test]
fn without_a_constructible_class_errors_are_plain_errors_with_a_code() {
    // An arrow function cannot be constructed: the fallback path must still give a code.
    w::set_error_class(
        Function::new_no_args("return () => {}")
            .call0(&JsValue::UNDEFINED)
            .unwrap(),
    );
    let error = w::decode_status(JsValue::from_str("   ")).unwrap_err();
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(get_str(&error, "code"), "invalid_payload");
    assert_eq!(get_str(&error, "name"), "WawpError");
    w::set_error_class(error_class().into());
}

#[wasm_bindgen_test]
fn backoff_is_seeded_floored_by_retry_after_and_exhausts() {
    let opts = js(r#"{"baseMs":100,"capMs":1000,"maxAttempts":3,"seed":7}"#);
    let mut a = w::JsBackoff::new(opts.clone()).unwrap();
    let mut b = w::JsBackoff::new(opts).unwrap();
    let first = a.next(None).unwrap();
    assert_eq!(Some(first), b.next(None), "same seed, same delays");
    assert!(
        (0.0..=100.0).contains(&first),
        "full jitter of 100 ms: {first}"
    );
    assert_eq!(a.next(Some(5000.0)), Some(5000.0), "Retry-After is a floor");
    assert!(a.next(None).is_some());
    assert_eq!(a.next(None), None, "exhausted after maxAttempts");
    assert_eq!(a.attempts(), 3);
    a.reset();
    assert_eq!(a.attempts(), 0);

    let error = w::JsBackoff::new(js(r#"{"jitter":"sometimes"}"#))
        .err()
        .unwrap();
    assert_eq!(get_str(&error, "code"), "invalid_option");
    assert!(
        w::JsBackoff::new(JsValue::UNDEFINED).is_ok(),
        "no options = defaults"
    );
}

#[wasm_bindgen_test]
fn machine_reports_status_actions_and_survives_json() {
    let mut m = w::JsLifecycleMachine::new(JsValue::UNDEFINED).unwrap();
    m.handle(js(r#"{"type":"status","input":"WORKING"}"#), 1_000.0)
        .unwrap();
    assert_eq!(m.status(), "WORKING");
    let actions: js_sys::Array = m.drain_actions().into();
    let ui = actions
        .iter()
        .find(|a| get(a, "type").as_string().as_deref() == Some("ui"))
        .expect("a ui action");
    assert_eq!(get_str(&ui, "uiAction"), "connected");
    assert!(m.poll_action().is_undefined(), "drained");

    let restored = w::JsLifecycleMachine::from_json(m.to_json().into()).unwrap();
    assert_eq!(restored.status(), "WORKING");
    assert_eq!(get_str(&m.snapshot(), "status"), "WORKING");

    let error = m
        .handle(js(r#"{"type":"no_such_event"}"#), 2_000.0)
        .unwrap_err();
    assert_eq!(get_str(&error, "code"), "invalid_payload");
    let error = w::JsLifecycleMachine::new(js(r#"{"startingTimeoutMs":-5}"#))
        .err()
        .unwrap();
    assert_eq!(get_str(&error, "code"), "invalid_option");
}

#[wasm_bindgen_test]
fn identity_and_retry_after_helpers() {
    assert_eq!(
        w::normalize_jid("201001234567:12@s.whatsapp.net".into()).unwrap(),
        "201001234567@c.us"
    );
    assert_eq!(
        w::compare_identity(
            "201001234567@c.us".into(),
            js(r#"{"id":"201001234567:3@s.whatsapp.net"}"#)
        )
        .unwrap(),
        "match"
    );
    assert_eq!(
        w::compare_identity("201001234567@c.us".into(), JsValue::NULL).unwrap(),
        "unverifiable"
    );
    assert_eq!(
        w::parse_retry_after("120".into(), 0.0).unwrap(),
        Some(120_000.0)
    );
    assert_eq!(w::parse_retry_after(JsValue::NULL, 0.0).unwrap(), None);
}

#[wasm_bindgen_test]
fn non_string_arguments_are_invalid_option_errors_not_traps() {
    // Plain JS can pass anything where the types say string; wasm-bindgen's `&str` would hand
    // the allocator a bogus length. Every string parameter must refuse cleanly instead.
    let odd = [
        JsValue::from(0),
        JsValue::TRUE,
        js("{}"),
        js("[1]"),
        JsValue::from(js_sys::Symbol::for_("s")),
    ];
    for value in odd {
        let errors = [
            w::ui_action_for(value.clone()).unwrap_err(),
            w::normalize_jid(value.clone()).unwrap_err(),
            w::compare_identity(value.clone(), JsValue::NULL).unwrap_err(),
            w::parse_retry_after(value.clone(), 0.0).unwrap_err(),
            w::JsLifecycleMachine::from_json(value.clone())
                .err()
                .unwrap(),
            w::JsWawpClient::new(value.clone()).err().unwrap(),
            client::with_fetch("async () => new Response('{}')")
                .set_access_token(value.clone())
                .unwrap_err(),
            w::parse_webhook_body(value.clone(), js(r#"{"nowMs":0}"#)).unwrap_err(),
        ];
        for error in errors {
            assert_eq!(get_str(&error, "code"), "invalid_option");
        }
    }
    // The instance is intact: a normal call still works.
    assert_eq!(w::ui_action_for("WORKING".into()).unwrap(), "connected");
}

#[wasm_bindgen_test]
fn restores_a_snapshot_written_before_serde_value_for_value() {
    // tests/fixtures/README.md: a toJSON() of the hand-written JSON writer, as edges stored it.
    let stored = include_str!("../fixtures/machine-snapshot-v1.json").trim();
    let m = w::JsLifecycleMachine::from_json(stored.into()).unwrap();
    assert_eq!(m.status(), "STARTING");
    assert_eq!(m.queued_sends(), 2);
    // Byte for byte the stored values, plus what the delivery policy added since (its option
    // defaults and no released send), which an older snapshot lacks.
    let mut written: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
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
    let stored_value: serde_json::Value = serde_json::from_str(stored).unwrap();
    assert_eq!(written, stored_value);
}
