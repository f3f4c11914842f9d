//! Request building: which request each operation is (method, path, query, body, where the
//! credentials go) for the Wawp and WAHA flavours.

use super::{ClientOp, Flavor};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::{Result, WawpError};
use crate::identity::{normalize_jid, normalize_phone};
use crate::json::{ObjectWriter, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    /// `{method, path, query: [[k, v], ...], pathAndQuery, body?, auth, headers: {name: value}}`.
    pub fn to_value(&self) -> Value {
        let pair = |(k, v): &(String, String)| {
            Value::Array(vec![Value::String(k.clone()), Value::String(v.clone())])
        };
        let headers = self
            .headers
            .iter()
            .fold(ObjectWriter::new(), |w, (k, v)| w.str(k, v))
            .build();
        ObjectWriter::new()
            .str("method", self.method)
            .str("path", &self.path)
            .field("query", Value::Array(self.query.iter().map(pair).collect()))
            .str("pathAndQuery", &self.path_and_query())
            .opt_str("body", self.body.as_deref())
            .str("auth", self.auth.as_str())
            .field("headers", headers)
            .build()
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestArgs {
    pub instance_id: Option<String>,
    pub session: Option<String>,
    pub phone_number: Option<String>,
    pub chat_id: Option<String>,
    pub text: Option<String>,
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

pub(super) fn json_body(writer: ObjectWriter) -> Option<String> {
    Some(writer.build().to_json())
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
            body = json_body(ObjectWriter::new().str("phone_number", &phone));
            ("POST", "/v2/auth/request-code")
        }
        ClientOp::SendText => {
            let chat_id = normalize_jid(required(args.chat_id.as_deref(), "a chatId", op)?);
            let text = message_text(args, op)?;
            // Wawp names the text `message` (docs: "Required params: instance_id, access_token,
            // chatId, message"; wawp-sdk-python `messaging.py`; n8n-nodes-wawp); WAHA says `text`.
            body = json_body(
                ObjectWriter::new()
                    .str("chatId", &chat_id)
                    .str("message", &text),
            );
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
            body = json_body(
                ObjectWriter::new()
                    .str("name", session)
                    .bool("start", false),
            );
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
            body = json_body(ObjectWriter::new().str("phoneNumber", &phone));
            ("POST", format!("/api/{s}/auth/request-code"))
        }
        ClientOp::SendText => {
            let chat_id = normalize_jid(required(args.chat_id.as_deref(), "a chatId", op)?);
            let text = message_text(args, op)?;
            body = json_body(
                ObjectWriter::new()
                    .str("session", session)
                    .str("chatId", &chat_id)
                    .str("text", &text),
            );
            ("POST", "/api/sendText".to_string())
        }
    };
    Ok(spec(method, path, query, body, AuthPlacement::Header))
}
