//! `Retry-After`: delta-seconds or an HTTP-date, to a delay in milliseconds from `now_ms`.
//! STUB: signature fixed; the core engineer fills in the body.

/// `None` for missing / unparseable values; a date in the past gives `Some(0.0)`.
pub fn parse_retry_after(value: &str, now_ms: f64) -> Option<f64> {
    let _ = now_ms;
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| s * 1000.0)
}
