//! Status decoding: any status string, `info` response, `session.status` webhook (WAHA envelope
//! or the older Wawp shape) or `StatusReport` becomes one typed [`StatusReport`], with the UI
//! action of the vendor's lifecycle table. Unknown values are `Unknown`, never an error.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Result, WawpError};
use crate::payload;

pub(crate) mod envelope;
use envelope::Field;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionStatus {
    Stopped,
    Starting,
    ScanQrCode,
    Working,
    Failed,
    /// A logout / disconnect event (a WORKING session unpaired).
    Logout,
    Deleted,
    PasskeyRequired,
    PasskeyConfirmationRequired,
    Unknown,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 10] = [
        SessionStatus::Stopped,
        SessionStatus::Starting,
        SessionStatus::ScanQrCode,
        SessionStatus::Working,
        SessionStatus::Failed,
        SessionStatus::Logout,
        SessionStatus::Deleted,
        SessionStatus::PasskeyRequired,
        SessionStatus::PasskeyConfirmationRequired,
        SessionStatus::Unknown,
    ];

    /// Case-insensitive, trimmed; `DISCONNECTED` is a `LOGOUT`; anything else is `UNKNOWN`.
    pub fn parse(raw: &str) -> SessionStatus {
        let s = raw.trim();
        let known = [
            ("STOPPED", SessionStatus::Stopped),
            ("STARTING", SessionStatus::Starting),
            ("SCAN_QR_CODE", SessionStatus::ScanQrCode),
            ("WORKING", SessionStatus::Working),
            ("FAILED", SessionStatus::Failed),
            ("LOGOUT", SessionStatus::Logout),
            ("DISCONNECTED", SessionStatus::Logout),
            ("DELETED", SessionStatus::Deleted),
            ("PASSKEY_REQUIRED", SessionStatus::PasskeyRequired),
            (
                "PASSKEY_CONFIRMATION_REQUIRED",
                SessionStatus::PasskeyConfirmationRequired,
            ),
        ];
        known
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map_or(SessionStatus::Unknown, |(_, status)| *status)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Stopped => "STOPPED",
            SessionStatus::Starting => "STARTING",
            SessionStatus::ScanQrCode => "SCAN_QR_CODE",
            SessionStatus::Working => "WORKING",
            SessionStatus::Failed => "FAILED",
            SessionStatus::Logout => "LOGOUT",
            SessionStatus::Deleted => "DELETED",
            SessionStatus::PasskeyRequired => "PASSKEY_REQUIRED",
            SessionStatus::PasskeyConfirmationRequired => "PASSKEY_CONFIRMATION_REQUIRED",
            SessionStatus::Unknown => "UNKNOWN",
        }
    }

    /// The recommended UI action (the vendor's status table, extended to every status).
    pub fn ui_action(self) -> UiAction {
        match self {
            SessionStatus::Stopped => UiAction::Start,
            SessionStatus::Starting => UiAction::Connecting,
            SessionStatus::ScanQrCode | SessionStatus::Logout => UiAction::ScanQr,
            SessionStatus::Working => UiAction::Connected,
            SessionStatus::Failed => UiAction::Troubleshoot,
            SessionStatus::Deleted => UiAction::Provision,
            SessionStatus::PasskeyRequired | SessionStatus::PasskeyConfirmationRequired => {
                UiAction::Passkey
            }
            SessionStatus::Unknown => UiAction::Inspect,
        }
    }

    pub fn can_send(self) -> bool {
        self == SessionStatus::Working
    }

    pub fn is_running(self) -> bool {
        matches!(
            self,
            SessionStatus::Starting
                | SessionStatus::ScanQrCode
                | SessionStatus::Working
                | SessionStatus::PasskeyRequired
                | SessionStatus::PasskeyConfirmationRequired
        )
    }

    /// Statuses in which only the user (scanning, confirming) can make progress.
    pub fn needs_user(self) -> bool {
        matches!(
            self,
            SessionStatus::ScanQrCode
                | SessionStatus::Logout
                | SessionStatus::PasskeyRequired
                | SessionStatus::PasskeyConfirmationRequired
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UiAction {
    Start,
    Connecting,
    ScanQr,
    Connected,
    Troubleshoot,
    Provision,
    Passkey,
    Inspect,
}

impl UiAction {
    pub const ALL: [UiAction; 8] = [
        UiAction::Start,
        UiAction::Connecting,
        UiAction::ScanQr,
        UiAction::Connected,
        UiAction::Troubleshoot,
        UiAction::Provision,
        UiAction::Passkey,
        UiAction::Inspect,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UiAction::Start => "start",
            UiAction::Connecting => "connecting",
            UiAction::ScanQr => "scan_qr",
            UiAction::Connected => "connected",
            UiAction::Troubleshoot => "troubleshoot",
            UiAction::Provision => "provision",
            UiAction::Passkey => "passkey",
            UiAction::Inspect => "inspect",
        }
    }

    pub fn parse(s: &str) -> Option<UiAction> {
        UiAction::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Read like [`SessionStatus::parse`]: any case, `DISCONNECTED` is `LOGOUT`, and a name it does
/// not know is `UNKNOWN`, never an error (a newer server may add statuses).
impl<'de> Deserialize<'de> for SessionStatus {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> core::result::Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = SessionStatus;
            fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
                f.write_str("a status name")
            }
            fn visit_str<E: serde::de::Error>(
                self,
                name: &str,
            ) -> core::result::Result<SessionStatus, E> {
                Ok(SessionStatus::parse(name))
            }
        }
        deserializer.deserialize_str(Name)
    }
}

