//! The sans-IO half of `WawpClient`: which request each operation is (method, path, query,
//! body) for the Wawp and WAHA flavours, how a response is classified (success body or a typed
//! error, 422 "already started" = success for start, non-JSON error bodies), and whether a
//! failed call may be repeated. The JS client does fetch, timeouts and credentials itself, so the
//! core never sees a token.
//!
//! Sources: `shared/reference/wawp-api.md` §1–§2 (Wawp v2: credentials in the query string,
//! legacy error codes, 200-with-error bodies) and §5 (WAHA: `X-Api-Key`, NestJS error bodies).

use crate::error::{ErrorCode, Result, WawpError};
use crate::identity::{normalize_jid, normalize_phone};
use crate::json::{self, ObjectWriter, Value};
use crate::retry_after::parse_retry_after;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Wawp,
    Waha,
}

impl Flavor {
    pub fn parse(s: &str) -> Option<Flavor> {
        match s {
            "wawp" => Some(Flavor::Wawp),
            "waha" => Some(Flavor::Waha),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Wawp => "wawp",
            Flavor::Waha => "waha",
        }
    }
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

impl ClientOp {
    pub const ALL: [ClientOp; 12] = [
        ClientOp::Create,
        ClientOp::Start,
        ClientOp::Stop,
        ClientOp::Restart,
        ClientOp::Logout,
        ClientOp::Delete,
        ClientOp::Info,
        ClientOp::Me,
        ClientOp::Qr,
        ClientOp::QrImage,
        ClientOp::RequestCode,
        ClientOp::SendText,
    ];

    /// The JS method name (`qrImage`, `requestCode`, `sendText`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ClientOp::Create => "create",
            ClientOp::Start => "start",
            ClientOp::Stop => "stop",
            ClientOp::Restart => "restart",
            ClientOp::Logout => "logout",
            ClientOp::Delete => "delete",
            ClientOp::Info => "info",
            ClientOp::Me => "me",
            ClientOp::Qr => "qr",
            ClientOp::QrImage => "qrImage",
            ClientOp::RequestCode => "requestCode",
            ClientOp::SendText => "sendText",
        }
    }

    pub fn parse(s: &str) -> Option<ClientOp> {
        ClientOp::ALL.into_iter().find(|op| op.as_str() == s)
    }

    /// Repeating it changes nothing: start on a started session, info, stop on a stopped one.
    /// `create` makes a new instance each time and `sendText` a new message.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, ClientOp::Create | ClientOp::SendText)
    }
}

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

/// RFC 3986 unreserved characters stay, every other byte of the UTF-8 text becomes `%XX`
/// (safe for both path segments and query values).
pub fn percent_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            for nibble in [b >> 4, b & 0x0F] {
                if let Some(&h) = HEX.get(usize::from(nibble)) {
                    out.push(char::from(h));
                }
            }
        }
    }
    out
}

/// A required, non-blank text argument.
fn required<'a>(value: Option<&'a str>, name: &str, op: ClientOp) -> Result<&'a str> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            WawpError::invalid_option(format!("{} needs {name}", op.as_str())).with_op(op.as_str())
        })
}

fn phone_digits(args: &RequestArgs, op: ClientOp) -> Result<String> {
    let raw = required(args.phone_number.as_deref(), "a phone number", op)?;
    normalize_phone(raw).ok_or_else(|| {
        WawpError::invalid_option("the phone number must contain only digits, spaces, + or -")
            .with_op(op.as_str())
    })
}

/// The message text is sent as given (WhatsApp keeps whitespace); only a missing or empty one is
/// refused.
fn message_text(args: &RequestArgs, op: ClientOp) -> Result<String> {
    match args.text.as_deref() {
        Some(t) if !t.is_empty() => Ok(t.to_string()),
        _ => Err(WawpError::invalid_option("sendText needs a non-empty text").with_op(op.as_str())),
    }
}

fn json_body(writer: ObjectWriter) -> Option<String> {
    Some(writer.build().to_json())
}

pub fn build_request(flavor: Flavor, op: ClientOp, args: &RequestArgs) -> Result<RequestSpec> {
    match flavor {
        Flavor::Wawp => build_wawp(op, args),
        Flavor::Waha => build_waha(op, args),
    }
}

