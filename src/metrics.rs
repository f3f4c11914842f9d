//! Stability metrics from a status history (the audit trail): time in each status, uptime
//! ratio, restarts, mean time to recover. Pure: the history and `now_ms` are passed in.
//! STUB: signatures fixed; the machine engineer fills in the bodies.

use crate::json::Value;
use crate::status::SessionStatus;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct StabilityMetrics {
    pub observed_ms: f64,
    pub working_ms: f64,
    pub starting_ms: f64,
    pub uptime_ratio: f64,
    pub restarts: u32,
    pub failures: u32,
    pub mean_time_to_recover_ms: Option<f64>,
}

impl StabilityMetrics {
    pub fn to_value(&self) -> Value {
        Value::Null
    }
}

/// `history`: (at_ms, status) in time order.
pub fn stability(history: &[(f64, SessionStatus)], now_ms: f64) -> StabilityMetrics {
    let _ = (history, now_ms);
    StabilityMetrics::default()
}
