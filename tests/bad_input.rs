#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! The Rust side of the bad-input catalogue (`docs/bad-input.md`): one test per row, named in the
//! table. Every hostile input ends in the documented `ErrorCode` or the documented non-error
//! outcome, never in a panic. The JS side is `tests/js/bad-input.test.mjs`.

use wawp_session::http::{ClientOp, Flavor, RequestArgs, build_request, classify_response};
use wawp_session::payload;
use wawp_session::webhook::{WebhookLimits, parse_webhooks};
use wawp_session::{
    Action, Backoff, BackoffOptions, ErrorCode, Event, LifecycleMachine, MachineOptions,
    SessionStatus, StatusReport, decode_status_text, parse_retry_after,
};

const NOW: f64 = 1_741_249_702_485.0;

fn code_of<T: std::fmt::Debug>(result: wawp_session::Result<T>) -> ErrorCode {
    result.expect_err("expected an error").code
}

fn limits() -> WebhookLimits {
    WebhookLimits {
        max_bytes: 256 * 1024,
        max_age_ms: Some(300_000.0),
        now_ms: NOW,
    }
}

fn waha_event(id: &str, status: &str, timestamp: f64) -> String {
    format!(
        r#"{{"id":"{id}","timestamp":{timestamp},"event":"session.status","session":"default","payload":{{"status":"{status}"}}}}"#
    )
}

fn drain(machine: &mut LifecycleMachine) -> Vec<Action> {
    std::iter::from_fn(|| machine.poll_action()).collect()
}

// ---- not JSON ---------------------------------------------------------------------------------

#[test]
fn not_json_status_text_is_invalid_payload() {
    for text in [
        "{not json",
        "[1,",
        "{\"status\":}",
        "{'status':'WORKING'}",
        "{\"status\":\"WORKING\"} trailing",
    ] {
        assert_eq!(
            code_of(decode_status_text(text)),
            ErrorCode::InvalidPayload,
            "{text}"
        );
    }
}

#[test]
fn not_json_webhook_body_is_invalid_payload() {
    for body in [
        "<html><body>502 Bad Gateway</body></html>",
        "status=WORKING",
        "",
        "   ",
    ] {
        assert_eq!(
            code_of(parse_webhooks(body, &limits())),
            ErrorCode::InvalidPayload,
            "{body:?}"
        );
    }
}

#[test]
fn not_json_snapshot_and_event_are_invalid_payload() {
    assert_eq!(
        code_of(LifecycleMachine::from_json("not a snapshot")),
        ErrorCode::InvalidPayload
    );
    assert_eq!(
        code_of(Event::from_json("status")),
        ErrorCode::InvalidPayload
    );
}

#[test]
fn not_json_success_body_is_invalid_payload() {
    // A proxy answering 200 with an HTML page where JSON was expected.
    let error =
        classify_response(ClientOp::Info, 200, None, "<html>maintenance</html>", NOW).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidPayload);
}

// ---- wrong types ------------------------------------------------------------------------------

#[test]
fn wrong_types_in_status_payloads_are_invalid_payload() {
    for text in [
        r#"{"status":42}"#,
        r#"{"status":null}"#,
        r#"{"status":["WORKING"]}"#,
        "42",
        "true",
        "[1,2]",
    ] {
        let result = payload::parse(text).and_then(|v| wawp_session::decode_status_value(&v));
        assert_eq!(code_of(result), ErrorCode::InvalidPayload, "{text}");
    }
}

#[test]
fn wrong_types_in_webhook_events_are_invalid_payload() {
    for body in [
        r#"{"event":5,"payload":{"status":"WORKING"}}"#,
        r#"[1,2]"#,
        r#""session.status""#,
        r#"{"event":"session.status","payload":{"status":7}}"#,
    ] {
        assert_eq!(
            code_of(parse_webhooks(body, &limits())),
            ErrorCode::InvalidPayload,
            "{body}"
        );
    }
}

#[test]
fn wrong_types_in_machine_events_are_invalid_payload() {
    for text in [
        r#"{"type":5}"#,
        r#"{"type":"send","id":7}"#,
        r#"{"type":"send","id":"m1","timeoutMs":"soon"}"#,
        r#"{"type":"result","op":"start","ok":"yes"}"#,
        r#"{"type":"result","op":"launch","ok":true}"#,
        r#"{"type":"status","input":42}"#,
    ] {
        assert_eq!(
            code_of(Event::from_json(text)),
            ErrorCode::InvalidPayload,
            "{text}"
        );
    }
}