fn spec(
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

fn build_wawp(op: ClientOp, args: &RequestArgs) -> Result<RequestSpec> {
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

fn build_waha(op: ClientOp, args: &RequestArgs) -> Result<RequestSpec> {
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

// ---------------------------------------------------------------------------------------------
// Responses

/// Longest excerpt of a body quoted in an error message.
pub const MAX_EXCERPT_CHARS: usize = 160;
/// How much of a non-JSON body is scanned for the excerpt (HTML pages put a lot before text).
const SCAN_BYTES: usize = 64 * 1024;

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
fn looks_like_error_identifier(code: &str) -> bool {
    let mut chars = code.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The human text of an error body: `message` (a string, or NestJS's array of strings), then
/// `error` (a string or `{message}`), then `detail`.
fn json_error_text(v: &Value) -> Option<String> {
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
fn error_in_success_body(op: ClientOp, v: &Value) -> Option<ErrorCode> {
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

fn field_count(v: &Value) -> usize {
    match v {
        Value::Object(fields) => fields.len(),
        _ => 0,
    }
}

/// Plain text of an HTML / XML / text body: tags (and `<script>`/`<style>` contents) removed,
/// common entities decoded, whitespace folded. Linear in the body length.
fn strip_markup(body: &str) -> String {
    // Same byte offsets as `body`: ASCII lower-casing never changes lengths.
    let lower = body.to_ascii_lowercase();
    let mut out = String::new();
    let mut pos = 0;
    while let Some(lt) = lower.get(pos..).and_then(|r| r.find('<')).map(|i| pos + i) {
        out.push_str(body.get(pos..lt).unwrap_or(""));
        out.push(' ');
        let Some(gt) = lower.get(lt..).and_then(|r| r.find('>')).map(|i| lt + i) else {
            pos = body.len();
            break;
        };
        let tag = lower.get(lt + 1..gt).unwrap_or("").trim_start();
        pos = gt + 1;
        for hidden in ["script", "style"] {
            let opens = tag.strip_prefix(hidden).is_some_and(|after| {
                after
                    .bytes()
                    .next()
                    .is_none_or(|b| !b.is_ascii_alphanumeric())
            });
            if opens {
                let close = format!("</{hidden}");
                pos = lower
                    .get(pos..)
                    .and_then(|r| find_bytes(r, &close))
                    .map_or(body.len(), |i| pos + i);
            }
        }
    }
    out.push_str(body.get(pos..).unwrap_or(""));
    fold_whitespace(&decode_entities(&out))
}

/// Runs of whitespace become one space, ends trimmed (`split_whitespace().join(" ")` without
/// the slice-join machinery in the wasm).
fn fold_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Byte-wise substring search. `str::find(&str)` brings the Two-Way searcher and its slicing
/// panics into the wasm (~3 KB); the haystacks here are short excerpts.
fn find_bytes(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    if needle.is_empty() {
        return Some(0);
    }
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The common named entities and every numeric one (`&#39;`, `&#x27;`); anything else is left
/// as written.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or(""));
        let after = rest.get(amp + 1..).unwrap_or("");
        // Entities are short: look for the `;` within a few characters only.
        let semi = after.get(..after.len().min(10)).and_then(|s| s.find(';'));
        let decoded = semi.and_then(|semi| {
            let name = after.get(..semi)?;
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => ' ',
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse::<u32>().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = after.get(semi + 1..).unwrap_or("");
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Names whose values are credentials wherever they show up (`access_token=…`, `"apiKey": "…"`,
/// `X-Api-Key: …`, `Bearer …`).
const SECRET_KEYS: [&str; 12] = [
    "access_token",
    "access-token",
    "accesstoken",
    "api_key",
    "api-key",
    "apikey",
    "x-api-key",
    "token",
    "secret",
    "password",
    "authorization",
    "bearer",
];
const REDACTED: &str = "[redacted]";

/// Replaces the value after every credential-looking key with `[redacted]`.
pub fn redact_secrets(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    // (start, end) byte ranges of values to hide.
    let mut hide: Vec<(usize, usize)> = Vec::new();
    for key in SECRET_KEYS {
        let mut from = 0;
        while let Some(found) = lower.get(from..).and_then(|l| find_bytes(l, key)) {
            let start = from + found;
            let mut pos = start + key.len();
            from = pos;
            // No word-boundary check before the key: `xaccess_token=…` still hides the value
            // (over-redacting is harmless, a leak is not).
            let skip = |pos: &mut usize, set: &[u8]| {
                while bytes.get(*pos).is_some_and(|b| set.contains(b)) {
                    *pos += 1;
                }
            };
            skip(&mut pos, b"\"'");
            skip(&mut pos, b" \t");
            let separated = match bytes.get(pos) {
                Some(b'=' | b':') => {
                    pos += 1;
                    true
                }
                // `Bearer abc`: the value follows after blanks.
                Some(_) => key == "bearer" && pos > start + key.len(),
                None => false,
            };
            if !separated {
                continue;
            }
            skip(&mut pos, b" \t");
            skip(&mut pos, b"\"'");
            let value_start = pos;
            while bytes.get(pos).is_some_and(|b| {
                !matches!(
                    b,
                    b' ' | b'\t' | b'\n' | b'\r' | b'&' | b'"' | b'\'' | b',' | b';'
                ) && !matches!(b, b'<' | b'>' | b'}' | b')' | b']')
            }) {
                pos += 1;
            }
            // `Authorization: Bearer xyz` hides the credential after the scheme as well.
            if key == "authorization"
                && lower
                    .get(value_start..pos)
                    .is_some_and(|scheme| scheme == "bearer" || scheme == "basic")
            {
                skip(&mut pos, b" \t");
                while bytes.get(pos).is_some_and(|b| !b.is_ascii_whitespace()) {
                    pos += 1;
                }
            }
            if pos > value_start {
                // Kept sorted by insertion: `sort_unstable` would link ~2 KB gzip of sort code.
                let at = hide.partition_point(|r| *r <= (value_start, pos));
                hide.insert(at, (value_start, pos));
                // Keys inside a hidden value need no second look (and rescanning them would
                // make `access_token=access_token=…` quadratic).
                from = pos;
            }
        }
    }
    if hide.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in hide {
        if start < copied {
            copied = copied.max(end);
            continue;
        }
        out.push_str(text.get(copied..start).unwrap_or(""));
        out.push_str(REDACTED);
        copied = end;
    }
    out.push_str(text.get(copied..).unwrap_or(""));
    out
}

/// At most `max_chars` characters (an ellipsis marks a cut).
fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or("")),
        None => text.to_string(),
    }
}

/// A short, safe excerpt of a response body for an error message: markup stripped,
/// whitespace folded, credentials redacted, at most [`MAX_EXCERPT_CHARS`] characters.
pub fn sanitize_excerpt(text: &str) -> String {
    let scanned = match text.char_indices().find(|(i, _)| *i >= SCAN_BYTES) {
        Some((cut, _)) => text.get(..cut).unwrap_or(""),
        None => text,
    };
    let plain = strip_markup(scanned);
    truncate_chars(&redact_secrets(&plain), MAX_EXCERPT_CHARS)
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// A 422 that a `start` call counts as success (WAHA: "Session 'x' is already started.").
fn is_already_started(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    find_bytes(&lower, "already started").is_some()
        || find_bytes(&lower, "already running").is_some()
}

/// What a successful `start` returns when the session was already running: the call reached
/// its goal, but this says nothing about the session's health.
fn already_started() -> Value {
    ObjectWriter::new().bool("alreadyStarted", true).build()
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
fn parse_body(body: &str) -> Option<Value> {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return None;
    }
    json::parse(trimmed).ok()
}

fn invalid(message: &str) -> WawpError {
    WawpError::invalid_payload(message.to_string())
}

/// The normalised JS result of a successful call.
fn success_value(op: ClientOp, parsed: Option<Value>, body: &str) -> Result<Value> {
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
            Ok(ObjectWriter::new().str("code", code).build())
        }
        ClientOp::SendText => Ok(ObjectWriter::new()
            .opt_str("id", parsed.as_ref().and_then(message_id).as_deref())
            .build()),
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

fn create_result(parsed: Option<&Value>) -> Result<Value> {
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
    Ok(ObjectWriter::new()
        .str("instanceId", instance_id)
        .opt_str("sessionName", session_name)
        .opt_str("serverName", server_name)
        .opt_str("status", v.str_field("status"))
        .build())
}

/// `{value}` from `{value}`, `{qr}`, `{mimetype, data}` (base64 of JSON `{value, expiry}` or of
/// the text itself) or a raw text body.
fn qr_result(parsed: Option<&Value>, text: &str) -> Result<Value> {
    let value = match parsed {
        Some(v) if v.is_object() => {
            if let Some(value) = v.str_field("value").or_else(|| v.str_field("qr")) {
                value.to_string()
            } else if let Some(data) = v.str_field("data") {
                let bytes = base64_decode(data).ok_or_else(|| invalid("qr data is not base64"))?;
                let decoded = String::from_utf8(bytes)
                    .map_err(|_| invalid("qr data is an image, not a QR value"))?;
                match json::parse(decoded.trim()) {
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
    Ok(ObjectWriter::new().str("value", &value).build())
}

/// `{qr: "data:image/png;base64,…"}` from Wawp's `{qr}` or WAHA's `{mimetype, data}`.
fn qr_image_result(parsed: Option<&Value>) -> Result<Value> {
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
    Ok(ObjectWriter::new().str("qr", &qr).build())
}

/// The message id of a send response: Wawp/WAHA `id` as a string, WEBJS `id._serialized`,
/// NOWEB `key.id`, or `messageId`.
fn message_id(v: &Value) -> Option<String> {
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

/// Standard or URL-safe base64, padding optional, whitespace ignored.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut padding = false;
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                padding = true;
                continue;
            }
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        if padding {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // 6 leftover bits cannot come from whole bytes.
    if bits >= 6 {
        return None;
    }
    Some(out)
}

/// Standard base64 with padding (tests and the simulator's `{mimetype, data}` bodies).
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| {
        ALPHABET
            .get((i & 63) as usize)
            .map_or('=', |&c| char::from(c))
    };
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

/// May this failed call be sent again? `maybe_delivered` is false only when the request
/// certainly never reached the server (connection refused, DNS failure).
///
/// `create` never (a second instance would be provisioned). `sendText` only when the message
/// certainly was not delivered: a 429 or a 422 wrong-state refusal, or a network failure before
/// the request left — never after a timeout or a 5xx, which may follow a delivery (duplicate
/// messages, waha#1225). Everything else is idempotent and retried on 429 / 5xx / network /
/// timeout.
pub fn may_retry(op: ClientOp, error: ErrorCode, maybe_delivered: bool) -> bool {
    match op {
        ClientOp::Create => false,
        ClientOp::SendText => match error {
            ErrorCode::RateLimited | ErrorCode::Conflict => true,
            ErrorCode::Network | ErrorCode::Timeout => !maybe_delivered,
            _ => false,
        },
        _ => error.is_transient(),
    }
}

/// A second request that an answer calls for before the operation has its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowUp {
    /// The request to send: [`build_request`] of this op with the same args.
    pub op: ClientOp,
    /// Send it with this method instead; the client keeps this method for `op` from then on.
    pub method: Option<&'static str>,
    /// Classify its answer as this operation.
    pub answer_as: ClientOp,
}

/// Does this failed answer (`status`, raw `body`) of `op`, sent with `method`, call for one more
/// request? At most one follow-up per call; its own answer is final.
///
/// - Wawp `info`: current docs show `POST /v2/session/info`, older docs and Wawp's MCP server
///   GET. A 405, or a 404 that is not JSON (a router's page, not Wawp's `invalid_instance`),
///   means this deployment wants POST.
/// - WAHA `create`: WAHA Core pre-creates `default` and answers a second create with 422
///   "Session 'default' already exists. Use PUT to update it.". The session is adopted: read it
///   with `info` and answer that as the create result (as `start` treats "already started").
pub fn follow_up(
    flavor: Flavor,
    op: ClientOp,
    method: &str,
    status: u16,
    body: &str,
) -> Option<FollowUp> {
    match (flavor, op) {
        (Flavor::Wawp, ClientOp::Info)
            if method.eq_ignore_ascii_case("GET")
                && (status == 405 || (status == 404 && parse_body(body).is_none())) =>
        {
            Some(FollowUp {
                op,
                method: Some("POST"),
                answer_as: op,
            })
        }
        (Flavor::Waha, ClientOp::Create) if status == 422 && is_already_existing(body) => {
            Some(FollowUp {
                op: ClientOp::Info,
                method: None,
                answer_as: ClientOp::Create,
            })
        }
        _ => None,
    }
}

/// WAHA's 422 for a create of a name in use: "Session 'x' already exists. Use PUT to update it."
fn is_already_existing(body: &str) -> bool {
    let detail = parse_body(body).as_ref().and_then(json_error_text);
    let text = detail.as_deref().unwrap_or(body);
    find_bytes(&text.to_ascii_lowercase(), "already exists").is_some()
}

impl FollowUp {
    /// `{op, method?, answerAs}`.
    pub fn to_value(&self) -> Value {
        ObjectWriter::new()
            .str("op", self.op.as_str())
            .opt_str("method", self.method)
            .str("answerAs", self.answer_as.as_str())
            .build()
    }
}
