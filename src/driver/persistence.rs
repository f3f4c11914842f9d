//! The stored driver: `{driver: 1, machine, view, inFlight}` in one JSON text. A bare machine
//! snapshot (what hosts stored before the driver, `LifecycleMachine::toJSON`) is read too: its view
//! starts empty and its in-flight calls are the ones the machine records.

use serde::Serialize;
use serde_json::Value;

use super::SessionDriver;
use super::in_flight::{InFlight, MAX_IN_FLIGHT};
use super::view::Learned;
use crate::error::{Result, WawpError};
use crate::machine::{LifecycleMachine, Op};
use crate::payload::{self, Fields};

/// Version of the stored form.
const STORED_VERSION: f64 = 1.0;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Stored<'a> {
    driver: u8,
    machine: &'a LifecycleMachine,
    view: &'a Learned,
    in_flight: &'a [Op],
}

impl Serialize for SessionDriver {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> core::result::Result<S::Ok, S::Error> {
        Stored {
            driver: 1,
            machine: &self.machine,
            view: &self.learned,
            in_flight: self.in_flight.ops(),
        }
        .serialize(serializer)
    }
}

impl TryFrom<Value> for SessionDriver {
    type Error = WawpError;
    fn try_from(value: Value) -> Result<SessionDriver> {
        SessionDriver::from_value(&value)
    }
}

fn bad(what: &str) -> WawpError {
    WawpError::invalid_payload(format!("driver snapshot: {what}"))
}

impl SessionDriver {
    /// The stored state as JSON text (native hosts; the wasm writes it with `JSON.stringify`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<SessionDriver> {
        SessionDriver::from_value(&payload::parse(text)?)
    }

    /// The stored driver, or a bare machine snapshot; anything malformed is `invalid_payload`.
    /// The shared budget is not stored (it belongs to the process): give it again with
    /// `set_budget`.
    pub fn from_value(v: &Value) -> Result<SessionDriver> {
        let Some(version) = v.present("driver") else {
            let machine = LifecycleMachine::from_value(v)?;
            let in_flight = InFlight::new(machine.in_flight_ops());
            return Ok(SessionDriver::assemble(
                machine,
                Learned::default(),
                in_flight,
            ));
        };
        if version.as_f64() != Some(STORED_VERSION) {
            return Err(bad("unknown version"));
        }
        let machine = LifecycleMachine::from_value(v.get("machine").unwrap_or(&Value::Null))?;
        let learned = match v.present("view") {
            None => Learned::default(),
            Some(view) => Learned::from_value(view)?,
        };
        let ops = match v.present("inFlight") {
            None => Vec::new(),
            Some(Value::Array(items)) if items.len() <= MAX_IN_FLIGHT => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .and_then(Op::parse)
                        .ok_or_else(|| bad("inFlight holds an unknown op"))
                })
                .collect::<Result<Vec<Op>>>()?,
            Some(_) => return Err(bad("inFlight must be a short array of ops")),
        };
        Ok(SessionDriver::assemble(
            machine,
            learned,
            InFlight::new(ops),
        ))
    }
}
