//! `__parseWebhookBody`: webhook bodies after the signature check.

use wasm_bindgen::prelude::*;

use crate::payload::{self, Fields};
use crate::webhook::{self, WebhookLimits};

use super::convert::{options_from_js, string_arg, value_to_js};
use super::errors::{JsResult, invalid_option, js_error};

/// `__parseWebhookBody(text, limits)`: one event or a JSON array of events, after the signature
/// check (WebCrypto, in JS). Throws `payload_too_large`, `stale_event` or `invalid_payload`.
#[wasm_bindgen(js_name = __parseWebhookBody, unchecked_return_type = "WebhookEvent[]")]
pub fn parse_webhook_body(
    #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    #[wasm_bindgen(unchecked_param_type = "WebhookLimits")] limits: JsValue,
) -> JsResult<JsValue> {
    let text = string_arg(&text, "text")?;
    let limits = options_from_js(&limits).map_err(js_error)?;
    let max_bytes = match limits.num_field("maxBytes") {
        Some(n) if n >= 0.0 => n.min(usize::MAX as f64) as usize,
        Some(_) => return Err(invalid_option("maxBytes must be >= 0")),
        None => payload::MAX_BYTES,
    };
    let now_ms = limits
        .num_field("nowMs")
        .ok_or_else(|| invalid_option("nowMs is required"))?;
    let limits = WebhookLimits {
        max_bytes,
        max_age_ms: limits.num_field("maxAgeMs"),
        now_ms,
    };
    let events = webhook::parse_webhooks(&text, &limits).map_err(js_error)?;
    Ok(value_to_js(&events))
}
