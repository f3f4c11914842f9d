//! The sans-IO half of `WawpClient`: which request each operation is (method, path, query,
//! body) for the Wawp and WAHA flavours, how a response is classified (success body or a typed
//! error, 422 "already started" = success for start, non-JSON error bodies), and whether a
//! failed call may be repeated. The JS client does fetch, timeouts and credentials itself, so the
//! core never sees a token.
//! STUB: signatures fixed; the core engineer fills in the bodies.

use crate::error::{ErrorCode, Result, WawpError};
use crate::json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Wawp,
    Waha,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientOp {
    Create,
    Start,
    Stop,
    Restart,
    Logout,
    Delete,
    Info,
    Me,
    Qr,
    QrImage,
    RequestCode,
    SendText,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthPlacement {
    /// Wawp: `access_token` in the query string.
    Query,
    /// WAHA: `X-Api-Key` header.
    Header,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    pub method: &'static str,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<String>,
    pub auth: AuthPlacement,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestArgs {
    pub instance_id: Option<String>,
    pub session: Option<String>,
    pub phone_number: Option<String>,
    pub chat_id: Option<String>,
    pub text: Option<String>,
}

pub fn build_request(flavor: Flavor, op: ClientOp, args: &RequestArgs) -> Result<RequestSpec> {
    let _ = (flavor, op, args);
    Err(WawpError::invalid_option("not implemented"))
}

/// `status` and the raw body text of a response; `retry_after` is the header value.
pub fn classify_response(
    op: ClientOp,
    status: u16,
    retry_after: Option<&str>,
    body: &str,
    now_ms: f64,
) -> Result<Value> {
    let _ = (op, status, retry_after, body, now_ms);
    Err(WawpError::new(
        ErrorCode::from_http_status(status),
        "not implemented",
    ))
}

/// May this failed call be sent again? `maybe_delivered` is false only when the request
/// certainly never reached the server (connection refused, DNS failure).
pub fn may_retry(op: ClientOp, error: ErrorCode, maybe_delivered: bool) -> bool {
    let _ = (op, maybe_delivered);
    error.is_transient()
}
