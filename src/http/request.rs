//! Request building: which request each operation is (method, path, query, body, where the
//! credentials go) for the Wawp and WAHA flavours.

use super::{ClientOp, Flavor};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::{Result, WawpError};
use crate::identity::{normalize_jid, normalize_phone};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthPlacement {
    /// Wawp: `access_token` in the query string.
    Query,
    /// WAHA: `X-Api-Key` header.
    Header,
}

impl AuthPlacement {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthPlacement::Query => "query",
            AuthPlacement::Header => "header",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    pub method: &'static str,
    /// Already percent-encoded.
    pub path: String,
    /// Raw (decoded) pairs: the caller appends credentials and encodes, or uses
    /// [`RequestSpec::path_and_query`].
    pub query: Vec<(String, String)>,
    /// JSON text.
    pub body: Option<String>,
    pub auth: AuthPlacement,
    /// Lower-case header names: `accept`, and `content-type` when there is a body.
    pub headers: Vec<(String, String)>,
}

impl RequestSpec {
    /// `path?k=v&...` with keys and values percent-encoded.
    pub fn path_and_query(&self) -> String {
        let mut out = self.path.clone();
        for (i, (k, v)) in self.query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(&percent_encode(k));
            out.push('=');
            out.push_str(&percent_encode(v));
        }
        out
    }
}

/// The JS `RequestSpec`: `{method, path, query: [[k, v], ...], pathAndQuery, body?, auth,
/// headers: {name: value}}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpecView<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a [(String, String)],
    path_and_query: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    auth: AuthPlacement,
    #[serde(serialize_with = "header_map")]
    headers: &'a [(String, String)],
}

fn header_map<S: serde::Serializer>(
    headers: &&[(String, String)],
    serializer: S,
) -> core::result::Result<S::Ok, S::Error> {
    serializer.collect_map(headers.iter().map(|(k, v)| (k, v)))
}

impl Serialize for RequestSpec {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> core::result::Result<S::Ok, S::Error> {
        SpecView {
            method: self.method,
            path: &self.path,
            query: &self.query,
            path_and_query: self.path_and_query(),
            body: self.body.as_deref(),
            auth: self.auth,
            headers: &self.headers,
        }
        .serialize(serializer)
    }
}

/// The JS `RequestArgs` (camelCase); a field that is not a string counts as absent, as the JS
/// client always passed them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "Value")]
pub struct RequestArgs {
    pub instance_id: Option<String>,
    pub session: Option<String>,
    pub phone_number: Option<String>,
    pub chat_id: Option<String>,
    pub text: Option<String>,
}

impl From<Value> for RequestArgs {
    fn from(v: Value) -> RequestArgs {
        RequestArgs::from_value(&v)
    }
}

impl RequestArgs {
    pub fn from_value(v: &Value) -> RequestArgs {
        let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
        RequestArgs {
            instance_id: text("instanceId"),
            session: text("session"),
            phone_number: text("phoneNumber"),
            chat_id: text("chatId"),
            text: text("text"),
        }
    }
}

/// WAHA's own default session name.
pub const DEFAULT_WAHA_SESSION: &str = "default";

/// Every byte but RFC 3986's unreserved characters (ALPHA / DIGIT / "-" / "." / "_" / "~").
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// RFC 3986 unreserved characters stay, every other byte of the UTF-8 text becomes `%XX`
/// (safe for both path segments and query values).
pub fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, ESCAPED).collect()
}

/// A required, non-blank text argument.
pub(super) fn required<'a>(value: Option<&'a str>, name: &str, op: ClientOp) -> Result<&'a str> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            WawpError::invalid_option(format!("{} needs {name}", op.as_str())).with_op(op.as_str())
        })
}

pub(super) fn phone_digits(args: &RequestArgs, op: ClientOp) -> Result<String> {
    let raw = required(args.phone_number.as_deref(), "a phone number", op)?;
    normalize_phone(raw).ok_or_else(|| {
        WawpError::invalid_option("the phone number must contain only digits, spaces, + or -")
            .with_op(op.as_str())
    })
}

/// The message text is sent as given (WhatsApp keeps whitespace); only a missing or empty one is
/// refused.
pub(super) fn message_text(args: &RequestArgs, op: ClientOp) -> Result<String> {
    match args.text.as_deref() {
        Some(t) if !t.is_empty() => Ok(t.to_string()),
        _ => Err(WawpError::invalid_option("sendText needs a non-empty text").with_op(op.as_str())),
    }
}

/// A request body as JSON text. Bodies are derived structs of strings (not `serde_json::Value`,
/// whose number printing would link a float formatter into the wasm).
pub(super) fn json_body<T: Serialize>(body: &T) -> Option<String> {
    serde_json::to_string(body).ok()
}

/// Wawp `request-code`: `{phone_number}`.
#[derive(Serialize)]
struct WawpPhone<'a> {
    phone_number: &'a str,
}

/// WAHA `request-code`: `{phoneNumber}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WahaPhone<'a> {
    phone_number: &'a str,
}

/// Wawp `send/text`: `{chatId, message}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WawpText<'a> {
    chat_id: &'a str,
    message: &'a str,
}

/// WAHA `sessions` create: `{name, start}`.
#[derive(Serialize)]
struct WahaCreate<'a> {
    name: &'a str,
    start: bool,
}

