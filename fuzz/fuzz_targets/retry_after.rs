#![no_main]
//! Retry-After (delta-seconds or HTTP-date): a finite, non-negative delay or nothing.
use libfuzzer_sys::fuzz_target;
use wawp_session::parse_retry_after;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(ms) = parse_retry_after(&text, 1_741_249_702_485.0) {
        assert!(ms.is_finite() && ms >= 0.0, "{ms}");
    }
});
