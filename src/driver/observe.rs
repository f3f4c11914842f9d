//! Which parts of an observed input carry a session status: a webhook body (one event or an
//! array), a parsed `WebhookEvent`, a `StatusReport`, an info response or a status name. Events
//! of other kinds (`message`, `engine.event`, ...) carry none and are skipped; anything else is
//! decoded by the status decoder, and one undecodable item refuses the whole input.

use serde_json::Value;

use crate::error::Result;
use crate::payload::{self, Fields};
use crate::status::{StatusReport, decode_status_text, decode_status_value};
use crate::webhook::is_status_event;

/// The status reports in `input`, in order (none for a body of non-status events).
pub fn status_reports(input: &Value) -> Result<Vec<StatusReport>> {
    let items = match input {
        Value::Array(items) => items.as_slice(),
        Value::String(text) => return status_reports_text(text),
        other => core::slice::from_ref(other),
    };
    let mut reports = Vec::with_capacity(items.len());
    for item in items {
        if let Some(report) = status_of(item)? {
            reports.push(report);
        }
    }
    Ok(reports)
}

/// `status_reports` for text: a JSON body, or a bare status name.
pub fn status_reports_text(text: &str) -> Result<Vec<StatusReport>> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return status_reports(&payload::parse(text)?);
    }
    Ok(vec![decode_status_text(text)?])
}

fn status_of(item: &Value) -> Result<Option<StatusReport>> {
    let event = item.str_field("event");
    // A parsed WebhookEvent: its report, when it is a status event at all.
    if let (Some(_), Some(report)) = (event, item.get("report")) {
        return match report {
            Value::Null => Ok(None),
            report => decode_status_value(report).map(Some),
        };
    }
    if event.is_some_and(|name| !is_status_event(name)) {
        return Ok(None);
    }
    decode_status_value(item).map(Some)
}