/// WAHA `sendText`: `{session, chatId, text}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WahaText<'a> {
    session: &'a str,
    chat_id: &'a str,
    text: &'a str,
}

pub fn build_request(flavor: Flavor, op: ClientOp, args: &RequestArgs) -> Result<RequestSpec> {
    match flavor {
        Flavor::Wawp => build_wawp(op, args),
        Flavor::Waha => build_waha(op, args),
    }
}

pub(super) fn spec(
    method: &'static str,
    path: String,
    query: Vec<(String, String)>,
    body: Option<String>,
    auth: AuthPlacement,
) -> RequestSpec {
    let mut headers = vec![("accept".to_string(), "application/json".to_string())];
    if body.is_some() {
        headers.push(("content-type".to_string(), "application/json".to_string()));
    }
    RequestSpec {
        method,
        path,
        query,
        body,
        auth,
        headers,
    }
}

pub(super) fn build_wawp(op: ClientOp, args: &RequestArgs) -> Result<RequestSpec> {
    if op == ClientOp::Create {
        return Ok(spec(
            "POST",
            "/v2/session/create".to_string(),
            Vec::new(),
            None,
            AuthPlacement::Query,
        ));
    }
    let instance_id = required(args.instance_id.as_deref(), "an instanceId", op)?;
    let mut query = vec![("instance_id".to_string(), instance_id.to_string())];
    let mut body = None;
    let (method, path) = match op {
        ClientOp::Create | ClientOp::Start => ("POST", "/v2/session/start"),
        ClientOp::Stop => ("POST", "/v2/session/stop"),
        ClientOp::Restart => ("POST", "/v2/session/restart"),
        ClientOp::Logout => ("POST", "/v2/session/logout"),
        ClientOp::Delete => ("DELETE", "/v2/session/delete"),
        ClientOp::Info => ("GET", "/v2/session/info"),
        ClientOp::Me => ("GET", "/v2/session/me"),
        ClientOp::Qr => {
            query.push(("format".to_string(), "raw".to_string()));
            ("GET", "/v2/auth/qr")
        }
        ClientOp::QrImage => ("GET", "/v2/auth/qr-image"),
        ClientOp::RequestCode => {
            let phone = phone_digits(args, op)?;
            query.push(("phone_number".to_string(), phone.clone()));
            body = json_body(&WawpPhone {
                phone_number: &phone,
            });
            ("POST", "/v2/auth/request-code")
        }
        ClientOp::SendText => {
            let chat_id = normalize_jid(required(args.chat_id.as_deref(), "a chatId", op)?);
            let text = message_text(args, op)?;
            // Wawp names the text `message` (docs: "Required params: instance_id, access_token,
            // chatId, message"; wawp-sdk-python `messaging.py`; n8n-nodes-wawp); WAHA says `text`.
            body = json_body(&WawpText {
                chat_id: &chat_id,
                message: &text,
            });
            ("POST", "/v2/send/text")
        }
    };
    Ok(spec(
        method,
        path.to_string(),
        query,
        body,
        AuthPlacement::Query,
    ))
}

pub(super) fn build_waha(op: ClientOp, args: &RequestArgs) -> Result<RequestSpec> {
    let session = args
        .session
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_WAHA_SESSION);
    let s = percent_encode(session);
    let mut query = Vec::new();
    let mut body = None;
    let (method, path) = match op {
        ClientOp::Create => {
            body = json_body(&WahaCreate {
                name: session,
                start: false,
            });
            ("POST", "/api/sessions".to_string())
        }
        ClientOp::Start => ("POST", format!("/api/sessions/{s}/start")),
        ClientOp::Stop => ("POST", format!("/api/sessions/{s}/stop")),
        ClientOp::Restart => ("POST", format!("/api/sessions/{s}/restart")),
        ClientOp::Logout => ("POST", format!("/api/sessions/{s}/logout")),
        ClientOp::Delete => ("DELETE", format!("/api/sessions/{s}")),
        ClientOp::Info => ("GET", format!("/api/sessions/{s}")),
        ClientOp::Me => ("GET", format!("/api/sessions/{s}/me")),
        ClientOp::Qr => {
            query.push(("format".to_string(), "raw".to_string()));
            ("GET", format!("/api/{s}/auth/qr"))
        }
        // `Accept: application/json` (always sent) makes WAHA answer `{mimetype, data}`
        // instead of PNG bytes.
        ClientOp::QrImage => {
            query.push(("format".to_string(), "image".to_string()));
            ("GET", format!("/api/{s}/auth/qr"))
        }
        ClientOp::RequestCode => {
            let phone = phone_digits(args, op)?;
            body = json_body(&WahaPhone {
                phone_number: &phone,
            });
            ("POST", format!("/api/{s}/auth/request-code"))
        }
        ClientOp::SendText => {
            let chat_id = normalize_jid(required(args.chat_id.as_deref(), "a chatId", op)?);
            let text = message_text(args, op)?;
            body = json_body(&WahaText {
                session,
                chat_id: &chat_id,
                text: &text,
            });
            ("POST", "/api/sendText".to_string())
        }
    };
    Ok(spec(method, path, query, body, AuthPlacement::Header))
}
