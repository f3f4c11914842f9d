#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Property tests of the leaf modules: decoders and parsers never panic on arbitrary input,
//! every error is typed, and the round trips hold.

mod values;
use values::ToValue;

use proptest::prelude::*;
use serde_json::Value;
use wawp_session::backoff::{Backoff, BackoffOptions, Jitter};
use wawp_session::budget::RetryBudget;
use wawp_session::http::{
    ClientOp, Flavor, RequestArgs, base64_decode, base64_encode, build_request, classify_response,
    may_retry,
};
use wawp_session::identity::{IdentityVerdict, compare_identity, normalize_jid};
use wawp_session::payload;
use wawp_session::retry_after::{
    MAX_RETRY_AFTER_MS, format_http_date, parse_http_date, parse_retry_after,
};
use wawp_session::status::{Me, SessionStatus, StatusReport};
use wawp_session::webhook::{WebhookLimits, parse_webhooks};
use wawp_session::{ErrorCode, decode_status_text, decode_status_value};

/// Arbitrary JSON values, biased towards the keys and statuses the decoders look for.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("status".to_string()),
        Just("event".to_string()),
        Just("payload".to_string()),
        Just("statuses".to_string()),
        Just("timestamp".to_string()),
        Just("ts".to_string()),
        Just("me".to_string()),
        Just("id".to_string()),
        Just("code".to_string()),
        Just("message".to_string()),
        Just("data".to_string()),
        "[a-z_]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>()
            .prop_map(|n| serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("WORKING".to_string()),
            Just("session.status".to_string()),
            Just("SCAN_QR_CODE".to_string()),
            ".{0,12}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[ -~]{1,16}")
}

fn report() -> impl Strategy<Value = StatusReport> {
    let me = prop::option::of((
        "[0-9]{1,15}@c\\.us",
        prop::option::of("[A-Za-z]([A-Za-z ]{0,10}[A-Za-z])?"),
        prop::option::of("[0-9]{1,10}@lid"),
    ))
    .prop_map(|m| m.map(|(id, push_name, lid)| Me { id, push_name, lid }));
    (
        prop_oneof![
            prop::sample::select(SessionStatus::ALL.to_vec()).prop_map(|s| s.as_str().to_string()),
            "[A-Za-z_]{1,20}",
        ],
        ("[!-~]{1,12}", opt_text(), opt_text(), opt_text()),
        (
            me,
            prop::option::of(0.0f64..4e12),
            prop::option::of("evt_[a-z0-9]{4,26}"),
        ),
    )
        .prop_map(
            |(raw, (instance, session, server, qr), (me, at_ms, event_id))| {
                let trim =
                    |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
                StatusReport {
                    status: SessionStatus::parse(&raw),
                    raw_status: raw,
                    instance_id: trim(Some(instance)),
                    session: trim(session),
                    server_name: trim(server),
                    qr: trim(qr),
                    me,
                    at_ms,
                    event_id,
                    event: None,
                }
            },
        )
}

fn flavor() -> impl Strategy<Value = Flavor> {
    prop::sample::select(vec![Flavor::Wawp, Flavor::Waha])
}

