//! What goes into the machine: the JS `MachineEvent` shapes.

use super::options::MAX_DURATION_MS;
use super::{CallResult, Op, SendOutcome};
use crate::error::{ErrorCode, Result, WawpError};
use serde_json::Value;

use crate::payload::{self, Fields};
use crate::status::{StatusReport, decode_status_value};

/// The JS `MachineEvent` shapes. Read through [`Event::from_value`]: a status event's `input`
/// is any status shape (decoded, unknown names become `UNKNOWN`), and every range check is an
/// `invalid_payload` with its own message, which serde's derive cannot say.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(try_from = "Value")]
pub enum Event {
    Status(Box<StatusReport>),
    WarmBoot,
    Send {
        id: String,
        timeout_ms: Option<f64>,
    },
    /// The API refused a released send with HTTP 422 ("status is not as expected"): the same as
    /// `SendResult` with that failure (kept for hosts written before it; `timeout_ms` is unused,
    /// the send keeps its deadline).
    SendRefused {
        id: String,
        timeout_ms: Option<f64>,
    },
    /// What became of a released send (the machine decides the rest: see `delivery`).
    SendResult(SendOutcome),
    Result(CallResult),
    /// The UI's Retry button: restart now, re-arming automation.
    UserRetry,
    /// The UI's Power On button.
    UserStart,
    UserStop,
    UserLogout,
    Timeout,
}

impl Event {
    /// The JS `MachineEvent` shape: `{type:"status", input}`, `{type:"send", id}`, ...
    pub fn from_value(v: &Value) -> Result<Event> {
        let kind = v
            .str_field("type")
            .ok_or_else(|| WawpError::invalid_payload("an event needs a string type"))?;
        match kind {
            "status" => {
                let input = v
                    .present("input")
                    .ok_or_else(|| WawpError::invalid_payload("a status event needs input"))?;
                Ok(Event::Status(Box::new(decode_status_value(input)?)))
            }
            "warm_boot" => Ok(Event::WarmBoot),
            "send" | "send_refused" => {
                let id = v
                    .str_field("id")
                    .ok_or_else(|| WawpError::invalid_payload("a send event needs a string id"))?;
                let timeout_ms = match v.present("timeoutMs") {
                    None => None,
                    Some(t) => match t.as_f64() {
                        Some(n) if n.is_finite() && n > 0.0 && n <= MAX_DURATION_MS => Some(n),
                        _ => {
                            return Err(WawpError::invalid_payload(
                                "timeoutMs must be a number of ms above 0",
                            ));
                        }
                    },
                };
                let id = id.to_string();
                Ok(if kind == "send" {
                    Event::Send { id, timeout_ms }
                } else {
                    Event::SendRefused { id, timeout_ms }
                })
            }
            "result" => Ok(Event::Result(result_from_value(v)?)),
            "send_result" => {
                let id = v.str_field("id");
                let (ok, error, http_status, retry_after_ms) = outcome_fields(v)?;
                Ok(Event::SendResult(SendOutcome {
                    id: id
                        .ok_or_else(|| WawpError::invalid_payload("a send_result needs an id"))?
                        .to_string(),
                    ok,
                    error,
                    http_status,
                    retry_after_ms,
                    maybe_delivered: match v.present("maybeDelivered") {
                        None => None,
                        Some(b) => Some(b.as_bool().ok_or_else(|| {
                            WawpError::invalid_payload("maybeDelivered must be a boolean")
                        })?),
                    },
                }))
            }
            "user_retry" => Ok(Event::UserRetry),
            "user_start" => Ok(Event::UserStart),
            "user_stop" => Ok(Event::UserStop),
            "user_logout" => Ok(Event::UserLogout),
            "timeout" => Ok(Event::Timeout),
            _ => Err(WawpError::invalid_payload("unknown event type")),
        }
    }

    pub fn from_json(text: &str) -> Result<Event> {
        Event::from_value(&payload::parse(text)?)
    }
}

fn result_from_value(v: &Value) -> Result<CallResult> {
    let op = v
        .str_field("op")
        .and_then(Op::parse)
        .ok_or_else(|| WawpError::invalid_payload("a result needs a known op"))?;
    let (ok, error, http_status, retry_after_ms) = outcome_fields(v)?;
    Ok(CallResult {
        op,
        ok,
        error,
        http_status,
        retry_after_ms,
        body: v.get("body").cloned(),
    })
}

/// `ok`, `error`, `httpStatus` and `retryAfterMs`: shared by `result` and `send_result`.
type OutcomeFields = (bool, Option<ErrorCode>, Option<u16>, Option<f64>);

fn outcome_fields(v: &Value) -> Result<OutcomeFields> {
    let ok = v
        .get("ok")
        .and_then(Value::as_bool)
        .ok_or_else(|| WawpError::invalid_payload("a result needs a boolean ok"))?;
    let error = match v.present("error") {
        None => None,
        Some(e) => Some(
            e.as_str()
                .and_then(ErrorCode::parse)
                .ok_or_else(|| WawpError::invalid_payload("error must be an ErrorCode"))?,
        ),
    };
    let http_status = match v.present("httpStatus") {
        None => None,
        Some(s) => match s.as_f64() {
            Some(n) if n.fract() == 0.0 && (100.0..=599.0).contains(&n) => Some(n as u16),
            _ => {
                return Err(WawpError::invalid_payload(
                    "httpStatus must be an HTTP status code",
                ));
            }
        },
    };
    let retry_after_ms = match v.present("retryAfterMs") {
        None => None,
        Some(r) => match r.as_f64() {
            Some(n) if n.is_finite() && n >= 0.0 => Some(n.min(MAX_DURATION_MS)),
            _ => {
                return Err(WawpError::invalid_payload(
                    "retryAfterMs must be a number of ms >= 0",
                ));
            }
        },
    };
    Ok((ok, error, http_status, retry_after_ms))
}

impl TryFrom<Value> for Event {
    type Error = WawpError;
    fn try_from(v: Value) -> Result<Event> {
        Event::from_value(&v)
    }
}
