//! What comes out of the machine: the JS `Action` shapes.

use super::Op;
use crate::error::ErrorCode;
use crate::identity::IdentityVerdict;
use crate::status::{SessionStatus, UiAction};

/// The JS `Action` shape: `{type:"call", op}`, `{type:"ui", uiAction, status}`, ...
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// The released send was delivered: resolve it.
    ResolveSend {
        id: String,
    },
    /// The released send was not delivered and waits in the queue again (a retry or a hand-back).
    HoldSend {
        id: String,
        attempts: u32,
    },
    ClearIdentity,
    Identity {
        verdict: IdentityVerdict,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        me: Option<String>,
    },
    NotifyAdmin {
        reason: AdminReason,
    },
    Persist,
}

/// Why the operator is told (the JS `AdminReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminReason {
    Failed,
    RestartBudgetExhausted,
    IdentityMismatch,
    Unauthorized,
    Deleted,
}

impl AdminReason {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminReason::Failed => "failed",
            AdminReason::RestartBudgetExhausted => "restart_budget_exhausted",
            AdminReason::IdentityMismatch => "identity_mismatch",
            AdminReason::Unauthorized => "unauthorized",
            AdminReason::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<AdminReason> {
        [
            AdminReason::Failed,
            AdminReason::RestartBudgetExhausted,
            AdminReason::IdentityMismatch,
            AdminReason::Unauthorized,
            AdminReason::Deleted,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

impl Action {
    /// The action as JSON text (it holds no number, so serde_json links no float printer).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
