//! What comes out of the machine: the JS `Action` shapes.

use super::Op;
use crate::error::ErrorCode;
use crate::identity::IdentityVerdict;
use crate::json::{ObjectWriter, Value};
use crate::status::{SessionStatus, UiAction};

#[derive(Debug, Clone, PartialEq)]
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
        me: Option<String>,
    },
    /// reason: "failed" | "restart_budget_exhausted" | "identity_mismatch" | "unauthorized" | "deleted"
    NotifyAdmin {
        reason: &'static str,
    },
    Persist,
}

impl Action {
    /// The JS `Action` shape: `{type:"call", op}`, `{type:"ui", uiAction, status}`, ...
    pub fn to_value(&self) -> Value {
        let typed = |t: &str| ObjectWriter::new().str("type", t);
        match self {
            Action::Call { op } => typed("call").str("op", op.as_str()).build(),
            Action::Ui { ui_action, status } => typed("ui")
                .str("uiAction", ui_action.as_str())
                .str("status", status.as_str())
                .build(),
            Action::ReleaseSend { id } => typed("release_send").str("id", id).build(),
            Action::RejectSend { id, code } => typed("reject_send")
                .str("id", id)
                .str("code", code.as_str())
                .build(),
            Action::ResolveSend { id } => typed("resolve_send").str("id", id).build(),
            Action::HoldSend { id, attempts } => typed("hold_send")
                .str("id", id)
                .num("attempts", f64::from(*attempts))
                .build(),
            Action::ClearIdentity => typed("clear_identity").build(),
            Action::Identity { verdict, me } => typed("identity")
                .str("verdict", verdict.as_str())
                .opt_str("me", me.as_deref())
                .build(),
            Action::NotifyAdmin { reason } => typed("notify_admin").str("reason", reason).build(),
            Action::Persist => typed("persist").build(),
        }
    }

    pub fn to_json(&self) -> String {
        self.to_value().to_json()
    }
}
