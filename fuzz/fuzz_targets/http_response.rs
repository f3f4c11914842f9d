#![no_main]
//! Response classification for every client operation (QR payloads, info bodies, HTML/XML/text
//! error pages): a value or a typed error that carries the HTTP status, never a panic.
use libfuzzer_sys::fuzz_target;
use wawp_session::http::{ClientOp, classify_response};


fuzz_target!(|data: &[u8]| {
    let [op, hi, lo, rest @ ..] = data else { return };
    let op = ClientOp::ALL[*op as usize % ClientOp::ALL.len()];
    let status = u16::from_be_bytes([*hi, *lo]) % 600;
    if status < 100 {
        return;
    }
    let body = String::from_utf8_lossy(rest);
    let (retry_after, body) = body.split_once('\n').map_or((None, body.as_ref()), |(h, b)| (Some(h), b));
    if let Err(error) = classify_response(op, status, retry_after, body, 1_741_249_702_485.0) {
        if !(200..300).contains(&status) {
            assert_eq!(error.http_status, Some(status));
        }
        if let Some(ms) = error.retry_after_ms {
            assert!(ms.is_finite() && ms >= 0.0);
        }
    }
});
