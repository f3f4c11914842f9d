//! Sends a host keeps in its own storage (the Durable Object's message rows) that the driver may
//! not hold after a restart: rows stored before the machine tracked released sends, or a stored
//! driver that was unreadable and replaced by a fresh one. What becomes of each is a decision
//! about a send, so it is made here and not by the host.

use serde_json::Value;

use super::SessionDriver;
use crate::error::{ErrorCode, Result, WawpError};
use crate::machine::{Action, Event};
use crate::payload::{self, Fields};

/// One stored send, as the host's storage has it (JS `StoredSend`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSend {
    pub id: String,
    pub state: StoredSendState,
    pub timeout_ms: Option<f64>,
}

/// Where the host's storage last saw the send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredSendState {
    Queued,
    Sending,
}

impl StoredSend {
    /// JSON text of a `StoredSend[]`. Read through `Value` like every other JS input: a derived
    /// `Deserialize` of its own pulled serde_json's typed-error machinery into the wasm
    /// (+19.9 KB gzip, measured).
    pub fn list_from_json(text: &str) -> Result<Vec<StoredSend>> {
        let Value::Array(items) = payload::parse(text)? else {
            return Err(WawpError::invalid_payload("stored sends must be an array"));
        };
        items.iter().map(StoredSend::from_value).collect()
    }

    fn from_value(v: &Value) -> Result<StoredSend> {
        let id = v
            .str_field("id")
            .ok_or_else(|| WawpError::invalid_payload("a stored send needs an id"))?;
        let state = match v.str_field("state") {
            Some("queued") => StoredSendState::Queued,
            Some("sending") => StoredSendState::Sending,
            _ => {
                return Err(WawpError::invalid_payload(
                    "a stored send's state is queued or sending",
                ));
            }
        };
        let timeout_ms =
            match v.present("timeoutMs") {
                None => None,
                Some(_) => Some(v.num_field("timeoutMs").filter(|ms| *ms > 0.0).ok_or_else(
                    || WawpError::invalid_payload("a stored send's timeoutMs is a positive number"),
                )?),
            };
        Ok(StoredSend {
            id: id.to_string(),
            state,
            timeout_ms,
        })
    }
}

impl SessionDriver {
    /// Reconciles the host's stored sends with the driver, after `restored()`:
    /// - a send the store shows on the wire that the driver does not hold is given up as
    ///   `closed` (a `reject_send` effect): it may have been delivered, so it is never sent again;
    /// - a queued send the driver does not hold is handed to the machine as a new send (it waits,
    ///   starts the session, or is refused, by the machine's rules);
    /// - a send the driver holds is the driver's already: nothing happens.
    pub fn reconcile_sends(&mut self, stored: Vec<StoredSend>, now_ms: f64) {
        for send in stored {
            let held = self
                .machine
                .queue()
                .iter()
                .chain(self.machine.sending())
                .any(|known| known.id == send.id);
            if held {
                continue;
            }
            match send.state {
                StoredSendState::Sending => self.effects.push_back(
                    Action::RejectSend {
                        id: send.id,
                        code: ErrorCode::Closed,
                    }
                    .into(),
                ),
                StoredSendState::Queued => self.step(
                    Event::Send {
                        id: send.id,
                        timeout_ms: send.timeout_ms,
                    }
                    .into(),
                    true,
                    now_ms,
                ),
            }
        }
    }
}
