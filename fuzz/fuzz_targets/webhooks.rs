#![no_main]
//! Webhook bodies (one event or an array) under a size cap and a replay window.
use libfuzzer_sys::fuzz_target;
use wawp_session::webhook::{WebhookLimits, parse_webhooks};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let limits = WebhookLimits { max_bytes: 4096, max_age_ms: Some(300_000.0), now_ms: 1_741_249_702_485.0 };
    if let Ok(events) = parse_webhooks(&text, &limits) {
        assert!(text.len() <= limits.max_bytes);
        for event in events {
            assert!(!event.event.is_empty());
        }
    }
});
