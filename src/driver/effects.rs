//! What comes out of the driver: every machine action unchanged, plus the driver's own effects.

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;
use crate::machine::{Action, Op};

/// The JS `DriverEffect`: a machine `Action` as it is, or one of [`DriverOnly`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DriverEffect {
    Action(Action),
    Driver(DriverOnly),
}

/// Effects the machine does not have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DriverOnly {
    /// `view()` changed: re-render, broadcast, persist the view.
    View,
    /// The UI shows scan_qr and the QR may be new: a host that shows QR images reads one now.
    ReadQr,
    /// A call the driver answered itself, without any request (an automatic start/restart while
    /// the shared budget is empty): the same shape a host reports for its own calls.
    Result { op: Op, ok: bool, error: ErrorCode },
}

impl From<Action> for DriverEffect {
    fn from(action: Action) -> DriverEffect {
        DriverEffect::Action(action)
    }
}