/// `uiActionFor`: accepts a status name in any case; unknown names → `inspect`.
pub fn ui_action_for(status: &str) -> UiAction {
    SessionStatus::parse(status).ui_action()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lid: Option<String>,
}

/// Serialized as the JS `StatusReport` (see `ReportView`); deserialized from any status input.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Value")]
pub struct StatusReport {
    pub status: SessionStatus,
    pub raw_status: String,
    pub instance_id: Option<String>,
    pub session: Option<String>,
    pub server_name: Option<String>,
    pub qr: Option<String>,
    pub me: Option<Me>,
    /// When the status was observed (epoch ms), if the input said.
    pub at_ms: Option<f64>,
    pub event_id: Option<String>,
    /// The webhook `event` name, when the input was an envelope.
    pub event: Option<String>,
}

impl StatusReport {
    pub fn from_status(status: SessionStatus) -> StatusReport {
        StatusReport {
            status,
            raw_status: status.as_str().to_string(),
            instance_id: None,
            session: None,
            server_name: None,
            qr: None,
            me: None,
            at_ms: None,
            event_id: None,
            event: None,
        }
    }

    pub fn ui_action(&self) -> UiAction {
        self.status.ui_action()
    }

    /// The report as JSON text (native code: tests, tools).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The JS `StatusReport` object: camelCase, the derived `uiAction`, `canSend` and `isRunning`,
/// optional fields omitted, `me` null when unknown.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportView<'a> {
    status: SessionStatus,
    raw_status: &'a str,
    ui_action: UiAction,
    can_send: bool,
    is_running: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    instance_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qr: Option<&'a str>,
    me: Option<&'a Me>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<&'a str>,
}

impl Serialize for StatusReport {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> core::result::Result<S::Ok, S::Error> {
        ReportView {
            status: self.status,
            raw_status: &self.raw_status,
            ui_action: self.status.ui_action(),
            can_send: self.status.can_send(),
            is_running: self.status.is_running(),
            instance_id: self.instance_id.as_deref(),
            session: self.session.as_deref(),
            server_name: self.server_name.as_deref(),
            qr: self.qr.as_deref(),
            me: self.me.as_ref(),
            at_ms: self.at_ms,
            event_id: self.event_id.as_deref(),
        }
        .serialize(serializer)
    }
}

/// Any status input (a name, an info response, a webhook, a report): see [`decode_status_value`].
impl TryFrom<Value> for StatusReport {
    type Error = WawpError;
    fn try_from(value: Value) -> Result<StatusReport> {
        decode_status_value(&value)
    }
}

/// `decodeStatus` for text: JSON text when the first non-blank character is `{` or `[`,
/// otherwise a bare status name.
pub fn decode_status_text(input: &str) -> Result<StatusReport> {
    let trimmed = input.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        payload::check_size(input, payload::MAX_BYTES)?;
        // The borrowed envelope first (no `Value` tree); what it cannot read (malformed text, a
        // duplicate key, a lone surrogate escape) is read as a `Value`, which decides it as before.
        return match envelope::read_text(input) {
            Some(document) => report_of(&document),
            None => decode_status_value(&payload::parse(input)?),
        };
    }
    let raw = input.trim();
    if raw.is_empty() {
        return Err(WawpError::invalid_payload("empty status"));
    }
    let mut report = StatusReport::from_status(SessionStatus::parse(raw));
    report.raw_status = raw.to_string();
    Ok(report)
}

