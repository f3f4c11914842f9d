//! The one error type of the library. Every input problem becomes a typed [`WawpError`] with a
//! stable [`ErrorCode`]; nothing reachable from JavaScript panics.
//!
//! Messages never carry credentials: the core never sees the access token (the client's I/O half,
//! `wasm/client/`, adds it to the request and redacts it from every error), and messages quote at most a short, sanitised excerpt of a body.

use core::fmt;

/// Stable, machine-readable error codes (the `code` of the JS `WawpError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidPayload,
    BadSignature,
    StaleEvent,
    PayloadTooLarge,
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    Server,
    Network,
    Timeout,
    NeedsQr,
    SendTimeout,
    QueueFull,
    IdentityMismatch,
    Closed,
    InvalidOption,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::InvalidPayload,
        ErrorCode::BadSignature,
        ErrorCode::StaleEvent,
        ErrorCode::PayloadTooLarge,
        ErrorCode::BadRequest,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::RateLimited,
        ErrorCode::Server,
        ErrorCode::Network,
        ErrorCode::Timeout,
        ErrorCode::NeedsQr,
        ErrorCode::SendTimeout,
        ErrorCode::QueueFull,
        ErrorCode::IdentityMismatch,
        ErrorCode::Closed,
        ErrorCode::InvalidOption,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidPayload => "invalid_payload",
            ErrorCode::BadSignature => "bad_signature",
            ErrorCode::StaleEvent => "stale_event",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Server => "server",
            ErrorCode::Network => "network",
            ErrorCode::Timeout => "timeout",
            ErrorCode::NeedsQr => "needs_qr",
            ErrorCode::SendTimeout => "send_timeout",
            ErrorCode::QueueFull => "queue_full",
            ErrorCode::IdentityMismatch => "identity_mismatch",
            ErrorCode::Closed => "closed",
            ErrorCode::InvalidOption => "invalid_option",
        }
    }

    pub fn parse(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    /// Transient failures: worth retrying after a delay (429, 5xx, network, timeout).
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorCode::RateLimited | ErrorCode::Server | ErrorCode::Network | ErrorCode::Timeout
        )
    }

    /// The code for an HTTP status that is not a success.
    pub fn from_http_status(status: u16) -> ErrorCode {
        match status {
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 | 410 => ErrorCode::NotFound,
            408 => ErrorCode::Timeout,
            409 | 422 => ErrorCode::Conflict,
            413 => ErrorCode::PayloadTooLarge,
            429 => ErrorCode::RateLimited,
            s if s >= 500 => ErrorCode::Server,
            _ => ErrorCode::BadRequest,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WawpError {
    pub code: ErrorCode,
    pub message: String,
    pub http_status: Option<u16>,
    pub retry_after_ms: Option<f64>,
    pub op: Option<String>,
}

impl WawpError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        WawpError {
            code,
            message: message.into(),
            http_status: None,
            retry_after_ms: None,
            op: None,
        }
    }

    pub fn invalid_payload(message: impl Into<String>) -> Self {
        WawpError::new(ErrorCode::InvalidPayload, message)
    }

    pub fn invalid_option(message: impl Into<String>) -> Self {
        WawpError::new(ErrorCode::InvalidOption, message)
    }

    pub fn with_op(mut self, op: impl Into<String>) -> Self {
        self.op = Some(op.into());
        self
    }

    pub fn with_http_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    pub fn with_retry_after_ms(mut self, ms: Option<f64>) -> Self {
        self.retry_after_ms = ms;
        self
    }
}

impl fmt::Display for WawpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for WawpError {}

pub type Result<T> = core::result::Result<T, WawpError>;
