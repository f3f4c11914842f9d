//! The sans-IO half of `WawpClient`: which request each operation is (method, path, query,
//! body) for the Wawp and WAHA flavours, how a response is classified (success body or a typed
//! error, 422 "already started" = success for start, non-JSON error bodies), and whether a
//! failed call may be repeated. The client's I/O half (`src/wasm/client/`: fetch, timeouts,
//! credentials) adds the token to the request itself, so this module never sees one.
//!
//! Sources: `shared/reference/wawp-api.md` §1–§2 (Wawp v2: credentials in the query string,
//! legacy error codes, 200-with-error bodies) and §5 (WAHA: `X-Api-Key`, NestJS error bodies).

mod base64;
mod excerpt;
mod follow_up;
mod request;
mod response;

pub use base64::{base64_decode, base64_encode};
pub use excerpt::{MAX_EXCERPT_CHARS, redact_known, redact_secrets, replace_all, sanitize_excerpt};
pub use follow_up::{FollowUp, follow_up};
pub use request::{
    AuthPlacement, DEFAULT_WAHA_SESSION, RequestArgs, RequestSpec, build_request, percent_encode,
};
pub use response::{classify_response, error_code_for_body_code};

use crate::error::ErrorCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
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

/// May this failed call be sent again? `maybe_delivered` is false only when the request
/// certainly never reached the server (connection refused, DNS failure); `http_status` is the
/// answer's status, if one came.
///
/// `create` never (a second instance would be provisioned). `sendText` only when the message
/// certainly was not delivered ([`send_not_delivered`], the rule the machine's delivery policy
/// uses too). Everything else is idempotent and retried on 429 / 5xx / network / timeout.
pub fn may_retry(
    op: ClientOp,
    error: ErrorCode,
    http_status: Option<u16>,
    maybe_delivered: bool,
) -> bool {
    match op {
        ClientOp::Create => false,
        ClientOp::SendText => send_not_delivered(error, http_status, maybe_delivered),
        _ => error.is_transient(),
    }
}

/// Did a failed send certainly not go out, so that sending it again cannot duplicate the message?
/// One rule for both places that resend: the client's own retry ([`may_retry`]) and the
/// machine's delivery policy (`machine/delivery.rs`, which also decides when and how often).
///
/// Yes for a 429; a 422 wrong-state refusal (`conflict` with no other status); a 503 (the API
/// did not take the request); a network error or timeout the host knows never left. Never after
/// any other 5xx or a timeout / network error after the request left: those may follow a
/// delivery (duplicate messages, waha#1225), and a duplicate is worse than a missed message.
pub fn send_not_delivered(
    error: ErrorCode,
    http_status: Option<u16>,
    maybe_delivered: bool,
) -> bool {
    match error {
        ErrorCode::RateLimited => true,
        ErrorCode::Conflict => http_status.is_none_or(|s| s == 422),
        ErrorCode::Server | ErrorCode::Network | ErrorCode::Timeout => {
            http_status == Some(503) || !maybe_delivered
        }
        _ => false,
    }
}
