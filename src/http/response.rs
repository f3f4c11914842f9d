//! Response classification: a success body, or a typed error (legacy Wawp codes, NestJS error
//! bodies, 200-with-error bodies, 422 "already started" = success for start, non-JSON bodies).

use super::ClientOp;
use super::base64::base64_decode;
use super::excerpt::{MAX_EXCERPT_CHARS, find_bytes, sanitize_excerpt, truncate_chars};
use crate::error::{ErrorCode, Result, WawpError};
use serde_json::Value;

use crate::payload::{self, Fields};
use crate::retry_after::parse_retry_after;

/// Legacy Wawp error codes (and a few generic ones) found in error bodies.
pub fn error_code_for_body_code(code: &str) -> Option<ErrorCode> {
    let code = code.trim().to_ascii_lowercase();
    if let Some(ours) = ErrorCode::parse(&code) {
        return Some(ours);
    }
    Some(match code.as_str() {
        "invalid_instance" | "instance_not_found" | "invalid_session" | "session_not_found" => {
            ErrorCode::NotFound
        }
        "invalid_access_token" | "invalid_token" | "missing_access_token" | "invalid_api_key" => {
            ErrorCode::Unauthorized
        }
        "subscription_required" | "quota_exceeded" | "limit_reached" => ErrorCode::Forbidden,
        "session_not_working" | "session_not_ready" | "invalid_status" => ErrorCode::Conflict,
        "rate_limit" | "rate_limit_exceeded" | "too_many_requests" => ErrorCode::RateLimited,
        "server_not_found" | "wawp_upstream_error" | "upstream_error" | "internal_error" => {
            ErrorCode::Server
        }
        _ => return None,
    })
}

/// `invalid_access_token`-style identifiers, as opposed to pairing codes (`ABCD-1234`).
pub(super) fn looks_like_error_identifier(code: &str) -> bool {
    let mut chars = code.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The human text of an error body: `message` (a string, or NestJS's array of strings), then
/// `error` (a string or `{message}`), then `detail`.
pub(super) fn json_error_text(v: &Value) -> Option<String> {
    let text = |f: &Value| -> Option<String> {
        match f {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Array(items) => {
                let parts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                (!parts.is_empty()).then(|| parts.join("; "))
            }
            Value::Object(_) => f.str_field("message").map(str::to_string),
            _ => None,
        }
    };
    ["message", "error", "detail", "description"]
        .iter()
        .find_map(|key| v.get(key).and_then(text))
}

/// A 2xx body that is in fact an error (Wawp's legacy endpoints answer some failures as 200
/// with `{"status":"error",...}`, `{"success":false,...}` or
/// `{"code":"invalid_access_token","message":...}`): the code it means, if so.
pub(super) fn error_in_success_body(op: ClientOp, v: &Value) -> Option<ErrorCode> {
    if !v.is_object() {
        return None;
    }
    let http_code = v
        .num_field("statusCode")
        .filter(|s| *s >= 400.0 && *s < 600.0)
        .map(|s| ErrorCode::from_http_status(s as u16));
    // `status: "error"` is checked before a status string means a session object: no session
    // status is called ERROR (FAILED is).
    let says_failed = v.get("success").and_then(Value::as_bool) == Some(false)
        || v.get("ok").and_then(Value::as_bool) == Some(false)
        || v.str_field("status")
            .is_some_and(|s| s.eq_ignore_ascii_case("error"));
    if says_failed {
        let code = v.str_field("code").and_then(error_code_for_body_code);
        return Some(code.or(http_code).unwrap_or(ErrorCode::BadRequest));
    }
    if v.get("status").is_some_and(|s| s.as_str().is_some()) {
        return None;
    }
    if http_code.is_some() {
        return http_code;
    }
    if let Some(code) = v.str_field("code") {
        // `{"code":"ABCD-1234"}` is a pairing code, not an error.
        if looks_like_error_identifier(code)
            && !(op == ClientOp::RequestCode && field_count(v) == 1)
        {
            return Some(error_code_for_body_code(code).unwrap_or(ErrorCode::BadRequest));
        }
    }
    let has_error = match v.get("error") {
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Object(_)) => true,
        _ => false,
    };
    if has_error && v.get("id").is_none() {
        return Some(ErrorCode::BadRequest);
    }
    None
}

pub(super) fn field_count(v: &Value) -> usize {
    match v {
        Value::Object(fields) => fields.len(),
        _ => 0,
    }
}

pub(super) fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// A 422 that a `start` call counts as success (WAHA: "Session 'x' is already started.").
pub(super) fn is_already_started(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    find_bytes(&lower, "already started").is_some()
        || find_bytes(&lower, "already running").is_some()
}

/// What a successful `start` returns when the session was already running: the call reached
/// its goal, but this says nothing about the session's health.
pub(super) fn already_started() -> Value {
    serde_json::json!({ "alreadyStarted": true })
}

/// `status` and the raw body text of a response; `retry_after` is the header value.
pub fn classify_response(
    op: ClientOp,
    status: u16,
    retry_after: Option<&str>,
    body: &str,
    now_ms: f64,
) -> Result<Value> {
    let parsed = parse_body(body);
    let error = |code: ErrorCode, message: String| {
        WawpError::new(code, message)
            .with_op(op.as_str())
            .with_http_status(status)
            .with_retry_after_ms(retry_after.and_then(|v| parse_retry_after(v, now_ms)))
    };
    let detail_of = |v: &Value| {
        json_error_text(v)
            .or_else(|| v.str_field("code").map(str::to_string))
            .unwrap_or_default()
    };
    if is_success(status) {
        let body_error = parsed
            .as_ref()
            .and_then(|v| error_in_success_body(op, v).map(|code| (code, v)));
        if let Some((code, v)) = body_error {
            let detail = detail_of(v);
            let body_code = v.str_field("code").unwrap_or("").replace('_', " ");
            if op == ClientOp::Start
                && (is_already_started(&detail) || is_already_started(&body_code))
            {
                return Ok(already_started());
            }
            return Err(error(
                code,
                format!(
                    "{} failed: HTTP {status} with an error body: {}",
                    op.as_str(),
                    sanitize_excerpt(&detail)
                ),
            ));
        }
        return success_value(op, parsed, body).map_err(|e| {
            error(
                e.code,
                format!("{} failed: HTTP {status}: {}", op.as_str(), e.message),
            )
        });
    }
    let detail = parsed.as_ref().map_or_else(|| body.to_string(), detail_of);
    let excerpt = sanitize_excerpt(&detail);
    if op == ClientOp::Start && status == 422 && is_already_started(&excerpt) {
        return Ok(already_started());
    }
    let mut code = if status == 0 {
        ErrorCode::Network
    } else {
        ErrorCode::from_http_status(status)
    };
    // A generic 400 says less than a legacy body code (`invalid_access_token` → unauthorized).
    if code == ErrorCode::BadRequest {
        let body_code = parsed
            .as_ref()
            .and_then(|v| v.str_field("code"))
            .and_then(error_code_for_body_code);
        code = body_code.unwrap_or(code);
    }
    // Wawp's wrong-state refusal, whatever status carries it, is a conflict (the session is
    // not in the state the call needs), not a malformed request.
    if code == ErrorCode::BadRequest
        && find_bytes(&excerpt.to_ascii_lowercase(), "status is not as expected").is_some()
    {
        code = ErrorCode::Conflict;
    }
    let message = if excerpt.is_empty() {
        format!("{} failed: HTTP {status}", op.as_str())
    } else {
        format!("{} failed: HTTP {status}: {excerpt}", op.as_str())
    };
    Err(error(code, message))
}

/// The body as JSON when it is JSON; `None` for empty, text, HTML, XML or oversized bodies.
pub(super) fn parse_body(body: &str) -> Option<Value> {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return None;
    }
    payload::parse(trimmed).ok()
}

