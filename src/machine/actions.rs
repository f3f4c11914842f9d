//! What comes out of the machine: the JS `Action` shapes.

use super::Op;
use crate::error::ErrorCode;
use crate::identity::IdentityVerdict;
use crate::status::{SessionStatus, UiAction};

/// The JS `Action` shape: `{type:"call", op}`, `{type:"ui", uiAction, status}`, ...
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum Action {
    Call {
        op: Op,
    },
    Ui {
        ui_action: UiAction,
        status: SessionStatus,
    },
    ReleaseSend {
        id: String,
    },
    RejectSend {
        id: String,
        code: ErrorCode,
    },
    ClearIdentity,
    Identity {
        verdict: IdentityVerdict,
        #[serde(skip_serializing_if = "Option::is_none")]
        me: Option<String>,
    },
    /// reason: "failed" | "restart_budget_exhausted" | "identity_mismatch" | "unauthorized" | "deleted"
    NotifyAdmin {
        reason: &'static str,
    },
    Persist,
}

impl Action {
    /// The action as JSON text (it holds no number, so serde_json links no float printer).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
