//! Decoding: statuses, UI actions, JIDs and identities, Retry-After.

use wasm_bindgen::prelude::*;

use crate::error::WawpError;
use crate::identity;
use crate::retry_after;
use crate::status;

use super::convert::{optional_string_arg, string_arg, value_from_js, value_to_js};
use super::errors::{JsResult, js_error};
use super::reflect_get;

/// `decodeStatus(input)`: a status name, JSON text, an info response or a webhook body.
#[wasm_bindgen(js_name = decodeStatus, unchecked_return_type = "StatusReport")]
pub fn decode_status(
    #[wasm_bindgen(unchecked_param_type = "StatusInput")] input: JsValue,
) -> JsResult<JsValue> {
    let report = match input.as_string() {
        Some(text) => status::decode_status_text(&text),
        None => value_from_js(&input).and_then(|v| status::decode_status_value(&v)),
    }
    .map_err(js_error)?;
    Ok(value_to_js(&report))
}

/// `decodeStatus` of a text as UTF-8 bytes (see `__handleStatusUtf8`).
pub(super) fn decode_utf8(utf8: &[u8]) -> Result<status::StatusReport, WawpError> {
    let text = core::str::from_utf8(utf8)
        .map_err(|_| WawpError::invalid_payload("the status text is not valid UTF-8"))?;
    status::decode_status_text(text)
}

/// `decodeStatus(text)` for `bindings.js`, with the text as UTF-8 bytes.
#[wasm_bindgen(js_name = __decodeStatusUtf8, unchecked_return_type = "StatusReport")]
pub fn decode_status_utf8(utf8: &[u8]) -> JsResult<JsValue> {
    let report = decode_utf8(utf8).map_err(js_error)?;
    Ok(value_to_js(&report))
}

/// `uiActionFor(status)`: the UI action for a status name (unknown names → "inspect").
#[wasm_bindgen(js_name = uiActionFor, unchecked_return_type = "UiAction")]
pub fn ui_action_for(
    #[wasm_bindgen(unchecked_param_type = "SessionStatus | string")] status: JsValue,
) -> JsResult<String> {
    let status = string_arg(&status, "status")?;
    Ok(status::ui_action_for(&status).as_str().to_string())
}

/// `uiActionFor` for `bindings.js`: the status name as UTF-8 bytes in, the action's index in
/// `UiAction::ALL` out (`__uiActionName` gives its name once; no string crosses per call).
#[wasm_bindgen(js_name = __uiActionIndex)]
pub fn ui_action_index(utf8: &[u8]) -> u32 {
    let action =
        core::str::from_utf8(utf8).map_or(status::UiAction::Inspect, status::ui_action_for);
    status::UiAction::ALL
        .iter()
        .position(|a| *a == action)
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or(u32::MAX)
}

/// The name of the UI action at `index` of `__uiActionIndex`.
#[wasm_bindgen(js_name = __uiActionName)]
pub fn ui_action_name(index: u32) -> Option<String> {
    let index = usize::try_from(index).ok()?;
    status::UiAction::ALL
        .get(index)
        .map(|a| a.as_str().to_string())
}

/// `normalizeJid(jid)`: drops `:device`, maps `@s.whatsapp.net` to `@c.us`.
#[wasm_bindgen(js_name = normalizeJid)]
pub fn normalize_jid(
    #[wasm_bindgen(unchecked_param_type = "string")] jid: JsValue,
) -> JsResult<String> {
    Ok(identity::normalize_jid(&string_arg(&jid, "jid")?))
}

/// `compareIdentity(expected, me)`: `@lid` ids and a null `me` are "unverifiable".
#[wasm_bindgen(js_name = compareIdentity, unchecked_return_type = "IdentityVerdict")]
pub fn compare_identity(
    #[wasm_bindgen(unchecked_param_type = "string")] expected: JsValue,
    #[wasm_bindgen(unchecked_param_type = "{ id: string } | string | null")] me: JsValue,
) -> JsResult<String> {
    let expected = string_arg(&expected, "expected")?;
    let id = me.as_string().or_else(|| {
        if me.is_object() {
            reflect_get(&me, &JsValue::from_str("id"))
                .ok()
                .and_then(|id| id.as_string())
        } else {
            None
        }
    });
    Ok(identity::compare_identity(&expected, id.as_deref())
        .as_str()
        .to_string())
}

/// `parseRetryAfter(value, nowMs)`: seconds or an HTTP-date, as a delay in ms.
#[wasm_bindgen(js_name = parseRetryAfter)]
pub fn parse_retry_after(
    #[wasm_bindgen(unchecked_param_type = "string | null")] value: JsValue,
    now_ms: f64,
) -> JsResult<Option<f64>> {
    let value = optional_string_arg(&value, "value")?;
    Ok(value.and_then(|v| retry_after::parse_retry_after(&v, now_ms)))
}