/// An object of text fields, absent ones left out (the JS results of `classify_response`).
/// Inserted one by one: `collect()` into the map sorts first, which links ~3 KB of sort code
/// into the wasm for objects of at most four fields.
fn text_object(fields: &[(&str, Option<&str>)]) -> Value {
    let mut object = serde_json::Map::new();
    for (key, value) in fields {
        if let Some(value) = value {
            object.insert((*key).to_string(), Value::String((*value).to_string()));
        }
    }
    Value::Object(object)
}

pub(super) fn invalid(message: &str) -> WawpError {
    WawpError::invalid_payload(message.to_string())
}

/// The normalised JS result of a successful call.
pub(super) fn success_value(op: ClientOp, parsed: Option<Value>, body: &str) -> Result<Value> {
    let text = body.trim();
    match op {
        ClientOp::Create => create_result(parsed.as_ref()),
        ClientOp::Qr => qr_result(parsed.as_ref(), text),
        ClientOp::QrImage => qr_image_result(parsed.as_ref()),
        ClientOp::RequestCode => {
            let code = parsed.as_ref().and_then(|v| {
                ["code", "pairingCode", "pairing_code"]
                    .iter()
                    .find_map(|k| v.str_field(k))
            });
            let code = code
                .or_else(|| {
                    (parsed.is_none() && !text.is_empty() && !text.starts_with('<')).then_some(text)
                })
                .ok_or_else(|| invalid("no pairing code in the response"))?;
            Ok(text_object(&[("code", Some(code))]))
        }
        ClientOp::SendText => Ok(text_object(&[(
            "id",
            parsed.as_ref().and_then(message_id).as_deref(),
        )])),
        ClientOp::Me => match parsed {
            None if text.is_empty() => Ok(Value::Null),
            None => Err(invalid("the me response is not JSON")),
            Some(v @ Value::Null) => Ok(v),
            Some(v) if v.is_object() => match v.get("me") {
                Some(me) if v.get("id").is_none() && (me.is_object() || me.is_null()) => {
                    Ok(me.clone())
                }
                _ => Ok(v),
            },
            Some(_) => Err(invalid("the me response is not an object")),
        },
        ClientOp::Start
        | ClientOp::Stop
        | ClientOp::Restart
        | ClientOp::Logout
        | ClientOp::Delete
        | ClientOp::Info => match parsed {
            Some(v) => Ok(v),
            None if text.is_empty() => Ok(Value::Null),
            None if text.starts_with('<') => Err(invalid("expected JSON, got HTML or XML")),
            // A bare status word (`WORKING`) decodes like any status input.
            None => Ok(Value::String(truncate_chars(text, MAX_EXCERPT_CHARS))),
        },
    }
}

