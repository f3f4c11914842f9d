//! Low-level helpers of the JS client (not part of the public contract): requests, responses, retries.

use wasm_bindgen::prelude::*;

use crate::error::{ErrorCode, WawpError};
use crate::http::{self, ClientOp, Flavor, RequestArgs};

use super::convert::{optional_string_arg, options_from_js, string_arg, value_to_js};
use super::errors::{JsResult, invalid_option, js_error};

pub(super) fn parse_flavor(flavor: &str) -> Result<Flavor, WawpError> {
    Flavor::parse(flavor)
        .ok_or_else(|| WawpError::invalid_option("flavor must be \"wawp\" or \"waha\""))
}

pub(super) fn parse_client_op(op: &str) -> Result<ClientOp, WawpError> {
    ClientOp::parse(op).ok_or_else(|| WawpError::invalid_option("unknown client operation"))
}

/// `__buildRequest(flavor, op, args)` → `{method, path, query, body?, auth}` without credentials.
#[wasm_bindgen(js_name = __buildRequest, unchecked_return_type = "RequestSpec")]
pub fn build_request(
    #[wasm_bindgen(unchecked_param_type = "Flavor")] flavor: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ClientOp")] op: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "RequestArgs")] args: JsValue,
) -> JsResult<JsValue> {
    let flavor = parse_flavor(&string_arg(&flavor, "flavor")?).map_err(js_error)?;
    let op = parse_client_op(&string_arg(&op, "op")?).map_err(js_error)?;
    let args = options_from_js(&args).map_err(js_error)?;
    let spec =
        http::build_request(flavor, op, &RequestArgs::from_value(&args)).map_err(js_error)?;
    Ok(value_to_js(&spec))
}

/// `__classifyResponse(op, status, retryAfter, bodyText, nowMs)` → the parsed success body, or
/// throws the `WawpError` the response means.
#[wasm_bindgen(js_name = __classifyResponse, unchecked_return_type = "unknown")]
pub fn classify_response(
    #[wasm_bindgen(unchecked_param_type = "ClientOp")] op: JsValue,
    status: u16,
    #[wasm_bindgen(unchecked_param_type = "string | null")] retry_after: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] body_text: JsValue,
    now_ms: f64,
) -> JsResult<JsValue> {
    let op = parse_client_op(&string_arg(&op, "op")?).map_err(js_error)?;
    let retry_after = optional_string_arg(&retry_after, "retryAfter")?;
    let body_text = string_arg(&body_text, "bodyText")?;
    let value = http::classify_response(op, status, retry_after.as_deref(), &body_text, now_ms)
        .map_err(js_error)?;
    Ok(value_to_js(&value))
}

/// `__mayRetry(op, code, maybeDelivered)`: may this failed call be sent again?
#[wasm_bindgen(js_name = __mayRetry)]
pub fn may_retry(
    #[wasm_bindgen(unchecked_param_type = "ClientOp")] op: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ErrorCode")] code: JsValue,
    maybe_delivered: bool,
) -> JsResult<bool> {
    let op = parse_client_op(&string_arg(&op, "op")?).map_err(js_error)?;
    let code = ErrorCode::parse(&string_arg(&code, "code")?)
        .ok_or_else(|| invalid_option("unknown error code"))?;
    Ok(http::may_retry(op, code, maybe_delivered))
}

/// `__followUp(flavor, op, method, status, bodyText)`: the one extra request a failed answer
/// calls for (Wawp `info` → POST, WAHA `create` of an existing session → read it), or undefined.
#[wasm_bindgen(js_name = __followUp, unchecked_return_type = "FollowUp | undefined")]
pub fn follow_up(
    #[wasm_bindgen(unchecked_param_type = "Flavor")] flavor: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ClientOp")] op: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] method: JsValue,
    status: u16,
    #[wasm_bindgen(unchecked_param_type = "string")] body_text: JsValue,
) -> JsResult<JsValue> {
    let flavor = parse_flavor(&string_arg(&flavor, "flavor")?).map_err(js_error)?;
    let op = parse_client_op(&string_arg(&op, "op")?).map_err(js_error)?;
    let method = string_arg(&method, "method")?;
    let body_text = string_arg(&body_text, "bodyText")?;
    Ok(http::follow_up(flavor, op, &method, status, &body_text)
        .map_or(JsValue::UNDEFINED, |f| value_to_js(&f)))
}
