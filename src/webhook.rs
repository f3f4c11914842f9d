//! Webhook bodies after signature checks (HMAC is WebCrypto's job in JS): one event or an array,
//! size cap before parsing, stale-event window, non-status events told apart.
//!
//! Shapes (`shared/reference/wawp-api.md` §3.2, §5.3): the WAHA envelope
//! `{id, timestamp(ms), event, session, me?, payload}` for every event, and the older Wawp
//! `{instance_id, status, qr?, ts(s)}` with no `event`, which is a `session.status`.

use crate::error::{ErrorCode, Result, WawpError};
use serde::{Deserialize, Serialize};

use crate::payload;
use crate::status::StatusReport;
use crate::status::envelope::{self, Field, StatusObject};

/// The event name of status changes, in both shapes.
pub const SESSION_STATUS: &str = "session.status";

/// Whether a webhook event of this name carries a session status (names are compared trimmed).
pub fn is_status_event(name: &str) -> bool {
    name.trim() == SESSION_STATUS
}

/// The JS `WebhookEvent`: `{report, event, eventId?, atMs?, session?, instanceId?}`, `report`
/// null for events other than `session.status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    /// `session.status` for both shapes; other WAHA event names are passed through.
    pub event: String,
    pub report: Option<StatusReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<f64>,
    /// Which session / instance the event is about (routing), when the body says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WebhookLimits {
    pub max_bytes: usize,
    /// Events older than this (by their own timestamp) are `stale_event`; events dated further
    /// than this into the future are too (a replay window works both ways, and clocks that far
    /// apart mean the timestamp cannot be trusted). `None` disables the check.
    pub max_age_ms: Option<f64>,
    pub now_ms: f64,
}

impl Default for WebhookLimits {
    fn default() -> Self {
        WebhookLimits {
            max_bytes: payload::MAX_BYTES,
            max_age_ms: None,
            now_ms: 0.0,
        }
    }
}

/// `parseWebhooks`: the body is one event or a JSON array of events. The whole body is
/// refused when it is too large (before parsing), is not JSON, holds something that is not an
/// event, or holds a stale event (one signature covers the whole body, so a replay is replayed
/// as a whole).
pub fn parse_webhooks(body: &str, limits: &WebhookLimits) -> Result<Vec<WebhookEvent>> {
    if limits
        .max_age_ms
        .is_some_and(|age| age.is_nan() || age < 0.0)
    {
        return Err(WawpError::invalid_option("maxAgeMs must be a number >= 0"));
    }
    if body.len() > limits.max_bytes {
        return Err(WawpError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "webhook body of {} bytes exceeds the {}-byte limit",
                body.len(),
                limits.max_bytes
            ),
        ));
    }
    // The borrowed envelope first; what it cannot read (malformed text, a duplicate key, a lone
    // surrogate escape) is read as a `Value`, which decides it as before (`status/envelope.rs`).
    let rewritten;
    let document = match envelope::read_text(body) {
        Some(document) => document,
        None => {
            rewritten = envelope::value_text(&payload::parse_with_limit(body, limits.max_bytes)?);
            envelope::read_text(&rewritten).ok_or_else(|| {
                WawpError::invalid_payload("the body's JSON text did not read twice")
            })?
        }
    };
    let items = match document {
        Field::List(items) => items,
        other => vec![other],
    };
    let mut events = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let event = parse_event(item).map_err(|e| {
            if items.len() > 1 {
                WawpError::new(e.code, format!("event {index}: {}", e.message))
            } else {
                e
            }
        })?;
        check_age(&event, limits)?;
        events.push(event);
    }
    Ok(events)
}

fn parse_event(item: &Field<'_>) -> Result<WebhookEvent> {
    let Some(v) = item.status_object() else {
        return Err(WawpError::invalid_payload(
            "a webhook event must be a JSON object",
        ));
    };
    let name = match &v.event {
        Field::Absent | Field::Null if v.status.is_present() => SESSION_STATUS,
        Field::Absent | Field::Null => {
            return Err(WawpError::invalid_payload(
                "not a webhook event: no event name and no status",
            ));
        }
        Field::Text(s) if !s.trim().is_empty() => s.trim(),
        _ => {
            return Err(WawpError::invalid_payload(
                "the event name must be a non-empty string",
            ));
        }
    };
    if is_status_event(name) {
        let report = v.report()?;
        return Ok(WebhookEvent {
            event: SESSION_STATUS.to_string(),
            event_id: report.event_id.clone(),
            at_ms: report.at_ms,
            session: report.session.clone(),
            instance_id: report.instance_id.clone(),
            report: Some(report),
        });
    }
    Ok(other_event(name, v))
}

/// An event other than `session.status`: its name and routing fields, no report.
fn other_event(name: &str, v: &StatusObject<'_>) -> WebhookEvent {
    let text = |f: &Field<'_>| f.text().map(str::to_string);
    WebhookEvent {
        event: name.to_string(),
        report: None,
        event_id: text(&v.id),
        at_ms: v.timestamp.number(),
        session: text(&v.session),
        instance_id: v.instance_id().map(str::to_string),
    }
}

/// Milliseconds as whole seconds for messages (integer formatting: f64 `Display` would link
/// Rust's float printer into the wasm, ~10 KB gzip).
fn whole_seconds(ms: f64) -> i64 {
    (ms / 1000.0).round() as i64
}

fn check_age(event: &WebhookEvent, limits: &WebhookLimits) -> Result<()> {
    let (Some(max_age), Some(at)) = (limits.max_age_ms, event.at_ms) else {
        return Ok(());
    };
    let age = limits.now_ms - at;
    if age > max_age {
        return Err(WawpError::new(
            ErrorCode::StaleEvent,
            format!(
                "{} event is {} s old (limit {} s)",
                event.event,
                whole_seconds(age),
                whole_seconds(max_age)
            ),
        ));
    }
    if -age > max_age {
        return Err(WawpError::new(
            ErrorCode::StaleEvent,
            format!(
                "{} event is dated {} s in the future (limit {} s)",
                event.event,
                whole_seconds(-age),
                whole_seconds(max_age)
            ),
        ));
    }
    Ok(())
}