// ---- missing fields ---------------------------------------------------------------------------

#[test]
fn missing_status_field_is_invalid_payload() {
    for text in [
        "{}",
        r#"{"payload":{}}"#,
        r#"{"event":"session.status","payload":{"statuses":[]}}"#,
        r#"{"instance_id":"abc","ts":1741249702}"#,
        "",
    ] {
        assert_eq!(
            code_of(decode_status_text(text)),
            ErrorCode::InvalidPayload,
            "{text:?}"
        );
    }
}

#[test]
fn missing_event_fields_are_invalid_payload() {
    assert_eq!(
        code_of(parse_webhooks(r#"{"session":"default"}"#, &limits())),
        ErrorCode::InvalidPayload
    );
    for text in [
        r#"{}"#,
        r#"{"type":"send"}"#,
        r#"{"type":"status"}"#,
        r#"{"type":"result","ok":true}"#,
    ] {
        assert_eq!(
            code_of(Event::from_json(text)),
            ErrorCode::InvalidPayload,
            "{text}"
        );
    }
}

#[test]
fn missing_required_request_argument_is_an_error_before_any_request() {
    let args = RequestArgs {
        instance_id: None,
        ..RequestArgs::default()
    };
    let error = build_request(Flavor::Wawp, ClientOp::Info, &args).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidOption);
}

// ---- unknown statuses: UNKNOWN, never an error ------------------------------------------------

#[test]
fn unknown_status_decodes_to_unknown_with_raw_status() {
    for (text, raw) in [
        ("HIBERNATING", "HIBERNATING"),
        (r#"{"status":"HIBERNATING"}"#, "HIBERNATING"),
        (&waha_event("evt_1", "QUANTUM", NOW) as &str, "QUANTUM"),
        (
            r#"{"instance_id":"abc","status":"working_v2","ts":1741249702}"#,
            "working_v2",
        ),
    ] {
        let report = decode_status_text(text).unwrap();
        assert_eq!(report.status, SessionStatus::Unknown, "{text}");
        assert_eq!(report.raw_status, raw);
        assert_eq!(report.ui_action().as_str(), "inspect");
        assert!(!report.status.can_send());
    }
}

#[test]
fn unknown_status_in_the_machine_is_not_an_error_and_releases_nothing() {
    let mut machine = LifecycleMachine::new(MachineOptions::default());
    machine.handle(
        Event::Send {
            id: "m1".into(),
            timeout_ms: None,
        },
        NOW,
    );
    drain(&mut machine);
    machine.handle(
        Event::Status(Box::new(decode_status_text("HIBERNATING").unwrap())),
        NOW + 1.0,
    );
    let actions = drain(&mut machine);
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::ReleaseSend { .. } | Action::RejectSend { .. })),
        "{actions:?}"
    );
    assert_eq!(machine.queued_sends(), 1);
}

// ---- huge bodies ------------------------------------------------------------------------------

#[test]
fn huge_webhook_body_is_payload_too_large_before_parsing() {
    let small = WebhookLimits {
        max_bytes: 1024,
        ..limits()
    };
    // Broken JSON past the cap: the size wins, so the parser never ran.
    let body = format!("{{{}", "x".repeat(2000));
    assert_eq!(
        code_of(parse_webhooks(&body, &small)),
        ErrorCode::PayloadTooLarge
    );
    let exactly = waha_event("evt_1", "WORKING", NOW);
    let fits = WebhookLimits {
        max_bytes: exactly.len(),
        ..limits()
    };
    assert_eq!(parse_webhooks(&exactly, &fits).unwrap().len(), 1);
    let one_less = WebhookLimits {
        max_bytes: exactly.len() - 1,
        ..limits()
    };
    assert_eq!(
        code_of(parse_webhooks(&exactly, &one_less)),
        ErrorCode::PayloadTooLarge
    );
}

#[test]
fn huge_json_text_is_payload_too_large() {
    let huge = format!(
        r#"{{"status":"WORKING","pad":"{}"}}"#,
        "x".repeat(payload::MAX_BYTES)
    );
    assert_eq!(
        code_of(decode_status_text(&huge)),
        ErrorCode::PayloadTooLarge
    );
    assert_eq!(
        code_of(LifecycleMachine::from_json(&huge)),
        ErrorCode::PayloadTooLarge
    );
}