/// `decodeStatus` for a parsed value: an info response, either webhook shape, a
/// `StatusReport`, a bare status string, or an array of those (the last one with a status wins).
pub fn decode_status_value(v: &Value) -> Result<StatusReport> {
    match v {
        Value::String(s) => decode_status_text(s),
        _ => {
            let text = envelope::value_text(v);
            let document = envelope::read_text(&text)
                .ok_or_else(|| WawpError::invalid_payload("the value's JSON text did not read"))?;
            report_of(&document)
        }
    }
}

fn report_of(document: &Field<'_>) -> Result<StatusReport> {
    if let Some(object) = document.status_object() {
        return object.report();
    }
    match document {
        Field::List(items) => items
            .iter()
            .rev()
            .filter_map(Field::status_object)
            .find(|object| object.has_status())
            .ok_or_else(|| WawpError::invalid_payload("no status in any element of the array"))?
            .report(),
        _ => Err(WawpError::invalid_payload(
            "expected a status string or an object",
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bare_strings_any_case_and_unknowns() {
        assert_eq!(
            decode_status_text("  working ").unwrap().status,
            SessionStatus::Working
        );
        assert_eq!(
            decode_status_text("DISCONNECTED").unwrap().status,
            SessionStatus::Logout
        );
        let r = decode_status_text("READY").unwrap();
        assert_eq!(
            (r.status, r.raw_status.as_str(), r.ui_action()),
            (SessionStatus::Unknown, "READY", UiAction::Inspect)
        );
        assert!(decode_status_text("   ").is_err());
    }

    #[test]
    fn waha_envelope() {
        let body = r#"{"id":"evt_1","timestamp":1741249702485,"event":"session.status","session":"default",
            "me":{"id":"71111111111@c.us","pushName":"~"},
            "payload":{"name":"default","status":"WORKING","statuses":[{"status":"STARTING","timestamp":1}]}}"#;
        let r = decode_status_text(body).unwrap();
        assert_eq!(r.status, SessionStatus::Working);
        assert_eq!(r.session.as_deref(), Some("default"));
        assert_eq!(r.event_id.as_deref(), Some("evt_1"));
        assert_eq!(r.at_ms, Some(1_741_249_702_485.0));
        assert_eq!(r.me.unwrap().id, "71111111111@c.us");
    }

    #[test]
    fn unread_envelope_fields_change_nothing_but_must_be_valid() {
        let lean = r#"{"id":"evt_2","timestamp":5,"event":"session.status","session":"s","payload":{"status":"FAILED"}}"#;
        let full = r#"{"id":"evt_2","timestamp":5,"event":"session.status","session":"s","metadata":{"user.id":"1"},"engine":"WEBJS","payload":{"status":"FAILED"},"environment":{"version":"2026.7.1","tier":"PLUS"}}"#;
        assert_eq!(
            decode_status_text(full).unwrap(),
            decode_status_text(lean).unwrap()
        );
        let broken = r#"{"payload":{"status":"FAILED"},"environment":{"version":}}"#;
        assert_eq!(
            decode_status_text(broken).unwrap_err().code,
            crate::ErrorCode::InvalidPayload
        );
    }

    #[test]
    fn legacy_wawp_shape_converts_seconds() {
        let r = decode_status_text(
            r#"{"instance_id":"123456789","status":"SCAN_QR_CODE","qr":"data:x","ts":1722170400}"#,
        )
        .unwrap();
        assert_eq!(r.at_ms, Some(1_722_170_400_000.0));
        assert_eq!(r.instance_id.as_deref(), Some("123456789"));
        assert_eq!(r.qr.as_deref(), Some("data:x"));
        assert_eq!(r.ui_action(), UiAction::ScanQr);
    }

    #[test]
    fn info_response_and_missing_status() {
        let r = decode_status_text(r#"{"name":"wawp-1","status":"STOPPED","me":null,"config":{"webhooks":{},"proxy":null}}"#)
            .unwrap();
        assert_eq!(
            (r.status, r.session.as_deref(), r.me),
            (SessionStatus::Stopped, Some("wawp-1"), None)
        );
        assert_eq!(
            decode_status_text(r#"{"name":"x"}"#).unwrap_err().code,
            crate::ErrorCode::InvalidPayload
        );
        assert_eq!(
            decode_status_text("{broken").unwrap_err().code,
            crate::ErrorCode::InvalidPayload
        );
    }

    #[test]
    fn report_round_trips_through_its_own_json() {
        let r =
            decode_status_text(r#"{"instance_id":"A","status":"WORKING","ts":1,"me":"1@c.us"}"#)
                .unwrap();
        let again = decode_status_text(&r.to_json()).unwrap();
        assert_eq!(again.status, r.status);
        assert_eq!(again.instance_id, r.instance_id);
        assert_eq!(again.at_ms, r.at_ms);
        assert_eq!(again.me, r.me);
    }
}
