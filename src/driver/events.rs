//! What goes into the driver: every machine event, where a `result` or `send_result` may also
//! carry the error's text (`message`, already redacted by the client) and a delivered message's
//! id (`messageId`).

use serde_json::Value;

use crate::error::{Result, WawpError};
use crate::machine::Event;
use crate::payload::{self, Fields};

/// The JS `DriverEvent`.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverEvent {
    pub event: Event,
    /// The failure's text, shown as `lastError.message`.
    pub message: Option<String>,
    /// The API's id of a delivered message (the host stores it with its message; the driver's
    /// decisions do not depend on it).
    pub message_id: Option<String>,
}

impl From<Event> for DriverEvent {
    fn from(event: Event) -> DriverEvent {
        DriverEvent {
            event,
            message: None,
            message_id: None,
        }
    }
}

fn optional_text(v: &Value, key: &str) -> Result<Option<String>> {
    match v.present(key) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(WawpError::invalid_payload(format!(
            "{key} must be a string"
        ))),
    }
}

impl DriverEvent {
    pub fn from_value(v: &Value) -> Result<DriverEvent> {
        Ok(DriverEvent {
            event: Event::from_value(v)?,
            message: optional_text(v, "message")?,
            message_id: optional_text(v, "messageId")?,
        })
    }

    pub fn from_json(text: &str) -> Result<DriverEvent> {
        DriverEvent::from_value(&payload::parse(text)?)
    }
}

impl TryFrom<Value> for DriverEvent {
    type Error = WawpError;
    fn try_from(v: Value) -> Result<DriverEvent> {
        DriverEvent::from_value(&v)
    }
}