#[test]
fn huge_error_body_is_classified_by_status_in_linear_time() {
    let body = "<p>".repeat(400_000) + "access_token=SENTINEL";
    let started = std::time::Instant::now();
    let error = classify_response(ClientOp::Start, 502, None, &body, NOW).unwrap_err();
    assert!(started.elapsed().as_secs_f64() < 5.0);
    assert_eq!(error.code, ErrorCode::Server);
    assert_eq!(error.http_status, Some(502));
    assert!(
        error.message.len() < 2000,
        "the message is an excerpt: {} bytes",
        error.message.len()
    );
    assert!(!error.message.contains("SENTINEL"));
}

// ---- deep nesting -----------------------------------------------------------------------------

#[test]
fn deep_nesting_is_invalid_payload_without_stack_overflow() {
    let deep = "[".repeat(100_000);
    assert_eq!(
        code_of(decode_status_text(&deep)),
        ErrorCode::InvalidPayload
    );
    let deep_object = r#"{"a":"#.repeat(100_000);
    assert_eq!(
        code_of(decode_status_text(&deep_object)),
        ErrorCode::InvalidPayload
    );
    assert_eq!(
        code_of(parse_webhooks(&deep, &limits())),
        ErrorCode::InvalidPayload
    );
    assert_eq!(
        code_of(LifecycleMachine::from_json(&deep_object)),
        ErrorCode::InvalidPayload
    );
    // Right at the limit still parses.
    let ok = "[".repeat(payload::MAX_DEPTH - 1) + &"]".repeat(payload::MAX_DEPTH - 1);
    assert!(payload::parse(&ok).is_ok());
}

// ---- non-UTF-8 --------------------------------------------------------------------------------

#[test]
fn non_utf8_bytes_after_lossy_decoding_are_invalid_payload_or_unknown() {
    // Rust takes `&str`; hosts decode bytes first (JS: a fatal TextDecoder → invalid_payload).
    // Lossy decoding of garbage gives U+FFFD: never a panic, never a known status.
    let bytes: &[u8] = &[0x7b, 0x22, 0x73, 0xff, 0xfe, 0x22, 0x3a, 0x80, 0x7d];
    let text = String::from_utf8_lossy(bytes);
    assert_eq!(
        code_of(decode_status_text(&text)),
        ErrorCode::InvalidPayload
    );
    let status = String::from_utf8_lossy(&[0x57, 0x4f, 0x52, 0xff, 0x4b]);
    assert_eq!(
        decode_status_text(&status).unwrap().status,
        SessionStatus::Unknown
    );
}

