//! `stability(history, nowMs)`.

use wasm_bindgen::prelude::*;

use crate::error::WawpError;
use crate::metrics;
use crate::payload::Fields;
use crate::status::SessionStatus;

use super::convert::{value_from_js, value_to_js};
use super::errors::{JsResult, js_error};

/// `stability(history, nowMs, timingScale?)`: uptime, restarts (each with its kind), failures and
/// recovery time of a status history. `timingScale`: how many times faster than real time the
/// sessions ran (a `TIMING_SCALE` / `--speed N` demo; default 1).
#[wasm_bindgen(unchecked_return_type = "StabilityMetrics")]
pub fn stability(
    #[wasm_bindgen(unchecked_param_type = "StatusHistoryEntry[]")] history: JsValue,
    now_ms: f64,
    timing_scale: Option<f64>,
) -> JsResult<JsValue> {
    let scale = timing_scale.unwrap_or(1.0);
    if !(scale.is_finite() && scale > 0.0) {
        return Err(js_error(WawpError::invalid_option(
            "timingScale must be a positive number",
        )));
    }
    let parsed = value_from_js(&history).map_err(js_error)?;
    let entries = parsed
        .as_array()
        .ok_or_else(|| js_error(WawpError::invalid_payload("history must be an array")))?;
    let mut points = Vec::with_capacity(entries.len());
    for entry in entries {
        match (entry.num_field("atMs"), entry.str_field("status")) {
            (Some(at_ms), Some(status)) => points.push((at_ms, SessionStatus::parse(status))),
            _ => {
                return Err(js_error(WawpError::invalid_payload(
                    "every history entry needs a numeric atMs and a status",
                )));
            }
        }
    }
    Ok(value_to_js(&metrics::stability_at_scale(
        &points, now_ms, scale,
    )))
}