pub(super) fn create_result(parsed: Option<&Value>) -> Result<Value> {
    let v = parsed
        .filter(|v| v.is_object())
        .ok_or_else(|| invalid("the create response is not a JSON object"))?;
    // Wawp: `instance_id` + `session_name`; WAHA: the session `name` is the id.
    let instance_id = ["instance_id", "instanceId", "name"]
        .iter()
        .find_map(|k| v.str_field(k))
        .ok_or_else(|| invalid("no instance_id in the create response"))?;
    let session_name = ["session_name", "sessionName", "name"]
        .iter()
        .find_map(|k| v.str_field(k));
    let server_name = ["server_name", "serverName"]
        .iter()
        .find_map(|k| v.str_field(k));
    Ok(text_object(&[
        ("instanceId", Some(instance_id)),
        ("sessionName", session_name),
        ("serverName", server_name),
        ("status", v.str_field("status")),
    ]))
}

/// `{value}` from `{value}`, `{qr}`, `{mimetype, data}` (base64 of JSON `{value, expiry}` or of
/// the text itself) or a raw text body.
pub(super) fn qr_result(parsed: Option<&Value>, text: &str) -> Result<Value> {
    let value = match parsed {
        Some(v) if v.is_object() => {
            if let Some(value) = v.str_field("value").or_else(|| v.str_field("qr")) {
                value.to_string()
            } else if let Some(data) = v.str_field("data") {
                let bytes = base64_decode(data).ok_or_else(|| invalid("qr data is not base64"))?;
                let decoded = String::from_utf8(bytes)
                    .map_err(|_| invalid("qr data is an image, not a QR value"))?;
                match payload::parse(decoded.trim()) {
                    Ok(inner) => inner
                        .str_field("value")
                        .or_else(|| inner.str_field("qr"))
                        .map(str::to_string)
                        .ok_or_else(|| invalid("no value in the decoded qr data"))?,
                    Err(_) => decoded.trim().to_string(),
                }
            } else {
                return Err(invalid("no QR value in the response"));
            }
        }
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(_) => return Err(invalid("no QR value in the response")),
        None if !text.is_empty() && !text.starts_with('<') => text.to_string(),
        None => return Err(invalid("no QR value in the response")),
    };
    if value.is_empty() {
        return Err(invalid("empty QR value"));
    }
    Ok(text_object(&[("value", Some(&value))]))
}

/// `{qr: "data:image/png;base64,…"}` from Wawp's `{qr}` or WAHA's `{mimetype, data}`.
pub(super) fn qr_image_result(parsed: Option<&Value>) -> Result<Value> {
    let v = parsed
        .filter(|v| v.is_object())
        .ok_or_else(|| invalid("the QR image response is not a JSON object"))?;
    let qr = if let Some(qr) = v.str_field("qr") {
        if qr.starts_with("data:") {
            qr.to_string()
        } else {
            format!("data:image/png;base64,{qr}")
        }
    } else if let Some(data) = v.str_field("data") {
        let mimetype = v.str_field("mimetype").unwrap_or("image/png");
        format!("data:{mimetype};base64,{data}")
    } else {
        return Err(invalid("no qr or data field in the QR image response"));
    };
    Ok(text_object(&[("qr", Some(&qr))]))
}

/// The message id of a send response: Wawp/WAHA `id` as a string, WEBJS `id._serialized`,
/// NOWEB `key.id`, or `messageId`.
pub(super) fn message_id(v: &Value) -> Option<String> {
    let id = match v.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(obj @ Value::Object(_)) => obj
            .str_field("_serialized")
            .or_else(|| obj.str_field("id"))
            .map(str::to_string),
        _ => None,
    };
    id.or_else(|| {
        v.get("key")
            .and_then(|k| k.str_field("id"))
            .map(str::to_string)
    })
    .or_else(|| {
        ["messageId", "message_id"]
            .iter()
            .find_map(|k| v.str_field(k))
            .map(str::to_string)
    })
}