#[test]
fn lone_surrogate_escapes_become_replacement_characters() {
    // A lone surrogate cannot live in a Rust `str` (nor round-trip through UTF-8): U+FFFD, as
    // `TextDecoder` would do. A broken escape is malformed JSON.
    assert_eq!(
        decode_status_text(r#"{"status":"\ud800"}"#)
            .unwrap()
            .raw_status,
        "\u{fffd}"
    );
    assert_eq!(
        decode_status_text(r#"{"status":"\udc00x"}"#)
            .unwrap()
            .status,
        SessionStatus::Unknown
    );
    assert_eq!(
        code_of(decode_status_text(r#"{"status":"\u12"}"#)),
        ErrorCode::InvalidPayload
    );
}

// ---- bad or missing signatures: HMAC is WebCrypto in JS (webhook.js); see the JS tests ---------

// ---- stale or replayed events -----------------------------------------------------------------

#[test]
fn stale_webhook_is_stale_event() {
    let old = waha_event("evt_old", "WORKING", NOW - 301_000.0);
    assert_eq!(
        code_of(parse_webhooks(&old, &limits())),
        ErrorCode::StaleEvent
    );
    let future = waha_event("evt_future", "WORKING", NOW + 301_000.0);
    assert_eq!(
        code_of(parse_webhooks(&future, &limits())),
        ErrorCode::StaleEvent
    );
    let recent = waha_event("evt_recent", "WORKING", NOW - 299_000.0);
    assert_eq!(parse_webhooks(&recent, &limits()).unwrap().len(), 1);
    // The older Wawp shape dates in seconds.
    let legacy = format!(
        r#"{{"instance_id":"abc","status":"WORKING","ts":{}}}"#,
        (NOW / 1000.0 - 3600.0).floor()
    );
    assert_eq!(
        code_of(parse_webhooks(&legacy, &limits())),
        ErrorCode::StaleEvent
    );
    // One stale event in an array fails the whole delivery (one signature covers the body).
    let array = format!("[{recent},{old}]");
    assert_eq!(
        code_of(parse_webhooks(&array, &limits())),
        ErrorCode::StaleEvent
    );
}

#[test]
fn replayed_event_id_is_ignored_by_the_machine() {
    let mut machine = LifecycleMachine::new(MachineOptions::default());
    let failed = decode_status_text(&waha_event("evt_1", "FAILED", NOW)).unwrap();
    machine.handle(Event::Status(Box::new(failed.clone())), NOW);
    assert!(!drain(&mut machine).is_empty());
    let json_before = machine.to_json();
    machine.handle(Event::Status(Box::new(failed)), NOW + 10.0);
    assert!(
        drain(&mut machine).is_empty(),
        "a replayed event id produced actions"
    );
    assert_eq!(machine.status(), SessionStatus::Failed);
    // The seen ids survive a snapshot round trip, so a replay after a restart is ignored too.
    let mut restored = LifecycleMachine::from_json(&json_before).unwrap();
    let replay = decode_status_text(&waha_event("evt_1", "FAILED", NOW)).unwrap();
    restored.handle(Event::Status(Box::new(replay)), NOW + 20.0);
    assert!(
        !drain(&mut restored)
            .iter()
            .any(|a| matches!(a, Action::Ui { .. }))
    );
}

#[test]
fn reordered_older_event_is_ignored_by_the_machine() {
    let mut machine = LifecycleMachine::new(MachineOptions::default());
    machine.handle(
        Event::Status(Box::new(
            decode_status_text(&waha_event("evt_2", "WORKING", NOW)).unwrap(),
        )),
        NOW,
    );
    drain(&mut machine);
    machine.handle(
        Event::Status(Box::new(
            decode_status_text(&waha_event("evt_1", "STARTING", NOW - 5000.0)).unwrap(),
        )),
        NOW + 1.0,
    );
    assert!(
        !drain(&mut machine)
            .iter()
            .any(|a| matches!(a, Action::Ui { .. }))
    );
    assert_eq!(machine.status(), SessionStatus::Working);
}

// ---- hostile option values --------------------------------------------------------------------

#[test]
fn hostile_backoff_options_are_invalid_option() {
    let base = BackoffOptions::default();
    for opts in [
        BackoffOptions {
            base_ms: f64::NAN,
            ..base.clone()
        },
        BackoffOptions {
            base_ms: -1.0,
            ..base.clone()
        },
        BackoffOptions {
            cap_ms: f64::INFINITY,
            ..base.clone()
        },
        BackoffOptions {
            base_ms: 10_000.0,
            cap_ms: 100.0,
            ..base.clone()
        },
        BackoffOptions {
            factor: 0.5,
            ..base.clone()
        },
        BackoffOptions {
            factor: f64::NAN,
            ..base.clone()
        },
        BackoffOptions {
            max_elapsed_ms: Some(f64::NEG_INFINITY),
            ..base.clone()
        },
    ] {
        assert_eq!(
            code_of(Backoff::new(opts.clone())),
            ErrorCode::InvalidOption,
            "{opts:?}"
        );
    }
    for text in [
        r#"{"baseMs":"1000"}"#,
        r#"{"jitter":"chaotic"}"#,
        r#"{"maxAttempts":-1}"#,
        r#"{"maxAttempts":1.5}"#,
        r#"{"maxAttempts":1e300}"#,
        r#"{"seed":"x"}"#,
        "42",
        r#""fast""#,
    ] {
        let result = payload::parse(text)
            .and_then(|v| BackoffOptions::from_value(&v))
            .and_then(Backoff::new);
        assert_eq!(code_of(result), ErrorCode::InvalidOption, "{text}");
    }
}

#[test]
fn hostile_retry_after_values_on_backoff_are_ignored() {
    // `next(retryAfterMs)` with NaN / ±Infinity / negative: the schedule's own delay, finite.
    for hint in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -5000.0] {
        let mut backoff = Backoff::new(BackoffOptions {
            seed: Some(7),
            ..BackoffOptions::default()
        })
        .unwrap();
        let delay = backoff.next(Some(hint)).unwrap();
        assert!(
            delay.is_finite() && (0.0..=60_000.0).contains(&delay),
            "{hint} → {delay}"
        );
    }
}

#[test]
fn hostile_machine_options_are_invalid_option() {
    for text in [
        r#"{"startingTimeoutMs":-1}"#,
        r#"{"startingTimeoutMs":0}"#,
        r#"{"startingTimeoutMs":1e300}"#,
        r#"{"startingTimeoutMs":"60000"}"#,
        r#"{"maxQueuedSends":-3}"#,
        r#"{"maxQueuedSends":2.5}"#,
        r#"{"maxAutoRestarts":"many"}"#,
        r#"{"expectedJid":""}"#,
        r#"{"expectedJid":42}"#,
        r#"{"maintenance":{"weekday":7,"hourUtc":3}}"#,
        r#"{"maintenance":"sunday"}"#,
        "[]",
        r#""defaults""#,
    ] {
        let result = payload::parse(text).and_then(|v| MachineOptions::from_value(&v));
        assert_eq!(code_of(result), ErrorCode::InvalidOption, "{text}");
    }
    // serde_json::Value holds no NaN or infinity: an overflowing literal is refused when the
    // text is read (JS `NaN` is refused at the wasm boundary, `reject_non_finite`).
    let infinite =
        payload::parse(r#"{"sendTimeoutMs":1e999}"#).and_then(|v| MachineOptions::from_value(&v));
    assert_eq!(code_of(infinite), ErrorCode::InvalidPayload);
    assert!(serde_json::json!({ "sendTimeoutMs": f64::NAN })["sendTimeoutMs"].is_null());
}

#[test]
fn hostile_clock_values_do_not_break_the_machine() {
    // A NaN / infinite `now` is ignored (the last known time is used): deadlines stay finite.
    let mut machine = LifecycleMachine::new(MachineOptions::default());
    for now in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        machine.handle(Event::WarmBoot, now);
        drain(&mut machine);
        assert!(machine.poll_timeout().is_none_or(f64::is_finite));
    }
    machine.handle(
        Event::Send {
            id: "m1".into(),
            timeout_ms: None,
        },
        NOW,
    );
    drain(&mut machine);
    assert!(machine.poll_timeout().is_some_and(f64::is_finite));
    assert_eq!(
        LifecycleMachine::from_json(&machine.to_json())
            .unwrap()
            .to_json(),
        machine.to_json()
    );
}

#[test]
fn hostile_retry_after_headers_are_ignored() {
    for value in [
        "",
        "-5",
        "NaN",
        "Infinity",
        "1e400",
        "soon",
        "Thu, 99 Foo 2025 25:61:61 GMT",
        "\u{0}",
    ] {
        assert_eq!(parse_retry_after(value, NOW), None, "{value:?}");
    }
    // A huge delta is clamped (to one hour) rather than overflowing or parking a client forever.
    assert_eq!(
        parse_retry_after("99999999999999999999", NOW),
        Some(3_600_000.0)
    );
}

#[test]
fn hostile_send_queue_is_bounded_with_queue_full() {
    let opts =
        MachineOptions::from_value(&payload::parse(r#"{"maxQueuedSends":3}"#).unwrap()).unwrap();
    let mut machine = LifecycleMachine::new(opts);
    let mut rejected = Vec::new();
    for i in 0..5 {
        machine.handle(
            Event::Send {
                id: format!("m{i}"),
                timeout_ms: None,
            },
            NOW + f64::from(i),
        );
        for action in drain(&mut machine) {
            if let Action::RejectSend { id, code } = action {
                rejected.push((id, code));
            }
        }
    }
    assert_eq!(machine.queued_sends(), 3);
    assert_eq!(
        rejected,
        vec![
            ("m3".to_string(), ErrorCode::QueueFull),
            ("m4".to_string(), ErrorCode::QueueFull)
        ]
    );
}

#[test]
fn hostile_snapshots_are_invalid_payload() {
    let mut machine = LifecycleMachine::new(MachineOptions::default());
    machine.handle(
        Event::Send {
            id: "m1".into(),
            timeout_ms: None,
        },
        NOW,
    );
    let good = machine.to_json();
    let truncated = &good[..good.len() / 2];
    assert_eq!(
        code_of(LifecycleMachine::from_json(truncated)),
        ErrorCode::InvalidPayload
    );
    for text in ["{}", "[]", "null", r#"{"v":999}"#] {
        assert_eq!(
            code_of(LifecycleMachine::from_json(text)),
            ErrorCode::InvalidPayload,
            "{text}"
        );
    }
    let retyped = good
        .replacen("\"WORKING\"", "42", 1)
        .replacen("\"UNKNOWN\"", "42", 1);
    if retyped != good {
        assert_eq!(
            code_of(LifecycleMachine::from_json(&retyped)),
            ErrorCode::InvalidPayload
        );
    }
}

// ---- the machine_from_json fuzz seeds are real snapshots ----------------------------------------

/// Snapshots of a machine in interesting states, from the real `to_json()`: the seeds of the
/// `machine_from_json` fuzz target. `WRITE_FUZZ_SEEDS=1 cargo test --test bad_input` rewrites
/// them; otherwise this checks that the committed seeds still restore (a stored Durable Object
/// snapshot must survive an upgrade).
#[test]
fn machine_from_json_seeds_are_real_restorable_snapshots() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/machine_from_json");
    let opts = MachineOptions::from_value(
        &payload::parse(r#"{"expectedJid":"201012345678@c.us","maxQueuedSends":4,"maintenance":{"weekday":0,"hourUtc":3}}"#).unwrap(),
    )
    .unwrap();
    let mut machine = LifecycleMachine::new(opts);
    let mut seeds = Vec::new();
    machine.handle(Event::WarmBoot, NOW);
    machine.handle(
        Event::Send {
            id: "m1".into(),
            timeout_ms: Some(30_000.0),
        },
        NOW + 1.0,
    );
    drain(&mut machine);
    seeds.push(("queued_while_unknown", machine.to_json()));
    machine.handle(
        Event::Status(Box::new(
            decode_status_text(&waha_event("evt_1", "STARTING", NOW + 2.0)).unwrap(),
        )),
        NOW + 2.0,
    );
    drain(&mut machine);
    seeds.push(("starting", machine.to_json()));
    let mut working = decode_status_text(&waha_event("evt_2", "WORKING", NOW + 3.0)).unwrap();
    working.me = Some(wawp_session::Me {
        id: "201012345678@c.us".into(),
        push_name: Some("Shop".into()),
        lid: None,
    });
    machine.handle(Event::Status(Box::new(working)), NOW + 3.0);
    drain(&mut machine);
    seeds.push(("working_identity", machine.to_json()));
    machine.handle(
        Event::Status(Box::new(StatusReport::from_status(SessionStatus::Failed))),
        NOW + 4.0,
    );
    drain(&mut machine);
    seeds.push(("failed_restart_armed", machine.to_json()));
    if std::env::var_os("WRITE_FUZZ_SEEDS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, json) in &seeds {
            std::fs::write(dir.join(name), json).unwrap();
        }
    }
    let mut restored = 0;
    for (name, _) in &seeds {
        let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
            continue;
        };
        let machine = LifecycleMachine::from_json(&text)
            .unwrap_or_else(|e| panic!("seed {name} no longer restores: {e:?}"));
        assert_eq!(
            LifecycleMachine::from_json(&machine.to_json())
                .unwrap()
                .to_json(),
            machine.to_json()
        );
        restored += 1;
    }
    assert_eq!(
        restored,
        seeds.len(),
        "missing seeds in {}: run with WRITE_FUZZ_SEEDS=1",
        dir.display()
    );
}

#[test]
fn hostile_webhook_options_are_invalid_option() {
    // `max_bytes` is a `usize` here (NaN / negative / strings are stopped at the JS boundary).
    let body = waha_event("evt_1", "WORKING", NOW);
    for age in [f64::NAN, -1.0, f64::NEG_INFINITY] {
        let hostile = WebhookLimits {
            max_age_ms: Some(age),
            ..limits()
        };
        assert_eq!(
            code_of(parse_webhooks(&body, &hostile)),
            ErrorCode::InvalidOption,
            "{age}"
        );
    }
}