fn client_op() -> impl Strategy<Value = ClientOp> {
    prop::sample::select(ClientOp::ALL.to_vec())
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop::sample::select(ErrorCode::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn status_text_never_panics_and_errors_are_typed(text in ".{0,200}") {
        if let Err(e) = decode_status_text(&text) {
            prop_assert!(matches!(e.code, ErrorCode::InvalidPayload | ErrorCode::PayloadTooLarge));
        }
    }

    #[test]
    fn status_values_never_panic(v in json_value()) {
        match decode_status_value(&v) {
            Ok(r) => prop_assert!(!r.raw_status.trim().is_empty()),
            Err(e) => prop_assert_eq!(e.code, ErrorCode::InvalidPayload),
        }
        // The same value as JSON text decodes the same way.
        let text = v.to_string();
        if text.trim_start().starts_with('{') || text.trim_start().starts_with('[') {
            let a = decode_status_value(&v).map(|r| r.status).map_err(|e| e.code);
            let b = decode_status_text(&text).map(|r| r.status).map_err(|e| e.code);
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn reports_round_trip_through_their_json(r in report()) {
        let again = decode_status_text(&r.to_json()).unwrap();
        prop_assert_eq!(again.status, r.status);
        prop_assert_eq!(&again.raw_status, &r.raw_status);
        prop_assert_eq!(&again.instance_id, &r.instance_id);
        prop_assert_eq!(&again.session, &r.session);
        prop_assert_eq!(&again.server_name, &r.server_name);
        prop_assert_eq!(&again.qr, &r.qr);
        prop_assert_eq!(&again.me, &r.me);
        prop_assert_eq!(again.at_ms, r.at_ms);
        prop_assert_eq!(&again.event_id, &r.event_id);
    }

    #[test]
    fn webhooks_never_panic(text in ".{0,300}", v in json_value(), max_age in prop::option::of(0.0f64..1e9)) {
        let limits = WebhookLimits { max_bytes: 4096, max_age_ms: max_age, now_ms: 1.7e12 };
        for body in [text, v.to_string(), format!("[{v}]")] {
            match parse_webhooks(&body, &limits) {
                Ok(events) => {
                    for e in events {
                        prop_assert_eq!(e.report.is_some(), e.event == "session.status");
                        prop_assert!(payload::parse(&e.to_value().to_string()).is_ok());
                    }
                }
                Err(e) => prop_assert!(matches!(
                    e.code,
                    ErrorCode::InvalidPayload | ErrorCode::PayloadTooLarge | ErrorCode::StaleEvent
                )),
            }
        }
    }

    #[test]
    fn retry_after_never_panics_and_stays_in_range(text in ".{0,40}", now in any::<f64>()) {
        if let Some(ms) = parse_retry_after(&text, now) {
            prop_assert!((0.0..=MAX_RETRY_AFTER_MS).contains(&ms));
        }
    }

    #[test]
    fn retry_after_seconds(seconds in any::<u32>(), millis in 0u32..1000) {
        let whole = parse_retry_after(&seconds.to_string(), 0.0).unwrap();
        prop_assert_eq!(whole, (f64::from(seconds) * 1000.0).min(MAX_RETRY_AFTER_MS));
        let fractional = parse_retry_after(&format!("{seconds}.{millis:03}"), 0.0).unwrap();
        prop_assert!((fractional - (f64::from(seconds) * 1000.0 + f64::from(millis)).min(MAX_RETRY_AFTER_MS)).abs() < 1e-3);
    }

    #[test]
    fn http_dates_round_trip(seconds in -62_135_596_800i64..=253_402_300_799i64, now_offset in -10_000_000i64..10_000_000) {
        let ms = seconds as f64 * 1000.0;
        let text = format_http_date(ms).unwrap();
        prop_assert_eq!(parse_http_date(&text), Some(ms), "{}", text);
        let now_offset = now_offset as f64;
        let delay = parse_retry_after(&text, ms - now_offset).unwrap();
        prop_assert_eq!(delay, now_offset.clamp(0.0, MAX_RETRY_AFTER_MS));
    }

    #[test]
    fn jid_normalisation_is_idempotent(jid in ".{0,30}", user in "[1-9][0-9]{4,14}", device in 0u32..99) {
        let once = normalize_jid(&jid);
        prop_assert_eq!(normalize_jid(&once), once.clone());
        let device_jid = format!("{user}:{device}@s.whatsapp.net");
        prop_assert_eq!(compare_identity(&user, Some(&device_jid)), IdentityVerdict::Match);
        prop_assert_eq!(compare_identity(&format!("+{user}"), Some(&format!("{user}@c.us"))), IdentityVerdict::Match);
        prop_assert_eq!(compare_identity(&jid, Some(&format!("{user}@lid"))), IdentityVerdict::Unverifiable);
        prop_assert_eq!(compare_identity(&jid, None), IdentityVerdict::Unverifiable);
    }

    #[test]
    fn backoff_respects_bounds_floor_and_limits(
        base in 0.0f64..5_000.0,
        extra_cap in 0.0f64..100_000.0,
        factor in 1.0f64..4.0,
        jitter in prop::sample::select(vec![Jitter::None, Jitter::Full, Jitter::Equal, Jitter::Decorrelated]),
        max_attempts in 0u32..40,
        max_elapsed in prop::option::of(0.0f64..500_000.0),
        seed in any::<u64>(),
        floors in prop::collection::vec(prop::option::of(0.0f64..200_000.0), 50),
    ) {
        let opts = BackoffOptions { base_ms: base, cap_ms: base + extra_cap, factor, jitter, max_attempts, max_elapsed_ms: max_elapsed, seed: Some(seed) };
        let mut b = Backoff::new(opts.clone()).unwrap();
        let mut twin = Backoff::new(opts.clone()).unwrap();
        let mut count = 0u32;
        let mut sum = 0.0;
        for floor in floors {
            let d = b.next(floor);
            prop_assert_eq!(d, twin.next(floor), "same seed, same delays");
            let Some(d) = d else { break };
            count += 1;
            sum += d;
            let floor = floor.unwrap_or(0.0);
            prop_assert!(d >= floor);
            prop_assert!(d <= opts.cap_ms.max(floor));
            if jitter == Jitter::Decorrelated && floor <= base {
                prop_assert!(d >= base);
            }
        }
        prop_assert!(count <= max_attempts);
        if let Some(max) = max_elapsed {
            prop_assert!(sum <= max);
        }
        let restored = Backoff::from_value(&payload::parse(&b.to_value().to_string()).unwrap()).unwrap();
        prop_assert_eq!(restored, b);
    }

    #[test]
    fn budget_tokens_stay_within_capacity(
        capacity in 0.0f64..1_000.0,
        refill in 0.0f64..50.0,
        deposit in 0.0f64..5.0,
        steps in prop::collection::vec((0.0f64..60_000.0, 0.0f64..20.0, any::<bool>()), 0..60),
    ) {
        let mut b = RetryBudget::with_options(capacity, refill, deposit).unwrap();
        let mut now = 0.0;
        for (dt, cost, success) in steps {
            now += dt;
            let before = b.available(now);
            let spent = b.try_spend(cost, now);
            prop_assert_eq!(spent, before >= cost);
            if success {
                b.record_success(now);
            }
            prop_assert!(b.tokens >= 0.0 && b.tokens <= b.capacity);
        }
        prop_assert_eq!(RetryBudget::from_value(&payload::parse(&b.to_value().to_string()).unwrap()).unwrap(), b);
    }

    #[test]
    fn classify_never_panics_and_never_leaks_a_credential(
        op in client_op(),
        status in prop_oneof![100u16..600, Just(0u16), Just(200u16), Just(422u16), Just(429u16)],
        prefix in ".{0,60}",
        suffix in "[ -~]{0,40}",
        secret in "SEKRIT[A-Za-z0-9]{12}",
        key in prop::sample::select(vec!["access_token=", "api_key=", "x-api-key: ", "\"access_token\":\"", "Authorization: Bearer ", "apiKey="]),
        retry_after in prop::option::of(".{0,30}"),
        html in any::<bool>(),
    ) {
        let inner = format!("{prefix}{key}{secret}{suffix}");
        let body = if html { format!("<html><body><p>{inner}</p></body></html>") } else { inner };
        match classify_response(op, status, retry_after.as_deref(), &body, 1.7e12) {
            Ok(v) => prop_assert!((200..300).contains(&status) || status == 422, "{status} → Ok({})", v.to_string()),
            Err(e) => {
                prop_assert!(!e.message.contains(&secret), "{} leaked {}", body, e.message);
                prop_assert_eq!(e.op.as_deref(), Some(op.as_str()));
                prop_assert!(e.message.chars().count() <= 240);
                if let Some(ms) = e.retry_after_ms {
                    prop_assert!((0.0..=MAX_RETRY_AFTER_MS).contains(&ms));
                }
            }
        }
    }

    #[test]
    fn classify_arbitrary_json_bodies(op in client_op(), status in 100u16..600, v in json_value()) {
        let _ = classify_response(op, status, None, &v.to_string(), 0.0);
    }

    #[test]
    fn requests_are_well_formed(
        flavor in flavor(),
        op in client_op(),
        instance in opt_text(),
        session in opt_text(),
        phone in opt_text(),
        chat in opt_text(),
        text in prop::option::of(".{0,40}"),
    ) {
        let args = RequestArgs { instance_id: instance, session, phone_number: phone, chat_id: chat, text };
        match build_request(flavor, op, &args) {
            Ok(spec) => {
                // Paths are ASCII without spaces or query separators of their own.
                prop_assert!(spec.path.starts_with('/'));
                prop_assert!(spec.path.bytes().all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#'));
                prop_assert!(spec.path_and_query().bytes().all(|b| b.is_ascii_graphic()));
                if let Some(body) = &spec.body {
                    prop_assert!(payload::parse(body).unwrap().is_object());
                }
            }
            Err(e) => prop_assert_eq!(e.code, ErrorCode::InvalidOption),
        }
    }

    #[test]
    fn base64_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..200), text in ".{0,40}") {
        prop_assert_eq!(base64_decode(&base64_encode(&bytes)).unwrap(), bytes);
        let _ = base64_decode(&text);
    }

    #[test]
    fn retry_decisions_are_total(op in client_op(), code in error_code(), delivered in any::<bool>()) {
        let retry = may_retry(op, code, None, delivered);
        if op == ClientOp::Create { prop_assert!(!retry); }
        if op == ClientOp::SendText && delivered && matches!(code, ErrorCode::Timeout | ErrorCode::Server | ErrorCode::Network) {
            prop_assert!(!retry);
        }
    }
}
